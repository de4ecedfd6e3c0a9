import { escape } from 'node:querystring';

import { SessionError } from '../errors';
import { encodeMultipart } from './multipart';

/**
 * `msg.payload` as a request body, encoded as the core http request node does: strings and
 * Buffers as they are, numbers as text, objects as JSON (with `Content-Type: application/json`
 * unless one is set), form-urlencoded or multipart when the Content-Type asks for it.
 * `headers` is updated in place (Content-Type), keeping the spelling the msg used.
 */
export function encodeBody(payload: unknown, headers: Record<string, string>): Buffer | string | undefined {
    try {
        return encodePayload(payload, headers);
    } catch (error) {
        throw unserialisable(error);
    }
}

function encodePayload(payload: unknown, headers: Record<string, string>): Buffer | string | undefined {
    if (payload === undefined || payload === null) return undefined;
    if (typeof payload === 'string' || Buffer.isBuffer(payload)) return payload;
    if (typeof payload === 'number') return String(payload);
    const typeName = Object.keys(headers).find((key) => key.toLowerCase() === 'content-type');
    const contentType = typeName ? headers[typeName].toLowerCase() : '';
    if (typeof payload === 'object' && contentType.startsWith('application/x-www-form-urlencoded')) {
        return formEncode(payload as Record<string, unknown>);
    }
    if (typeof payload === 'object' && contentType.startsWith('multipart/form-data')) {
        const form = encodeMultipart(payload as Record<string, unknown>);
        headers[typeName as string] = form.contentType;
        return form.body;
    }
    if (!typeName) headers['Content-Type'] = 'application/json';
    return JSON.stringify(payload);
}

/** `key=value&...` as querystring.stringify writes it; arrays repeat the key, objects go as JSON. */
export function formEncode(payload: Record<string, unknown>): string {
    const pairs: string[] = [];
    for (const [key, value] of Object.entries(payload)) {
        for (const item of Array.isArray(value) ? value : [value]) pairs.push(`${escape(key)}=${escape(formValue(item))}`);
    }
    return pairs.join('&');
}

function formValue(value: unknown): string {
    if (value === undefined || value === null) return '';
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The URL with the payload's properties appended to its query string (`paytoqs` query). */
export function withQuery(url: string, payload: unknown): string {
    if (payload === undefined || payload === null) return url;
    if (typeof payload !== 'object' || Array.isArray(payload) || Buffer.isBuffer(payload)) {
        throw new SessionError('INVALID_INPUT', 'msg.payload must be an object to be appended to the query string.');
    }
    let query: string;
    try {
        query = formEncode(payload as Record<string, unknown>);
    } catch (error) {
        throw unserialisable(error);
    }
    if (!query) return url;
    const hash = url.indexOf('#');
    const [base, fragment] = hash < 0 ? [url, ''] : [url.slice(0, hash), url.slice(hash)];
    const joiner = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
    return base + joiner + query + fragment;
}

/** A payload JSON cannot write (circular, BigInt, a throwing toJSON): bad input, nothing sent. */
function unserialisable(error: unknown): SessionError {
    if (error instanceof SessionError) return error;
    return new SessionError('INVALID_INPUT', 'msg.payload cannot be serialised (a circular reference, a BigInt or a failing toJSON).');
}

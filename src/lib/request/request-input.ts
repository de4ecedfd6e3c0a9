import crypto from 'node:crypto';

import { SessionError } from '../errors';
import { encodeBody, withQuery } from './request-body';
import type { AuthorizedRequest } from '../session/session-manager';
import { renderUrlTemplate } from './url-template';

export type ReturnType = 'txt' | 'bin' | 'obj';
export type PayloadToQuery = 'ignore' | 'query' | 'body';

export interface RequestNodeConfig {
    method: string;
    url: string;
    ret: ReturnType;
    paytoqs: PayloadToQuery;
}

/** Marks response headers on the output, so a chained request does not send them back (core node behaviour). */
export const RESPONSE_HEADERS_MARK = 'x-node-red-request-node';

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Control characters (tab aside, which header values may hold): never sent, never silently stripped. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
/**
 * What a header or cookie value cannot carry as it is: control characters (C0, DEL, C1; tab aside)
 * and anything outside Latin-1, which the wire would alter or drop.
 */
const UNSENDABLE = /[^\x09\x20-\x7e\xa0-\xff]/;
/** The longest timer Node.js keeps (2^31-1 ms); a longer one fires at once. */
export const MAX_TIMEOUT_MS = 2147483647;

const invalid = (message: string) => new SessionError('INVALID_INPUT', message);

/** Digest of a header set, to recognise headers this node put on a msg (and whether they were changed since). */
export function headersDigest(headers: Record<string, unknown>): string {
    // Runs on every reply: one hash over the sorted name/value lines, no intermediate JSON.
    let text = '';
    for (const name of Object.keys(headers).sort()) {
        if (name === RESPONSE_HEADERS_MARK) continue;
        const value = headers[name];
        text += `${name}\u0000${Array.isArray(value) ? value.join('\u0001') : String(value)}\n`;
    }
    return sha1Hex(text);
}

/** SHA-1 in hex: the one-shot `crypto.hash` where Node has it (20.12+), no Hash object per reply. */
const sha1Hex: (text: string) => string =
    typeof (crypto as { hash?: unknown }).hash === 'function'
        ? (text) => (crypto as unknown as { hash(algorithm: string, data: string, encoding: 'hex'): string }).hash('sha1', text, 'hex')
        : (text) => crypto.createHash('sha1').update(text).digest('hex');

const OUR_DIGEST = /^[0-9a-f]{40}$/;

/** What the node adds to the msg: its header list's headers for this msg, and whether the server has a TLS configuration. */
export interface RequestExtras {
    listHeaders?: Record<string, unknown>;
    tlsConfigured?: boolean;
}

const HEADER_LIST = "the node's header list";

/** msg.headers win over the node's list, name by name whatever the case (the list gives defaults). */
function withDefaults(own: Record<string, string>, defaults: Record<string, string>): Record<string, string> {
    const set = new Set(Object.keys(own).map((name) => name.toLowerCase()));
    const result: Record<string, string> = {};
    for (const [name, value] of Object.entries(defaults)) if (!set.has(name.toLowerCase())) result[name] = value;
    return Object.assign(result, own);
}

/**
 * Reads one msg the way the core http request node does and checks it: the result is safe to send
 * with the session credential (same origin, no header injection) or an `INVALID_INPUT` error.
 */
export function parseRequest(
    config: RequestNodeConfig,
    msg: Record<string, unknown>,
    baseUrl: string,
    defaultTimeoutMs: number,
    warn: (text: string) => void,
    { listHeaders, tlsConfigured = false }: RequestExtras = {},
): AuthorizedRequest {
    const method = readMethod(config, msg, warn);
    const headers = withDefaults(readHeaders(msg.headers), readHeaders(listHeaders, HEADER_LIST));
    let url = resolveUrl(readUrl(config, msg, warn), baseUrl, tlsConfigured);
    let body: Buffer | string | undefined;
    // As in the core node: GET may carry the payload in the query or the body; HEAD never.
    if (method === 'GET' && config.paytoqs === 'query') url = withQuery(url, msg.payload);
    else if ((method === 'GET' && config.paytoqs === 'body') || (method !== 'GET' && method !== 'HEAD')) body = encodeBody(msg.payload, headers);
    return {
        method,
        url,
        headers,
        cookies: readCookies(msg.cookies),
        body,
        timeoutMs: readTimeout(msg.requestTimeout, defaultTimeoutMs),
        followRedirects: msg.followRedirects === undefined ? true : Boolean(msg.followRedirects),
    };
}

function readMethod(config: RequestNodeConfig, msg: Record<string, unknown>, warn: (text: string) => void): string {
    let method = config.method || 'GET';
    if (method === 'use') {
        if (typeof msg.method !== 'string') throw invalid('msg.method must be set to an HTTP method (the node is set to "- set by msg.method -").');
        method = msg.method;
    } else if (msg.method !== undefined && String(msg.method).toUpperCase() !== method) {
        warn(`msg.method is ignored: the node's method is ${method}.`);
    }
    method = method.toUpperCase();
    if (!/^[A-Z]+$/.test(method)) throw invalid(`"${method.slice(0, 20)}" is not an HTTP method.`);
    return method;
}

function readUrl(config: RequestNodeConfig, msg: Record<string, unknown>, warn: (text: string) => void): string {
    if (config.url) {
        if (msg.url !== undefined && msg.url !== config.url) warn("msg.url is ignored: the node's URL is set.");
        return renderUrlTemplate(config.url, msg);
    }
    if (typeof msg.url !== 'string' || !msg.url.trim()) throw invalid('No URL: set one in the node or in msg.url.');
    return msg.url.trim();
}

/** A `%` in the query that starts no escape becomes `%25`, as the core node sends half-encoded queries. */
function normaliseQuery(url: string): string {
    const start = url.indexOf('?');
    if (start < 0) return url;
    return url.slice(0, start + 1) + url.slice(start + 1).replace(/%(?![0-9a-fA-F]{2})/g, '%25');
}

/**
 * `host:port/path`, or `host/path` naming the base URL's own host: an absolute URL without its
 * scheme, which the core node completes. Any other text without a scheme is a relative path.
 */
function lacksScheme(url: string, base: URL): boolean {
    const first = /^([^/?#]*)/.exec(url)![1].toLowerCase();
    return /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d+$/.test(first) || first === base.hostname.toLowerCase();
}

/**
 * A path relative to the base URL, or an absolute URL on the same origin; never another origin.
 * A URL without a scheme gets `https://` with a TLS configuration and `http://` without, as in the core node.
 */
export function resolveUrl(url: string, baseUrl: string, tlsConfigured = false): string {
    if (CONTROL.test(url)) throw invalid('The URL contains control characters.');
    // A path on the server (the usual case) needs no parsing of the base URL.
    if ((url.startsWith('/') && !url.startsWith('//')) || url.startsWith('?')) return normaliseQuery(baseUrl + url);
    const base = new URL(baseUrl);
    if (lacksScheme(url, base)) url = `${tlsConfigured ? 'https' : 'http'}://${url}`;
    const isAbsolute = /^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith('//');
    if (!isAbsolute) return normaliseQuery(baseUrl + (url.startsWith('/') || url.startsWith('?') ? '' : '/') + url);
    let target: URL;
    try {
        target = new URL(url, base);
    } catch {
        throw invalid('The URL is not valid.');
    }
    if (target.origin !== base.origin) {
        throw invalid(`The URL points to ${target.protocol}//${target.host}: the session is only sent to ${base.origin}.`);
    }
    return normaliseQuery(target.href);
}

function readHeaders(value: unknown, where = 'msg.headers'): Record<string, string> {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
        throw invalid(`${where} must be an object of header names and values.`);
    }
    const source = value as Record<string, unknown>;
    if (isResponseHeaders(source)) return {};
    const headers: Record<string, string> = {};
    for (const [name, raw] of Object.entries(source)) {
        if (name === RESPONSE_HEADERS_MARK || raw === undefined || raw === null) continue;
        if (!TOKEN.test(name)) throw invalid(`${where} has an invalid header name "${name.slice(0, 40)}".`);
        if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
            throw invalid(`${where}["${name}"] must be a string or a number.`);
        }
        const text = String(raw);
        if (UNSENDABLE.test(text)) throw invalid(`${where}["${name}"] contains a control character or one outside Latin-1.`);
        // Names are case-insensitive: a later spelling replaces an earlier one and is the one sent.
        for (const key of Object.keys(headers)) if (key.toLowerCase() === name.toLowerCase()) delete headers[key];
        headers[name] = text;
    }
    return headers;
}

/**
 * Response headers of an earlier request node, passed on: not meant for this request. Ours are
 * recognised unless changed since (as the core node does); the core node's marker cannot be
 * checked here, so its headers are always treated as response headers.
 */
function isResponseHeaders(headers: Record<string, unknown>): boolean {
    if (!(RESPONSE_HEADERS_MARK in headers)) return false;
    const mark = headers[RESPONSE_HEADERS_MARK];
    return typeof mark !== 'string' || !OUR_DIGEST.test(mark) || mark === headersDigest(headers);
}

function readCookies(value: unknown): string[] {
    if (value === undefined || value === null) return [];
    if (typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) throw invalid('msg.cookies must be an object.');
    const pairs: string[] = [];
    for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
        if (raw === null || raw === undefined) continue;
        if (!TOKEN.test(name)) throw invalid(`msg.cookies has an invalid cookie name "${name.slice(0, 40)}".`);
        const entry = typeof raw === 'object' ? (raw as { value?: unknown; encode?: unknown }) : { value: raw };
        if (entry.value === null || entry.value === undefined) continue;
        const text = String(entry.value);
        const encoded = entry.encode === false ? text : encodeURIComponent(text);
        if (UNSENDABLE.test(encoded) || encoded.includes(';')) {
            throw invalid(`msg.cookies["${name}"] contains a forbidden character (a control character, ";" or one outside Latin-1).`);
        }
        pairs.push(`${name}=${encoded}`);
    }
    return pairs;
}

/** A timeout outside 1 … 2^31-1 ms would fire at once (or never): refused before anything is sent. */
function readTimeout(value: unknown, fallback: number): number {
    if (value === undefined || value === null || value === '') return fallback;
    const timeout = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : NaN;
    if (Number.isFinite(timeout) && timeout >= 1 && timeout <= MAX_TIMEOUT_MS) return timeout;
    throw invalid(`msg.requestTimeout must be a number of milliseconds from 1 to ${MAX_TIMEOUT_MS}.`);
}

import { ErrorCode, SessionError } from '../errors';
import type { HttpResponse } from '../http/http-client';
import { RESPONSE_HEADERS_MARK, ReturnType, headersDigest } from './request-input';
import { cookieName } from '../session/session-cookies';

/** One entry of `msg.responseCookies`, as the core node writes it: `{value, Path, Expires, ...}`. */
export type ResponseCookie = { value: string } & Record<string, string>;

/** Puts the reply on the msg as the core http request node does. */
export function writeResponse(
    msg: Record<string, unknown>,
    response: HttpResponse,
    ret: ReturnType,
    sessionCookie: string | undefined,
    warn: (text: string) => void,
): void {
    msg.statusCode = response.status;
    const headers: Record<string, unknown> = { ...response.headers };
    // A reply that renews the session cookie must not put it on the msg (README, "Session behaviour": never the session cookie in msg.responseCookies).
    const setCookie = withoutSessionCookie(response.headers['set-cookie'], sessionCookie);
    if (setCookie.length) headers['set-cookie'] = setCookie;
    else delete headers['set-cookie'];
    headers[RESPONSE_HEADERS_MARK] = headersDigest(headers);
    msg.headers = headers;
    msg.responseUrl = response.url;
    msg.responseCookies = responseCookies(response.headers['set-cookie'], sessionCookie);
    msg.redirectList = response.redirects.map((hop) =>
        hop.setCookie.length ? { location: hop.location, cookies: responseCookies(hop.setCookie, sessionCookie) } : { location: hop.location },
    );
    msg.payload = decodeBody(response, ret, warn);
    msg.retry = 0;
}

function decodeBody(response: HttpResponse, ret: ReturnType, warn: (text: string) => void): unknown {
    if (ret === 'bin') return response.body;
    const text = response.body.toString('utf8');
    if (ret !== 'obj') return text;
    if (response.status === 204) return {};
    try {
        return JSON.parse(text);
    } catch {
        warn('The reply is not valid JSON: msg.payload is the text as received.');
        return text;
    }
}

/**
 * `msg.responseCookies`: every cookie the reply set except the session's own, in the core node's
 * shape: `value` and each `Name=value` attribute as spelled, values URL-decoded; flags (Secure,
 * HttpOnly) are not listed.
 */
function responseCookies(setCookie: string | string[] | undefined, sessionCookie: string | undefined): Record<string, ResponseCookie> {
    const result: Record<string, ResponseCookie> = {};
    for (const header of withoutSessionCookie(setCookie, sessionCookie)) {
        const name = cookieName(header);
        if (!name || !header.includes('=')) continue;
        const cookie: Record<string, string> = {};
        for (const pair of header.split(';')) {
            const eq = pair.indexOf('=');
            const key = eq < 0 ? '' : pair.slice(0, eq).trim();
            const field = key === name && !('value' in cookie) ? 'value' : key;
            if (key && !(field in cookie)) cookie[field] = cookieValue(pair.slice(eq + 1));
        }
        result[name] = cookie as ResponseCookie;
    }
    return result;
}

function withoutSessionCookie(setCookie: string | string[] | undefined, sessionCookie: string | undefined): string[] {
    const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
    return sessionCookie === undefined ? all : all.filter((header) => cookieName(header) !== sessionCookie);
}

function cookieValue(raw: string): string {
    let value = raw.trim();
    if (value.length > 1 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!value.includes('%')) return value;
    try {
        return decodeURIComponent(value);
    } catch {
        return value;
    }
}

/** With "send non-2xx to Catch": the error for a reply outside 2xx, by status. */
export function statusError(response: HttpResponse): SessionError | undefined {
    const status = response.status;
    if (status >= 200 && status < 300) return undefined;
    let code: ErrorCode = 'BAD_REQUEST';
    if (status >= 500) code = 'SERVER_ERROR';
    else if (status === 429) code = 'RATE_LIMITED';
    else if (status === 404) code = 'NOT_FOUND';
    return new SessionError(code, `The server answered HTTP ${status}.`, { statusCode: status });
}

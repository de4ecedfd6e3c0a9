import { Cookie } from 'tough-cookie';

import { ErrorCode, SessionError } from './errors';
import type { HttpResponse } from './http-client';
import { RESPONSE_HEADERS_MARK, ReturnType, headersDigest } from './request-input';
import { cookieName } from './session-cookies';

export interface ResponseCookie {
    value: string;
    path?: string;
    domain?: string;
    expires?: string;
    maxAge?: number;
    secure?: boolean;
    httpOnly?: boolean;
    sameSite?: string;
}

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
    headers[RESPONSE_HEADERS_MARK] = headersDigest(headers);
    msg.headers = headers;
    msg.responseUrl = response.url;
    msg.responseCookies = responseCookies(response.headers['set-cookie'], sessionCookie);
    msg.redirectList = response.redirects.map((hop) => ({ location: hop.location, cookies: responseCookies(hop.setCookie, sessionCookie) }));
    msg.payload = decodeBody(response, ret, warn);
    msg.retry = 0;
}

function decodeBody(response: HttpResponse, ret: ReturnType, warn: (text: string) => void): unknown {
    if (ret === 'bin') return response.body;
    const text = response.body.toString('utf8');
    if (ret !== 'obj') return text;
    if (response.status === 204 || text.trim() === '') return {};
    try {
        return JSON.parse(text);
    } catch {
        warn('The reply is not valid JSON: msg.payload is the text as received.');
        return text;
    }
}

/** `msg.responseCookies`: every cookie the reply set, except the session's own. */
function responseCookies(setCookie: string | string[] | undefined, sessionCookie: string | undefined): Record<string, ResponseCookie> {
    const result: Record<string, ResponseCookie> = {};
    for (const header of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
        if (sessionCookie !== undefined && cookieName(header) === sessionCookie) continue;
        const parsed = Cookie.parse(header);
        if (!parsed) continue;
        const cookie: ResponseCookie = { value: parsed.value };
        if (parsed.path) cookie.path = parsed.path;
        if (parsed.domain) cookie.domain = parsed.domain;
        if (parsed.expires instanceof Date) cookie.expires = parsed.expires.toUTCString();
        if (typeof parsed.maxAge === 'number') cookie.maxAge = parsed.maxAge;
        if (parsed.secure) cookie.secure = true;
        if (parsed.httpOnly) cookie.httpOnly = true;
        if (parsed.sameSite && parsed.sameSite !== 'none') cookie.sameSite = parsed.sameSite;
        result[parsed.key] = cookie;
    }
    return result;
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

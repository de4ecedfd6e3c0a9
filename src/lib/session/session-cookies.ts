import type { Cookie, CookieJar } from 'tough-cookie';

import type { HttpResponse } from '../http/http-client';

interface CachedCookies {
    cookies: Cookie[];
    /** The cookies must be looked up again from this time on (the earliest cookie expiry). */
    validUntil: number;
}

/** Session cookies per jar and URL path: the jar's lookup is the costliest step of a request. */
const cookieCache = new WeakMap<CookieJar, Map<string, CachedCookies>>();
const MAX_CACHED_PATHS = 256;

/** The jar's cookies for a URL, from the cache while nothing was stored and none has expired. */
function sessionCookiesFor(jar: CookieJar, url: string): Cookie[] {
    const queryAt = url.indexOf('?');
    const key = queryAt < 0 ? url : url.slice(0, queryAt);
    let paths = cookieCache.get(jar);
    const cached = paths?.get(key);
    const now = Date.now();
    if (cached && now < cached.validUntil) return cached.cookies;
    const cookies = jar.getCookiesSync(url);
    let validUntil = Infinity;
    for (const cookie of cookies) {
        const expiry = cookie.expiryTime();
        if (expiry !== undefined && expiry < validUntil) validUntil = expiry;
    }
    if (!paths || paths.size >= MAX_CACHED_PATHS) cookieCache.set(jar, (paths = new Map()));
    paths.set(key, { cookies, validUntil });
    return cookies;
}

/**
 * The headers with one `Cookie` header that carries the msg's cookies and the session's. The
 * session's cookies follow their Path/Secure rules (the jar decides) and win on a name clash.
 */
export function cookieHeader(
    headers: Record<string, string>,
    msgCookies: readonly string[],
    jar: CookieJar,
    url: string,
): Record<string, string> {
    const sessionCookies = sessionCookiesFor(jar, url);
    const existingName = Object.keys(headers).find((name) => name.toLowerCase() === 'cookie');
    if (!sessionCookies.length && !msgCookies.length) return headers;
    const result = { ...headers };
    const pairs: string[] = [];
    if (existingName) {
        pairs.push(...splitCookies(result[existingName]));
        delete result[existingName];
    }
    pairs.push(...msgCookies);
    const sessionNames = new Set(sessionCookies.map((cookie) => cookie.key));
    const kept = pairs.filter((pair) => !sessionNames.has(cookieName(pair)));
    kept.push(...sessionCookies.map((cookie) => cookie.cookieString()));
    if (kept.length) result.Cookie = kept.join('; ');
    return result;
}

/**
 * Keeps the cookies a reply sets: all of them from a login exchange, only a renewed session
 * cookie from a data request (other cookies belong to the flow, as with the core node).
 */
export function storeSessionCookies(jar: CookieJar, response: HttpResponse, sessionCookie: string | undefined, storeAll: boolean): void {
    const setCookie = response.headers['set-cookie'];
    if (!Array.isArray(setCookie)) return;
    for (const header of setCookie) {
        if (storeAll || (sessionCookie !== undefined && cookieName(header) === sessionCookie)) {
            jar.setCookieSync(header, response.url, { ignoreError: true });
            cookieCache.delete(jar);
        }
    }
}

/** Every cookie of the session as one `Cookie` value, whatever its path (for `exposeCredential`). */
export function sessionCookieString(jar: CookieJar): string {
    const stored = jar.serializeSync()?.cookies ?? [];
    return stored.map((cookie) => `${cookie.key}=${cookie.value}`).join('; ');
}

export function cookieName(pair: string): string {
    const index = pair.indexOf('=');
    return (index < 0 ? pair : pair.slice(0, index)).trim();
}

function splitCookies(value: string): string[] {
    return value.split(';').map((part) => part.trim()).filter(Boolean);
}

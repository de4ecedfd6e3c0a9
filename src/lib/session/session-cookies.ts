import { CookieJar } from 'tough-cookie';
import type { Cookie } from 'tough-cookie';

import type { HopCookies } from '../http/http-client';

interface CachedCookies {
    cookies: Cookie[];
    /** The cookies as one `Cookie` value (undefined when none), built once per credential and path. */
    header: string | undefined;
    /** The cookies must be looked up again from this time on (the earliest cookie expiry). */
    validUntil: number;
}

/** Session cookies per jar and URL path: the jar's lookup is the costliest step of a request. */
const cookieCache = new WeakMap<CookieJar, Map<string, CachedCookies>>();
const MAX_CACHED_PATHS = 256;

/** The jar's cookies for a URL, from the cache while nothing was stored and none has expired. */
function sessionCookiesFor(jar: CookieJar, url: string): CachedCookies {
    const queryAt = url.indexOf('?');
    const key = queryAt < 0 ? url : url.slice(0, queryAt);
    let paths = cookieCache.get(jar);
    const cached = paths?.get(key);
    const now = Date.now();
    if (cached && now < cached.validUntil) return cached;
    const cookies = jar.getCookiesSync(url);
    let validUntil = Infinity;
    for (const cookie of cookies) {
        const expiry = cookie.expiryTime();
        if (expiry !== undefined && expiry < validUntil) validUntil = expiry;
    }
    // One per name, as a request with cookies of its own merges them (see hopCookies).
    const byName = new Map<string, string>();
    for (const cookie of cookies) byName.set(cookie.key, cookie.cookieString());
    const header = byName.size ? [...byName.values()].join('; ') : undefined;
    if (!paths || paths.size >= MAX_CACHED_PATHS) cookieCache.set(jar, (paths = new Map()));
    const entry = { cookies, header, validUntil };
    paths.set(key, entry);
    return entry;
}

/**
 * Whether `url` is on `origin` (scheme, host and port as `URL.origin` spells them). A URL that
 * starts with the origin's own spelling is decided without parsing: that is every request built
 * from the server's base URL.
 */
export function onOrigin(url: string, origin: string): boolean {
    if (url.startsWith(origin)) {
        const next = url.charAt(origin.length);
        if (next === '/' || next === '?' || next === '#' || next === '') return true;
    }
    return new URL(url).origin === origin;
}

/**
 * The headers with one `Cookie` header that carries the msg's cookies and the session's (for one
 * URL, no redirects). The session's cookies follow their Path/Secure rules and win on a name clash.
 */
export function cookieHeader(headers: Record<string, string>, msgCookies: readonly string[], jar: CookieJar, url: string): Record<string, string> {
    const flow = takeCookieHeader(headers);
    const cookies = hopCookies({
        jar,
        origin: new URL(url).origin,
        url,
        flowCookies: [...flow.pairs, ...msgCookies],
        sessionCookie: undefined,
        storeAll: false,
    });
    const value = cookies.header(url);
    return value ? { ...flow.headers, Cookie: value } : flow.headers;
}

export interface HopCookieOptions {
    /** The session's jar: read for hops on the configured origin, written only from its replies. */
    jar: CookieJar;
    /** Scheme, host and port of the configured server. */
    origin: string;
    /** The first hop's URL: the msg's own cookies go only to its origin. */
    url: string;
    /** The msg's cookies (`msg.cookies` and a `Cookie` in `msg.headers`) as `name=value` pairs. */
    flowCookies: readonly string[];
    sessionCookie: string | undefined;
    /** A login exchange: every cookie of the configured origin belongs to the session. */
    storeAll: boolean;
}

/**
 * The cookies of one exchange, hop by hop: on each hop the ones the jars hold for that hop's URL
 * (Path, Domain and Secure apply), the session's only on the configured origin, the msg's own only
 * on the first hop's origin. A reply stores session cookies only if it came from the configured
 * origin (a redirect to another port cannot plant or replace one); other cookies a hop sets live
 * for the rest of the exchange, for hops to the same origin, as a browser would send them.
 */
export function hopCookies(options: HopCookieOptions): HopCookies {
    let firstOrigin: string | undefined;
    let hopJars: Map<string, CookieJar> | undefined;
    return {
        header(url) {
            const onServer = onOrigin(url, options.origin);
            // A request with no cookies of its own: the session's, as cached for this path.
            if (!options.flowCookies.length && !hopJars) return onServer ? sessionCookiesFor(options.jar, url).header : undefined;
            const origin = new URL(url).origin;
            firstOrigin ??= new URL(options.url).origin;
            const pairs = new Map<string, string>();
            if (origin === firstOrigin) for (const pair of options.flowCookies) pairs.set(cookieName(pair), pair);
            for (const cookie of hopJars?.get(origin)?.getCookiesSync(url) ?? []) pairs.set(cookie.key, cookie.cookieString());
            if (onServer) for (const cookie of sessionCookiesFor(options.jar, url).cookies) pairs.set(cookie.key, cookie.cookieString());
            return pairs.size ? [...pairs.values()].join('; ') : undefined;
        },
        store(url, setCookie) {
            if (!setCookie.length) return;
            const onServer = onOrigin(url, options.origin);
            for (const header of setCookie) {
                const ours = onServer && (options.storeAll || (options.sessionCookie !== undefined && cookieName(header) === options.sessionCookie));
                if (ours) {
                    options.jar.setCookieSync(header, url, { ignoreError: true });
                    cookieCache.delete(options.jar);
                    continue;
                }
                const origin = new URL(url).origin;
                hopJars ??= new Map();
                let hopJar = hopJars.get(origin);
                if (!hopJar) hopJars.set(origin, (hopJar = new CookieJar()));
                hopJar.setCookieSync(header, url, { ignoreError: true });
            }
        },
    };
}

/** The headers without `Cookie`, and its pairs: they are sent again per hop by {@link hopCookies}. */
export function takeCookieHeader(headers: Record<string, string>): { headers: Record<string, string>; pairs: string[] } {
    const name = Object.keys(headers).find((key) => key.toLowerCase() === 'cookie');
    if (name === undefined) return { headers, pairs: [] };
    const rest = { ...headers };
    delete rest[name];
    return { headers: rest, pairs: splitCookies(headers[name]) };
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
    return value
        .split(';')
        .map((part) => part.trim())
        .filter(Boolean);
}

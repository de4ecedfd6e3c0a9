import type { HttpResponse } from '../../http/http-client';
import type { ServerSettings } from '../adapter';
import { headerValue } from '../login-failure';
import type { SettingsOf } from '../settings';
import type { customSettings } from './settings';
import { compiledPattern } from './signal-settings';

type Settings = SettingsOf<typeof customSettings>;

/**
 * How much of a reply `rejectedBody` reads: a "logged out" answer says so near its start. Small,
 * because every reply is read and an unanchored `.*X.*` costs the square of the text (64 KB: ~40 s).
 */
const MAX_BODY_SCANNED = 4 * 1024;
/** Replies read as text: text, JSON and XML (and a reply that does not say). */
const TEXT_TYPE = /^\s*(text\/|application\/([\w.+-]*\+)?(json|xml)|application\/javascript|$)/i;

/** `rejectedBody` compiled once, or undefined when empty (an invalid one never deploys: `CONFIG`). */
export function rejectedBodyPattern(settings: ServerSettings<Settings>): RegExp | undefined {
    return settings.rejectedBody ? compiledPattern(settings.rejectedBody) : undefined;
}

/** The reply is text or JSON and matches the pattern. */
export function matchesBody(pattern: RegExp | undefined, response: HttpResponse): boolean {
    if (!pattern || !response.body.length) return false;
    if (!TEXT_TYPE.test(headerValue(response, 'content-type') ?? '')) return false;
    return pattern.test(response.body.subarray(0, MAX_BODY_SCANNED).toString('utf8'));
}

/** `rejectedStatus` as a set (also the logout's "already gone"). */
export function rejectedStatuses(settings: ServerSettings<Settings>): Set<number> {
    return new Set(settings.rejectedStatus.split(',').map((status) => Number(status.trim())));
}

/** The path a redirect goes to, resolved against the URL that answered with it. */
function redirectPaths(response: HttpResponse, baseUrl: string): string[] {
    const locations = response.redirects.map((hop) => hop.location);
    if (response.status >= 300 && response.status < 400) {
        const location = headerValue(response, 'location');
        if (location) locations.push(location);
    }
    const paths: string[] = [];
    for (const location of locations) {
        try {
            paths.push(new URL(location, `${baseUrl}/`).pathname);
        } catch {
            // not a URL: not a redirect to the login page either
        }
    }
    return paths;
}

/**
 * "Session ended" as the settings describe it, on a reply to an authorized request: a status of
 * `rejectedStatus`; a text or JSON body (any status) matching `rejectedBody`; a redirect to a path
 * starting with `rejectedRedirect` (from the host root or the base URL's path); or a redirect
 * followed to the login page itself (a form site's "log in again").
 */
export function sessionEndedBy(settings: ServerSettings<Settings>): (response: HttpResponse) => boolean {
    const statuses = rejectedStatuses(settings);
    const pattern = rejectedBodyPattern(settings);
    const basePath = new URL(`${settings.baseUrl}/`).pathname.replace(/\/$/, '');
    const redirect = settings.rejectedRedirect;
    const login = new URL(settings.baseUrl + settings.loginPath);
    return (response) => {
        if (statuses.has(response.status) || matchesBody(pattern, response)) return true;
        if (redirect && redirectPaths(response, settings.baseUrl).some((path) => path.startsWith(redirect) || path.startsWith(basePath + redirect))) {
            return true;
        }
        if (!response.redirects.length) return false;
        const landed = new URL(response.url);
        return landed.origin === login.origin && landed.pathname === login.pathname;
    };
}

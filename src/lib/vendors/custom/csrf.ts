import { Text, english, text } from '../../texts';
import { isSessionError } from '../../errors';
import type { HttpResponse } from '../../http/http-client';
import type { ServerSettings, SessionCredential, VendorContext, WriteToken } from '../adapter';
import { headerValue } from '../login-failure';
import type { SettingsOf } from '../settings';
import { atPath, usableCredential } from './reply';
import type { customSettings } from './settings';
import { matchesBody } from './session-signals';

type Settings = SettingsOf<typeof customSettings>;

/** The header a `fetch` token is read from when `csrfName` is empty, and the value that asks for it (SAP). */
const DEFAULT_FETCH_HEADER = 'X-CSRF-Token';
const FETCH = 'Fetch';
/** A reply header value that says a write lacked a valid token (SAP Gateway: `X-CSRF-Token: Required`). */
const REQUIRED = /^\s*required\s*$/i;

/** A write token found at login, and where (for Test login: never the value). */
export interface FoundWriteToken {
    token?: WriteToken;
    where?: Text[];
    warning?: string;
}

function fetchHeader(settings: ServerSettings<Settings>): string {
    return settings.csrfName || DEFAULT_FETCH_HEADER;
}

/**
 * The CSRF token of a fresh session: from the login reply's header or body, or fetched with the new
 * session's cookies (`csrfHeader: Fetch`). A missing one (or a failed fetch) is a warning, not a failed
 * login: writes are then refused and the token fetched again.
 */
export async function loginWriteToken(
    context: VendorContext<Settings>,
    response: HttpResponse,
    reply: unknown,
    credential: SessionCredential,
): Promise<FoundWriteToken> {
    const { settings } = context;
    if (settings.csrfFrom === 'none') return {};
    let value: string | undefined;
    let where: Text;
    /** The code a failed fetch ended with (no text: it could quote the reply). */
    let failed: string | undefined;
    if (settings.csrfFrom === 'header') {
        value = usableCredential(headerValue(response, settings.csrfName));
        where = text('testLogin.place.loginReplyHeader', { name: settings.csrfName });
    } else if (settings.csrfFrom === 'body') {
        value = usableCredential(atPath(reply, settings.csrfName));
        where = text('testLogin.place.loginReplyField', { name: settings.csrfName });
    } else {
        // An optional step, as a token that is missing: the session stands (and is logged out when no
        // longer used), whether the fetch failed or the node began closing before it could go.
        value = (
            await fetchWriteToken(context, credential).catch((error: unknown) => {
                failed = isSessionError(error) ? error.code : 'an error';
                return undefined;
            })
        )?.value;
        where = text('testLogin.place.fetchedHeader', { name: fetchHeader(settings), path: settings.csrfFetchPath });
    }
    if (value === undefined) {
        const why = failed ? `The CSRF token could not be fetched (${failed}; ${english(where)})` : `The API sent no CSRF token (${english(where)})`;
        return { where: [text('testLogin.place.none')], warning: `${why}: writes will be refused until one is found.` };
    }
    return { token: { name: settings.csrfHeader, value }, where: [where, text('testLogin.place.sentAsHeader', { name: settings.csrfHeader })] };
}

/** A new token for the same session: `GET csrfFetchPath` with `csrfHeader: Fetch`; undefined when the reply has none. */
export async function fetchWriteToken(context: VendorContext<Settings>, credential: SessionCredential): Promise<WriteToken | undefined> {
    const { settings } = context;
    const exchange = { method: 'GET', path: settings.csrfFetchPath, headers: { [settings.csrfHeader]: FETCH }, retry: true as const };
    const response = await context.send(exchange, credential);
    if (response.status >= 400) return undefined;
    const value = usableCredential(headerValue(response, fetchHeader(settings)));
    return value === undefined || REQUIRED.test(value) ? undefined : { name: settings.csrfHeader, value };
}

/**
 * A 403 that says the write's token is missing or stale: the reply matches `rejectedBody`, or (for
 * fetched tokens) it carries `X-CSRF-Token: Required`.
 */
export function isWriteTokenRefused(settings: ServerSettings<Settings>, pattern: RegExp | undefined, response: HttpResponse): boolean {
    if (settings.csrfFrom === 'none' || response.status !== 403) return false;
    if (settings.csrfFrom === 'fetch' && REQUIRED.test(headerValue(response, fetchHeader(settings)) ?? '')) return true;
    return matchesBody(pattern, response);
}

/** The token a reply hands over (`csrfUpdateHeader`, UniFi OS `X-Updated-CSRF-Token`). */
export function renewedWriteToken(settings: ServerSettings<Settings>, response: HttpResponse): string | undefined {
    if (settings.csrfFrom === 'none' || !settings.csrfUpdateHeader) return undefined;
    return usableCredential(headerValue(response, settings.csrfUpdateHeader));
}

/** Reply headers that can carry the token: kept out of `msg.headers`. */
export function csrfReplyHeaders(settings: ServerSettings<Settings>): string[] {
    if (settings.csrfFrom === 'none') return [];
    const names = [settings.csrfHeader, settings.csrfUpdateHeader];
    if (settings.csrfFrom === 'header') names.push(settings.csrfName);
    if (settings.csrfFrom === 'fetch') names.push(fetchHeader(settings));
    return [...new Set(names.filter(Boolean))];
}

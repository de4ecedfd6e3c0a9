import { SessionError } from '../errors';
import type { LoginResult, SessionCredential, VendorAdapter } from '../vendors/adapter';

/**
 * Why a 2xx login did not give a usable session, or undefined when it did: a token vendor needs its
 * token; a cookie vendor needs its session cookie in the jar such that it would be sent to the
 * vendor's API under the base URL (its `apiPath`), or else to some URL at or below the base URL
 * (right Domain and Path, Secure only over https, not already expired). A failed login
 * (`SERVER_ERROR`), whatever the vendor: otherwise every msg would be refused twice.
 */
export function unusableCredential(
    credential: SessionCredential,
    result: LoginResult,
    baseUrl: string,
    adapter: Pick<VendorAdapter, 'label' | 'sessionCookie' | 'apiPath'>,
    user: string,
): SessionError | undefined {
    if (result.header) {
        if (result.header.value) return undefined;
        return new SessionError('SERVER_ERROR', `${adapter.label} accepted the login of "${user}" but sent an empty token.`);
    }
    const name = adapter.sessionCookie;
    if (!name) return undefined;
    const api = adapter.apiPath ? baseUrl + adapter.apiPath : undefined;
    if (api ? sentTo(credential, api, name) : carriesCookie(credential, baseUrl, name)) return undefined;
    return new SessionError(
        'SERVER_ERROR',
        `${adapter.label} accepted the login of "${user}" but set no ${name} cookie that would be sent to ${api ?? baseUrl} (missing, expired, or for another path or domain).`,
    );
}

function carriesCookie(credential: SessionCredential, baseUrl: string, name: string): boolean {
    const base = new URL(`${baseUrl}/`);
    const stored = credential.jar.serializeSync()?.cookies ?? [];
    for (const cookie of stored) {
        if (cookie.key !== name) continue;
        // A cookie for the base path or above is probed at the base URL; one for a deeper path (SDM's
        // `/rest`) at its own path, which lies below the base URL.
        const path = typeof cookie.path === 'string' ? cookie.path : '/';
        const probe = path.startsWith(base.pathname) ? base.origin + path : base.href;
        if (sentTo(credential, probe, name)) return true;
    }
    return false;
}

function sentTo(credential: SessionCredential, url: string, name: string): boolean {
    return credential.jar.getCookiesSync(url).some((found) => found.key === name);
}

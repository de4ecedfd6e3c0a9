import { SessionError } from '../../../errors';
import type { AuthorizationStart, VendorAuthorization } from '../../adapter';
import { startDeviceFlow } from './device-flow';
import { codeChallenge, randomToken } from './pkce';
import { authorizedLineage, recordFrom } from './record';
import { OAuthSettings, PROVIDER, requestTokens } from './token-endpoint';

/** What the callback needs of an authorization it started (kept by the admin routes under its state, never sent). */
interface PendingCode {
    verifier: string;
    redirectUri: string;
}

/**
 * The editor's Authorize button for the OAuth2 grants: the authorization code grant with PKCE S256
 * (RFC 6749 §4.1, RFC 7636) or the device flow (RFC 8628). The client secret never goes in a URL.
 */
export const oauth2Authorization: VendorAuthorization = {
    async start(context, credentials, redirectUri): Promise<AuthorizationStart> {
        const settings = context.settings as OAuthSettings;
        if (settings.grant === 'device_code') return { kind: 'device', prompt: await startDeviceFlow(context, credentials) };
        if (settings.grant !== 'authorization_code') {
            throw new SessionError('CONFIG', 'Only the grants "authorization code" and "device code" are authorized from the editor.');
        }
        const verifier = randomToken();
        const state = randomToken();
        const url = new URL(settings.authorizeUrl);
        for (const [name, value] of new URLSearchParams(settings.authorizeParams)) url.searchParams.set(name, value);
        url.searchParams.set('response_type', 'code');
        url.searchParams.set('client_id', credentials.username);
        url.searchParams.set('redirect_uri', redirectUri);
        if (settings.scope) url.searchParams.set('scope', settings.scope);
        url.searchParams.set('state', state);
        url.searchParams.set('code_challenge', codeChallenge(verifier));
        url.searchParams.set('code_challenge_method', 'S256');
        const pending: PendingCode = { verifier, redirectUri };
        return { kind: 'redirect', url: url.toString(), state, pending };
    },

    async finish(context, credentials, pending, query) {
        const runtime = context.grant;
        if (!runtime) throw new SessionError('CONFIG', 'Deploy the server configuration first, then authorize.');
        const error = query.get('error');
        if (error) throw new SessionError('AUTHORIZATION_REQUIRED', `${PROVIDER} did not authorize: ${error.slice(0, 64)}.`);
        const code = query.get('code');
        if (!code) throw new SessionError('AUTHORIZATION_REQUIRED', `${PROVIDER} redirected back without a code.`);
        const { verifier, redirectUri } = pending as PendingCode;
        const reply = await requestTokens(context, credentials, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier });
        // A person's new authorization starts a new chain; the pastes seen so far stay known (an old one never resets it).
        const stored = await runtime.store.read().catch(() => undefined);
        await runtime.store.write(recordFrom(reply, authorizedLineage(stored, credentials.refreshToken)));
        runtime.changed();
    },
};

import { CookieJar } from 'tough-cookie';

import { SessionError } from '../../../errors';
import type { HttpResponse } from '../../../http/http-client';
import type { LoginCredentials, ServerSettings, VendorContext, VendorExchange } from '../../adapter';
import { loginFailure } from '../../login-failure';
import { SecretScrubber } from '../../../secret-scrubber';
import type { SettingsOf } from '../../settings';
import { atPath, expiryFromValue, replyJson, usableCredential } from '../reply';
import type { customSettings } from '../settings';
import { basicAuthorization } from '../template';

export type OAuthSettings = ServerSettings<SettingsOf<typeof customSettings>>;

export const PROVIDER = 'The OAuth2 provider';
/** RFC 6749 §5.2: the client itself was refused; the guard cools it down like a wrong password. */
const CLIENT_REJECTIONS = new Set(['invalid_client', 'unauthorized_client']);

/** A token endpoint's answer with new tokens (RFC 6749 §5.1). */
export interface TokenReply {
    accessToken: string;
    /** Absent: keep the refresh token held so far (§6). */
    refreshToken?: string;
    expiresAt: number | null;
    scope?: string;
}

/** An OAuth2 error reply (§5.2, RFC 8628 §3.5) the grant decides on: `invalid_grant`, `authorization_pending`, ... */
export class OAuthError extends SessionError {
    constructor(
        readonly error: string,
        message: string,
        statusCode: number,
    ) {
        super(error === 'invalid_grant' || error === 'access_denied' || error === 'expired_token' ? 'AUTHORIZATION_REQUIRED' : 'BAD_REQUEST', message, {
            statusCode,
        });
    }
}

/** An endpoint setting as an absolute URL: relative ones hang under `baseUrl`. */
export function endpointUrl(settings: OAuthSettings, value: string): string {
    return value.startsWith('/') ? settings.baseUrl + value : value;
}

/** A form post of the grant to an endpoint with the client's authentication; the secret only goes here. */
export function clientExchange(settings: OAuthSettings, credentials: LoginCredentials, endpoint: string, form: Record<string, string>): VendorExchange {
    const body = new URLSearchParams(form);
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
    if (settings.clientAuth === 'basic') headers.Authorization = basicAuthorization(credentials.username, credentials.password);
    else {
        body.set('client_id', credentials.username);
        if (settings.clientAuth === 'body' && credentials.password) body.set('client_secret', credentials.password);
    }
    // Resent only when it never left: a code is single use, and a refresh may have rotated the token.
    return { method: 'POST', path: '', url: endpointUrl(settings, endpoint), headers, body: body.toString(), retry: 'unsent' };
}

/** Posts `form` to the token endpoint: the new tokens, or the provider's error as a SessionError. */
export async function requestTokens(context: VendorContext, credentials: LoginCredentials, form: Record<string, string>): Promise<TokenReply> {
    const settings = context.settings as OAuthSettings;
    // A fresh jar: no session cookie of the API ever goes to the provider.
    const response = await context.send(clientExchange(settings, credentials, settings.tokenPath, form), { jar: new CookieJar() });
    try {
        return tokenReply(response, credentials.username, Date.now());
    } catch (error) {
        // A provider may echo the grant's own secrets (a stored refresh token the session does not know, a code) in its message.
        throw error instanceof Error ? new SecretScrubber().addSource(() => ({ tokens: grantSecrets(form) })).scrubError(error) : error;
    }
}

/** The form values that are secrets: everything but the grant type, the redirect URI and the scope. */
function grantSecrets(form: Record<string, string>): string[] {
    return Object.entries(form)
        .filter(([name]) => name !== 'grant_type' && name !== 'redirect_uri' && name !== 'scope')
        .map(([, value]) => value);
}

/** The tokens in a §5.1 reply, or the §5.2 error it holds. */
export function tokenReply(response: HttpResponse, client: string, now: number): TokenReply {
    const reply = replyJson(response);
    if (response.status >= 200 && response.status < 300) {
        const accessToken = usableCredential(atPath(reply, 'access_token'));
        if (!accessToken)
            throw new SessionError('SERVER_ERROR', `${PROVIDER} answered without an access token (HTTP ${response.status}).`, { statusCode: response.status });
        const refreshToken = usableCredential(atPath(reply, 'refresh_token'));
        const scope = atPath(reply, 'scope');
        return {
            accessToken,
            refreshToken,
            expiresAt: expiryFromValue(atPath(reply, 'expires_in'), now),
            scope: typeof scope === 'string' ? scope : undefined,
        };
    }
    throw providerError(response, reply, client);
}

/** A refused token request: the §5.2 `error` decides; a refused client is `INVALID_CREDENTIALS` (guarded). */
export function providerError(response: HttpResponse, reply: unknown, client: string): SessionError {
    const error = atPath(reply, 'error');
    if (typeof error === 'string' && /^[\x20-\x7e]{1,64}$/.test(error)) {
        if (CLIENT_REJECTIONS.has(error)) {
            return new SessionError('INVALID_CREDENTIALS', `${PROVIDER} rejected the client "${client}": ${error}.`, { statusCode: response.status });
        }
        if (response.status === 400 || response.status === 401) {
            return new OAuthError(error, `${PROVIDER} refused the grant of "${client}": ${error}.`, response.status);
        }
    }
    return loginFailure(response, PROVIDER, client);
}

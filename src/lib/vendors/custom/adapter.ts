import { Cookie } from 'tough-cookie';

import { SessionError } from '../../errors';
import { Text, text } from '../../texts';
import type { HttpResponse } from '../../http/http-client';
import type { LoginCredentials, LoginResult, ServerSettings, SessionCredential, VendorAdapter, VendorExchange } from '../adapter';
import { jwtClaims } from '../jwt';
import { headerValue, loginFailure, logoutFailure } from '../login-failure';
import type { SettingsOf } from '../settings';
import { parseDuration } from './duration';
import { customPresets } from './presets';
import { completePresets, devicePresets } from './device-presets';
import { atPath, expiryFromValue, replyJson, usableCredential, withoutSecrets } from './reply';
import { customSettings } from './settings';
import { csrfReplyHeaders, fetchWriteToken, isWriteTokenRefused, loginWriteToken, renewedWriteToken } from './csrf';
import { rejectedBodyPattern, rejectedStatuses, sessionEndedBy } from './session-signals';
import { basicAuthorization, fillTemplate, plainBasicAuthorization } from './template';
import { oauth2Authorization } from './oauth2/authorize';
import { grantLogin } from './oauth2/grant';

type Settings = SettingsOf<typeof customSettings>;

const LABEL = 'The API';
/** RFC 6749 §5.2: these errors mean the client's credentials were refused. */
const OAUTH_REJECTIONS = new Set(['invalid_client', 'invalid_grant', 'unauthorized_client']);
const CONTENT_TYPE = { json: 'application/json', form: 'application/x-www-form-urlencoded' } as const;
/** RFC 6265 cookie-octets: a token sent as a cookie must not add cookies (`;`) or split the header. */
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/;

/** A credential found in a login reply, and where (for Test login: never the value itself). */
interface Found {
    token?: string;
    where: Text[];
}

/**
 * Any REST API whose login hands back a cookie or a token, described by its settings: the login
 * request, where the credential comes back and how it is sent, how long it lives, which statuses
 * mean "session ended", and an optional logout. One adapter for every such API.
 */
export const custom: VendorAdapter<Settings> = {
    id: 'custom',
    label: LABEL,
    settings: customSettings,
    presets: completePresets({ ...customPresets, ...devicePresets }, customSettings),
    authorization: oauth2Authorization,

    withSettings: (settings) => {
        const pattern = rejectedBodyPattern(settings);
        const bound: VendorAdapter<Settings> = {
            ...custom,
            sessionCookie: sessionCookieName(settings),
            isSessionRejected: sessionEndedBy(settings),
            credentialReplyHeaders: csrfReplyHeaders(settings),
            credentialInStore: settings.grant !== 'login',
        };
        if (settings.csrfFrom === 'none') return bound;
        bound.isWriteTokenRefused = (response) => isWriteTokenRefused(settings, pattern, response);
        bound.renewedWriteToken = (response) => renewedWriteToken(settings, response);
        // A token from the login reply comes with a new login only (the core logs in again).
        if (settings.csrfFrom === 'fetch') bound.fetchWriteToken = fetchWriteToken;
        return bound;
    },

    validate: () => undefined,

    requestHeaders: () => ({}),

    async login(context, credentials, credential, replacing) {
        const { settings } = context;
        if (settings.grant !== 'login') return grantLogin(context, credentials, replacing);
        const response = await context.send(loginExchange(settings, credentials), credential);
        const status = response.status;
        if (status >= 400 || status < 200) throw failure(response, credentials.username);
        const reply = replyJson(response);
        const found = findCredential(settings, response, reply, credential);
        if (!found) {
            if (status >= 300) {
                // A classic form login sends a wrong password back to its form.
                throw new SessionError(
                    'INVALID_CREDENTIALS',
                    `${LABEL} sent the login of "${credentials.username}" back (HTTP ${status}) without a session: wrong user name or password.`,
                    { statusCode: status },
                );
            }
            throw new SessionError(
                'SERVER_ERROR',
                `${LABEL} answered the login of "${credentials.username}" (HTTP ${status}) without the ${credentialDescription(settings)}.`,
                { statusCode: status },
            );
        }
        const now = Date.now();
        const expiry = readExpiry(settings, reply, found.token, now);
        const csrf = await loginWriteToken(context, response, reply, credential);
        const result: LoginResult = {
            expiresAt: expiry.expiresAt,
            payload: withoutSecrets(reply, settings.tokenFrom === 'body' ? settings.tokenName : undefined, found.token),
            found: { credential: found.where, expiry: expiry.where, ...(csrf.where ? { writeToken: csrf.where } : {}) },
        };
        if (expiry.idleTimeoutMs !== undefined) result.idleTimeoutMs = expiry.idleTimeoutMs;
        const warnings = [expiry.warning, csrf.warning].filter(Boolean);
        if (warnings.length) result.warning = warnings.join(' ');
        if (csrf.token) result.writeToken = csrf.token;
        if (found.token !== undefined) carryToken(settings, found.token, credential, result);
        return result;
    },

    // Without the settings (never used so: the core binds the adapter to them) only a 401 says it.
    isSessionRejected: (response) => response.status === 401,

    async logout(context, credential) {
        const { settings } = context;
        if (!settings.logoutPath) return; // no logout call: the core forgets the credential
        const response = await context.send({ method: settings.logoutMethod, path: settings.logoutPath }, credential);
        if (response.status < 400 || rejectedStatuses(settings).has(response.status)) return;
        throw logoutFailure(response, LABEL);
    },
};

function loginExchange(settings: ServerSettings<Settings>, credentials: LoginCredentials): VendorExchange {
    const headers: Record<string, string> = {};
    let body: string | undefined;
    if (settings.loginBody !== 'none') {
        headers['Content-Type'] = CONTENT_TYPE[settings.loginBody];
        body = fillTemplate(settings.loginTemplate, settings.loginBody, credentials);
    }
    if (settings.tokenFrom === 'body' || settings.expiry === 'body') headers.Accept = 'application/json';
    if (settings.loginAuth === 'basic') headers.Authorization = basicAuthorization(credentials.username, credentials.password);
    if (settings.loginAuth === 'basic-plain') headers.Authorization = plainBasicAuthorization(credentials.username, credentials.password);
    return { method: settings.loginMethod, path: settings.loginPath, headers, body };
}

function credentialDescription(settings: ServerSettings<Settings>): string {
    if (settings.tokenFrom === 'cookie') return settings.tokenName ? `session cookie "${settings.tokenName}"` : 'session cookie';
    if (settings.tokenFrom === 'header') return `token header "${settings.tokenName}"`;
    return `token at "${settings.tokenName}" in its reply`;
}

/** The credential the login reply carries, where the settings say it is. Cookies are already in the jar. */
function findCredential(settings: ServerSettings<Settings>, response: HttpResponse, reply: unknown, credential: SessionCredential): Found | undefined {
    if (settings.tokenFrom === 'cookie') {
        // Only a cookie that would be sent to the base URL is a session (Path, Domain, expiry apply).
        const cookies = credential.jar.getCookiesSync(`${settings.baseUrl}/`);
        const named = settings.tokenName ? cookies.filter((cookie) => cookie.key === settings.tokenName) : cookies;
        if (!named.length) return undefined;
        return { where: [text('testLogin.place.cookies', { names: named.map((cookie) => `"${cookie.key}"`).join(', ') })] };
    }
    const token = usableCredential(settings.tokenFrom === 'header' ? headerValue(response, settings.tokenName) : atPath(reply, settings.tokenName));
    if (token === undefined || (settings.tokenAs === 'cookie' && !COOKIE_VALUE.test(token))) return undefined;
    const where = text(settings.tokenFrom === 'header' ? 'testLogin.place.header' : 'testLogin.place.replyField', { name: settings.tokenName });
    return { token, where: settings.tokenAs === 'cookie' ? [where, text('testLogin.place.sentAsCookie', { name: settings.tokenCookie })] : [where] };
}

/** The cookie that carries the session: the named login cookie, or the one a token is sent in. */
function sessionCookieName(settings: ServerSettings<Settings>): string | undefined {
    if (settings.tokenFrom === 'cookie') return settings.tokenName || undefined;
    return settings.tokenAs === 'cookie' ? settings.tokenCookie : undefined;
}

/**
 * A token from the body or a header goes as the configured header, or as a cookie of the base URL's
 * host (Proxmox `PVEAuthCookie`) kept in the session's jar like a cookie the server had set.
 */
function carryToken(settings: ServerSettings<Settings>, token: string, credential: SessionCredential, result: LoginResult): void {
    if (settings.tokenAs === 'cookie') {
        const cookie = new Cookie({ key: settings.tokenCookie, value: token, path: '/', secure: settings.baseUrl.startsWith('https:') });
        credential.jar.setCookieSync(cookie, `${settings.baseUrl}/`);
        return;
    }
    result.header = { name: settings.tokenHeader, value: settings.tokenTemplate.split('{{token}}').join(token), token };
}

interface Expiry {
    expiresAt: number | null;
    idleTimeoutMs?: number;
    where: Text[];
    warning?: string;
}

/** What the settings say about the credential's life, read from the reply or the token if they say so. */
function readExpiry(settings: ServerSettings<Settings>, reply: unknown, token: string | undefined, now: number): Expiry {
    if (settings.expiry === 'lifetime') {
        const ms = parseDuration(settings.expiryValue) ?? 0;
        const lifetime = text('testLogin.place.lifetime', { value: settings.expiryValue });
        const where = settings.expiryIdle ? [lifetime, text('testLogin.place.ofInactivity')] : [lifetime];
        return settings.expiryIdle ? { expiresAt: null, idleTimeoutMs: ms, where } : { expiresAt: now + ms, where };
    }
    if (settings.expiry === 'body') {
        const expiresAt = expiryFromValue(atPath(reply, settings.expiryValue), now);
        if (expiresAt !== null) return withIdle(settings, { expiresAt, where: [text('testLogin.place.replyField', { name: settings.expiryValue })] }, now);
        return {
            expiresAt: null,
            where: [text('testLogin.place.none')],
            warning: `${LABEL}'s login reply has no usable expiry at "${settings.expiryValue}": the session's end is found out by a refused request.`,
        };
    }
    if (settings.expiry === 'jwt') {
        const exp = token === undefined ? undefined : jwtClaims(token)?.exp;
        if (typeof exp === 'number' && Number.isFinite(exp) && exp > 0)
            return { expiresAt: Math.round(exp * 1000), where: [text('testLogin.place.tokenClaim', { name: 'exp' })] };
        return {
            expiresAt: null,
            where: [text('testLogin.place.none')],
            warning: `${LABEL}'s token carries no JWT "exp" claim: the session's end is found out by a refused request.`,
        };
    }
    return { expiresAt: null, where: [text('testLogin.place.none')] };
}

/** An expiry from the reply that counts from the last use: its length becomes an idle timeout. */
function withIdle(settings: ServerSettings<Settings>, expiry: Expiry, now: number): Expiry {
    if (!settings.expiryIdle || expiry.expiresAt === null) return expiry;
    return { expiresAt: null, idleTimeoutMs: Math.max(0, expiry.expiresAt - now), where: [...expiry.where, text('testLogin.place.ofInactivity')] };
}

/** A refused login; an OAuth2 token endpoint's 400 naming the client or grant is a credential rejection. */
function failure(response: HttpResponse, user: string): SessionError {
    if (response.status === 400) {
        const reply = replyJson(response);
        const error = atPath(reply, 'error');
        if (typeof error === 'string' && OAUTH_REJECTIONS.has(error)) {
            return new SessionError('INVALID_CREDENTIALS', `${LABEL} rejected the login of "${user}": ${error}.`, { statusCode: 400 });
        }
    }
    return loginFailure(response, LABEL, user);
}

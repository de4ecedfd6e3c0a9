import { SessionError } from '../../errors';
import type { HttpResponse } from '../../http/http-client';
import { escapeXml } from '../xml';
import type { LoginCredentials, LoginResult, ServerSettings, SessionCredential, VendorAdapter, VendorContext } from '../adapter';
import { loginFailure } from '../login-failure';
import { errorText, readReply, sessionFields, sessionLifetime, withoutSecrets } from './reply';
import type { SettingsOf } from '../settings';
import { sdmSettings } from './settings';

type Settings = SettingsOf<typeof sdmSettings>;

const LABEL = 'Oracle SDM';
const SESSION_COOKIE = 'JSESSIONID';
/** A session id that can stand in a cookie as it is (Tomcat: hex, a dot, a route name). */
const COOKIE_SAFE = /^[A-Za-z0-9._-]{1,256}$/;

/**
 * Oracle Communications Session Delivery Manager REST: login in JSON or XML under
 * `/rest/{apiVersion}`, a Tomcat `JSESSIONID` cookie (`Path=/rest`, so it also goes to other API
 * versions, and nowhere else), 401 once the session is gone, logout 204.
 * @see docs/vendors.md section 3
 */
export const sdm: VendorAdapter<Settings> = {
    id: 'sdm',
    label: LABEL,
    settings: sdmSettings,
    sessionCookie: SESSION_COOKIE,
    apiPath: '/rest/',

    validate: (settings) => sdmSettings.apiVersion.problem?.(settings.apiVersion, {})?.message,

    requestHeaders: (settings) => ({ Accept: mediaType(settings) }),

    async login(context, credentials, credential) {
        const { settings } = context;
        const type = mediaType(settings);
        const response = await context.send(
            {
                method: 'POST',
                path: apiPath(settings, '/admin/login'),
                headers: { 'Content-Type': type, Accept: type },
                body: loginBody(settings, credentials),
            },
            credential,
        );
        if (response.status < 200 || response.status >= 300) throw failure(response, settings, credentials);
        const fields = sessionFields(readReply(response));
        keepSessionCookie(context, credential, response, fields, credentials.username);
        const result: LoginResult = { ...sessionLifetime(fields, Date.now()), payload: fields ? withoutSecrets(fields) : {} };
        if (!fields) result.warning = 'Oracle SDM accepted the login but its reply held no readable <session>: msg.payload is empty.';
        return result;
    },

    // 401 "The session ID is invalid.": the session expired, was logged out or SDM restarted.
    isSessionRejected: (response) => response.status === 401,

    async logout(context, credential) {
        const response = await context.send(
            { method: 'POST', path: apiPath(context.settings, '/admin/logout'), headers: { Accept: mediaType(context.settings) } },
            credential,
        );
        // 204 (8.x) or 200 (9.0); 401 means the session was already gone.
        if (response.status < 300 || response.status === 401) return;
        const detail = said(errorText(response));
        throw new SessionError(response.status >= 500 ? 'SERVER_ERROR' : 'BAD_REQUEST', `Oracle SDM refused the logout (HTTP ${response.status})${detail}.`, {
            statusCode: response.status,
        });
    },
};

function mediaType(settings: ServerSettings<Settings>): string {
    return settings.format === 'xml' ? 'application/xml' : 'application/json';
}

function apiPath(settings: ServerSettings<Settings>, route: string): string {
    return `/rest/${settings.apiVersion}${route}`;
}

/** JSON without a root element (the documented form; `{"session":{...}}` is refused), or XML. */
function loginBody(settings: ServerSettings<Settings>, credentials: LoginCredentials): string {
    if (settings.format !== 'xml') return JSON.stringify({ userName: credentials.username, password: credentials.password });
    return (
        '<?xml version="1.0" encoding="UTF-8"?><session>' +
        `<userName>${escapeXml(credentials.username)}</userName><password>${escapeXml(credentials.password)}</password>` +
        '</session>'
    );
}

/** ": <server text>" for a message, or ''. */
function said(detail: string): string {
    return detail ? `: ${detail}` : '';
}

function failure(response: HttpResponse, settings: ServerSettings<Settings>, credentials: LoginCredentials): SessionError {
    const status = response.status;
    const user = credentials.username;
    const detail = said(errorText(response));
    const details = { statusCode: status };
    if (status === 400) {
        return new SessionError('BAD_REQUEST', `Oracle SDM refused the login request of "${user}" as invalid input (HTTP 400)${detail}.`, details);
    }
    if (status === 401) {
        return new SessionError('INVALID_CREDENTIALS', `Oracle SDM rejected the user ID or password of "${user}"${detail}.`, details);
    }
    if (status === 404) {
        return new SessionError(
            'NOT_FOUND',
            `Oracle SDM has no REST API version "${settings.apiVersion}" at this address (HTTP 404)${detail}: check the API version and the base URL.`,
            details,
        );
    }
    if (status >= 500) {
        return new SessionError('SERVER_ERROR', `Oracle SDM failed to log in "${user}" (HTTP ${status})${detail}.`, details);
    }
    return loginFailure(response, LABEL, user);
}

/**
 * The session must be in the jar as `JSESSIONID` for the `/rest` path. Tomcat sets it with
 * `Set-Cookie`; if a proxy dropped that header but the body names the session (its `sessionId` is
 * the cookie value), the cookie is made from it, with the path SDM would have given.
 */
function keepSessionCookie(
    context: VendorContext<Settings>,
    credential: SessionCredential,
    response: HttpResponse,
    fields: Record<string, unknown> | undefined,
    user: string,
): void {
    const restUrl = `${context.settings.baseUrl}/rest/`;
    if (credential.jar.getCookiesSync(restUrl).some((cookie) => cookie.key === SESSION_COOKIE)) return;
    const restPath = new URL(restUrl).pathname.replace(/\/$/, '');
    const sessionId = fields?.sessionId;
    if (typeof sessionId === 'string' && COOKIE_SAFE.test(sessionId)) {
        credential.jar.setCookieSync(`${SESSION_COOKIE}=${sessionId}; Path=${restPath}; HttpOnly`, restUrl);
        return;
    }
    throw new SessionError('SERVER_ERROR', `Oracle SDM accepted the login of "${user}" but sent no session cookie for ${restPath}.`, {
        statusCode: response.status,
    });
}

import { SessionError } from '../../errors';
import type { HttpResponse } from '../../http/http-client';
import type { LoginCredentials, LoginResult, SessionCredential, VendorAdapter, VendorContext } from '../adapter';
import { loginFailure, logoutFailure, replyMessage } from '../login-failure';
import { passwordPolicyViolation } from './password-policy';
import { smartserverPush } from './push';
import type { SettingsOf } from '../settings';
import { smartserverSettings } from './settings';

type Settings = SettingsOf<typeof smartserverSettings>;

const LABEL = 'SmartServer';
const LOCKOUT_PREFIX = 'Too many failed login attempts';
/** Retry a throttled login after the vendor client's own back-off when the server names no time. */
const THROTTLE_BACKOFF_S = 120;

/**
 * SmartServer IoT CMS, IAP/REST: JSON login that sets the `cmsSID` cookie, a session lifetime read
 * from `/iap/auth/sessionTimeout`, 401 (or a redirect to the CMS login page) once it has expired.
 * @see docs/vendors.md section 1
 */
export const smartserver: VendorAdapter<Settings> = {
    id: 'smartserver',
    label: LABEL,
    settings: smartserverSettings,
    tips: ['tls'],
    sessionCookie: 'cmsSID',
    apiPath: '/iap/',

    validate: () => undefined,

    requestHeaders: () => ({}),

    async login(context, credentials, credential) {
        let response = await postLogin(context, credential, credentials, undefined);
        let passwordChanged = false;
        if (response.status === 423 && credentials.newPassword) {
            const violation = passwordPolicyViolation(credentials.newPassword, credentials.password);
            if (violation) {
                throw new SessionError(
                    'PASSWORD_POLICY',
                    `The password of "${credentials.username}" expired and the configured new password was not sent: ${violation}.`,
                    { statusCode: 423 },
                );
            }
            response = await postLogin(context, credential, credentials, credentials.newPassword);
            passwordChanged = response.status === 200;
        }
        if (response.status !== 200) throw failure(response, credentials.username);
        return {
            expiresAt: await sessionExpiry(context, credential),
            payload: withoutSecrets(parseJson(response)),
            passwordChanged,
        } satisfies LoginResult;
    },

    isSessionRejected(response) {
        if (response.status === 401) return true;
        // Behind the CMS an expired session is answered with a redirect to the login page.
        return response.redirects.length > 0 && /\/cms\/?$|\/login\.html$/.test(new URL(response.url).pathname);
    },

    async logout(context, credential) {
        const response = await context.send({ method: 'PUT', path: '/iap/auth/logout' }, credential);
        if (response.status < 300 || response.status === 401) return;
        throw logoutFailure(response, LABEL);
    },

    push: smartserverPush,
};

function postLogin(
    context: VendorContext<Settings>,
    credential: SessionCredential,
    credentials: LoginCredentials,
    newPassword: string | undefined,
): Promise<HttpResponse> {
    const body: Record<string, string> = { username: credentials.username, password: credentials.password };
    if (newPassword !== undefined) body.newPassword = newPassword;
    return context.send(
        {
            method: 'POST',
            path: '/iap/auth/login',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
        },
        credential,
    );
}

/**
 * The server's session lifetime; unknown (null) if it does not say, or if asking fails (an error,
 * a hang, a reset): an optional step, so the session stays and its expiry is found by a 401.
 * Not resent: a login must not wait for retries of it.
 */
async function sessionExpiry(context: VendorContext<Settings>, credential: SessionCredential): Promise<number | null> {
    const started = Date.now();
    let response: HttpResponse;
    try {
        response = await context.send({ method: 'GET', path: '/iap/auth/sessionTimeout', retry: false }, credential);
    } catch {
        return null;
    }
    const lifetime = Number(response.body.toString('utf8').trim());
    return response.status === 200 && Number.isFinite(lifetime) && lifetime > 0 ? started + lifetime : null;
}

function failure(response: HttpResponse, user: string): SessionError {
    const message = replyMessage(response);
    const statusCode = response.status;
    if (statusCode === 429 && message.startsWith(LOCKOUT_PREFIX)) {
        const wait = parseWait(message);
        return new SessionError('LOCKED_OUT', `SmartServer locked out "${user}" after too many failed logins.`, {
            statusCode,
            retryAfter: wait,
        });
    }
    if (statusCode === 429) {
        const error = loginFailure(response, LABEL, user);
        error.retryAfter ??= THROTTLE_BACKOFF_S;
        return error;
    }
    if (statusCode === 428) {
        return new SessionError('ACCOUNT_DISABLED', `SmartServer user "${user}" is deactivated.`, { statusCode });
    }
    if (statusCode === 423) {
        return new SessionError('PASSWORD_EXPIRED', `The SmartServer password of "${user}" has expired: set a new password in the server configuration.`, {
            statusCode,
        });
    }
    return loginFailure(response, LABEL, user);
}

/** Seconds in "Wait for 1 hours 10 minutes 43 seconds before the next try"; undefined if absent. */
export function parseWait(message: string): number | undefined {
    const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
    let seconds = 0;
    let found = false;
    for (const match of message.matchAll(/(\d+)\s*(hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b/gi)) {
        seconds += Number(match[1]) * units[match[2][0].toLowerCase()];
        found = true;
    }
    return found ? seconds : undefined;
}

function parseJson(response: HttpResponse): unknown {
    try {
        return JSON.parse(response.body.toString('utf8'));
    } catch {
        return {};
    }
}

/** The user object minus anything that looks like a secret, in case a firmware echoes one. */
function withoutSecrets(payload: unknown): unknown {
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return payload;
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(payload)) {
        if (!/password|secret|token|sid/i.test(key)) copy[key] = value;
    }
    return copy;
}

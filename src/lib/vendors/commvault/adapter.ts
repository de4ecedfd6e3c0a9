import { formatDuration } from '../../duration';
import { SessionError } from '../../errors';
import type { HttpResponse } from '../../http/http-client';
import type { LoginCredentials, LoginResult, ServerSettings, VendorAdapter } from '../adapter';
import { LoginReply, loginBody, mediaType, parseLoginReply, withoutToken } from './reply';
import { loginFailure, logoutFailure } from '../login-failure';
import { clipQuote } from '../../secret-scrubber';
import type { SettingsOf } from '../settings';
import { commvaultSettings } from './settings';

type Settings = SettingsOf<typeof commvaultSettings>;

const LABEL = 'Commvault';
const TOKEN_HEADER = 'Authtoken';
/** "The authentication token expires after 30 minutes of inactivity" (all versions). */
const IDLE_TIMEOUT_MS = 30 * 60 * 1000;
const LOGGED_OUT = 'user logged out';
const ALREADY_LOGGED_OUT = 'invalid authorization token provided';
/** The text field of a Commvault error body that is not a Login reply (`{"errorCode":5,"errorMessage":"Access denied"}`). */
const MESSAGE_FIELDS = ['errorMessage'];

/**
 * Commvault / SnapProtect REST ("WebConsole API"): `POST {base}/Login` in JSON or XML with a
 * Base64 password, the reply's `token` sent as the `Authtoken` header, 30 minutes of idle life,
 * 401 once it is dead. A refused login is an HTTP 200 with `errList` and no token.
 * @see docs/vendors.md section 4
 */
export const commvault: VendorAdapter<Settings> = {
    id: 'commvault',
    label: LABEL,
    settings: commvaultSettings,

    validate: () => undefined,

    requestHeaders: (settings) => ({ Accept: mediaType(settings.format) }),

    async login(context, credentials, credential) {
        const { format } = context.settings;
        const response = await context.send(
            {
                method: 'POST',
                path: '/Login',
                headers: { Accept: mediaType(format), 'Content-Type': mediaType(format) },
                body: loginBody(format, loginFields(context.settings, credentials)),
            },
            credential,
        );
        if (response.status < 200 || response.status >= 300) throw loginFailure(response, LABEL, credentials.username, MESSAGE_FIELDS);
        const reply = parseLoginReply(response);
        if (!reply.token) throw refusal(reply, response, credentials.username);
        const result: LoginResult = {
            header: { name: TOKEN_HEADER, value: reply.token },
            expiresAt: null,
            idleTimeoutMs: IDLE_TIMEOUT_MS,
            payload: withoutToken(reply.fields),
        };
        if (reply.forcePasswordChange) {
            result.warning = `Commvault asks for the password of "${credentials.username}" to be changed: change it in Commvault, then update the server configuration.`;
        }
        return result;
    },

    isSessionRejected: (response) => response.status === 401,

    async logout(context, credential) {
        const response = await context.send({ method: 'POST', path: '/Logout', headers: { Accept: mediaType(context.settings.format) } }, credential);
        const text = response.body.toString('utf8').toLowerCase();
        const ok = response.status >= 200 && response.status < 300;
        if ((ok && text.includes(LOGGED_OUT)) || text.includes(ALREADY_LOGGED_OUT) || response.status === 401) return;
        throw logoutFailure(response, LABEL, MESSAGE_FIELDS);
    },
};

/** `{username, password (Base64 of UTF-8), domain?, commserver?}`. */
function loginFields(settings: ServerSettings<Settings>, credentials: LoginCredentials): Record<string, string> {
    const fields: Record<string, string> = {
        username: credentials.username,
        password: Buffer.from(credentials.password, 'utf8').toString('base64'),
    };
    if (settings.domain) fields.domain = settings.domain;
    if (settings.commserver) fields.commserver = settings.commserver;
    return fields;
}

/** A 2xx login reply without a token: a locked account, rejected credentials, or something unreadable. */
function refusal(reply: LoginReply, response: HttpResponse, user: string): SessionError {
    const statusCode = response.status;
    const said = reply.errorMessage ? `: ${clipQuote(reply.errorMessage)}` : '';
    if (reply.locked) {
        const seconds = reply.remainingLockTime;
        const wait = seconds ? ` for ${formatDuration(seconds * 1000)}` : '';
        return new SessionError('LOCKED_OUT', `Commvault account "${user}" is locked${wait}${said}.`, {
            statusCode,
            retryAfter: seconds,
        });
    }
    if (reply.errorMessage) {
        return new SessionError('INVALID_CREDENTIALS', `Commvault rejected the login of "${user}"${said}.`, { statusCode });
    }
    return new SessionError('SERVER_ERROR', `Commvault answered the login of "${user}" without a token (HTTP ${statusCode}).`, {
        statusCode,
    });
}

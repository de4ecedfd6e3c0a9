import { formatDuration } from '../../duration';
import { SessionError } from '../../errors';
import type { HttpResponse } from '../../http/http-client';
import type { LoginCredentials, LoginResult, SessionCredential, VendorAdapter, VendorContext } from '../adapter';
import { basicAuthorization, digestAuthorization, digestUserProblem, parseDigestChallenge } from './digest';
import { tokenExpiry, tokenLifetimeProblem } from './token';
import { loginFailure } from '../login-failure';
import type { SettingsOf } from '../settings';
import { cmwellSettings } from './settings';

type Settings = SettingsOf<typeof cmwellSettings>;

const LABEL = 'CM-Well';
const LOGIN_PATH = '/_login';
const TOKEN_HEADER = 'X-CM-WELL-TOKEN';
/** CM-Well's 403 for an expired, badly signed or revoked token (text for reads, JSON `message` for writes). */
const TOKEN_REJECTED = 'given token is not valid';
const EXPIRY_TOO_FAR = 'Token expiry must be less than 60 days';
/** CM-Well answers every `/_login` after this hold (Digest: half of it); a shorter request timeout never logs in. */
const LOGIN_HOLD_MS = 3000;
/** Below the hold plus this, a login timeout is most likely the hold's doing. */
const LOGIN_HOLD_MARGIN_MS = 2000;
/** A token goes into a header: printable ASCII only. */
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;

/**
 * CM-Well: `GET /_login` with HTTP Basic or CM-Well's Digest returns a JWT that is sent as the
 * `X-CM-WELL-TOKEN` header; its `exp` claim (milliseconds) tells the expiry in advance. There is no
 * logout call: the token is dropped locally. Every `/_login` reply is held 3 s (Digest 1.5 s).
 * @see docs/vendors.md section 2
 */
export const cmwell: VendorAdapter<Settings> = {
    id: 'cmwell',
    label: LABEL,
    settings: cmwellSettings,

    validate: (settings) => tokenLifetimeProblem(settings.tokenLifetime),

    requestHeaders: () => ({}),

    loginHint: (error, settings) =>
        error.code === 'TIMEOUT' && settings.requestTimeoutMs < LOGIN_HOLD_MS + LOGIN_HOLD_MARGIN_MS
            ? `CM-Well holds every login reply about ${formatDuration(LOGIN_HOLD_MS)} against password guessing: set the request timeout well above that (the default is 30000 ms, ${formatDuration(30_000)}).`
            : undefined,

    async login(context, credentials, credential) {
        const user = credentials.username;
        const digest = context.settings.authScheme === 'digest';
        const authorization = digest ? await digestLogin(context, credentials, credential) : basicLogin(credentials);
        const response = await context.send(
            {
                method: 'GET',
                path: loginPath(context.settings.tokenLifetime),
                headers: { Authorization: authorization },
                // A Digest answer burns its nonce: a resend would be refused like a wrong password.
                ...(digest ? { retry: false } : {}),
            },
            credential,
        );
        if (response.status !== 200) throw failure(response, user);
        const token = readToken(response);
        if (!token) {
            throw new SessionError('SERVER_ERROR', `CM-Well accepted the login of "${user}" but sent no usable token.`, { statusCode: 200 });
        }
        let expiresAt = tokenExpiry(token);
        let warning: string | undefined;
        if (expiresAt !== null && expiresAt <= Date.now()) {
            // Clocks apart: trusting the claim would log in again before every request. The 403 still tells.
            warning = `CM-Well issued a token for "${user}" that has already expired by this computer's clock: check the clocks of Node-RED and CM-Well.`;
            expiresAt = null;
        }
        return {
            header: { name: TOKEN_HEADER, value: token },
            expiresAt,
            payload: { user, expiresAt },
            warning,
        } satisfies LoginResult;
    },

    isSessionRejected(response) {
        if (response.status === 401) return true;
        return response.status === 403 && bodyText(response).includes(TOKEN_REJECTED);
    },

    // CM-Well tokens are stateless: there is nothing to end on the server. The core forgets the token.
    logout: async () => undefined,
};

/** `/_login`, with `?exp=` when the config sets a token lifetime (validated before anything is sent). */
function loginPath(tokenLifetime: string): string {
    const lifetime = tokenLifetime.trim();
    return lifetime ? `${LOGIN_PATH}?exp=${encodeURIComponent(lifetime)}` : LOGIN_PATH;
}

function basicLogin(credentials: LoginCredentials): string {
    // CM-Well splits user and password at the first ":": such a user name can never log in.
    if (credentials.username.includes(':')) {
        throw new SessionError('CONFIG', `The CM-Well user name "${credentials.username}" contains ":", which Basic authentication cannot carry.`);
    }
    return basicAuthorization(credentials.username, credentials.password);
}

/** Fetches a fresh challenge (nonces are single-use) and answers it. */
async function digestLogin(context: VendorContext<Settings>, credentials: LoginCredentials, credential: SessionCredential): Promise<string> {
    const problem = digestUserProblem(credentials.username);
    if (problem) throw new SessionError('CONFIG', problem);
    // The challenge request carries no credentials: resending it after a fault costs the account nothing.
    const response = await context.send({ method: 'GET', path: LOGIN_PATH, retry: true }, credential);
    if (response.status !== 401) {
        if (response.status === 200) {
            throw new SessionError('BAD_REQUEST', 'CM-Well answered the Digest challenge request without asking for credentials.', { statusCode: 200 });
        }
        throw loginFailure(response, LABEL, credentials.username);
    }
    const challenge = parseDigestChallenge(response.headers['www-authenticate']);
    if (!challenge) {
        throw new SessionError('BAD_REQUEST', 'CM-Well sent no Digest challenge: use Basic authentication for this server.', { statusCode: 401 });
    }
    return digestAuthorization(credentials.username, credentials.password, challenge);
}

/** The reply's text, only to recognise CM-Well's fixed phrases (read replies are text, write replies JSON); never quoted. */
function bodyText(response: HttpResponse): string {
    return response.body.subarray(0, 4096).toString('utf8');
}

function readToken(response: HttpResponse): string | undefined {
    try {
        const { token } = JSON.parse(response.body.toString('utf8')) as { token?: unknown };
        return typeof token === 'string' && TOKEN_SHAPE.test(token) ? token : undefined;
    } catch {
        return undefined;
    }
}

/**
 * A refused login. CM-Well's 400 bodies quote the whole Authorization header (the Basic one is the
 * password in base64), so they are never copied into the message.
 */
function failure(response: HttpResponse, user: string): SessionError {
    const statusCode = response.status;
    if (statusCode === 401) {
        return new SessionError('INVALID_CREDENTIALS', `CM-Well rejected the login of "${user}": not authenticated (wrong user name or password).`, {
            statusCode,
        });
    }
    if (statusCode === 400) {
        const said = bodyText(response);
        let reason = 'the authorization header was not accepted';
        if (said.includes(EXPIRY_TOO_FAR)) reason = 'the token lifetime must be less than 60 days';
        else if (said.includes('Digest Client Header')) reason = 'it could not read the Digest authorization header';
        else if (said.includes('Basic header')) reason = 'it could not read the Basic authorization header';
        return new SessionError('BAD_REQUEST', `CM-Well refused the login request of "${user}" (HTTP 400): ${reason}.`, { statusCode });
    }
    return loginFailure(response, LABEL, user);
}

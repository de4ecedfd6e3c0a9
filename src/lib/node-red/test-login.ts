import type { NodeAPI } from 'node-red';

import { formatDuration } from '../duration';
import { ErrorCode, HeldBack, SessionError, textError } from '../errors';
import type { HttpClientOptions } from '../http/http-client';
import { LoginGuard } from '../session/login-guard';
import type { SharedStoreLink } from '../session/shared-account';
import { Text, text as catalogText } from '../texts';
import { vendorAdapter } from '../vendors';
import { identitySettingNames, propertyNames } from '../vendors/settings';
import type { LoginCredentials, LoginResult, ServerSettings, VendorAdapter } from '../vendors/adapter';
import { proxySettings, tlsOptions } from './connection-options';
import { withEnv } from './env';
import { deployedStore, fleetGuardOf } from './fleet-guard';
import { asSessionError } from './report-error';
import { readServerSettings } from './server-settings';
import { createSessionManager } from './session-factory';
import type { ServerCredentials, ServerNode, ServerNodeDef } from './types';

/** The admin route of the config dialog's "Test login" button (relative to `httpAdminRoot`). */
export const TEST_LOGIN_PATH = '/rest-session-server/test-login';
/** What the editor sends for a password field the user left unchanged. */
export const PASSWORD_PLACEHOLDER = '__PWRD__';
/** Each exchange of a test login waits this long at most, whatever the dialog's timeout says. */
const EXCHANGE_LIMIT_MS = 15_000;
/** The whole test (login and expiry probe, with their retries) answers the editor within this. */
const TEST_LIMIT_MS = 30_000;
const LOGOUT_LIMIT_MS = 5_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** The dialog's values as the editor posts them; every field is untrusted. */
export type TestLoginBody = Record<string, unknown>;

export type TestLoginResult =
    | {
          ok: true;
          vendor: string;
          user: string;
          loggedInAt: number | null;
          expiresAt: number | null;
          /** The session's lifetime left, as every text says a duration ("23h 59m 59s"). */
          expiresIn?: string;
          loggedOut: boolean;
          found?: LoginResult['found'];
      }
    | {
          ok: false;
          code: ErrorCode;
          message: string;
          /** The message as a catalog text, which the dialog shows in the editor's language (absent: English only). */
          text?: Text;
          /** False when nothing was sent: the dialog's values or the login guard stopped it first. */
          sent: boolean;
          statusCode?: number;
          retryAfter?: number;
          /** What the login guard holds back now, until when, and how long that is from now. */
          heldBack?: { scope: HeldBack['scope']; until: number; left: string };
      };

/** Codes raised before anything is sent (unless a socket code says a close cut the login off). */
const NOT_SENT_CODES: ReadonlySet<ErrorCode> = new Set(['CONFIG', 'INVALID_INPUT', 'PASSWORD_POLICY']);

/**
 * Registers `POST /rest-session-server/test-login` (permission `rest-session-server.write`): logs in
 * with the dialog's values through the same core as a deployed node (vendor adapter, TLS of the
 * deployed tls-config node, the shared login guard, and the fleet's when the dialog or the deployed
 * node names a session store), reports the user and expiry or the error code,
 * logs out and destroys its client. The answer never holds a password, cookie or token.
 */
export function registerTestLogin(RED: NodeAPI): void {
    const running = new Map<string, Promise<TestLoginResult>>();
    RED.httpAdmin.post(TEST_LOGIN_PATH, RED.auth.needsPermission('rest-session-server.write'), (req, res) => {
        // The admin app also parses form bodies, which a cross-site form may post without a preflight.
        if (!isJson(req.headers['content-type'])) {
            res.status(415).json(failure(textError('INVALID_INPUT', catalogText('testLogin.jsonOnly'))));
            return;
        }
        const body: TestLoginBody = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body : {};
        testLogin(RED, body, running)
            .catch((error: unknown) => failure(asSessionError(error)))
            .then((result) => res.json(result))
            .catch(() => undefined);
    });
}

async function testLogin(RED: NodeAPI, body: TestLoginBody, running: Map<string, Promise<TestLoginResult>>): Promise<TestLoginResult> {
    const deployed = deployedServer(RED, body.id);
    const def = dialogDef(body);
    const adapter = vendorAdapter(text(body.vendor) || 'smartserver');
    const settings = readServerSettings(def, adapter);
    settings.requestTimeoutMs = Math.min(settings.requestTimeoutMs, EXCHANGE_LIMIT_MS);
    const credentials = dialogCredentials(RED, body, deployed, def, adapter, settings.baseUrl);
    const connection = connectionOptions(RED, text(body.tls), text(body.proxy));

    // A double click shares one login: the guard alone would let both through.
    const key = LoginGuard.fingerprint([JSON.stringify(settings), text(body.tls), text(body.proxy), credentials.username, credentials.password]);
    const shared = running.get(key);
    if (shared) return shared;
    const attempt = loginAndLogout(RED, settings, adapter, credentials, connection, fleetGuard(RED, body.store, deployed));
    const bounded = within(attempt, TEST_LIMIT_MS, () => textError('TIMEOUT', catalogText('testLogin.noAnswer', { time: formatDuration(TEST_LIMIT_MS) })));
    running.set(key, bounded);
    try {
        return await bounded;
    } finally {
        running.delete(key);
        attempt.catch(() => undefined); // after a timeout it still ends (and logs out) on its own
    }
}

/** Logs in through a throw-away session manager, then logs out and closes its sockets. */
async function loginAndLogout(
    RED: NodeAPI,
    settings: ServerSettings,
    adapter: VendorAdapter,
    credentials: LoginCredentials,
    connection: Pick<HttpClientOptions, 'tls' | 'proxy'>,
    shared: SharedStoreLink | undefined,
): Promise<TestLoginResult> {
    const vendor = adapter.id;
    const manager = createSessionManager(RED, {
        serverId: 'test-login',
        settings,
        adapter,
        connection,
        maxResponseBytes: MAX_RESPONSE_BYTES,
        credentials,
        shared,
    });
    try {
        const session = manager.ownSession();
        const { found } = (await manager.login(session, true)).result;
        const { user, loggedInAt, expiresAt } = manager.describe(session, false);
        const loggedOut = await within(manager.logout(session), LOGOUT_LIMIT_MS, () => new Error('logout timed out')).then(
            () => true,
            () => false,
        );
        const expiresIn = expiresAt === null ? {} : { expiresIn: formatDuration(expiresAt - Date.now()) };
        return { ok: true, vendor, user, loggedInAt, expiresAt, ...expiresIn, loggedOut, ...(found ? { found } : {}) };
    } catch (error) {
        // The answer goes to the editor: only the status and the vendor's message field, without any secret.
        throw asSessionError(error, manager.scrubber);
    } finally {
        await manager.close(false, 0);
    }
}

/**
 * The fleet's guard the test passes as well as this instance's (budget, cool-downs, blocks): the
 * dialog's session store, which must be deployed (an undeployed or unknown one is `CONFIG`, nothing
 * sent: a new or edited server is no way around the fleet's guard), else the deployed server's.
 */
function fleetGuard(RED: NodeAPI, storeId: unknown, deployed: ServerNode | undefined): SharedStoreLink | undefined {
    let store;
    try {
        store = deployedStore(RED, storeId);
    } catch (error) {
        throw deployFirst(error);
    }
    return store ? fleetGuardOf(RED, store) : deployed?.fleetGuard();
}

/** The config node the dialog edits, if it is deployed. */
function deployedServer(RED: NodeAPI, id: unknown): ServerNode | undefined {
    const node = typeof id === 'string' && id ? (RED.nodes.getNode(id) as ServerNode | null) : null;
    return node && node.type === 'rest-session-server' ? node : undefined;
}

/**
 * The dialog's values as a config node's properties, taken literally: Test login expands no
 * `${VAR}` (it would send an environment variable wherever the dialog points).
 */
function dialogDef(body: TestLoginBody): ServerNodeDef {
    const def = { id: 'test-login', type: 'rest-session-server', name: '', z: '' } as ServerNodeDef;
    const adapter = vendorAdapter(text(body.vendor) || 'smartserver');
    for (const key of ['baseUrl', 'requestTimeout', 'tls', 'proxy', ...propertyNames(adapter.settings)]) {
        def[key] = typeof body[key] === 'boolean' ? body[key] : text(body[key]);
    }
    return def;
}

/**
 * The username and password to test. An unchanged password field is the stored password of the
 * deployed node, used only when it would travel exactly as the deployed node sends it: same
 * vendor, base URL, TLS and proxy configuration, and the same login-identity settings.
 * No `newPassword`: a test must never change a password.
 */
function dialogCredentials(
    RED: NodeAPI,
    body: TestLoginBody,
    deployed: ServerNode | undefined,
    def: ServerNodeDef,
    adapter: VendorAdapter,
    baseUrl: string,
): LoginCredentials {
    const username = text(body.username).trim();
    if (!username) throw textError('CONFIG', catalogText('testLogin.noUsername'));
    if (text(body.password) !== PASSWORD_PLACEHOLDER) return { username, password: text(body.password) };
    const stored = (deployed ? RED.nodes.getCredentials(deployed.id) : undefined) as ServerCredentials | undefined;
    if (!deployed || !stored || typeof stored.password !== 'string') {
        throw textError('CONFIG', catalogText('testLogin.noStoredPassword'));
    }
    const changed = changedSetting(RED, deployed, def, adapter, baseUrl);
    if (changed) {
        throw textError('CONFIG', catalogText('testLogin.changed', { what: changed }));
    }
    // The deployed node gets Node-RED's own substitution: the test sends what it would send.
    return { username, password: withEnv(RED, deployed, stored.password) ?? '' };
}

/** The first setting that decides where and how the password travels and differs from the deployed node's. */
function changedSetting(RED: NodeAPI, deployed: ServerNode, def: ServerNodeDef, adapter: VendorAdapter, baseUrl: string): Text | undefined {
    const config = deployedConfig(RED, deployed.id);
    if (!config) return catalogText('testLogin.what.configuration');
    if (vendorAdapter(text(config.vendor) || 'smartserver').id !== adapter.id) return catalogText('testLogin.what.vendor');
    if (deployedBaseUrl(deployed) !== baseUrl) return catalogText('testLogin.what.baseUrl');
    if (text(config.tls) !== text(def.tls)) return catalogText('testLogin.what.tls');
    if (text(config.proxy) !== text(def.proxy)) return catalogText('testLogin.what.proxy');
    for (const name of identitySettingNames(adapter.settings)) {
        const setting = adapter.settings[name];
        if (JSON.stringify(setting.parse(config[name])) !== JSON.stringify(setting.parse(def[name]))) return catalogText('testLogin.what.setting', { name });
    }
    return undefined;
}

/** The deployed config node's properties, as Node-RED holds them. */
function deployedConfig(RED: NodeAPI, id: string): ServerNodeDef | undefined {
    let found: ServerNodeDef | undefined;
    RED.nodes.eachNode((node) => {
        if (node.id === id && node.type === 'rest-session-server') found = node as ServerNodeDef;
    });
    return found;
}

function deployedBaseUrl(deployed: ServerNode): string | undefined {
    try {
        return deployed.sessionManager().baseUrl;
    } catch {
        return undefined;
    }
}

/** TLS and proxy settings of the selected core tls-config and http proxy nodes, which must be deployed. */
function connectionOptions(RED: NodeAPI, tlsId: string, proxyId: string): Pick<HttpClientOptions, 'tls' | 'proxy'> {
    try {
        return { tls: tlsOptions(RED, tlsId || undefined), proxy: proxySettings(RED, proxyId || undefined) };
    } catch (error) {
        throw deployFirst(error);
    }
}

/** A config node the dialog selects is not deployed (or unusable): say so, in the editor's language. */
function deployFirst(error: unknown): SessionError {
    const failure = asSessionError(error);
    const { statusCode, retryAfter, transportCode, reason } = failure;
    return textError(failure.code, catalogText('testLogin.deployFirst', { reason: failure.text ?? failure.message }), {
        statusCode,
        retryAfter,
        transportCode,
        reason,
    });
}

function failure(error: SessionError): TestLoginResult {
    const notSent = error.notSent === true || (NOT_SENT_CODES.has(error.code) && error.transportCode === undefined);
    const result: TestLoginResult = { ok: false, code: error.code, message: error.message, sent: !notSent };
    if (error.text) result.text = error.text;
    if (error.statusCode !== undefined) result.statusCode = error.statusCode;
    if (error.retryAfter !== undefined) result.retryAfter = error.retryAfter;
    if (error.heldBack && error.heldBack.until > Date.now()) {
        result.heldBack = { ...error.heldBack, left: formatDuration(error.heldBack.until - Date.now()) };
    }
    return result;
}

function within<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
        timer.unref();
    });
    return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** `application/json`, with or without parameters. */
function isJson(contentType: string | undefined): boolean {
    return (
        String(contentType ?? '')
            .split(';')[0]
            .trim()
            .toLowerCase() === 'application/json'
    );
}

function text(value: unknown): string {
    return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/**
 * Simulators for the `custom` vendor: three kinds of API behind one listener, each under its own
 * path, so one base URL serves all three (the demo and the example flows use it so):
 *
 * - `/json`: a JSON-token API. `POST /json/login` `{username, password}` → 200 `{token, expires_in,
 *   refresh_token, user}`; the token goes as `Authorization: Bearer`; `GET /json/devices`; 401 once
 *   the token is dead; `POST /json/logout` → 204.
 * - `/form`: a form login with a session cookie. `POST /form/login` (urlencoded) → 302 to
 *   `/form/home` with `Set-Cookie: sid=…; Path=/`; a wrong password is sent back to the form
 *   (302 to `/form/login?error=1`, no cookie); `GET /form/status` with the cookie, else a 302 to the
 *   login page; `GET /form/logout` → 302 to the login page.
 * - `/oauth2`: an OAuth2 client-credentials token endpoint (RFC 6749 §4.4, §5.1, §5.2).
 *   `POST /oauth2/token`, client authentication with HTTP Basic (§2.3.1: id and secret form-encoded),
 *   form body `grant_type=client_credentials` → 200 `{access_token, token_type, expires_in}` with
 *   `Cache-Control: no-store`; a wrong client is 401 `invalid_client` (`WWW-Authenticate: Basic`), or
 *   400 with `invalidClientStatus: 400`; `GET /oauth2/api/things` with the Bearer token.
 *
 * Faults the login guard cares about, per API: a lockout after `lockoutThreshold` failed logins
 * (429 with Retry-After, whatever the password, until `lockoutDurationS` passed), `noTokenNext(api)`
 * (a 200 login without the credential), `invalidClientNext()` (a 400 `invalid_client`). Counts
 * per API in `stats.apis`. Every time read is Date.now() (a fake clock drives expiry).
 */

import crypto from 'node:crypto';
import http from 'node:http';

import {
    LockoutCounter,
    Simulator,
    runCli,
    type Exchange,
    type FlowSimulator,
    type ListenOptions,
    type RequestRecord,
    type SimulatorStats,
} from './loopback-server';

export type CustomApi = 'json' | 'form' | 'oauth2';
const APIS: readonly CustomApi[] = ['json', 'form', 'oauth2'];

export interface CustomOptions extends ListenOptions {
    /** Lifetime of a token or session cookie. */
    tokenTtlMs: number;
    lockoutThreshold: number;
    lockoutDurationS: number;
    /** Status of a wrong OAuth2 client: 401 (RFC 6749 §5.2 for Basic client auth) or 400. */
    invalidClientStatus: number;
    /** The user (JSON, form) and the OAuth2 client. */
    username: string;
    password: string;
}

const DEFAULT_OPTIONS: CustomOptions = {
    tls: true,
    host: '127.0.0.1',
    port: 0,
    tokenTtlMs: 3600_000,
    lockoutThreshold: 5,
    lockoutDurationS: 600,
    invalidClientStatus: 401,
    username: 'integrator',
    password: 'S3cret:pa ss&word',
};

export interface CustomRecord extends RequestRecord {
    api: CustomApi | null;
    authorization: string;
    cookie: string;
    contentType: string;
}

export interface ApiStats {
    loginAttempts: number;
    loginsOk: number;
    logouts: number;
    /** Authorized requests answered 200. */
    served: number;
    /** Bodies of the login requests, as sent. */
    loginBodies: string[];
}

export interface CustomStats extends SimulatorStats<CustomRecord> {
    apis: Record<CustomApi, ApiStats>;
}

function emptyApi(): ApiStats {
    return { loginAttempts: 0, loginsOk: 0, logouts: 0, served: 0, loginBodies: [] };
}

function emptyStats(): CustomStats {
    return { loginAttempts: 0, loginsOk: 0, requests: [], apis: { json: emptyApi(), form: emptyApi(), oauth2: emptyApi() } };
}

type Ctx = Exchange<CustomRecord>;

interface Credential {
    api: CustomApi;
    user: string;
    expiresAt: number;
}

/** `Basic base64(formEncode(id):formEncode(secret))` as RFC 6749 §2.3.1 has it; null if malformed. */
export function clientFromBasic(header: string | undefined): { id: string; secret: string } | null {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
    if (!match) return null;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const decode = (text: string): string => decodeURIComponent(text.replace(/\+/g, ' '));
    try {
        return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
    } catch {
        return null;
    }
}

export class CustomApiSimulator extends Simulator<CustomRecord, CustomStats> {
    protected readonly _options: CustomOptions;
    private readonly credentials = new Map<string, Credential>();
    private readonly lockouts: Record<CustomApi, LockoutCounter>;
    private readonly noToken: Record<CustomApi, number> = { json: 0, form: 0, oauth2: 0 };
    private invalidClient = 0;

    constructor(options: Partial<CustomOptions> = {}) {
        super('custom', emptyStats);
        this._options = { ...DEFAULT_OPTIONS, ...options };
        const limits = () => ({ threshold: this._options.lockoutThreshold, durationMs: this._options.lockoutDurationS * 1000 });
        this.lockouts = { json: new LockoutCounter(limits), form: new LockoutCounter(limits), oauth2: new LockoutCounter(limits) };
    }

    get baseUrl(): string {
        return this.origin ?? '';
    }

    get user(): { username: string; password: string } {
        return { username: this._options.username, password: this._options.password };
    }

    /** The next `count` logins of `api` succeed without handing out the credential. */
    noTokenNext(api: CustomApi, count = 1): void {
        this.noToken[api] += count;
    }

    /** The next `count` token requests are refused with 400 `invalid_client`, whatever the client. */
    invalidClientNext(count = 1): void {
        this.invalidClient += count;
    }

    /** Every token and session dies, as after a restart. */
    expireAll(): void {
        this.credentials.clear();
    }

    /** Credentials of `api` still alive. */
    live(api: CustomApi): number {
        const now = Date.now();
        return [...this.credentials.values()].filter((c) => c.api === api && c.expiresAt > now).length;
    }

    /** Every credential value handed out (to check none leaks). */
    issued(): string[] {
        return [...this.credentials.keys()];
    }

    protected _recordFields(req: http.IncomingMessage, url: URL): Omit<CustomRecord, keyof RequestRecord> {
        const api = APIS.find((name) => url.pathname.startsWith(`/${name}/`)) ?? null;
        return {
            api,
            authorization: req.headers.authorization ?? '',
            cookie: req.headers.cookie ?? '',
            contentType: req.headers['content-type'] ?? '',
        };
    }

    protected _tooLarge(ctx: Ctx): void {
        this._sendJson(ctx, 413, { message: 'Request body too large' });
    }

    protected _dispatch(ctx: Ctx): void {
        const route = `${ctx.method} ${ctx.pathname}`;
        switch (route) {
            case 'POST /json/login':
                return this.jsonLogin(ctx);
            case 'GET /json/devices':
                return this.authorized(ctx, 'json', this.bearer(ctx), () => [{ id: 1, name: 'pump', value: 42 }]);
            case 'POST /json/logout':
                return this.logout(ctx, 'json', this.bearer(ctx), () => this._send(ctx, 204));
            case 'POST /form/login':
                return this.formLogin(ctx);
            case 'GET /form/login':
                return this._send(ctx, 200, '<form method="post"><input name="username"><input name="password" type="password"></form>', {
                    'Content-Type': 'text/html',
                });
            case 'GET /form/home':
                return this._send(ctx, 200, '<p>Welcome</p>', { 'Content-Type': 'text/html' });
            case 'GET /form/status':
                return this.authorized(ctx, 'form', this.sessionCookie(ctx), () => ({ running: true, temperature: 21.5 }));
            case 'GET /form/logout':
                return this.logout(ctx, 'form', this.sessionCookie(ctx), () => this.toLoginPage(ctx, 'sid=; Path=/; Max-Age=0'));
            case 'POST /oauth2/token':
                return this.tokenRequest(ctx);
            case 'GET /oauth2/api/things':
                return this.authorized(ctx, 'oauth2', this.bearer(ctx), () => ({ things: ['a', 'b'] }));
            default:
                return this._sendJson(ctx, 404, { message: 'Not found' });
        }
    }

    // ---- logins --------------------------------------------------------------------------

    /** Counts the attempt; answers 429 with Retry-After while the user is locked. */
    private begin(ctx: Ctx, api: CustomApi, user: string): boolean {
        this._stats.loginAttempts++;
        this._stats.apis[api].loginAttempts++;
        this._stats.apis[api].loginBodies.push(ctx.body.toString('utf8'));
        const until = this.lockouts[api].lockedUntil(user);
        if (!until) return true;
        const seconds = Math.max(1, Math.ceil((until - Date.now()) / 1000));
        this._sendJson(ctx, 429, { message: 'Too many failed logins', error: 'temporarily_locked' }, { 'Retry-After': String(seconds) });
        return false;
    }

    private refused(api: CustomApi, user: string): void {
        this.lockouts[api].recordFailure(user);
    }

    private issue(api: CustomApi, user: string): string | null {
        this.lockouts[api].clear(user);
        if (this.noToken[api] > 0) {
            this.noToken[api]--;
            return null;
        }
        const value = crypto.randomBytes(18).toString('base64url');
        this.credentials.set(value, { api, user, expiresAt: Date.now() + this._options.tokenTtlMs });
        this._stats.loginsOk++;
        this._stats.apis[api].loginsOk++;
        return value;
    }

    private jsonLogin(ctx: Ctx): void {
        let body: { username?: unknown; password?: unknown };
        try {
            body = JSON.parse(ctx.body.toString('utf8')) as typeof body;
        } catch {
            body = {};
        }
        const user = typeof body.username === 'string' ? body.username : '';
        if (!this.begin(ctx, 'json', user)) return;
        if (user !== this._options.username || body.password !== this._options.password) {
            this.refused('json', user);
            return this._sendJson(ctx, 401, { message: 'Invalid username or password' });
        }
        const token = this.issue('json', user);
        const profile = { name: user, role: 'operator' };
        if (!token) return this._sendJson(ctx, 200, { user: profile });
        return this._sendJson(ctx, 200, { token, expires_in: Math.round(this._options.tokenTtlMs / 1000), refresh_token: `r-${token}`, user: profile });
    }

    private formLogin(ctx: Ctx): void {
        const form = new URLSearchParams(ctx.body.toString('utf8'));
        const user = form.get('username') ?? '';
        if (!this.begin(ctx, 'form', user)) return;
        if (user !== this._options.username || form.get('password') !== this._options.password) {
            this.refused('form', user);
            return this._send(ctx, 302, '', { Location: '/form/login?error=1' });
        }
        const sid = this.issue('form', user);
        if (!sid) return this._send(ctx, 200, '<p>Welcome back</p>', { 'Content-Type': 'text/html' });
        return this._send(ctx, 302, '', { Location: '/form/home', 'Set-Cookie': `sid=${sid}; Path=/; HttpOnly` });
    }

    private tokenRequest(ctx: Ctx): void {
        const client = clientFromBasic(ctx.req.headers.authorization);
        const id = client?.id ?? '';
        if (!this.begin(ctx, 'oauth2', id)) return;
        const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
        if (!/^application\/x-www-form-urlencoded/.test(ctx.req.headers['content-type'] ?? '')) {
            return this._sendJson(ctx, 400, { error: 'invalid_request', error_description: 'form body expected' }, noStore);
        }
        if (this.invalidClient > 0) {
            this.invalidClient--;
            this.refused('oauth2', id);
            return this._sendJson(ctx, 400, { error: 'invalid_client' }, noStore);
        }
        if (!client || client.id !== this._options.username || client.secret !== this._options.password) {
            this.refused('oauth2', id);
            const status = this._options.invalidClientStatus;
            return this._sendJson(
                ctx,
                status,
                { error: 'invalid_client', error_description: 'Client authentication failed' },
                status === 401 ? { ...noStore, 'WWW-Authenticate': 'Basic realm="token"' } : noStore,
            );
        }
        const grant = new URLSearchParams(ctx.body.toString('utf8')).get('grant_type');
        if (grant !== 'client_credentials') return this._sendJson(ctx, 400, { error: 'unsupported_grant_type' }, noStore);
        const token = this.issue('oauth2', id);
        if (!token) return this._sendJson(ctx, 200, { token_type: 'Bearer', expires_in: 3600 }, noStore);
        return this._sendJson(
            ctx,
            200,
            { access_token: token, token_type: 'Bearer', expires_in: Math.round(this._options.tokenTtlMs / 1000), scope: 'read' },
            noStore,
        );
    }

    // ---- authorized requests --------------------------------------------------------------

    private bearer(ctx: Ctx): string {
        return /^Bearer (\S+)$/.exec(ctx.req.headers.authorization ?? '')?.[1] ?? '';
    }

    private sessionCookie(ctx: Ctx): string {
        const found = /(?:^|;\s*)sid=([^;]*)/.exec(ctx.req.headers.cookie ?? '');
        return found ? found[1] : '';
    }

    private liveCredential(api: CustomApi, value: string): Credential | undefined {
        const credential = this.credentials.get(value);
        if (!credential || credential.api !== api) return undefined;
        if (credential.expiresAt <= Date.now()) {
            this.credentials.delete(value);
            return undefined;
        }
        return credential;
    }

    private toLoginPage(ctx: Ctx, setCookie?: string): void {
        this._send(ctx, 302, '', { Location: '/form/login', ...(setCookie ? { 'Set-Cookie': setCookie } : {}) });
    }

    private authorized(ctx: Ctx, api: CustomApi, value: string, data: () => unknown): void {
        if (!this.liveCredential(api, value)) {
            if (api === 'form') return this.toLoginPage(ctx);
            return this._sendJson(ctx, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
        }
        this._stats.apis[api].served++;
        return this._sendJson(ctx, 200, data());
    }

    private logout(ctx: Ctx, api: CustomApi, value: string, answer: () => void): void {
        if (this.credentials.delete(value)) this._stats.apis[api].logouts++;
        answer();
    }
}

// ---------------------------------------------------------------------------------------------
// Command line: node -r tsx/cjs test/simulators/custom.ts [--port 8446] [--http] [--host 127.0.0.1]
// ---------------------------------------------------------------------------------------------

if (require.main === module)
    runCli(
        (options) => new CustomApiSimulator(options),
        (sim) => sim.baseUrl,
    );

/** The shared entry point of every simulator module (example-flow tests, `npm start`). */
export async function startForFlows({ host = '127.0.0.1', port = 0 } = {}): Promise<FlowSimulator<CustomApiSimulator>> {
    const simulator = new CustomApiSimulator({ host, port });
    await simulator.start();
    return { simulator, baseUrl: simulator.baseUrl, credentials: simulator.user, stop: () => simulator.stop() };
}

/** Port `npm start` uses for this vendor (env CUSTOM_PORT overrides). */
export const DEMO_PORT = 8446;

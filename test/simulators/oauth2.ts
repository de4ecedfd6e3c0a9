/**
 * An OAuth2 provider for the grants that need a person (RFC 6749, RFC 7636, RFC 8628), with a
 * resource that needs its access token:
 *
 * - `GET /authorize`: the authorization endpoint. Checks the client, the exact `redirect_uri` and
 *   PKCE (`code_challenge_method=S256` required), then shows a consent page whose Approve and Deny
 *   buttons post to `/authorize/decision`; `autoApprove` (or `approveNext()`) answers at once with the
 *   redirect. An unknown client or redirect URI is a 400 page, never a redirect (RFC 6749 §4.1.2.1).
 * - `POST /token`: client authentication Basic (§2.3.1), in the body, or none for a public client;
 *   `authorization_code` (single-use code, same redirect URI, PKCE S256 verified), `refresh_token`
 *   (rotation: each use issues a new refresh token and the old one dies, or lives on for
 *   `refreshGraceMs`), the device code grant (`authorization_pending`, `slow_down` when polled
 *   faster than the interval, `access_denied`, `expired_token`). Errors as §5.2.
 * - `POST /device_authorization`: RFC 8628 §3.1-3.2; `GET /device` is the verification page,
 *   `POST /device/decision` approves or denies (tests call `approveDevice()` / `denyDevice()`).
 * - `GET /api/things`: the resource, 401 `invalid_token` without a live access token.
 *
 * Counts (`stats.oauth`): token requests per grant, refreshes, every refresh token presented and
 * whether it was dead, every URL it saw. Knobs: `revokeGrants()` (every refresh token dies),
 * `loseNextTokenReply()` (rotates, then drops the connection: the reply is lost), `holdNext()` (leaves the
 * next rotation or resource request unanswered, for a test that kills the client then), `expireAccessTokens()`,
 * `tokenDelayMs`. Every time read is Date.now() (a fake clock drives expiry).
 */

import crypto from 'node:crypto';
import http from 'node:http';

import { Simulator, runCli, type Exchange, type FlowSimulator, type ListenOptions, type RequestRecord, type SimulatorStats } from './loopback-server';
import { clientFromBasic } from './custom';
import { request } from './http-get';

export interface OAuthClient {
    id: string;
    /** Absent: a public client (authenticates with `client_id` only). */
    secret?: string;
    redirectUris: string[];
}

export interface OAuthOptions extends ListenOptions {
    clients: OAuthClient[];
    accessTtlMs: number;
    /** A rotated refresh token still works this long (some providers allow a grace period). */
    refreshGraceMs: number;
    /** Issue a new refresh token on each refresh (rotation). */
    rotate: boolean;
    /** Approve every authorization request without the consent page. */
    autoApprove: boolean;
    /** Device flow: seconds between polls the client must keep; how long a device code lives. */
    deviceIntervalS: number;
    deviceTtlS: number;
    /** Delay of every token endpoint reply. */
    tokenDelayMs: number;
    /** The `expires_in` a token reply says, when a test wants a bad one ("-5", 1e9); else the access token's lifetime. */
    expiresIn?: unknown;
}

export const DEMO_CLIENT: OAuthClient = { id: 'node-red-demo', secret: 'demo client secret/+&', redirectUris: [] };

const DEFAULT_OPTIONS: OAuthOptions = {
    tls: true,
    host: '127.0.0.1',
    port: 0,
    clients: [],
    accessTtlMs: 3600_000,
    refreshGraceMs: 0,
    rotate: true,
    autoApprove: false,
    deviceIntervalS: 5,
    deviceTtlS: 600,
    tokenDelayMs: 0,
};

export interface OAuthRecord extends RequestRecord {
    /** The whole request target as received (path and query): a secret must never be in one. */
    url: string;
    authorization: string;
    body: string;
}

export interface OAuthStats extends SimulatorStats<OAuthRecord> {
    oauth: {
        /** Token endpoint requests by grant_type. */
        tokenRequests: Record<string, number>;
        /** Refresh token grants answered with new tokens. */
        refreshes: number;
        /** Every refresh token presented, in order. */
        refreshTokensSeen: string[];
        /** Refresh tokens presented after they died (rotated away or revoked). */
        deadRefreshUses: number;
        codesIssued: number;
        /** Resource requests served / refused. */
        served: number;
        refused: number;
    };
}

function emptyStats(): OAuthStats {
    return {
        loginAttempts: 0,
        loginsOk: 0,
        requests: [],
        oauth: { tokenRequests: {}, refreshes: 0, refreshTokensSeen: [], deadRefreshUses: 0, codesIssued: 0, served: 0, refused: 0 },
    };
}

type Ctx = Exchange<OAuthRecord>;

interface PendingCode {
    clientId: string;
    redirectUri: string;
    challenge: string;
    scope: string;
    expiresAt: number;
}

interface RefreshGrant {
    clientId: string;
    scope: string;
    /** When it stops working: Infinity while it is the newest of its chain. */
    diesAt: number;
}

interface DeviceGrant {
    clientId: string;
    userCode: string;
    scope: string;
    expiresAt: number;
    intervalS: number;
    lastPollAt: number;
    decision: 'pending' | 'approved' | 'denied';
    /** Tokens were issued for it once: the device code is used up. */
    used: boolean;
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const USER_CODE_LETTERS = 'BCDFGHJKLMNPQRSTVWXZ';

/** base64url of the SHA-256 of the verifier (RFC 7636 §4.2, S256). */
export function s256(verifier: string): string {
    return crypto.createHash('sha256').update(verifier).digest('base64url');
}

function escapeHtml(text: string): string {
    return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export class OAuthProviderSimulator extends Simulator<OAuthRecord, OAuthStats> {
    protected readonly _options: OAuthOptions;
    private readonly codes = new Map<string, PendingCode>();
    private readonly refreshTokens = new Map<string, RefreshGrant>();
    private readonly accessTokens = new Map<string, number>();
    private readonly devices = new Map<string, DeviceGrant>();
    /** Authorization requests waiting on the consent page, by their request id. */
    private readonly consents = new Map<string, URLSearchParams>();
    private approveOnce = 0;
    private loseReplies = 0;
    private echoFailures = 0;
    /** Requests to leave unanswered (the client dies meanwhile), and who waits for them. */
    private readonly holds: Record<'rotation' | 'resource', Array<() => void>> = { rotation: [], resource: [] };

    constructor(options: Partial<OAuthOptions> = {}) {
        super('oauth2', emptyStats);
        this._options = {
            ...DEFAULT_OPTIONS,
            ...options,
            clients: (options.clients ?? [DEMO_CLIENT]).map((client) => ({ ...client, redirectUris: [...client.redirectUris] })),
        };
    }

    /** The simulator's settings; tests may change them on a running simulator. */
    get options(): OAuthOptions {
        return this._options;
    }

    client(id: string): OAuthClient | undefined {
        return this._options.clients.find((client) => client.id === id);
    }

    /** Registers another redirect URI for a client (what a user does in the provider's console). */
    registerRedirect(clientId: string, redirectUri: string): void {
        this.client(clientId)?.redirectUris.push(redirectUri);
    }

    /** Other providers whose access tokens this one's resource accepts (an API whose tokens come from another origin). */
    private readonly trusted: OAuthProviderSimulator[] = [];

    /** The resource accepts the access tokens `other` issues, as an API behind a separate login host does. */
    acceptTokensOf(other: OAuthProviderSimulator): void {
        this.trusted.push(other);
    }

    /** When an access token this provider issued expires; undefined if it never issued it (or it was revoked). */
    accessTokenExpiry(token: string): number | undefined {
        return this.accessTokens.get(token);
    }

    /** The next authorization request is approved without the consent page. */
    approveNext(): void {
        this.approveOnce++;
    }

    /** A refresh token the provider issued directly (what a user pastes, as tado or Netatmo users get one). */
    issueRefreshToken(clientId: string, scope = ''): string {
        const token = this.newToken('rt');
        this.refreshTokens.set(token, { clientId, scope, diesAt: Infinity });
        return token;
    }

    /** The user revoked the app: every refresh and access token dies. */
    revokeGrants(): void {
        for (const grant of this.refreshTokens.values()) grant.diesAt = Math.min(grant.diesAt, Date.now());
        this.accessTokens.clear();
    }

    /** Every access token is refused from now on (as if they had expired early). */
    expireAccessTokens(): void {
        this.accessTokens.clear();
    }

    /** The next token reply is computed (a refresh rotates) but the connection drops before it is sent. */
    loseNextTokenReply(): void {
        this.loseReplies++;
    }

    /** The next refresh fails with a 503 whose `message` echoes the refresh token presented (as careless providers do). */
    echoNextRefreshFailure(): void {
        this.echoFailures++;
    }

    /**
     * Resolves when the next `rotation` (new tokens issued, the old refresh token already dead) or
     * authorized `resource` request arrives; that request is never answered (a test kills the client).
     */
    holdNext(kind: 'rotation' | 'resource'): Promise<void> {
        return new Promise((resolve) => this.holds[kind].push(resolve));
    }

    /** Refresh tokens alive now. */
    liveRefreshTokens(): string[] {
        const now = Date.now();
        return [...this.refreshTokens].filter(([, grant]) => grant.diesAt > now).map(([token]) => token);
    }

    /** The device flow of this user code, approved or denied as a person would on the verification page. */
    approveDevice(userCode: string): boolean {
        return this.decideDevice(userCode, 'approved');
    }

    denyDevice(userCode: string): boolean {
        return this.decideDevice(userCode, 'denied');
    }

    /** User codes of device flows still waiting for a person. */
    pendingUserCodes(): string[] {
        return [...this.devices.values()].filter((d) => d.decision === 'pending' && d.expiresAt > Date.now()).map((d) => d.userCode);
    }

    // ---- routes ---------------------------------------------------------------------------

    protected _recordFields(req: http.IncomingMessage): Omit<OAuthRecord, keyof RequestRecord> {
        return { url: req.url ?? '', authorization: String(req.headers.authorization ?? ''), body: '' };
    }

    protected _tooLarge(ctx: Ctx): void {
        this._sendJson(ctx, 413, { error: 'invalid_request' });
    }

    protected _dispatch(ctx: Ctx): void {
        ctx.record.body = ctx.body.toString('utf8');
        switch (`${ctx.method} ${ctx.pathname}`) {
            case 'GET /authorize':
                return this.authorize(ctx, ctx.query);
            case 'POST /authorize/decision':
                return this.decision(ctx);
            case 'POST /token':
                return this._afterDelay(this._options.tokenDelayMs, () => this.token(ctx));
            case 'POST /device_authorization':
                return this.deviceAuthorization(ctx);
            case 'GET /device':
                return this.devicePage(ctx);
            case 'POST /device/decision':
                return this.devicePageDecision(ctx);
            case 'GET /api/things':
                return this.resource(ctx);
            default:
                return this._sendJson(ctx, 404, { error: 'not_found' });
        }
    }

    private page(ctx: Ctx, status: number, title: string, body: string): void {
        const html = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
        this._send(ctx, status, html, { 'Content-Type': 'text/html; charset=utf-8' });
    }

    private authorize(ctx: Ctx, query: URLSearchParams): void {
        const client = this.client(query.get('client_id') ?? '');
        const redirectUri = query.get('redirect_uri') ?? '';
        if (!client) return this.page(ctx, 400, 'Unknown client', '<p>The application is not registered.</p>');
        if (!client.redirectUris.includes(redirectUri))
            return this.page(ctx, 400, 'Redirect URI mismatch', `<p>Not registered: ${escapeHtml(redirectUri)}</p>`);
        const error = (code: string): void => this.redirect(ctx, redirectUri, { error: code, state: query.get('state') ?? '' });
        if (query.get('response_type') !== 'code') return error('unsupported_response_type');
        if (query.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(query.get('code_challenge') ?? '')) return error('invalid_request');
        if (this._options.autoApprove || this.approveOnce > 0) {
            if (this.approveOnce > 0) this.approveOnce--;
            return this.approve(ctx, query);
        }
        const id = crypto.randomBytes(12).toString('hex');
        this.consents.set(id, query);
        const scope = query.get('scope') ?? '';
        this.page(
            ctx,
            200,
            'Authorize',
            `<p>${escapeHtml(client.id)} asks for access${scope ? ` (${escapeHtml(scope)})` : ''}.</p>` +
                `<form method="post" action="/authorize/decision"><input type="hidden" name="request" value="${id}">` +
                `<button name="decision" value="approve" id="approve">Approve</button> <button name="decision" value="deny" id="deny">Deny</button></form>`,
        );
    }

    private decision(ctx: Ctx): void {
        const form = new URLSearchParams(ctx.body.toString('utf8'));
        const query = this.consents.get(form.get('request') ?? '');
        if (!query) return this.page(ctx, 400, 'Unknown request', '<p>This request was already answered.</p>');
        this.consents.delete(form.get('request') ?? '');
        if (form.get('decision') === 'approve') return this.approve(ctx, query);
        this.redirect(ctx, query.get('redirect_uri') ?? '', { error: 'access_denied', state: query.get('state') ?? '' });
    }

    private approve(ctx: Ctx, query: URLSearchParams): void {
        const code = this.newToken('code');
        this.codes.set(code, {
            clientId: query.get('client_id') ?? '',
            redirectUri: query.get('redirect_uri') ?? '',
            challenge: query.get('code_challenge') ?? '',
            scope: query.get('scope') ?? '',
            expiresAt: Date.now() + 600_000,
        });
        this._stats.oauth.codesIssued++;
        this.redirect(ctx, query.get('redirect_uri') ?? '', { code, state: query.get('state') ?? '' });
    }

    private redirect(ctx: Ctx, redirectUri: string, params: Record<string, string>): void {
        const target = new URL(redirectUri);
        for (const [name, value] of Object.entries(params)) if (value) target.searchParams.set(name, value);
        this._send(ctx, 302, '', { Location: target.toString() });
    }

    /** The client the token request authenticates as, or null after answering the §5.2 error. */
    private authenticate(ctx: Ctx, form: URLSearchParams): OAuthClient | null {
        const basic = ctx.req.headers.authorization ? clientFromBasic(ctx.req.headers.authorization) : null;
        const id = basic?.id ?? form.get('client_id') ?? '';
        const secret = basic ? basic.secret : form.get('client_secret');
        const client = this.client(id);
        const ok = client && (client.secret === undefined ? !basic && secret === null : secret === client.secret);
        if (ok) return client;
        this._sendJson(ctx, 401, { error: 'invalid_client' }, { 'WWW-Authenticate': 'Basic realm="oauth2"' });
        return null;
    }

    private token(ctx: Ctx): void {
        const form = new URLSearchParams(ctx.body.toString('utf8'));
        const grantType = form.get('grant_type') ?? '';
        const counts = this._stats.oauth.tokenRequests;
        counts[grantType] = (counts[grantType] ?? 0) + 1;
        this._stats.loginAttempts++;
        const client = this.authenticate(ctx, form);
        if (!client) return;
        if (grantType === 'authorization_code') return this.codeGrant(ctx, client, form);
        if (grantType === 'refresh_token') return this.refreshGrant(ctx, client, form);
        if (grantType === DEVICE_GRANT) return this.deviceGrant(ctx, client, form);
        return this.tokenError(ctx, 'unsupported_grant_type');
    }

    private tokenError(ctx: Ctx, error: string): void {
        this._sendJson(ctx, 400, { error }, { 'Cache-Control': 'no-store' });
    }

    private codeGrant(ctx: Ctx, client: OAuthClient, form: URLSearchParams): void {
        const code = form.get('code') ?? '';
        const pending = this.codes.get(code);
        this.codes.delete(code); // single use, whatever the outcome
        if (!pending || pending.clientId !== client.id || pending.expiresAt <= Date.now()) return this.tokenError(ctx, 'invalid_grant');
        if (form.get('redirect_uri') !== pending.redirectUri) return this.tokenError(ctx, 'invalid_grant');
        if (s256(form.get('code_verifier') ?? '') !== pending.challenge) return this.tokenError(ctx, 'invalid_grant');
        this.issue(ctx, client.id, pending.scope);
    }

    private refreshGrant(ctx: Ctx, client: OAuthClient, form: URLSearchParams): void {
        const presented = form.get('refresh_token') ?? '';
        this._stats.oauth.refreshTokensSeen.push(presented);
        if (this.echoFailures > 0) {
            this.echoFailures--;
            return this._sendJson(ctx, 503, { message: `refresh_token ${presented} could not be used now` });
        }
        const grant = this.refreshTokens.get(presented);
        if (!grant || grant.clientId !== client.id || grant.diesAt <= Date.now()) {
            if (grant) this._stats.oauth.deadRefreshUses++;
            return this.tokenError(ctx, 'invalid_grant');
        }
        this._stats.oauth.refreshes++;
        if (this._options.rotate) grant.diesAt = Math.min(grant.diesAt, Date.now() + this._options.refreshGraceMs);
        this.issue(ctx, client.id, grant.scope, !this._options.rotate);
    }

    /** New tokens; the refresh token is left out of the reply when the chain does not rotate (RFC 6749 §6). */
    private issue(ctx: Ctx, clientId: string, scope: string, keepRefresh = false): void {
        const accessToken = this.newToken('at');
        this.accessTokens.set(accessToken, Date.now() + this._options.accessTtlMs);
        const reply: Record<string, unknown> = {
            access_token: accessToken,
            token_type: 'Bearer',
            expires_in: this._options.expiresIn ?? Math.round(this._options.accessTtlMs / 1000),
        };
        if (!keepRefresh) {
            const refreshToken = this.newToken('rt');
            this.refreshTokens.set(refreshToken, { clientId, scope, diesAt: Infinity });
            reply.refresh_token = refreshToken;
        }
        if (scope) reply.scope = scope;
        this._stats.loginsOk++;
        const held = this.holds.rotation.shift();
        if (held) return held();
        if (this.loseReplies > 0) {
            this.loseReplies--;
            ctx.record.status = 0;
            ctx.res.socket?.destroy();
            return;
        }
        this._sendJson(ctx, 200, reply, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    }

    private deviceAuthorization(ctx: Ctx): void {
        const form = new URLSearchParams(ctx.body.toString('utf8'));
        const client = this.authenticate(ctx, form);
        if (!client) return;
        const deviceCode = this.newToken('dc');
        let userCode = '';
        for (const byte of crypto.randomBytes(8)) userCode += USER_CODE_LETTERS[byte % USER_CODE_LETTERS.length];
        userCode = `${userCode.slice(0, 4)}-${userCode.slice(4)}`;
        const { deviceIntervalS, deviceTtlS } = this._options;
        this.devices.set(deviceCode, {
            clientId: client.id,
            userCode,
            scope: form.get('scope') ?? '',
            expiresAt: Date.now() + deviceTtlS * 1000,
            intervalS: deviceIntervalS,
            lastPollAt: 0,
            decision: 'pending',
            used: false,
        });
        const verificationUri = `${this.origin}/device`;
        this._sendJson(
            ctx,
            200,
            {
                device_code: deviceCode,
                user_code: userCode,
                verification_uri: verificationUri,
                verification_uri_complete: `${verificationUri}?user_code=${userCode}`,
                expires_in: deviceTtlS,
                interval: deviceIntervalS,
            },
            { 'Cache-Control': 'no-store' },
        );
    }

    private deviceGrant(ctx: Ctx, client: OAuthClient, form: URLSearchParams): void {
        const device = this.devices.get(form.get('device_code') ?? '');
        if (!device || device.clientId !== client.id || device.used) return this.tokenError(ctx, 'invalid_grant');
        const now = Date.now();
        if (device.expiresAt <= now) return this.tokenError(ctx, 'expired_token');
        if (device.decision === 'denied') return this.tokenError(ctx, 'access_denied');
        // Polled before the interval was over: slow down, and the interval grows by 5 s (RFC 8628 §3.5).
        const tooSoon = now - device.lastPollAt < device.intervalS * 1000;
        device.lastPollAt = now;
        if (tooSoon) {
            device.intervalS += 5;
            return this.tokenError(ctx, 'slow_down');
        }
        if (device.decision === 'pending') return this.tokenError(ctx, 'authorization_pending');
        device.used = true;
        this.issue(ctx, client.id, device.scope);
    }

    /** Makes the next poll of every pending device flow (or of this user code) a `slow_down`. */
    slowDownNextPoll(): void {
        for (const device of this.devices.values()) device.lastPollAt = Date.now() + 3600_000;
    }

    private decideDevice(userCode: string, decision: 'approved' | 'denied'): boolean {
        const wanted = userCode.toUpperCase().replace(/[^A-Z]/g, '');
        for (const device of this.devices.values()) {
            if (device.userCode.replace('-', '') === wanted && device.decision === 'pending') {
                device.decision = decision;
                return true;
            }
        }
        return false;
    }

    private devicePage(ctx: Ctx): void {
        const userCode = escapeHtml(ctx.query.get('user_code') ?? '');
        this.page(
            ctx,
            200,
            'Connect a device',
            `<form method="post" action="/device/decision"><label>Code <input name="user_code" id="user_code" value="${userCode}"></label>` +
                `<button name="decision" value="approve" id="approve">Approve</button> <button name="decision" value="deny" id="deny">Deny</button></form>`,
        );
    }

    private devicePageDecision(ctx: Ctx): void {
        const form = new URLSearchParams(ctx.body.toString('utf8'));
        const approve = form.get('decision') === 'approve';
        const found = approve ? this.approveDevice(form.get('user_code') ?? '') : this.denyDevice(form.get('user_code') ?? '');
        if (!found) return this.page(ctx, 400, 'Unknown code', '<p>No device waits for this code.</p>');
        this.page(ctx, 200, approve ? 'Device connected' : 'Access denied', '<p>You may close this page.</p>');
    }

    private resource(ctx: Ctx): void {
        const match = /^Bearer (\S+)$/.exec(String(ctx.req.headers.authorization ?? ''));
        const token = match?.[1] ?? '';
        const expiresAt = [this, ...this.trusted].map((provider) => provider.accessTokenExpiry(token)).find((at) => at !== undefined);
        if (expiresAt === undefined || expiresAt <= Date.now()) {
            this._stats.oauth.refused++;
            return this._sendJson(ctx, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
        }
        const held = this.holds.resource.shift();
        if (held) return held();
        this._stats.oauth.served++;
        this._sendJson(ctx, 200, { things: ['a', 'b'] });
    }

    private newToken(prefix: string): string {
        return `${prefix}.${crypto.randomBytes(18).toString('base64url')}`;
    }
}

// ---------------------------------------------------------------------------------------------
// Command line: node -r tsx/cjs test/simulators/oauth2.ts [--port 8447] [--http] [--redirect URI]
// ---------------------------------------------------------------------------------------------

if (require.main === module)
    runCli(
        (options) => {
            const { redirect, ...rest } = options as { redirect?: string };
            const sim = new OAuthProviderSimulator(rest);
            if (redirect) sim.registerRedirect(DEMO_CLIENT.id, redirect);
            return sim;
        },
        (sim) => sim.origin,
        { '--redirect': ['redirect', String] },
    );

/** A `custom` server config node's properties for this provider as the API (its /api/things), with `grant` and any overrides. */
export function serverSettings(origin: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        tls: '',
        vendor: 'custom',
        grant: 'authorization_code',
        tokenPath: '/token',
        authorizeUrl: `${origin}/authorize`,
        deviceAuthorizationPath: '/device_authorization',
        clientAuth: 'basic',
        tokenFrom: 'body',
        tokenName: 'access_token',
        expiry: 'body',
        expiryValue: 'expires_in',
        rejectedStatus: '401',
        logoutPath: '',
        ...overrides,
    };
}

/** The demo's redirect URIs: the editor on http://127.0.0.1:<PORT> and http://localhost:<PORT> (npm start; PORT default 1880). */
export function demoRedirectUris(editorPort: string | number = process.env.PORT || 1880): string[] {
    return ['127.0.0.1', 'localhost'].map((host) => `http://${host}:${editorPort}/rest-session-server/oauth2/callback`);
}

/**
 * The shared entry point of every simulator module (example-flow tests, `npm start`): plain HTTP, so
 * a browser opens its pages; the demo editor's redirect URIs registered; `env` adds the authorization
 * endpoint (`OAUTH2_AUTHORIZE_URL`) and a refresh token to paste (`OAUTH2_REFRESH_TOKEN`).
 */
/** What a person does for a deployed config node with a grant that needs one (the examples test uses it). */
export interface PersonPart {
    /** Node-RED's admin API (a supertest agent) and the root URL the redirect URI names. */
    authorize(admin: { post(path: string): any; get(path: string): any }, adminUrl: string, serverId: string): Promise<void>;
}

export async function startForFlows({ host = '127.0.0.1', port = 0, redirectUris = demoRedirectUris() } = {}): Promise<
    FlowSimulator<OAuthProviderSimulator> & { env: Record<string, string> } & PersonPart
> {
    const simulator = new OAuthProviderSimulator({ host, port, tls: false, deviceIntervalS: 2 });
    for (const uri of redirectUris) simulator.registerRedirect(DEMO_CLIENT.id, uri);
    await simulator.start();
    return {
        simulator,
        baseUrl: simulator.origin,
        credentials: { username: DEMO_CLIENT.id, password: DEMO_CLIENT.secret ?? '' },
        env: { OAUTH2_AUTHORIZE_URL: `${simulator.origin}/authorize`, OAUTH2_REFRESH_TOKEN: simulator.issueRefreshToken(DEMO_CLIENT.id, 'read') },
        stop: () => simulator.stop(),
        // Presses Authorize, then approves as the person would: the consent page, or the device code.
        async authorize(admin, adminUrl, serverId) {
            const redirectUri = `${adminUrl}/rest-session-server/oauth2/callback`;
            simulator.registerRedirect(DEMO_CLIENT.id, redirectUri);
            simulator.approveNext();
            const started = await admin.post('/rest-session-server/oauth2/authorize').send({ id: serverId, redirectUri });
            if (started.body.userCode) {
                simulator.approveDevice(started.body.userCode);
                return;
            }
            if (!started.body.url) throw new Error(`Authorize answered ${JSON.stringify(started.body)}`);
            const location = new URL(String((await request(started.body.url)).headers.location));
            const done = await admin.get(`${location.pathname}${location.search}`);
            if (done.status !== 200) throw new Error(`The callback answered ${done.status}: ${done.text}`);
        },
    };
}

/** Port `npm start` uses for this provider (env OAUTH2_PORT overrides). */
export const DEMO_PORT = 8447;

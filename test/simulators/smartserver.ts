/**
 * SmartServer IoT CMS "IAP/REST" simulator (the wire facts: docs/vendors.md, SmartServer).
 *
 * Serves the login/logout/sessionTimeout routes, a tiny device model and a test echo route,
 * at both `/iap/...` (vendor-code layout) and `/cms/iap/...` (documented 2.8+ layout).
 * Every timing knob is an option so tests can run in milliseconds. Only Node core modules.
 */

import http from 'node:http';
import crypto from 'node:crypto';
import {
    CookieSessions,
    LockoutCounter,
    type CookieSession,
    Simulator,
    runCli,
    type Exchange,
    type FlowSimulator,
    type Headers,
    type ListenOptions,
    type RequestRecord,
    type SimulatorOptions,
    type SimulatorStats,
    type SessionEnd,
} from './loopback-server';
import { SmartServerWs, qualifierList, type DatapointRecord, type WsOptions } from './smartserver-ws';

const SESSION_COOKIE = 'cmsSID';
const THROTTLE_RETRY_AFTER_S = 120;

export interface SmartServerOptions extends ListenOptions {
    sessionTtlMs: number;
    /** 0: no idle limit. */
    idleTtlMs: number;
    /** A session ends after serving this many data requests (0: no limit); the next one gets 401. */
    sessionRequestLimit: number;
    /** Data requests wait this long before their session is checked (requests in flight, for renewal races). */
    dataDelayMs: number;
    /** What `GET /iap/auth/sessionTimeout` reports, when it is not the real `sessionTtlMs`. */
    reportedTimeoutMs?: number;
    /** The lock model: `lockoutThreshold` failures within `lockoutWindowMs` lock the user for `lockoutDurationMs`. */
    lockoutThreshold: number;
    lockoutWindowMs: number;
    lockoutDurationMs: number;
    loginDelayMs: number;
    /** The Set-Cookie of a good login for a new session id (none when it returns null); default the vendor's. */
    loginCookie?: (sid: string) => string | null;
    /** `GET /iap/auth/sessionTimeout` answers this status, hangs, or resets the connection. */
    sessionTimeoutFault?: number | 'hang' | 'reset';
    /** IAP/WS knobs (smartserver-ws.ts). */
    ws: Partial<WsOptions>;
}

const DEFAULT_OPTIONS: SmartServerOptions = {
    tls: true,
    host: '127.0.0.1',
    port: 0,
    sessionTtlMs: 86400000,
    idleTtlMs: 0,
    sessionRequestLimit: 0,
    dataDelayMs: 0,
    lockoutThreshold: 5,
    lockoutWindowMs: 600000,
    lockoutDurationMs: 600000,
    loginDelayMs: 0,
    ws: {},
};

export interface SmartServerUser {
    id: number;
    firstName: string;
    lastName: string;
    emailAddress: string;
    locale: string;
    customerId: string;
    /** 'active', 'deactivated' or 'passwordExpired'. */
    state: string;
    password: string;
    /** The login answers 500 "Database error". */
    dbError?: boolean;
}

const DEFAULT_USERS: Record<string, Partial<SmartServerUser>> = { admin: { password: 'Passw0rd!Passw0rd' } };

// Response texts. The lockout and login texts follow the vendor (docs/vendors.md);
// the others are the simulator's choice where the vendor's body is undocumented.
const MSG = {
    contentType: 'Content-type must be application/json',
    invalidRequest: 'Invalid request',
    wrongCredentials: 'Wrong Username or Password',
    deactivated: 'User is deactivated',
    passwordExpired: 'Password expired. Please provide a newPassword.',
    passwordPolicy: 'New password does not meet the password policy',
    dbError: 'Database error',
    notLoggedIn: 'Not logged in',
    unauthorized: 'Unauthorized',
    notFound: 'Not found',
    throttled: 'Too many requests, slow down.',
    tooLarge: 'Request body too large',
};

export interface SmartServerRecord extends RequestRecord {
    cookie: string;
    /** A data request refused as unauthenticated: why its session was gone ('none': no session cookie known here). */
    refusal?: SessionEnd | 'none';
    /** Every request header, names in lower case. */
    headers: http.IncomingHttpHeaders;
}

/** One parsed login attempt, as the server saw it (the password too: the simulator is test-only). */
export interface LoginLogEntry {
    at: number;
    username: string;
    password: string;
    newPassword?: string;
    /** 'locked': refused by the lock model; 'hang', 'reset', 'scripted': a {@link LoginBehaviour}. */
    outcome: 'accepted' | 'rejected' | 'locked' | 'hang' | 'reset' | 'scripted';
    status: number | null;
}

export interface SmartServerStats extends SimulatorStats<SmartServerRecord> {
    logouts: number;
    sessionTimeoutCalls: number;
    logins: LoginLogEntry[];
}

/**
 * What a login does instead of its normal answer (scriptLogins): never answer, destroy the socket
 * after reading the request, answer a status (503; 429 with Retry-After), or the vendor's lockout 429.
 */
export type LoginBehaviour =
    | { kind: 'hang' }
    | { kind: 'reset' }
    | { kind: 'status'; status: number; headers?: Record<string, string>; body?: unknown }
    | { kind: 'lock'; waitMs: number };

type Ctx = Exchange<SmartServerRecord>;
type Fault = { status: number; body: unknown };

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

/**
 * Remaining lockout time as the vendor words it: "1 hours 2 minutes 3 seconds",
 * "10 minutes 43 seconds", "0 minutes 5 seconds" (rounded up; hours omitted when 0; the vendor
 * text does not use singular forms either).
 */
export function formatWait(ms: number): string {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const seconds = total % 60;
    const tail = `${minutes} minutes ${seconds} seconds`;
    return hours > 0 ? `${hours} hours ${tail}` : tail;
}

function lockoutMessage(remainingMs: number): string {
    return `Too many failed login attempts! Wait for ${formatWait(remainingMs)} before the next try.`;
}

/**
 * True when `text` holds 4 consecutive ascending or descending characters of one kind
 * (digits or letters, case-insensitive), e.g. "1234", "abcd", "DCBA". Runs across symbols
 * are not counted: the vendor calls these "systematic sequences", i.e. of letters or digits.
 */
function hasSequentialRun(text: string, runLength = 4): boolean {
    const s = text.toLowerCase();
    const kindOf = (ch: string): string | null => (/[0-9]/.test(ch) ? 'digit' : /[a-z]/.test(ch) ? 'letter' : null);
    for (let i = 0; i + runLength <= s.length; i++) {
        const kind = kindOf(s[i]);
        if (!kind) continue;
        let up = true;
        let down = true;
        for (let j = 1; j < runLength; j++) {
            if (kindOf(s[i + j]) !== kind) {
                up = false;
                down = false;
                break;
            }
            const step = s.charCodeAt(i + j) - s.charCodeAt(i + j - 1);
            if (step !== 1) up = false;
            if (step !== -1) down = false;
        }
        if (up || down) return true;
    }
    return false;
}

/** Reason the new password breaks the SmartServer policy, or null when it complies. */
export function passwordPolicyViolation(newPassword: unknown, currentPassword?: string): string | null {
    if (typeof newPassword !== 'string') return 'not a string';
    if (newPassword.length < 14) return 'shorter than 14 characters';
    if (!/[A-Z]/.test(newPassword)) return 'no uppercase letter';
    if (!/[a-z]/.test(newPassword)) return 'no lowercase letter';
    if (!/[0-9]/.test(newPassword)) return 'no digit';
    if (!/[^A-Za-z0-9]/.test(newPassword)) return 'no special character';
    if (/['" \t]/.test(newPassword)) return 'contains a quote, space or tab';
    if (hasSequentialRun(newPassword)) return 'contains a sequence like 1234 or abcd';
    if (newPassword === currentPassword) return 'same as the current password';
    return null;
}

/** The vendor's own code sends "application/json;chars=utf-8": accept any parameters. */
function isJsonContentType(header: string | undefined): boolean {
    if (typeof header !== 'string') return false;
    return header.split(';')[0].trim().toLowerCase() === 'application/json';
}

interface LoginBody {
    username: string;
    password: string;
    newPassword?: string;
}

/** Parse `{"username","password"[,"newPassword"]}`; null when malformed. */
function parseLoginBody(raw: Buffer): LoginBody | null {
    let body: unknown;
    try {
        body = JSON.parse(raw.toString('utf8'));
    } catch {
        return null;
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
    const { username, password, newPassword } = body as Record<string, unknown>;
    if (typeof username !== 'string' || username === '' || typeof password !== 'string') return null;
    if (newPassword !== undefined && typeof newPassword !== 'string') return null;
    return { username, password, newPassword };
}

/** A datapoint write accepts a bare JSON number or `{"value": n}`; undefined when invalid. */
function parseValueBody(raw: Buffer): number | undefined {
    let body: unknown;
    try {
        body = JSON.parse(raw.toString('utf8'));
    } catch {
        return undefined;
    }
    if (typeof body === 'number') return body;
    if (body && typeof body === 'object' && typeof (body as { value?: unknown }).value === 'number') return (body as { value: number }).value;
    return undefined;
}

/** Both layouts share the handlers: `/cms/iap/x` routes like `/iap/x`. */
function routePath(pathname: string): string {
    return pathname === '/cms' || pathname.startsWith('/cms/') ? pathname.slice(4) || '/' : pathname;
}

function decodeSegment(segment: string): string {
    try {
        return decodeURIComponent(segment);
    } catch {
        return segment;
    }
}

interface SegmentPattern {
    any: boolean;
    wildcard: boolean;
    base: string;
}

/**
 * One segment of a datapoint path: `*` matches anything; a `+filter` suffix (e.g. `*+tag==X`)
 * is accepted and ignored, the simulator has no tags to filter on.
 */
function segmentPattern(segment: string): SegmentPattern {
    const base = segment.split('+')[0];
    return { any: base === '*' || base === '', wildcard: segment.includes('*') || segment.includes('+'), base };
}

function matchesSegment(pattern: SegmentPattern, actual: string | number): boolean {
    return pattern.any || pattern.base === String(actual);
}

interface Datapoint extends DatapointRecord {
    value: number;
    unit: string;
}

interface Device {
    id: string;
    name: string;
    type: string;
    state: string;
    health: string;
    blocks: { name: string; index: number; datapoints: Record<string, Datapoint> }[];
}

/** The device model every simulator starts with: two meters, each with one block. */
function makeDevices(): Device[] {
    const device = (id: string, name: string, volts: number, amps: number): Device => ({
        id,
        name,
        type: 'meter',
        state: 'provisioned',
        health: 'normal',
        blocks: [
            {
                name: 'block',
                index: 1,
                datapoints: {
                    Volts_1: { value: volts, unit: 'V' },
                    Amps_1: { value: amps, unit: 'A' },
                },
            },
        ],
    });
    return [device('17q2d9x.5', 'Meter 1', 230.1, 1.5), device('a1b2c3.1', 'Meter 2', 229.4, 0.7)];
}

function emptyStats(): SmartServerStats {
    return { loginAttempts: 0, loginsOk: 0, logouts: 0, sessionTimeoutCalls: 0, requests: [], logins: [] };
}

// ---------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------

export class SmartServerSimulator extends Simulator<SmartServerRecord, SmartServerStats> {
    protected readonly _options: SmartServerOptions;
    private readonly _users = new Map<string, SmartServerUser>();
    private _nextUserId = 1;
    private readonly _sessions: CookieSessions;
    private readonly _lockout: LockoutCounter;
    private readonly _devices = makeDevices();
    private readonly _faults: Fault[] = []; // queued failNext answers
    private _throttleCount = 0;
    private readonly _loginScript: LoginBehaviour[] = [];
    private _hangCount = 0;
    private _logoutFaults = 0;
    /** IAP/WS (docs/vendors.md §1a): sockets, subscriptions and pushes, on the same datapoint records as REST. */
    readonly ws: SmartServerWs;

    constructor(options: SimulatorOptions<SmartServerUser> & Partial<SmartServerOptions> = {}) {
        super('SmartServer', emptyStats);
        const { users, ...rest } = options;
        this._options = { ...DEFAULT_OPTIONS, ...rest };
        this._sessions = new CookieSessions(SESSION_COOKIE, () => this._options);
        this._lockout = new LockoutCounter(() => ({
            threshold: this._options.lockoutThreshold,
            durationMs: this._options.lockoutDurationMs,
            windowMs: this._options.lockoutWindowMs,
        }));
        for (const [name, props] of Object.entries(users ?? DEFAULT_USERS)) this.setUser(name, props);
        this.ws = new SmartServerWs(
            { sessionOf: (req) => this._sessions.fromRequest(req), isLive: (id) => this._sessions.live(id) !== null },
            this._options.ws,
        );
        for (const device of this._devices) {
            const [sid, handle] = device.id.split('.');
            for (const b of device.blocks) {
                for (const [name, datapoint] of Object.entries(b.datapoints))
                    this.ws.addDatapoint(`${sid}/lon/${handle}/${b.name}/${b.index}/${name}`, datapoint);
            }
        }
    }

    override async start(): Promise<this> {
        await super.start();
        if (this._loopback.server) this.ws.listen(this._loopback.server);
        return this;
    }

    override async stop(): Promise<void> {
        this.ws.close();
        await super.stop();
    }

    /** Changes a datapoint by its qualifier (created if unknown) and pushes it; REST writes push too. */
    setValue(qualifier: string, value: unknown, extra?: { presetValue?: unknown; locValue?: unknown; timestamp?: number }): void {
        this.ws.setValue(qualifier, value, extra);
    }

    // ---- address --------------------------------------------------------------------------

    /** 'root' → origin (vendor-code layout), 'cms' → origin + '/cms' (documented 2.8+ layout). */
    baseUrl(layout: 'root' | 'cms' = 'root'): string {
        if (!this.origin) throw new Error('SmartServer simulator not started');
        if (layout === 'root') return this.origin;
        if (layout === 'cms') return `${this.origin}/cms`;
        throw new Error(`Unknown layout "${String(layout)}" (use "root" or "cms")`);
    }

    // ---- test controls ------------------------------------------------------------------------

    /** Changes session knobs on the running simulator (they apply to every session from the next request on). */
    setKnobs(knobs: Partial<Pick<SmartServerOptions, 'sessionRequestLimit' | 'dataDelayMs' | 'reportedTimeoutMs'>>): void {
        Object.assign(this._options, knobs);
    }

    /** Sessions ended by `sessionRequestLimit` (each after serving that many requests). */
    get sessionsEndedByLimit(): number {
        return this._sessions.endedByLimit;
    }

    /** Data requests refused as unauthenticated, by why their session was gone. */
    refusals(): Partial<Record<SessionEnd | 'none', number>> {
        const counts: Partial<Record<SessionEnd | 'none', number>> = {};
        for (const record of this._stats.requests) if (record.refusal) counts[record.refusal] = (counts[record.refusal] ?? 0) + 1;
        return counts;
    }

    /** Every live session becomes invalid, as after a server restart. */
    expireSessions(): void {
        this._sessions.clear();
        this.ws.sessionEnded();
    }

    failNext(status: number, count = 1, body?: unknown): void {
        for (let i = 0; i < count; i++) this._faults.push({ status, body });
    }

    /**
     * The next logins behave so, one each, in order. For hang, reset and 5xx the server checks the
     * password first, so a wrong one counts towards the lock as on a real device.
     */
    scriptLogins(...behaviours: LoginBehaviour[]): void {
        this._loginScript.push(...behaviours);
    }

    /** Every lock the lock model imposed (never expected from a well-behaved client). */
    get locks(): readonly { at: number; username: string }[] {
        return this._lockout.locks;
    }

    throttleNext(count = 1): void {
        this._throttleCount += count;
    }

    /** The next `count` logouts fail with 500 (the session stays). */
    failLogoutNext(count = 1): void {
        this._logoutFaults += count;
    }

    hangNext(count = 1): void {
        this._hangCount += count;
    }

    setUser(name: string, props: Partial<SmartServerUser> = {}): SmartServerUser {
        const current = this._users.get(name);
        const record: SmartServerUser = current
            ? { ...current, ...props }
            : {
                  id: this._nextUserId,
                  firstName: name,
                  lastName: '',
                  emailAddress: `${name}@smartserver.local`,
                  locale: 'en-US',
                  customerId: 'sim-customer',
                  state: 'active',
                  password: '',
                  ...props,
              };
        if (typeof record.id === 'number' && record.id >= this._nextUserId) this._nextUserId = record.id + 1;
        this._users.set(name, record);
        return { ...record };
    }

    getUser(name: string): SmartServerUser | undefined {
        const record = this._users.get(name);
        return record ? { ...record } : undefined;
    }

    isSessionValid(cmsSID: string): boolean {
        return this._sessions.live(cmsSID) !== null;
    }

    liveSessions(): number {
        return this._sessions.liveCount();
    }

    lockedUntil(name: string): number {
        return this._lockout.lockedUntil(name);
    }

    // ---- request plumbing ---------------------------------------------------------------------

    protected _recordFields(req: http.IncomingMessage): Omit<SmartServerRecord, keyof RequestRecord> {
        return { cookie: req.headers.cookie ?? '', headers: req.headers };
    }

    protected _tooLarge(ctx: Ctx): void {
        this._sendJson(ctx, 413, { message: MSG.tooLarge });
    }

    protected _dispatch(ctx: Ctx): void {
        const { method } = ctx;
        const route = routePath(ctx.pathname);
        if (route === '/iap/auth/login' && method === 'POST') this._stats.loginAttempts++;
        if (route === '/iap/auth/sessionTimeout' && method === 'GET') this._stats.sessionTimeoutCalls++;

        // Generic throttling comes before everything, login included.
        if (this._throttleCount > 0) {
            this._throttleCount--;
            return this._sendJson(ctx, 429, { message: MSG.throttled }, { 'Retry-After': String(THROTTLE_RETRY_AFTER_S) });
        }

        if (route === '/iap/auth/login' && method === 'POST') return this._handleLogin(ctx);
        if (route === '/iap/auth/logout' && (method === 'PUT' || method === 'POST')) return this._handleLogout(ctx);
        if (route === '/iap/auth/sessionTimeout' && method === 'GET') return this._handleSessionTimeout(ctx);
        if (route === '/iap/dp/updates/subscribe' && method === 'PUT') {
            return this._withDataSession(ctx, (session) => this._reply(ctx, this.ws.subscribe(ctx, session)));
        }
        if (route === '/iap/devs' || route.startsWith('/iap/devs/')) return this._withDataSession(ctx, () => this._handleDevs(ctx, route));
        // Test aid, NOT a vendor route: echoes the request so tests can see what the client sent.
        if (route === '/iap/test/echo') return this._withDataSession(ctx, () => this._handleEcho(ctx));
        return this._sendJson(ctx, 404, { message: MSG.notFound });
    }

    private _sendEmpty(ctx: Ctx, status = 204): void {
        this._send(ctx, status);
    }

    private _reply(ctx: Ctx, { status, json }: { status: number; json?: unknown }): void {
        if (json === undefined) return this._sendEmpty(ctx, status);
        this._sendJson(ctx, status, json);
    }

    private _sessionCookie(sid: string): string {
        return `${SESSION_COOKIE}=${sid}; Path=/${this._options.tls ? '; Secure' : ''}; HttpOnly`;
    }

    // ---- auth routes --------------------------------------------------------------------------

    /** The answer waits `loginDelayMs` (for client timeout tests); stop() drops it. */
    private _handleLogin(ctx: Ctx): void {
        this._afterDelay(this._options.loginDelayMs, () => this._answerLogin(ctx));
    }

    private _answerLogin(ctx: Ctx): void {
        if (!isJsonContentType(ctx.req.headers['content-type'])) {
            return this._sendJson(ctx, 415, { message: MSG.contentType });
        }
        const creds = parseLoginBody(ctx.body);
        if (!creds) return this._sendJson(ctx, 400, { message: MSG.invalidRequest });
        const log = (outcome: LoginLogEntry['outcome'], status: number | null): void => {
            this._stats.logins.push({ at: Date.now(), username: creds.username, password: creds.password, newPassword: creds.newPassword, outcome, status });
        };
        const scripted = this._loginScript.shift();
        if (scripted) return this._scriptedLogin(ctx, creds, scripted, log);

        // Lockout wins even over the right password.
        const until = this.lockedUntil(creds.username);
        if (until) {
            log('locked', 429);
            return this._sendJson(ctx, 429, { message: lockoutMessage(until - Date.now()) });
        }

        const user = this._users.get(creds.username);
        if (user && user.dbError) {
            log('scripted', 500);
            return this._sendJson(ctx, 500, { message: MSG.dbError });
        }
        if (!user || user.password !== creds.password) {
            // The failure that reaches the threshold still answers 401; the lock shows from the next try.
            this._lockout.recordFailure(creds.username);
            log('rejected', 401);
            return this._sendJson(ctx, 401, { message: MSG.wrongCredentials });
        }
        this._lockout.clear(creds.username);

        if (user.state === 'deactivated') {
            log('rejected', 428);
            return this._sendJson(ctx, 428, { message: MSG.deactivated });
        }
        if (user.state === 'passwordExpired') {
            if (creds.newPassword === undefined) {
                log('rejected', 423);
                return this._sendJson(ctx, 423, { message: MSG.passwordExpired });
            }
            if (passwordPolicyViolation(creds.newPassword, user.password)) {
                log('rejected', 400);
                return this._sendJson(ctx, 400, { message: MSG.passwordPolicy });
            }
            user.password = creds.newPassword;
            user.state = 'active';
        }

        // Every login is a new session; earlier cookies stay valid until logout or expiry.
        const sid = this._sessions.create(crypto.randomBytes(24).toString('hex'), creds.username).id;
        this._stats.loginsOk++;
        log('accepted', 200);
        const cookie = this._options.loginCookie ? this._options.loginCookie(sid) : this._sessionCookie(sid);
        this._sendJson(ctx, 200, this._publicUser(creds.username, user), cookie === null ? {} : { 'Set-Cookie': cookie });
    }

    private _scriptedLogin(
        ctx: Ctx,
        creds: { username: string; password: string },
        behaviour: LoginBehaviour,
        log: (outcome: LoginLogEntry['outcome'], status: number | null) => void,
    ): void {
        const checksPassword = behaviour.kind === 'hang' || behaviour.kind === 'reset' || (behaviour.kind === 'status' && behaviour.status >= 500);
        if (checksPassword && !this.lockedUntil(creds.username)) {
            const user = this._users.get(creds.username);
            if (!user || user.password !== creds.password) this._lockout.recordFailure(creds.username);
            else this._lockout.clear(creds.username);
        }
        switch (behaviour.kind) {
            case 'hang':
                return log('hang', null); // never answered; stop() destroys the socket
            case 'reset':
                log('reset', null);
                ctx.req.socket.destroy();
                return;
            case 'lock':
                log('scripted', 429);
                return this._sendJson(ctx, 429, { message: lockoutMessage(behaviour.waitMs) });
            case 'status':
                log('scripted', behaviour.status);
                return this._sendJson(ctx, behaviour.status, behaviour.body ?? { message: http.STATUS_CODES[behaviour.status] ?? 'Error' }, behaviour.headers);
        }
    }

    private _publicUser(name: string, user: SmartServerUser): Record<string, unknown> {
        return {
            id: user.id,
            userName: name,
            firstName: user.firstName,
            lastName: user.lastName,
            emailAddress: user.emailAddress,
            locale: user.locale,
            customerId: user.customerId,
        };
    }

    private _handleLogout(ctx: Ctx): void {
        if (this._logoutFaults > 0) {
            this._logoutFaults--;
            return this._sendJson(ctx, 500, { message: MSG.dbError });
        }
        const session = this._sessions.fromRequest(ctx.req);
        if (!session) return this._sendJson(ctx, 401, { message: MSG.notLoggedIn });
        this._sessions.delete(session.id);
        this.ws.sessionEnded(session.id);
        this._stats.logouts++;
        this._sendEmpty(ctx);
    }

    private _handleSessionTimeout(ctx: Ctx): void {
        const fault = this._options.sessionTimeoutFault;
        if (fault === 'hang') return;
        if (fault === 'reset') return void ctx.req.socket.destroy();
        if (typeof fault === 'number') return this._sendJson(ctx, fault, { message: 'Error' });
        if (!this._sessions.fromRequest(ctx.req)) return this._sendJson(ctx, 401, { message: MSG.unauthorized });
        this._sendJson(ctx, 200, this._options.reportedTimeoutMs ?? this._options.sessionTtlMs);
    }

    // ---- data routes --------------------------------------------------------------------------

    /** Cookie check, then the injected faults (failNext, hangNext), then the real handler. */
    private _withDataSession(ctx: Ctx, handler: (session: CookieSession) => void): void {
        this._afterDelay(this._options.dataDelayMs, () => this._answerData(ctx, handler));
    }

    private _answerData(ctx: Ctx, handler: (session: CookieSession) => void): void {
        const session = this._sessions.fromRequest(ctx.req);
        if (!session) {
            ctx.record.refusal = this._sessions.endOf(ctx.req) ?? 'none';
            return this._sendJson(ctx, 401, { message: MSG.unauthorized });
        }
        if (this._sessions.served(session)) this.ws.sessionEnded(session.id);
        const fault = this._faults.shift();
        if (fault) {
            const { status, body } = fault;
            if (typeof body === 'string' || Buffer.isBuffer(body)) {
                return this._send(ctx, status, body, { 'Content-Type': 'text/plain' });
            }
            return this._sendJson(ctx, status, body === undefined ? { message: http.STATUS_CODES[status] || 'Error' } : body);
        }
        if (this._hangCount > 0) {
            this._hangCount--;
            return; // accept and never answer; stop() destroys the socket
        }
        handler(session);
    }

    private _handleDevs(ctx: Ctx, route: string): void {
        const segments = route
            .split('/')
            .slice(3)
            .filter((s) => s !== '')
            .map(decodeSegment);
        const { method } = ctx;
        if (segments.length === 0 && method === 'GET') return this._sendJson(ctx, 200, this._deviceList());
        if (segments.length > 0 && segments[segments.length - 1] === 'tags' && (method === 'POST' || method === 'DELETE')) {
            return this._sendEmpty(ctx);
        }
        if (segments.length === 6 && segments[1] === 'if' && segments[5] === 'value') {
            if (method === 'GET') return this._readValues(ctx, segments);
            if (method === 'PUT') return this._writeValues(ctx, segments);
        }
        return this._sendJson(ctx, 404, { message: MSG.notFound });
    }

    private _deviceList(): Omit<Device, 'blocks'>[] {
        return this._devices.map(({ id, name, type, state, health }) => ({ id, name, type, state, health }));
    }

    /** Datapoints matching `{dev}/if/{block}/{idx}/{dp}` (segments may be wildcards). */
    private _matchDatapoints(segments: string[]): { wildcard: boolean; found: { device: string; path: string; datapoint: Datapoint }[] } {
        const [dev, , block, idx, dp] = segments.map(segmentPattern);
        const found = [];
        for (const device of this._devices) {
            if (!matchesSegment(dev, device.id)) continue;
            for (const b of device.blocks) {
                if (!matchesSegment(block, b.name) || !matchesSegment(idx, b.index)) continue;
                for (const [dpName, datapoint] of Object.entries(b.datapoints)) {
                    if (!matchesSegment(dp, dpName)) continue;
                    found.push({ device: device.id, path: `${b.name}/${b.index}/${dpName}`, datapoint });
                }
            }
        }
        const wildcard = [dev, block, idx, dp].some((p) => p.wildcard);
        return { wildcard, found };
    }

    private _readValues(ctx: Ctx, segments: string[]): void {
        const qualifiers = qualifierList(segments[4]);
        if (qualifiers) return this._reply(ctx, this.ws.read(qualifiers, ctx.query));
        const { wildcard, found } = this._matchDatapoints(segments);
        if (!wildcard) {
            if (found.length === 0) return this._sendJson(ctx, 404, { message: MSG.notFound });
            const { value, unit } = found[0].datapoint;
            return this._sendJson(ctx, 200, { value, unit });
        }
        // Paging: pg is 1-based (pg=0 also means the first page), sz defaults to everything.
        const size = Number.parseInt(ctx.query.get('sz') ?? '', 10);
        const page = Math.max(1, Number.parseInt(ctx.query.get('pg') ?? '', 10) || 1);
        const items = found.map(({ device, path: dpPath, datapoint }) => ({ device, path: dpPath, value: datapoint.value }));
        const pageItems = size > 0 ? items.slice((page - 1) * size, page * size) : items;
        this._sendJson(ctx, 200, pageItems);
    }

    private _writeValues(ctx: Ctx, segments: string[]): void {
        const value = parseValueBody(ctx.body);
        if (value === undefined) return this._sendJson(ctx, 400, { message: MSG.invalidRequest });
        const { found } = this._matchDatapoints(segments);
        if (found.length === 0) return this._sendJson(ctx, 404, { message: MSG.notFound });
        for (const { datapoint } of found) {
            datapoint.value = value;
            this.ws.changed(datapoint);
        }
        this._sendEmpty(ctx);
    }

    /** Test aid, not a vendor route: tells the test exactly what the client sent. */
    private _handleEcho(ctx: Ctx): void {
        this._sendJson(ctx, 200, {
            method: ctx.method,
            path: ctx.pathname,
            query: Object.fromEntries(ctx.query),
            headers: { ...ctx.req.headers } as Headers,
            body: ctx.body.toString('utf8'),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Command line: node -r tsx/cjs test/simulators/smartserver.ts [--port 8443] [--http] [--host 127.0.0.1]
// ---------------------------------------------------------------------------------------------

if (require.main === module)
    runCli(
        (options) => new SmartServerSimulator(options),
        (sim) => sim.origin ?? '',
    );

/**
 * The shared entry point of every simulator module, used by the example-flow tests and `npm start`:
 * a running simulator, the base URL the example's server config should use, and its demo user.
 */
export async function startForFlows({ host = '127.0.0.1', port = 0, demo = false } = {}): Promise<FlowSimulator<SmartServerSimulator>> {
    const simulator = new SmartServerSimulator({ host, port });
    await simulator.start();
    const stopChanges = demo ? changeMeter2(simulator) : () => {};
    return {
        simulator,
        baseUrl: simulator.baseUrl('cms'),
        credentials: { username: 'admin', password: DEFAULT_USERS.admin.password ?? '' },
        stop: () => {
            stopChanges();
            return simulator.stop();
        },
    };
}

/** How often the demo's Meter 2 changes its values (live values on the dashboard example). */
const DEMO_CHANGE_MS = 1500;

/**
 * `npm start` only: Meter 2's voltage and current drift every DEMO_CHANGE_MS so live updates have
 * something to push. Meter 1 stays put (the polling dashboard example shows its fixed 230.1 V).
 */
function changeMeter2(simulator: SmartServerSimulator): () => void {
    let step = 0;
    const timer = setInterval(() => {
        step += 1;
        simulator.setValue('a1b2c3/lon/1/block/1/Volts_1', Math.round((229.4 + 6 * Math.sin(step / 5)) * 10) / 10);
        simulator.setValue('a1b2c3/lon/1/block/1/Amps_1', Math.round((0.7 + 0.5 * Math.abs(Math.sin(step / 3))) * 100) / 100);
    }, DEMO_CHANGE_MS);
    timer.unref();
    return () => clearInterval(timer);
}

/** Port `npm start` uses for this vendor (env SMARTSERVER_PORT overrides). */
export const DEMO_PORT = 8443;

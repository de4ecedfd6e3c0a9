/**
 * What the device and appliance simulators share (UniFi OS, Proxmox VE, SAP Gateway, and the two
 * "session ended" APIs): a request log that records the CSRF header each request carried, counts of
 * logins, CSRF fetches and writes, every secret handed out (to check none leaks), a user with a
 * lockout counter, and `dispatch`, so the custom simulator can serve them on its own listener
 * (`npm start`, the example flows).
 */
import crypto from 'node:crypto';
import http from 'node:http';

import { LockoutCounter, Simulator, type Exchange, type FlowSimulator, type ListenOptions, type RequestRecord, type SimulatorStats } from './loopback-server';

export interface DeviceRecord extends RequestRecord {
    /** The CSRF header the request carried ('' when none). */
    csrf: string;
    cookie: string;
    authorization: string;
    /** The test's `X-Test-Msg` header: which msg the request was sent for. */
    msg: string;
}

export interface DeviceStats extends SimulatorStats<DeviceRecord> {
    logouts: number;
    /** CSRF tokens handed out on a fetch (`X-CSRF-Token: Fetch`). */
    csrfFetches: number;
    /** Writes done, and writes refused for a missing or stale CSRF token. */
    writesOk: number;
    writesRefused: number;
    /** Reads answered with data. */
    readsOk: number;
    /** Requests answered "session ended" (401, a body or a redirect). */
    ended: number;
}

export interface DeviceOptions extends ListenOptions {
    username: string;
    password: string;
    /** Lifetime of a session. */
    sessionTtlMs: number;
    lockoutThreshold: number;
    lockoutDurationS: number;
}

export const DEVICE_DEFAULTS: DeviceOptions = {
    tls: true,
    host: '127.0.0.1',
    port: 0,
    username: 'integrator',
    password: 'S3cret:pa ss&word',
    sessionTtlMs: 3600_000,
    lockoutThreshold: 5,
    lockoutDurationS: 600,
};

function emptyStats(): DeviceStats {
    return { loginAttempts: 0, loginsOk: 0, requests: [], logouts: 0, csrfFetches: 0, writesOk: 0, writesRefused: 0, readsOk: 0, ended: 0 };
}

export type DeviceExchange = Exchange<DeviceRecord>;

/** One live session on a device: its CSRF token, and when it dies. */
export interface DeviceSession {
    id: string;
    user: string;
    csrf: string;
    expiresAt: number;
}

export function randomToken(bytes = 18): string {
    return crypto.randomBytes(bytes).toString('base64url');
}

/** A JSON login body's user name and password ('' and undefined when absent or not JSON). */
export function jsonLogin(ctx: DeviceExchange): { user: string; password: string | undefined } {
    let body: { username?: unknown; password?: unknown };
    try {
        body = JSON.parse(ctx.body.toString('utf8')) as typeof body;
    } catch {
        body = {};
    }
    return { user: typeof body.username === 'string' ? body.username : '', password: typeof body.password === 'string' ? body.password : undefined };
}

/** `startForFlows` of a device simulator module: started on `host`:`port`, served at `baseUrl`. */
export async function startDevice<T extends DeviceSimulator>(
    simulator: T,
    baseUrl: (started: T) => string = (started) => started.baseUrl,
): Promise<FlowSimulator<T>> {
    await simulator.start();
    return { simulator, baseUrl: baseUrl(simulator), credentials: simulator.user, stop: () => simulator.stop() };
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export abstract class DeviceSimulator<O extends DeviceOptions = DeviceOptions> extends Simulator<DeviceRecord, DeviceStats> {
    protected readonly _options: O;
    protected readonly sessions = new Map<string, DeviceSession>();
    protected readonly lockout: LockoutCounter;
    /** Every session id, ticket and CSRF token handed out. */
    private readonly handedOut: string[] = [];

    protected constructor(
        name: string,
        /** The request header the device reads the CSRF token from. */
        private readonly csrfHeader: string,
        options: Partial<O>,
        defaults: O,
    ) {
        super(name, emptyStats);
        this._options = { ...defaults, ...options };
        this.lockout = new LockoutCounter(() => ({ threshold: this._options.lockoutThreshold, durationMs: this._options.lockoutDurationS * 1000 }));
    }

    get baseUrl(): string {
        return this.origin;
    }

    get user(): { username: string; password: string } {
        return { username: this._options.username, password: this._options.password };
    }

    /** A new lifetime for the sessions opened from now on (0: dead at once). */
    set sessionTtlMs(ms: number) {
        this._options.sessionTtlMs = ms;
    }

    /** Every secret value handed out so far (session ids, tickets, CSRF tokens). */
    issued(): string[] {
        return [...this.handedOut];
    }

    /** Every session dies, as after a restart. */
    expireAll(): void {
        this.sessions.clear();
    }

    /** Sessions still alive. */
    liveSessions(): number {
        return [...this.sessions.values()].filter((session) => session.expiresAt > Date.now()).length;
    }

    /** Requests of `method` to `path`, from the log. */
    requestsTo(method: string, path: string): DeviceRecord[] {
        return this._stats.requests.filter((record) => record.method === method && record.path === path);
    }

    /** Whether this simulator serves `pathname` (when mounted on another listener). */
    abstract serves(pathname: string): boolean;

    /** Answers one request (its own listener's, or the custom simulator's when mounted). */
    dispatch(ctx: DeviceExchange): void {
        this._dispatch(ctx);
    }

    protected _recordFields(req: http.IncomingMessage): Omit<DeviceRecord, keyof RequestRecord> {
        const csrf = req.headers[this.csrfHeader.toLowerCase()];
        const msg = req.headers['x-test-msg'];
        return {
            csrf: typeof csrf === 'string' ? csrf : '',
            cookie: req.headers.cookie ?? '',
            authorization: req.headers.authorization ?? '',
            msg: typeof msg === 'string' ? msg : '',
        };
    }

    protected _tooLarge(ctx: DeviceExchange): void {
        this._sendJson(ctx, 413, { message: 'Request body too large' });
    }

    protected isWrite(ctx: DeviceExchange): boolean {
        return WRITES.has(ctx.method);
    }

    /** The CSRF header of the request as sent. */
    protected csrfOf(ctx: DeviceExchange): string {
        const value = ctx.req.headers[this.csrfHeader.toLowerCase()];
        return typeof value === 'string' ? value : '';
    }

    /** Counts a login attempt; false (answered 429 with Retry-After) while the user is locked. */
    protected beginLogin(ctx: DeviceExchange, user: string): boolean {
        this._stats.loginAttempts++;
        const until = this.lockout.lockedUntil(user);
        if (!until) return true;
        const seconds = Math.max(1, Math.ceil((until - Date.now()) / 1000));
        this._sendJson(ctx, 429, { message: 'Too many failed logins' }, { 'Retry-After': String(seconds) });
        return false;
    }

    protected rightPassword(user: string, password: string | null | undefined): boolean {
        if (user === this._options.username && password === this._options.password) return true;
        this.lockout.recordFailure(user);
        return false;
    }

    /** A new session (its id made by `makeId`) with a fresh CSRF token. */
    protected openSession(user: string, makeId: () => string = () => randomToken()): DeviceSession {
        this.lockout.clear(user);
        const session = { id: makeId(), user, csrf: randomToken(12), expiresAt: Date.now() + this._options.sessionTtlMs };
        this.sessions.set(session.id, session);
        this.handedOut.push(session.id, session.csrf);
        this._stats.loginsOk++;
        return session;
    }

    /** The session a value names, if alive (dead ones are dropped). */
    protected liveSession(id: string | undefined): DeviceSession | undefined {
        const session = id === undefined ? undefined : this.sessions.get(id);
        if (!session) return undefined;
        if (session.expiresAt <= Date.now()) {
            this.sessions.delete(id as string);
            return undefined;
        }
        return session;
    }

    /** Gives the session a new CSRF token (the old one is refused from now on). */
    protected newCsrf(session: DeviceSession): string {
        session.csrf = randomToken(12);
        this.handedOut.push(session.csrf);
        return session.csrf;
    }

    /** Makes every session's CSRF token stale, as a server does after a restart of its token store. */
    staleCsrf(): void {
        for (const session of this.sessions.values()) this.newCsrf(session);
    }
}

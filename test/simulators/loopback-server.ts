/**
 * The plumbing every vendor simulator shares, so each simulator file holds only its vendor
 * behaviour: an HTTP or HTTPS listener (test certificate), a stop() that ends it at once, delayed
 * replies that stop() cancels, bounded request bodies, replies that tolerate a vanished client, the
 * request log and stats, cookie sessions with absolute and idle limits, per-user lockout counters
 * and the command line. Only Node core modules.
 */

import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo, Socket } from 'node:net';

const TLS_DIR = path.join(__dirname, '..', 'fixtures', 'tls');

/** Bound on request bodies, so a runaway client cannot eat the test process's memory. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface ListenOptions {
    tls: boolean;
    host: string;
    port: number;
    /** How idle keep-alive connections end (default: Node's, 5 s with a `Keep-Alive: timeout=5` hint). */
    keepAlive?: KeepAliveKnobs;
}

/** A server's own idle rule for keep-alive connections, for the client's keep-alive races. */
export interface KeepAliveKnobs {
    /** The server closes a connection idle this long. */
    idleCloseMs: number;
    /** Seconds sent as `Keep-Alive: timeout=N`; null sends no hint. */
    hintSeconds: number | null;
}

export type Headers = Record<string, string>;
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Connections the listener accepted: evidence for connection caps. */
export interface ConnectionCounts {
    /** TCP connections accepted. */
    connections: number;
    /** TLS handshakes completed (0 over plain HTTP). */
    handshakes: number;
    /** Most connections open at once. */
    maxOpen: number;
    /** Connections the client ended (it closed an idle socket before the server did). */
    closedByClient: number;
    /** Connections the server closed because they were idle. */
    closedIdle: number;
    /** Requests dropped unread because they came on a reused connection (see dropReusedRequests). */
    droppedOnReuse: number;
}

/** Set on each request: it came on a connection that had carried a request before. */
interface ReusedMark {
    reusedConnection?: boolean;
}

/** One listener with the sockets and timers that stop() must end, so no test waits on a leftover. */
export class LoopbackServer {
    /** The listening server, or null when not started (or stopped). */
    server: http.Server | null = null;
    readonly counts: ConnectionCounts = { connections: 0, handshakes: 0, maxOpen: 0, closedByClient: 0, closedIdle: 0, droppedOnReuse: 0 };
    private readonly sockets = new Set<Socket>();
    private readonly timers = new Set<NodeJS.Timeout>();
    /** Requests answered per connection: a second one came on a reused connection. */
    private readonly served = new WeakMap<Socket, number>();
    /** Connections the server itself ended. */
    private readonly closedHere = new WeakSet<Socket>();
    private readonly idleTimers = new WeakMap<Socket, NodeJS.Timeout>();
    private dropReused = 0;

    /** Connections open now. */
    get openConnections(): number {
        return this.sockets.size;
    }

    /**
     * The next `count` requests that arrive on a reused connection are dropped unread and the
     * connection closed, as if the server had closed it just before they were written.
     */
    dropReusedRequests(count = 1): void {
        this.dropReused += count;
    }

    /**
     * Listens on `host`:`port` (0: any free port), over TLS with test/fixtures/tls/server.crt when
     * `tls`, and resolves `{ server, port, origin }` once listening (rejects if it cannot listen).
     */
    async start(options: ListenOptions, handler: Handler): Promise<{ server: http.Server; port: number; origin: string }> {
        const { tls, host, port } = options;
        const onRequest: Handler = (req, res) => {
            req.on('error', () => {}); // a client abort must not crash the test process
            res.on('error', () => {});
            const socket = req.socket;
            const idle = this.idleTimers.get(socket);
            if (idle) clearTimeout(idle);
            const before = this.served.get(socket) ?? 0;
            this.served.set(socket, before + 1);
            (req as ReusedMark).reusedConnection = before > 0;
            if (before > 0 && this.dropReused > 0) {
                this.dropReused--;
                this.counts.droppedOnReuse++;
                this.closedHere.add(socket);
                return void socket.destroy();
            }
            if (keepAlive) this.closeWhenIdle(res, keepAlive);
            handler(req, res);
        };
        const keepAlive = options.keepAlive;
        const server: http.Server = tls
            ? https.createServer(
                  {
                      cert: fs.readFileSync(path.join(TLS_DIR, 'server.crt')),
                      key: fs.readFileSync(path.join(TLS_DIR, 'server.key')),
                  },
                  onRequest,
              )
            : http.createServer(onRequest);
        // The knobs' own idle rule replaces Node's (which also sends the hint).
        if (keepAlive) server.keepAliveTimeout = 0;
        // Track raw sockets so stop() can close keep-alive and hung connections at once:
        // server.close() alone waits for them.
        server.on('connection', (socket: Socket) => {
            this.sockets.add(socket);
            this.counts.connections++;
            this.counts.maxOpen = Math.max(this.counts.maxOpen, this.sockets.size);
            socket.on('error', () => undefined); // a client that resets its connection is counted below
            socket.on('close', () => {
                if (!this.closedHere.has(socket)) this.counts.closedByClient++;
                this.sockets.delete(socket);
                const idle = this.idleTimers.get(socket);
                if (idle) clearTimeout(idle);
            });
        });
        server.on('secureConnection', () => this.counts.handshakes++);
        await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(port, host, () => {
                server.off('error', reject);
                resolve();
            });
        });
        this.server = server;
        const bound = (server.address() as AddressInfo).port;
        const urlHost = host.includes(':') ? `[${host}]` : host; // IPv6 literals need brackets in a URL
        return { server, port: bound, origin: `${tls ? 'https' : 'http'}://${urlHost}:${bound}` };
    }

    /** Drops pending delayed replies, closes the listener and destroys every socket; no-op when stopped. */
    async stop(): Promise<void> {
        const { server } = this;
        if (!server) return;
        this.server = null;
        for (const timer of this.timers) clearTimeout(timer);
        this.timers.clear();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of this.sockets) {
            this.closedHere.add(socket);
            socket.destroy();
        }
        this.sockets.clear();
        await closed;
    }

    /** After the reply, the hint (if any) goes out and the connection closes once idle `idleCloseMs`. */
    private closeWhenIdle(res: http.ServerResponse, knobs: KeepAliveKnobs): void {
        if (knobs.hintSeconds !== null) res.setHeader('Keep-Alive', `timeout=${knobs.hintSeconds}`);
        const socket = res.socket;
        res.once('finish', () => {
            if (!socket || socket.destroyed) return;
            const timer = setTimeout(() => {
                this.counts.closedIdle++;
                this.closedHere.add(socket);
                socket.end();
            }, knobs.idleCloseMs);
            this.idleTimers.set(socket, timer);
        });
    }

    /** Runs `fn` after `delayMs` (a delayed reply) unless stop() comes first. */
    later(delayMs: number, fn: () => void): void {
        const timer = setTimeout(() => {
            this.timers.delete(timer);
            fn();
        }, delayMs);
        this.timers.add(timer);
    }
}

/**
 * Reads the whole request body and calls `done(body)`, or `done(null)` when it is over `limit`
 * bytes. Past the limit the rest is still read (and dropped) so the client gets a clean reply.
 */
export function readBody(req: http.IncomingMessage, limit: number, done: (body: Buffer | null) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => done(size > limit ? null : Buffer.concat(chunks)));
}

/** Writes a reply, unless the client is gone or already answered (a hung or late-delayed request). */
export function send(res: http.ServerResponse, status: number, body?: string | Buffer, headers: Headers = {}): void {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, headers);
    res.end(body);
}

/** Values of every cookie called `name` in a Cookie header (it may carry other cookies). */
export function cookieValues(header: string | undefined, name: string): string[] {
    if (typeof header !== 'string' || header === '') return [];
    const values: string[] = [];
    for (const part of header.split(';')) {
        const eq = part.indexOf('=');
        if (eq < 0) continue;
        if (part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
    }
    return values;
}

// ---------------------------------------------------------------------------------------------
// Cookie sessions and lockout counters
// ---------------------------------------------------------------------------------------------

export interface CookieSession {
    id: string;
    user: string;
    createdAt: number;
    lastUsedAt: number;
    /** Requests it served (see SessionLimits.requestLimit). */
    requests: number;
}

export interface SessionLimits {
    /** Absolute lifetime of a session. */
    sessionTtlMs: number;
    /** Lifetime without use; 0: no idle limit. */
    idleTtlMs: number;
    /** A session ends after serving this many requests (0: no limit); the next one is refused. */
    sessionRequestLimit?: number;
}

/**
 * Why a session is gone: its absolute lifetime (known to the client in advance), its idle limit,
 * its request limit, a logout, or a server restart (`clear`).
 */
export type SessionEnd = 'expired' | 'idle' | 'limit' | 'loggedOut' | 'cleared';

/**
 * Server-side sessions named by one cookie, each dying at its absolute or idle limit. The limits are
 * read on every check (a test may change them on a running simulator); every time read is Date.now(),
 * so a fake clock drives them.
 */
export class CookieSessions {
    private readonly sessions = new Map<string, CookieSession>();
    /** Why each ended session ended, by id: a refused request's cause. */
    private readonly ended = new Map<string, SessionEnd>();
    /** Sessions ended by their request limit (SessionLimits.requestLimit). */
    endedByLimit = 0;

    constructor(
        private readonly cookieName: string,
        private readonly limits: () => SessionLimits,
    ) {}

    create(id: string, user: string): CookieSession {
        const now = Date.now();
        const session = { id, user, createdAt: now, lastUsedAt: now, requests: 0 };
        this.sessions.set(id, session);
        return session;
    }

    /** The session `id` if still alive, else null; dead ones are dropped. */
    live(id: string): CookieSession | null {
        const session = this.sessions.get(id);
        if (!session) return null;
        const now = Date.now();
        const { sessionTtlMs, idleTtlMs } = this.limits();
        if (now >= session.createdAt + sessionTtlMs || (idleTtlMs > 0 && now >= session.lastUsedAt + idleTtlMs)) {
            this.end(id, now >= session.createdAt + sessionTtlMs ? 'expired' : 'idle');
            return null;
        }
        return session;
    }

    /** Counts a request the session served; the one that reaches the request limit ends it (true). */
    served(session: CookieSession): boolean {
        session.requests++;
        const limit = this.limits().sessionRequestLimit ?? 0;
        if (limit <= 0 || session.requests < limit) return false;
        this.endedByLimit++;
        this.end(session.id, 'limit');
        return true;
    }

    /** Why the sessions named by the request's cookie are gone (the first known reason), if they ended here. */
    endOf(req: http.IncomingMessage): SessionEnd | undefined {
        for (const id of cookieValues(req.headers.cookie, this.cookieName)) {
            const reason = this.ended.get(id);
            if (reason) return reason;
        }
        return undefined;
    }

    private end(id: string, reason: SessionEnd): void {
        this.sessions.delete(id);
        this.ended.set(id, reason);
    }

    /** The live session named by the request's cookie (touched: its idle timer restarts), or null. */
    fromRequest(req: http.IncomingMessage): CookieSession | null {
        for (const id of cookieValues(req.headers.cookie, this.cookieName)) {
            const session = this.live(id);
            if (session) {
                session.lastUsedAt = Date.now();
                return session;
            }
        }
        return null;
    }

    /** A logout ends it. */
    delete(id: string): void {
        if (this.sessions.has(id)) this.end(id, 'loggedOut');
    }

    /** Every session becomes invalid, as after a server restart. */
    clear(): void {
        for (const id of [...this.sessions.keys()]) this.end(id, 'cleared');
    }

    liveCount(): number {
        let count = 0;
        for (const id of [...this.sessions.keys()]) if (this.live(id)) count++;
        return count;
    }
}

export interface LockoutLimits {
    /** Failed logins that lock the account (in a row, or within `windowMs` when set). */
    threshold: number;
    durationMs: number;
    /** Only failures this recent count (SmartServer: 5 within 10 minutes). */
    windowMs?: number;
}

export interface FailureEntry {
    count: number;
    /** When the counted failures happened, oldest first. */
    times: number[];
    lockedUntil: number;
}

/** Failed logins per username and the lock they lead to; a lock that has run out starts afresh. */
export class LockoutCounter {
    private readonly failures = new Map<string, FailureEntry>();
    /** Every lock this counter imposed: the evidence a client caused a lockout. */
    readonly locks: { at: number; username: string }[] = [];

    constructor(private readonly limits: () => LockoutLimits) {}

    entry(name: string): FailureEntry {
        let entry = this.failures.get(name);
        if (!entry) {
            entry = { count: 0, times: [], lockedUntil: 0 };
            this.failures.set(name, entry);
        }
        const now = Date.now();
        if (entry.lockedUntil && entry.lockedUntil <= now) {
            entry.times = [];
            entry.lockedUntil = 0;
        }
        const { windowMs } = this.limits();
        if (windowMs !== undefined) entry.times = entry.times.filter((at) => at > now - windowMs);
        entry.count = entry.times.length;
        return entry;
    }

    /** Counts a failed login; the one that reaches the threshold locks the account. */
    recordFailure(name: string): FailureEntry {
        const entry = this.entry(name);
        entry.times.push(Date.now());
        entry.count = entry.times.length;
        const { threshold, durationMs } = this.limits();
        if (entry.count >= threshold) {
            if (!entry.lockedUntil) this.locks.push({ at: Date.now(), username: name });
            entry.lockedUntil = Date.now() + durationMs;
        }
        return entry;
    }

    /** A right password ends the failure streak. */
    clear(name: string): void {
        const entry = this.entry(name);
        entry.times = [];
        entry.count = 0;
    }

    /** When the user's lock ends (ms since the epoch), or 0 when not locked. */
    lockedUntil(name: string): number {
        const entry = this.entry(name);
        return entry.lockedUntil > Date.now() ? entry.lockedUntil : 0;
    }
}

// ---------------------------------------------------------------------------------------------
// The simulator base class
// ---------------------------------------------------------------------------------------------

/** One line of a simulator's request log; `status` stays null for a request never answered. */
export interface RequestRecord {
    method: string;
    path: string;
    status: number | null;
    at: number;
    /** It came on a connection that had carried a request before (keep-alive). */
    reused?: boolean;
}

/** What every simulator counts. */
export interface SimulatorStats<R extends RequestRecord> {
    loginAttempts: number;
    loginsOk: number;
    requests: R[];
}

/** One request being answered. */
export interface Exchange<R extends RequestRecord> {
    req: http.IncomingMessage;
    res: http.ServerResponse;
    record: R;
    method: string;
    pathname: string;
    query: URLSearchParams;
    body: Buffer;
}

/** The options every simulator takes: where to listen, and its users by name. */
export interface SimulatorOptions<U> extends Partial<ListenOptions> {
    users?: Record<string, Partial<U>>;
}

/**
 * What every vendor simulator shares: one loopback server, `start()`/`stop()`, the `port` and
 * `origin` it listens on, the request log and stats (`stats`, `resetStats()`), body reading and
 * replies. A subclass sets `_options` in its constructor and implements `_dispatch` (the vendor's
 * routes), `_recordFields` (its extra request-log fields) and `_tooLarge` (its answer to an
 * oversized body).
 */
export abstract class Simulator<R extends RequestRecord, S extends SimulatorStats<R>> {
    /** The port and origin once started ('' and 0 before). */
    port = 0;
    origin = '';
    protected readonly _loopback = new LoopbackServer();
    protected abstract readonly _options: ListenOptions;
    protected _stats: S;
    /** Content-Type of `_sendJson` replies. */
    protected _jsonType = 'application/json';

    protected constructor(
        private readonly _name: string,
        private readonly _emptyStats: () => S,
    ) {
        this._stats = _emptyStats();
    }

    async start(): Promise<this> {
        if (this._loopback.server) throw new Error(`${this._name} simulator already started`);
        const { port, origin } = await this._loopback.start(this._options, (req, res) => this._onRequest(req, res));
        this.port = port;
        this.origin = origin;
        return this;
    }

    async stop(): Promise<void> {
        await this._loopback.stop();
    }

    /** Connections and TLS handshakes accepted since it started, and the most open at once. */
    get connectionCounts(): ConnectionCounts {
        return { ...this._loopback.counts };
    }

    /** Connections open now. */
    get openConnections(): number {
        return this._loopback.openConnections;
    }

    /** See {@link LoopbackServer.dropReusedRequests}. */
    dropReusedRequests(count = 1): void {
        this._loopback.dropReusedRequests(count);
    }

    /** What the simulator counted since it started (or since resetStats). */
    get stats(): S {
        return this._stats;
    }

    resetStats(): void {
        this._stats = this._emptyStats();
    }

    private readonly _holds: Array<{ match: (ctx: Exchange<R>) => boolean; held: Exchange<R>[]; open: boolean }> = [];

    /**
     * From now on, requests that `match` are logged (the server saw them) but answered only when the
     * returned function is called (then, and from then on, at once): a request on the wire that stays
     * there. `release('drop')` cuts their connections instead: a reply lost on the way.
     */
    holdWhere(match: (ctx: Exchange<R>) => boolean): (how?: 'answer' | 'drop') => void {
        const hold = { match, held: [] as Exchange<R>[], open: true };
        this._holds.push(hold);
        return (how = 'answer') => {
            if (!hold.open) return;
            hold.open = false;
            this._holds.splice(this._holds.indexOf(hold), 1);
            for (const ctx of hold.held) {
                if (how === 'drop') ctx.req.socket.destroy();
                else if (!ctx.res.destroyed) this._dispatch(ctx);
            }
        };
    }

    // ---- for subclasses -------------------------------------------------------------------

    protected abstract _dispatch(ctx: Exchange<R>): void;

    /** The request-log fields beyond method, path, status and time. */
    protected abstract _recordFields(req: http.IncomingMessage, url: URL): Omit<R, keyof RequestRecord>;

    protected abstract _tooLarge(ctx: Exchange<R>): void;

    /** Logs the request, reads its body (bounded) and hands it to `_dispatch`. */
    protected _onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
        const url = new URL(req.url ?? '/', 'http://simulator.invalid');
        const method = req.method ?? 'GET';
        const reused = (req as ReusedMark).reusedConnection === true;
        const record = { method, path: url.pathname, status: null, ...this._recordFields(req, url), at: Date.now(), reused } as R;
        this._stats.requests.push(record);
        const ctx: Exchange<R> = { req, res, record, method, pathname: url.pathname, query: url.searchParams, body: Buffer.alloc(0) };
        readBody(req, MAX_BODY_BYTES, (body) => {
            if (body === null) return this._tooLarge(ctx);
            ctx.body = body;
            const hold = this._holds.find((candidate) => candidate.match(ctx));
            if (hold) hold.held.push(ctx);
            else this._dispatch(ctx);
        });
    }

    /** Answers and logs the status. */
    protected _send(ctx: Exchange<R>, status: number, body?: string | Buffer, headers: Headers = {}): void {
        ctx.record.status = status;
        send(ctx.res, status, body, headers);
    }

    protected _sendJson(ctx: Exchange<R>, status: number, value: unknown, headers: Headers = {}): void {
        this._send(ctx, status, JSON.stringify(value), { 'Content-Type': this._jsonType, ...headers });
    }

    /** Runs `fn` now, or after `delayMs` when that is positive (stop() drops it then). */
    protected _afterDelay(delayMs: number, fn: () => void): void {
        if (delayMs > 0) this._loopback.later(delayMs, fn);
        else fn();
    }
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

type FlagTable = Record<string, [option: string, parse: (text: string) => unknown]>;

const COMMON_FLAGS: FlagTable = {
    '--port': ['port', Number],
    '--host': ['host', String],
};

interface Startable {
    start(): Promise<unknown>;
    stop(): Promise<void>;
}

/**
 * The command line every simulator offers: `node -r tsx/cjs test/simulators/<vendor>.ts [--port N]
 * [--host H] [--http | --tls] [vendor flags]` runs one until SIGINT/SIGTERM and prints the URL to use.
 * `valueFlags` maps a vendor's own flags to an option and a parser, e.g. `{ '--root': ['root', String] }`.
 */
export function runCli<T extends Startable>(
    createSimulator: (options: Record<string, unknown>) => T,
    printUrl: (simulator: T) => string,
    valueFlags: FlagTable = {},
): void {
    const flags = { ...COMMON_FLAGS, ...valueFlags };
    const options: Record<string, unknown> = {};
    const argv = process.argv.slice(2);
    const start = async (): Promise<void> => {
        for (let i = 0; i < argv.length; i++) {
            const arg = argv[i];
            const flag = flags[arg];
            if (arg === '--http' || arg === '--tls') options.tls = arg === '--tls';
            else if (flag) options[flag[0]] = flag[1](argv[++i]);
            else throw new Error(`Unknown argument: ${arg}`);
        }
        for (const [name, value] of Object.entries(options)) {
            if (typeof value === 'number' && !(Number.isInteger(value) && value >= 0)) throw new Error(`${name} needs a whole number`);
        }
        if (typeof options.port === 'number' && options.port > 65535) throw new Error('--port needs a number from 0 to 65535');
        const simulator = createSimulator(options);
        await simulator.start();
        process.stdout.write(`${printUrl(simulator)}\n`);
        const shutdown = (): void => {
            simulator.stop().then(
                () => process.exit(0),
                () => process.exit(1),
            );
        };
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
    };
    start().catch((err: Error) => {
        process.stderr.write(`${err.message}\n`);
        process.exit(1);
    });
}

/** What `startForFlows` of every simulator module resolves: used by example tests and `npm start`. */
export interface FlowSimulator<T> {
    simulator: T;
    baseUrl: string;
    credentials: { username: string; password: string };
    stop: () => Promise<void>;
}

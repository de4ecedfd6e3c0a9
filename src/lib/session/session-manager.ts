import { EventEmitter } from 'node:events';

import { SessionError } from '../errors';
import type { HttpResponse } from '../http/http-client';
import { BlockInfo, LoginGuard } from './login-guard';
import type { AuthorizedRequest, ServerTransport } from './server-transport';
import { LiveCredential, Session, SessionState, expiryOf } from './session';
import { sessionCookieString } from './session-cookies';
import type { LoginCredentials, VendorAdapter } from '../vendors/adapter';

export type { AuthorizedRequest } from './server-transport';

export interface SessionManagerOptions {
    serverId: string;
    adapter: VendorAdapter;
    transport: ServerTransport;
    guard: LoginGuard;
    /** The config node's own user; absent when the config has no credentials. */
    credentials?: LoginCredentials;
    coolDownMs: number;
}

/** A reference to a session as found in `msg.session` (possibly read back from JSON). */
export interface SessionReference {
    id?: unknown;
    server?: unknown;
    user?: unknown;
}

/** `msg.session`: what a flow may know about a session. Never the password; the credential only if exposed. */
export interface MsgSession {
    id: string;
    server: string;
    vendor: string;
    user: string;
    loggedInAt: number | null;
    expiresAt: number | null;
    headers?: Record<string, string>;
}

export interface StateEvent {
    session: Session;
    state: SessionState;
    error?: SessionError;
}

/**
 * The sessions of one server config node, one per username: finds the session a msg names, sends
 * authorized requests through it, replays once after the vendor's expiry signal, and closes.
 * Emits `state` ({@link StateEvent}) whenever a session logs in, fails or logs out.
 */
export class SessionManager extends EventEmitter {
    private readonly sessions = new Map<string, Session>();
    private readonly own: Session | undefined;
    private readonly origin: string;
    private closed = false;

    constructor(private readonly options: SessionManagerOptions) {
        super();
        this.origin = new URL(options.transport.settings.baseUrl).origin;
        if (options.credentials) this.own = this.createSession(options.credentials);
    }

    get serverId(): string {
        return this.options.serverId;
    }

    get baseUrl(): string {
        return this.options.transport.settings.baseUrl;
    }

    get requestTimeoutMs(): number {
        return this.options.transport.settings.requestTimeoutMs;
    }

    /** Name of the cookie that carries the session, if the vendor uses one: kept out of `msg.responseCookies`. */
    get sessionCookie(): string | undefined {
        return this.options.adapter.sessionCookie;
    }

    /** The login block (lockout, rate limit, cool-down) in force for this session's user, if any. */
    loginBlock(session: Session): BlockInfo | undefined {
        return this.options.guard.blockOf(session.guardKey);
    }

    /** The config node's own session. */
    ownSession(): Session {
        if (!this.own) throw new SessionError('CONFIG', 'The server configuration has no username.');
        return this.own;
    }

    /** The session `msg.session` names, by id and then by user; the server's own when absent. */
    sessionFor(reference: unknown): Session {
        if (reference === undefined || reference === null) return this.ownSession();
        if (typeof reference !== 'object' || Array.isArray(reference)) {
            throw new SessionError('INVALID_INPUT', 'msg.session must be an object as set by a login node.');
        }
        const { id, server, user } = reference as SessionReference;
        if (server !== undefined && server !== this.serverId) {
            throw new SessionError('SESSION_REJECTED', 'msg.session belongs to another server configuration.');
        }
        for (const session of this.sessions.values()) if (session.id === id) return session;
        const byUser = typeof user === 'string' ? this.sessions.get(user) : undefined;
        if (byUser) return byUser;
        throw new SessionError(
            'SESSION_REJECTED',
            `msg.session names a session this server does not hold${typeof user === 'string' ? ` (user "${user}")` : ''}: log in again.`,
        );
    }

    /** The session of the user in `msg.credentials`, created or given the new password. */
    sessionForCredentials(credentials: LoginCredentials): { session: Session; changed: boolean } {
        const existing = this.sessions.get(credentials.username);
        if (!existing) return { session: this.createSession(credentials), changed: true };
        return { session: existing, changed: existing.updateCredentials(credentials) };
    }

    /** Logs in if needed (or always, when forced) and returns the live credential. */
    login(session: Session, force: boolean): Promise<LiveCredential> {
        this.assertOpen();
        return session.current(force);
    }

    /** Sends an authorized request; on the vendor's expiry signal logs in once and replays once. */
    async request(session: Session, request: AuthorizedRequest): Promise<{ response: HttpResponse; credential: LiveCredential }> {
        this.assertOpen();
        const { adapter, transport } = this.options;
        let credential = await session.current();
        let response = await transport.sendAuthorized(credential, request);
        if (adapter.isSessionRejected(response)) {
            credential = await session.replace(credential);
            response = await transport.sendAuthorized(credential, request);
            if (adapter.isSessionRejected(response)) {
                throw new SessionError(
                    'SESSION_REJECTED',
                    `${adapter.label} still refused the request after a fresh login of "${session.user}" (HTTP ${response.status}).`,
                    { statusCode: response.status },
                );
            }
        }
        credential.lastUsedAt = Date.now();
        return { response, credential };
    }

    /** Logs the session out; a session of a user from `msg.credentials` is forgotten too. */
    async logout(session: Session): Promise<void> {
        if (session !== this.own) this.sessions.delete(session.user);
        await session.logout();
    }

    /** `msg.session` for this session; the credential itself only when `expose` is on. */
    describe(session: Session, expose: boolean): MsgSession {
        const live = session.credential;
        const described: MsgSession = {
            id: session.id,
            server: this.serverId,
            vendor: this.options.adapter.id,
            user: session.user,
            loggedInAt: live ? live.loggedInAt : null,
            expiresAt: live ? expiryOf(live) : null,
        };
        if (expose && live) described.headers = credentialHeaders(live);
        return described;
    }

    /** Stops taking requests, logs live sessions out if asked (bounded), and closes the sockets. */
    async close(logout: boolean, timeoutMs: number): Promise<void> {
        this.closed = true;
        // Every session, not only the live ones: a login still in flight is waited for and ended too.
        const sessions = [...this.sessions.values()];
        if (logout && sessions.length) {
            const logouts = Promise.allSettled(sessions.map((session) => session.logout()));
            let timer: NodeJS.Timeout | undefined;
            const deadline = new Promise((resolve) => {
                timer = setTimeout(resolve, timeoutMs);
            });
            await Promise.race([logouts, deadline]);
            clearTimeout(timer);
        }
        this.options.transport.destroy();
        this.removeAllListeners();
    }

    private createSession(credentials: LoginCredentials): Session {
        const session = new Session(
            { ...credentials },
            {
                adapter: this.options.adapter,
                context: this.options.transport.context,
                guard: this.options.guard,
                origin: this.origin,
                coolDownMs: this.options.coolDownMs,
                onState: (s, state, error) => this.emit('state', { session: s, state, error } satisfies StateEvent),
                onReplacedLogoutError: () => undefined,
            },
        );
        this.sessions.set(credentials.username, session);
        return session;
    }

    private assertOpen(): void {
        if (this.closed) throw new SessionError('CONFIG', 'The server configuration was stopped (redeploy or shutdown).');
    }
}

function credentialHeaders(live: LiveCredential): Record<string, string> {
    const headers: Record<string, string> = {};
    const cookies = sessionCookieString(live.jar);
    if (cookies) headers.Cookie = cookies;
    if (live.header) headers[live.header.name] = live.header.value;
    return headers;
}

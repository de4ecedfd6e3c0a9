import { SessionError, isSessionError } from '../errors';
import { SecretScrubber } from '../secret-scrubber';
import type { HttpResponse } from '../http/http-client';
import { BlockInfo, LoginGuard } from './login-guard';
import type { AuthorizedRequest, ServerTransport } from './server-transport';
import { CredentialLease, LiveCredential, Session, SessionState, expiryOf } from './session';
import { SharedAccount, SharedStoreLink } from './shared-account';
import { unusableCredential } from './usable-credential';
import { sessionCookieString } from './session-cookies';
import { answeredFrom, isWrite, withoutHeaders } from './write-token';
import type { AuthorizationStart, LoginCredentials, VendorAdapter } from '../vendors/adapter';

export type { AuthorizedRequest } from './server-transport';

export interface SessionManagerOptions {
    serverId: string;
    adapter: VendorAdapter;
    transport: ServerTransport;
    guard: LoginGuard;
    /** The config node's own user; absent when the config has no credentials. */
    credentials?: LoginCredentials;
    /** The fleet's store (the server's `store` property), if any. */
    shared?: SharedStoreLink;
    /** Something the user should know that no msg carries (a failed logout of a replaced session). */
    onWarning?: (message: string) => void;
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

/** Sessions one config node keeps at most; the idle ones beyond are logged out, oldest first. */
export const MAX_SESSIONS = 100;

export type StateListener = (event: StateEvent) => void;

export interface StateEvent {
    session: Session;
    state: SessionState;
    error?: SessionError;
}

/**
 * The sessions of one server config node (its own, and one per `msg.credentials` user): finds the
 * session a msg names, sends authorized requests through the server's transport, replays once after
 * the vendor's expiry signal, logs out, describes, and closes. Tells its listeners
 * ({@link onState}) whenever a session logs in, fails or logs out.
 */
export class SessionManager {
    /** By username; a `msg.credentials` login as the own user with another password under {@link otherPasswordKey}. */
    private readonly sessions = new Map<string, Session>();
    private readonly listeners = new Set<StateListener>();
    private readonly own: Session | undefined;
    private readonly origin: string;
    /** The vendor adapter, whose logins must also yield a credential the server's URLs would carry. */
    private readonly loginAdapter: VendorAdapter;
    private closed = false;
    /** Every text this server's sessions report goes through it (errors, statuses, logs, login payloads). */
    readonly scrubber = new SecretScrubber();

    constructor(private readonly options: SessionManagerOptions) {
        const { adapter, transport } = options;
        this.scrubber.addSource(() => [...this.sessions.values()].flatMap((session) => session.knownSecrets()));
        this.scrubber.addSource(() => transport.knownSecrets());
        this.origin = new URL(transport.settings.baseUrl).origin;
        this.loginAdapter = Object.assign(Object.create(adapter) as VendorAdapter, {
            login: async (...args: Parameters<VendorAdapter['login']>) => {
                const result = await adapter.login(...args);
                const problem = unusableCredential(args[2], result, transport.settings.baseUrl, adapter, args[1].username);
                if (problem) throw problem;
                return result;
            },
        });
        if (options.credentials) this.own = this.createSession(options.credentials, options.credentials.username);
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

    /** Where the login guard keeps its memory (the file it writes), for statuses. */
    get guardLocation(): string {
        return this.options.guard.location;
    }

    /** Calls `listener` on every session state change until the returned function is called. */
    onState(listener: StateListener): () => void {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
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

    /**
     * The session of the user in `msg.credentials`, created or given the new password. The config's
     * own session is used only with its own password: another password for the own user is a
     * separate session, so a msg can never change the own one.
     */
    sessionForCredentials(credentials: LoginCredentials): { session: Session; changed: boolean } {
        this.assertOpen();
        let key = credentials.username;
        if (this.own && key === this.own.user) {
            if (this.own.hasPassword(credentials)) return { session: this.own, changed: false };
            key = otherPasswordKey(key);
        }
        const existing = this.sessions.get(key);
        if (!existing) return { session: this.createSession(credentials, key), changed: true };
        return { session: existing, changed: existing.updateCredentials(credentials) };
    }

    /** Logs in if needed (or always, when forced) and returns the live credential. */
    login(session: Session, force: boolean): Promise<LiveCredential> {
        this.assertOpen();
        return this.using(session, () => session.current(force)).catch((error: unknown) => this.rethrowScrubbed(error));
    }

    /**
     * Sends an authorized request; on the vendor's expiry signal logs in once and replays once; on a
     * write whose write token was refused gets a new token once and replays once.
     */
    request(session: Session, request: AuthorizedRequest): Promise<{ response: HttpResponse; credential: LiveCredential }> {
        this.assertOpen();
        const { adapter } = this.options;
        const write = isWrite(request.method);
        const sent = this.using(session, async () => {
            // The credential is taken when the request is written (after its wait for a connection).
            const arrivedAt = session.logoutCount;
            let credential: LiveCredential | undefined;
            let token: string | undefined;
            const send = (after?: LiveCredential): Promise<HttpResponse> =>
                this.send(session, request, async () => {
                    const lease = await session.lease(arrivedAt, after);
                    credential = lease.credential;
                    token = credential.writeToken?.value;
                    return lease;
                });
            let response = await send();
            let refused = write && adapter.isWriteTokenRefused?.(response) === true;
            if (refused || adapter.isSessionRejected(response)) {
                const first = credential as LiveCredential;
                if (refused) await session.renewWriteToken(first, token);
                else await this.replaceRefused(session, first, response.status);
                response = await send(first);
                refused = write && adapter.isWriteTokenRefused?.(response) === true;
                if (refused || adapter.isSessionRejected(response)) {
                    const again = refused ? 'with a new write (CSRF) token' : `after a fresh login of "${session.user}"`;
                    throw new SessionError('SESSION_REJECTED', `${adapter.label} still refused the request ${again} (HTTP ${response.status}).`, {
                        statusCode: response.status,
                    });
                }
            }
            const used = credential as LiveCredential;
            used.lastUsedAt = Date.now();
            withoutHeaders(response.headers, adapter.credentialReplyHeaders);
            return { response, credential: used };
        });
        return sent.catch((error: unknown) => this.rethrowScrubbed(error));
    }

    /** One send of a request with the credential lent when it is written; a write token the reply renews is taken at once. */
    private async send(session: Session, request: AuthorizedRequest, atWrite: () => Promise<CredentialLease>): Promise<HttpResponse> {
        let credential: LiveCredential | undefined;
        const response = await this.options.transport.sendAuthorized(async () => {
            const lease = await atWrite();
            credential = lease.credential;
            return lease;
        }, request);
        const renewed = this.options.adapter.renewedWriteToken?.(response);
        if (renewed !== undefined && answeredFrom(response, this.origin)) session.takeWriteToken(credential as LiveCredential, renewed);
        return response;
    }

    /** Errors leave the manager only with this server's secrets taken out of their text. */
    private rethrowScrubbed(error: unknown): never {
        throw isSessionError(error) ? this.scrubber.scrubError(error) : error;
    }

    /**
     * The server refused `refused` (a request's reply, a socket's handshake): the credential that
     * replaced it, through one shared login at most. `SESSION_REJECTED` when a logout ended the
     * session meanwhile or the server refused a fresh login too; `CONFIG` once the node is closing.
     */
    async replaceRefused(session: Session, refused: LiveCredential, statusCode?: number): Promise<LiveCredential> {
        this.assertOpen();
        if (session.loggedOutSince(refused)) {
            throw new SessionError('SESSION_REJECTED', `The session of "${session.user}" was logged out while the request was in flight.`, { statusCode });
        }
        try {
            return await session.replace(refused);
        } catch (error) {
            if (error instanceof SessionError && error.code === 'SESSION_REJECTED' && statusCode !== undefined) error.statusCode ??= statusCode;
            throw error;
        }
    }

    /**
     * Starts the authorization by a person the vendor's settings ask for (the editor's Authorize):
     * a page to open, or a device code. `CONFIG` when there is none.
     */
    async startAuthorization(redirectUri: string): Promise<AuthorizationStart> {
        this.assertOpen();
        const authorization = this.options.adapter.authorization;
        const own = this.options.credentials;
        if (!authorization || !own) throw new SessionError('CONFIG', `${this.options.adapter.label} is not authorized from the editor with these settings.`);
        return authorization.start(this.options.transport.context, own, redirectUri).catch((error: unknown) => this.rethrowScrubbed(error));
    }

    /** Finishes an authorization the provider redirected back to (`query`: its parameters). */
    async finishAuthorization(pending: unknown, query: URLSearchParams): Promise<void> {
        this.assertOpen();
        const authorization = this.options.adapter.authorization;
        const own = this.options.credentials;
        if (!authorization || !own) throw new SessionError('CONFIG', `${this.options.adapter.label} is not authorized from the editor with these settings.`);
        await authorization.finish(this.options.transport.context, own, pending, query).catch((error: unknown) => this.rethrowScrubbed(error));
    }

    /** The headers that carry this credential to `url` (its cookies by their Path rules, its token). */
    credentialHeaders(credential: LiveCredential, url: string): Record<string, string> {
        return this.options.transport.credentialHeaders(credential, url);
    }

    /** Logs the session out; a session of a user from `msg.credentials` is forgotten too. Nothing is sent once closing. */
    async logout(session: Session): Promise<void> {
        this.assertOpen();
        if (session !== this.own) this.forget(session);
        await session.logout().catch((error: unknown) => this.rethrowScrubbed(error));
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

    /**
     * From now on nothing is sent for any msg (waiting ones fail with `CONFIG`); then logs the
     * sessions out if asked (a login already on the wire is waited for and ended too) and the
     * replaced ones still being logged out, within `timeoutMs`, and closes the sockets.
     */
    async close(logout: boolean, timeoutMs: number): Promise<void> {
        this.closed = true;
        this.options.transport.beginClose();
        const sessions = [...this.sessions.values()];
        for (const session of sessions) session.end();
        const endings = sessions.map((session) => (logout ? session.logout().finally(() => session.retired()) : session.retired()));
        if (endings.length) {
            let timer: NodeJS.Timeout | undefined;
            const deadline = new Promise((resolve) => {
                timer = setTimeout(resolve, timeoutMs);
            });
            await Promise.race([Promise.allSettled(endings), deadline]);
            clearTimeout(timer);
        }
        this.options.transport.destroy();
        this.listeners.clear();
    }

    /** Runs a msg's use of the session, so it counts as busy (never evicted) meanwhile. */
    private async using<T>(session: Session, task: () => Promise<T>): Promise<T> {
        session.inUse++;
        session.lastActiveAt = Date.now();
        try {
            return await task();
        } finally {
            session.inUse--;
        }
    }

    private createSession(credentials: LoginCredentials, key: string): Session {
        const session = new Session(
            { ...credentials },
            {
                adapter: this.loginAdapter,
                context: this.options.transport.context,
                logoutContext: this.options.transport.logoutContext,
                guard: this.options.guard,
                // A login's exchanges (SmartServer: the login and its sessionTimeout) each within the timeout.
                shared: this.options.shared && new SharedAccount(this.options.shared, this.requestTimeoutMs),
                origin: this.origin,
                scrubber: this.scrubber,
                drainTimeoutMs: this.requestTimeoutMs,
                onState: (s, state, error) => this.changed({ session: s, state, error }),
                onWarning: (_, message) => this.warn(message),
                onReplacedLogoutError: (s, error) =>
                    this.warn(
                        `Could not log out a replaced session of "${s.user}" on ${this.options.adapter.label}: ${error instanceof Error ? error.message : String(error)}`,
                    ),
            },
        );
        this.sessions.set(key, session);
        this.evictIdle();
        return session;
    }

    private changed(event: StateEvent): void {
        // A msg.credentials user that failed holds nothing on the server: forget it, or failed
        // users would pile up without bound (the login guard remembers what it must).
        if (event.state === 'failed' && event.session !== this.own && !event.session.credential) this.forget(event.session);
        for (const listener of this.listeners) listener(event);
    }

    /** Beyond {@link MAX_SESSIONS}: the idle msg.credentials sessions, oldest first, are logged out and forgotten. */
    private evictIdle(): void {
        if (this.sessions.size <= MAX_SESSIONS) return;
        const idle = [...this.sessions.values()]
            .filter((session) => session !== this.own && session.inUse === 0)
            .sort((a, b) => a.lastActiveAt - b.lastActiveAt);
        for (const session of idle.slice(0, this.sessions.size - MAX_SESSIONS)) {
            this.forget(session);
            session
                .logout()
                .catch((error: unknown) =>
                    this.warn(
                        `Could not log out the idle session of "${session.user}" on ${this.options.adapter.label}: ${error instanceof Error ? error.message : String(error)}`,
                    ),
                );
        }
    }

    private forget(session: Session): void {
        for (const [key, held] of this.sessions) {
            if (held === session) this.sessions.delete(key);
        }
    }

    private warn(message: string): void {
        this.options.onWarning?.(this.scrubber.scrub(message));
    }

    private assertOpen(): void {
        if (this.closed) throw new SessionError('CONFIG', 'The server configuration was stopped (redeploy or shutdown).');
    }
}

/** The key of a msg.credentials session of the config's own user with another password. */
function otherPasswordKey(username: string): string {
    return `\u0000${username}`;
}

function credentialHeaders(live: LiveCredential): Record<string, string> {
    const headers: Record<string, string> = {};
    const cookies = sessionCookieString(live.jar);
    if (cookies) headers.Cookie = cookies;
    if (live.header) headers[live.header.name] = live.header.value;
    if (live.writeToken) headers[live.writeToken.name] = live.writeToken.value;
    return headers;
}

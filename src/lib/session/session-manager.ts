import { EventEmitter } from 'node:events';

import { SessionError } from '../errors';
import type { HttpClient, HttpRequest, HttpResponse } from '../http/http-client';
import { LoginGuard } from './login-guard';
import { isIdempotent } from '../http/retry-policy';
import { sendWithRetry } from '../http/send-with-retry';
import { LiveCredential, Session, SessionState, expiryOf } from './session';
import { cookieHeader, sessionCookieString, storeSessionCookies } from './session-cookies';
import type { LoginCredentials, ServerSettings, SessionCredential, VendorAdapter, VendorContext, VendorExchange } from '../vendors/adapter';

export interface SessionManagerOptions {
    serverId: string;
    settings: ServerSettings;
    adapter: VendorAdapter;
    http: HttpClient;
    guard: LoginGuard;
    /** The config node's own user; absent when the config has no credentials. */
    credentials?: LoginCredentials;
    coolDownMs: number;
}

/** An authorized request as the request node parsed it from the msg. */
export interface AuthorizedRequest {
    method: string;
    /** Absolute URL, already checked to be on the server's origin. */
    url: string;
    headers: Record<string, string>;
    /** `name=value` pairs from the msg, sent beside the session cookie. */
    cookies: string[];
    body?: Buffer | string;
    timeoutMs?: number;
    followRedirects: boolean;
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
    private readonly context: VendorContext;
    private readonly origin: string;
    private readonly defaultHeaders: Record<string, string>;
    private closed = false;

    constructor(private readonly options: SessionManagerOptions) {
        super();
        this.origin = new URL(options.settings.baseUrl).origin;
        this.defaultHeaders = options.adapter.requestHeaders(options.settings);
        this.context = { settings: options.settings, send: (exchange, credential) => this.sendExchange(exchange, credential) };
        if (options.credentials) this.own = this.createSession(options.credentials);
    }

    get serverId(): string {
        return this.options.serverId;
    }

    get adapter(): VendorAdapter {
        return this.options.adapter;
    }

    get baseUrl(): string {
        return this.options.settings.baseUrl;
    }

    get requestTimeoutMs(): number {
        return this.options.settings.requestTimeoutMs;
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
        let credential = await session.current();
        let response = await this.sendAuthorized(credential, request);
        if (this.adapter.isSessionRejected(response)) {
            credential = await session.replace(credential);
            response = await this.sendAuthorized(credential, request);
            if (this.adapter.isSessionRejected(response)) {
                throw new SessionError(
                    'SESSION_REJECTED',
                    `${this.adapter.label} still refused the request after a fresh login of "${session.user}" (HTTP ${response.status}).`,
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
            vendor: this.adapter.id,
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
        this.options.http.destroy();
        this.removeAllListeners();
    }

    private createSession(credentials: LoginCredentials): Session {
        const session = new Session(
            { ...credentials },
            {
                adapter: this.adapter,
                context: this.context,
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

    /** An adapter's exchange (login, expiry probe, logout): retried on transient faults. */
    private sendExchange(exchange: VendorExchange, credential: SessionCredential): Promise<HttpResponse> {
        const url = this.baseUrl + exchange.path;
        const headers = { ...exchange.headers };
        if (credential.header) headers[credential.header.name] = credential.header.value;
        return sendWithRetry(() => this.sendOnce(credential, url, headers, [], exchange.method, exchange.body), exchange.retry !== false);
    }

    private sendAuthorized(credential: LiveCredential, request: AuthorizedRequest): Promise<HttpResponse> {
        const headers = withDefaults(request.headers, this.defaultHeaders);
        if (credential.header) setHeader(headers, credential.header.name, credential.header.value);
        return sendWithRetry(
            () => this.sendOnce(credential, request.url, headers, request.cookies, request.method, request.body, request),
            isIdempotent(request.method),
        );
    }

    private async sendOnce(
        credential: SessionCredential,
        url: string,
        headers: Record<string, string>,
        msgCookies: string[],
        method: string,
        body: Buffer | string | undefined,
        request?: AuthorizedRequest,
    ): Promise<HttpResponse> {
        const outgoing: HttpRequest = {
            method,
            url,
            headers: cookieHeader(headers, msgCookies, credential.jar, url),
            body,
            timeoutMs: request?.timeoutMs ?? this.options.settings.requestTimeoutMs,
            followRedirects: request?.followRedirects ?? false,
            credentialHeaders: credential.header ? [credential.header.name] : [],
        };
        const response = await this.options.http.send(outgoing);
        storeSessionCookies(credential.jar, response, this.adapter.sessionCookie, !request);
        return response;
    }
}

function credentialHeaders(live: LiveCredential): Record<string, string> {
    const headers: Record<string, string> = {};
    const cookies = sessionCookieString(live.jar);
    if (cookies) headers.Cookie = cookies;
    if (live.header) headers[live.header.name] = live.header.value;
    return headers;
}

/** Vendor defaults for headers the msg does not set (names compared without case). */
function withDefaults(headers: Record<string, string>, defaults: Record<string, string>): Record<string, string> {
    const result = { ...headers };
    for (const [name, value] of Object.entries(defaults)) {
        if (!Object.keys(result).some((key) => key.toLowerCase() === name.toLowerCase())) result[name] = value;
    }
    return result;
}

/** Sets a header, replacing any spelling of the same name: the session's token always wins. */
function setHeader(headers: Record<string, string>, name: string, value: string): void {
    for (const key of Object.keys(headers)) if (key.toLowerCase() === name.toLowerCase()) delete headers[key];
    headers[name] = value;
}

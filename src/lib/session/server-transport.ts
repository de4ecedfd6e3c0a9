import { SessionError } from '../errors';
import { ConnectionSlots, SlotKind } from '../http/connection-slots';
import type { HttpClient, HttpRequest, HttpResponse } from '../http/http-client';
import { DEFAULT_RETRY_POLICY, isIdempotent } from '../http/retry-policy';
import { Sleep, sendWithRetry } from '../http/send-with-retry';
import { describeTarget } from '../http/transport-errors';
import type { GrantRuntime, ServerSettings, SessionCredential, VendorAdapter, VendorContext, VendorExchange } from '../vendors/adapter';
import { cookieHeader, hopCookies, onOrigin, takeCookieHeader } from './session-cookies';
import type { KnownSecrets } from '../secret-scrubber';
import { writeTokenHeader } from './write-token';

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

/**
 * Lends a request the credential to write it with, at the moment it is written (after its wait for a
 * connection), so an expiry is judged then; `finished` is called once the exchange has ended.
 */
export type CredentialAtWrite = () => Promise<{ credential: SessionCredential; finished(response?: HttpResponse): void }>;

export interface ServerTransportOptions {
    settings: ServerSettings;
    adapter: VendorAdapter;
    http: HttpClient;
    /** Most exchanges (so keep-alive sockets) open to the server at once; logins and logouts may use one more. */
    maxConnections: number;
    /** The client for an adapter's exchange with another origin (an OAuth2 provider's token endpoint): default trust, same proxy. */
    foreignHttp?: () => HttpClient;
    /** The deployed config node's grant memory (OAuth2 grants), lent to the adapter. */
    grant?: GrantRuntime;
}

/** `maxConnections` when the config does not set it. */
export const DEFAULT_MAX_CONNECTIONS = 8;

/**
 * One server's authorized transport: sends an exchange with a session's cookies and token, the
 * vendor's default headers, and retries on transient faults. Knows nothing of sessions: the adapters
 * use it through {@link context} to log in and out, the session manager for the flow's requests.
 * Holds the server's connection cap; once closing, it writes nothing but logouts: flow requests and
 * the adapters' other exchanges fail with `CONFIG`, also those waiting for a connection or a retry.
 */
export class ServerTransport {
    /** What the adapters are lent: the settings and a way to send their exchanges (none once closing began). */
    readonly context: VendorContext;
    /** The same for logouts: the only exchanges still written once the config node began closing. */
    readonly logoutContext: VendorContext;
    /** The vendor's default headers, with their lower-case names (compared once per request). */
    private readonly defaultHeaders: ReadonlyArray<{ name: string; lower: string; value: string }>;
    private readonly slots: ConnectionSlots;
    private closing = false;
    /** Retry waits in progress: closing ends them. */
    private readonly waits = new Set<() => void>();
    /** A wait between retries that ends (failing with `CONFIG`) when the config node closes. */
    private readonly sleep: Sleep = (ms) =>
        new Promise((resolve, reject) => {
            if (this.closing) return reject(stopped());
            const stop = (): void => {
                clearTimeout(timer);
                this.waits.delete(stop);
                reject(stopped());
            };
            const timer = setTimeout(() => {
                this.waits.delete(stop);
                resolve();
            }, ms);
            this.waits.add(stop);
        });

    /** A redirect's hop or a rewrite after the node began closing is not written (one function for every request). */
    private readonly halted = (): SessionError | undefined => (this.closing ? stopped() : undefined);

    /** Scheme, host and port of the server: the only origin session cookies are stored from and sent to. */
    private readonly origin: string;

    constructor(private readonly options: ServerTransportOptions) {
        this.slots = new ConnectionSlots(options.maxConnections);
        this.origin = new URL(options.settings.baseUrl).origin;
        this.defaultHeaders = Object.entries(options.adapter.requestHeaders(options.settings)).map(([name, value]) => ({
            name,
            lower: name.toLowerCase(),
            value,
        }));
        this.context = { settings: options.settings, send: (exchange, credential) => this.sendExchange(exchange, credential), grant: options.grant };
        this.logoutContext = { ...this.context, send: (exchange, credential) => this.sendExchange(exchange, credential, true) };
    }

    get settings(): ServerSettings {
        return this.options.settings;
    }

    /**
     * An adapter's exchange (login, expiry probe, token fetch, logout): retried on transient faults as
     * far as its `retry` allows. Once closing began only a `logout` is still written: anything else
     * fails with `CONFIG`, also when it was waiting for a connection or a retry.
     */
    sendExchange(exchange: VendorExchange, credential: SessionCredential, logout = false): Promise<HttpResponse> {
        if (this.closing && !logout) return Promise.reject(stopped());
        const url = exchange.url ?? this.options.settings.baseUrl + exchange.path;
        const headers = { ...exchange.headers };
        // A login (its credentials may be resent only if never sent) goes on a connection of its own.
        const newConnection = exchange.retry === 'unsent';
        return sendWithRetry(
            async () => {
                await exchange.beforeWrite?.();
                return this.sendOnce(credential, url, headers, [], exchange.method, exchange.body, undefined, newConnection, logout);
            },
            exchange.retry ?? true,
            DEFAULT_RETRY_POLICY,
            this.sleep,
        ).catch(unwrapQueueTimeout);
    }

    /**
     * A flow's request with the session's credential, taken when the request is about to be written;
     * idempotent methods are retried on transient faults.
     */
    sendAuthorized(credential: CredentialAtWrite, request: AuthorizedRequest): Promise<HttpResponse> {
        if (this.closing) return Promise.reject(stopped());
        const headers = withDefaults(request.headers, this.defaultHeaders);
        return sendWithRetry(
            () => this.sendOnce(credential, request.url, headers, request.cookies, request.method, request.body, request),
            isIdempotent(request.method),
            DEFAULT_RETRY_POLICY,
            this.sleep,
        ).catch(unwrapQueueTimeout);
    }

    /** The headers that carry a credential to `url`: its cookies (by their Path rules) and its token. */
    credentialHeaders(credential: SessionCredential, url: string): Record<string, string> {
        const headers = cookieHeader({}, [], credential.jar, url);
        if (credential.header) headers[credential.header.name] = credential.header.value;
        return headers;
    }

    /** The config node began closing: no more flow requests, retry waits end; logouts still go. */
    beginClose(): void {
        this.closing = true;
        for (const stop of [...this.waits]) stop();
        this.slots.closeRequests(stopped());
    }

    /** The connection's own secrets (the proxy's credentials), for the scrubber. */
    knownSecrets(): KnownSecrets {
        return this.options.http.knownSecrets();
    }

    /** Closes every socket; nothing is sent after this. */
    destroy(): void {
        this.beginClose();
        this.options.http.destroy();
        this.foreign?.destroy();
    }

    private foreign: HttpClient | undefined;

    /** The server's client (its TLS configuration) for its own origin; another origin gets the default trust store. */
    private clientFor(url: string): HttpClient {
        if (!this.options.foreignHttp || onOrigin(url, this.origin)) return this.options.http;
        this.foreign ??= this.options.foreignHttp();
        return this.foreign;
    }

    private async sendOnce(
        credentialAtWrite: SessionCredential | CredentialAtWrite,
        url: string,
        requestHeaders: Record<string, string>,
        msgCookies: string[],
        method: string,
        body: Buffer | string | undefined,
        request?: AuthorizedRequest,
        newConnection = false,
        logout = false,
    ): Promise<HttpResponse> {
        // A queued request waits for a connection inside its own timeout.
        let timeoutMs = request?.timeoutMs ?? this.options.settings.requestTimeoutMs;
        const kind: SlotKind = request ? 'request' : 'session';
        let release = this.slots.tryAcquire(kind);
        if (!release) {
            const queuedAt = Date.now();
            release = await this.slots.acquire(
                kind,
                timeoutMs,
                () =>
                    new NotRetried(
                        new SessionError(
                            'TIMEOUT',
                            `No connection to ${describeTarget(method, url)} became free within ${timeoutMs} ms (at most ${this.options.maxConnections} at once).`,
                        ),
                    ),
            );
            timeoutMs = Math.max(1, timeoutMs - (Date.now() - queuedAt));
        }
        let response: HttpResponse | undefined;
        let finished: (response?: HttpResponse) => void = () => undefined;
        try {
            // Its wait for a connection may have outlasted the node: only a logout still goes.
            if (this.closing && !logout) throw stopped();
            let credential: SessionCredential;
            if (typeof credentialAtWrite === 'function') {
                // A failed login is the msg's answer as it is: the retry loop must not log in again.
                const lent = await credentialAtWrite().catch((error: unknown) => {
                    throw new NotRetried(error);
                });
                ({ credential, finished } = lent);
            } else credential = credentialAtWrite;
            // The login it waited for may have ended after the node began closing.
            if (this.closing && !logout) throw stopped();
            // The credential and write token as they are when the request is written.
            const writeToken = writeTokenHeader(credential, method);
            // Copied only when the credential adds a header (a cookie session's request adds none).
            const headers = credential.header || writeToken ? { ...requestHeaders } : requestHeaders;
            if (credential.header) setHeader(headers, credential.header.name, credential.header.value);
            if (writeToken) setHeader(headers, writeToken.name, writeToken.value);
            const flow = takeCookieHeader(headers);
            const outgoing: HttpRequest = {
                method,
                url,
                headers: flow.headers,
                body,
                timeoutMs,
                followRedirects: request?.followRedirects ?? false,
                newConnection,
                halted: logout ? undefined : this.halted,
                // Dropped on a redirect to another origin: the session's header and its write token.
                credentialHeaders: [credential.header?.name, credential.writeToken?.name].filter((name): name is string => name !== undefined),
                cookies: hopCookies({
                    jar: credential.jar,
                    origin: this.origin,
                    url,
                    flowCookies: msgCookies.length ? [...flow.pairs, ...msgCookies] : flow.pairs,
                    sessionCookie: this.options.adapter.sessionCookie,
                    storeAll: !request,
                }),
            };
            response = await this.clientFor(url).send(outgoing);
        } finally {
            finished(response);
            release();
        }
        return response;
    }
}

/**
 * An error the retry loop must pass as it is: a request that waited its whole timeout for a
 * connection (never sent; a retry would wait all over again), or the failed login it waited for.
 */
class NotRetried extends Error {
    constructor(readonly error: unknown) {
        super(error instanceof Error ? error.message : String(error));
    }
}

function unwrapQueueTimeout(error: unknown): never {
    throw error instanceof NotRetried ? error.error : error;
}

function stopped(): SessionError {
    return new SessionError('CONFIG', 'The server configuration was stopped (redeploy or shutdown).');
}

/** Vendor defaults for headers the msg does not set (names compared without case). */
function withDefaults(headers: Record<string, string>, defaults: ReadonlyArray<{ name: string; lower: string; value: string }>): Record<string, string> {
    if (!defaults.length) return headers;
    const result = { ...headers };
    const set = new Set(Object.keys(headers).map((key) => key.toLowerCase()));
    for (const { name, lower, value } of defaults) if (!set.has(lower)) result[name] = value;
    return result;
}

/** Sets a header, replacing any spelling of the same name: the session's token always wins. */
function setHeader(headers: Record<string, string>, name: string, value: string): void {
    for (const key of Object.keys(headers)) if (key.toLowerCase() === name.toLowerCase()) delete headers[key];
    headers[name] = value;
}

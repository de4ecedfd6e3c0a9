import http from 'node:http';
import https from 'node:https';

import axios, { AxiosAdapter, AxiosRequestConfig, AxiosResponse, GenericAbortSignal, InternalAxiosRequestConfig } from 'axios';

import { SessionError } from '../errors';
import type { KnownSecrets } from '../secret-scrubber';
import { closeIdleBeforeServer, failedOnStaleConnection } from './keep-alive';
import { ProxyHttpAgent, ProxyHttpsAgent, ProxySettings, environmentProxy, proxyRefusalOf } from './proxy-agents';
import { describeTarget, transportError } from './transport-errors';

/** TLS settings as a core `tls-config` node fills them in (`addTLSOptions`). */
export type TlsOptions = https.AgentOptions;

export interface HttpClientOptions {
    tls?: TlsOptions;
    /** A core `http proxy` node's settings; without it the environment's proxies apply (`http_proxy`, ...). */
    proxy?: ProxySettings;
    /** Largest response body accepted, in bytes (settings.js `restSessionServerMaxResponseBytes`). */
    maxResponseBytes: number;
    /** A proxy that does not open a tunnel within this gives up; default 30 s. */
    proxyConnectTimeoutMs?: number;
    /** Most sockets open to the server at once (the transport queues requests beyond its cap). */
    maxSockets?: number;
}

export interface HttpRequest {
    method: string;
    /** Absolute URL. */
    url: string;
    headers: Record<string, string>;
    body?: Buffer | string;
    /** The whole exchange (connect, send, redirects, read the body) must end within this. */
    timeoutMs: number;
    followRedirects: boolean;
    /** Headers that carry the session credential: dropped if a redirect leaves the origin. */
    credentialHeaders?: readonly string[];
    /** The cookies of every hop; without it a `Cookie` header goes to same-origin hops only. */
    cookies?: HopCookies;
    /** Written on a connection of its own, never a reused one (a login: it must never meet a keep-alive race). */
    newConnection?: boolean;
    /** Checked before every write after the first (a redirect's hop, a rewrite on a new connection): an error ends the exchange there. */
    halted?: () => Error | undefined;
}

/** Cookies hop by hop: what to send to a hop's URL, and what a hop's reply set. */
export interface HopCookies {
    /** The `Cookie` value for this URL, if any. */
    header(url: string): string | undefined;
    store(url: string, setCookie: readonly string[]): void;
}

export interface RedirectHop {
    /** The `Location` header as the server sent it (possibly relative), like the core node's redirectList. */
    location: string;
    setCookie: string[];
}

export interface HttpResponse {
    status: number;
    /** Lower-case names; `set-cookie` is always an array when present. */
    headers: Record<string, string | string[]>;
    body: Buffer;
    /** The URL that answered, after redirects. */
    url: string;
    redirects: RedirectHop[];
}

const MAX_REDIRECTS = 21;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** The only schemes a redirect is followed to (never data:, file:, javascript:...). */
const REDIRECT_SCHEMES = new Set(['http:', 'https:']);
/**
 * Framing and hop-by-hop headers: the client frames the body itself, so a flow's Content-Length or
 * Transfer-Encoding can never desynchronise a shared keep-alive connection (request smuggling).
 */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection']);

/** The agents an exchange goes out on. */
interface Agents {
    httpAgent: http.Agent;
    httpsAgent: https.Agent;
}

/** One request of an exchange: the first, or one that follows a redirect. */
interface Hop {
    method: string;
    url: string;
    headers: Record<string, string | false>;
    body?: Buffer | string;
}
const DEFAULT_PROXY_CONNECT_TIMEOUT_MS = 30000;
/**
 * axios turns TCP keep-alive on with this initial delay for every socket it is given; the agents use
 * the same, or each request would reset it twice (a system call each time).
 */
const KEEP_ALIVE_PROBE_MS = 60_000;

/**
 * One per server config node: keep-alive agents carrying the server's TLS and proxy settings,
 * reused by every session and message of that server. Sends one exchange; retries live in the
 * session core. After `destroy()` (the config node closed) it refuses to send anything.
 */
export class HttpClient {
    private readonly httpAgent: http.Agent;
    private readonly httpsAgent: https.Agent;
    /** Agents that open a connection per exchange and close it after: logins, and a request the keep-alive race cut. */
    private readonly newConnection: Agents;
    /** axios's HTTP adapter: it sends each exchange, given the config `axios.request()` would hand it. */
    private readonly adapter: AxiosAdapter = axios.getAdapter('http');
    private readonly pooled: Agents;
    private readonly maxResponseBytes: number;
    private readonly proxyAuthorizations: (string | undefined)[];
    private destroyed = false;

    constructor(options: HttpClientOptions) {
        const pool = { keepAlive: true, keepAliveMsecs: KEEP_ALIVE_PROBE_MS, maxSockets: options.maxSockets };
        const tls = { ...options.tls, ...pool };
        const httpProxy = options.proxy ?? environmentProxy('http:');
        const httpsProxy = options.proxy ?? environmentProxy('https:');
        const connectTimeout = options.proxyConnectTimeoutMs ?? DEFAULT_PROXY_CONNECT_TIMEOUT_MS;
        this.httpAgent = closeIdleBeforeServer(httpProxy ? new ProxyHttpAgent(httpProxy, pool) : new http.Agent(pool));
        this.httpsAgent = closeIdleBeforeServer(httpsProxy ? new ProxyHttpsAgent(httpsProxy, tls, connectTimeout) : new https.Agent(tls));
        const once = { ...options.tls, keepAlive: false };
        this.pooled = { httpAgent: this.httpAgent, httpsAgent: this.httpsAgent };
        this.newConnection = {
            httpAgent: httpProxy ? new ProxyHttpAgent(httpProxy, { keepAlive: false }) : new http.Agent({ keepAlive: false }),
            httpsAgent: httpsProxy ? new ProxyHttpsAgent(httpsProxy, once, connectTimeout) : new https.Agent(once),
        };
        this.maxResponseBytes = options.maxResponseBytes;
        this.proxyAuthorizations = [httpProxy?.authorization, httpsProxy?.authorization];
    }

    async send(request: HttpRequest): Promise<HttpResponse> {
        if (this.destroyed) throw stopped();
        const redirects: RedirectHop[] = [];
        // One deadline for the whole exchange, as the core node's request timeout: a server that
        // trickles bytes or a proxy that never opens the tunnel cannot hold a message forever.
        const deadline = new Deadline(request.timeoutMs);
        const cookies = request.cookies;
        let hop: Hop = { method: request.method, url: request.url, headers: hopHeaders(request.headers, cookies !== undefined), body: request.body };
        try {
            for (;;) {
                if (cookies) {
                    // Each hop's own cookies (the hop's headers are ours to change: copied per hop).
                    const cookie = cookies.header(hop.url);
                    if (cookie) hop.headers.Cookie = cookie;
                    else delete hop.headers.Cookie;
                }
                const halt = redirects.length ? request.halted?.() : undefined;
                if (halt) throw halt;
                const response = await this.exchange(hop, deadline, request.newConnection, request.halted);
                const refused = proxyRefusalOf(response.status, response.request);
                if (refused) throw refused;
                const setCookie = toArray(response.headers['set-cookie'] as string | string[] | undefined);
                if (setCookie.length) cookies?.store(hop.url, setCookie);
                const location = response.headers.location;
                if (!request.followRedirects || !REDIRECT_STATUSES.has(response.status) || typeof location !== 'string') {
                    return { status: response.status, headers: plainHeaders(response.headers), body: bodyOf(response), url: hop.url, redirects };
                }
                if (redirects.length >= MAX_REDIRECTS) {
                    throw new SessionError('SERVER_ERROR', `${describeTarget(request.method, request.url)} redirected more than ${MAX_REDIRECTS} times.`);
                }
                redirects.push({ location, setCookie });
                hop = nextHop(hop, response.status, redirectTarget(location, hop, request), request);
            }
        } catch (error) {
            // Sockets closed by destroy(): say why, rather than "connection reset", keeping the
            // socket's code: a login cut off on the wire may have reached the server.
            if (this.destroyed) throw stopped(transportError(error, request.method, request.url, request.timeoutMs).transportCode);
            throw deadline.aborted
                ? new SessionError('TIMEOUT', `No answer from ${describeTarget(request.method, request.url)} within ${request.timeoutMs} ms.`)
                : transportError(error, request.method, request.url, request.timeoutMs, this.maxResponseBytes);
        } finally {
            deadline.clear();
        }
    }

    /**
     * One HTTP exchange, redirects not followed (we follow them ourselves: cheaper, and our rules).
     * One cut on a reused connection before any reply byte (the server had closed it) is written once
     * more on a new connection, whatever its method: the server never read it.
     */
    private async exchange(hop: Hop, signal: Deadline, newConnection = false, halted?: () => Error | undefined): Promise<AxiosResponse<Buffer>> {
        if (newConnection) return this.dispatch(this.newConnection, hop, signal);
        try {
            return await this.dispatch(this.pooled, hop, signal);
        } catch (error) {
            if (signal.aborted || this.destroyed || !failedOnStaleConnection(error)) throw error;
            const halt = halted?.();
            if (halt) throw halt;
            return this.dispatch(this.newConnection, hop, signal);
        }
    }

    /**
     * axios's own HTTP adapter, given the config axios.request() would hand it: merging instance
     * defaults into every request's config, flattening header buckets and running an empty
     * interceptor and transform chain cost more than a small request itself. The config is one
     * literal of own members (what axios reads; a spread or a prototype costs more). The body is a
     * Buffer or a string already and the headers plain (`false` for a default axios must not add).
     */
    private dispatch(agents: Agents, hop: Hop, signal: Deadline): Promise<AxiosResponse<Buffer>> {
        const config: AxiosRequestConfig = {
            method: hop.method,
            url: hop.url,
            headers: hop.headers,
            data: hop.body,
            signal,
            httpAgent: agents.httpAgent,
            httpsAgent: agents.httpsAgent,
            // Our agents do the proxying (noproxy per host, CONNECT for https); axios must not add its own.
            proxy: false,
            validateStatus: null,
            responseType: 'arraybuffer',
            // As the core node: the body as the server sent it (no Accept-Encoding unless the flow sets one).
            decompress: false,
            maxContentLength: this.maxResponseBytes,
            maxBodyLength: Infinity,
            // We follow redirects ourselves: cheaper, and our rules.
            maxRedirects: 0,
        };
        return this.adapter(config as InternalAxiosRequestConfig) as Promise<AxiosResponse<Buffer>>;
    }

    /** The proxy's credentials, for the secret scrubber. */
    knownSecrets(): KnownSecrets {
        return { authorizations: this.proxyAuthorizations };
    }

    /** Closes every socket (idle and in use) and refuses later requests: the config node is gone. */
    destroy(): void {
        this.destroyed = true;
        for (const agent of [this.httpAgent, this.httpsAgent, this.newConnection.httpAgent, this.newConnection.httpsAgent]) agent.destroy();
    }
}

/**
 * An exchange's deadline as the abort signal axios takes (its `GenericAbortSignal`): one timer and
 * one listener (the hop in flight), without an AbortController and its event target per request.
 */
class Deadline implements GenericAbortSignal {
    aborted = false;
    private listener: ((event: { type: string }) => void) | undefined;
    private readonly timer: NodeJS.Timeout;

    constructor(ms: number) {
        this.timer = setTimeout(() => this.abort(), ms);
    }

    addEventListener(type: string, listener: (event: { type: string }) => void): void {
        if (type === 'abort') this.listener = listener;
    }

    removeEventListener(type: string, listener: (event: { type: string }) => void): void {
        if (type === 'abort' && this.listener === listener) this.listener = undefined;
    }

    clear(): void {
        clearTimeout(this.timer);
        this.listener = undefined;
    }

    private abort(): void {
        this.aborted = true;
        const listener = this.listener;
        this.listener = undefined;
        listener?.({ type: 'abort' });
    }
}

function stopped(transportCode?: string): SessionError {
    return new SessionError('CONFIG', 'The server configuration was stopped (redeploy or shutdown).', { transportCode });
}

function toArray(value: string | string[] | undefined): string[] {
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
}

function plainHeaders(headers: AxiosResponse['headers']): Record<string, string | string[]> {
    const result: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(headers)) {
        if (value === undefined || value === null) continue;
        result[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
    }
    const cookies = result['set-cookie'];
    if (typeof cookies === 'string') result['set-cookie'] = [cookies];
    return result;
}

function bodyOf(response: AxiosResponse<Buffer>): Buffer {
    return Buffer.isBuffer(response.data) ? response.data : Buffer.from(response.data ?? '');
}

/**
 * The first hop's headers: without framing and hop-by-hop ones (and without `Cookie` when the jar
 * sends cookies per hop); `false` tells axios not to add its defaults: Accept-Encoding, and a
 * form-urlencoded Content-Type on every POST/PUT/PATCH. The core node sends neither unless the flow does.
 */
function hopHeaders(headers: Record<string, string>, cookiesPerHop: boolean): Record<string, string | false> {
    const result: Record<string, string | false> = {};
    let acceptEncoding = false;
    let contentType = false;
    for (const name in headers) {
        const lower = name.toLowerCase();
        if (FRAMING_HEADERS.has(lower) || (cookiesPerHop && lower === 'cookie')) continue;
        if (lower === 'accept-encoding') acceptEncoding = true;
        else if (lower === 'content-type') contentType = true;
        result[name] = headers[name];
    }
    if (!acceptEncoding) result['Accept-Encoding'] = false;
    if (!contentType) result['Content-Type'] = false;
    return result;
}

/** Where a redirect goes: an http(s) URL, or a SERVER_ERROR (thrown, not retried: the request was answered). */
function redirectTarget(location: string, from: Hop, request: HttpRequest): string {
    let target: URL | undefined;
    try {
        target = new URL(location, from.url);
    } catch {
        target = undefined;
    }
    if (!target || !REDIRECT_SCHEMES.has(target.protocol)) {
        const what = target ? `a ${target.protocol} URL` : 'an invalid URL';
        throw new SessionError(
            'SERVER_ERROR',
            `${describeTarget(request.method, request.url)} redirected to ${what}: only http and https redirects are followed.`,
        );
    }
    return target.href;
}

/**
 * The request that follows a redirect, as browsers and the core node make it: 303 (and 301/302
 * after a POST) turns into a body-less GET; a hop to another origin loses every credential. Cookies
 * come from the jar for each hop (`HttpRequest.cookies`).
 */
function nextHop(from: Hop, status: number, url: string, request: HttpRequest): Hop {
    const toGet = (status === 303 && from.method !== 'HEAD') || ((status === 301 || status === 302) && from.method === 'POST');
    const headers = { ...from.headers };
    if (toGet) {
        for (const name of Object.keys(headers)) if (/^content-/i.test(name)) delete headers[name];
    }
    const origin = new URL(request.url).origin;
    const options = { headers };
    if (new URL(url).origin !== origin) stripCredential(options, request.credentialHeaders);
    return { method: toGet ? 'GET' : from.method, url, headers: options.headers, body: toGet ? undefined : from.body };
}

/** A hop to another origin gets neither cookies nor the session's header nor Authorization. */
function stripCredential(options: Record<string, unknown>, names: readonly string[] | undefined): void {
    const headers = options.headers as Record<string, unknown> | undefined;
    if (!headers) return;
    const drop = new Set(['cookie', 'authorization', ...(names ?? []).map((name) => name.toLowerCase())]);
    for (const name of Object.keys(headers)) {
        if (drop.has(name.toLowerCase())) delete headers[name];
    }
}

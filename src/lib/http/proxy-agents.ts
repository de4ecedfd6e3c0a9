import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

/** A core `http proxy` config node, read once when the server's client is built. */
export interface ProxySettings {
    /** `http://host:port` (or `https://`) of the proxy. */
    url: URL;
    /** Hosts reached directly: `host`, `.suffix`, `*.suffix`, `host:port`, `*` for all. */
    noProxy: readonly string[];
    /** `Proxy-Authorization` value, when the proxy needs credentials. */
    authorization?: string;
}

/**
 * The proxy the environment names for targets of `protocol` (`http:` or `https:`), as the core
 * http request node reads it when no proxy node is selected: `<scheme>_proxy`, then `all_proxy`,
 * lower case before upper case; `no_proxy` lists the hosts reached directly. Read once, when a
 * server's client is built; undefined when none is set or the URL is not usable.
 */
export function environmentProxy(protocol: 'http:' | 'https:', env: NodeJS.ProcessEnv = process.env): ProxySettings | undefined {
    const scheme = protocol.slice(0, -1);
    const read = (name: string) => env[name] || env[name.toUpperCase()] || '';
    let text = (read(`${scheme}_proxy`) || read('all_proxy')).trim();
    if (!text) return undefined;
    // A bare host:port takes the target's scheme, as the core node's helper does.
    if (!text.includes('://')) text = `${scheme}://${text}`;
    let url: URL;
    try {
        url = new URL(text);
    } catch {
        return undefined;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    const user = url.username || url.password ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : '';
    url.username = '';
    url.password = '';
    return { url, noProxy: [read('no_proxy')], authorization: user ? `Basic ${Buffer.from(user).toString('base64')}` : undefined };
}

/** Requests that went to a proxy in absolute form: a 407 on them is the proxy's, not the server's. */
const proxiedRequests = new WeakSet<object>();

/**
 * A 407 answer to a request sent through the proxy (plain HTTP), as the error a refused tunnel
 * gives: the proxy refused its credentials and the server never saw the request.
 */
export function proxyRefusalOf(status: number, request: unknown): Error | undefined {
    if (status !== 407 || typeof request !== 'object' || request === null || !proxiedRequests.has(request)) return undefined;
    return proxyRefusal(status);
}

type Callback = (error: Error | null, socket: Duplex) => void;
/** Node's agents call this for every request; it is not in @types/node. */
type AddRequest = (req: http.ClientRequest, options: http.RequestOptions) => void;
const baseAddRequest = (http.Agent.prototype as unknown as { addRequest: AddRequest }).addRequest;

/** Whether `hostname:port` is reached without the proxy, read as the core http request node reads `noproxy`. */
export function bypassesProxy(noProxy: readonly string[], hostname: string, port: number): boolean {
    const host = unbracket(hostname.toLowerCase());
    for (const entry of noProxy.flatMap((item) => item.toLowerCase().split(/[\s,]+/))) {
        if (!entry) continue;
        if (entry === '*') return true;
        const withPort = /^(.+):(\d+)$/.exec(entry);
        if (withPort && Number(withPort[2]) !== port) continue;
        const pattern = unbracket(withPort ? withPort[1] : entry);
        const suffix = pattern.startsWith('*') ? pattern.slice(1) : pattern;
        if (suffix.startsWith('.') ? host.endsWith(suffix) : host === pattern) return true;
    }
    return false;
}

function unbracket(host: string): string {
    return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function hostPort(host: string, port: number): string {
    return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}

function viaProxy(proxy: ProxySettings, options: http.RequestOptions): boolean {
    return !bypassesProxy(proxy.noProxy, String(options.host ?? 'localhost'), Number(options.port));
}

function proxyPort(proxy: ProxySettings): number {
    return Number(proxy.url.port) || (proxy.url.protocol === 'https:' ? 443 : 80);
}

/** A socket to the proxy itself (TLS when the proxy URL is https). */
function connectToProxy(proxy: ProxySettings): net.Socket {
    const host = unbracket(proxy.url.hostname);
    const port = proxyPort(proxy);
    return proxy.url.protocol === 'https:' ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host }) : net.connect({ host, port });
}

/**
 * Plain-HTTP targets through the proxy: requests go to the proxy in absolute form
 * (`GET http://host/path`), which every proxy accepts (many allow CONNECT to port 443 only).
 * One instance per server.
 */
export class ProxyHttpAgent extends http.Agent {
    constructor(
        private readonly proxy: ProxySettings,
        options: http.AgentOptions,
    ) {
        super(options);
    }

    /** Before the request line is written: make it absolute and add the proxy's credentials. */
    addRequest(req: http.ClientRequest, options: http.RequestOptions): void {
        if (viaProxy(this.proxy, options)) {
            req.path = `http://${hostPort(String(options.host), Number(options.port))}${req.path}`;
            proxiedRequests.add(req);
            if (this.proxy.authorization) req.setHeader('Proxy-Authorization', this.proxy.authorization);
        }
        baseAddRequest.call(this, req, options);
    }

    override createConnection(options: http.ClientRequestArgs, callback?: Callback): Duplex | null | undefined {
        if (!viaProxy(this.proxy, options)) return super.createConnection(options, callback);
        return markProxyErrors(connectToProxy(this.proxy));
    }
}

/**
 * HTTPS targets through the proxy: a CONNECT tunnel, then TLS to the target over it, so the
 * proxy never sees the session cookie. Keep-alive pools the tunnelled sockets like direct ones.
 */
export class ProxyHttpsAgent extends https.Agent {
    /** CONNECT requests not answered yet: ended by `destroy()` so a redeploy leaves nothing behind. */
    private readonly opening = new Set<http.ClientRequest>();

    constructor(
        private readonly proxy: ProxySettings,
        options: https.AgentOptions,
        /** A proxy that does not answer CONNECT within this gives up (the request's own deadline may be shorter). */
        private readonly connectTimeoutMs: number,
    ) {
        super(options);
    }

    override createConnection(options: http.ClientRequestArgs, callback?: Callback): Duplex | null | undefined {
        if (!viaProxy(this.proxy, options)) return super.createConnection(options, callback);
        const done = callback ?? (() => undefined);
        this.openTunnel(String(options.host), Number(options.port)).then(
            (socket) => done(null, tls.connect({ ...(options as tls.ConnectionOptions), socket })),
            (error: Error) => done(error, undefined as unknown as Duplex),
        );
        return undefined;
    }

    override destroy(): void {
        for (const request of this.opening) request.destroy();
        this.opening.clear();
        super.destroy();
    }

    private openTunnel(host: string, port: number): Promise<Duplex> {
        const target = hostPort(host, port);
        const headers: Record<string, string> = { Host: target };
        if (this.proxy.authorization) headers['Proxy-Authorization'] = this.proxy.authorization;
        const request = (this.proxy.url.protocol === 'https:' ? https : http).request({
            host: unbracket(this.proxy.url.hostname),
            port: proxyPort(this.proxy),
            method: 'CONNECT',
            path: target,
            headers,
            agent: false,
        });
        this.opening.add(request);
        // Bounded: a proxy may accept the connection and never answer the CONNECT.
        let timer: NodeJS.Timeout | undefined;
        return new Promise<Duplex>((resolve, reject) => {
            request.once('connect', (response: http.IncomingMessage, socket: Duplex, head: Buffer) => {
                if (response.statusCode === 200) {
                    if (head.length) socket.unshift(head);
                    return resolve(socket);
                }
                socket.destroy();
                reject(proxyRefusal(response.statusCode));
            });
            // A proxy may answer a refused CONNECT as an ordinary response.
            request.once('response', (response: http.IncomingMessage) => {
                response.resume();
                reject(proxyRefusal(response.statusCode));
            });
            request.once('error', (error: Error) => reject(Object.assign(error, { viaProxy: true })));
            timer = setTimeout(() => request.destroy(Object.assign(new Error('proxy timeout'), { code: 'ETIMEDOUT' })), this.connectTimeoutMs);
            request.end();
        }).finally(() => {
            clearTimeout(timer);
            this.opening.delete(request);
        });
    }
}

/** Errors on a socket to the proxy name the proxy in the user's message (see transport-errors). */
function markProxyErrors(socket: net.Socket): net.Socket {
    socket.once('error', (error: Error) => Object.assign(error, { viaProxy: true }));
    return socket;
}

/** The proxy answered CONNECT with something other than 200 (e.g. 407: wrong proxy credentials). */
function proxyRefusal(status: number | undefined): Error {
    return Object.assign(new Error(`The proxy refused the tunnel (HTTP ${status ?? '?'})`), { code: 'ERR_PROXY_TUNNEL', proxyStatus: status, viaProxy: true });
}

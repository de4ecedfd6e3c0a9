/**
 * A loopback backend for the parity, security and fault tests. It speaks just enough SmartServer
 * for our nodes (login sets `cmsSID`, `sessionTimeout`, logout, 401 without a live cookie) and has
 * routes that show what a client sent or misbehave on purpose. Also a tiny forward proxy
 * (absolute-form HTTP and CONNECT tunnels, optional Basic proxy auth). Node core modules only.
 *
 * Routes (all but login need a live session unless the server is `open`):
 *   /echo...              method, path, headers (and their spelling), body (base64), multipart parts
 *   /status/:code         that status
 *   /json                 {"ok":true} with an `X-Backend` header
 *   /redirect/same/:n     n same-origin hops, then /redirect/echo (an echo: the core node scopes
 *                         msg.cookies to the request's directory, so hops stay under /redirect/)
 *   /redirect/cookie      one hop that sets `hop=1`, then /redirect/echo
 *   /redirect/away?to=URL a hop to URL (another origin)
 *   /set-cookie           sets two cookies and renews the session cookie
 *   /bad-json  /empty  /no-content   invalid JSON, an empty 200, a 204
 *   /slow?ms=N  /hang     late, never
 *   /big?bytes=N[&chunked=1]   N bytes
 *   /truncated            Content-Length 100, 10 bytes sent, connection closed
 *   /malformed            not HTTP at all
 *   /xml-bomb             a "billion laughs" document
 */
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

import { cookieValues } from '../simulators/loopback-server';

type Json = (status: number, value?: unknown, headers?: http.OutgoingHttpHeaders) => void;

export interface ParityRequest {
    method: string;
    path: string;
    cookie: string;
    session: boolean;
}

export interface MultipartPart {
    name: string | undefined;
    filename: string | undefined;
    contentType: string | undefined;
    /** base64 */
    value: string;
}

export const SESSION_COOKIE = 'cmsSID';
const SESSION_TTL_MS = 86400000;
export const USERS: Record<string, string> = { admin: 'Passw0rd!Passw0rd' };

/** A document whose entities would expand to 10^9 "lol"s (about 3 GB) if a parser expanded them. */
export function xmlBomb(): string {
    const lines = ['<?xml version="1.0"?>', '<!DOCTYPE lolz [', ' <!ENTITY lol "lol">'];
    for (let i = 1; i <= 9; i++) lines.push(` <!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
    lines.push(']>', '<lolz>&lol9;</lolz>');
    return lines.join('\n');
}

/** Parts of a multipart/form-data body: name, filename, content type and value (base64). */
function multipartParts(contentType: string | undefined, body: Buffer): MultipartPart[] | undefined {
    const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType || '');
    if (!match) return undefined;
    const delimiter = Buffer.from(`--${match[1] || match[2]}`);
    const parts: MultipartPart[] = [];
    let start = body.indexOf(delimiter);
    while (start >= 0) {
        const next = body.indexOf(delimiter, start + delimiter.length);
        if (next < 0) break;
        const chunk = body.subarray(start + delimiter.length + 2, next - 2);
        const split = chunk.indexOf('\r\n\r\n');
        const head = chunk.subarray(0, split).toString();
        const disposition = /content-disposition:([^\r\n]*)/i.exec(head)?.[1] ?? '';
        const type = /content-type:\s*([^\r\n]*)/i.exec(head)?.[1];
        parts.push({
            name: /\bname="([^"]*)"/.exec(disposition)?.[1],
            filename: /filename="([^"]*)"/.exec(disposition)?.[1],
            contentType: type,
            value: chunk.subarray(split + 4).toString('base64'),
        });
        start = next;
    }
    return parts;
}

export class ParityServer {
    readonly tls: https.ServerOptions | null;
    readonly open: boolean;
    /** session id → user */
    readonly sessions = new Map<string, string>();
    /** Every session id ever issued: the secrets tests look for. */
    readonly issued = new Set<string>();
    private readonly faults: { status: number; headers: http.OutgoingHttpHeaders }[] = [];
    private readonly sockets = new Set<net.Socket>();
    readonly stats: { requests: ParityRequest[]; logins: number } = { requests: [], logins: 0 };
    port = 0;
    server: http.Server | null = null;

    /**
     * `tls`: https.createServer options (key, cert, ca, requestCert);
     * `open`: serve every route without a session (a foreign origin).
     */
    constructor({ tls = null, open = false }: { tls?: https.ServerOptions | null; open?: boolean } = {}) {
        this.tls = tls;
        this.open = open;
    }

    get origin(): string {
        return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
    }

    async start(port = this.port): Promise<this> {
        const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.onRequest(req, res);
        const server: http.Server = this.tls ? https.createServer(this.tls, handler) : http.createServer(handler);
        this.server = server;
        server.on('connection', (socket: net.Socket) => {
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
        // A client that fails the TLS handshake (no client certificate) must not crash the test.
        server.on('tlsClientError', () => {});
        await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(port, '127.0.0.1', resolve);
        });
        this.port = (server.address() as AddressInfo).port;
        return this;
    }

    async stop(): Promise<void> {
        const { server } = this;
        if (!server) return;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of this.sockets) socket.destroy();
        this.sockets.clear();
        this.server = null;
        await closed;
    }

    /** A restart: every connection dropped, every session forgotten, the same port again. */
    async restart(): Promise<void> {
        await this.stop();
        this.sessions.clear();
        await this.start(this.port);
    }

    /** A live session id without a login exchange, for the core node's msg.cookies. */
    issueSession(user = 'admin'): string {
        const sid = crypto.randomBytes(16).toString('hex');
        this.sessions.set(sid, user);
        this.issued.add(sid);
        return sid;
    }

    expireSessions(): void {
        this.sessions.clear();
    }

    /** The next `count` session-checked requests are answered with `status`. */
    failNext(status: number, count = 1, headers: http.OutgoingHttpHeaders = {}): void {
        for (let i = 0; i < count; i++) this.faults.push({ status, headers });
    }

    requestsTo(prefix: string): ParityRequest[] {
        return this.stats.requests.filter((r) => r.path.startsWith(prefix));
    }

    private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
        req.on('error', () => {});
        res.on('error', () => {});
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => this.route(req, res, Buffer.concat(chunks)));
    }

    private route(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
        const url = new URL(req.url ?? '/', 'http://backend.invalid');
        const path = url.pathname;
        const sid = cookieValues(req.headers.cookie, SESSION_COOKIE).find((value) => this.sessions.has(value));
        this.stats.requests.push({ method: req.method ?? 'GET', path, cookie: req.headers.cookie || '', session: Boolean(sid) });
        const json: Json = (status, value, headers = {}) => {
            res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
            res.end(value === undefined ? undefined : JSON.stringify(value));
        };
        if (path === '/iap/auth/login' && req.method === 'POST') return this.login(body, json);
        if (!sid && !this.open) return json(401, { message: 'Unauthorized' });
        if (path === '/iap/auth/sessionTimeout') return json(200, SESSION_TTL_MS);
        if (path === '/iap/auth/logout') {
            if (sid) this.sessions.delete(sid);
            return json(204);
        }
        const fault = this.faults.shift();
        if (fault) {
            return json(fault.status, { message: http.STATUS_CODES[fault.status] }, fault.headers);
        }
        return this.testRoute(req, res, { url, path, body, sid, json });
    }

    private login(body: Buffer, json: Json): void {
        this.stats.logins++;
        let credentials: { username?: string; password?: string } | null;
        try {
            credentials = JSON.parse(body.toString()) as typeof credentials;
        } catch {
            return json(400, { message: 'Invalid request' });
        }
        if (!credentials || typeof credentials.username !== 'string' || USERS[credentials.username] !== credentials.password) {
            return json(401, { message: 'Wrong Username or Password' });
        }
        const sid = this.issueSession(credentials.username);
        return json(200, { id: 1, userName: credentials.username }, { 'Set-Cookie': `${SESSION_COOKIE}=${sid}; Path=/; HttpOnly` });
    }

    private testRoute(
        req: http.IncomingMessage,
        res: http.ServerResponse,
        { url, path, body, sid, json }: { url: URL; path: string; body: Buffer; sid: string | undefined; json: Json },
    ): void {
        const query = url.searchParams;
        if (path.startsWith('/echo') || path === '/redirect/echo') {
            const names = req.rawHeaders.filter((_value, index) => index % 2 === 0);
            return json(200, {
                method: req.method,
                path: req.url,
                headers: req.headers,
                headerNames: names,
                body: body.toString('base64'),
                parts: multipartParts(req.headers['content-type'], body),
            });
        }
        const status = /^\/status\/(\d{3})$/.exec(path);
        if (status) return json(Number(status[1]), Number(status[1]) === 204 ? undefined : { status: Number(status[1]) });
        if (path === '/json') return json(200, { ok: true }, { 'X-Backend': 'parity' });
        const same = /^\/redirect\/same\/(\d+)$/.exec(path);
        if (same) return this.redirect(res, Number(same[1]) > 0 ? `/redirect/same/${Number(same[1]) - 1}` : '/redirect/echo');
        if (path === '/redirect/cookie') return this.redirect(res, '/redirect/echo', { 'Set-Cookie': 'hop=1; Path=/' });
        if (path === '/redirect/away') return this.redirect(res, query.get('to') ?? '/');
        if (path === '/set-cookie') {
            return json(
                200,
                { ok: true },
                {
                    'Set-Cookie': ['a=1; Path=/; HttpOnly', 'b=x%20y; Max-Age=60; SameSite=Lax', `${SESSION_COOKIE}=${sid || 'none'}; Path=/; HttpOnly`],
                },
            );
        }
        if (path === '/bad-json') return this.text(res, 200, '{"a":', 'application/json');
        if (path === '/empty') return this.text(res, 200, '', 'application/json');
        if (path === '/no-content') return json(204);
        if (path === '/slow') {
            const timer = setTimeout(() => json(200, { slow: true }), Number(query.get('ms')) || 1000);
            res.on('close', () => clearTimeout(timer));
            return;
        }
        if (path === '/hang') return;
        if (path === '/big') {
            const data = Buffer.alloc(Number(query.get('bytes')) || 0, 'x');
            res.writeHead(200, query.get('chunked') ? { 'Content-Type': 'text/plain' } : { 'Content-Type': 'text/plain', 'Content-Length': data.length });
            res.end(data);
            return;
        }
        if (path === '/truncated') {
            res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '100' });
            res.write('0123456789');
            setTimeout(() => res.socket?.destroy(), 20);
            return;
        }
        if (path === '/malformed') {
            res.socket?.end('NOT-HTTP garbage\r\n\r\n');
            return;
        }
        if (path === '/xml-bomb') return this.text(res, 200, xmlBomb(), 'application/xml');
        return json(404, { message: 'Not found' });
    }

    private redirect(res: http.ServerResponse, location: string, headers: http.OutgoingHttpHeaders = {}): void {
        res.writeHead(302, { Location: location, ...headers });
        res.end();
    }

    private text(res: http.ServerResponse, status: number, body: string, type: string): void {
        res.writeHead(status, { 'Content-Type': type });
        res.end(body);
    }
}

/**
 * A forward proxy: absolute-form requests for http targets, CONNECT tunnels for https ones.
 * With `username`/`password` it answers 407 to anyone without the right Proxy-Authorization.
 * `seen` lists what went through: `{ kind: 'http' | 'connect', target, authorized }`.
 */
export class TestProxy {
    private expected: string | null = null;
    readonly seen: { kind: 'http' | 'connect'; target: string; authorized: boolean }[] = [];
    private readonly sockets = new Set<net.Socket>();
    private server: http.Server | null = null;
    port = 0;

    constructor(credentials: { username?: string; password?: string } = {}) {
        this.requireCredentials(credentials);
    }

    /** From now on, answer 407 to anyone without these credentials (none: let everyone through). */
    requireCredentials({ username, password }: { username?: string; password?: string } = {}): void {
        this.expected = username || password ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` : null;
    }

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    async start(): Promise<this> {
        const server = http.createServer((req, res) => this.forward(req, res));
        this.server = server;
        server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.tunnel(req, socket, head));
        server.on('connection', (socket: net.Socket) => {
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        this.port = (server.address() as AddressInfo).port;
        return this;
    }

    async stop(): Promise<void> {
        const { server } = this;
        if (!server) return;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of this.sockets) socket.destroy();
        await closed;
    }

    private authorized(req: http.IncomingMessage): boolean {
        return !this.expected || req.headers['proxy-authorization'] === this.expected;
    }

    private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
        const ok = this.authorized(req);
        this.seen.push({ kind: 'http', target: req.url ?? '', authorized: ok });
        req.on('error', () => {});
        if (!ok) {
            res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="test"' });
            res.end();
            return;
        }
        const target = new URL(req.url ?? '');
        const headers = { ...req.headers };
        delete headers['proxy-authorization'];
        const upstream = http.request(
            { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers },
            (reply) => {
                res.writeHead(reply.statusCode ?? 502, reply.rawHeaders);
                reply.pipe(res);
            },
        );
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
    }

    private tunnel(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
        const ok = this.authorized(req);
        this.seen.push({ kind: 'connect', target: req.url ?? '', authorized: ok });
        socket.on('error', () => {});
        if (!ok) {
            socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
            return;
        }
        const [host, port] = (req.url ?? '').split(':');
        const upstream = net.connect(Number(port), host, () => {
            socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
            if (head.length) upstream.write(head);
            upstream.pipe(socket);
            socket.pipe(upstream);
        });
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
    }
}

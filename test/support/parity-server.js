'use strict';
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
const crypto = require('node:crypto');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');

const SESSION_COOKIE = 'cmsSID';
const SESSION_TTL_MS = 86400000;
const USERS = { admin: 'Passw0rd!Passw0rd' };

/** A document whose entities would expand to 10^9 "lol"s (about 3 GB) if a parser expanded them. */
function xmlBomb() {
    const lines = ['<?xml version="1.0"?>', '<!DOCTYPE lolz [', ' <!ENTITY lol "lol">'];
    for (let i = 1; i <= 9; i++) lines.push(` <!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
    lines.push(']>', '<lolz>&lol9;</lolz>');
    return lines.join('\n');
}

function cookieValues(header, name) {
    return String(header || '').split(';').map((part) => part.trim()).filter((part) => part.startsWith(`${name}=`)).map((part) => part.slice(name.length + 1));
}

/** Parts of a multipart/form-data body: name, filename, content type and value (base64). */
function multipartParts(contentType, body) {
    const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType || '');
    if (!match) return undefined;
    const delimiter = Buffer.from(`--${match[1] || match[2]}`);
    const parts = [];
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

class ParityServer {
    /**
     * @param {object} [options]
     * @param {object} [options.tls]  https.createServer options (key, cert, ca, requestCert)
     * @param {boolean} [options.open] serve every route without a session (a foreign origin)
     */
    constructor({ tls = null, open = false } = {}) {
        this.tls = tls;
        this.open = open;
        this.sessions = new Map();
        /** Every session id ever issued: the secrets tests look for. */
        this.issued = new Set();
        this.faults = [];
        this.sockets = new Set();
        this.stats = { requests: [], logins: 0 };
        this.port = 0;
    }

    get origin() {
        return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
    }

    async start(port = this.port) {
        const handler = (req, res) => this.onRequest(req, res);
        this.server = this.tls ? https.createServer(this.tls, handler) : http.createServer(handler);
        this.server.on('connection', (socket) => {
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
        // A client that fails the TLS handshake (no client certificate) must not crash the test.
        this.server.on('tlsClientError', () => {});
        await new Promise((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(port, '127.0.0.1', resolve);
        });
        this.port = this.server.address().port;
        return this;
    }

    async stop() {
        if (!this.server) return;
        const closed = new Promise((resolve) => this.server.close(resolve));
        for (const socket of this.sockets) socket.destroy();
        this.sockets.clear();
        this.server = null;
        await closed;
    }

    /** A restart: every connection dropped, every session forgotten, the same port again. */
    async restart() {
        await this.stop();
        this.sessions.clear();
        await this.start(this.port);
    }

    /** A live session id without a login exchange, for the core node's msg.cookies. */
    issueSession(user = 'admin') {
        const sid = crypto.randomBytes(16).toString('hex');
        this.sessions.set(sid, user);
        this.issued.add(sid);
        return sid;
    }

    expireSessions() {
        this.sessions.clear();
    }

    /** The next `count` session-checked requests are answered with `status`. */
    failNext(status, count = 1, headers = {}) {
        for (let i = 0; i < count; i++) this.faults.push({ status, headers });
    }

    requestsTo(prefix) {
        return this.stats.requests.filter((r) => r.path.startsWith(prefix));
    }

    onRequest(req, res) {
        req.on('error', () => {});
        res.on('error', () => {});
        const chunks = [];
        req.on('data', (chunk) => chunks.push(chunk));
        req.on('end', () => this.route(req, res, Buffer.concat(chunks)));
    }

    route(req, res, body) {
        const url = new URL(req.url, 'http://backend.invalid');
        const path = url.pathname;
        const sid = cookieValues(req.headers.cookie, SESSION_COOKIE).find((value) => this.sessions.has(value));
        this.stats.requests.push({ method: req.method, path, cookie: req.headers.cookie || '', session: Boolean(sid) });
        const json = (status, value, headers = {}) => {
            res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
            res.end(value === undefined ? undefined : JSON.stringify(value));
        };
        if (path === '/iap/auth/login' && req.method === 'POST') return this.login(body, json);
        if (!sid && !this.open) return json(401, { message: 'Unauthorized' });
        if (path === '/iap/auth/sessionTimeout') return json(200, SESSION_TTL_MS);
        if (path === '/iap/auth/logout') {
            this.sessions.delete(sid);
            return json(204);
        }
        if (this.faults.length) {
            const fault = this.faults.shift();
            return json(fault.status, { message: http.STATUS_CODES[fault.status] }, fault.headers);
        }
        return this.testRoute(req, res, { url, path, body, sid, json });
    }

    login(body, json) {
        this.stats.logins++;
        let credentials;
        try {
            credentials = JSON.parse(body.toString());
        } catch {
            return json(400, { message: 'Invalid request' });
        }
        if (!credentials || USERS[credentials.username] !== credentials.password) return json(401, { message: 'Wrong Username or Password' });
        const sid = this.issueSession(credentials.username);
        return json(200, { id: 1, userName: credentials.username }, { 'Set-Cookie': `${SESSION_COOKIE}=${sid}; Path=/; HttpOnly` });
    }

    testRoute(req, res, { url, path, body, sid, json }) {
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
        if (path === '/redirect/away') return this.redirect(res, query.get('to'));
        if (path === '/set-cookie') {
            return json(200, { ok: true }, {
                'Set-Cookie': ['a=1; Path=/; HttpOnly', 'b=x%20y; Max-Age=60; SameSite=Lax', `${SESSION_COOKIE}=${sid || 'none'}; Path=/; HttpOnly`],
            });
        }
        if (path === '/bad-json') return this.text(res, 200, '{"a":', 'application/json');
        if (path === '/empty') return this.text(res, 200, '', 'application/json');
        if (path === '/no-content') return json(204);
        if (path === '/slow') {
            const timer = setTimeout(() => json(200, { slow: true }), Number(query.get('ms')) || 1000);
            res.on('close', () => clearTimeout(timer));
            return undefined;
        }
        if (path === '/hang') return undefined;
        if (path === '/big') {
            const data = Buffer.alloc(Number(query.get('bytes')) || 0, 'x');
            res.writeHead(200, query.get('chunked') ? { 'Content-Type': 'text/plain' } : { 'Content-Type': 'text/plain', 'Content-Length': data.length });
            return res.end(data);
        }
        if (path === '/truncated') {
            res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '100' });
            res.write('0123456789');
            return setTimeout(() => res.socket && res.socket.destroy(), 20);
        }
        if (path === '/malformed') return res.socket.end('NOT-HTTP garbage\r\n\r\n');
        if (path === '/xml-bomb') return this.text(res, 200, xmlBomb(), 'application/xml');
        return json(404, { message: 'Not found' });
    }

    redirect(res, location, headers = {}) {
        res.writeHead(302, { Location: location, ...headers });
        res.end();
    }

    text(res, status, body, type) {
        res.writeHead(status, { 'Content-Type': type });
        res.end(body);
    }
}

/**
 * A forward proxy: absolute-form requests for http targets, CONNECT tunnels for https ones.
 * With `username`/`password` it answers 407 to anyone without the right Proxy-Authorization.
 * `seen` lists what went through: `{ kind: 'http' | 'connect', target, authorized }`.
 */
class TestProxy {
    constructor({ username, password } = {}) {
        this.expected = username || password ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` : null;
        this.seen = [];
        this.sockets = new Set();
    }

    get url() {
        return `http://127.0.0.1:${this.port}`;
    }

    async start() {
        this.server = http.createServer((req, res) => this.forward(req, res));
        this.server.on('connect', (req, socket, head) => this.tunnel(req, socket, head));
        this.server.on('connection', (socket) => {
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
        await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
        this.port = this.server.address().port;
        return this;
    }

    async stop() {
        const closed = new Promise((resolve) => this.server.close(resolve));
        for (const socket of this.sockets) socket.destroy();
        await closed;
    }

    authorized(req) {
        return !this.expected || req.headers['proxy-authorization'] === this.expected;
    }

    forward(req, res) {
        const ok = this.authorized(req);
        this.seen.push({ kind: 'http', target: req.url, authorized: ok });
        req.on('error', () => {});
        if (!ok) {
            res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="test"' });
            return res.end();
        }
        const target = new URL(req.url);
        const headers = { ...req.headers };
        delete headers['proxy-authorization'];
        const upstream = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers }, (reply) => {
            res.writeHead(reply.statusCode, reply.rawHeaders);
            reply.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
    }

    tunnel(req, socket, head) {
        const ok = this.authorized(req);
        this.seen.push({ kind: 'connect', target: req.url, authorized: ok });
        socket.on('error', () => {});
        if (!ok) return socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
        const [host, port] = req.url.split(':');
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

module.exports = { ParityServer, TestProxy, USERS, SESSION_COOKIE, xmlBomb };

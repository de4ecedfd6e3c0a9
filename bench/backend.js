'use strict';
/**
 * The benchmark's backend: just enough SmartServer IAP/REST over plain HTTP on 127.0.0.1, in its
 * own process (forked by bench/bench.js) so its CPU is not the client's.
 *
 *   POST {base}/iap/auth/login        JSON {username, password} → 200, Set-Cookie cmsSID=<random>
 *   GET  {base}/iap/auth/sessionTimeout  with the cookie → the session lifetime in ms
 *   PUT  {base}/iap/auth/logout       with the cookie → 204
 *   GET  {base}/iap/devs/...           with a live cmsSID → 200 and a small JSON value; else 401
 *
 * `{base}` is `/cms` or empty, as on a real SmartServer. Bench-only routes (never under the base):
 *   GET /_bench/stats → counters and the process's own CPU time (µs).
 * Controls arrive over IPC: `{ cmd: 'config', loginDelayMs, expireAfter }` (`expireAfter` = n: every
 * session ends right after the n-th data request from now is answered) and `{ cmd: 'expire' }`.
 */
const crypto = require('node:crypto');
const http = require('node:http');

const USER = { username: 'admin', password: 'Passw0rd!Passw0rd' };
const SESSION_TTL_MS = 86400000;
const VALUE = Buffer.from(JSON.stringify({ value: 230.1, unit: 'V', device: '17q2d9x.5', path: 'block/1/Volts_1' }));
const UNAUTHORIZED = Buffer.from(JSON.stringify({ message: 'Unauthorized' }));

const sessions = new Set();
const stats = { requests: 0, dataOk: 0, unauthorized: 0, logins: 0, loginAttempts: 0, logouts: 0, sessionTimeoutCalls: 0, connections: 0 };
let loginDelayMs = 0;
let expireAfter = 0;

function json(res, status, body, headers = {}) {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length, ...headers });
    res.end(body);
}

function sessionOf(req) {
    const header = req.headers.cookie;
    if (!header) return null;
    for (const part of header.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0 && part.slice(0, eq).trim() === 'cmsSID') {
            const sid = part.slice(eq + 1).trim();
            if (sessions.has(sid)) return sid;
        }
    }
    return null;
}

function login(req, res, body) {
    stats.loginAttempts++;
    let creds;
    try {
        creds = JSON.parse(body);
    } catch {
        creds = null;
    }
    if (!creds || creds.username !== USER.username || creds.password !== USER.password) {
        return json(res, 401, Buffer.from(JSON.stringify({ message: 'Wrong Username or Password' })));
    }
    const answer = () => {
        const sid = crypto.randomBytes(24).toString('hex');
        sessions.add(sid);
        stats.logins++;
        json(res, 200, Buffer.from(JSON.stringify({ id: 1, userName: USER.username })), { 'Set-Cookie': `cmsSID=${sid}; Path=/; HttpOnly` });
    };
    if (loginDelayMs > 0) setTimeout(answer, loginDelayMs);
    else answer();
}

function route(req, res, body) {
    const url = req.url;
    if (url === '/_bench/stats') {
        const cpu = process.cpuUsage();
        return json(res, 200, Buffer.from(JSON.stringify({ ...stats, liveSessions: sessions.size, cpuUs: cpu.user + cpu.system })));
    }
    stats.requests++;
    const path = url.startsWith('/cms/') ? url.slice(4) : url;
    if (path === '/iap/auth/login' && req.method === 'POST') return login(req, res, body);
    const sid = sessionOf(req);
    if (path === '/iap/auth/sessionTimeout') {
        stats.sessionTimeoutCalls++;
        return sid ? json(res, 200, Buffer.from(String(SESSION_TTL_MS))) : json(res, 401, UNAUTHORIZED);
    }
    if (path === '/iap/auth/logout') {
        if (!sid) return json(res, 401, UNAUTHORIZED);
        sessions.delete(sid);
        stats.logouts++;
        res.writeHead(204);
        return res.end();
    }
    if (path.startsWith('/iap/devs')) {
        if (!sid) {
            stats.unauthorized++;
            return json(res, 401, UNAUTHORIZED);
        }
        stats.dataOk++;
        json(res, 200, VALUE);
        if (expireAfter > 0 && --expireAfter === 0) sessions.clear();
        return undefined;
    }
    return json(res, 404, Buffer.from('{"message":"Not found"}'));
}

const server = http.createServer((req, res) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
        // No body expected: answer without waiting for 'end' when nothing is coming.
        req.resume();
        return route(req, res, '');
    }
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => route(req, res, Buffer.concat(chunks).toString('utf8')));
    return undefined;
});
server.keepAliveTimeout = 60000;
server.on('connection', () => stats.connections++);

process.on('message', (message) => {
    if (message.cmd === 'config') {
        if (message.loginDelayMs !== undefined) loginDelayMs = message.loginDelayMs;
        if (message.expireAfter !== undefined) expireAfter = message.expireAfter;
    } else if (message.cmd === 'expire') {
        sessions.clear();
    }
    process.send({ ack: message.cmd });
});
process.on('disconnect', () => process.exit(0));

// A deep backlog: the cold-start and expiry checks open hundreds of connections at once.
server.listen({ port: Number(process.argv[2] || 0), host: '127.0.0.1', backlog: 2048 }, () => {
    const { port } = server.address();
    if (process.send) process.send({ ready: true, port });
    else console.log(`bench backend on http://127.0.0.1:${port}`);
});

'use strict';

/**
 * The server plumbing every vendor simulator shares, so each simulator file holds only its vendor
 * behaviour: an HTTP or HTTPS listener (test certificate), a stop() that ends it at once, delayed
 * replies that stop() cancels, bounded request bodies and replies that tolerate a vanished client.
 * Only Node core modules.
 */

const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');
const path = require('node:path');

const TLS_DIR = path.join(__dirname, '..', 'fixtures', 'tls');

/** Bound on request bodies, so a runaway client cannot eat the test process's memory. */
const MAX_BODY_BYTES = 1024 * 1024;

/** One listener with the sockets and timers that stop() must end, so no test waits on a leftover. */
class LoopbackServer {
    constructor() {
        /** The listening server, or null when not started (or stopped). */
        this.server = null;
        this._sockets = new Set();
        this._timers = new Set();
    }

    /**
     * Listens on `host`:`port` (0: any free port), over TLS with test/fixtures/tls/server.crt when
     * `tls`, and resolves `{ server, port, origin }` once listening (rejects if it cannot listen).
     */
    async start({ tls, host, port }, handler) {
        const onRequest = (req, res) => {
            req.on('error', () => {}); // a client abort must not crash the test process
            res.on('error', () => {});
            handler(req, res);
        };
        const server = tls
            ? https.createServer({
                cert: fs.readFileSync(path.join(TLS_DIR, 'server.crt')),
                key: fs.readFileSync(path.join(TLS_DIR, 'server.key')),
            }, onRequest)
            : http.createServer(onRequest);
        // Track raw sockets so stop() can close keep-alive and hung connections at once:
        // server.close() alone waits for them.
        server.on('connection', (socket) => {
            this._sockets.add(socket);
            socket.on('close', () => this._sockets.delete(socket));
        });
        await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(port, host, () => {
                server.off('error', reject);
                resolve();
            });
        });
        this.server = server;
        const bound = server.address().port;
        const urlHost = host.includes(':') ? `[${host}]` : host; // IPv6 literals need brackets in a URL
        return { server, port: bound, origin: `${tls ? 'https' : 'http'}://${urlHost}:${bound}` };
    }

    /** Drops pending delayed replies, closes the listener and destroys every socket; no-op when stopped. */
    async stop() {
        const { server } = this;
        if (!server) return;
        this.server = null;
        for (const timer of this._timers) clearTimeout(timer);
        this._timers.clear();
        const closed = new Promise((resolve) => server.close(() => resolve()));
        for (const socket of this._sockets) socket.destroy();
        this._sockets.clear();
        await closed;
    }

    /** Runs `fn` after `delayMs` (a delayed reply) unless stop() comes first. */
    later(delayMs, fn) {
        const timer = setTimeout(() => {
            this._timers.delete(timer);
            fn();
        }, delayMs);
        this._timers.add(timer);
    }
}

/**
 * Reads the whole request body and calls `done(body)`, or `done(null)` when it is over `limit`
 * bytes. Past the limit the rest is still read (and dropped) so the client gets a clean reply.
 */
function readBody(req, limit, done) {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
        size += chunk.length;
        if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => done(size > limit ? null : Buffer.concat(chunks)));
}

/** Writes a reply, unless the client is gone or already answered (a hung or late-delayed request). */
function send(res, status, body, headers = {}) {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, headers);
    res.end(body);
}

/**
 * What every vendor simulator shares: one loopback server, `start()`/`stop()`, and the `port` and
 * `origin` it listens on. A subclass sets `this._options` ({ tls, host, port }) and `_onRequest`.
 */
class Simulator {
    constructor(name) {
        this._name = name;
        this._loopback = new LoopbackServer();
        this.port = null;
        this.origin = null;
    }

    async start() {
        if (this._loopback.server) throw new Error(`${this._name} simulator already started`);
        const { port, origin } = await this._loopback.start(this._options, (req, res) => this._onRequest(req, res));
        this.port = port;
        this.origin = origin;
        return this;
    }

    async stop() {
        await this._loopback.stop();
    }
}

const COMMON_FLAGS = {
    '--port': ['port', Number],
    '--host': ['host', String],
};

/**
 * The command line every simulator offers: `node test/simulators/<vendor>.js [--port N] [--host H]
 * [--http | --tls] [vendor flags]` runs one until SIGINT/SIGTERM and prints the URL to use.
 * `valueFlags` maps a vendor's own flags to an option and a parser, e.g. `{ '--root': ['root', String] }`.
 */
function runCli(createSimulator, printUrl, valueFlags = {}) {
    const flags = { ...COMMON_FLAGS, ...valueFlags };
    const options = {};
    const argv = process.argv.slice(2);
    const start = async () => {
        for (let i = 0; i < argv.length; i++) {
            const arg = argv[i];
            if (arg === '--http' || arg === '--tls') options.tls = arg === '--tls';
            else if (flags[arg]) options[flags[arg][0]] = flags[arg][1](argv[++i]);
            else throw new Error(`Unknown argument: ${arg}`);
        }
        for (const [name, value] of Object.entries(options)) {
            if (typeof value === 'number' && !(Number.isInteger(value) && value >= 0)) throw new Error(`${name} needs a whole number`);
        }
        if (options.port > 65535) throw new Error('--port needs a number from 0 to 65535');
        const simulator = createSimulator(options);
        await simulator.start();
        process.stdout.write(`${printUrl(simulator)}\n`);
        const shutdown = () => simulator.stop().then(() => process.exit(0), () => process.exit(1));
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
    };
    start().catch((err) => {
        process.stderr.write(`${err.message}\n`);
        process.exit(1);
    });
}

module.exports = { LoopbackServer, Simulator, readBody, send, runCli, MAX_BODY_BYTES };

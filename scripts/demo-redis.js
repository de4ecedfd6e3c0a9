'use strict';
/**
 * The demo's Redis, for the example with a session store ("Several Node-RED instances on one
 * account"): a `redis-server` child process, when the binary is installed, on a free loopback
 * port, writing nothing to disk, never evicting keys (the store refuses a Redis that does). The
 * demo stops it after Node-RED, which leaves the shared session through it while it stops.
 *
 * Env: REDIS_SERVER (the binary, default `redis-server` on the PATH).
 */
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');

const READY_MS = 10000;
const STOP_MS = 5000;

/** The executable `name` on the PATH (or the path itself when it has a slash), or null. */
function findExecutable(name) {
    const candidates = name.includes(path.sep) ? [name] : String(process.env.PATH || '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
    for (const candidate of candidates) {
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile()) return candidate;
        } catch {
            // not here
        }
    }
    return null;
}

function freePort(host) {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, host, () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

/** Resolves true when the server at host:port answers PING. */
function answersPing(host, port) {
    return new Promise((resolve) => {
        const socket = net.connect(port, host);
        const done = (ok) => {
            socket.destroy();
            resolve(ok);
        };
        socket.setTimeout(1000, () => done(false));
        socket.on('connect', () => socket.write('PING\r\n'));
        socket.on('data', (chunk) => done(chunk.toString('latin1').startsWith('+PONG')));
        socket.on('error', () => done(false));
    });
}

/**
 * Starts redis-server on a free port of `host`; resolves with `{ url, stop() }` once it answers,
 * or null when no redis-server is installed. Rejects when it was found but did not start.
 */
async function startDemoRedis({ host }) {
    const binary = findExecutable(process.env.REDIS_SERVER || 'redis-server');
    if (!binary) return null;
    const port = await freePort(host);
    const args = ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'];
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (chunk) => (errors += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const stop = async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const killer = setTimeout(() => child.kill('SIGKILL'), STOP_MS);
        child.kill('SIGTERM');
        await exited;
        clearTimeout(killer);
    };
    const deadline = Date.now() + READY_MS;
    while (!(await answersPing(host, port))) {
        if (child.exitCode !== null || Date.now() > deadline) {
            await stop();
            throw new Error(`${binary} did not start on port ${port}${errors ? `: ${errors.trim().split('\n').pop()}` : ''}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { url: `redis://${host}:${port}`, stop };
}

module.exports = { startDemoRedis, findExecutable };

'use strict';
/**
 * The shared store in `npm run bench`: a redis-server child process (Debian's package, no
 * persistence, a free port), the `store` stack (ours with a `rest-session-store`, share: guard), its
 * throughput against ours without a store (per round, same run), and the Redis commands per 10 000
 * requests at steady state (INFO commandstats before and after).
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const SHARED_KEY = 'bench-shared-key-0123456789-abcdefghij';

function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

/** One inline command's raw reply (enough for PING and INFO). */
function command(port, line) {
    return new Promise((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let reply = '';
        socket.on('connect', () => socket.write(`${line}\r\n`));
        socket.on('data', (chunk) => {
            reply += chunk.toString('latin1');
            const bulk = /^\$(\d+)\r\n/.exec(reply);
            if (reply.startsWith('+') || (bulk && Buffer.byteLength(reply, 'latin1') >= bulk[0].length + Number(bulk[1]) + 2)) {
                socket.end();
                resolve(reply);
            }
        });
        socket.on('error', reject);
    });
}

/** Starts redis-server; resolves with its URL, a count of the commands it ran, and stop(). */
async function startRedis() {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rest-session-bench-redis-'));
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
        try {
            if ((await command(port, 'PING')).startsWith('+PONG')) break;
        } catch (error) {
            if (i > 200) throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return {
        url: `redis://127.0.0.1:${port}`,
        /** Every command the server ran so far (the sum of INFO commandstats calls). */
        async commandCount() {
            const info = await command(port, 'INFO commandstats');
            return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
        },
        async stop() {
            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGTERM');
            await exited;
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** The store node a `store` stack's server names (share: guard), and its credentials. */
function storeNode(url) {
    return { id: 'store', type: 'rest-session-store', engine: 'redis', url, keyPrefix: 'bench', share: 'guard' };
}

const storeCredentials = () => ({ store: { sharedKey: SHARED_KEY } });

/** store ÷ ours req/s per concurrency: the median of each round's own ratio, with its range. */
function storeRatios(rows, rounds, concurrencies) {
    const median = (values) => {
        const sorted = [...values].sort((a, b) => a - b);
        const mid = Math.floor(sorted.length / 2);
        return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    const round2 = (value) => Math.round(value * 100) / 100;
    return concurrencies.flatMap((conc) => {
        const all = [];
        for (let r = 1; r <= rounds; r++) {
            const ours = rows.find((row) => row.round === r && row.stack === 'ours' && row.conc === conc);
            const store = rows.find((row) => row.round === r && row.stack === 'store' && row.conc === conc);
            if (ours && store) all.push(store.rps / ours.rps);
        }
        return all.length ? [{ conc, rps: round2(median(all)), range: [round2(Math.min(...all)), round2(Math.max(...all))], rounds: all.length }] : [];
    });
}

module.exports = { startRedis, storeNode, storeCredentials, storeRatios };

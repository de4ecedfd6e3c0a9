'use strict';
/**
 * `node bench/transport-layers.js`: what the HTTP layers alone cost per request, without Node-RED,
 * against bench/backend.js (its own process) at concurrency C, so the package's own work can be told
 * from its HTTP client's. Each mode fetches the same small JSON value with the session cookie:
 *   raw      node:http GET on a keep-alive agent, JSON.parse (the floor's transport)
 *   adapter  axios's HTTP adapter with the config the package gives it, JSON.parse
 *   client   the package's HttpClient.send (hop headers, deadline, axios's adapter, plain headers)
 * Prints client CPU µs per request; for instruction counts (independent of the machine's load) run
 * it under callgrind with CG=1, which instruments only the measured requests:
 *   CG=1 MODE=adapter valgrind --tool=callgrind --separate-threads=yes --instr-atstart=no \
 *     --callgrind-out-file=/tmp/adapter.cg node bench/transport-layers.js
 * Env: MODE=raw|adapter|client (default: all three, one after another, without CG), C=32, N=5000,
 * WARMUP=3000, MAX_SOCKETS=8 (the config node's default maxConnections).
 */
const { fork, spawnSync } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const intEnv = (name, fallback) => {
    const value = Number(process.env[name]);
    return Number.isInteger(value) && value > 0 ? value : fallback;
};
const C = intEnv('C', 32);
const N = intEnv('N', 5000);
const WARMUP = intEnv('WARMUP', 3000);
const MAX_SOCKETS = intEnv('MAX_SOCKETS', 8);
const USER = { username: 'admin', password: 'Passw0rd!Passw0rd' };
const DATA_PATH = '/cms/iap/devs/17q2d9x.5/if/block/1/Volts_1/value';

function callgrind(state) {
    if (process.env.CG === '1') spawnSync('callgrind_control', ['-i', state, String(process.pid)], { stdio: 'ignore' });
}

function login(base) {
    return new Promise((resolve, reject) => {
        const body = JSON.stringify(USER);
        const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
        const req = http.request(`${base}/cms/iap/auth/login`, { method: 'POST', agent: false, headers }, (res) => {
            res.resume();
            const cookie = (res.headers['set-cookie'] || [])[0];
            if (res.statusCode !== 200 || !cookie) reject(new Error(`login failed: HTTP ${res.statusCode}`));
            else resolve(cookie.split(';')[0]);
        });
        req.on('error', reject);
        req.end(body);
    });
}

/** One request of `mode`: resolves with the parsed body. */
function issuer(mode, url, cookie) {
    if (mode === 'raw') {
        const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
        return () =>
            new Promise((resolve, reject) => {
                http.get(url, { agent, headers: { cookie } }, (res) => {
                    const chunks = [];
                    res.on('data', (chunk) => chunks.push(chunk));
                    res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
                }).on('error', reject);
            });
    }
    if (mode === 'adapter') {
        const adapter = require('axios').getAdapter('http');
        const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
        return () =>
            adapter({
                method: 'GET',
                url,
                headers: { Cookie: cookie, 'Accept-Encoding': false, 'Content-Type': false },
                httpAgent: agent,
                httpsAgent: agent,
                proxy: false,
                validateStatus: null,
                responseType: 'arraybuffer',
                decompress: false,
                maxContentLength: 10 * 1024 * 1024,
                maxBodyLength: Infinity,
                maxRedirects: 0,
            }).then((response) => JSON.parse(response.data.toString('utf8')));
    }
    const { HttpClient } = require(path.join(ROOT, 'nodes', 'lib', 'http', 'http-client.js'));
    const client = new HttpClient({ maxResponseBytes: 10 * 1024 * 1024, maxSockets: MAX_SOCKETS });
    return () =>
        client
            .send({ method: 'GET', url, headers: { Cookie: cookie }, timeoutMs: 30000, followRedirects: true })
            .then((response) => JSON.parse(response.body.toString('utf8')));
}

async function closedLoop(total, issue) {
    let next = 0;
    const worker = async () => {
        while (next++ < total) await issue();
    };
    await Promise.all(Array.from({ length: C }, worker));
}

async function main() {
    const backend = fork(path.join(__dirname, 'backend.js'), ['0'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
        const { port } = await new Promise((resolve) => backend.once('message', resolve));
        const base = `http://127.0.0.1:${port}`;
        const cookie = await login(base);
        for (const mode of process.env.MODE ? [process.env.MODE] : ['raw', 'adapter', 'client']) {
            const issue = issuer(mode, `${base}${DATA_PATH}`, cookie);
            await closedLoop(WARMUP, issue);
            callgrind('on');
            const cpu0 = process.cpuUsage();
            await closedLoop(N, issue);
            const cpu = process.cpuUsage(cpu0);
            callgrind('off');
            console.log(`${mode.padEnd(8)} C=${C}: ${Math.round((cpu.user + cpu.system) / N)} µs client CPU per request (${N} after ${WARMUP} warm-up)`);
        }
    } finally {
        backend.kill();
    }
}

main().then(
    () => process.exit(0),
    (error) => {
        console.error(error);
        process.exit(1);
    },
);

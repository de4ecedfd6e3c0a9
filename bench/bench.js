'use strict';
/**
 * `npm run bench`: the package's loopback benchmark (method: every stack measured in one run, as ratios to raw node:http).
 *
 * One process drives four client stacks against the same backend (bench/backend.js, a lean
 * SmartServer in a forked process on 127.0.0.1) in a closed loop, after a warm-up, at each
 * concurrency, the stacks interleaved within each round (their order rotated from round to round):
 *   ours   the `rest-session-request` node in a real Node-RED runtime (node-red-node-test-helper),
 *          logging in on demand and carrying the cmsSID cookie itself;
 *   store  ours with a `rest-session-store` (share: guard) on a redis-server child process: the
 *          shared guard must cost nothing per request (bench/store.js; also Redis commands per
 *          10 000 requests at steady state);
 *   core   Node-RED's core `http request` node (keep-alive on), the cookie supplied in msg.headers;
 *   floor  a minimal Node-RED node in the same runtime: a raw node:http GET on a keep-alive agent
 *          (as many sockets as ours may open) and JSON.parse: the least any node can cost;
 *   raw    node:http with a keep-alive agent, no Node-RED (the physical limit of this machine).
 * The load average is printed before and after: above 1 per core the run is marked unreliable.
 * Then the session checks: a cold start with 1 000 concurrent messages, an expiry in the middle of
 * 1 000 in-flight messages, the heap after 100 000 requests, the time to require the nodes, and the
 * cost of one login's writes to the guard's file (bench/guard-writes.js; ours runs with that file,
 * and its requests write nothing to it).
 *
 * Writes bench/results/latest.json, latest.svg (chart) and latest.md (the README table).
 * `npm run bench -- --updates` runs bench/updates.js instead (live updates against polling).
 * Env (for quick runs while developing; the defaults are the published method):
 *   BENCH_N=10000 BENCH_ROUNDS=5 BENCH_CONCURRENCY=1,32 BENCH_WARMUP=500 BENCH_STACKS=ours,core,floor,raw
 *   BENCH_HEAP_TOTAL=100000 BENCH_BURST=1000 BENCH_EXTRAS=0 (skip the session, heap and load checks)
 *   BENCH_OUT=<dir> BENCH_STRICT=1 (exit 1 when a goal is not met)
 *   BENCH_MAX_CONNECTIONS=32: the server's connection cap (default 8, the config node's default)
 *   BENCH_PROFILE=<dir>: a V8 CPU profile of each measured phase, <stack>-c<C>-r<round>.cpuprofile
 *   (read them with `node bench/profile-summary.js <file>`; the profiler itself costs some speed)
 *   BENCH_CALLGRIND=1: under `valgrind --tool=callgrind --instr-atstart=no`, instruments only the
 *   measured phases (instruction counts do not depend on the machine's load), e.g.
 *   BENCH_CALLGRIND=1 BENCH_STACKS=ours BENCH_CONCURRENCY=32 BENCH_ROUNDS=1 BENCH_EXTRAS=0 BENCH_N=2000 \
 *   valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/ours.cg node --expose-gc bench/bench.js
 *   then `callgrind_annotate /tmp/ours.cg | head`: the total Ir divided by BENCH_N is the cost per request.
 */
const { fork, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const inspector = require('node:inspector');
const os = require('node:os');
const path = require('node:path');

const { renderSvg } = require('./chart');
const { guardWrites } = require('./guard-writes');
const { removeTestSpies } = require('./test-spies');
const { startRedis, storeNode, storeCredentials, storeRatios } = require('./store');

const ROOT = path.resolve(__dirname, '..');

// The heap check needs global.gc: run again with --expose-gc when started without it.
if (typeof global.gc !== 'function') {
    const again = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(again.status === null ? 1 : again.status);
}

// node-red-node-test-helper looks for a package.json from the cwd up (toolchain.md gotcha 6).
process.chdir(ROOT);
const helper = require('node-red-node-test-helper');

helper.init(require.resolve('node-red'));
// ours keeps its login guard in a file, as a deployed Node-RED does: only logins write to it.
const GUARD_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-guard-file-'));
helper.settings({ restSessionServerGuardFile: path.join(GUARD_DIR, '.rest-session-guard.json') });

const intEnv = (name, fallback) => {
    const value = Number(process.env[name]);
    return Number.isInteger(value) && value > 0 ? value : fallback;
};
const N = intEnv('BENCH_N', 10000);
const ROUNDS = intEnv('BENCH_ROUNDS', 5);
const WARMUP = intEnv('BENCH_WARMUP', 500);
const CONCURRENCIES = (process.env.BENCH_CONCURRENCY || '1,32').split(',').map(Number);
const STACKS = (process.env.BENCH_STACKS || 'ours,store,core,floor,raw').split(',');
const HEAP_FIRST = 1000;
const HEAP_TOTAL = intEnv('BENCH_HEAP_TOTAL', 100000);
const BURST = intEnv('BENCH_BURST', 1000);
const EXTRAS = process.env.BENCH_EXTRAS !== '0';
const OUT_DIR = path.resolve(ROOT, process.env.BENCH_OUT || path.join('bench', 'results'));
const PROFILE_DIR = process.env.BENCH_PROFILE ? path.resolve(ROOT, process.env.BENCH_PROFILE) : null;
const HEAP_LIMIT_BYTES = 10 * 1024 * 1024;
/** The config node's `maxConnections` (its default unless BENCH_MAX_CONNECTIONS says otherwise). */
const MAX_CONNECTIONS = intEnv('BENCH_MAX_CONNECTIONS', 8);
// Under callgrind everything runs some 50 times slower.
const CHECK_TIMEOUT_MS = process.env.BENCH_CALLGRIND === '1' ? 3600000 : 120000;

const USER = { username: 'admin', password: 'Passw0rd!Passw0rd' };
const DATA_PATH = '/iap/devs/17q2d9x.5/if/block/1/Volts_1/value';
const NODE_FILES = ['server', 'login', 'request', 'logout', 'store'].map((name) => path.join(ROOT, 'nodes', `rest-session-${name}.js`));
const NODES_DIR = path.dirname(require.resolve('@node-red/nodes/package.json'));

const ourNodes = NODE_FILES.map((file) => require(file));
const coreHttpRequest = require(path.join(NODES_DIR, 'core', 'network', '21-httprequest.js'));

/**
 * The floor: the least a Node-RED node can do for the same answer. One GET on a keep-alive agent
 * (capped at the sockets ours may open), the body parsed as JSON, msg.statusCode and msg.payload
 * set, send + done; errors to done(err). No session, no checks, no status.
 */
function floorNode(RED) {
    function BenchFloor(config) {
        RED.nodes.createNode(this, config);
        const agent = new http.Agent({ keepAlive: true, maxSockets: config.maxSockets });
        const options = { agent, headers: { cookie: config.cookie } };
        this.on('input', (msg, send, done) => {
            http.get(config.url, options, (res) => {
                const chunks = [];
                res.on('data', (chunk) => chunks.push(chunk));
                res.on('end', () => {
                    msg.statusCode = res.statusCode;
                    try {
                        msg.payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
                    } catch (error) {
                        done(error);
                        return;
                    }
                    send(msg);
                    done();
                });
            }).on('error', (error) => done(error));
        });
        this.on('close', () => agent.destroy());
    }
    RED.nodes.registerType('bench-floor', BenchFloor);
}

const hrMs = (start) => Number(process.hrtime.bigint() - start) / 1e6;
const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (value, digits = 0) => Number(value.toFixed(digits));

// ---------------------------------------------------------------------------------------------
// The backend
// ---------------------------------------------------------------------------------------------

let backend;
let base;

async function startBackend() {
    backend = fork(path.join(__dirname, 'backend.js'), ['0'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const { port } = await new Promise((resolve, reject) => {
        backend.once('error', reject);
        backend.once('message', resolve);
    });
    base = `http://127.0.0.1:${port}`;
}

/** Sends a control message to the backend and waits for its acknowledgement. */
function control(message) {
    return new Promise((resolve) => {
        backend.once('message', resolve);
        backend.send(message);
    });
}

/** The backend's counters (one request on a fresh connection, counted in `connections`). */
function backendStats() {
    return new Promise((resolve, reject) => {
        http.get(`${base}/_bench/stats`, { agent: false }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk) => {
                body += chunk;
            });
            res.on('end', () => resolve(JSON.parse(body)));
        }).on('error', reject);
    });
}

/** A session cookie for the stacks that do not log in themselves (core, raw). */
function loginCookie() {
    return new Promise((resolve, reject) => {
        const body = JSON.stringify(USER);
        const req = http.request(`${base}/cms/iap/auth/login`, {
            method: 'POST',
            agent: false,
            headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        }, (res) => {
            res.resume();
            const cookie = (res.headers['set-cookie'] || [])[0];
            if (res.statusCode !== 200 || !cookie) reject(new Error(`bench login failed: HTTP ${res.statusCode}`));
            else resolve(cookie.split(';')[0]);
        });
        req.on('error', reject);
        req.end(body);
    });
}

// ---------------------------------------------------------------------------------------------
// Closed loop
// ---------------------------------------------------------------------------------------------

/** `conc` workers, each awaiting one request at a time, until `total` are done; sorted latencies (ms). */
async function closedLoop(conc, total, issue, recordLatency = true) {
    const latencies = recordLatency ? new Float64Array(total) : null;
    let next = 0;
    async function worker() {
        for (;;) {
            const i = next++;
            if (i >= total) return;
            const start = process.hrtime.bigint();
            await issue();
            if (latencies) latencies[i] = hrMs(start);
        }
    }
    await Promise.all(Array.from({ length: Math.min(conc, total) }, worker));
    return latencies ? latencies.sort() : null;
}

function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Forces full collections until the heap stops shrinking (weak callbacks get a turn between). */
async function collectGarbage() {
    let previous = Infinity;
    for (let i = 0; i < 10; i++) {
        global.gc();
        await new Promise((resolve) => setImmediate(resolve));
        const used = process.memoryUsage().heapUsed;
        if (used >= previous - 64 * 1024) return used;
        previous = used;
    }
    return process.memoryUsage().heapUsed;
}

// ---------------------------------------------------------------------------------------------
// The three stacks
// ---------------------------------------------------------------------------------------------

/**
 * A Node-RED stack: node `n1` under test wired to helper `h1`, a Catch node wired to `caught`.
 * `issue()` sends one msg to n1 and resolves when it comes out of h1 or reaches Catch.
 */
function nodeRedStack(nodes, flowNodes, credentials, makeMsg) {
    return {
        async setup() {
            const flow = [
                { id: 'tab', type: 'tab', label: 'bench' },
                ...flowNodes().map((node) => (node.type === 'rest-session-server' || node.type === 'rest-session-store' ? node : { z: 'tab', ...node })),
                { id: 'h1', z: 'tab', type: 'helper' },
                { id: 'catcher', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
                { id: 'caught', z: 'tab', type: 'helper' },
            ];
            await helper.load(nodes, flow, credentials());
            removeTestSpies(helper, flow.map((node) => node.id));
            const n1 = helper.getNode('n1');
            const pending = new Map();
            const tally = { non200: 0, errors: 0, firstProblem: null };
            const answer = (msg, problem) => {
                const resolve = pending.get(msg.seq);
                if (!resolve) return;
                pending.delete(msg.seq);
                if (problem) tally.firstProblem = tally.firstProblem || problem;
                resolve();
            };
            helper.getNode('h1').on('input', (msg) => {
                if (msg.statusCode !== 200) tally.non200++;
                answer(msg, msg.statusCode === 200 ? null : `HTTP ${msg.statusCode}`);
            });
            helper.getNode('caught').on('input', (msg) => {
                tally.errors++;
                answer(msg, `${msg.errorCode || (msg.error && msg.error.code) || 'error'}: ${msg.error && msg.error.message}`);
            });
            let seq = 0;
            const issue = () => new Promise((resolve) => {
                const s = seq++;
                pending.set(s, resolve);
                n1.receive(makeMsg(s));
            });
            return { issue, tally };
        },
        teardown: () => helper.unload(),
    };
}

let cookie;
/** The redis-server of the `store` stack (started only when it runs). */
let redis;

const stacks = {
    ours: {
        label: 'authorized request (ours)',
        ...nodeRedStack(
            ourNodes,
            () => [
                {
                    id: 'server', type: 'rest-session-server', name: '', vendor: 'smartserver', baseUrl: `${base}/cms`,
                    tls: '', proxy: '', requestTimeout: 30000, maxConnections: MAX_CONNECTIONS, logoutOnClose: true, exposeCredential: false,
                },
                { id: 'n1', type: 'rest-session-request', server: 'server', method: 'GET', url: DATA_PATH, ret: 'obj', paytoqs: 'ignore', errorOnStatus: false, wires: [['h1']] },
            ],
            () => ({ server: { ...USER } }),
            (seq) => ({ seq, payload: '' }),
        ),
    },
    store: {
        label: 'authorized request (ours) with a share: guard store',
        ...nodeRedStack(
            ourNodes,
            () => [
                storeNode(redis.url),
                {
                    id: 'server', type: 'rest-session-server', name: '', vendor: 'smartserver', baseUrl: `${base}/cms`, store: 'store',
                    tls: '', proxy: '', requestTimeout: 30000, maxConnections: MAX_CONNECTIONS, logoutOnClose: true, exposeCredential: false,
                },
                { id: 'n1', type: 'rest-session-request', server: 'server', method: 'GET', url: DATA_PATH, ret: 'obj', paytoqs: 'ignore', errorOnStatus: false, wires: [['h1']] },
            ],
            () => ({ server: { ...USER }, ...storeCredentials() }),
            (seq) => ({ seq, payload: '' }),
        ),
    },
    floor: {
        label: 'floor: minimal node + raw node:http',
        ...nodeRedStack(
            [floorNode],
            () => [{ id: 'n1', type: 'bench-floor', url: `${base}/cms${DATA_PATH}`, cookie, maxSockets: MAX_CONNECTIONS, wires: [['h1']] }],
            () => ({}),
            (seq) => ({ seq, payload: '' }),
        ),
    },
    core: {
        label: 'core http request',
        ...nodeRedStack(
            [coreHttpRequest],
            () => [{ id: 'n1', type: 'http request', method: 'GET', ret: 'obj', paytoqs: 'ignore', url: `${base}/cms${DATA_PATH}`, persist: true, wires: [['h1']] }],
            () => ({}),
            (seq) => ({ seq, payload: '', headers: { cookie } }),
        ),
    },
    raw: {
        label: 'raw node:http, keep-alive agent, no Node-RED',
        setup(conc) {
            const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
            const tally = { non200: 0, errors: 0, firstProblem: null };
            const url = `${base}/cms${DATA_PATH}`;
            const issue = () => new Promise((resolve) => {
                http.get(url, { agent, headers: { cookie } }, (res) => {
                    const chunks = [];
                    res.on('data', (chunk) => chunks.push(chunk));
                    res.on('end', () => {
                        JSON.parse(Buffer.concat(chunks).toString('utf8'));
                        if (res.statusCode !== 200) tally.non200++;
                        resolve();
                    });
                }).on('error', (error) => {
                    tally.errors++;
                    tally.firstProblem = tally.firstProblem || error.message;
                    resolve();
                });
            });
            return { issue, tally, agent };
        },
        teardown: async (ctx) => ctx.agent.destroy(),
    },
};

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

let profiler;

function inspectorPost(method, params = {}) {
    return new Promise((resolve, reject) => profiler.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

/** Starts the V8 CPU profiler (BENCH_PROFILE only); the returned function stops it and saves. */
async function startProfile(name) {
    if (!PROFILE_DIR) return async () => undefined;
    if (!profiler) {
        profiler = new inspector.Session();
        profiler.connect();
        await inspectorPost('Profiler.enable');
        await inspectorPost('Profiler.setSamplingInterval', { interval: 200 });
    }
    await inspectorPost('Profiler.start');
    return async () => {
        const { profile } = await inspectorPost('Profiler.stop');
        fs.mkdirSync(PROFILE_DIR, { recursive: true });
        fs.writeFileSync(path.join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
    };
}

/** Turns callgrind's instrumentation of this process on or off (BENCH_CALLGRIND only). */
function callgrind(state) {
    if (process.env.BENCH_CALLGRIND === '1') spawnSync('callgrind_control', ['-i', state, String(process.pid)], { stdio: 'ignore' });
}

async function measure(stackName, conc, roundNo) {
    const stack = stacks[stackName];
    const ctx = await stack.setup(conc);
    try {
        await withTimeout(closedLoop(conc, WARMUP, ctx.issue), CHECK_TIMEOUT_MS, `${stackName} warm-up`);
        await collectGarbage();
        const s0 = await backendStats();
        const stopProfile = await startProfile(`${stackName}-c${conc}-r${roundNo}`);
        callgrind('on');
        const cpu0 = process.cpuUsage();
        const start = process.hrtime.bigint();
        const latencies = await withTimeout(closedLoop(conc, N, ctx.issue), CHECK_TIMEOUT_MS * 5, `${stackName} at C=${conc}`);
        const wallMs = hrMs(start);
        const cpu = process.cpuUsage(cpu0);
        callgrind('off');
        await stopProfile();
        const s1 = await backendStats();
        const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
        return {
            stack: stackName,
            conc,
            n: N,
            rps: Math.round(N / (wallMs / 1000)),
            p50ms: round(at(0.5), 3),
            p99ms: round(at(0.99), 3),
            clientCpuUsPerReq: Math.round((cpu.user + cpu.system) / N),
            backendCpuUsPerReq: Math.round((s1.cpuUs - s0.cpuUs) / N),
            newConnections: s1.connections - s0.connections - 1, // less the /stats probe's own
            served: s1.dataOk - s0.dataOk,
            unauthorized: s1.unauthorized - s0.unauthorized,
            logins: s1.logins - s0.logins,
            non200: ctx.tally.non200,
            errors: ctx.tally.errors,
            firstProblem: ctx.tally.firstProblem,
        };
    } finally {
        await stack.teardown(ctx);
    }
}

/** Per (stack, concurrency): the median of every metric over the rounds, req/s min and max. */
function summarise(rows) {
    const cells = [];
    for (const conc of CONCURRENCIES) {
        for (const stack of STACKS) {
            const mine = rows.filter((row) => row.stack === stack && row.conc === conc);
            if (!mine.length) continue;
            const pick = (key) => mine.map((row) => row[key]);
            cells.push({
                stack,
                label: stacks[stack].label,
                conc,
                rounds: mine.length,
                rps: Math.round(median(pick('rps'))),
                rpsMin: Math.min(...pick('rps')),
                rpsMax: Math.max(...pick('rps')),
                p50ms: round(median(pick('p50ms')), 2),
                p99ms: round(median(pick('p99ms')), 2),
                clientCpuUsPerReq: Math.round(median(pick('clientCpuUsPerReq'))),
                backendCpuUsPerReq: Math.round(median(pick('backendCpuUsPerReq'))),
                newConnections: Math.max(...pick('newConnections')),
                problems: mine.reduce((sum, row) => sum + row.non200 + row.errors + (row.served === row.n ? 0 : 1), 0),
            });
        }
    }
    return cells;
}

/** Redis commands while the `store` stack serves 10 000 requests at C=32 after its login (steady state). */
async function redisCommandsPer10k() {
    const ctx = await stacks.store.setup();
    try {
        await closedLoop(32, WARMUP, ctx.issue, false);
        const before = await redis.commandCount();
        await closedLoop(32, 10000, ctx.issue, false);
        // The INFO that reads the count is one command itself.
        return (await redis.commandCount()) - before - 1;
    } finally {
        await stacks.store.teardown();
    }
}

/** 1 000 messages at once into a flow that has never logged in: how many logins reach the server. */
async function coldStart() {
    await control({ cmd: 'config', loginDelayMs: 50 }); // the login is still out when the last msg arrives
    const ctx = await stacks.ours.setup();
    try {
        const s0 = await backendStats();
        const start = process.hrtime.bigint();
        await withTimeout(Promise.all(Array.from({ length: BURST }, ctx.issue)), CHECK_TIMEOUT_MS, 'the cold start');
        const ms = hrMs(start);
        const s1 = await backendStats();
        return {
            messages: BURST,
            logins: s1.logins - s0.logins,
            loginAttempts: s1.loginAttempts - s0.loginAttempts,
            newConnections: s1.connections - s0.connections - 1, // less the /stats probe's own
            served: s1.dataOk - s0.dataOk,
            non200: ctx.tally.non200,
            errors: ctx.tally.errors,
            firstProblem: ctx.tally.firstProblem,
            ms: Math.round(ms),
        };
    } finally {
        await control({ cmd: 'config', loginDelayMs: 0 });
        await stacks.ours.teardown();
    }
}

/** A live session ends on the server after the 500th of 1 000 in-flight requests: re-logins. */
async function expiryMidFlight() {
    const ctx = await stacks.ours.setup();
    try {
        await ctx.issue(); // logged in
        const s0 = await backendStats();
        await control({ cmd: 'config', expireAfter: Math.floor(BURST / 2) });
        const start = process.hrtime.bigint();
        await withTimeout(Promise.all(Array.from({ length: BURST }, ctx.issue)), CHECK_TIMEOUT_MS, 'the expiry check');
        const ms = hrMs(start);
        const s1 = await backendStats();
        return {
            messages: BURST,
            expiredAfter: Math.floor(BURST / 2),
            reLogins: s1.logins - s0.logins,
            refused: s1.unauthorized - s0.unauthorized,
            newConnections: s1.connections - s0.connections - 1, // less the /stats probe's own
            served: s1.dataOk - s0.dataOk,
            non200: ctx.tally.non200,
            errors: ctx.tally.errors,
            firstProblem: ctx.tally.firstProblem,
            ms: Math.round(ms),
        };
    } finally {
        await control({ cmd: 'config', expireAfter: 0 });
        await stacks.ours.teardown();
    }
}

/** Heap (after a full GC) after the first 1 000 requests and after 100 000, through ours at C=32. */
async function heapGrowth() {
    const conc = 32;
    const ctx = await stacks.ours.setup();
    try {
        await closedLoop(conc, HEAP_FIRST, ctx.issue, false);
        const first = await collectGarbage();
        const start = process.hrtime.bigint();
        await withTimeout(closedLoop(conc, HEAP_TOTAL - HEAP_FIRST, ctx.issue, false), CHECK_TIMEOUT_MS * 10, 'the heap run');
        const seconds = hrMs(start) / 1000;
        const after = await collectGarbage();
        return {
            requests: HEAP_TOTAL,
            conc,
            heapAfterFirstMB: round(first / 1048576, 2),
            heapAfterAllMB: round(after / 1048576, 2),
            growthMB: round((after - first) / 1048576, 2),
            rps: Math.round((HEAP_TOTAL - HEAP_FIRST) / seconds),
            problems: ctx.tally.non200 + ctx.tally.errors,
        };
    } finally {
        await stacks.ours.teardown();
    }
}

/** Time to require the four node files in a fresh process (and their dependencies alone), 5 runs. */
function moduleLoadTime() {
    const timeRequire = (files) => {
        const script = `const t=process.hrtime.bigint();for(const f of ${JSON.stringify(files)})require(f);`
            + 'process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));';
        const runs = [];
        for (let i = 0; i < 5; i++) {
            const result = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
            if (result.status !== 0) throw new Error(`require failed: ${result.stderr}`);
            runs.push(Number(result.stdout));
        }
        return { medianMs: round(median(runs), 1), minMs: round(Math.min(...runs), 1), maxMs: round(Math.max(...runs), 1) };
    };
    const deps = ['axios', 'tough-cookie', 'fast-xml-parser'].map((name) => require.resolve(name));
    return { nodes: timeRequire(NODE_FILES), dependenciesOnly: timeRequire(deps) };
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

function cellOf(cells, stack, conc) {
    return cells.find((cell) => cell.stack === stack && cell.conc === conc);
}

/** The stacks ours is compared with, in the order the ratios are printed. */
const OTHERS = ['core', 'floor', 'raw'];

/**
 * ours/core, ours/floor and ours/raw per concurrency: the median over the rounds of each round's own
 * ratio (the stacks of one round ran minutes apart at most, so a slow drift of the machine cancels out).
 */
function ratios(rows) {
    const result = [];
    for (const conc of CONCURRENCIES) {
        for (const other of OTHERS) {
            const pairs = [];
            for (let r = 1; r <= ROUNDS; r++) {
                const ours = rows.find((row) => row.round === r && row.stack === 'ours' && row.conc === conc);
                const cell = rows.find((row) => row.round === r && row.stack === other && row.conc === conc);
                if (ours && cell) pairs.push([ours, cell]);
            }
            if (!pairs.length) continue;
            const ratio = (key) => round(median(pairs.map(([ours, cell]) => ours[key] / cell[key])), 2);
            const range = (key) => {
                const all = pairs.map(([ours, cell]) => ours[key] / cell[key]);
                return [round(Math.min(...all), 2), round(Math.max(...all), 2)];
            };
            result.push({
                conc,
                versus: other,
                rps: ratio('rps'),
                rpsRange: range('rps'),
                clientCpu: ratio('clientCpuUsPerReq'),
                p50: ratio('p50ms'),
                p99: ratio('p99ms'),
                rounds: pairs.length,
            });
        }
    }
    return result;
}

/** The issue's goals for ours against the core node and the floor (a benchmark, never a timed test). */
const GOALS = {
    rpsVsCore32: 1.8,
    cpuVsCore32: 0.45,
    cpuVsFloor32: 1.6,
    rpsVsCore1: 1.5,
    p99VsFloor32: 1,
};

function goals(cells, ratioList, extras) {
    const list = [];
    const ratioOf = (conc, versus) => ratioList.find((r) => r.conc === conc && r.versus === versus);
    const figure = (conc, versus, key) => {
        const ours = cellOf(cells, 'ours', conc);
        const other = cellOf(cells, versus, conc);
        return `medians ${ours[key]} vs ${other[key]}`;
    };
    const core32 = ratioOf(32, 'core');
    const floor32 = ratioOf(32, 'floor');
    const core1 = ratioOf(1, 'core');
    if (core32) {
        list.push({
            goal: `C=32: throughput ≥ ${GOALS.rpsVsCore32}× the core node's`,
            met: core32.rps >= GOALS.rpsVsCore32,
            figure: `${core32.rps.toFixed(2)}× (rounds ${core32.rpsRange.join('–')}; ${figure(32, 'core', 'rps')} req/s)`,
        });
        list.push({
            goal: `C=32: client CPU per request ≤ ${GOALS.cpuVsCore32}× the core node's`,
            met: core32.clientCpu <= GOALS.cpuVsCore32,
            figure: `${core32.clientCpu.toFixed(2)}× (${figure(32, 'core', 'clientCpuUsPerReq')} µs)`,
        });
    }
    if (floor32) {
        list.push({
            goal: `C=32: client CPU per request ≤ ${GOALS.cpuVsFloor32}× the floor's`,
            met: floor32.clientCpu <= GOALS.cpuVsFloor32,
            figure: `${floor32.clientCpu.toFixed(2)}× (${figure(32, 'floor', 'clientCpuUsPerReq')} µs)`,
        });
        list.push({
            goal: 'C=32: p99 latency no worse than the floor\'s',
            met: floor32.p99 <= GOALS.p99VsFloor32,
            figure: `${floor32.p99.toFixed(2)}× (${figure(32, 'floor', 'p99ms')} ms)`,
        });
    }
    if (core1) {
        list.push({
            goal: `C=1: throughput ≥ ${GOALS.rpsVsCore1}× the core node's`,
            met: core1.rps >= GOALS.rpsVsCore1,
            figure: `${core1.rps.toFixed(2)}× (rounds ${core1.rpsRange.join('–')}; ${figure(1, 'core', 'rps')} req/s)`,
        });
    }
    if (extras) {
        const { cold, expiry, heap } = extras;
        list.push({
            goal: `a cold start with ${cold.messages} concurrent messages costs exactly one login`,
            met: cold.logins === 1 && cold.loginAttempts === 1 && cold.served === cold.messages && cold.non200 + cold.errors === 0,
            figure: `${cold.logins} login(s), ${cold.served}/${cold.messages} answered 200 in ${cold.ms} ms${cold.firstProblem ? `; first problem: ${cold.firstProblem}` : ''}`,
        });
        list.push({
            goal: `expiry in the middle of ${expiry.messages} in-flight messages costs exactly one re-login`,
            met: expiry.reLogins === 1 && expiry.refused > 0 && expiry.served === expiry.messages && expiry.non200 + expiry.errors === 0,
            figure: `${expiry.reLogins} re-login(s); session ended after the ${expiry.expiredAfter}th reply, ${expiry.refused} requests refused and replayed, `
                + `${expiry.served}/${expiry.messages} answered 200${expiry.firstProblem ? `; first problem: ${expiry.firstProblem}` : ''}`,
        });
        // design.md: at most maxConnections for requests; a login goes on a connection of its own, one beyond the cap.
        list.push({
            goal: `the cold start and the expiry burst each open at most maxConnections (${MAX_CONNECTIONS}) new connections for requests, plus the login's own`,
            met: cold.newConnections <= MAX_CONNECTIONS + cold.logins && expiry.newConnections <= MAX_CONNECTIONS + expiry.reLogins,
            figure: `cold start ${cold.newConnections} (${cold.logins} login), expiry burst ${expiry.newConnections} (${expiry.reLogins} re-login) new connection(s) for ${cold.messages} messages each`,
        });
        list.push({
            goal: `heap after ${heap.requests} requests and a GC within 10 MB of the heap after the first ${HEAP_FIRST}`,
            met: heap.growthMB * 1048576 <= HEAP_LIMIT_BYTES && heap.problems === 0,
            figure: `${heap.growthMB >= 0 ? '+' : ''}${heap.growthMB} MB (${heap.heapAfterFirstMB} → ${heap.heapAfterAllMB} MB, ${heap.rps} req/s)`,
        });
    }
    return list;
}

function markdownTable(results) {
    const lines = [
        '| C | client stack | req/s median (min–max) | p50 ms | p99 ms | client CPU µs/req | backend CPU µs/req |',
        '|---|---|---|---|---|---|---|',
    ];
    for (const cell of results.cells) {
        const name = cell.stack === 'ours' ? `**${cell.label}**` : cell.label;
        lines.push(`| ${cell.conc} | ${name} | ${cell.rps} (${cell.rpsMin}–${cell.rpsMax}) | ${cell.p50ms} | ${cell.p99ms} | ${cell.clientCpuUsPerReq} | ${cell.backendCpuUsPerReq} |`);
    }
    return lines.join('\n');
}

/** ours/core and ours/floor side by side, per concurrency (medians of the per-round ratios). */
function ratioTable(results) {
    const lines = [
        '| C | ours ÷ | req/s (rounds min–max) | p99 | client CPU µs/req |',
        '|---|---|---|---|---|',
    ];
    for (const r of results.ratios.filter((ratio) => ratio.versus !== 'raw')) {
        lines.push(`| ${r.conc} | ${r.versus} | ${r.rps.toFixed(2)}× (${r.rpsRange.map((v) => v.toFixed(2)).join('–')}) | ${r.p99.toFixed(2)}× | ${r.clientCpu.toFixed(2)}× |`);
    }
    return lines.join('\n');
}

/** latest.md: what the README shows, with the load the run saw and whether it counts. */
function latestMarkdown(results) {
    const { machine } = results;
    const load = machine.loadAverage1m;
    return [
        `${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, Node-RED ${machine.nodeRed}; ${results.n} requests per cell after ${results.warmup} warm-up, `
            + `${results.rounds} interleaved rounds, medians; load average ${load.start} at start, ${load.end} at end, ${load.max} at most`
            + `${results.reliable ? '' : ` (**unreliable: above 1 per core, not evidence**)`}.`,
        '',
        markdownTable(results),
        '',
        ratioTable(results),
        '',
        ...results.goals.map((goal) => `- ${goal.met ? 'met' : '**not met**'}: ${goal.goal}: ${goal.figure}`),
        ...(results.guard ? ['', `Guard file, one login's two writes: ${results.guard.p50ms} ms p50, ${results.guard.p99ms} ms p99 (${results.guard.logins} logins).`] : []),
        ...(results.store ? ['', storeLine(results.store)] : []),
    ].join('\n');
}

/** The shared store's cost: its throughput against ours without it (same rounds) and Redis commands at steady state. */
function storeLine(store) {
    const ratios = store.versusOurs.map((r) => `C=${r.conc} ${r.rps.toFixed(2)}× (rounds ${r.range.map((v) => v.toFixed(2)).join('–')})`).join(', ');
    return `With a share: guard store on Redis, req/s ÷ ours without: ${ratios}; Redis commands per 10 000 requests at steady state: ${store.redisCommandsPer10k}.`;
}

function report(results) {
    const out = [];
    out.push('');
    const load = results.machine.loadAverage1m;
    out.push(`Machine: ${results.machine.cpus} × ${results.machine.cpuModel}; Node ${results.machine.node}; Node-RED ${results.machine.nodeRed}; `
        + `load average ${load.start} at start, ${load.end} at end (highest seen ${load.max}; ${results.machine.cpus} cores)`);
    if (!results.reliable) {
        out.push(`UNRELIABLE RUN: the load average exceeded 1 per core (${results.machine.cpus}): other processes shared the CPUs; these figures are not evidence.`);
    }
    out.push(`${results.n} requests per cell after ${results.warmup} warm-up, closed loop, median of ${results.rounds} round(s); backend in its own process on 127.0.0.1.`);
    out.push('');
    out.push(markdownTable(results));
    out.push('');
    out.push(ratioTable(results));
    out.push('');
    out.push('Ratios (median of the per-round ratios; lower is better except req/s):');
    for (const r of results.ratios) {
        out.push(`  C=${String(r.conc).padEnd(3)} ours/${r.versus.padEnd(5)} ${r.rps}× req/s (rounds ${r.rpsRange.join('–')}), ${r.clientCpu}× client CPU per request, `
            + `${r.p50}× p50, ${r.p99}× p99`);
    }
    if (results.moduleLoad) {
        const { nodes, dependenciesOnly } = results.moduleLoad;
        out.push('');
        out.push(`Module load: require() of the four node files in a fresh process: ${nodes.medianMs} ms median (${nodes.minMs}–${nodes.maxMs}, 5 runs); `
            + `their dependencies axios + tough-cookie + fast-xml-parser alone: ${dependenciesOnly.medianMs} ms.`);
    }
    if (results.guard) {
        const { guard } = results;
        out.push('');
        out.push(`Guard file: one login's ${guard.writesPerLogin} writes (charge before sending, then its settlement; each written, flushed and renamed) `
            + `${guard.p50ms} ms p50, ${guard.p99ms} ms p99 over ${guard.logins} logins (file ${guard.fileBytes} bytes); a request on a live session writes nothing.`);
    }
    if (results.store) {
        out.push('');
        out.push(storeLine(results.store));
    }
    if (results.cells.some((cell) => cell.problems)) {
        out.push('');
        out.push('WARNING: some cells had non-200 answers or errors: see latest.json (rows[].firstProblem).');
    }
    out.push('');
    out.push(results.reliable ? 'Goals:' : 'Goals (UNRELIABLE RUN: load above 1 per core):');
    for (const goal of results.goals) out.push(`  ${goal.met ? 'met    ' : 'NOT MET'}  ${goal.goal}: ${goal.figure}`);
    return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
    const started = Date.now();
    const cores = os.cpus().length;
    const loadAtStart = os.loadavg()[0];
    let loadMax = loadAtStart;
    const sampleLoad = () => {
        const now = os.loadavg()[0];
        loadMax = Math.max(loadMax, now);
        return now;
    };
    console.log(`load average (1 min) at start: ${loadAtStart.toFixed(2)} on ${cores} cores`);
    if (loadAtStart > cores) console.log(`WARNING: load above 1 per core at start: other processes share the CPUs; this run will be marked unreliable`);
    console.log(`bench: ${ROUNDS} round(s) × ${STACKS.join('/')} × C=${CONCURRENCIES.join(',')}, ${N} requests per cell`);
    const moduleLoad = EXTRAS ? moduleLoadTime() : undefined;
    if (moduleLoad) console.log(`module load: ${moduleLoad.nodes.medianMs} ms (dependencies alone ${moduleLoad.dependenciesOnly.medianMs} ms)`);

    await startBackend();
    await new Promise((resolve) => helper.startServer(resolve));
    if (STACKS.includes('store')) redis = await startRedis();
    try {
        cookie = await loginCookie();
        const rows = [];
        for (let r = 1; r <= ROUNDS; r++) {
            // Rotate the order each round so a slow drift of the machine does not favour one stack.
            const order = STACKS.map((_, i) => STACKS[(i + r - 1) % STACKS.length]);
            for (const conc of CONCURRENCIES) {
                for (const stack of order) {
                    const row = { round: r, ...(await measure(stack, conc, r)), loadAverage1m: round(sampleLoad(), 2) };
                    rows.push(row);
                    console.log(`  round ${r} C=${String(conc).padEnd(3)} ${stack.padEnd(5)} ${String(row.rps).padStart(5)} req/s  p50 ${row.p50ms} ms  p99 ${row.p99ms} ms  `
                        + `client ${row.clientCpuUsPerReq} µs/req  backend ${row.backendCpuUsPerReq} µs/req  new conns ${row.newConnections}  load ${row.loadAverage1m}`
                        + `${row.non200 || row.errors || row.served !== row.n ? `  PROBLEMS: ${row.non200} non-200, ${row.errors} errors, ${row.served} served (${row.firstProblem})` : ''}`);
                }
            }
        }
        let store;
        if (redis) {
            store = { versusOurs: storeRatios(rows, ROUNDS, CONCURRENCIES), redisCommandsPer10k: await redisCommandsPer10k() };
            console.log(`  store: ${JSON.stringify(store)}`);
        }
        let extras;
        if (EXTRAS) {
            const cold = await coldStart();
            console.log(`  cold start: ${JSON.stringify(cold)}`);
            const expiry = await expiryMidFlight();
            console.log(`  expiry: ${JSON.stringify(expiry)}`);
            const heap = await heapGrowth();
            console.log(`  heap: ${JSON.stringify(heap)}`);
            const guard = await guardWrites();
            console.log(`  guard file writes per login: ${JSON.stringify(guard)}`);
            extras = { cold, expiry, heap, guard };
        }
        const cells = summarise(rows);
        const cpus = os.cpus();
        const loadAtEnd = sampleLoad();
        console.log(`load average (1 min) at end: ${loadAtEnd.toFixed(2)} (highest seen ${loadMax.toFixed(2)})`);
        const reliable = loadMax <= cores;
        if (!reliable) console.log(`WARNING: load above 1 per core during the run (${loadMax.toFixed(2)} on ${cores} cores): marked unreliable`);
        const results = {
            date: new Date().toISOString(),
            machine: {
                cpus: cpus.length,
                cpuModel: (cpus[0] && cpus[0].model.trim()) || 'unknown',
                memoryGiB: Math.round(os.totalmem() / 2 ** 30),
                node: process.version,
                nodeRed: require('node-red/package.json').version,
                platform: `${os.platform()} ${os.release()}`,
                loadAverage1m: { start: round(loadAtStart, 2), end: round(loadAtEnd, 2), max: round(loadMax, 2) },
            },
            reliable,
            package: require(path.join(ROOT, 'package.json')).version,
            n: N,
            warmup: WARMUP,
            rounds: ROUNDS,
            concurrencies: CONCURRENCIES,
            cells,
            ratios: [],
            goals: [],
            moduleLoad,
            ...extras,
            store,
            rows,
            seconds: Math.round((Date.now() - started) / 1000),
        };
        results.ratios = ratios(rows);
        results.goals = goals(cells, results.ratios, extras);
        const text = report(results);
        console.log(text);
        fs.mkdirSync(OUT_DIR, { recursive: true });
        fs.writeFileSync(path.join(OUT_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
        fs.writeFileSync(path.join(OUT_DIR, 'latest.svg'), renderSvg(results));
        fs.writeFileSync(path.join(OUT_DIR, 'latest.md'), `${latestMarkdown(results)}\n`);
        console.log(`\nWrote ${path.relative(ROOT, OUT_DIR)}/latest.json, latest.svg, latest.md (${results.seconds} s).`);
        return results.goals.every((goal) => goal.met);
    } finally {
        await new Promise((resolve) => helper.stopServer(resolve));
        if (redis) await redis.stop();
        backend.disconnect();
        fs.rmSync(GUARD_DIR, { recursive: true, force: true });
    }
}

// `npm run bench -- --updates`: the live updates benchmark instead (bench/updates.js).
if (process.argv.includes('--updates')) require('./updates');
else main().then(
    (allMet) => {
        // Keep-alive sockets of the unloaded flows would hold the loop open for a while: leave now.
        process.exit(process.env.BENCH_STRICT === '1' && !allMet ? 1 : 0);
    },
    (error) => {
        console.error(error && error.stack ? error.stack : error);
        if (backend) backend.kill();
        process.exit(1);
    },
);

'use strict';
/**
 * `npm run bench -- --updates`: live updates (the `rest-session-updates` node over IAP/WS) against
 * polling the same datapoints with `rest-session-request`, on loopback.
 *
 * The simulator (bench/updates-sim.js) runs in its own process and changes N datapoints at each
 * rate; every value is the simulator's send time, so the node's output gives the latency. Client CPU
 * is this process's (the Node-RED runtime with the nodes), over the measured window, divided by the
 * updates delivered. Polling at the same freshness means one authorized GET per change: the same
 * rate in requests per second (paced; the table says what rate was reached). Last, a forced
 * re-login (every session expired on the server mid-stream): no value twice, none missing after.
 *
 * Env: BENCH_UPDATES_N=100 (datapoints), BENCH_UPDATES_RATES=100,1000,10000,
 * BENCH_UPDATES_MS=3000 (per rate), BENCH_OUT=<dir> (writes updates.json and updates.md).
 */
const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const ROOT = path.resolve(__dirname, '..');
process.chdir(ROOT);
require('tsx/cjs/api').register();
const { helper, ALL_NODES, ADMIN, tlsNode, serverNode } = require('../test/support/harness.ts');
const { removeTestSpies } = require('./test-spies');

const intEnv = (name, fallback) => {
    const value = Number(process.env[name]);
    return Number.isInteger(value) && value > 0 ? value : fallback;
};
const N = intEnv('BENCH_UPDATES_N', 100);
const RATES = (process.env.BENCH_UPDATES_RATES || '100,1000,10000').split(',').map(Number);
const RUN_MS = intEnv('BENCH_UPDATES_MS', 3000);
const OUT_DIR = path.resolve(ROOT, process.env.BENCH_OUT || path.join('bench', 'results'));
const POLL_PATH = '/iap/devs/17q2d9x.5/if/block/1/Volts_1/value';
const SEQUENCE = { qualifier: 'bench/lon/1/block/1/Seq', count: 2000, rate: 500, expireAt: 1000 };
const GOAL_RATE = 1000;
const GOAL_CPU_RATIO = 1 / 5;
const GOAL_P99_MS = 5;
/** The rate that must be sustained: every update delivered and no backlog growing over the run. */
const SUSTAIN_RATE = 10000;

const qualifiers = Array.from({ length: N }, (_, i) => `bench/lon/1/block/1/Dp_${i}`);
const now = () => performance.timeOrigin + performance.now();
const cpuUs = (since) => {
    const used = process.cpuUsage(since);
    return used.user + used.system;
};
const median = (values) =>
    percentile(
        [...values].sort((a, b) => a - b),
        50,
    );
const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

function startSimulator() {
    const child = fork(path.join(__dirname, 'updates-sim.js'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const replies = [];
    let waiting = null;
    child.on('message', (msg) => {
        if (waiting) {
            const resolve = waiting;
            waiting = null;
            resolve(msg);
        } else replies.push(msg);
    });
    const next = () => (replies.length ? Promise.resolve(replies.shift()) : new Promise((resolve) => (waiting = resolve)));
    const ask = (cmd) => {
        child.send(cmd);
        return next();
    };
    return { child, next, ask };
}

async function waitUntil(condition, what, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
}

async function loadFlow(baseUrl) {
    const flow = [
        { id: 'tab', type: 'tab', label: 'bench' },
        tlsNode(),
        serverNode(baseUrl, { maxConnections: 8 }),
        {
            id: 'live',
            z: 'tab',
            type: 'rest-session-updates',
            server: 'server',
            datapoints: [...qualifiers, SEQUENCE.qualifier].join('\n'),
            events: 'datapoints',
            initial: true,
            wires: [['liveOut']],
        },
        {
            id: 'poll',
            z: 'tab',
            type: 'rest-session-request',
            server: 'server',
            method: 'GET',
            url: POLL_PATH,
            ret: 'obj',
            paytoqs: 'ignore',
            wires: [['pollOut']],
        },
        { id: 'liveOut', z: 'tab', type: 'helper' },
        { id: 'pollOut', z: 'tab', type: 'helper' },
    ];
    await helper.load(ALL_NODES, flow, { server: ADMIN });
    // The test helper's call recorders would keep every msg and status: production has none.
    removeTestSpies(
        helper,
        flow.map((node) => node.id),
    );
    return { live: helper.getNode('live'), liveOut: helper.getNode('liveOut'), poll: helper.getNode('poll'), pollOut: helper.getNode('pollOut') };
}

/** Live updates at `rate`: delivered, CPU µs per update, latency percentiles. */
async function measureLive(sim, nodes, rate) {
    const latencies = [];
    let measuring = false;
    const onInput = (msg) => {
        if (measuring && typeof msg.payload === 'number' && msg.payload > 1e12) latencies.push(now() - msg.payload);
    };
    nodes.liveOut.on('input', onInput);
    const cpuStart = process.cpuUsage();
    measuring = true;
    const { sent } = await sim.ask({ op: 'run', qualifiers, rate, ms: RUN_MS });
    await waitUntil(() => latencies.length >= sent, `${sent} updates at ${rate}/s`, 10000).catch(() => {});
    const cpu = cpuUs(cpuStart);
    measuring = false;
    nodes.liveOut.removeListener('input', onInput);
    // In arrival order: a client that falls behind delivers the last updates of the run ever later.
    const tenth = Math.max(1, Math.floor(latencies.length / 10));
    const firstTenthP50 = median(latencies.slice(0, tenth));
    const lastTenthP50 = median(latencies.slice(-tenth));
    const sorted = latencies.sort((a, b) => a - b);
    return {
        rate,
        sent,
        delivered: latencies.length,
        cpuUsPerUpdate: cpu / latencies.length,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted.length ? sorted[sorted.length - 1] : NaN,
        firstTenthP50,
        lastTenthP50,
    };
}

/** Authorized GETs paced at `rate` for RUN_MS at most: CPU µs per completed request, rate reached. */
async function measurePolling(nodes, rate) {
    const total = Math.round((rate * RUN_MS) / 1000);
    let replies = 0;
    const onInput = () => replies++;
    nodes.pollOut.on('input', onInput);
    const cpuStart = process.cpuUsage();
    const start = now();
    let sent = 0;
    await new Promise((resolve) => {
        const tick = () => {
            const due = Math.min(total, Math.floor(((now() - start) * rate) / 1000) + 1);
            // Never more than 64 in flight: past the client's limit the rate reached says so.
            while (sent < due && sent - replies < 64) {
                nodes.poll.receive({ payload: '' });
                sent++;
            }
            // A client that falls behind stops at RUN_MS too: the rate reached says how far it got.
            if (sent >= total || now() - start >= RUN_MS) resolve();
            else setTimeout(tick, 5);
        };
        tick();
    });
    await waitUntil(() => replies >= sent, 'the polled replies', 30000);
    const cpu = cpuUs(cpuStart);
    const seconds = (now() - start) / 1000;
    nodes.pollOut.removeListener('input', onInput);
    return { rate, requests: replies, reached: replies / seconds, cpuUsPerRequest: cpu / replies };
}

/** Values 1..count on one datapoint, every session expired after expireAt: what came out. */
async function checkRelogin(sim, nodes) {
    const seen = [];
    const onInput = (msg) => {
        if (msg.topic === SEQUENCE.qualifier && Number.isInteger(msg.payload) && msg.payload > 0) seen.push(msg.payload);
    };
    nodes.liveOut.on('input', onInput);
    const loginsBefore = (await sim.ask({ op: 'stats' })).loginsOk;
    await sim.ask({ op: 'sequence', ...SEQUENCE });
    await waitUntil(() => seen.includes(SEQUENCE.count), 'the last value of the sequence', 20000).catch(() => {});
    nodes.liveOut.removeListener('input', onInput);
    const loginsAfter = (await sim.ask({ op: 'stats' })).loginsOk;
    const counts = new Map();
    for (const value of seen) counts.set(value, (counts.get(value) || 0) + 1);
    const duplicates = [...counts.values()].filter((c) => c > 1).length;
    const missing = [];
    for (let v = 1; v <= SEQUENCE.count; v++) if (!counts.has(v)) missing.push(v);
    const outOfOrder = seen.filter((v, i) => i > 0 && v < seen[i - 1]).length;
    return {
        sent: SEQUENCE.count,
        received: seen.length,
        duplicates,
        missing: missing.length,
        missingRange: missing.length ? `${missing[0]}–${missing[missing.length - 1]}` : '',
        outOfOrder,
        relogins: loginsAfter - loginsBefore,
        lastSeen: seen[seen.length - 1],
    };
}

const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

/** Whether the live node kept up at `l.rate`: every update out, and the run's last tenth no later than its first (a backlog grows). */
function keptUp(l) {
    return l.delivered === l.sent && l.lastTenthP50 <= Math.max(GOAL_P99_MS, 2 * l.firstTenthP50);
}

async function main() {
    const cores = os.cpus().length;
    const loadAtStart = os.loadavg()[0];
    console.log(`load average (1 min) at start: ${loadAtStart.toFixed(2)} on ${cores} cores`);
    if (loadAtStart > cores) console.log('WARNING: load above 1 per core at start: other processes share the CPUs; this run will be marked unreliable');
    const sim = startSimulator();
    const { baseUrl } = await sim.next();
    await helper.startServer();
    const nodes = await loadFlow(baseUrl);
    // Warm-up: the socket open, the initial values in, one polled request (the login) and a short run.
    await new Promise((resolve) => {
        nodes.pollOut.once('input', resolve);
        nodes.poll.receive({ payload: '' });
    });
    await measureLive(sim, nodes, 500);
    const live = [];
    const polling = [];
    for (const rate of RATES) {
        live.push(await measureLive(sim, nodes, rate));
        polling.push(await measurePolling(nodes, rate));
    }
    const relogin = await checkRelogin(sim, nodes);
    await helper.unload();
    await helper.stopServer();
    sim.child.kill();

    const lines = [
        `| updates/s | delivered / sent | live CPU µs/update | p50 ms | p99 ms | max ms | p50 ms first / last tenth | polling req/s reached | polling CPU µs/request | live ÷ polling CPU |`,
        `|---|---|---|---|---|---|---|---|---|---|`,
    ];
    for (let i = 0; i < RATES.length; i++) {
        const l = live[i];
        const p = polling[i];
        lines.push(
            `| ${l.rate} | ${l.delivered} / ${l.sent} | ${fmt(l.cpuUsPerUpdate)} | ${fmt(l.p50, 2)} | ${fmt(l.p99, 2)} | ${fmt(l.max, 1)} | ${fmt(l.firstTenthP50, 2)} / ${fmt(l.lastTenthP50, 2)} | ${fmt(p.reached, 0)} | ${fmt(p.cpuUsPerRequest)} | ${fmt(l.cpuUsPerUpdate / p.cpuUsPerRequest, 3)} |`,
        );
    }
    const at = RATES.indexOf(GOAL_RATE);
    const goals = [];
    if (at >= 0) {
        const ratio = live[at].cpuUsPerUpdate / polling[at].cpuUsPerRequest;
        goals.push(
            `At ${GOAL_RATE}/s: live CPU per update is ${fmt(ratio, 3)} of a polled request's (goal ≤ ${GOAL_CPU_RATIO}): ${ratio <= GOAL_CPU_RATIO ? 'met' : 'NOT met'}.`,
        );
        goals.push(`At ${GOAL_RATE}/s: p99 ${fmt(live[at].p99, 2)} ms (goal ≤ ${GOAL_P99_MS} ms): ${live[at].p99 <= GOAL_P99_MS ? 'met' : 'NOT met'}.`);
    }
    const sustain = RATES.indexOf(SUSTAIN_RATE);
    if (sustain >= 0) {
        const l = live[sustain];
        goals.push(
            `At ${SUSTAIN_RATE}/s for ${RUN_MS} ms: ${l.delivered} of ${l.sent} delivered, p50 ${fmt(l.firstTenthP50, 2)} ms in the first tenth and ${fmt(l.lastTenthP50, 2)} ms in the last ` +
                `(kept up = all delivered and the last tenth within max(${GOAL_P99_MS} ms, 2× the first)): ${keptUp(l) ? 'met' : 'NOT met'}.`,
        );
    }
    const r = relogin;
    goals.push(
        `Forced re-login at value ${SEQUENCE.expireAt} of ${r.sent} (${SEQUENCE.rate}/s): ${r.relogins} login(s), ${r.received} received, ${r.duplicates} duplicated, ${r.missing} missing${r.missing ? ` (${r.missingRange})` : ''}, ${r.outOfOrder} out of order, last seen ${r.lastSeen}.`,
    );
    const loadAtEnd = os.loadavg()[0];
    const reliable = Math.max(loadAtStart, loadAtEnd) <= cores;
    const header =
        `${N} datapoints, ${RUN_MS} ms per rate; node ${process.version}, ${cores} × ${os.cpus()[0].model}, ` +
        `load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end${reliable ? '' : ' (**unreliable: above 1 per core, not evidence**)'}`;
    const md = [header, '', ...lines, '', ...goals.map((g) => `- ${g}`), ''].join('\n');
    console.log(`\n${md}`);
    fs.mkdirSync(OUT_DIR, { recursive: true });
    fs.writeFileSync(
        path.join(OUT_DIR, 'updates.json'),
        `${JSON.stringify({ N, RUN_MS, live, polling, relogin, loadAverage1m: { start: loadAtStart, end: loadAtEnd }, reliable }, null, 4)}\n`,
    );
    fs.writeFileSync(path.join(OUT_DIR, 'updates.md'), md);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});

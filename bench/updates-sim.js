'use strict';
/**
 * The SmartServer simulator for `npm run bench -- --updates`, in its own process so the client's CPU
 * is measured alone. Commands arrive over IPC:
 *   { op: 'run', qualifiers, rate, ms }  changes the qualifiers round-robin at `rate` per second for
 *       `ms`; each value is the epoch time (fractional ms) of its setValue, so the client can tell
 *       the latency from the simulator's send to its output;
 *   { op: 'sequence', qualifier, count, rate, expireAt }  sets 1..count, expiring every session
 *       (a forced re-login) after value `expireAt`;
 *   { op: 'stats' }.
 */
const { performance } = require('node:perf_hooks');

require('tsx/cjs/api').register();
const { SmartServerSimulator } = require('../test/simulators/smartserver.ts');

const TICK_MS = 5;
const now = () => performance.timeOrigin + performance.now();
const sim = new SmartServerSimulator({ port: 0 });

/** Calls `step(i)` `total` times, paced at `rate` per second in TICK_MS slices; resolves when done. */
function paced(total, rate, step) {
    return new Promise((resolve) => {
        const start = now();
        let done = 0;
        const tick = () => {
            const due = Math.min(total, Math.floor(((now() - start) * rate) / 1000) + 1);
            while (done < due) step(done++);
            if (done >= total) resolve();
            else setTimeout(tick, TICK_MS);
        };
        tick();
    });
}

process.on('message', async (cmd) => {
    if (cmd.op === 'run') {
        const total = Math.round((cmd.rate * cmd.ms) / 1000);
        const sentBefore = sim.ws.stats.updatesSent;
        await paced(total, cmd.rate, (i) => sim.setValue(cmd.qualifiers[i % cmd.qualifiers.length], now()));
        await new Promise((resolve) => setImmediate(resolve));
        process.send({ op: 'ran', sent: total, framed: sim.ws.stats.updatesSent - sentBefore });
    } else if (cmd.op === 'sequence') {
        await paced(cmd.count, cmd.rate, (i) => {
            sim.setValue(cmd.qualifier, i + 1);
            if (i + 1 === cmd.expireAt) sim.expireSessions();
        });
        process.send({ op: 'sequenced' });
    } else if (cmd.op === 'stats') {
        process.send({ op: 'stats', loginsOk: sim.stats.loginsOk, requests: sim.stats.requests.length });
    }
});

sim.start().then(() => process.send({ op: 'ready', baseUrl: sim.baseUrl('cms') }));

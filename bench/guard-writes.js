'use strict';
/**
 * The cost of one login's writes to the guard's file (bench.js, BENCH_EXTRAS): the charge (written
 * and flushed before the login may be sent) and its settlement, through the built embedded store in
 * a temporary directory, one login after the other as the guard runs them. Requests on a live
 * session write nothing, so this is paid per login only.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { FileStore } = require('../nodes/lib/store/file-store');

const POLICY = { coolDownMs: 300000, maxFailedLogins: 3, failureWindowMs: 1800000, leaseMs: 120000 };

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** `logins` logins of as many accounts (the file grows as it would), each charged and settled as a success. */
async function guardWrites(logins = 200) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-guard-'));
    const store = new FileStore(path.join(dir, '.rest-session-guard.json'));
    try {
        const times = [];
        for (let i = 0; i < logins; i++) {
            // Every tenth account keeps a failure, so the file holds some state while it is rewritten.
            const start = process.hrtime.bigint();
            const charged = await store.charge(`account-${i}`, 'credential', POLICY);
            await store.settle(charged.granted, i % 10 ? { kind: 'success' } : { kind: 'unknown', code: 'TIMEOUT' });
            times.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
        const sorted = times.sort((a, b) => a - b);
        return {
            logins,
            writesPerLogin: 2,
            p50ms: Number(percentile(sorted, 50).toFixed(2)),
            p99ms: Number(percentile(sorted, 99).toFixed(2)),
            fileBytes: fs.statSync(path.join(dir, '.rest-session-guard.json')).size,
        };
    } finally {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

module.exports = { guardWrites };

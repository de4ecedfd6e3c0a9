/**
 * The guard's memory across real processes (README, "What survives a restart"): Node-RED started by
 * its binary on a user dir holding this package and a flow that polls an authorized request every
 * 0.3 s, restarted with SIGINT and SIGKILL, against the SmartServer simulator with its lock model
 * (5 failures in 10 min). The simulator's own login log is the evidence.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';

import { SmartServerSimulator } from '../simulators/smartserver';
import { NodeRedProcess, makeUserDir, startNodeRed, writeUserDir } from '../support/node-red-process';
import { makeReadOnly, makeWritable } from '../support/read-only-dir';
import { waitFor } from '../support/wait';

const USER = 'guard-operator';
const RIGHT = 'Right-Passw0rd!guard';
const WRONG = 'Wrong-Passw0rd!guard';
const GUARD_FILE = '.rest-session-guard.json';
const KEY_FILE = '.rest-session-guard.key';
/** Longer than the whole suite: whatever holds a login at one start must still hold it at the next. */
const SETTINGS = {
    restSessionServerCoolDown: 600_000,
    restSessionServerFailureWindow: 600_000,
    restSessionServerMaxFailedLogins: 3,
    // Starts are the cost of this suite: no editor, no HTTP routes, and only the core nodes the flow uses.
    disableEditor: true,
    httpAdminRoot: false,
    httpNodeRoot: false,
    nodesExcludes: [
        ...['05-junction', '24-complete', '60-link', '90-comment'],
        ...['10-function', '10-switch', '15-change', '16-range', '80-template', '89-delay', '89-trigger', '90-exec', 'rbe'],
        ...['10-mqtt', '21-httpin', '21-httprequest', '22-websocket', '31-tcpin', '32-udp'],
    ].map((name) => `${name}.js`),
};

/** inject (every 0.3 s, at once too) → authorized request; its errors' codes and the statuses print to the log. */
function flows(baseUrl: string): unknown[] {
    const inTab = (node: Record<string, unknown>): Record<string, unknown> => ({ z: 'tab', x: 100, y: 100, ...node });
    const print = (id: string, complete: string): Record<string, unknown> =>
        inTab({ id, name: id, type: 'debug', active: true, tosidebar: false, console: true, complete, wires: [] });
    return [
        { id: 'tab', type: 'tab', label: 'guard' },
        { id: 'srv', type: 'rest-session-server', vendor: 'smartserver', baseUrl, tls: '', requestTimeout: 1000, logoutOnClose: true, exposeCredential: false },
        inTab({ id: 'tick', type: 'inject', props: [{ p: 'payload' }], repeat: '0.3', once: true, onceDelay: 0.05, topic: '', wires: [['read']] }),
        inTab({ id: 'read', type: 'rest-session-request', server: 'srv', method: 'GET', url: '/iap/devs', ret: 'obj', paytoqs: 'ignore', wires: [['ok']] }),
        print('ok', 'statusCode'),
        inTab({ id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught', 'reason']] }),
        print('caught', 'errorCode'),
        print('reason', 'error.message'),
        inTab({ id: 'watcher', type: 'status', scope: ['read'], wires: [['status']] }),
        print('status', 'status.text'),
    ];
}

describe('login guard across real restarts and crashes (Node-RED by its binary)', function () {
    this.timeout(180_000);
    let sim: SmartServerSimulator;
    const dirs: string[] = [];
    let running: NodeRedProcess | undefined;

    beforeEach(async function () {
        sim = new SmartServerSimulator({ tls: false, users: { [USER]: { password: RIGHT } } });
        await sim.start();
    });

    afterEach(async function () {
        await running?.stop('SIGKILL');
        running = undefined;
        await sim.stop();
    });

    after(function () {
        for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    });

    function userDir(settings: Record<string, unknown> = {}): string {
        const dir = makeUserDir({
            settings: { ...SETTINGS, ...settings },
            flows: flows(sim.origin),
            credentials: { srv: { username: USER, password: '${GUARD_TEST_PASSWORD}' } },
        });
        dirs.push(dir);
        return dir;
    }

    const logins = (): number => sim.stats.logins.filter((entry) => entry.username === USER).length;

    /**
     * One start: runs until a request failed with `code` (printed by the Catch) and, if given, for a
     * reason (the error's message) that matches `reason`; then stops with `signal`.
     */
    async function startUntil(dir: string, code: string, signal: NodeJS.Signals, password = WRONG, reason?: RegExp): Promise<string> {
        running = await startNodeRed(dir, { GUARD_TEST_PASSWORD: password });
        await running.waitForOutput(new RegExp(`\\[debug:caught\\] ${code}`));
        if (reason) await running.waitForOutput(new RegExp(`\\[debug:reason\\] .*${reason.source}`));
        const output = running.output();
        await running.stop(signal);
        running = undefined;
        return output;
    }

    it('8 starts (SIGINT) with a wrong password: one login reaches the server, its cool-down holds at every later start, no lock', async function () {
        const dir = userDir();
        for (let start = 0; start < 8; start++) await startUntil(dir, 'INVALID_CREDENTIALS', 'SIGINT');
        assert.strictEqual(logins(), 1, JSON.stringify(sim.stats.logins));
        assert.deepStrictEqual(sim.locks, []);

        // the file's raw bytes hold no secret, user name or host, even after a successful login
        running = await startNodeRed(dir, { GUARD_TEST_PASSWORD: RIGHT });
        await running.waitForOutput(/\[debug:ok\] 200/);
        await running.stop('SIGINT');
        running = undefined;
        const cookies = sim.stats.requests.map((request) => request.cookie).filter(Boolean);
        assert.ok(cookies.length > 0, 'the right password logged in and sent its cookie');
        const bytes = Buffer.concat([GUARD_FILE, KEY_FILE].map((name) => fs.readFileSync(path.join(dir, name))));
        for (const secret of [USER, RIGHT, WRONG, '127.0.0.1', new URL(sim.origin).host, ...cookies.map((cookie) => cookie.split('=')[1])]) {
            assert.ok(!bytes.includes(secret), `the guard's files hold "${secret}"`);
        }
        if (process.platform !== 'win32') {
            for (const name of [GUARD_FILE, KEY_FILE]) assert.strictEqual(fs.statSync(path.join(dir, name)).mode & 0o777, 0o600, name);
        }
    });

    it('a crash loop (SIGKILL) with every login answered 503: 3 logins reach the server in all, no lock', async function () {
        sim.scriptLogins(...Array.from({ length: 20 }, () => ({ kind: 'status' as const, status: 503 })));
        const dir = userDir();
        for (let start = 0; start < 4; start++) await startUntil(dir, 'SERVER_ERROR', 'SIGKILL');
        assert.strictEqual(logins(), 3, JSON.stringify(sim.stats.logins));
        assert.deepStrictEqual(sim.locks, []);
    });

    it('SIGKILL while a login is on the wire (the server holds the reply): after the restart that attempt is still charged', async function () {
        sim.scriptLogins({ kind: 'hang' });
        const dir = userDir({ restSessionServerMaxFailedLogins: 1 });
        running = await startNodeRed(dir, { GUARD_TEST_PASSWORD: WRONG });
        await waitFor(() => logins() === 1, { message: 'the login on the wire' });
        await running.stop('SIGKILL');
        running = undefined;
        // Another password, so only the budget (1) can hold it: the attempt that was on the wire spent it.
        await startUntil(dir, 'TIMEOUT', 'SIGINT', 'Other-Passw0rd!guard', /Login not sent: 1 failed logins as "guard-operator"/);
        // The same password waits out a cool-down too: that attempt may have been rejected.
        await startUntil(dir, 'TIMEOUT', 'SIGINT', WRONG, /got no answer before its process stopped/);
        assert.strictEqual(logins(), 1, 'the restart sent no login: the in-doubt attempt spent the budget');
    });

    it('a server block (429 "wait 10 minutes") survives a restart', async function () {
        sim.scriptLogins({ kind: 'lock', waitMs: 10 * 60_000 });
        const dir = userDir();
        await startUntil(dir, 'LOCKED_OUT', 'SIGINT', RIGHT);
        await startUntil(dir, 'LOCKED_OUT', 'SIGKILL', RIGHT, /Login not sent: the server blocked logins as "guard-operator" \(LOCKED_OUT\)/);
        assert.strictEqual(logins(), 1);
    });

    it('a corrupt file is set aside with a warning, and no login is sent for one window', async function () {
        const dir = userDir();
        fs.writeFileSync(path.join(dir, GUARD_FILE), '{"version":1,"accounts":{"x":');
        const output = await startUntil(dir, 'GUARD_UNAVAILABLE', 'SIGINT', RIGHT);
        assert.match(output, /\[warn\] rest-session: The login guard's file .*\.rest-session-guard\.json was set aside as \.rest-session-guard\.json\.bad-/);
        assert.strictEqual(fs.readdirSync(dir).filter((name) => name.startsWith(`${GUARD_FILE}.bad-`)).length, 1);
        assert.strictEqual(logins(), 0);
    });

    it('a read-only location: GUARD_UNAVAILABLE, nothing sent, a red status that names the file', async function () {
        const dir = userDir();
        const readOnly = path.join(dir, 'read-only');
        fs.mkdirSync(readOnly);
        const file = path.join(readOnly, 'guard.json');
        writeUserDir(dir, {
            settings: { ...SETTINGS, restSessionServerGuardFile: file },
            flows: flows(sim.origin),
            credentials: { srv: { username: USER, password: '${GUARD_TEST_PASSWORD}' } },
        });
        makeReadOnly(readOnly);
        try {
            running = await startNodeRed(dir, { GUARD_TEST_PASSWORD: RIGHT });
            await running.waitForOutput(/\[debug:caught\] GUARD_UNAVAILABLE/);
            await running.waitForOutput(new RegExp(`\\[debug:status\\] login guard cannot write ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        } finally {
            await running?.stop('SIGINT');
            running = undefined;
            makeWritable(readOnly);
        }
        assert.strictEqual(logins(), 0);
    });
});

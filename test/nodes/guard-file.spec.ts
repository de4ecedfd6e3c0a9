/**
 * The guard's file in a Node-RED runtime (settings.js `restSessionServerGuardFile`): Test login and
 * every config node use the one store of the process, a request on a live session never touches it,
 * and `false` keeps the guard in memory with a warning at start. The SmartServer simulator's login
 * log and the file itself are the evidence.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import sinon from 'sinon';

import { DEFAULT_LEASE_MS } from '../../src/lib/session/login-guard';
import { SmartServerSimulator } from '../simulators/smartserver';
import { ALL_NODES, FlowNode, Msg, helper } from '../support/harness';
import { quietPeriod, waitFor } from '../support/wait';

const USER = 'file-operator';
const RIGHT = 'Right-Passw0rd!file';
const WRONG = 'Wrong-Passw0rd!file';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const guardFiles = require('../../nodes/lib/node-red/guard-file.js') as { closeEmbeddedStores(): Promise<void> };

function flow(baseUrl: string, requestTimeout = 2000): FlowNode[] {
    const server = (id: string): FlowNode => ({ id, type: 'rest-session-server', name: '', vendor: 'smartserver', baseUrl, tls: '', requestTimeout });
    const inTab = (node: FlowNode): FlowNode => ({ z: 'tab', ...node });
    return [
        { id: 'tab', type: 'tab', label: 'guard file' },
        server('s1'),
        server('s2'),
        ...[
            { id: 'r1', type: 'rest-session-request', server: 's1', method: 'GET', url: '/iap/devs', ret: 'obj', paytoqs: 'ignore', wires: [['out']] },
            { id: 'r2', type: 'rest-session-request', server: 's2', method: 'GET', url: '/iap/devs', ret: 'obj', paytoqs: 'ignore', wires: [['out']] },
            { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['out']] },
            { id: 'out', type: 'helper' },
        ].map(inTab),
    ];
}

describe('login guard file in a runtime', function () {
    let sim: SmartServerSimulator;
    let dir: string;
    let file: string;

    before(async () => helper.startServer());
    after(async () => helper.stopServer());

    beforeEach(async function () {
        sim = new SmartServerSimulator({ tls: false, users: { [USER]: { password: RIGHT } } });
        await sim.start();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guard-file-'));
        file = path.join(dir, 'guard.json');
    });

    afterEach(async function () {
        await helper.unload();
        await guardFiles.closeEmbeddedStores();
        helper.settings({});
        await sim.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Sends a msg to a node and resolves with what came out (the msg, or the Catch's). */
    function send(nodeId: string): Promise<Msg> {
        return new Promise((resolve) => {
            helper.getNode('out').once('input', resolve);
            helper.getNode(nodeId).receive({ payload: 'go' });
        });
    }

    const logins = (): number => sim.stats.logins.filter((entry) => entry.username === USER).length;

    it('is one store for Test login and every config node: a password Test login saw rejected is not sent by a deployed node', async function () {
        helper.settings({ restSessionServerGuardFile: file });
        await helper.load(ALL_NODES, flow(sim.origin), { s1: { username: USER, password: WRONG }, s2: { username: USER, password: WRONG } });
        const test = await helper
            .request()
            .post('/rest-session-server/test-login')
            .send({ vendor: 'smartserver', baseUrl: sim.origin, tls: '', proxy: '', requestTimeout: '2000', username: USER, password: WRONG });
        assert.strictEqual(test.body.code, 'INVALID_CREDENTIALS');
        assert.strictEqual((await send('r1')).errorCode, 'INVALID_CREDENTIALS');
        assert.strictEqual((await send('r2')).errorCode, 'INVALID_CREDENTIALS');
        assert.strictEqual(logins(), 1, 'only the Test login reached the server');
        assert.ok(fs.existsSync(file));
        assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['guard.json', 'guard.key'], 'one store, its file and its key');
    });

    it('writes per login only: requests on a live session leave the file untouched', async function () {
        helper.settings({ restSessionServerGuardFile: file });
        await helper.load(ALL_NODES, flow(sim.origin), { s1: { username: USER, password: RIGHT }, s2: { username: USER, password: RIGHT } });
        assert.strictEqual((await send('r1')).statusCode, 200);
        const before = fs.statSync(file);
        for (let i = 0; i < 20; i++) assert.strictEqual((await send('r1')).statusCode, 200);
        const after = fs.statSync(file);
        assert.strictEqual(logins(), 1);
        assert.deepStrictEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], 'no write, no rename');
    });

    it('has no lease that could run out: a login held past the 2-min shared-store default (requestTimeout 3 min) keeps every other login of the account waiting', async function () {
        helper.settings({ restSessionServerGuardFile: file });
        await helper.load(ALL_NODES, flow(sim.origin, 3 * 60_000), { s1: { username: USER, password: RIGHT }, s2: { username: USER, password: RIGHT } });
        const loginArrivals = (): number => sim.stats.requests.filter((r) => r.path === '/iap/auth/login').length;
        const release = sim.holdWhere((ctx) => ctx.pathname === '/iap/auth/login');
        const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
        try {
            const answers: Msg[] = [];
            helper.getNode('out').on('input', (msg: Msg) => answers.push(msg));
            helper.getNode('r1').receive({ topic: 's1' });
            await waitFor(() => loginArrivals() === 1, { message: "s1's login on the wire" });
            clock.tick(DEFAULT_LEASE_MS + 60_000);
            // s2 (same origin and user, so the same guard): its login waits for s1's to end, however long that takes.
            helper.getNode('r2').receive({ topic: 's2' });
            await quietPeriod(500);
            assert.strictEqual(loginArrivals(), 1, 'no second login of the account while the first is on the wire');
            release();
            await waitFor(() => answers.length === 2, { message: 'both answered' });
            assert.deepStrictEqual(answers.map((m) => `${m.topic} ${m.statusCode}`).sort(), ['s1 200', 's2 200']);
            assert.strictEqual(loginArrivals(), 2, "s2 logged in once s1's login had ended");
        } finally {
            clock.restore();
        }
    });

    it('keeps the guard in memory with a warning at start when restSessionServerGuardFile is false', async function () {
        helper.settings({ restSessionServerGuardFile: false });
        await guardFiles.closeEmbeddedStores();
        await helper.load(ALL_NODES, flow(sim.origin), { s1: { username: USER, password: WRONG }, s2: { username: USER, password: WRONG } });
        const warned = await waitFor(() =>
            helper
                .log()
                ?.args.map((args) => JSON.stringify(args))
                .find((text) => text.includes('restSessionServerGuardFile is false')),
        );
        assert.match(warned, /a restart gives a wrong password fresh attempts/);
        assert.strictEqual((await send('r1')).errorCode, 'INVALID_CREDENTIALS');
        assert.deepStrictEqual(fs.readdirSync(dir), [], 'nothing written');
    });
});

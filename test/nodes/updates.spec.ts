/**
 * The live updates node in a real Node-RED runtime against the SmartServer simulator's IAP/WS, over
 * wss with the self-signed fixture certificate through a tls-config node (README, "live updates"
 * "rest-session-updates", docs/vendors.md §1a). Counts come from the simulator: its sockets, its
 * subscription lists, its logins.
 */
import assert from 'node:assert';

import { SmartServerSimulator } from '../simulators/smartserver';
import { helper, ADMIN, ALL_NODES, Recorder, tlsNode, serverNode, logText, type FlowNode } from '../support/harness';
import { quietPeriod, waitFor } from '../support/wait';

const VOLTS = '17q2d9x/lon/5/block/1/Volts_1';
const AMPS = '17q2d9x/lon/5/block/1/Amps_1';
const VOLTS_2 = 'a1b2c3/lon/1/block/1/Volts_1';

type Sim = SmartServerSimulator;

/** Waits (no sleeps) until `condition` holds. */
async function waitUntil(what: string, condition: () => boolean, timeoutMs = 8000): Promise<void> {
    await waitFor(condition, { message: what, timeoutMs });
}

interface FlowOptions {
    server?: Record<string, unknown>;
    u1?: Record<string, unknown>;
    u2?: Record<string, unknown> | null;
    extra?: Record<string, unknown>[];
}

/** Two live updates nodes (u1 → out1, u2 → out2) of one server, plus login/request nodes, Catch and Status. */
function updatesFlow(baseUrl: string, { server = {}, u1 = {}, u2 = {}, extra = [] }: FlowOptions = {}) {
    const inTab = (node: Record<string, unknown>) => ({ z: 'tab', ...node });
    return [
        { id: 'tab', type: 'tab', label: 'test' },
        tlsNode(),
        serverNode(baseUrl, server),
        ...[
            {
                id: 'u1',
                type: 'rest-session-updates',
                server: 'server',
                datapoints: `${VOLTS}\n${AMPS}`,
                events: 'datapoints',
                initial: true,
                wires: [['out1']],
                ...u1,
            },
            ...(u2 === null
                ? []
                : [
                      {
                          id: 'u2',
                          type: 'rest-session-updates',
                          server: 'server',
                          datapoints: VOLTS_2,
                          events: 'datapoints',
                          initial: true,
                          wires: [['out2']],
                          ...u2,
                      },
                  ]),
            { id: 'l1', type: 'rest-session-login', server: 'server', wires: [['out']] },
            {
                id: 'r1',
                type: 'rest-session-request',
                server: 'server',
                method: 'PUT',
                url: '/iap/devs/17q2d9x.5/if/block/1/Volts_1/value',
                ret: 'txt',
                paytoqs: 'ignore',
                wires: [['out']],
            },
            { id: 'o1', type: 'rest-session-logout', server: 'server', wires: [['out']] },
            { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
            { id: 'watcher', type: 'status', scope: null, wires: [['statuses']] },
            { id: 'out', type: 'helper' },
            { id: 'out1', type: 'helper' },
            { id: 'out2', type: 'helper' },
            { id: 'caught', type: 'helper' },
            { id: 'statuses', type: 'helper' },
            ...extra,
        ].map(inTab),
    ];
}

async function loadFlow(flow: FlowNode[], credentials: Record<string, unknown> = { server: ADMIN }) {
    await helper.load(ALL_NODES, flow, credentials);
    const recorder = (id: string) => (helper.getNode(id) ? new Recorder(id) : undefined);
    return { out: recorder('out'), out1: recorder('out1'), out2: recorder('out2'), caught: recorder('caught'), statuses: recorder('statuses') } as Record<
        string,
        any
    >;
}

/** The msgs a node sent for one datapoint, as [value, timestamp] pairs. */
function valuesOf(rec: any, topic: string): unknown[] {
    return rec.messages.filter((m: any) => m.topic === topic).map((m: any) => m.payload);
}

/** `fill:key` of every status a node showed (the test runtime shows i18n keys, e.g. "green:live"). */
function statusTexts(rec: any, node: string): string[] {
    const key = (text: unknown) =>
        String(text)
            .split(':')
            .pop()!
            .replace(/^rest-session-\w+\.status\./, '');
    return rec.messages.filter((m: any) => m.status.source.id === node).map((m: any) => `${m.status.fill}:${key(m.status.text)}`);
}

describe('live updates (rest-session-updates) over IAP/WS', function () {
    this.timeout(20000);
    let sim: Sim;

    async function startSim(options: Record<string, unknown> = {}): Promise<Sim> {
        sim = new SmartServerSimulator(options);
        await sim.start();
        return sim;
    }

    before(async function () {
        await helper.startServer();
    });
    after(async function () {
        await helper.stopServer();
    });
    afterEach(async function () {
        await helper.unload();
        if (sim) await sim.stop();
    });

    it('shares one socket between two nodes, subscribes the union, reads the current values and pushes changes', async function () {
        await startSim();
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms')));
        await waitUntil('both nodes have their current values', () => rec.out1.messages.length >= 2 && rec.out2.messages.length >= 1);
        assert.strictEqual(sim.ws.connectionCount(), 1, 'one socket for two nodes');
        assert.strictEqual(sim.stats.loginsOk, 1);
        assert.deepStrictEqual(sim.ws.subscriptions('admin'), [VOLTS, AMPS, VOLTS_2].sort());
        const initial = rec.out1.messages.find((m: any) => m.topic === VOLTS);
        assert.strictEqual(initial.payload, 230.1);
        assert.strictEqual(initial.locValue, 230.1);
        assert.strictEqual(typeof initial.timestamp, 'number');
        assert.strictEqual(initial.session.user, 'admin');
        assert.strictEqual(initial.session.headers, undefined);
        assert.deepStrictEqual(valuesOf(rec.out2, VOLTS_2), [229.4]);
        assert.ok(!rec.out2.messages.some((m: any) => m.topic === VOLTS), 'a node gets only its own datapoints');

        sim.setValue(VOLTS, 231.5, { presetValue: null });
        await waitUntil('the push arrives', () => valuesOf(rec.out1, VOLTS).length === 2);
        const pushed = rec.out1.messages.filter((m: any) => m.topic === VOLTS)[1];
        assert.strictEqual(pushed.payload, 231.5);
        assert.strictEqual(pushed.presetValue, null);
        assert.ok(Math.abs(pushed.timestamp - Date.now()) < 5000);
        const statuses = statusTexts(rec.statuses, 'u1');
        assert.ok(statuses.includes('green:live'), String(statuses));
    });

    it('sends a REST write made by an authorized request back as a live update', async function () {
        await startSim();
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms'), { u2: null }));
        await waitUntil('initial values', () => rec.out1.messages.length >= 2);
        helper.getNode('r1').receive({ payload: { value: 240 } });
        await waitUntil('the write comes back', () => valuesOf(rec.out1, VOLTS).includes(240));
        assert.strictEqual(rec.out.messages[0].statusCode, 204);
        assert.strictEqual(sim.stats.loginsOk, 1, 'the request and the socket share one session');
    });

    it('follows msg subscribe, unsubscribe and getSubscriptions, and the server list follows the union', async function () {
        await startSim();
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms'), { u1: { datapoints: '' }, u2: { datapoints: VOLTS } }));
        await waitUntil('u2 is live', () => sim.ws.subscriptions('admin').length === 1 && rec.out2.messages.length === 1);
        const u1 = helper.getNode('u1');
        u1.receive({ action: 'subscribe', topic: [AMPS, VOLTS] });
        await waitUntil('the union is sent', () => sim.ws.subscriptions('admin').length === 2);
        assert.deepStrictEqual(sim.ws.subscriptions('admin'), [AMPS, VOLTS].sort());
        await waitUntil('u1 gets the current values of what it subscribed', () => rec.out1.messages.length === 2);

        u1.receive({ action: 'getSubscriptions', keep: 1 });
        await waitUntil('the list comes out', () => rec.out1.messages.some((m: any) => m.topic === 'subscriptions'));
        const list = rec.out1.messages.find((m: any) => m.topic === 'subscriptions');
        assert.deepStrictEqual(list.payload, [AMPS, VOLTS]);
        assert.strictEqual(list.keep, 1);

        u1.receive({ action: 'unsubscribe', topic: [VOLTS, AMPS] });
        await waitUntil('the server list drops AMPS only (u2 still has VOLTS)', () => sim.ws.subscriptions('admin').length === 1);
        assert.deepStrictEqual(sim.ws.subscriptions('admin'), [VOLTS]);
        const before = rec.out1.messages.length;
        sim.setValue(VOLTS, 1);
        await waitUntil('u2 still gets VOLTS', () => valuesOf(rec.out2, VOLTS).includes(1));
        assert.strictEqual(rec.out1.messages.length, before, 'u1 unsubscribed');

        u1.receive({ action: 'bogus' });
        u1.receive({ action: 'subscribe', topic: 5 });
        await waitUntil('both bad msgs reach Catch', () => rec.caught.messages.length === 2);
        assert.deepStrictEqual(
            rec.caught.messages.map((m: any) => m.errorCode),
            ['INVALID_INPUT', 'INVALID_INPUT'],
        );
    });

    it('closes the socket (1000) and clears nothing else when the flow stops', async function () {
        await startSim();
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms')));
        await waitUntil('live', () => sim.ws.connectionCount() === 1 && rec.out2.messages.length === 1);
        await helper.unload();
        await waitUntil('the socket is closed', () => sim.ws.connectionCount() === 0);
        assert.strictEqual(sim.stats.logouts, 1, 'then the session logs out');
    });

    it('re-logs in once and resubscribes after the session expired (401 on the upgrade)', async function () {
        await startSim();
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms')));
        await waitUntil('live', () => rec.out1.messages.length === 2 && rec.out2.messages.length === 1);
        const subscribes = sim.ws.stats.subscribeCalls;
        sim.expireSessions();
        await waitUntil(
            'reconnected on a new session',
            () => sim.stats.loginsOk === 2 && sim.ws.connectionCount() === 1 && sim.ws.stats.subscribeCalls > subscribes,
            10000,
        );
        assert.ok(sim.ws.stats.refusedUpgrades >= 1, 'the old cookie was refused on the upgrade');
        assert.deepStrictEqual(sim.ws.subscriptions('admin'), [VOLTS, AMPS, VOLTS_2].sort());
        sim.setValue(AMPS, 9.9);
        await waitUntil('updates flow again', () => valuesOf(rec.out1, AMPS).includes(9.9));
        assert.strictEqual(sim.stats.loginsOk, 2, 'one re-login');
    });

    it('treats an accept followed by a close 1008 as the refusal', async function () {
        await startSim({ ws: { upgradeRefusal: 'close1008' } });
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms'), { u2: null }));
        await waitUntil('live', () => rec.out1.messages.length === 2);
        sim.expireSessions();
        await waitUntil('reconnected on a new session', () => sim.stats.loginsOk === 2 && sim.ws.connectionCount() === 1, 10000);
        sim.setValue(VOLTS, 7);
        await waitUntil('updates flow again', () => valuesOf(rec.out1, VOLTS).includes(7));
        assert.ok(sim.ws.stats.refusedUpgrades >= 1);
    });

    it('reconnects after a server restart and subscribes again', async function () {
        await startSim();
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms')));
        await waitUntil('live', () => rec.out1.messages.length === 2 && rec.out2.messages.length === 1);
        const port = sim.port ?? 0;
        await sim.stop();
        sim = new SmartServerSimulator({ port });
        await sim.start();
        await waitUntil('subscribed on the new server', () => sim.ws.subscriptions('admin').length === 3 && sim.ws.connectionCount() === 1, 10000);
        assert.strictEqual(sim.stats.loginsOk, 1, 'one login on the restarted server');
        sim.setValue(VOLTS_2, 5);
        await waitUntil('updates flow again', () => valuesOf(rec.out2, VOLTS_2).includes(5));
        await waitUntil('the status went red and back to green', () => statusTexts(rec.statuses, 'u2').slice(-1)[0] === 'green:live');
        assert.ok(
            statusTexts(rec.statuses, 'u2').some((text) => /^red:retrying/.test(text)),
            String(statusTexts(rec.statuses, 'u2')),
        );
    });

    for (const code of [1000, 1001, 1006]) {
        it(`reconnects after a close ${code} and fills the gap with the current values`, async function () {
            await startSim();
            const rec = await loadFlow(updatesFlow(sim.baseUrl('cms'), { u2: null }));
            await waitUntil('live', () => rec.out1.messages.length === 2);
            const upgrades = sim.ws.stats.upgrades;
            sim.ws.closeSockets(code);
            await waitUntil('the socket closed', () => sim.ws.connectionCount() === 0);
            sim.setValue(AMPS, 3.3); // while no socket is open
            await waitUntil('reconnected', () => sim.ws.stats.upgrades === upgrades + 1 && sim.ws.connectionCount() === 1, 10000);
            await waitUntil('the missed value came with the read after the reconnect', () => valuesOf(rec.out1, AMPS).includes(3.3));
            assert.strictEqual(sim.stats.loginsOk, 1, 'the session was still good: no login');
            assert.deepStrictEqual(valuesOf(rec.out1, VOLTS), [230.1], 'an unchanged value is not sent again');
        });
    }

    it('a reconnect waiting for its backoff when the config node begins closing is never made: only the logout reaches the server', async function () {
        await startSim();
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms'), { u2: null }));
        await waitUntil('live', () => rec.out1.messages.length === 2);
        const upgrades = sim.ws.stats.upgrades;
        sim.ws.closeSockets(1006);
        await waitUntil('waiting to reconnect', () => /^red:retrying/.test(statusTexts(rec.statuses, 'u1').slice(-1)[0] ?? ''));
        const seenBefore = sim.stats.requests.length;
        await (helper.getNode('server') as unknown as { close(removed: boolean): Promise<void> }).close(false);
        await quietPeriod(2500); // past the first backoff (at most 1 s): a reconnect would have come by now
        assert.strictEqual(sim.ws.stats.upgrades + sim.ws.stats.refusedUpgrades, upgrades, 'no socket after the close began');
        assert.deepStrictEqual(
            sim.stats.requests.slice(seenBefore).map((r) => `${r.method} ${r.path}`),
            ['PUT /cms/iap/auth/logout'],
            'nothing but the logout after the close began',
        );
    });

    it('holds back a rejected password: no reconnect storm, the guard counts one attempt', async function () {
        await startSim();
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms')), { server: { username: 'admin', password: 'wrong' } });
        await waitUntil('a red status with the reason', () => statusTexts(rec.statuses, 'u1').some((text) => text.startsWith('red:')));
        // The backoff retries after about 1 s and 2 s: the guard answers them without a request.
        await waitUntil('two retries have passed', () => statusTexts(rec.statuses, 'u1').filter((text) => text === 'yellow:connecting').length >= 3, 10000);
        assert.strictEqual(sim.stats.loginAttempts, 1, 'the rejected password was sent once');
        assert.strictEqual(sim.ws.stats.upgrades + sim.ws.stats.refusedUpgrades, 0, 'no socket without a session');
    });

    it('takes batched frames, several timestamp forms, no timestamp, structured values; ignores other frames with one warning', async function () {
        await startSim({ ws: { batchSize: 10, timestampFormat: 'iso-zone', hello: true } });
        const rec = await loadFlow(
            updatesFlow(sim.baseUrl('cms'), { u1: { datapoints: `${VOLTS}\n${AMPS}\n${VOLTS_2}`, events: 'all' }, u2: { datapoints: VOLTS } }),
        );
        await waitUntil('live', () => rec.out1.messages.filter((m: any) => m.topic !== 'NTF:HELLO').length === 3);
        sim.setValue(VOLTS, { value: 100, state: 1 }, { locValue: { value: 100, state: 1 }, presetValue: 'ON' });
        sim.setValue(AMPS, 2);
        sim.setValue(VOLTS_2, 3);
        await waitUntil('three updates from one frame', () => rec.out1.messages.length >= 6);
        const structured = rec.out1.messages.filter((m: any) => m.topic === VOLTS).slice(-1)[0];
        assert.deepStrictEqual(structured.payload, { value: 100, state: 1 });
        assert.strictEqual(structured.presetValue, 'ON');
        assert.strictEqual(typeof structured.timestamp, 'number');

        sim.ws.options.timestampFormat = 'none';
        sim.setValue(AMPS, 4);
        await waitUntil('an update without a time', () => valuesOf(rec.out1, AMPS).includes(4));
        assert.strictEqual(rec.out1.messages.filter((m: any) => m.topic === AMPS).slice(-1)[0].timestamp, null);

        const warnings: string[] = [];
        helper.getNode('u2').on('call:warn', (call: any) => warnings.push(String(call.args[0])));
        sim.ws.sendRaw('not json at all');
        sim.ws.sendRaw('{"no":"action"}');
        sim.ws.sendEvent('UPD:SOMETHING_NEW', { a: 1 });
        sim.ws.sendEvent('CRT:ALARM', { id: 7 });
        sim.setValue(VOLTS, 8);
        await waitUntil('the next update still arrives', () => valuesOf(rec.out2, VOLTS).includes(8));
        assert.strictEqual(warnings.filter((w) => /invalidFrame/.test(w)).length, 1, String(warnings));
        assert.strictEqual(warnings.filter((w) => /unknownAction/.test(w)).length, 0, 'said once already, for the hello');
        assert.strictEqual((logText().match(/unknownAction/g) || []).length, 2, 'once per node');
        assert.ok(!rec.out2.messages.some((m: any) => m.topic === 'CRT:ALARM'), 'events only with events: all');
        await waitUntil('u1 (events: all) got the events', () => rec.out1.messages.some((m: any) => m.topic === 'CRT:ALARM'));
        assert.deepStrictEqual(rec.out1.messages.find((m: any) => m.topic === 'UPD:SOMETHING_NEW').payload, { a: 1 });
        assert.ok(
            rec.out1.messages.some((m: any) => m.topic === 'NTF:HELLO'),
            'a hello is an event like any other',
        );
    });

    it('misses and duplicates nothing across a forced re-login with updates flowing', async function () {
        await startSim({ ws: { onSessionEnd: 'close' } });
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms'), { u2: null, u1: { initial: false } }));
        await waitUntil('live', () => sim.ws.connectionCount() === 1 && sim.ws.subscriptions('admin').length === 2);
        await waitUntil('the status is live', () => statusTexts(rec.statuses, 'u1').includes('green:live'));
        let next = 0;
        const timer = setInterval(() => sim.setValue(VOLTS, ++next), 2);
        try {
            await waitUntil('some updates', () => rec.out1.messages.length >= 20);
            helper.getNode('l1').receive({ forceLogin: true });
            await waitUntil('re-logged in and the old session logged out', () => sim.stats.loginsOk === 2 && sim.stats.logouts === 1, 10000);
            const count = rec.out1.messages.length;
            await waitUntil('updates go on', () => rec.out1.messages.length >= count + 20);
        } finally {
            clearInterval(timer);
        }
        await waitUntil('the last value arrived', () => valuesOf(rec.out1, VOLTS).includes(next));
        assert.deepStrictEqual(
            valuesOf(rec.out1, VOLTS),
            Array.from({ length: next }, (_, i) => i + 1),
            'every value once, in order',
        );
        await waitUntil('the old socket is gone', () => sim.ws.connectionCount() === 1);
        assert.strictEqual(sim.liveSessions(), 1);
    });

    it('renews ahead of a known expiry and moves the socket without a gap', async function () {
        this.timeout(40_000);
        // Just over the shortest lifetime trusted (10 s): renewed a tenth of it ahead, 10.8 s after the login.
        await startSim({ sessionTtlMs: 12_000 });
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms'), { u2: null, u1: { initial: false } }));
        await waitUntil('live', () => sim.ws.connectionCount() === 1 && statusTexts(rec.statuses, 'u1').includes('green:live'));
        let next = 0;
        const timer = setInterval(() => sim.setValue(AMPS, ++next), 5);
        try {
            // At least once (a loaded machine may see the renewed session renewed again before this looks).
            await waitUntil('renewed', () => sim.stats.loginsOk >= 2 && sim.stats.logouts >= 1, 25_000);
            const count = rec.out1.messages.length;
            await waitUntil('updates go on', () => rec.out1.messages.length >= count + 10);
        } finally {
            clearInterval(timer);
        }
        await waitUntil('the last value arrived', () => valuesOf(rec.out1, AMPS).includes(next));
        assert.deepStrictEqual(
            valuesOf(rec.out1, AMPS),
            Array.from({ length: next }, (_, i) => i + 1),
            'every value once, in order',
        );
        assert.strictEqual(sim.ws.stats.refusedUpgrades, 0, 'never on an expired cookie');
        assert.ok(!statusTexts(rec.statuses, 'u1').some((text) => text.startsWith('red:')), 'no outage');
        // Every renewal logged the session it replaced out, and no login came from a refusal.
        await waitUntil('the replaced sessions logged out', () => sim.stats.logouts === sim.stats.loginsOk - 1);
        assert.strictEqual(sim.liveSessions(), 1);
    });

    it('keeps the cookie out of every msg, status and log line', async function () {
        await startSim();
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms'), { u1: { events: 'all' } }));
        await waitUntil('live', () => rec.out1.messages.length === 2);
        sim.expireSessions();
        await waitUntil('reconnected', () => sim.stats.loginsOk === 2 && sim.ws.connectionCount() === 1, 10000);
        sim.ws.sendRaw('garbage');
        sim.setValue(VOLTS, 1);
        await waitUntil('an update', () => valuesOf(rec.out1, VOLTS).includes(1));
        const cookies = sim.stats.requests.map((r) => /cmsSID=([0-9a-f]+)/.exec(r.cookie)?.[1]).filter(Boolean) as string[];
        assert.ok(cookies.length >= 2);
        const seen = JSON.stringify([rec.out1.messages, rec.out2.messages, rec.statuses.messages, rec.caught.messages]) + logText();
        for (const cookie of new Set(cookies)) assert.ok(!seen.includes(cookie), 'a session cookie leaked');
    });

    it('puts the cookie into msg.session.headers only with exposeCredential', async function () {
        await startSim();
        const rec = await loadFlow(updatesFlow(sim.baseUrl('cms'), { server: { exposeCredential: true }, u2: null }));
        await waitUntil('live', () => rec.out1.messages.length === 2);
        assert.match(rec.out1.messages[0].session.headers.Cookie, /^cmsSID=[0-9a-f]+$/);
    });

    it('is a CONFIG error for a vendor without push: red status, logged, every msg fails', async function () {
        const flow = updatesFlow('http://127.0.0.1:9', { server: { vendor: 'cmwell', tls: '' }, u2: null });
        const rec = await loadFlow(flow);
        helper.getNode('u1').receive({ action: 'getSubscriptions' });
        await waitUntil('Catch', () => rec.caught.messages.length === 1);
        assert.strictEqual(rec.caught.messages[0].errorCode, 'CONFIG');
        assert.match(logText(), /does not push live updates/);
        assert.strictEqual(rec.out1.messages.length, 0);
    });
});

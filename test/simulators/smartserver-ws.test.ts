/**
 * The SmartServer simulator's IAP/WS (docs/vendors.md §1a) on its own, over real wss with the test CA
 * and a plain `ws` client: the upgrade's cookie check, the subscribe call at both layouts, one list
 * per user, pushes from REST writes and `setValue`, the on-demand read, and the knobs.
 */
import assert from 'node:assert';

import { WebSocket } from 'ws';

import { SmartServerSimulator } from './smartserver';
import { request, TEST_CA } from './http-get';
import { waitFor as waitUntil } from '../support/wait';

const ADMIN = { username: 'admin', password: 'Passw0rd!Passw0rd' };
const VOLTS = '17q2d9x/lon/5/block/1/Volts_1';
const AMPS = '17q2d9x/lon/5/block/1/Amps_1';
const JSON_TYPE = { 'Content-Type': 'application/json' };

interface Client {
    ws: WebSocket;
    frames: any[];
    closed: Promise<number>;
}

describe('SmartServer simulator: IAP/WS', function () {
    this.timeout(10000);
    let sim: SmartServerSimulator;
    /** The running simulator's origin. */
    const origin = () => sim.origin ?? '';

    async function startSim(options: ConstructorParameters<typeof SmartServerSimulator>[0] = {}) {
        sim = new SmartServerSimulator(options);
        await sim.start();
        return sim;
    }

    afterEach(async function () {
        await sim?.stop();
    });

    async function login(user = ADMIN): Promise<string> {
        const res = await request(`${origin()}/iap/auth/login`, { method: 'POST', headers: JSON_TYPE, body: user });
        assert.strictEqual(res.status, 200);
        return /^(cmsSID=[^;]+)/.exec(String(res.headers['set-cookie']?.[0]))![1];
    }

    function subscribe(cookie: string, list: unknown, base = origin()) {
        return request(`${base}/iap/dp/updates/subscribe`, { method: 'PUT', headers: { ...JSON_TYPE, Cookie: cookie }, body: JSON.stringify(list) });
    }

    /** Opens a socket; resolves once open, or with the HTTP status of a refused upgrade. */
    function connect(cookie?: string): Promise<Client | { status: number }> {
        const url = `${origin().replace(/^https/, 'wss')}/iap/ws`;
        const ws = new WebSocket(url, { ca: TEST_CA, headers: cookie ? { Cookie: cookie } : {} });
        const frames: any[] = [];
        ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
        const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
        return new Promise((resolve, reject) => {
            ws.on('open', () => resolve({ ws, frames, closed }));
            ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
            ws.on('error', (error) => {
                if (ws.readyState !== WebSocket.OPEN) reject(error);
            });
        });
    }

    async function open(cookie: string): Promise<Client> {
        const client = await connect(cookie);
        assert.ok('ws' in client, 'socket open');
        return client as Client;
    }

    const waitFor = (what: string, condition: () => boolean) => waitUntil(condition, { message: what, timeoutMs: 5000 });

    it('refuses an upgrade without a live cookie with 401, and accepts one with it (no hello)', async function () {
        await startSim();
        assert.deepStrictEqual(await connect(), { status: 401 });
        assert.deepStrictEqual(await connect('cmsSID=stale'), { status: 401 });
        const client = await open(await login());
        assert.strictEqual(sim.ws.connectionCount('admin'), 1);
        await new Promise((resolve) => setTimeout(resolve, 30));
        assert.deepStrictEqual(client.frames, [], 'no hello');
        client.ws.close();
    });

    it('can accept and then close 1008 instead (knob)', async function () {
        await startSim({ ws: { upgradeRefusal: 'close1008' } });
        const client = await open('cmsSID=stale');
        assert.strictEqual(await client.closed, 1008);
        assert.strictEqual(sim.ws.stats.refusedUpgrades, 1);
    });

    it('keeps one list per user at both path layouts: the last subscribe wins, [] clears, 400 for a non-array', async function () {
        await startSim();
        const cookie = await login();
        assert.strictEqual((await subscribe(cookie, [VOLTS])).status, 204);
        assert.strictEqual((await subscribe(cookie, [AMPS], `${origin()}/cms`)).status, 204);
        assert.deepStrictEqual(sim.ws.subscriptions('admin'), [AMPS]);
        assert.strictEqual((await subscribe(cookie, { not: 'a list' })).status, 400);
        assert.strictEqual((await subscribe('cmsSID=stale', [VOLTS])).status, 401);
        assert.strictEqual((await subscribe(cookie, [])).status, 204);
        assert.deepStrictEqual(sim.ws.subscriptions('admin'), []);
    });

    it('pushes a REST write and setValue to the sockets of the user whose list has the datapoint', async function () {
        await startSim({ users: { admin: { password: ADMIN.password }, other: { password: 'Other!Passw0rd1' } } });
        const cookie = await login();
        const otherCookie = await login({ username: 'other', password: 'Other!Passw0rd1' });
        const a = await open(cookie);
        const b = await open(await login()); // a second login of the same user shares the list
        const other = await open(otherCookie);
        await subscribe(cookie, [VOLTS]);
        const put = await request(`${origin()}/cms/iap/devs/17q2d9x.5/if/block/1/Volts_1/value`, {
            method: 'PUT',
            headers: { ...JSON_TYPE, Cookie: cookie },
            body: '{"value": 240}',
        });
        assert.strictEqual(put.status, 204);
        sim.setValue(AMPS, 1); // not subscribed
        await waitFor('the push', () => a.frames.length === 1 && b.frames.length === 1);
        const [frame] = a.frames;
        assert.strictEqual(frame.action, 'UPD:DATAPOINT');
        assert.strictEqual(frame.payload.length, 1);
        assert.strictEqual(frame.payload[0].datapointQualifier, VOLTS);
        assert.strictEqual(frame.payload[0].value, 240);
        assert.match(frame.payload[0].timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.deepStrictEqual(other.frames, [], 'another user has another list');
        for (const client of [a, b, other]) client.ws.close();
    });

    it('batches changes of one tick into frames of batchSize, with the timestamp variants', async function () {
        await startSim({ ws: { batchSize: 2, timestampFormat: 'iso-zone' } });
        const cookie = await login();
        const client = await open(cookie);
        await subscribe(cookie, [VOLTS, AMPS, 'x/lon/1/b/0/dp']);
        sim.setValue(VOLTS, 1);
        sim.setValue(AMPS, 2);
        sim.setValue('x/lon/1/b/0/dp', 3);
        await waitFor('two frames', () => client.frames.length === 2);
        assert.deepStrictEqual(
            client.frames.map((f) => f.payload.length),
            [2, 1],
        );
        assert.match(client.frames[0].payload[0].timestamp, /Z\[UTC\]$/);
        sim.ws.options.timestampFormat = 'none';
        sim.setValue(VOLTS, 4);
        await waitFor('a frame without a time', () => client.frames.length === 3);
        assert.ok(!('timestamp' in client.frames[2].payload[0]));
        client.ws.close();
    });

    it('answers the on-demand read by qualifier list with the cached values; max_age also pushes them', async function () {
        await startSim();
        const cookie = await login();
        const client = await open(cookie);
        await subscribe(cookie, [VOLTS, AMPS]);
        const list = [VOLTS, AMPS].map((q) => encodeURIComponent(q)).join(',');
        const res = await request(`${origin()}/cms/iap/devs/*/if/*/*/*+qualifier=-${list}/value?noxs=true`, { headers: { Cookie: cookie } });
        assert.strictEqual(res.status, 200);
        const body = res.json();
        assert.deepStrictEqual(
            body.map((e: any) => [e.dpQualifier, e.value]),
            [
                [VOLTS, 230.1],
                [AMPS, 1.5],
            ],
        );
        assert.ok(body.every((e: any) => typeof e.utc === 'string'));
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepStrictEqual(client.frames, [], 'no push without max_age');
        await request(`${origin()}/iap/devs/*/if/*/*/*+qualifier=-${list}/value?max_age=1&noxs=true`, { headers: { Cookie: cookie } });
        await waitFor('the pushes after a read with max_age', () => client.frames.length === 2);
        client.ws.close();
    });

    it("closes a session's sockets with 1000 on logout and expiry; closeSockets gives any code, 1006 drops", async function () {
        await startSim();
        const cookie = await login();
        const a = await open(cookie);
        await request(`${origin()}/iap/auth/logout`, { method: 'PUT', headers: { Cookie: cookie } });
        assert.strictEqual(await a.closed, 1000);
        const b = await open(await login());
        sim.expireSessions();
        assert.strictEqual(await b.closed, 1000);
        for (const code of [1001, 1006]) {
            const c = await open(await login());
            sim.ws.closeSockets(code);
            assert.strictEqual(await c.closed, code);
        }
    });

    it("sends raw frames and events for the client's edge cases", async function () {
        await startSim({ ws: { hello: true } });
        const cookie = await login();
        const url = `${origin().replace(/^https/, 'wss')}/iap/ws`;
        const ws = new WebSocket(url, { ca: TEST_CA, headers: { Cookie: cookie } });
        const texts: string[] = [];
        ws.on('message', (data) => texts.push(data.toString()));
        await new Promise((resolve) => ws.on('open', resolve));
        await waitFor('the hello', () => texts.length === 1);
        sim.ws.sendRaw('not json');
        sim.ws.sendEvent('UPD:NEW_THING', { a: 1 });
        await waitFor('both frames', () => texts.length === 3);
        assert.deepStrictEqual(texts.slice(1), ['not json', '{"action":"UPD:NEW_THING","payload":{"a":1}}']);
        ws.close();
    });
});

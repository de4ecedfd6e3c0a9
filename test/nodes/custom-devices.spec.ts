/**
 * Device and appliance APIs through the custom vendor, in a real Node-RED runtime over HTTPS with the
 * test CA: the UniFi OS, Proxmox VE and SAP Gateway presets against their simulators, and two APIs
 * that say "session ended" with a 200 body or a 302 to /login. The simulators' request logs are the
 * evidence: the CSRF header on writes and never on reads, never to another origin, renewed by the
 * update header, fetched again once when stale; one re-login and one replay per refusal; no CSRF
 * token, ticket or cookie in any msg, status or log.
 */
import assert from 'node:assert';

import { vendorAdapter } from '../../src/lib/vendors';
import { english } from '../../src/lib/texts';
import type { DeviceRecord, DeviceSimulator } from '../simulators/device-base';
import { ProxmoxSimulator } from '../simulators/proxmox';
import { SapGatewaySimulator } from '../simulators/sap-gateway';
import { SessionEndSimulator } from '../simulators/session-end';
import { UnifiOsSimulator } from '../simulators/unifi-os';
import { RecordingServer, type Received, type Reply, echoOf, json } from '../support/recording-server';
import { type FlowNode, type Msg, type Recorders, answeredOnce, helper, load, logText, standardFlow } from '../support/harness';

const PRESETS = vendorAdapter('custom').presets ?? {};

interface Device {
    name: string;
    preset: string;
    make(): DeviceSimulator;
    /** The base URL a config node uses for it. */
    base(sim: DeviceSimulator): string;
    read: string;
    write: string;
    csrfHeader: string;
    writeStatus: number;
}

const DEVICES: Device[] = [
    {
        name: 'UniFi OS console',
        preset: 'unifiOs',
        make: () => new UnifiOsSimulator(),
        base: (sim) => sim.baseUrl,
        read: '/proxy/network/api/s/default/stat/health',
        write: '/proxy/network/api/s/default/cmd/devmgr',
        csrfHeader: 'x-csrf-token',
        writeStatus: 200,
    },
    {
        name: 'Proxmox VE ticket',
        preset: 'proxmoxTicket',
        make: () => new ProxmoxSimulator(),
        base: (sim) => sim.baseUrl,
        read: '/api2/json/nodes',
        write: '/api2/json/nodes/pve1/qemu/100/status/start',
        csrfHeader: 'csrfpreventiontoken',
        writeStatus: 200,
    },
    {
        name: 'SAP Gateway (OData)',
        preset: 'sapGateway',
        make: () => new SapGatewaySimulator(),
        base: (sim) => (sim as SapGatewaySimulator).serviceUrl,
        read: '/Products',
        write: '/Products',
        csrfHeader: 'x-csrf-token',
        writeStatus: 201,
    },
];

/** Everything a flow user could read: msgs at the output and at Catch, statuses, the log. */
function everythingSeen(rec: Recorders): string {
    return (
        [rec.out.messages, rec.caught.messages, rec.caught.messages.map((m) => m.error), rec.statuses.messages].map((v) => JSON.stringify(v)).join('\n') +
        logText()
    );
}

function assertNoSecret(rec: Recorders, secrets: string[]): void {
    const seen = everythingSeen(rec);
    for (const secret of secrets) assert.ok(!seen.includes(secret) && !seen.includes(encodeURIComponent(secret)), `a secret leaked: ${secret.slice(0, 6)}…`);
}

/** A config node for the "session ended" simulators: a JSON login, the `sid` cookie, and the given signals. */
function sessionEndServer(signals: FlowNode): FlowNode {
    const login = { loginPath: '/login', loginBody: 'json', loginTemplate: '{"username":"{{username}}","password":"{{password}}"}' };
    return { vendor: 'custom', ...PRESETS.formCookie, ...login, tokenName: 'sid', logoutPath: '', ...signals };
}

/** A second request node, r2, that writes (POST) to `url`, wired to the same output. */
function writer(url: string, extra: FlowNode = {}): FlowNode {
    return { id: 'r2', type: 'rest-session-request', server: 'server', method: 'POST', url, ret: 'obj', paytoqs: 'ignore', wires: [['out']], ...extra };
}

describe('custom vendor: device APIs (CSRF tokens, session ended in a body or a redirect)', function () {
    let sim: DeviceSimulator;

    before(() => helper.startServer());
    after(() => helper.stopServer());
    afterEach(async () => {
        await helper.unload();
        await sim.stop();
    });

    async function loadDevice(device: Device, server: FlowNode = {}, extra: FlowNode[] = []): Promise<Recorders> {
        sim = device.make();
        await sim.start();
        const flow = standardFlow(device.base(sim), {
            server: { vendor: 'custom', ...PRESETS[device.preset], ...server },
            request: { url: device.read },
            extra: [writer(device.write), ...extra],
        });
        return load(flow, { server: sim.user });
    }

    const writesOf = (device: Device): DeviceRecord[] => sim.requestsTo('POST', new URL(device.base(sim) + device.write).pathname);
    const readsOf = (device: Device): DeviceRecord[] => sim.requestsTo('GET', new URL(device.base(sim) + device.read).pathname);

    for (const device of DEVICES) {
        describe(device.name, function () {
            it('logs in once from the preset, reads and writes; the CSRF header goes on every write and on no read', async function () {
                const rec = await loadDevice(device);
                for (let i = 0; i < 3; i++) {
                    helper.getNode('r1').receive({ i });
                    helper.getNode('r2').receive({ payload: { i } });
                }
                await answeredOnce(rec, 6);
                assert.deepStrictEqual(
                    rec.out.messages.map((m: Msg) => m.statusCode).sort(),
                    [200, 200, 200, device.writeStatus, device.writeStatus, device.writeStatus].sort(),
                );
                assert.deepStrictEqual([sim.stats.loginsOk, sim.stats.readsOk, sim.stats.writesOk, sim.stats.writesRefused], [1, 3, 3, 0]);
                const writes = writesOf(device);
                assert.strictEqual(writes.length, 3);
                const tokens = sim.issued();
                for (const write of writes) assert.ok(write.csrf && tokens.includes(write.csrf), 'a write carries the session CSRF token');
                assert.deepStrictEqual(
                    readsOf(device).map((read) => read.csrf),
                    ['', '', ''],
                    'no read carries it',
                );
                assert.ok(
                    sim.stats.requests.every((r) => r.method !== 'GET' || r.csrf === '' || r.csrf === 'Fetch'),
                    'no GET of any kind carries the token',
                );
                helper.getNode('o1').receive({});
                await answeredOnce(rec, 7);
                assertNoSecret(rec, sim.issued());
            });

            it('keeps the CSRF token, the ticket and the cookies out of msg.payload and msg.headers, and in msg.session.headers only when exposed', async function () {
                const rec = await loadDevice(device, { exposeCredential: true });
                helper.getNode('l1').receive({});
                helper.getNode('r2').receive({ payload: {} });
                await answeredOnce(rec, 2);
                const [login, write] = rec.out.messages;
                const exposed = JSON.stringify(write.session.headers);
                const token = writesOf(device)[0].csrf;
                assert.ok(exposed.includes(token), 'exposed with exposeCredential');
                for (const msg of [login, write]) {
                    const visible = JSON.stringify({ payload: msg.payload, headers: msg.headers, cookies: msg.responseCookies });
                    for (const secret of sim.issued()) assert.ok(!visible.includes(secret), `${secret.slice(0, 6)}… in a msg`);
                }
            });
        });
    }

    const FOUND: Record<string, { credential: string; writeToken: string }> = {
        unifiOs: { credential: 'cookie "TOKEN"', writeToken: 'login reply header "X-CSRF-Token", sent as header "X-CSRF-Token" on writes' },
        proxmoxTicket: {
            credential: 'reply field "data.ticket", sent as cookie "PVEAuthCookie"',
            writeToken: 'login reply field "data.CSRFPreventionToken", sent as header "CSRFPreventionToken" on writes',
        },
        sapGateway: {
            credential: 'cookie "SAP_SESSIONID_DEV_100", "sap-usercontext"',
            writeToken: 'reply header "X-CSRF-Token" of GET /, sent as header "X-CSRF-Token" on writes',
        },
    };

    for (const device of DEVICES) {
        it(`Test login (${device.name}) says where it found the credential and the CSRF token, never their values`, async function () {
            await loadDevice(device);
            const res = await helper
                .request()
                .post('/rest-session-server/test-login')
                .send({
                    id: 'server',
                    vendor: 'custom',
                    baseUrl: device.base(sim),
                    tls: 'tls',
                    proxy: '',
                    requestTimeout: '5000',
                    ...PRESETS[device.preset],
                    ...sim.user,
                });
            assert.strictEqual(res.body.ok, true, JSON.stringify(res.body));
            assert.deepStrictEqual({ credential: english(res.body.found.credential), writeToken: english(res.body.found.writeToken) }, FOUND[device.preset]);
            for (const secret of sim.issued()) assert.ok(!JSON.stringify(res.body).includes(secret));
        });
    }

    it('Proxmox: the ticket from the reply body travels as cookie PVEAuthCookie, and the session lasts 2 hours', async function () {
        const rec = await loadDevice(DEVICES[1]);
        helper.getNode('r1').receive({});
        const [msg] = await rec.out.waitFor(1);
        const [read] = readsOf(DEVICES[1]);
        assert.match(read.cookie, /^PVEAuthCookie=PVE:root@pam:/);
        assert.strictEqual(read.authorization, '');
        assert.ok(Math.abs(msg.session.expiresAt - msg.session.loggedInAt - 2 * 3600_000) < 5000);
    });

    it('SAP: logs in with RFC 7617 Basic (the password unchanged) and uses the session cookies after it', async function () {
        const rec = await loadDevice(DEVICES[2]);
        helper.getNode('r1').receive({});
        helper.getNode('r2').receive({ payload: { Name: 'x' } });
        await answeredOnce(rec, 2);
        const [login, fetch] = sim.stats.requests;
        assert.strictEqual(login.authorization, `Basic ${Buffer.from(`${sim.user.username}:${sim.user.password}`, 'utf8').toString('base64')}`);
        assert.deepStrictEqual(
            [fetch.method, fetch.path, fetch.csrf],
            ['GET', '/sap/opu/odata/sap/ZDEMO_SRV/', 'Fetch'],
            'the token is fetched after the login',
        );
        assert.ok(
            sim.stats.requests.slice(1).every((r) => r.authorization === '' && /SAP_SESSIONID_DEV_100=/.test(r.cookie)),
            'Basic only on the login',
        );
        assert.deepStrictEqual([sim.stats.loginsOk, sim.stats.csrfFetches], [1, 1]);
    });

    it('UniFi: honours X-Updated-CSRF-Token on the next write (no refusal, no second login)', async function () {
        const rec = await loadDevice(DEVICES[0]);
        (sim as UnifiOsSimulator).options = { rotateCsrf: true };
        for (let i = 0; i < 4; i++) {
            helper.getNode('r2').receive({ payload: { i } });
            await rec.out.waitFor(i + 1);
        }
        const sent = writesOf(DEVICES[0]).map((w) => w.csrf);
        assert.strictEqual(new Set(sent).size, 4, 'each write carried the token the previous reply handed over');
        assert.deepStrictEqual([sim.stats.loginsOk, sim.stats.writesOk, sim.stats.writesRefused], [1, 4, 0]);
        helper.getNode('o1').receive({});
        await rec.out.waitFor(5);
        assert.strictEqual(sim.stats.logouts, 1, 'the logout (a POST) carried the latest token');
        assertNoSecret(rec, sim.issued());
    });

    /** One write, then the server makes the token stale, then a burst of five writes: all answered. */
    async function staleBurst(device: Device): Promise<Recorders> {
        const rec = await loadDevice(device);
        helper.getNode('r2').receive({ payload: {} });
        await rec.out.waitFor(1);
        sim.staleCsrf();
        for (let i = 0; i < 5; i++) helper.getNode('r2').receive({ payload: { i } });
        await answeredOnce(rec, 6);
        assert.deepStrictEqual(
            rec.out.messages.map((m: Msg) => m.statusCode),
            new Array(6).fill(device.writeStatus),
        );
        assert.strictEqual(writesOf(device).length, 11, 'one write, then five refused and five replayed');
        return rec;
    }

    it('SAP: a stale token (403, X-CSRF-Token: Required) is fetched again once for a burst, each write replayed once, same session', async function () {
        const rec = await staleBurst(DEVICES[2]);
        assert.deepStrictEqual([sim.stats.loginsOk, sim.stats.csrfFetches, sim.stats.writesRefused, sim.stats.writesOk], [1, 2, 5, 6]);
        assertNoSecret(rec, sim.issued());
    });

    it('SAP: a write refused again after the new token is SESSION_REJECTED (one refetch, one replay, no loop)', async function () {
        const rec = await loadDevice(DEVICES[2]);
        helper.getNode('r1').receive({});
        await rec.out.waitFor(1);
        (sim as SapGatewaySimulator).options = { refuseWrites: true };
        helper.getNode('r2').receive({ payload: {} });
        await answeredOnce(rec, 2);
        assert.strictEqual(rec.caught.messages[0].errorCode, 'SESSION_REJECTED');
        assert.strictEqual(rec.caught.messages[0].statusCode, 403);
        assert.deepStrictEqual([sim.stats.loginsOk, sim.stats.csrfFetches, writesOf(DEVICES[2]).length], [1, 2, 2]);
        assertNoSecret(rec, sim.issued());
    });

    it('UniFi: a stale token from the login (403 api.err.LoginRequired) means one new login and one replay', async function () {
        const rec = await staleBurst(DEVICES[0]);
        assert.deepStrictEqual([sim.stats.loginsOk, sim.stats.writesRefused, sim.stats.writesOk], [2, 5, 6]);
        assertNoSecret(rec, sim.issued());
    });

    it('never sends the CSRF token (or the cookie) to another origin on a redirect; the same origin gets it', async function () {
        const other = await new RecordingServer(() => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' })).start();
        try {
            const rec = await loadDevice(DEVICES[0], {}, [writer('', { id: 'r3' })]);
            helper.getNode('r3').receive({ url: `/proxy/network/redirect?to=${encodeURIComponent(`${other.origin}/elsewhere`)}`, payload: { x: 1 } });
            const [msg] = await rec.out.waitFor(1);
            assert.strictEqual(msg.responseUrl, `${other.origin}/elsewhere`);
            const [away] = other.received;
            assert.strictEqual(away.method, 'POST', 'a 307 keeps the method');
            assert.strictEqual(away.headers['x-csrf-token'], undefined);
            assert.strictEqual(away.headers.cookie, undefined);
            const [first] = sim.requestsTo('POST', '/proxy/network/redirect');
            assert.ok(first.csrf, 'the first hop, on the origin, carried it');
            assert.ok(!other.text().includes(first.csrf));
        } finally {
            await other.stop();
        }
    });

    for (const signal of ['body', 'redirect'] as const) {
        it(`a session ended by a ${signal === 'body' ? '200 body' : '302 to /login'}: exactly one re-login and one replay for a burst of 20`, async function () {
            sim = new SessionEndSimulator({ signal });
            await sim.start();
            const server = sessionEndServer({ rejectedBody: '"errorCode"\\s*:\\s*"602"', rejectedRedirect: '/login' });
            const rec = await load(standardFlow(sim.baseUrl, { server, request: { url: '/items' } }), { server: sim.user });
            helper.getNode('r1').receive({});
            await rec.out.waitFor(1);
            sim.expireAll();
            // Half of them do not follow the redirect: the 302 itself then says it.
            for (let i = 0; i < 20; i++) helper.getNode('r1').receive({ i, followRedirects: i % 2 === 0 });
            await answeredOnce(rec, 21);
            assert.deepStrictEqual(
                rec.out.messages.map((m: Msg) => [m.statusCode, m.payload.items?.length]),
                new Array(21).fill([200, 3]),
            );
            assert.deepStrictEqual([sim.stats.loginsOk, sim.stats.readsOk], [2, 21]);
            // Only requests written before the re-login met the ended session (at most one per connection,
            // and one per connection freed before the replacement); the queued ones went out with the fresh one.
            assert.ok(sim.stats.ended >= 1 && sim.stats.ended <= 16, `${sim.stats.ended} met the ended session`);
            assert.strictEqual(sim.requestsTo('GET', '/items').length, 21 + sim.stats.ended, 'each refused request replayed once');
            assertNoSecret(rec, sim.issued());
        });
    }

    it('a 200 body that says "session ended" again after the fresh login is SESSION_REJECTED, not a loop', async function () {
        sim = new SessionEndSimulator({ signal: 'body' });
        await sim.start();
        const server = sessionEndServer({ rejectedBody: 'Login required' });
        const rec = await load(standardFlow(sim.baseUrl, { server, request: { url: '/items' } }), { server: sim.user });
        // Every session is dead at once: the login works, the reply body still says "Login required".
        sim.sessionTtlMs = 0;
        helper.getNode('r1').receive({});
        await answeredOnce(rec, 1);
        assert.strictEqual(rec.caught.messages[0].errorCode, 'SESSION_REJECTED');
        assert.deepStrictEqual([sim.stats.loginsOk, sim.requestsTo('GET', '/items').length], [2, 2]);
    });

    const BAD_PATTERNS: Array<[string, string, RegExp]> = [
        ['an invalid rejectedBody', '("errorCode"', /regular expression/],
        ['a rejectedBody that could hang Node-RED ((a+)+$, exponential on "aaa…b")', '(a+)+$', /could take too long on a reply/],
    ];
    for (const [name, rejectedBody, message] of BAD_PATTERNS) {
        it(`${name} is CONFIG at deploy: a red status, and every msg fails with CONFIG, nothing sent`, async function () {
            sim = new SessionEndSimulator();
            await sim.start();
            const server = { vendor: 'custom', ...PRESETS.jsonToken, rejectedBody };
            const rec = await load(standardFlow(sim.baseUrl, { server, request: { url: '/items' } }), { server: sim.user });
            helper.getNode('r1').receive({});
            helper.getNode('l1').receive({});
            await answeredOnce(rec, 2);
            assert.deepStrictEqual(
                rec.caught.messages.map((m: Msg) => m.errorCode),
                ['CONFIG', 'CONFIG'],
            );
            assert.match(rec.caught.messages[0].error.message, message);
            assert.strictEqual(sim.stats.requests.length, 0);
        });
    }

    describe('a server that echoes the CSRF token back (the recording-server capture)', function () {
        const SESSION = 'TOKEN-c0ffee-session-value';
        const CSRF = 'csrf-5ecret-9f8e7d6c5b4a';
        const RENEWED = 'csrf-renewed-1a2b3c4d5e6f';
        let backend: RecordingServer;

        beforeEach(async () => {
            sim = new SessionEndSimulator(); // unused here: keeps the shared afterEach simple
            await sim.start();
            backend = await new RecordingServer((r: Received) => {
                const seen = `${echoOf(r)} csrf=${String(r.headers['x-csrf-token'])}`;
                if (r.path === '/api/auth/login')
                    return json(200, { username: 'admin', note: `csrf ${CSRF}` }, { 'Set-Cookie': `TOKEN=${SESSION}; Path=/`, 'X-CSRF-Token': CSRF });
                if (r.path === '/api/auth/logout') return json(500, { message: `oops ${seen}` });
                if (r.path === '/write') return json(200, { ok: true }, { 'X-Updated-CSRF-Token': RENEWED, 'X-CSRF-Token': CSRF });
                if (r.path === '/refused') return json(403, { message: `api.err.LoginRequired ${seen}` });
                return undefined;
            }).start();
        });
        afterEach(() => backend.stop());

        it('keeps it out of msg.payload, msg.headers, every error, status and log line', async function () {
            const server = { vendor: 'custom', ...PRESETS.unifiOs, tls: '' };
            const flow = standardFlow(backend.origin, { server, request: { url: '/write', method: 'POST' }, extra: [writer('/refused')] });
            const rec = await load(flow, { server: { username: 'admin', password: 'Passw0rd!Passw0rd' } });
            helper.getNode('l1').receive({});
            helper.getNode('r1').receive({ payload: {} });
            await answeredOnce(rec, 2);
            helper.getNode('r2').receive({ payload: {} });
            await answeredOnce(rec, 3);
            helper.getNode('o1').receive({});
            await answeredOnce(rec, 4);
            assert.strictEqual(backend.requestsTo('/write')[0].headers['x-csrf-token'], CSRF, 'the token was sent');
            assert.strictEqual(backend.requestsTo('/refused')[0].headers['x-csrf-token'], RENEWED, 'the renewed token went on the next write');
            assert.strictEqual(backend.requestsTo('/api/auth/logout').at(-1)?.headers['x-csrf-token'] !== undefined, true, 'the logout (a POST) carried one');
            assert.deepStrictEqual(
                rec.caught.messages.map((m: Msg) => m.errorCode),
                ['SESSION_REJECTED', 'SERVER_ERROR'],
            );
            assert.match(rec.caught.messages[1].error.message, /oops/, 'the logout error quotes the reply (scrubbed)');
            assertNoSecret(rec, [SESSION, CSRF, RENEWED]);
        });
    });

    describe('hostile or large replies (a recording server)', function () {
        let backend: RecordingServer;

        beforeEach(async () => {
            sim = new SessionEndSimulator(); // unused here: keeps the shared afterEach simple
            await sim.start();
        });
        afterEach(() => backend.stop());

        for (const ticket of ['PVE:root@pam:1::abc; admin=1', 'PVE:root@pam:1::abc,admin=1', 'PVE:root@pam:1::"abc"']) {
            it(`refuses a ticket that would not stay one cookie (${JSON.stringify(ticket.slice(15))}): SERVER_ERROR, no request sent with it`, async function () {
                backend = await new RecordingServer((r: Received) => {
                    if (r.path === '/api2/json/access/ticket')
                        return json(200, { data: { ticket, CSRFPreventionToken: 'csrf-1234567890', username: 'root@pam' } });
                    return json(200, { data: [] });
                }).start();
                const server = { vendor: 'custom', ...PRESETS.proxmoxTicket, tls: '' };
                const flow = standardFlow(backend.origin, { server, request: { url: '/api2/json/nodes' } });
                const rec = await load(flow, { server: { username: 'root@pam', password: 'Passw0rd!Passw0rd' } });
                helper.getNode('r1').receive({});
                await answeredOnce(rec, 1);
                const cookies = backend.requestsTo('/api2/json/nodes').map((r) => String(r.headers.cookie));
                assert.deepStrictEqual(cookies, [], `sent with a cookie header ${JSON.stringify(cookies)}`);
                assert.strictEqual(rec.caught.messages[0]?.errorCode, 'SERVER_ERROR');
            });
        }

        /** A cookie-login API whose /items answers `items()`, behind a config node with `rejectedBody`. */
        async function itemsApi(items: () => Reply, rejectedBody: string): Promise<Recorders> {
            backend = await new RecordingServer((r: Received) => {
                if (r.path === '/login') return json(200, { ok: true }, { 'Set-Cookie': 'sid=s3ss10n-value; Path=/' });
                return r.path === '/items' ? items() : undefined;
            }).start();
            const server = sessionEndServer({ rejectedBody, tls: '' });
            return load(standardFlow(backend.origin, { server, request: { url: '/items' } }), { server: { username: 'u', password: 'Passw0rd!Passw0rd' } });
        }

        it('reads only the head of a reply: a plain-looking .*LoginRequired.* does not stall Node-RED on a 64 KB one-line JSON reply', async function () {
            // Unanchored, `.*X.*` costs the square of the text read: about 40 s for 64 KB, well past the test's timeout.
            const rec = await itemsApi(() => json(200, { items: 'x'.repeat(64 * 1024) }), '.*LoginRequired.*');
            helper.getNode('r1').receive({});
            helper.getNode('r1').receive({});
            await answeredOnce(rec, 2);
            assert.deepStrictEqual(
                rec.out.messages.map((m: Msg) => [m.statusCode, m.payload.items.length]),
                [
                    [200, 64 * 1024],
                    [200, 64 * 1024],
                ],
            );
            assert.strictEqual(backend.requestsTo('/login').length, 1);
        });

        it('still finds "session ended" at the start of a large reply: one re-login and one replay', async function () {
            // Until a second login, the session has ended: said at the start of a long reply.
            const rec = await itemsApi(
                () =>
                    backend.requestsTo('/login').length > 1
                        ? json(200, { data: [] })
                        : json(200, { meta: { msg: 'api.err.LoginRequired' }, data: 'x'.repeat(64 * 1024) }),
                'api\\.err\\.LoginRequired',
            );
            helper.getNode('r1').receive({});
            await answeredOnce(rec, 1);
            assert.deepStrictEqual(rec.out.messages[0].payload, { data: [] });
            assert.deepStrictEqual([backend.requestsTo('/login').length, backend.requestsTo('/items').length], [2, 2]);
        });
    });
});

import assert from 'node:assert';

import { SmartServerSimulator } from '../simulators/smartserver';
import { helper, ADMIN, standardFlow, tlsNode, load, answeredOnce, logText, nodeRedWithSimulator } from '../support/harness';

describe('SmartServer requests, errors and secrets in a Node-RED runtime', function () {
    let sim: any;

    const { start } = nodeRedWithSimulator(() => new SmartServerSimulator());
    beforeEach(async function () {
        sim = await start();
    });

    const dataCalls = () => sim.stats.requests.filter((r: any) => /\/iap\/(devs|test)/.test(r.path));

    for (const layout of ['root', 'cms']) {
        it(`works with the ${layout === 'root' ? 'https://host' : 'https://host/cms'} base URL layout`, async function () {
            const rec = await load(standardFlow(sim.baseUrl(layout), { request: { url: '/iap/devs/17q2d9x.5/if/block/1/Volts_1/value' } }));
            helper.getNode('r1').receive({});
            const [msg] = await rec.out.waitFor(1);
            assert.strictEqual(msg.statusCode, 200);
            assert.strictEqual(msg.payload.unit, 'V');
            assert.strictEqual(msg.responseUrl, `${sim.baseUrl(layout)}/iap/devs/17q2d9x.5/if/block/1/Volts_1/value`);
            const prefix = layout === 'cms' ? '/cms/iap/' : '/iap/';
            assert.ok(sim.stats.requests.every((r: any) => r.path.startsWith(prefix)));
        });
    }

    it('refuses an untrusted self-signed certificate as TLS, and works with verification turned off', async function () {
        const flow = standardFlow(sim.baseUrl('cms'), { server: { tls: '' } });
        let rec = await load(flow);
        helper.getNode('r1').receive({});
        const [refused] = await rec.caught.waitFor(1);
        assert.strictEqual(refused.errorCode, 'TLS');
        assert.match(refused.error.message, /certificate/);
        assert.strictEqual(sim.stats.requests.length, 0);
        await helper.unload();

        const insecure = standardFlow(sim.baseUrl('cms'));
        insecure[1] = tlsNode({ ca: '', verifyservercert: false });
        rec = await load(insecure);
        helper.getNode('r1').receive({});
        const [ok] = await rec.out.waitFor(1);
        assert.strictEqual(ok.statusCode, 200);
    });

    it('retries an idempotent request through a burst of 503s', async function () {
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        sim.failNext(503, 2);
        helper.getNode('r1').receive({});
        const [, ok] = await rec.out.waitFor(2);
        assert.strictEqual(ok.statusCode, 200);
        assert.strictEqual(dataCalls().length, 3);
        await answeredOnce(rec, 2);
    });

    it('gives the last 5xx to the output after the retries, or to Catch with errorOnStatus', async function () {
        const rec = await load(
            standardFlow(sim.baseUrl('cms'), {
                extra: [
                    {
                        id: 'r2',
                        type: 'rest-session-request',
                        server: 'server',
                        method: 'GET',
                        url: '/iap/devs',
                        ret: 'obj',
                        errorOnStatus: true,
                        wires: [['out']],
                    },
                ],
            }),
        );
        sim.failNext(503, 3);
        helper.getNode('r1').receive({});
        const [failed] = await rec.out.waitFor(1);
        assert.strictEqual(failed.statusCode, 503);
        assert.strictEqual(dataCalls().length, 3);
        sim.failNext(500, 1);
        helper.getNode('r2').receive({});
        const [caught] = await rec.caught.waitFor(1);
        assert.strictEqual(caught.errorCode, 'SERVER_ERROR');
        assert.strictEqual(caught.statusCode, 500);
        assert.strictEqual(dataCalls().length, 4, 'a 500 is not retried');
        await answeredOnce(rec, 2);
    });

    it('never sends a POST twice on a transient fault', async function () {
        const rec = await load(standardFlow(sim.baseUrl('cms'), { request: { method: 'POST', url: '/iap/devs/17q2d9x.5/tags' } }));
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        sim.failNext(503, 1);
        helper.getNode('r1').receive({ payload: { tag: 'x' } });
        const [, msg] = await rec.out.waitFor(2);
        assert.strictEqual(msg.statusCode, 503);
        assert.strictEqual(dataCalls().length, 1);
    });

    it('times out a server that never answers as TIMEOUT', async function () {
        const rec = await load(standardFlow(sim.baseUrl('cms'), { request: { method: 'POST', url: '/iap/devs/17q2d9x.5/tags' } }));
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        sim.hangNext(1);
        helper.getNode('r1').receive({ payload: {}, requestTimeout: 300 });
        const [caught] = await rec.caught.waitFor(1);
        assert.strictEqual(caught.errorCode, 'TIMEOUT');
        assert.match(caught.error.message, /300 ms/);
        await answeredOnce(rec, 2);
    });

    it('reports a server that is down as NETWORK', async function () {
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        await sim.stop();
        helper.getNode('l1').receive({});
        const [caught] = await rec.caught.waitFor(1);
        assert.strictEqual(caught.errorCode, 'NETWORK');
        assert.match(caught.error.message, /ECONNREFUSED/);
    });

    it('writes with PUT and gives {} for a 204 with ret=obj', async function () {
        const rec = await load(standardFlow(sim.baseUrl('cms'), { request: { method: 'PUT', url: '/iap/devs/{{device}}/if/block/1/Volts_1/value' } }));
        helper.getNode('r1').receive({ device: '17q2d9x.5', payload: { value: 231.5 } });
        const [msg] = await rec.out.waitFor(1);
        assert.strictEqual(msg.statusCode, 204);
        assert.deepStrictEqual(msg.payload, {});
        helper.getNode('r1').receive({ device: '17q2d9x.5', payload: 1 });
        helper.getNode('r1').receive({ method: 'GET', device: 'x' });
        await answeredOnce(rec, 3);
        const put = sim.stats.requests.find((r: any) => r.method === 'PUT');
        assert.strictEqual(put.path, '/cms/iap/devs/17q2d9x.5/if/block/1/Volts_1/value');
    });

    it('refuses bad input with INVALID_INPUT and sends nothing', async function () {
        const rec = await load(standardFlow(sim.baseUrl('cms'), { request: { url: '' } }));
        const r1 = helper.getNode('r1');
        r1.receive({ url: 'https://example.com/steal' });
        r1.receive({ url: '//example.com/steal' });
        r1.receive({ url: '/iap/devs', headers: { 'X-Test': 'a\r\nInjected: yes' } });
        r1.receive({ url: '/iap/devs', headers: 'nope' });
        r1.receive({});
        await answeredOnce(rec, 5);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            Array(5).fill('INVALID_INPUT'),
        );
        assert.match(rec.caught.messages[0].error.message, /only sent to https:\/\/127\.0\.0\.1/);
        assert.strictEqual(sim.stats.requests.length, 0);
    });

    it('accepts an absolute URL on the server origin', async function () {
        const rec = await load(standardFlow(sim.baseUrl('cms'), { request: { url: '' } }));
        helper.getNode('r1').receive({ url: `${sim.origin}/iap/devs` });
        const [msg] = await rec.out.waitFor(1);
        assert.strictEqual(msg.statusCode, 200);
    });

    it('reports configuration problems as CONFIG without sending anything', async function () {
        const flow = standardFlow('ftp://nowhere', {
            extra: [{ id: 'r3', type: 'rest-session-request', server: 'missing', url: '/x', wires: [['out']] }],
        });
        const rec = await load(flow);
        helper.getNode('r1').receive({});
        helper.getNode('r3').receive({});
        await answeredOnce(rec, 2);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            ['CONFIG', 'CONFIG'],
        );
        await helper.unload();

        const noCredentials = await load(standardFlow(sim.baseUrl('cms')), {});
        helper.getNode('l1').receive({});
        const [caught] = await noCredentials.caught.waitFor(1);
        assert.strictEqual(caught.errorCode, 'CONFIG');
        assert.strictEqual(sim.stats.requests.length, 0);
    });

    it('logs in another user from msg.credentials as a separate session, and forgets it on logout', async function () {
        sim.setUser('operator', { password: 'Op3rator!Secret' });
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        helper.getNode('l1').receive({ credentials: { username: 'operator', password: 'Op3rator!Secret' } });
        const [login] = await rec.out.waitFor(1);
        assert.strictEqual(login.credentials, undefined);
        assert.strictEqual(login.session.user, 'operator');
        // A msg.session stored as JSON and read back still names the session.
        const stored = JSON.parse(JSON.stringify(login.session));
        helper.getNode('r1').receive({ session: stored });
        helper.getNode('r1').receive({});
        await rec.out.waitFor(3);
        const cookies = dataCalls().map((r: any) => r.cookie);
        assert.notStrictEqual(cookies[0], cookies[1], 'two users, two sessions');
        assert.strictEqual(rec.out.messages[1].session.user, 'operator');
        assert.strictEqual(rec.out.messages[2].session.user, 'admin');

        helper.getNode('o1').receive({ session: stored });
        await rec.out.waitFor(4);
        helper.getNode('r1').receive({ session: stored });
        helper.getNode('r1').receive({ session: { ...stored, server: 'another-server' } });
        await answeredOnce(rec, 6);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            ['SESSION_REJECTED', 'SESSION_REJECTED'],
        );
        assert.strictEqual(dataCalls().length, 2);
    });

    it('reuses a live session, and msg.forceLogin logs in afresh and logs the old session out', async function () {
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        helper.getNode('l1').receive({});
        await rec.out.waitFor(2);
        assert.strictEqual(sim.stats.loginAttempts, 1);
        helper.getNode('l1').receive({ forceLogin: true });
        await rec.out.waitFor(3);
        assert.strictEqual(sim.stats.loginAttempts, 2);
        for (let i = 0; i < 50 && sim.liveSessions() > 1; i++) await new Promise((r) => setTimeout(r, 10));
        assert.strictEqual(sim.liveSessions(), 1);
    });

    it('takes credentials from ${ENV} references, also inside a value', async function () {
        // Node-RED itself replaces only a value that is one whole `${NAME}`: the password's reference
        // inside the text is ours to replace, so this fails if the node does not.
        const [head, tail] = [ADMIN.password.slice(0, 9), ADMIN.password.slice(9)];
        process.env.RS_TEST_USER = 'admin';
        process.env.RS_TEST_PASSWORD_TAIL = tail;
        try {
            const rec = await load(standardFlow(sim.baseUrl('cms')), { server: { username: '${RS_TEST_USER}', password: `${head}\${RS_TEST_PASSWORD_TAIL}` } });
            helper.getNode('l1').receive({});
            const [msg] = await rec.out.waitFor(1);
            assert.strictEqual(msg.session.user, 'admin');
            assert.strictEqual(sim.stats.loginsOk, 1, 'the simulator accepted the password with the reference replaced');
        } finally {
            delete process.env.RS_TEST_USER;
            delete process.env.RS_TEST_PASSWORD_TAIL;
        }
    });

    it('never shows a password or the session cookie in a msg, status, error or log line', async function () {
        const rec = await load(standardFlow(sim.baseUrl('cms'), { request: { url: '/iap/test/echo' } }), {
            server: { username: 'admin', password: 'wrong-Secret-1' },
        });
        helper.getNode('l1').receive({});
        await rec.caught.waitFor(1);
        await helper.unload();

        const good = await load(standardFlow(sim.baseUrl('cms'), { request: { url: '' } }));
        const statusCalls: any = [];
        for (const id of ['l1', 'r1', 'o1']) helper.getNode(id).on('call:status', (call) => statusCalls.push((call as any).args));
        helper.getNode('l1').receive({ credentials: { username: 'admin', password: ADMIN.password } });
        helper.getNode('r1').receive({ url: '/iap/test/echo', payload: 'x' });
        helper.getNode('r1').receive({ url: 'https://elsewhere.example/' });
        await good.out.waitFor(2);
        await good.caught.waitFor(1);
        helper.getNode('o1').receive({});
        await good.out.waitFor(3);

        const echoed = good.out.messages[1].payload;
        assert.match(echoed.headers.cookie, /^cmsSID=[0-9a-f]+$/, 'the server did get the cookie');
        const cookieValue = echoed.headers.cookie.split('=')[1];
        // The echo body carries the cookie by design of the test route: leave the payload out.
        const msgs = [
            ...rec.out.messages,
            ...rec.caught.messages,
            ...good.out.messages.map((m) => ({ ...m, payload: m === good.out.messages[1] ? '(echo)' : m.payload })),
            ...good.caught.messages,
        ];
        const seen = [
            JSON.stringify(msgs),
            JSON.stringify(rec.statuses.messages),
            JSON.stringify(good.statuses.messages),
            JSON.stringify(statusCalls),
            logText(),
        ].join('\n');
        for (const secret of ['wrong-Secret-1', ADMIN.password, cookieValue]) {
            assert.ok(!seen.includes(secret), `a secret leaked: ${secret.slice(0, 4)}...`);
        }
        assert.ok(seen.includes('INVALID_CREDENTIALS') && seen.includes('INVALID_INPUT'), 'the capture did record the errors');
    });

    it('puts the session cookie in msg.session.headers only with exposeCredential', async function () {
        const rec = await load(standardFlow(sim.baseUrl('cms'), { server: { exposeCredential: true } }));
        helper.getNode('l1').receive({});
        const [msg] = await rec.out.waitFor(1);
        assert.match(msg.session.headers.Cookie, /^cmsSID=[0-9a-f]+$/);
        assert.ok(sim.isSessionValid(msg.session.headers.Cookie.split('=')[1]));
    });
});

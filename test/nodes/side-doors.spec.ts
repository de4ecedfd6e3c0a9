/**
 * Side doors (issue 12) in a real Node-RED runtime, against recording servers on 127.0.0.1: error
 * replies that echo the request never bring a secret into a msg, Catch, status or the log; cookies
 * follow each redirect hop's Path and origin; a redirect to another port cannot plant the session
 * cookie; framing headers from a msg cannot smuggle a request; only http(s) redirects are followed;
 * bad timeouts, payloads and headers send nothing.
 */
import assert from 'node:assert';

import { RecordingServer, Received, echoOf, json } from '../support/recording-server';

import { helper, standardFlow, load, answeredOnce, logText, ADMIN } from '../support/harness';

const PASSWORD: string = ADMIN.password;
const b64 = (text: string) => Buffer.from(text).toString('base64');
/** Every form of the password a leak could take. */
const PASSWORD_FORMS = [PASSWORD, b64(PASSWORD), b64(PASSWORD).replace(/=+$/, ''), b64(`admin:${PASSWORD}`), b64(`admin:${PASSWORD}`).replace(/=+$/, '')];
const SID = 'c0ffee0123456789abcdef0123456789';
const TOKEN = 'QSDK 5ecret70ken5ecret70ken';

type Rec = { out: { messages: unknown[] }; caught: { messages: Record<string, any>[] }; statuses: { messages: unknown[] } };

/** Everything a flow user could read: msgs at the output and at Catch, statuses, the log. */
function everythingSeen(rec: Rec): string {
    return [
        JSON.stringify(rec.out.messages),
        JSON.stringify(rec.caught.messages),
        JSON.stringify(rec.caught.messages.map((m) => m.error)),
        JSON.stringify(rec.statuses.messages),
        logText(),
    ].join('\n');
}

function assertNoSecret(text: string, secrets: string[]): void {
    for (const secret of secrets) assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 4)}…) leaked`);
}

function flowFor(server: RecordingServer, serverProps: Record<string, unknown> = {}, request: Record<string, unknown> = {}) {
    return standardFlow(server.origin, { server: { tls: '', logoutOnClose: false, ...serverProps }, request: { url: '', ret: 'txt', ...request } });
}

/** SmartServer login and session calls; `route` answers everything else. */
function smartserver(route: (r: Received) => ReturnType<typeof json> | undefined = () => undefined) {
    return (r: Received) => {
        if (r.path === '/iap/auth/login') return json(200, { userName: 'admin' }, { 'Set-Cookie': `cmsSID=${SID}; Path=/; HttpOnly` });
        if (r.path === '/iap/auth/sessionTimeout') return { status: 200, body: '3600000' };
        if (r.path === '/iap/auth/logout') return json(200, {});
        return route(r);
    };
}

describe('side doors: secrets in error texts, cookies on redirects, framing, schemes, bad input', function () {
    let backend: RecordingServer;
    let attacker: RecordingServer;

    before(() => helper.startServer());
    after(() => helper.stopServer());
    beforeEach(async () => {
        backend = await new RecordingServer().start();
        attacker = await new RecordingServer().start();
    });
    afterEach(async () => {
        await helper.unload();
        await backend.stop();
        await attacker.stop();
    });

    describe('error replies that echo the request (finding 5)', function () {
        const echoing =
            (status: number, field = 'message') =>
            (r: Received) =>
                json(status, { [field]: `echo ${echoOf(r)}`, request: echoOf(r) });

        for (const status of [400, 401, 500]) {
            it(`SmartServer login ${status} quoting the login JSON: no password in msg, Catch, status or log`, async function () {
                backend.answer(echoing(status));
                const rec = await load(flowFor(backend));
                helper.getNode('l1').receive({ payload: 'go' });
                await answeredOnce(rec, 1);
                assert.ok(backend.requestsTo('/iap/auth/login')[0].body.includes(PASSWORD), 'the password was sent to the server');
                assert.match(rec.caught.messages[0].error.message, /echo/, 'the documented message field is quoted');
                assertNoSecret(everythingSeen(rec), PASSWORD_FORMS);
            });
        }

        it('Commvault errList quoting the Base64 password, and any other field, stays out', async function () {
            backend.answer((r) => json(200, { errList: [{ errorCode: 1, errLogMessage: `bad ${echoOf(r)}` }], dump: echoOf(r) }));
            const rec = await load(flowFor(backend, { vendor: 'commvault', format: 'json' }));
            helper.getNode('l1').receive({});
            await answeredOnce(rec, 1);
            assert.strictEqual(rec.caught.messages[0].errorCode, 'INVALID_CREDENTIALS');
            assert.ok(backend.received[0].body.includes(b64(PASSWORD)));
            assertNoSecret(everythingSeen(rec), PASSWORD_FORMS);
        });

        it('CM-Well 500 echoing the Basic Authorization stays out', async function () {
            backend.answer((r) => json(500, { message: `failed ${echoOf(r)}` }));
            const rec = await load(flowFor(backend, { vendor: 'cmwell', authScheme: 'basic' }));
            helper.getNode('l1').receive({});
            await answeredOnce(rec, 1);
            assert.strictEqual(rec.caught.messages[0].errorCode, 'SERVER_ERROR');
            assert.ok(String(backend.received[0].headers.authorization).startsWith('Basic '));
            assertNoSecret(everythingSeen(rec), [...PASSWORD_FORMS, String(backend.received[0].headers.authorization)]);
        });

        it('Oracle SDM 401 echoing the login, in JSON or as text, stays out', async function () {
            backend.answer((r) => (r.path.endsWith('/admin/login') ? json(401, { message: `no ${echoOf(r)}` }) : undefined));
            const rec = await load(flowFor(backend, { vendor: 'sdm', format: 'json' }));
            helper.getNode('l1').receive({});
            await answeredOnce(rec, 1);
            assert.strictEqual(rec.caught.messages[0].errorCode, 'INVALID_CREDENTIALS');
            assertNoSecret(everythingSeen(rec), PASSWORD_FORMS);
        });

        it('a SmartServer logout 500 echoing the session cookie stays out', async function () {
            backend.answer((r) => (r.path === '/iap/auth/logout' ? json(500, { message: `oops ${echoOf(r)}` }) : smartserver()(r)));
            const rec = await load(flowFor(backend));
            helper.getNode('l1').receive({});
            await rec.out.waitFor(1);
            helper.getNode('o1').receive({});
            await answeredOnce(rec, 2);
            assert.ok(String(backend.requestsTo('/iap/auth/logout')[0].headers.cookie).includes(SID), 'the cookie was sent with the logout');
            assert.strictEqual(rec.caught.messages[0].errorCode, 'SERVER_ERROR');
            assertNoSecret(everythingSeen(rec), [SID, ...PASSWORD_FORMS]);
        });

        it('a Commvault logout 500 echoing the Authtoken stays out', async function () {
            backend.answer((r) => {
                if (r.path === '/Login') return json(200, { token: TOKEN, userName: 'admin' });
                if (r.path === '/Logout') return json(500, { errorMessage: `oops ${echoOf(r)}` });
                return undefined;
            });
            const rec = await load(flowFor(backend, { vendor: 'commvault', format: 'json' }));
            helper.getNode('l1').receive({});
            await rec.out.waitFor(1);
            helper.getNode('o1').receive({});
            await answeredOnce(rec, 2);
            assert.strictEqual(backend.requestsTo('/Logout')[0].headers.authtoken, TOKEN);
            assertNoSecret(everythingSeen(rec), [TOKEN, TOKEN.slice(5), ...PASSWORD_FORMS]);
        });

        it('a login reply that echoes the request does not bring the password into msg.payload', async function () {
            backend.answer((r) =>
                r.path === '/iap/auth/login' ? json(200, { userName: 'admin', note: echoOf(r) }, { 'Set-Cookie': `cmsSID=${SID}; Path=/` }) : smartserver()(r),
            );
            const rec = await load(flowFor(backend));
            helper.getNode('l1').receive({});
            await answeredOnce(rec, 1);
            assert.strictEqual((rec.out.messages[0] as any).payload.userName, 'admin');
            assertNoSecret(everythingSeen(rec), [SID, ...PASSWORD_FORMS]);
        });
    });

    it('cookies per hop: JSESSIONID (Path=/rest) never goes to /other after a same-origin redirect (finding 6)', async function () {
        backend.answer((r) => {
            if (r.path === '/rest/v1.1/admin/login')
                return json(200, { sessionId: 'x' }, { 'Set-Cookie': 'JSESSIONID=5D1DCAFE.tomcat1; Path=/rest; HttpOnly' });
            if (r.path === '/rest/go') return { status: 302, headers: { Location: '/other/page' } };
            if (r.path === '/other/page') return json(200, { ok: true });
            return undefined;
        });
        const rec = await load(flowFor(backend, { vendor: 'sdm', format: 'json' }));
        helper.getNode('r1').receive({ url: '/rest/go', cookies: { mine: 'flow' } });
        await answeredOnce(rec, 1);
        assert.match(String(backend.requestsTo('/rest/go')[0].headers.cookie), /JSESSIONID=5D1DCAFE\.tomcat1/);
        const landed = backend.requestsTo('/other/page');
        assert.strictEqual(landed.length, 1);
        assert.ok(!String(landed[0].headers.cookie ?? '').includes('JSESSIONID'), `sent: ${landed[0].headers.cookie}`);
        assert.match(String(landed[0].headers.cookie), /mine=flow/, "the msg's own cookie stays on its origin");
    });

    it("the msg's cookies stay on the first origin; a hop elsewhere gets no cookie at all", async function () {
        backend.answer(smartserver((r) => (r.path === '/away' ? { status: 302, headers: { Location: `${attacker.origin}/landing` } } : undefined)));
        attacker.answer(() => json(200, { ok: true }));
        const rec = await load(flowFor(backend));
        helper.getNode('r1').receive({ url: '/away', cookies: { mine: 'flow' }, headers: { Cookie: 'also=flow' } });
        await answeredOnce(rec, 1);
        assert.strictEqual(attacker.received.length, 1);
        assert.strictEqual(attacker.received[0].headers.cookie, undefined);
    });

    it('a redirect to another port that sets cmsSID never replaces the session cookie (finding 7)', async function () {
        backend.answer(
            smartserver((r) => {
                if (r.path === '/go') return { status: 302, headers: { Location: `${attacker.origin}/plant` } };
                if (r.path === '/back' || r.path === '/check') return json(200, { cookie: r.headers.cookie ?? '' });
                return undefined;
            }),
        );
        attacker.answer(() => ({ status: 302, headers: { Location: `${backend.origin}/back`, 'Set-Cookie': ['cmsSID=planted; Path=/', 'evil=1; Path=/'] } }));
        const rec = await load(flowFor(backend));
        helper.getNode('r1').receive({ url: '/go' });
        await answeredOnce(rec, 1);
        helper.getNode('r1').receive({ url: '/check' });
        await answeredOnce(rec, 2);
        assert.strictEqual(attacker.received.length, 1);
        assert.strictEqual(attacker.received[0].headers.cookie, undefined, 'the attacker got no cookie');
        for (const path of ['/back', '/check']) {
            const cookie = String(backend.requestsTo(path)[0].headers.cookie);
            assert.match(cookie, new RegExp(`cmsSID=${SID}`), `${path}: ${cookie}`);
            assert.ok(!cookie.includes('planted') && !cookie.includes('evil'), `${path}: ${cookie}`);
        }
    });

    it('framing and hop-by-hop headers from msg.headers are dropped: no request smuggling (finding 8)', async function () {
        backend.answer(smartserver((r) => json(200, { path: r.path, length: r.headers['content-length'] ?? null, body: r.body })));
        const rec = await load(flowFor(backend, {}, { method: 'POST', ret: 'obj' }));
        const smuggled = 'AAAAA' + 'GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
        const headers = {
            'Content-Length': '5',
            'Transfer-Encoding': 'identity',
            Connection: 'close, X-Hop',
            'Keep-Alive': 'timeout=1',
            Upgrade: 'h2c',
            TE: 'trailers',
            Trailer: 'X',
            'Proxy-Connection': 'keep-alive',
            'X-Kept': 'yes',
        };
        helper.getNode('r1').receive({ url: '/post', payload: smuggled, headers });
        await answeredOnce(rec, 1);
        helper.getNode('r1').receive({ url: '/next', payload: 'next' });
        await answeredOnce(rec, 2);
        assert.deepStrictEqual(backend.requestsTo('/smuggled'), []);
        const post = backend.requestsTo('/post')[0];
        assert.strictEqual(post.body, smuggled, 'the client framed the whole body');
        assert.strictEqual(post.headers['content-length'], String(Buffer.byteLength(smuggled)));
        for (const name of ['transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection'])
            assert.strictEqual(post.headers[name], undefined, name);
        assert.strictEqual(post.headers['x-kept'], 'yes');
        assert.strictEqual(backend.requestsTo('/next')[0].body, 'next');
    });

    it('redirects are followed only to http and https; others are SERVER_ERROR, sent once (finding 9)', async function () {
        const targets = ['data:text/plain,Hello%20from%20data:', 'file:///etc/passwd', 'ftp://127.0.0.1/x', 'javascript:alert(1)'];
        backend.answer(
            smartserver((r) => {
                const index = Number(/^\/scheme\/(\d)$/.exec(r.path)?.[1]);
                return Number.isInteger(index) ? { status: 302, headers: { Location: targets[index] } } : undefined;
            }),
        );
        const rec = await load(flowFor(backend));
        targets.forEach((_target, index) => helper.getNode('r1').receive({ url: `/scheme/${index}` }));
        await answeredOnce(rec, targets.length);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            targets.map(() => 'SERVER_ERROR'),
        );
        assert.ok(!JSON.stringify(rec.caught.messages).includes('Hello from data'));
        targets.forEach((_target, index) => assert.strictEqual(backend.requestsTo(`/scheme/${index}`).length, 1, targets[index]));
    });

    it('bad timeouts, unserialisable payloads and control characters are INVALID_INPUT, nothing sent (finding 10)', async function () {
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        const msgs = [
            { url: '/x', requestTimeout: 2147483648 },
            { url: '/x', requestTimeout: 0 },
            { url: '/x', requestTimeout: -5 },
            { url: '/x', requestTimeout: 'soon' },
            { url: '/x', method: 'POST', payload: circular },
            { url: '/x', method: 'POST', payload: { n: BigInt(1) } },
            {
                url: '/x',
                method: 'POST',
                payload: {
                    toJSON: () => {
                        throw new Error('no');
                    },
                },
            },
            { url: '/x', headers: { 'X-Bad': 'a\u0001b' } },
            { url: '/x', headers: { 'X-Bad': 'a\u007fb' } },
            { url: '/x', headers: { 'X-Bad': 'a\rb' } },
            { url: '/x', headers: Buffer.from('X-A: 1') },
            { url: '/x', headers: ['X-A', '1'] },
        ];
        const rec = await load(flowFor(backend, {}, { method: 'use' }));
        for (const msg of msgs) helper.getNode('r1').receive({ method: 'GET', ...msg });
        await answeredOnce(rec, msgs.length);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            msgs.map(() => 'INVALID_INPUT'),
        );
        assert.deepStrictEqual(backend.received, [], 'nothing sent, not even a login');
        assert.ok(!/TimeoutOverflowWarning|Converting circular/.test(logText()));
    });
});

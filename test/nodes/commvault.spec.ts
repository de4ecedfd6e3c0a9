/**
 * Commvault in a real Node-RED runtime, over HTTPS with the test CA, against the simulator
 * (docs/vendors.md section 4, conformance cases 42-51 as a client sees them).
 */
import assert from 'node:assert';

import { CommvaultSimulator } from '../simulators/commvault';
import { request as rawRequest } from '../simulators/http-get';
import { helper, standardFlow, load, settle, answeredOnce, logText, nodeRedWithSimulator } from '../support/harness';

const USER = { username: 'cvuser01', password: 'Password#123!' };
const CREDENTIALS = { server: USER };
const b64 = (text: any) => Buffer.from(text, 'utf8').toString('base64');
const STATUS_KEY = (name: any) => `rest-session-server.status.${name}`;
const IDLE_MS = 30 * 60_000;

function statusTexts(rec: any) {
    return rec.statuses.messages.map((m: any) => `${m.status.fill}/${m.status.shape}/${String(m.status.text).split(':').pop()}`);
}

describe('Commvault in a Node-RED runtime', function () {
    let sim: any;
    let clock: any;

    const { start: startSim, fakeClock } = nodeRedWithSimulator((options = {}) => (sim = new CommvaultSimulator(options)));

    /** The standard flow against the simulator, as a Commvault server; request GET /Client. */
    function flow({ server = {}, request = {}, extra = [] } = {}) {
        return standardFlow(sim.baseUrl, { server: { vendor: 'commvault', ...server }, request: { url: '/Client', ...request }, extra });
    }

    const calls = (route: any) => sim.stats.requests.filter((r: any) => r.path === `/webconsole/api${route}`);

    it('(43, 47) logs in with JSON, sends the Authtoken and Accept on data calls, and keeps the token out of msg.payload', async function () {
        await startSim();
        const rec = await load(flow(), CREDENTIALS);
        helper.getNode('l1').receive({});
        const [login] = await rec.out.waitFor(1);
        assert.strictEqual(login.payload.userName, 'cvuser01');
        assert.deepStrictEqual(login.payload.errList, []);
        assert.strictEqual(login.payload.isAccountLocked, false);
        assert.strictEqual(login.payload.token, undefined);
        assert.strictEqual(login.session.vendor, 'commvault');
        assert.strictEqual(login.session.user, 'cvuser01');
        assert.strictEqual(login.session.expiresAt, login.session.loggedInAt + IDLE_MS, 'expiry is 30 minutes after the last use');
        assert.strictEqual(login.session.headers, undefined);
        assert.deepStrictEqual(
            sim.stats.logins.map((l: any) => [l.format, l.fields]),
            [['json', ['username', 'password']]],
        );
        const [loginCall] = calls('/Login');
        assert.strictEqual(loginCall.accept, 'application/json');
        assert.match(loginCall.contentType, /^application\/json/);
        assert.strictEqual(loginCall.authtoken, false);

        helper.getNode('r1').receive({});
        const [, data] = await rec.out.waitFor(2);
        assert.strictEqual(data.statusCode, 200);
        assert.strictEqual(data.payload.clientProperties[0].client.clientEntity.clientName, 'cs01');
        assert.deepStrictEqual(
            calls('/Client').map((r: any) => [r.status, r.authtoken, r.accept]),
            [[200, true, 'application/json']],
        );
        assert.strictEqual(sim.stats.loginAttempts, 1);
        await answeredOnce(rec, 2);
    });

    it('(46) logs in with XML in format xml and asks for XML on data calls unless msg.headers sets Accept', async function () {
        await startSim();
        const rec = await load(flow({ server: { format: 'xml' }, request: { ret: 'txt' } }), CREDENTIALS);
        helper.getNode('l1').receive({});
        const [login] = await rec.out.waitFor(1);
        assert.strictEqual(login.payload.userName, 'cvuser01');
        assert.strictEqual(login.payload.isAccountLocked, 'false');
        assert.strictEqual(login.payload.token, undefined);
        assert.strictEqual(sim.stats.logins[0].format, 'xml');
        assert.strictEqual(calls('/Login')[0].accept, 'application/xml');
        assert.match(calls('/Login')[0].contentType, /^application\/xml/);

        helper.getNode('r1').receive({});
        const [, xml] = await rec.out.waitFor(2);
        assert.strictEqual(xml.statusCode, 200);
        assert.match(xml.payload, /^<App_GetClientPropertiesResponse>/);
        helper.getNode('r1').receive({ headers: { accept: 'application/json' } });
        const [, , json] = await rec.out.waitFor(3);
        assert.match(json.payload, /^\{"clientProperties"/);
        assert.deepStrictEqual(
            calls('/Client').map((r: any) => [r.authtoken, r.accept]),
            [
                [true, 'application/xml'],
                [true, 'application/json'],
            ],
        );
    });

    it('sends domain and commserver when they are set, in JSON and in XML, and leaves them out when not', async function () {
        await startSim({ users: { cvuser01: { password: USER.password, domain: 'CORP' } } });
        for (const format of ['json', 'xml']) {
            sim.resetStats();
            const rec = await load(flow({ server: { format, domain: 'CORP', commserver: 'cs01.example.local' } }), CREDENTIALS);
            helper.getNode('l1').receive({});
            const [ok] = await rec.out.waitFor(1);
            assert.strictEqual(ok.payload.userName, 'cvuser01', format);
            assert.deepStrictEqual(sim.stats.logins, [
                {
                    format,
                    username: 'cvuser01',
                    domain: 'CORP',
                    commserver: 'cs01.example.local',
                    fields: ['username', 'password', 'domain', 'commserver'],
                },
            ]);
            await helper.unload();
        }

        sim.resetStats();
        const rec = await load(flow(), CREDENTIALS);
        helper.getNode('l1').receive({});
        const [refused] = await rec.caught.waitFor(1);
        assert.strictEqual(refused.errorCode, 'INVALID_CREDENTIALS', 'this user needs the domain');
        assert.deepStrictEqual(sim.stats.logins[0].fields, ['username', 'password']);
    });

    it('(44) a wrong password (HTTP 200 with errList) is INVALID_CREDENTIALS, and no login is sent again during the cool-down', async function () {
        await startSim();
        const rec = await load(flow(), { server: { username: 'cvuser01', password: 'wrong' } });
        helper.getNode('l1').receive({ n: 1 });
        const [first] = await rec.caught.waitFor(1);
        assert.strictEqual(first.errorCode, 'INVALID_CREDENTIALS');
        assert.strictEqual(first.statusCode, 200);
        assert.match(first.error.message, /rejected the login of "cvuser01": Invalid username or password/);
        helper.getNode('l1').receive({ n: 2 });
        helper.getNode('r1').receive({ n: 3 });
        await rec.caught.waitFor(3);
        for (const msg of rec.caught.messages.slice(1)) {
            assert.strictEqual(msg.errorCode, 'INVALID_CREDENTIALS');
            assert.ok(msg.retryAfter > 0 && msg.retryAfter <= 300, `retryAfter ${msg.retryAfter}`);
        }
        assert.strictEqual(sim.stats.loginAttempts, 1);
        assert.strictEqual(sim.lockedUntil('cvuser01'), 0, 'the client never drives the account into a lock');
        assert.ok(statusTexts(rec).includes(`red/ring/${STATUS_KEY('invalidCredentials')}`), statusTexts(rec).join());
        await answeredOnce(rec, 3);
    });

    it('(45) a locked account is LOCKED_OUT with msg.retryAfter = remainingLockTime, and no login is sent until the lock ends', async function () {
        await startSim();
        for (let i = 0; i < 5; i++) {
            await rawRequest(`${sim.baseUrl}/Login`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
                body: { username: 'cvuser01', password: b64(`guess-${i}`) },
            });
        }
        sim.resetStats();
        clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
        const rec = await load(flow(), CREDENTIALS);
        helper.getNode('r1').receive({ n: 1 });
        const [locked] = await rec.caught.waitFor(1);
        assert.strictEqual(locked.errorCode, 'LOCKED_OUT');
        assert.strictEqual(locked.retryAfter, 5400);
        assert.match(locked.error.message, /locked for 1h 30m 0s/);
        assert.ok(
            statusTexts(rec).some((t: any) => t.startsWith(`red/ring/${STATUS_KEY('lockedOut')}`)),
            statusTexts(rec).join(),
        );

        clock.tick(3600_000);
        helper.getNode('l1').receive({ n: 2 });
        helper.getNode('r1').receive({ n: 3 });
        await rec.caught.waitFor(3);
        for (const msg of rec.caught.messages.slice(1)) {
            assert.strictEqual(msg.errorCode, 'LOCKED_OUT');
            assert.strictEqual(msg.retryAfter, 1800);
        }
        assert.strictEqual(sim.stats.loginAttempts, 1, 'no login was sent during the lock');

        clock.tick(1800_000 + 1000);
        helper.getNode('r1').receive({ n: 4 });
        const [served] = await rec.out.waitFor(1);
        assert.strictEqual(served.statusCode, 200);
        assert.strictEqual(sim.stats.loginAttempts, 2);
        await answeredOnce(rec, 4);
    });

    it('forcePasswordChange still logs in, with a warning in the log', async function () {
        await startSim();
        sim.setUser('cvuser01', { forcePasswordChange: true });
        const rec = await load(flow(), CREDENTIALS);
        helper.getNode('l1').receive({});
        const [login] = await rec.out.waitFor(1);
        assert.strictEqual(login.payload.forcePasswordChange, true);
        assert.ok(login.session.loggedInAt > 0);
        assert.match(logText(), /password of \\"cvuser01\\" to be changed/);
        helper.getNode('r1').receive({});
        const [, data] = await rec.out.waitFor(2);
        assert.strictEqual(data.statusCode, 200);
        assert.strictEqual(rec.caught.messages.length, 0);
    });

    it('(48) idle expiry: activity keeps the token; after nearly 30 idle minutes the next request logs in again first', async function () {
        await startSim();
        clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
        const rec = await load(flow(), CREDENTIALS);
        const r1 = helper.getNode('r1');
        r1.receive({ n: 1 });
        await rec.out.waitFor(1);
        clock.tick(25 * 60_000);
        r1.receive({ n: 2 });
        await rec.out.waitFor(2);
        clock.tick(25 * 60_000);
        r1.receive({ n: 3 });
        await rec.out.waitFor(3);
        assert.strictEqual(sim.stats.loginAttempts, 1, 'each use restarts the 30 minutes');
        const [firstToken] = sim.issuedTokens();

        clock.tick(IDLE_MS - 30_000); // still alive on the server, but inside the client's margin
        r1.receive({ n: 4 });
        const [, , , fourth] = await rec.out.waitFor(4);
        assert.strictEqual(fourth.statusCode, 200);
        assert.strictEqual(sim.stats.loginAttempts, 2);
        assert.ok(!sim.stats.requests.some((r: any) => r.status === 401), 'no request went out with the expiring token');
        // The replaced token's logout may go before or after the data call: leave it out of the order.
        const paths = sim.stats.requests.map((r: any) => r.path.replace('/webconsole/api', '')).filter((p: any) => p !== '/Logout');
        assert.deepStrictEqual(paths, ['/Login', '/Client', '/Client', '/Client', '/Login', '/Client']);
        for (let i = 0; i < 50 && sim.isTokenValid(firstToken); i++) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.strictEqual(sim.isTokenValid(firstToken), false, 'the replaced token was logged out');
        await answeredOnce(rec, 4);
    });

    it('a token that dies mid-stream under 30 concurrent requests causes exactly one re-login; every msg is answered once', async function () {
        await startSim();
        const rec = await load(flow(), CREDENTIALS);
        const r1 = helper.getNode('r1');
        r1.receive({ seq: 'warm-up' });
        await rec.out.waitFor(1);
        sim.expireTokens();
        for (let i = 0; i < 30; i++) r1.receive({ seq: i });
        await answeredOnce(rec, 31);
        assert.strictEqual(rec.caught.messages.length, 0);
        assert.strictEqual(new Set(rec.out.messages.map((m) => m.seq)).size, 31);
        assert.ok(rec.out.messages.every((m) => m.statusCode === 200));
        assert.strictEqual(sim.stats.loginAttempts, 2);
        const refused = calls('/Client').filter((r: any) => r.status === 401).length;
        // At most one per connection (8), and one per connection freed before the replacement.
        assert.ok(
            refused >= 1 && refused <= 16,
            `${refused}: the requests written before the re-login met the dead session; the queued ones went out with the fresh one`,
        );
        assert.strictEqual(calls('/Client').filter((r: any) => r.status === 200).length, 31);
    });

    it('a 401 is replayed once after a fresh login; a second 401 is SESSION_REJECTED', async function () {
        await startSim();
        const rec = await load(flow(), CREDENTIALS);
        sim.failNext(401, 1);
        helper.getNode('r1').receive({ n: 1 });
        const [ok] = await rec.out.waitFor(1);
        assert.strictEqual(ok.statusCode, 200);
        assert.strictEqual(sim.stats.loginAttempts, 2);
        sim.failNext(401, 2);
        helper.getNode('r1').receive({ n: 2 });
        const [rejected] = await rec.caught.waitFor(1);
        assert.strictEqual(rejected.errorCode, 'SESSION_REJECTED');
        // The token had served a request, so its refusal means it ended: one re-login at once, whose
        // token is refused before serving anything: no further login (README "Session behaviour").
        assert.strictEqual(sim.stats.loginAttempts, 3);
        await answeredOnce(rec, 2);
    });

    it('writes with POST and reads the change back', async function () {
        await startSim();
        const rec = await load(flow({ request: { method: 'use', url: '' } }), CREDENTIALS);
        const r1 = helper.getNode('r1');
        r1.receive({ method: 'POST', url: '/Client/5', payload: { clientProperties: { client: { clientDescription: 'nightly' } } } });
        const [written] = await rec.out.waitFor(1);
        assert.strictEqual(written.statusCode, 200);
        assert.strictEqual(written.payload.response[0].errorCode, 0);
        r1.receive({ method: 'GET', url: '/Client/5' });
        const [, read] = await rec.out.waitFor(2);
        assert.strictEqual(read.payload.clientProperties[0].client.clientDescription, 'nightly');
    });

    it('(50) logout ends the token on the server ("User logged out"); logging out again succeeds', async function () {
        await startSim();
        const rec = await load(flow(), CREDENTIALS);
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        const [authtoken] = sim.issuedTokens();
        helper.getNode('o1').receive({});
        const [, out] = await rec.out.waitFor(2);
        assert.strictEqual(out.session, undefined);
        assert.deepStrictEqual(
            calls('/Logout').map((r: any) => [r.method, r.status, r.authtoken]),
            [['POST', 200, true]],
        );
        assert.strictEqual(sim.stats.logouts, 1);
        const refused = await rawRequest(`${sim.baseUrl}/Client`, { headers: { Authtoken: authtoken } });
        assert.strictEqual(refused.status, 401);
        assert.ok(statusTexts(rec).includes(`grey/ring/${STATUS_KEY('loggedOut')}`), statusTexts(rec).join());
        helper.getNode('o1').receive({ again: true });
        const [, , twice] = await rec.out.waitFor(3);
        assert.strictEqual(twice.again, true);
        assert.strictEqual(calls('/Logout').length, 1, 'a session that is gone needs no request');
        await answeredOnce(rec, 3);
    });

    for (const logoutInvalidStatus of [200, 401]) {
        it(`(50) logging out a token the server no longer knows succeeds ("Invalid authorization token provided." with ${logoutInvalidStatus})`, async function () {
            await startSim({ logoutInvalidStatus });
            const rec = await load(flow(), CREDENTIALS);
            helper.getNode('l1').receive({});
            await rec.out.waitFor(1);
            sim.expireTokens();
            helper.getNode('o1').receive({ n: 2 });
            const [, out] = await rec.out.waitFor(2);
            assert.strictEqual(out.n, 2);
            assert.strictEqual(out.session, undefined);
            assert.deepStrictEqual(
                calls('/Logout').map((r: any) => [r.status, r.authtoken]),
                [[logoutInvalidStatus, true]],
            );
            assert.strictEqual(sim.stats.logouts, 0);
            await answeredOnce(rec, 2);
        });
    }

    it('a logout the server fails goes to Catch', async function () {
        await startSim();
        const rec = await load(flow(), CREDENTIALS);
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        sim.failNextLogout(500, 1);
        helper.getNode('o1').receive({});
        const [failed] = await rec.caught.waitFor(1);
        assert.strictEqual(failed.errorCode, 'SERVER_ERROR');
        assert.strictEqual(failed.statusCode, 500);
        await answeredOnce(rec, 2);
    });

    it('never shows the password (plain or Base64) or the token in a msg, status or log line without exposeCredential', async function () {
        await startSim();
        const wrong = 'Wr0ng-Secret!';
        const bad = await load(flow(), { server: { username: 'cvuser01', password: wrong } });
        helper.getNode('l1').receive({});
        await bad.caught.waitFor(1);
        await helper.unload();

        const good = await load(flow({ request: { url: '' } }), CREDENTIALS);
        const statusCalls: any = [];
        for (const id of ['l1', 'r1', 'o1']) helper.getNode(id).on('call:status', (call) => statusCalls.push((call as any).args));
        helper.getNode('l1').receive({});
        helper.getNode('r1').receive({ url: '/WhoAmI', method: 'GET' });
        helper.getNode('r1').receive({ url: 'https://elsewhere.example/' });
        await good.out.waitFor(2);
        await good.caught.waitFor(1);
        sim.expireTokens();
        helper.getNode('r1').receive({ url: '/Client' });
        await good.out.waitFor(3);
        helper.getNode('o1').receive({});
        await good.out.waitFor(4);
        await settle(good, 5);

        const tokens = sim.issuedTokens();
        assert.strictEqual(tokens.length, 2, 'a login and a re-login happened');
        const seen = [
            JSON.stringify([...bad.out.messages, ...bad.caught.messages, ...good.out.messages, ...good.caught.messages]),
            JSON.stringify([...bad.statuses.messages, ...good.statuses.messages]),
            JSON.stringify(statusCalls),
            logText(),
        ].join('\n');
        const secrets = [wrong, b64(wrong), USER.password, b64(USER.password), ...tokens, ...tokens.map((t: any) => t.slice('QSDK '.length))];
        for (const secret of secrets) assert.ok(!seen.includes(secret), `a secret leaked: ${secret.slice(0, 6)}...`);
        assert.ok(seen.includes('INVALID_CREDENTIALS') && seen.includes('INVALID_INPUT') && seen.includes('cvuser01'), 'the capture did record the run');
    });

    it('puts the Authtoken into msg.session.headers only with exposeCredential', async function () {
        await startSim();
        const rec = await load(flow({ server: { exposeCredential: true } }), CREDENTIALS);
        helper.getNode('l1').receive({});
        const [msg] = await rec.out.waitFor(1);
        assert.deepStrictEqual(msg.session.headers, { Authtoken: sim.issuedTokens()[0] });
        const direct = await rawRequest(`${sim.baseUrl}/Client`, { headers: msg.session.headers });
        assert.strictEqual(direct.status, 200);
    });
});

/**
 * Oracle SDM in a real Node-RED runtime, over HTTPS with the test CA, against the SDM simulator
 * (docs/vendors.md section 3; the client-observable cases of 34-41).
 */
import assert from 'node:assert';

import { SdmSimulator } from '../simulators/sdm';
import { request as rawRequest } from '../simulators/http-get';
import { helper, standardFlow, load, settle, answeredOnce, logText, nodeRedWithSimulator } from '../support/harness';

const SDM_ADMIN = { username: 'admin', password: 'passphrase' };
const DEVICES = '/rest/v1.3/inventory/deviceMgmt/devices';
const SESSION_FIELDS = ['idleTimeout', 'serverInfo', 'userGroup', 'userName', 'validUntil'];

/** The standard test flow for an SDM server config (JSON, v1.3 unless overridden). */
function sdmFlow(sim: any, { server = {}, request = {}, extra = [] } = {}) {
    return standardFlow(sim.baseUrl, {
        server: { vendor: 'sdm', apiVersion: 'v1.3', format: 'json', ...server },
        request: { url: DEVICES, ...request },
        extra,
    });
}

function loadSdm(flow: any, credentials = SDM_ADMIN) {
    return load(flow, { server: credentials });
}

/** The JSESSIONID value the simulator handed out with its last successful login. */
function lastSessionId(sim: any) {
    const ok = sim.stats.requests.filter((r: any) => r.path.endsWith('/admin/login') && r.status === 200);
    assert.ok(ok.length, 'no successful login recorded');
    const later = sim.stats.requests.find((r: any) => r.at >= ok[ok.length - 1].at && /JSESSIONID=/.test(r.cookie));
    assert.ok(later, 'the session cookie was never sent');
    return /JSESSIONID=([^;]+)/.exec(later.cookie)![1];
}

const dataCalls = (sim: any) => sim.stats.requests.filter((r: any) => r.path.includes('/inventory/'));

describe('Oracle SDM in a Node-RED runtime', function () {
    let sim: any;
    let clock: any;

    const { start: startSim, fakeClock } = nodeRedWithSimulator((options = {}) => (sim = new SdmSimulator(options)));

    describe('login', function () {
        it('(35) logs in with JSON: msg.payload holds the <session> fields without sessionId, expiry from validUntil', async function () {
            await startSim({ sessionTtlMs: 3600000 });
            const rec = await loadSdm(sdmFlow(sim));
            const before = Date.now();
            helper.getNode('l1').receive({});
            const [msg] = await rec.out.waitFor(1);
            assert.deepStrictEqual(Object.keys(msg.payload).sort(), SESSION_FIELDS);
            assert.strictEqual(msg.payload.userName, 'admin');
            assert.strictEqual(msg.payload.idleTimeout, 0);
            assert.strictEqual(msg.payload.serverInfo, 'NNC82');
            assert.strictEqual(msg.session.vendor, 'sdm');
            assert.strictEqual(msg.session.user, 'admin');
            assert.strictEqual(msg.session.expiresAt, Date.parse(msg.payload.validUntil));
            assert.ok(msg.session.expiresAt >= before + 3600000 - 1000 && msg.session.expiresAt <= Date.now() + 3600000);
            assert.strictEqual(msg.session.headers, undefined);
            const [login] = sim.stats.requests;
            assert.deepStrictEqual([login.method, login.path, login.status, login.accept], ['POST', '/rest/v1.3/admin/login', 200, 'application/json']);
        });

        it('(34) logs in with XML (format xml): the same fields, read from the XML <session>', async function () {
            await startSim();
            const rec = await loadSdm(
                sdmFlow(sim, { server: { format: 'xml', apiVersion: 'v1.1' }, request: { url: '/rest/v1.1/inventory/deviceMgmt/devices', ret: 'txt' } }),
            );
            helper.getNode('l1').receive({});
            const [msg] = await rec.out.waitFor(1);
            assert.deepStrictEqual(Object.keys(msg.payload).sort(), SESSION_FIELDS);
            assert.strictEqual(msg.payload.userName, 'admin');
            assert.strictEqual(msg.payload.userGroup, 'LI_ADMIN');
            assert.strictEqual(msg.payload.idleTimeout, '0', 'XML values stay text');
            const [login] = sim.stats.requests;
            assert.deepStrictEqual([login.path, login.status, login.accept], ['/rest/v1.1/admin/login', 200, 'application/xml']);
            helper.getNode('r1').receive({});
            const [, data] = await rec.out.waitFor(2);
            assert.strictEqual(data.statusCode, 200);
            assert.match(data.payload, /^<\?xml[^>]*\?><devices><device>/);
            assert.strictEqual(sim.stats.loginAttempts, 1);
        });

        it('(37) a wrong password is INVALID_CREDENTIALS, and no further login is sent during the cool-down', async function () {
            await startSim();
            const rec = await loadSdm(sdmFlow(sim), { username: 'admin', password: 'wrong' });
            helper.getNode('l1').receive({ n: 1 });
            const [first] = await rec.caught.waitFor(1);
            assert.strictEqual(first.errorCode, 'INVALID_CREDENTIALS');
            assert.strictEqual(first.statusCode, 401);
            assert.match(first.error.message, /The user ID or password is invalid/);
            helper.getNode('l1').receive({ n: 2 });
            helper.getNode('r1').receive({ n: 3 });
            await answeredOnce(rec, 3);
            for (const msg of rec.caught.messages.slice(1)) {
                assert.strictEqual(msg.errorCode, 'INVALID_CREDENTIALS');
                assert.ok(msg.retryAfter > 0 && msg.retryAfter <= 300, `retryAfter ${msg.retryAfter}`);
            }
            assert.strictEqual(sim.stats.loginAttempts, 1);
            assert.strictEqual(rec.out.messages.length, 0);
        });

        it('(38) an unknown API version (v9.9) is NOT_FOUND and says so; a malformed one is CONFIG with nothing sent', async function () {
            await startSim();
            let rec = await loadSdm(sdmFlow(sim, { server: { apiVersion: 'v9.9' } }));
            helper.getNode('l1').receive({});
            const [missing] = await rec.caught.waitFor(1);
            assert.strictEqual(missing.errorCode, 'NOT_FOUND');
            assert.strictEqual(missing.statusCode, 404);
            assert.match(missing.error.message, /no REST API version "v9\.9"/);
            assert.strictEqual(sim.stats.requests[0].path, '/rest/v9.9/admin/login');
            await helper.unload();

            sim.resetStats();
            rec = await loadSdm(sdmFlow(sim, { server: { apiVersion: 'latest' } }));
            helper.getNode('l1').receive({});
            const [config] = await rec.caught.waitFor(1);
            assert.strictEqual(config.errorCode, 'CONFIG');
            assert.match(config.error.message, /API version "latest" is not valid/);
            assert.strictEqual(sim.stats.requests.length, 0);
        });

        it('a login reply with a DOCTYPE entity bomb is harmless: the session is still read, fast', async function () {
            await startSim();
            const rec = await loadSdm(sdmFlow(sim, { server: { format: 'xml' }, request: { ret: 'txt' } }));
            sim.entityBombNext(1);
            const started = Date.now();
            helper.getNode('l1').receive({});
            const [msg] = await rec.out.waitFor(1);
            assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
            assert.strictEqual(msg.payload.userName, 'admin');
            assert.strictEqual(msg.payload.serverInfo, '&lol9;', 'the entity is not expanded');

            sim.entityBombNext(1);
            helper.getNode('r1').receive({});
            const [, data] = await rec.out.waitFor(2);
            assert.strictEqual(data.statusCode, 200);
            assert.match(data.payload, /^<\?xml[^>]*\?><!DOCTYPE devices \[<!ENTITY lol0 "lol">/);
            assert.ok(data.payload.length < 5000, 'the text is passed on as received');
            assert.strictEqual(rec.caught.messages.length, 0);
        });
    });

    describe('requests', function () {
        it('sends JSESSIONID to every /rest URL, other API versions included, and never outside /rest', async function () {
            await startSim();
            const rec = await loadSdm(sdmFlow(sim, { request: { url: '', ret: 'txt' } }));
            const r1 = helper.getNode('r1');
            r1.receive({ url: DEVICES });
            await rec.out.waitFor(1);
            r1.receive({ url: '/rest/v1.0/inventory/deviceMgmt/devices' });
            await rec.out.waitFor(2);
            r1.receive({ url: `${sim.origin}/rest/v1.2/configuration/devices` });
            await rec.out.waitFor(3);
            r1.receive({ url: '/' });
            await rec.out.waitFor(4);
            await answeredOnce(rec, 4);
            assert.deepStrictEqual(
                rec.out.messages.map((m) => m.statusCode),
                [200, 200, 200, 200],
            );
            const id = lastSessionId(sim);
            const seen = sim.stats.requests.filter((r: any) => !r.path.endsWith('/admin/login')).map((r: any) => [r.path, r.cookie]);
            assert.deepStrictEqual(seen, [
                [DEVICES, `JSESSIONID=${id}`],
                ['/rest/v1.0/inventory/deviceMgmt/devices', `JSESSIONID=${id}`],
                ['/rest/v1.2/configuration/devices', `JSESSIONID=${id}`],
                ['/', ''],
            ]);
            assert.strictEqual(sim.stats.loginAttempts, 1);
        });

        it('sets Accept by the format unless msg.headers sets it', async function () {
            await startSim();
            const rec = await loadSdm(sdmFlow(sim, { server: { format: 'xml' }, request: { ret: 'txt' } }));
            const r1 = helper.getNode('r1');
            r1.receive({ n: 1 });
            await rec.out.waitFor(1);
            r1.receive({ n: 2, headers: { accept: 'application/json' } });
            await rec.out.waitFor(2);
            const [xml, json] = rec.out.messages;
            assert.strictEqual(xml.headers['content-type'], 'application/xml');
            assert.match(xml.payload, /^<\?xml/);
            assert.strictEqual(json.headers['content-type'], 'application/json');
            assert.strictEqual(JSON.parse(json.payload).devices.length, 2);
            assert.deepStrictEqual(
                dataCalls(sim).map((r: any) => r.accept),
                ['application/xml', 'application/json'],
            );
            await helper.unload();

            sim.resetStats();
            const jsonRec = await loadSdm(sdmFlow(sim));
            helper.getNode('r1').receive({});
            const [obj] = await jsonRec.out.waitFor(1);
            assert.strictEqual(obj.payload.devices[0].deviceId, 'sbc-east-01');
            assert.deepStrictEqual(
                dataCalls(sim).map((r: any) => r.accept),
                ['application/json'],
            );
        });

        it('a session that dies before a burst of 30 requests causes exactly one re-login; every msg is answered once', async function () {
            await startSim();
            const rec = await loadSdm(sdmFlow(sim));
            const r1 = helper.getNode('r1');
            r1.receive({ seq: 'warm-up' });
            await rec.out.waitFor(1);
            sim.expireSessions();
            for (let i = 0; i < 30; i++) r1.receive({ seq: i });
            await answeredOnce(rec, 31);
            assert.strictEqual(rec.caught.messages.length, 0);
            assert.strictEqual(new Set(rec.out.messages.map((m) => m.seq)).size, 31);
            assert.ok(rec.out.messages.every((m) => m.statusCode === 200));
            assert.strictEqual(sim.stats.loginAttempts, 2);
            const refused = dataCalls(sim).filter((r: any) => r.status === 401).length;
            // At most one per connection (8), and one per connection freed before the replacement.
            assert.ok(
                refused >= 1 && refused <= 16,
                `${refused}: the requests written before the re-login met the dead session; the queued ones went out with the fresh one`,
            );
        });

        it('a session that dies in the middle of 30 concurrent requests causes exactly one re-login; every msg is answered once', async function () {
            await startSim();
            const rec = await loadSdm(sdmFlow(sim));
            const r1 = helper.getNode('r1');
            r1.receive({ seq: 'warm-up' });
            await rec.out.waitFor(1);
            sim.expireSessionsAfter(10);
            for (let i = 0; i < 30; i++) r1.receive({ seq: i });
            await answeredOnce(rec, 31);
            assert.strictEqual(rec.caught.messages.length, 0);
            assert.strictEqual(new Set(rec.out.messages.map((m) => m.seq)).size, 31);
            assert.ok(rec.out.messages.every((m) => m.statusCode === 200));
            assert.strictEqual(sim.stats.loginAttempts, 2);
            const refused = dataCalls(sim).filter((r: any) => r.status === 401).length;
            // Requests 11-30 would meet the dead session; those queued at the re-login go out with the fresh one.
            assert.ok(
                refused >= 1 && refused <= 16,
                `${refused}: the requests written before the re-login met the dead session; the queued ones went out with the fresh one`,
            );
        });

        it('replays a POST once after a 401 (the server refused it unprocessed): one write, one re-login', async function () {
            await startSim();
            const rec = await loadSdm(sdmFlow(sim, { request: { method: 'POST', url: '/rest/v1.3/inventory/deviceMgmt/deviceGroups' } }));
            helper.getNode('l1').receive({});
            await rec.out.waitFor(1);
            sim.expireSessions();
            helper.getNode('r1').receive({ payload: { groupName: 'Lab' } });
            const [, msg] = await rec.out.waitFor(2);
            assert.strictEqual(msg.statusCode, 200);
            assert.deepStrictEqual(msg.payload, { groupName: 'Lab', groupFullName: 'Home/Lab' });
            assert.deepStrictEqual(sim.deviceGroups, ['Home', 'Home/Lab']);
            assert.strictEqual(sim.stats.loginAttempts, 2);
        });

        it('a 401 that survives one fresh login is SESSION_REJECTED, without a loop', async function () {
            await startSim();
            const rec = await loadSdm(sdmFlow(sim));
            helper.getNode('l1').receive({});
            await rec.out.waitFor(1);
            sim.failNext(401, 2);
            helper.getNode('r1').receive({});
            const [rejected] = await rec.caught.waitFor(1);
            assert.strictEqual(rejected.errorCode, 'SESSION_REJECTED');
            assert.strictEqual(rejected.statusCode, 401);
            assert.strictEqual(sim.stats.loginAttempts, 2);
            await answeredOnce(rec, 2);
        });

        it('logs in again ahead of a validUntil known in advance, and logs the old session out', async function () {
            await startSim({ sessionTtlMs: 10 * 60000 });
            clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
            const rec = await loadSdm(sdmFlow(sim));
            helper.getNode('r1').receive({});
            await rec.out.waitFor(1);
            const first = lastSessionId(sim);
            clock.tick(9.5 * 60000); // inside the one-minute margin
            helper.getNode('r1').receive({});
            const [, msg] = await rec.out.waitFor(2);
            assert.strictEqual(msg.statusCode, 200);
            assert.strictEqual(sim.stats.loginAttempts, 2);
            assert.ok(!sim.stats.requests.some((r: any) => r.status === 401), 'the expiring session was not used');
            for (let i = 0; i < 50 && sim.isSessionValid(first); i++) await new Promise((resolve) => setTimeout(resolve, 10));
            assert.strictEqual(sim.isSessionValid(first), false, 'the replaced session was logged out');
        });

        it('logs in again ahead of an idle timeout it was told (idleTimeout in minutes)', async function () {
            await startSim({ idleTtlMs: 10 * 60000 });
            clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
            const rec = await loadSdm(sdmFlow(sim));
            helper.getNode('l1').receive({});
            const [login] = await rec.out.waitFor(1);
            assert.strictEqual(login.payload.idleTimeout, 10);
            clock.tick(9.5 * 60000);
            helper.getNode('r1').receive({});
            const [, msg] = await rec.out.waitFor(2);
            assert.strictEqual(msg.statusCode, 200);
            assert.strictEqual(sim.stats.loginAttempts, 2);
            assert.ok(!sim.stats.requests.some((r: any) => r.status === 401), 'the idle session was not used');
        });
    });

    describe('logout', function () {
        it('(40) logs out with 204; the cookie is refused afterwards; a second logout succeeds', async function () {
            await startSim();
            const rec = await loadSdm(sdmFlow(sim));
            helper.getNode('r1').receive({});
            await rec.out.waitFor(1);
            const id = lastSessionId(sim);
            helper.getNode('o1').receive({});
            const [, out] = await rec.out.waitFor(2);
            assert.strictEqual(out.session, undefined);
            const logoutCall = sim.stats.requests[sim.stats.requests.length - 1];
            assert.deepStrictEqual(
                [logoutCall.method, logoutCall.path, logoutCall.status, logoutCall.cookie],
                ['POST', '/rest/v1.3/admin/logout', 204, `JSESSIONID=${id}`],
            );
            assert.strictEqual(sim.stats.logouts, 1);
            const refused = await rawRequest(`${sim.origin}${DEVICES}`, { headers: { Cookie: `JSESSIONID=${id}`, Accept: 'application/json' } });
            assert.strictEqual(refused.status, 401);
            assert.strictEqual(refused.json().message, 'The session ID is invalid.');

            helper.getNode('o1').receive({ again: true });
            const [, , twice] = await rec.out.waitFor(3);
            assert.strictEqual(twice.again, true);
            await answeredOnce(rec, 3);
        });

        it('(41) logging out a session the server already dropped succeeds (401 counts as logged out)', async function () {
            await startSim();
            const rec = await loadSdm(sdmFlow(sim));
            helper.getNode('l1').receive({});
            await rec.out.waitFor(1);
            sim.expireSessions();
            helper.getNode('o1').receive({ n: 2 });
            const [, out] = await rec.out.waitFor(2);
            assert.strictEqual(out.n, 2);
            assert.strictEqual(out.session, undefined);
            const logoutCall = sim.stats.requests[sim.stats.requests.length - 1];
            assert.deepStrictEqual([logoutCall.path, logoutCall.status], ['/rest/v1.3/admin/logout', 401]);
            await answeredOnce(rec, 2);
        });

        it('a redeploy logs the live session out', async function () {
            await startSim();
            const flow = sdmFlow(sim);
            const rec = await loadSdm(flow);
            helper.getNode('l1').receive({});
            await rec.out.waitFor(1);
            assert.strictEqual(sim.liveSessions(), 1);
            await helper.setFlows(flow, 'full', { server: SDM_ADMIN });
            assert.strictEqual(sim.stats.logouts, 1);
            assert.strictEqual(sim.liveSessions(), 0);
        });
    });

    describe('secrets', function () {
        it('never shows the password or the JSESSIONID cookie in a msg, status or log line', async function () {
            await startSim();
            const bad = await loadSdm(sdmFlow(sim), { username: 'admin', password: 'wrong-Secret-1' });
            helper.getNode('l1').receive({});
            await bad.caught.waitFor(1);
            await helper.unload();

            const rec = await loadSdm(sdmFlow(sim, { server: { format: 'xml' }, request: { url: '', ret: 'txt' } }));
            const statusCalls: any = [];
            for (const id of ['l1', 'r1', 'o1']) helper.getNode(id).on('call:status', (call) => statusCalls.push((call as any).args));
            helper.getNode('l1').receive({});
            await rec.out.waitFor(1);
            helper.getNode('r1').receive({ url: DEVICES });
            helper.getNode('r1').receive({ url: '/rest/v1.3/nothing' });
            helper.getNode('r1').receive({ url: 'https://elsewhere.example/rest/v1.3/admin/login' });
            await settle(rec, 4);
            sim.expireSessions();
            helper.getNode('r1').receive({ url: DEVICES });
            await settle(rec, 5);
            helper.getNode('o1').receive({});
            await answeredOnce(rec, 6);

            const ids = sim.stats.requests
                .map((r: any) => /JSESSIONID=([^;]+)/.exec(r.cookie))
                .filter(Boolean)
                .map((m: any) => m[1]);
            assert.strictEqual(new Set(ids).size, 2, 'two sessions were used');
            const seen = [
                JSON.stringify([...bad.out.messages, ...bad.caught.messages, ...rec.out.messages, ...rec.caught.messages]),
                JSON.stringify(bad.statuses.messages),
                JSON.stringify(rec.statuses.messages),
                JSON.stringify(statusCalls),
                logText(),
            ].join('\n');
            for (const secret of ['wrong-Secret-1', SDM_ADMIN.password, ...ids]) {
                assert.ok(!seen.includes(secret), `a secret leaked: ${secret.slice(0, 4)}...`);
            }
            assert.ok(!/sessionId/.test(JSON.stringify(rec.out.messages[0].payload)));
            assert.ok(seen.includes('INVALID_CREDENTIALS') && seen.includes('INVALID_INPUT'), 'the capture did record the errors');
        });

        it('puts the cookie in msg.session.headers only with exposeCredential', async function () {
            await startSim();
            const rec = await loadSdm(sdmFlow(sim, { server: { exposeCredential: true } }));
            helper.getNode('l1').receive({});
            const [msg] = await rec.out.waitFor(1);
            assert.match(msg.session.headers.Cookie, /^JSESSIONID=[0-9A-F]{32}\.tomcat1$/);
            assert.ok(sim.isSessionValid(msg.session.headers.Cookie.split('=')[1]));
            assert.ok(!('sessionId' in msg.payload));
        });
    });
});

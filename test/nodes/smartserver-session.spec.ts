import assert from 'node:assert';

import { SmartServerSimulator } from '../simulators/smartserver';
import { request as rawRequest } from '../simulators/http-get';
import { helper, ADMIN, standardFlow, load, settle, nodeRedWithSimulator } from '../support/harness';

const STATUS_KEY = (name: any) => `rest-session-server.status.${name}`;

/** Every status a Status node saw, as fill/shape/text (the test runtime shows i18n keys, namespace dropped). */
function statusTexts(rec: any) {
    return rec.statuses.messages.map((m: any) => `${m.status.fill}/${m.status.shape}/${String(m.status.text).split(':').pop()}`);
}

function errorCodeOf(msg: any) {
    return msg.errorCode;
}

describe('SmartServer session behaviour in a Node-RED runtime', function () {
    let sim: any;
    let clock: any;

    const { start: startSim, fakeClock } = nodeRedWithSimulator((options = {}) => (sim = new SmartServerSimulator(options)));

    it('50 concurrent requests on a cold server cause exactly one login', async function () {
        await startSim();
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        const r1 = helper.getNode('r1');
        for (let i = 0; i < 50; i++) r1.receive({ seq: i });
        await settle(rec, 50);
        assert.strictEqual(rec.caught.messages.length, 0);
        assert.strictEqual(sim.stats.loginAttempts, 1);
        assert.deepStrictEqual(new Set(rec.out.messages.map((m) => m.seq)).size, 50);
        assert.ok(rec.out.messages.every((m) => m.statusCode === 200 && Array.isArray(m.payload)));
    });

    it('a session expiring mid-stream causes exactly one re-login and every message is answered once', async function () {
        await startSim();
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        const r1 = helper.getNode('r1');
        r1.receive({ seq: 'warm-up' });
        await rec.out.waitFor(1);
        let expired = false;
        rec.out.node.on('input', () => {
            if (!expired && rec.out.messages.length >= 10) {
                expired = true;
                sim.expireSessions();
            }
        });
        for (let i = 0; i < 60; i++) r1.receive({ seq: i });
        await settle(rec, 61);
        assert.ok(expired);
        assert.strictEqual(rec.caught.messages.length, 0);
        assert.strictEqual(rec.out.messages.length, 61);
        assert.strictEqual(new Set(rec.out.messages.map((m) => m.seq)).size, 61);
        assert.ok(rec.out.messages.every((m) => m.statusCode === 200));
        assert.strictEqual(sim.stats.loginAttempts, 2);
        assert.ok(
            sim.stats.requests.some((r: any) => r.status === 401),
            'the simulator refused some requests',
        );
    });

    it('a refresh known in advance logs in again before the expiry and logs the old session out', async function () {
        await startSim({ sessionTtlMs: 10 * 60_000 });
        clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
        const rec = await load(standardFlow(sim.baseUrl('root')));
        helper.getNode('r1').receive({});
        await rec.out.waitFor(1);
        const firstCookie = sim.stats.requests.find((r: any) => r.path === '/iap/devs').cookie.split('=')[1];
        clock.tick(9.5 * 60_000); // inside the one-minute margin: due for renewal
        helper.getNode('r1').receive({});
        await rec.out.waitFor(2);
        await settle(rec, 2);
        assert.strictEqual(rec.out.messages[1].statusCode, 200);
        assert.strictEqual(sim.stats.loginAttempts, 2);
        assert.ok(!sim.stats.requests.some((r: any) => r.status === 401), 'no request was sent with the expiring session');
        for (let i = 0; i < 50 && sim.isSessionValid(firstCookie); i++) await new Promise((r) => setTimeout(r, 10));
        assert.strictEqual(sim.isSessionValid(firstCookie), false, 'the replaced session was logged out');
    });

    it('a 401 on login sends no further login during the cool-down', async function () {
        await startSim();
        const rec = await load(standardFlow(sim.baseUrl('cms')), { server: { username: 'admin', password: 'wrong' } });
        helper.getNode('l1').receive({ n: 1 });
        const [first] = await rec.caught.waitFor(1);
        assert.strictEqual(errorCodeOf(first), 'INVALID_CREDENTIALS');
        assert.strictEqual(first.statusCode, 401);
        // Node-RED shows String(err), which starts with the code; older Node-RED copies no err.code to msg.error.
        assert.match(first.error.message, /^INVALID_CREDENTIALS: /);
        if ('code' in first.error) assert.strictEqual(first.error.code, 'INVALID_CREDENTIALS');
        helper.getNode('l1').receive({ n: 2 });
        helper.getNode('r1').receive({ n: 3 });
        await rec.caught.waitFor(3);
        for (const msg of rec.caught.messages.slice(1)) {
            assert.strictEqual(msg.errorCode, 'INVALID_CREDENTIALS');
            assert.ok(msg.retryAfter > 0 && msg.retryAfter <= 300, `retryAfter ${msg.retryAfter}`);
        }
        assert.strictEqual(sim.stats.loginAttempts, 1);
        assert.strictEqual(rec.out.messages.length, 0);
        assert.ok(statusTexts(rec).includes(`red/ring/${STATUS_KEY('invalidCredentials')}`), statusTexts(rec).join());
    });

    it('a 429 lockout blocks every login until the wait is over, with msg.retryAfter', async function () {
        await startSim({ lockoutThreshold: 3, lockoutDurationMs: 10 * 60_000 });
        for (let i = 0; i < 3; i++) {
            await rawRequest(`${sim.origin}/iap/auth/login`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: { username: 'admin', password: 'guess' },
            });
        }
        sim.resetStats();
        clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
        const rec = await load(standardFlow(sim.baseUrl('root')));
        helper.getNode('r1').receive({ n: 1 });
        const [locked] = await rec.caught.waitFor(1);
        assert.strictEqual(locked.errorCode, 'LOCKED_OUT');
        assert.strictEqual(locked.statusCode, 429);
        assert.ok(locked.retryAfter >= 590 && locked.retryAfter <= 600, `retryAfter ${locked.retryAfter}`);
        assert.ok(
            statusTexts(rec).some((t: any) => t.startsWith(`red/ring/${STATUS_KEY('lockedOut')}`)),
            statusTexts(rec).join(),
        );

        clock.tick(5 * 60_000);
        helper.getNode('l1').receive({ n: 2 });
        helper.getNode('r1').receive({ n: 3 });
        await rec.caught.waitFor(3);
        for (const msg of rec.caught.messages.slice(1)) {
            assert.strictEqual(msg.errorCode, 'LOCKED_OUT');
            assert.ok(msg.retryAfter > 290 && msg.retryAfter <= 300, `retryAfter ${msg.retryAfter}`);
        }
        assert.strictEqual(sim.stats.loginAttempts, 1, 'no login was sent during the lockout');

        clock.tick(5 * 60_000 + 1000);
        helper.getNode('r1').receive({ n: 4 });
        const [served] = await rec.out.waitFor(1);
        assert.strictEqual(served.statusCode, 200);
        assert.strictEqual(sim.stats.loginAttempts, 2);
    });

    it('a generic 429 on login is RATE_LIMITED, not a credential problem', async function () {
        await startSim();
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        sim.throttleNext(1);
        helper.getNode('l1').receive({});
        const [limited] = await rec.caught.waitFor(1);
        assert.strictEqual(limited.errorCode, 'RATE_LIMITED');
        assert.strictEqual(limited.retryAfter, 120);
        helper.getNode('l1').receive({});
        const [again] = (await rec.caught.waitFor(2)).slice(1);
        assert.strictEqual(again.errorCode, 'RATE_LIMITED');
        assert.strictEqual(sim.stats.loginAttempts, 1);
    });

    it('428 is ACCOUNT_DISABLED and is not retried', async function () {
        await startSim();
        sim.setUser('admin', { state: 'deactivated' });
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        helper.getNode('l1').receive({});
        helper.getNode('l1').receive({});
        await rec.caught.waitFor(2);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            ['ACCOUNT_DISABLED', 'ACCOUNT_DISABLED'],
        );
        assert.strictEqual(rec.caught.messages[0].statusCode, 428);
        assert.strictEqual(sim.stats.loginAttempts, 1);
    });

    it('a 500 on login is SERVER_ERROR and does not start a cool-down', async function () {
        await startSim();
        sim.setUser('admin', { dbError: true });
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        helper.getNode('l1').receive({});
        const [failed] = await rec.caught.waitFor(1);
        assert.strictEqual(failed.errorCode, 'SERVER_ERROR');
        assert.strictEqual(failed.statusCode, 500);
        sim.setUser('admin', { dbError: false });
        helper.getNode('l1').receive({});
        const [ok] = await rec.out.waitFor(1);
        assert.strictEqual(ok.session.user, 'admin');
        assert.strictEqual(sim.stats.loginAttempts, 2);
    });

    it('423 without a newPassword is PASSWORD_EXPIRED', async function () {
        await startSim();
        sim.setUser('admin', { state: 'passwordExpired' });
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        helper.getNode('l1').receive({});
        const [expired] = await rec.caught.waitFor(1);
        assert.strictEqual(expired.errorCode, 'PASSWORD_EXPIRED');
        assert.strictEqual(expired.statusCode, 423);
        assert.strictEqual(sim.stats.loginAttempts, 1);
    });

    it('423 with a newPassword that breaks the policy is PASSWORD_POLICY and the new password is never sent', async function () {
        await startSim();
        sim.setUser('admin', { state: 'passwordExpired' });
        const rec = await load(standardFlow(sim.baseUrl('cms')), { server: { ...ADMIN, newPassword: 'short1!A' } });
        helper.getNode('l1').receive({});
        const [refused] = await rec.caught.waitFor(1);
        assert.strictEqual(refused.errorCode, 'PASSWORD_POLICY');
        assert.strictEqual(sim.stats.loginAttempts, 1);
        assert.strictEqual(sim.getUser('admin').password, ADMIN.password);
        assert.ok(!JSON.stringify(refused).includes('short1!A'));
    });

    it('423 with a valid newPassword changes the password, logs in and asks to update the config', async function () {
        await startSim();
        sim.setUser('admin', { state: 'passwordExpired' });
        const newPassword = 'N3w!Secure#Pass';
        const rec = await load(standardFlow(sim.baseUrl('cms')), { server: { ...ADMIN, newPassword } });
        helper.getNode('l1').receive({});
        const [ok] = await rec.out.waitFor(1);
        assert.strictEqual(ok.payload.userName, 'admin');
        assert.strictEqual(sim.getUser('admin').password, newPassword);
        assert.strictEqual(sim.stats.loginAttempts, 2);
        assert.ok(statusTexts(rec).includes(`yellow/dot/${STATUS_KEY('passwordChanged')}`), statusTexts(rec).join());
        helper.getNode('l1').receive({ forceLogin: true });
        await rec.out.waitFor(2);
        assert.strictEqual(sim.stats.loginsOk, 2, 'the next login uses the new password');
        assert.ok(!JSON.stringify(rec.out.messages).includes(newPassword));
    });

    it('logout ends the session on the server: the old cookie is refused', async function () {
        await startSim();
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        const cookie = sim.stats.requests.find((r: any) => r.cookie).cookie.split('=')[1];
        assert.strictEqual(sim.isSessionValid(cookie), true);
        helper.getNode('o1').receive({});
        const [, out] = await rec.out.waitFor(2);
        assert.strictEqual(out.session, undefined);
        assert.strictEqual(sim.isSessionValid(cookie), false);
        const refused = await rawRequest(`${sim.origin}/cms/iap/devs`, { headers: { Cookie: `cmsSID=${cookie}` } });
        assert.strictEqual(refused.status, 401);
        assert.ok(statusTexts(rec).includes(`grey/ring/${STATUS_KEY('loggedOut')}`), statusTexts(rec).join());
        helper.getNode('o1').receive({ again: true });
        const [, , twice] = await rec.out.waitFor(3);
        assert.strictEqual(twice.again, true, 'logging out a session that is gone succeeds');
        assert.strictEqual(sim.stats.logouts, 1);
    });

    it('a redeploy logs live sessions out; with logoutOnClose off it does not', async function () {
        await startSim();
        const flow = standardFlow(sim.baseUrl('cms'));
        const rec = await load(flow);
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        assert.strictEqual(sim.liveSessions(), 1);
        await helper.setFlows(flow, 'full', { server: ADMIN });
        assert.strictEqual(sim.stats.logouts, 1);
        assert.strictEqual(sim.liveSessions(), 0);

        const keep = standardFlow(sim.baseUrl('cms'), { server: { logoutOnClose: false } });
        await helper.setFlows(keep, 'full', { server: ADMIN });
        const again = { out: new (require('../support/harness').Recorder)('out') };
        helper.getNode('l1').receive({});
        await again.out.waitFor(1);
        await helper.setFlows(keep, 'full', { server: ADMIN });
        assert.strictEqual(sim.stats.logouts, 1);
        assert.strictEqual(sim.liveSessions(), 1);
    });

    it('an expiry signal that survives one fresh login is SESSION_REJECTED, without a loop', async function () {
        await startSim();
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        sim.failNext(401, 2, { message: 'Unauthorized' });
        helper.getNode('r1').receive({ n: 1 });
        const [rejected] = await rec.caught.waitFor(1);
        assert.strictEqual(rejected.errorCode, 'SESSION_REJECTED');
        assert.strictEqual(rejected.statusCode, 401);
        assert.strictEqual(sim.stats.loginAttempts, 2);
        await settle(rec, 2);
        assert.strictEqual(rec.out.messages.length, 1);
    });
});

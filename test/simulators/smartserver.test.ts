// Tests of the SmartServer IAP/REST simulator itself, over real HTTPS (docs/vendors.md section 1
// and section 6 conformance cases). Numbers in test names refer to those cases.

import assert from 'node:assert';
import { SmartServerSimulator, formatWait, passwordPolicyViolation } from './smartserver';
import { request } from './http-get';
import { idleKeepAlive, simulatorFixture, stopsAtOnce } from '../support/simulator-fixture';

const ADMIN = { username: 'admin', password: 'Passw0rd!Passw0rd' };
const LOCKOUT_PREFIX = 'Too many failed login attempts';
const JSON_TYPE = { 'Content-Type': 'application/json' };
const VALUE_PATH = '/iap/devs/17q2d9x.5/if/block/1/Volts_1/value';

function login(base: string | null, creds: Record<string, string> = ADMIN, headers: Record<string, string> = JSON_TYPE) {
    return request(`${base}/iap/auth/login`, { method: 'POST', headers, body: creds });
}

/** The `cmsSID=<value>` pair from a login reply, without attributes. */
function sessionCookie(res: any) {
    const header = [].concat(res.headers['set-cookie'] || [])[0] || '';
    const match = /^(cmsSID=[^;]+)/.exec(header);
    assert.ok(match, `no cmsSID cookie in ${JSON.stringify(res.headers['set-cookie'])}`);
    return match[1];
}

async function loginCookie(base: any, creds = ADMIN) {
    const res = await login(base, creds);
    assert.strictEqual(res.status, 200, res.body);
    return sessionCookie(res);
}

function get(url: any, cookie?: any) {
    return request(url, { headers: cookie ? { Cookie: cookie } : {} });
}

describe('SmartServer simulator', function () {
    this.timeout(10000);
    let sim!: SmartServerSimulator; // stop() is a no-op on a stopped simulator
    let clock: any;

    const { start: startSim, fakeClock } = simulatorFixture((options?: any) => (sim = new SmartServerSimulator(options)));

    describe('lifecycle', function () {
        it('listens on 127.0.0.1 over HTTPS with the fixture certificate and reports its URLs', async function () {
            await startSim();
            assert.ok(Number(sim.port) > 0);
            assert.strictEqual(sim.origin, `https://127.0.0.1:${sim.port}`);
            assert.strictEqual(sim.baseUrl('root'), sim.origin);
            assert.strictEqual(sim.baseUrl('cms'), `${sim.origin}/cms`);
            const res = await get(`${sim.origin}/nothing-here`);
            assert.strictEqual(res.status, 404);
            assert.deepStrictEqual(res.json(), { message: 'Not found' });
        });

        it('is refused by a client that does not trust the test CA', async function () {
            await startSim();
            await assert.rejects(request(`${sim.origin}/iap/devs`, { ca: null }), (err) => {
                assert.match((err as any).code, /CERT|SELF_SIGNED|UNABLE/);
                return true;
            });
        });

        it('stop() closes idle keep-alive connections and resolves fast', async function () {
            await startSim();
            const agent = await idleKeepAlive(`${sim.origin}/iap/devs`);
            try {
                await stopsAtOnce(sim);
            } finally {
                agent.destroy();
            }
        });

        it('serves plain HTTP when tls is false, and the cookie then has no Secure flag', async function () {
            await startSim({ tls: false });
            assert.strictEqual(sim.origin, `http://127.0.0.1:${sim.port}`);
            const res = await login(sim.origin);
            assert.strictEqual(res.status, 200);
            const setCookie = res.headers['set-cookie']![0];
            assert.match(setCookie, /^cmsSID=[0-9a-f]{32,}; Path=\/; HttpOnly$/);
            assert.doesNotMatch(setCookie, /Secure/);
        });
    });

    describe('login', function () {
        it('(1) answers 200 with the user object and a cmsSID cookie', async function () {
            await startSim();
            const res = await login(sim.origin);
            assert.strictEqual(res.status, 200);
            assert.strictEqual(res.headers['content-type'], 'application/json');
            assert.match(res.headers['set-cookie']![0], /^cmsSID=[0-9a-f]{32,}; Path=\/; Secure; HttpOnly$/);
            const user = res.json();
            assert.strictEqual(user.userName, 'admin');
            assert.ok(Number.isInteger(user.id), 'id must be an integer');
            for (const key of ['firstName', 'lastName', 'emailAddress', 'locale', 'customerId']) {
                assert.ok(key in user, `user object lacks ${key}`);
            }
            assert.ok(!('password' in user), 'the password must not be echoed');
            assert.strictEqual(sim.stats.loginAttempts, 1);
            assert.strictEqual(sim.stats.loginsOk, 1);
            assert.strictEqual(sim.liveSessions(), 1);
            assert.ok(sim.isSessionValid(sessionCookie(res).slice('cmsSID='.length)));
        });

        it("accepts Content-Type application/json;chars=utf-8 (the vendor's own spelling)", async function () {
            await startSim();
            const res = await login(sim.origin, ADMIN, { 'Content-Type': 'application/json;chars=utf-8' });
            assert.strictEqual(res.status, 200);
        });

        it('refuses another content type with 415 and malformed bodies with 400', async function () {
            await startSim();
            const wrongType = await login(sim.origin, ADMIN, { 'Content-Type': 'text/plain' });
            assert.strictEqual(wrongType.status, 415);
            assert.deepStrictEqual(wrongType.json(), { message: 'Content-type must be application/json' });
            const malformed = await request(`${sim.origin}/iap/auth/login`, { method: 'POST', headers: JSON_TYPE, body: '{"username":' });
            assert.strictEqual(malformed.status, 400);
            assert.deepStrictEqual(malformed.json(), { message: 'Invalid request' });
            const missing = await login(sim.origin, { username: 'admin' });
            assert.strictEqual(missing.status, 400);
            assert.strictEqual(sim.stats.loginsOk, 0);
        });

        it('(3) answers 401 "Wrong Username or Password" for a wrong password or an unknown user', async function () {
            await startSim();
            for (const creds of [
                { username: 'admin', password: 'nope' },
                { username: 'ghost', password: ADMIN.password },
            ]) {
                const res = await login(sim.origin, creds);
                assert.strictEqual(res.status, 401);
                assert.deepStrictEqual(res.json(), { message: 'Wrong Username or Password' });
                assert.strictEqual(res.headers['set-cookie'], undefined);
            }
            assert.strictEqual(sim.liveSessions(), 0);
        });

        it('creates a new session on every login; the older cookie stays valid', async function () {
            await startSim();
            const first = await loginCookie(sim.origin);
            const second = await loginCookie(sim.origin);
            assert.notStrictEqual(first, second);
            assert.strictEqual(sim.liveSessions(), 2);
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, first)).status, 200);
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, second)).status, 200);
        });

        it('(6) answers 428 for a deactivated user', async function () {
            await startSim({ users: { admin: { password: ADMIN.password, state: 'deactivated' } } });
            const res = await login(sim.origin);
            assert.strictEqual(res.status, 428);
            assert.deepStrictEqual(res.json(), { message: 'User is deactivated' });
            assert.strictEqual(sim.liveSessions(), 0);
        });

        it('answers 500 "Database error" for a user flagged dbError', async function () {
            await startSim();
            sim.setUser('admin', { dbError: true });
            const res = await login(sim.origin);
            assert.strictEqual(res.status, 500);
            assert.deepStrictEqual(res.json(), { message: 'Database error' });
        });

        it('delays the login answer by loginDelayMs', async function () {
            await startSim({ loginDelayMs: 300 });
            const started = Date.now();
            const res = await login(sim.origin);
            assert.strictEqual(res.status, 200);
            assert.ok(Date.now() - started >= 280, 'the answer came too early');
        });
    });

    describe('password expired (423)', function () {
        const NEW_PASSWORD = 'N3w!Secret#Pass';

        beforeEach(async function () {
            await startSim({ users: { admin: { password: ADMIN.password, state: 'passwordExpired' } } });
        });

        it('(7) answers 423 without newPassword, then 200 with a compliant one, which becomes the password', async function () {
            const expired = await login(sim.origin);
            assert.strictEqual(expired.status, 423);
            assert.deepStrictEqual(expired.json(), { message: 'Password expired. Please provide a newPassword.' });

            const changed = await login(sim.origin, { ...ADMIN, newPassword: NEW_PASSWORD });
            assert.strictEqual(changed.status, 200);
            assert.strictEqual(changed.json().userName, 'admin');
            sessionCookie(changed);
            assert.strictEqual(sim.getUser('admin')?.password, NEW_PASSWORD);
            assert.strictEqual(sim.getUser('admin')?.state, 'active');

            assert.strictEqual((await login(sim.origin, { username: 'admin', password: NEW_PASSWORD })).status, 200);
            assert.strictEqual((await login(sim.origin)).status, 401, 'the old password must no longer work');
        });

        it('(8) answers 400 to a newPassword that breaks the policy and keeps the old password', async function () {
            const bad = [
                'Sh0rt!Passwrd', // 13 characters
                'N3w!Secret Pass', // space
                'N3w!Secret"Pass', // double quote
                "N3w!Secret'Pass", // single quote
                'N3w!Secret\tPass', // tab
                'n3w!secret#pass', // no uppercase
                'N3W!SECRET#PASS', // no lowercase
                'New!Secret#Pass', // no digit
                'N3wSecretPass99', // no special character
                'N1234!SecretPas', // ascending digits
                'N3w!Sdcba#Passw', // descending letters
                ADMIN.password, // same as the current one
            ];
            for (const newPassword of bad) {
                const res = await login(sim.origin, { ...ADMIN, newPassword });
                assert.strictEqual(res.status, 400, `accepted ${JSON.stringify(newPassword)}`);
                assert.deepStrictEqual(res.json(), { message: 'New password does not meet the password policy' });
            }
            assert.strictEqual(sim.getUser('admin')?.password, ADMIN.password);
            assert.strictEqual(sim.getUser('admin')?.state, 'passwordExpired');
        });

        it('policy helper accepts a compliant password and names each violation', function () {
            assert.strictEqual(passwordPolicyViolation(NEW_PASSWORD, ADMIN.password), null);
            assert.strictEqual(passwordPolicyViolation('Abc1!xyzXYZ0qw', ''), null); // "xyz" is a run of 3 only
            assert.match(String(passwordPolicyViolation('Abcd1!xyzXYZ0q', '')), /sequence/); // case-insensitive "abcd"
            assert.match(String(passwordPolicyViolation('QwErTy!9876zzz', '')), /sequence/); // descending digits
        });
    });

    describe('lockout and throttling', function () {
        it('(4) locks after the threshold: 401 up to it, then 429 with the remaining time, even with the right password', async function () {
            clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
            await startSim({ lockoutThreshold: 3, lockoutDurationMs: 600000 });
            const wrong = { username: 'admin', password: 'wrong' };
            for (let i = 1; i <= 3; i++) {
                const res = await login(sim.origin, wrong);
                assert.strictEqual(res.status, 401, `attempt ${i}`);
            }
            assert.strictEqual(sim.lockedUntil('admin'), Date.now() + 600000);

            const locked = await login(sim.origin);
            assert.strictEqual(locked.status, 429);
            assert.deepStrictEqual(locked.json(), {
                message: 'Too many failed login attempts! Wait for 10 minutes 0 seconds before the next try.',
            });

            clock.tick(16500); // 583.5 s left: rounded up to 584 s
            const later = await login(sim.origin);
            assert.strictEqual(later.status, 429);
            assert.strictEqual(later.json().message, 'Too many failed login attempts! Wait for 9 minutes 44 seconds before the next try.');
            assert.strictEqual(sim.stats.loginsOk, 0);
        });

        it('ends the lockout after lockoutDurationMs and starts counting failures afresh', async function () {
            clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
            await startSim({ lockoutThreshold: 2, lockoutDurationMs: 60000 });
            const wrong = { username: 'admin', password: 'wrong' };
            await login(sim.origin, wrong);
            await login(sim.origin, wrong);
            assert.strictEqual((await login(sim.origin)).status, 429);

            clock.tick(60000);
            assert.strictEqual(sim.lockedUntil('admin'), 0);
            assert.strictEqual((await login(sim.origin, wrong)).status, 401, 'one failure must not re-lock');
            assert.strictEqual((await login(sim.origin)).status, 200);
        });

        it('a successful login resets the failure count', async function () {
            await startSim({ lockoutThreshold: 2 });
            const wrong = { username: 'admin', password: 'wrong' };
            assert.strictEqual((await login(sim.origin, wrong)).status, 401);
            assert.strictEqual((await login(sim.origin)).status, 200);
            assert.strictEqual((await login(sim.origin, wrong)).status, 401);
            assert.strictEqual((await login(sim.origin)).status, 200);
            assert.strictEqual(sim.lockedUntil('admin'), 0);
        });

        it('formats the wait as the vendor does', function () {
            assert.strictEqual(formatWait(643000), '10 minutes 43 seconds');
            assert.strictEqual(formatWait(3723000), '1 hours 2 minutes 3 seconds');
            assert.strictEqual(formatWait(4001), '0 minutes 5 seconds');
            assert.strictEqual(formatWait(7200000), '2 hours 0 minutes 0 seconds');
        });

        it('(5) generic throttling answers 429 with another message and Retry-After, login included', async function () {
            await startSim();
            sim.throttleNext(2);
            const throttledLogin = await login(sim.origin);
            assert.strictEqual(throttledLogin.status, 429);
            assert.strictEqual(throttledLogin.headers['retry-after'], '120');
            const { message } = throttledLogin.json();
            assert.strictEqual(message, 'Too many requests, slow down.');
            assert.ok(!message.startsWith(LOCKOUT_PREFIX));

            const throttledData = await get(`${sim.origin}/iap/devs`);
            assert.strictEqual(throttledData.status, 429);

            assert.strictEqual((await login(sim.origin)).status, 200, 'throttling must stop after count');
            assert.strictEqual(sim.stats.loginAttempts, 2);
            assert.strictEqual(sim.lockedUntil('admin'), 0);
        });
    });

    describe('session routes', function () {
        it('(9) GET sessionTimeout answers the bare number of milliseconds', async function () {
            await startSim();
            const cookie = await loginCookie(sim.origin);
            const res = await get(`${sim.origin}/iap/auth/sessionTimeout`, cookie);
            assert.strictEqual(res.status, 200);
            assert.strictEqual(res.headers['content-type'], 'application/json');
            assert.strictEqual(res.body, '86400000');
            assert.strictEqual((await get(`${sim.origin}/iap/auth/sessionTimeout`)).status, 401);
            assert.strictEqual(sim.stats.sessionTimeoutCalls, 2);
        });

        it('sessionTimeout reflects sessionTtlMs', async function () {
            await startSim({ sessionTtlMs: 1234 });
            const cookie = await loginCookie(sim.origin);
            assert.strictEqual((await get(`${sim.origin}/iap/auth/sessionTimeout`, cookie)).body, '1234');
        });

        for (const method of ['PUT', 'POST']) {
            it(`(${method === 'PUT' ? 10 : 11}) logout by ${method} answers 204 and the cookie is refused afterwards`, async function () {
                await startSim();
                const cookie = await loginCookie(sim.origin);
                const res = await request(`${sim.origin}/iap/auth/logout`, { method, headers: { Cookie: cookie } });
                assert.strictEqual(res.status, 204);
                assert.strictEqual(res.body, '');
                assert.strictEqual(sim.stats.logouts, 1);
                assert.strictEqual(sim.liveSessions(), 0);
                const after = await get(`${sim.origin}/iap/devs/*/if/*/*/*/value`, cookie);
                assert.strictEqual(after.status, 401);
                assert.deepStrictEqual(after.json(), { message: 'Unauthorized' });
            });
        }

        it('logout without a valid cookie answers 401 "Not logged in"', async function () {
            await startSim();
            const none = await request(`${sim.origin}/iap/auth/logout`, { method: 'PUT' });
            assert.strictEqual(none.status, 401);
            assert.deepStrictEqual(none.json(), { message: 'Not logged in' });
            const stale = await request(`${sim.origin}/iap/auth/logout`, { method: 'POST', headers: { Cookie: 'cmsSID=deadbeef' } });
            assert.strictEqual(stale.status, 401);
            assert.strictEqual(sim.stats.logouts, 0);
        });

        it('(12) expireSessions() invalidates every live session', async function () {
            await startSim();
            const cookie = await loginCookie(sim.origin);
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, cookie)).status, 200);
            sim.expireSessions();
            assert.strictEqual(sim.liveSessions(), 0);
            assert.strictEqual(sim.isSessionValid(cookie.slice('cmsSID='.length)), false);
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, cookie)).status, 401);
        });

        it('ends a session after sessionTtlMs (absolute, even when used)', async function () {
            clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
            await startSim({ sessionTtlMs: 60000 });
            const cookie = await loginCookie(sim.origin);
            clock.tick(59000);
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, cookie)).status, 200);
            clock.tick(1000);
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, cookie)).status, 401);
        });

        it('ends an unused session after idleTtlMs; use keeps it alive', async function () {
            clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
            await startSim({ idleTtlMs: 10000 });
            const cookie = await loginCookie(sim.origin);
            clock.tick(9000);
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, cookie)).status, 200);
            clock.tick(9000);
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, cookie)).status, 200);
            clock.tick(10000);
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, cookie)).status, 401);
        });
    });

    describe('data routes', function () {
        let cookie: any;

        beforeEach(async function () {
            await startSim();
            cookie = await loginCookie(sim.origin);
        });

        it('(2) GET /iap/devs with the cookie answers the device list; without it 401', async function () {
            const res = await get(`${sim.origin}/iap/devs`, cookie);
            assert.strictEqual(res.status, 200);
            assert.deepStrictEqual(
                res.json().map((d: any) => d.id),
                ['17q2d9x.5', 'a1b2c3.1'],
            );
            const anonymous = await get(`${sim.origin}/iap/devs`);
            assert.strictEqual(anonymous.status, 401);
            assert.deepStrictEqual(anonymous.json(), { message: 'Unauthorized' });
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, 'cmsSID=0123456789abcdef0123456789abcdef')).status, 401);
        });

        it('finds cmsSID among other cookies', async function () {
            const res = await get(`${sim.origin}/iap/devs`, `theme=dark; ${cookie}; lang=en`);
            assert.strictEqual(res.status, 200);
        });

        it('(13) serves the same routes under /cms/iap and records each path', async function () {
            const viaCms = await login(sim.baseUrl('cms'));
            assert.strictEqual(viaCms.status, 200);
            const cmsCookie = sessionCookie(viaCms);
            assert.strictEqual((await get(`${sim.baseUrl('cms')}/iap/devs`, cmsCookie)).status, 200);
            assert.strictEqual((await get(`${sim.baseUrl('root')}/iap/devs`, cmsCookie)).status, 200);
            assert.strictEqual((await get(`${sim.baseUrl('cms')}/iap/auth/sessionTimeout`, cookie)).body, '86400000');
            const paths = sim.stats.requests.map((r: any) => `${r.method} ${r.path} ${r.status}`);
            assert.deepStrictEqual(paths.slice(-4), [
                'POST /cms/iap/auth/login 200',
                'GET /cms/iap/devs 200',
                'GET /iap/devs 200',
                'GET /cms/iap/auth/sessionTimeout 200',
            ]);
        });

        it('reads one datapoint value, and 404 for an unknown device or path', async function () {
            const res = await get(`${sim.origin}${VALUE_PATH}`, cookie);
            assert.strictEqual(res.status, 200);
            const { value, unit } = res.json();
            assert.strictEqual(typeof value, 'number');
            assert.strictEqual(unit, 'V');
            for (const bad of [
                '/iap/devs/nope.1/if/block/1/Volts_1/value',
                '/iap/devs/17q2d9x.5/if/block/2/Volts_1/value',
                '/iap/devs/17q2d9x.5/if/block/1/Watts/value',
            ]) {
                const missing = await get(`${sim.origin}${bad}`, cookie);
                assert.strictEqual(missing.status, 404, bad);
                assert.deepStrictEqual(missing.json(), { message: 'Not found' });
            }
        });

        it('reads wildcard values as an array, with paging', async function () {
            const all = await get(`${sim.origin}/iap/devs/*/if/*/*/*/value`, cookie);
            assert.strictEqual(all.status, 200);
            const items = all.json();
            assert.strictEqual(items.length, 4);
            for (const item of items) {
                assert.ok(typeof item.device === 'string' && typeof item.path === 'string' && typeof item.value === 'number');
            }
            const page2 = await get(`${sim.origin}/iap/devs/*/if/*/*/*/value?pg=2&sz=3`, cookie);
            assert.deepStrictEqual(page2.json(), items.slice(3));
            const filtered = await get(`${sim.origin}/iap/devs/a1b2c3.1/if/block/1/*/value`, cookie);
            assert.deepStrictEqual(
                filtered.json().map((i: any) => i.device),
                ['a1b2c3.1', 'a1b2c3.1'],
            );
        });

        it('(15) PUT a value answers 204 with an empty body and stores it', async function () {
            const put = await request(`${sim.origin}${VALUE_PATH}`, {
                method: 'PUT',
                headers: { Cookie: cookie, 'Content-Type': 'application/json; charset=utf-8' },
                body: '231.5',
            });
            assert.strictEqual(put.status, 204);
            assert.strictEqual(put.body, '');
            assert.strictEqual(put.headers['content-type'], undefined);
            assert.strictEqual((await get(`${sim.origin}${VALUE_PATH}`, cookie)).json().value, 231.5);

            const wrapped = await request(`${sim.origin}${VALUE_PATH}`, { method: 'PUT', headers: { Cookie: cookie }, body: { value: 12 } });
            assert.strictEqual(wrapped.status, 204);
            assert.strictEqual((await get(`${sim.origin}${VALUE_PATH}`, cookie)).json().value, 12);

            const invalid = await request(`${sim.origin}${VALUE_PATH}`, { method: 'PUT', headers: { Cookie: cookie }, body: '"high"' });
            assert.strictEqual(invalid.status, 400);
        });

        it('POST and DELETE on tags answer 204', async function () {
            for (const method of ['POST', 'DELETE']) {
                const res = await request(`${sim.origin}/iap/devs/*+name==Meter%201/tags`, { method, headers: { Cookie: cookie }, body: ['lab'] });
                assert.strictEqual(res.status, 204, method);
                assert.strictEqual(res.body, '');
            }
        });

        it('echo route (test aid) returns what the client sent, and needs the cookie', async function () {
            const res = await request(`${sim.baseUrl('cms')}/iap/test/echo?a=1&b=two`, {
                method: 'PATCH',
                headers: { Cookie: cookie, 'X-Custom': 'yes', 'Content-Type': 'text/plain' },
                body: 'héllo',
            });
            assert.strictEqual(res.status, 200);
            const echo = res.json();
            assert.strictEqual(echo.method, 'PATCH');
            assert.strictEqual(echo.path, '/cms/iap/test/echo');
            assert.deepStrictEqual(echo.query, { a: '1', b: 'two' });
            assert.strictEqual(echo.headers['x-custom'], 'yes');
            assert.strictEqual(echo.headers.cookie, cookie);
            assert.strictEqual(echo.body, 'héllo');
            assert.strictEqual((await get(`${sim.origin}/iap/test/echo`)).status, 401);
        });

        it('failNext answers the given status for data routes only, then serves again', async function () {
            sim.failNext(503, 2);
            sim.failNext(500, 1, { error: 'custom' });
            const first = await get(`${sim.origin}/iap/devs`, cookie);
            assert.strictEqual(first.status, 503);
            assert.deepStrictEqual(first.json(), { message: 'Service Unavailable' });
            assert.strictEqual((await get(`${sim.origin}/iap/auth/sessionTimeout`, cookie)).status, 200, 'auth routes are not affected');
            assert.strictEqual((await get(`${sim.origin}/iap/devs`)).status, 401, 'cookie check comes first and does not use a fault');
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, cookie)).status, 503);
            const custom = await get(`${sim.origin}/iap/devs`, cookie);
            assert.strictEqual(custom.status, 500);
            assert.deepStrictEqual(custom.json(), { error: 'custom' });
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, cookie)).status, 200);
        });

        it('hangNext leaves a data request unanswered, and stop() still closes it fast', async function () {
            sim.hangNext(1);
            await assert.rejects(
                request(`${sim.origin}/iap/devs`, { headers: { Cookie: cookie }, timeoutMs: 300 }),
                (err) => (err as any).code === 'ETIMEDOUT',
            );
            assert.strictEqual((await get(`${sim.origin}/iap/devs`, cookie)).status, 200, 'only `count` requests hang');

            sim.hangNext(1);
            const pending = request(`${sim.origin}/iap/devs`, { headers: { Cookie: cookie }, timeoutMs: 10000 });
            const outcome = pending.then(
                () => 'answered',
                (err) => err.code,
            );
            // Both hung requests stay unanswered (status null); wait until the second one has arrived.
            await waitFor(() => sim.stats.requests.filter((r: any) => r.path === '/iap/devs' && r.status === null).length >= 2);
            await stopsAtOnce(sim);
            assert.strictEqual(await outcome, 'ECONNRESET');
        });

        it('counts every request with method, path, cookie, headers, status and time', async function () {
            sim.resetStats();
            const before = Date.now();
            await get(`${sim.origin}/iap/devs?x=1`, cookie);
            await get(`${sim.origin}/missing`);
            assert.strictEqual(sim.stats.requests[0].headers.cookie, cookie);
            assert.strictEqual(sim.stats.requests[1].headers.host, `127.0.0.1:${new URL(sim.origin).port}`);
            assert.deepStrictEqual(
                sim.stats.requests.map(({ at: _at, headers: _headers, ...rest }) => rest),
                [
                    { method: 'GET', path: '/iap/devs', cookie, status: 200, reused: false },
                    { method: 'GET', path: '/missing', cookie: '', status: 404, reused: false },
                ],
            );
            assert.ok(sim.stats.requests.every((r: any) => r.at >= before && r.at <= Date.now()));
            assert.strictEqual(sim.stats.loginAttempts, 0);
        });
    });

    describe('users', function () {
        it('setUser adds a user who can log in, and getUser returns the record', async function () {
            await startSim();
            sim.setUser('mark', { password: '5pa?HG!O', firstName: 'Mark', id: 42 });
            const res = await login(sim.origin, { username: 'mark', password: '5pa?HG!O' });
            assert.strictEqual(res.status, 200);
            assert.strictEqual(res.json().id, 42);
            assert.strictEqual(res.json().firstName, 'Mark');
            assert.strictEqual(sim.getUser('mark')?.password, '5pa?HG!O');
            sim.setUser('mark', { state: 'deactivated' });
            assert.strictEqual(sim.getUser('mark')?.firstName, 'Mark', 'setUser merges');
            assert.strictEqual((await login(sim.origin, { username: 'mark', password: '5pa?HG!O' })).status, 428);
        });
    });
});

async function waitFor(predicate: any, timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
        if (Date.now() > deadline) throw new Error('condition not met in time');
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}

// Tests of the device simulators themselves (UniFi OS, Proxmox VE, SAP Gateway and the two "session
// ended" APIs) over real sockets, against the wire facts of docs/vendors.md section 7.

import assert from 'node:assert';

import { request, type Reply } from './http-get';
import { ProxmoxSimulator } from './proxmox';
import { SapGatewaySimulator } from './sap-gateway';
import { SessionEndSimulator } from './session-end';
import { UnifiOsSimulator } from './unifi-os';

function cookieOf(reply: Reply, name: string): string {
    const found = ([] as string[]).concat(reply.headers['set-cookie'] ?? []).find((line) => line.startsWith(`${name}=`));
    assert.ok(found, `no ${name} cookie in ${JSON.stringify(reply.headers['set-cookie'])}`);
    return found.split(';')[0];
}

describe('device simulators', function () {
    describe('UniFi OS console', function () {
        let sim: UnifiOsSimulator;
        beforeEach(async () => {
            sim = await new UnifiOsSimulator().start();
        });
        afterEach(() => sim.stop());

        async function login(): Promise<{ cookie: string; csrf: string }> {
            const reply = await request(`${sim.baseUrl}/api/auth/login`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: { ...sim.user, rememberMe: false },
            });
            assert.strictEqual(reply.status, 200);
            const csrf = reply.headers['x-csrf-token'];
            assert.ok(typeof csrf === 'string' && csrf.length > 8);
            const cookie = cookieOf(reply, 'TOKEN');
            assert.strictEqual(cookie.split('=')[1].split('.').length, 3, 'TOKEN is a JWT');
            return { cookie, csrf };
        }

        it('logs in with JSON: cookie TOKEN and the X-CSRF-Token reply header; a wrong password is 401', async function () {
            await login();
            const wrong = await request(`${sim.baseUrl}/api/auth/login`, { method: 'POST', body: { username: sim.user.username, password: 'nope' } });
            assert.strictEqual(wrong.status, 401);
            assert.deepStrictEqual([sim.stats.loginAttempts, sim.stats.loginsOk], [2, 1]);
        });

        it('serves reads with the cookie alone; a write needs X-CSRF-Token (403 api.err.LoginRequired without it)', async function () {
            const { cookie, csrf } = await login();
            const health = await request(`${sim.baseUrl}/proxy/network/api/s/default/stat/health`, { headers: { Cookie: cookie } });
            assert.strictEqual(health.status, 200);
            const path = `${sim.baseUrl}/proxy/network/api/s/default/cmd/devmgr`;
            const bare = await request(path, { method: 'POST', headers: { Cookie: cookie }, body: { cmd: 'restart' } });
            assert.strictEqual(bare.status, 403);
            assert.match(bare.body, /api\.err\.LoginRequired/);
            const ok = await request(path, { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrf }, body: { cmd: 'restart' } });
            assert.strictEqual(ok.status, 200);
            assert.deepStrictEqual([sim.stats.writesOk, sim.stats.writesRefused], [1, 1]);
        });

        it('rotateCsrf: a write hands over X-Updated-CSRF-Token, which replaces the old token', async function () {
            sim.options = { rotateCsrf: true };
            const { cookie, csrf } = await login();
            const path = `${sim.baseUrl}/proxy/network/api/s/default/cmd/devmgr`;
            const first = await request(path, { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrf }, body: {} });
            const renewed = first.headers['x-updated-csrf-token'];
            assert.ok(typeof renewed === 'string' && renewed !== csrf);
            assert.strictEqual((await request(path, { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrf }, body: {} })).status, 403);
            assert.strictEqual((await request(path, { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': renewed }, body: {} })).status, 200);
        });

        it('says "logged out" with 401, or with a 200 api.err.LoginRequired body; logout ends the session', async function () {
            const { cookie, csrf } = await login();
            const health = `${sim.baseUrl}/proxy/network/api/s/default/stat/health`;
            assert.strictEqual(
                (await request(`${sim.baseUrl}/api/auth/logout`, { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrf } })).status,
                200,
            );
            assert.strictEqual(sim.stats.logouts, 1);
            assert.strictEqual((await request(health, { headers: { Cookie: cookie } })).status, 401);
            sim.options = { loggedOut: 'body' };
            const body = await request(health, { headers: { Cookie: cookie } });
            assert.strictEqual(body.status, 200);
            assert.match(body.body, /api\.err\.LoginRequired/);
        });
    });

    describe('Proxmox VE', function () {
        let sim: ProxmoxSimulator;
        beforeEach(async () => {
            sim = await new ProxmoxSimulator().start();
        });
        afterEach(() => sim.stop());

        async function ticket(password = sim.user.password): Promise<Reply> {
            const form = new URLSearchParams({ username: sim.user.username, password }).toString();
            return request(`${sim.baseUrl}/api2/json/access/ticket`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
                body: form,
            });
        }

        it('hands out a PVE ticket and a CSRFPreventionToken in data; a wrong password is 401', async function () {
            const reply = await ticket();
            assert.strictEqual(reply.status, 200);
            const { data } = reply.json();
            assert.match(data.ticket, /^PVE:root@pam:[0-9A-F]+::/);
            assert.ok(data.CSRFPreventionToken);
            assert.strictEqual(data.username, 'root@pam');
            assert.strictEqual((await ticket('wrong')).status, 401);
        });

        it('takes the ticket as cookie PVEAuthCookie; a write also needs CSRFPreventionToken (401 without it)', async function () {
            const { data } = (await ticket()).json();
            const cookie = `PVEAuthCookie=${encodeURIComponent(data.ticket)}`;
            assert.strictEqual((await request(`${sim.baseUrl}/api2/json/nodes`, { headers: { Cookie: cookie } })).status, 200);
            assert.strictEqual((await request(`${sim.baseUrl}/api2/json/nodes`)).status, 401);
            const start = `${sim.baseUrl}/api2/json/nodes/pve1/qemu/100/status/start`;
            assert.strictEqual((await request(start, { method: 'POST', headers: { Cookie: cookie } })).status, 401);
            assert.strictEqual(
                (await request(start, { method: 'POST', headers: { Cookie: cookie, CSRFPreventionToken: data.CSRFPreventionToken } })).status,
                200,
            );
        });

        it('renews a ticket posted as the password; an expired ticket is 401', async function () {
            const { data } = (await ticket()).json();
            const renewed = await ticket(data.ticket);
            assert.strictEqual(renewed.status, 200);
            assert.notStrictEqual(renewed.json().data.ticket, data.ticket);
            sim.expireAll();
            assert.strictEqual((await request(`${sim.baseUrl}/api2/json/nodes`, { headers: { Cookie: `PVEAuthCookie=${data.ticket}` } })).status, 401);
        });
    });

    describe('SAP Gateway', function () {
        let sim: SapGatewaySimulator;
        beforeEach(async () => {
            sim = await new SapGatewaySimulator().start();
        });
        afterEach(() => sim.stop());

        const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

        it('takes RFC 7617 Basic (UTF-8, unchanged) on the service document, sets the session cookies and fetches the token', async function () {
            const reply = await request(`${sim.serviceUrl}/`, {
                headers: { Authorization: basic(sim.user.username, sim.user.password), 'X-CSRF-Token': 'Fetch' },
            });
            assert.strictEqual(reply.status, 200);
            cookieOf(reply, 'SAP_SESSIONID_DEV_100');
            cookieOf(reply, 'sap-usercontext');
            assert.ok(reply.headers['x-csrf-token']);
            const formEncoded = basic(encodeURIComponent(sim.user.username), new URLSearchParams({ v: sim.user.password }).toString().slice(2));
            assert.strictEqual(
                (await request(`${sim.serviceUrl}/`, { headers: { Authorization: formEncoded } })).status,
                401,
                'a form-encoded password is wrong',
            );
            assert.strictEqual((await request(`${sim.serviceUrl}/`)).status, 401);
        });

        it('refuses a write with a stale or missing token: 403 and X-CSRF-Token: Required', async function () {
            const login = await request(`${sim.serviceUrl}/`, {
                headers: { Authorization: basic(sim.user.username, sim.user.password), 'X-CSRF-Token': 'Fetch' },
            });
            const cookie = cookieOf(login, 'SAP_SESSIONID_DEV_100');
            const token = String(login.headers['x-csrf-token']);
            const products = `${sim.serviceUrl}/Products`;
            assert.strictEqual((await request(products, { headers: { Cookie: cookie } })).status, 200);
            const missing = await request(products, { method: 'POST', headers: { Cookie: cookie }, body: { Name: 'x' } });
            assert.deepStrictEqual([missing.status, missing.headers['x-csrf-token']], [403, 'Required']);
            assert.strictEqual((await request(products, { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': token }, body: {} })).status, 201);
            sim.staleCsrf();
            assert.strictEqual((await request(products, { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': token }, body: {} })).status, 403);
            const fetched = await request(`${sim.serviceUrl}/`, { headers: { Cookie: cookie, 'X-CSRF-Token': 'Fetch' } });
            assert.notStrictEqual(fetched.headers['x-csrf-token'], token);
            assert.deepStrictEqual([sim.stats.loginsOk, sim.stats.csrfFetches], [1, 2]);
        });
    });

    describe('"session ended" APIs', function () {
        for (const signal of ['body', 'redirect'] as const) {
            it(`${signal}: a dead session is answered ${signal === 'body' ? '200 errorCode 602' : '302 to /login'}`, async function () {
                const sim = await new SessionEndSimulator({ signal }).start();
                try {
                    const login = await request(`${sim.baseUrl}/login`, { method: 'POST', body: sim.user });
                    const cookie = cookieOf(login, 'sid');
                    assert.strictEqual((await request(`${sim.baseUrl}/items`, { headers: { Cookie: cookie } })).json().items.length, 3);
                    sim.expireAll();
                    const ended = await request(`${sim.baseUrl}/items`, { headers: { Cookie: cookie } });
                    if (signal === 'body') assert.deepStrictEqual([ended.status, ended.json().errorCode], [200, '602']);
                    else assert.deepStrictEqual([ended.status, ended.headers.location], [302, '/login?next=%2Fitems']);
                } finally {
                    await sim.stop();
                }
            });
        }
    });
});

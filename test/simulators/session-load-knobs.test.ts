// The simulator knobs for the session under load: a session that ends after k requests, why a
// refused request's session was gone, and a server's own rule for idle keep-alive connections.

import assert from 'node:assert';
import http from 'node:http';

import sinon from 'sinon';

import { SmartServerSimulator } from './smartserver';
import { request } from './http-get';
import { waitFor } from '../support/wait';

const ADMIN = { username: 'admin', password: 'Passw0rd!Passw0rd' };
const DEVS = '/iap/devs';

async function loginCookie(sim: SmartServerSimulator): Promise<string> {
    const res = await request(`${sim.origin}/iap/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: ADMIN });
    assert.strictEqual(res.status, 200);
    return /^(cmsSID=[^;]+)/.exec(String(res.headers['set-cookie']))![1];
}

describe('SmartServer simulator: session and keep-alive knobs', function () {
    let sim: SmartServerSimulator | undefined;
    let clock: sinon.SinonFakeTimers | undefined;
    afterEach(async () => {
        clock?.restore();
        clock = undefined;
        await sim?.stop();
        sim = undefined;
    });

    it('ends a session after it served sessionRequestLimit requests; the next one is refused as "limit"', async function () {
        sim = await new SmartServerSimulator({ tls: false, sessionRequestLimit: 3 }).start();
        const cookie = await loginCookie(sim);
        for (let i = 0; i < 3; i++) assert.strictEqual((await request(sim.origin + DEVS, { headers: { Cookie: cookie } })).status, 200);
        assert.strictEqual(sim.sessionsEndedByLimit, 1);
        assert.strictEqual((await request(sim.origin + DEVS, { headers: { Cookie: cookie } })).status, 401);
        assert.deepStrictEqual(sim.refusals(), { limit: 1 });
        const fresh = await loginCookie(sim);
        assert.strictEqual((await request(sim.origin + DEVS, { headers: { Cookie: fresh } })).status, 200);
    });

    it('checks the session of a data request only after dataDelayMs: a logout meanwhile refuses it', async function () {
        sim = await new SmartServerSimulator({ tls: false, dataDelayMs: 200 }).start();
        const cookie = await loginCookie(sim);
        const pending = request(sim.origin + DEVS, { headers: { Cookie: cookie } });
        await waitFor(() => sim!.stats.requests.some((r) => r.path === DEVS), { message: 'the request at the server' });
        await request(`${sim.origin}/iap/auth/logout`, { method: 'PUT', headers: { Cookie: cookie } });
        assert.strictEqual((await pending).status, 401);
        assert.deepStrictEqual(sim.refusals(), { loggedOut: 1 });
    });

    it('reports reportedTimeoutMs as the session lifetime when set, the real one otherwise', async function () {
        sim = await new SmartServerSimulator({ tls: false, sessionTtlMs: 60_000, reportedTimeoutMs: 1 }).start();
        const cookie = await loginCookie(sim);
        assert.strictEqual((await request(`${sim.origin}/iap/auth/sessionTimeout`, { headers: { Cookie: cookie } })).body, '1');
        assert.strictEqual((await request(sim.origin + DEVS, { headers: { Cookie: cookie } })).status, 200, 'the session lives on');
    });

    it('tells why a refused request’s session was gone: logged out, expired, or never known', async function () {
        sim = await new SmartServerSimulator({ tls: false, sessionTtlMs: 60_000 }).start();
        clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
        const out = await loginCookie(sim);
        await request(`${sim.origin}/iap/auth/logout`, { method: 'PUT', headers: { Cookie: out } });
        assert.strictEqual((await request(sim.origin + DEVS, { headers: { Cookie: out } })).status, 401);
        const old = await loginCookie(sim);
        clock.tick(60_000);
        assert.strictEqual((await request(sim.origin + DEVS, { headers: { Cookie: old } })).status, 401);
        assert.strictEqual((await request(sim.origin + DEVS, { headers: { Cookie: 'cmsSID=unknown' } })).status, 401);
        assert.deepStrictEqual(sim.refusals(), { loggedOut: 1, expired: 1, none: 1 });
    });

    describe('keep-alive', function () {
        let agent: http.Agent | undefined;
        afterEach(() => agent?.destroy());

        it('sends the Keep-Alive hint it is given and closes a connection idle idleCloseMs', async function () {
            sim = await new SmartServerSimulator({ tls: false, keepAlive: { idleCloseMs: 50, hintSeconds: 7 } }).start();
            agent = new http.Agent({ keepAlive: true });
            const res = await request(sim.origin + DEVS, { agent });
            assert.strictEqual(res.headers['keep-alive'], 'timeout=7');
            await waitFor(() => sim!.connectionCounts.closedIdle === 1, { message: 'the server closing the idle connection' });
            await waitFor(() => sim!.openConnections === 0, { message: 'no connection open' });
            assert.strictEqual(sim.connectionCounts.closedByClient, 0);
        });

        it('sends no hint when told so, and counts a connection the client closed', async function () {
            sim = await new SmartServerSimulator({ tls: false, keepAlive: { idleCloseMs: 60_000, hintSeconds: null } }).start();
            agent = new http.Agent({ keepAlive: true });
            const res = await request(sim.origin + DEVS, { agent });
            assert.strictEqual(res.headers['keep-alive'], undefined);
            agent.destroy();
            await waitFor(() => sim!.connectionCounts.closedByClient === 1, { message: 'the client closing its connection' });
            assert.strictEqual(sim.connectionCounts.closedIdle, 0);
        });

        it('drops a request on a reused connection unread when told to, as a server that had just closed it', async function () {
            sim = await new SmartServerSimulator({ tls: false }).start();
            agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
            await request(sim.origin + DEVS, { agent });
            sim.dropReusedRequests(1);
            await assert.rejects(
                request(sim.origin + DEVS, { agent, method: 'POST', body: '{}' }),
                (error: NodeJS.ErrnoException) => error.code === 'ECONNRESET',
            );
            assert.strictEqual(sim.connectionCounts.droppedOnReuse, 1);
            assert.deepStrictEqual(
                sim.stats.requests.map((r) => r.reused),
                [false],
            );
            assert.strictEqual(sim.stats.requests.length, 1, 'the dropped request was never read');
            assert.strictEqual((await request(sim.origin + DEVS, { agent })).status, 401, 'a new connection is served');
            await request(sim.origin + DEVS, { agent });
            assert.deepStrictEqual(
                sim.stats.requests.map((r) => r.reused),
                [false, false, true],
                'each request says whether it came on a reused connection',
            );
        });
    });
});

/**
 * The session under load (README "Guarantees under load"; issue #19), finding by finding, over real
 * sockets to the SmartServer simulator in a real Node-RED runtime. The evidence is the server's own
 * counts: logins, logouts, live sessions, and why each refused request's session was gone.
 */
import assert from 'node:assert';

import sinon from 'sinon';

import { SmartServerSimulator } from '../simulators/smartserver';
import { FlowNode, Recorders, answeredOnce, helper, load, logText, standardFlow } from '../support/harness';
import { drive } from '../support/load-driver';
import { quietPeriod, waitFor } from '../support/wait';

describe('the session under load (README "Guarantees under load")', function () {
    this.timeout(60_000);
    let sim: SmartServerSimulator | undefined;
    let clock: sinon.SinonFakeTimers | undefined;

    before(async () => helper.startServer());
    after(async () => helper.stopServer());

    afterEach(async function () {
        clock?.restore();
        clock = undefined;
        await helper.unload();
        await sim?.stop();
        sim = undefined;
    });

    async function startSim(options: ConstructorParameters<typeof SmartServerSimulator>[0] = {}): Promise<SmartServerSimulator> {
        sim = await new SmartServerSimulator(options).start();
        return sim;
    }

    function flow(server: FlowNode = {}, extra: FlowNode[] = []): FlowNode[] {
        return standardFlow((sim as SmartServerSimulator).baseUrl('cms'), { server, extra });
    }

    function statuses(rec: Recorders): number[] {
        return rec.out.messages.map((msg) => msg.statusCode as number);
    }

    /** Sessions the server ended by its request limit that a request then found ended. */
    function expiriesSeen(server: SmartServerSimulator): number {
        return new Set(server.stats.requests.filter((r) => r.refusal === 'limit').map((r) => r.cookie)).size;
    }

    it('a session that ends every 50 requests, 510 msgs at concurrency 16: every msg 200, logins = expiries + 1', async function () {
        const server = await startSim({ sessionRequestLimit: 50 });
        const rec = await load(flow());
        await drive('r1', rec, { total: 510, concurrency: 16 });
        await answeredOnce(rec, 510);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            [],
        );
        assert.ok(statuses(rec).every((status) => status === 200));
        assert.strictEqual(expiriesSeen(server), 10);
        assert.strictEqual(server.stats.loginsOk, expiriesSeen(server) + 1);
        assert.strictEqual(server.stats.loginAttempts, server.stats.loginsOk);
    });

    it('requests queued for a connection are checked for expiry when written: none goes out with a session known to be expired', async function () {
        const server = await startSim({ sessionTtlMs: 60_000 });
        clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
        const post: FlowNode = {
            id: 'r2',
            type: 'rest-session-request',
            server: 'server',
            method: 'POST',
            url: '/iap/devs',
            ret: 'obj',
            paytoqs: 'ignore',
            wires: [['out']],
            z: 'tab',
        };
        const rec = await load(flow({ maxConnections: 1 }, [post]));
        helper.getNode('r1').receive({ seq: 'warm-up' });
        await rec.out.waitFor(1);
        // The one connection is held by a request the server never answers; ten more wait for it.
        server.hangNext(1);
        helper.getNode('r2').receive({ requestTimeout: 500 });
        await waitFor(() => server.stats.requests.some((r) => r.method === 'POST'), { message: 'the hung POST at the server' });
        for (let i = 0; i < 10; i++) helper.getNode('r1').receive({ seq: i });
        await quietPeriod(100); // the ten reach the connection queue
        clock.tick(61_000); // the session is now known to be expired
        await answeredOnce(rec, 12);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            ['TIMEOUT'],
        );
        assert.ok(statuses(rec).every((status) => status === 200));
        assert.strictEqual(server.refusals().expired ?? 0, 0, 'no 401 to a request sent with an expired session');
        assert.strictEqual(server.stats.loginsOk, 2);
    });

    it('a renewal under load logs the old session out only after its requests in flight finished: none is refused', async function () {
        const server = await startSim({ sessionTtlMs: 60_000, dataDelayMs: 300 });
        clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
        const rec = await load(flow());
        helper.getNode('r1').receive({ seq: 'warm-up' });
        await rec.out.waitFor(1);
        for (let i = 0; i < 8; i++) helper.getNode('r1').receive({ seq: i });
        await waitFor(() => server.stats.requests.filter((r) => r.path === '/cms/iap/devs').length === 9, { message: 'eight requests in flight' });
        clock.tick(55_000); // inside the renewal margin (a tenth of the 60 s lifetime)
        helper.getNode('r1').receive({ seq: 'renews' });
        await answeredOnce(rec, 10);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            [],
        );
        assert.ok(statuses(rec).every((status) => status === 200));
        assert.strictEqual(server.refusals().loggedOut ?? 0, 0, 'no 401 to a request in flight at the renewal');
        assert.strictEqual(server.stats.loginsOk, 2);
        await waitFor(() => server.stats.logouts === 1, { message: 'the replaced session logged out' });
        assert.strictEqual(server.liveSessions(), 1);
    });

    it('a reported lifetime of 1 ms is not trusted: 20 msgs, one login, a warning', async function () {
        const server = await startSim({ reportedTimeoutMs: 1 });
        const rec = await load(flow());
        for (let i = 0; i < 20; i++) {
            helper.getNode('r1').receive({ seq: i });
            await rec.out.waitFor(i + 1);
        }
        await answeredOnce(rec, 20);
        assert.ok(server.stats.loginsOk <= 2, `${server.stats.loginsOk} logins`);
        assert.strictEqual(server.stats.logouts, 0);
        assert.match(logText(), /lifetime under \d+s \(\d+ ms\) for .*not trusted/);
    });

    it('a session that really lives 1 ms costs at most 2 logins for 20 msgs', async function () {
        const server = await startSim({ sessionTtlMs: 1 });
        const rec = await load(flow());
        for (let i = 0; i < 20; i++) {
            helper.getNode('r1').receive({ seq: i });
            await waitFor(() => rec.out.messages.length + rec.caught.messages.length === i + 1, { message: `answer ${i}` });
        }
        await answeredOnce(rec, 20);
        assert.ok(server.stats.loginAttempts <= 2, `${server.stats.loginAttempts} logins`);
        assert.ok(rec.caught.messages.every((m) => m.errorCode === 'SESSION_REJECTED'));
    });

    it('a logout msg after the config node began closing sends nothing (CONFIG); the replaced session is logged out by the close', async function () {
        const server = await startSim({ sessionTtlMs: 60_000, dataDelayMs: 2000 });
        clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
        const rec = await load(flow());
        helper.getNode('r1').receive({ seq: 'warm-up' });
        await waitFor(() => server.stats.requests.some((r) => r.path === '/cms/iap/devs'), { message: 'a request in flight' });
        clock.tick(55_000);
        helper.getNode('l1').receive({ forceLogin: true }); // a renewal: the old session waits for its request in flight
        await waitFor(() => server.stats.loginsOk === 2, { message: 'the renewal' });
        const closing = (helper.getNode('server') as unknown as { close(removed: boolean): Promise<void> }).close(false);
        helper.getNode('o1').receive({ seq: 'logout' });
        await closing;
        await waitFor(() => rec.caught.messages.some((m) => m.seq === 'logout'), { message: 'the logout msg answered' });
        assert.strictEqual(rec.caught.messages.find((m) => m.seq === 'logout')?.errorCode, 'CONFIG');
        const logoutsAtClose = server.stats.logouts;
        assert.strictEqual(logoutsAtClose, 2, 'the close logged out both sessions, the replaced one included');
        await quietPeriod(100);
        assert.strictEqual(server.stats.logouts, logoutsAtClose, 'nothing sent after the close');
        assert.strictEqual(server.liveSessions(), 0);
    });

    describe('request hygiene', function () {
        it('a server requestTimeout over 2147483647 ms is CONFIG at deploy: nothing sent, a CONFIG status', async function () {
            const server = await startSim();
            const rec = await load(flow({ requestTimeout: 3_000_000_000 }));
            helper.getNode('r1').receive({});
            helper.getNode('l1').receive({});
            await answeredOnce(rec, 2);
            assert.deepStrictEqual(
                rec.caught.messages.map((m) => m.errorCode),
                ['CONFIG', 'CONFIG'],
            );
            assert.match(rec.caught.messages[0].error.message, /from 1 to 2147483647/);
            assert.strictEqual(server.stats.requests.length, 0, 'nothing sent');
            // Shown at deploy (before a Status node listens): read from the node's own status calls.
            const r1 = helper.getNode('r1') as unknown as { status: sinon.SinonSpy };
            const shown = r1.status
                .getCalls()
                .filter((call) => call.thisValue === r1)
                .map((call) => call.args[0] as { fill: string; shape: string; text: string });
            assert.ok(
                shown.some((status) => status.fill === 'red' && status.shape === 'ring' && status.text.endsWith('status.error')),
                JSON.stringify(shown),
            );
        });

        for (const value of ['x€y', 'smile 😀']) {
            it(`a header or cookie value ${JSON.stringify(value)} is INVALID_INPUT, never altered on the wire: nothing sent`, async function () {
                const server = await startSim();
                const rec = await load(flow());
                helper.getNode('r1').receive({ headers: { 'X-Value': value } });
                helper.getNode('r1').receive({ cookies: { raw: { value, encode: false } } });
                await answeredOnce(rec, 2);
                assert.deepStrictEqual(
                    rec.caught.messages.map((m) => m.errorCode),
                    ['INVALID_INPUT', 'INVALID_INPUT'],
                );
                assert.strictEqual(server.stats.requests.length, 0, 'nothing sent, not even the login');
            });
        }

        it('a SmartServer login whose cmsSID has Path=/elsewhere is a failed login (SERVER_ERROR), counted in the budget; no data request', async function () {
            const server = await startSim({ loginCookie: (sid) => `cmsSID=${sid}; Path=/elsewhere; Secure; HttpOnly` });
            // At the host root, /elsewhere lies below the base URL, but not at the API (/iap/).
            const rec = await load(standardFlow(server.baseUrl('root')));
            for (let i = 0; i < 5; i++) {
                helper.getNode('r1').receive({ seq: i });
                await rec.caught.waitFor(i + 1);
            }
            assert.deepStrictEqual(
                rec.caught.messages.map((m) => m.errorCode),
                new Array(5).fill('SERVER_ERROR'),
            );
            assert.match(rec.caught.messages[0].error.message, /cmsSID cookie that would be sent to https:\/\/127\.0\.0\.1:\d+\/iap\//);
            assert.strictEqual(server.stats.loginsOk, 3, 'three logins, then the failure budget holds the rest');
            assert.strictEqual(server.stats.requests.filter((r) => r.path.includes('/iap/devs')).length, 0, 'no data request');
        });
    });

    describe('keep-alive races', function () {
        const echoPost: FlowNode = {
            id: 'r2',
            type: 'rest-session-request',
            server: 'server',
            method: 'POST',
            url: '/iap/test/echo',
            ret: 'obj',
            paytoqs: 'ignore',
            wires: [['out']],
            z: 'tab',
        };

        it('30 POSTs against a server that had closed each reused connection: none lost, each seen once', async function () {
            const server = await startSim();
            const rec = await load(flow({}, [echoPost]));
            helper.getNode('r1').receive({ seq: 'warm-up' });
            await rec.out.waitFor(1);
            server.dropReusedRequests(1000);
            for (let i = 0; i < 30; i++) {
                helper.getNode('r2').receive({ seq: i, payload: { n: i } });
                await waitFor(() => rec.out.messages.length + rec.caught.messages.length === i + 2, { message: `POST ${i} answered` });
            }
            await answeredOnce(rec, 31);
            assert.deepStrictEqual(
                rec.caught.messages.map((m) => m.errorCode),
                [],
                'no POST lost to the race',
            );
            const posts = server.stats.requests.filter((r) => r.method === 'POST' && r.path === '/cms/iap/test/echo');
            assert.strictEqual(posts.length, 30, 'the server read each POST once');
            assert.ok(server.connectionCounts.droppedOnReuse >= 1, 'the race happened');
        });

        it('an idle connection is closed by the client before the server would: by its Keep-Alive hint, else within 4 s', async function () {
            const hinted = await startSim({ keepAlive: { idleCloseMs: 60_000, hintSeconds: 2 } });
            let rec = await load(flow());
            helper.getNode('r1').receive({});
            await rec.out.waitFor(1);
            await waitFor(() => hinted.openConnections === 0, { message: 'the client closing its idle connections' });
            assert.strictEqual(hinted.connectionCounts.closedIdle, 0, 'the server never had to');
            assert.ok(hinted.connectionCounts.closedByClient >= 1);
            await helper.unload();
            await hinted.stop();
            const silent = await startSim({ keepAlive: { idleCloseMs: 60_000, hintSeconds: null } });
            rec = await load(flow());
            helper.getNode('r1').receive({});
            await rec.out.waitFor(1);
            const answeredAt = Date.now();
            await waitFor(() => silent.openConnections === 0, { message: 'the client closing its idle connections', timeoutMs: 15_000 });
            assert.ok(Date.now() - answeredAt >= 3000, 'kept for reuse a while');
            assert.strictEqual(silent.connectionCounts.closedIdle, 0);
        });

        it('a server hint of timeout=1 leaves nothing to reuse: every request on a connection of its own', async function () {
            const server = await startSim({ keepAlive: { idleCloseMs: 1000, hintSeconds: 1 } });
            const rec = await load(flow());
            for (let i = 0; i < 5; i++) {
                helper.getNode('r1').receive({ seq: i });
                await rec.out.waitFor(i + 1);
            }
            assert.ok(
                server.stats.requests.every((r) => !r.reused),
                JSON.stringify(server.stats.requests.map((r) => [r.path, r.reused])),
            );
        });

        it('every login goes on a new connection, so it never meets the race', async function () {
            const server = await startSim({ sessionRequestLimit: 20 });
            const rec = await load(flow());
            await drive('r1', rec, { total: 100, concurrency: 4 });
            await answeredOnce(rec, 100);
            const logins = server.stats.requests.filter((r) => r.path.endsWith('/iap/auth/login'));
            assert.ok(logins.length >= 5, `${logins.length} logins`);
            assert.ok(
                logins.every((r) => !r.reused),
                'no login on a reused connection',
            );
            assert.ok(
                server.stats.requests.some((r) => r.reused),
                'requests do reuse connections',
            );
        });
    });
});

/**
 * A fleet on one account: three Node-RED processes started by their binary, each with its own user
 * dir and guard file, sharing one real redis-server through a `rest-session-store`, against the
 * SmartServer simulator. The simulator's own counts (logins, failures, locks, live sessions,
 * logouts) are the evidence. Each test uses its own SmartServer user, so the instances' own guard
 * files and the store never carry one test's state into the next.
 */
import assert from 'node:assert';

import { SmartServerSimulator } from '../simulators/smartserver';
import { NodeRedProcess, HttpReply, failureReply, httpCall, storeNode } from '../support/node-red-fleet';
import { HEARTBEAT_TTL_MS } from '../../src/lib/session/shared-account';
import { RedisServer, dumpAll, withClient } from '../support/redis-server';
import { quietPeriod, waitFor } from '../support/wait';

const SHARED_KEY = 'fleet-shared-key-0123456789-abcdefghij';
const PASSWORD = 'Fleet-Passw0rd!x';
const REQUEST_TIMEOUT_MS = 3000;

interface FleetFlowOptions {
    origin: string;
    redisUrl: string;
    user: string;
    password: string;
    share: 'guard' | 'session';
    logoutOnClose?: boolean;
}

/**
 * POST /req: one authorized request (GET /iap/devs); POST /login: a login node. Either answers 200
 * with the msg's payload, or 500 with what the Catch node got: `{errorCode, retryAfter, message}`.
 */
function fleetFlows(options: FleetFlowOptions): unknown[] {
    const z = 'fleet';
    return [
        { id: z, type: 'tab', label: 'fleet' },
        storeNode(options.redisUrl, 'fleet-test', options.share, SHARED_KEY),
        {
            id: 'srv',
            type: 'rest-session-server',
            vendor: 'smartserver',
            baseUrl: options.origin,
            store: 'store',
            requestTimeout: REQUEST_TIMEOUT_MS,
            maxConnections: 8,
            logoutOnClose: options.logoutOnClose ?? true,
            credentials: { username: options.user, password: options.password },
        },
        { id: 'in-req', z, type: 'http in', url: '/req', method: 'post', wires: [['req']] },
        { id: 'req', z, type: 'rest-session-request', server: 'srv', method: 'GET', url: '/iap/devs', ret: 'obj', paytoqs: 'ignore', wires: [['done']] },
        { id: 'in-login', z, type: 'http in', url: '/login', method: 'post', wires: [['login']] },
        { id: 'login', z, type: 'rest-session-login', server: 'srv', wires: [['done']] },
        // The vendor's reply headers (Content-Length, Transfer-Encoding) must not become the endpoint's.
        { id: 'done', z, type: 'function', func: 'msg.headers = {}; msg.payload = { ok: true }; return msg;', outputs: 1, wires: [['ok']] },
        { id: 'ok', z, type: 'http response', statusCode: '200', headers: {}, wires: [] },
        ...failureReply(z),
    ];
}

function failure(reply: HttpReply): { errorCode?: string; retryAfter?: number; message?: string } {
    assert.strictEqual(reply.status, 500, `expected a failure, got ${reply.status} ${reply.text}`);
    return reply.json();
}

describe('a fleet of three Node-RED processes on one account, through Redis', function () {
    this.timeout(180000);
    let redis: RedisServer;
    let sim: SmartServerSimulator;
    let fleet: NodeRedProcess[] = [];
    let userCount = 0;

    /** A fresh SmartServer user for one test. */
    function newUser(): string {
        const name = `fleet${++userCount}`;
        sim.setUser(name, { password: PASSWORD });
        return name;
    }

    const loginsOf = (user: string) => sim.stats.logins.filter((entry) => entry.username === user);
    const failedLoginsOf = (user: string) => loginsOf(user).filter((entry) => entry.outcome !== 'accepted');

    /** Test login in `instance`'s editor with the dialog's `values` for a SmartServer `user` of the simulator. */
    async function testLoginOn(instance: NodeRedProcess, user: string, values: Record<string, string>) {
        const body = { vendor: 'smartserver', baseUrl: sim.origin, requestTimeout: String(REQUEST_TIMEOUT_MS), username: user, ...values };
        const reply = await httpCall(`${instance.url}/rest-session-server/test-login`, 'POST', body);
        assert.strictEqual(reply.status, 200, reply.text);
        return reply.json() as { ok: boolean; code?: string; sent?: boolean; message?: string };
    }

    async function deployAll(options: Omit<FleetFlowOptions, 'origin' | 'redisUrl'>, instances = fleet): Promise<void> {
        await Promise.all(instances.map((instance) => instance.deploy(fleetFlows({ origin: sim.origin, redisUrl: redis.url, ...options }))));
    }

    before(async function () {
        redis = await RedisServer.start({ persist: true });
        sim = new SmartServerSimulator({ tls: false });
        await sim.start();
        fleet = await Promise.all(['a', 'b', 'c'].map((name) => NodeRedProcess.start(name)));
    });
    after(async function () {
        await Promise.all(fleet.map((instance) => instance.dispose()));
        await sim?.stop();
        await redis?.stop();
    });

    it('a wrong password on three instances: at most 3 failed logins for the fleet (here 1), no lock, every instance reports the cool-down', async function () {
        const user = newUser();
        await deployAll({ user, password: 'Wrong-Passw0rd!x', share: 'guard' });
        const replies = await Promise.all(fleet.flatMap((instance) => [instance.call('/login'), instance.call('/req'), instance.call('/login')]));
        for (const reply of replies) {
            const { errorCode, retryAfter } = failure(reply);
            assert.strictEqual(errorCode, 'INVALID_CREDENTIALS', reply.text);
            assert.ok(retryAfter! > 200 && retryAfter! <= 300, reply.text);
        }
        // Again, later: still held, by every instance, with nothing sent.
        for (const instance of fleet) {
            const { message } = failure(await instance.call('/req'));
            assert.match(message!, /not retrying the same credentials/);
        }
        assert.ok(failedLoginsOf(user).length <= 3, `${failedLoginsOf(user).length} failed logins`);
        assert.strictEqual(failedLoginsOf(user).length, 1, 'one login on the wire at a time: the first rejection holds the others');
        assert.deepStrictEqual(
            sim.locks.filter((lock) => lock.username === user),
            [],
        );
    });

    it('share session: 100 concurrent msgs over three cold instances make exactly 1 login and 100 successes; the session killed mid-traffic makes exactly 1 re-login', async function () {
        const user = newUser();
        await deployAll({ user, password: PASSWORD, share: 'session' });
        const burst = (count: number) => Promise.all(Array.from({ length: count }, (_, i) => fleet[i % 3].call('/req')));
        const first = await burst(100);
        assert.deepStrictEqual(
            first.map((reply) => reply.status),
            Array(100).fill(200),
            first.find((reply) => reply.status !== 200)?.text,
        );
        assert.strictEqual(loginsOf(user).length, 1, 'one login for the fleet');
        assert.strictEqual(sim.liveSessions(), 1);

        // The server ends every session while msgs flow: one instance logs in again, the others use it.
        const during = burst(60);
        await waitFor(() => sim.stats.requests.filter((record) => record.path === '/iap/devs').length > 110, { message: 'traffic to flow' });
        sim.expireSessions();
        const second = await during;
        const after = await burst(30);
        for (const reply of [...second, ...after]) assert.strictEqual(reply.status, 200, reply.text);
        assert.strictEqual(loginsOf(user).length, 2, 'exactly one re-login for the fleet');
    });

    it('share session is keyed by the credential: an instance with another password logs in itself and reports INVALID_CREDENTIALS, the others keep the one session', async function () {
        const user = newUser();
        const [a, b, c] = fleet;
        const flows = (password: string) => fleetFlows({ origin: sim.origin, redisUrl: redis.url, user, password, share: 'session' });
        await Promise.all([a.deploy(flows(PASSWORD)), b.deploy(flows(PASSWORD)), c.deploy(flows('Other-Passw0rd!x'))]);
        for (const instance of [a, b]) assert.strictEqual((await instance.call('/req')).status, 200);
        assert.strictEqual(loginsOf(user).length, 1, 'one login for the instances with the same credential');
        // C's password is not the fleet's: it sends its own login (not masked by the fleet's session) and is refused.
        const { errorCode } = failure(await c.call('/req'));
        assert.strictEqual(errorCode, 'INVALID_CREDENTIALS');
        assert.strictEqual(failedLoginsOf(user).length, 1, "C's own login, refused");
        assert.strictEqual(loginsOf(user).length, 2);
        // The fleet's session is untouched: A and B still use it, nothing more is sent.
        const more = await Promise.all([a.call('/req'), b.call('/req'), a.call('/req'), b.call('/req')]);
        for (const reply of more) assert.strictEqual(reply.status, 200, reply.text);
        assert.strictEqual(loginsOf(user).length, 2);
        assert.strictEqual(sim.liveSessions(), 1);
    });

    it("Test login goes through the fleet's guard: a cool-down or spent budget of the fleet holds it back (nothing sent), and its failures count for the fleet", async function () {
        const user = newUser();
        const [a, b] = fleet;
        const testLogin = (password: string) => testLoginOn(a, user, { id: 'srv', password });
        const flows = (password: string) => fleetFlows({ origin: sim.origin, redisUrl: redis.url, user, password, share: 'guard' });
        // A names the store (and has never seen a wrong password); B's deployed flow spends the fleet's budget.
        await Promise.all([a.deploy(flows(PASSWORD)), b.deploy(flows('Wrong-One-Passw0rd'))]);
        assert.strictEqual(failure(await b.call('/login')).errorCode, 'INVALID_CREDENTIALS');
        assert.strictEqual(failedLoginsOf(user).length, 1);
        // That credential's cool-down is the fleet's: Test login on A is held back, nothing sent.
        const held = await testLogin('Wrong-One-Passw0rd');
        assert.deepStrictEqual([held.ok, held.code, held.sent], [false, 'INVALID_CREDENTIALS', false], JSON.stringify(held));
        assert.strictEqual(loginsOf(user).length, 1, 'nothing sent by the held Test login');
        // A Test login's failure counts for the fleet: B, deployed with that password, is held back by it.
        const tested = await testLogin('Wrong-Two-Passw0rd');
        assert.deepStrictEqual([tested.ok, tested.code, tested.sent], [false, 'INVALID_CREDENTIALS', true], JSON.stringify(tested));
        assert.strictEqual(failedLoginsOf(user).length, 2);
        await b.deploy(flows('Wrong-Two-Passw0rd'));
        const heldB = failure(await b.call('/req'));
        assert.strictEqual(heldB.errorCode, 'INVALID_CREDENTIALS', JSON.stringify(heldB));
        assert.match(heldB.message!, /not retrying the same credentials/);
        assert.strictEqual(loginsOf(user).length, 2, "B sent nothing: A's Test login cooled that password down for the fleet");
        // A third failure by Test login spends the fleet's budget (3): even the right password waits, on every instance.
        assert.strictEqual((await testLogin('Wrong-Three-Passw0rd')).sent, true);
        assert.strictEqual(failedLoginsOf(user).length, 3);
        await b.deploy(flows(PASSWORD));
        const spent = failure(await b.call('/req'));
        assert.strictEqual(spent.errorCode, 'INVALID_CREDENTIALS', JSON.stringify(spent));
        const right = await testLogin(PASSWORD);
        assert.deepStrictEqual([right.ok, right.sent], [false, false], JSON.stringify(right));
        assert.strictEqual(loginsOf(user).length, 3, 'the spent budget held the right password back on both, nothing sent');
        assert.deepStrictEqual(
            sim.locks.filter((lock) => lock.username === user),
            [],
        );
    });

    it("Test login of a new or edited server passes the guard of the store its dialog names: held by the fleet's cool-down, CONFIG for a store not deployed, GUARD_UNAVAILABLE while Redis is unreachable (nothing sent)", async function () {
        const user = newUser();
        const [a, b] = fleet;
        const testLogin = (values: Record<string, string>) => testLoginOn(a, user, values);
        const flows = (password: string) => fleetFlows({ origin: sim.origin, redisUrl: redis.url, user, password, share: 'guard' });
        await Promise.all([a.deploy(flows(PASSWORD)), b.deploy(flows('Wrong-One-Passw0rd'))]);
        assert.strictEqual(failure(await b.call('/login')).errorCode, 'INVALID_CREDENTIALS');
        assert.strictEqual(loginsOf(user).length, 1);
        // A server added in A's editor (not deployed), or the id of another node, with the fleet's store selected: held back by the fleet.
        for (const id of ['new-server', 'store', '']) {
            const held = await testLogin({ id, store: 'store', password: 'Wrong-One-Passw0rd' });
            assert.deepStrictEqual([held.ok, held.code, held.sent], [false, 'INVALID_CREDENTIALS', false], JSON.stringify(held));
        }
        // A store that is not deployed (new in the editor, or unknown): CONFIG.
        const undeployed = await testLogin({ id: 'new-server', store: 'new-store', password: 'Wrong-One-Passw0rd' });
        assert.deepStrictEqual([undeployed.ok, undeployed.code, undeployed.sent], [false, 'CONFIG', false], JSON.stringify(undeployed));
        assert.match(undeployed.message!, /session store was not found\. Deploy it/);
        assert.strictEqual(loginsOf(user).length, 1, 'nothing sent by the held Test logins');
        // The store unreachable: fail closed, whether the dialog or the deployed server names it.
        redis.pause();
        try {
            const dialogs: Array<Record<string, string>> = [{ id: 'new-server', store: 'store' }, { id: 'srv' }];
            for (const values of dialogs) {
                const closed = await testLogin({ ...values, password: PASSWORD });
                assert.deepStrictEqual([closed.ok, closed.code, closed.sent], [false, 'GUARD_UNAVAILABLE', false], JSON.stringify(closed));
            }
        } finally {
            redis.resume();
        }
        assert.strictEqual(loginsOf(user).length, 1, 'nothing sent while the store was unreachable');
        const right = await testLogin({ id: 'new-server', store: 'store', password: PASSWORD });
        assert.strictEqual(right.ok, true, JSON.stringify(right));
        assert.strictEqual(loginsOf(user).length, 2);
    });

    it('a 429 "wait" seen by one instance keeps the others silent', async function () {
        const user = newUser();
        await deployAll({ user, password: PASSWORD, share: 'guard' });
        sim.scriptLogins({ kind: 'status', status: 429, headers: { 'Retry-After': '600' } });
        const { errorCode } = failure(await fleet[0].call('/req'));
        assert.strictEqual(errorCode, 'RATE_LIMITED');
        for (const instance of fleet.slice(1)) {
            const held = failure(await instance.call('/req'));
            assert.strictEqual(held.errorCode, 'RATE_LIMITED', JSON.stringify(held));
            assert.ok(held.retryAfter! > 500 && held.retryAfter! <= 600, JSON.stringify(held));
        }
        assert.strictEqual(loginsOf(user).length, 1, 'only the first instance sent a login');
    });

    it('no key or value in Redis holds a user, host, password, cookie or token in clear (SCAN of everything)', async function () {
        const user = newUser();
        await deployAll({ user, password: PASSWORD, share: 'session' });
        for (const instance of fleet) assert.strictEqual((await instance.call('/req')).status, 200);
        const dump = await dumpAll(redis);
        assert.match(dump, /fleet-test:\{/);
        const cookies = [...sim.stats.requests]
            .map((record) => /cmsSID=([^;\s]+)/.exec(JSON.stringify(record))?.[1])
            .filter((value): value is string => !!value);
        assert.ok(cookies.length > 0);
        for (const secret of [user, PASSWORD, '127.0.0.1', String(sim.port), 'cmsSID', ...cookies]) {
            assert.ok(!dump.includes(secret), `"${secret}" found in Redis`);
        }
    });

    it('logout ownership: stopping two of three sends no logout, the last sends exactly one', async function () {
        const user = newUser();
        await deployAll({ user, password: PASSWORD, share: 'session' });
        for (const instance of fleet) assert.strictEqual((await instance.call('/req')).status, 200);
        assert.strictEqual(loginsOf(user).length, 1);
        const logoutsBefore = sim.stats.logouts;
        // A redeploy without the server closes it, as a stop would: two of three leave.
        await Promise.all(fleet.slice(0, 2).map((instance) => instance.deploy([{ id: 'empty', type: 'tab', label: 'empty' }])));
        await quietPeriod(300);
        assert.strictEqual(sim.stats.logouts, logoutsBefore, 'no logout while an instance still uses the session');
        assert.strictEqual(sim.liveSessions(), 1);
        await fleet[2].deploy([{ id: 'empty', type: 'tab', label: 'empty' }]);
        await waitFor(() => sim.stats.logouts === logoutsBefore + 1, { message: 'the last instance to log out' });
        await quietPeriod(300);
        assert.strictEqual(sim.stats.logouts, logoutsBefore + 1);
        assert.strictEqual(sim.liveSessions(), 0);
    });

    it('Redis stopped mid-traffic: live sessions keep serving, logins fail closed (GUARD_UNAVAILABLE, nothing sent), recovery once it is back', async function () {
        const user = newUser();
        await deployAll({ user, password: PASSWORD, share: 'session' });
        for (const instance of fleet) assert.strictEqual((await instance.call('/req')).status, 200);
        assert.strictEqual(loginsOf(user).length, 1);
        redis.pause();
        try {
            // The request path needs no Redis.
            const served = await Promise.all(fleet.flatMap((instance) => [instance.call('/req'), instance.call('/req')]));
            for (const reply of served) assert.strictEqual(reply.status, 200, reply.text);
            // A login would: the server ends the session, every instance fails closed.
            sim.expireSessions();
            for (const instance of fleet) {
                const { errorCode, message } = failure(await instance.call('/req'));
                assert.strictEqual(errorCode, 'GUARD_UNAVAILABLE', message);
                assert.match(message!, /is unreachable: not logging in/);
            }
            assert.strictEqual(loginsOf(user).length, 1, 'no login while the store is unreachable');
        } finally {
            redis.resume();
        }
        await waitFor(async () => (await fleet[1].call('/req')).status === 200, { timeoutMs: 20000, intervalMs: 200, message: 'recovery' });
        for (const instance of fleet) assert.strictEqual((await instance.call('/req')).status, 200);
        assert.strictEqual(loginsOf(user).length, 2, 'one login for the fleet after recovery');
    });

    it('Redis killed mid-login: no second login, the others fail closed, the fleet recovers after the restart without another login', async function () {
        // A server that holds each login reply 1.5 s: Redis dies while the login is on the wire.
        const slow = new SmartServerSimulator({ tls: false, loginDelayMs: 1500, users: { slowpoke: { password: PASSWORD } } });
        await slow.start();
        try {
            await Promise.all(
                fleet.map((instance) =>
                    instance.deploy(fleetFlows({ origin: slow.origin, redisUrl: redis.url, user: 'slowpoke', password: PASSWORD, share: 'session' })),
                ),
            );
            try {
                const pending = fleet[0].call('/req');
                await waitFor(() => slow.stats.loginAttempts === 1, { message: 'the login to be on the wire' });
                await redis.kill();
                assert.strictEqual((await pending).status, 200, 'the holder still gets its login');
                for (const instance of fleet.slice(1)) assert.strictEqual(failure(await instance.call('/req')).errorCode, 'GUARD_UNAVAILABLE');
                assert.strictEqual(slow.stats.loginAttempts, 1, 'no login while Redis is gone');
            } finally {
                await redis.restart();
            }
            // The holder publishes its session with its next heartbeat; the others use it.
            await waitFor(async () => (await fleet[1].call('/req')).status === 200, { timeoutMs: 30000, intervalMs: 250, message: 'recovery' });
            assert.strictEqual((await fleet[2].call('/req')).status, 200);
            assert.strictEqual(slow.stats.loginAttempts, 1, "the login made while Redis died is the fleet's only one");
        } finally {
            await slow.stop();
        }
    });

    it('a holder paused (SIGSTOP) past its lease does not send when it resumes; its attempt holds the others (in doubt) until it gives it back, then the fleet logs in once', async function () {
        const user = newUser();
        const loadsBefore = await redis.commandCalls('script|load');
        await deployAll({ user, password: PASSWORD, share: 'session' });
        // Every instance connected and loaded its 7 scripts: what Redis holds next from A is its charge.
        await waitFor(async () => (await redis.commandCalls('script|load')) >= loadsBefore + 3 * 7, { message: 'the stores to connect' });
        // Redis holds instance A's charge unanswered; A is frozen before the grant reaches it.
        redis.pause();
        let pending: Promise<HttpReply> | undefined;
        try {
            pending = fleet[0].call('/req');
            await waitFor(() => redis.bufferedBytes() > 0, { intervalMs: 20, message: "A's charge to reach Redis" });
            fleet[0].pause();
        } finally {
            redis.resume();
        }
        try {
            // A's lease is granted and runs out while A sleeps. Its attempt is then in doubt: B does
            // not log in on top of it (nothing sent), it is told why.
            await waitFor(async () => (await redis.keysMatching('*:lease')).length === 1, { message: "A's lease" });
            await waitFor(async () => (await redis.keysMatching('*:lease')).length === 0, {
                timeoutMs: 30000,
                intervalMs: 100,
                message: "A's lease to run out",
            });
            const held = failure(await fleet[1].call('/req'));
            assert.strictEqual(held.errorCode, 'TIMEOUT', JSON.stringify(held));
            assert.match(held.message!, /got no answer before its process stopped/);
        } finally {
            fleet[0].resume();
        }
        // A wakes up: its turn is over, it sends nothing, and gives its charge back.
        const late = await pending;
        assert.strictEqual(failure(late).errorCode, 'GUARD_UNAVAILABLE', late.text);
        assert.strictEqual(loginsOf(user).length, 0, 'the paused holder sent nothing when it resumed');
        // Then the fleet logs in once, and A uses that session.
        await waitFor(async () => (await fleet[1].call('/req')).status === 200, {
            timeoutMs: 20000,
            intervalMs: 200,
            message: "B's login once A's charge is refunded",
        });
        assert.strictEqual((await fleet[0].call('/req')).status, 200);
        assert.strictEqual(loginsOf(user).length, 1);
    });

    it('refuses a Redis whose maxmemory-policy evicts keys (allkeys-lru): CONFIG naming the setting, nothing sent', async function () {
        const user = newUser();
        await redis.send('CONFIG SET maxmemory-policy allkeys-lru');
        try {
            await deployAll({ user, password: PASSWORD, share: 'guard' }, fleet.slice(0, 1));
            const { errorCode, message } = failure(await fleet[0].call('/req'));
            assert.strictEqual(errorCode, 'CONFIG');
            assert.match(message!, /maxmemory-policy allkeys-lru/);
            assert.match(fleet[0].output, /maxmemory-policy allkeys-lru/);
            assert.strictEqual(loginsOf(user).length, 0);
        } finally {
            await redis.send('CONFIG SET maxmemory-policy noeviction');
        }
    });

    // Last: it crashes an instance and leaves two with empty flows.
    it('a crashed instance counts as present until its heartbeat lapses (30 s): the others stopping send no logout; after it lapsed, the last to leave sends exactly one', async function () {
        const user = newUser();
        await deployAll({ user, password: PASSWORD, share: 'session' });
        for (const instance of fleet) assert.strictEqual((await instance.call('/req')).status, 200);
        assert.strictEqual(loginsOf(user).length, 1);
        const usersKeys = await redis.keysMatching('fleet-test:*:users');
        const logoutsBefore = sim.stats.logouts;
        await fleet[2].kill();
        await Promise.all(fleet.slice(0, 2).map((instance) => instance.deploy([{ id: 'empty', type: 'tab', label: 'empty' }])));
        await quietPeriod(300);
        assert.strictEqual(sim.stats.logouts, logoutsBefore, 'the crashed instance still counts: no logout');
        assert.strictEqual(sim.liveSessions(), 1);
        // Its last heartbeat lapses by the Redis clock, at most HEARTBEAT_TTL_MS after it was sent.
        await waitFor(
            () =>
                withClient(redis, async (client) => {
                    const [seconds, micros] = await client.time();
                    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
                    const present = await Promise.all(usersKeys.map((key) => client.zcount(key, `(${now}`, '+inf')));
                    return present.every((count) => count === 0);
                }),
            { timeoutMs: HEARTBEAT_TTL_MS + 30000, intervalMs: 500, message: "the crashed instance's heartbeat to lapse" },
        );
        // A new instance finds the session (no login), and as the last to leave logs it out once.
        const mark = fleet[2].output.length;
        await fleet[2].launch();
        // It starts the flows it had (the crashed ones) first; deploy once that is done.
        await waitFor(() => fleet[2].output.slice(mark).includes('Started flows'), { timeoutMs: 30000, intervalMs: 20, message: 'its own flows to start' });
        await deployAll({ user, password: PASSWORD, share: 'session' }, fleet.slice(2));
        assert.strictEqual((await fleet[2].call('/req')).status, 200);
        assert.strictEqual(loginsOf(user).length, 1, 'the restarted instance uses the fleet session');
        await fleet[2].deploy([{ id: 'empty', type: 'tab', label: 'empty' }]);
        await waitFor(() => sim.stats.logouts === logoutsBefore + 1, { message: 'the last instance to log out' });
        await quietPeriod(300);
        assert.strictEqual(sim.stats.logouts, logoutsBefore + 1);
        assert.strictEqual(sim.liveSessions(), 0);
    });
});

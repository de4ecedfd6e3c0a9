/**
 * README "Session behaviour", finding by finding (issue #11), over real sockets to the SmartServer
 * simulator in a real Node-RED runtime. The evidence is the server's own counts: logins, live
 * sessions, connections and TLS handshakes, requests received after the close began.
 */
import assert from 'node:assert';

import { SmartServerSimulator } from '../simulators/smartserver';
import { ADMIN, FlowNode, Msg, Recorders, answeredOnce, helper, load, logText, settle, standardFlow } from '../support/harness';
import { quietPeriod, waitFor } from '../support/wait';

const DATA_PATH = /\/iap\/devs/;

describe('session lifecycle (README "Session behaviour")', function () {
    let sim: SmartServerSimulator | undefined;

    before(async () => helper.startServer());
    after(async () => helper.stopServer());

    afterEach(async function () {
        await helper.unload();
        if (sim) await sim.stop();
        sim = undefined;
    });

    async function startSim(options: ConstructorParameters<typeof SmartServerSimulator>[0] = {}): Promise<SmartServerSimulator> {
        sim = new SmartServerSimulator(options);
        await sim.start();
        return sim;
    }

    function flow(server: FlowNode = {}, extra: FlowNode[] = [], request: FlowNode = {}): FlowNode[] {
        return standardFlow((sim as SmartServerSimulator).baseUrl('cms'), { server, extra, request });
    }

    /**
     * Stops the config node as a redeploy does (its flow nodes stay, so their Catch still reports);
     * resolves with how many requests the server had seen when the close began.
     */
    async function closeServer(): Promise<number> {
        const seenBefore = (sim as SmartServerSimulator).stats.requests.length;
        await (helper.getNode('server') as unknown as { close(removed: boolean): Promise<void> }).close(false);
        return seenBefore;
    }

    /** Data requests the server saw after its first `seenBefore` requests (by order, not by a clock). */
    function dataRequestsSince(seenBefore: number): number {
        return (sim as SmartServerSimulator).stats.requests.slice(seenBefore).filter((r) => DATA_PATH.test(r.path)).length;
    }

    function codes(rec: Recorders): Record<string, number> {
        const counted: Record<string, number> = {};
        for (const msg of rec.caught.messages) counted[msg.errorCode] = (counted[msg.errorCode] ?? 0) + 1;
        return counted;
    }

    function send(nodeId: string, count: number, msg: (i: number) => Msg = (i) => ({ seq: i })): void {
        const node = helper.getNode(nodeId);
        for (let i = 0; i < count; i++) node.receive(msg(i));
    }

    describe('nothing is sent once the config node began closing', function () {
        it('200 msgs waiting on a login in flight fail with CONFIG and send nothing; the login is logged out', async function () {
            const server = await startSim({ loginDelayMs: 300 });
            const rec = await load(flow());
            send('r1', 200);
            await waitFor(() => server.stats.loginAttempts === 1, { message: 'the login on the wire' });
            const closedAt = await closeServer();
            await answeredOnce(rec, 200);
            assert.deepStrictEqual(codes(rec), { CONFIG: 200 });
            assert.strictEqual(dataRequestsSince(closedAt), 0, 'no GET after the close began');
            assert.strictEqual(server.stats.loginAttempts, 1);
            assert.strictEqual(server.liveSessions(), 0, 'the session of the login that was on the wire is logged out');
        });

        it('a request waiting for a retry fails with CONFIG at once and is not sent again', async function () {
            const server = await startSim();
            const rec = await load(flow());
            send('r1', 1);
            await rec.out.waitFor(1);
            server.failNext(503, 1);
            send('r1', 1);
            await waitFor(() => server.stats.requests.some((r) => r.status === 503), { message: 'the 503' });
            const closedAt = await closeServer();
            const [failed] = await rec.caught.waitFor(1);
            assert.strictEqual(failed.errorCode, 'CONFIG');
            await quietPeriod(600); // longer than the retry's back-off (at most 250 ms for the first retry)
            assert.strictEqual(dataRequestsSince(closedAt), 0, 'the retry was not sent');
        });

        it('requests queued for a free connection fail with CONFIG and are never sent', async function () {
            const server = await startSim();
            // A timeout far beyond the test: the hung request ends by the close (CONFIG), never by its own
            // timeout, however slow a loaded machine makes the steps before the close.
            const rec = await load(flow({ maxConnections: 1, requestTimeout: 120_000 }));
            send('r1', 1);
            await rec.out.waitFor(1);
            server.hangNext(1);
            send('r1', 20);
            await waitFor(() => server.stats.requests.filter((r) => DATA_PATH.test(r.path)).length === 2, { message: 'the hung request' });
            const closedAt = await closeServer();
            await answeredOnce(rec, 21);
            assert.deepStrictEqual(codes(rec), { CONFIG: 20 });
            assert.strictEqual(dataRequestsSince(closedAt), 0);
            await waitFor(() => server.liveSessions() === 0, { message: 'the session logged out at close' });
        });
    });

    describe('a logout ends the session for good', function () {
        it('requests in flight when the logout comes are not replayed through a new login', async function () {
            const server = await startSim();
            const rec = await load(flow());
            send('l1', 1);
            await rec.out.waitFor(1);
            send('r1', 200);
            send('o1', 1);
            await answeredOnce(rec, 202);
            assert.strictEqual(server.stats.loginAttempts, 1, 'no re-login');
            assert.strictEqual(server.liveSessions(), 0, 'no session left after the logout');
            const failures = codes(rec);
            assert.ok((failures.SESSION_REJECTED ?? 0) > 0, `some requests came back refused: ${JSON.stringify(failures)}`);
            assert.deepStrictEqual(Object.keys(failures), ['SESSION_REJECTED']);
            assert.ok(rec.caught.messages.every((msg) => /logged out/.test(msg.error.message)));
        });

        it('a logout during a login ends the session that login makes, and the waiting requests do not log in again', async function () {
            const server = await startSim({ loginDelayMs: 200 });
            const rec = await load(flow());
            send('r1', 50);
            await waitFor(() => server.stats.loginAttempts === 1, { message: 'the login on the wire' });
            send('o1', 1);
            await answeredOnce(rec, 51);
            assert.strictEqual(server.stats.loginAttempts, 1);
            assert.strictEqual(server.liveSessions(), 0);
            assert.deepStrictEqual(
                Object.keys(codes(rec)).filter((code) => code !== 'SESSION_REJECTED'),
                [],
            );
        });

        it('a later msg logs in on demand as usual', async function () {
            const server = await startSim();
            const rec = await load(flow());
            send('r1', 1);
            await rec.out.waitFor(1);
            send('o1', 1);
            await rec.out.waitFor(2);
            send('r1', 1);
            const [, , again] = await rec.out.waitFor(3);
            assert.strictEqual(again.statusCode, 200);
            assert.strictEqual(server.stats.loginAttempts, 2);
            assert.strictEqual(server.liveSessions(), 1);
        });
    });

    describe('every credential the server issued is logged out when no longer used', function () {
        for (const fault of [500, 'hang', 'reset'] as const) {
            it(`a failing sessionTimeout (${fault}) after a good login means "expiry unknown": one session, logged out at close`, async function () {
                const server = await startSim({ sessionTimeoutFault: fault });
                const rec = await load(flow({ requestTimeout: 500 }));
                send('r1', 3);
                await answeredOnce(rec, 3);
                assert.strictEqual(rec.caught.messages.length, 0);
                assert.ok(rec.out.messages.every((msg) => msg.statusCode === 200 && msg.session.expiresAt === null));
                assert.strictEqual(server.stats.loginAttempts, 1);
                assert.strictEqual(server.liveSessions(), 1);
                await helper.unload();
                assert.strictEqual(server.liveSessions(), 0);
            });
        }

        it('a server that refuses every request right after a login: 50 msgs cost one re-login, no session left open', async function () {
            const server = await startSim();
            const rec = await load(flow());
            server.failNext(401, 10_000);
            for (let i = 0; i < 50; i++) {
                send('r1', 1);
                await waitFor(() => rec.caught.messages.length === i + 1, { message: `the answer to msg ${i}` });
            }
            assert.deepStrictEqual(codes(rec), { SESSION_REJECTED: 50 });
            assert.strictEqual(server.stats.loginAttempts, 2, 'the first login and one re-login');
            await waitFor(() => server.liveSessions() === 1, { message: 'the replaced session logged out' });
            await helper.unload();
            assert.strictEqual(server.liveSessions(), 0);
        });

        it('a failed logout of a replaced session is reported as a warning', async function () {
            const server = await startSim();
            const rec = await load(flow());
            send('r1', 1);
            await rec.out.waitFor(1);
            server.failNext(401, 1);
            server.failLogoutNext(1);
            send('r1', 1);
            await rec.out.waitFor(2);
            await waitFor(() => /Could not log out a replaced session of \\"admin\\"/.test(logText()), { message: 'the warning' });
            assert.strictEqual(server.stats.loginAttempts, 2);
        });
    });

    describe('a 2xx login without a usable credential is a failed login', function () {
        const cookies: Record<string, (sid: string) => string | null> = {
            'no cookie': () => null,
            'Path=/elsewhere': (sid) => `cmsSID=${sid}; Path=/elsewhere; Secure; HttpOnly`,
            'a foreign Domain': (sid) => `cmsSID=${sid}; Path=/; Domain=example.com; Secure; HttpOnly`,
            'Max-Age=0': (sid) => `cmsSID=${sid}; Path=/; Max-Age=0; Secure; HttpOnly`,
        };
        for (const [name, loginCookie] of Object.entries(cookies)) {
            it(`${name}: SERVER_ERROR, and no request is sent without the session`, async function () {
                const server = await startSim({ loginCookie });
                const rec = await load(flow());
                send('r1', 1);
                const [failed] = await rec.caught.waitFor(1);
                assert.strictEqual(failed.errorCode, 'SERVER_ERROR');
                assert.match(failed.error.message, /cmsSID/);
                assert.strictEqual(server.stats.loginAttempts, 1);
                assert.strictEqual(dataRequestsSince(0), 0);
            });
        }
    });

    describe('bounded sessions', function () {
        it('msg.credentials users that failed are forgotten; at most 100 sessions, the idle ones beyond logged out oldest first', async function () {
            const users: Record<string, { password: string }> = { admin: { password: ADMIN.password } };
            for (let i = 0; i < 120; i++) users[`user${i}`] = { password: `Pw-${i}-xyzXYZ!` };
            const server = await startSim({ users, lockoutThreshold: 1000 });
            const rec = await load(flow());
            send('r1', 1); // the own session is live too, and never evicted
            await rec.out.waitFor(1);
            for (let i = 0; i < 120; i++) {
                send('l1', 1, () => ({ credentials: { username: `user${i}`, password: `Pw-${i}-xyzXYZ!` } }));
                await waitFor(() => rec.out.messages.length === i + 2, { message: `login ${i}` });
            }
            await waitFor(() => server.liveSessions() === 100, { message: () => `100 live sessions (now ${server.liveSessions()})` });
            // The oldest are the ones logged out: user0 is no longer held, user119 is.
            send('r1', 1, () => ({ session: { server: 'server', user: 'user0' } }));
            send('r1', 1, () => ({ session: { server: 'server', user: 'user119' } }));
            await answeredOnce(rec, 123);
            assert.strictEqual(rec.caught.messages[0].errorCode, 'SESSION_REJECTED');
            assert.strictEqual(rec.out.messages[121].statusCode, 200);

            send('l1', 1, () => ({ credentials: { username: 'nobody', password: 'wrong' } }));
            const [, failed] = await rec.caught.waitFor(2);
            assert.strictEqual(failed.errorCode, 'INVALID_CREDENTIALS');
            send('r1', 1, () => ({ session: { server: 'server', user: 'nobody' } }));
            const [, , forgotten] = await rec.caught.waitFor(3);
            assert.match(forgotten.error.message, /does not hold/);
        });

        it('msg.credentials with the own username and another password never changes the own session', async function () {
            const server = await startSim();
            const rec = await load(flow());
            send('r1', 1);
            await rec.out.waitFor(1);
            send('l1', 1, () => ({ credentials: { username: ADMIN.username, password: 'not-the-password' } }));
            const [failed] = await rec.caught.waitFor(1);
            assert.strictEqual(failed.errorCode, 'INVALID_CREDENTIALS');
            server.expireSessions();
            send('r1', 1);
            const [, again] = await rec.out.waitFor(2);
            assert.strictEqual(again.statusCode, 200, 'the own session logs in again with its own password');
            assert.strictEqual(server.stats.loginAttempts, 3);
            send('l1', 1, () => ({ credentials: { ...ADMIN } }));
            const [, , same] = await rec.out.waitFor(3);
            assert.strictEqual(same.session.id, again.session.id, 'the own credentials use the own session');
            assert.strictEqual(server.stats.loginAttempts, 3);
        });

        it('100 flow nodes on one server print no listener warning', async function () {
            await startSim();
            const warnings: string[] = [];
            const onWarning = (warning: Error): void => {
                warnings.push(warning.name);
            };
            process.on('warning', onWarning);
            try {
                const extra = Array.from({ length: 100 }, (_, i) => ({
                    id: `x${i}`,
                    type: 'rest-session-request',
                    server: 'server',
                    method: 'GET',
                    url: '/iap/devs',
                    ret: 'obj',
                    wires: [['out']],
                }));
                const rec = await load(flow({}, extra));
                for (let i = 0; i < 100; i++) helper.getNode(`x${i}`).receive({ seq: i });
                await settle(rec, 100, 30_000);
                await answeredOnce(rec, 100);
                assert.strictEqual(rec.caught.messages.length, 0);
                await quietPeriod(20); // process warnings are emitted on the next tick
                assert.deepStrictEqual(
                    warnings.filter((name) => name === 'MaxListenersExceededWarning'),
                    [],
                );
            } finally {
                process.off('warning', onWarning);
            }
        });
    });

    describe('at most maxConnections sockets per server', function () {
        it('1000 msgs on a cold HTTPS server open at most 8 connections and TLS handshakes, and one for the login', async function () {
            this.timeout(60_000);
            const server = await startSim();
            // Queued msgs wait inside their timeout: the default 30 s, not the harness's short 5 s.
            const rec = await load(flow({ requestTimeout: 30_000 }));
            send('r1', 1000);
            await settle(rec, 1000, 50_000);
            await answeredOnce(rec, 1000);
            assert.deepStrictEqual(codes(rec), {});
            const counts = server.connectionCounts;
            // A login goes on a connection of its own (never a reused one: README "Guarantees under load").
            assert.ok(counts.connections <= 9, `connections: ${JSON.stringify(counts)}`);
            assert.ok(counts.handshakes <= 9, `handshakes: ${JSON.stringify(counts)}`);
            assert.ok(counts.maxOpen <= 9, `open at once: ${JSON.stringify(counts)}`);
            assert.strictEqual(server.stats.loginAttempts, 1);
        });

        it('an expiry in the middle of 1000 in-flight msgs opens at most one connection more (the re-login)', async function () {
            this.timeout(60_000);
            const server = await startSim();
            const rec = await load(flow({ requestTimeout: 30_000 }));
            send('r1', 1);
            await rec.out.waitFor(1);
            const before = server.connectionCounts;
            helper.getNode('out').on('input', () => {
                if (rec.out.messages.length === 501) server.expireSessions();
            });
            send('r1', 1000);
            await settle(rec, 1001, 50_000);
            await answeredOnce(rec, 1001);
            assert.deepStrictEqual(codes(rec), {});
            assert.strictEqual(server.stats.loginAttempts, 2);
            const counts = server.connectionCounts;
            assert.ok(counts.maxOpen <= 9, `open at once: ${JSON.stringify(counts)}`);
            assert.ok(counts.connections - before.connections <= 9, `new connections: ${JSON.stringify({ before, counts })}`);
        });

        it('a request queued behind a hung one waits inside its timeout (TIMEOUT) and is never sent', async function () {
            const server = await startSim();
            // POST: a timeout is not retried, so each msg makes one attempt at most.
            const rec = await load(flow({ maxConnections: 1, requestTimeout: 1500 }, [], { method: 'POST' }));
            send('r1', 1);
            await rec.out.waitFor(1);
            server.hangNext(1);
            send('r1', 1);
            await waitFor(() => server.stats.requests.filter((r) => DATA_PATH.test(r.path)).length === 2, { message: 'the hung request' });
            send('r1', 1, () => ({ requestTimeout: 200 }));
            await answeredOnce(rec, 3);
            assert.deepStrictEqual(codes(rec), { TIMEOUT: 2 });
            assert.strictEqual(server.stats.requests.filter((r) => DATA_PATH.test(r.path)).length, 2, 'the queued request was not sent');
        });

        it('a login never waits behind queued requests: it may use one connection beyond the cap', async function () {
            const users = { admin: { password: ADMIN.password }, other: { password: 'Other-pass-1!' } };
            const server = await startSim({ users });
            const rec = await load(flow({ maxConnections: 1, requestTimeout: 3000 }, [], { method: 'POST' }));
            send('r1', 1);
            await rec.out.waitFor(1);
            server.hangNext(1);
            send('r1', 5);
            await waitFor(() => server.stats.requests.filter((r) => DATA_PATH.test(r.path)).length === 2, { message: 'the hung request' });
            send('l1', 1, () => ({ credentials: { username: 'other', password: 'Other-pass-1!' } }));
            await waitFor(() => rec.out.messages.some((msg) => msg.session?.user === 'other'), { message: 'the login of "other"' });
            assert.strictEqual(server.stats.requests.filter((r) => DATA_PATH.test(r.path)).length, 2, 'the queued requests are still queued');
            assert.ok(server.connectionCounts.maxOpen <= 2, JSON.stringify(server.connectionCounts));
        });

        for (const bad of [0, 257, 'many', 1.5]) {
            it(`maxConnections ${JSON.stringify(bad)} is CONFIG and sends nothing`, async function () {
                const server = await startSim();
                const rec = await load(flow({ maxConnections: bad }));
                send('r1', 1);
                const [failed] = await rec.caught.waitFor(1);
                assert.strictEqual(failed.errorCode, 'CONFIG');
                assert.strictEqual(server.stats.requests.length, 0);
            });
        }
    });
});

/**
 * A fleet login's lease covers every write of it, not only the first: a resend after a refused
 * connection (backoff with jitter) and SmartServer's 423 → newPassword login are written only while
 * the holder's lease still covers them, else never. A real redis-server for the shared store, a real
 * SmartServer simulator whose port refuses connections at first; only this process's clock is moved
 * (the one the node reads the lease end from), so the Redis lease itself is untouched. The
 * simulator's own login log is the evidence.
 */
import assert from 'node:assert';
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

import sinon from 'sinon';

import { HttpClient } from '../../src/lib/http/http-client';
import { LoginGuard } from '../../src/lib/session/login-guard';
import { ServerTransport } from '../../src/lib/session/server-transport';
import { SessionManager } from '../../src/lib/session/session-manager';
import { SEND_WITHIN_MS } from '../../src/lib/session/shared-account';
import { LedgerStore } from '../../src/lib/store/ledger-store';
import { createRedisStore, RedisStore } from '../../src/lib/store/redis';
import { configuredAdapter, vendorAdapter } from '../../src/lib/vendors';
import type { ServerSettings } from '../../src/lib/vendors/adapter';
import { SmartServerSimulator } from '../simulators/smartserver';
import { RedisServer } from '../support/redis-server';

const PASSWORD = 'Right-Passw0rd!x';
const NEW_PASSWORD = 'Newer-Passw0rd!y';
const TIMEOUT_MS = 2000;
/** Far past any lease of this test (5 s + 2 × 2 s). */
const LEASE_RAN_OUT_MS = SEND_WITHIN_MS + 10 * TIMEOUT_MS;
const POLICY = { coolDownMs: 5 * 60_000, maxFailedLogins: 3, failureWindowMs: 30 * 60_000 };

describe('fleet login lease: every write of a login checks it (real Redis, real simulator)', function () {
    this.timeout(60000);
    let redis: RedisServer;
    let sequence = 0;
    /** How far this process's clock was moved ahead. */
    let ahead = 0;
    const cleanups: Array<() => Promise<void> | void> = [];

    before(async () => {
        redis = await RedisServer.start();
    });
    after(async () => {
        await redis.stop();
    });
    beforeEach(() => {
        ahead = 0;
        const now = performance.now.bind(performance);
        const stub = sinon.stub(performance, 'now').callsFake(() => now() + ahead);
        cleanups.push(() => stub.restore());
    });
    afterEach(async () => {
        for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    function manager(origin: string, store: RedisStore): SessionManager {
        const settings: ServerSettings = { vendor: 'smartserver', baseUrl: origin, requestTimeoutMs: TIMEOUT_MS };
        const adapter = configuredAdapter(vendorAdapter('smartserver'), settings);
        const made = new SessionManager({
            serverId: 'srv',
            adapter,
            transport: new ServerTransport({ settings, adapter, http: new HttpClient({ maxResponseBytes: 1 << 20, maxSockets: 9 }), maxConnections: 8 }),
            guard: new LoginGuard(POLICY, new LedgerStore()),
            shared: { store, share: 'guard', policy: POLICY },
        });
        cleanups.push(() => made.close(false, 1000));
        return made;
    }

    function sharedStore(): RedisStore {
        const store = createRedisStore({ url: redis.url, sharedKey: 'lease-resend-shared-key-0123456789-abcdef', keyPrefix: `resend-${++sequence}` });
        cleanups.push(() => store.close());
        return store;
    }

    async function login(made: SessionManager, credentials: { username: string; password: string; newPassword?: string }): Promise<string> {
        const { session } = made.sessionForCredentials(credentials);
        try {
            await made.login(session, false);
            return 'ok';
        } catch (error) {
            return (error as { code?: string }).code ?? 'ERROR';
        }
    }

    /**
     * A simulator's port that refuses connections until the login's first connection was refused,
     * then serves the simulator again; `onRefused` runs at that refusal, before the resend's backoff.
     */
    async function refusingAtFirst(
        onRefused: () => void,
    ): Promise<{ origin: string; simulator: () => SmartServerSimulator; refused: () => boolean; up: () => Promise<unknown> }> {
        const first = new SmartServerSimulator({ tls: false });
        await first.start();
        const { port } = new URL(first.origin);
        await first.stop();
        let simulator = first;
        let refused = false;
        let restarted: Promise<unknown> | undefined;
        const watch = ({ socket }: { socket: Socket }): void => {
            socket.once('error', (error: NodeJS.ErrnoException & { port?: number }) => {
                if (refused || error.code !== 'ECONNREFUSED' || String(error.port) !== port) return;
                refused = true;
                onRefused();
                simulator = new SmartServerSimulator({ tls: false, port: Number(port) });
                simulator.setUser('fleet', { password: PASSWORD });
                restarted = simulator.start();
            });
        };
        diagnostics.subscribe('net.client.socket', watch as (message: unknown) => void);
        cleanups.push(async () => {
            diagnostics.unsubscribe('net.client.socket', watch as (message: unknown) => void);
            await restarted;
            await simulator.stop();
        });
        return { origin: first.origin, simulator: () => simulator, refused: () => refused, up: async () => restarted };
    }

    it('control: a login whose first connection was refused is resent within its lease, and the simulator counts it', async () => {
        const target = await refusingAtFirst(() => undefined);
        const outcome = await login(manager(target.origin, sharedStore()), { username: 'fleet', password: PASSWORD });
        assert.ok(target.refused(), 'the first connection was refused');
        assert.strictEqual(outcome, 'ok');
        assert.strictEqual(target.simulator().stats.logins.length, 1, 'the resend reached the simulator');
    });

    it('a resend after a refused connection is not written once the lease ran out during the backoff', async () => {
        // The lease runs out (by this process's clock) while the login waits to resend.
        const target = await refusingAtFirst(() => (ahead += LEASE_RAN_OUT_MS));
        const outcome = await login(manager(target.origin, sharedStore()), { username: 'fleet', password: PASSWORD });
        assert.ok(target.refused(), 'the first connection was refused');
        assert.strictEqual(outcome, 'GUARD_UNAVAILABLE');
        // The simulator is up again: a resend would have reached it.
        await target.up();
        assert.deepStrictEqual(target.simulator().stats.logins, [], 'no login was sent after the lease ran out');
    });

    it("SmartServer's 423 → newPassword login is not written once the lease ran out after the 423", async () => {
        const sim = new SmartServerSimulator({ tls: false });
        await sim.start();
        cleanups.push(() => sim.stop());
        sim.setUser('expired', { password: PASSWORD, state: 'passwordExpired' });
        // The lease runs out as the 423 comes back, before the adapter sends the new password.
        const watch = ({ response }: { request: ClientRequest; response: IncomingMessage }): void => {
            if (response.statusCode === 423) ahead += LEASE_RAN_OUT_MS;
        };
        diagnostics.subscribe('http.client.response.finish', watch as (message: unknown) => void);
        cleanups.push(() => void diagnostics.unsubscribe('http.client.response.finish', watch as (message: unknown) => void));
        const outcome = await login(manager(sim.origin, sharedStore()), { username: 'expired', password: PASSWORD, newPassword: NEW_PASSWORD });
        assert.strictEqual(outcome, 'GUARD_UNAVAILABLE');
        const logins = sim.stats.logins.map((entry) => ({ status: entry.status, newPassword: entry.newPassword }));
        assert.deepStrictEqual(logins, [{ status: 423, newPassword: undefined }], 'only the first login was sent; the new password never');
    });

    it('control: with its lease live, the 423 → newPassword login is sent', async () => {
        const sim = new SmartServerSimulator({ tls: false });
        await sim.start();
        cleanups.push(() => sim.stop());
        sim.setUser('expired', { password: PASSWORD, state: 'passwordExpired' });
        const outcome = await login(manager(sim.origin, sharedStore()), { username: 'expired', password: PASSWORD, newPassword: NEW_PASSWORD });
        assert.strictEqual(outcome, 'ok');
        assert.deepStrictEqual(
            sim.stats.logins.map((entry) => entry.newPassword),
            [undefined, NEW_PASSWORD],
        );
    });
});

/**
 * The login guard's invariant for a fleet, model-based: two or three instances in this process
 * (each its own session manager, its own embedded guard store and its own connection to one real
 * redis-server through the Redis store), random sequences of concurrent logins with random passwords
 * on random instances, server behaviours (reject, hang past the timeout, reset, 503, 429, lock),
 * instance restarts that lose their embedded guard (only the shared one remembers), and sessions the
 * server ends, with `share: guard` or `share: session`. After every step, from the SmartServer
 * simulator's own login log: at most 3 failed-or-unknown attempts since the last success, no
 * rejected password resent before a success, the account never locked, and with `share: session` no
 * second accepted login while the fleet's session is alive. The instances are in-process (processes
 * would make each sequence take seconds); test/e2e/fleet.spec.ts proves the same with processes.
 *
 * `npm test` runs FLEET_MODEL_RUNS (default 12; a login left unanswered holds its account's lease for seconds) sequences.
 */
import assert from 'node:assert';

import fc from 'fast-check';

import { HttpClient } from '../../src/lib/http/http-client';
import { LoginGuard } from '../../src/lib/session/login-guard';
import { ServerTransport } from '../../src/lib/session/server-transport';
import { SessionManager } from '../../src/lib/session/session-manager';
import type { ShareMode } from '../../src/lib/session/shared-account';
import { LedgerStore } from '../../src/lib/store/ledger-store';
import { createRedisStore, RedisStore } from '../../src/lib/store/redis';
import { configuredAdapter, vendorAdapter } from '../../src/lib/vendors';
import type { ServerSettings } from '../../src/lib/vendors/adapter';
import { LoginBehaviour, SmartServerSimulator } from '../simulators/smartserver';
import { RedisServer } from '../support/redis-server';

const RIGHT = 'Right-Passw0rd!x';
const PASSWORDS = [RIGHT, RIGHT, 'wrong-1', 'wrong-2', 'wrong-3'];
const TIMEOUT_MS = 300;
const POLICY = { coolDownMs: 5 * 60_000, maxFailedLogins: 3, failureWindowMs: 30 * 60_000 };
const RUNS = Number(process.env.FLEET_MODEL_RUNS) || 12;
const SHARED_KEY = 'model-shared-key-0123456789-abcdefghij';

type Step =
    | { kind: 'logins'; attempts: { instance: number; password: string }[] }
    | { kind: 'server'; behaviour: LoginBehaviour }
    | { kind: 'restart'; instance: number }
    | { kind: 'expire' };

const behaviour = fc.constantFrom<LoginBehaviour>(
    { kind: 'hang' },
    { kind: 'reset' },
    { kind: 'status', status: 503 },
    { kind: 'status', status: 429, headers: { 'Retry-After': '90' } },
    { kind: 'lock', waitMs: 600_000 },
);
const step = (instances: number): fc.Arbitrary<Step> =>
    fc.oneof(
        {
            weight: 4,
            arbitrary: fc
                .array(fc.record({ instance: fc.nat(instances - 1), password: fc.constantFrom(...PASSWORDS) }), { minLength: 1, maxLength: 4 })
                .map((attempts): Step => ({ kind: 'logins', attempts })),
        },
        { weight: 2, arbitrary: behaviour.map((b): Step => ({ kind: 'server', behaviour: b })) },
        { weight: 1, arbitrary: fc.nat(instances - 1).map((instance): Step => ({ kind: 'restart', instance })) },
        { weight: 1, arbitrary: fc.constant<Step>({ kind: 'expire' }) },
    );
const scenario = fc
    .tuple(fc.constantFrom(2, 3), fc.constantFrom<ShareMode>('guard', 'session'))
    .chain(([instances, share]) => fc.tuple(fc.constant(instances), fc.constant(share), fc.array(step(instances), { minLength: 1, maxLength: 6 })));

/** One Node-RED instance as far as the guard is concerned: its manager, embedded guard and Redis connection. */
class Instance {
    readonly store: RedisStore;
    readonly manager: SessionManager;

    constructor(redis: RedisServer, sim: SmartServerSimulator, share: ShareMode, prefix: string) {
        const settings: ServerSettings = { vendor: 'smartserver', baseUrl: sim.origin, requestTimeoutMs: TIMEOUT_MS };
        const adapter = configuredAdapter(vendorAdapter('smartserver'), settings);
        this.store = createRedisStore({ url: redis.url, sharedKey: SHARED_KEY, keyPrefix: prefix });
        this.manager = new SessionManager({
            serverId: 'srv',
            adapter,
            transport: new ServerTransport({ settings, adapter, http: new HttpClient({ maxResponseBytes: 1 << 20, maxSockets: 9 }), maxConnections: 8 }),
            guard: new LoginGuard(POLICY, new LedgerStore()),
            shared: { store: this.store, share, policy: POLICY },
        });
    }

    async login(user: string, password: string): Promise<string> {
        const { session } = this.manager.sessionForCredentials({ username: user, password });
        try {
            await this.manager.login(session, false);
            return 'ok';
        } catch (error) {
            return (error as { code?: string }).code ?? 'ERROR';
        }
    }

    /** A stop without logouts (as a crash would leave it): the embedded guard is lost with it. */
    async stop(): Promise<void> {
        await this.manager.close(false, 1000);
        await this.store.close();
    }
}

describe('login guard, model-based, a fleet of instances on one real Redis', function () {
    this.timeout(600000);
    let redis: RedisServer;
    let sim: SmartServerSimulator;
    let sequence = 0;

    before(async () => {
        redis = await RedisServer.start();
        sim = new SmartServerSimulator({ tls: false, lockoutThreshold: 5 });
        await sim.start();
    });
    after(async () => {
        await sim.stop();
        await redis.stop();
    });

    async function run(instanceCount: number, share: ShareMode, steps: Step[]): Promise<void> {
        const user = `model${++sequence}`;
        sim.setUser(user, { password: RIGHT });
        // The sessions of earlier sequences (stopped without logouts) must not count as this one's.
        sim.expireSessions();
        const prefix = `model-${sequence}`;
        const fleet = Array.from({ length: instanceCount }, () => new Instance(redis, sim, share, prefix));
        try {
            for (const current of steps) {
                if (current.kind === 'logins') {
                    await Promise.all(current.attempts.map((attempt) => fleet[attempt.instance].login(user, attempt.password)));
                } else if (current.kind === 'server') {
                    sim.scriptLogins(current.behaviour);
                } else if (current.kind === 'restart') {
                    await fleet[current.instance].stop();
                    fleet[current.instance] = new Instance(redis, sim, share, prefix);
                } else {
                    sim.expireSessions();
                }
                assertInvariant(user, share);
            }
        } finally {
            sim.scriptLogins();
            await Promise.all(fleet.map((instance) => instance.stop()));
        }
    }

    function assertInvariant(user: string, share: ShareMode): void {
        const logins = sim.stats.logins.filter((entry) => entry.username === user);
        let failed = 0;
        const rejected = new Set<string>();
        for (const entry of logins) {
            if (entry.outcome === 'accepted') {
                failed = 0;
                rejected.clear();
                continue;
            }
            failed++;
            assert.ok(failed <= POLICY.maxFailedLogins, `${failed} failed-or-unknown logins without a success: ${JSON.stringify(logins)}`);
            if (entry.outcome === 'rejected') {
                assert.ok(!rejected.has(entry.password), `a rejected password was resent: ${JSON.stringify(logins)}`);
                rejected.add(entry.password);
            }
        }
        assert.deepStrictEqual(
            sim.locks.filter((lock) => lock.username === user),
            [],
        );
        if (share === 'session') assert.ok(sim.liveSessions() <= 1, `${sim.liveSessions()} live sessions: the fleet shares one`);
    }

    it(`keeps the guard's invariant across two or three instances (${RUNS} random sequences)`, async function () {
        await fc.assert(
            fc.asyncProperty(scenario, ([instances, share, steps]) => run(instances, share, steps)),
            { numRuns: RUNS },
        );
    });
});

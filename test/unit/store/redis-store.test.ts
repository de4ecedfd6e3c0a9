/**
 * The Redis store's scripts against a real redis-server (test/support/redis-server.ts): charge and
 * lease, settle, the shared session's publish / invalidate-if-same / leave, fail closed when Redis is
 * gone or paused, the eviction check, and no plaintext in any key or value.
 */
import assert from 'node:assert';

import { SessionError } from '../../../src/lib/errors';
import type { ChargeTicket, GuardPolicy } from '../../../src/lib/store/guard-store';
import { HEARTBEAT_TTL_MS, SEND_WITHIN_MS, SharedAccount, SharedSessionFound } from '../../../src/lib/session/shared-account';
import { createRedisStore, RedisStore } from '../../../src/lib/store/redis';
import { RedisServer, dumpAll, withClient } from '../../support/redis-server';
import { waitFor } from '../../support/wait';

const SHARED_KEY = 'a-fleet-key-of-at-least-32-characters!';
const POLICY: GuardPolicy = { coolDownMs: 300_000, maxFailedLogins: 3, failureWindowMs: 1_800_000, leaseMs: 10_000 };
const ORIGIN = 'https://device.example:8443';
const USER = 'admin-user';
const PASSWORD = 'Secret-Passw0rd-Value';

function storeOn(redis: RedisServer, options: { commandTimeoutMs?: number; keyPrefix?: string } = {}): RedisStore {
    return createRedisStore({
        url: redis.url,
        sharedKey: SHARED_KEY,
        keyPrefix: options.keyPrefix ?? 'rest-session',
        commandTimeoutMs: options.commandTimeoutMs,
    });
}

function names(store: RedisStore, password = PASSWORD): { account: string; credential: string } {
    return { account: store.fingerprint([ORIGIN, USER]), credential: store.fingerprint([ORIGIN, USER, password]) };
}

async function granted(store: RedisStore, password = PASSWORD, policy = POLICY): Promise<ChargeTicket> {
    const { account, credential } = names(store, password);
    const result = await store.charge(account, credential, policy);
    assert.ok('granted' in result, `expected a grant, got ${JSON.stringify(result)}`);
    return result.granted;
}

async function rejects(promise: Promise<unknown>, code: string): Promise<SessionError> {
    try {
        await promise;
    } catch (error) {
        assert.ok(error instanceof SessionError, String(error));
        assert.strictEqual(error.code, code, error.message);
        return error;
    }
    assert.fail(`expected ${code}`);
}

describe('Redis store (real redis-server)', function () {
    this.timeout(30000);
    let redis: RedisServer;
    let stores: RedisStore[] = [];
    const open = (options?: { commandTimeoutMs?: number; keyPrefix?: string }): RedisStore => {
        const store = storeOn(redis, options);
        stores.push(store);
        return store;
    };

    before(async () => {
        redis = await RedisServer.start();
    });
    after(async () => {
        await redis.stop();
    });
    afterEach(async () => {
        await Promise.all(stores.map((store) => store.close()));
        stores = [];
        await redis.send('FLUSHALL');
    });

    it('grants one lease per account across instances, charges it, and a rejection cools the credential down for all', async () => {
        const a = open();
        const b = open();
        const ticket = await granted(a);
        const { account, credential } = names(b);
        const busy = await b.charge(account, credential, POLICY);
        assert.ok('busy' in busy && busy.busy.waitMs > 0 && busy.busy.waitMs <= POLICY.leaseMs, JSON.stringify(busy));
        const settled = await a.settle(ticket, { kind: 'rejected', code: 'INVALID_CREDENTIALS', statusCode: 401 });
        assert.strictEqual(settled.waitMs, POLICY.coolDownMs);
        assert.strictEqual(settled.hold?.reason, 'coolDown');
        const held = await b.charge(account, credential, POLICY);
        assert.ok('held' in held, JSON.stringify(held));
        assert.deepStrictEqual({ ...held.held, waitMs: 0 }, { reason: 'coolDown', code: 'INVALID_CREDENTIALS', statusCode: 401, waitMs: 0 });
        assert.ok(held.held.waitMs > POLICY.coolDownMs - 5000 && held.held.waitMs <= POLICY.coolDownMs);
        // Another password is not cooled down, but the charge stays in the budget.
        const other = await granted(b, 'Another-Passw0rd');
        const again = await b.settle(other, { kind: 'rejected', code: 'INVALID_CREDENTIALS', statusCode: 401 });
        assert.strictEqual(again.waitMs, POLICY.coolDownMs);
        assert.strictEqual(await redis.send(`ZCARD ${await failKey()}`), ':2\r\n');
    });

    it('doubles the cool-down of a credential rejected again after it ended', async () => {
        const a = open();
        const policy = { ...POLICY, coolDownMs: 50 };
        const first = await granted(a, PASSWORD, policy);
        assert.strictEqual((await a.settle(first, { kind: 'rejected', code: 'INVALID_CREDENTIALS' })).waitMs, 50);
        const second = await waitFor(async () => {
            const { account, credential } = names(a);
            const result = await a.charge(account, credential, policy);
            return 'granted' in result ? result.granted : undefined;
        });
        assert.strictEqual((await a.settle(second, { kind: 'rejected', code: 'INVALID_CREDENTIALS' })).waitMs, 100);
    });

    it('holds every login once the budget is spent, with the code of the last counted failure; a success clears it', async () => {
        const a = open();
        const b = open();
        for (const code of ['TIMEOUT', 'SERVER_ERROR', 'TIMEOUT'] as const) {
            const ticket = await granted(code === 'SERVER_ERROR' ? b : a, `pw-${code}-${Math.random()}`);
            await (code === 'SERVER_ERROR' ? b : a).settle(ticket, { kind: 'unknown', code, statusCode: code === 'SERVER_ERROR' ? 503 : undefined });
            // An unknown outcome leaves the lease to run out: the server may still be reading that login.
            await redis.send(`DEL ${await leaseKey()}`);
        }
        const { account, credential } = names(b, 'a-fresh-password');
        const held = await b.charge(account, credential, POLICY);
        assert.ok('held' in held && held.held.reason === 'budget', JSON.stringify(held));
        assert.strictEqual(held.held.failures, 3);
        assert.ok(held.held.waitMs > POLICY.failureWindowMs - 5000);
        // Refunds: a login that never left the process costs nothing.
        const fail = await failKey();
        await withClient(redis, (client) => client.zpopmax(fail));
        const ticket = await granted(a, 'x');
        await a.settle(ticket, { kind: 'notSent' });
        const next = await granted(a, 'y');
        const cleared = await a.settle(next, { kind: 'success' });
        assert.deepStrictEqual(cleared, {});
        assert.strictEqual(await redis.send(`EXISTS ${await failKey()}`), ':0\r\n');
    });

    it('a server block holds every credential of the account, for the time the server gave (capped)', async () => {
        const a = open();
        const ticket = await granted(a);
        const settled = await a.settle(ticket, { kind: 'blocked', code: 'RATE_LIMITED', statusCode: 429, waitMs: 120_000 });
        assert.strictEqual(settled.waitMs, 120_000);
        const { account, credential } = names(a, 'any-other-password');
        const held = await a.charge(account, credential, POLICY);
        assert.ok('held' in held && held.held.reason === 'block' && held.held.code === 'RATE_LIMITED' && held.held.statusCode === 429, JSON.stringify(held));
        await redis.send('FLUSHALL');
        const next = await granted(a);
        const capped = await a.settle(next, { kind: 'blocked', code: 'LOCKED_OUT', statusCode: 429, waitMs: 10 * 365 * 86_400_000 });
        assert.strictEqual(capped.waitMs, 24 * 3600_000);
    });

    it('the lease runs out by the Redis clock and is never extended', async () => {
        const a = open();
        const b = open();
        const short = { ...POLICY, leaseMs: 200 };
        await granted(a, PASSWORD, short);
        // Another credential: the unsettled attempt holds only its own (in doubt).
        const { account, credential } = names(b, 'Another-Passw0rd');
        const after = await waitFor(async () => {
            const result = await b.charge(account, credential, short);
            return 'granted' in result ? result.granted : undefined;
        });
        assert.ok(b.fenceOf(after) > 0);
    });

    it('an attempt nobody settled (its holder died) holds its credential for one cool-down once the lease ran out', async () => {
        const a = open();
        const b = open();
        const short = { ...POLICY, leaseMs: 100 };
        await granted(a, PASSWORD, short);
        const { account, credential } = names(b);
        const held = await waitFor(async () => {
            const result = await b.charge(account, credential, short);
            return 'held' in result ? result.held : undefined;
        });
        assert.strictEqual(held.reason, 'inDoubt');
        assert.strictEqual(held.code, 'TIMEOUT');
        assert.ok(held.waitMs > POLICY.coolDownMs - 5000 && held.waitMs <= POLICY.coolDownMs);
        // Another password is not in doubt; the unsettled attempt still counts in the budget.
        const other = await granted(b, 'Another-Passw0rd', short);
        assert.ok(other);
        assert.strictEqual(await withClient(redis, async (client) => client.zcard(await failKey())), 2);
    });

    it('share session: publishes the credential for the fleet, hands the newer one out, and invalidates only the same one', async () => {
        const a = open();
        const b = open();
        const ticket = await granted(a);
        assert.strictEqual(await a.publishSession(ticket, JSON.stringify({ cookie: 'cmsSID=abc' }), 60_000), true);
        await a.settle(ticket, { kind: 'success' });
        const { account, credential } = names(b);
        const adopted = await b.chargeOrAdopt(account, credential, POLICY, 0);
        assert.ok('session' in adopted, JSON.stringify(adopted));
        assert.strictEqual(adopted.session.value, JSON.stringify({ cookie: 'cmsSID=abc' }));
        assert.strictEqual(adopted.session.fence, a.fenceOf(ticket));
        // Holding that one already: nothing newer, so a login is granted (after a refusal, say).
        assert.strictEqual(await b.invalidateSession({ account, credential }, adopted.session.fence - 1), false);
        assert.strictEqual(await b.invalidateSession({ account, credential }, adopted.session.fence), true);
        const relogin = await b.chargeOrAdopt(account, credential, POLICY, adopted.session.fence);
        assert.ok('granted' in relogin, JSON.stringify(relogin));
        // A late publish of an older login is superseded.
        assert.strictEqual(await b.publishSession(relogin.granted, 'new', 60_000), true);
        assert.strictEqual(await a.publishSession(ticket, 'old', 60_000), false);
    });

    it('share session: a shared session is used only with the credential that made it; another password is charged, and logs in itself', async () => {
        const a = open();
        const b = open();
        const ticket = await granted(a);
        await a.publishSession(ticket, 'the-fleet-credential', 60_000);
        await a.settle(ticket, { kind: 'success' });
        const other = names(b, 'Another-Passw0rd');
        const charged = await b.chargeOrAdopt(other.account, other.credential, POLICY, 0);
        assert.ok('granted' in charged, `another password gets no session, it is charged: ${JSON.stringify(charged)}`);
        await b.settle(charged.granted, { kind: 'rejected', code: 'INVALID_CREDENTIALS' });
        // The fleet's session is still there for its own credential, and the refusal of the other one did not end it.
        const same = names(b);
        const adopted = await b.chargeOrAdopt(same.account, same.credential, POLICY, 0);
        assert.ok('session' in adopted && adopted.session.value === 'the-fleet-credential', JSON.stringify(adopted));
        // A refusal seen with the other credential's session leaves the fleet's alone.
        assert.strictEqual(await b.invalidateSession(other, a.fenceOf(ticket)), false);
        assert.ok('session' in (await b.chargeOrAdopt(same.account, same.credential, POLICY, 0)));
    });

    it('only the last instance that leaves logs the shared session out', async () => {
        const [a, b, c] = [open(), open(), open()];
        const ticket = await granted(a);
        await a.publishSession(ticket, 'credential', 60_000);
        await a.settle(ticket, { kind: 'success' });
        const key = names(a);
        const { account, credential } = key;
        for (const store of [a, b]) await store.heartbeat(key, 30_000);
        // An instance with another password uses a session of its own: its heartbeat keeps none of this one.
        await c.heartbeat(names(c, 'Another-Passw0rd'), 30_000);
        assert.strictEqual((await a.leave(key, 5000)).logout, false);
        const last = await b.leave(key, 5000);
        assert.strictEqual(last.logout, true);
        assert.strictEqual(await redis.send(`EXISTS ${await sessionKey()}`), ':0\r\n');
        // It holds the lease while it logs out: nobody logs in meanwhile.
        assert.ok('busy' in (await a.charge(account, credential, POLICY)));
        if (last.logout) await last.release();
        assert.ok('granted' in (await a.charge(account, credential, POLICY)));
    });

    it('keeps grant records encrypted', async () => {
        const a = open();
        const b = open();
        await a.writeGrant('grant-of-admin', JSON.stringify({ refreshToken: 'refresh-token-value-123' }));
        assert.strictEqual(await b.readGrant('grant-of-admin'), JSON.stringify({ refreshToken: 'refresh-token-value-123' }));
        await b.writeGrant('grant-of-admin', undefined);
        assert.strictEqual(await a.readGrant('grant-of-admin'), undefined);
    });

    it("a grant's lease is one holder's across instances, for its time only, released by its holder alone", async () => {
        const a = open();
        const b = open();
        const first = await a.leaseGrant('grant-of-admin', 10_000);
        assert.ok('granted' in first, JSON.stringify(first));
        const busy = await b.leaseGrant('grant-of-admin', 10_000);
        assert.ok('busy' in busy && busy.busy.waitMs > 0 && busy.busy.waitMs <= 10_000, JSON.stringify(busy));
        // Another grant is not held by it.
        assert.ok('granted' in (await b.leaseGrant('grant-of-other', 10_000)));
        await first.granted.release();
        const second = await b.leaseGrant('grant-of-admin', 50);
        assert.ok('granted' in second);
        // Never extended: it runs out by itself, and its late release does not free a new holder's turn.
        const third = await waitFor(async () => {
            const result = await a.leaseGrant('grant-of-admin', 10_000);
            return 'granted' in result ? result : undefined;
        });
        await second.granted.release();
        assert.ok('busy' in (await b.leaseGrant('grant-of-admin', 10_000)), 'the late release left the new holder its turn');
        await third.granted.release();
    });

    it("a lease holder's grant write is fenced: written while it holds the lease, or over what it started from; refused over a newer record", async () => {
        const a = open();
        const b = open();
        const first = await a.leaseGrant('grant-of-fenced', 50);
        assert.ok('granted' in first);
        await b.writeGrant('grant-of-fenced', 'written meanwhile');
        assert.strictEqual(await first.granted.write(undefined, 'while held'), true, 'the holder writes over anything');
        // Its lease runs out and the next holder stores a newer record.
        const second = await waitFor(async () => {
            const result = await b.leaseGrant('grant-of-fenced', 10_000);
            return 'granted' in result ? result : undefined;
        });
        assert.strictEqual(await first.granted.write('while held', 'late but unchanged'), true, 'nobody wrote since: the late write stands');
        assert.strictEqual(await second.granted.write('late but unchanged', 'newer chain'), true);
        assert.strictEqual(await first.granted.write('late but unchanged', 'late over newer'), false, 'refused over the newer record');
        assert.strictEqual(await b.readGrant('grant-of-fenced'), 'newer chain');
        await second.granted.release();
    });

    it('replaces a grant only if it still holds what was read (a dead grant never overwrites tokens stored meanwhile)', async () => {
        const a = open();
        const b = open();
        assert.strictEqual(await a.replaceGrant('grant-of-admin', undefined, 'first'), true, 'nothing stored: replaced');
        await b.writeGrant('grant-of-admin', 'newer');
        assert.strictEqual(await a.replaceGrant('grant-of-admin', 'first', 'dead'), false);
        assert.strictEqual(await a.readGrant('grant-of-admin'), 'newer');
        assert.strictEqual(await a.replaceGrant('grant-of-admin', 'newer', 'dead'), true);
        assert.strictEqual(await b.readGrant('grant-of-admin'), 'dead');
    });

    it('no key or value holds a user, host, password, cookie or token in clear', async () => {
        const a = open();
        const ticket = await granted(a);
        await a.publishSession(ticket, JSON.stringify({ cookie: 'cmsSID=cookie-value-42', user: USER, host: ORIGIN }), 60_000);
        await a.settle(ticket, { kind: 'success' });
        const rejected = await granted(a, 'Other-Secret-Passw0rd');
        await a.settle(rejected, { kind: 'rejected', code: 'INVALID_CREDENTIALS' });
        await a.heartbeat(names(a), 30_000);
        await a.writeGrant(`${ORIGIN} ${USER}`, JSON.stringify({ accessToken: 'access-token-value-77' }));
        const dump = await dumpAll(redis);
        assert.ok(dump.length > 200, dump);
        for (const secret of [USER, 'device.example', PASSWORD, 'Other-Secret', 'cookie-value-42', 'cmsSID', 'access-token-value-77']) {
            assert.ok(!dump.includes(secret), `"${secret}" found in Redis`);
        }
    });

    it('fails closed with GUARD_UNAVAILABLE, fast, when Redis is gone or hangs, and works again once it is back', async () => {
        const a = open({ commandTimeoutMs: 500 });
        await granted(a);
        await redis.send('FLUSHALL');
        redis.pause();
        try {
            const started = Date.now();
            const { account, credential } = names(a);
            const error = await rejects(a.charge(account, credential, POLICY), 'GUARD_UNAVAILABLE');
            assert.match(error.message, /redis:\/\/127\.0\.0\.1:\d+ is unreachable: not logging in/);
            assert.ok(Date.now() - started < 5000);
        } finally {
            redis.resume();
        }
        await redis.kill();
        const { account, credential } = names(a);
        await rejects(a.charge(account, credential, POLICY), 'GUARD_UNAVAILABLE');
        await redis.restart();
        await waitFor(async () => 'granted' in (await a.charge(account, credential, POLICY).catch(() => ({}))), { timeoutMs: 15000, intervalMs: 100 });
    });

    it('refuses a Redis whose maxmemory-policy evicts keys (CONFIG, naming the setting)', async () => {
        await redis.send('CONFIG SET maxmemory-policy allkeys-lru');
        try {
            const a = open();
            const { account, credential } = names(a);
            const error = await rejects(a.charge(account, credential, POLICY), 'CONFIG');
            assert.match(error.message, /maxmemory-policy allkeys-lru/);
        } finally {
            await redis.send('CONFIG SET maxmemory-policy noeviction');
        }
    });

    it("a session's view of the store keeps grant records there too, and names the store", async () => {
        const store = createRedisStore({ url: redis.url, sharedKey: SHARED_KEY, keyPrefix: 'view' });
        stores.push(store);
        const view = new SharedAccount({ store, share: 'session', policy: POLICY }, 500);
        assert.strictEqual(view.location, redis.url);
        assert.strictEqual(view.fingerprint(['a']), store.fingerprint(['a']));
        await view.writeGrant('grant', 'tokens');
        assert.strictEqual(await view.readGrant('grant'), 'tokens');
        await view.close();
    });

    it("share session through a session's view: published under its lease, found by the others, kept by heartbeats, invalidated by its fence only, logged out by the last to leave", async () => {
        const link = (store: RedisStore) => ({ store, share: 'session' as const, policy: POLICY });
        const [storeA, storeB] = [open(), open()];
        await storeA.check();
        const a = new SharedAccount(link(storeA), 500);
        const b = new SharedAccount(link(storeB), 500);
        const { account, credential } = names(storeA);
        const charged = await a.charge(account, credential, { ...POLICY, leaseMs: SEND_WITHIN_MS });
        assert.ok('granted' in charged, JSON.stringify(charged));
        a.assertTurn();
        const fence = await a.publish('the-credential', 60_000);
        assert.strictEqual(fence, storeA.fenceOf(charged.granted));
        await a.settle(charged.granted, { kind: 'success' });
        // B sends nothing: it finds the fleet's session instead of a charge.
        const found = await b.charge(account, credential, POLICY).then(
            () => undefined,
            (error: unknown) => error,
        );
        assert.ok(found instanceof SharedSessionFound && found.record.value === 'the-credential' && found.record.fence === fence, String(found));
        b.held(found.record.fence);
        const usersKey = await keyEnding(':users');
        await waitFor(async () => (await withClient(redis, (client) => client.zcard(usersKey))) === 2, { message: 'both heartbeats' });
        assert.ok(Number(await withClient(redis, (client) => client.pttl(usersKey))) <= HEARTBEAT_TTL_MS);
        // A refusal of an older credential leaves this one alone; the last instance to leave logs it out.
        await b.invalidate(fence - 1);
        assert.strictEqual(await redis.send(`EXISTS ${await sessionKey()}`), ':1\r\n');
        const logouts: string[] = [];
        await a.leave(async () => void logouts.push('a'));
        assert.strictEqual(logouts.length, 0, 'B still uses it');
        await b.leave(async () => void logouts.push('b'));
        assert.deepStrictEqual(logouts, ['b']);
        assert.strictEqual(await redis.send(`EXISTS ${await sessionKey()}`), ':0\r\n');
        for (const view of [a, b]) await view.close();
    });

    it("a login's every write checks its lease by the Redis clock: refused once the lease is gone or another instance holds it", async () => {
        const store = open();
        await store.check();
        const holder = new SharedAccount({ store, share: 'guard', policy: POLICY }, 500);
        const { account, credential } = names(store);
        const leaseOf = async (): Promise<string> => keyEnding(':lease');
        const first = await holder.charge(account, credential, POLICY);
        assert.ok('granted' in first, JSON.stringify(first));
        await holder.assertLease();
        // Another instance took the account's lease (this one's ran out and was granted anew): not written.
        await redis.send(`SET ${await leaseOf()} other-instance:attempt PX 60000`);
        await assert.rejects(holder.assertLease(), (error: SessionError) => error.code === 'GUARD_UNAVAILABLE' && /turn to log in ran out/.test(error.message));
        await holder.settle(first.granted, { kind: 'notSent' });
        // The lease has less left by the Redis clock than one exchange needs: not written either.
        await redis.send(`DEL ${await leaseOf()}`);
        const second = await holder.charge(account, credential, POLICY);
        assert.ok('granted' in second, JSON.stringify(second));
        await redis.send(`PEXPIRE ${await leaseOf()} 400`);
        await assert.rejects(holder.assertLease(), (error: SessionError) => error.code === 'GUARD_UNAVAILABLE');
        await holder.close();
    });

    it('a short shared key is CONFIG', () => {
        assert.throws(() => createRedisStore({ url: redis.url, sharedKey: 'short', keyPrefix: 'p' }), /at least 32 characters/);
    });

    async function keyEnding(suffix: string): Promise<string> {
        const keys = await withClient(redis, (client) => client.keys(`*${suffix}`));
        return keys[0] ?? `none-${suffix}`;
    }
    const failKey = (): Promise<string> => keyEnding(':fail');
    const leaseKey = (): Promise<string> => keyEnding(':lease');
    const sessionKey = (): Promise<string> => keyEnding(':sess');
});

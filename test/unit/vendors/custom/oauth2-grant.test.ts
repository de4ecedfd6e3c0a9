/**
 * The refresh rules of the OAuth2 grants as a model: any sequence of messages (alone or several at
 * once, fresh or after a refusal), expiries, lost replies, grace periods, revocations and restarts
 * against a provider that rotates its refresh tokens. After every step: a refresh token whose
 * successor reached the client is never sent again; a dead grant sends nothing more; no login
 * makes more than two token requests; the store never holds a token the provider gave up without
 * the grant being marked dead or the chain's last reply having been lost.
 */
import assert from 'node:assert';

import fc from 'fast-check';
import sinon from 'sinon';

import { SessionError } from '../../../../src/lib/errors';
import type { HttpResponse } from '../../../../src/lib/http/http-client';
import { GrantVault, MemoryGrantVault, createGrantRuntime } from '../../../../src/lib/node-red/grant-runtime';
import type { GrantRuntime, LoginResult, VendorContext, VendorExchange } from '../../../../src/lib/vendors/adapter';
import { grantLogin } from '../../../../src/lib/vendors/custom/oauth2/grant';
import { customSettings } from '../../../../src/lib/vendors/custom/settings';
import { parseSettings } from '../../../../src/lib/vendors/settings';
import { createRedisStore, RedisStore } from '../../../../src/lib/store/redis';
import { RedisServer, withClient } from '../../../support/redis-server';
import { deferred, waitFor } from '../../../support/wait';

const HOUR = 3600_000;

/** A token endpoint that rotates: each refresh kills the presented token (after `graceMs`) and issues a new one. */
class Provider {
    private next = 1;
    /** refresh token → when it dies (Infinity: alive). */
    readonly refresh = new Map<string, number>();
    /** Tokens whose successor's reply reached the client, with the index of that presentation: they must never come back. */
    readonly superseded = new Map<string, number>();
    readonly presented: string[] = [];
    graceMs = 0;
    loseNext = false;
    revoked = false;

    issueRefresh(): string {
        const token = `rt${this.next++}`;
        this.refresh.set(token, Infinity);
        return token;
    }

    answer(form: URLSearchParams): HttpResponse | 'lost' {
        const presented = form.get('refresh_token') ?? '';
        this.presented.push(presented);
        const diesAt = this.refresh.get(presented);
        if (this.revoked || diesAt === undefined || diesAt <= Date.now()) return reply(400, { error: 'invalid_grant' });
        this.refresh.set(presented, Math.min(diesAt, Date.now() + this.graceMs));
        const fresh = this.issueRefresh();
        const body = { access_token: `at${this.next++}`, token_type: 'Bearer', expires_in: 3600, refresh_token: fresh };
        if (this.loseNext) {
            this.loseNext = false;
            return 'lost';
        }
        this.superseded.set(presented, this.presented.length - 1);
        return reply(200, body);
    }
}

function reply(status: number, body: unknown): HttpResponse {
    return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)), url: 'http://provider/token', redirects: [] };
}

type Step =
    | { kind: 'msgs'; count: number; refused: boolean }
    | { kind: 'tick'; ms: number }
    | { kind: 'lose' }
    | { kind: 'grace'; ms: number }
    | { kind: 'revoke' }
    | { kind: 'restart' };

const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('msgs' as const), count: fc.integer({ min: 1, max: 3 }), refused: fc.boolean() }) },
    { weight: 2, arbitrary: fc.constantFrom(HOUR, HOUR / 2, 55 * 60_000).map((ms): Step => ({ kind: 'tick', ms })) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'lose' }) },
    { weight: 1, arbitrary: fc.constantFrom(0, 60_000).map((ms): Step => ({ kind: 'grace', ms })) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'revoke' }) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'restart' }) },
);

const SETTINGS = {
    ...parseSettings(customSettings, { grant: 'refresh_token', tokenPath: '/token' }),
    vendor: 'custom',
    baseUrl: 'http://api',
    requestTimeoutMs: 1000,
};

/** A grant's context whose token endpoint is `provider`; `before` runs ahead of each answer (a slow provider). */
function contextOf(provider: Provider, runtime: GrantRuntime, before?: () => Promise<void>): VendorContext {
    return {
        settings: SETTINGS,
        grant: runtime,
        send: async (exchange: VendorExchange) => {
            await before?.();
            const answer = provider.answer(new URLSearchParams(String(exchange.body)));
            if (answer === 'lost') throw new SessionError('NETWORK', 'reset after the request was sent', { transportCode: 'ECONNRESET' });
            return answer;
        },
    };
}

/** Runs are told apart in a shared store by their binding. */
let runs = 0;

/**
 * One sequence against one provider. Each vault is one instance (its own store connection and lease
 * queue); with several over one shared store, msgs are spread over them like a fleet's.
 */
async function run(steps: Step[], vaults: GrantVault[] = [new MemoryGrantVault()]): Promise<void> {
    const provider = new Provider();
    const pasted = provider.issueRefresh();
    const binding = ['node', `client-${++runs}`];
    const start = (vault: GrantVault) => createGrantRuntime({ vault, binding, onChanged: () => undefined });
    let runtimes: Array<GrantRuntime & { close(): void }> = vaults.map(start);
    const context = (runtime: GrantRuntime): VendorContext => contextOf(provider, runtime);
    const lives: Array<LoginResult | undefined> = vaults.map(() => undefined);
    let dead = false;
    const credentials = { username: 'client', password: 'secret', refreshToken: pasted };

    for (const current of steps) {
        if (current.kind === 'tick') sinon.clock.tick(current.ms);
        else if (current.kind === 'lose') provider.loseNext = true;
        else if (current.kind === 'grace') provider.graceMs = current.ms;
        else if (current.kind === 'revoke') provider.revoked = true;
        else if (current.kind === 'restart') {
            for (const runtime of runtimes) runtime.close();
            runtimes = vaults.map(start);
            lives.fill(undefined);
        } else {
            const sentBefore = provider.presented.length;
            // Several msgs at once: the session shares one login; several instances share the store's lease.
            const outcomes = await Promise.allSettled(
                Array.from({ length: current.count }, (_, i) => {
                    const at = i % runtimes.length;
                    const live = lives[at];
                    const replacing = current.refused && live?.header ? { jar: undefined as never, header: live.header } : undefined;
                    return grantLogin(context(runtimes[at]), credentials, replacing).then((result) => ({ at, result }));
                }),
            );
            const sent = provider.presented.length - sentBefore;
            assert.ok(sent <= 2 * current.count, `at most two token requests per login (${sent})`);
            if (dead) assert.strictEqual(sent, 0, 'a dead grant sends nothing');
            for (const outcome of outcomes) {
                if (outcome.status === 'fulfilled') lives[outcome.value.at] = outcome.value.result;
                else if ((outcome.reason as SessionError).code === 'AUTHORIZATION_REQUIRED') dead = true;
                else assert.strictEqual((outcome.reason as SessionError).code, 'NETWORK');
            }
        }
        // A refresh token whose successor reached the client is never presented after that.
        const seen = new Map<string, number>();
        provider.presented.forEach((token, index) => seen.set(token, index));
        for (const [token, answered] of provider.superseded) {
            assert.strictEqual(seen.get(token), answered, `${token} was sent again after its successor arrived`);
        }
        const stored = await runtimes[0].store.read();
        if (stored && !stored.dead && stored.refreshToken) {
            assert.ok(provider.refresh.has(stored.refreshToken), 'the store holds a token the provider issued');
        }
    }
    for (const runtime of runtimes) runtime.close();
}

describe('OAuth2 refresh rules (model)', function () {
    beforeEach(() => sinon.useFakeTimers({ now: 1_800_000_000_000, toFake: ['Date'] }));
    afterEach(() => sinon.restore());

    it('hold for any sequence of messages, expiries, lost replies, grace periods, revocations and restarts', async function () {
        await fc.assert(
            fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => run(steps)),
            { numRuns: Number(process.env.MODEL_RUNS ?? 300) },
        );
    });

    it('a rotation the store did not confirm is not used, and is saved first once the store answers: the chain lives on', async function () {
        const provider = new Provider();
        const pasted = provider.issueRefresh();
        let failingWrites = 1;
        const vault = new (class extends MemoryGrantVault {
            override writeGrant(key: string, value: string | undefined): Promise<void> {
                if (failingWrites-- > 0) return Promise.reject(new SessionError('GUARD_UNAVAILABLE', 'the store went away'));
                return super.writeGrant(key, value);
            }
        })();
        const runtime = createGrantRuntime({ vault, binding: ['node', `client-${++runs}`], onChanged: () => undefined });
        const credentials = { username: 'client', password: 'secret', refreshToken: pasted };
        await assert.rejects(grantLogin(contextOf(provider, runtime), credentials, undefined), { code: 'GUARD_UNAVAILABLE' });
        const result = await grantLogin(contextOf(provider, runtime), credentials, undefined);
        assert.deepStrictEqual(provider.presented, [pasted], 'one refresh: the rotation was saved, not redone with the dead token');
        assert.strictEqual(result.header?.token, 'at3');
        assert.strictEqual((await runtime.store.read())?.refreshToken, 'rt2');
        runtime.close();
    });

    it('a device code another instance polls is shown, not replaced; once its poller is gone, the next msg starts a new one', async function () {
        const runtime = createGrantRuntime({ vault: new MemoryGrantVault(), binding: ['node', `client-${++runs}`], onChanged: () => undefined });
        const starts: string[] = [];
        const context: VendorContext = {
            settings: { ...SETTINGS, ...parseSettings(customSettings, { grant: 'device_code', tokenPath: '/token', deviceAuthorizationPath: '/device' }) },
            grant: runtime,
            send: async (exchange: VendorExchange) => {
                starts.push(String(exchange.url));
                return reply(200, {
                    device_code: 'dc-new',
                    user_code: 'NEWC-ODE1',
                    verification_uri: 'https://provider/device',
                    interval: 3600,
                    expires_in: 600,
                });
            },
        };
        const prompt = { userCode: 'OLDC-ODE1', verificationUri: 'https://provider/device', expiresAt: Date.now() + 600_000 };
        const credentials = { username: 'client', password: 'secret' };
        await runtime.store.write({ expiresAt: null, obtainedAt: 0, device: { prompt, outcome: 'waiting', polledUntil: Date.now() + 20_000 } });
        await assert.rejects(grantLogin(context, credentials, undefined), (error: SessionError) => /enter OLDC-ODE1/.test(error.message));
        assert.deepStrictEqual(starts, [], 'no second device authorization while another instance polls');
        sinon.clock.tick(21_000);
        await assert.rejects(grantLogin(context, credentials, undefined), (error: SessionError) => /enter NEWC-ODE1/.test(error.message));
        assert.strictEqual(starts.length, 1, 'its poller gone, one new device authorization');
        assert.strictEqual((await runtime.store.read())?.device?.prompt.userCode, 'NEWC-ODE1', 'the fleet sees the new code');
        runtime.close();
    });

    it('regression: a lost reply, then a refused token: one retry with the old token, then a dead grant', async function () {
        await run([
            { kind: 'msgs', count: 1, refused: false },
            { kind: 'lose' },
            { kind: 'tick', ms: HOUR },
            { kind: 'msgs', count: 2, refused: false },
            { kind: 'msgs', count: 1, refused: true },
        ]);
    });
});

describe('OAuth2 refresh rules of a fleet (model, two instances on one real redis-server)', function () {
    this.timeout(120_000);
    let redis: RedisServer;
    let stores: RedisStore[] = [];

    before(async function () {
        redis = await RedisServer.start();
        // Two instances: each its own connection, its own instance id (lease holder) and its own lease queue.
        stores = [0, 1].map(() => createRedisStore({ url: redis.url, sharedKey: 'an-oauth2-fleet-key-of-32-characters!', keyPrefix: 'model' }));
    });
    after(async function () {
        await Promise.all(stores.map((store) => store.close()));
        await redis?.stop();
    });
    beforeEach(() => sinon.useFakeTimers({ now: 1_800_000_000_000, toFake: ['Date'] }));
    afterEach(() => sinon.restore());

    const credentials = (refreshToken: string) => ({ username: 'client', password: 'secret', refreshToken });
    const runtimeOn = (store: GrantVault, binding: string[], turnMs?: number) =>
        createGrantRuntime({ vault: store, binding, turnMs, onChanged: () => undefined });

    it("one refresh for two instances: the second waits for the first one's turn and takes its tokens from Redis", async function () {
        const provider = new Provider();
        const pasted = provider.issueRefresh();
        const binding = ['node', `client-${++runs}`];
        // b's view of the store counts how often it found the grant's turn taken.
        let busy = 0;
        const store = stores[1];
        const watched: GrantVault = {
            fingerprint: (parts) => store.fingerprint(parts),
            readGrant: (key) => store.readGrant(key),
            writeGrant: (key, value) => store.writeGrant(key, value),
            replaceGrant: (key, expected, value) => store.replaceGrant(key, expected, value),
            leaseGrant: async (key, ms) => {
                const result = await store.leaseGrant(key, ms);
                if ('busy' in result) busy++;
                return result;
            },
        };
        const a = runtimeOn(stores[0], binding);
        const b = createGrantRuntime({ vault: watched, binding, onChanged: () => undefined });
        const gate = deferred();
        let sending = false;
        const first = grantLogin(
            contextOf(provider, a, async () => {
                sending = true;
                await gate.promise;
            }),
            credentials(pasted),
            undefined,
        );
        await waitFor(() => sending);
        const second = grantLogin(contextOf(provider, b), credentials(pasted), undefined);
        // b waits for a's turn while a's refresh is on the wire: nothing of b's reaches the provider meanwhile.
        await waitFor(() => busy > 0);
        assert.deepStrictEqual(provider.presented, []);
        gate.resolve();
        const [x, y] = await Promise.all([first, second]);
        assert.strictEqual(provider.presented.length, 1, 'one refresh for both');
        assert.strictEqual(x.header?.token, y.header?.token, 'the same access token');
        a.close();
        b.close();
    });

    it('a turn shorter than a token request sends nothing (GUARD_UNAVAILABLE): a holder whose lease ran out does not send', async function () {
        const provider = new Provider();
        const runtime = runtimeOn(stores[0], ['node', `client-${++runs}`], SETTINGS.requestTimeoutMs / 2);
        await assert.rejects(grantLogin(contextOf(provider, runtime), credentials(provider.issueRefresh()), undefined), { code: 'GUARD_UNAVAILABLE' });
        assert.deepStrictEqual(provider.presented, []);
        runtime.close();
    });

    it("a holder paused past its lease: its late refresh result is refused, the next holder's newer chain stays and is used", async function () {
        const provider = new Provider();
        // The rotated-away token lives on for a while, so the next holder's refresh of it succeeds too.
        provider.graceMs = 60_000;
        const pasted = provider.issueRefresh();
        const binding = ['node', `client-${++runs}`];
        const [a, b] = stores.map((store) => runtimeOn(store, binding));
        // a's reply is held back after the provider answered it: a paused between the provider's answer and its write.
        const gate = deferred();
        let answered: HttpResponse | 'lost' | undefined;
        const pausedA: VendorContext = {
            ...contextOf(provider, a),
            send: async (exchange: VendorExchange) => {
                answered = provider.answer(new URLSearchParams(String(exchange.body)));
                await gate.promise;
                return answered as HttpResponse;
            },
        };
        const first = grantLogin(pausedA, credentials(pasted), undefined);
        await waitFor(() => answered !== undefined);
        const aToken = JSON.parse(String((answered as HttpResponse).body)) as { access_token: string; refresh_token: string };
        // a's lease runs out while it is paused.
        const leases = await withClient(redis, (client) => client.keys('model:grant:*:lease'));
        assert.strictEqual(leases.length, 1);
        await withClient(redis, (client) => client.del(leases[0]));
        const fromB = await grantLogin(contextOf(provider, b), credentials(pasted), undefined);
        assert.notStrictEqual(fromB.header?.token, aToken.access_token);
        const grantKey = leases[0].slice(0, -':lease'.length);
        const storedByB = await withClient(redis, (client) => client.get(grantKey));
        gate.resolve();
        const fromA = await first;
        assert.strictEqual(
            await withClient(redis, (client) => client.get(grantKey)),
            storedByB,
            "a's late write was refused: Redis holds b's value, byte for byte",
        );
        assert.strictEqual(fromA.header?.token, fromB.header?.token, "a uses b's chain, not its own late reply");
        const again = await grantLogin(contextOf(provider, a), credentials(pasted), undefined);
        assert.strictEqual(again.header?.token, fromB.header?.token);
        // Once b's token is due, a renews b's chain: the provider never sees a's refresh token.
        sinon.clock.tick(HOUR);
        await grantLogin(contextOf(provider, a), credentials(pasted), undefined);
        assert.strictEqual(provider.presented.length, 3);
        assert.ok(!provider.presented.includes(aToken.refresh_token), "a's refresh token never sent");
        a.close();
        b.close();
    });

    it('a paste the store has seen never resets the chain on another instance; a new paste starts a new one', async function () {
        const provider = new Provider();
        const old = provider.issueRefresh();
        const binding = ['node', `client-${++runs}`];
        const [a, b] = stores.map((store) => runtimeOn(store, binding));
        await grantLogin(contextOf(provider, a), credentials(old), undefined);
        sinon.clock.tick(HOUR);
        // b still holds the old paste (deployed from the same snapshot): it renews the chain, never sends the paste again.
        await grantLogin(contextOf(provider, b), credentials(old), undefined);
        assert.deepStrictEqual(provider.presented, [old, 'rt2']);
        const fresh = provider.issueRefresh();
        await grantLogin(contextOf(provider, b), credentials(fresh), undefined);
        assert.strictEqual(provider.presented.at(-1), fresh, 'a new paste starts a new chain');
        sinon.clock.tick(HOUR);
        await grantLogin(contextOf(provider, a), credentials(old), undefined);
        assert.notStrictEqual(provider.presented.at(-1), old, "a's old paste does not reset b's new chain");
        assert.strictEqual(new Set(provider.presented).size, provider.presented.length, 'no refresh token sent twice');
        a.close();
        b.close();
    });

    it("an instance with another sharedKey is refused (CONFIG), sends nothing and writes nothing: the fleet's chain lives on", async function () {
        const provider = new Provider();
        const pasted = provider.issueRefresh();
        const binding = ['node', `client-${++runs}`];
        const a = runtimeOn(stores[0], binding);
        const before = await grantLogin(contextOf(provider, a), credentials(pasted), undefined);
        // One instance of the fleet was deployed with a mistyped sharedKey: its key names are not the fleet's.
        const misKeyed = createRedisStore({ url: redis.url, sharedKey: 'another-fleet-key-of-32-characters!!', keyPrefix: 'model' });
        try {
            const c = runtimeOn(misKeyed, binding);
            for (let i = 0; i < 3; i++) {
                sinon.clock.tick(HOUR);
                await assert.rejects(grantLogin(contextOf(provider, c), credentials(pasted), undefined), { code: 'CONFIG', message: /another shared key/ });
                const ok = await grantLogin(contextOf(provider, a), credentials(pasted), undefined);
                assert.notStrictEqual(ok.header?.token, before.header?.token);
            }
            // The provider saw the paste once, then the chain: never the rotated-away paste again, nothing from c.
            assert.deepStrictEqual(provider.presented, [pasted, 'rt2', 'rt4', 'rt6']);
            c.close();
        } finally {
            await misKeyed.close();
        }
        a.close();
    });

    it('a record swapped from another grant or altered in Redis is refused (GUARD_UNAVAILABLE), nothing sent, nothing overwritten', async function () {
        const provider = new Provider();
        const [one, two] = [provider.issueRefresh(), provider.issueRefresh()];
        const a = runtimeOn(stores[0], ['node-1', `client-${++runs}`]);
        const b = runtimeOn(stores[0], ['node-2', `client-${runs}`]);
        await grantLogin(contextOf(provider, a), credentials(one), undefined);
        await grantLogin(contextOf(provider, b), credentials(two), undefined);
        const sent = provider.presented.length;
        const keys = await withClient(redis, (client) => client.keys('model:grant:*'));
        const names = keys.filter((key) => !key.endsWith(':lease'));
        const values = await withClient(redis, (client) => Promise.all(names.map((key) => client.get(key))));
        // Swap every record one place along (a's lands under b's name and so on).
        await withClient(redis, (client) => Promise.all(names.map((key, i) => client.set(key, values[(i + 1) % values.length] ?? ''))));
        sinon.clock.tick(HOUR);
        for (const runtime of [a, b]) {
            await assert.rejects(grantLogin(contextOf(provider, runtime), credentials(runtime === a ? one : two), undefined), { code: 'GUARD_UNAVAILABLE' });
        }
        assert.strictEqual(provider.presented.length, sent, 'nothing sent with a record the seal refuses');
        const after = await withClient(redis, (client) => Promise.all(names.map((key) => client.get(key))));
        assert.deepStrictEqual(
            after,
            names.map((_, i) => values[(i + 1) % values.length]),
            'nothing overwritten',
        );
        a.close();
        b.close();
    });

    it('hold with msgs spread over two instances that share the tokens and the refresh lease in Redis', async function () {
        await fc.assert(
            fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => run(steps, stores)),
            { numRuns: Number(process.env.MODEL_RUNS ?? 300) / 3 },
        );
    });
});

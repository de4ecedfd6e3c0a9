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
import { MemoryGrantVault, createGrantRuntime } from '../../../../src/lib/node-red/grant-runtime';
import type { GrantRuntime, LoginResult, VendorContext, VendorExchange } from '../../../../src/lib/vendors/adapter';
import { grantLogin } from '../../../../src/lib/vendors/custom/oauth2/grant';
import { customSettings } from '../../../../src/lib/vendors/custom/settings';
import { parseSettings } from '../../../../src/lib/vendors/settings';

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

async function run(steps: Step[]): Promise<void> {
    const provider = new Provider();
    const vault = new MemoryGrantVault();
    const pasted = provider.issueRefresh();
    const settings = {
        ...parseSettings(customSettings, { grant: 'refresh_token', tokenPath: '/token' }),
        vendor: 'custom',
        baseUrl: 'http://api',
        requestTimeoutMs: 1000,
    };
    let runtime: GrantRuntime & { close(): void } = createGrantRuntime({ vault, binding: ['node', 'client'], onChanged: () => undefined });
    const context = (): VendorContext => ({
        settings,
        grant: runtime,
        send: async (exchange: VendorExchange) => {
            const answer = provider.answer(new URLSearchParams(String(exchange.body)));
            if (answer === 'lost') throw new SessionError('NETWORK', 'reset after the request was sent', { transportCode: 'ECONNRESET' });
            return answer;
        },
    });
    let live: LoginResult | undefined;
    let dead = false;
    const credentials = { username: 'client', password: 'secret', refreshToken: pasted };

    for (const current of steps) {
        if (current.kind === 'tick') sinon.clock.tick(current.ms);
        else if (current.kind === 'lose') provider.loseNext = true;
        else if (current.kind === 'grace') provider.graceMs = current.ms;
        else if (current.kind === 'revoke') provider.revoked = true;
        else if (current.kind === 'restart') {
            runtime.close();
            runtime = createGrantRuntime({ vault, binding: ['node', 'client'], onChanged: () => undefined });
            live = undefined;
        } else {
            const sentBefore = provider.presented.length;
            // Several msgs at once: the session shares one login; several instances share the store's lease.
            const replacing = current.refused && live?.header ? { jar: undefined as never, header: live.header } : undefined;
            const outcomes = await Promise.allSettled(Array.from({ length: current.count }, () => grantLogin(context(), credentials, replacing)));
            const sent = provider.presented.length - sentBefore;
            assert.ok(sent <= 2 * current.count, `at most two token requests per login (${sent})`);
            if (dead) assert.strictEqual(sent, 0, 'a dead grant sends nothing');
            for (const outcome of outcomes) {
                if (outcome.status === 'fulfilled') live = outcome.value;
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
        const stored = await runtime.store.read();
        if (stored && !stored.dead && stored.refreshToken) {
            assert.ok(provider.refresh.has(stored.refreshToken), 'the store holds a token the provider issued');
        }
    }
    runtime.close();
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

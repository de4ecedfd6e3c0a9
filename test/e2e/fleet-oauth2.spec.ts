/**
 * OAuth2 grants in a fleet: three Node-RED processes started by their binary, each with its own user
 * dir, naming one `rest-session-store` on a real redis-server, against the OAuth2 provider
 * simulator. One authorization serves every instance; a refresh is one for the fleet; a revoked
 * grant is one refusal for the fleet and "authorization needed" everywhere; a crash right after the
 * provider rotated loses nothing that was saved, and never loops; Redis gone sends nothing; a device
 * code is asked for once. The provider's own counts are the evidence; a SCAN of Redis finds no secret.
 */
import assert from 'node:assert';

import { request } from '../simulators/http-get';
import { OAuthProviderSimulator, serverSettings } from '../simulators/oauth2';
import { HttpReply, NodeRedProcess, failureReply, httpCall, storeNode } from '../support/node-red-fleet';
import { RedisServer, dumpAll } from '../support/redis-server';
import { waitFor } from '../support/wait';

const SHARED_KEY = 'fleet-oauth2-shared-key-0123456789-abcdef';
const CLIENT = { id: 'fleet-oauth-app', secret: 'fleet client secret&/+' };
const REQUEST_TIMEOUT_MS = 3000;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * POST /req: one authorized request (GET /api/things): 200 with the API's payload, or 500 with what
 * the Catch node got (`{errorCode, message}`). POST /status: the request node's last status.
 */
function grantFlows(origin: string, redisUrl: string, server: Record<string, unknown>, credentials: Record<string, string> = {}): unknown[] {
    const z = 'fleet-oauth2';
    return [
        { id: z, type: 'tab', label: 'fleet oauth2' },
        // share guard: the grant's tokens are the fleet's whatever it says.
        storeNode(redisUrl, 'fleet-oauth2', 'guard', SHARED_KEY),
        {
            id: 'srv',
            type: 'rest-session-server',
            ...serverSettings(origin, { baseUrl: origin, store: 'store', requestTimeout: REQUEST_TIMEOUT_MS, ...server }),
            credentials: { username: CLIENT.id, password: CLIENT.secret, ...credentials },
        },
        { id: 'in-req', z, type: 'http in', url: '/req', method: 'post', wires: [['req']] },
        { id: 'req', z, type: 'rest-session-request', server: 'srv', method: 'GET', url: '/api/things', ret: 'obj', paytoqs: 'ignore', wires: [['done']] },
        { id: 'done', z, type: 'function', func: 'msg.headers = {}; return msg;', outputs: 1, wires: [['ok']] },
        { id: 'ok', z, type: 'http response', statusCode: '200', headers: {}, wires: [] },
        ...failureReply(z, ['req']),
        { id: 'watch', z, type: 'status', scope: ['req'], wires: [['keep']] },
        { id: 'keep', z, type: 'function', func: "flow.set('status', msg.status); return null;", outputs: 1, wires: [[]] },
        { id: 'in-status', z, type: 'http in', url: '/status', method: 'post', wires: [['show']] },
        { id: 'show', z, type: 'function', func: "msg.headers = {}; msg.payload = flow.get('status') || {}; return msg;", outputs: 1, wires: [['ok']] },
    ];
}

function errorCodeOf(reply: HttpReply): string {
    return reply.status === 200 ? 'OK' : String(reply.json().errorCode);
}

describe('OAuth2 grants in a fleet of three Node-RED processes on one Redis', function () {
    this.timeout(240_000);
    let redis: RedisServer;
    let sim: OAuthProviderSimulator;
    let fleet: NodeRedProcess[] = [];

    const counts = () => ({
        codes: sim.stats.oauth.tokenRequests.authorization_code ?? 0,
        refreshRequests: sim.stats.oauth.tokenRequests.refresh_token ?? 0,
        refreshes: sim.stats.oauth.refreshes,
        dead: sim.stats.oauth.deadRefreshUses,
        tokenRequests: Object.values(sim.stats.oauth.tokenRequests).reduce((sum, n) => sum + n, 0),
    });

    /** `count` msgs at once, spread over the three instances: the error code of each (`OK` for a success). */
    async function burst(count: number, instances = fleet): Promise<string[]> {
        const replies = await Promise.all(Array.from({ length: count }, (_, i) => instances[i % instances.length].call('/req')));
        return replies.map(errorCodeOf);
    }

    async function deployAll(server: Record<string, unknown>, credentials?: Record<string, string>): Promise<void> {
        await Promise.all(fleet.map((instance) => instance.deploy(grantFlows(sim.origin, redis.url, server, credentials))));
    }

    /** The Authorize button of instance `on`, the provider's consent (auto-approved) and its redirect back. */
    async function authorize(on: NodeRedProcess): Promise<void> {
        const redirectUri = `${on.url}/rest-session-server/oauth2/callback`;
        sim.registerRedirect(CLIENT.id, redirectUri);
        const started = await httpCall(`${on.url}/rest-session-server/oauth2/authorize`, 'POST', { id: 'srv', redirectUri });
        const provider = await request(started.json().url);
        const done = await request(String(provider.headers.location));
        assert.strictEqual(done.status, 200, done.body);
    }

    /**
     * The provider refuses every access token; `instance` renews it and is killed (SIGKILL) while the
     * provider leaves its `held` request unanswered. The counts before.
     */
    async function killWhileHeld(instance: NodeRedProcess, held: 'rotation' | 'resource'): Promise<ReturnType<typeof counts>> {
        sim.expireAccessTokens();
        const before = counts();
        const reached = sim.holdNext(held);
        void instance.call('/req').catch(() => undefined);
        await reached;
        await instance.kill();
        return before;
    }

    /** Waits until each instance answers a msg with the API's reply. */
    async function everyInstanceServes(what: string): Promise<void> {
        for (const instance of fleet) {
            await waitFor(async () => errorCodeOf(await instance.call('/req')) === 'OK', { timeoutMs: 30_000, intervalMs: 250, message: what });
        }
    }

    /** No refresh token was presented twice (a rotated-away one is never sent again). */
    function assertNoRefreshTokenReused(): void {
        const seen = sim.stats.oauth.refreshTokensSeen;
        assert.strictEqual(new Set(seen).size, seen.length, `a refresh token was sent twice: ${seen.length} presented`);
    }

    before(async function () {
        redis = await RedisServer.start({ persist: true });
        sim = await new OAuthProviderSimulator({ tls: false, autoApprove: true, clients: [{ ...CLIENT, redirectUris: [] }] }).start();
        // A refresh cut off by a crash holds its client for one cool-down (the guard's rule): a short one here.
        fleet = await Promise.all(['a', 'b', 'c'].map((name) => NodeRedProcess.start(`oauth2-${name}`, 'restSessionServerCoolDown: 1000,')));
        await deployAll({ grant: 'authorization_code' });
    });
    after(async function () {
        await Promise.all(fleet.map((instance) => instance.dispose()));
        await sim?.stop();
        await redis?.stop();
    });

    it('authorized once on one instance, every instance serves msgs with those tokens: one code exchange, no refresh', async function () {
        assert.deepStrictEqual(await burst(3), ['AUTHORIZATION_REQUIRED', 'AUTHORIZATION_REQUIRED', 'AUTHORIZATION_REQUIRED']);
        await authorize(fleet[0]);
        assert.deepStrictEqual(await burst(9), Array(9).fill('OK'));
        const reply = await fleet[2].call('/req');
        assert.deepStrictEqual(reply.json(), { things: ['a', 'b'] });
        assert.strictEqual(sim.stats.oauth.codesIssued, 1);
        assert.deepStrictEqual(counts(), { codes: 1, refreshRequests: 0, refreshes: 0, dead: 0, tokenRequests: 1 });
    });

    it('20 concurrent msgs over three instances at expiry: exactly 1 refresh for the fleet, the rotated-away token never sent again', async function () {
        // The provider refuses every access token (as at its expiry): each instance sees its own refused.
        sim.options.accessTtlMs = 12_000;
        sim.expireAccessTokens();
        const before = counts();
        assert.deepStrictEqual(await burst(20), Array(20).fill('OK'));
        assert.deepStrictEqual(counts(), {
            ...before,
            refreshRequests: before.refreshRequests + 1,
            refreshes: before.refreshes + 1,
            tokenRequests: before.tokenRequests + 1,
        });

        // Then the access token's own expiry (12 s, renewed ahead by a tenth): due on all three at once.
        const renewed = counts();
        const issuedAt = Date.now();
        await waitFor(() => Date.now() > issuedAt + 11_000, { timeoutMs: 20_000, intervalMs: 200, message: 'the access token to be due' });
        assert.deepStrictEqual(await burst(20), Array(20).fill('OK'));
        assert.deepStrictEqual(counts(), {
            ...renewed,
            refreshRequests: renewed.refreshRequests + 1,
            refreshes: renewed.refreshes + 1,
            tokenRequests: renewed.tokenRequests + 1,
        });
        assert.strictEqual(sim.stats.oauth.deadRefreshUses, 0);
        assertNoRefreshTokenReused();
        sim.options.accessTtlMs = 3600_000;
    });

    it('SIGKILL of the refreshing instance after it saved the rotated token: the others use that token, no new refresh', async function () {
        const [a, b, c] = fleet;
        // b refreshes, saves, and dies as its first request with the new access token reaches the API.
        const before = await killWhileHeld(b, 'resource');
        assert.deepStrictEqual(await burst(6, [a, c]), Array(6).fill('OK'));
        assert.strictEqual(counts().refreshRequests, before.refreshRequests + 1, 'the token b saved serves a and c');
        await b.launch();
        assert.strictEqual(errorCodeOf(await b.call('/req')), 'OK');
        assert.strictEqual(counts().refreshRequests, before.refreshRequests + 1);
        assert.strictEqual(sim.stats.oauth.deadRefreshUses, 0);
        assertNoRefreshTokenReused();
    });

    it('Redis gone: GUARD_UNAVAILABLE on every instance and no token request; Redis back: one refresh, every instance serves again', async function () {
        await redis.kill();
        sim.expireAccessTokens();
        const before = counts();
        assert.deepStrictEqual(await burst(6), Array(6).fill('GUARD_UNAVAILABLE'));
        assert.strictEqual(counts().tokenRequests, before.tokenRequests, 'no token request without the store');
        await redis.restart();
        await everyInstanceServes('recovery');
        assert.deepStrictEqual(await burst(6), Array(6).fill('OK'));
        assert.strictEqual(counts().refreshRequests, before.refreshRequests + 1, 'one refresh for the fleet after Redis came back');
        assertNoRefreshTokenReused();
    });

    it('no client secret, client ID, host, refresh or access token in any Redis key or value (SCAN)', async function () {
        const dump = await dumpAll(redis);
        assert.match(dump, /fleet-oauth2:grant:/, 'the grant is in Redis');
        const tokens = new Set<string>([...sim.stats.oauth.refreshTokensSeen, ...sim.liveRefreshTokens()]);
        for (const { authorization } of sim.stats.requests) {
            const bearer = /^Bearer (\S+)$/.exec(authorization);
            if (bearer) tokens.add(bearer[1]);
        }
        assert.ok(tokens.size >= 6, `the test knows the tokens it looks for (${tokens.size})`);
        const port = new URL(sim.origin).port;
        for (const secret of [CLIENT.secret, encodeURIComponent(CLIENT.secret), CLIENT.id, '127.0.0.1', `:${port}`, 'localhost', ...tokens]) {
            assert.ok(!dump.includes(secret), `Redis holds "${secret.slice(0, 6)}…" in clear`);
        }
    });

    it('the provider revokes the grant: exactly 1 refresh attempt for 10 msgs over the fleet, all AUTHORIZATION_REQUIRED, "authorization needed" everywhere, nothing more sent', async function () {
        sim.revokeGrants();
        const before = counts();
        assert.deepStrictEqual(await burst(10), Array(10).fill('AUTHORIZATION_REQUIRED'));
        assert.strictEqual(counts().refreshRequests, before.refreshRequests + 1, 'one refresh attempt for the fleet');
        assert.deepStrictEqual(await burst(6), Array(6).fill('AUTHORIZATION_REQUIRED'));
        assert.strictEqual(counts().tokenRequests, before.tokenRequests + 1, 'a dead grant sends nothing more');
        for (const instance of fleet) {
            const status = (await instance.call('/status')).json();
            assert.strictEqual(status.fill, 'red', JSON.stringify(status));
            assert.match(String(status.text), /authorization needed/, JSON.stringify(status));
        }
    });

    it('authorizing again revives it for the fleet; a SIGKILL while the rotated reply is on its way: "authorization needed" for all, never a loop', async function () {
        const [a, b, c] = fleet;
        await authorize(c);
        assert.deepStrictEqual(await burst(6), Array(6).fill('OK'), 'one new authorization serves every instance');
        const before = await killWhileHeld(a, 'rotation');
        // b and c wait out a's turn (it never ends its refresh), then one refresh with the rotated-away token: dead.
        await waitFor(async () => (await burst(2, [b, c])).every((code) => code === 'AUTHORIZATION_REQUIRED'), {
            timeoutMs: 90_000,
            intervalMs: 500,
            message: 'authorization needed',
        });
        const settled = counts();
        assert.deepStrictEqual(await burst(6, [b, c]), Array(6).fill('AUTHORIZATION_REQUIRED'));
        assert.strictEqual(counts().tokenRequests, settled.tokenRequests, 'no loop');
        assert.strictEqual(settled.refreshRequests, before.refreshRequests + 2, "a's refresh, then one with the rotated-away token");
        assert.strictEqual(settled.dead, before.dead + 1, 'the rotated-away token was sent once, by the instance that found it in the store');
        await a.launch();
        assert.strictEqual(errorCodeOf(await a.call('/req')), 'AUTHORIZATION_REQUIRED');
        assert.strictEqual(counts().tokenRequests, settled.tokenRequests, 'the restarted instance sends nothing either');
    });

    it('device code: one device authorization for the fleet, its code shown by every instance; approved once, every instance serves', async function () {
        sim.options.deviceIntervalS = 1;
        await deployAll({ grant: 'device_code' });
        const deviceStarts = () => sim.stats.requests.filter((entry) => entry.url.startsWith('/device_authorization')).length;
        const replies = await Promise.all(Array.from({ length: 9 }, (_, i) => fleet[i % 3].call('/req')));
        assert.deepStrictEqual(replies.map(errorCodeOf), Array(9).fill('AUTHORIZATION_REQUIRED'));
        assert.strictEqual(deviceStarts(), 1, 'one device authorization for the fleet');
        const [code] = sim.pendingUserCodes();
        for (const reply of replies) assert.match(reply.json().message, new RegExp(`enter ${code}`));
        assert.ok(sim.approveDevice(code));
        await everyInstanceServes('the approved device');
        assert.strictEqual(deviceStarts(), 1);
        const polled = new Set(sim.stats.requests.filter((entry) => entry.body.includes(encodeURIComponent(DEVICE_GRANT))).map((entry) => entry.body));
        assert.ok(polled.size >= 1);
        assert.strictEqual(new Set([...polled].map((body) => new URLSearchParams(body).get('device_code'))).size, 1, 'one device code polled');
    });
});

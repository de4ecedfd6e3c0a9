/**
 * The OAuth2 grants that need a person, against the OAuth2 provider simulator: the authorization
 * code flow driven through the admin endpoints and the provider's redirect (no browser), the pasted
 * refresh token, the device flow, and the refresh rules (single flight, rotation, invalid_grant).
 * The provider's own counts are the evidence.
 */
import assert from 'node:assert';

import sinon from 'sinon';

import { request } from '../simulators/http-get';
import { OAuthProviderSimulator, serverSettings } from '../simulators/oauth2';
import { type FlowNode, type Msg, type Recorders, answeredOnce, helper, load, settle, standardFlow } from '../support/harness';
import { waitFor } from '../support/wait';

/** A new client ID per test: the grants' store outlives a test, and a simulator may get a port used before. */
const CLIENT = { id: 'flow-app', secret: 'fl0w secret&/+' };
let clients = 0;

describe('custom vendor: OAuth2 grants that need a person', function () {
    let sim: OAuthProviderSimulator;
    let redirectUri: string;

    before(() => helper.startServer());
    after(() => helper.stopServer());
    beforeEach(async function () {
        CLIENT.id = `flow-app-${++clients}`;
        redirectUri = `${helper.url()}/rest-session-server/oauth2/callback`;
        sim = await new OAuthProviderSimulator({ tls: false, clients: [{ ...CLIENT, redirectUris: [redirectUri] }], deviceIntervalS: 1 }).start();
    });
    afterEach(async function () {
        sinon.restore();
        await helper.unload();
        await sim.stop();
    });

    function flow(server: FlowNode = {}): FlowNode[] {
        return standardFlow(sim.origin, {
            server: serverSettings(sim.origin, server),
            request: { url: '/api/things', ret: 'obj' },
        });
    }

    function loadFlow(server: FlowNode = {}, credentials: Record<string, string> = {}): Promise<Recorders> {
        return load(flow(server), { server: { username: CLIENT.id, password: CLIENT.secret, ...credentials } });
    }

    async function authorize(): Promise<string> {
        const started = await helper.request().post('/rest-session-server/oauth2/authorize').send({ id: 'server', redirectUri }).expect(200);
        assert.ok(started.body.url, JSON.stringify(started.body));
        return started.body.url as string;
    }

    /** The provider's redirect back to Node-RED after the consent (autoApprove), as a path on the admin API. */
    async function consent(url: string): Promise<string> {
        const answer = await request(url);
        assert.strictEqual(answer.status, 302, answer.body);
        const location = new URL(String(answer.headers.location));
        return `${location.pathname}${location.search}`;
    }

    async function send(rec: Recorders, count: number): Promise<void> {
        const before = rec.out.messages.length + rec.caught.messages.length;
        for (let i = 0; i < count; i++) helper.getNode('r1').receive({ payload: i });
        await answeredOnce(rec, before + count);
    }

    it('authorizes through the admin endpoint and the provider redirect, with PKCE S256 and the state; the callback works once', async function () {
        sim.options.autoApprove = true;
        const rec = await loadFlow();
        await send(rec, 1);
        assert.strictEqual(rec.caught.messages[0].errorCode, 'AUTHORIZATION_REQUIRED');
        assert.deepStrictEqual(sim.stats.oauth.tokenRequests, {}, 'nothing sent before the authorization');

        const url = new URL(await authorize());
        assert.strictEqual(url.searchParams.get('code_challenge_method'), 'S256');
        assert.strictEqual(url.searchParams.get('redirect_uri'), redirectUri);
        assert.ok(!url.toString().includes(encodeURIComponent(CLIENT.secret)) && !url.toString().includes(CLIENT.secret), 'no secret in the URL');
        const callback = await consent(url.toString());
        const done = await helper.request().get(callback).expect(200);
        assert.match(done.text, /Authorized/);
        assert.strictEqual(sim.stats.oauth.tokenRequests.authorization_code, 1);

        await send(rec, 1);
        assert.deepStrictEqual(rec.out.messages[0].payload, { things: ['a', 'b'] });
        assert.strictEqual(sim.stats.oauth.served, 1);

        const replay = await helper.request().get(callback).expect(400);
        assert.match(replay.text, /Unknown or used state/);
        const unknown = await helper.request().get('/rest-session-server/oauth2/callback?state=forged&code=x').expect(400);
        assert.match(unknown.text, /Unknown or used state/);
        assert.strictEqual(sim.stats.oauth.tokenRequests.authorization_code, 1, 'a replayed or unknown state exchanges nothing');
        await waitFor(() => rec.statuses.messages.some((m: Msg) => m.status.fill === 'green'), { message: 'a green status' });
    });

    it('answers CONFIG "deploy the server first" for a config node that is not deployed, and 415 for a form body', async function () {
        await loadFlow();
        const answer = await helper.request().post('/rest-session-server/oauth2/authorize').send({ id: 'nope', redirectUri }).expect(200);
        assert.strictEqual(answer.body.code, 'CONFIG');
        assert.match(answer.body.message, /[Dd]eploy the server first/);
        await helper.request().post('/rest-session-server/oauth2/authorize').type('form').send({ id: 'server' }).expect(415);
        const elsewhere = await helper
            .request()
            .post('/rest-session-server/oauth2/authorize')
            .send({ id: 'server', redirectUri: 'https://evil.example/cb' })
            .expect(200);
        assert.strictEqual(elsewhere.body.code, 'CONFIG');
    });

    it('a pasted refresh token: 20 concurrent msgs at expiry make exactly one refresh, and a rotated token is never sent again', async function () {
        const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
        const pasted = sim.issueRefreshToken(CLIENT.id);
        const rec = await loadFlow({ grant: 'refresh_token' }, { refreshToken: pasted });
        await send(rec, 1);
        assert.strictEqual(rec.out.messages.length, 1, JSON.stringify(rec.caught.messages.map((m: Msg) => m.error)));
        assert.strictEqual(sim.stats.oauth.refreshes, 1);

        for (let round = 0; round < 3; round++) {
            clock.tick(3600_000); // the access token expired (the provider's clock too)
            await send(rec, 20);
            assert.strictEqual(sim.stats.oauth.refreshes, 2 + round, 'one refresh for 20 msgs');
        }
        assert.strictEqual(rec.out.messages.length, 61);
        const seen = sim.stats.oauth.refreshTokensSeen;
        assert.strictEqual(new Set(seen).size, seen.length, 'no refresh token was sent twice');
        assert.strictEqual(sim.stats.oauth.deadRefreshUses, 0);
        assert.ok(!sim.liveRefreshTokens().includes(pasted));
    });

    it('refreshes once when the resource refuses the access token, and replays the request once', async function () {
        const rec = await loadFlow({ grant: 'refresh_token' }, { refreshToken: sim.issueRefreshToken(CLIENT.id) });
        await send(rec, 1);
        sim.expireAccessTokens();
        await send(rec, 5);
        assert.strictEqual(rec.out.messages.length, 6);
        assert.strictEqual(sim.stats.oauth.refreshes, 2);
        assert.strictEqual(sim.stats.oauth.refused, 5);
    });

    it('invalid_grant: exactly one attempt for 10 msgs, then AUTHORIZATION_REQUIRED with nothing sent and a red "authorization needed"', async function () {
        const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
        const rec = await loadFlow({ grant: 'refresh_token' }, { refreshToken: sim.issueRefreshToken(CLIENT.id) });
        await send(rec, 1);
        sim.revokeGrants();
        clock.tick(3600_000);
        const before = sim.stats.oauth.tokenRequests.refresh_token;
        await send(rec, 10);
        await send(rec, 10);
        assert.strictEqual(sim.stats.oauth.tokenRequests.refresh_token - before, 1, 'one refresh attempt for 20 msgs');
        assert.strictEqual(rec.caught.messages.length, 20);
        assert.ok(rec.caught.messages.every((m: Msg) => m.errorCode === 'AUTHORIZATION_REQUIRED'));
        await waitFor(
            () => rec.statuses.messages.some((m: Msg) => m.status.fill === 'red' && /authorizationNeeded$|^authorization needed$/.test(m.status.text)),
            {
                message: 'a red "authorization needed" status',
            },
        );
        // Not counted in the password budget: a wrong secret would be held after 3; this grant is not.
        assert.ok(rec.caught.messages.every((m: Msg) => m.retryAfter === undefined));
    });

    for (const expiresIn of ['-5', -5, 1_000_000_000, 'soon']) {
        it(`an expires_in of ${JSON.stringify(expiresIn)} is no lifetime: 5 msgs make one refresh, not one each`, async function () {
            sim.options.expiresIn = expiresIn;
            const rec = await loadFlow({ grant: 'refresh_token' }, { refreshToken: sim.issueRefreshToken(CLIENT.id) });
            for (let i = 0; i < 5; i++) await send(rec, 1);
            assert.strictEqual(rec.out.messages.length, 5, JSON.stringify(rec.caught.messages.map((m: Msg) => m.error)));
            assert.strictEqual(sim.stats.oauth.refreshes, 1);
        });
    }

    it('keeps the old refresh token when the reply has none (no rotation)', async function () {
        sim.options.rotate = false;
        const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
        const pasted = sim.issueRefreshToken(CLIENT.id);
        const rec = await loadFlow({ grant: 'refresh_token' }, { refreshToken: pasted });
        await send(rec, 1);
        clock.tick(3600_000);
        await send(rec, 1);
        assert.deepStrictEqual(sim.stats.oauth.refreshTokensSeen, [pasted, pasted]);
        assert.strictEqual(rec.out.messages.length, 2);
    });

    /** A pasted refresh token used once; then the access token expires and the next refresh's reply is lost. */
    async function lostReplyAtExpiry(): Promise<Recorders> {
        const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
        const rec = await loadFlow({ grant: 'refresh_token' }, { refreshToken: sim.issueRefreshToken(CLIENT.id) });
        await send(rec, 1);
        clock.tick(3600_000);
        sim.loseNextTokenReply();
        await send(rec, 3);
        return rec;
    }

    it('a lost token reply: the old refresh token is tried once more, then authorization needed, never a loop', async function () {
        const rec = await lostReplyAtExpiry();
        await send(rec, 3);
        assert.strictEqual(sim.stats.oauth.tokenRequests.refresh_token, 3, 'the first refresh, the lost one, and one retry');
        assert.strictEqual(rec.caught.messages.length, 6);
        assert.ok(rec.caught.messages.every((m: Msg) => m.errorCode === 'AUTHORIZATION_REQUIRED'));
    });

    it('a refresh whose reply is lost after the close began is not tried again: nothing reaches the provider after the close', async function () {
        const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
        const rec = await loadFlow({ grant: 'refresh_token' }, { refreshToken: sim.issueRefreshToken(CLIENT.id) });
        await send(rec, 1);
        clock.tick(3600_000);
        const refreshes = (): number => sim.stats.requests.filter((r) => r.path === '/token').length;
        const before = refreshes();
        const release = sim.holdWhere((ctx) => ctx.pathname === '/token');
        helper.getNode('r1').receive({ payload: 'at expiry' });
        await waitFor(() => refreshes() === before + 1, { message: 'the refresh on the wire' });
        const seenBefore = sim.stats.requests.length;
        const closing = (helper.getNode('server') as unknown as { close(removed: boolean): Promise<void> }).close(false);
        release('drop');
        await closing;
        await rec.caught.waitFor(1);
        assert.deepStrictEqual(
            sim.stats.requests.slice(seenBefore).map((r) => `${r.method} ${r.path}`),
            [],
            'no second refresh (nor anything else) after the close began',
        );
    });

    it("a lost token reply within the provider's grace period: the retry with the old token keeps the chain", async function () {
        sim.options.refreshGraceMs = 60_000;
        const rec = await lostReplyAtExpiry();
        assert.strictEqual(rec.out.messages.length, 4, JSON.stringify(rec.caught.messages.map((m: Msg) => m.error)));
    });

    it('device flow: the code in the error and the status, authorization_pending and slow_down (+5 s), then tokens', async function () {
        this.timeout(30_000);
        const rec = await loadFlow({ grant: 'device_code' });
        await send(rec, 2);
        assert.strictEqual(rec.caught.messages.length, 2);
        const [code] = sim.pendingUserCodes();
        assert.ok(code, `one device flow started (${JSON.stringify(rec.caught.messages.map((m: Msg) => m.error.message))})`);
        assert.strictEqual(sim.stats.requests.filter((r) => r.path === '/device_authorization').length, 1, 'started once since the deploy');
        assert.ok(rec.caught.messages.every((m: Msg) => m.errorCode === 'AUTHORIZATION_REQUIRED' && m.error.message.includes(code)));
        await waitFor(() => rec.statuses.messages.some((m: Msg) => /status\.visit$|and enter/.test(String(m.status.text))), {
            message: 'the code in the status',
        });

        const polls = () => sim.stats.requests.filter((r) => r.path === '/token');
        await waitFor(() => polls().length >= 1, { message: 'a first poll' });
        sim.slowDownNextPoll();
        await waitFor(() => polls().some((r) => r.status === 400) && polls().length >= 2, { message: 'a slow_down', timeoutMs: 5000 });
        sim.approveDevice(code);
        await waitFor(() => rec.statuses.messages.some((m: Msg) => m.status.fill === 'green'), { message: 'green once approved', timeoutMs: 15_000 });
        const times = polls().map((r) => r.at);
        const gaps = times.slice(1).map((at, i) => at - times[i]);
        assert.ok(gaps[gaps.length - 1] >= 5900, `the poll after slow_down waited 5 s more (gaps ${gaps.join(', ')})`);
        await send(rec, 1);
        assert.strictEqual(rec.out.messages.length, 1);
        assert.strictEqual(sim.stats.requests.filter((r) => r.path === '/device_authorization').length, 1);
    });

    it('a refresh token the provider echoes in an error message never reaches the msg, the status or the log', async function () {
        const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
        const rec = await loadFlow({ grant: 'refresh_token' }, { refreshToken: sim.issueRefreshToken(CLIENT.id) });
        await send(rec, 1);
        assert.strictEqual(rec.out.messages.length, 1);
        const [rotated] = sim.liveRefreshTokens();
        sim.echoNextRefreshFailure();
        clock.tick(3600_000);
        await send(rec, 1);
        assert.strictEqual(sim.stats.oauth.refreshTokensSeen.filter((t) => t === rotated).length, 1, 'the echoing refresh was sent');
        assert.strictEqual(rec.caught.messages.length, 1);
        const seen = JSON.stringify([rec.caught.messages, rec.statuses.messages, helper.log()?.args]);
        assert.ok(!seen.includes(rotated), `the stored refresh token leaked: ${JSON.stringify(rec.caught.messages[0].error)}`);
    });

    it('device flow: an interval beyond what a timer can hold is not a poll loop', async function () {
        sim.options.deviceIntervalS = 3_000_000; // 34 days: more than setTimeout's 2^31-1 ms
        const rec = await loadFlow({ grant: 'device_code' });
        await send(rec, 1);
        assert.strictEqual(sim.pendingUserCodes().length, 1, 'a device flow started');
        // A marker request after the flow started: if the poll timer overflowed, polls arrive at once and keep coming.
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.strictEqual(sim.stats.requests.filter((r) => r.path === '/token').length, 0, 'no poll before the interval');
    });

    it('device flow denied: AUTHORIZATION_REQUIRED and no new flow until Authorize is pressed', async function () {
        const rec = await loadFlow({ grant: 'device_code' });
        await send(rec, 1);
        const [code] = sim.pendingUserCodes();
        sim.denyDevice(code);
        await waitFor(() => rec.statuses.messages.some((m: Msg) => /authorizationNeeded$/.test(String(m.status.text))), { message: 'authorization needed' });
        await send(rec, 3);
        assert.ok(rec.caught.messages.every((m: Msg) => m.errorCode === 'AUTHORIZATION_REQUIRED'));
        assert.strictEqual(sim.stats.requests.filter((r) => r.path === '/device_authorization').length, 1, 'a denied flow never restarts by itself');
        const again = await helper.request().post('/rest-session-server/oauth2/authorize').send({ id: 'server', redirectUri }).expect(200);
        assert.match(again.body.userCode, /^[A-Z]{4}-[A-Z]{4}$/);
        assert.strictEqual(again.body.verificationUri, `${sim.origin}/device`);
        assert.ok(again.body.expiresIn > 0);
        await settle(rec, 4);
    });

    describe('a token endpoint on another origin than the base URL', function () {
        let provider: OAuthProviderSimulator;
        afterEach(() => provider?.stop());

        it('the access token only goes to the base URL, the client secret and refresh token only to the token endpoint', async function () {
            provider = await new OAuthProviderSimulator({ tls: false, clients: [{ ...CLIENT, redirectUris: [] }] }).start();
            sim.acceptTokensOf(provider);
            const pasted = provider.issueRefreshToken(CLIENT.id);
            const rec = await loadFlow({ grant: 'refresh_token', tokenPath: `${provider.origin}/token` }, { refreshToken: pasted });
            await send(rec, 1);
            provider.expireAccessTokens();
            await send(rec, 1);
            assert.strictEqual(rec.out.messages.length, 2, JSON.stringify(rec.caught.messages.map((m: Msg) => m.error)));
            assert.strictEqual(provider.stats.oauth.refreshes, 2);
            const secretForms = [CLIENT.secret, encodeURIComponent(CLIENT.secret), Buffer.from(CLIENT.secret).toString('base64')];
            for (const seen of sim.stats.requests) {
                const text = JSON.stringify(seen);
                assert.ok(!secretForms.some((form) => text.includes(form)), `no client secret at the API: ${text}`);
                assert.ok(!provider.stats.oauth.refreshTokensSeen.some((token) => text.includes(token)), 'no refresh token at the API');
                assert.match(seen.authorization, /^Bearer at\./);
            }
            for (const seen of provider.stats.requests) {
                assert.strictEqual(seen.path, '/token');
                assert.match(seen.authorization, /^Basic /, 'the provider sees the client, never an access token');
                assert.ok(!seen.url.includes('secret') && !seen.url.includes('rt.'), `nothing secret in the URL ${seen.url}`);
            }
        });

        it("is verified against the default trust store, not the server's TLS configuration", async function () {
            provider = await new OAuthProviderSimulator({ tls: true, clients: [{ ...CLIENT, redirectUris: [] }] }).start();
            // The server's TLS configuration trusts the test CA that signed the provider's certificate.
            const rec = await load(flow({ grant: 'refresh_token', tokenPath: `${provider.origin}/token`, tls: 'tls' }), {
                server: { username: CLIENT.id, password: CLIENT.secret, refreshToken: provider.issueRefreshToken(CLIENT.id) },
            });
            await send(rec, 1);
            assert.strictEqual(rec.caught.messages[0].errorCode, 'TLS', 'the test CA is trusted for the base URL only');
            assert.strictEqual(provider.stats.oauth.tokenRequests.refresh_token ?? 0, 0);
        });
    });
});

// Tests of the OAuth2 provider simulator itself, over real sockets (RFC 6749, RFC 7636, RFC 8628).

import assert from 'node:assert';
import crypto from 'node:crypto';

import sinon from 'sinon';

import { request, type Reply } from './http-get';
import { DEMO_CLIENT, OAuthProviderSimulator, demoRedirectUris, s256, startForFlows } from './oauth2';

const REDIRECT = 'http://127.0.0.1:1880/rest-session-server/oauth2/callback';
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

function basic(id: string, secret: string): string {
    return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

describe('OAuth2 provider simulator', function () {
    let sim: OAuthProviderSimulator;
    const client = { id: 'app', secret: 'app secret', redirectUris: [REDIRECT] };
    const auth = basic(client.id, client.secret);

    beforeEach(async function () {
        sim = await new OAuthProviderSimulator({ clients: [client, { id: 'public-app', redirectUris: [REDIRECT] }] }).start();
    });
    afterEach(async function () {
        sinon.restore();
        await sim.stop();
    });

    function token(form: Record<string, string>, authorization: string | null = auth): Promise<Reply> {
        const headers: Record<string, string> = { ...FORM };
        if (authorization) headers.Authorization = authorization;
        return request(`${sim.origin}/token`, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
    }

    function authorizeUrl(params: Record<string, string>): string {
        const url = new URL(`${sim.origin}/authorize`);
        for (const [name, value] of Object.entries({ response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, ...params }))
            url.searchParams.set(name, value);
        return url.toString();
    }

    /** A code through the consent page's Approve button. */
    async function codeFor(verifier: string, state = 'st'): Promise<string> {
        const page = await request(authorizeUrl({ state, code_challenge: s256(verifier), code_challenge_method: 'S256' }));
        assert.strictEqual(page.status, 200);
        const id = /name="request" value="([0-9a-f]+)"/.exec(page.body)?.[1] ?? '';
        const approved = await request(`${sim.origin}/authorize/decision`, { method: 'POST', headers: FORM, body: `request=${id}&decision=approve` });
        assert.strictEqual(approved.status, 302);
        const location = new URL(String(approved.headers.location));
        assert.strictEqual(`${location.origin}${location.pathname}`, REDIRECT);
        assert.strictEqual(location.searchParams.get('state'), state);
        return location.searchParams.get('code') ?? '';
    }

    it('issues a code after consent and exchanges it once, with the PKCE verifier and the same redirect URI', async function () {
        const verifier = crypto.randomBytes(32).toString('base64url');
        const code = await codeFor(verifier);
        const wrongVerifier = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: 'x'.repeat(43) });
        assert.strictEqual(wrongVerifier.json().error, 'invalid_grant');

        const code2 = await codeFor(verifier);
        const otherRedirect = await token({ grant_type: 'authorization_code', code: code2, redirect_uri: `${REDIRECT}/x`, code_verifier: verifier });
        assert.strictEqual(otherRedirect.json().error, 'invalid_grant');

        const code3 = await codeFor(verifier);
        const ok = await token({ grant_type: 'authorization_code', code: code3, redirect_uri: REDIRECT, code_verifier: verifier });
        assert.strictEqual(ok.status, 200, ok.body);
        const tokens = ok.json();
        assert.ok(tokens.access_token && tokens.refresh_token);
        assert.strictEqual(ok.headers['cache-control'], 'no-store');
        const again = await token({ grant_type: 'authorization_code', code: code3, redirect_uri: REDIRECT, code_verifier: verifier });
        assert.strictEqual(again.json().error, 'invalid_grant', 'a code is single use');

        const resource = await request(`${sim.origin}/api/things`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
        assert.strictEqual(resource.status, 200);
        assert.strictEqual((await request(`${sim.origin}/api/things`)).status, 401);
        assert.deepStrictEqual([sim.stats.oauth.served, sim.stats.oauth.refused], [1, 1]);
    });

    it('refuses a redirect URI that is not registered exactly, and an authorization request without S256', async function () {
        const challenge = s256('v'.repeat(43));
        const mismatch = await request(authorizeUrl({ redirect_uri: `${REDIRECT}?x=1`, code_challenge: challenge, code_challenge_method: 'S256' }));
        assert.strictEqual(mismatch.status, 400);
        assert.strictEqual(mismatch.headers.location, undefined, 'never redirects to an unregistered URI');
        const plain = await request(authorizeUrl({ state: 's', code_challenge: challenge, code_challenge_method: 'plain' }));
        assert.strictEqual(plain.status, 302);
        assert.strictEqual(new URL(String(plain.headers.location)).searchParams.get('error'), 'invalid_request');
        const unknown = await request(authorizeUrl({ client_id: 'nobody', code_challenge: challenge, code_challenge_method: 'S256' }));
        assert.strictEqual(unknown.status, 400);
    });

    it('denies on the consent page with access_denied, and approves at once with autoApprove', async function () {
        const challenge = s256('v'.repeat(43));
        const page = await request(authorizeUrl({ state: 'q', code_challenge: challenge, code_challenge_method: 'S256' }));
        const id = /name="request" value="([0-9a-f]+)"/.exec(page.body)?.[1] ?? '';
        const denied = await request(`${sim.origin}/authorize/decision`, { method: 'POST', headers: FORM, body: `request=${id}&decision=deny` });
        const location = new URL(String(denied.headers.location));
        assert.deepStrictEqual([location.searchParams.get('error'), location.searchParams.get('state')], ['access_denied', 'q']);

        sim.options.autoApprove = true;
        const auto = await request(authorizeUrl({ state: 'r', code_challenge: challenge, code_challenge_method: 'S256' }));
        assert.strictEqual(auto.status, 302);
        assert.ok(new URL(String(auto.headers.location)).searchParams.get('code'));
    });

    it('rotates refresh tokens: the old one dies at once, or after the grace period', async function () {
        const first = sim.issueRefreshToken(client.id);
        const one = await token({ grant_type: 'refresh_token', refresh_token: first });
        assert.strictEqual(one.status, 200);
        const second = one.json().refresh_token;
        assert.notStrictEqual(second, first);
        const replay = await token({ grant_type: 'refresh_token', refresh_token: first });
        assert.strictEqual(replay.json().error, 'invalid_grant');
        assert.strictEqual(sim.stats.oauth.deadRefreshUses, 1);
        assert.deepStrictEqual(sim.stats.oauth.refreshTokensSeen, [first, first]);

        sim.options.refreshGraceMs = 60_000;
        const two = await token({ grant_type: 'refresh_token', refresh_token: second });
        const withinGrace = await token({ grant_type: 'refresh_token', refresh_token: second });
        assert.strictEqual(two.status, 200);
        assert.strictEqual(withinGrace.status, 200, 'the grace period lets the rotated token work once more');
        assert.strictEqual(sim.stats.oauth.refreshes, 3);

        sim.options.rotate = false;
        const third = two.json().refresh_token;
        const kept = await token({ grant_type: 'refresh_token', refresh_token: third });
        assert.strictEqual(kept.json().refresh_token, undefined, 'without rotation the reply has no refresh token');
        assert.strictEqual((await token({ grant_type: 'refresh_token', refresh_token: third })).status, 200);

        sim.revokeGrants();
        assert.strictEqual((await token({ grant_type: 'refresh_token', refresh_token: third })).json().error, 'invalid_grant');
    });

    it('authenticates clients by Basic, in the body, or as a public client by id alone', async function () {
        const rt = sim.issueRefreshToken(client.id);
        const wrong = await token({ grant_type: 'refresh_token', refresh_token: rt }, basic(client.id, 'nope'));
        assert.strictEqual(wrong.status, 401);
        assert.strictEqual(wrong.json().error, 'invalid_client');
        const inBody = await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: client.id, client_secret: client.secret }, null);
        assert.strictEqual(inBody.status, 200);
        const publicRt = sim.issueRefreshToken('public-app');
        const pub = await token({ grant_type: 'refresh_token', refresh_token: publicRt, client_id: 'public-app' }, null);
        assert.strictEqual(pub.status, 200);
    });

    it('rotates and then loses the reply when told to', async function () {
        const rt = sim.issueRefreshToken(client.id);
        sim.loseNextTokenReply();
        await assert.rejects(token({ grant_type: 'refresh_token', refresh_token: rt }));
        assert.strictEqual(sim.stats.oauth.refreshes, 1);
        assert.strictEqual((await token({ grant_type: 'refresh_token', refresh_token: rt })).json().error, 'invalid_grant');
    });

    it('runs the device flow: pending, slow_down (+5 s), approval, then the code is used up', async function () {
        const clock = sinon.useFakeTimers({ now: 1_800_000_000_000, toFake: ['Date'] });
        const started = await request(`${sim.origin}/device_authorization`, { method: 'POST', headers: { ...FORM, Authorization: auth }, body: 'scope=read' });
        const device = started.json();
        assert.match(device.user_code, /^[A-Z]{4}-[A-Z]{4}$/);
        assert.strictEqual(device.verification_uri, `${sim.origin}/device`);
        assert.strictEqual(device.interval, 5);
        const poll = () => token({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code });
        assert.strictEqual((await poll()).json().error, 'authorization_pending');
        clock.tick(1000);
        assert.strictEqual((await poll()).json().error, 'slow_down');
        clock.tick(6000);
        assert.strictEqual((await poll()).json().error, 'slow_down', 'the interval is now 10 s, and 15 s after this one');
        clock.tick(15_000);
        assert.strictEqual((await poll()).json().error, 'authorization_pending');
        assert.deepStrictEqual(sim.pendingUserCodes(), [device.user_code]);
        const page = await request(`${sim.origin}/device/decision`, { method: 'POST', headers: FORM, body: `user_code=${device.user_code}&decision=approve` });
        assert.strictEqual(page.status, 200);
        clock.tick(15_000);
        const done = await poll();
        assert.strictEqual(done.status, 200);
        assert.ok(done.json().access_token);
        clock.tick(15_000);
        assert.strictEqual((await poll()).json().error, 'invalid_grant');
    });

    it('ends a device flow with access_denied or expired_token', async function () {
        const clock = sinon.useFakeTimers({ now: 1_800_000_000_000, toFake: ['Date'] });
        const start = async () =>
            (await request(`${sim.origin}/device_authorization`, { method: 'POST', headers: { ...FORM, Authorization: auth }, body: '' })).json();
        const denied = await start();
        assert.ok(sim.denyDevice(denied.user_code));
        const poll = (code: string) => token({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: code });
        assert.strictEqual((await poll(denied.device_code)).json().error, 'access_denied');
        const expired = await start();
        clock.tick(601_000);
        assert.strictEqual((await poll(expired.device_code)).json().error, 'expired_token');
    });

    it('logs every URL it saw, and starts for the demo over plain HTTP with its redirect URI registered', async function () {
        await request(`${sim.origin}/api/things?x=1`);
        assert.strictEqual(sim.stats.requests[0].url, '/api/things?x=1');
        const demo = await startForFlows({ port: 0, redirectUris: demoRedirectUris(1880) });
        try {
            assert.match(demo.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
            assert.strictEqual(demo.credentials.username, DEMO_CLIENT.id);
            assert.deepStrictEqual(demo.simulator.client(DEMO_CLIENT.id)?.redirectUris, [
                'http://127.0.0.1:1880/rest-session-server/oauth2/callback',
                'http://localhost:1880/rest-session-server/oauth2/callback',
            ]);
            assert.deepStrictEqual(demo.simulator.liveRefreshTokens(), [demo.env.OAUTH2_REFRESH_TOKEN]);
            assert.strictEqual(demo.env.OAUTH2_AUTHORIZE_URL, `${demo.baseUrl}/authorize`);
            assert.deepStrictEqual(DEMO_CLIENT.redirectUris, [], 'the shared client stays unchanged');
        } finally {
            await demo.stop();
        }
    });
});

/**
 * OAuth2 grants across processes, in a real Node-RED started by its binary: tokens authorized once
 * survive a restart with no new authorization; a SIGKILL right after the provider rotated the
 * refresh token loses nothing when the new one was saved first; and where the provider's reply was
 * lost with the process, the store still holds a usable token or the status says authorization
 * needed, never a loop. The provider simulator's counts are the evidence.
 */
import assert from 'node:assert';
import fs from 'node:fs';

import { request } from '../simulators/http-get';
import { OAuthProviderSimulator } from '../simulators/oauth2';
import { type NodeRedProcess, makeUserDir, startNodeRed } from '../support/node-red-process';
import { waitFor } from '../support/wait';

const CLIENT = { id: 'e2e-app', secret: 'e2e client secret&/' };

describe('OAuth2 grants across restarts and crashes (real Node-RED)', function () {
    this.timeout(120_000);
    let sim: OAuthProviderSimulator;
    let red: NodeRedProcess | undefined;
    let dir: string | undefined;
    /** Every Node-RED this test started, for their logs. */
    let started: NodeRedProcess[] = [];

    beforeEach(async function () {
        sim = await new OAuthProviderSimulator({ tls: false, clients: [{ ...CLIENT, redirectUris: [] }] }).start();
    });
    afterEach(async function () {
        await red?.stop('SIGKILL');
        red = undefined;
        await sim.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
        dir = undefined;
        started = [];
    });

    /** An http in → authorized request → http response flow: GET <node-red>/things answers the API's reply or the error code. */
    function flows(server: Record<string, unknown>): unknown[] {
        const inTab = (node: Record<string, unknown>) => ({ z: 'tab', ...node });
        return [
            { id: 'tab', type: 'tab', label: 'oauth2' },
            {
                id: 'srv',
                type: 'rest-session-server',
                vendor: 'custom',
                baseUrl: sim.origin,
                tls: '',
                tokenFrom: 'body',
                tokenName: 'access_token',
                expiry: 'body',
                expiryValue: 'expires_in',
                rejectedStatus: '401',
                logoutPath: '',
                tokenPath: '/token',
                clientAuth: 'basic',
                requestTimeout: 5000,
                ...server,
            },
            ...[
                { id: 'in', type: 'http in', url: '/things', method: 'get', wires: [['req']] },
                {
                    id: 'req',
                    type: 'rest-session-request',
                    server: 'srv',
                    method: 'GET',
                    url: '/api/things',
                    ret: 'obj',
                    paytoqs: 'ignore',
                    wires: [['plain']],
                },
                // The API's reply headers are not this answer's.
                { id: 'plain', type: 'change', rules: [{ t: 'delete', p: 'headers', pt: 'msg' }], wires: [['res']] },
                { id: 'catcher', type: 'catch', scope: ['req'], uncaught: false, wires: [['code', 'log']] },
                { id: 'code', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'errorCode', tot: 'msg' }], wires: [['res']] },
                { id: 'log', type: 'debug', active: true, tosidebar: false, console: true, complete: 'error', wires: [] },
                { id: 'res', type: 'http response', statusCode: '', headers: {}, wires: [] },
            ].map(inTab),
        ];
    }

    async function start(): Promise<string> {
        if (!dir) throw new Error('no user dir');
        red = await startNodeRed(dir);
        started.push(red);
        const [, url] = await red.waitForOutput(/Server now running at (http:\/\/127\.0\.0\.1:\d+)\//);
        return url;
    }

    /**
     * The client secret, every refresh and access token the provider issued or saw: in no file of the
     * user dir but the credentials Node-RED keeps (the guard's file holds them encrypted), in no line
     * Node-RED printed, and in no URL the provider saw.
     */
    function assertNoSecretLeft(output: string): void {
        const tokens = new Set<string>(sim.stats.oauth.refreshTokensSeen);
        for (const { body, authorization } of sim.stats.requests) {
            for (const value of new URLSearchParams(body).values()) if (/^(rt|at)\./.test(value)) tokens.add(value);
            const bearer = /^Bearer (\S+)$/.exec(authorization);
            if (bearer) tokens.add(bearer[1]);
        }
        for (const token of sim.liveRefreshTokens()) tokens.add(token);
        const secrets = [CLIENT.secret, encodeURIComponent(CLIENT.secret), ...tokens];
        assert.ok(tokens.size >= 3, 'the test knows the tokens it looks for');
        const files = fs.readdirSync(dir ?? '').filter((name) => /^\.rest-session|flows\.json/.test(name));
        assert.ok(
            files.some((name) => name.startsWith('.rest-session-guard')),
            `the guard's file is there (${files})`,
        );
        for (const name of files) {
            const text = fs.readFileSync(`${dir}/${name}`, 'utf8');
            for (const secret of secrets) assert.ok(!text.includes(secret), `${name} holds a secret in clear`);
        }
        for (const secret of secrets) assert.ok(!output.includes(secret), 'the log holds a secret');
        for (const { url } of sim.stats.requests) for (const secret of secrets) assert.ok(!url.includes(secret), `a secret in the URL ${url}`);
    }

    /** What GET /things answers: the API's payload, or the error code of a failed msg. */
    async function things(url: string): Promise<unknown> {
        const answer = await request(`${url}/things`, { timeoutMs: 15_000 }).catch((error: Error) => {
            throw new Error(`${error.message}\n${red?.output()}`);
        });
        return answer.headers['content-type']?.includes('json') ? answer.json() : answer.body;
    }

    it('authorized once, the tokens survive a restart and a crash with no new authorization; no secret in the files, the log or a URL', async function () {
        dir = makeUserDir({
            flows: flows({ grant: 'authorization_code', authorizeUrl: `${sim.origin}/authorize` }),
            credentials: { srv: { username: CLIENT.id, password: CLIENT.secret } },
        });
        sim.options.autoApprove = true;
        let url = await start();
        const redirectUri = `${url}/rest-session-server/oauth2/callback`;
        sim.registerRedirect(CLIENT.id, redirectUri);
        assert.strictEqual(await things(url), 'AUTHORIZATION_REQUIRED');

        const authorizing = await request(`${url}/rest-session-server/oauth2/authorize`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: { id: 'srv', redirectUri },
        });
        const provider = await request(authorizing.json().url);
        const done = await request(String(provider.headers.location));
        assert.strictEqual(done.status, 200, done.body);
        assert.deepStrictEqual(await things(url), { things: ['a', 'b'] });

        await red?.stop('SIGINT');
        url = await start();
        assert.deepStrictEqual(await things(url), { things: ['a', 'b'] }, 'works after the restart');
        await red?.stop('SIGKILL');
        sim.expireAccessTokens();
        url = await start();
        assert.deepStrictEqual(await things(url), { things: ['a', 'b'] }, 'refreshes after a crash');
        assert.strictEqual(sim.stats.oauth.codesIssued, 1, 'one authorization in all');
        assertNoSecretLeft(started.map((process) => process.output()).join('\n'));
        assert.strictEqual(sim.stats.oauth.tokenRequests.authorization_code, 1);
        assert.strictEqual(sim.stats.oauth.refreshes, 1);
        assert.strictEqual(sim.stats.oauth.deadRefreshUses, 0);
    });

    it('SIGKILL right after the rotation, with the new refresh token saved first: the chain lives on', async function () {
        dir = makeUserDir({
            flows: flows({ grant: 'refresh_token' }),
            credentials: { srv: { username: CLIENT.id, password: CLIENT.secret, refreshToken: sim.issueRefreshToken(CLIENT.id) } },
        });
        let url = await start();
        // The first refresh rotates the pasted token; the access token's first use reaches the API, where the process dies.
        const reached = sim.holdNext('resource');
        void request(`${url}/things`, { timeoutMs: 30_000 }).catch(() => undefined);
        await reached;
        await red?.stop('SIGKILL');
        assert.strictEqual(sim.stats.oauth.refreshes, 1);

        sim.expireAccessTokens();
        url = await start();
        assert.deepStrictEqual(await things(url), { things: ['a', 'b'] });
        assert.strictEqual(sim.stats.oauth.refreshes, 2, 'the saved refresh token was used');
        assert.strictEqual(sim.stats.oauth.deadRefreshUses, 0, 'the rotated-away token was never sent again');
    });

    it('SIGKILL while the rotated reply is on its way (lost): "authorization needed" after the guard\'s wait, never a loop', async function () {
        dir = makeUserDir({
            flows: flows({ grant: 'refresh_token' }),
            credentials: { srv: { username: CLIENT.id, password: CLIENT.secret, refreshToken: sim.issueRefreshToken(CLIENT.id) } },
            // A login cut off by a crash cools its credential down (the guard's rule); a short one here.
            settings: { restSessionServerCoolDown: 1000 },
        });
        let url = await start();
        const rotated = sim.holdNext('rotation');
        void request(`${url}/things`, { timeoutMs: 30_000 }).catch(() => undefined);
        await rotated;
        await red?.stop('SIGKILL');

        url = await start();
        // Held while the crashed refresh's cool-down lasts, then one refresh with the rotated-away token: dead.
        await waitFor(async () => (await things(url)) === 'AUTHORIZATION_REQUIRED', { message: 'authorization needed', timeoutMs: 30_000 });
        const answers = [];
        for (let i = 0; i < 5; i++) answers.push(await things(url));
        assert.deepStrictEqual(answers, Array(5).fill('AUTHORIZATION_REQUIRED'));
        assert.strictEqual(sim.stats.oauth.tokenRequests.refresh_token, 2, 'one refresh before the crash, one after it, then none');
        assert.strictEqual(sim.stats.oauth.deadRefreshUses, 1);
    });
});

/**
 * The custom vendor in a real Node-RED runtime, over HTTPS with the test CA, against the three
 * custom simulators (a JSON-token API, a form login with a session cookie, an OAuth2
 * client-credentials endpoint), each configured from its editor preset: one login per burst,
 * re-login and replay once, the guard (never a lockout), logout, and no secret in any msg, status or log.
 */
import assert from 'node:assert';

import { customPresets } from '../../src/lib/vendors/custom/presets';
import { CustomApiSimulator, type CustomApi } from '../simulators/custom';
import { type FlowNode, type Msg, type Recorders, answeredOnce, helper, load, logText, settle, standardFlow } from '../support/harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const guardFiles = require('../../nodes/lib/node-red/guard-file.js') as { closeEmbeddedStores(): Promise<void> };

interface Shape {
    api: CustomApi;
    preset: string;
    /** Settings beyond the preset: the simulator's paths. */
    server: FlowNode;
    url: string;
    logsOut: boolean;
}

const SHAPES: Shape[] = [
    { api: 'json', preset: 'jsonToken', server: { loginPath: '/json/login', logoutPath: '/json/logout' }, url: '/json/devices', logsOut: true },
    {
        api: 'form',
        preset: 'formCookie',
        server: { loginPath: '/form/login', logoutPath: '/form/logout', tokenName: 'sid' },
        url: '/form/status',
        logsOut: true,
    },
    { api: 'oauth2', preset: 'oauth2', server: { loginPath: '/oauth2/token' }, url: '/oauth2/api/things', logsOut: false },
];

describe('custom vendor in a Node-RED runtime', function () {
    let sim: CustomApiSimulator;

    before(async () => {
        await helper.startServer();
    });
    after(async () => {
        await helper.stopServer();
    });
    afterEach(async function () {
        await helper.unload();
        await sim.stop();
        // The guard remembers per origin: a later simulator on a reused port must not inherit this test's block.
        await guardFiles.closeEmbeddedStores();
    });

    async function start(options: ConstructorParameters<typeof CustomApiSimulator>[0] = {}): Promise<CustomApiSimulator> {
        sim = new CustomApiSimulator(options);
        await sim.start();
        return sim;
    }

    function flow(shape: Shape, server: FlowNode = {}): FlowNode[] {
        return standardFlow(sim.baseUrl, {
            server: { vendor: 'custom', ...customPresets[shape.preset], ...shape.server, ...server },
            request: { url: shape.url },
        });
    }

    function loadShape(shape: Shape, server: FlowNode = {}, password = sim.user.password): Promise<Recorders> {
        return load(flow(shape, server), { server: { username: sim.user.username, password } });
    }

    /** No password, token or session cookie in any msg, status or log line. */
    function assertNoSecret(rec: Recorders): void {
        const seen = JSON.stringify([rec.out.messages, rec.caught.messages, rec.statuses.messages]) + logText();
        for (const secret of [sim.user.password, encodeURIComponent(sim.user.password), ...sim.issued()]) {
            assert.ok(!seen.includes(secret), `a secret leaked: ${secret.slice(0, 4)}…`);
        }
    }

    for (const shape of SHAPES) {
        describe(`${shape.api} (${shape.preset} preset)`, function () {
            it('logs in once for a burst, sends the credential, keeps secrets out of msg.payload, logs out', async function () {
                await start();
                const rec = await loadShape(shape);
                for (let i = 0; i < 20; i++) helper.getNode('r1').receive({ i });
                await answeredOnce(rec, 20);
                assert.deepStrictEqual(
                    rec.out.messages.map((m: Msg) => m.statusCode),
                    new Array(20).fill(200),
                );
                assert.strictEqual(sim.stats.apis[shape.api].loginAttempts, 1, 'one login for the burst');
                assert.strictEqual(sim.stats.apis[shape.api].served, 20);

                helper.getNode('l1').receive({});
                const [login] = (await rec.out.waitFor(21)).slice(20);
                assert.strictEqual(login.session.vendor, 'custom');
                assert.strictEqual(login.session.user, sim.user.username);
                assert.strictEqual(sim.stats.apis[shape.api].loginAttempts, 1, 'the live session is reused');
                const payload = JSON.stringify(login.payload);
                assert.ok(!/token|secret|password/i.test(payload), payload);
                if (shape.api === 'json') assert.deepStrictEqual(login.payload, { expires_in: 3600, user: { name: sim.user.username, role: 'operator' } });
                if (shape.preset !== 'formCookie')
                    assert.ok(Math.abs(login.session.expiresAt - (login.session.loggedInAt + 3600_000)) < 5000, 'expiry read from expires_in');

                helper.getNode('o1').receive({});
                await rec.out.waitFor(22);
                assert.strictEqual(sim.stats.apis[shape.api].logouts, shape.logsOut ? 1 : 0);
                assert.strictEqual(sim.live(shape.api), shape.logsOut ? 0 : 1);
                assertNoSecret(rec);
            });

            it('logs in again once when the server ends the session, and replays the refused request once', async function () {
                await start();
                const rec = await loadShape(shape);
                helper.getNode('r1').receive({});
                await rec.out.waitFor(1);
                sim.expireAll();
                for (let i = 0; i < 5; i++) helper.getNode('r1').receive({ i });
                await answeredOnce(rec, 6);
                assert.deepStrictEqual(
                    rec.out.messages.map((m: Msg) => m.statusCode),
                    new Array(6).fill(200),
                );
                assert.strictEqual(sim.stats.apis[shape.api].loginsOk, 2, 'one re-login for the five refused requests');
                assertNoSecret(rec);
            });

            it('reports a wrong password as INVALID_CREDENTIALS and never sends it again during the cool-down', async function () {
                await start();
                const rec = await loadShape(shape, {}, 'wrong-Passw0rd');
                helper.getNode('r1').receive({});
                helper.getNode('r1').receive({});
                await answeredOnce(rec, 2);
                assert.deepStrictEqual(
                    rec.caught.messages.map((m: Msg) => m.errorCode),
                    ['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS'],
                );
                assert.strictEqual(sim.stats.apis[shape.api].loginAttempts, 1);
                helper.getNode('l1').receive({});
                await settle(rec, 3);
                assert.strictEqual(rec.caught.messages[2].errorCode, 'INVALID_CREDENTIALS');
                assert.ok(rec.caught.messages[2].retryAfter > 0);
                assert.strictEqual(sim.stats.apis[shape.api].loginAttempts, 1, 'held back without a request');
                assertNoSecret(rec);
            });

            it('takes a login without the credential as SERVER_ERROR (counted), not as a session', async function () {
                await start();
                sim.noTokenNext(shape.api);
                const rec = await loadShape(shape);
                helper.getNode('l1').receive({});
                await answeredOnce(rec, 1);
                assert.strictEqual(rec.caught.messages[0].errorCode, 'SERVER_ERROR');
                assert.strictEqual(sim.live(shape.api), 0);
            });
        });
    }

    it('json: a lockout (429 with Retry-After) blocks every later login of the user, whatever the password', async function () {
        await start({ lockoutThreshold: 1 });
        const shape = SHAPES[0];
        let rec = await loadShape(shape, {}, 'wrong-Passw0rd');
        helper.getNode('l1').receive({});
        await settle(rec, 1);
        await helper.unload();
        // The right password now: the server still holds the lock, and the guard learns it once.
        rec = await loadShape(shape);
        helper.getNode('l1').receive({});
        await settle(rec, 1);
        assert.strictEqual(rec.caught.messages[0].errorCode, 'RATE_LIMITED');
        assert.ok(rec.caught.messages[0].retryAfter > 500);
        const attempts = sim.stats.apis.json.loginAttempts;
        helper.getNode('l1').receive({});
        await settle(rec, 2);
        assert.strictEqual(rec.caught.messages[1].errorCode, 'RATE_LIMITED');
        assert.strictEqual(sim.stats.apis.json.loginAttempts, attempts, 'no login while the server blocks');
    });

    it('oauth2: a 400 invalid_client (RFC 6749 §5.2) is INVALID_CREDENTIALS, so the guard holds it back', async function () {
        await start({ invalidClientStatus: 400 });
        const rec = await loadShape(SHAPES[2], {}, 'wrong-secret');
        helper.getNode('l1').receive({});
        helper.getNode('l1').receive({});
        await answeredOnce(rec, 2);
        assert.deepStrictEqual(rec.caught.messages.map((m: Msg) => [m.errorCode, m.statusCode]).slice(0, 1), [['INVALID_CREDENTIALS', 400]]);
        assert.strictEqual(sim.stats.apis.oauth2.loginAttempts, 1);
    });

    it('oauth2: sends the client as RFC 6749 §2.3.1 Basic (form-encoded first) with a form body', async function () {
        await start();
        const rec = await loadShape(SHAPES[2]);
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        const login = sim.stats.requests.find((r) => r.path === '/oauth2/token');
        assert.ok(login);
        assert.strictEqual(login.contentType, 'application/x-www-form-urlencoded');
        const encoded = `${encodeURIComponent(sim.user.username)}:${new URLSearchParams({ v: sim.user.password }).toString().slice(2)}`;
        assert.strictEqual(login.authorization, `Basic ${Buffer.from(encoded).toString('base64')}`);
        assert.deepStrictEqual(sim.stats.apis.oauth2.loginBodies, ['grant_type=client_credentials']);
    });

    it('form: the password is form-encoded in the body and the session cookie never reaches msg.responseCookies', async function () {
        await start();
        const rec = await loadShape(SHAPES[1]);
        helper.getNode('r1').receive({});
        const [reply] = await rec.out.waitFor(1);
        assert.deepStrictEqual(new URLSearchParams(sim.stats.apis.form.loginBodies[0]).get('password'), sim.user.password);
        assert.strictEqual(reply.responseCookies?.sid, undefined);
        assertNoSecret(rec);
    });

    it('a JSON template that is not JSON once filled is CONFIG at deploy: nothing is sent', async function () {
        await start();
        const rec = await loadShape(SHAPES[0], { loginTemplate: '{"username":{{username}}}' });
        helper.getNode('r1').receive({});
        await settle(rec, 1);
        assert.strictEqual(rec.caught.messages[0].errorCode, 'CONFIG');
        assert.strictEqual(sim.stats.requests.length, 0);
    });
});

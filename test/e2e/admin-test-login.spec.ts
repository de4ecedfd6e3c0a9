/**
 * The config dialog's "Test login" admin endpoint in a real Node-RED with adminAuth on: refused
 * without a token or without the write permission, and with one it logs in to the SmartServer
 * simulator through the same core as the nodes (TLS of the deployed tls-config node, the shared
 * login guard), logs out again, and never answers with a password, cookie or token.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

// bcryptjs comes with Node-RED (its adminAuth uses it): hash the test users' passwords with it.
const bcrypt = require(require.resolve('bcryptjs', { paths: [path.dirname(require.resolve('node-red/package.json'))] }));

import { startForFlows } from '../simulators/smartserver';
// The browser test's runtime helpers are JavaScript (test/browser is converted separately).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtime = require('../browser/support/runtime');

const ENDPOINT = '/rest-session-server/test-login';
const EDITOR_USER = { username: 'editor', password: 'editor-Secret-42' };
const READER_USER = { username: 'reader', password: 'reader-Secret-42' };

function adminAuthSource() {
    const users = [
        { username: EDITOR_USER.username, password: bcrypt.hashSync(EDITOR_USER.password, 8), permissions: '*' },
        { username: READER_USER.username, password: bcrypt.hashSync(READER_USER.password, 8), permissions: 'read' },
    ];
    return `adminAuth: { type: 'credentials', users: ${JSON.stringify(users)} },`;
}

describe('admin endpoint: test login (real Node-RED, adminAuth on)', function () {
    this.timeout(120000);
    let sim: any;
    let red: any;
    let userDir: any;
    let token: any;

    function dialog(overrides = {}) {
        return {
            id: 'srv',
            vendor: 'smartserver',
            baseUrl: sim.baseUrl,
            tls: 'tls',
            proxy: '',
            requestTimeout: '5000',
            username: 'admin',
            password: sim.credentials.password,
            ...overrides,
        };
    }

    function secretFree(res: any) {
        assert.ok(!res.text.includes(sim.credentials.password), 'no password in the answer');
        assert.ok(!/cmsSID/i.test(res.text), 'no session cookie in the answer');
    }

    before(async function () {
        sim = await startForFlows();
        userDir = runtime.tempDir('rest-session-admin-');
        runtime.writeProjectPackage(userDir);
        runtime.linkPackage(userDir);
        runtime.writeSettings(userDir, adminAuthSource());
        red = await runtime.startNodeRed(userDir);
        token = await runtime.adminToken(red.url, EDITOR_USER.username, EDITOR_USER.password);
        await runtime.deployFlows(
            red.url,
            [
                runtime.tlsConfigNode('tls'),
                {
                    id: 'srv',
                    type: 'rest-session-server',
                    name: 'sim',
                    vendor: 'smartserver',
                    baseUrl: sim.baseUrl,
                    tls: 'tls',
                    requestTimeout: 5000,
                    logoutOnClose: true,
                    exposeCredential: false,
                    credentials: { ...sim.credentials },
                },
            ],
            token,
        );
    });

    after(async function () {
        if (red) await red.stop();
        if (sim) await sim.stop();
        if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    });

    it('refuses a call without a token (401) and sends nothing', async function () {
        const res = await runtime.request(red.url, 'POST', ENDPOINT, { body: dialog() });
        assert.strictEqual(res.status, 401);
        assert.strictEqual(sim.simulator.stats.loginAttempts, 0);
    });

    it('refuses a user without the write permission (401)', async function () {
        const readerToken = await runtime.adminToken(red.url, READER_USER.username, READER_USER.password, 'read');
        const res = await runtime.request(red.url, 'POST', ENDPOINT, { body: dialog(), token: readerToken });
        assert.strictEqual(res.status, 401);
        assert.strictEqual(sim.simulator.stats.loginAttempts, 0);
    });

    it('logs in with the dialog values, reports the user and expiry, and logs out', async function () {
        const res = await runtime.request(red.url, 'POST', ENDPOINT, { body: dialog(), token });
        assert.strictEqual(res.status, 200, res.text);
        assert.strictEqual(res.json.ok, true, res.text);
        assert.strictEqual(res.json.user, 'admin');
        assert.strictEqual(res.json.vendor, 'smartserver');
        assert.ok(res.json.expiresAt > Date.now(), 'expiry from /iap/auth/sessionTimeout');
        assert.match(res.json.expiresIn, /^(\d+d )?(\d+h )?\d+m \d+s$/, `the time left as every text says it: ${res.json.expiresIn}`);
        assert.strictEqual(res.json.loggedOut, true);
        secretFree(res);
        assert.strictEqual(sim.simulator.stats.loginsOk, 1);
        assert.strictEqual(sim.simulator.stats.logouts, 1);
    });

    it('uses the stored password when the editor sends the unchanged-password placeholder', async function () {
        const res = await runtime.request(red.url, 'POST', ENDPOINT, { body: dialog({ password: '__PWRD__' }), token });
        assert.strictEqual(res.json.ok, true, res.text);
        assert.strictEqual(sim.simulator.stats.loginsOk, 2);
    });

    it('never sends the stored password to another server than the deployed one', async function () {
        const attempts = sim.simulator.stats.loginAttempts;
        const res = await runtime.request(red.url, 'POST', ENDPOINT, { body: dialog({ password: '__PWRD__', baseUrl: 'https://127.0.0.2:1/cms' }), token });
        assert.strictEqual(res.json.ok, false);
        assert.strictEqual(res.json.code, 'CONFIG');
        assert.strictEqual(res.json.sent, false, 'answered as "not sent", not as a failed login');
        assert.match(res.json.message, /base URL differs .* type the password again/);
        // The dialog says it in the editor's language: the catalog text, its part a text too.
        assert.deepStrictEqual(res.json.text, { key: 'testLogin.changed', params: { what: { key: 'testLogin.what.baseUrl' } } });
        assert.strictEqual(sim.simulator.stats.loginAttempts, attempts);
    });

    it('says why nothing answered as a catalog text the dialog shows in its language (a closed port: check host and port)', async function () {
        const closed = net.createServer();
        await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
        const port = (closed.address() as net.AddressInfo).port;
        await new Promise((resolve) => closed.close(resolve));
        const res = await runtime.request(red.url, 'POST', ENDPOINT, { body: dialog({ id: '', baseUrl: `https://127.0.0.1:${port}/cms` }), token });
        assert.strictEqual(res.json.code, 'NETWORK');
        assert.strictEqual(res.json.text.key, 'transport.refused');
        assert.deepStrictEqual([res.json.text.params.port, res.json.text.params.host, res.json.text.params.code], [String(port), '127.0.0.1', 'ECONNREFUSED']);
        assert.match(
            res.json.message,
            new RegExp(`nothing accepts connections on port ${port} of 127\\.0\\.0\\.1 \\(ECONNREFUSED\\): check the host and port`),
        );
    });

    it('reports a wrong password as INVALID_CREDENTIALS, then holds it back (login guard)', async function () {
        const wrong = dialog({ password: 'not-the-Password-1' });
        const first = await runtime.request(red.url, 'POST', ENDPOINT, { body: wrong, token });
        assert.strictEqual(first.json.ok, false);
        assert.strictEqual(first.json.code, 'INVALID_CREDENTIALS');
        assert.strictEqual(first.json.statusCode, 401);
        assert.ok(!first.text.includes('not-the-Password-1'));
        assert.strictEqual(first.json.sent, true, 'the login was sent and failed');
        // Only this password is held back, for the cool-down, said as every text says a duration.
        assert.strictEqual(first.json.heldBack.scope, 'credentials');
        assert.ok(first.json.heldBack.until > Date.now());
        assert.match(first.json.heldBack.left, /^\d+m \d+s$/);
        const attempts = sim.simulator.stats.loginAttempts;
        const second = await runtime.request(red.url, 'POST', ENDPOINT, { body: wrong, token });
        assert.strictEqual(second.json.code, 'INVALID_CREDENTIALS');
        assert.ok(second.json.retryAfter > 0);
        assert.strictEqual(second.json.sent, false, 'held back: not sent');
        assert.strictEqual(second.json.heldBack.scope, 'credentials');
        assert.match(second.json.message, /Login not sent: .* for \d+m \d+s\./);
        assert.strictEqual(second.json.text.key, 'guard.coolDown');
        assert.match(second.json.text.params.wait, /^\d+m \d+s$/);
        assert.strictEqual(sim.simulator.stats.loginAttempts, attempts, 'the same wrong password is not sent again');
        // The right password is not held back: it is sent at once and works.
        const logins = sim.simulator.stats.loginsOk;
        const right = await runtime.request(red.url, 'POST', ENDPOINT, { body: dialog(), token });
        assert.strictEqual(right.json.ok, true, right.text);
        assert.strictEqual(sim.simulator.stats.loginsOk, logins + 1);
    });

    it('after the failure budget is spent, says that every login of the user is held back', async function () {
        const body = (n: number) => dialog({ username: 'budget-user', password: `wrong-Password-${n}` });
        const answers = [];
        for (let n = 1; n <= 3; n++) answers.push((await runtime.request(red.url, 'POST', ENDPOINT, { body: body(n), token })).json);
        assert.deepStrictEqual(
            answers.map((a) => a.heldBack?.scope),
            ['credentials', 'credentials', 'user'],
            JSON.stringify(answers),
        );
        const attempts = sim.simulator.stats.loginAttempts;
        const fourth = (await runtime.request(red.url, 'POST', ENDPOINT, { body: body(4), token })).json;
        assert.strictEqual(fourth.sent, false);
        assert.strictEqual(fourth.heldBack.scope, 'user');
        assert.match(fourth.heldBack.left, /^\d+m \d+s$/);
        assert.strictEqual(fourth.text.key, 'guard.budget');
        assert.deepStrictEqual([fourth.text.params.failures, fourth.text.params.window], [3, '30m 0s']);
        assert.match(fourth.message, /3 failed logins as "budget-user" within 30m 0s: held back to avoid a lockout \(next try in \d+m \d+s\)\./);
        assert.strictEqual(sim.simulator.stats.loginAttempts, attempts, 'a fourth password is not sent');
    });

    it('answers CONFIG for a bad base URL, no username or an over-60-day token lifetime, sending nothing', async function () {
        const attempts = sim.simulator.stats.loginAttempts;
        const badUrl = await runtime.request(red.url, 'POST', ENDPOINT, { body: dialog({ baseUrl: 'ftp://x' }), token });
        assert.strictEqual(badUrl.json.code, 'CONFIG');
        const noUser = await runtime.request(red.url, 'POST', ENDPOINT, { body: dialog({ username: '' }), token });
        assert.strictEqual(noUser.json.code, 'CONFIG');
        const lifetime = await runtime.request(red.url, 'POST', ENDPOINT, { body: dialog({ vendor: 'cmwell', tokenLifetime: '61d' }), token });
        assert.strictEqual(lifetime.json.code, 'CONFIG');
        assert.match(lifetime.json.message, /60 days/);
        assert.strictEqual(sim.simulator.stats.loginAttempts, attempts);
    });

    it('reports an untrusted certificate as TLS when no tls-config is selected', async function () {
        const res = await runtime.request(red.url, 'POST', ENDPOINT, { body: dialog({ tls: '' }), token });
        assert.strictEqual(res.json.code, 'TLS', res.text);
    });

    it('tests another vendor through its adapter (Commvault: Base64 password, Authtoken)', async function () {
        const commvault = await require('../simulators/commvault').startForFlows();
        try {
            const body = dialog({ id: '', vendor: 'commvault', baseUrl: commvault.baseUrl, format: 'json', ...commvault.credentials });
            const res = await runtime.request(red.url, 'POST', ENDPOINT, { body, token });
            assert.strictEqual(res.json.ok, true, res.text);
            assert.strictEqual(res.json.vendor, 'commvault');
            assert.strictEqual(commvault.simulator.stats.loginsOk, 1);
            assert.strictEqual(commvault.simulator.stats.logouts, 1);
            assert.ok(!res.text.includes(commvault.credentials.password) && !/authtoken|QSDK/i.test(res.text), 'no password or token');
        } finally {
            await commvault.stop();
        }
    });

    it('is bounded in time: a server that never answers gives TIMEOUT', async function () {
        const { SmartServerSimulator } = require('../simulators/smartserver');
        const slow = new SmartServerSimulator({ loginDelayMs: 60000 });
        await slow.start();
        try {
            const started = Date.now();
            const res = await runtime.request(red.url, 'POST', ENDPOINT, {
                body: dialog({ id: '', baseUrl: slow.baseUrl('cms'), requestTimeout: '300' }),
                token,
            });
            assert.strictEqual(res.json.code, 'TIMEOUT', res.text);
            assert.ok(Date.now() - started < 10000, `answered after ${Date.now() - started} ms`);
        } finally {
            await slow.stop();
        }
    });

    it('leaves no password in the log', function () {
        assert.ok(!red.log().includes(sim.credentials.password));
        assert.ok(!red.log().includes('not-the-Password-1'));
    });
});

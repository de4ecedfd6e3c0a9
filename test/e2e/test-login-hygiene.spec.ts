/**
 * Test login's side doors (issue 12, findings 1 to 4) in a started Node-RED, with adminAuth on and
 * off, against recording servers on 127.0.0.1: only JSON bodies (a cross-site form post sends
 * nothing), typed values taken literally (no `${VAR}`), the stored password only where the deployed
 * node would send it (vendor, base URL, TLS, proxy, identity settings), and an answer that quotes
 * nothing of a reply but its status and the vendor's documented message field, scrubbed.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';

import { flowsStarted } from '../support/flows-started';
import { RecordingServer, Received, echoOf, json } from '../support/recording-server';

/* eslint-disable @typescript-eslint/no-require-imports */
const runtime = require('../browser/support/runtime');
const bcrypt = require(require.resolve('bcryptjs', { paths: [path.dirname(require.resolve('node-red/package.json'))] }));
/* eslint-enable @typescript-eslint/no-require-imports */

const ENDPOINT = '/rest-session-server/test-login';
const PASSWORD = 'Stored-Secret-Pw-9';
const SECRET_VAR = 'REST_SESSION_TEST_SECRET';
const SECRET_VALUE = 'env-Secret-Value-77';
const OTHER_VAR = 'REST_SESSION_TEST_OTHER';
const OTHER_VALUE = 'env-Other-Value-55';
const EDITOR = { username: 'editor', password: 'editor-Secret-42' };

type Answer = { status: number; text: string; json: any };

/** A SmartServer that accepts admin/PASSWORD. */
function smartserver(r: Received) {
    if (r.path === '/iap/auth/login') {
        const body = JSON.parse(r.body || '{}');
        if (body.password !== PASSWORD) return json(401, { message: 'Wrong Username or Password' });
        return json(200, { userName: body.username }, { 'Set-Cookie': 'cmsSID=abcdef0123456789; Path=/' });
    }
    if (r.path === '/iap/auth/sessionTimeout') return { status: 200, body: '600000' };
    if (r.path === '/iap/auth/logout') return json(200, {});
    return undefined;
}

for (const adminAuth of [true, false]) {
    describe(`Test login hygiene (real Node-RED, adminAuth ${adminAuth ? 'on' : 'off'})`, function () {
        this.timeout(120000);
        let backend: RecordingServer;
        let attacker: RecordingServer;
        let red: { url: string; log(): string; stop(): Promise<void> };
        let userDir: string;
        let token: string | undefined;

        const post = (body: unknown, headers: Record<string, string> = {}): Promise<Answer> =>
            runtime.request(red.url, 'POST', ENDPOINT, { body, token, headers });
        const dialog = (overrides: Record<string, unknown> = {}) => ({
            id: 'srv',
            vendor: 'smartserver',
            baseUrl: backend.origin,
            tls: '',
            proxy: '',
            requestTimeout: '3000',
            username: 'admin',
            password: '__PWRD__',
            ...overrides,
        });
        const sentNothing = () => {
            assert.deepStrictEqual(attacker.received, [], 'the attacker got nothing');
            assert.deepStrictEqual(backend.received, [], 'the backend got nothing');
        };

        before(async function () {
            backend = await new RecordingServer(smartserver).start();
            attacker = await new RecordingServer().start();
            process.env[SECRET_VAR] = SECRET_VALUE;
            process.env[OTHER_VAR] = OTHER_VALUE;
            userDir = runtime.tempDir('rest-session-hygiene-');
            runtime.writeProjectPackage(userDir);
            runtime.linkPackage(userDir);
            const users = [{ username: EDITOR.username, password: bcrypt.hashSync(EDITOR.password, 8), permissions: '*' }];
            runtime.writeSettings(userDir, adminAuth ? `adminAuth: { type: 'credentials', users: ${JSON.stringify(users)} },` : '');
            red = await runtime.startNodeRed(userDir);
            await flowsStarted(red, 1);
            token = adminAuth ? await runtime.adminToken(red.url, EDITOR.username, EDITOR.password) : undefined;
            await runtime.deployFlows(
                red.url,
                [
                    { id: 'evilproxy', type: 'http proxy', name: '', url: attacker.origin, noproxy: [] },
                    {
                        id: 'noverify',
                        type: 'tls-config',
                        name: '',
                        cert: '',
                        key: '',
                        ca: '',
                        certname: '',
                        keyname: '',
                        caname: '',
                        servername: '',
                        verifyservercert: false,
                    },
                    {
                        id: 'srv',
                        type: 'rest-session-server',
                        vendor: 'smartserver',
                        baseUrl: backend.origin,
                        requestTimeout: 3000,
                        logoutOnClose: true,
                        credentials: { username: 'admin', password: PASSWORD },
                    },
                    {
                        id: 'cv',
                        type: 'rest-session-server',
                        vendor: 'commvault',
                        baseUrl: backend.origin,
                        domain: 'corp',
                        format: 'json',
                        requestTimeout: 3000,
                        credentials: { username: 'admin', password: PASSWORD },
                    },
                ],
                token,
            );
            await flowsStarted(red, 2);
        });

        after(async function () {
            delete process.env[SECRET_VAR];
            delete process.env[OTHER_VAR];
            if (red) await red.stop();
            await backend.stop();
            await attacker.stop();
            if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
        });

        beforeEach(() => {
            backend.received.length = 0;
            attacker.received.length = 0;
            attacker.answer(() => undefined);
        });

        it('refuses a cross-site form post (urlencoded) and any other non-JSON body with 415, sending nothing (finding 3)', async function () {
            const form = new URLSearchParams({
                vendor: 'smartserver',
                baseUrl: attacker.origin,
                id: 'srv',
                username: 'admin',
                password: '__PWRD__',
            }).toString();
            const posted = await post(form, { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://evil.example' });
            assert.strictEqual(posted.status, 415, posted.text);
            const plain = await post(JSON.stringify(dialog({ baseUrl: attacker.origin, password: 'typed' })), { 'Content-Type': 'text/plain' });
            assert.strictEqual(plain.status, 415, plain.text);
            sentNothing();
        });

        it('takes typed values literally: no ${VAR} is expanded or sent (finding 1)', async function () {
            attacker.answer((r) => (r.path === '/iap/auth/login' ? json(401, { message: `no ${r.body}` }) : undefined));
            const answer = await post(dialog({ id: '', baseUrl: attacker.origin, username: `\${${OTHER_VAR}}`, password: `\${${SECRET_VAR}}` }));
            assert.strictEqual(answer.json.code, 'INVALID_CREDENTIALS', answer.text);
            const login = attacker.requestsTo('/iap/auth/login');
            assert.strictEqual(login.length, 1);
            assert.deepStrictEqual(JSON.parse(login[0].body), { username: `\${${OTHER_VAR}}`, password: `\${${SECRET_VAR}}` });
            assert.ok(!attacker.text().includes(SECRET_VALUE) && !attacker.text().includes(OTHER_VALUE));
            assert.ok(!answer.text.includes(SECRET_VALUE) && !answer.text.includes(OTHER_VALUE));
        });

        it('uses the stored password when nothing that decides where it goes changed', async function () {
            const answer = await post(dialog());
            assert.strictEqual(answer.json.ok, true, answer.text);
            assert.strictEqual(JSON.parse(backend.requestsTo('/iap/auth/login')[0].body).password, PASSWORD);
            assert.ok(!answer.text.includes(PASSWORD));
        });

        const changes: Array<[string, () => Record<string, unknown>]> = [
            ['an attacker proxy', () => ({ proxy: 'evilproxy' })],
            ['a tls-config that does not verify', () => ({ tls: 'noverify' })],
            ['another vendor', () => ({ vendor: 'cmwell' })],
            ['another port of the same host', () => ({ baseUrl: attacker.origin })],
            ['another base path', () => ({ baseUrl: `${backend.origin}/other` })],
        ];
        for (const [what, overrides] of changes) {
            it(`never sends the stored password with ${what}: CONFIG, nothing sent (finding 2)`, async function () {
                const answer = await post(dialog(overrides()));
                assert.strictEqual(answer.json.ok, false, answer.text);
                assert.strictEqual(answer.json.code, 'CONFIG', answer.text);
                assert.match(answer.json.message, /type the password again/);
                sentNothing();
            });
        }

        it("never sends the stored password with another value of the vendor's identity settings (Commvault domain)", async function () {
            const answer = await post(dialog({ id: 'cv', vendor: 'commvault', format: 'json', domain: 'elsewhere' }));
            assert.strictEqual(answer.json.code, 'CONFIG', answer.text);
            assert.match(answer.json.message, /domain/);
            sentNothing();
        });

        it("quotes nothing of another service's reply but its status and the documented message field, scrubbed (finding 4)", async function () {
            const internal = 'INTERNAL-DATA-db-password=hunter2';
            attacker.answer(() => ({ status: 500, headers: { 'Content-Type': 'text/html' }, body: `<h1>${internal}</h1>` }));
            const html = await post(dialog({ id: '', baseUrl: attacker.origin, password: 'typed-Secret-1' }));
            assert.strictEqual(html.json.code, 'SERVER_ERROR', html.text);
            assert.strictEqual(html.json.statusCode, 500);
            assert.ok(!html.text.includes('INTERNAL-DATA'), html.text);

            attacker.answer((r) => json(500, { detail: internal, message: `failed for ${echoOf(r)}` }));
            const echoed = await post(dialog({ id: '', baseUrl: attacker.origin, password: 'typed-Secret-2' }));
            assert.strictEqual(echoed.json.code, 'SERVER_ERROR', echoed.text);
            assert.match(echoed.json.message, /failed for/);
            assert.ok(!echoed.text.includes('INTERNAL-DATA'), echoed.text);
            assert.ok(!echoed.text.includes('typed-Secret-2') && !echoed.text.includes(Buffer.from('typed-Secret-2').toString('base64')), echoed.text);
        });

        it('leaves no password or environment value in the log', function () {
            const log = red.log();
            for (const secret of [PASSWORD, SECRET_VALUE, 'typed-Secret-2']) assert.ok(!log.includes(secret), secret);
        });
    });
}

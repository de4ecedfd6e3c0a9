/**
 * The secrets capture against servers that echo everything they receive: for every vendor, a login
 * reply (accepted or refused) and a logout reply that quote the request body, `Authorization`, the
 * cookies and the token, in the vendor's message field and elsewhere. In a real Node-RED, no
 * password (in any encoding), Authorization value, cookie or token may reach a msg, a Catch, a
 * status or the log (debug nodes print whole msgs to the log).
 */
import assert from 'node:assert';
import crypto from 'node:crypto';
import fs from 'node:fs';

import { flowsStarted } from '../support/flows-started';
import { RecordingServer, Received, echoOf, json } from '../support/recording-server';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtime = require('../browser/support/runtime');

const GOOD = 'Good-Secret-Pw-31';
const BAD = 'Bad-Secret-Pw-64';
const VENDORS = ['smartserver', 'cmwell', 'sdm', 'commvault'] as const;
type Vendor = (typeof VENDORS)[number];

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const b64url = (text: string) => b64(text).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

/** Every form of a password a leak could take. */
function passwordForms(password: string): string[] {
    return [
        password,
        b64(password),
        b64(password).replace(/=+$/, ''),
        b64url(password),
        b64(`admin:${password}`),
        b64(`admin:${password}`).replace(/=+$/, ''),
        b64url(`admin:${password}`),
    ];
}

/** The password a request carries, whatever the vendor. */
function passwordOf(r: Received): string {
    const basic = /^Basic (.+)$/.exec(String(r.headers.authorization ?? ''));
    if (basic) return Buffer.from(basic[1], 'base64').toString().split(':').slice(1).join(':');
    try {
        const body = JSON.parse(r.body) as { password?: string };
        if (r.path === '/Login') return Buffer.from(String(body.password), 'base64').toString();
        return String(body.password ?? '');
    } catch {
        return '';
    }
}

/** A backend for all four vendors whose every reply echoes the request; issued cookies and tokens are kept. */
class EchoBackend extends RecordingServer {
    readonly issued: string[] = [];

    constructor() {
        super((r) => this.reply(r));
    }

    private issue(prefix = ''): string {
        const value = prefix + crypto.randomBytes(12).toString('hex');
        this.issued.push(value);
        return value;
    }

    private reply(r: Received) {
        const echo = echoOf(r);
        const path = r.path.split('?')[0];
        const good = passwordOf(r) === GOOD;
        if (path === '/iap/auth/login') {
            return good
                ? json(200, { userName: 'admin', echo }, { 'Set-Cookie': `cmsSID=${this.issue()}; Path=/` })
                : json(401, { message: `refused ${echo}`, dump: echo });
        }
        if (path === '/iap/auth/sessionTimeout') return { status: 200, body: '600000' };
        if (path === '/iap/auth/logout') return json(500, { message: `logout failed ${echo}`, dump: echo });
        if (path === '/_login') {
            if (!good) return json(500, { message: `failed ${echo}`, error: echo });
            const claims = b64url(JSON.stringify({ sub: 'admin', exp: Date.now() + 3600000, pad: this.issue() }));
            const token = `${b64url('{"alg":"HS256","typ":"JWT"}')}.${claims}.${b64url(this.issue())}`;
            this.issued.push(token);
            return json(200, { token, echo });
        }
        if (path === '/rest/v1.1/admin/login') {
            if (!good) return json(401, { message: `invalid ${echo}`, dump: echo });
            const sid = this.issue();
            return json(200, { sessionId: sid, userName: 'admin', echo }, { 'Set-Cookie': `JSESSIONID=${sid}; Path=/rest; HttpOnly` });
        }
        if (path === '/rest/v1.1/admin/logout') return json(500, { message: `logout failed ${echo}`, dump: echo });
        if (path === '/Login') {
            if (!good) return json(200, { errList: [{ errorCode: 1, errLogMessage: `rejected ${echo}` }], dump: echo });
            return json(200, { token: `QSDK ${this.issue()}`, userName: 'admin', echo });
        }
        if (path === '/Logout') return json(500, { errorMessage: `logout failed ${echo}`, dump: echo });
        return json(404, { message: echo });
    }
}

function flows(backend: EchoBackend) {
    const inTab = (node: Record<string, unknown>) => ({ z: 'tab', ...node });
    const nodes: Record<string, unknown>[] = [{ id: 'tab', type: 'tab', label: 'echo' }];
    const settings: Record<Vendor, Record<string, unknown>> = {
        smartserver: {},
        cmwell: { authScheme: 'basic' },
        sdm: { format: 'json', apiVersion: 'v1.1' },
        commvault: { format: 'json' },
    };
    for (const vendor of VENDORS) {
        for (const [which, password] of [
            ['good', GOOD],
            ['bad', BAD],
        ] as const) {
            nodes.push({
                id: `${vendor}-${which}`,
                type: 'rest-session-server',
                name: `${vendor} ${which}`,
                vendor,
                baseUrl: backend.origin,
                requestTimeout: 3000,
                logoutOnClose: false,
                exposeCredential: false,
                ...settings[vendor],
                credentials: { username: 'admin', password },
            });
        }
        nodes.push(
            inTab({
                id: `${vendor}-go`,
                type: 'inject',
                props: [{ p: 'payload' }],
                repeat: '',
                once: true,
                onceDelay: 0.3,
                topic: '',
                wires: [[`${vendor}-login`]],
            }),
            inTab({ id: `${vendor}-login`, type: 'rest-session-login', server: `${vendor}-good`, wires: [['dbg-out', `${vendor}-logout`]] }),
            inTab({ id: `${vendor}-logout`, type: 'rest-session-logout', server: `${vendor}-good`, wires: [['dbg-out']] }),
            inTab({
                id: `${vendor}-wrong`,
                type: 'inject',
                props: [{ p: 'payload' }],
                repeat: '',
                once: true,
                onceDelay: 0.3,
                topic: '',
                wires: [[`${vendor}-badlogin`]],
            }),
            inTab({ id: `${vendor}-badlogin`, type: 'rest-session-login', server: `${vendor}-bad`, wires: [['dbg-out']] }),
        );
    }
    const debug = (id: string) =>
        inTab({ id, type: 'debug', name: id.replace('dbg-', ''), active: true, tosidebar: true, console: true, complete: 'true', wires: [] });
    nodes.push(
        inTab({ id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['dbg-errors']] }),
        inTab({ id: 'watcher', type: 'status', scope: null, wires: [['dbg-statuses']] }),
        debug('dbg-out'),
        debug('dbg-errors'),
        debug('dbg-statuses'),
    );
    return nodes;
}

describe('secrets in a real Node-RED, every vendor, servers that echo everything they received', function () {
    this.timeout(120000);
    let backend: EchoBackend;
    let red: { url: string; log(): string; stop(): Promise<void> };
    let userDir: string;

    before(async function () {
        backend = await new EchoBackend().start();
        userDir = runtime.tempDir('rest-session-echo-');
        runtime.writeProjectPackage(userDir);
        runtime.linkPackage(userDir);
        runtime.writeSettings(userDir, "logging: { console: { level: 'debug', metrics: false, audit: false } },");
        red = await runtime.startNodeRed(userDir);
        await flowsStarted(red, 1);
    });

    after(async function () {
        if (red) await red.stop();
        await backend.stop();
        if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    });

    it('never lets an echoed password, Authorization, cookie or token into msgs, Catch, statuses or the log', async function () {
        await runtime.deployFlows(red.url, flows(backend));
        await flowsStarted(red, 2);
        const count = (name: string) => red.log().split(`[debug:${name}]`).length - 1;
        // 4 logins and the CM-Well logout (local) at the output; 3 logouts and 4 refused logins at Catch.
        for (let i = 0; i < 400 && (count('out') < 5 || count('errors') < 7); i++) await new Promise((resolve) => setTimeout(resolve, 50));
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepStrictEqual([count('out'), count('errors')], [5, 7], red.log());

        // The servers did get (and echo) every secret: otherwise the test proves nothing.
        for (const path of ['/iap/auth/login', '/_login', '/rest/v1.1/admin/login', '/Login', '/iap/auth/logout', '/rest/v1.1/admin/logout', '/Logout']) {
            assert.ok(backend.requestsTo(path).length >= 1, `${path} was called`);
        }
        const log = red.log();
        assert.match(log, /errorCode: 'INVALID_CREDENTIALS'/);
        assert.match(log, /refused|rejected|invalid|failed/, 'the documented message fields are quoted');
        const authorizations = backend.received.map((r) => String(r.headers.authorization ?? '')).filter(Boolean);
        assert.ok(authorizations.length >= 2, 'CM-Well got Basic headers');
        const secrets = [...passwordForms(GOOD), ...passwordForms(BAD), ...authorizations, ...backend.issued];
        for (const secret of secrets) assert.ok(!log.includes(secret), `a secret (${secret.slice(0, 6)}…) is in the msgs, statuses, errors or log`);
    });
});

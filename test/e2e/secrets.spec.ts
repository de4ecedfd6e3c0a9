/**
 * Secrets in a real Node-RED (node_modules/node-red/red.js with this package linked into a fresh
 * user dir): passwords (server, proxy, Redis ACL), the proxy's authorization, the session store's
 * shared key, every session cookie the backend issued, and an OAuth2 grant's client secret, refresh
 * tokens and access tokens must appear nowhere a user or an attacker can read: GET /flows (what the
 * editor exports), the credentials the editor may read, the files in the user dir (flows, the
 * guard's file), the msgs, statuses and errors the flows produce (printed by debug nodes), the log,
 * and every key and value in the session store's Redis (a real redis-server). No URL the OAuth2
 * provider saw may hold one either. One test captures them all.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';

import { OAuthProviderSimulator, serverSettings } from '../simulators/oauth2';
import { ParityServer, TestProxy, USERS } from '../support/parity-server';
import { RedisServer, dumpAll } from '../support/redis-server';
import { waitFor } from '../support/wait';

const ROOT = path.join(__dirname, '..', '..');
const PACKAGE = ['@rest-session', 'node-red-rest-session'];
const PASSWORD = USERS.admin;
const WRONG_PASSWORD = 'Wrong-Secret-Pw-42';
const PROXY_USER = 'proxy-user';
const PROXY_PASSWORD = 'Proxy-Secret-Pw-7';
const REDIS_USER = 'fleet-user';
const REDIS_PASSWORD = 'Redis-Acl-Secret-Pw-3';
const SHARED_KEY = 'Fleet-Shared-Key-Secret-0123456789-abcdef';
const OAUTH_CLIENT = { id: 'secrets-client', secret: 'Client-Secret-Pw-55/+&', redirectUris: [] };

/** A user dir with this package linked in (as scripts/start.js does) and credential encryption on. */
function userDir() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rest-session-e2e-'));
    const link = path.join(dir, 'node_modules', ...PACKAGE);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(ROOT, link, 'dir');
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'e2e', private: true, dependencies: { [PACKAGE.join('/')]: '*' } }));
    fs.writeFileSync(
        path.join(dir, 'settings.js'),
        `module.exports = {
        uiHost: '127.0.0.1',
        flowFile: 'flows.json',
        credentialSecret: 'e2e-credential-key',
        editorTheme: { tours: false, palette: { catalogues: [] } },
        telemetry: { enabled: false },
        logging: { console: { level: 'debug', metrics: false, audit: false } },
    };\n`,
    );
    return dir;
}

/** Starts Node-RED on a free port; resolves once it listens, with its URL and everything it prints. */
function startNodeRed(dir: any) {
    const from = process.env.NODE_RED_PREFIX ? { paths: [path.resolve(process.env.NODE_RED_PREFIX)] } : undefined;
    const child = spawn(process.execPath, [require.resolve('node-red/red.js', from), '-u', dir, '-p', '0'], {
        cwd: dir,
        env: { ...process.env, NODE_RED_DISABLE_TELEMETRY: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = { text: '' };
    child.stdout.on('data', (chunk) => {
        output.text += chunk;
    });
    child.stderr.on('data', (chunk) => {
        output.text += chunk;
    });
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`Node-RED did not start:\n${output.text}`)), 30000);
        const check = () => {
            const match = /Server now running at (http:\/\/127\.0\.0\.1:\d+)\//.exec(output.text);
            if (!match) return;
            clearTimeout(timer);
            child.stdout.off('data', check);
            resolve({ child, url: match[1], output });
        };
        child.stdout.on('data', check);
        child.once('exit', (code) => reject(new Error(`Node-RED exited (${code}):\n${output.text}`)));
    });
}

function stop(child: any) {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
        const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
        child.once('exit', () => {
            clearTimeout(killer);
            resolve();
        });
        child.kill('SIGINT');
    });
}

/** One admin API call; resolves with the status and the body as text. */
function admin(base: string, method: string, route: string, body?: unknown): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = http.request(
            `${base}${route}`,
            {
                method,
                headers: data ? { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full', 'Content-Length': Buffer.byteLength(data) } : {},
            },
            (res) => {
                let text = '';
                res.on('data', (chunk) => {
                    text += chunk;
                });
                res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            },
        );
        req.on('error', reject);
        req.end(data);
    });
}

/**
 * Injects fire once after deploy; debug nodes print complete msgs to the log. The SmartServer
 * servers share a session store (share: session, a Redis ACL user); the OAuth2 server renews its
 * refresh token grant in the embedded store.
 */
function flows(backend: any, proxy: any, redis: RedisServer, provider: OAuthProviderSimulator, refreshToken: string) {
    const inTab = (node: any) => ({ z: 'tab', ...node });
    const inject = (id: any, props: any, wires: any) => inTab({ id, type: 'inject', props, repeat: '', once: true, onceDelay: 0.2, topic: '', wires: [wires] });
    const debug = (id: any) => inTab({ id, type: 'debug', active: true, tosidebar: true, console: true, complete: 'true', wires: [] });
    return [
        { id: 'tab', type: 'tab', label: 'e2e' },
        { id: 'prx', type: 'http proxy', name: '', url: proxy.url, noproxy: [], credentials: { username: PROXY_USER, password: PROXY_PASSWORD } },
        {
            id: 'srv',
            type: 'rest-session-server',
            vendor: 'smartserver',
            baseUrl: backend.origin,
            proxy: 'prx',
            store: 'store',
            requestTimeout: 5000,
            logoutOnClose: true,
            exposeCredential: false,
            credentials: { username: 'admin', password: PASSWORD },
        },
        {
            id: 'store',
            type: 'rest-session-store',
            engine: 'redis',
            url: redis.url,
            keyPrefix: 'secrets',
            share: 'session',
            credentials: { username: REDIS_USER, password: REDIS_PASSWORD, sharedKey: SHARED_KEY },
        },
        {
            id: 'oauth',
            type: 'rest-session-server',
            baseUrl: provider.origin,
            ...serverSettings(provider.origin, { grant: 'refresh_token', scope: 'read' }),
            requestTimeout: 5000,
            logoutOnClose: true,
            credentials: { username: OAUTH_CLIENT.id, password: OAUTH_CLIENT.secret, refreshToken },
        },
        {
            id: 'bad',
            type: 'rest-session-server',
            vendor: 'smartserver',
            baseUrl: backend.origin,
            store: 'store',
            requestTimeout: 5000,
            logoutOnClose: true,
            credentials: { username: 'admin', password: WRONG_PASSWORD },
        },
        inject('go', [{ p: 'payload' }], ['login']),
        inTab({ id: 'login', type: 'rest-session-login', server: 'srv', wires: [['read', 'renew', 'out']] }),
        inTab({ id: 'read', type: 'rest-session-request', server: 'srv', method: 'GET', url: '/json', ret: 'obj', paytoqs: 'ignore', wires: [['out']] }),
        // The backend sends the session cookie again here: it must not reach the msg.
        inTab({ id: 'renew', type: 'rest-session-request', server: 'srv', method: 'GET', url: '/set-cookie', ret: 'obj', paytoqs: 'ignore', wires: [['out']] }),
        inject('elsewhere', [{ p: 'url', v: 'http://127.0.0.1:9/steal', vt: 'str' }], ['any']),
        inTab({ id: 'any', type: 'rest-session-request', server: 'srv', method: 'GET', url: '', ret: 'txt', paytoqs: 'ignore', wires: [['out']] }),
        inject('wrong', [{ p: 'payload' }], ['badlogin']),
        inTab({ id: 'badlogin', type: 'rest-session-login', server: 'bad', wires: [['out']] }),
        inject('things', [{ p: 'payload' }], ['oauthread']),
        inTab({
            id: 'oauthread',
            type: 'rest-session-request',
            server: 'oauth',
            method: 'GET',
            url: '/api/things',
            ret: 'obj',
            paytoqs: 'ignore',
            wires: [['oauthout']],
        }),
        inTab({ id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['errors']] }),
        inTab({ id: 'watcher', type: 'status', scope: null, wires: [['statuses']] }),
        debug('out'),
        debug('oauthout'),
        debug('errors'),
        debug('statuses'),
    ];
}

describe('secrets in a real Node-RED: /flows, credentials, files, msgs, statuses, errors, logs', function () {
    this.timeout(90000);
    let backend: any;
    let proxy: any;
    let dir: any;
    let nodeRed: any;
    let redis: RedisServer;
    let provider: OAuthProviderSimulator;
    let refreshToken: string;

    before(async () => {
        backend = await new ParityServer().start();
        proxy = await new TestProxy({ username: PROXY_USER, password: PROXY_PASSWORD }).start();
        redis = await RedisServer.start();
        // The store logs in as the least-privileged ACL user the README gives (its key prefix, no dangerous commands).
        assert.strictEqual(
            await redis.send(
                `ACL SETUSER ${REDIS_USER} on >${REDIS_PASSWORD} ~secrets:* resetchannels -@all +@read +@write +@scripting -@dangerous +info +time`,
            ),
            '+OK\r\n',
        );
        provider = new OAuthProviderSimulator({ tls: false, clients: [OAUTH_CLIENT] });
        await provider.start();
        refreshToken = provider.issueRefreshToken(OAUTH_CLIENT.id, 'read');
        dir = userDir();
    });
    after(async () => {
        if (nodeRed) await stop(nodeRed.child);
        await backend.stop();
        await proxy.stop();
        await provider.stop();
        await redis.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it('never shows a password, the proxy authorization, a session cookie, the shared key or an OAuth2 secret anywhere', async function () {
        nodeRed = await startNodeRed(dir);
        const { url, output } = nodeRed;
        const deployed = await admin(url, 'POST', '/flows', flows(backend, proxy, redis, provider, refreshToken));
        assert.strictEqual((deployed as any).status, 204, (deployed as any).text);

        // Wait until the flows did what the test reads: a 200, the two refusals, a status.
        const expected = [/statusCode: 200/, /errorCode: 'INVALID_INPUT'/, /errorCode: 'INVALID_CREDENTIALS'/, /text: 'admin'/];
        for (let i = 0; i < 300 && !expected.every((re) => re.test(output.text)); i++) await new Promise((r) => setTimeout(r, 50));
        for (const re of expected) assert.match(output.text, re);
        // Each of the 5 msgs came out once: login, read and renew at the output, two at Catch.
        const count = (name: any) => output.text.split(`[debug:${name}]`).length - 1;
        for (let i = 0; i < 100 && (count('out') < 3 || count('errors') < 2); i++) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 300));
        assert.deepStrictEqual([count('out'), count('errors')], [3, 2]);
        assert.ok(backend.requestsTo('/set-cookie').length === 1 && proxy.seen.length > 0, 'the flows ran through the proxy');
        await waitFor(() => count('oauthout') === 1, { timeoutMs: 20000, intervalMs: 50, message: 'the OAuth2 request' });
        assert.ok((await redis.keysMatching('secrets:*')).length > 0, 'the store holds the fleet state');

        // The access token dies: the redeployed flow renews the grant with its rotated refresh token.
        provider.expireAccessTokens();
        // A redeploy logs the session out (close), then read everything the editor can read.
        assert.strictEqual((await admin(url, 'POST', '/flows', flows(backend, proxy, redis, provider, refreshToken))).status, 204);
        for (let i = 0; i < 100 && !backend.stats.requests.some((r: any) => r.path === '/iap/auth/logout'); i++) await new Promise((r) => setTimeout(r, 50));
        await waitFor(() => count('oauthout') === 2, { timeoutMs: 20000, intervalMs: 50, message: 'the OAuth2 request after the redeploy' });
        assert.ok(provider.stats.oauth.refreshes >= 2, `the grant was renewed with a rotated refresh token (${provider.stats.oauth.refreshes})`);
        const redisDump = await dumpAll(redis);
        const exported = await admin(url, 'GET', '/flows');
        assert.strictEqual((exported as any).status, 200);
        assert.match((exported as any).text, /rest-session-server/);
        const creds = [await admin(url, 'GET', '/credentials/rest-session-server/srv'), await admin(url, 'GET', '/credentials/http-proxy/prx')];
        assert.deepStrictEqual(JSON.parse(creds[0].text), { username: 'admin', has_password: true, has_newPassword: false, has_refreshToken: false });
        assert.deepStrictEqual(JSON.parse(creds[1].text), { username: PROXY_USER, has_password: true });
        await stop(nodeRed.child);
        const fileNames = fs.readdirSync(dir).filter((file) => fs.statSync(path.join(dir, file)).isFile());
        assert.ok(fileNames.includes('flows.json') && fileNames.includes('flows_cred.json'), `flows.json and flows_cred.json (${fileNames})`);
        assert.ok(fileNames.includes('.rest-session-guard.json'), `the guard's file, which holds the grant (${fileNames})`);
        const files = fileNames.map((file) => fs.readFileSync(path.join(dir, file), 'utf8'));

        const cookies = [...backend.issued];
        assert.ok(cookies.length >= 1, 'the backend did issue a session cookie');
        // Every OAuth2 token on the wire: refresh tokens presented or still alive, access tokens the resource got.
        const accessTokens = provider.stats.requests.map((r) => /^Bearer (\S+)$/.exec(r.authorization)?.[1]).filter((token): token is string => Boolean(token));
        const refreshTokens = [...new Set([refreshToken, ...provider.stats.oauth.refreshTokensSeen, ...provider.liveRefreshTokens()])];
        assert.ok(accessTokens.length >= 2 && refreshTokens.length >= 3, `tokens were issued and used (${accessTokens.length}, ${refreshTokens.length})`);
        const oauthSecrets = [
            OAUTH_CLIENT.secret,
            encodeURIComponent(OAUTH_CLIENT.secret),
            Buffer.from(`${OAUTH_CLIENT.id}:${OAUTH_CLIENT.secret}`).toString('base64'),
            ...refreshTokens,
            ...accessTokens,
        ];
        const secrets = [
            PASSWORD,
            WRONG_PASSWORD,
            PROXY_PASSWORD,
            Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64'),
            REDIS_PASSWORD,
            SHARED_KEY,
            ...cookies,
            ...oauthSecrets,
        ];
        const places = {
            '/flows': (exported as any).text,
            credentials: creds.map((c) => (c as any).text).join('\n'),
            files: files.join('\n'),
            'msgs, statuses, errors and log': output.text,
            'Redis keys and values': redisDump,
            'URLs the OAuth2 provider saw': provider.stats.requests.map((r) => r.url).join('\n'),
        };
        assert.ok(provider.stats.requests.length >= 4, 'the provider saw the token and resource requests');
        for (const [place, text] of Object.entries(places)) {
            for (const secret of secrets) assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 3)}...) is in ${place}`);
        }
    });
});

/**
 * Security of the authorized request node against hostile input and hostile servers: the session
 * credential stays on its origin, no header injection, XML is never expanded, reply bodies are
 * bounded, TLS is verified unless the user turns it off. (Secrets in /flows, logs and msgs:
 * test/e2e/secrets.spec.js, in a real Node-RED.)
 */
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';

import { helper, standardFlow, tlsNode, load, answeredOnce, logText, nodeRedWithSimulator } from '../support/harness';
import { request } from '../simulators/http-get';
import { OAuthProviderSimulator, serverSettings } from '../simulators/oauth2';
import { ParityServer, xmlBomb } from '../support/parity-server';
import { parseXml } from '../../src/lib/vendors/xml';

const TLS_DIR = path.join(__dirname, '..', 'fixtures', 'tls');
const SRC_DIR = path.join(__dirname, '..', '..', 'src');

/** The standard flow against a parity backend (no TLS config unless given). */
function flowFor(backend: any, request = {}, server = {}) {
    const flow = standardFlow(backend.origin, { request: { url: '', ret: 'txt', ...request }, server: { tls: '', logoutOnClose: false, ...server } });
    return flow;
}

describe('authorized request: security', function () {
    let backend: any;
    let other: any;

    const { start } = nodeRedWithSimulator((options?: any) => new ParityServer(options));
    beforeEach(async () => {
        backend = await start();
        other = await start({ open: true });
    });
    afterEach(() => {
        helper.settings({ restSessionServerMaxResponseBytes: undefined });
    });

    it('never sends anything, login included, for a URL on another origin', async function () {
        const rec = await load(flowFor(backend, {}, {}), undefined);
        const r1 = helper.getNode('r1');
        const elsewhere = [
            `${other.origin}/echo`,
            `//127.0.0.1:${other.port}/echo`,
            `https://127.0.0.1:${backend.port}/echo`,
            `http://localhost:${backend.port}/echo`,
            `http://127.0.0.1:${backend.port}@127.0.0.1:${other.port}/echo`,
        ];
        for (const url of elsewhere) r1.receive({ url });
        await answeredOnce(rec, elsewhere.length);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            elsewhere.map(() => 'INVALID_INPUT'),
        );
        assert.strictEqual(backend.stats.requests.length, 0, 'not even a login');
        assert.strictEqual(other.stats.requests.length, 0);
    });

    it('refuses a node URL template that renders to another origin', async function () {
        const rec = await load(flowFor(backend, { url: '{{{payload}}}/echo' }));
        helper.getNode('r1').receive({ payload: other.origin });
        helper.getNode('r1').receive({ payload: `${backend.origin}.evil.example` });
        await answeredOnce(rec, 2);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            ['INVALID_INPUT', 'INVALID_INPUT'],
        );
        assert.strictEqual(backend.stats.requests.length + other.stats.requests.length, 0);
    });

    it('drops every cookie and Authorization when a redirect leaves the origin', async function () {
        const rec = await load(flowFor(backend, { url: '', ret: 'obj' }));
        const away = `/redirect/away?to=${encodeURIComponent(`${other.origin}/echo`)}`;
        helper.getNode('r1').receive({ url: away, cookies: { mine: '1' }, headers: { Authorization: 'Bearer flow-token', 'X-Kept': 'yes' } });
        const [msg] = await rec.out.waitFor(1);
        assert.strictEqual(msg.responseUrl, `${other.origin}/echo`);
        const seen = msg.payload.headers;
        assert.strictEqual(seen.cookie, undefined);
        assert.strictEqual(seen.authorization, undefined);
        assert.strictEqual(seen['x-kept'], 'yes');
        const hop = backend.requestsTo('/redirect/away')[0];
        assert.match(hop.cookie, /cmsSID=/, 'the origin did get the session');
        await answeredOnce(rec, 1);
    });

    it('refuses CR/LF in header values, header names, cookies, the URL and the method, sending nothing', async function () {
        const flow = flowFor(backend, { url: '' });
        flow.push({ id: 'r2', z: 'tab', type: 'rest-session-request', server: 'server', method: 'use', url: '/echo', wires: [['out']] });
        const rec = await load(flow);
        const r1 = helper.getNode('r1');
        r1.receive({ url: '/echo', headers: { 'X-Test': 'a\r\nX-Injected: 1' } });
        r1.receive({ url: '/echo', headers: { 'X-Test': 'a\nb' } });
        r1.receive({ url: '/echo', headers: { 'X-Test\r\nX-Injected': '1' } });
        r1.receive({ url: '/echo', cookies: { raw: { value: 'a\r\nX-Injected: 1', encode: false } } });
        r1.receive({ url: '/echo\r\nX-Injected: 1' });
        helper.getNode('r2').receive({ method: 'GET /echo HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET' });
        await answeredOnce(rec, 6);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            Array(6).fill('INVALID_INPUT'),
        );
        assert.strictEqual(backend.stats.requests.length, 0);
    });

    it('never expands XML entities: parseXml, the only XML parser in src/, and ret txt/obj', async function () {
        const bomb = xmlBomb();
        const started = Date.now();
        const parsed = parseXml(bomb);
        assert.ok(Date.now() - started < 1000, 'parsed at once');
        assert.ok(JSON.stringify(parsed).length < 1000, 'nothing expanded');
        assert.strictEqual(parsed.lolz, '&lol9;');

        // Every XML parse of the package goes through xml.ts, whose parser has processEntities off.
        const sources: any = [];
        const walk = (dir: any) =>
            fs.readdirSync(dir, { withFileTypes: true }).forEach((entry) => {
                const file = path.join(dir, entry.name);
                if (entry.isDirectory()) walk(file);
                else if (file.endsWith('.ts')) sources.push(file);
            });
        walk(SRC_DIR);
        const parsers = sources.filter((file: any) => /fast-xml-parser|XMLParser|DOMParser|xml2js|libxml/.test(fs.readFileSync(file, 'utf8')));
        assert.deepStrictEqual(
            parsers.map((file: any) => path.relative(SRC_DIR, file)),
            [path.join('lib', 'vendors', 'xml.ts')],
        );
        assert.match(fs.readFileSync(path.join(SRC_DIR, 'lib', 'vendors', 'xml.ts'), 'utf8'), /processEntities: false/);

        const flow = flowFor(backend, { url: '/xml-bomb', ret: 'txt' });
        flow.push({ id: 'r2', z: 'tab', type: 'rest-session-request', server: 'server', method: 'GET', url: '/xml-bomb', ret: 'obj', wires: [['out']] });
        const rec = await load(flow);
        helper.getNode('r1').receive({});
        helper.getNode('r2').receive({});
        const [first, second] = await rec.out.waitFor(2);
        for (const msg of [first, second]) assert.strictEqual(msg.payload, bomb, 'the text as received, nothing expanded');
        await answeredOnce(rec, 2);
    });

    it('bounds reply bodies by restSessionServerMaxResponseBytes with a SERVER_ERROR that names the limit', async function () {
        helper.settings({ restSessionServerMaxResponseBytes: 1000 });
        const rec = await load(flowFor(backend, { url: '' }));
        const r1 = helper.getNode('r1');
        r1.receive({ url: '/big?bytes=900' });
        r1.receive({ url: '/big?bytes=5000' });
        r1.receive({ url: '/big?bytes=5000000&chunked=1' });
        await answeredOnce(rec, 3);
        assert.strictEqual(rec.out.messages[0].payload.length, 900);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            ['SERVER_ERROR', 'SERVER_ERROR'],
        );
        for (const msg of rec.caught.messages) assert.match(msg.error.message, /larger than 1000 bytes \(restSessionServerMaxResponseBytes/);
        assert.strictEqual(backend.requestsTo('/big').length, 3, 'an oversized reply is not retried');
    });

    it('verifies TLS unless a tls-config node turns it off: a self-signed server is TLS, msg.rejectUnauthorized is not read', async function () {
        await backend.stop();
        backend = await new ParityServer({
            tls: { key: fs.readFileSync(path.join(TLS_DIR, 'server.key')), cert: fs.readFileSync(path.join(TLS_DIR, 'server.crt')) },
        }).start();
        let rec = await load(flowFor(backend, { url: '/json' }));
        helper.getNode('r1').receive({});
        helper.getNode('r1').receive({ rejectUnauthorized: false });
        helper.getNode('r1').receive({ rejectUnauthorized: 'false' });
        await answeredOnce(rec, 3);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            ['TLS', 'TLS', 'TLS'],
        );
        assert.match(rec.caught.messages[0].error.message, /certificate .*refused/);
        assert.strictEqual(backend.stats.requests.length, 0);
        await helper.unload();

        rec = await load(
            flowFor(backend, { url: '/json' }, { tls: 'tls' }).map((node) => (node.id === 'tls' ? tlsNode({ ca: '', verifyservercert: false }) : node)),
        );
        helper.getNode('r1').receive({});
        const [ok] = await rec.out.waitFor(1);
        assert.strictEqual(ok.statusCode, 200);
        await answeredOnce(rec, 1);
    });

    it('OAuth2: the client secret, refresh and access tokens reach no msg, status, error or log, and no URL the provider saw', async function () {
        const client = { id: 'sec-app', secret: 'Client-Secret-/+& 9' };
        const redirectUri = `${helper.url()}/rest-session-server/oauth2/callback`;
        const sim = await new OAuthProviderSimulator({ tls: false, autoApprove: true, clients: [{ ...client, redirectUris: [redirectUri] }] }).start();
        try {
            const flow = standardFlow(sim.origin, {
                server: serverSettings(sim.origin, { clientAuth: 'body' }),
                request: { url: '/api/things', ret: 'obj' },
            });
            const rec = await load(flow, { server: { username: client.id, password: client.secret } });
            const started = await helper.request().post('/rest-session-server/oauth2/authorize').send({ id: 'server', redirectUri }).expect(200);
            const location = new URL(String((await request(started.body.url)).headers.location));
            const done = await helper.request().get(`${location.pathname}${location.search}`).expect(200);
            const r1 = helper.getNode('r1');
            r1.receive({ payload: 1 });
            await answeredOnce(rec, 1);
            helper.getNode('l1').receive({ payload: 2 }); // a forced login: one refresh, rotated
            await answeredOnce(rec, 2);
            r1.receive({ payload: 3 });
            await answeredOnce(rec, 3);
            sim.revokeGrants();
            r1.receive({ payload: 4 }); // refused, then invalid_grant
            await answeredOnce(rec, 4);
            assert.strictEqual(rec.caught.messages[0]?.errorCode, 'AUTHORIZATION_REQUIRED');

            const tokens = sim.stats.requests
                .filter((r) => r.path === '/token')
                .flatMap((r) => [...new URLSearchParams(r.body).values()])
                .concat(sim.stats.oauth.refreshTokensSeen);
            const issued = sim.stats.requests.filter((r) => r.path === '/api/things').map((r) => r.authorization.replace(/^Bearer /, ''));
            const secrets = [client.secret, encodeURIComponent(client.secret), ...issued.filter(Boolean), ...tokens.filter((t) => /^(rt|at)\./.test(t))];
            assert.ok(secrets.length > 4, 'the test knows the tokens it looks for');
            const seen =
                JSON.stringify([rec.out.messages, rec.caught.messages, rec.caught.messages.map((m) => m.error), rec.statuses.messages]) +
                logText() +
                done.text +
                JSON.stringify(started.body);
            for (const secret of secrets) assert.ok(!seen.includes(secret), `a secret leaked: ${secret.slice(0, 6)}…`);
            for (const { url } of sim.stats.requests) {
                for (const secret of [client.secret, encodeURIComponent(client.secret), ...issued, ...tokens.filter((t) => /^(rt|at)\./.test(t))]) {
                    assert.ok(!url.includes(secret), `a secret in the URL ${url}`);
                }
            }
        } finally {
            await sim.stop();
        }
    });
});

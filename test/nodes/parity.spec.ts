/**
 * Parity with the core `http request` node: the same msg goes through our "authorized request"
 * node and the core node (loaded from @node-red/nodes into the same runtime) against the same
 * loopback backend, and what each sent and gave back is compared where both apply. The core node
 * gets the session cookie through msg.cookies, as a flow would hand it over.
 */
import assert from 'node:assert';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { helper, NODES_DIR, ALL_NODES, ADMIN, Recorder, answeredOnce, nodeRedWithSimulator, tlsNode, type FlowNode, type Msg } from '../support/harness';
import { quietPeriod, waitFor } from '../support/wait';
import { ParityServer, TestProxy } from '../support/parity-server';

const TLS_DIR = path.join(__dirname, '..', 'fixtures', 'tls');
const tlsFile = (name: any) => path.join(TLS_DIR, name);
/** The fixture certificate of an HTTPS backend (signed by the test CA). */
const serverTls = () => ({ key: fs.readFileSync(tlsFile('server.key')), cert: fs.readFileSync(tlsFile('server.crt')) });

// The core nodes of the Node-RED the harness runs.
const coreRequestNode = require(path.join(NODES_DIR, 'core', 'network', '21-httprequest.js'));
const coreProxyNode = require(path.join(NODES_DIR, 'core', 'network', '06-httpproxy.js'));

/**
 * A flow with one pair of request nodes per case: `<id>-ours` (relative URL, our server config)
 * and `<id>-core` (the absolute URL), both wired to `out`; a Catch node wired to `caught`.
 * `cases`: `{ id, method, url, ret, paytoqs, headers, asTyped }`: `headers` is the editor's header
 * list of both nodes; `asTyped` gives both nodes the URL as it is (no origin in front for the core
 * node). `tls` / `proxy` are config nodes both pairs use.
 */
function parityFlow(origin: string, cases: Msg[], { tls, proxy }: { tls?: FlowNode; proxy?: FlowNode } = {}): FlowNode[] {
    const inTab = (node: any) => ({ z: 'tab', ...node });
    const nodes: FlowNode[] = [{ id: 'tab', type: 'tab', label: 'parity' }];
    if (tls) nodes.push(tls);
    if (proxy) nodes.push(proxy);
    nodes.push({
        id: 'server',
        type: 'rest-session-server',
        vendor: 'smartserver',
        baseUrl: origin,
        tls: tls ? tls.id : '',
        proxy: proxy ? proxy.id : '',
        requestTimeout: 5000,
        logoutOnClose: false,
        exposeCredential: false,
    });
    for (const { id, method = 'GET', url = '/echo', ret = 'obj', paytoqs = 'ignore', headers = [], asTyped = false } of cases) {
        nodes.push(inTab({ id: `${id}-ours`, type: 'rest-session-request', server: 'server', method, url, ret, paytoqs, headers, wires: [['out']] }));
        nodes.push(
            inTab({
                id: `${id}-core`,
                type: 'http request',
                method,
                url: url && !asTyped ? origin + url : url,
                headers,
                ret,
                paytoqs,
                senderr: true,
                persist: false,
                tls: tls ? tls.id : '',
                proxy: proxy ? proxy.id : '',
                authType: '',
                wires: [['out']],
            }),
        );
    }
    nodes.push(
        ...[
            { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
            { id: 'out', type: 'helper' },
            { id: 'caught', type: 'helper' },
        ].map(inTab),
    );
    return nodes;
}

/** Loads the flow with our nodes and the core http request and http proxy nodes. */
async function loadParity(flow: any, credentials = {}) {
    await helper.load([...ALL_NODES, coreRequestNode, coreProxyNode], flow, { server: ADMIN, ...credentials });
    return { out: new Recorder('out'), caught: new Recorder('caught'), inputs: 0 };
}

/**
 * Sends `msg` to a node and resolves with what came of it: `{ msg, caught, warnings }`, where
 * `caught` says the msg reached the Catch node instead of the output.
 */
async function run(rec: any, nodeId: any, msg: any, timeoutMs = 10000) {
    const node = helper.getNode(nodeId);
    const warnings: any = [];
    const onWarn = (call: any) => warnings.push(String(call.args[0]));
    node.on('call:warn', onWarn);
    msg._msgid = crypto.randomUUID();
    rec.inputs++;
    node.receive(msg);
    const answered = (recorder: Recorder): Msg | undefined => recorder.messages.find((m: any) => m._msgid === msg._msgid);
    await waitFor(() => answered(rec.out) ?? answered(rec.caught), { timeoutMs, message: `an answer from ${nodeId}` });
    // A warning that comes with the answer is emitted just after it.
    await quietPeriod(5);
    node.removeListener('call:warn', onWarn);
    const caught = answered(rec.caught);
    return { msg: (caught ?? answered(rec.out)) as Msg, caught: Boolean(caught), warnings };
}

/**
 * The same case through both nodes: `makeMsg()` is called once per node (fresh Buffers); the
 * core node's msg also gets `cmsSID` in msg.cookies from `sessionFor()`.
 */
async function both(rec: any, id: any, makeMsg: any, sessionFor: any) {
    const ours = await run(rec, `${id}-ours`, makeMsg());
    const coreMsg = makeMsg();
    coreMsg.cookies = { ...(coreMsg.cookies || {}), cmsSID: sessionFor() };
    const core = await run(rec, `${id}-core`, coreMsg);
    return { ours, core };
}

/** The request headers an echo saw, without the ones each client sets its own way. */
function sentHeaders(echo: any) {
    const headers = { ...echo.headers };
    for (const name of ['host', 'connection', 'user-agent', 'cookie']) delete headers[name];
    return headers;
}

/** `name=value; ...` as a map, without the session cookie. */
function sentCookies(echo: Msg): Record<string, string> {
    const cookies: Record<string, string> = {};
    for (const pair of String(echo.headers.cookie || '').split(';')) {
        const eq = pair.indexOf('=');
        if (eq > 0 && pair.slice(0, eq).trim() !== 'cmsSID') cookies[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
    return cookies;
}

/** Loads `flow` and sends one msg through `p-ours` and `p-core`: both must get `{ok: true}` from `target`. */
async function bothGetJson(flow: FlowNode[], target: any, credentials = {}): Promise<void> {
    const rec = await loadParity(flow, credentials);
    const { ours, core } = await both(
        rec,
        'p',
        () => ({}),
        () => target.issueSession(),
    );
    assert.deepStrictEqual([ours.caught, ours.msg.payload], [false, { ok: true }]);
    assert.deepStrictEqual([core.caught, core.msg.payload], [false, { ok: true }]);
    await allAnswered(rec);
}

/** Asserts every input of the test was answered exactly once (output or Catch). */
function allAnswered(rec: any) {
    return answeredOnce(rec, rec.inputs);
}

describe('authorized request: parity with the core http request node', function () {
    let backend: any;
    let rec: any;
    const session = () => backend.issueSession();

    const { start } = nodeRedWithSimulator(() => new ParityServer());
    beforeEach(async () => {
        backend = await start();
    });

    const load = async (cases: Msg[], options: { tls?: FlowNode; proxy?: FlowNode } = {}) => {
        rec = await loadParity(parityFlow(backend.origin, cases, options));
        return rec;
    };

    it('sends the node\'s method, or msg.method with "use", and warns when msg.method is ignored', async function () {
        const methods = ['GET', 'POST', 'PUT', 'DELETE'];
        await load([...methods.map((method) => ({ id: method, method })), { id: 'use', method: 'use' }, { id: 'head', method: 'HEAD', ret: 'txt' }]);
        for (const method of methods) {
            const { ours, core } = await both(rec, method, () => ({ payload: 'x' }), session);
            assert.strictEqual(ours.msg.payload.method, method);
            assert.strictEqual(core.msg.payload.method, method);
        }
        for (const method of ['patch', 'delete', 'options']) {
            const { ours, core } = await both(rec, 'use', () => ({ method }), session);
            assert.strictEqual(ours.msg.payload.method, method.toUpperCase());
            assert.strictEqual(core.msg.payload.method, method.toUpperCase());
        }
        const ignored = await both(rec, 'PUT', () => ({ method: 'POST', payload: 'x' }), session);
        assert.strictEqual(ignored.ours.msg.payload.method, 'PUT');
        assert.strictEqual(ignored.core.msg.payload.method, 'PUT');
        assert.strictEqual(ignored.ours.warnings.length, 1);
        assert.strictEqual(ignored.core.warnings.length, 1);
        const head = await both(rec, 'head', () => ({}), session);
        assert.deepStrictEqual([head.ours.msg.statusCode, head.ours.msg.payload], [200, '']);
        assert.deepStrictEqual([head.core.msg.statusCode, head.core.msg.payload], [200, '']);
        await allAnswered(rec);
    });

    it('renders mustache URLs from the msg, takes msg.url, and escapes a stray % in the query alike', async function () {
        await load([
            { id: 'tpl', url: '/echo/{{{topic}}}/{{id}}?q={{q}}&n={{n.deep}}' },
            { id: 'msgurl', url: '' },
            { id: 'pct', url: '/echo?a=20%&b=%41' },
        ]);
        const tpl = await both(rec, 'tpl', () => ({ topic: 'a/b', id: 'x y', q: '1<2', n: { deep: 7 } }), session);
        assert.strictEqual(tpl.ours.msg.payload.path, tpl.core.msg.payload.path);
        assert.strictEqual(tpl.ours.msg.payload.path, '/echo/a/b/x%20y?q=1&lt;2&n=7');
        const msgUrl = await both(rec, 'msgurl', () => ({ url: `${backend.origin}/echo/abs?x=1` }), session);
        assert.strictEqual(msgUrl.ours.msg.payload.path, '/echo/abs?x=1');
        assert.strictEqual(msgUrl.core.msg.payload.path, '/echo/abs?x=1');
        const pct = await both(rec, 'pct', () => ({}), session);
        assert.strictEqual(pct.ours.msg.payload.path, pct.core.msg.payload.path);
        assert.strictEqual(pct.ours.msg.payload.path, '/echo?a=20%25&b=%41');
        await allAnswered(rec);
    });

    it('merges msg.headers case-insensitively and sends them in the spelling the msg used', async function () {
        await load([{ id: 'h', method: 'POST' }]);
        const headers = () => ({ 'X-Custom': 'A', 'x-dup': '1', 'X-Dup': '2', 'content-type': 'text/plain', 'X-Number': 5 });
        const { ours, core } = await both(rec, 'h', () => ({ headers: headers(), payload: 'hi' }), session);
        assert.deepStrictEqual(sentHeaders(ours.msg.payload), sentHeaders(core.msg.payload));
        assert.deepStrictEqual(sentHeaders(ours.msg.payload), {
            'x-custom': 'A',
            'x-dup': '2',
            'content-type': 'text/plain',
            'x-number': '5',
            'content-length': '2',
        });
        const spelling = (echo: any) => echo.headerNames.filter((name: any) => /^(x-|content-type)/i.test(name)).sort();
        assert.deepStrictEqual(spelling(ours.msg.payload), spelling(core.msg.payload));
        assert.deepStrictEqual(spelling(ours.msg.payload), ['X-Custom', 'X-Dup', 'X-Number', 'content-type']);
        await allAnswered(rec);
    });

    it('does not send the response headers of a previous request node on', async function () {
        await load([{ id: 'first', url: '/json' }, { id: 'next' }]);
        const first = await both(rec, 'first', () => ({}), session);
        assert.strictEqual(first.ours.msg.headers['x-backend'], 'parity');
        assert.strictEqual(first.core.msg.headers['x-backend'], 'parity');
        assert.ok(first.ours.msg.headers['x-node-red-request-node'] && first.core.msg.headers['x-node-red-request-node']);
        // The core node deletes the marker from the msg it reads: keep a copy for the mixed case.
        const coreHeaders = JSON.parse(JSON.stringify(first.core.msg.headers));
        const ours = await run(rec, 'next-ours', first.ours.msg);
        const core = await run(rec, 'next-core', { ...first.core.msg, cookies: { cmsSID: session() } });
        // A core node's output fed to ours: its marker is honoured too.
        const mixed = await run(rec, 'next-ours', { headers: coreHeaders });
        for (const echo of [ours.msg.payload, core.msg.payload, mixed.msg.payload]) {
            assert.strictEqual(echo.headers['x-backend'], undefined);
            assert.strictEqual(echo.headers['content-type'], undefined);
        }
        // Changed after the reply, our own headers are sent again (the core node does the same).
        const changed = { ...first.ours.msg.headers, 'X-Added': 'yes' };
        const resent = await run(rec, 'next-ours', { headers: changed });
        assert.strictEqual(resent.msg.payload.headers['x-added'], 'yes');
        await allAnswered(rec);
    });

    it('merges msg.cookies and a Cookie header with the session cookie, neither clobbering the other', async function () {
        await load([{ id: 'c' }]);
        const msg = () => ({
            cookies: { a: '1', b: { value: 'x y' }, c: { value: '%41', encode: false }, gone: null },
            headers: { cookie: 'd=4' },
        });
        const { ours, core } = await both(rec, 'c', msg, session);
        assert.deepStrictEqual(sentCookies(ours.msg.payload), sentCookies(core.msg.payload));
        assert.deepStrictEqual(sentCookies(ours.msg.payload), { a: '1', b: 'x%20y', c: '%41', d: '4' });
        const sid = /cmsSID=([0-9a-f]+)/.exec(ours.msg.payload.headers.cookie)![1];
        assert.ok(backend.sessions.has(sid), 'the session cookie went too');
        // A msg cookie of the session's name cannot replace the session's.
        const forged = await run(rec, 'c-ours', { cookies: { cmsSID: 'forged', e: '5' } });
        assert.deepStrictEqual(sentCookies(forged.msg.payload), { e: '5' });
        assert.strictEqual((forged.msg.payload.headers.cookie.match(/cmsSID=/g) || []).length, 1);
        assert.ok(!forged.msg.payload.headers.cookie.includes('forged'));
        await allAnswered(rec);
    });

    it('encodes payloads alike: string, Buffer, number, JSON, form-urlencoded, multipart', async function () {
        await load([{ id: 'p', method: 'POST' }]);
        const cases = [
            () => ({ payload: 'plain text' }),
            () => ({ payload: Buffer.from([0, 1, 2, 255]) }),
            () => ({ payload: 42 }),
            () => ({ payload: { a: 1, b: 'x' } }),
            () => ({ payload: { a: 1 }, headers: { 'Content-Type': 'application/vnd.test+json' } }),
            () => ({ payload: { a: 'x y', list: [1, 2], empty: '' }, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
        ];
        for (const makeMsg of cases) {
            const { ours, core } = await both(rec, 'p', makeMsg, session);
            assert.strictEqual(ours.msg.payload.body, core.msg.payload.body, JSON.stringify(makeMsg()));
            assert.deepStrictEqual(sentHeaders(ours.msg.payload), sentHeaders(core.msg.payload), JSON.stringify(makeMsg()));
        }
        const multipart = () => ({
            headers: { 'content-type': 'multipart/form-data' },
            payload: {
                text: 'hello',
                bin: Buffer.from([1, 2, 3]),
                file: { value: Buffer.from('file body'), options: { filename: 'data.bin' } },
                num: 5,
                skipped: null,
            },
        });
        const { ours, core } = await both(rec, 'p', multipart, session);
        assert.match(ours.msg.payload.headers['content-type'], /^multipart\/form-data; boundary=/);
        assert.match(core.msg.payload.headers['content-type'], /^multipart\/form-data; boundary=/);
        assert.deepStrictEqual(ours.msg.payload.parts, core.msg.payload.parts);
        assert.deepStrictEqual(
            ours.msg.payload.parts.map((p: any) => [p.name, p.filename, Buffer.from(p.value, 'base64').toString()]),
            [
                ['text', undefined, 'hello'],
                ['bin', undefined, '\u0001\u0002\u0003'],
                ['file', 'data.bin', 'file body'],
                ['num', undefined, '5'],
            ],
        );
        await allAnswered(rec);
    });

    it('puts a GET payload in the query or the body per paytoqs', async function () {
        await load([
            { id: 'ignore', url: '/echo?x=1', paytoqs: 'ignore' },
            { id: 'query', url: '/echo?x=1', paytoqs: 'query' },
            { id: 'body', url: '/echo?x=1', paytoqs: 'body' },
        ]);
        const payload = () => ({ payload: { a: 1, b: 'x y', list: ['p', 'q'] } });
        const expected = {
            ignore: ['/echo?x=1', ''],
            query: ['/echo?x=1&a=1&b=x%20y&list=p&list=q', ''],
            body: ['/echo?x=1', '{"a":1,"b":"x y","list":["p","q"]}'],
        };
        for (const [id, [pathAndQuery, body]] of Object.entries(expected)) {
            const { ours, core } = await both(rec, id, payload, session);
            for (const result of [ours, core]) {
                assert.strictEqual(result.msg.payload.path, pathAndQuery, id);
                assert.strictEqual(Buffer.from(result.msg.payload.body, 'base64').toString(), body, id);
            }
        }
        await allAnswered(rec);
    });

    it('returns text, a Buffer or parsed JSON per ret; {} for a 204; a warning and the text for bad JSON', async function () {
        await load([
            { id: 'txt', url: '/json', ret: 'txt' },
            { id: 'bin', url: '/json', ret: 'bin' },
            { id: 'obj', url: '/json', ret: 'obj' },
            { id: 'none', url: '/no-content', ret: 'obj' },
            { id: 'bad', url: '/bad-json', ret: 'obj' },
            { id: 'empty', url: '/empty', ret: 'obj' },
        ]);
        const expected = { txt: '{"ok":true}', bin: Buffer.from('{"ok":true}'), obj: { ok: true }, none: {}, bad: '{"a":', empty: '' };
        for (const [id, payload] of Object.entries(expected)) {
            const { ours, core } = await both(rec, id, () => ({}), session);
            assert.deepStrictEqual(ours.msg.payload, payload, id);
            assert.deepStrictEqual(core.msg.payload, payload, id);
            assert.strictEqual(ours.msg.statusCode, core.msg.statusCode, id);
            const warned = id === 'bad' || id === 'empty' ? 1 : 0;
            assert.strictEqual(ours.warnings.length, warned, id);
            assert.strictEqual(core.warnings.length, warned, id);
        }
        await allAnswered(rec);
    });

    it('honours msg.requestTimeout', async function () {
        await load([
            { id: 'slow', url: '/slow?ms=3000' },
            { id: 'quick', url: '/slow?ms=50' },
        ]);
        const late = await both(rec, 'slow', () => ({ requestTimeout: 150 }), session);
        assert.ok(late.ours.caught && late.core.caught);
        assert.strictEqual(late.ours.msg.errorCode, 'TIMEOUT');
        const inTime = await both(rec, 'quick', () => ({ requestTimeout: 2000 }), session);
        assert.strictEqual(inTime.ours.msg.statusCode, 200);
        assert.strictEqual(inTime.core.msg.statusCode, 200);
        await allAnswered(rec);
    });

    it('follows redirects with the same msg.responseUrl and msg.redirectList, and stops with msg.followRedirects false', async function () {
        const other = await new ParityServer({ open: true }).start();
        try {
            await load([
                { id: 'hop', url: '/redirect/cookie' },
                { id: 'chain', url: '/redirect/same/3' },
                { id: 'away', url: `/redirect/away?to=${encodeURIComponent(`${other.origin}/echo`)}` },
            ]);
            const hop = await both(rec, 'hop', () => ({}), session);
            for (const result of [hop.ours, hop.core]) {
                assert.strictEqual(result.msg.statusCode, 200);
                assert.strictEqual(result.msg.responseUrl, `${backend.origin}/redirect/echo`);
                assert.deepStrictEqual(result.msg.redirectList, [{ location: '/redirect/echo', cookies: { hop: { value: '1', Path: '/' } } }]);
                assert.strictEqual(sentCookies(result.msg.payload).hop, '1', 'a cookie set on a hop goes with the next hop');
            }
            const chain = await both(rec, 'chain', () => ({}), session);
            assert.deepStrictEqual(chain.ours.msg.redirectList, chain.core.msg.redirectList);
            assert.deepStrictEqual(
                chain.ours.msg.redirectList.map((r: any) => r.location),
                ['/redirect/same/2', '/redirect/same/1', '/redirect/same/0', '/redirect/echo'],
            );
            const stopped = await both(rec, 'hop', () => ({ followRedirects: false }), session);
            for (const result of [stopped.ours, stopped.core]) {
                assert.strictEqual(result.msg.statusCode, 302);
                assert.strictEqual(result.msg.headers.location, '/redirect/echo');
                assert.strictEqual(result.msg.responseUrl, `${backend.origin}/redirect/cookie`);
                assert.deepStrictEqual(result.msg.redirectList, []);
            }
            const away = await both(rec, 'away', () => ({}), session);
            assert.strictEqual(away.ours.msg.responseUrl, `${other.origin}/echo`);
            assert.strictEqual(away.core.msg.responseUrl, `${other.origin}/echo`);
            assert.deepStrictEqual(away.ours.msg.redirectList, away.core.msg.redirectList);
            await allAnswered(rec);
        } finally {
            await other.stop();
        }
    });

    it('gives msg.responseCookies in the same shape, without the session cookie', async function () {
        await load([{ id: 'sc', url: '/set-cookie' }]);
        const { ours, core } = await both(rec, 'sc', () => ({}), session);
        const { cmsSID, ...others } = core.msg.responseCookies;
        assert.ok(cmsSID, 'the core node does list the session cookie');
        assert.deepStrictEqual(ours.msg.responseCookies, others);
        assert.deepStrictEqual(ours.msg.responseCookies, { a: { value: '1', Path: '/' }, b: { value: 'x y', 'Max-Age': '60', SameSite: 'Lax' } });
        await allAnswered(rec);
    });

    it("completes a URL without a scheme with http:// as the core node does, then keeps to the server's origin", async function () {
        const bare = `127.0.0.1:${backend.port}`;
        await load([
            { id: 'bare', url: `${bare}/echo/bare?q=1`, asTyped: true },
            { id: 'msgurl', url: '' },
            { id: 'away', url: `localhost:${backend.port}/echo`, asTyped: true },
        ]);
        const fromNode = await both(rec, 'bare', () => ({}), session);
        const fromMsg = await both(rec, 'msgurl', () => ({ url: `${bare}/echo/msg` }), session);
        for (const [result, path] of [
            [fromNode.ours, '/echo/bare?q=1'],
            [fromNode.core, '/echo/bare?q=1'],
            [fromMsg.ours, '/echo/msg'],
            [fromMsg.core, '/echo/msg'],
        ] as const) {
            assert.deepStrictEqual([result.caught, result.msg.statusCode, result.msg.payload.path], [false, 200, path]);
        }
        assert.strictEqual(fromNode.ours.msg.responseUrl, `${backend.origin}/echo/bare?q=1`);
        // Another host is another origin: refused, nothing sent (the core node would send it on).
        const sent = backend.stats.requests.length;
        const away = await run(rec, 'away-ours', {});
        assert.deepStrictEqual([away.caught, away.msg.errorCode], [true, 'INVALID_INPUT']);
        assert.match(away.msg.error.message, /points to http:\/\/localhost:\d+/);
        assert.strictEqual(backend.stats.requests.length, sent);
        await allAnswered(rec);
    });

    it("sends the editor's header list as the core node does (preset, other and msg types), an env value too", async function () {
        const rows = [
            { keyType: 'Accept', keyValue: '', valueType: 'application/json', valueValue: '' },
            { keyType: 'other', keyValue: 'X-Fixed', valueType: 'other', valueValue: 'fixed' },
            { keyType: 'msg', keyValue: 'headerName', valueType: 'msg', valueValue: 'token.value' },
        ];
        await load([
            { id: 'list', method: 'POST', headers: rows },
            { id: 'env', headers: [{ keyType: 'other', keyValue: 'X-From-Env', valueType: 'env', valueValue: 'PARITY_HEADER_VALUE' }] },
        ]);
        const msg = () => ({ headerName: 'X-From-Msg', token: { value: 't-1' }, payload: 'hi' });
        const { ours, core } = await both(rec, 'list', msg, session);
        assert.deepStrictEqual(sentHeaders(ours.msg.payload), sentHeaders(core.msg.payload));
        assert.deepStrictEqual(sentHeaders(ours.msg.payload), {
            accept: 'application/json',
            'x-fixed': 'fixed',
            'x-from-msg': 't-1',
            'content-length': '2',
        });
        // The core node's list has no env type (Node-RED 4): ours reads the variable like any env property.
        process.env.PARITY_HEADER_VALUE = 'from-env';
        try {
            const env = await run(rec, 'env-ours', {});
            assert.strictEqual(env.msg.payload.headers['x-from-env'], 'from-env');
        } finally {
            delete process.env.PARITY_HEADER_VALUE;
        }
        await allAnswered(rec);
    });

    it('lets msg.headers win over the header list (on purpose: the core node lets the list win), never over the session cookie', async function () {
        const rows = [
            { keyType: 'other', keyValue: 'X-Fixed', valueType: 'other', valueValue: 'from-list' },
            { keyType: 'other', keyValue: 'Cookie', valueType: 'other', valueValue: 'cmsSID=forged; extra=1' },
        ];
        await load([{ id: 'wins', headers: rows }]);
        const { ours, core } = await both(rec, 'wins', () => ({ headers: { 'x-fixed': 'from-msg' } }), session);
        assert.strictEqual(ours.msg.payload.headers['x-fixed'], 'from-msg');
        assert.strictEqual(core.msg.payload.headers['x-fixed'], 'from-list');
        const cookie = ours.msg.payload.headers.cookie;
        assert.strictEqual((cookie.match(/cmsSID=/g) || []).length, 1);
        assert.ok(!cookie.includes('forged'), cookie);
        assert.ok(backend.sessions.has(/cmsSID=([0-9a-f]+)/.exec(cookie)![1]), 'the live session cookie went');
        assert.deepStrictEqual(sentCookies(ours.msg.payload), { extra: '1' });
        await allAnswered(rec);
    });

    it('reuses the input msg: _msgid and user properties are kept', async function () {
        await load([{ id: 'keep', url: '/json' }]);
        const { ours, core } = await both(rec, 'keep', () => ({ topic: 'kept', extra: { deep: [1, 2] } }), session);
        for (const result of [ours, core]) {
            assert.strictEqual(result.msg.topic, 'kept');
            assert.deepStrictEqual(result.msg.extra, { deep: [1, 2] });
            assert.strictEqual(result.msg.retry, 0);
        }
        await allAnswered(rec);
        const ids = rec.out.messages.map((m: any) => m._msgid);
        assert.strictEqual(new Set(ids).size, 2);
    });
});

describe('authorized request: TLS parity through the core tls-config node', function () {
    let backend: any;
    let rec;
    const { start } = nodeRedWithSimulator((options?: any) => new ParityServer(options));

    const check = async (tls: any, expectOk: any) => {
        rec = await loadParity(parityFlow(backend.origin, [{ id: 't', url: '/json' }], { tls }));
        const { ours, core } = await both(
            rec,
            't',
            () => ({}),
            () => backend.issueSession(),
        );
        if (expectOk) {
            assert.deepStrictEqual([ours.caught, ours.msg.payload], [false, { ok: true }]);
            assert.deepStrictEqual([core.caught, core.msg.payload], [false, { ok: true }]);
        } else {
            assert.ok(ours.caught && core.caught, 'both refuse');
            assert.strictEqual(ours.msg.errorCode, 'TLS');
        }
        await allAnswered(rec);
        await helper.unload();
    };

    it('trusts a CA, or a server when verification is turned off, and refuses an untrusted one', async function () {
        backend = await start({ tls: serverTls() });
        await check(tlsNode(), true);
        await check(tlsNode({ ca: '', verifyservercert: false }), true);
        await check(undefined, false);
        await check(tlsNode({ ca: tlsFile('client-ca.crt') }), false);
    });

    it('completes a URL without a scheme with https:// when a TLS configuration is set, as the core node does', async function () {
        backend = await start({ tls: serverTls() });
        rec = await loadParity(parityFlow(backend.origin, [{ id: 't', url: `127.0.0.1:${backend.port}/json`, asTyped: true }], { tls: tlsNode() }));
        const { ours, core } = await both(
            rec,
            't',
            () => ({}),
            () => backend.issueSession(),
        );
        assert.deepStrictEqual([ours.caught, ours.msg.payload, ours.msg.responseUrl], [false, { ok: true }, `${backend.origin}/json`]);
        assert.deepStrictEqual([core.caught, core.msg.payload, core.msg.responseUrl], [false, { ok: true }, `${backend.origin}/json`]);
        await allAnswered(rec);
    });

    it('presents a client certificate to a server that requires one', async function () {
        backend = await start({ tls: { ...serverTls(), ca: fs.readFileSync(tlsFile('client-ca.crt')), requestCert: true, rejectUnauthorized: true } });
        await check(tlsNode({ cert: tlsFile('client-cert.crt'), key: tlsFile('client-key.key') }), true);
        backend.stats.requests = [];
        rec = await loadParity(parityFlow(backend.origin, [{ id: 't', url: '/json' }], { tls: tlsNode() }));
        const { ours, core } = await both(
            rec,
            't',
            () => ({}),
            () => backend.issueSession(),
        );
        assert.ok(ours.caught && core.caught, 'without the client certificate both are refused');
        assert.strictEqual(ours.msg.errorCode, 'TLS');
        assert.match(ours.msg.error.message, /client certificate/);
        assert.strictEqual(backend.stats.requests.length, 0);
        await allAnswered(rec);
    });
});

describe('authorized request: proxy parity through the core http proxy node', function () {
    let backend: any;
    let secureBackend: any;
    let proxy: any;
    let rec;
    const proxyNode = (overrides = {}) => ({ id: 'proxy', type: 'http proxy', name: '', url: proxy.url, noproxy: [], ...overrides });
    const secureTls = tlsNode();
    const { start } = nodeRedWithSimulator((options?: any) => new ParityServer(options));

    beforeEach(async () => {
        backend = await start();
        secureBackend = await start({ tls: serverTls() });
    });
    afterEach(async () => {
        await proxy.stop();
    });

    /** Both nodes through the proxy to `target`; returns what the proxy saw. */
    const through = async (target: any, node: any, credentials: any, options = {}) => {
        await bothGetJson(parityFlow(target.origin, [{ id: 'p', url: '/json' }], { proxy: node, ...options }), target, credentials);
        return proxy.seen;
    };

    for (const auth of [false, true]) {
        const credentials = auth ? { username: 'proxy-user', password: 'proxy-Secret-1' } : undefined;

        it(`sends http targets in absolute form through the proxy${auth ? ' with proxy credentials' : ''}`, async function () {
            proxy = await new TestProxy(credentials).start();
            const seen = await through(backend, proxyNode(), auth ? { proxy: credentials } : {});
            assert.ok(seen.every((entry: any) => entry.authorized));
            // Ours in absolute form, which every proxy accepts; the core node (hpagent) tunnels even plain HTTP.
            const ours = seen.filter((entry: any) => entry.kind === 'http').map((entry: any) => entry.target);
            assert.deepStrictEqual(
                ours,
                ['/iap/auth/login', '/iap/auth/sessionTimeout', '/json'].map((p) => backend.origin + p),
            );
            assert.deepStrictEqual(
                seen.filter((entry: any) => entry.kind === 'connect').map((entry: any) => entry.target),
                [`127.0.0.1:${backend.port}`],
            );
            assert.ok(backend.stats.requests.every((r: any) => r.path !== '/json' || r.session));
        });

        it(`tunnels https targets with CONNECT${auth ? ' with proxy credentials' : ''}`, async function () {
            proxy = await new TestProxy(credentials).start();
            const seen = await through(secureBackend, proxyNode(), auth ? { proxy: credentials } : {}, { tls: secureTls });
            const target = `127.0.0.1:${secureBackend.port}`;
            assert.ok(seen.length >= 2 && seen.every((entry: any) => entry.kind === 'connect' && entry.target === target && entry.authorized));
        });
    }

    it('goes direct to hosts in noproxy', async function () {
        proxy = await new TestProxy().start();
        const seen = await through(backend, proxyNode({ noproxy: ['localhost', '127.0.0.1'] }), {});
        assert.deepStrictEqual(seen, []);
        await helper.unload();
        const others = await through(backend, proxyNode({ noproxy: ['.example.com', `127.0.0.1:${backend.port + 1}`] }), {});
        assert.ok(others.length > 0, 'entries that do not match keep the proxy');
    });

    for (const secure of [false, true]) {
        it(`a proxy that answers 407 to the login (${secure ? 'CONNECT' : 'plain HTTP'}) is CONFIG, never reaches the server and costs no login`, async function () {
            const target = secure ? secureBackend : backend;
            proxy = await new TestProxy({ username: 'proxy-user', password: 'proxy-Secret-1' }).start();
            rec = await loadParity(parityFlow(target.origin, [{ id: 'p', url: '/json' }], { proxy: proxyNode(), tls: secure ? secureTls : undefined }), {
                proxy: { username: 'proxy-user', password: 'wrong-Secret-2' },
            });
            // More refusals than the guard's budget of failed logins (3): none of them counts.
            for (let i = 0; i < 4; i++) {
                const ours = await run(rec, 'p-ours', {});
                assert.deepStrictEqual([ours.caught, ours.msg.errorCode], [true, 'CONFIG']);
                assert.match(ours.msg.error.message, /The HTTP proxy refused its credentials \(HTTP 407/);
                assert.ok(!JSON.stringify(ours.msg).includes('wrong-Secret-2'));
            }
            assert.strictEqual(proxy.seen.filter((entry: any) => !entry.authorized).length, 4, 'each msg tried the proxy once');
            assert.deepStrictEqual([target.stats.logins, target.stats.requests.length], [0, 0], 'the server saw nothing');
            // The core node fails too (hpagent tunnels even plain HTTP, and the CONNECT is refused).
            const core = await run(rec, 'p-core', { cookies: { cmsSID: target.issueSession() } });
            assert.strictEqual(core.caught, true);
            // Once the proxy takes the configured credentials, the next msg logs in at once: nothing was held back.
            proxy.requireCredentials({ username: 'proxy-user', password: 'wrong-Secret-2' });
            const ok = await run(rec, 'p-ours', {});
            assert.deepStrictEqual([ok.caught, ok.msg.payload], [false, { ok: true }]);
            assert.strictEqual(target.stats.logins, 1);
            await allAnswered(rec);
        });
    }

    it('a 407 to an authorized request or a logout is CONFIG too, and the server never sees them', async function () {
        proxy = await new TestProxy({ username: 'proxy-user', password: 'proxy-Secret-1' }).start();
        const flow = parityFlow(backend.origin, [{ id: 'p', url: '/json' }], { proxy: proxyNode() });
        flow.push({ id: 'bye', z: 'tab', type: 'rest-session-logout', server: 'server', wires: [['out']] });
        rec = await loadParity(flow, { proxy: { username: 'proxy-user', password: 'proxy-Secret-1' } });
        const first = await run(rec, 'p-ours', {});
        assert.deepStrictEqual([first.caught, first.msg.payload], [false, { ok: true }]);
        const seen = backend.stats.requests.length;
        proxy.requireCredentials({ username: 'proxy-user', password: 'rotated-Secret-3' });
        const request = await run(rec, 'p-ours', {});
        const logout = await run(rec, 'bye', {});
        for (const result of [request, logout]) {
            assert.deepStrictEqual([result.caught, result.msg.errorCode], [true, 'CONFIG']);
            assert.match(result.msg.error.message, /The HTTP proxy refused its credentials/);
        }
        assert.strictEqual(backend.stats.requests.length, seen, 'neither reached the server');
        await allAnswered(rec);
    });
});

describe('authorized request: proxy parity through the environment (http_proxy, https_proxy, no_proxy)', function () {
    const NAMES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY', 'all_proxy', 'ALL_PROXY'];
    const saved: Record<string, string | undefined> = {};
    let backend: any;
    let secureBackend: any;
    let proxy: TestProxy;

    const { start } = nodeRedWithSimulator((options?: any) => new ParityServer(options));

    beforeEach(async () => {
        for (const name of NAMES) {
            saved[name] = process.env[name];
            delete process.env[name];
        }
        backend = await start();
        secureBackend = await start({ tls: serverTls() });
        proxy = await new TestProxy().start();
    });
    afterEach(async () => {
        for (const name of NAMES) {
            if (saved[name] === undefined) delete process.env[name];
            else process.env[name] = saved[name];
        }
        await proxy.stop();
    });

    /** Both nodes, no proxy node, against `target`; returns the targets the proxy saw. */
    const throughEnvironment = async (target: any, tls?: FlowNode) => {
        await bothGetJson(parityFlow(target.origin, [{ id: 'p', url: '/json' }], { tls }), target);
        await helper.unload();
        return proxy.seen.splice(0).map((entry) => `${entry.kind} ${entry.target}`);
    };

    it('sends http targets through http_proxy or HTTP_PROXY, and goes direct to hosts in no_proxy', async function () {
        for (const name of ['http_proxy', 'HTTP_PROXY']) {
            process.env[name] = proxy.url;
            const seen = await throughEnvironment(backend);
            // Ours in absolute form; the core node (hpagent) tunnels.
            assert.deepStrictEqual(
                seen.filter((entry) => entry.startsWith('http ')),
                ['/iap/auth/login', '/iap/auth/sessionTimeout', '/json'].map((p) => `http ${backend.origin}${p}`),
                name,
            );
            assert.deepStrictEqual(
                seen.filter((entry) => entry.startsWith('connect ')),
                [`connect 127.0.0.1:${backend.port}`],
                name,
            );
            delete process.env[name];
        }
        process.env.http_proxy = proxy.url;
        process.env.NO_PROXY = '127.0.0.1';
        assert.deepStrictEqual(await throughEnvironment(backend), []);
    });

    it('tunnels https targets through https_proxy with CONNECT', async function () {
        process.env.https_proxy = proxy.url;
        const secureTls = tlsNode();
        const seen = await throughEnvironment(secureBackend, secureTls);
        assert.ok(seen.length >= 2, seen.join());
        assert.ok(
            seen.every((entry) => entry === `connect 127.0.0.1:${secureBackend.port}`),
            seen.join(),
        );
        // http_proxy alone is not used for https targets.
        delete process.env.https_proxy;
        process.env.http_proxy = proxy.url;
        assert.deepStrictEqual(await throughEnvironment(secureBackend, secureTls), []);
    });
});

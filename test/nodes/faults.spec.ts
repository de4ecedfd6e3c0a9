/**
 * Fault survival of the authorized request node: a server restart mid-stream, bursts of 502/503,
 * servers that never answer, broken replies, and a redeploy with 100 requests in flight.
 * Every input msg must come out exactly once: on the output or at a Catch node.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { helper, NODES_DIR, ALL_NODES, ADMIN, Recorder, standardFlow, load, answeredOnce, delay, nodeRedWithSimulator } from '../support/harness';
import { ParityServer, TestProxy } from '../support/parity-server';

const TLS_DIR = path.join(__dirname, '..', 'fixtures', 'tls');
// The core http proxy node of the Node-RED the harness runs.
const coreProxyNode = require(path.join(NODES_DIR, 'core', 'network', '06-httpproxy.js'));

function flowFor(baseUrl: any, request = {}, server = {}) {
    return standardFlow(baseUrl, { request: { url: '/json', ret: 'obj', ...request }, server: { tls: '', logoutOnClose: false, ...server } });
}

/** A TCP server that accepts connections and never says a word. */
async function silentServer() {
    const sockets = new Set();
    const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.resume(); // read and drop what comes, so a client hanging up is seen
        socket.on('error', () => {});
        socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        port: (server.address() as net.AddressInfo).port,
        accepted: () => sockets.size,
        stop: () =>
            new Promise((resolve) => {
                for (const socket of sockets) (socket as any).destroy();
                server.close(resolve);
            }),
    };
}

describe('authorized request: fault survival', function () {
    let backend: any;

    const { start } = nodeRedWithSimulator(() => new ParityServer());
    beforeEach(async () => {
        backend = await start();
    });

    it('recovers from a server restart mid-stream (all sessions gone) with one login, losing no message', async function () {
        const rec = await load(flowFor(backend.origin));
        const r1 = helper.getNode('r1');
        const total = 40;
        for (let i = 0; i < total; i++) {
            r1.receive({ topic: i });
            if (i === 15) await backend.restart();
            await delay(5);
        }
        await answeredOnce(rec, total);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.error.message),
            [],
        );
        assert.deepStrictEqual(
            rec.out.messages.map((m) => m.topic).sort((a, b) => a - b),
            [...Array(total).keys()],
        );
        assert.ok(rec.out.messages.every((m) => m.statusCode === 200 && m.payload.ok === true));
        assert.strictEqual(backend.stats.logins, 2, 'the first login and one after the restart');
    });

    it('retries a burst of 502/503 within the policy for idempotent methods only; POST and PATCH are sent once', async function () {
        const flow = flowFor(backend.origin, { method: 'use', url: '/echo' });
        const rec = await load(flow);
        const r1 = helper.getNode('r1');
        const calls = () => backend.requestsTo('/echo').length;
        const send = async (method: any, answered: any) => {
            r1.receive({ method, payload: 'x' });
            await rec.out.waitFor(answered);
            return rec.out.messages[answered - 1];
        };
        backend.failNext(503, 2);
        assert.strictEqual((await send('GET', 1)).statusCode, 200);
        assert.strictEqual(calls(), 3);
        backend.failNext(502, 3);
        assert.strictEqual((await send('GET', 2)).statusCode, 502, 'the last reply after two retries');
        assert.strictEqual(calls(), 6);
        for (const method of ['PUT', 'DELETE']) {
            backend.failNext(503, 1, { 'Retry-After': '0' });
            const before = calls();
            assert.strictEqual((await send(method, rec.out.messages.length + 1)).statusCode, 200, method);
            assert.strictEqual(calls() - before, 2, method);
        }
        for (const method of ['POST', 'PATCH']) {
            backend.failNext(503, 1);
            const before = calls();
            assert.strictEqual((await send(method, rec.out.messages.length + 1)).statusCode, 503, method);
            assert.strictEqual(calls() - before, 1, `${method} is never sent twice`);
        }
        await answeredOnce(rec, 6);
    });

    it('times out a server that accepts the connection and never answers, plain or TLS, login or request', async function () {
        const silent = await silentServer();
        try {
            for (const scheme of ['http', 'https']) {
                const rec = await load(flowFor(`${scheme}://127.0.0.1:${silent.port}`, {}, { requestTimeout: 150 }));
                const started = Date.now();
                helper.getNode('r1').receive({});
                const [caught] = await rec.caught.waitFor(1);
                assert.strictEqual(caught.errorCode, 'TIMEOUT', scheme);
                assert.match(caught.error.message, /within 150 ms/);
                assert.ok(Date.now() - started < 3000, 'a login is retried twice at most');
                await answeredOnce(rec, 1);
                await helper.unload();
            }
            for (let i = 0; i < 40 && silent.accepted() > 0; i++) await delay(25);
            assert.strictEqual(silent.accepted(), 0, 'no socket left open');
        } finally {
            await silent.stop();
        }

        const rec = await load(flowFor(backend.origin, { method: 'use', url: '/hang' }));
        helper.getNode('r1').receive({ method: 'POST', requestTimeout: 200 });
        helper.getNode('r1').receive({ method: 'GET', requestTimeout: 200 });
        await answeredOnce(rec, 2);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            ['TIMEOUT', 'TIMEOUT'],
        );
        assert.strictEqual(backend.requestsTo('/hang').filter((r: any) => r.method === 'POST').length, 1, 'a POST that timed out is not sent again');
        assert.strictEqual(backend.requestsTo('/hang').filter((r: any) => r.method === 'GET').length, 3);
    });

    it('times out a proxy that never opens the tunnel', async function () {
        const silent = await silentServer();
        try {
            const flow = flowFor('https://127.0.0.1:9', {}, { proxy: 'proxy', requestTimeout: 150 });
            flow.push({ id: 'proxy', type: 'http proxy', url: `http://127.0.0.1:${silent.port}`, noproxy: [] });
            await helper.load([...ALL_NODES, coreProxyNode], flow, { server: ADMIN });
            const rec = { out: new Recorder('out'), caught: new Recorder('caught') };
            helper.getNode('r1').receive({});
            const [caught] = await rec.caught.waitFor(1);
            assert.strictEqual(caught.errorCode, 'TIMEOUT');
            await answeredOnce(rec, 1);
        } finally {
            await silent.stop();
        }
    });

    it('keeps a proxy tunnel open past the tunnel set-up time: slow replies and idle keep-alive sockets survive', async function () {
        const secure = await new ParityServer({
            tls: { key: fs.readFileSync(path.join(TLS_DIR, 'server.key')), cert: fs.readFileSync(path.join(TLS_DIR, 'server.crt')) },
        }).start();
        const proxy = await new TestProxy().start();
        try {
            // The server's timeout (1.5 s: the login's CONNECT, TLS handshake and exchanges each fit in it on a
            // loaded machine) also bounds the CONNECT; a msg may allow a request longer (the 2 s reply).
            const flow = flowFor(secure.origin, { url: '/slow?ms=2000' }, { proxy: 'proxy', tls: 'tls', requestTimeout: 1500 });
            flow.push({ id: 'proxy', type: 'http proxy', url: proxy.url, noproxy: [] });
            await helper.load([...ALL_NODES, coreProxyNode], flow, { server: ADMIN });
            const rec = { out: new Recorder('out'), caught: new Recorder('caught') };
            helper.getNode('r1').receive({ requestTimeout: 10_000 });
            await rec.out.waitFor(1);
            // Idle past the set-up time, well within the 4 s an idle keep-alive socket is kept.
            await delay(1800);
            helper.getNode('r1').receive({ requestTimeout: 10_000 });
            const [first, second] = await rec.out.waitFor(2);
            assert.deepStrictEqual([first.payload, second.payload], [{ slow: true }, { slow: true }]);
            // The login goes on a connection (a tunnel) of its own; the rest share one kept alive.
            assert.strictEqual(proxy.seen.length, 2, 'one tunnel for the login, one kept alive and reused');
            await answeredOnce(rec, 2);
        } finally {
            await helper.unload();
            await proxy.stop();
            await secure.stop();
        }
    });

    it('gives a clear error for a truncated or malformed reply, and bad JSON as text with a warning', async function () {
        const rec = await load(flowFor(backend.origin, { method: 'use', url: '' }));
        const r1 = helper.getNode('r1');
        const warnings = [];
        r1.on('call:warn', (call) => warnings.push((call as any).args[0]));
        r1.receive({ method: 'POST', url: '/truncated' });
        r1.receive({ method: 'GET', url: '/malformed' });
        r1.receive({ method: 'GET', url: '/bad-json' });
        await answeredOnce(rec, 3);
        const caught = (url: any) => rec.caught.messages.find((m) => m.url === url);
        const [truncated, malformed] = [caught('/truncated'), caught('/malformed')];
        assert.strictEqual(truncated!.errorCode, 'NETWORK');
        assert.match(truncated!.error.message, /closed before the whole reply arrived/);
        assert.strictEqual(malformed!.errorCode, 'SERVER_ERROR');
        assert.match(malformed!.error.message, /not valid HTTP \(HPE_/);
        assert.strictEqual(rec.out.messages[0].payload, '{"a":');
        assert.strictEqual(warnings.length, 1);
        assert.strictEqual(backend.requestsTo('/truncated').length, 1, 'a POST is not sent again');
    });

    it('survives a redeploy with 100 requests in flight: no crash, no unhandled rejection, each msg answered once', async function () {
        const rejections: any = [];
        const onRejection = (reason: any) => rejections.push(reason);
        process.on('unhandledRejection', onRejection);
        try {
            const flow = flowFor(backend.origin, { url: '/slow?ms=200' }, { logoutOnClose: true });
            await load(flow);
            const r1 = helper.getNode('r1');
            // The old flow's nodes are closed by the redeploy: watch their calls, not the helper nodes.
            const answers = new Map();
            const outcomes: any = [];
            const count = (msg: any, outcome: any) => {
                answers.set(msg && msg._msgid, (answers.get(msg && msg._msgid) || 0) + 1);
                outcomes.push(outcome);
            };
            r1.on('call:send', (call) => count((call as any).args[0], 'sent'));
            r1.on('call:error', (call) => count((call as any).args[1], (call as any).args[0] && (call as any).args[0].code));
            const ids = [];
            for (let i = 0; i < 100; i++) {
                const msg = { _msgid: `m${i}` };
                ids.push(msg._msgid);
                r1.receive(msg);
            }
            await delay(80);
            const redeployed = flowFor(backend.origin, { url: '/json' }, { name: 'redeployed', logoutOnClose: true });
            await helper.setFlows(redeployed, 'full');
            for (let i = 0; i < 200 && answers.size < 100; i++) await delay(25);
            await delay(100);
            assert.deepStrictEqual(
                ids.filter((id) => answers.get(id) !== 1),
                [],
                'every msg answered exactly once',
            );
            assert.strictEqual(answers.size, 100);
            // Requests cut off by the redeploy say so (CONFIG: the server configuration was stopped).
            assert.deepStrictEqual(
                [...new Set(outcomes)].filter((o) => o !== 'sent' && o !== 'CONFIG'),
                [],
            );

            const rec = { out: helper.getNode('out'), caught: helper.getNode('caught') };
            const after = await new Promise((resolve, reject) => {
                const timer = setTimeout(() => reject(new Error('the new flow did not answer')), 5000);
                rec.out.once('input', (msg: any) => {
                    clearTimeout(timer);
                    resolve(msg);
                });
                helper.getNode('r1').receive({});
            });
            assert.deepStrictEqual((after as any).payload, { ok: true });
            assert.strictEqual(backend.sessions.size, 1, 'the closed flow logged out and left no session behind');
            assert.deepStrictEqual(rejections, []);
        } finally {
            process.removeListener('unhandledRejection', onRejection);
        }
    });
});

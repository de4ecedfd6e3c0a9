/**
 * The live updates socket through a proxy that refuses its credentials (407): a CONFIG error that
 * names the proxy, over real sockets, for ws (absolute-form upgrade) and wss (CONNECT), and through
 * the environment's proxy when the server has no proxy node.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';

import { SessionError } from '../../../src/lib/errors';
import { environmentProxy } from '../../../src/lib/http/proxy-agents';
import { openSocket } from '../../../src/lib/updates/open-socket';
import { TestProxy } from '../../support/parity-server';

const CA = fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'tls', 'ca.crt'));
const CREDENTIALS = { username: 'proxy-user', password: 'proxy-Secret-1' };

/** The error openSocket rejects with. */
async function refusal(url: string, transport: Parameters<typeof openSocket>[2]): Promise<SessionError> {
    const error = await openSocket(url, { Cookie: 'cmsSID=secret-cookie' }, transport).then(
        () => assert.fail('the socket opened'),
        (failure: unknown) => failure,
    );
    assert.ok(error instanceof SessionError, String(error));
    return error;
}

describe('live updates socket through a proxy', function () {
    let proxy: TestProxy;
    const saved = process.env.http_proxy;

    beforeEach(async () => {
        proxy = await new TestProxy(CREDENTIALS).start();
    });
    afterEach(async () => {
        if (saved === undefined) delete process.env.http_proxy;
        else process.env.http_proxy = saved;
        await proxy.stop();
    });

    it('is CONFIG "the HTTP proxy refused its credentials" for a 407 to a ws upgrade or a wss CONNECT', async function () {
        const wrong = { ...environmentProxy('http:', { http_proxy: `http://proxy-user:wrong@127.0.0.1:${proxy.port}` })! };
        for (const url of ['ws://127.0.0.1:9/iap/ws', 'wss://127.0.0.1:9/iap/ws']) {
            const error = await refusal(url, { proxy: wrong, tls: { ca: CA }, timeoutMs: 5000 });
            assert.strictEqual(error.code, 'CONFIG', error.message);
            assert.match(error.message, /The HTTP proxy refused its credentials \(HTTP 407/);
            assert.ok(!error.message.includes('secret-cookie') && !error.message.includes('wrong'));
        }
        assert.deepStrictEqual(
            proxy.seen.map((entry) => [entry.kind, entry.authorized]),
            [
                ['http', false],
                ['connect', false],
            ],
        );
    });

    it('rejects on a failed handshake (ws reports it while CLOSING): a refused connection is NETWORK', async function () {
        const closed = await new TestProxy().start();
        const port = closed.port;
        await closed.stop();
        const refused = await refusal(`ws://127.0.0.1:${port}/iap/ws`, { timeoutMs: 5000 });
        assert.deepStrictEqual([refused.code, refused.transportCode], ['NETWORK', 'ECONNREFUSED']);
    });

    it("goes through the environment's proxy when the server has no proxy node", async function () {
        process.env.http_proxy = proxy.url;
        const error = await refusal('ws://127.0.0.1:9/iap/ws', { timeoutMs: 5000 });
        assert.strictEqual(error.code, 'CONFIG');
        assert.deepStrictEqual(
            proxy.seen.map((entry) => entry.target),
            ['http://127.0.0.1:9/iap/ws'],
        );
    });
});

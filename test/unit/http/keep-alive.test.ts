import assert from 'node:assert';
import http from 'node:http';
import { Duplex } from 'node:stream';

import { DEFAULT_IDLE_MS, closeIdleBeforeServer, failedOnStaleConnection, idleLimitMs } from '../../../src/lib/http/keep-alive';

describe('keep-alive', function () {
    it('keeps an idle socket a second less than the server announced, else 4 s; "timeout=1" not at all', function () {
        assert.strictEqual(idleLimitMs('timeout=5'), 4000);
        assert.strictEqual(idleLimitMs('timeout=60, max=100'), 59_000);
        assert.strictEqual(idleLimitMs(['max=5, timeout=2']), 1000);
        assert.strictEqual(idleLimitMs('timeout=1'), 0);
        assert.strictEqual(idleLimitMs(undefined), DEFAULT_IDLE_MS);
        assert.strictEqual(idleLimitMs('max=5'), DEFAULT_IDLE_MS);
        assert.strictEqual(DEFAULT_IDLE_MS, 4000);
    });

    it('retries only a request cut on a reused connection before any reply', function () {
        const reused = { reusedSocket: true };
        assert.strictEqual(failedOnStaleConnection({ code: 'ECONNRESET', request: reused }), true);
        assert.strictEqual(failedOnStaleConnection({ code: 'EPIPE', request: reused }), true);
        assert.strictEqual(failedOnStaleConnection({ code: 'ECONNRESET', request: { reusedSocket: false } }), false, 'a new connection');
        assert.strictEqual(failedOnStaleConnection({ code: 'ECONNRESET', request: { reusedSocket: true, res: {} } }), false, 'a reply had begun');
        assert.strictEqual(failedOnStaleConnection({ code: 'ECONNRESET', request: reused, response: {} }), false);
        assert.strictEqual(failedOnStaleConnection({ code: 'ETIMEDOUT', request: reused }), false);
        assert.strictEqual(failedOnStaleConnection(undefined), false);
    });

    it('gives a kept socket the idle limit and takes it away while the socket carries a request', function () {
        const agent = closeIdleBeforeServer(new http.Agent({ keepAlive: true }));
        const timeouts: number[] = [];
        const socket = Object.assign(new Duplex(), {
            setKeepAlive: () => undefined,
            unref: () => undefined,
            ref: () => undefined,
            setTimeout: (ms: number) => timeouts.push(ms),
            _httpMessage: { res: { headers: { 'keep-alive': 'timeout=3' } } },
        });
        assert.strictEqual((agent.keepSocketAlive as unknown as (s: unknown) => boolean)(socket), true);
        assert.strictEqual(timeouts[timeouts.length - 1], 2000);
        agent.reuseSocket(socket, { reusedSocket: true } as unknown as http.ClientRequest);
        assert.strictEqual(timeouts[timeouts.length - 1], 0);
        socket._httpMessage.res.headers['keep-alive'] = 'timeout=1';
        assert.strictEqual((agent.keepSocketAlive as unknown as (s: unknown) => boolean)(socket), false, 'not worth keeping');
        agent.destroy();
    });
});

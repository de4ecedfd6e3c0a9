import assert from 'node:assert';
import sinon from 'sinon';
import { sendWithRetry } from '../../../src/lib/http/send-with-retry';
import { SessionError } from '../../../src/lib/errors';
import { DEFAULT_RETRY_POLICY } from '../../../src/lib/http/retry-policy';
import type { HttpResponse } from '../../../src/lib/http/http-client';

const POLICY = { limit: 2, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 30000 };

function reply(status: number, headers: HttpResponse['headers'] = {}, body = ''): HttpResponse {
    return { status, headers, body: Buffer.from(body), url: 'https://device.example/iap/devs', redirects: [] };
}

/** A fake `send` that answers with the given replies (or throws the given errors) in turn. */
function scriptedSend(...outcomes: (HttpResponse | Error)[]) {
    let next = 0;
    return sinon.spy(async (): Promise<HttpResponse> => {
        const outcome = outcomes[Math.min(next++, outcomes.length - 1)];
        if (outcome instanceof Error) throw outcome;
        return outcome;
    });
}

function recordingSleep() {
    const delays: any = [];
    const sleep = async (ms: any) => {
        delays.push(ms);
    };
    return { sleep, delays };
}

describe('send-with-retry', function () {
    it('returns the first reply when it is not a transient fault', async function () {
        const ok = reply(200, {}, 'ok');
        const send = scriptedSend(ok);
        const { sleep, delays } = recordingSleep();
        const result = await sendWithRetry(send, true, POLICY, sleep);
        assert.strictEqual(result, ok);
        assert.strictEqual(send.callCount, 1);
        assert.deepStrictEqual(delays, []);
    });

    it('retries an idempotent request at most twice on 503, then returns the last reply', async function () {
        const first = reply(503, {}, 'first');
        const second = reply(503, {}, 'second');
        const third = reply(503, {}, 'third');
        const send = scriptedSend(first, second, third, reply(200));
        const { sleep, delays } = recordingSleep();
        const result = await sendWithRetry(send, true, POLICY, sleep);
        assert.strictEqual(send.callCount, 3);
        assert.strictEqual(result, third);
        assert.strictEqual(delays.length, 2);
        assert.ok(delays[0] >= 50 && delays[0] <= 100, `first delay ${delays[0]}`);
        assert.ok(delays[1] >= 100 && delays[1] <= 200, `second delay ${delays[1]}`);
    });

    it('retries with the default policy when none is given (two retries)', async function () {
        const send = scriptedSend(reply(502), reply(504), reply(503));
        const { sleep, delays } = recordingSleep();
        const result = await sendWithRetry(send, true, undefined, sleep);
        assert.strictEqual(send.callCount, DEFAULT_RETRY_POLICY.limit + 1);
        assert.strictEqual(result.status, 503);
        assert.strictEqual(delays.length, 2);
    });

    it('returns the success that follows a transient fault', async function () {
        const ok = reply(200, {}, 'ok');
        const send = scriptedSend(reply(502), ok);
        const { sleep, delays } = recordingSleep();
        const result = await sendWithRetry(send, true, POLICY, sleep);
        assert.strictEqual(result, ok);
        assert.strictEqual(send.callCount, 2);
        assert.strictEqual(delays.length, 1);
    });

    it('does not retry when the request is not retryable (POST)', async function () {
        const unavailable = reply(503);
        const send = scriptedSend(unavailable, reply(200));
        const { sleep, delays } = recordingSleep();
        const result = await sendWithRetry(send, false, POLICY, sleep);
        assert.strictEqual(result, unavailable);
        assert.strictEqual(send.callCount, 1);
        assert.deepStrictEqual(delays, []);
    });

    it('does not retry a network error when not retryable', async function () {
        const error = new SessionError('NETWORK', 'Cannot reach POST https://device.example/x (ECONNRESET).');
        const send = scriptedSend(error, reply(200));
        const { sleep, delays } = recordingSleep();
        await assert.rejects(sendWithRetry(send, false, POLICY, sleep), (thrown) => thrown === error);
        assert.strictEqual(send.callCount, 1);
        assert.deepStrictEqual(delays, []);
    });

    it('retries a network error twice, then throws the last one', async function () {
        const errors = [1, 2, 3].map((n) => new SessionError('NETWORK', `Cannot reach the device (${n}).`));
        const send = scriptedSend(...errors, reply(200));
        const { sleep, delays } = recordingSleep();
        await assert.rejects(sendWithRetry(send, true, POLICY, sleep), (thrown) => thrown === errors[2]);
        assert.strictEqual(send.callCount, 3);
        assert.strictEqual(delays.length, 2);
        assert.ok(delays[0] >= 50 && delays[0] <= 100, `first delay ${delays[0]}`);
        assert.ok(delays[1] >= 100 && delays[1] <= 200, `second delay ${delays[1]}`);
    });

    it('retries a timeout and returns the reply that follows', async function () {
        const ok = reply(200);
        const send = scriptedSend(new SessionError('TIMEOUT', 'No answer.'), ok);
        const { sleep, delays } = recordingSleep();
        assert.strictEqual(await sendWithRetry(send, true, POLICY, sleep), ok);
        assert.strictEqual(send.callCount, 2);
        assert.strictEqual(delays.length, 1);
    });

    it('does not retry an error that is not a transient SessionError', async function () {
        const tls = new SessionError('TLS', 'The TLS certificate was refused.');
        const plain = new Error('boom');
        for (const error of [tls, plain]) {
            const send = scriptedSend(error, reply(200));
            const { sleep, delays } = recordingSleep();
            await assert.rejects(sendWithRetry(send, true, POLICY, sleep), (thrown) => thrown === error);
            assert.strictEqual(send.callCount, 1);
            assert.deepStrictEqual(delays, []);
        }
    });

    for (const status of [404, 500, 401, 429]) {
        it(`does not retry a ${status}`, async function () {
            const answer = reply(status);
            const send = scriptedSend(answer, reply(200));
            const { sleep, delays } = recordingSleep();
            assert.strictEqual(await sendWithRetry(send, true, POLICY, sleep), answer);
            assert.strictEqual(send.callCount, 1);
            assert.deepStrictEqual(delays, []);
        });
    }

    it('honours Retry-After in seconds', async function () {
        const ok = reply(200);
        const send = scriptedSend(reply(503, { 'retry-after': '3' }), ok);
        const { sleep, delays } = recordingSleep();
        assert.strictEqual(await sendWithRetry(send, true, POLICY, sleep), ok);
        assert.deepStrictEqual(delays, [3000]);
    });

    it('honours the first of several Retry-After values', async function () {
        const ok = reply(200);
        const send = scriptedSend(reply(503, { 'retry-after': ['2', '9'] }), ok);
        const { sleep, delays } = recordingSleep();
        assert.strictEqual(await sendWithRetry(send, true, POLICY, sleep), ok);
        assert.deepStrictEqual(delays, [2000]);
    });

    it('returns the reply without retrying when Retry-After asks for more than the policy allows', async function () {
        const unavailable = reply(503, { 'retry-after': '31' });
        const send = scriptedSend(unavailable, reply(200));
        const { sleep, delays } = recordingSleep();
        assert.strictEqual(await sendWithRetry(send, true, POLICY, sleep), unavailable);
        assert.strictEqual(send.callCount, 1);
        assert.deepStrictEqual(delays, []);
    });

    it('with limit 0 sends once', async function () {
        const unavailable = reply(503);
        const send = scriptedSend(unavailable, reply(200));
        const { sleep, delays } = recordingSleep();
        const result = await sendWithRetry(send, true, { ...POLICY, limit: 0 }, sleep);
        assert.strictEqual(result, unavailable);
        assert.strictEqual(send.callCount, 1);
        assert.deepStrictEqual(delays, []);
    });

    describe('with the default sleep', function () {
        let clock: any;

        beforeEach(function () {
            clock = sinon.useFakeTimers({ now: Date.parse('2025-11-22T10:00:00Z'), toFake: ['Date', 'setTimeout', 'clearTimeout'] });
        });

        afterEach(function () {
            clock.restore();
        });

        it('waits for the Retry-After time on a timer before sending again', async function () {
            const ok = reply(200);
            const send = scriptedSend(reply(503, { 'retry-after': '2' }), ok);
            const pending = sendWithRetry(send, true, POLICY);
            await clock.tickAsync(1999);
            assert.strictEqual(send.callCount, 1);
            await clock.tickAsync(1);
            assert.strictEqual(await pending, ok);
            assert.strictEqual(send.callCount, 2);
        });
    });
});

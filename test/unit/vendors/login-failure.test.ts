import assert from 'node:assert';
import sinon from 'sinon';
import { headerValue, loginFailure, replyMessage } from '../../../src/lib/vendors/login-failure';

function reply(status: any, body = '', headers = {}) {
    return { status, headers, body: Buffer.from(body), url: 'https://device.example/iap/auth/login', redirects: [] };
}

describe('login-failure', function () {
    describe('replyMessage', function () {
        it('reads only the documented message field of a JSON body', function () {
            assert.strictEqual(replyMessage(reply(401, '{"message":"Wrong Username or Password"}')), 'Wrong Username or Password');
            assert.strictEqual(replyMessage(reply(400, '{"error":"invalid input"}')), '');
            assert.strictEqual(replyMessage(reply(400, '{"errorMessage":"Access denied"}'), ['errorMessage']), 'Access denied');
            assert.strictEqual(replyMessage(reply(500, JSON.stringify({ message: 'y'.repeat(300) }))), `${'y'.repeat(200)}…`);
        });

        it('never quotes a text body (it may echo the request), and "" for none', function () {
            assert.strictEqual(replyMessage(reply(500, ` ${'x'.repeat(300)} `)), '');
            assert.strictEqual(replyMessage(reply(500, '   ')), '');
        });
    });

    describe('headerValue', function () {
        it('gives the first value, whatever the case of the name asked', function () {
            assert.strictEqual(headerValue(reply(429, '', { 'retry-after': ['5', '9'] }), 'Retry-After'), '5');
            assert.strictEqual(headerValue(reply(429, '', { 'retry-after': '7' }), 'retry-after'), '7');
            assert.strictEqual(headerValue(reply(429), 'retry-after'), undefined);
        });
    });

    describe('loginFailure', function () {
        const cases = [
            [401, 'INVALID_CREDENTIALS'],
            [403, 'INVALID_CREDENTIALS'],
            [429, 'RATE_LIMITED'],
            [404, 'NOT_FOUND'],
            [500, 'SERVER_ERROR'],
            [503, 'SERVER_ERROR'],
            [400, 'BAD_REQUEST'],
            [418, 'BAD_REQUEST'],
        ];
        for (const [status, code] of cases) {
            it(`maps ${status} to ${code}`, function () {
                const error = loginFailure(reply(status, '{"message":"said so"}'), 'Vendor', 'admin');
                assert.strictEqual(error.code, code);
                assert.strictEqual(error.statusCode, status);
                assert.match(error.message, /Vendor/);
                assert.match(error.message, /said so/);
            });
        }

        it('reads Retry-After of a 429 as whole seconds', function () {
            assert.strictEqual(loginFailure(reply(429, '', { 'retry-after': '30' }), 'Vendor', 'admin').retryAfter, 30);
            assert.strictEqual(loginFailure(reply(429), 'Vendor', 'admin').retryAfter, undefined);
        });

        it('reads an HTTP-date Retry-After as seconds from now, at least 1', function () {
            const clock = sinon.useFakeTimers({ now: Date.parse('2025-11-22T10:00:00Z'), toFake: ['Date', 'setTimeout', 'clearTimeout'] });
            try {
                const later = reply(429, '', { 'retry-after': 'Sat, 22 Nov 2025 10:01:30 GMT' });
                assert.strictEqual(loginFailure(later, 'Vendor', 'admin').retryAfter, 90);
                const past = reply(429, '', { 'retry-after': 'Sat, 22 Nov 2025 09:00:00 GMT' });
                assert.strictEqual(loginFailure(past, 'Vendor', 'admin').retryAfter, 1);
            } finally {
                clock.restore();
            }
        });
    });
});

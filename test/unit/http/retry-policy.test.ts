import assert from 'node:assert';
import { DEFAULT_RETRY_POLICY, isIdempotent, isTransientStatus, parseRetryAfter, retryDelayMs } from '../../../src/lib/http/retry-policy';

const POLICY = { limit: 2, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 30000 };

describe('retry-policy', function () {
    describe('isIdempotent', function () {
        for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']) {
            it(`${method} is idempotent`, function () {
                assert.strictEqual(isIdempotent(method), true);
            });
        }
        for (const method of ['POST', 'PATCH']) {
            it(`${method} is not idempotent`, function () {
                assert.strictEqual(isIdempotent(method), false);
            });
        }
        it('ignores the case of the method', function () {
            assert.strictEqual(isIdempotent('get'), true);
            assert.strictEqual(isIdempotent('post'), false);
        });
    });

    describe('isTransientStatus', function () {
        it('is true for 502, 503 and 504 only', function () {
            const transient = [];
            for (let status = 100; status < 600; status++) {
                if (isTransientStatus(status)) transient.push(status);
            }
            assert.deepStrictEqual(transient, [502, 503, 504]);
        });
    });

    describe('parseRetryAfter', function () {
        const NOW = Date.parse('2025-11-22T10:00:00Z');

        it('reads delta-seconds as milliseconds', function () {
            assert.strictEqual(parseRetryAfter('120', NOW), 120000);
            assert.strictEqual(parseRetryAfter(' 5 ', NOW), 5000);
            assert.strictEqual(parseRetryAfter('0', NOW), 0);
        });

        it('reads an HTTP date as the time left until it', function () {
            assert.strictEqual(parseRetryAfter('Sat, 22 Nov 2025 10:00:30 GMT', NOW), 30000);
        });

        it('gives 0 for an HTTP date in the past', function () {
            assert.strictEqual(parseRetryAfter('Sat, 22 Nov 2025 09:00:00 GMT', NOW), 0);
        });

        it('gives undefined for junk', function () {
            assert.strictEqual(parseRetryAfter('soon', NOW), undefined);
            assert.strictEqual(parseRetryAfter('abc', NOW), undefined);
        });

        // Bug: Date.parse is lenient, so a malformed delta-seconds value such as "1.5" or "-1" is read
        // as a date in 2001 and becomes 0 ms (retry at once) instead of "unreadable".
        it('gives undefined for a malformed number ("1.5", "-1")', function () {
            assert.strictEqual(parseRetryAfter('1.5', NOW), undefined);
            assert.strictEqual(parseRetryAfter('-1', NOW), undefined);
        });

        it('gives undefined when empty or absent', function () {
            assert.strictEqual(parseRetryAfter('', NOW), undefined);
            assert.strictEqual(parseRetryAfter('   ', NOW), undefined);
            assert.strictEqual(parseRetryAfter(undefined, NOW), undefined);
        });
    });

    describe('retryDelayMs', function () {
        const half = () => 0.5;

        it('grows exponentially with the retry number', function () {
            const zero = () => 0;
            assert.strictEqual(retryDelayMs(1, undefined, POLICY, zero), 50);
            assert.strictEqual(retryDelayMs(2, undefined, POLICY, zero), 100);
            assert.strictEqual(retryDelayMs(3, undefined, POLICY, zero), 200);
            assert.strictEqual(retryDelayMs(4, undefined, POLICY, zero), 400);
        });

        it('is capped at maxDelayMs', function () {
            const one = () => 1;
            assert.strictEqual(retryDelayMs(10, undefined, POLICY, one), 1000);
            assert.strictEqual(retryDelayMs(30, undefined, POLICY, one), 1000);
        });

        it('keeps the jitter between half and all of the exponential delay', function () {
            assert.strictEqual(
                retryDelayMs(3, undefined, POLICY, () => 0),
                200,
            );
            assert.strictEqual(retryDelayMs(3, undefined, POLICY, half), 300);
            assert.strictEqual(
                retryDelayMs(3, undefined, POLICY, () => 0.999999),
                400,
            );
        });

        it('uses the default policy and Math.random when none is given', function () {
            for (let i = 0; i < 50; i++) {
                const delay = retryDelayMs(1, undefined);
                assert.ok(delay! >= DEFAULT_RETRY_POLICY.baseDelayMs / 2 && delay! <= DEFAULT_RETRY_POLICY.baseDelayMs, String(delay));
            }
        });

        it('lets a usable Retry-After win', function () {
            assert.strictEqual(retryDelayMs(1, 7000, POLICY, half), 7000);
            assert.strictEqual(retryDelayMs(3, 0, POLICY, half), 0);
            assert.strictEqual(retryDelayMs(1, 30000, POLICY, half), 30000);
        });

        it('gives undefined when Retry-After is longer than maxRetryAfterMs', function () {
            assert.strictEqual(retryDelayMs(1, 30001, POLICY, half), undefined);
            assert.strictEqual(retryDelayMs(1, 3600000, POLICY, half), undefined);
        });
    });
});

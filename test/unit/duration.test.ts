import assert from 'node:assert';
import sinon from 'sinon';
import { formatDuration, secondsUntil } from '../../src/lib/duration';

describe('duration', function () {
    describe('formatDuration', function () {
        it('formats minutes and seconds', function () {
            assert.strictEqual(formatDuration(643000), '10m 43s');
        });

        it('formats hours, minutes and seconds', function () {
            assert.strictEqual(formatDuration(3723000), '1h 2m 3s');
            assert.strictEqual(formatDuration(3600000), '1h 0m 0s');
        });

        it('formats days, for lifetimes of a day or more', function () {
            assert.strictEqual(formatDuration(86400000), '1d 0h 0m 0s');
            assert.strictEqual(formatDuration(30 * 86400000 + 5000), '30d 0h 0m 5s');
        });

        it('formats seconds alone', function () {
            assert.strictEqual(formatDuration(5000), '5s');
            assert.strictEqual(formatDuration(60000), '1m 0s');
        });

        it('rounds a part of a second up', function () {
            assert.strictEqual(formatDuration(1), '1s');
            assert.strictEqual(formatDuration(59001), '1m 0s');
        });

        it('never goes below 0s', function () {
            assert.strictEqual(formatDuration(0), '0s');
            assert.strictEqual(formatDuration(-5000), '0s');
        });
    });

    describe('secondsUntil', function () {
        const NOW = 1763800000000;

        it('counts whole seconds, rounding up', function () {
            assert.strictEqual(secondsUntil(NOW + 643000, NOW), 643);
            assert.strictEqual(secondsUntil(NOW + 1500, NOW), 2);
            assert.strictEqual(secondsUntil(NOW + 1000, NOW), 1);
        });

        it('never gives less than 1', function () {
            assert.strictEqual(secondsUntil(NOW + 1, NOW), 1);
            assert.strictEqual(secondsUntil(NOW, NOW), 1);
        });

        it('uses the current time by default', function () {
            const clock = sinon.useFakeTimers({ now: NOW, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
            try {
                assert.strictEqual(secondsUntil(NOW + 120000), 120);
                clock.tick(30500);
                assert.strictEqual(secondsUntil(NOW + 120000), 90);
            } finally {
                clock.restore();
            }
        });
    });
});

import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
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

describe('duration texts', function () {
    /** A template that states a duration by hand: "${…} s", "${…} min", "${ms / 1000} s", "hour(s)". */
    const HAND_MADE = /\$\{[^}]*\}\s?(?:s|sec|min|h|seconds?|minutes?|hours?)\b|\b(?:second|minute|hour)\(s\)/;

    it('every message in src/ says a duration with formatDuration (milliseconds of a setting aside)', function () {
        const root = path.join(__dirname, '..', '..', 'src');
        const offending: string[] = [];
        for (const file of sourceFiles(root).filter((name) => name !== path.join(root, 'lib', 'duration.ts'))) {
            fs.readFileSync(file, 'utf8')
                .split('\n')
                .forEach((line, index) => {
                    if (HAND_MADE.test(line) && !/^\s*(\*|\/\/)/.test(line)) offending.push(`${path.relative(root, file)}:${index + 1}: ${line.trim()}`);
                });
        }
        assert.deepStrictEqual(offending, []);
    });

    it('the scan finds a hand-made duration', function () {
        assert.ok(HAND_MADE.test('within ${ms / 60_000} min'));
        assert.ok(HAND_MADE.test('held for ${seconds} s'));
        assert.ok(!HAND_MADE.test('within ${timeoutMs} ms'));
    });
});

function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
    });
}

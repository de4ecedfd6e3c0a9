import assert from 'node:assert';
import sinon from 'sinon';
import { LoginGuard, DEFAULT_COOL_DOWN_MS, loginGuard } from '../../../src/lib/session/login-guard';
import { SessionError, type ErrorCode } from '../../../src/lib/errors';

const START = Date.parse('2025-11-22T10:00:00Z');
const MINUTE = 60000;

/** The SessionError `check` throws, or undefined when the login may be sent. */
function checkError(guard: any, key: any, fingerprint: any, user = 'admin') {
    try {
        guard.check(key, fingerprint, user);
        return undefined;
    } catch (error: any) {
        return error;
    }
}

describe('login-guard', function () {
    let clock: any;
    let guard: any;
    let key: any;
    let testNumber = 0;
    const fpA = LoginGuard.fingerprint(['admin', 'wrong-password', undefined]);
    const fpB = LoginGuard.fingerprint(['admin', 'right-password', undefined]);

    beforeEach(function () {
        clock = sinon.useFakeTimers({ now: START, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
        guard = new LoginGuard();
        testNumber++;
        key = LoginGuard.key(`https://guard-${testNumber}.example`, 'admin');
    });

    afterEach(function () {
        clock.restore();
    });

    it('exports one process-wide guard', function () {
        assert.ok(loginGuard instanceof LoginGuard);
        assert.strictEqual(require('../../../src/lib/session/login-guard').loginGuard, loginGuard);
    });

    it('keys by origin and username', function () {
        assert.notStrictEqual(LoginGuard.key('https://a.example', 'admin'), LoginGuard.key('https://b.example', 'admin'));
        assert.notStrictEqual(LoginGuard.key('https://a.example', 'admin'), LoginGuard.key('https://a.example', 'user'));
        assert.strictEqual(LoginGuard.key('https://a.example', 'admin'), LoginGuard.key('https://a.example', 'admin'));
    });

    it('fingerprints credentials one-way and notices any change', function () {
        assert.strictEqual(fpA, LoginGuard.fingerprint(['admin', 'wrong-password', undefined]));
        assert.notStrictEqual(fpA, fpB);
        assert.notStrictEqual(fpA, LoginGuard.fingerprint(['admin', 'wrong-password', 'NewPassw0rd!xyz']));
        assert.ok(!fpA.includes('wrong-password'));
        assert.match(fpA, /^[0-9a-f]{64}$/);
    });

    it('lets a login through when nothing is recorded', function () {
        assert.strictEqual(checkError(guard, key, fpA), undefined);
        assert.strictEqual(guard.blockOf(key), undefined);
    });

    describe('cool-down after a credential rejection', function () {
        beforeEach(function () {
            const rejection = new SessionError('INVALID_CREDENTIALS', 'rejected', { statusCode: 401 });
            guard.recordFailure(key, rejection, fpA, DEFAULT_COOL_DOWN_MS);
            assert.strictEqual(rejection.retryAfter, 300);
        });

        it('blocks the same credentials with the same code and status', function () {
            const error = checkError(guard, key, fpA);
            assert.ok(error instanceof SessionError);
            assert.strictEqual(error.code, 'INVALID_CREDENTIALS');
            assert.strictEqual(error.statusCode, 401);
            assert.strictEqual(error.retryAfter, 300);
            assert.match(error.message, /"admin"/);
            assert.match(error.message, /5m 0s/);
        });

        it('counts retryAfter down', function () {
            clock.tick(MINUTE);
            assert.strictEqual(checkError(guard, key, fpA).retryAfter, 240);
            clock.tick(3 * MINUTE + 59500);
            const error = checkError(guard, key, fpA);
            assert.strictEqual(error.code, 'INVALID_CREDENTIALS');
            assert.strictEqual(error.retryAfter, 1);
        });

        it('ends when the credentials change', function () {
            assert.strictEqual(checkError(guard, key, fpB), undefined);
            assert.strictEqual(guard.blockOf(key), undefined);
            assert.strictEqual(checkError(guard, key, fpA), undefined);
        });

        it('ends after the cool-down', function () {
            clock.tick(DEFAULT_COOL_DOWN_MS - 1);
            assert.strictEqual(checkError(guard, key, fpA).code, 'INVALID_CREDENTIALS');
            clock.tick(1);
            assert.strictEqual(checkError(guard, key, fpA), undefined);
            assert.strictEqual(guard.blockOf(key), undefined);
        });

        it('does not block another user or another origin', function () {
            assert.strictEqual(checkError(guard, LoginGuard.key('https://other.example', 'admin'), fpA), undefined);
            assert.strictEqual(checkError(guard, LoginGuard.key(`https://guard-${testNumber}.example`, 'operator'), fpA), undefined);
        });

        it('is reported by blockOf', function () {
            assert.deepStrictEqual(guard.blockOf(key), { code: 'INVALID_CREDENTIALS', until: START + DEFAULT_COOL_DOWN_MS });
        });

        it('is cleared by recordSuccess', function () {
            guard.recordSuccess(key);
            assert.strictEqual(checkError(guard, key, fpA), undefined);
            assert.strictEqual(guard.blockOf(key), undefined);
        });
    });

    for (const code of ['ACCOUNT_DISABLED', 'PASSWORD_EXPIRED']) {
        it(`holds ${code} for the cool-down given`, function () {
            const rejection = new SessionError(code as ErrorCode, 'rejected', { statusCode: code === 'ACCOUNT_DISABLED' ? 428 : 423 });
            guard.recordFailure(key, rejection, fpA, 2 * MINUTE);
            assert.strictEqual(rejection.retryAfter, 120);
            const error = checkError(guard, key, fpA);
            assert.strictEqual(error.code, code);
            assert.strictEqual(error.statusCode, rejection.statusCode);
            assert.strictEqual(error.retryAfter, 120);
            clock.tick(2 * MINUTE);
            assert.strictEqual(checkError(guard, key, fpA), undefined);
        });
    }

    describe('LOCKED_OUT', function () {
        beforeEach(function () {
            const lockout = new SessionError('LOCKED_OUT', 'locked', { statusCode: 429, retryAfter: 643 });
            guard.recordFailure(key, lockout, fpA, DEFAULT_COOL_DOWN_MS);
            assert.strictEqual(lockout.retryAfter, 643);
        });

        it('blocks every fingerprint with the server\'s wait', function () {
            for (const fingerprint of [fpA, fpB]) {
                const error = checkError(guard, key, fingerprint);
                assert.strictEqual(error.code, 'LOCKED_OUT');
                assert.strictEqual(error.statusCode, 429);
                assert.strictEqual(error.retryAfter, 643);
                assert.match(error.message, /10m 43s/);
            }
        });

        it('does not end when the credentials change', function () {
            checkError(guard, key, fpB);
            assert.strictEqual(checkError(guard, key, fpA).code, 'LOCKED_OUT');
            assert.deepStrictEqual(guard.blockOf(key), { code: 'LOCKED_OUT', until: START + 643000 });
        });

        it('ends once retryAfter has elapsed', function () {
            clock.tick(642000);
            assert.strictEqual(checkError(guard, key, fpB).retryAfter, 1);
            clock.tick(1000);
            assert.strictEqual(checkError(guard, key, fpB), undefined);
            assert.strictEqual(checkError(guard, key, fpA), undefined);
        });
    });

    it('waits 5 minutes for LOCKED_OUT when the server gave no time', function () {
        const lockout = new SessionError('LOCKED_OUT', 'locked', { statusCode: 429 });
        guard.recordFailure(key, lockout, fpA, 10000);
        assert.strictEqual(lockout.retryAfter, 300);
        clock.tick(5 * MINUTE - 1);
        assert.strictEqual(checkError(guard, key, fpB).code, 'LOCKED_OUT');
        clock.tick(1);
        assert.strictEqual(checkError(guard, key, fpB), undefined);
    });

    it('waits the default 2 minutes for RATE_LIMITED when the server gave no time', function () {
        const limited = new SessionError('RATE_LIMITED', 'slow down', { statusCode: 429 });
        guard.recordFailure(key, limited, fpA, DEFAULT_COOL_DOWN_MS);
        assert.strictEqual(limited.retryAfter, 120);
        const error = checkError(guard, key, fpB);
        assert.strictEqual(error.code, 'RATE_LIMITED');
        assert.strictEqual(error.retryAfter, 120);
        clock.tick(2 * MINUTE - 1);
        assert.strictEqual(checkError(guard, key, fpA).code, 'RATE_LIMITED');
        clock.tick(1);
        assert.strictEqual(checkError(guard, key, fpA), undefined);
    });

    it('uses the wait the server gave for RATE_LIMITED', function () {
        const limited = new SessionError('RATE_LIMITED', 'slow down', { statusCode: 429, retryAfter: 30 });
        guard.recordFailure(key, limited, fpA, DEFAULT_COOL_DOWN_MS);
        assert.strictEqual(limited.retryAfter, 30);
        assert.deepStrictEqual(guard.blockOf(key), { code: 'RATE_LIMITED', until: START + 30000 });
    });

    for (const code of ['NETWORK', 'SERVER_ERROR', 'TIMEOUT', 'TLS', 'NOT_FOUND', 'BAD_REQUEST']) {
        it(`does not record ${code}`, function () {
            const failure = new SessionError(code as ErrorCode, 'failed', { statusCode: 500 });
            guard.recordFailure(key, failure, fpA, DEFAULT_COOL_DOWN_MS);
            assert.strictEqual(failure.retryAfter, undefined);
            assert.strictEqual(guard.blockOf(key), undefined);
            assert.strictEqual(checkError(guard, key, fpA), undefined);
        });
    }

    it('recordSuccess clears a server block too', function () {
        guard.recordFailure(key, new SessionError('LOCKED_OUT', 'locked', { retryAfter: 600 }), fpA, DEFAULT_COOL_DOWN_MS);
        assert.strictEqual(guard.blockOf(key).code, 'LOCKED_OUT');
        guard.recordSuccess(key);
        assert.strictEqual(guard.blockOf(key), undefined);
        assert.strictEqual(checkError(guard, key, fpA), undefined);
    });

    it('blockOf takes an explicit time', function () {
        guard.recordFailure(key, new SessionError('INVALID_CREDENTIALS', 'rejected'), fpA, MINUTE);
        assert.deepStrictEqual(guard.blockOf(key, START + MINUTE - 1), { code: 'INVALID_CREDENTIALS', until: START + MINUTE });
        assert.strictEqual(guard.blockOf(key, START + MINUTE), undefined);
    });

    it('keeps guards apart', function () {
        const other = new LoginGuard();
        guard.recordFailure(key, new SessionError('INVALID_CREDENTIALS', 'rejected'), fpA, MINUTE);
        assert.strictEqual(other.blockOf(key), undefined);
        assert.strictEqual(checkError(other, key, fpA), undefined);
    });
});

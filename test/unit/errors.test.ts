import assert from 'node:assert';
import { SessionError, isSessionError, isTransientError, type ErrorCode } from '../../src/lib/errors';

describe('errors', function () {
    it('carries a code, and statusCode and retryAfter when given', function () {
        const error = new SessionError('LOCKED_OUT', 'Locked out.', { statusCode: 429, retryAfter: 643 });
        assert.ok(error instanceof Error);
        assert.strictEqual(error.name, 'SessionError');
        assert.strictEqual(error.code, 'LOCKED_OUT');
        assert.strictEqual(error.message, 'Locked out.');
        assert.strictEqual(error.statusCode, 429);
        assert.strictEqual(error.retryAfter, 643);
    });

    it('has no statusCode or retryAfter when not given', function () {
        const error = new SessionError('NETWORK', 'Cannot reach the device.');
        assert.strictEqual(error.statusCode, undefined);
        assert.strictEqual(error.retryAfter, undefined);
        assert.strictEqual(new SessionError('TLS', 'x', {}).code, 'TLS');
    });

    it('tells SessionErrors apart', function () {
        assert.strictEqual(isSessionError(new SessionError('TLS', 'x')), true);
        const lookalike = Object.assign(new Error('x'), { code: 'TLS' });
        assert.strictEqual(isSessionError(lookalike), false);
        assert.strictEqual(isSessionError(undefined), false);
    });

    it('counts NETWORK and TIMEOUT as transient, nothing else', function () {
        assert.strictEqual(isTransientError(new SessionError('NETWORK', 'x')), true);
        assert.strictEqual(isTransientError(new SessionError('TIMEOUT', 'x')), true);
        for (const code of ['TLS', 'SERVER_ERROR', 'INVALID_CREDENTIALS', 'RATE_LIMITED']) {
            assert.strictEqual(isTransientError(new SessionError(code as ErrorCode, 'x')), false, code);
        }
        assert.strictEqual(isTransientError(Object.assign(new Error('x'), { code: 'NETWORK' })), false);
    });
});

import assert from 'node:assert';
import { readMsgCredentials } from '../../../src/lib/request/msg-credentials';
import { SessionError } from '../../../src/lib/errors';

/** Asserts INVALID_INPUT with a message that names the reason and never echoes the password. */
function rejects(value: any, reason: any) {
    assert.throws(
        () => readMsgCredentials(value),
        (error) => {
            assert.ok(error instanceof SessionError);
            assert.strictEqual(error.code, 'INVALID_INPUT');
            assert.match(error.message, reason);
            assert.ok(!error.message.includes('s3cret'), 'the password is not in the message');
            return true;
        },
    );
}

describe('msg-credentials', function () {
    it('reads valid credentials', function () {
        assert.deepStrictEqual(readMsgCredentials({ username: 'admin', password: 's3cret' }), {
            username: 'admin',
            password: 's3cret',
            newPassword: undefined,
        });
    });

    it('keeps newPassword and trims the username', function () {
        assert.deepStrictEqual(readMsgCredentials({ username: ' operator ', password: 's3cret', newPassword: 'N3w!Passw0rd#xy' }), {
            username: 'operator',
            password: 's3cret',
            newPassword: 'N3w!Passw0rd#xy',
        });
    });

    it('treats an empty or null newPassword as none', function () {
        assert.strictEqual(readMsgCredentials({ username: 'a', password: 'b', newPassword: '' })!.newPassword, undefined);
        assert.strictEqual(readMsgCredentials({ username: 'a', password: 'b', newPassword: null })!.newPassword, undefined);
    });

    it('accepts an empty password string', function () {
        assert.strictEqual(readMsgCredentials({ username: 'a', password: '' })!.password, '');
    });

    it('refuses a missing or blank username', function () {
        rejects({ password: 's3cret' }, /username is missing/);
        rejects({ username: '  ', password: 's3cret' }, /username is missing/);
        rejects({ username: 7, password: 's3cret' }, /username is missing/);
    });

    it('refuses a password that is not a string', function () {
        rejects({ username: 'admin' }, /password is not a string/);
        rejects({ username: 'admin', password: 1234 }, /password is not a string/);
    });

    it('refuses a newPassword that is not a string', function () {
        rejects({ username: 'admin', password: 's3cret', newPassword: 42 }, /newPassword is not a string/);
    });

    it('refuses a value that is not an object', function () {
        rejects('admin:s3cret', /not an object/);
        rejects(['admin', 's3cret'], /not an object/);
        rejects(42, /not an object/);
    });

    it('gives undefined for null or undefined', function () {
        assert.strictEqual(readMsgCredentials(null), undefined);
        assert.strictEqual(readMsgCredentials(undefined), undefined);
    });
});

import assert from 'node:assert';
import { passwordPolicyViolation } from '../../../../src/lib/vendors/smartserver/password-policy';

const CURRENT = 'Expired!Passw0rd';
const COMPLIANT = 'Tr0ub4dor&3Horse';

describe('smartserver-password-policy', function () {
    it('accepts a compliant password', function () {
        assert.strictEqual(passwordPolicyViolation(COMPLIANT, CURRENT), undefined);
        assert.strictEqual(passwordPolicyViolation('Xq!abc9vbnm_KLz1', CURRENT), undefined, 'a run of three is allowed');
    });

    it('needs at least 14 characters', function () {
        assert.match(String(passwordPolicyViolation('Tr0ub4dor&3Ho', CURRENT)), /14 characters/);
        assert.strictEqual(passwordPolicyViolation('Tr0ub4dor&3Hor', CURRENT), undefined);
    });

    it('needs an uppercase letter, a lowercase letter, a digit and a special character', function () {
        assert.match(String(passwordPolicyViolation('tr0ub4dor&3horse', CURRENT)), /uppercase/);
        assert.match(String(passwordPolicyViolation('TR0UB4DOR&3HORSE', CURRENT)), /lowercase/);
        assert.match(String(passwordPolicyViolation('Troubador&xHorse', CURRENT)), /digit/);
        assert.match(String(passwordPolicyViolation('Tr0ub4dor93Horse', CURRENT)), /special/);
    });

    it('refuses quotes, spaces and tabs', function () {
        for (const candidate of ["Tr0ub4dor'3Horse", 'Tr0ub4dor"3Horse', 'Tr0ub4dor 3Horse', 'Tr0ub4dor\t3Horse', 'Tr0ub4dor&3 Horse']) {
            assert.match(String(passwordPolicyViolation(candidate, CURRENT)), /quotes, spaces and tabs/, JSON.stringify(candidate));
        }
    });

    it('refuses runs of four like 1234, abcd and dcba', function () {
        for (const candidate of ['Xq!1234vbnm_KLz', 'Xq!abcd9vbnm_KLz', 'Xq!dcba9vbnm_KLz', 'Xq!9876vbnm_KLz', 'Xq!ABCD9vbnm_KLz', 'Xq!wXyZ9vbnm_KL']) {
            assert.match(String(passwordPolicyViolation(candidate, CURRENT)), /run like 1234/, candidate);
        }
    });

    it('refuses the current password', function () {
        assert.match(String(passwordPolicyViolation(COMPLIANT, COMPLIANT)), /differ from the current/);
    });
});

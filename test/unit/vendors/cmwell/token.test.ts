import assert from 'node:assert';
import { parseTokenLifetime, tokenLifetimeMs, tokenLifetimeProblem, jwtClaims, tokenExpiry, MAX_TOKEN_DAYS } from '../../../../src/lib/vendors/cmwell/token';

const DAY = 86400000;
const HOUR = 3600000;
const MINUTE = 60000;

/** An unsigned-looking JWT with these claims (the signature is never checked client-side). */
function jwt(claims: any) {
    const part = (value: any) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

describe('cmwell-token', function () {
    describe('parseTokenLifetime', function () {
        it('reads each unit by its first number followed by the letter, in any case', function () {
            assert.deepStrictEqual(parseTokenLifetime('30d'), { days: 30, hours: 0, minutes: 0 });
            assert.deepStrictEqual(parseTokenLifetime('3d 5h'), { days: 3, hours: 5, minutes: 0 });
            assert.deepStrictEqual(parseTokenLifetime('2h30m'), { days: 0, hours: 2, minutes: 30 });
            assert.deepStrictEqual(parseTokenLifetime('30D'), { days: 30, hours: 0, minutes: 0 });
            assert.deepStrictEqual(parseTokenLifetime('3d-5h'), { days: 3, hours: 5, minutes: 0 });
        });

        it('follows the server on odd input: 5min is 5m, 1d1d counts once, -5d is 5d, 100h stays 100h', function () {
            assert.deepStrictEqual(parseTokenLifetime('5min'), { days: 0, hours: 0, minutes: 5 });
            assert.deepStrictEqual(parseTokenLifetime('1d1d'), { days: 1, hours: 0, minutes: 0 });
            assert.deepStrictEqual(parseTokenLifetime('-5d'), { days: 5, hours: 0, minutes: 0 });
            assert.strictEqual(tokenLifetimeMs(parseTokenLifetime('100h')!), 100 * HOUR);
        });

        it('is undefined when no unit is found', function () {
            for (const text of ['abc', '', '30', '3 d', 'days']) assert.strictEqual(parseTokenLifetime(text), undefined, text);
        });

        it('converts to milliseconds', function () {
            assert.strictEqual(tokenLifetimeMs({ days: 3, hours: 5, minutes: 7 }), 3 * DAY + 5 * HOUR + 7 * MINUTE);
        });
    });

    describe('tokenLifetimeProblem', function () {
        it('accepts empty (server default) and anything from a minute to 60 days', function () {
            for (const text of ['', '  ', '30d', '3d 5h', '2h30m', '30D', '60d', '1m', '1440h']) {
                assert.strictEqual(tokenLifetimeProblem(text), undefined, text);
            }
            assert.strictEqual(MAX_TOKEN_DAYS, 60);
        });

        it('refuses a value with no unit, a zero lifetime, and more than 60 days', function () {
            assert.match(String(tokenLifetimeProblem('30')), /has no unit/);
            assert.match(String(tokenLifetimeProblem('abc')), /has no unit/);
            assert.match(String(tokenLifetimeProblem('0d')), /is zero/);
            assert.match(String(tokenLifetimeProblem('61d')), /more than 60 days/);
            assert.match(String(tokenLifetimeProblem('60d1m')), /more than 60 days/);
            assert.match(String(tokenLifetimeProblem('1441h')), /more than 60 days/);
        });
    });

    describe('jwtClaims and tokenExpiry', function () {
        it('reads the claims of a JWT without checking its signature', function () {
            assert.deepStrictEqual(jwtClaims(jwt({ sub: 'root', exp: 1466589763033, rev: 0 })), { sub: 'root', exp: 1466589763033, rev: 0 });
        });

        it('takes exp as milliseconds, never as seconds', function () {
            const exp = Date.UTC(2030, 0, 1);
            assert.strictEqual(tokenExpiry(jwt({ sub: 'root', exp, rev: 0 })), exp);
            assert.strictEqual(tokenExpiry(jwt({ sub: 'root', exp: 1466589763033 })), 1466589763033);
        });

        it('is null or undefined for anything that is not a JWT with a numeric exp', function () {
            for (const token of [
                'not-a-jwt',
                'a.b',
                'a.%%%.c',
                `x.${Buffer.from('[1]').toString('base64url')}.y`,
                `x.${Buffer.from('nope').toString('base64url')}.y`,
            ]) {
                assert.strictEqual(jwtClaims(token), undefined, token);
                assert.strictEqual(tokenExpiry(token), null, token);
            }
            assert.strictEqual(tokenExpiry(jwt({ sub: 'root' })), null);
            assert.strictEqual(tokenExpiry(jwt({ sub: 'root', exp: '1466589763033' })), null);
        });
    });
});

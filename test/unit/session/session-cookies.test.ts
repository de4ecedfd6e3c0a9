import assert from 'node:assert';
import { CookieJar } from 'tough-cookie';
import { cookieHeader, sessionCookieString, cookieName } from '../../../src/lib/session/session-cookies';

const BASE = 'https://device.example';

/** The name=value pairs of a Cookie header, sorted, to compare without caring about order. */
function pairs(header: any) {
    return header
        .split(';')
        .map((pair: any) => pair.trim())
        .sort();
}

describe('session-cookies', function () {
    describe('cookieHeader', function () {
        it('leaves the headers alone when there are no cookies to add', function () {
            const headers = { Accept: 'application/json' };
            const result = cookieHeader(headers, [], new CookieJar(), `${BASE}/iap/devs`);
            assert.deepStrictEqual(result, { Accept: 'application/json' });
        });

        it('sends the session cookie alone, without its attributes', function () {
            const jar = new CookieJar();
            jar.setCookieSync('cmsSID=abc123; Path=/; Secure; HttpOnly', `${BASE}/iap/auth/login`);
            const result = cookieHeader({ Accept: '*/*' }, [], jar, `${BASE}/iap/devs`);
            assert.deepStrictEqual(result, { Accept: '*/*', Cookie: 'cmsSID=abc123' });
        });

        it('merges the msg Cookie header, msg.cookies and the jar into one Cookie header', function () {
            const jar = new CookieJar();
            jar.setCookieSync('cmsSID=abc123; Path=/', `${BASE}/iap/auth/login`);
            const headers = { cookie: 'theme=dark; lang=en', Accept: '*/*' };
            const result = cookieHeader(headers, ['tracking=1'], jar, `${BASE}/iap/devs`);
            assert.deepStrictEqual(Object.keys(result).sort(), ['Accept', 'Cookie']);
            assert.deepStrictEqual(pairs(result.Cookie), ['cmsSID=abc123', 'lang=en', 'theme=dark', 'tracking=1']);
            assert.deepStrictEqual(headers, { cookie: 'theme=dark; lang=en', Accept: '*/*' }, 'the input headers are not changed');
        });

        it('lets the session cookie win over a msg cookie of the same name', function () {
            const jar = new CookieJar();
            jar.setCookieSync('cmsSID=real; Path=/', `${BASE}/iap/auth/login`);
            const result = cookieHeader({ Cookie: 'cmsSID=forged; a=1' }, ['cmsSID=forged2', 'b=2'], jar, `${BASE}/iap/devs`);
            assert.deepStrictEqual(pairs(result.Cookie), ['a=1', 'b=2', 'cmsSID=real']);
        });

        it('merges msg cookies when the jar is empty', function () {
            const result = cookieHeader({ Cookie: 'a=1' }, ['b=2'], new CookieJar(), `${BASE}/iap/devs`);
            assert.deepStrictEqual(result, { Cookie: 'a=1; b=2' });
        });

        it('respects the cookie Path: a cookie for /rest is not sent to /other', function () {
            const jar = new CookieJar();
            jar.setCookieSync('JSESSIONID=s1; Path=/rest', 'https://sdm.example:8443/rest/v1.1/admin/login');
            const other = cookieHeader({}, [], jar, 'https://sdm.example:8443/other');
            assert.deepStrictEqual(other, {});
            const withMsgCookie = cookieHeader({}, ['x=1'], jar, 'https://sdm.example:8443/other');
            assert.deepStrictEqual(withMsgCookie, { Cookie: 'x=1' });
            const rest = cookieHeader({}, [], jar, 'https://sdm.example:8443/rest/v1.1/configuration/devices');
            assert.deepStrictEqual(rest, { Cookie: 'JSESSIONID=s1' });
        });

        it('does not send a Secure cookie over plain http, nor to another host', function () {
            const jar = new CookieJar();
            jar.setCookieSync('cmsSID=abc; Path=/; Secure', `${BASE}/iap/auth/login`);
            assert.deepStrictEqual(cookieHeader({}, [], jar, 'http://device.example/iap/devs'), {});
            assert.deepStrictEqual(cookieHeader({}, [], jar, 'https://evil.example/iap/devs'), {});
        });
    });

    describe('sessionCookieString', function () {
        it('joins every cookie of the jar, whatever its path', function () {
            const jar = new CookieJar();
            jar.setCookieSync('JSESSIONID=s1; Path=/rest', 'https://sdm.example/rest/v1.1/admin/login');
            jar.setCookieSync('lb=node2; Path=/', 'https://sdm.example/rest/v1.1/admin/login');
            assert.deepStrictEqual(pairs(sessionCookieString(jar)), ['JSESSIONID=s1', 'lb=node2']);
        });

        it('is empty for an empty jar', function () {
            assert.strictEqual(sessionCookieString(new CookieJar()), '');
        });
    });

    describe('cookieName', function () {
        it('is the trimmed part before the first "="', function () {
            assert.strictEqual(cookieName(' cmsSID=abc=def; Path=/'), 'cmsSID');
            assert.strictEqual(cookieName('flag'), 'flag');
        });
    });
});

import assert from 'node:assert';

import { CookieJar } from 'tough-cookie';

import { hopCookies, sessionCookieString } from '../../../src/lib/session/session-cookies';

const ORIGIN = 'https://device.example';

function cookies(jar: CookieJar, overrides: Partial<Parameters<typeof hopCookies>[0]> = {}) {
    return hopCookies({ jar, origin: ORIGIN, url: `${ORIGIN}/iap/devs`, flowCookies: ['mine=1'], sessionCookie: 'cmsSID', storeAll: false, ...overrides });
}

describe('hopCookies', function () {
    it('stores every cookie of a login reply, and from a data reply only the session cookie', function () {
        const login = new CookieJar();
        cookies(login, { storeAll: true }).store(`${ORIGIN}/iap/auth/login`, ['cmsSID=a; Path=/', 'other=1; Path=/']);
        assert.strictEqual(sessionCookieString(login), 'cmsSID=a; other=1');
        const data = new CookieJar();
        cookies(data).store(`${ORIGIN}/iap/devs`, ['cmsSID=b; Path=/', 'flow=1; Path=/']);
        assert.strictEqual(sessionCookieString(data), 'cmsSID=b');
    });

    it('never stores a session cookie from another origin (port, scheme or host), nor one for another domain', function () {
        const jar = new CookieJar();
        cookies(jar, { storeAll: true }).store(`${ORIGIN}/iap/auth/login`, ['cmsSID=good; Path=/']);
        const hop = cookies(jar);
        for (const url of ['https://device.example:8443/x', 'http://device.example/x', 'https://evil.example/x']) hop.store(url, ['cmsSID=planted; Path=/']);
        hop.store(`${ORIGIN}/x`, ['cmsSID=x; Domain=evil.example; Path=/']);
        assert.strictEqual(sessionCookieString(jar), 'cmsSID=good');
        assert.strictEqual(hop.header(`${ORIGIN}/iap/devs`), 'mine=1; cmsSID=good');
    });

    it("sends the msg's cookies only to the first origin and a hop's cookies only back to its own origin", function () {
        const jar = new CookieJar();
        cookies(jar, { storeAll: true }).store(`${ORIGIN}/iap/auth/login`, ['cmsSID=s; Path=/iap']);
        const hop = cookies(jar);
        hop.store('https://device.example:8443/a', ['hop=1; Path=/']);
        assert.strictEqual(hop.header('https://device.example:8443/b'), 'hop=1');
        assert.strictEqual(hop.header(`${ORIGIN}/other`), 'mine=1');
        assert.strictEqual(hop.header(`${ORIGIN}/iap/x`), 'mine=1; cmsSID=s');
        assert.strictEqual(hop.header('https://evil.example/iap/x'), undefined);
    });
});

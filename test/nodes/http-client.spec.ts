/** The HTTP client on real sockets: what leaves the machine on a redirect to another origin. */
import assert from 'node:assert';
import http from 'node:http';

import { HttpClient } from '../../src/lib/http/http-client';

function listen(handler: any) {
    const server = http.createServer(handler);
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('HttpClient redirects', function () {
    let origin: any;
    let other: any;
    let seenByOther: any;
    let client: any;

    beforeEach(async function () {
        seenByOther = [];
        other = await listen((req: any, res: any) => {
            seenByOther.push(req.headers);
            res.end('elsewhere');
        });
        origin = await listen((req: any, res: any) => {
            const target = req.url === '/same' ? '/landing' : `http://127.0.0.1:${other.address().port}/landing`;
            if (req.url === '/landing') return res.end('landed');
            res.writeHead(302, { Location: target, 'Set-Cookie': 'hop=1; Path=/' });
            res.end();
        });
        client = new HttpClient({ maxResponseBytes: 1024 * 1024 });
    });

    afterEach(async function () {
        client.destroy();
        await new Promise((resolve) => origin.close(resolve));
        await new Promise((resolve) => other.close(resolve));
    });

    const request = (path: any, followRedirects = true) =>
        client.send({
            method: 'GET',
            url: `http://127.0.0.1:${origin.address().port}${path}`,
            headers: { Cookie: 'cmsSID=secret', Authtoken: 'QSDK secret', Accept: 'text/plain' },
            timeoutMs: 2000,
            followRedirects,
            credentialHeaders: ['Authtoken'],
        });

    it('drops the session cookie and credential header when a redirect leaves the origin', async function () {
        const response = await request('/away');
        assert.strictEqual(response.body.toString(), 'elsewhere');
        assert.strictEqual(seenByOther.length, 1);
        assert.strictEqual(seenByOther[0].cookie, undefined);
        assert.strictEqual(seenByOther[0].authtoken, undefined);
        assert.strictEqual(seenByOther[0].accept, 'text/plain');
        assert.strictEqual(response.redirects.length, 1);
        assert.deepStrictEqual(response.redirects[0].setCookie, ['hop=1; Path=/']);
        assert.match(response.url, /\/landing$/);
    });

    it('follows a same-origin redirect and reports the final URL; followRedirects=false stops', async function () {
        const followed = await request('/same');
        assert.strictEqual(followed.body.toString(), 'landed');
        assert.match(followed.url, /\/landing$/);
        const stopped = await request('/same', false);
        assert.strictEqual(stopped.status, 302);
        assert.strictEqual(stopped.redirects.length, 0);
    });
});

import assert from 'node:assert';
import sinon from 'sinon';
import { writeResponse, statusError } from '../../../src/lib/request/response-output';
import { parseRequest, headersDigest, RESPONSE_HEADERS_MARK } from '../../../src/lib/request/request-input';
import { SessionError } from '../../../src/lib/errors';
import type { Msg } from '../../support/harness';

const URL_ = 'https://device.example/cms/iap/devs';

function reply(status: any, body: any, headers = {}, extra = {}) {
    return { status, headers, body: Buffer.from(body), url: URL_, redirects: [], ...extra };
}

describe('response-output', function () {
    describe('writeResponse', function () {
        const json = () => reply(200, '[{"id":"17q2d9x.5"}]', { 'content-type': 'application/json' });

        it('puts status, headers, URL and a parsed body on the msg for ret=obj', function () {
            const msg: Msg = { topic: 'kept' };
            const warn = sinon.spy();
            writeResponse(msg, json(), 'obj', 'cmsSID', warn);
            assert.strictEqual(msg.statusCode, 200);
            assert.deepStrictEqual(msg.payload, [{ id: '17q2d9x.5' }]);
            assert.strictEqual(msg.responseUrl, URL_);
            assert.strictEqual(msg.headers['content-type'], 'application/json');
            assert.deepStrictEqual(msg.responseCookies, {});
            assert.deepStrictEqual(msg.redirectList, []);
            assert.strictEqual(msg.topic, 'kept');
            assert.strictEqual(warn.callCount, 0);
        });

        it('gives the text for ret=txt', function () {
            const msg: Msg = {};
            writeResponse(msg, json(), 'txt', 'cmsSID', sinon.spy());
            assert.strictEqual(msg.payload, '[{"id":"17q2d9x.5"}]');
        });

        it('decodes UTF-8 text', function () {
            const msg: Msg = {};
            writeResponse(msg, reply(200, 'Température 21 °C'), 'txt', undefined, sinon.spy());
            assert.strictEqual(msg.payload, 'Température 21 °C');
        });

        it('gives the bytes for ret=bin', function () {
            const msg: Msg = {};
            const response = json();
            writeResponse(msg, response, 'bin', 'cmsSID', sinon.spy());
            assert.ok(Buffer.isBuffer(msg.payload));
            assert.strictEqual(msg.payload, response.body);
        });

        it('gives {} for a 204 with ret=obj; an empty 200 warns and gives the text, as the core node does', function () {
            const noContent: Msg = {};
            writeResponse(noContent, reply(204, ''), 'obj', 'cmsSID', sinon.spy());
            assert.strictEqual(noContent.statusCode, 204);
            assert.deepStrictEqual(noContent.payload, {});
            const empty: Msg = {};
            const warn = sinon.spy();
            writeResponse(empty, reply(200, ''), 'obj', 'cmsSID', warn);
            assert.strictEqual(empty.payload, '');
            assert.strictEqual(warn.callCount, 1);
        });

        it('warns and gives the text when the body is not valid JSON with ret=obj', function () {
            const msg: Msg = {};
            const warn = sinon.spy();
            writeResponse(msg, reply(502, '<html>Bad Gateway</html>'), 'obj', 'cmsSID', warn);
            assert.strictEqual(msg.payload, '<html>Bad Gateway</html>');
            assert.strictEqual(msg.statusCode, 502);
            assert.strictEqual(warn.callCount, 1);
            assert.match(warn.firstCall.args[0], /JSON/);
        });

        it("gives responseCookies without the session cookie, in the core node's shape", function () {
            const msg: Msg = {};
            const response = reply(200, '', {
                'set-cookie': [
                    'cmsSID=secret-session; Path=/; Secure; HttpOnly',
                    'theme=dark; Path=/cms; Domain=device.example; Max-Age=3600; Secure; HttpOnly; SameSite=Strict',
                    'lang=en%20GB; Expires=Wed, 21 Oct 2026 07:28:00 GMT',
                    'quoted="a b"; path=/x',
                    'broken=%E0%A4%A',
                    'no-value-pair',
                ],
            });
            writeResponse(msg, response, 'txt', 'cmsSID', sinon.spy());
            assert.deepStrictEqual(msg.responseCookies, {
                theme: { value: 'dark', Path: '/cms', Domain: 'device.example', 'Max-Age': '3600', SameSite: 'Strict' },
                lang: { value: 'en GB', Expires: 'Wed, 21 Oct 2026 07:28:00 GMT' },
                quoted: { value: 'a b', path: '/x' },
                broken: { value: '%E0%A4%A' },
            });
            assert.ok(!JSON.stringify(msg.responseCookies).includes('secret-session'));
            assert.ok(!JSON.stringify(msg.headers).includes('secret-session'), 'nor in msg.headers');
            assert.strictEqual(msg.headers['set-cookie'].length, 5);
        });

        it('drops set-cookie from msg.headers when it only renewed the session cookie', function () {
            const msg: Msg = {};
            writeResponse(msg, reply(200, '', { 'set-cookie': ['cmsSID=secret; Path=/'], 'x-other': '1' }), 'txt', 'cmsSID', sinon.spy());
            assert.deepStrictEqual(Object.keys(msg.headers).sort(), [RESPONSE_HEADERS_MARK, 'x-other']);
        });

        it('keeps every cookie when the vendor has no session cookie', function () {
            const msg: Msg = {};
            writeResponse(msg, reply(200, '', { 'set-cookie': ['cmsSID=abc'] }), 'txt', undefined, sinon.spy());
            assert.deepStrictEqual(msg.responseCookies, { cmsSID: { value: 'abc' } });
        });

        it('lists redirects with their cookies (only when a hop set some), without the session cookie', function () {
            const msg: Msg = {};
            const response = reply(
                200,
                '',
                {},
                {
                    redirects: [
                        { location: '/cms/', setCookie: ['cmsSID=new; Path=/', 'seen=1; Path=/'] },
                        { location: '/cms/x', setCookie: [] },
                    ],
                },
            );
            writeResponse(msg, response, 'txt', 'cmsSID', sinon.spy());
            assert.deepStrictEqual(msg.redirectList, [{ location: '/cms/', cookies: { seen: { value: '1', Path: '/' } } }, { location: '/cms/x' }]);
        });

        it('marks the headers so that a chained request node does not send them back', function () {
            const msg: Msg = {};
            writeResponse(msg, reply(200, '{}', { 'content-type': 'application/json', 'set-cookie': ['a=1'] }), 'obj', 'cmsSID', sinon.spy());
            assert.strictEqual(msg.headers[RESPONSE_HEADERS_MARK], headersDigest(msg.headers));
            const warn = sinon.spy();
            const next = parseRequest({ method: 'GET', url: '/iap/devs', ret: 'obj', paytoqs: 'ignore' }, msg, 'https://device.example/cms', 1000, warn);
            assert.deepStrictEqual(next.headers, {});
        });

        it('does not change the response headers it was given', function () {
            const response = reply(200, '{}', { 'content-type': 'application/json' });
            writeResponse({}, response, 'obj', 'cmsSID', sinon.spy());
            assert.deepStrictEqual(response.headers, { 'content-type': 'application/json' });
        });
    });

    describe('statusError', function () {
        it('is undefined for 2xx', function () {
            for (const status of [200, 201, 204, 299]) assert.strictEqual(statusError(reply(status, '')), undefined, String(status));
        });

        const cases = [
            [404, 'NOT_FOUND'],
            [429, 'RATE_LIMITED'],
            [500, 'SERVER_ERROR'],
            [502, 'SERVER_ERROR'],
            [503, 'SERVER_ERROR'],
            [400, 'BAD_REQUEST'],
            [401, 'BAD_REQUEST'],
            [403, 'BAD_REQUEST'],
            [409, 'BAD_REQUEST'],
            [422, 'BAD_REQUEST'],
        ];
        for (const [status, code] of cases) {
            it(`maps ${status} to ${code}`, function () {
                const error = statusError(reply(status, 'secret body'));
                assert.ok(error instanceof SessionError);
                assert.strictEqual(error.code, code);
                assert.strictEqual(error.statusCode, status);
                assert.match(error.message, new RegExp(`HTTP ${status}`));
                assert.ok(!error.message.includes('secret body'));
            });
        }
    });
});

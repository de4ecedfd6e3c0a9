import assert from 'node:assert';
import sinon from 'sinon';
import { parseRequest, resolveUrl, headersDigest, RESPONSE_HEADERS_MARK, type RequestNodeConfig } from '../../../src/lib/request/request-input';
import type { Msg } from '../../support/harness';
import { SessionError } from '../../../src/lib/errors';

const BASE = 'https://device.example/cms';
const TIMEOUT = 30000;

function config(overrides: Partial<RequestNodeConfig> = {}): RequestNodeConfig {
    return { method: 'GET', url: '/iap/devs', ret: 'obj', paytoqs: 'ignore', ...overrides };
}

function parse(cfg: any, msg: any, warn = sinon.spy()) {
    return parseRequest(config(cfg), msg, BASE, TIMEOUT, warn);
}

/** Asserts that parsing throws INVALID_INPUT and returns the error. */
function invalid(cfg: any, msg: any) {
    let thrown: SessionError | undefined;
    assert.throws(
        () => parse(cfg, msg),
        (error) => {
            thrown = error as SessionError;
            return error instanceof SessionError && error.code === 'INVALID_INPUT';
        },
    );
    return thrown;
}

describe('request-input', function () {
    describe('method', function () {
        it('takes the method of the node', function () {
            const warn = sinon.spy();
            assert.strictEqual(parse({ method: 'DELETE' }, {}, warn).method, 'DELETE');
            assert.strictEqual(warn.callCount, 0);
        });

        it('defaults to GET', function () {
            assert.strictEqual(parse({ method: '' }, {}).method, 'GET');
        });

        it('takes msg.method when the node says "use", in upper case', function () {
            assert.strictEqual(parse({ method: 'use' }, { method: 'post' }).method, 'POST');
            assert.strictEqual(parse({ method: 'use' }, { method: 'PATCH' }).method, 'PATCH');
        });

        it('refuses a missing msg.method when the node says "use"', function () {
            const error = invalid({ method: 'use' }, {});
            assert.match(error!.message, /msg\.method/);
            invalid({ method: 'use' }, { method: 42 });
        });

        it('refuses a msg.method that is not a method name', function () {
            invalid({ method: 'use' }, { method: 'GET /x HTTP/1.1\r\n' });
            invalid({ method: 'use' }, { method: '' });
        });

        it('warns that msg.method is ignored when the node sets the method', function () {
            const warn = sinon.spy();
            assert.strictEqual(parse({ method: 'GET' }, { method: 'DELETE' }, warn).method, 'GET');
            assert.strictEqual(warn.callCount, 1);
            assert.match(warn.firstCall.args[0], /msg\.method is ignored/);
        });

        it("does not warn when msg.method is the node's method", function () {
            const warn = sinon.spy();
            parse({ method: 'GET' }, { method: 'get' }, warn);
            assert.strictEqual(warn.callCount, 0);
        });
    });

    describe('url', function () {
        it('appends a relative path to the base URL', function () {
            assert.strictEqual(parse({ url: '/iap/devs' }, {}).url, 'https://device.example/cms/iap/devs');
            assert.strictEqual(parse({ url: 'iap/devs?pg=1' }, {}).url, 'https://device.example/cms/iap/devs?pg=1');
        });

        it('takes msg.url when the node has none', function () {
            const warn = sinon.spy();
            assert.strictEqual(parse({ url: '' }, { url: ' /iap/auth/sessionTimeout ' }, warn).url, 'https://device.example/cms/iap/auth/sessionTimeout');
            assert.strictEqual(warn.callCount, 0);
        });

        it('refuses a request without any URL', function () {
            invalid({ url: '' }, {});
            invalid({ url: '' }, { url: '   ' });
            invalid({ url: '' }, { url: 42 });
        });

        it('warns that msg.url is ignored when the node sets the URL', function () {
            const warn = sinon.spy();
            assert.strictEqual(parse({ url: '/iap/devs' }, { url: '/other' }, warn).url, 'https://device.example/cms/iap/devs');
            assert.strictEqual(warn.callCount, 1);
            assert.match(warn.firstCall.args[0], /msg\.url is ignored/);
        });

        it('renders mustache placeholders of the node URL from the msg', function () {
            const url = parse({ url: '/iap/devs/{{{device}}}/if/block/{{index}}/value' }, { device: '17q2d9x.5', index: 1 }).url;
            assert.strictEqual(url, 'https://device.example/cms/iap/devs/17q2d9x.5/if/block/1/value');
        });

        it('accepts an absolute URL on the same origin', function () {
            assert.strictEqual(parse({ url: '' }, { url: 'https://device.example/node-red/data?x=1' }).url, 'https://device.example/node-red/data?x=1');
            assert.strictEqual(parse({ url: 'HTTPS://DEVICE.example:443/cms/iap/devs' }, {}).url, 'https://device.example/cms/iap/devs');
        });

        it('refuses an absolute URL on another origin', function () {
            const error = invalid({ url: '' }, { url: 'https://evil.example/steal' });
            assert.match(error!.message, /evil\.example/);
            invalid({ url: '' }, { url: 'http://device.example/cms/iap/devs' });
            invalid({ url: '' }, { url: 'https://device.example:8443/cms/iap/devs' });
            invalid({ url: '' }, { url: 'https://device.example.evil.example/cms' });
        });

        it('refuses a protocol-relative URL to another host', function () {
            invalid({ url: '' }, { url: '//evil.example/x' });
            invalid({ url: '{{{payload}}}' }, { payload: '//evil.example/x' });
        });

        it('refuses a template that renders to another origin', function () {
            invalid({ url: '{{{payload}}}' }, { payload: 'https://evil.example/x' });
            invalid({ url: 'https://device.example{{{payload}}}' }, { payload: '.evil.example/x' });
        });

        it('escapes a % in the query that starts no escape, as the core node does', function () {
            assert.strictEqual(parse({ url: '/x?a=20%&b=%41%2' }, {}).url, 'https://device.example/cms/x?a=20%25&b=%41%252');
            assert.strictEqual(parse({ url: '' }, { url: 'https://device.example/x?q=100%' }).url, 'https://device.example/x?q=100%25');
        });

        it('refuses control characters in the URL', function () {
            invalid({ url: '' }, { url: '/iap/devs\r\nX-Injected: 1' });
        });
    });

    describe('resolveUrl', function () {
        it('joins relative paths and checks absolute ones', function () {
            assert.strictEqual(resolveUrl('/x', 'https://h.example'), 'https://h.example/x');
            assert.strictEqual(resolveUrl('?q=1', 'https://h.example/api'), 'https://h.example/api?q=1');
            assert.strictEqual(resolveUrl('https://h.example/y', 'https://h.example/api'), 'https://h.example/y');
            assert.throws(() => resolveUrl('ftp://h.example/y', 'https://h.example'), { code: 'INVALID_INPUT' });
        });

        it('gives a URL without a scheme https:// with a TLS configuration and http:// without, then applies the origin rule', function () {
            assert.strictEqual(resolveUrl('h.example:8443/y?q=1', 'https://h.example:8443/api', true), 'https://h.example:8443/y?q=1');
            assert.strictEqual(resolveUrl('127.0.0.1:1880/y', 'http://127.0.0.1:1880'), 'http://127.0.0.1:1880/y');
            assert.strictEqual(resolveUrl('[::1]:1880', 'http://[::1]:1880/base'), 'http://[::1]:1880/');
            assert.strictEqual(resolveUrl('H.example/y', 'https://h.example/api', true), 'https://h.example/y');
            // Without a TLS configuration the core node would say http://: another origin than an https base.
            assert.throws(() => resolveUrl('h.example/y', 'https://h.example/api'), { code: 'INVALID_INPUT' });
            assert.throws(() => resolveUrl('other.example:443/y', 'https://h.example', true), { code: 'INVALID_INPUT' });
            // Text whose first segment is neither host:port nor the base's host stays a relative path.
            assert.strictEqual(resolveUrl('iap/devs', 'https://h.example/cms', true), 'https://h.example/cms/iap/devs');
        });
    });

    describe("the node's header list", function () {
        const list = (listHeaders: Record<string, unknown>, msg: Msg = {}) => parseRequest(config(), msg, BASE, TIMEOUT, sinon.spy(), { listHeaders });

        it('adds its headers, and msg.headers win over them name by name, whatever the case', function () {
            const request = list({ Accept: 'application/json', 'X-Row': 'row', 'X-Both': 'row' }, { headers: { 'x-both': 'msg', 'X-Own': 1 } });
            assert.deepStrictEqual(request.headers, { Accept: 'application/json', 'X-Row': 'row', 'x-both': 'msg', 'X-Own': '1' });
        });

        it('still applies when msg.headers are the response headers of an earlier request node', function () {
            const echoed = { 'x-backend': 'a', [RESPONSE_HEADERS_MARK]: 'core-marker' };
            assert.deepStrictEqual(list({ 'X-Row': 'row' }, { headers: echoed }).headers, { 'X-Row': 'row' });
        });

        it('checks its values as msg.headers are checked, naming the list', function () {
            assert.throws(() => list({ 'X-Row': 'a\r\nX-Injected: 1' }), {
                code: 'INVALID_INPUT',
                message: /header list\["X-Row"\] contains a control character/,
            });
            assert.throws(() => list({ 'X Row': 'a' }), { code: 'INVALID_INPUT', message: /header list has an invalid header name/ });
            assert.throws(() => list({ 'X-Row': { nested: true } }), { code: 'INVALID_INPUT', message: /must be a string or a number/ });
        });
    });

    describe('headers', function () {
        it('copies msg.headers as strings', function () {
            const request = parse({}, { headers: { 'X-Count': 3, 'X-Flag': true, Accept: 'application/json', 'X-Skip': null } });
            assert.deepStrictEqual(request.headers, { 'X-Count': '3', 'X-Flag': 'true', Accept: 'application/json' });
        });

        it('refuses CR or LF in a header value', function () {
            const error = invalid({}, { headers: { 'X-Test': 'a\r\nSet-Cookie: x=1' } });
            assert.match(error!.message, /X-Test/);
            invalid({}, { headers: { 'X-Test': 'a\nb' } });
        });

        it('refuses a value outside Latin-1 or with a control character, rather than altering it on the wire', function () {
            for (const value of ['x€y', 'smile 😀', 'a\u0000b', 'del\u007f', 'c1\u0085']) {
                const error = invalid({}, { headers: { 'X-Test': value } });
                assert.match(error!.message, /X-Test.*outside Latin-1/);
            }
            assert.deepStrictEqual(parse({}, { headers: { 'X-Test': 'Müller\tß ÿ' } }).headers, { 'X-Test': 'Müller\tß ÿ' });
        });

        it('refuses a bad header name', function () {
            invalid({}, { headers: { 'Bad Name': 'x' } });
            invalid({}, { headers: { 'X-Test:': 'x' } });
            invalid({}, { headers: { 'X-Test\r\nX-Other': 'x' } });
        });

        it('refuses msg.headers that is not an object, and a header value that is an object', function () {
            invalid({}, { headers: 'Accept: */*' });
            invalid({}, { headers: ['Accept'] });
            invalid({}, { headers: { 'X-Obj': { a: 1 } } });
        });

        it('drops response headers of an earlier request node passed on unchanged', function () {
            const headers: Msg = { 'content-type': 'application/json', 'set-cookie': ['theme=dark; Path=/'], 'content-length': '12' };
            headers[RESPONSE_HEADERS_MARK] = headersDigest(headers);
            assert.deepStrictEqual(parse({}, { headers }).headers, {});
        });

        it("drops headers that carry the core node's marker, which cannot be checked here", function () {
            assert.deepStrictEqual(parse({}, { headers: { 'content-length': '12', [RESPONSE_HEADERS_MARK]: '3f2a1b0c' } }).headers, {});
        });

        it('merges names case-insensitively: the later spelling is the one sent', function () {
            assert.deepStrictEqual(parse({}, { headers: { 'x-Custom': 'a', 'X-CUSTOM': 'b', Accept: 'x' } }).headers, { 'X-CUSTOM': 'b', Accept: 'x' });
        });

        it('keeps headers marked as response headers once they were changed, without the mark', function () {
            const headers: Msg = { 'content-type': 'application/json', 'content-length': '12' };
            headers[RESPONSE_HEADERS_MARK] = headersDigest(headers);
            headers['X-Added'] = 'yes';
            assert.deepStrictEqual(parse({}, { headers }).headers, {
                'content-type': 'application/json',
                'content-length': '12',
                'X-Added': 'yes',
            });
        });

        it('computes the digest without the mark and independently of the order', function () {
            const digest = headersDigest({ a: '1', b: '2' });
            assert.strictEqual(headersDigest({ b: '2', a: '1' }), digest);
            assert.strictEqual(headersDigest({ a: '1', b: '2', [RESPONSE_HEADERS_MARK]: 'x' }), digest);
            assert.notStrictEqual(headersDigest({ a: '1', b: '3' }), digest);
        });
    });

    describe('body', function () {
        it('sends an object as JSON with a Content-Type', function () {
            const request = parse({ method: 'POST' }, { payload: { value: 21.5, unit: 'C' } });
            assert.strictEqual(request.body, '{"value":21.5,"unit":"C"}');
            assert.strictEqual(request.headers['Content-Type'], 'application/json');
        });

        it('keeps the Content-Type of the msg', function () {
            const request = parse({ method: 'PUT' }, { payload: { a: 1 }, headers: { 'content-type': 'application/json; charset=utf-8' } });
            assert.strictEqual(request.body, '{"a":1}');
            assert.deepStrictEqual(request.headers, { 'content-type': 'application/json; charset=utf-8' });
        });

        it('form-encodes an object for x-www-form-urlencoded', function () {
            const request = parse(
                { method: 'POST' },
                { payload: { user: 'a b', tag: ['x', 'y'], obj: { k: 1 } }, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
            );
            assert.strictEqual(request.body, 'user=a%20b&tag=x&tag=y&obj=%7B%22k%22%3A1%7D');
            assert.strictEqual(request.headers['Content-Type'], 'application/x-www-form-urlencoded');
        });

        it('sends a string or a Buffer as it is', function () {
            const text = parse({ method: 'POST' }, { payload: '<x/>', headers: { 'Content-Type': 'application/xml' } });
            assert.strictEqual(text.body, '<x/>');
            assert.deepStrictEqual(text.headers, { 'Content-Type': 'application/xml' });
            const bytes = Buffer.from([1, 2, 3]);
            const binary = parse({ method: 'PUT' }, { payload: bytes });
            assert.strictEqual(binary.body, bytes);
            assert.deepStrictEqual(binary.headers, {});
        });

        it('sends a number as text', function () {
            assert.strictEqual(parse({ method: 'PUT' }, { payload: 42 }).body, '42');
        });

        it('sends no body without a payload', function () {
            assert.strictEqual(parse({ method: 'POST' }, {}).body, undefined);
            assert.strictEqual(parse({ method: 'POST' }, { payload: null }).body, undefined);
        });

        it('sends no body with GET or HEAD when paytoqs is ignore', function () {
            const get = parse({ method: 'GET' }, { payload: { a: 1 } });
            assert.strictEqual(get.body, undefined);
            assert.strictEqual(get.url, 'https://device.example/cms/iap/devs');
            assert.deepStrictEqual(get.headers, {});
            assert.strictEqual(parse({ method: 'HEAD' }, { payload: 'x' }).body, undefined);
        });

        it('appends the payload to the query string with paytoqs query', function () {
            const request = parse({ method: 'GET', url: '/iap/devs?pg=1', paytoqs: 'query' }, { payload: { sz: 10, tag: ['a b', 'c'], none: null } });
            assert.strictEqual(request.url, 'https://device.example/cms/iap/devs?pg=1&sz=10&tag=a%20b&tag=c&none=');
            assert.strictEqual(request.body, undefined);
            assert.strictEqual(parse({ method: 'GET', url: '/x', paytoqs: 'query' }, { payload: { a: 1 } }).url, 'https://device.example/cms/x?a=1');
            assert.strictEqual(parse({ method: 'GET', url: '/x?', paytoqs: 'query' }, { payload: { a: 1 } }).url, 'https://device.example/cms/x?a=1');
        });

        it('leaves the query of HEAD alone and sends it no body, as the core node does', function () {
            const request = parse({ method: 'HEAD', paytoqs: 'query' }, { payload: { a: 1 } });
            assert.strictEqual(request.url, 'https://device.example/cms/iap/devs');
            assert.strictEqual(request.body, undefined);
        });

        it('sends a boolean as JSON', function () {
            const request = parse({ method: 'POST' }, { payload: true });
            assert.strictEqual(request.body, 'true');
            assert.strictEqual(request.headers['Content-Type'], 'application/json');
        });

        it('refuses a payload that is not an object with paytoqs query', function () {
            invalid({ method: 'GET', paytoqs: 'query' }, { payload: 'a=1' });
            invalid({ method: 'GET', paytoqs: 'query' }, { payload: [1, 2] });
        });

        it('sends a body on GET with paytoqs body', function () {
            const request = parse({ method: 'GET', paytoqs: 'body' }, { payload: { a: 1 } });
            assert.strictEqual(request.body, '{"a":1}');
            assert.strictEqual(request.url, 'https://device.example/cms/iap/devs');
        });

        it("encodes multipart form data with a boundary in the Content-Type of the msg's spelling", function () {
            const request = parse(
                { method: 'POST' },
                {
                    payload: { text: 'hello', file: { value: Buffer.from('abc'), options: { filename: 'a.bin' } }, skipped: null },
                    headers: { 'content-type': 'multipart/form-data' },
                },
            );
            const boundary = /^multipart\/form-data; boundary=(\S+)$/.exec(request.headers['content-type'])![1];
            assert.strictEqual(Object.keys(request.headers).length, 1);
            assert.strictEqual(
                request.body!.toString(),
                [
                    `--${boundary}`,
                    'Content-Disposition: form-data; name="text"',
                    '',
                    'hello',
                    `--${boundary}`,
                    'Content-Disposition: form-data; name="file"; filename="a.bin"',
                    'Content-Type: application/octet-stream',
                    '',
                    'abc',
                    `--${boundary}--`,
                    '',
                ].join('\r\n'),
            );
        });
    });

    describe('cookies', function () {
        it('encodes string values', function () {
            assert.deepStrictEqual(parse({}, { cookies: { theme: 'dark', note: 'a b;c' } }).cookies, ['theme=dark', 'note=a%20b%3Bc']);
        });

        it('takes {value, encode: false} as it is', function () {
            assert.deepStrictEqual(parse({}, { cookies: { raw: { value: 'a%20b', encode: false }, enc: { value: 'a b' } } }).cookies, [
                'raw=a%20b',
                'enc=a%20b',
            ]);
        });

        it('skips null and undefined values', function () {
            assert.deepStrictEqual(parse({}, { cookies: { gone: null, also: { value: null }, kept: 1 } }).cookies, ['kept=1']);
        });

        it('refuses ";" in a value only when encode is false', function () {
            invalid({}, { cookies: { raw: { value: 'a;b', encode: false } } });
            invalid({}, { cookies: { raw: { value: 'a\r\nb', encode: false } } });
            assert.deepStrictEqual(parse({}, { cookies: { enc: { value: 'a;b' } } }).cookies, ['enc=a%3Bb']);
        });

        it('refuses a raw value outside Latin-1; an encoded one goes percent-encoded, as in the core node', function () {
            invalid({}, { cookies: { raw: { value: 'x€y', encode: false } } });
            invalid({}, { cookies: { raw: { value: '😀', encode: false } } });
            assert.deepStrictEqual(parse({}, { cookies: { enc: 'x€y' } }).cookies, ['enc=x%E2%82%ACy']);
        });

        it('refuses a bad cookie name and msg.cookies that is not an object', function () {
            invalid({}, { cookies: { 'a b': 'x' } });
            invalid({}, { cookies: { 'a=b': 'x' } });
            invalid({}, { cookies: 'a=b' });
        });

        it('is empty without msg.cookies', function () {
            assert.deepStrictEqual(parse({}, {}).cookies, []);
        });
    });

    describe('requestTimeout', function () {
        it('takes a positive number of milliseconds', function () {
            const warn = sinon.spy();
            assert.strictEqual(parse({}, { requestTimeout: 5000 }, warn).timeoutMs, 5000);
            assert.strictEqual(parse({}, { requestTimeout: '2500' }, warn).timeoutMs, 2500);
            assert.strictEqual(warn.callCount, 0);
        });

        it('defaults to the server timeout', function () {
            assert.strictEqual(parse({}, {}).timeoutMs, TIMEOUT);
        });

        it('refuses a value outside 1 … 2147483647 ms as INVALID_INPUT', function () {
            for (const value of ['soon', -1, 0, 0.5, 2147483648, Infinity, NaN, {}]) {
                assert.match(invalid({}, { requestTimeout: value })!.message, /requestTimeout/, String(value));
            }
            assert.strictEqual(parse({}, { requestTimeout: 2147483647 }).timeoutMs, 2147483647);
        });
    });

    describe('followRedirects', function () {
        it('follows redirects unless msg.followRedirects is false', function () {
            assert.strictEqual(parse({}, {}).followRedirects, true);
            assert.strictEqual(parse({}, { followRedirects: true }).followRedirects, true);
            assert.strictEqual(parse({}, { followRedirects: false }).followRedirects, false);
            assert.strictEqual(parse({}, { followRedirects: 0 }).followRedirects, false);
        });
    });
});

import assert from 'node:assert';

import { readReply, sessionFields, withoutSecrets, errorText, sessionLifetime, parseValidUntil, parseIdleMinutes } from '../../../../src/lib/vendors/sdm/reply';
import type { HttpResponse } from '../../../../src/lib/http/http-client';
import { reply as httpReply } from '../../../support/fakes';

const NOW = Date.parse('2030-06-01T12:00:00Z');

function reply(body: string, contentType?: string): HttpResponse {
    return httpReply(200, body, contentType ? { 'content-type': contentType } : {});
}

describe('sdm-reply', function () {
    describe('readReply', function () {
        it('reads by Content-Type, else by the first character', function () {
            assert.deepStrictEqual(readReply(reply('{"a":1}', 'application/json;charset=UTF-8')), { kind: 'json', value: { a: 1 } });
            assert.deepStrictEqual(readReply(reply('<a>1</a>', 'text/xml')), { kind: 'xml', value: { a: '1' } });
            assert.deepStrictEqual(readReply(reply('<a>1</a>')), { kind: 'xml', value: { a: '1' } });
            assert.deepStrictEqual(readReply(reply(' {"a":1}')), { kind: 'json', value: { a: 1 } });
            assert.deepStrictEqual(readReply(reply('<p>x</p>', 'text/html')), { kind: 'text', value: '<p>x</p>' });
        });

        it('returns text for a body that does not parse', function () {
            assert.deepStrictEqual(readReply(reply('{"a":', 'application/json')), { kind: 'text', value: '{"a":' });
            assert.deepStrictEqual(readReply(reply('<a><<', 'application/xml')), { kind: 'text', value: '<a><<' });
            assert.deepStrictEqual(readReply(reply('', 'application/json')), { kind: 'text', value: '' });
        });
    });

    describe('sessionFields', function () {
        it('unwraps the XML root and the optional JSON "session" root', function () {
            assert.deepStrictEqual(sessionFields({ kind: 'xml', value: { session: { userName: 'a' } } }), { userName: 'a' });
            assert.deepStrictEqual(sessionFields({ kind: 'json', value: { session: { userName: 'a' } } }), { userName: 'a' });
            assert.deepStrictEqual(sessionFields({ kind: 'json', value: { userName: 'a' } }), { userName: 'a' });
            assert.deepStrictEqual(sessionFields({ kind: 'json', value: { status: 'ok', session: { userName: 'a' } } }), { userName: 'a' });
        });

        it('gives undefined for text, arrays and XML without an element root', function () {
            assert.strictEqual(sessionFields({ kind: 'text', value: 'x' }), undefined);
            assert.strictEqual(sessionFields({ kind: 'json', value: [1] }), undefined);
            assert.strictEqual(sessionFields({ kind: 'xml', value: { session: 'text only' } }), undefined);
        });

        it('withoutSecrets drops the session id and anything secret-looking', function () {
            assert.deepStrictEqual(withoutSecrets({ sessionId: 'x', session_id: 'y', password: 'p', authToken: 't', userName: 'a', idleTimeout: 0 }), {
                userName: 'a',
                idleTimeout: 0,
            });
            assert.deepStrictEqual(withoutSecrets({ user: { name: 'a', sessionId: 'x' }, groups: ['g'] }), { user: { name: 'a' }, groups: ['g'] });
        });
    });

    describe('errorText', function () {
        it('reads only the message field of JSON or XML; never a text, HTML or other field', function () {
            assert.strictEqual(errorText(reply('{"code":401,"message":"The session ID is invalid."}', 'application/json')), 'The session ID is invalid');
            assert.strictEqual(
                errorText(reply('<error><code>400</code><message>The user input is invalid.</message></error>', 'application/xml')),
                'The user input is invalid',
            );
            assert.strictEqual(errorText(reply('<errorResponse><error><errorMessage>Nested.</errorMessage></error></errorResponse>')), '');
            assert.strictEqual(errorText(reply('<message>Root text.</message>')), 'Root text');
            assert.strictEqual(errorText(reply('"Just a string."', 'application/json')), '');
            assert.strictEqual(errorText(reply('{"code":400,"detail":"echo of the request"}', 'application/json')), '');
            assert.strictEqual(errorText(reply('Service down\nfor maintenance', 'text/plain')), '');
            assert.strictEqual(errorText(reply('<html><body>Error</body></html>', 'text/html')), '');
            assert.strictEqual(errorText(reply('{"code":500}', 'application/json')), '');
        });

        it('clips long texts to 200 characters', function () {
            const text = errorText(reply(JSON.stringify({ message: 'x'.repeat(500) }), 'application/json'));
            assert.strictEqual(text, `${'x'.repeat(200)}…`);
        });
    });

    describe('expiry', function () {
        it('parseValidUntil reads ISO dates with a zone and epoch ms or s in the future', function () {
            assert.strictEqual(parseValidUntil('2030-06-01T13:00:00Z', NOW), NOW + 3600000);
            assert.strictEqual(parseValidUntil('2030-06-01T15:00:00.000+02:00', NOW), NOW + 3600000);
            assert.strictEqual(parseValidUntil('2030-06-01T15:00:00+0200', NOW), NOW + 3600000);
            assert.strictEqual(parseValidUntil(String(NOW + 5000), NOW), NOW + 5000);
            assert.strictEqual(parseValidUntil(NOW + 5000, NOW), NOW + 5000);
            assert.strictEqual(parseValidUntil(String((NOW + 60000) / 1000), NOW), NOW + 60000);
        });

        it('parseValidUntil gives null for anything ambiguous or past', function () {
            for (const value of [
                '2030-06-01T13:00:00',
                '2030-06-01 13:00:00',
                'Sat Jun 01 13:00:00 UTC 2030',
                '0',
                '',
                null,
                undefined,
                '2030-06-01T11:00:00Z',
                String(NOW - 1),
                '123456',
                'soon',
            ]) {
                assert.strictEqual(parseValidUntil(value, NOW), null, String(value));
            }
        });

        it('parseIdleMinutes reads positive numbers, nothing else', function () {
            assert.strictEqual(parseIdleMinutes('30'), 30);
            assert.strictEqual(parseIdleMinutes(15), 15);
            assert.strictEqual(parseIdleMinutes('0.5'), 0.5);
            for (const value of ['0', 0, '-5', 'PT30M', '', null, undefined, '30m']) assert.strictEqual(parseIdleMinutes(value), undefined, String(value));
        });

        it('sessionLifetime combines both, and copes with no fields', function () {
            assert.deepStrictEqual(sessionLifetime({ validUntil: '2030-06-01T13:00:00Z', idleTimeout: '10' }, NOW), {
                expiresAt: NOW + 3600000,
                idleTimeoutMs: 600000,
            });
            assert.deepStrictEqual(sessionLifetime({ validUntil: 'x', idleTimeout: 0 }, NOW), { expiresAt: null });
            assert.deepStrictEqual(sessionLifetime(undefined, NOW), { expiresAt: null });
        });
    });
});

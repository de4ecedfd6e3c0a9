/** The custom vendor's parts: templates, Basic per RFC 6749 §2.3.1, durations, reply reading and scrubbing, setting checks. */
import assert from 'node:assert';

import { checkVendorSettings } from '../../src/lib/node-red/vendor-table';
import { parseDuration } from '../../src/lib/vendors/custom/duration';
import { atPath, expiryFromValue, usableCredential, withoutSecrets } from '../../src/lib/vendors/custom/reply';
import { basicAuthorization, fillTemplate } from '../../src/lib/vendors/custom/template';

const NOW = 1_800_000_000_000;

describe('custom vendor', function () {
    it('fills a JSON template with every value escaped as a JSON string', function () {
        const password = 'p"a\\s\ns';
        const body = fillTemplate('{"u":"{{username}}","p":"{{password}}","b":"{{passwordBase64}}"}', 'json', { username: 'a"b', password });
        assert.deepStrictEqual(JSON.parse(body), { u: 'a"b', p: password, b: Buffer.from(password, 'utf8').toString('base64') });
    });

    it('fills a form template with every value form-encoded (no value can add a field)', function () {
        const body = fillTemplate('username={{username}}&password={{password}}&b={{passwordBase64}}', 'form', { username: 'a b', password: 'x&admin=1+=' });
        const form = new URLSearchParams(body);
        assert.deepStrictEqual([...form.keys()], ['username', 'password', 'b']);
        assert.strictEqual(form.get('password'), 'x&admin=1+=');
        assert.strictEqual(form.get('b'), Buffer.from('x&admin=1+=').toString('base64'));
    });

    it('sends Basic with both parts form-encoded first (RFC 6749 §2.3.1)', function () {
        const header = basicAuthorization('client:1', 'se cret');
        assert.strictEqual(Buffer.from(header.replace('Basic ', ''), 'base64').toString(), 'client%3A1:se+cret');
    });

    it('reads durations and refuses anything else', function () {
        assert.strictEqual(parseDuration('30m'), 1_800_000);
        assert.strictEqual(parseDuration('1h30m'), 5_400_000);
        assert.strictEqual(parseDuration('1h 30m'), 5_400_000);
        assert.strictEqual(parseDuration('24h'), 86_400_000);
        for (const bad of ['', '30', 'm', '0m', '1x', '1h junk']) assert.strictEqual(parseDuration(bad), undefined, bad);
    });

    it('reads the expiry as seconds from now, epoch seconds, epoch ms or an ISO date', function () {
        assert.strictEqual(expiryFromValue(3600, NOW), NOW + 3_600_000);
        assert.strictEqual(expiryFromValue('3600', NOW), NOW + 3_600_000);
        assert.strictEqual(expiryFromValue(1_900_000_000, NOW), 1_900_000_000_000);
        assert.strictEqual(expiryFromValue(1_900_000_000_000, NOW), 1_900_000_000_000);
        assert.strictEqual(expiryFromValue('2030-01-01T00:00:00Z', NOW), Date.parse('2030-01-01T00:00:00Z'));
        for (const bad of [null, -1, 0, 'soon', {}]) assert.strictEqual(expiryFromValue(bad, NOW), null);
    });

    it('finds values by dotted path and takes only sendable tokens', function () {
        assert.strictEqual(atPath({ data: { access_token: 't' } }, 'data.access_token'), 't');
        assert.strictEqual(atPath({ data: 1 }, 'data.x'), undefined);
        assert.strictEqual(atPath({}, 'constructor'), undefined);
        assert.strictEqual(usableCredential('QSDK 3a1b'), 'QSDK 3a1b');
        for (const bad of ['', ' x', 'a\nb', {}, null]) assert.strictEqual(usableCredential(bad), undefined);
    });

    it('removes the token and every secret-like key from the payload at any depth', function () {
        const reply = {
            data: { key: 'T', user: 'u', nested: [{ password: 'p', ok: 1 }] },
            refresh_token: 'r',
            session_id: 's',
            sessionId: 's',
            clientSecret: 'c',
            copy: 'T',
            n: 1,
        };
        assert.deepStrictEqual(withoutSecrets(reply, 'data.key', 'T'), { data: { user: 'u', nested: [{ ok: 1 }] }, n: 1 });
        assert.deepStrictEqual(withoutSecrets(undefined, undefined, undefined), {});
    });

    it('checks its settings as a deploy does: JSON template once filled, JSON paths, durations, statuses', function () {
        assert.deepStrictEqual(checkVendorSettings('custom', {}), {});
        assert.deepStrictEqual(checkVendorSettings('custom', { loginTemplate: '{"u":{{username}}}' }), { loginTemplate: 'loginTemplate' });
        assert.deepStrictEqual(checkVendorSettings('custom', { loginTemplate: 'u={{username}}', loginBody: 'form' }), {});
        assert.deepStrictEqual(checkVendorSettings('custom', { tokenFrom: 'body', tokenName: 'data..token' }), { tokenName: 'jsonPath' });
        assert.deepStrictEqual(checkVendorSettings('custom', { tokenFrom: 'body', tokenName: '' }), { tokenName: 'jsonPath' });
        assert.deepStrictEqual(checkVendorSettings('custom', { tokenFrom: 'header', tokenName: 'X Token' }), { tokenName: 'headerName' });
        assert.deepStrictEqual(checkVendorSettings('custom', { tokenFrom: 'body', tokenName: 'token', tokenTemplate: 'Bearer' }), {
            tokenTemplate: 'tokenTemplate',
        });
        assert.deepStrictEqual(checkVendorSettings('custom', { expiry: 'lifetime', expiryValue: '30' }), { expiryValue: 'duration' });
        assert.deepStrictEqual(checkVendorSettings('custom', { expiry: 'body', expiryValue: 'expires in' }), { expiryValue: 'jsonPath' });
        assert.deepStrictEqual(checkVendorSettings('custom', { rejectedStatus: '401, 4o3' }), { rejectedStatus: 'rejectedStatus' });
        assert.deepStrictEqual(checkVendorSettings('custom', { loginPath: 'login', logoutPath: 'out' }), { loginPath: 'loginPath', logoutPath: 'logoutPath' });
    });
});

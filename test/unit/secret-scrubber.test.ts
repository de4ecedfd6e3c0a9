import assert from 'node:assert';

import { REDACTED, SecretScrubber, clipQuote } from '../../src/lib/secret-scrubber';

const PASSWORD = 'p+ss/wörd"<1>';
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const urlSafe = (text: string) => b64(text).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

describe('SecretScrubber', function () {
    const scrubber = new SecretScrubber().addSource(() => ({
        username: 'admin',
        passwords: [PASSWORD, 'New-Secret-42'],
        authorizations: ['Digest username="admin", response="abc123def"'],
        cookies: [{ key: 'cmsSID', value: 'c0ffee' }],
        tokens: ['QSDK t0ken'],
    }));

    it('removes the password in every encoding an echo may use', function () {
        const forms = [
            PASSWORD,
            JSON.stringify(PASSWORD).slice(1, -1),
            encodeURIComponent(PASSWORD),
            'p+ss/wörd&quot;&lt;1&gt;',
            b64(PASSWORD),
            b64(PASSWORD).replace(/=+$/, ''),
            urlSafe(PASSWORD),
            b64(`admin:${PASSWORD}`),
            urlSafe(`admin:${PASSWORD}`),
            'New-Secret-42',
            b64('New-Secret-42'),
        ];
        for (const form of forms) assert.strictEqual(scrubber.scrub(`before ${form} after`), `before ${REDACTED} after`, form);
    });

    it('removes Authorization values, cookies and tokens, and keeps the user name', function () {
        const text = scrubber.scrub('admin sent Digest username="admin", response="abc123def" and cmsSID=c0ffee and QSDK t0ken');
        assert.strictEqual(text, `admin sent ${REDACTED} and ${REDACTED} and ${REDACTED}`);
    });

    it('removes the start of a secret that a clipped quote cut off', function () {
        const quote = clipQuote(`${'x'.repeat(195)}${PASSWORD}`);
        assert.ok(quote.endsWith('…'));
        const clean = scrubber.scrub(`said: ${quote}.`);
        assert.ok(!clean.includes(PASSWORD.slice(0, 5)), clean);
        assert.ok(clean.endsWith(`${REDACTED}….`), clean);
    });

    it('remembers retired secrets and scrubs errors and nested values', function () {
        const own = new SecretScrubber();
        own.remember({ cookies: [{ key: 'JSESSIONID', value: 'old-session' }] });
        const error = own.scrubError(new Error('logout failed: old-session'));
        assert.strictEqual(error.message, `logout failed: ${REDACTED}`);
        assert.ok(!String(error.stack).includes('old-session'));
        assert.deepStrictEqual(own.scrubDeep({ a: ['x old-session'], b: 2 }), { a: [`x ${REDACTED}`], b: 2 });
    });

    it('derives forms once per secret set, yet scrubs a secret a source or remember() added since the last scrub', function () {
        const live = { username: 'admin', passwords: ['first-Secret-1'] as string[], cookies: [] as { key: string; value: string }[] };
        const own = new SecretScrubber().addSource(() => live);
        assert.strictEqual(own.scrub('x first-Secret-1 second-Secret-2'), `x ${REDACTED} second-Secret-2`);
        live.passwords = ['second-Secret-2'];
        live.cookies = [{ key: 'sid', value: 'fresh-cookie' }];
        assert.strictEqual(own.scrub('x first-Secret-1 second-Secret-2 sid=fresh-cookie'), `x first-Secret-1 ${REDACTED} ${REDACTED}`);
        own.remember({ passwords: ['first-Secret-1'] });
        assert.strictEqual(own.scrub('x first-Secret-1 second-Secret-2'), `x ${REDACTED} ${REDACTED}`);
        // Values that a separator could join alike are still different sets.
        const tricky = { passwords: ['a', 'b'] as string[] };
        const other = new SecretScrubber().addSource(() => tricky);
        assert.strictEqual(other.scrub('a,b'), `${REDACTED},${REDACTED}`);
        tricky.passwords = ['a,b'];
        assert.strictEqual(other.scrub('a,b ab'), `${REDACTED} ab`);
    });
});

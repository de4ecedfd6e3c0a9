import assert from 'node:assert';
import crypto from 'node:crypto';
import {
    DIGEST_LOGIN_URI,
    parseDigestChallenge,
    digestUserProblem,
    digestResponse,
    digestAuthorization,
    basicAuthorization,
} from '../../../../src/lib/vendors/cmwell/digest';

const OPAQUE = '5058b4284162d0410f4749e9d3910a96';
const NONCE = '0123456789abcdef0123456789abcdef';
const md5 = (text: any) => crypto.createHash('md5').update(text).digest('hex');

describe('cmwell-digest', function () {
    describe('parseDigestChallenge', function () {
        it("reads CM-Well's challenge", function () {
            assert.deepStrictEqual(parseDigestChallenge(`Digest realm="cmwell",nonce="${NONCE}",opaque="${OPAQUE}"`), {
                realm: 'cmwell',
                nonce: NONCE,
                opaque: OPAQUE,
            });
        });

        it('finds the Digest challenge among several, with spaces and unquoted values', function () {
            assert.deepStrictEqual(parseDigestChallenge(['Basic realm="proxy"', `Digest  realm = "cmwell" , nonce=${NONCE}`]), {
                realm: 'cmwell',
                nonce: NONCE,
                opaque: undefined,
            });
            assert.strictEqual(parseDigestChallenge(`Basic realm="x", Digest realm="cmwell", nonce="${NONCE}"`)?.nonce, NONCE);
        });

        it('is undefined without a Digest challenge that has a nonce', function () {
            assert.strictEqual(parseDigestChallenge(undefined), undefined);
            assert.strictEqual(parseDigestChallenge('Basic realm="cmwell"'), undefined);
            assert.strictEqual(parseDigestChallenge('Digest realm="cmwell"'), undefined);
        });
    });

    describe('digestResponse', function () {
        it('matches the worked example of docs/vendors.md (root/root)', function () {
            assert.strictEqual(md5('root:cmwell:root'), '199245447fd82dd38f84c000da94cf1d');
            assert.strictEqual(digestResponse('root', 'root', 'cmwell', NONCE), 'ff4c0222291c31344ab113a5d875082a');
        });
    });

    describe('digestAuthorization', function () {
        it('answers with uri "/_login" (no query), no qop, and echoes the opaque', function () {
            const header = digestAuthorization('root', 'root', { realm: 'cmwell', nonce: NONCE, opaque: OPAQUE });
            assert.strictEqual(DIGEST_LOGIN_URI, '/_login');
            assert.strictEqual(
                header,
                `Digest username="root", realm="cmwell", nonce="${NONCE}", uri="/_login", response="ff4c0222291c31344ab113a5d875082a", opaque="${OPAQUE}"`,
            );
            assert.ok(!/qop|nc=|cnonce/.test(header));
        });

        it('falls back to the realm "cmwell" and leaves out a missing opaque', function () {
            const header = digestAuthorization('root', 'root', { realm: '', nonce: NONCE });
            assert.match(header, /realm="cmwell"/);
            assert.ok(!header.includes('opaque'));
        });

        it('never carries the password', function () {
            assert.ok(!digestAuthorization('root', 'S3cret!pw', { realm: 'cmwell', nonce: NONCE, opaque: OPAQUE }).includes('S3cret'));
        });
    });

    describe('digestUserProblem', function () {
        it("accepts the characters CM-Well's parser reads and refuses the others", function () {
            for (const name of ['root', 'Alice_01', 'a-b', 'x/y']) assert.strictEqual(digestUserProblem(name), undefined, name);
            for (const name of ['a.b', 'me@example.org', 'a+b', 'a:b', 'a b', 'a"b', '']) {
                assert.match(String(digestUserProblem(name)), /use Basic/, name);
            }
        });
    });

    describe('basicAuthorization', function () {
        it('is base64 of user:password in UTF-8', function () {
            assert.strictEqual(basicAuthorization('root', 'root'), 'Basic cm9vdDpyb290');
            assert.strictEqual(Buffer.from(basicAuthorization('jürgen', 'pä:ss').slice(6), 'base64').toString('utf8'), 'jürgen:pä:ss');
        });
    });
});

import assert from 'node:assert';
import crypto from 'node:crypto';
import { CookieJar } from 'tough-cookie';
import { cmwell } from '../../../../src/lib/vendors/cmwell/adapter';
import { vendorAdapter } from '../../../../src/lib/vendors/index';
import type { HttpResponse } from '../../../../src/lib/http/http-client';
import type { LoginCredentials } from '../../../../src/lib/vendors/adapter';
import { reply as httpReply, queuedContext, testSettings, loginError as adapterLoginError, type FakeContext } from '../../../support/fakes';

const ROOT: LoginCredentials = { username: 'root', password: 'root' };
const NONCE = '0123456789abcdef0123456789abcdef';
const OPAQUE = '5058b4284162d0410f4749e9d3910a96';
const CHALLENGE = `Digest realm="cmwell",nonce="${NONCE}",opaque="${OPAQUE}"`;
const EXP = Date.UTC(2100, 0, 1, 12);
const md5 = (text: any) => crypto.createHash('md5').update(text).digest('hex');

function jwt(claims: any) {
    const part = (value: any) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}
const TOKEN = jwt({ sub: 'root', exp: EXP, rev: 0 });

function reply(status: number, body: unknown = '', headers: HttpResponse['headers'] = {}): HttpResponse {
    return httpReply(status, body, headers, 'http://cmwell.example:9000/_login');
}

/** Answers the exchanges with `replies` in order; one more exchange rejects. */
function fakeContext(replies: HttpResponse[], settings: Record<string, unknown> = {}): FakeContext {
    return queuedContext(replies, { vendor: 'cmwell', baseUrl: 'http://cmwell.example:9000', ...settings }, { strict: true });
}

function loginError(context: FakeContext, credentials: LoginCredentials = ROOT) {
    return adapterLoginError(cmwell, context, credentials);
}

const sent = (context: FakeContext) => context.send.getCalls().map((call: any) => call.args[0]);

describe('cmwell adapter', function () {
    it('is the adapter registered for "cmwell", with no session cookie and no default headers', function () {
        assert.strictEqual(vendorAdapter('cmwell'), cmwell);
        assert.strictEqual(cmwell.id, 'cmwell');
        assert.strictEqual(cmwell.label, 'CM-Well');
        assert.strictEqual(cmwell.sessionCookie, undefined);
        assert.deepStrictEqual(cmwell.requestHeaders(testSettings({})), {});
    });

    describe('validate', function () {
        it('accepts an empty or valid token lifetime', function () {
            for (const tokenLifetime of ['', '30d', '3d 5h', '2h30m', '60d']) assert.strictEqual(cmwell.validate(testSettings({ tokenLifetime })), undefined);
        });

        it('refuses a lifetime without a unit or over 60 days', function () {
            assert.match(String(cmwell.validate(testSettings({ tokenLifetime: '30' }))), /no unit/);
            assert.match(String(cmwell.validate(testSettings({ tokenLifetime: '61d' }))), /60 days/);
        });
    });

    describe('login with Basic', function () {
        it('sends GET /_login with Basic and returns the token header, the ms expiry and a payload without the token', async function () {
            const context = fakeContext([reply(200, { token: TOKEN })]);
            const credential = { jar: new CookieJar() };
            const result = await cmwell.login(context, ROOT, credential);
            assert.deepStrictEqual(sent(context), [{ method: 'GET', path: '/_login', headers: { Authorization: 'Basic cm9vdDpyb290' } }]);
            assert.deepStrictEqual(result.header, { name: 'X-CM-WELL-TOKEN', value: TOKEN });
            assert.strictEqual(result.expiresAt, EXP);
            assert.deepStrictEqual(result.payload, { user: 'root', expiresAt: EXP });
            assert.ok(!JSON.stringify(result.payload).includes(TOKEN));
            assert.strictEqual(context.send.firstCall.args[1], credential);
        });

        it('asks for the configured token lifetime with ?exp=, URL-encoded', async function () {
            const context = fakeContext([reply(200, { token: TOKEN })], { tokenLifetime: '3d 5h' });
            await cmwell.login(context, ROOT, { jar: new CookieJar() });
            assert.strictEqual(sent(context)[0].path, '/_login?exp=3d%205h');
        });

        it('has no expiry when the token carries no exp claim', async function () {
            const context = fakeContext([reply(200, { token: 'opaque-token' })]);
            const result = await cmwell.login(context, ROOT, { jar: new CookieJar() });
            assert.strictEqual(result.expiresAt, null);
            assert.deepStrictEqual(result.payload, { user: 'root', expiresAt: null });
        });

        it('ignores an expiry that has already passed by the local clock, with a warning', async function () {
            const past = jwt({ sub: 'root', exp: Date.now() - 1000, rev: 0 });
            const result = await cmwell.login(fakeContext([reply(200, { token: past })]), ROOT, { jar: new CookieJar() });
            assert.strictEqual(result.expiresAt, null);
            assert.deepStrictEqual(result.payload, { user: 'root', expiresAt: null });
            assert.match(String(result.warning), /already expired/);
            assert.ok(!result.warning!.includes(past));
            const fresh = await cmwell.login(fakeContext([reply(200, { token: TOKEN })]), ROOT, { jar: new CookieJar() });
            assert.strictEqual(fresh.warning, undefined);
        });

        it('refuses a user name with ":" as CONFIG without sending anything', async function () {
            const context = fakeContext([]);
            const error = await loginError(context, { username: 'a:b', password: 'x' });
            assert.strictEqual(error.code, 'CONFIG');
            assert.strictEqual(context.send.callCount, 0);
        });
    });

    describe('login with Digest', function () {
        it('fetches a challenge, then answers it with uri "/_login" while exp goes in the query only', async function () {
            const context = fakeContext([reply(401, 'Please provide your credentials.\n', { 'www-authenticate': CHALLENGE }), reply(200, { token: TOKEN })], {
                authScheme: 'digest',
                tokenLifetime: '2h',
            });
            const result = await cmwell.login(context, ROOT, { jar: new CookieJar() });
            const [challenge, answer] = sent(context);
            assert.deepStrictEqual(challenge, { method: 'GET', path: '/_login', retry: true });
            assert.strictEqual(answer.path, '/_login?exp=2h');
            assert.strictEqual(answer.retry, false, 'a Digest answer is never resent: its nonce is spent');
            const expected = md5(`${md5('root:cmwell:root')}:${NONCE}:${md5('GET:/_login')}`);
            assert.strictEqual(
                answer.headers.Authorization,
                `Digest username="root", realm="cmwell", nonce="${NONCE}", uri="/_login", response="${expected}", opaque="${OPAQUE}"`,
            );
            assert.strictEqual(result.expiresAt, EXP);
        });

        it('fetches a fresh challenge for every login (nonces are single-use)', async function () {
            const second = NONCE.replace('0123', '9999');
            const context = fakeContext(
                [
                    reply(401, '', { 'www-authenticate': CHALLENGE }),
                    reply(200, { token: TOKEN }),
                    reply(401, '', { 'www-authenticate': CHALLENGE.replace(NONCE, second) }),
                    reply(200, { token: TOKEN }),
                ],
                { authScheme: 'digest' },
            );
            await cmwell.login(context, ROOT, { jar: new CookieJar() });
            await cmwell.login(context, ROOT, { jar: new CookieJar() });
            const answers = sent(context).filter((exchange: any) => exchange.headers);
            assert.match(answers[0].headers.Authorization, new RegExp(`nonce="${NONCE}"`));
            assert.match(answers[1].headers.Authorization, new RegExp(`nonce="${second}"`));
        });

        it('a challenge reply without a Digest challenge is BAD_REQUEST, not a credential rejection', async function () {
            const error = await loginError(fakeContext([reply(401, 'no')], { authScheme: 'digest' }));
            assert.strictEqual(error.code, 'BAD_REQUEST');
        });

        it('a failing challenge request goes by its status', async function () {
            const error = await loginError(fakeContext([reply(503, 'down')], { authScheme: 'digest' }));
            assert.strictEqual(error.code, 'SERVER_ERROR');
            assert.strictEqual(error.statusCode, 503);
        });

        it('refuses a user name the Digest parser cannot read as CONFIG without sending anything', async function () {
            const context = fakeContext([], { authScheme: 'digest' });
            const error = await loginError(context, { username: 'me@example.org', password: 'x' });
            assert.strictEqual(error.code, 'CONFIG');
            assert.strictEqual(context.send.callCount, 0);
        });

        it('a 401 to the answer is INVALID_CREDENTIALS', async function () {
            const error = await loginError(
                fakeContext([reply(401, '', { 'www-authenticate': CHALLENGE }), reply(401, 'Not authenticated.\n')], { authScheme: 'digest' }),
            );
            assert.strictEqual(error.code, 'INVALID_CREDENTIALS');
            assert.strictEqual(error.statusCode, 401);
        });
    });

    describe('login failures', function () {
        it('401 "Not authenticated." is INVALID_CREDENTIALS', async function () {
            const error = await loginError(fakeContext([reply(401, 'Not authenticated.\n')]));
            assert.strictEqual(error.code, 'INVALID_CREDENTIALS');
            assert.strictEqual(error.statusCode, 401);
            assert.match(error.message, /"root"/);
        });

        it('400 is BAD_REQUEST and never quotes the Authorization header the server echoes', async function () {
            const secret = Buffer.from('root:S3cret').toString('base64');
            const error = await loginError(fakeContext([reply(400, { success: false, error: `\`Basic ${secret}\` is not a valid Basic header` })]), {
                username: 'root',
                password: 'S3cret',
            });
            assert.strictEqual(error.code, 'BAD_REQUEST');
            assert.strictEqual(error.statusCode, 400);
            assert.ok(!error.message.includes(secret) && !error.message.includes('S3cret'), error.message);
            assert.match(error.message, /Basic authorization header/);
        });

        it('400 for an expiry over 60 days says so', async function () {
            const error = await loginError(fakeContext([reply(400, { success: false, error: 'Token expiry must be less than 60 days' })]));
            assert.strictEqual(error.code, 'BAD_REQUEST');
            assert.match(error.message, /less than 60 days/);
        });

        it('5xx is SERVER_ERROR, 429 RATE_LIMITED', async function () {
            assert.strictEqual((await loginError(fakeContext([reply(500, 'boom')]))).code, 'SERVER_ERROR');
            assert.strictEqual((await loginError(fakeContext([reply(429, 'slow down')]))).code, 'RATE_LIMITED');
        });

        it('a 200 without a usable token is SERVER_ERROR', async function () {
            for (const body of ['not json', { token: '' }, { token: 'a b' }, { token: 42 }, {}]) {
                assert.strictEqual((await loginError(fakeContext([reply(200, body)]))).code, 'SERVER_ERROR', JSON.stringify(body));
            }
        });
    });

    describe('isSessionRejected', function () {
        it('is true for 401 and for 403 "given token is not valid" as text or JSON', function () {
            assert.strictEqual(cmwell.isSessionRejected(reply(401, '')), true);
            assert.strictEqual(cmwell.isSessionRejected(reply(403, 'given token is not valid (not signed or expired)')), true);
            assert.strictEqual(cmwell.isSessionRejected(reply(403, { success: false, message: 'given token is not valid (not signed or expired)' })), true);
        });

        it('is false for other 403s and other statuses', function () {
            assert.strictEqual(cmwell.isSessionRejected(reply(403, 'Authenticated but not authorized')), false);
            assert.strictEqual(cmwell.isSessionRejected(reply(403, 'Not authorized, please login first')), false);
            assert.strictEqual(cmwell.isSessionRejected(reply(200, 'given token is not valid')), false);
            assert.strictEqual(cmwell.isSessionRejected(reply(404, '')), false);
        });
    });

    describe('logout', function () {
        it('sends nothing', async function () {
            const context = fakeContext([]);
            await cmwell.logout(context, { jar: new CookieJar(), header: { name: 'X-CM-WELL-TOKEN', value: TOKEN } });
            assert.strictEqual(context.send.callCount, 0);
        });
    });
});

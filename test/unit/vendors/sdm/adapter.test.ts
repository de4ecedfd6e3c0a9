import assert from 'node:assert';

import sinon from 'sinon';
import { CookieJar } from 'tough-cookie';

import { sdm } from '../../../../src/lib/vendors/sdm/adapter';
import { vendorAdapter } from '../../../../src/lib/vendors/index';
import { SecretScrubber } from '../../../../src/lib/secret-scrubber';
import type { HttpResponse } from '../../../../src/lib/http/http-client';
import type { LoginCredentials } from '../../../../src/lib/vendors/adapter';
import { reply, scriptedContext, testSettings, loginError as adapterLoginError, type FakeContext } from '../../../support/fakes';

const BASE = 'https://sdm.example:8443';
const ADMIN: LoginCredentials = { username: 'admin', password: 'passphrase' };
const SESSION_ID = 'C1B538D484F77F3EEB25ECD0A3148448.tomcat1';
const SET_COOKIE = `JSESSIONID=${SESSION_ID}; Path=/rest; HttpOnly`;
const VALID_UNTIL = '2031-01-01T00:00:00Z';

/** Answers each exchange from a script keyed by "METHOD path"; Set-Cookie lands in the jar. */
function fakeContext(script: Record<string, HttpResponse | HttpResponse[]>, settings: Record<string, unknown> = {}): FakeContext {
    return scriptedContext(script, { vendor: 'sdm', baseUrl: BASE, apiVersion: 'v1.3', format: 'json', ...settings }, { storeCookies: true });
}

function loginError(context: FakeContext, credentials: LoginCredentials = ADMIN) {
    return adapterLoginError(sdm, context, credentials);
}

function jsonReply(status: number, body: unknown, extra: HttpResponse['headers'] = {}): HttpResponse {
    return reply(status, body, { 'content-type': 'application/json', ...extra });
}

function xmlReply(status: number, body: unknown, extra: HttpResponse['headers'] = {}): HttpResponse {
    return reply(status, body, { 'content-type': 'application/xml', ...extra });
}

const SESSION_JSON = { idleTimeout: 0, serverInfo: 'NNC82', sessionId: SESSION_ID, userGroup: 'LI_ADMIN', userName: 'admin', validUntil: VALID_UNTIL };
const SESSION_XML =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><session><idleTimeout>30</idleTimeout><serverInfo>NNC82</serverInfo>' +
    `<sessionId>${SESSION_ID}</sessionId><userGroup>LI_ADMIN</userGroup><userName>admin</userName><validUntil>${VALID_UNTIL}</validUntil></session>`;

describe('sdm adapter', function () {
    let clock: any;

    beforeEach(function () {
        clock = sinon.useFakeTimers({ now: Date.parse('2030-06-01T12:00:00Z'), toFake: ['Date'] });
    });
    afterEach(function () {
        clock.restore();
    });

    it('is registered as "sdm", with the JSESSIONID session cookie', function () {
        assert.strictEqual(vendorAdapter('sdm'), sdm);
        assert.strictEqual(sdm.label, 'Oracle SDM');
        assert.strictEqual(sdm.sessionCookie, 'JSESSIONID');
    });

    it('validates the API version as v<number>[.<number>...]', function () {
        for (const good of ['v1.1', 'v1.3', 'v1', 'v10.0.2']) assert.strictEqual(sdm.validate(testSettings({ apiVersion: good })), undefined, good);
        for (const bad of ['1.1', 'v1.', 'V1.1', 'v1.1/../admin', 'v1.1 ', '']) {
            assert.match(String(sdm.validate(testSettings({ apiVersion: bad }))), /API version .* is not valid: write it like v1\.1/, bad);
        }
    });

    it('asks for replies in the configured format', function () {
        assert.deepStrictEqual(sdm.requestHeaders(testSettings({ format: 'json' })), { Accept: 'application/json' });
        assert.deepStrictEqual(sdm.requestHeaders(testSettings({ format: 'xml' })), { Accept: 'application/xml' });
    });

    it('treats 401 on a request as the dead-session signal, nothing else', function () {
        assert.strictEqual(sdm.isSessionRejected(reply(401)), true);
        for (const status of [200, 204, 403, 404, 500]) assert.strictEqual(sdm.isSessionRejected(reply(status)), false);
    });

    describe('login', function () {
        it('posts the unwrapped JSON body and returns the session fields without sessionId', async function () {
            const context = fakeContext({ 'POST /rest/v1.3/admin/login': jsonReply(200, SESSION_JSON, { 'set-cookie': [SET_COOKIE] }) });
            const credential = { jar: new CookieJar() };
            const result = await sdm.login(context, ADMIN, credential);
            const [exchange] = context.send.firstCall.args;
            assert.deepStrictEqual(exchange, {
                method: 'POST',
                path: '/rest/v1.3/admin/login',
                headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
                body: '{"userName":"admin","password":"passphrase"}',
            });
            assert.deepStrictEqual(result.payload, { idleTimeout: 0, serverInfo: 'NNC82', userGroup: 'LI_ADMIN', userName: 'admin', validUntil: VALID_UNTIL });
            assert.strictEqual(result.expiresAt, Date.parse(VALID_UNTIL));
            assert.strictEqual(result.idleTimeoutMs, undefined, 'idleTimeout 0: no idle limit');
            assert.strictEqual(result.warning, undefined);
            assert.strictEqual(credential.jar.getCookieStringSync(`${BASE}/rest/v1.0/x`), `JSESSIONID=${SESSION_ID}`);
            assert.strictEqual(credential.jar.getCookieStringSync(`${BASE}/other`), '');
        });

        it('unwraps a JSON reply that comes with the "session" root', async function () {
            const context = fakeContext({ 'POST /rest/v1.3/admin/login': jsonReply(200, { session: SESSION_JSON }, { 'set-cookie': [SET_COOKIE] }) });
            const result = await sdm.login(context, ADMIN, { jar: new CookieJar() });
            assert.strictEqual((result.payload as any).userName, 'admin');
            assert.ok(!('sessionId' in (result.payload as any)));
        });

        it('posts escaped XML with the format xml and reads the XML <session>', async function () {
            const context = fakeContext(
                { 'POST /rest/v1.1/admin/login': xmlReply(200, SESSION_XML, { 'set-cookie': [SET_COOKIE] }) },
                { apiVersion: 'v1.1', format: 'xml' },
            );
            const result = await sdm.login(context, { username: 'o<p>', password: 'a&b"c\'d' }, { jar: new CookieJar() });
            const [exchange] = context.send.firstCall.args;
            assert.deepStrictEqual(exchange.headers, { 'Content-Type': 'application/xml', Accept: 'application/xml' });
            assert.strictEqual(
                exchange.body,
                '<?xml version="1.0" encoding="UTF-8"?><session><userName>o&lt;p&gt;</userName><password>a&amp;b&quot;c&apos;d</password></session>',
            );
            assert.deepStrictEqual(result.payload, {
                idleTimeout: '30',
                serverInfo: 'NNC82',
                userGroup: 'LI_ADMIN',
                userName: 'admin',
                validUntil: VALID_UNTIL,
            });
            assert.strictEqual(result.idleTimeoutMs, 30 * 60000, 'idleTimeout read as minutes');
            assert.strictEqual(result.expiresAt, Date.parse(VALID_UNTIL));
        });

        it('leaves the expiry unknown when validUntil cannot be read', async function () {
            const body = { ...SESSION_JSON, validUntil: 'Tue Jun 01 14:00:00 CEST 2030', idleTimeout: 'PT30M' };
            const context = fakeContext({ 'POST /rest/v1.3/admin/login': jsonReply(200, body, { 'set-cookie': [SET_COOKIE] }) });
            const result = await sdm.login(context, ADMIN, { jar: new CookieJar() });
            assert.strictEqual(result.expiresAt, null);
            assert.strictEqual(result.idleTimeoutMs, undefined);
        });

        it('reads a login reply with a DOCTYPE entity bomb without expanding it, fast', async function () {
            const entities = ['<!ENTITY lol0 "lol">'];
            for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
            const bomb = SESSION_XML.replace('?><session>', `?><!DOCTYPE session [${entities.join('')}]><session>`).replace('NNC82', '&lol9;');
            const context = fakeContext({ 'POST /rest/v1.3/admin/login': xmlReply(200, bomb, { 'set-cookie': [SET_COOKIE] }) }, { format: 'xml' });
            const started = Date.now();
            const result = await sdm.login(context, ADMIN, { jar: new CookieJar() });
            assert.ok(Date.now() - started < 1000);
            assert.strictEqual((result.payload as any).serverInfo, '&lol9;');
            assert.strictEqual((result.payload as any).userName, 'admin');
        });

        it('makes the cookie from <sessionId> when no Set-Cookie arrived (Path under the base path)', async function () {
            const context = fakeContext({ 'POST /rest/v1.3/admin/login': jsonReply(200, SESSION_JSON) }, { baseUrl: `${BASE}/sdm` });
            const credential = { jar: new CookieJar() };
            await sdm.login(context, ADMIN, credential);
            assert.strictEqual(credential.jar.getCookieStringSync(`${BASE}/sdm/rest/v1.3/inventory`), `JSESSIONID=${SESSION_ID}`);
            assert.strictEqual(credential.jar.getCookieStringSync(`${BASE}/rest/v1.3/inventory`), '');
        });

        it('fails as SERVER_ERROR when the login gives neither a cookie nor a usable session id', async function () {
            for (const body of [
                { ...SESSION_JSON, sessionId: undefined },
                { ...SESSION_JSON, sessionId: 'a b;c' },
            ]) {
                const error = await loginError(fakeContext({ 'POST /rest/v1.3/admin/login': jsonReply(200, body) }));
                assert.strictEqual(error.code, 'SERVER_ERROR');
                assert.match(error.message, /accepted the login of "admin" but sent no session cookie/);
            }
        });

        it('succeeds with an empty payload and a warning when the reply is unreadable but the cookie is set', async function () {
            const context = fakeContext({ 'POST /rest/v1.3/admin/login': xmlReply(200, '<session><broken', { 'set-cookie': [SET_COOKIE] }) });
            const result = await sdm.login(context, ADMIN, { jar: new CookieJar() });
            assert.deepStrictEqual(result.payload, {});
            assert.strictEqual(result.expiresAt, null);
            assert.match(String(result.warning), /no readable <session>/);
        });
    });

    describe('login failures', function () {
        const errorXml = (code: any, message: any) => `<?xml version="1.0"?><error><code>${code}</code><message>${message}</message></error>`;

        it('400 is BAD_REQUEST with the server text', async function () {
            const error = await loginError(fakeContext({ 'POST /rest/v1.3/admin/login': xmlReply(400, errorXml(400, 'The user input is invalid.')) }));
            assert.strictEqual(error.code, 'BAD_REQUEST');
            assert.strictEqual(error.statusCode, 400);
            assert.strictEqual(error.message, 'Oracle SDM refused the login request of "admin" as invalid input (HTTP 400): The user input is invalid.');
        });

        it('401 is INVALID_CREDENTIALS, reading JSON or XML error bodies', async function () {
            for (const response of [
                jsonReply(401, { code: 401, message: 'The user ID or password is invalid.' }),
                xmlReply(401, errorXml(401, 'The user ID or password is invalid.')),
            ]) {
                const error = await loginError(fakeContext({ 'POST /rest/v1.3/admin/login': response }));
                assert.strictEqual(error.code, 'INVALID_CREDENTIALS');
                assert.strictEqual(error.statusCode, 401);
                assert.strictEqual(error.message, 'Oracle SDM rejected the user ID or password of "admin": The user ID or password is invalid.');
            }
            const bare = await loginError(fakeContext({ 'POST /rest/v1.3/admin/login': reply(401) }));
            assert.strictEqual(bare.message, 'Oracle SDM rejected the user ID or password of "admin".');
        });

        it('404 is NOT_FOUND and names the API version', async function () {
            const context = fakeContext(
                { 'POST /rest/v9.9/admin/login': xmlReply(404, errorXml(404, 'The REST API version of your input request cannot be found.')) },
                { apiVersion: 'v9.9' },
            );
            const error = await loginError(context);
            assert.strictEqual(error.code, 'NOT_FOUND');
            assert.strictEqual(error.statusCode, 404);
            assert.match(
                error.message,
                /^Oracle SDM has no REST API version "v9\.9" at this address \(HTTP 404\): The REST API version of your input request cannot be found: check the API version/,
            );
        });

        it('5xx is SERVER_ERROR; an HTML error page is not quoted', async function () {
            const error = await loginError(
                fakeContext({
                    'POST /rest/v1.3/admin/login': reply(500, '<html><body><h1>HTTP Status 500</h1></body></html>', { 'content-type': 'text/html' }),
                }),
            );
            assert.strictEqual(error.code, 'SERVER_ERROR');
            assert.strictEqual(error.message, 'Oracle SDM failed to log in "admin" (HTTP 500).');
        });

        it('other statuses fall back to the shared rules (429 RATE_LIMITED, 403 INVALID_CREDENTIALS)', async function () {
            const limited = await loginError(fakeContext({ 'POST /rest/v1.3/admin/login': reply(429, '', { 'retry-after': '30' }) }));
            assert.strictEqual(limited.code, 'RATE_LIMITED');
            assert.strictEqual(limited.retryAfter, 30);
            const forbidden = await loginError(fakeContext({ 'POST /rest/v1.3/admin/login': reply(403) }));
            assert.strictEqual(forbidden.code, 'INVALID_CREDENTIALS');
        });

        it('quotes only the message field; the scrubber takes the password out of it', async function () {
            const error = await loginError(
                fakeContext({ 'POST /rest/v1.3/admin/login': jsonReply(401, { message: 'Bad password passphrase for admin', echo: 'other' }) }),
            );
            new SecretScrubber().addSource(() => ({ username: 'admin', passwords: ['passphrase'] })).scrubError(error);
            assert.strictEqual(error.message, 'Oracle SDM rejected the user ID or password of "admin": Bad password *** for admin.');
            const text = await loginError(
                fakeContext({
                    'POST /rest/v1.3/admin/login': { ...reply(401), body: Buffer.from('echo passphrase'), headers: { 'content-type': 'text/plain' } },
                }),
            );
            assert.strictEqual(text.message, 'Oracle SDM rejected the user ID or password of "admin".');
        });
    });

    describe('logout', function () {
        it('posts to /admin/logout of the configured version; 204, 200 and 401 (already gone) succeed', async function () {
            for (const status of [204, 200, 401]) {
                const context = fakeContext({ 'POST /rest/v1.1/admin/logout': reply(status) }, { apiVersion: 'v1.1', format: 'xml' });
                await sdm.logout(context, { jar: new CookieJar() });
                assert.deepStrictEqual(context.send.firstCall.args[0], {
                    method: 'POST',
                    path: '/rest/v1.1/admin/logout',
                    headers: { Accept: 'application/xml' },
                });
            }
        });

        it('fails on other statuses: 5xx SERVER_ERROR, 404 BAD_REQUEST, with the server text', async function () {
            const context = fakeContext({ 'POST /rest/v1.3/admin/logout': [jsonReply(500, { message: 'Database down.' }), reply(404)] });
            await assert.rejects(sdm.logout(context, { jar: new CookieJar() }), (error) => {
                assert.strictEqual((error as any).code, 'SERVER_ERROR');
                assert.strictEqual((error as any).message, 'Oracle SDM refused the logout (HTTP 500): Database down.');
                return true;
            });
            await assert.rejects(sdm.logout(context, { jar: new CookieJar() }), { code: 'BAD_REQUEST', statusCode: 404 });
        });
    });
});

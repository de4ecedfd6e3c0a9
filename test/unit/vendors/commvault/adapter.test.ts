import assert from 'node:assert';

import { CookieJar } from 'tough-cookie';

import { commvault } from '../../../../src/lib/vendors/commvault/adapter';
import { loginBody, parseLoginReply, withoutToken } from '../../../../src/lib/vendors/commvault/reply';
import { vendorAdapter } from '../../../../src/lib/vendors/index';
import { parseXml } from '../../../../src/lib/vendors/xml';
import type { HttpResponse } from '../../../../src/lib/http/http-client';
import type { LoginCredentials } from '../../../../src/lib/vendors/adapter';
import {
    reply as httpReply,
    testSettings,
    queuedContext,
    loginWith,
    loginError as adapterLoginError,
    type FakeContext,
    type ServerSettings,
} from '../../../support/fakes';

const USER: LoginCredentials = { username: 'cvuser01', password: 'Password#123!' };
const PASSWORD_B64 = 'UGFzc3dvcmQjMTIzIQ==';
const TOKEN = 'QSDK 3856abcdef0123456789';

const SUCCESS = {
    aliasName: '1',
    capability: 4328650366975,
    ccn: 0,
    errList: [],
    forcePasswordChange: false,
    isAccountLocked: false,
    loginAttempts: 0,
    ownerOrganization: { GUID: 'G', providerDomainName: 'Commcell', providerId: 0 },
    remainingLockTime: 0,
    token: TOKEN,
    userGUID: 'U',
    userName: 'cvuser01',
};

function reply(status: number, body: unknown = '', contentType = 'application/json'): HttpResponse {
    return httpReply(status, body, contentType ? { 'content-type': contentType } : {}, 'https://commserve.example/webconsole/api/Login');
}

function settings(overrides: Record<string, unknown> = {}): ServerSettings {
    return testSettings({ vendor: 'commvault', baseUrl: 'https://commserve.example/webconsole/api', ...overrides });
}

/** A fake VendorContext answering every exchange with the next reply of `replies` (the last one repeats). */
function fakeContext(replies: HttpResponse | HttpResponse[], overrides: Record<string, unknown> = {}): FakeContext {
    return queuedContext(replies, settings(overrides));
}

function login(context: FakeContext, credentials: LoginCredentials = USER) {
    return loginWith(commvault, context, credentials);
}

function loginError(context: FakeContext, credentials: LoginCredentials = USER) {
    return adapterLoginError(commvault, context, credentials);
}

describe('commvault adapter', function () {
    it('is registered under its vendor id and accepts any settings', function () {
        assert.strictEqual(vendorAdapter('commvault'), commvault);
        assert.strictEqual(commvault.label, 'Commvault');
        assert.strictEqual(commvault.validate(settings()), undefined);
        assert.strictEqual(commvault.sessionCookie, undefined);
    });

    it('asks for the configured format on every authorized request', function () {
        assert.deepStrictEqual(commvault.requestHeaders(settings()), { Accept: 'application/json' });
        assert.deepStrictEqual(commvault.requestHeaders(settings({ format: 'xml' })), { Accept: 'application/xml' });
    });

    it('takes only a 401 as the sign of a dead token', function () {
        assert.strictEqual(commvault.isSessionRejected(reply(401)), true);
        for (const status of [200, 403, 404, 500]) assert.strictEqual(commvault.isSessionRejected(reply(status)), false, String(status));
    });

    describe('login', function () {
        it('posts JSON with the password in Base64 and no empty domain or commserver', async function () {
            const context = fakeContext(reply(200, SUCCESS));
            await login(context);
            const [exchange, credential] = context.send.firstCall.args;
            assert.strictEqual(exchange!.method, 'POST');
            assert.strictEqual(exchange!.path, '/Login');
            assert.deepStrictEqual(exchange!.headers, { Accept: 'application/json', 'Content-Type': 'application/json' });
            assert.deepStrictEqual(JSON.parse(String(exchange!.body)), { username: 'cvuser01', password: PASSWORD_B64 });
            assert.strictEqual(credential!.header, undefined, 'the login carries no token');
        });

        it('Base64-encodes the password from UTF-8 and sends domain and commserver when set', async function () {
            const context = fakeContext(reply(200, SUCCESS), { domain: 'CORP', commserver: 'cs01' });
            await login(context, { username: 'cvuser01', password: 'Pässwörd €' });
            const body = JSON.parse(String(context.send.firstCall.args[0].body));
            assert.deepStrictEqual(body, {
                username: 'cvuser01',
                password: Buffer.from('Pässwörd €', 'utf8').toString('base64'),
                domain: 'CORP',
                commserver: 'cs01',
            });
        });

        it('posts the XML attribute form with escaped values in XML format', async function () {
            const xml = `<DM2ContentIndexing_CheckCredentialResp token="${TOKEN}" userName="a&amp;b" isAccountLocked="false"/>`;
            const context = fakeContext(reply(200, xml, 'application/xml; charset=utf-8'), { format: 'xml', domain: 'D"&<', commserver: 'cs\n01' });
            await login(context, { username: 'a&b', password: 'x' });
            const [exchange] = context.send.firstCall.args;
            assert.deepStrictEqual(exchange!.headers, { Accept: 'application/xml', 'Content-Type': 'application/xml' });
            assert.strictEqual(
                exchange!.body,
                '<DM2ContentIndexing_CheckCredentialReq username="a&amp;b" password="eA==" domain="D&quot;&amp;&lt;" commserver="cs&#10;01"/>',
            );
            const parsed = parseXml(exchange!.body).DM2ContentIndexing_CheckCredentialReq;
            assert.deepStrictEqual(parsed, { username: 'a&b', password: 'eA==', domain: 'D"&<', commserver: 'cs\n01' });
        });

        it('carries the token as the Authtoken header, expires after 30 idle minutes, and keeps the token out of the payload', async function () {
            const { result, credential } = await login(fakeContext(reply(200, SUCCESS)));
            assert.deepStrictEqual(result.header, { name: 'Authtoken', value: TOKEN });
            assert.strictEqual(result.expiresAt, null);
            assert.strictEqual(result.idleTimeoutMs, 30 * 60 * 1000);
            const { token: _token, ...expected } = SUCCESS;
            assert.deepStrictEqual(result.payload, expected);
            assert.strictEqual(result.warning, undefined);
            assert.ok(!JSON.stringify(result.payload).includes('3856abcdef'));
            assert.strictEqual(credential.jar.getCookiesSync('https://commserve.example/').length, 0);
        });

        it("reads an XML reply: the root element's attributes, without the token", async function () {
            const xml =
                `<?xml version="1.0" encoding="UTF-8"?><DM2ContentIndexing_CheckCredentialResp aliasName="1" token="${TOKEN}" userName="cvuser01" ` +
                'loginAttempts="0" remainingLockTime="0" isAccountLocked="false" forcePasswordChange="false"><ownerOrganization providerId="0"/></DM2ContentIndexing_CheckCredentialResp>';
            const { result } = await login(fakeContext(reply(200, xml, 'application/xml')));
            assert.strictEqual(result.header!.value, TOKEN);
            assert.deepStrictEqual(result.payload, {
                aliasName: '1',
                userName: 'cvuser01',
                loginAttempts: '0',
                remainingLockTime: '0',
                isAccountLocked: 'false',
                forcePasswordChange: 'false',
                ownerOrganization: { providerId: '0' },
            });
        });

        it('logs in with a warning when the password must be changed (JSON and XML)', async function () {
            const { result } = await login(fakeContext(reply(200, { ...SUCCESS, forcePasswordChange: true })));
            assert.strictEqual(result.header!.value, TOKEN);
            assert.match(String(result.warning), /password of "cvuser01" to be changed/);
            const xml = `<DM2ContentIndexing_CheckCredentialResp token="${TOKEN}" forcePasswordChange="true"/>`;
            const fromXml = await login(fakeContext(reply(200, xml, 'application/xml')));
            assert.match(String(fromXml.result.warning), /changed/);
        });

        it("turns HTTP 200 with errList and no token into INVALID_CREDENTIALS with the server's text", async function () {
            const error = await loginError(
                fakeContext(
                    reply(200, {
                        errList: [{ errorCode: 1116, errLogMessage: 'Invalid Username or Password.' }],
                        isAccountLocked: false,
                        loginAttempts: 1,
                    }),
                ),
            );
            assert.strictEqual(error.code, 'INVALID_CREDENTIALS');
            assert.strictEqual(error.statusCode, 200);
            assert.strictEqual(error.retryAfter, undefined);
            assert.strictEqual(error.message, 'Commvault rejected the login of "cvuser01": Invalid Username or Password.');
        });

        it('reads the errList element of an XML refusal', async function () {
            const xml =
                '<DM2ContentIndexing_CheckCredentialResp isAccountLocked="false"><errList errorCode="1116" errLogMessage="Bad &amp; wrong"/></DM2ContentIndexing_CheckCredentialResp>';
            const error = await loginError(fakeContext(reply(200, xml, 'application/xml')));
            assert.strictEqual(error.code, 'INVALID_CREDENTIALS');
            assert.match(error.message, /: Bad & wrong\.$/);
        });

        it('turns isAccountLocked into LOCKED_OUT with retryAfter = remainingLockTime', async function () {
            const error = await loginError(
                fakeContext(
                    reply(200, {
                        errList: [{ errorCode: 1117, errLogMessage: 'User account is locked' }],
                        isAccountLocked: true,
                        remainingLockTime: 5400,
                    }),
                ),
            );
            assert.strictEqual(error.code, 'LOCKED_OUT');
            assert.strictEqual(error.retryAfter, 5400);
            assert.strictEqual(error.statusCode, 200);
            assert.strictEqual(error.message, 'Commvault account "cvuser01" is locked for 1h 30m 0s: User account is locked.');
        });

        it('reads a lock from XML attributes, and leaves retryAfter to the guard when no time is given', async function () {
            const xml = '<DM2ContentIndexing_CheckCredentialResp isAccountLocked="true" remainingLockTime="90"/>';
            const error = await loginError(fakeContext(reply(200, xml, 'text/xml')));
            assert.strictEqual(error.code, 'LOCKED_OUT');
            assert.strictEqual(error.retryAfter, 90);
            assert.match(error.message, /locked for 1m 30s\.$/);
            const untimed = await loginError(fakeContext(reply(200, { isAccountLocked: true, remainingLockTime: 0 })));
            assert.strictEqual(untimed.code, 'LOCKED_OUT');
            assert.strictEqual(untimed.retryAfter, undefined);
        });

        it('is a SERVER_ERROR, not a credential rejection, when a 2xx reply has neither token nor error', async function () {
            for (const body of ['', '{}', 'not json', '<x/>', '[1,2]']) {
                const error = await loginError(fakeContext(reply(200, body, '')));
                assert.strictEqual(error.code, 'SERVER_ERROR', body);
                assert.match(error.message, /without a token \(HTTP 200\)/);
            }
        });

        it('maps other statuses like every vendor', async function () {
            const cases: [number, string][] = [
                [401, 'INVALID_CREDENTIALS'],
                [400, 'BAD_REQUEST'],
                [404, 'NOT_FOUND'],
                [429, 'RATE_LIMITED'],
                [500, 'SERVER_ERROR'],
                [302, 'BAD_REQUEST'],
            ];
            for (const [status, code] of cases) {
                const error = await loginError(fakeContext(reply(status, { errorCode: 5, errorMessage: 'Access denied' })));
                assert.strictEqual(error.code, code, String(status));
                assert.strictEqual(error.statusCode, status);
            }
        });

        it('never puts the password, plain or Base64, into an error', async function () {
            const error = await loginError(fakeContext(reply(200, { errList: [{ errLogMessage: 'no' }] })));
            assert.ok(!error.message.includes(USER.password) && !error.message.includes(PASSWORD_B64));
        });
    });

    describe('logout', function () {
        async function logout(response: HttpResponse, format: 'json' | 'xml' = 'json') {
            const context = fakeContext(response, { format });
            const credential = { jar: new CookieJar(), header: { name: 'Authtoken', value: TOKEN } };
            await commvault.logout(context, credential);
            return context;
        }

        it('posts /Logout with the session credential and takes "User logged out" as success', async function () {
            const context = await logout(reply(200, 'User logged out', 'text/plain'));
            const [exchange, credential] = context.send.firstCall.args;
            assert.deepStrictEqual(exchange, { method: 'POST', path: '/Logout', headers: { Accept: 'application/json' } });
            assert.deepStrictEqual(credential!.header, { name: 'Authtoken', value: TOKEN });
            const xml = await logout(reply(200, '"User logged out"'), 'xml');
            assert.strictEqual(xml.send.firstCall.args[0].headers?.Accept, 'application/xml');
        });

        it('takes an invalid token (200 or 401) or a bare 401 as already logged out', async function () {
            await logout(reply(200, 'Invalid authorization token provided.', 'text/plain'));
            await logout(reply(401, 'Invalid authorization token provided.', 'text/plain'));
            await logout(reply(401, { errorCode: 5, errorMessage: 'Access denied' }));
        });

        it('reports anything else', async function () {
            const cases: [HttpResponse, string][] = [
                [reply(500, 'Internal error'), 'SERVER_ERROR'],
                [reply(200, 'Something else'), 'BAD_REQUEST'],
                [reply(403, ''), 'BAD_REQUEST'],
            ];
            for (const [response, code] of cases) {
                await assert.rejects(logout(response), (error) => {
                    assert.strictEqual((error as any).code, code);
                    assert.match((error as any).message, /^Commvault refused the logout \(HTTP \d+\)/);
                    return true;
                });
            }
        });
    });

    describe('reply helpers', function () {
        it('removes the token and other credential fields from the payload only', function () {
            assert.deepStrictEqual(withoutToken({ token: 't', sessionId: 's', userName: 'u', forcePasswordChange: true }), {
                userName: 'u',
                forcePasswordChange: true,
            });
        });

        it('builds bodies and reads replies in both formats', function () {
            assert.strictEqual(loginBody('json', { username: 'u', password: 'cA==' }), '{"username":"u","password":"cA=="}');
            assert.strictEqual(
                loginBody('xml', { username: '<u>', password: 'cA==' }),
                '<DM2ContentIndexing_CheckCredentialReq username="&lt;u&gt;" password="cA=="/>',
            );
            const fromJson = parseLoginReply(reply(200, { token: ' QSDK 1 ', isAccountLocked: 'true', remainingLockTime: '12.2' }));
            assert.strictEqual(fromJson.token, 'QSDK 1');
            assert.strictEqual(fromJson.locked, true);
            assert.strictEqual(fromJson.remainingLockTime, 13);
            const fromXml = parseLoginReply(reply(200, '<R><errList errLogMessage=""/><errList errLogMessage="second"/></R>', ''));
            assert.strictEqual(fromXml.errorMessage, 'second');
            assert.strictEqual(fromXml.token, undefined);
        });

        it('does not expand entities from a DOCTYPE in an XML reply', function () {
            const bomb =
                '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>' +
                '<DM2ContentIndexing_CheckCredentialResp token="QSDK 1" userName="&b;"/>';
            const parsed = parseLoginReply(reply(200, bomb, 'application/xml'));
            assert.strictEqual(parsed.token, 'QSDK 1');
            assert.strictEqual(parsed.fields.userName, '&b;');
        });
    });
});

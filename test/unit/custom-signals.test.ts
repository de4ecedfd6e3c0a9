/** The custom vendor's device settings: CSRF tokens, a token as a cookie, RFC 7617 Basic, "session ended" by a body or a redirect. */
import assert from 'node:assert';

import type { HttpResponse } from '../../src/lib/http/http-client';
import { checkVendorSettings } from '../../src/lib/node-red/vendor-table';
import { vendorAdapter } from '../../src/lib/vendors';
import { CookieJar } from 'tough-cookie';

import { SessionError } from '../../src/lib/errors';
import type { ServerSettings, VendorAdapter, VendorContext } from '../../src/lib/vendors/adapter';
import { loginWriteToken } from '../../src/lib/vendors/custom/csrf';
import { parseSettings, readVendorSettings } from '../../src/lib/vendors/settings';
import { patternRisk } from '../../src/lib/vendors/custom/pattern-cost';
import { plainBasicAuthorization } from '../../src/lib/vendors/custom/template';

const custom = vendorAdapter('custom');

function bound(values: Record<string, unknown>): VendorAdapter {
    const settings = {
        vendor: 'custom',
        baseUrl: 'https://device.example/app',
        requestTimeoutMs: 5000,
        ...parseSettings(custom.settings, values),
    } as ServerSettings;
    return custom.withSettings!(settings);
}

function reply(status: number, body = '', headers: Record<string, string> = {}, extra: Partial<HttpResponse> = {}): HttpResponse {
    return {
        status,
        headers: { 'content-type': 'application/json', ...headers },
        body: Buffer.from(body),
        url: 'https://device.example/app/x',
        redirects: [],
        ...extra,
    };
}

describe('custom vendor: device settings and "session ended" signals', function () {
    it('sends RFC 7617 Basic: username:password in UTF-8, nothing encoded first', function () {
        assert.strictEqual(plainBasicAuthorization('jürgen', 'p:w d&ö'), `Basic ${Buffer.from('jürgen:p:w d&ö', 'utf8').toString('base64')}`);
    });

    it('checks the new settings as a deploy does; an invalid regular expression is CONFIG', function () {
        assert.deepStrictEqual(checkVendorSettings('custom', { rejectedBody: 'api\\.err\\.LoginRequired', rejectedRedirect: '/login' }), {});
        assert.deepStrictEqual(checkVendorSettings('custom', { rejectedBody: '("errorCode"' }), { rejectedBody: 'rejectedBody' });
        assert.deepStrictEqual(checkVendorSettings('custom', { rejectedRedirect: 'login' }), { rejectedRedirect: 'rejectedRedirect' });
        assert.deepStrictEqual(checkVendorSettings('custom', { tokenFrom: 'body', tokenName: 'data.ticket', tokenAs: 'cookie' }), {
            tokenCookie: 'tokenCookie',
        });
        assert.deepStrictEqual(checkVendorSettings('custom', { csrfFrom: 'header', csrfName: '' }), { csrfName: 'headerName' });
        assert.deepStrictEqual(checkVendorSettings('custom', { csrfFrom: 'body', csrfName: 'data..x' }), { csrfName: 'jsonPath' });
        assert.deepStrictEqual(checkVendorSettings('custom', { csrfFrom: 'fetch', csrfFetchPath: '' }), { csrfFetchPath: 'csrfFetchPath' });
        assert.deepStrictEqual(checkVendorSettings('custom', { csrfFrom: 'fetch', csrfFetchPath: '/', csrfHeader: 'X CSRF' }), { csrfHeader: 'headerName' });
        assert.deepStrictEqual(checkVendorSettings('custom', { csrfFrom: 'header', csrfName: 'X-CSRF-Token', csrfUpdateHeader: 'bad header' }), {
            csrfUpdateHeader: 'headerName',
        });
        assert.throws(
            () => readVendorSettings(custom.settings, { rejectedBody: '[' }),
            (error: Error & { code?: string }) => error.code === 'CONFIG' && /not a valid regular expression/.test(error.message),
        );
    });

    it('a CSRF token fetch at login that fails (here: the node began closing) is a warning, not a failed login', async function () {
        const settings = {
            vendor: 'custom',
            baseUrl: 'https://device.example/app',
            requestTimeoutMs: 5000,
            ...parseSettings(custom.settings, { csrfFrom: 'fetch', csrfFetchPath: '/' }),
        } as ServerSettings;
        let asked = 0;
        const context = {
            settings,
            send: () => {
                asked++;
                return Promise.reject(new SessionError('CONFIG', 'The server configuration was stopped (redeploy or shutdown).'));
            },
        } as unknown as VendorContext;
        const found = await loginWriteToken(context as never, reply(200, '{}'), {}, { jar: new CookieJar() });
        assert.strictEqual(asked, 1);
        assert.strictEqual(found.token, undefined);
        assert.match(found.warning ?? '', /^The CSRF token could not be fetched \(CONFIG; .*\): writes will be refused until one is found\.$/);
    });

    describe('a rejectedBody that could hang Node-RED on a reply is CONFIG (ReDoS)', function () {
        const SAFE = [
            'api\\.err\\.LoginRequired',
            '"errorCode":"602"',
            '"errorCode"\\s?:\\s?"602"',
            '.*LoginRequired',
            'login(Required|Needed)',
            '(?:ab)+c',
            '[a-z]+Required',
            '^\\{"error":"(expired|invalid)_session"',
            'x{2}y{1,3}',
            '.*LoginRequired.*',
            '"errorCode"\\s*:\\s*"602"',
            '"msg":"[^"]*LoginRequired',
            'a{3,}b+',
            '.*?expired$',
            // Top-level alternatives are tried one after the other: their costs add.
            '"error":\\s*"session expired"|^<html.*login',
            '.*LoginRequired|.*SessionExpired',
            // A decided repeat before the one that gives back runs once per start.
            '"error"\\s*:\\s*"session.*expired"',
        ];
        const RISKY: Array<[string, string]> = [
            ['(a+)+$', 'nested'],
            ['(a|aa)*b', 'nested'],
            ['(.*a){10}', 'nested'],
            ['(\\w+\\s?)+$', 'nested'],
            ['^(([a-z])+.)+[A-Z]([a-z])+$', 'nested'],
            ['(?<word>x+y?)*z', 'nested'],
            ['.*.*X', 'unbounded'],
            ['a.*a.*X', 'unbounded'],
            ['\\s*\\s*:', 'unbounded'],
            ['\\w+\\s?\\w+X', 'unbounded'],
            ['[a-z]+[0-9a-z]*!', 'unbounded'],
            ['"msg":"[^"]*LoginRequired[^"]*"', 'unbounded'],
            // `$` can refuse what a last repeat took: 52 s on 4 KB ending in a newline (or a non-word character).
            ['.*.*$', 'unbounded'],
            ['\\w+\\w*$', 'unbounded'],
            // A character that may be left out decides no stop: \s*\s*\s*! in disguise, 7 s on 120 spaces.
            ['\\s*x{00,1}\\s*x{00,1}\\s*!', 'unbounded'],
            // A decided repeat after one that gives back runs again for each give-back.
            ['.*\\s*:', 'unbounded'],
            ['(a)\\1', 'backreference'],
            ['(?<q>a)\\k<q>', 'backreference'],
            ['a{0,100}b', 'ways'],
            ['a?b?c?d?e?f?g?', 'ways'],
        ];
        for (const pattern of SAFE) {
            it(`accepts ${pattern}`, function () {
                assert.strictEqual(patternRisk(pattern), undefined);
                assert.deepStrictEqual(checkVendorSettings('custom', { rejectedBody: pattern }), {});
            });
        }
        for (const [pattern, risk] of RISKY) {
            it(`refuses ${pattern} (${risk}) with CONFIG, as you type and at deploy`, function () {
                assert.strictEqual(patternRisk(pattern), risk);
                assert.deepStrictEqual(checkVendorSettings('custom', { rejectedBody: pattern }), { rejectedBody: 'rejectedBodySlow' });
                assert.throws(
                    () => readVendorSettings(custom.settings, { rejectedBody: pattern }),
                    (error: Error & { code?: string }) => error.code === 'CONFIG' && /could take too long on a reply/.test(error.message),
                );
            });
        }
    });

    it('takes a status, a text or JSON body of any status, or a redirect to the configured path as "session ended"', function () {
        const adapter = bound({ rejectedStatus: '401', rejectedBody: '"errorCode":"602"', rejectedRedirect: '/login' });
        assert.ok(adapter.isSessionRejected(reply(401)));
        assert.ok(adapter.isSessionRejected(reply(200, '{"errorCode":"602"}')));
        assert.ok(adapter.isSessionRejected(reply(500, 'x "errorCode":"602" y', { 'content-type': 'text/plain' })));
        assert.ok(!adapter.isSessionRejected(reply(200, '{"errorCode":"602"}', { 'content-type': 'application/octet-stream' })), 'not a binary reply');
        assert.ok(!adapter.isSessionRejected(reply(200, '{"errorCode":"600"}')));
        assert.ok(adapter.isSessionRejected(reply(302, '', { location: '/login?next=/x' })), 'an unfollowed redirect, from the host root');
        assert.ok(adapter.isSessionRejected(reply(302, '', { location: '/app/login' })), 'or under the base path');
        assert.ok(adapter.isSessionRejected(reply(200, '<html>', {}, { redirects: [{ location: 'https://sso.example/login/form', setCookie: [] }] })));
        assert.ok(!adapter.isSessionRejected(reply(302, '', { location: '/home' })));
        assert.ok(!bound({}).isSessionRejected(reply(200, '{"errorCode":"602"}')), 'nothing but 401 without settings');
    });

    it('knows a refused write token: a 403 matching rejectedBody, or X-CSRF-Token: Required for fetched tokens', function () {
        const header = bound({
            csrfFrom: 'header',
            csrfName: 'X-CSRF-Token',
            rejectedBody: 'api\\.err\\.LoginRequired',
            csrfUpdateHeader: 'X-Updated-CSRF-Token',
        });
        assert.ok(header.isWriteTokenRefused!(reply(403, '{"meta":{"msg":"api.err.LoginRequired"}}')));
        assert.ok(!header.isWriteTokenRefused!(reply(403, '{}')));
        assert.ok(!header.isWriteTokenRefused!(reply(200, '{"meta":{"msg":"api.err.LoginRequired"}}')), 'only a 403');
        assert.strictEqual(header.fetchWriteToken, undefined, 'a login token comes with a new login only');
        assert.strictEqual(header.renewedWriteToken!(reply(200, '', { 'x-updated-csrf-token': 'n3w' })), 'n3w');
        assert.deepStrictEqual(header.credentialReplyHeaders, ['X-CSRF-Token', 'X-Updated-CSRF-Token']);
        const fetch = bound({ csrfFrom: 'fetch', csrfFetchPath: '/' });
        assert.ok(fetch.isWriteTokenRefused!(reply(403, 'CSRF token validation failed', { 'x-csrf-token': 'Required', 'content-type': 'text/plain' })));
        assert.ok(!fetch.isWriteTokenRefused!(reply(403, 'Forbidden', { 'content-type': 'text/plain' })));
        assert.strictEqual(typeof fetch.fetchWriteToken, 'function');
        const none = bound({});
        assert.strictEqual(none.isWriteTokenRefused, undefined);
        assert.deepStrictEqual(none.credentialReplyHeaders, []);
    });

    it('keeps the session cookie out of msg.responseCookies: the named cookie, or the one a token is sent in', function () {
        assert.strictEqual(
            bound({ tokenFrom: 'body', tokenName: 'data.ticket', tokenAs: 'cookie', tokenCookie: 'PVEAuthCookie' }).sessionCookie,
            'PVEAuthCookie',
        );
        assert.strictEqual(bound({ tokenFrom: 'cookie', tokenName: 'TOKEN' }).sessionCookie, 'TOKEN');
        assert.strictEqual(bound({ tokenFrom: 'body', tokenName: 'token' }).sessionCookie, undefined);
    });
});

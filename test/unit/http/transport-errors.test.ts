import assert from 'node:assert';
import { transportError, describeTarget, neverReachedServer } from '../../../src/lib/http/transport-errors';
import { SessionError } from '../../../src/lib/errors';

const SECRET_URL = 'https://device.example/cms/iap/devs?token=secret#frag';

/** An error as Node sockets produce it. */
function socketError(code: any, message: any) {
    return Object.assign(new Error(message), { code });
}

/** An axios error: its own code, the socket error as `cause`. */
function axiosError(code: string, message: string, causeCode?: string) {
    return Object.assign(new Error(message), { code, cause: causeCode ? socketError(causeCode, message) : undefined });
}

function assertSafe(error: any) {
    assert.ok(!error.message.includes('secret'), error.message);
    assert.ok(!error.message.includes('token'), error.message);
    assert.ok(!error.message.includes('?'), error.message);
    assert.ok(!error.message.includes('frag'), error.message);
}

describe('transport-errors', function () {
    describe('transportError', function () {
        it('maps ECONNREFUSED to NETWORK', function () {
            const error = transportError(socketError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:443'), 'GET', SECRET_URL, 30000);
            assert.ok(error instanceof SessionError);
            assert.strictEqual(error.code, 'NETWORK');
            assert.strictEqual(
                error.message,
                'GET https://device.example/cms/iap/devs: nothing accepts connections on port 443 of device.example (ECONNREFUSED): check the host and port in the base URL, and that the server runs.',
            );
            assertSafe(error);
        });

        it('maps reset and DNS failures to NETWORK, reading the code of the cause', function () {
            assert.strictEqual(transportError(axiosError('ERR_NETWORK', 'socket hang up', 'ECONNRESET'), 'GET', SECRET_URL, 1).code, 'NETWORK');
            const dns = transportError(axiosError('ENOTFOUND', 'getaddrinfo ENOTFOUND device.example'), 'POST', SECRET_URL, 1);
            assert.strictEqual(dns.code, 'NETWORK');
            assert.match(dns.message, /ENOTFOUND/);
            assertSafe(dns);
        });

        it('maps ETIMEDOUT and ECONNABORTED to TIMEOUT, naming the time allowed', function () {
            for (const code of ['ETIMEDOUT', 'ECONNABORTED']) {
                const error = transportError(socketError(code, 'request failed'), 'GET', SECRET_URL, 5000);
                assert.strictEqual(error.code, 'TIMEOUT', code);
                assert.match(error.message, /5000 ms/);
                assertSafe(error);
            }
        });

        it('maps an axios timeout message to TIMEOUT', function () {
            const error = transportError(axiosError('ERR_CANCELED', 'timeout of 5000ms exceeded'), 'GET', SECRET_URL, 5000);
            assert.strictEqual(error.code, 'TIMEOUT');
        });

        it('maps DEPTH_ZERO_SELF_SIGNED_CERT to TLS', function () {
            const error = transportError(socketError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), 'GET', SECRET_URL, 30000);
            assert.strictEqual(error.code, 'TLS');
            assert.match(error.message, /DEPTH_ZERO_SELF_SIGNED_CERT/);
            assert.match(error.message, /TLS configuration node/);
            assertSafe(error);
        });

        it('maps a hostname mismatch and other certificate errors to TLS', function () {
            assert.strictEqual(transportError(socketError('ERR_TLS_CERT_ALTNAME_INVALID', 'Hostname/IP does not match'), 'GET', SECRET_URL, 1).code, 'TLS');
            assert.strictEqual(transportError(axiosError('ERR_BAD', 'x', 'CERT_HAS_EXPIRED'), 'GET', SECRET_URL, 1).code, 'TLS');
            assert.strictEqual(transportError(socketError('ESOMETHING', 'unable to verify the first certificate'), 'GET', SECRET_URL, 1).code, 'TLS');
        });

        it('maps a reply over the size limit to SERVER_ERROR', function () {
            const error = transportError(axiosError('ERR_BAD_RESPONSE', 'maxContentLength size of 10485760 exceeded'), 'GET', SECRET_URL, 1);
            assert.strictEqual(error.code, 'SERVER_ERROR');
            assertSafe(error);
        });

        it('names the configured limit for a reply over it', function () {
            const error = transportError(axiosError('ERR_BAD_RESPONSE', 'maxContentLength size of 1000 exceeded'), 'GET', SECRET_URL, 1, 1000);
            assert.match(error.message, /larger than 1000 bytes \(restSessionServerMaxResponseBytes/);
        });

        it('maps a reply cut short to NETWORK and one that is not HTTP to SERVER_ERROR', function () {
            const cut = transportError(axiosError('ERR_BAD_RESPONSE', 'stream has been aborted'), 'GET', SECRET_URL, 1);
            assert.strictEqual(cut.code, 'NETWORK');
            assert.match(cut.message, /closed before the whole reply arrived/);
            const garbage = transportError(axiosError('HPE_INVALID_CONSTANT', 'Parse Error: Expected HTTP/', 'HPE_INVALID_CONSTANT'), 'GET', SECRET_URL, 1);
            assert.strictEqual(garbage.code, 'SERVER_ERROR');
            assert.match(garbage.message, /not valid HTTP \(HPE_INVALID_CONSTANT\)/);
            assertSafe(cut);
            assertSafe(garbage);
        });

        it('names the proxy when the failure was on the way through it', function () {
            const refused = Object.assign(new Error('The proxy refused the tunnel (HTTP 407)'), { code: 'ERR_PROXY_TUNNEL', proxyStatus: 407, viaProxy: true });
            const tunnel = transportError(axiosError('ERR_PROXY_TUNNEL', refused.message, undefined), 'GET', SECRET_URL, 1);
            assert.strictEqual(tunnel.code, 'NETWORK');
            // 407: the proxy's credentials are wrong, a configuration fault; the server never saw the request.
            const withCause = transportError(Object.assign(new Error('x'), { code: 'ERR_PROXY_TUNNEL', cause: refused }), 'GET', SECRET_URL, 1);
            assert.strictEqual(withCause.code, 'CONFIG');
            assert.match(withCause.message, /The HTTP proxy refused its credentials \(HTTP 407 to GET https:\/\/device\.example/);
            assert.strictEqual(neverReachedServer(withCause), true);
            const forbidden = Object.assign(new Error('x'), { cause: Object.assign(new Error('refused'), { proxyStatus: 403, viaProxy: true }) });
            const other = transportError(forbidden, 'GET', SECRET_URL, 1);
            assert.strictEqual(other.code, 'NETWORK');
            assert.match(other.message, /proxy refused to connect .*\(HTTP 403\)/);
            assert.strictEqual(neverReachedServer(other), true);
            const down = transportError(
                Object.assign(new Error('x'), { cause: Object.assign(socketError('ECONNREFUSED', 'refused'), { viaProxy: true }) }),
                'GET',
                SECRET_URL,
                1,
            );
            assert.match(down.message, /through the proxy \(ECONNREFUSED\)/);
            assertSafe(withCause);
        });

        it('maps a refused client certificate to TLS with a hint about client certificates', function () {
            const error = transportError(socketError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'alert'), 'GET', SECRET_URL, 1);
            assert.strictEqual(error.code, 'TLS');
            assert.match(error.message, /client certificate/);
        });

        it('passes a SessionError through', function () {
            const original = new SessionError('SESSION_REJECTED', 'refused');
            assert.strictEqual(transportError(original, 'GET', SECRET_URL, 1), original);
        });

        it('copes with something that is not an error', function () {
            for (const thrown of [undefined, null, 'boom', 42]) {
                const error = transportError(thrown, 'GET', SECRET_URL, 1);
                assert.strictEqual(error.code, 'NETWORK');
                assert.match(error.message, /UNKNOWN/);
                assertSafe(error);
            }
        });

        it('never copies the low-level message, which may name the URL', function () {
            const error = transportError(socketError('ECONNRESET', `read ECONNRESET ${SECRET_URL}`), 'GET', SECRET_URL, 1);
            assertSafe(error);
        });
    });

    describe('describeTarget', function () {
        it('keeps method, origin and path, and drops query, fragment and user info', function () {
            assert.strictEqual(describeTarget('GET', 'https://admin:pw@device.example:8443/cms/x?token=secret#f'), 'GET https://device.example:8443/cms/x');
        });

        it('gives the method alone for an unreadable URL', function () {
            assert.strictEqual(describeTarget('PUT', 'not a url ?token=secret'), 'PUT');
        });
    });
});

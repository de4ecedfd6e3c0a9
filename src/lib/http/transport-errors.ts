import { SessionError, type StatusReason, textError } from '../errors';
import { Text, text } from '../texts';

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ECONNABORTED', 'ESOCKETTIMEDOUT']);
const TLS_CODES = new Set([
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_GET_ISSUER_CERT',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'CERT_HAS_EXPIRED',
    'CERT_NOT_YET_VALID',
    'CERT_UNTRUSTED',
    'CERT_REJECTED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'EPROTO',
]);

/**
 * Low-level codes that mean the connection never carried a request: refused, no such host, no
 * route. A reset, a timeout or any reply may come after the server read the request.
 */
const UNSENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL']);
/** Certificate checks fail in the handshake, before the request is written. */
const UNSENT_TLS_CODES = new Set([...TLS_CODES].filter((code) => code !== 'EPROTO'));

/** The transport code of a proxy that answered the CONNECT with a refusal: the request never went on. */
const PROXY_REFUSED = 'PROXY_REFUSED';

/**
 * True when the failed exchange is known never to have reached the server (see {@link UNSENT_CODES}):
 * a login may be resent after it, and it costs the account nothing. Read from the error's
 * `transportCode`, so it survives an error rebuilt with a hint.
 */
export function neverReachedServer(error: unknown): boolean {
    if (!(error instanceof SessionError) || error.transportCode === undefined) return false;
    const code = error.transportCode;
    return UNSENT_CODES.has(code) || UNSENT_TLS_CODES.has(code) || code === PROXY_REFUSED;
}

interface ErrorLike {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
}

/** The low-level code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, ...) of an axios or socket error. */
function lowLevelCode(error: ErrorLike): string {
    const cause = error.cause as ErrorLike | undefined;
    const code = typeof cause?.code === 'string' ? cause.code : error.code;
    return typeof code === 'string' ? code : 'UNKNOWN';
}

/** Where the request went, without query string or user info: those may carry secrets. */
export function describeTarget(method: string, url: string): string {
    try {
        const parsed = new URL(url);
        return `${method} ${parsed.origin}${parsed.pathname}`;
    } catch {
        return method;
    }
}

/** Turns a failed exchange into a SessionError whose text is safe to show and log. */
export function transportError(error: unknown, method: string, url: string, timeoutMs: number, maxResponseBytes?: number): SessionError {
    if (error instanceof SessionError) return error;
    const err = (error ?? {}) as ErrorLike;
    const result = describeTransportError(err, method, url, timeoutMs, maxResponseBytes);
    // A proxy that refused the tunnel (it answered the CONNECT) never forwarded the request either.
    result.transportCode ??= viaProxy(err) && proxyStatus(err) !== undefined ? PROXY_REFUSED : lowLevelCode(err);
    return result;
}

function describeTransportError(err: ErrorLike, method: string, url: string, timeoutMs: number, maxResponseBytes?: number): SessionError {
    const code = lowLevelCode(err);
    const message = typeof err.message === 'string' ? err.message : '';
    const target = describeTarget(method, url);
    const { host, port, scheme } = endpointOf(url);
    if (TIMEOUT_CODES.has(code) || /timeout/i.test(message)) {
        return textError('TIMEOUT', text('transport.timeout', { target, ms: timeoutMs }), { reason: { key: 'timeout' } });
    }
    if (plainPeer(code, message)) {
        return textError('TLS', text('transport.plainHttp', { target, code, port }), { reason: { key: 'notTls', port } });
    }
    if (/^ERR_SSL_.*ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|HANDSHAKE_FAILURE)$/.test(code)) {
        return textError('TLS', text('transport.clientCertificate', { target, code }), { reason: { key: 'tls' } });
    }
    if (UNSENT_TLS_CODES.has(code) || /certificate/i.test(message)) {
        return textError('TLS', text('transport.certificate', { target, code }), { reason: { key: 'certificate' } });
    }
    if (code === 'EPROTO' || /^ERR_(TLS|SSL)_/.test(code)) {
        return textError('TLS', text('transport.handshake', { target, code, port }), { reason: { key: 'tls' } });
    }
    if (/maxContentLength/.test(message)) {
        return textError(
            'SERVER_ERROR',
            maxResponseBytes ? text('transport.tooLarge', { target, limit: maxResponseBytes }) : text('transport.tooLargeDefault', { target }),
        );
    }
    if (/stream has been aborted/.test(message)) {
        return textError('NETWORK', text('transport.cutOff', { target }));
    }
    if (code.startsWith('HPE_')) {
        return textError('SERVER_ERROR', text('transport.notHttp', { target, code }));
    }
    if (viaProxy(err)) {
        const status = proxyStatus(err);
        if (status === 407) {
            return textError('CONFIG', text('transport.proxyCredentials', { target }), { statusCode: 407 });
        }
        return textError('NETWORK', status ? text('transport.proxyRefused', { target, status }) : text('transport.proxyUnreachable', { target, code }));
    }
    return textError('NETWORK', networkAdvice(code, target, host, port, scheme), { transportCode: code, reason: networkReason(code, port) });
}

/** The host and port a URL connects to (the scheme's default port when it names none). */
function endpointOf(url: string): { host: string; port: string; scheme: string } {
    try {
        const parsed = new URL(url);
        const scheme = parsed.protocol.replace(/:$/, '');
        return { host: parsed.hostname, port: parsed.port || (scheme === 'https' ? '443' : '80'), scheme };
    } catch {
        return { host: '?', port: '?', scheme: '' };
    }
}

/** A TLS client met a peer that does not speak TLS: OpenSSL reads its plain-text answer as a bad record. */
function plainPeer(code: string, message: string): boolean {
    if (/^ERR_SSL_(WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST)$/.test(code)) return true;
    return code === 'EPROTO' && /wrong version number|packet length too long|http request/i.test(message);
}

/** A failed connection in the user's terms, with the likely fix. */
function networkAdvice(code: string, target: string, host: string, port: string, scheme: string): Text {
    switch (code) {
        case 'ECONNREFUSED':
            return text('transport.refused', { target, port, host, code });
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
        case 'EAI_FAIL':
            return text('transport.unknownHost', { target, host, code });
        case 'ENETUNREACH':
        case 'EHOSTUNREACH':
            return text('transport.noRoute', { target, host, code });
        case 'ECONNRESET':
            return scheme === 'http' ? text('transport.resetTryHttps', { target, port, code }) : text('transport.reset', { target, code });
        default:
            return text('transport.unreachable', { target, code });
    }
}

function networkReason(code: string, port: string): StatusReason | undefined {
    if (code === 'ECONNREFUSED') return { key: 'refused', port };
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL') return { key: 'unknownHost' };
    if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH') return { key: 'unreachable' };
    if (code === 'ECONNRESET') return { key: 'reset', port };
    return undefined;
}

/** Marked by the proxy agents: the failure was on the way to or through the proxy. */
function viaProxy(error: ErrorLike): boolean {
    const cause = error.cause as { viaProxy?: unknown } | undefined;
    return (error as { viaProxy?: unknown }).viaProxy === true || cause?.viaProxy === true;
}

function proxyStatus(error: ErrorLike): number | undefined {
    const cause = error.cause as { proxyStatus?: unknown } | undefined;
    const status = (error as { proxyStatus?: unknown }).proxyStatus ?? cause?.proxyStatus;
    return typeof status === 'number' ? status : undefined;
}

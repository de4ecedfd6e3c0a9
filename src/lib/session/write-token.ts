import type { HttpResponse } from '../http/http-client';
import type { SessionCredential } from '../vendors/adapter';

/** The methods that change something on the server: the only ones a write (CSRF) token goes with. */
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function isWrite(method: string): boolean {
    return WRITE_METHODS.has(method.toUpperCase());
}

/**
 * The header that carries the credential's write token on a request of `method`, if it takes one.
 * Requests go to the server's origin only (the transport and the redirect rules see to that).
 */
export function writeTokenHeader(credential: SessionCredential, method: string): { name: string; value: string } | undefined {
    const token = credential.writeToken;
    return token && isWrite(method) ? { name: token.name, value: token.value } : undefined;
}

/** The reply came from `origin` itself (not from a redirect to elsewhere): only then may it renew a token. */
export function answeredFrom(response: HttpResponse, origin: string): boolean {
    try {
        return new URL(response.url).origin === origin;
    } catch {
        return false;
    }
}

/** Drops the named reply headers (names in any case): they carry a credential that must not reach a msg. */
export function withoutHeaders(headers: HttpResponse['headers'], names: readonly string[] | undefined): void {
    if (!names?.length) return;
    const drop = new Set(names.map((name) => name.toLowerCase()));
    for (const name of Object.keys(headers)) if (drop.has(name.toLowerCase())) delete headers[name];
}

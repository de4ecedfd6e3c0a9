import { createHash } from 'node:crypto';

/**
 * CM-Well's HTTP Digest: an RFC 2069 check (no qop, nc or cnonce) whose HA2 the server always
 * computes over `GET:/_login`, whatever `uri` the client names.
 * @see docs/vendors.md section 2, "Digest details"
 */

export const DIGEST_LOGIN_URI = '/_login';

export interface DigestChallenge {
    realm: string;
    nonce: string;
    opaque?: string;
}

/**
 * CM-Well's parser reads values made of these characters only: anything else (".", "@", "+", ":",
 * space...) in the user name cuts the header short and the login fails.
 */
const DIGEST_SAFE = /^[A-Za-z0-9?=&/_-]+$/;

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

/** The Digest challenge among the `WWW-Authenticate` values; undefined when there is none with a nonce. */
export function parseDigestChallenge(header: string | string[] | undefined): DigestChallenge | undefined {
    for (const value of ([] as string[]).concat(header ?? [])) {
        const start = value.search(/\bDigest\s/i);
        if (start < 0) continue;
        const params = authParams(value.slice(start + 'Digest'.length));
        if (!params.nonce) continue;
        return { realm: params.realm ?? '', nonce: params.nonce, opaque: params.opaque };
    }
    return undefined;
}

/** `key="quoted"` and `key=token` pairs of an auth header, lower-case keys; stops at the next scheme. */
function authParams(text: string): Record<string, string> {
    const params: Record<string, string> = {};
    const pair = /\s*,?\s*([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))/y;
    for (let match = pair.exec(text); match; match = pair.exec(text)) {
        const key = match[1].toLowerCase();
        if (!(key in params)) params[key] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3];
    }
    return params;
}

/** Why this user name cannot log in with CM-Well's Digest, or undefined. */
export function digestUserProblem(username: string): string | undefined {
    if (DIGEST_SAFE.test(username)) return undefined;
    return `CM-Well's Digest login cannot carry the user name "${username}" (only letters, digits and ? = & / _ - are read): use Basic authentication.`;
}

/** The RFC 2069 response CM-Well expects: md5(md5(user:realm:password):nonce:md5(GET:/_login)). */
export function digestResponse(username: string, password: string, realm: string, nonce: string): string {
    const ha1 = md5(`${username}:${realm}:${password}`);
    const ha2 = md5(`GET:${DIGEST_LOGIN_URI}`);
    return md5(`${ha1}:${nonce}:${ha2}`);
}

/**
 * The `Authorization` header answering a challenge. `uri` is always "/_login" without the query:
 * CM-Well ignores it and hashes `GET:/_login`, so a client hashing the real query would fail.
 */
export function digestAuthorization(username: string, password: string, challenge: DigestChallenge): string {
    // CM-Well always announces (and stores HA1 under) the realm "cmwell".
    const realm = challenge.realm || 'cmwell';
    const fields = [
        `username="${username}"`,
        `realm="${realm}"`,
        `nonce="${challenge.nonce}"`,
        `uri="${DIGEST_LOGIN_URI}"`,
        `response="${digestResponse(username, password, realm, challenge.nonce)}"`,
    ];
    if (challenge.opaque !== undefined) fields.push(`opaque="${challenge.opaque}"`);
    return `Digest ${fields.join(', ')}`;
}

/** `Authorization: Basic base64(user:password)` in UTF-8. */
export function basicAuthorization(username: string, password: string): string {
    return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

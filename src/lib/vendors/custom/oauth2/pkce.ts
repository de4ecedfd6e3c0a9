import { createHash, randomBytes } from 'node:crypto';

/** A random URL-safe value with 256 bits of entropy (a PKCE verifier, a state). */
export function randomToken(): string {
    return randomBytes(32).toString('base64url');
}

/** The S256 code challenge of a verifier (RFC 7636 §4.2). */
export function codeChallenge(verifier: string): string {
    return createHash('sha256').update(verifier).digest('base64url');
}

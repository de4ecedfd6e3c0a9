import { CookieJar } from 'tough-cookie';

import type { CredentialHeader, LoginResult, SessionCredential } from '../vendors/adapter';

/** A live credential as the fleet shares it (sealed in the store): its cookies, its header, its lifetime. */
interface SharedCredentialValue {
    cookies: unknown;
    header?: CredentialHeader;
    loggedInAt: number;
    expiresAt: number | null;
    idleTimeoutMs?: number;
}

/** A shared credential with no known expiry is kept this long in the store (a refusal ends it sooner). */
const UNKNOWN_LIFETIME_MS = 24 * 3600_000;

/** The credential of a fresh login as the store keeps it, and how long the store keeps it. */
export function shareCredential(credential: SessionCredential, result: LoginResult, now: number): { value: string; ttlMs: number } {
    const value: SharedCredentialValue = {
        cookies: credential.jar.serializeSync(),
        header: result.header,
        loggedInAt: now,
        expiresAt: result.expiresAt,
        idleTimeoutMs: result.idleTimeoutMs,
    };
    const lifetime = result.expiresAt !== null ? result.expiresAt - now : (result.idleTimeoutMs ?? UNKNOWN_LIFETIME_MS);
    return { value: JSON.stringify(value), ttlMs: Math.max(1000, lifetime) };
}

/** A credential another instance of the fleet logged in with, ready to use; undefined if unreadable. */
export function sharedCredential(value: string): { credential: SessionCredential; result: LoginResult; loggedInAt: number } | undefined {
    try {
        const parsed = JSON.parse(value) as SharedCredentialValue;
        const jar = CookieJar.deserializeSync(parsed.cookies as Parameters<typeof CookieJar.deserializeSync>[0]);
        const result: LoginResult = { header: parsed.header, expiresAt: parsed.expiresAt ?? null, idleTimeoutMs: parsed.idleTimeoutMs, payload: null };
        return { credential: { jar, header: parsed.header }, result, loggedInAt: Number(parsed.loggedInAt) || Date.now() };
    } catch {
        return undefined;
    }
}

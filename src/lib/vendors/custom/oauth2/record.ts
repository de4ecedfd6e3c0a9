import { createHash } from 'node:crypto';

import type { GrantRecord } from '../../adapter';
import type { TokenReply } from './token-endpoint';

/** A one-way name of a pasted refresh token: the store recognises a new paste without keeping the old one in clear. */
export function seedOf(refreshToken: string | undefined): string | undefined {
    return refreshToken ? createHash('sha256').update(`rest-session oauth2 seed\u0000${refreshToken}`).digest('base64url') : undefined;
}

/** A new record from a token reply; a reply without a refresh token keeps the old one (RFC 6749 §6). */
export function recordFrom(reply: TokenReply, seed: string | undefined, previousRefresh?: string): GrantRecord {
    return { seed, refreshToken: reply.refreshToken ?? previousRefresh, accessToken: reply.accessToken, expiresAt: reply.expiresAt, obtainedAt: Date.now() };
}

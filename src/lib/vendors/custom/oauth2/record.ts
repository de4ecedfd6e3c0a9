import { createHash } from 'node:crypto';

import type { GrantRecord } from '../../adapter';
import type { TokenReply } from './token-endpoint';

/** The pasted refresh tokens a record remembers at most (the newest ones). */
const MAX_SEEDS = 32;

/** A one-way name of a pasted refresh token: the store recognises a paste it has seen without keeping it in clear. */
export function seedOf(refreshToken: string | undefined): string | undefined {
    return refreshToken ? createHash('sha256').update(`rest-session oauth2 seed\u0000${refreshToken}`).digest('base64url') : undefined;
}

/** Every paste the grant has seen so far (on any instance that shares its store). */
function seedsOf(record: GrantRecord | undefined): string[] {
    const seeds = [...(record?.seeds ?? [])];
    if (record?.seed && !seeds.includes(record.seed)) seeds.push(record.seed);
    return seeds;
}

/**
 * The chain a pasted refresh token asks for: a paste the store has never seen starts a new chain
 * (it revives a dead grant, it replaces an older chain); a paste it has seen before, on this
 * instance or another, never resets the chain that grew from it since (a deploy or restart of an
 * instance that still holds the old paste must not send a rotated-away token).
 */
export function pastedChain(stored: GrantRecord | undefined, refreshToken: string | undefined): GrantRecord | undefined {
    const seed = seedOf(refreshToken);
    if (!seed || seedsOf(stored).includes(seed)) return undefined;
    return { seed, seeds: remembered(stored, seed), refreshToken, expiresAt: null, obtainedAt: 0 };
}

/** The seeds of `earlier` and `seed`, newest last, at most {@link MAX_SEEDS}. */
function remembered(earlier: GrantRecord | undefined, seed: string | undefined): string[] {
    const seeds = seedsOf(earlier).filter((known) => known !== seed);
    if (seed) seeds.push(seed);
    return seeds.slice(-MAX_SEEDS);
}

/** What a new record keeps of the chain it follows: the paste it grew from and every paste seen. */
export type Lineage = Pick<GrantRecord, 'seed' | 'seeds'>;

/** The lineage of a fresh authorization (a person approved): its own chain, the pastes seen so far stay known. */
export function authorizedLineage(stored: GrantRecord | undefined, pasted: string | undefined): Lineage {
    const seed = seedOf(pasted);
    return { seed, seeds: remembered(stored, seed) };
}

/** A new record from a token reply; a reply without a refresh token keeps the old one (RFC 6749 §6). */
export function recordFrom(reply: TokenReply, lineage: Lineage, previousRefresh?: string): GrantRecord {
    return {
        seed: lineage.seed,
        seeds: lineage.seeds,
        refreshToken: reply.refreshToken ?? previousRefresh,
        accessToken: reply.accessToken,
        expiresAt: reply.expiresAt,
        obtainedAt: Date.now(),
    };
}

import type { ErrorCode } from '../errors';

/**
 * The login guard's memory, behind one port: the embedded file store (`file-store.ts`) today, a
 * shared store (Redis) for a fleet next. Each operation is one decision about one account, taken
 * with the store's own clock and the policy numbers it is given, so a shared store can run each as
 * one atomic server-side script. Nothing it keeps is a secret in clear: accounts, credentials and
 * grants are named by {@link GuardStore.fingerprint} (HMAC-SHA256 under the store's key) and grant
 * values are encrypted (AES-256-GCM).
 */
export interface GuardStore {
    /** Where the state lives, for messages and statuses (a file path, a redacted URL, "memory"). */
    readonly location: string;

    /**
     * A keyed one-way name for `parts` (HMAC-SHA256 under the store's key, hex): the same parts give
     * the same name in every process that shares the store, and nothing can be read back from it.
     */
    fingerprint(parts: readonly string[]): string;

    /**
     * Asks to send one login of `account` with the credential `credential` (both fingerprints).
     * Refused (`held`) while a server block, that credential's cool-down (or an unsettled attempt
     * with it younger than one cool-down: it may have been rejected) or the spent failure budget
     * holds the account; `busy` while another holder's lease on the account runs (shared stores
     * only: try again after `waitMs`; the embedded store serves one process, whose guard already
     * runs one login per account at a time). Otherwise charges one attempt to the budget, takes the
     * account's lease for `policy.leaseMs`, and resolves `granted` only once the charge is durable
     * (on disk: written and flushed; shared: acknowledged). Rejects with `GUARD_UNAVAILABLE` when it
     * cannot record the charge: then nothing may be sent.
     */
    charge(account: string, credential: string, policy: GuardPolicy): Promise<ChargeResult>;

    /**
     * Ends a granted attempt and releases its lease: `success` refunds it and clears the account
     * (budget, cool-downs, block); `notSent` refunds it; `rejected` keeps it and starts (or doubles,
     * up to {@link MAX_BLOCK_MS}) the credential's cool-down; `blocked` keeps it and holds every login
     * of the account for `waitMs` (capped); `unknown` keeps it. Resolves with the wait this outcome
     * caused and what holds the account now. Best effort on a failing store: a charge that stays
     * recorded only errs on the safe side.
     */
    settle(ticket: ChargeTicket, outcome: Outcome): Promise<Settled>;

    /** The encrypted secret stored under `key` (a grant's tokens), decrypted; undefined if none. */
    readGrant(key: string): Promise<string | undefined>;

    /** Stores `value` encrypted under `key` (undefined deletes it); resolves once durable. */
    writeGrant(key: string, value: string | undefined): Promise<void>;

    /** Waits for pending writes and lets go of resources. */
    close(): Promise<void>;
}

/** A shared store's turn on a grant (`leaseGrant`): `granted` (release it when done), or `busy` for `waitMs` more. */
export type GrantLeaseResult = { granted: GrantLease } | { busy: { waitMs: number } };

/** A granted turn on a grant. */
export interface GrantLease {
    release(): Promise<void>;
    /** Stores `value` while this lease still holds, else only over `expected` (plain, as read; undefined: nothing); false when refused. */
    write(expected: string | undefined, value: string): Promise<boolean>;
}

/** The guard's numbers, from settings.js; every decision of the store is taken with them. */
export interface GuardPolicy {
    /** First cool-down of a rejected credential (doubles per further rejection). */
    coolDownMs: number;
    /** Failed-or-unknown attempts allowed per window. */
    maxFailedLogins: number;
    failureWindowMs: number;
    /** How long one login may hold the account's turn (its timeout plus a margin); never extended. */
    leaseMs: number;
}

/** No cool-down and no server block lasts longer than this (a ten-year Retry-After included). */
export const MAX_BLOCK_MS = 24 * 3600_000;

/** Proof of a granted charge; serialisable, so a shared store can put what it needs in `id`. */
export interface ChargeTicket {
    readonly account: string;
    readonly credential: string;
    readonly id: string;
    readonly policy: GuardPolicy;
}

/** Why a login is held back, and for how long from now. */
export interface Hold {
    /** `inDoubt`: an attempt with this credential was never settled (its process died mid-login). */
    reason: 'block' | 'coolDown' | 'inDoubt' | 'budget' | 'unreadable';
    /** The code of what caused it: the server's block, the rejection, the last counted failure. */
    code: ErrorCode;
    statusCode?: number;
    waitMs: number;
    /** For `budget`: the counted attempts in the window. */
    failures?: number;
}

export type ChargeResult = { granted: ChargeTicket } | { held: Hold } | { busy: { waitMs: number } };

export type Outcome =
    | { kind: 'success' }
    | { kind: 'notSent' }
    | { kind: 'rejected'; code: ErrorCode; statusCode?: number }
    | { kind: 'blocked'; code: ErrorCode; statusCode?: number; waitMs: number }
    | { kind: 'unknown'; code: ErrorCode; statusCode?: number };

export interface Settled {
    /** The wait the outcome caused: a cool-down or a block (ms). */
    waitMs?: number;
    /** What holds the account after this outcome, if anything (for statuses). */
    hold?: Hold;
}

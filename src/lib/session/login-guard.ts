import { createHash } from 'node:crypto';

import { formatDuration, secondsUntil } from '../duration';
import { ErrorCode, HeldBack, SessionError, isSessionError, textError } from '../errors';
import { neverReachedServer } from '../http/transport-errors';
import { text } from '../texts';
import { ChargeTicket, GuardPolicy, GuardStore, Hold, MAX_BLOCK_MS, Outcome, Settled } from '../store/guard-store';
import { LedgerStore } from '../store/ledger-store';
import type { VendorContext } from '../vendors/adapter';

/** Rejections that say "these credentials are wrong": never resent unchanged during the cool-down. */
const CREDENTIAL_REJECTIONS: ReadonlySet<ErrorCode> = new Set(['INVALID_CREDENTIALS', 'ACCOUNT_DISABLED', 'PASSWORD_EXPIRED', 'PASSWORD_POLICY']);
/** Server-imposed waits: they hold for every login of that user, whatever the credentials. */
const SERVER_BLOCKS: ReadonlySet<ErrorCode> = new Set(['LOCKED_OUT', 'RATE_LIMITED']);
/** Failures raised before anything went on the wire (a connection-slot wait ended by a close included): refunded. */
const NOT_SENT: ReadonlySet<ErrorCode> = new Set(['CONFIG', 'INVALID_INPUT']);

const DEFAULT_BLOCK_MS: Partial<Record<ErrorCode, number>> = {
    LOCKED_OUT: 5 * 60_000,
    RATE_LIMITED: 2 * 60_000,
};

export { MAX_BLOCK_MS };
export const DEFAULT_COOL_DOWN_MS = 5 * 60_000;
export const DEFAULT_MAX_FAILED_LOGINS = 3;
export const DEFAULT_FAILURE_WINDOW_MS = 30 * 60_000;
/** How long one login may hold its account's turn in a shared store (its exchanges, their retries, a margin). */
export const DEFAULT_LEASE_MS = 2 * 60_000;
/** A login that finds another instance's lease asks again at least this often. */
const BUSY_POLL_MS = 1000;

/** The settings.js knobs (`restSessionServerCoolDown`, `...MaxFailedLogins`, `...FailureWindow`). */
export type LoginGuardPolicy = GuardPolicy;

export const DEFAULT_GUARD_POLICY: Readonly<LoginGuardPolicy> = Object.freeze({
    coolDownMs: DEFAULT_COOL_DOWN_MS,
    maxFailedLogins: DEFAULT_MAX_FAILED_LOGINS,
    failureWindowMs: DEFAULT_FAILURE_WINDOW_MS,
    leaseMs: DEFAULT_LEASE_MS,
});

export interface BlockInfo {
    code: ErrorCode;
    until: number;
}

/**
 * The guard's policy over its store: which outcomes count, what a held login says, one login per
 * account at a time. What it remembers (attempts, cool-downs, blocks) is kept per (origin,
 * username) in a {@link GuardStore}, outside any node instance and, with a file or a shared store,
 * outside the process: so no redeploy, restart, Test login, second config node or `msg.credentials`
 * can turn a flow into a password-guessing loop. Every attempt is charged, durably, before it is sent.
 */
export class LoginGuard {
    private policy: LoginGuardPolicy;
    /** The attempt of each account waiting or on the wire: attempts go one at a time. */
    private readonly turns = new Map<string, Promise<void>>();
    /** The longest known wait of each account, for statuses. */
    private readonly holds = new Map<string, BlockInfo>();

    constructor(
        policy: Partial<LoginGuardPolicy> = {},
        readonly store: GuardStore = new LedgerStore(),
    ) {
        this.policy = { ...DEFAULT_GUARD_POLICY, ...policy };
    }

    /** Takes the settings.js values (the process guard is created before settings are read). */
    configure(policy: Partial<LoginGuardPolicy>): void {
        this.policy = { ...this.policy, ...policy };
    }

    /** Where the guard's memory lives (a file path, "memory"), for statuses and messages. */
    get location(): string {
        return this.store.location;
    }

    /** The in-process name of an account; the store only ever sees its keyed fingerprint. */
    static key(origin: string, username: string): string {
        return `${origin}\u0000${username}`;
    }

    /** A one-way digest of the credential, so a change can be noticed without keeping a copy in memory. */
    static fingerprint(parts: ReadonlyArray<string | undefined>): string {
        const hash = createHash('sha256');
        for (const part of parts) hash.update(`${part ?? ''}\u0000`);
        return hash.digest('hex');
    }

    /**
     * Runs one login attempt when the guard allows it, after any attempt of the same account still on
     * the wire: charges it (durably) first, then sends, then settles it by its outcome. Throws the
     * guard's error, without calling `send`, while the login must not be sent (`GUARD_UNAVAILABLE`
     * when it cannot be recorded); otherwise what `send` returns or throws.
     */
    async attempt<T>(key: string, fingerprint: string, user: string, send: () => Promise<T>): Promise<T> {
        const previous = this.turns.get(key) ?? Promise.resolve();
        let release!: () => void;
        const turn = new Promise<void>((resolve) => {
            release = resolve;
        });
        this.turns.set(key, turn);
        try {
            await previous;
            const ticket = await this.charge(key, fingerprint, user);
            let result: T;
            try {
                result = await send();
            } catch (error) {
                await this.settleFailure(key, ticket, error);
                throw error;
            }
            await this.settle(key, ticket, { kind: 'success' });
            return result;
        } finally {
            release();
            if (this.turns.get(key) === turn) this.turns.delete(key);
        }
    }

    /** The longest wait known to be in force for this account, if any (for statuses). */
    blockOf(key: string, now: number = Date.now()): BlockInfo | undefined {
        const hold = this.holds.get(key);
        if (hold && hold.until > now) return hold;
        this.holds.delete(key);
        return undefined;
    }

    /** A granted, durably recorded charge; throws the hold (or `GUARD_UNAVAILABLE`) instead. */
    private async charge(key: string, fingerprint: string, user: string): Promise<ChargeTicket> {
        const account = this.store.fingerprint(['account', key]);
        const credential = this.store.fingerprint(['credential', fingerprint]);
        for (;;) {
            const result = await this.store.charge(account, credential, this.policy).catch((error: unknown) => {
                // A guard that cannot record the attempt let nothing go out (Test login says "not sent").
                if (isSessionError(error) && error.code === 'GUARD_UNAVAILABLE') error.notSent = true;
                throw error;
            });
            if ('granted' in result) return result.granted;
            if ('held' in result) {
                this.remember(key, result.held);
                throw heldBack(this.heldError(result.held, user));
            }
            // Another instance's login of this account is on the wire: its outcome decides ours.
            await new Promise((resolve) => setTimeout(resolve, Math.min(BUSY_POLL_MS, Math.max(1, result.busy.waitMs))));
        }
    }

    /** Settles a failed attempt by what it tells; sets `error.retryAfter` to the wait it caused. */
    private async settleFailure(key: string, ticket: ChargeTicket, error: unknown): Promise<void> {
        const outcome = outcomeOf(error);
        const { waitMs, hold } = await this.settle(key, ticket, outcome);
        if (hold && isSessionError(error)) error.heldBack = heldBackOf(hold);
        if (waitMs === undefined || !isSessionError(error)) return;
        error.retryAfter = outcome.kind === 'blocked' ? Math.max(1, Math.ceil(waitMs / 1000)) : Math.ceil(waitMs / 1000);
    }

    private async settle(key: string, ticket: ChargeTicket, outcome: Outcome): Promise<Settled> {
        const settled = await this.store.settle(ticket, outcome).catch((): Settled => ({}));
        if (settled.hold) this.remember(key, settled.hold);
        else this.holds.delete(key);
        return settled;
    }

    private remember(key: string, hold: Hold): void {
        this.holds.set(key, { code: hold.code, until: Date.now() + hold.waitMs });
    }

    private heldError(hold: Hold, user: string): SessionError {
        const wait = formatDuration(hold.waitMs);
        const details = { retryAfter: secondsUntil(Date.now() + hold.waitMs), statusCode: hold.statusCode, heldBack: heldBackOf(hold), notSent: true };
        const params = { user, code: hold.code, wait };
        switch (hold.reason) {
            case 'block':
            case 'coolDown':
            case 'inDoubt':
                return textError(hold.code, text(`guard.${hold.reason}`, params), details);
            case 'budget':
                return textError(
                    hold.code,
                    text('guard.budget', {
                        ...params,
                        failures: hold.failures ?? this.policy.maxFailedLogins,
                        window: formatDuration(this.policy.failureWindowMs),
                    }),
                    details,
                );
            case 'unreadable':
                return textError(hold.code, text('guard.unreadable', { ...params, file: this.location }), details);
        }
    }
}

/** Whom a hold keeps out: only these credentials (another password is sent), or every login of the user. */
const HOLD_SCOPES: Readonly<Record<Hold['reason'], HeldBack['scope']>> = {
    block: 'user',
    coolDown: 'credentials',
    inDoubt: 'credentials',
    budget: 'user',
    unreadable: 'user',
};

function heldBackOf(hold: Hold): HeldBack {
    return { scope: HOLD_SCOPES[hold.reason], until: Date.now() + hold.waitMs };
}

/** Errors a guard raised instead of sending a login (see {@link heldBack}). */
const HELD_BACK = new WeakSet<Error>();

/**
 * Marks `error` as raised before the login could be sent (a hold, an unreachable store, a session
 * another instance already holds): a guard around this one refunds its charge instead of counting it.
 */
export function heldBack<E extends Error>(error: E): E {
    HELD_BACK.add(error);
    return error;
}

/** What a failed attempt tells the guard: never sent, rejected, blocked by the server, or unknown. */
function outcomeOf(error: unknown): Outcome {
    if (error instanceof Error && HELD_BACK.has(error)) return { kind: 'notSent' };
    if (!isSessionError(error)) return { kind: 'unknown', code: 'SERVER_ERROR' };
    // A CONFIG with a socket code is a login cut off on the wire by a close: its outcome is unknown.
    if ((NOT_SENT.has(error.code) && error.transportCode === undefined) || neverReachedServer(error)) return { kind: 'notSent' };
    // A grant a person must renew (OAuth2 invalid_grant) says nothing about the client's secret: not counted.
    if (error.code === 'AUTHORIZATION_REQUIRED') return { kind: 'notSent' };
    const { code, statusCode } = error;
    if (CREDENTIAL_REJECTIONS.has(code)) return { kind: 'rejected', code, statusCode };
    if (SERVER_BLOCKS.has(code)) {
        const waitMs = error.retryAfter !== undefined ? error.retryAfter * 1000 : (DEFAULT_BLOCK_MS[code] ?? 0);
        return { kind: 'blocked', code, statusCode, waitMs };
    }
    return { kind: 'unknown', code, statusCode };
}

/** "30 min", "2 h", "45 s": the window as the hold message says it. */

/**
 * The context a login's adapter gets: its exchanges carry credentials, so they are resent only when
 * they never reached the server, unless the adapter says otherwise (a Digest challenge carries none).
 * `beforeWrite` runs before every write of every exchange (resends too): while nothing of the login
 * may have reached the server, its refusal is a login never sent.
 */
export function loginContext(context: VendorContext, beforeWrite?: () => Promise<void>): VendorContext {
    let reached = false;
    const gate =
        beforeWrite &&
        (async (): Promise<void> => {
            try {
                await beforeWrite();
            } catch (error) {
                throw !reached && error instanceof Error ? heldBack(error) : error;
            }
        });
    return {
        settings: context.settings,
        send: async (exchange, credential) => {
            try {
                const response = await context.send({ ...exchange, retry: exchange.retry ?? 'unsent', beforeWrite: gate }, credential);
                reached = true;
                return response;
            } catch (error) {
                // Anything but a fault before the connection carried it may have reached the server (the login ends on it anyway).
                if (!neverReachedServer(error)) reached = true;
                throw error;
            }
        },
        grant: context.grant,
    };
}

const guards = new WeakMap<GuardStore, LoginGuard>();

/** The one guard over `store` (its process-wide embedded store): module state survives redeploys. */
export function guardOver(store: GuardStore): LoginGuard {
    let guard = guards.get(store);
    if (!guard) {
        guard = new LoginGuard({}, store);
        guards.set(store, guard);
    }
    return guard;
}

import { createHash } from 'node:crypto';

import { formatDuration, secondsUntil } from '../duration';
import { ErrorCode, SessionError, isSessionError } from '../errors';
import { neverReachedServer } from '../http/transport-errors';
import type { VendorContext } from '../vendors/adapter';

/** Rejections that say "these credentials are wrong": never resent unchanged during the cool-down. */
const CREDENTIAL_REJECTIONS: ReadonlySet<ErrorCode> = new Set(['INVALID_CREDENTIALS', 'ACCOUNT_DISABLED', 'PASSWORD_EXPIRED', 'PASSWORD_POLICY']);
/** Server-imposed waits: they hold for every login of that user, whatever the credentials. */
const SERVER_BLOCKS: ReadonlySet<ErrorCode> = new Set(['LOCKED_OUT', 'RATE_LIMITED']);
/** Failures raised before anything went on the wire: they cost the account nothing. */
const NOT_SENT: ReadonlySet<ErrorCode> = new Set(['CONFIG', 'INVALID_INPUT']);

const DEFAULT_BLOCK_MS: Partial<Record<ErrorCode, number>> = {
    LOCKED_OUT: 5 * 60_000,
    RATE_LIMITED: 2 * 60_000,
};

/** No cool-down and no server block lasts longer than this (a ten-year Retry-After included). */
export const MAX_BLOCK_MS = 24 * 3600_000;
export const DEFAULT_COOL_DOWN_MS = 5 * 60_000;
export const DEFAULT_MAX_FAILED_LOGINS = 3;
export const DEFAULT_FAILURE_WINDOW_MS = 30 * 60_000;

/** The settings.js knobs (`restSessionServerCoolDown`, `...MaxFailedLogins`, `...FailureWindow`). */
export interface LoginGuardPolicy {
    coolDownMs: number;
    maxFailedLogins: number;
    failureWindowMs: number;
}

export const DEFAULT_GUARD_POLICY: Readonly<LoginGuardPolicy> = Object.freeze({
    coolDownMs: DEFAULT_COOL_DOWN_MS,
    maxFailedLogins: DEFAULT_MAX_FAILED_LOGINS,
    failureWindowMs: DEFAULT_FAILURE_WINDOW_MS,
});

/** One rejected credential: its cool-down, and how often it was rejected (the cool-down doubles). */
interface CoolDown {
    code: ErrorCode;
    statusCode?: number;
    until: number;
    rejections: number;
}

interface Failure {
    at: number;
    code: ErrorCode;
    statusCode?: number;
}

/** What the guard remembers of one (origin, username). */
interface Account {
    coolDowns: Map<string, CoolDown>;
    /** Counted attempts (rejected or outcome unknown), oldest first. */
    failures: Failure[];
    serverBlock?: { code: ErrorCode; until: number; statusCode?: number };
    /** The login attempt on the wire for this account: attempts go one at a time. */
    turn: Promise<void>;
}

export interface BlockInfo {
    code: ErrorCode;
    until: number;
}

/**
 * Remembers rejected, unknown and blocked logins per (origin, username), outside any node instance,
 * so no redeploy, Test login, second config node or `msg.credentials` can turn a flow into a
 * password-guessing loop. Logins of one account go one at a time, so every attempt is decided
 * knowing the outcome of the one before.
 */
export class LoginGuard {
    private readonly accounts = new Map<string, Account>();
    private policy: LoginGuardPolicy;

    constructor(policy: Partial<LoginGuardPolicy> = {}) {
        this.policy = { ...DEFAULT_GUARD_POLICY, ...policy };
    }

    /** Takes the settings.js values (the process guard is created before settings are read). */
    configure(policy: Partial<LoginGuardPolicy>): void {
        this.policy = { ...this.policy, ...policy };
    }

    static key(origin: string, username: string): string {
        return `${origin}\u0000${username}`;
    }

    /** A one-way digest of the credential, so a change can be noticed without keeping a copy. */
    static fingerprint(parts: ReadonlyArray<string | undefined>): string {
        const hash = createHash('sha256');
        for (const part of parts) hash.update(`${part ?? ''}\u0000`);
        return hash.digest('hex');
    }

    /**
     * Runs one login attempt when the guard allows it, after any attempt of the same account still on
     * the wire, and records its outcome. Throws the guard's error, without calling `send`, while the
     * login must not be sent; otherwise what `send` returns or throws.
     */
    async attempt<T>(key: string, fingerprint: string, user: string, send: () => Promise<T>): Promise<T> {
        const account = this.account(key);
        const previous = account.turn;
        let release!: () => void;
        const turn = new Promise<void>((resolve) => {
            release = resolve;
        });
        account.turn = turn;
        try {
            await previous;
            this.check(key, fingerprint, user);
            let result: T;
            try {
                result = await send();
            } catch (error) {
                if (isSessionError(error)) this.recordFailure(key, error, fingerprint);
                throw error;
            }
            this.recordSuccess(key);
            return result;
        } finally {
            release();
            this.forgetIfClear(key, account, turn);
        }
    }

    /** Throws the remembered error, without any request, while a login must not be sent. */
    check(key: string, fingerprint: string, user: string, now: number = Date.now()): void {
        const account = this.accounts.get(key);
        if (!account) return;
        this.prune(account, now);
        const block = account.serverBlock;
        if (block) {
            throw new SessionError(
                block.code,
                `Login not sent: the server blocked logins as "${user}" (${block.code}) for ${formatDuration(block.until - now)} more.`,
                {
                    retryAfter: secondsUntil(block.until, now),
                    statusCode: block.statusCode,
                },
            );
        }
        const coolDown = account.coolDowns.get(fingerprint);
        if (coolDown && coolDown.until > now) {
            throw new SessionError(
                coolDown.code,
                `Login not sent: the last login as "${user}" was rejected (${coolDown.code}); not retrying the same credentials for ${formatDuration(coolDown.until - now)}.`,
                { retryAfter: secondsUntil(coolDown.until, now), statusCode: coolDown.statusCode },
            );
        }
        const { maxFailedLogins, failureWindowMs } = this.policy;
        if (account.failures.length >= maxFailedLogins) {
            const last = account.failures[account.failures.length - 1];
            // Held until enough of the counted attempts have left the window for one more.
            const until = account.failures[account.failures.length - maxFailedLogins].at + failureWindowMs;
            throw new SessionError(
                last.code,
                `Login not sent: ${account.failures.length} failed logins as "${user}" within ${windowText(failureWindowMs)}: held back to avoid a lockout (next try in ${formatDuration(until - now)}).`,
                { retryAfter: secondsUntil(until, now), statusCode: last.statusCode },
            );
        }
    }

    /**
     * Records a failed login and sets `error.retryAfter` to the wait it causes. Every attempt that
     * may have reached the server counts in the budget; a rejection also cools its credential down,
     * a server block holds every login of the user.
     */
    recordFailure(key: string, error: SessionError, fingerprint: string, now: number = Date.now()): void {
        // A CONFIG with a socket code is a login cut off on the wire by a close: its outcome is unknown.
        if ((NOT_SENT.has(error.code) && error.transportCode === undefined) || neverReachedServer(error)) return;
        const account = this.account(key);
        this.prune(account, now);
        account.failures.push({ at: now, code: error.code, statusCode: error.statusCode });
        if (CREDENTIAL_REJECTIONS.has(error.code)) {
            const rejections = (account.coolDowns.get(fingerprint)?.rejections ?? 0) + 1;
            const waitMs = Math.min(MAX_BLOCK_MS, this.policy.coolDownMs * 2 ** (rejections - 1));
            account.coolDowns.set(fingerprint, { code: error.code, statusCode: error.statusCode, until: now + waitMs, rejections });
            error.retryAfter = Math.ceil(waitMs / 1000);
        } else if (SERVER_BLOCKS.has(error.code)) {
            const given = error.retryAfter !== undefined ? error.retryAfter * 1000 : (DEFAULT_BLOCK_MS[error.code] ?? 0);
            const waitMs = Math.min(MAX_BLOCK_MS, given);
            account.serverBlock = { code: error.code, until: now + waitMs, statusCode: error.statusCode };
            error.retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
        }
    }

    /** A successful login clears the account's cool-downs and budget. */
    recordSuccess(key: string): void {
        const account = this.accounts.get(key);
        if (!account) return;
        account.coolDowns.clear();
        account.failures = [];
        account.serverBlock = undefined;
    }

    /** The longest wait in force for this account, if any (for statuses). */
    blockOf(key: string, now: number = Date.now()): BlockInfo | undefined {
        const account = this.accounts.get(key);
        if (!account) return undefined;
        this.prune(account, now);
        let found: BlockInfo | undefined;
        const consider = (code: ErrorCode, until: number): void => {
            if (until > now && (!found || until > found.until)) found = { code, until };
        };
        if (account.serverBlock) consider(account.serverBlock.code, account.serverBlock.until);
        for (const coolDown of account.coolDowns.values()) consider(coolDown.code, coolDown.until);
        const { maxFailedLogins, failureWindowMs } = this.policy;
        if (account.failures.length >= maxFailedLogins) {
            const last = account.failures[account.failures.length - 1];
            consider(last.code, account.failures[account.failures.length - maxFailedLogins].at + failureWindowMs);
        }
        return found;
    }

    private account(key: string): Account {
        let account = this.accounts.get(key);
        if (!account) {
            account = { coolDowns: new Map(), failures: [], turn: Promise.resolve() };
            this.accounts.set(key, account);
        }
        return account;
    }

    /** An account with nothing to remember and no attempt waiting is dropped: state stays bounded. */
    private forgetIfClear(key: string, account: Account, turn: Promise<void>): void {
        if (account.turn !== turn) return;
        this.prune(account, Date.now());
        if (!account.failures.length && !account.coolDowns.size && !account.serverBlock) this.accounts.delete(key);
    }

    /** Forgets what no longer holds: attempts out of the window, an ended block, old cool-downs. */
    private prune(account: Account, now: number): void {
        const windowStart = now - this.policy.failureWindowMs;
        while (account.failures.length && account.failures[0].at <= windowStart) account.failures.shift();
        if (account.serverBlock && account.serverBlock.until <= now) account.serverBlock = undefined;
        // An ended cool-down is kept a while: a further rejection of the same credential doubles it.
        for (const [fingerprint, coolDown] of account.coolDowns) {
            if (coolDown.until + MAX_BLOCK_MS <= now) account.coolDowns.delete(fingerprint);
        }
    }
}

/** "30 min", "2 h", "45 s": the window as the hold message says it. */
function windowText(ms: number): string {
    if (ms % 3600_000 === 0) return `${ms / 3600_000} h`;
    if (ms % 60_000 === 0) return `${ms / 60_000} min`;
    return `${Math.ceil(ms / 1000)} s`;
}

/**
 * The context a login's adapter gets: its exchanges carry credentials, so they are resent only when
 * they never reached the server, unless the adapter says otherwise (a Digest challenge carries none).
 */
export function loginContext(context: VendorContext): VendorContext {
    return {
        settings: context.settings,
        send: (exchange, credential) => context.send({ ...exchange, retry: exchange.retry ?? 'unsent' }, credential),
    };
}

/** The one guard of this Node-RED process: module state survives redeploys. */
export const loginGuard = new LoginGuard();

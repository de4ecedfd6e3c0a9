import { randomUUID } from 'node:crypto';

import type { ErrorCode } from '../errors';
import { ChargeResult, ChargeTicket, GuardPolicy, Hold, MAX_BLOCK_MS, Outcome, Settled } from './guard-store';

/** One charged attempt: `code` is set once settled as kept; an unsettled one was in doubt at a crash. */
export interface ChargeRecord {
    id: string;
    at: number;
    /** The credential's fingerprint: an attempt never settled may have been rejected, so it cools down too. */
    credential: string;
    code?: ErrorCode;
    statusCode?: number;
}

export interface CoolDownRecord {
    code: ErrorCode;
    statusCode?: number;
    until: number;
    rejections: number;
}

export interface BlockRecord {
    code: ErrorCode;
    statusCode?: number;
    until: number;
}

/** What a store keeps per account (by fingerprint); plain JSON. */
export interface AccountRecord {
    charges: ChargeRecord[];
    coolDowns: Record<string, CoolDownRecord>;
    block?: BlockRecord;
}

/** The guard's whole state as the embedded store writes it. */
export interface LedgerState {
    accounts: Record<string, AccountRecord>;
    /** When the state before was lost (an unreadable file): for one window every budget counts as spent (fail closed). */
    unreadableSince?: number;
    /** Encrypted grant values by fingerprint. */
    grants: Record<string, string>;
}

/** What a charge that was never settled (the process died in between) reports: its outcome is unknown. */
const IN_DOUBT_CODE: ErrorCode = 'TIMEOUT';

export function emptyLedger(): LedgerState {
    return { accounts: {}, grants: {} };
}

/**
 * The guard's decisions over a {@link LedgerState}, in process: the rules every store implements
 * (a shared store runs the same rules in its server-side scripts). Mutates `state`; the caller makes
 * the change durable.
 */
export function chargeAccount(state: LedgerState, account: string, credential: string, policy: GuardPolicy, now: number): ChargeResult {
    const record = prunedAccount(state, account, policy, now);
    const hold = holdOf(state, record, credential, policy, now);
    if (hold) return { held: hold };
    const id = randomUUID();
    (state.accounts[account] ??= record).charges.push({ id, at: now, credential });
    return { granted: { account, credential, id, policy } };
}

export function settleCharge(state: LedgerState, ticket: ChargeTicket, outcome: Outcome, now: number): Settled {
    const { account, credential, policy } = ticket;
    const record = prunedAccount(state, account, policy, now);
    const charge = record.charges.find((entry) => entry.id === ticket.id);
    let waitMs: number | undefined;
    switch (outcome.kind) {
        case 'success':
            record.charges = [];
            record.coolDowns = {};
            record.block = undefined;
            break;
        case 'notSent':
            record.charges = record.charges.filter((entry) => entry !== charge);
            break;
        case 'rejected': {
            const rejections = (record.coolDowns[credential]?.rejections ?? 0) + 1;
            waitMs = Math.min(MAX_BLOCK_MS, policy.coolDownMs * 2 ** (rejections - 1));
            record.coolDowns[credential] = { code: outcome.code, statusCode: outcome.statusCode, until: now + waitMs, rejections };
            break;
        }
        case 'blocked':
            waitMs = Math.min(MAX_BLOCK_MS, Math.max(0, outcome.waitMs));
            record.block = { code: outcome.code, statusCode: outcome.statusCode, until: now + waitMs };
            break;
        case 'unknown':
            break;
    }
    if (charge && outcome.kind !== 'success' && outcome.kind !== 'notSent') {
        charge.code = outcome.code;
        charge.statusCode = outcome.statusCode;
    }
    store(state, account, record);
    return { waitMs, hold: longestHold(state, record, policy, now) };
}

/**
 * Accounts the state keeps at most while some of them hold nothing in force. Beyond it, the accounts
 * whose holds have all ended (what they still keep is an ended cool-down, remembered so that a
 * further rejection doubles it) are forgotten, the longest ended first. An account with anything in
 * force (a charge in the window, a cool-down or a block) is never forgotten: the guard is not
 * weakened to keep the file small.
 */
export const MAX_ACCOUNTS = 1000;

/**
 * Sets aside what can no longer matter, so the state stays small (see {@link MAX_ACCOUNTS}); answers
 * how many accounts beyond `maxAccounts` are kept because each has a hold in force.
 */
export function pruneLedger(state: LedgerState, policy: GuardPolicy, now: number, maxAccounts = MAX_ACCOUNTS): number {
    for (const account of Object.keys(state.accounts)) store(state, account, prunedAccount(state, account, policy, now));
    if (state.unreadableSince !== undefined && state.unreadableSince + policy.failureWindowMs <= now) delete state.unreadableSince;
    const accounts = Object.keys(state.accounts);
    const over = accounts.length - maxAccounts;
    if (over <= 0) return 0;
    const ended = accounts
        .map((account) => ({ account, endedAt: endedAt(state.accounts[account], now) }))
        .filter((entry): entry is { account: string; endedAt: number } => entry.endedAt !== undefined)
        .sort((a, b) => a.endedAt - b.endedAt);
    for (const { account } of ended.slice(0, over)) delete state.accounts[account];
    return Math.max(0, over - ended.length);
}

/** When the last hold of a pruned account ended; undefined while anything of it is in force. */
function endedAt(record: AccountRecord, now: number): number | undefined {
    if (record.block || record.charges.length) return undefined;
    let last = -Infinity;
    for (const coolDown of Object.values(record.coolDowns)) {
        if (coolDown.until > now) return undefined;
        last = Math.max(last, coolDown.until);
    }
    return last;
}

/** What holds a login with `credential` now: a block, its cool-down, or the spent budget. */
function holdOf(state: LedgerState, record: AccountRecord, credential: string, policy: GuardPolicy, now: number): Hold | undefined {
    const { block } = record;
    if (block) return { reason: 'block', code: block.code, statusCode: block.statusCode, waitMs: block.until - now };
    const coolDown = record.coolDowns[credential];
    if (coolDown && coolDown.until > now) return { reason: 'coolDown', code: coolDown.code, statusCode: coolDown.statusCode, waitMs: coolDown.until - now };
    // An attempt nobody settled (its process died, or its holder's lease ran out) may have been
    // rejected: its credential waits out a cool-down as if it had been.
    const inDoubt = record.charges.filter((entry) => !entry.code && entry.credential === credential && entry.at + policy.coolDownMs > now);
    if (inDoubt.length) return { reason: 'inDoubt', code: IN_DOUBT_CODE, waitMs: inDoubt[inDoubt.length - 1].at + policy.coolDownMs - now };
    return budgetHold(state, record, policy, now);
}

function budgetHold(state: LedgerState, record: AccountRecord, policy: GuardPolicy, now: number): Hold | undefined {
    const unreadableUntil = (state.unreadableSince ?? -Infinity) + policy.failureWindowMs;
    if (unreadableUntil > now) return { reason: 'unreadable', code: 'GUARD_UNAVAILABLE', waitMs: unreadableUntil - now };
    const { charges } = record;
    if (charges.length < policy.maxFailedLogins) return undefined;
    // Held until enough of the counted attempts have left the window for one more.
    const until = charges[charges.length - policy.maxFailedLogins].at + policy.failureWindowMs;
    const last = [...charges].reverse().find((entry) => entry.code);
    return { reason: 'budget', code: last?.code ?? IN_DOUBT_CODE, statusCode: last?.statusCode, waitMs: until - now, failures: charges.length };
}

/** The longest wait in force for the account, whatever the credential (for statuses). */
function longestHold(state: LedgerState, record: AccountRecord, policy: GuardPolicy, now: number): Hold | undefined {
    const holds: Hold[] = [];
    if (record.block) holds.push({ reason: 'block', code: record.block.code, statusCode: record.block.statusCode, waitMs: record.block.until - now });
    for (const coolDown of Object.values(record.coolDowns)) {
        if (coolDown.until > now) holds.push({ reason: 'coolDown', code: coolDown.code, statusCode: coolDown.statusCode, waitMs: coolDown.until - now });
    }
    const budget = budgetHold(state, record, policy, now);
    if (budget) holds.push(budget);
    return holds.reduce<Hold | undefined>((longest, hold) => (!longest || hold.waitMs > longest.waitMs ? hold : longest), undefined);
}

/** The account's record with what no longer holds dropped (a fresh one if it has none). */
function prunedAccount(state: LedgerState, account: string, policy: GuardPolicy, now: number): AccountRecord {
    const record = state.accounts[account] ?? { charges: [], coolDowns: {} };
    clampToClock(state, record, policy, now);
    const windowStart = now - policy.failureWindowMs;
    record.charges = record.charges.filter((entry) => entry.at > windowStart);
    if (record.block && record.block.until <= now) record.block = undefined;
    // An ended cool-down is kept a while: a further rejection of the same credential doubles it.
    for (const [credential, coolDown] of Object.entries(record.coolDowns)) {
        if (coolDown.until + MAX_BLOCK_MS <= now) delete record.coolDowns[credential];
    }
    return record;
}

/**
 * A clock set back (a device without a real-time clock starts before NTP corrects it) would put
 * recorded times in the future and hold an account for as long as the clock is off: years. What
 * lies ahead of `now` is taken as happening now, so every wait lasts at most its own length.
 */
function clampToClock(state: LedgerState, record: AccountRecord, policy: GuardPolicy, now: number): void {
    if (state.unreadableSince !== undefined && state.unreadableSince > now) state.unreadableSince = now;
    for (const charge of record.charges) charge.at = Math.min(charge.at, now);
    if (record.block) record.block.until = Math.min(record.block.until, now + MAX_BLOCK_MS);
    for (const coolDown of Object.values(record.coolDowns)) {
        coolDown.until = Math.min(coolDown.until, now + Math.min(MAX_BLOCK_MS, policy.coolDownMs * 2 ** (coolDown.rejections - 1)));
    }
}

/** Keeps the record, or drops the account when it has nothing left to remember. */
function store(state: LedgerState, account: string, record: AccountRecord): void {
    if (record.charges.length || Object.keys(record.coolDowns).length || record.block) state.accounts[account] = record;
    else delete state.accounts[account];
}

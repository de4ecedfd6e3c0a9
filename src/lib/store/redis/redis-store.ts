import { randomUUID } from 'node:crypto';

import { SessionError } from '../../errors';
import type { ErrorCode } from '../../errors';
import type { ChargeResult, ChargeTicket, GrantLeaseResult, GuardPolicy, GuardStore, Hold, Outcome, Settled } from '../guard-store';
import { MAX_BLOCK_MS } from '../guard-store';
import { FleetKeys } from './fleet-keys';
import { CHARGE_AND_LEASE, FENCED_WRITE, HEARTBEAT, INVALIDATE_IF_SAME, LEASE_LEFT, LEAVE, PUBLISH_SESSION, RELEASE, REPLACE_IF_SAME, SETTLE } from './scripts';
import type { RedisConnection } from './redis-connection';

/** A shared session as the store hands it out: the fence of the login that made it, and its value. */
export interface SharedSessionRecord {
    fence: number;
    /** The credential as its issuer serialised it (decrypted). */
    value: string;
}

/**
 * Which shared session: one per account and credential (its keyed fingerprint), so an instance
 * configured with another password for the same user never uses the fleet's session: it logs in
 * itself, through the guard, and sees that password's own answer.
 */
export interface SharedSessionKey {
    account: string;
    credential: string;
}

/** A charge that may instead find a newer shared session to use (`share: session`). */
export type ChargeOrAdopt = ChargeResult | { session: SharedSessionRecord };

/** What the last instance to leave must do: log the session out (holding the lease), or nothing. */
export type LeaveVerdict = { logout: true; release(): Promise<void> } | { logout: false };

/**
 * The guard's store in Redis or Valkey, shared by every Node-RED instance that names it: the budget,
 * the cool-downs, the server blocks and one login at a time per account (a lease that is never
 * extended), and with `share: session` the live credential. Every decision is one atomic script
 * (scripts.ts) timed by the Redis server's clock; all keys of an account share one hash tag; key
 * names are keyed fingerprints and values are sealed (AES-256-GCM), both under keys derived from the
 * fleet's `sharedKey`. Any failure to reach Redis is `GUARD_UNAVAILABLE`: nothing is sent then.
 */
export class RedisStore implements GuardStore {
    /** This process among the fleet (lease holder, heartbeat member). */
    readonly instanceId = randomUUID();
    /** Charges whose reply was lost (Redis timed out or went away): maybe recorded, surely not sent; refunded once Redis answers. */
    private readonly lostCharges: ChargeTicket[] = [];
    private refundTimer: NodeJS.Timeout | undefined;
    private closed = false;

    constructor(
        private readonly connection: RedisConnection,
        private readonly keys: FleetKeys,
        private readonly keyPrefix: string,
    ) {}

    get location(): string {
        return this.connection.location;
    }

    /** Connects and checks the server (eviction policy) now: `CONFIG` or `GUARD_UNAVAILABLE` when it cannot serve. */
    async check(): Promise<void> {
        await this.connection.check();
    }

    fingerprint(parts: readonly string[]): string {
        return this.keys.fingerprint(parts);
    }

    charge(account: string, credential: string, policy: GuardPolicy): Promise<ChargeResult> {
        return this.chargeOrAdopt(account, credential, policy) as Promise<ChargeResult>;
    }

    /**
     * Charge-and-lease; with `knownFence` (share: session) a stored session newer than the one this
     * instance holds is handed out instead, and nothing is charged.
     */
    async chargeOrAdopt(account: string, credential: string, policy: GuardPolicy, knownFence?: number): Promise<ChargeOrAdopt> {
        await this.refundLostCharges();
        const attemptId = randomUUID();
        const k = this.accountKeys(account);
        const sessionKey = this.sessionKeys({ account, credential }).session;
        const reply = await this.connection
            .run(
                CHARGE_AND_LEASE,
                [k.lease, k.fence, k.fail, k.failInfo, k.coolDowns, k.block, sessionKey],
                [
                    this.leaseValue(attemptId),
                    attemptId,
                    String(Math.max(1, Math.round(policy.leaseMs))),
                    String(policy.failureWindowMs),
                    String(policy.maxFailedLogins),
                    String(knownFence ?? 0),
                    knownFence === undefined ? '0' : '1',
                    this.keys.name(credential),
                    String(policy.coolDownMs),
                ],
            )
            .catch((error: unknown) => {
                // No login follows a lost reply, so the charge (if Redis made it) is refunded later.
                if (this.lostCharges.length < MAX_LOST_CHARGES) this.lostCharges.push({ account, credential, policy, id: `0.${attemptId}` });
                this.scheduleRefunds();
                throw error;
            });
        const [verdict, ...rest] = reply;
        switch (verdict) {
            case 'granted':
                return { granted: { account, credential, policy, id: `${rest[0]}.${attemptId}` } };
            case 'busy':
                return { busy: { waitMs: Number(rest[0]) } };
            case 'session': {
                const value = this.keys.open(sessionKey, rest[1]);
                // A value this fleet's key cannot open is no session: log in (the lease decides who).
                if (value === undefined) return this.chargeOrAdopt(account, credential, policy);
                return { session: { fence: Number(rest[0]), value } };
            }
            default:
                return { held: hold(verdict, rest) };
        }
    }

    async settle(ticket: ChargeTicket, outcome: Outcome): Promise<Settled> {
        const { attemptId } = parseTicket(ticket);
        const k = this.accountKeys(ticket.account);
        const code = 'code' in outcome ? outcome.code : '';
        const statusCode = 'statusCode' in outcome && outcome.statusCode !== undefined ? String(outcome.statusCode) : '';
        const reply = await this.connection.run(
            SETTLE,
            [k.lease, k.fail, k.failInfo, k.coolDowns, k.block],
            [
                this.leaseValue(attemptId),
                attemptId,
                outcome.kind,
                code,
                statusCode,
                String(outcome.kind === 'blocked' ? Math.round(outcome.waitMs) : 0),
                String(ticket.policy.coolDownMs),
                String(MAX_BLOCK_MS),
                this.keys.name(ticket.credential),
                String(ticket.policy.failureWindowMs),
                String(ticket.policy.maxFailedLogins),
            ],
        );
        const [caused, reason, holdCode, holdStatus, holdWait, failures] = reply;
        const settled: Settled = {};
        if (caused) settled.waitMs = Number(caused);
        if (reason) settled.hold = hold(reason === 'coolDown' ? 'cooldown' : reason, [holdWait, holdCode, holdStatus, failures]);
        return settled;
    }

    /** Refunds the charges whose reply was lost, oldest first, while Redis answers. */
    private async refundLostCharges(): Promise<void> {
        while (this.lostCharges.length) {
            await this.settle(this.lostCharges[0], { kind: 'notSent' });
            this.lostCharges.shift();
        }
    }

    /**
     * Until they are refunded, lost charges hold the fleet's logins with their credential (in doubt):
     * the refund is tried every second in the background, not only before this instance's next login.
     */
    private scheduleRefunds(): void {
        if (this.refundTimer || this.closed) return;
        this.refundTimer = setTimeout(() => {
            this.refundTimer = undefined;
            this.refundLostCharges().catch(() => this.scheduleRefunds());
        }, REFUND_RETRY_MS);
        this.refundTimer.unref();
    }

    /** Milliseconds left of a granted charge's lease by the Redis clock; -1 once it ran out (or another holds it). */
    async leaseLeft(ticket: ChargeTicket): Promise<number> {
        const { attemptId } = parseTicket(ticket);
        const reply = await this.connection.run(LEASE_LEFT, [this.accountKeys(ticket.account).lease], [this.leaseValue(attemptId)]);
        return Number(reply[0]);
    }

    /** The fence of a granted charge: the shared session it publishes carries it. */
    fenceOf(ticket: ChargeTicket): number {
        return parseTicket(ticket).fence;
    }

    /** Publishes the credential of a granted login for the fleet (under its credential's fingerprint); false when a newer one is there. */
    async publishSession(ticket: ChargeTicket, value: string, ttlMs: number): Promise<boolean> {
        const { session } = this.sessionKeys(ticket);
        const { fence } = parseTicket(ticket);
        const reply = await this.connection.run(
            PUBLISH_SESSION,
            [session],
            [String(fence), this.keys.seal(session, value), String(Math.max(1, Math.round(ttlMs)))],
        );
        return Number(reply[0]) === 1;
    }

    /** A refusal of the shared credential `fence`: the fleet stops using it, unless a newer one replaced it. */
    async invalidateSession(key: SharedSessionKey, fence: number): Promise<boolean> {
        const reply = await this.connection.run(INVALIDATE_IF_SAME, [this.sessionKeys(key).session], [String(fence)]);
        return Number(reply[0]) === 1;
    }

    /** This instance uses the shared session for `ttlMs` more. */
    async heartbeat(key: SharedSessionKey, ttlMs: number): Promise<void> {
        await this.connection.run(HEARTBEAT, [this.sessionKeys(key).users], [this.instanceId, String(Math.round(ttlMs))]);
    }

    /**
     * This instance stops using the shared session. The last one to leave takes the account's lease
     * and must log the session out, then release it; the others leave it to the fleet.
     */
    async leave(key: SharedSessionKey, leaseMs: number): Promise<LeaveVerdict> {
        const { lease } = this.accountKeys(key.account);
        const { users, session } = this.sessionKeys(key);
        const leaseValue = `${this.instanceId}:logout`;
        const [verdict] = await this.connection.run(LEAVE, [users, lease, session], [this.instanceId, leaseValue, String(Math.round(leaseMs))]);
        if (verdict !== 'logout') return { logout: false };
        return {
            logout: true,
            release: async () => {
                await this.connection.run(RELEASE, [lease], [leaseValue]);
            },
        };
    }

    async readGrant(key: string): Promise<string | undefined> {
        const name = this.grantKey(key);
        const sealed = await this.connection.call('get', [name]);
        return typeof sealed === 'string' ? this.openGrant(name, sealed) : undefined;
    }

    /** A grant's plain record; a value the seal refuses (altered, or moved from another key) is no record to refresh from, nor to overwrite. */
    private openGrant(name: string, sealed: string): string {
        const plain = this.keys.open(name, sealed);
        if (plain !== undefined) return plain;
        throw new SessionError(
            'GUARD_UNAVAILABLE',
            `An OAuth2 grant's record in the session store at ${this.location} was altered (it does not open with the fleet's key): nothing sent; authorize again to replace it.`,
        );
    }

    async writeGrant(key: string, value: string | undefined): Promise<void> {
        const name = this.grantKey(key);
        if (value === undefined) await this.connection.call('del', [name]);
        else await this.connection.call('set', [name, this.keys.seal(name, value)]);
    }

    /** Stores `value` under `key` only if it still holds `expected` (plain; undefined: nothing): one atomic script. */
    async replaceGrant(key: string, expected: string | undefined, value: string): Promise<boolean> {
        const name = this.grantKey(key);
        const held = await this.sealedIfSame(name, expected);
        if (held === undefined) return false;
        const [replaced] = await this.connection.run(REPLACE_IF_SAME, [name], [held, this.keys.seal(name, value)]);
        return Number(replaced) === 1;
    }

    /** The sealed value under `name` ('' for none) if it opens to `expected`, else undefined. */
    private async sealedIfSame(name: string, expected: string | undefined): Promise<string | undefined> {
        const sealed = await this.connection.call('get', [name]);
        const held = typeof sealed === 'string' ? sealed : '';
        return (held ? this.openGrant(name, held) : undefined) === expected ? held : undefined;
    }

    /**
     * The fleet's turn on the grant under `key` for `ms` (SET NX PX: never extended, released only by
     * its holder), or how long another instance still holds it.
     */
    async leaseGrant(key: string, ms: number): Promise<GrantLeaseResult> {
        const name = `${this.grantKey(key)}:lease`;
        const holder = `${this.instanceId}:${randomUUID()}`;
        const set = await this.connection.call('set', [name, holder, 'NX', 'PX', String(Math.max(1, Math.round(ms)))]);
        if (set === 'OK') {
            return {
                granted: {
                    release: async () => {
                        await this.connection.run(RELEASE, [name], [holder]);
                    },
                    write: async (expected, value) => {
                        const grant = this.grantKey(key);
                        // '-' is never a sealed value: only the lease lets a write over a changed record through.
                        const from = (await this.sealedIfSame(grant, expected)) ?? '-';
                        const [written] = await this.connection.run(FENCED_WRITE, [grant, name], [holder, from, this.keys.seal(grant, value)]);
                        return Number(written) === 1;
                    },
                },
            };
        }
        const left = Number(await this.connection.call('pttl', [name]));
        return { busy: { waitMs: left > 0 ? left : 1 } };
    }

    async close(): Promise<void> {
        this.closed = true;
        clearTimeout(this.refundTimer);
        await this.connection.close();
    }

    /** Every key of one account, under one hash tag: the account's fingerprint, never a name or host. */
    /** What an attempt's lease holds: this instance and the attempt. */
    private leaseValue(attemptId: string): string {
        return `${this.instanceId}:${attemptId}`;
    }

    private accountKeys(account: string): Record<'lease' | 'fence' | 'fail' | 'failInfo' | 'coolDowns' | 'block', string> {
        const base = this.accountBase(account);
        return {
            lease: `${base}lease`,
            fence: `${base}fence`,
            fail: `${base}fail`,
            failInfo: `${base}failinfo`,
            coolDowns: `${base}cd`,
            block: `${base}wait`,
        };
    }

    /** The shared session of one credential and the instances using it: under the account's hash tag, named by the credential's keyed fingerprint. */
    private sessionKeys({ account, credential }: SharedSessionKey): Record<'session' | 'users', string> {
        const base = `${this.accountBase(account)}${this.keys.name(credential)}:`;
        return { session: `${base}sess`, users: `${base}users` };
    }

    private accountBase(account: string): string {
        return `${this.keyPrefix}:{${this.keys.name(account)}}:`;
    }

    private grantKey(key: string): string {
        return `${this.keyPrefix}:grant:${this.keys.name(key)}`;
    }
}

/** Lost charges remembered for a refund at most (a long outage with many msgs must not grow memory). */
const MAX_LOST_CHARGES = 100;
const REFUND_RETRY_MS = 1000;

/** The ticket's id holds the lease's fence and the attempt's id. */
function parseTicket(ticket: ChargeTicket): { fence: number; attemptId: string } {
    const dot = ticket.id.indexOf('.');
    return { fence: Number(ticket.id.slice(0, dot)), attemptId: ticket.id.slice(dot + 1) };
}

const HOLD_REASONS: Record<string, Hold['reason']> = { block: 'block', cooldown: 'coolDown', inDoubt: 'inDoubt', budget: 'budget' };

/** A script's refusal as a {@link Hold}: [waitMs, code, status, failures?]. */
function hold(verdict: string, [waitMs, code, status, failures]: string[]): Hold {
    const reason = HOLD_REASONS[verdict];
    if (!reason) throw new SessionError('GUARD_UNAVAILABLE', `The shared login guard answered something unexpected ("${verdict}").`);
    const found: Hold = { reason, code: code as ErrorCode, waitMs: Math.max(0, Number(waitMs)) };
    if (status) found.statusCode = Number(status);
    if (failures) found.failures = Number(failures);
    return found;
}

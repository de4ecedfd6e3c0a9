import { performance } from 'node:perf_hooks';

import { SessionError } from '../errors';
import type { ChargeResult, ChargeTicket, GuardPolicy, GuardStore, Outcome, Settled } from '../store/guard-store';
import type { RedisStore, SharedSessionKey, SharedSessionRecord } from '../store/redis';
import { LoginGuard, heldBack } from './login-guard';

/** `guard`: the fleet shares the login guard; `session`: also the live credential. */
export type ShareMode = 'guard' | 'session';

/** What a server's sessions need of its `rest-session-store` node. */
export interface SharedStoreLink {
    store: RedisStore;
    share: ShareMode;
    /** The guard's numbers from settings.js. */
    policy: Partial<GuardPolicy>;
}

/** An instance using the shared session says so this often, and counts as gone this long after its last word. */
export const HEARTBEAT_MS = 10_000;
export const HEARTBEAT_TTL_MS = 30_000;
/** After a failed heartbeat (the store was gone), the next one comes this soon. */
const RETRY_BEAT_MS = 1000;
/** A holder must start sending within this long of its grant; the lease covers that plus the login's exchanges. */
export const SEND_WITHIN_MS = 5_000;

/** `notSent`: nothing of the login was written (a refusal between its exchanges leaves that to the guard). */
function turnRanOut(notSent = false): SessionError {
    const message = "Login not sent: this instance's turn to log in ran out before it could send (was the process paused?).";
    return new SessionError('GUARD_UNAVAILABLE', message, notSent ? { notSent } : {});
}

/**
 * The fleet already holds a newer session than this instance: use it, send no login. Thrown by the
 * shared charge, so both guards treat it as a login that never left the process.
 */
export class SharedSessionFound extends Error {
    constructor(readonly record: SharedSessionRecord) {
        super('The fleet holds a newer session.');
        heldBack(this);
    }
}

/**
 * One account's view of the shared store, for one session: a {@link GuardStore} for a second
 * {@link LoginGuard} that every login of this session must also pass (after the instance's own
 * embedded guard), and with `share: session` the fleet's credential: handed out instead of a charge
 * when a newer one is stored, published by the login that made it while it holds the lease,
 * invalidated only if it is the same one that was refused, kept alive by heartbeats, and logged out
 * only by the last instance that leaves.
 */
export class SharedAccount implements GuardStore {
    readonly guard: LoginGuard;
    /** The fence of the shared credential this session holds (0: none). */
    private heldFence = 0;
    /** The account and credential of this session's last charge: its shared session is theirs. */
    private key: SharedSessionKey | undefined;
    private ticket: ChargeTicket | undefined;
    /** performance.now() by which the granted login must have started (a lease is never extended). */
    private sendBy = 0;
    /** performance.now() when the granted lease ends at the latest (counted from before the charge). */
    private leaseEnd = 0;
    private heartbeat: NodeJS.Timeout | undefined;
    private beating = false;
    /** A credential whose publish failed (Redis was gone): published again on the next heartbeat. */
    private unpublished: { ticket: ChargeTicket; value: string; ttlMs: number } | undefined;

    constructor(
        private readonly link: SharedStoreLink,
        /** How long one exchange may take (the server's request timeout): a login's two are covered by its lease. */
        private readonly exchangeMs: number,
    ) {
        this.guard = new LoginGuard(link.policy, this);
    }

    /** The lease of a login: the wait for its turn to send plus its exchanges, never extended. */
    private get leaseMs(): number {
        return SEND_WITHIN_MS + 2 * this.exchangeMs;
    }

    get sharesSession(): boolean {
        return this.link.share === 'session';
    }

    get location(): string {
        return this.link.store.location;
    }

    fingerprint(parts: readonly string[]): string {
        return this.link.store.fingerprint(parts);
    }

    async charge(account: string, credential: string, policy: GuardPolicy): Promise<ChargeResult> {
        this.key = { account, credential };
        const started = performance.now();
        const { leaseMs } = this;
        let result;
        try {
            result = await this.link.store.chargeOrAdopt(account, credential, { ...policy, leaseMs }, this.sharesSession ? this.heldFence : undefined);
        } catch (error) {
            // Nothing was sent: neither guard may count it (a lost reply counts as "maybe charged" here).
            throw error instanceof Error ? heldBack(error) : error;
        }
        if ('session' in result) throw new SharedSessionFound(result.session);
        if ('granted' in result) {
            this.ticket = result.granted;
            this.sendBy = started + SEND_WITHIN_MS;
            this.leaseEnd = started + leaseMs;
        }
        return result;
    }

    settle(ticket: ChargeTicket, outcome: Outcome): Promise<Settled> {
        return this.link.store.settle(ticket, outcome);
    }

    readGrant(key: string): Promise<string | undefined> {
        return this.link.store.readGrant(key);
    }

    writeGrant(key: string, value: string | undefined): Promise<void> {
        return this.link.store.writeGrant(key, value);
    }

    /** The store's connection belongs to its config node, which closes it. */
    async close(): Promise<void> {
        this.stopHeartbeat();
    }

    /** Called just before the login is written: a holder whose turn ran out (it was paused) does not send. */
    assertTurn(): void {
        if (performance.now() > this.sendBy) throw heldBack(turnRanOut(true));
    }

    /**
     * Called just before each write of the granted login (its first, every resend after a refused
     * connection, a SmartServer 423's login with the new password, each of its exchanges): the lease
     * must still cover one exchange, by this process's clock and by the Redis clock, or it is not
     * written (another instance may hold the account's lease by then).
     */
    async assertLease(): Promise<void> {
        const ticket = this.ticket;
        if (!ticket) return;
        if (performance.now() + this.exchangeMs > this.leaseEnd) throw turnRanOut();
        if ((await this.link.store.leaseLeft(ticket)) < this.exchangeMs) throw turnRanOut();
    }

    /**
     * The granted login succeeded: with `share: session` its credential becomes the fleet's, before
     * the lease is released. Returns its fence. A store that fails now gets it on the next heartbeat.
     */
    async publish(value: string, ttlMs: number): Promise<number> {
        const ticket = this.ticket;
        if (!ticket || !this.sharesSession) return 0;
        const fence = this.link.store.fenceOf(ticket);
        this.held(fence);
        try {
            await this.link.store.publishSession(ticket, value, ttlMs);
        } catch {
            this.unpublished = { ticket, value, ttlMs };
        }
        return fence;
    }

    /** This session now uses the fleet's credential `fence`. */
    held(fence: number): void {
        this.heldFence = fence;
        if (!this.sharesSession || this.beating || !this.key) return;
        this.beating = true;
        void this.beat();
    }

    /** The server refused the fleet's credential `fence`: no instance uses it again (unless a newer one replaced it). */
    async invalidate(fence: number): Promise<void> {
        if (!this.key || !this.sharesSession || !fence) return;
        await this.link.store.invalidateSession(this.key, fence).catch(() => undefined);
    }

    /**
     * This instance stops using the fleet's session: only the last one to leave runs `logout`
     * (holding the lease meanwhile). `GUARD_UNAVAILABLE` when the store cannot say: nothing is sent.
     */
    async leave(logout: () => Promise<void>): Promise<void> {
        this.stopHeartbeat();
        const key = this.key;
        this.heldFence = 0;
        if (!key) return;
        const verdict = await this.link.store.leave(key, this.leaseMs);
        if (!verdict.logout) return;
        try {
            await logout();
        } finally {
            await verdict.release().catch(() => undefined);
        }
    }

    stopHeartbeat(): void {
        this.beating = false;
        clearTimeout(this.heartbeat);
        this.heartbeat = undefined;
    }

    /** One heartbeat (and a publish that failed before); the next one soon after a failure, else in {@link HEARTBEAT_MS}. */
    private async beat(): Promise<void> {
        const key = this.key;
        if (!key || !this.beating) return;
        let ok = true;
        try {
            await this.link.store.heartbeat(key, HEARTBEAT_TTL_MS);
            const pending = this.unpublished;
            if (pending) {
                await this.link.store.publishSession(pending.ticket, pending.value, pending.ttlMs);
                if (this.unpublished === pending) this.unpublished = undefined;
            }
        } catch {
            ok = false;
        }
        if (!this.beating) return;
        this.heartbeat = setTimeout(() => void this.beat(), ok ? HEARTBEAT_MS : RETRY_BEAT_MS);
        this.heartbeat.unref();
    }
}

import { ChargeResult, ChargeTicket, GuardPolicy, GuardStore, Outcome, Settled } from './guard-store';
import { LedgerState, MAX_ACCOUNTS, chargeAccount, emptyLedger, pruneLedger, settleCharge } from './ledger';
import { StoreKey } from './store-key';

/**
 * A {@link GuardStore} over a {@link LedgerState} held in this process. On its own it is the
 * memory-only store (`restSessionServerGuardFile: false`, tests): it forgets everything at exit.
 * The file store makes each change durable through {@link persist} before it answers.
 */
export class LedgerStore implements GuardStore {
    readonly location: string = 'memory';

    constructor(
        protected state: LedgerState = emptyLedger(),
        protected readonly key: StoreKey = StoreKey.random(),
    ) {}

    fingerprint(parts: readonly string[]): string {
        return this.key.fingerprint(parts);
    }

    async charge(account: string, credential: string, policy: GuardPolicy): Promise<ChargeResult> {
        this.assertUsable();
        const now = Date.now();
        const result = chargeAccount(this.state, account, credential, policy, now);
        if (!('granted' in result)) return result;
        try {
            await this.persist(policy);
        } catch (error) {
            // Not recorded, so not sent: the charge goes as if it never was.
            settleCharge(this.state, result.granted, { kind: 'notSent' }, now);
            throw this.unwritable(error);
        }
        return result;
    }

    async settle(ticket: ChargeTicket, outcome: Outcome): Promise<Settled> {
        const settled = settleCharge(this.state, ticket, outcome, Date.now());
        // A failed write leaves the charge recorded as it was: it errs on the safe side.
        await this.persist(ticket.policy).catch(() => undefined);
        return settled;
    }

    async readGrant(key: string): Promise<string | undefined> {
        const name = this.fingerprint(['grant', key]);
        const sealed = this.state.grants[name];
        return sealed === undefined ? undefined : this.key.open(name, sealed);
    }

    async writeGrant(key: string, value: string | undefined): Promise<void> {
        this.assertUsable();
        const name = this.fingerprint(['grant', key]);
        const before = this.state.grants[name];
        if (value === undefined) delete this.state.grants[name];
        else this.state.grants[name] = this.key.seal(name, value);
        try {
            await this.persist();
        } catch (error) {
            if (before === undefined) delete this.state.grants[name];
            else this.state.grants[name] = before;
            throw this.unwritable(error);
        }
    }

    async close(): Promise<void> {}

    /** Makes the state durable (the file store); drops what no longer matters first. */
    protected async persist(policy?: GuardPolicy): Promise<void> {
        if (!policy) return;
        const kept = pruneLedger(this.state, policy, Date.now(), this.maxAccounts);
        if (kept > 0) this.keptOverCap(kept);
    }

    /** Accounts kept before those with nothing in force are forgotten ({@link MAX_ACCOUNTS}). */
    protected get maxAccounts(): number {
        return MAX_ACCOUNTS;
    }

    /** More than {@link maxAccounts} accounts are kept, `count` of them beyond it, because each has a hold in force. */
    protected keptOverCap(_count: number): void {}

    /** Throws when the store cannot record anything at all (the file store without its key). */
    protected assertUsable(): void {}

    protected unwritable(error: unknown): Error {
        return error instanceof Error ? error : new Error(String(error));
    }
}

import { createHash } from 'node:crypto';

import type { NodeAPI } from 'node-red';

import { performance } from 'node:perf_hooks';

import { SessionError } from '../errors';
import { heldBack } from '../session/login-guard';
import type { GrantLeaseResult } from '../store/guard-store';
import { embeddedStore } from './guard-file';
import type { GrantRecord, GrantRuntime, GrantStore, GrantTurn } from '../vendors/adapter';

/** The slice of the guard's store a grant uses: keyed fingerprints and encrypted values, confirmed writes. */
export interface GrantVault {
    fingerprint(parts: readonly string[]): string;
    readGrant(key: string): Promise<string | undefined>;
    writeGrant(key: string, value: string | undefined): Promise<void>;
    /** A shared store's lease on `key` for `ms` (never extended); absent for a store one process owns. */
    leaseGrant?(key: string, ms: number): Promise<GrantLeaseResult>;
    /** A shared store's atomic replace-if-same; a store one process owns reads and writes (its lease queue serialises them). */
    replaceGrant?(key: string, expected: string | undefined, value: string): Promise<boolean>;
}

export interface GrantRuntimeOptions {
    vault: GrantVault;
    /** What the tokens belong to: the config node, its client, base URL and the settings that decide where the secret goes. */
    binding: readonly string[];
    /** How long one refresh may hold the grant's turn (its exchanges and store writes). */
    turnMs?: number;
    onChanged(): void;
}

/** A refresh's turn when none is given: two token requests of the default timeout, and the store's writes. */
const DEFAULT_TURN_MS = 60_000;
/** How often a refresh waiting for another instance's turn asks again. */
const BUSY_POLL_MS = 100;

/** The longest delay setTimeout keeps (2^31-1 ms, 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Refreshes of one grant in this process go one at a time, per vault (a shared vault's lease also spans the fleet). */
const turnsByVault = new WeakMap<GrantVault, Map<string, Promise<unknown>>>();

/**
 * The grant slot of one config node in the vault: read, written (confirmed) and leased under one
 * keyed name. A failed read is a refresh not sent (the guards refund it).
 */
export function grantStore(vault: GrantVault, binding: readonly string[], turnMs = DEFAULT_TURN_MS): GrantStore {
    const key = `grant:${vault.fingerprint(['oauth2', ...binding])}`;
    let turns = turnsByVault.get(vault);
    if (!turns) turnsByVault.set(vault, (turns = new Map()));
    const queue = turns;
    return {
        async read() {
            let text: string | undefined;
            try {
                text = await vault.readGrant(key);
            } catch (error) {
                throw error instanceof Error ? heldBack(error) : error;
            }
            if (!text) return undefined;
            try {
                return JSON.parse(text) as GrantRecord;
            } catch {
                return undefined;
            }
        },
        write: (record) => vault.writeGrant(key, JSON.stringify(record)),
        async replace(expected, next) {
            const before = expected && JSON.stringify(expected);
            if (vault.replaceGrant) return vault.replaceGrant(key, before, JSON.stringify(next));
            if ((await vault.readGrant(key)) !== before) return false;
            await vault.writeGrant(key, JSON.stringify(next));
            return true;
        },
        lease<T>(task: (turn: GrantTurn) => Promise<T>): Promise<T> {
            // A store one process owns: this process's queue is the whole lease.
            const ownTurn: GrantTurn = {
                hasTime: () => true,
                assertTime: () => undefined,
                save: (_from, next) => vault.writeGrant(key, JSON.stringify(next)).then(() => true),
            };
            const held = (): Promise<T> => (vault.leaseGrant ? fleetTurn(vault, key, turnMs, task) : task(ownTurn));
            const previous = queue.get(key) ?? Promise.resolve();
            const run = previous.then(held, held);
            const settled = run.catch(() => undefined);
            queue.set(key, settled);
            void settled.then(() => {
                if (queue.get(key) === settled) queue.delete(key);
            });
            return run;
        },
    };
}

/**
 * Runs `task` in the fleet's turn on the grant: waits while another instance holds it (at most a few
 * turns' time), then holds it for `turnMs` from the moment it asked (never extended), and releases it.
 */
async function fleetTurn<T>(vault: GrantVault, key: string, turnMs: number, task: (turn: GrantTurn) => Promise<T>): Promise<T> {
    const giveUpAt = performance.now() + 3 * turnMs;
    for (;;) {
        const askedAt = performance.now();
        const result = await vault.leaseGrant!(key, turnMs).catch((error: unknown) => {
            throw error instanceof Error ? heldBack(error) : error;
        });
        if ('granted' in result) {
            const hasTime = (ms: number): boolean => performance.now() + ms < askedAt + turnMs;
            const turn: GrantTurn = {
                hasTime,
                assertTime(ms) {
                    if (!hasTime(ms)) {
                        throw heldBack(
                            new SessionError(
                                'GUARD_UNAVAILABLE',
                                "Refresh not sent: this instance's turn to refresh the OAuth2 tokens ran out before it could send (was the process paused?).",
                            ),
                        );
                    }
                },
                save: (from, next) => result.granted.write(from && JSON.stringify(from), JSON.stringify(next)),
            };
            try {
                return await task(turn);
            } finally {
                await result.granted.release().catch(() => undefined);
            }
        }
        if (performance.now() > giveUpAt) {
            throw heldBack(new SessionError('GUARD_UNAVAILABLE', 'Refresh not sent: another instance of the fleet kept the OAuth2 grant busy too long.'));
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(BUSY_POLL_MS, Math.max(1, result.busy.waitMs))));
    }
}

/** One deploy of a config node's grant: its store slot, its state and timers (ended by `close`). */
export function createGrantRuntime(options: GrantRuntimeOptions): GrantRuntime & { close(): void } {
    const timers = new Set<NodeJS.Timeout>();
    let closed = false;
    return {
        store: grantStore(options.vault, options.binding, options.turnMs),
        state: new Map(),
        later(ms, task) {
            if (closed) return;
            const timer = setTimeout(
                () => {
                    timers.delete(timer);
                    if (!closed) task();
                },
                // Node fires a longer timer at once (a provider's huge interval would be a poll loop).
                Math.min(ms, MAX_TIMER_MS),
            );
            timers.add(timer);
        },
        changed: () => {
            if (!closed) options.onChanged();
        },
        get closed() {
            return closed;
        },
        close() {
            closed = true;
            for (const timer of timers) clearTimeout(timer);
            timers.clear();
        },
    };
}

/** A vault in this process's memory (for tests of the grant logic). */
export class MemoryGrantVault implements GrantVault {
    private readonly values = new Map<string, string>();
    fingerprint(parts: readonly string[]): string {
        const hash = createHash('sha256');
        for (const part of parts) hash.update(`${part}\u0000`);
        return hash.digest('hex');
    }
    readGrant(key: string): Promise<string | undefined> {
        return Promise.resolve(this.values.get(key));
    }
    writeGrant(key: string, value: string | undefined): Promise<void> {
        if (value === undefined) this.values.delete(key);
        else this.values.set(key, value);
        return Promise.resolve();
    }
}

/**
 * Where grants keep their tokens: the fleet's shared store when the server names one (every instance
 * uses the same tokens, one refresh at a time for the fleet), else the embedded store; encrypted in
 * both, so they outlive a restart.
 */
export function grantVault(RED: NodeAPI, shared?: GrantVault): GrantVault {
    return shared ?? embeddedStore(RED);
}

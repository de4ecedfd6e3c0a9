import { createHash } from 'node:crypto';

import type { NodeAPI } from 'node-red';

import { embeddedStore } from './guard-file';
import type { GrantRecord, GrantRuntime, GrantStore } from '../vendors/adapter';

/** The slice of the guard's store a grant uses: keyed fingerprints and encrypted values, confirmed writes. */
export interface GrantVault {
    fingerprint(parts: readonly string[]): string;
    readGrant(key: string): Promise<string | undefined>;
    writeGrant(key: string, value: string | undefined): Promise<void>;
}

export interface GrantRuntimeOptions {
    vault: GrantVault;
    /** What the tokens belong to: the config node, its client, base URL and the settings that decide where the secret goes. */
    binding: readonly string[];
    onChanged(): void;
}

/** The longest delay setTimeout keeps (2^31-1 ms, 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Refreshes of one grant in this process go one at a time (the guard's lease spans a fleet). */
const turns = new Map<string, Promise<unknown>>();

/** The grant slot of one config node in the vault: read, written (confirmed) and leased under one keyed name. */
export function grantStore(vault: GrantVault, binding: readonly string[]): GrantStore {
    const key = `grant:${vault.fingerprint(['oauth2', ...binding])}`;
    return {
        async read() {
            const text = await vault.readGrant(key);
            if (!text) return undefined;
            try {
                return JSON.parse(text) as GrantRecord;
            } catch {
                return undefined;
            }
        },
        write: (record) => vault.writeGrant(key, JSON.stringify(record)),
        lease<T>(task: () => Promise<T>): Promise<T> {
            const previous = turns.get(key) ?? Promise.resolve();
            const run = previous.then(task, task);
            const settled = run.catch(() => undefined);
            turns.set(key, settled);
            void settled.then(() => {
                if (turns.get(key) === settled) turns.delete(key);
            });
            return run;
        },
    };
}

/** One deploy of a config node's grant: its store slot, its state and timers (ended by `close`). */
export function createGrantRuntime(options: GrantRuntimeOptions): GrantRuntime & { close(): void } {
    const timers = new Set<NodeJS.Timeout>();
    let closed = false;
    return {
        store: grantStore(options.vault, options.binding),
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

/** Where grants keep their tokens: the login guard's store (encrypted there), so they outlive a restart. */
export function grantVault(RED: NodeAPI): GrantVault {
    return embeddedStore(RED);
}

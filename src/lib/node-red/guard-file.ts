import path from 'node:path';

import type { NodeAPI } from 'node-red';

import { LoginGuard, guardOver } from '../session/login-guard';
import { FileStore, GUARD_FILE_NAME } from '../store/file-store';
import type { GuardStore } from '../store/guard-store';
import { LedgerStore } from '../store/ledger-store';
import { guardPolicy } from './runtime-settings';

/** One embedded store per file in this process, whatever number of config nodes and Test logins use it. */
const stores = new Map<string, GuardStore>();
let memory: GuardStore | undefined;

/**
 * Where this Node-RED keeps the login guard's memory: `restSessionServerGuardFile` from settings.js
 * (a path, relative to the user directory; `false` keeps it in memory, with a warning), else
 * `.rest-session-guard.json` in the user directory. A runtime without a user directory (a test
 * harness) keeps it in memory.
 */
export function guardFile(RED: NodeAPI): string | false {
    const settings = RED.settings as unknown as Record<string, unknown>;
    const setting = settings.restSessionServerGuardFile;
    const userDir = typeof settings.userDir === 'string' && settings.userDir ? settings.userDir : undefined;
    if (setting === false) return false;
    if (typeof setting === 'string' && setting.trim()) return path.resolve(userDir ?? process.cwd(), setting.trim());
    return userDir ? path.join(userDir, GUARD_FILE_NAME) : false;
}

/** The embedded store of this runtime, opened (and read) on first use: at start, when the nodes register. */
export function embeddedStore(RED: NodeAPI): GuardStore {
    const file = guardFile(RED);
    if (file === false) {
        if (!memory) {
            memory = new LedgerStore();
            if ((RED.settings as unknown as Record<string, unknown>).restSessionServerGuardFile === false) {
                RED.log.warn(
                    'rest-session: restSessionServerGuardFile is false: the login guard keeps its memory only until Node-RED stops, so a restart gives a wrong password fresh attempts.',
                );
            }
        }
        return memory;
    }
    let store = stores.get(file);
    if (!store) {
        store = new FileStore(file, (message) => RED.log.warn(`rest-session: ${message}`));
        stores.set(file, store);
    }
    return store;
}

/** The login guard every path that logs in shares (config nodes, Test login), with settings.js's numbers. */
export function processGuard(RED: NodeAPI): LoginGuard {
    const guard = guardOver(embeddedStore(RED));
    guard.configure(guardPolicy(RED));
    return guard;
}

/**
 * Closes and forgets every embedded store, so the next use reads its file again: what a new process
 * would do. Node-RED never unloads a node module, so only tests (a restart modelled in one process) call it.
 */
export async function closeEmbeddedStores(): Promise<void> {
    const open = [...stores.values(), ...(memory ? [memory] : [])];
    stores.clear();
    memory = undefined;
    await Promise.all(open.map((store) => store.close()));
}

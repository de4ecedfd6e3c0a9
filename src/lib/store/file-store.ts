import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { SessionError } from '../errors';
import type { GuardPolicy } from './guard-store';
import { PRIVATE_MODE, temporaryPrefix, writeAtomic } from './atomic-file';
import { LedgerState, MAX_ACCOUNTS, emptyLedger } from './ledger';
import { LedgerStore } from './ledger-store';
import { STORE_KEY_BYTES, StoreKey } from './store-key';

export const GUARD_FILE_NAME = '.rest-session-guard.json';
const FORMAT_VERSION = 1;

/**
 * The embedded store: the guard's state in one JSON file (`.rest-session-guard.json` in the user
 * directory), rewritten atomically on every change, mode 0600, its key in a file beside it
 * (`<file>.key` without the `.json`: `.rest-session-guard.key`). Read once when it opens. An absent
 * file is an empty guard; one that cannot be read is set aside as `<file>.bad-<time>` and every
 * account waits out one failure window (the attempts it recorded are unknown). A store whose file
 * cannot be written refuses every charge with `GUARD_UNAVAILABLE`.
 */
export class FileStore extends LedgerStore {
    override readonly location: string;
    /** Why nothing can be recorded at all (no key could be read or made); undefined when usable. */
    private readonly broken: Error | undefined;
    /** Writes go one at a time, each with the state as it is when it starts. */
    private writing: Promise<void> = Promise.resolve();

    /** The over-cap warning was given (once per store). */
    private warnedOverCap = false;

    constructor(
        readonly file: string,
        private readonly onWarning: (message: string) => void = () => undefined,
        /** Accounts kept before those with nothing in force are forgotten (tests use fewer). */
        private readonly accountCap = MAX_ACCOUNTS,
    ) {
        const keyFile = keyFileOf(file);
        let key: StoreKey | undefined;
        let broken: Error | undefined;
        let keyIsNew = false;
        try {
            ({ key, created: keyIsNew } = readOrCreateKey(keyFile, onWarning));
        } catch (error) {
            broken = error as Error;
        }
        const opened = key && !keyIsNew ? readState(file, onWarning) : { state: emptyLedger(), setAside: false };
        if (keyIsNew && fs.existsSync(file)) {
            // Its fingerprints were made under a lost key: they name nothing any more.
            setAside(file, 'its key file is new', onWarning);
            opened.setAside = true;
        }
        super(opened.state, key ?? StoreKey.random());
        this.location = file;
        this.broken = broken;
        removeTemporaries(file);
        if (opened.setAside) {
            // The fail-closed mark must outlive the next crash, or the set-aside file would be forgotten.
            this.state.unreadableSince = Date.now();
            this.persist().catch(() => undefined);
        }
    }

    protected override async persist(policy?: GuardPolicy): Promise<void> {
        await super.persist(policy);
        const write = this.writing.then(() => writeAtomic(this.file, JSON.stringify({ version: FORMAT_VERSION, ...this.state })));
        this.writing = write.catch(() => undefined);
        await write;
    }

    protected override get maxAccounts(): number {
        return this.accountCap;
    }

    protected override keptOverCap(count: number): void {
        if (this.warnedOverCap) return;
        this.warnedOverCap = true;
        this.onWarning(
            `The login guard's file ${this.file} remembers more than ${this.accountCap} accounts (${count} beyond it), each with a hold in force: none is forgotten, so the file grows until their holds end.`,
        );
    }

    protected override assertUsable(): void {
        if (this.broken) throw this.unwritable(this.broken);
    }

    protected override unwritable(error: unknown): SessionError {
        const code = (error as { code?: unknown }).code;
        return new SessionError(
            'GUARD_UNAVAILABLE',
            `The login guard cannot write ${this.file}${typeof code === 'string' ? ` (${code})` : ''}: not logging in, so that no attempt goes unrecorded.`,
        );
    }

    override async close(): Promise<void> {
        await this.writing;
    }
}

/** `.rest-session-guard.json` → `.rest-session-guard.key`, beside it. */
export function keyFileOf(file: string): string {
    return path.join(path.dirname(file), `${path.basename(file).replace(/\.json$/, '')}.key`);
}

function readOrCreateKey(keyFile: string, onWarning: (message: string) => void): { key: StoreKey; created: boolean } {
    try {
        const bytes = fs.readFileSync(keyFile);
        if (bytes.length === STORE_KEY_BYTES) {
            makePrivate(keyFile);
            return { key: new StoreKey(bytes), created: false };
        }
        // A crash while it was first written leaves it short: a lost key, not a store lost for good.
        setAside(keyFile, `it is not a ${STORE_KEY_BYTES}-byte key`, onWarning, 'A new key is made.');
    } catch (error) {
        if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
    }
    const bytes = randomBytes(STORE_KEY_BYTES);
    const descriptor = fs.openSync(keyFile, 'wx', PRIVATE_MODE);
    try {
        fs.writeSync(descriptor, bytes);
        fs.fsyncSync(descriptor);
    } finally {
        fs.closeSync(descriptor);
    }
    return { key: new StoreKey(bytes), created: true };
}

function readState(file: string, onWarning: (message: string) => void): { state: LedgerState; setAside: boolean } {
    let text: string;
    try {
        text = fs.readFileSync(file, 'utf8');
        makePrivate(file);
    } catch (error) {
        if ((error as { code?: unknown }).code === 'ENOENT') return { state: emptyLedger(), setAside: false };
        setAside(file, `it cannot be read (${String((error as { code?: unknown }).code)})`, onWarning);
        return { state: emptyLedger(), setAside: true };
    }
    const state = parseState(text);
    if (state) return { state, setAside: false };
    setAside(file, 'it is not a complete guard file', onWarning);
    return { state: emptyLedger(), setAside: true };
}

/** The state in `text`, or undefined when it is not a whole file of this format. */
function parseState(text: string): LedgerState | undefined {
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        return undefined;
    }
    if (!isObject(parsed) || parsed.version !== FORMAT_VERSION || !isObject(parsed.accounts) || !isObject(parsed.grants)) return undefined;
    const accounts = Object.values(parsed.accounts);
    if (!accounts.every((account) => isObject(account) && Array.isArray(account.charges) && isObject(account.coolDowns))) return undefined;
    const state: LedgerState = { accounts: parsed.accounts as LedgerState['accounts'], grants: parsed.grants as LedgerState['grants'] };
    if (typeof parsed.unreadableSince === 'number') state.unreadableSince = parsed.unreadableSince;
    return state;
}

/** Renames the file to `<file>.bad-<time>` and says so; the guard then fails closed for one window. */
function setAside(
    file: string,
    why: string,
    onWarning: (message: string) => void,
    consequence = 'Every account waits out one failure window before it logs in, since the attempts it recorded are unknown.',
): void {
    const aside = `${file}.bad-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    let moved = true;
    try {
        fs.renameSync(file, aside);
    } catch {
        moved = false;
    }
    onWarning(`The login guard's file ${file} was set aside${moved ? ` as ${path.basename(aside)}` : ''}: ${why}. ${consequence}`);
}

/** Takes back what others may read of a file restored or copied with loose permissions (a key readable by others unmasks the fingerprints). */
function makePrivate(file: string): void {
    try {
        const stats = fs.lstatSync(file);
        if (stats.isFile() && (stats.mode & 0o077) !== 0) fs.chmodSync(file, PRIVATE_MODE);
    } catch {
        // a file we cannot chmod is not ours to fix; reading it worked
    }
}

/** Temporary files of writes that a crash cut short: never the state, always safe to remove. */
function removeTemporaries(link: string): void {
    let file = link;
    try {
        file = fs.realpathSync(link);
    } catch {
        // no file yet: its temporaries would be beside the link
    }
    const prefix = temporaryPrefix(file);
    try {
        for (const name of fs.readdirSync(path.dirname(file))) {
            if (name.startsWith(prefix)) fs.rmSync(path.join(path.dirname(file), name), { force: true });
        }
    } catch {
        // a directory that cannot be listed cannot be written either: the first charge says so
    }
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** Owner read and write only: the files hold no secret in clear, but they are nobody else's business. */
export const PRIVATE_MODE = 0o600;

/** The prefix of the temporary files {@link writeAtomic} writes beside `file`. */
export function temporaryPrefix(file: string): string {
    return `${path.basename(file)}.tmp-`;
}

/**
 * Replaces `link` (or the file it links to) with `data` so that a crash at any moment leaves either the old or the new
 * content, never a mix: writes a temporary file beside it, flushes it, renames it over the file,
 * then flushes the directory so the rename itself is durable.
 */
export async function writeAtomic(link: string, data: string | Buffer): Promise<void> {
    // A file that is a symlink (to a volume that outlives the container) is replaced where it points.
    const file = await fsp.realpath(link).catch(() => link);
    const temporary = path.join(path.dirname(file), `${temporaryPrefix(file)}${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
        const handle = await fsp.open(temporary, 'w', PRIVATE_MODE);
        try {
            await handle.writeFile(data);
            await handle.sync();
        } finally {
            await handle.close();
        }
        await fsp.rename(temporary, file);
    } catch (error) {
        await fsp.unlink(temporary).catch(() => undefined);
        throw error;
    }
    await syncDirectory(path.dirname(file));
}

/** Flushes a directory's entries; some systems (Windows) cannot open a directory, which is no failure. */
async function syncDirectory(directory: string): Promise<void> {
    let handle: fsp.FileHandle | undefined;
    try {
        handle = await fsp.open(directory, 'r');
        await handle.sync();
    } catch {
        // best effort
    } finally {
        await handle?.close().catch(() => undefined);
    }
}

/**
 * Run as a child process by file-store.test.ts: writes the guard file atomically with new content,
 * but dies by SIGKILL right after the temporary file was written and flushed, before the rename.
 */
import { promises as fsp } from 'node:fs';

import { writeAtomic } from '../../../src/lib/store/atomic-file';

fsp.rename = async () => {
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => undefined);
};
void writeAtomic(process.argv[2], process.argv[3]);

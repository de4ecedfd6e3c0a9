/**
 * A directory nobody may write to, even root: `chmod 0500` for an ordinary user; for root (who
 * ignores modes) the immutable attribute (`chattr +i`). The guard's "read-only location" tests use it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function makeReadOnly(dir: string): void {
    if (process.getuid?.() === 0) execFileSync('chattr', ['+i', dir]);
    else fs.chmodSync(dir, 0o500);
    const probe = path.join(dir, '.write-probe');
    let writable = true;
    try {
        fs.writeFileSync(probe, '');
        fs.rmSync(probe);
    } catch {
        writable = false;
    }
    if (writable) throw new Error(`could not make ${dir} read-only for the test`);
}

export function makeWritable(dir: string): void {
    if (process.getuid?.() === 0) execFileSync('chattr', ['-i', dir]);
    else fs.chmodSync(dir, 0o700);
}

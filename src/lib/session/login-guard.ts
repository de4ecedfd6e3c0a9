import { createHash } from 'node:crypto';

import { formatDuration, secondsUntil } from '../duration';
import { ErrorCode, SessionError } from '../errors';

/** Rejections that say "these credentials are wrong": never resent unchanged during the cool-down. */
const CREDENTIAL_REJECTIONS: ReadonlySet<ErrorCode> = new Set([
    'INVALID_CREDENTIALS',
    'ACCOUNT_DISABLED',
    'PASSWORD_EXPIRED',
    'PASSWORD_POLICY',
]);
/** Server-imposed waits: they hold for every login of that user, whatever the credentials. */
const SERVER_BLOCKS: ReadonlySet<ErrorCode> = new Set(['LOCKED_OUT', 'RATE_LIMITED']);

const DEFAULT_BLOCK_MS: Partial<Record<ErrorCode, number>> = {
    LOCKED_OUT: 5 * 60_000,
    RATE_LIMITED: 2 * 60_000,
};

export const DEFAULT_COOL_DOWN_MS = 5 * 60_000;

interface Block {
    code: ErrorCode;
    until: number;
    /** Set for credential rejections: other credentials end the cool-down. */
    fingerprint?: string;
    statusCode?: number;
}

export interface BlockInfo {
    code: ErrorCode;
    until: number;
}

/**
 * Remembers rejected and blocked logins per (origin, username), outside any node instance, so a
 * redeploy cannot reset a cool-down or a lockout and turn a flow into a password-guessing loop.
 */
export class LoginGuard {
    private readonly blocks = new Map<string, Block>();

    static key(origin: string, username: string): string {
        return `${origin}\u0000${username}`;
    }

    /** A one-way digest of the credentials, so a change can be noticed without keeping a copy. */
    static fingerprint(parts: ReadonlyArray<string | undefined>): string {
        const hash = createHash('sha256');
        for (const part of parts) hash.update(`${part ?? ''}\u0000`);
        return hash.digest('hex');
    }

    /** Throws the remembered error, without any request, while a login must not be sent. */
    check(key: string, fingerprint: string, user: string, now: number = Date.now()): void {
        const block = this.current(key, now);
        if (!block) return;
        if (block.fingerprint !== undefined && block.fingerprint !== fingerprint) {
            this.blocks.delete(key);
            return;
        }
        const wait = formatDuration(block.until - now);
        const reason = block.fingerprint !== undefined
            ? `the last login as "${user}" was rejected (${block.code}); not retrying the same credentials for ${wait}`
            : `the server blocked logins as "${user}" (${block.code}) for ${wait} more`;
        throw new SessionError(block.code, `Login not sent: ${reason}.`, {
            retryAfter: secondsUntil(block.until, now),
            statusCode: block.statusCode,
        });
    }

    /** Records a failed login; other failures (network, 5xx) are not held against the user. */
    recordFailure(key: string, error: SessionError, fingerprint: string, coolDownMs: number, now: number = Date.now()): void {
        if (CREDENTIAL_REJECTIONS.has(error.code)) {
            this.blocks.set(key, { code: error.code, until: now + coolDownMs, fingerprint, statusCode: error.statusCode });
            error.retryAfter = Math.ceil(coolDownMs / 1000);
        } else if (SERVER_BLOCKS.has(error.code)) {
            const waitMs = error.retryAfter !== undefined ? error.retryAfter * 1000 : DEFAULT_BLOCK_MS[error.code] ?? 0;
            this.blocks.set(key, { code: error.code, until: now + waitMs, statusCode: error.statusCode });
            error.retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
        }
    }

    recordSuccess(key: string): void {
        this.blocks.delete(key);
    }

    /** The block in force for this key, if any (for statuses). */
    blockOf(key: string, now: number = Date.now()): BlockInfo | undefined {
        const block = this.current(key, now);
        return block && { code: block.code, until: block.until };
    }

    private current(key: string, now: number): Block | undefined {
        const block = this.blocks.get(key);
        if (block && block.until <= now) {
            this.blocks.delete(key);
            return undefined;
        }
        return block;
    }
}

/** The one guard of this Node-RED process: module state survives redeploys. */
export const loginGuard = new LoginGuard();

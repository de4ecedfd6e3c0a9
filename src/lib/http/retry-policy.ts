/**
 * When and how long to wait before retrying a transient fault. Pure data and functions, so the
 * session core and its tests agree on one policy (got's defaults, trimmed to the retry rules in the README, "Session behaviour").
 */
export interface RetryPolicy {
    /** Retries after the first attempt. */
    limit: number;
    baseDelayMs: number;
    maxDelayMs: number;
    /** A server asking to wait longer than this is not retried at all. */
    maxRetryAfterMs: number;
}

/**
 * What may be resent: `true` on any transient fault, `'unsent'` only when the request never reached
 * the server (it carries a login's credentials: a resend could count as one more failed login),
 * `false` never.
 */
export type RetryScope = boolean | 'unsent';

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
    limit: 2,
    baseDelayMs: 250,
    maxDelayMs: 5000,
    maxRetryAfterMs: 30000,
});

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);
const TRANSIENT_STATUSES = new Set([502, 503, 504]);

/** POST and PATCH may have been processed before the fault, so they are never sent twice. */
export function isIdempotent(method: string): boolean {
    return IDEMPOTENT_METHODS.has(method.toUpperCase());
}

export function isTransientStatus(status: number): boolean {
    return TRANSIENT_STATUSES.has(status);
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
    if (value === undefined || value.trim() === '') return undefined;
    const trimmed = value.trim();
    if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
    // Anything else number-like ("1.5", "-1") is malformed, not a date.
    if (/^[-+.\d]+$/.test(trimmed)) return undefined;
    const date = Date.parse(trimmed);
    return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Delay before retry number `retry` (1-based): exponential with "equal jitter" so that many
 * clients that failed together do not come back together. A usable Retry-After wins.
 * Returns undefined when the server asks for a longer wait than the policy allows.
 */
export function retryDelayMs(
    retry: number,
    retryAfterMs: number | undefined,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    random: () => number = Math.random,
): number | undefined {
    if (retryAfterMs !== undefined) {
        return retryAfterMs > policy.maxRetryAfterMs ? undefined : retryAfterMs;
    }
    const exponential = Math.min(policy.baseDelayMs * 2 ** (retry - 1), policy.maxDelayMs);
    return Math.round(exponential / 2 + random() * (exponential / 2));
}

/**
 * Waiting without sleeps: `waitFor` polls a condition until it holds (or times out with a message
 * that says what was awaited and what was last seen); `deferred` is a promise a test settles by hand,
 * for callbacks and events.
 */

export interface WaitOptions {
    /** Give up after this long (default 10 s, below mocha's 20 s timeout). */
    timeoutMs?: number;
    /** Check again after this long (default 5 ms). */
    intervalMs?: number;
    /** What is awaited, for the timeout error (a function: read when the wait times out). */
    message?: string | (() => string);
}

/**
 * Resolves with the first truthy value `probe` returns (it may be async); rejects after `timeoutMs`
 * with `message` and the last value or error the probe gave. The probe runs at once, then every
 * `intervalMs`: a fake clock must not be installed on setTimeout while waiting.
 */
export async function waitFor<T>(
    probe: () => T | Promise<T>,
    { timeoutMs = 10000, intervalMs = 5, message = 'condition' }: WaitOptions = {},
): Promise<NonNullable<T>> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const value = await probe();
            if (value) return value as NonNullable<T>;
            last = value;
        } catch (err) {
            last = err;
        }
        if (Date.now() >= deadline) {
            const seen = last instanceof Error ? last.message : JSON.stringify(last);
            const what = typeof message === 'function' ? message() : message;
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${seen})`);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
}

export interface Deferred<T> {
    promise: Promise<T>;
    resolve: (value: T | PromiseLike<T>) => void;
    reject: (reason?: unknown) => void;
    /** True once resolve or reject was called. */
    readonly settled: boolean;
}

/** A promise with its resolve and reject handed out. */
export function deferred<T = void>(): Deferred<T> {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    let settled = false;
    const promise = new Promise<T>((res, rej) => {
        resolve = (value) => {
            settled = true;
            res(value);
        };
        reject = (reason) => {
            settled = true;
            rej(reason);
        };
    });
    return {
        promise,
        resolve,
        reject,
        get settled() {
            return settled;
        },
    };
}

/**
 * Waits `ms` of real time. Only for the one thing waitFor cannot do: show that something does NOT
 * happen (a second answer, a late login) within a quiet period.
 */
export function quietPeriod(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

import { isTransientError } from '../errors';
import type { HttpResponse } from './http-client';
import { DEFAULT_RETRY_POLICY, RetryPolicy, RetryScope, isTransientStatus, parseRetryAfter, retryDelayMs } from './retry-policy';
import { neverReachedServer } from './transport-errors';

export type Sleep = (ms: number) => Promise<void>;

const sleepWithTimer: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends, and on a transient fault (network error, timeout, 502/503/504) sends again within the
 * policy, as far as `retryable` allows: `true` any transient fault, `'unsent'` only a fault before
 * the request reached the server (a login's credentials), `false` never. The last reply is
 * returned as it is; the last error is thrown.
 */
export async function sendWithRetry(
    send: () => Promise<HttpResponse>,
    retryable: RetryScope,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    sleep: Sleep = sleepWithTimer,
): Promise<HttpResponse> {
    for (let retry = 1; ; retry++) {
        const canRetry = retryable && retry <= policy.limit;
        let response: HttpResponse;
        try {
            response = await send();
        } catch (error) {
            if (!canRetry || !isTransientError(error) || (retryable === 'unsent' && !neverReachedServer(error))) throw error;
            const delay = retryDelayMs(retry, undefined, policy);
            if (delay === undefined) throw error;
            await sleep(delay);
            continue;
        }
        if (!canRetry || retryable === 'unsent' || !isTransientStatus(response.status)) return response;
        const retryAfter = response.headers['retry-after'];
        const delay = retryDelayMs(retry, parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter), policy);
        if (delay === undefined) return response;
        await sleep(delay);
    }
}

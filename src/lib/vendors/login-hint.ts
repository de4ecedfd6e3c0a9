import { SessionError } from '../errors';
import type { ServerSettings, VendorAdapter } from './adapter';

/** The failed login's error with the adapter's hint appended, or the error itself when it has none. */
export function withLoginHint(error: SessionError, adapter: VendorAdapter, settings: ServerSettings): SessionError {
    const hint = adapter.loginHint?.(error, settings);
    if (!hint) return error;
    const { statusCode, retryAfter, transportCode, reason } = error;
    return new SessionError(error.code, `${error.message} ${hint}`, { statusCode, retryAfter, transportCode, reason });
}

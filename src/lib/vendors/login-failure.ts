import { SessionError } from '../errors';
import type { HttpResponse } from '../http/http-client';
import { parseRetryAfter } from '../http/retry-policy';

/** Header value as one string (first of several). */
export function headerValue(response: HttpResponse, name: string): string | undefined {
    const value = response.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
}

/** The `message` of a JSON error body, or the start of a text body; '' when there is none. */
export function replyMessage(response: HttpResponse): string {
    return rawReplyMessage(response).replace(/\.+$/, '');
}

function rawReplyMessage(response: HttpResponse): string {
    const text = response.body.toString('utf8').trim();
    if (!text) return '';
    try {
        const parsed = JSON.parse(text) as unknown;
        if (parsed && typeof parsed === 'object') {
            const fields = parsed as Record<string, unknown>;
            for (const name of ['message', 'error', 'errorMessage', 'errLogMessage']) {
                if (typeof fields[name] === 'string') return fields[name] as string;
            }
        }
    } catch {
        // not JSON: use the text itself
    }
    return text.slice(0, 200);
}

/**
 * The error for a refused login, by HTTP status, for the statuses every vendor uses alike.
 * Adapters handle their own special cases first and fall back to this.
 */
export function loginFailure(response: HttpResponse, vendor: string, user: string): SessionError {
    const status = response.status;
    const detail = replyMessage(response);
    const said = detail ? `: ${detail}` : '';
    const details = { statusCode: status };
    if (status === 401 || status === 403) {
        return new SessionError('INVALID_CREDENTIALS', `${vendor} rejected the login of "${user}"${said}.`, details);
    }
    if (status === 429) {
        const waitMs = parseRetryAfter(headerValue(response, 'retry-after'));
        return new SessionError('RATE_LIMITED', `${vendor} is rate limiting logins${said}.`, {
            ...details,
            retryAfter: waitMs === undefined ? undefined : Math.max(1, Math.ceil(waitMs / 1000)),
        });
    }
    if (status === 404) return new SessionError('NOT_FOUND', `${vendor} has no login service at this address${said}.`, details);
    if (status >= 500) return new SessionError('SERVER_ERROR', `${vendor} failed to log in "${user}" (HTTP ${status})${said}.`, details);
    return new SessionError('BAD_REQUEST', `${vendor} refused the login request of "${user}" (HTTP ${status})${said}.`, details);
}

/** The error for a logout the server refused with something other than "already gone". */
export function logoutFailure(response: HttpResponse, vendor: string): SessionError {
    const status = response.status;
    const detail = replyMessage(response);
    return new SessionError(
        status >= 500 ? 'SERVER_ERROR' : 'BAD_REQUEST',
        `${vendor} refused the logout (HTTP ${status})${detail ? `: ${detail}` : ''}.`,
        { statusCode: status },
    );
}

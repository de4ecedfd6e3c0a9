import { SessionError } from '../errors';
import type { HttpResponse } from '../http/http-client';
import { parseRetryAfter } from '../http/retry-policy';
import { clipQuote } from '../secret-scrubber';

/** The message field SmartServer and CM-Well document for their JSON error bodies. */
const DOCUMENTED_FIELDS = ['message'];

/** Header value as one string (first of several). */
export function headerValue(response: HttpResponse, name: string): string | undefined {
    const value = response.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
}

/**
 * The vendor's documented message field of a JSON error body (`message` unless the vendor names
 * others), clipped; '' when there is none. Nothing else of a reply is ever quoted: an error body
 * may echo the request (password, Authorization, cookie), and the scrubber removes the secrets it
 * knows from what is quoted.
 */
export function replyMessage(response: HttpResponse, fields: readonly string[] = DOCUMENTED_FIELDS): string {
    const text = response.body.toString('utf8').trim();
    if (!text.startsWith('{')) return '';
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        return '';
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return '';
    for (const name of fields) {
        const value = (parsed as Record<string, unknown>)[name];
        if (typeof value === 'string' && value.trim()) return clipQuote(value);
    }
    return '';
}

/**
 * The error for a refused login, by HTTP status, for the statuses every vendor uses alike.
 * Adapters handle their own special cases first and fall back to this.
 */
export function loginFailure(response: HttpResponse, vendor: string, user: string, messageFields?: readonly string[]): SessionError {
    const status = response.status;
    const detail = replyMessage(response, messageFields);
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
export function logoutFailure(response: HttpResponse, vendor: string, messageFields?: readonly string[]): SessionError {
    const status = response.status;
    const detail = replyMessage(response, messageFields);
    return new SessionError(status >= 500 ? 'SERVER_ERROR' : 'BAD_REQUEST', `${vendor} refused the logout (HTTP ${status})${detail ? `: ${detail}` : ''}.`, {
        statusCode: status,
    });
}

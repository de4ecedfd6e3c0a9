import { Text, english } from './texts';

/** The error codes of the public contract (README, "Errors"). Flows match on these strings. */
export type ErrorCode =
    | 'INVALID_CREDENTIALS'
    | 'LOCKED_OUT'
    | 'RATE_LIMITED'
    | 'ACCOUNT_DISABLED'
    | 'PASSWORD_EXPIRED'
    | 'PASSWORD_POLICY'
    | 'BAD_REQUEST'
    | 'NOT_FOUND'
    | 'SESSION_REJECTED'
    | 'SERVER_ERROR'
    | 'NETWORK'
    | 'TIMEOUT'
    | 'TLS'
    | 'INVALID_INPUT'
    | 'CONFIG'
    | 'GUARD_UNAVAILABLE'
    | 'AUTHORIZATION_REQUIRED';

/**
 * The short reason a node's status shows after the code ("error: NETWORK refused :8443"): a key
 * under `status.reason` in the locales, and the port it names.
 */
export interface StatusReason {
    key: 'refused' | 'unknownHost' | 'unreachable' | 'reset' | 'notTls' | 'tls' | 'certificate' | 'timeout';
    port?: string;
}

/**
 * What the login guard holds back after this error, and until when: only these credentials (a
 * rejected password; another one is tried at once) or every login of the user (a server block, the
 * failure budget).
 */
export interface HeldBack {
    scope: 'credentials' | 'user';
    until: number;
}

export interface SessionErrorDetails {
    /** HTTP status of the reply that caused the error, when there was one. */
    statusCode?: number;
    /** Seconds until a login may be tried again (lockouts, rate limits, cool-downs). */
    retryAfter?: number;
    /** The socket's own code of a transport failure (ECONNRESET, ECONNREFUSED, ...), for hints. */
    transportCode?: string;
    /** The transport failure in a few words, for the node status. */
    reason?: StatusReason;
    /** `AUTHORIZATION_REQUIRED` while a device flow waits: where a person goes and what they enter. */
    visit?: { uri: string; userCode: string };
    /** What the guard holds back after this error, and until when. */
    heldBack?: HeldBack;
    /** True when the login was not sent at all (the guard held it back). */
    notSent?: boolean;
    /** The message as a catalog text, for the editor to show in its language (Test login). */
    text?: Text;
}

/**
 * Every failure the package reports. The message is one sentence for the user and never holds a
 * password, cookie or token: callers build it from names and codes only.
 */
export class SessionError extends Error {
    readonly code: ErrorCode;
    statusCode?: number;
    retryAfter?: number;
    transportCode?: string;
    reason?: StatusReason;
    visit?: { uri: string; userCode: string };
    heldBack?: HeldBack;
    notSent?: boolean;
    text?: Text;

    constructor(code: ErrorCode, message: string, details: SessionErrorDetails = {}) {
        super(message);
        this.name = 'SessionError';
        this.code = code;
        if (details.statusCode !== undefined) this.statusCode = details.statusCode;
        if (details.retryAfter !== undefined) this.retryAfter = details.retryAfter;
        if (details.transportCode !== undefined) this.transportCode = details.transportCode;
        if (details.reason !== undefined) this.reason = details.reason;
        if (details.visit !== undefined) this.visit = details.visit;
        if (details.heldBack !== undefined) this.heldBack = details.heldBack;
        if (details.notSent !== undefined) this.notSent = details.notSent;
        if (details.text !== undefined) this.text = details.text;
    }
}

/** An error whose message is a catalog text: English in the runtime, the editor's language in Test login. */
export function textError(code: ErrorCode, message: Text, details: Omit<SessionErrorDetails, 'text'> = {}): SessionError {
    return new SessionError(code, english(message), { ...details, text: message });
}

export function isSessionError(value: unknown): value is SessionError {
    return value instanceof SessionError;
}

/** Codes that say the transport failed before any HTTP reply: worth retrying when it is safe. */
export function isTransientError(error: unknown): boolean {
    return isSessionError(error) && (error.code === 'NETWORK' || error.code === 'TIMEOUT');
}

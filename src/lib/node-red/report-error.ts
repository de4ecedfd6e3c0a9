import { SessionError, isSessionError } from '../errors';
import type { Msg } from './types';

/** Any thrown value as a SessionError; an unexpected one keeps only its message, never a stack of secrets. */
export function asSessionError(error: unknown): SessionError {
    if (isSessionError(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new SessionError('SERVER_ERROR', `Unexpected error: ${message}`);
}

/**
 * The one place a failure leaves a node: codes copied onto the msg (older Node-RED does not copy
 * `err.code` to the Catch node's `msg.error`), then `done(err)` so Catch nodes fire.
 */
export function failMessage(msg: Msg, error: SessionError, done: (err?: Error) => void): void {
    msg.errorCode = error.code;
    if (error.statusCode !== undefined) msg.statusCode = error.statusCode;
    if (error.retryAfter !== undefined) msg.retryAfter = error.retryAfter;
    done(error);
}

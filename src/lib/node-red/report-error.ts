import { SessionError, isSessionError } from '../errors';
import type { SecretScrubber } from '../secret-scrubber';
import type { Msg } from './types';

/**
 * Any thrown value as a SessionError; an unexpected one keeps only its message, never a stack of
 * secrets. With a scrubber, the message leaves without any secret the scrubber knows.
 */
export function asSessionError(error: unknown, scrubber?: SecretScrubber): SessionError {
    let failure: SessionError;
    if (isSessionError(error)) failure = error;
    else failure = new SessionError('SERVER_ERROR', `Unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    return scrubber ? scrubber.scrubError(failure) : failure;
}

/**
 * The one place a failure leaves a node: its text scrubbed of secrets, codes copied onto the msg
 * (older Node-RED does not copy `err.code` to the Catch node's `msg.error`), then `done(err)` so
 * Catch nodes fire.
 */
export function failMessage(msg: Msg, error: SessionError, done: (err?: Error) => void, scrubber?: SecretScrubber): void {
    // Node-RED logs and shows `String(err)` ("name: message"): the code tells the user more than a class name.
    error.name = error.code;
    if (scrubber) scrubber.scrubError(error);
    msg.errorCode = error.code;
    if (error.statusCode !== undefined) msg.statusCode = error.statusCode;
    if (error.retryAfter !== undefined) msg.retryAfter = error.retryAfter;
    done(error);
}

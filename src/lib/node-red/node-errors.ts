import type { ErrorCode } from '../errors';

/** Codes that only a login can produce: a node that never logs in never reports them. */
const LOGIN_CODES: readonly ErrorCode[] = [
    'INVALID_CREDENTIALS',
    'LOCKED_OUT',
    'RATE_LIMITED',
    'ACCOUNT_DISABLED',
    'PASSWORD_EXPIRED',
    'PASSWORD_POLICY',
    'BAD_REQUEST',
    'NOT_FOUND',
];
const EXCHANGE_CODES: readonly ErrorCode[] = ['SESSION_REJECTED', 'SERVER_ERROR', 'NETWORK', 'TIMEOUT', 'TLS', 'INVALID_INPUT', 'CONFIG'];
/** The login guard's own failure: it could not record a login, so it sent none. */
const GUARD_CODES: readonly ErrorCode[] = ['GUARD_UNAVAILABLE'];

/**
 * The error codes each flow node can give its Catch node, in the order its help lists them: the
 * one source the help files are checked against (test/unit/node-red/node-errors.test.ts). A logout
 * never logs in (a session that is not logged in is ended without a request), so it has no login codes.
 */
export const NODE_ERROR_CODES: Readonly<Record<string, readonly ErrorCode[]>> = {
    'rest-session-login': [...LOGIN_CODES, ...EXCHANGE_CODES, ...GUARD_CODES, 'AUTHORIZATION_REQUIRED'],
    'rest-session-request': [...LOGIN_CODES, ...EXCHANGE_CODES, ...GUARD_CODES, 'AUTHORIZATION_REQUIRED'],
    'rest-session-logout': EXCHANGE_CODES,
};

import { SessionError } from '../errors';
import type { LoginCredentials } from '../vendors/adapter';

/** `msg.credentials` checked for shape; undefined when the msg has none. */
export function readMsgCredentials(value: unknown): LoginCredentials | undefined {
    if (value === undefined || value === null) return undefined;
    const bad = (why: string) => new SessionError('INVALID_INPUT', `msg.credentials must be {username, password[, newPassword]}: ${why}.`);
    if (typeof value !== 'object' || Array.isArray(value)) throw bad('it is not an object');
    const { username, password, newPassword } = value as Record<string, unknown>;
    if (typeof username !== 'string' || !username.trim()) throw bad('username is missing');
    if (typeof password !== 'string') throw bad('password is not a string');
    if (newPassword !== undefined && newPassword !== null && typeof newPassword !== 'string') throw bad('newPassword is not a string');
    return { username: username.trim(), password, newPassword: newPassword || undefined };
}

import { SessionError } from '../errors';
import { MIN_SHARED_KEY_LENGTH } from '../store/redis/fleet-keys';
import type { RedisStoreConfig } from '../store/redis';

export type ShareMode = 'guard' | 'session';
export const DEFAULT_KEY_PREFIX = 'rest-session';

/** The `rest-session-store` node's properties as the editor saves them. */
export interface StoreNodeSettings {
    engine?: string;
    url?: string;
    keyPrefix?: string;
    share?: string;
}

export interface StoreCredentials {
    username?: string;
    password?: string;
    sharedKey?: string;
}

/**
 * The store node's settings as a store configuration, or a `CONFIG` error that says what is wrong:
 * only the `redis` engine, a `redis://` or `rediss://` URL, a key prefix without spaces or braces
 * (braces would break the account's hash tag), a shared key of at least 32 characters.
 */
export function readStoreSettings(settings: StoreNodeSettings, credentials: StoreCredentials): RedisStoreConfig & { share: ShareMode } {
    const engine = settings.engine || 'redis';
    if (engine !== 'redis') throw new SessionError('CONFIG', `The session store engine "${engine}" is not supported: use redis (Redis 6.2+ or Valkey).`);
    const url = String(settings.url ?? '').trim();
    let parsed: URL | undefined;
    try {
        parsed = new URL(url);
    } catch {
        parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')) {
        throw new SessionError('CONFIG', 'The session store URL must look like redis://host:6379/0 or rediss://host:6380/0.');
    }
    const keyPrefix = String(settings.keyPrefix ?? '').trim() || DEFAULT_KEY_PREFIX;
    if (/[\s{}]/.test(keyPrefix)) throw new SessionError('CONFIG', 'The session store key prefix must not hold spaces or braces.');
    const sharedKey = credentials.sharedKey ?? '';
    if (sharedKey.length < MIN_SHARED_KEY_LENGTH) {
        throw new SessionError(
            'CONFIG',
            `The session store's shared key must be at least ${MIN_SHARED_KEY_LENGTH} characters long (the same on every instance of the fleet).`,
        );
    }
    const share = settings.share === 'session' ? 'session' : 'guard';
    if (settings.share !== undefined && settings.share !== '' && settings.share !== share) {
        throw new SessionError('CONFIG', `The session store's share must be guard or session (got "${settings.share}").`);
    }
    return { url, username: credentials.username || undefined, password: credentials.password || undefined, sharedKey, keyPrefix, share };
}

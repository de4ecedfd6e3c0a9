import type { ConnectionOptions } from 'node:tls';

import { FleetKeys } from './fleet-keys';
import { RedisConnection } from './redis-connection';
import { RedisStore } from './redis-store';
import { ALL_SCRIPTS } from './scripts';

export interface RedisStoreConfig {
    url: string;
    username?: string;
    password?: string;
    sharedKey: string;
    keyPrefix: string;
    tls?: ConnectionOptions;
    commandTimeoutMs?: number;
}

/** A Redis store from its settings; throws `CONFIG` for a short shared key. Connects on first use. */
export function createRedisStore(config: RedisStoreConfig): RedisStore {
    const keys = new FleetKeys(config.sharedKey);
    const connection = new RedisConnection({
        url: config.url,
        username: config.username,
        password: config.password,
        tls: config.tls,
        commandTimeoutMs: config.commandTimeoutMs,
        scripts: ALL_SCRIPTS,
    });
    return new RedisStore(connection, keys, config.keyPrefix);
}

export { RedisStore } from './redis-store';
export type { ChargeOrAdopt, LeaveVerdict, SharedSessionKey, SharedSessionRecord } from './redis-store';

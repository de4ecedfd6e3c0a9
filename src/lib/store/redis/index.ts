import type { ConnectionOptions } from 'node:tls';

import { FleetKeys } from './fleet-keys';
import { FleetKeyCheck, RedisConnection, redactedUrl } from './redis-connection';
import { SessionError } from '../../errors';
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
        keyCheck: fleetKeyCheck(keys, config),
    });
    return new RedisStore(connection, keys, config.keyPrefix);
}

/** What the first instance of a fleet seals under `<keyPrefix>:fleet-key`; every other one must open it. */
const KEY_CHECK_TEXT = 'rest-session fleet key';

function fleetKeyCheck(keys: FleetKeys, config: RedisStoreConfig): FleetKeyCheck {
    const name = `${config.keyPrefix}:fleet-key`;
    return {
        name,
        sealed: keys.seal(name, KEY_CHECK_TEXT),
        opens: (sealed) => keys.open(name, sealed) === KEY_CHECK_TEXT,
        mismatch: () =>
            new SessionError(
                'CONFIG',
                `The session store at ${redactedUrl(config.url)} (key prefix "${config.keyPrefix}") belongs to a fleet with another shared key: give every instance the same shared key (a new key for the whole fleet needs a new key prefix).`,
            ),
    };
}

export { RedisStore } from './redis-store';
export type { ChargeOrAdopt, LeaveVerdict, SharedSessionKey, SharedSessionRecord } from './redis-store';

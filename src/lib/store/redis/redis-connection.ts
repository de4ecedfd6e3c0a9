import { createHash } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';

import type { Redis, RedisOptions } from 'ioredis';

import { SessionError } from '../../errors';

/** How long a command (or the connection) may take before the guard counts Redis as unreachable. */
export const COMMAND_TIMEOUT_MS = 2000;
/** The only `maxmemory-policy` that never evicts a budget charge or a cool-down. */
const SAFE_POLICY = 'noeviction';

export interface RedisConnectionOptions {
    /** `redis://[user:pass@]host:port/db` or `rediss://…`. */
    url: string;
    username?: string;
    password?: string;
    /** TLS options (from a tls-config node) for `rediss://`. */
    tls?: ConnectionOptions;
    commandTimeoutMs?: number;
    /** Scripts loaded on every (re)connection, so a command is one round trip (EVALSHA) from the start. */
    scripts?: readonly string[];
    /** The fleet's key check: a value sealed with the fleet's key under `name`, written by the first instance. */
    keyCheck?: FleetKeyCheck;
}

/** Proves an instance holds the fleet's key: the first one stores `sealed`, every other one must open what is there. */
export interface FleetKeyCheck {
    name: string;
    sealed: string;
    opens(sealed: string): boolean;
    /** The `CONFIG` error of an instance whose key is not the fleet's. */
    mismatch(): SessionError;
}

/**
 * One ioredis client, set up to fail fast rather than queue: no offline queue, one try per command,
 * a command timeout, no resending after a reconnect; it reconnects in the background, so the next
 * msg after Redis is back works. Loads ioredis only when a store is used. Checks, on every
 * (re)connection, that the server never evicts keys. Every failure is a `SessionError`:
 * `GUARD_UNAVAILABLE`, or `CONFIG` for an evicting server.
 */
export class RedisConnection {
    readonly location: string;
    private client: Redis | undefined;
    private checked: Promise<void> | undefined;
    private readonly shas = new Map<string, string>();
    private closed = false;

    constructor(private readonly options: RedisConnectionOptions) {
        this.location = redactedUrl(options.url);
    }

    /** Runs a Lua script (EVALSHA, loading it on NOSCRIPT); the reply's items as strings. */
    async run(script: string, keys: string[], args: string[]): Promise<string[]> {
        const client = await this.ready();
        const sha = this.sha(script);
        let reply: unknown;
        try {
            reply = await client.evalsha(sha, keys.length, ...keys, ...args).catch((error: unknown) => {
                if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return client.eval(script, keys.length, ...keys, ...args);
                throw error;
            });
        } catch (error) {
            throw this.unavailable(error);
        }
        return Array.isArray(reply) ? reply.map((item) => String(item)) : [String(reply)];
    }

    /** One plain command (GET, SET, DEL). */
    async call(command: string, args: string[]): Promise<unknown> {
        const client = await this.ready();
        try {
            return await client.call(command, ...args);
        } catch (error) {
            throw this.unavailable(error);
        }
    }

    /** Connected and checked, or the error a command would get. */
    async check(): Promise<void> {
        await this.ready();
    }

    async close(): Promise<void> {
        this.closed = true;
        const client = this.client;
        this.client = undefined;
        if (!client) return;
        await client.quit().catch(() => client.disconnect());
    }

    /** The client, connected and checked; `GUARD_UNAVAILABLE` when Redis cannot be reached in time. */
    private async ready(): Promise<Redis> {
        if (this.closed) throw new SessionError('CONFIG', 'The session store was stopped (redeploy or shutdown).');
        const client = (this.client ??= this.connect());
        if (client.status !== 'ready') await this.waitReady(client);
        this.checked ??= this.checkEviction(client);
        try {
            await this.checked;
        } catch (error) {
            // A failed check is asked again on the next use; an evicting server stays refused until it changes.
            this.checked = undefined;
            throw error;
        }
        return client;
    }

    private connect(): Redis {
        // Loaded here: a flow without a session store never loads ioredis.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { Redis: RedisClient } = require('ioredis') as typeof import('ioredis');
        const timeout = this.options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
        const options: RedisOptions = {
            lazyConnect: true,
            enableOfflineQueue: false,
            maxRetriesPerRequest: 1,
            autoResendUnfulfilledCommands: false,
            commandTimeout: timeout,
            connectTimeout: timeout,
            retryStrategy: (times) => Math.min(100 * times, 2000),
        };
        if (this.options.username) options.username = this.options.username;
        if (this.options.password) options.password = this.options.password;
        if (this.options.tls || this.options.url.startsWith('rediss:')) options.tls = { ...this.options.tls };
        const client = new RedisClient(this.options.url, options);
        // Errors reach the callers of commands; an unhandled 'error' event must never crash Node-RED.
        client.on('error', () => undefined);
        // Another server may answer after a reconnect (a failover): check it again.
        client.on('ready', () => {
            this.checked = undefined;
        });
        client.connect().catch(() => undefined);
        return client;
    }

    private waitReady(client: Redis): Promise<void> {
        const timeout = this.options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
        return new Promise((resolve, reject) => {
            const done = (error?: unknown): void => {
                clearTimeout(timer);
                client.off('ready', onReady);
                if (error) reject(this.unavailable(error));
                else resolve();
            };
            const onReady = (): void => done();
            const timer = setTimeout(() => done(new Error('no connection')), timeout);
            client.once('ready', onReady);
            if (client.status === 'ready') done();
            else if (client.status === 'wait' || client.status === 'end') client.connect().catch(() => undefined);
        });
    }

    /**
     * A server that evicts keys could silently drop a charge or a cool-down: refused with `CONFIG`.
     * Then the scripts are loaded (a restarted server has none).
     */
    private async checkEviction(client: Redis): Promise<void> {
        let info: string;
        try {
            info = await client.info('memory');
            await Promise.all((this.options.scripts ?? []).map((script) => client.script('LOAD', script)));
        } catch (error) {
            throw this.unavailable(error);
        }
        await this.checkKey(client);
        const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
        if (policy !== SAFE_POLICY) {
            throw new SessionError(
                'CONFIG',
                `The session store at ${this.location} may evict keys (maxmemory-policy ${policy ?? 'unknown'}): set maxmemory-policy to noeviction, or a charge of the login budget could be lost.`,
            );
        }
    }

    /**
     * An instance with a mistyped key would use other key names: a budget of its own, and an OAuth2
     * chain of its own that sends a refresh token the fleet rotated away long ago. It is refused.
     */
    private async checkKey(client: Redis): Promise<void> {
        const check = this.options.keyCheck;
        if (!check) return;
        let found: string | null;
        try {
            await client.set(check.name, check.sealed, 'NX');
            found = await client.get(check.name);
        } catch (error) {
            throw this.unavailable(error);
        }
        if (found !== null && !check.opens(found)) throw check.mismatch();
    }

    private unavailable(error: unknown): SessionError {
        if (error instanceof SessionError) return error;
        return new SessionError(
            'GUARD_UNAVAILABLE',
            `The shared login guard at ${this.location} is unreachable: not logging in, to keep the fleet within its failure budget.`,
        );
    }

    private sha(script: string): string {
        let sha = this.shas.get(script);
        if (!sha) {
            sha = createHash('sha1').update(script).digest('hex');
            this.shas.set(script, sha);
        }
        return sha;
    }
}

/** The URL without its user and password, for messages. */
export function redactedUrl(url: string): string {
    try {
        const parsed = new URL(url);
        parsed.username = '';
        parsed.password = '';
        return parsed.toString().replace(/\/$/, '');
    } catch {
        return 'the configured Redis URL';
    }
}

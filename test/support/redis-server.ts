/**
 * A real `redis-server` (Debian's package) for the shared store's tests: started as a child process
 * on a free port with no persistence (or with an append-only file when a test restarts it and expects
 * its data back), stopped by its pid. Helpers kill it, pause it (SIGSTOP) and start it again on the
 * same port. Never the system service.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';

import { Redis } from 'ioredis';

import { freePort } from '../browser/support/runtime';
import { waitFor } from './wait';

export interface RedisServerOptions {
    /** Keep the data across a restart (`--appendonly yes`, fsync always). */
    persist?: boolean;
    /** Extra `--name value` settings, e.g. `{ 'maxmemory-policy': 'allkeys-lru' }`. */
    settings?: Record<string, string>;
}

/** Sends one inline command and resolves with the raw reply (enough for PING and INFO). */
function command(port: number, line: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let reply = '';
        const timer = setTimeout(() => socket.destroy(new Error('no reply')), 2000);
        socket.on('connect', () => socket.write(`${line}\r\n`));
        socket.on('data', (chunk) => {
            reply += chunk.toString('latin1');
            if (/^[+\-:]/.test(reply) ? reply.endsWith('\r\n') : bulkComplete(reply)) {
                clearTimeout(timer);
                socket.end();
                resolve(reply);
            }
        });
        socket.on('error', (error) => {
            clearTimeout(timer);
            reject(error);
        });
    });
}

function bulkComplete(reply: string): boolean {
    const match = /^\$(-?\d+)\r\n/.exec(reply);
    if (!match) return false;
    const length = Number(match[1]);
    return length < 0 || Buffer.byteLength(reply, 'latin1') >= match[0].length + length + 2;
}

/** The port was taken by another process before redis-server could bind it. */
class PortTaken extends Error {
    constructor(port: number, why: string) {
        super(`redis-server could not have port ${port}: ${why}`);
    }
}

export class RedisServer {
    private child: ChildProcess | undefined;
    private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rest-session-redis-'));
    log = '';

    private constructor(
        readonly port: number,
        private readonly options: RedisServerOptions,
    ) {}

    /** Starts a fresh redis-server on a free port and waits until it answers PING. */
    static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
        // redis-server cannot bind port 0 and report it: a port found free here may be taken before it
        // binds (another test on a busy machine), so a start that lost the port tries another.
        for (let attempt = 1; ; attempt++) {
            const server = new RedisServer(await freePort(), options);
            try {
                await server.restart();
                return server;
            } catch (error) {
                if (!(error instanceof PortTaken) || attempt >= 5) throw error;
            }
        }
    }

    get url(): string {
        return `redis://127.0.0.1:${this.port}`;
    }

    get pid(): number | undefined {
        return this.child?.pid;
    }

    /** Starts it (again) on the same port and directory; resolves once it answers PING. */
    async restart(): Promise<void> {
        const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir, '--daemonize', 'no'];
        args.push('--appendonly', this.options.persist ? 'yes' : 'no');
        if (this.options.persist) args.push('--appendfsync', 'always');
        for (const [name, value] of Object.entries(this.options.settings ?? {})) args.push(`--${name}`, value);
        const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout?.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
        child.stderr?.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
        this.child = child;
        const state = await waitFor(
            async () => {
                if (child.exitCode !== null || child.signalCode !== null) return 'exited';
                return (await command(this.port, 'PING')).startsWith('+PONG') && 'ready';
            },
            {
                timeoutMs: 15000,
                intervalMs: 50,
                message: () => `redis-server on port ${this.port} to answer PING (${this.log.slice(-400)})`,
            },
        );
        if (state === 'exited') throw new PortTaken(this.port, this.log.slice(-400));
        // The answer must come from this child, not from another server that took the port first.
        const info = await command(this.port, 'INFO server');
        if (!info.includes(`process_id:${child.pid}`)) {
            child.kill('SIGKILL');
            throw new PortTaken(this.port, 'another process answers on it');
        }
    }

    /** One command's raw reply (inline protocol), e.g. `info('memory')`. */
    send(line: string): Promise<string> {
        return command(this.port, line);
    }

    /** Bytes clients sent that the server has not read yet (it is paused): `ss` on its port. */
    bufferedBytes(): number {
        const table = execFileSync('ss', ['-tnH', 'state', 'established', `( sport = :${this.port} )`], { encoding: 'utf8' });
        return table
            .split('\n')
            .filter(Boolean)
            .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0] || 0), 0);
    }

    /** How often the server ran `command` (`get`, `script|load`) since it started (INFO commandstats). */
    async commandCalls(command: string): Promise<number> {
        const info = await withClient(this, (client) => client.info('commandstats'));
        const line = info.split('\n').find((entry) => entry.startsWith(`cmdstat_${command}:`));
        return Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? 0);
    }

    /** The keys matching `pattern` (KEYS: a test server holds few). */
    keysMatching(pattern: string): Promise<string[]> {
        return withClient(this, (client) => client.keys(pattern));
    }

    /** SIGKILL: gone at once, like a crash. */
    async kill(): Promise<void> {
        await this.signalAndWait('SIGKILL');
    }

    /** SIGSTOP: still listening, answering nothing (a hung server). */
    pause(): void {
        this.child?.kill('SIGSTOP');
    }

    resume(): void {
        this.child?.kill('SIGCONT');
    }

    /** Stops it (resuming a paused one first) and removes its directory. */
    async stop(): Promise<void> {
        this.resume();
        await this.signalAndWait('SIGTERM');
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    private async signalAndWait(signal: NodeJS.Signals): Promise<void> {
        const child = this.child;
        this.child = undefined;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill(signal);
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
    }
}

/** Runs `use` with a client of its own (for tests that read what the store wrote). */
export async function withClient<T>(redis: RedisServer, use: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis(redis.url);
    try {
        return await use(client);
    } finally {
        client.disconnect();
    }
}

/** Every key and every value in the server (SCAN, then each by its type), as one text. */
export function dumpAll(redis: RedisServer): Promise<string> {
    return withClient(redis, async (client) => {
        let text = '';
        let cursor = '0';
        do {
            const [next, keys] = await client.scan(cursor, 'COUNT', 100);
            cursor = next;
            for (const key of keys) {
                const type = await client.type(key);
                const value =
                    type === 'string'
                        ? await client.get(key)
                        : type === 'hash'
                          ? await client.hgetall(key)
                          : type === 'zset'
                            ? await client.zrange(key, 0, -1, 'WITHSCORES')
                            : type;
                text += `${key} ${JSON.stringify(value)}\n`;
            }
        } while (cursor !== '0');
        return text;
    });
}

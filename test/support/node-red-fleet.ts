/**
 * Node-RED processes started by their binary (node_modules/node-red/red.js), each with its own
 * user dir (this package linked in, its own guard file), for promises that span processes: several
 * instances sharing one store, a crash, a pause. A test deploys flows through the admin API and
 * drives them over HTTP (`http in` endpoints), and stops, kills, pauses and resumes the processes.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ChildProcess, spawn } from 'node:child_process';

import { linkPackage, tempDir, writeProjectPackage, writeSettings } from '../browser/support/runtime';
import { waitFor } from './wait';

const HTTP_TIMEOUT_MS = 45000;

export interface HttpReply {
    status: number;
    text: string;
    json(): any;
}

/** One HTTP exchange; resolves with the status and body (never rejects on a status). */
export function httpCall(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = http.request(
            url,
            {
                method,
                agent: false,
                headers: data ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(data)), ...headers } : headers,
            },
            (res) => {
                let text = '';
                res.setEncoding('utf8');
                res.on('data', (chunk: string) => (text += chunk));
                res.on('end', () => resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) }));
            },
        );
        // A flow that never answers fails the test with what was asked, instead of hanging it.
        req.setTimeout(HTTP_TIMEOUT_MS, () => req.destroy(new Error(`no answer to ${method} ${url} within ${HTTP_TIMEOUT_MS} ms`)));
        req.on('error', reject);
        req.end(data);
    });
}

/** A `rest-session-store` config node on `redisUrl` with the fleet's shared key. */
export function storeNode(redisUrl: string, keyPrefix: string, share: 'guard' | 'session', sharedKey: string): Record<string, unknown> {
    return { id: 'store', type: 'rest-session-store', engine: 'redis', url: redisUrl, keyPrefix, share, credentials: { sharedKey } };
}

/**
 * A Catch node (for `scope`, null: the whole tab) and what answers the caught msg's `http in`: 500
 * with `{errorCode, retryAfter, message}`.
 */
export function failureReply(z: string, scope: string[] | null = null): unknown[] {
    return [
        { id: 'catcher', z, type: 'catch', scope, uncaught: false, wires: [['failed']] },
        {
            id: 'failed',
            z,
            type: 'function',
            func: 'msg.headers = {}; msg.payload = { errorCode: msg.errorCode, retryAfter: msg.retryAfter, message: msg.error && msg.error.message }; msg.statusCode = 500; return msg;',
            outputs: 1,
            wires: [['fail-out']],
        },
        { id: 'fail-out', z, type: 'http response', headers: {}, wires: [] },
    ];
}

export class NodeRedProcess {
    output = '';
    url = '';
    private child: ChildProcess | undefined;

    private constructor(readonly dir: string) {}

    /** A fresh user dir with this package linked in, and Node-RED started on a free port; `settings`: more settings.js lines. */
    static async start(name: string, settings = ''): Promise<NodeRedProcess> {
        const dir = tempDir(`rest-session-fleet-${name}-`);
        linkPackage(dir);
        writeProjectPackage(dir);
        writeSettings(dir, settings);
        const instance = new NodeRedProcess(dir);
        await instance.launch();
        return instance;
    }

    get pid(): number | undefined {
        return this.child?.pid;
    }

    get running(): boolean {
        return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
    }

    /** Starts Node-RED in its dir (again, after a stop or a kill); resolves once it listens and its flows started. */
    async launch(): Promise<void> {
        const from = process.env.NODE_RED_PREFIX ? { paths: [path.resolve(process.env.NODE_RED_PREFIX)] } : undefined;
        const child = spawn(process.execPath, [require.resolve('node-red/red.js', from), '-u', this.dir, '-p', '0'], {
            cwd: this.dir,
            env: { ...process.env, NODE_RED_DISABLE_TELEMETRY: '1' },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        this.child = child;
        const start = this.output.length;
        child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
        child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
        const match = await waitFor(
            () => {
                if (child.exitCode !== null) throw new Error(`Node-RED exited (${child.exitCode})`);
                return /Server now running at (http:\/\/127\.0\.0\.1:\d+)\//.exec(this.output.slice(start));
            },
            { timeoutMs: 60000, intervalMs: 50, message: () => `Node-RED in ${this.dir} to start:\n${this.output.slice(start, start + 2000)}` },
        );
        this.url = match[1];
        // A restarted instance serves its saved flows' endpoints only once they started.
        await waitFor(() => this.output.slice(start).includes('Started flows'), { timeoutMs: 30000, intervalMs: 20, message: 'flows to start' });
    }

    /** Deploys `flows` (full) and waits until they started. */
    async deploy(flows: unknown[]): Promise<void> {
        const mark = this.output.length;
        const reply = await httpCall(`${this.url}/flows`, 'POST', flows, { 'Node-RED-Deployment-Type': 'full' });
        if (reply.status !== 204) throw new Error(`deploy failed: ${reply.status} ${reply.text}`);
        await waitFor(() => this.output.slice(mark).includes('Started flows'), { timeoutMs: 30000, intervalMs: 20, message: 'flows to start' });
    }

    /** Calls an `http in` endpoint of the deployed flows. */
    call(route: string, body: unknown = {}): Promise<HttpReply> {
        return httpCall(`${this.url}${route}`, 'POST', body);
    }

    /** SIGINT: Node-RED stops its flows (closing logouts included) and exits. */
    async stop(): Promise<void> {
        await this.signal('SIGINT', 20000);
    }

    /** SIGKILL: a crash, nothing closes. */
    async kill(): Promise<void> {
        await this.signal('SIGKILL', 5000);
    }

    pause(): void {
        this.child?.kill('SIGSTOP');
    }

    resume(): void {
        this.child?.kill('SIGCONT');
    }

    /** Stops it if still running and removes its dir. */
    async dispose(): Promise<void> {
        this.resume();
        await this.stop();
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    private async signal(signal: NodeJS.Signals, graceMs: number): Promise<void> {
        const child = this.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill(signal);
        const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(killer);
    }
}

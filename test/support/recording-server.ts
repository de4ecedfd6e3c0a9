/**
 * A loopback server that records every request it gets (method, path, headers, body) and answers
 * with what the test's handler returns: the "attacker" of the side-door tests, and a vendor
 * backend whose replies echo everything they received. Node core modules only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
    method: string;
    path: string;
    headers: http.IncomingHttpHeaders;
    body: string;
}

export interface Reply {
    status: number;
    headers?: Record<string, string | string[]>;
    body?: string;
}

export type Handler = (request: Received, server: RecordingServer) => Reply | undefined;

export class RecordingServer {
    readonly received: Received[] = [];
    private server: http.Server | undefined;
    private readonly sockets = new Set<import('node:net').Socket>();
    port = 0;

    constructor(private handler: Handler = () => undefined) {}

    get origin(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    /** Replaces the handler (the recorded requests are kept). */
    answer(handler: Handler): this {
        this.handler = handler;
        return this;
    }

    /** Every recorded request as one text, to look for secrets in. */
    text(): string {
        return this.received.map((r) => `${r.method} ${r.path}\n${JSON.stringify(r.headers)}\n${r.body}`).join('\n');
    }

    requestsTo(path: string): Received[] {
        return this.received.filter((r) => r.path.split('?')[0] === path);
    }

    async start(): Promise<this> {
        this.server = http.createServer((req, res) => {
            req.on('error', () => undefined);
            res.on('error', () => undefined);
            const chunks: Buffer[] = [];
            req.on('data', (chunk: Buffer) => chunks.push(chunk));
            req.on('end', () => {
                const request: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
                this.received.push(request);
                const reply = this.handler(request, this) ?? { status: 404, body: 'not found' };
                res.writeHead(reply.status, reply.headers ?? {});
                res.end(reply.body);
            });
        });
        this.server.on('connection', (socket) => {
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
        await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
        this.port = (this.server.address() as AddressInfo).port;
        return this;
    }

    async stop(): Promise<void> {
        const server = this.server;
        if (!server) return;
        this.server = undefined;
        const closed = new Promise((resolve) => server.close(resolve));
        for (const socket of this.sockets) socket.destroy();
        await closed;
    }
}

/** A JSON reply. */
export function json(status: number, value: unknown, headers: Record<string, string | string[]> = {}): Reply {
    return { status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

/** Everything a request carried, as one string an echoing server puts into its reply. */
export function echoOf(request: Received): string {
    return `body=${request.body} authorization=${request.headers.authorization ?? ''} cookie=${request.headers.cookie ?? ''} authtoken=${request.headers.authtoken ?? ''} token=${request.headers['x-cm-well-token'] ?? ''}`;
}

/**
 * The IAP/WS side of the SmartServer simulator (docs/vendors.md §1a): the `/iap/ws` upgrade with the
 * cookie check, `PUT /iap/dp/updates/subscribe` (one list per user, the last subscribe wins, `[]`
 * clears it), the on-demand read by qualifier list, and `UPD:DATAPOINT` pushes for every value
 * change, whether it came from a REST write or from `setValue`. Every unknown of §1a is a knob.
 *
 * Attached to a SmartServerSimulator by a few hooks in smartserver.js; the datapoint records are
 * the same objects the REST `/iap/devs/.../value` routes read and write.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

import { WebSocket, WebSocketServer } from 'ws';

/** How the server answers an upgrade without a live session (unknown: both are plausible). */
export type UpgradeRefusal = 'http401' | 'close1008';
/** How `timestamp` is written: ≥ 4.10 ISO with `Z`, the `Z[UTC]` variant, or absent (before 4.10). */
export type TimestampFormat = 'iso' | 'iso-zone' | 'none';
/** What happens to a session's open sockets when it ends (logout, expiry). */
export type OnSessionEnd = 'close' | 'keep' | 'drop';

export interface WsOptions {
    upgradeRefusal: UpgradeRefusal;
    /** Send a frame right after the upgrade (the vendor sends none). */
    hello: boolean;
    /** Most entries in one `UPD:DATAPOINT` frame; changes made in one tick are sent together. */
    batchSize: number;
    timestampFormat: TimestampFormat;
    /** The subscription list belongs to the user account (vendor docs) or to one cmsSID. */
    scope: 'user' | 'session';
    onSessionEnd: OnSessionEnd;
    /** A read with `max_age` pushes the values this long after its reply. */
    readPushDelayMs: number;
}

export const DEFAULT_WS_OPTIONS: WsOptions = {
    upgradeRefusal: 'http401',
    hello: false,
    batchSize: 1,
    timestampFormat: 'iso',
    scope: 'user',
    onSessionEnd: 'close',
    readPushDelayMs: 50,
};

/** A datapoint as the simulator stores it; device datapoints are the REST model's own objects. */
export interface DatapointRecord {
    value: unknown;
    presetValue?: unknown;
    locValue?: unknown;
    updatedAt?: number;
    qualifier?: string;
    [key: string]: unknown;
}

/** What the host simulator lends: its sessions and the REST reply helpers. */
export interface WsHost {
    /** The live session named by a request's cmsSID cookie, or null. */
    sessionOf(req: IncomingMessage): { id: string; user: string } | null;
    isLive(sid: string): boolean;
}

interface RouteContext {
    req: IncomingMessage;
    body: Buffer;
    query: URLSearchParams;
}

export interface RouteReply {
    status: number;
    json?: unknown;
}

interface Client {
    socket: WebSocket;
    sid: string;
    user: string;
}

export interface WsStats {
    upgrades: number;
    refusedUpgrades: number;
    subscribeCalls: number;
    reads: number;
    framesSent: number;
    updatesSent: number;
}

function emptyStats(): WsStats {
    return { upgrades: 0, refusedUpgrades: 0, subscribeCalls: 0, reads: 0, framesSent: 0, updatesSent: 0 };
}

export class SmartServerWs {
    readonly options: WsOptions;
    stats: WsStats = emptyStats();
    private readonly wss = new WebSocketServer({ noServer: true, handleProtocols: () => false });
    private readonly clients = new Set<Client>();
    private readonly lists = new Map<string, Set<string>>();
    private readonly store = new Map<string, DatapointRecord>();
    /** Per socket, the entries of every change since the last flush (each change is pushed, none coalesced). */
    private readonly pending = new Map<Client, Record<string, unknown>[]>();
    private readonly timers = new Set<NodeJS.Timeout>();
    private flushScheduled = false;
    private server: Server | undefined;
    private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head);

    constructor(
        private readonly host: WsHost,
        options: Partial<WsOptions> = {},
    ) {
        this.options = { ...DEFAULT_WS_OPTIONS, ...options };
    }

    /** Registers a datapoint under its qualifier (the REST model's record is shared, not copied). */
    addDatapoint(qualifier: string, record: DatapointRecord): void {
        record.qualifier = qualifier;
        record.updatedAt ??= Date.now();
        this.store.set(qualifier, record);
    }

    datapoint(qualifier: string): DatapointRecord | undefined {
        return this.store.get(qualifier);
    }

    /** Changes a datapoint (created if unknown) and pushes it to every subscribed socket. */
    setValue(qualifier: string, value: unknown, extra: { presetValue?: unknown; locValue?: unknown; timestamp?: number } = {}): void {
        let record = this.store.get(qualifier);
        if (!record) {
            record = { value };
            this.addDatapoint(qualifier, record);
        }
        record.value = value;
        if ('presetValue' in extra) record.presetValue = extra.presetValue;
        if ('locValue' in extra) record.locValue = extra.locValue;
        record.updatedAt = extra.timestamp ?? Date.now();
        this.changed(record);
    }

    /** A REST write changed this record: push it. */
    changed(record: DatapointRecord): void {
        if (!record.qualifier) return;
        record.updatedAt = Math.max(Date.now(), (record.updatedAt ?? 0) + 1);
        let entry: Record<string, unknown> | undefined;
        for (const client of this.clients) {
            if (!this.listOf(client).has(record.qualifier)) continue;
            entry ??= this.wsEntry(record);
            let queue = this.pending.get(client);
            if (!queue) this.pending.set(client, (queue = []));
            queue.push(entry);
        }
        this.scheduleFlush();
    }

    /** The list the server holds for a user (or a session with `scope: 'session'`). */
    subscriptions(key: string): string[] {
        return [...(this.lists.get(key) ?? [])];
    }

    /** Open general-purpose sockets, of one user or all. */
    connectionCount(user?: string): number {
        let count = 0;
        for (const client of this.clients) if (client.socket.readyState === WebSocket.OPEN && (!user || client.user === user)) count++;
        return count;
    }

    /** Closes every open socket with `code`; 1006 drops the TCP connection without a close frame. */
    closeSockets(code: 1000 | 1001 | 1006 | 1008 | number, user?: string): void {
        for (const client of [...this.clients]) {
            if (user && client.user !== user) continue;
            if (code === 1006) client.socket.terminate();
            else client.socket.close(code);
        }
    }

    /** Sends a frame as is (a non-JSON text, an unknown action) to every open socket. */
    sendRaw(text: string): void {
        for (const client of this.clients) this.sendFrame(client, text);
    }

    sendEvent(action: string, payload: unknown): void {
        this.sendRaw(JSON.stringify({ action, payload }));
    }

    resetStats(): void {
        this.stats = emptyStats();
    }

    listen(server: Server): void {
        this.server = server;
        server.on('upgrade', this.onUpgrade);
    }

    close(): void {
        this.server?.off('upgrade', this.onUpgrade);
        this.server = undefined;
        for (const timer of this.timers) clearTimeout(timer);
        this.timers.clear();
        for (const client of this.clients) client.socket.terminate();
        this.clients.clear();
        this.pending.clear();
    }

    /** A session ended (logout, or every session dropped): its sockets follow `onSessionEnd`. */
    sessionEnded(sid?: string): void {
        for (const client of [...this.clients]) {
            if (sid !== undefined && client.sid !== sid) continue;
            if (this.options.onSessionEnd === 'close') client.socket.close(1000);
            else if (this.options.onSessionEnd === 'drop') client.socket.terminate();
        }
    }

    /** `PUT /iap/dp/updates/subscribe` of a logged-in request. */
    subscribe(ctx: RouteContext, session: { id: string; user: string }): RouteReply {
        this.stats.subscribeCalls++;
        let list: unknown;
        try {
            list = JSON.parse(ctx.body.toString('utf8'));
        } catch {
            return { status: 400, json: { message: 'Invalid request' } };
        }
        if (!Array.isArray(list) || list.some((item) => typeof item !== 'string')) return { status: 400, json: { message: 'Invalid request' } };
        this.lists.set(this.options.scope === 'user' ? session.user : session.id, new Set(list as string[]));
        return { status: 204 };
    }

    /** `GET /iap/devs/*\/if/*\/*\/*+qualifier=-q1,q2/value[?max_age=n]`: cached values, pushes with `max_age`. */
    read(qualifiers: string[], query: URLSearchParams): RouteReply {
        this.stats.reads++;
        const records = qualifiers.map((q) => this.store.get(q)).filter((r): r is DatapointRecord => r !== undefined);
        if (query.has('max_age')) {
            const timer = setTimeout(() => {
                this.timers.delete(timer);
                for (const record of records) this.changed(record);
            }, this.options.readPushDelayMs);
            this.timers.add(timer);
        }
        return { status: 200, json: records.map((record) => restEntry(record)) };
    }

    private listOf(client: Client): ReadonlySet<string> {
        return this.lists.get(this.options.scope === 'user' ? client.user : client.sid) ?? new Set();
    }

    private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
        const path = new URL(req.url ?? '/', 'http://simulator.invalid').pathname;
        if (path !== '/iap/ws') {
            socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
            return;
        }
        const session = this.host.sessionOf(req);
        if (!session && this.options.upgradeRefusal === 'http401') {
            this.stats.refusedUpgrades++;
            socket.end(
                'HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 28\r\nConnection: close\r\n\r\n{"message":"Not logged in"}\n',
            );
            return;
        }
        this.wss.handleUpgrade(req, socket, head, (ws) => {
            ws.on('error', () => undefined);
            if (!session) {
                this.stats.refusedUpgrades++;
                ws.close(1008);
                return;
            }
            this.stats.upgrades++;
            const client: Client = { socket: ws, sid: session.id, user: session.user };
            this.clients.add(client);
            ws.on('close', () => {
                this.clients.delete(client);
                this.pending.delete(client);
            });
            if (this.options.hello) this.sendFrame(client, JSON.stringify({ action: 'NTF:HELLO', payload: { version: '4.10.000' } }));
        });
    }

    private scheduleFlush(): void {
        if (this.flushScheduled) return;
        this.flushScheduled = true;
        setImmediate(() => {
            this.flushScheduled = false;
            this.flush();
        });
    }

    private flush(): void {
        const size = Math.max(1, this.options.batchSize);
        for (const [client, entries] of this.pending) {
            this.pending.delete(client);
            // A session that ended meanwhile gets nothing more (and its socket follows onSessionEnd).
            if (!this.host.isLive(client.sid)) {
                this.sessionEnded(client.sid);
                continue;
            }
            for (let i = 0; i < entries.length; i += size) {
                const batch = entries.slice(i, i + size);
                if (this.sendFrame(client, JSON.stringify({ action: 'UPD:DATAPOINT', payload: batch }))) this.stats.updatesSent += batch.length;
            }
        }
    }

    private sendFrame(client: Client, text: string): boolean {
        if (client.socket.readyState !== WebSocket.OPEN) return false;
        client.socket.send(text);
        this.stats.framesSent++;
        return true;
    }

    private wsEntry(record: DatapointRecord): Record<string, unknown> {
        const entry: Record<string, unknown> = { datapointQualifier: record.qualifier, value: record.value };
        if ('presetValue' in record) entry.presetValue = record.presetValue;
        entry.locValue = 'locValue' in record ? record.locValue : record.value;
        const stamp = new Date(record.updatedAt ?? Date.now()).toISOString();
        if (this.options.timestampFormat === 'iso') entry.timestamp = stamp;
        else if (this.options.timestampFormat === 'iso-zone') entry.timestamp = `${stamp}[UTC]`;
        return entry;
    }
}

/** A REST reply entry (the GET format differs from the WS one: `dpQualifier`, `utc`). */
function restEntry(record: DatapointRecord): Record<string, unknown> {
    const qualifier = String(record.qualifier);
    const [, , handle, blockName, blockIndex, datapointName] = qualifier.split('/');
    const entry: Record<string, unknown> = {
        dpQualifier: qualifier,
        deviceId: handle,
        blockName,
        blockIndex,
        datapointName,
        value: record.value,
        locValue: 'locValue' in record ? record.locValue : record.value,
        utc: new Date(record.updatedAt ?? Date.now()).toISOString(),
    };
    if ('presetValue' in record) entry.presetValue = record.presetValue;
    return entry;
}

/** The qualifiers of a `*+qualifier=-q1,q2` datapoint segment (already percent-decoded), or null. */
export function qualifierList(segment: string): string[] | null {
    const marker = '+qualifier=-';
    const at = segment.indexOf(marker);
    if (at < 0) return null;
    return segment
        .slice(at + marker.length)
        .split(',')
        .map((q) => q.trim())
        .filter(Boolean);
}

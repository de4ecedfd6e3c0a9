import type { WebSocket } from 'ws';

import { SessionError } from '../errors';
import { asSessionError } from '../node-red/report-error';
import { LiveCredential, Session, expiryOf, refreshMargin } from '../session/session';
import type { SessionManager, StateEvent } from '../session/session-manager';
import type { PushUpdate, VendorAdapter, VendorExchange, VendorPush } from '../vendors/adapter';
import { Backoff } from './backoff';
import { SocketTransport, UpgradeRefused, openSocket } from './open-socket';

/** Closing code of a socket the client ends on purpose. */
const NORMAL_CLOSURE = 1000;
/** Policy violation: the server's way to refuse a session on an open socket. */
const POLICY_VIOLATION = 1008;
/** A socket we closed that has not finished its close handshake by then is dropped. */
const CLOSE_WAIT_MS = 2000;
/** Longest timer Node accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type ChannelState = { name: 'connecting' } | { name: 'live' } | { name: 'retrying'; error: SessionError; retryAt: number } | { name: 'stopped' };

/** One live updates node as its channel sees it. */
export interface UpdatesConsumer {
    readonly datapoints: ReadonlySet<string>;
    readonly wantsEvents: boolean;
    readonly wantsInitial: boolean;
    /** `fromRead`: the value comes from the on-demand read, not from a push. */
    deliver(update: PushUpdate, fromRead: boolean): void;
    event(action: string, payload: unknown): void;
    /** Something the user should hear about once (a frame that is not JSON, an unknown action). */
    notice(kind: 'invalidFrame' | 'unknownAction' | 'readFailed', detail: string): void;
    channelState(state: ChannelState): void;
}

/** What identifies one update for deduplication: its value and timestamp. */
export function updateKey(update: PushUpdate): string {
    const value = typeof update.value === 'object' ? JSON.stringify(update.value) : `${typeof update.value}:${String(update.value)}`;
    return `${value}|${update.timestamp}`;
}

/**
 * While the socket moves to a renewed session both are open: the old one's frames go out as they
 * come, the new one's wait until the old one has closed, then go out without what the old one
 * already delivered. So every update is sent once, in order.
 */
interface Overlap {
    old: WebSocket;
    buffered: string[];
    delivered: Set<string>;
}

interface OpenSocket {
    ws: WebSocket;
    credential: LiveCredential;
}

export interface ChannelDeps {
    manager: SessionManager;
    session: Session;
    /** The vendor: its push protocol, its name and its "session refused" signal. */
    adapter: VendorAdapter & { push: VendorPush };
    transport: SocketTransport;
}

/**
 * The one socket of one (server, user), shared by every live updates node of that server: the
 * server keeps one subscription list per login and the last subscribe wins, so the list sent is the
 * union of all the nodes' datapoints, sent again after every (re)connect, re-login and list change.
 */
export class LiveChannel {
    private readonly consumers = new Set<UpdatesConsumer>();
    private readonly retiring = new Set<WebSocket>();
    private readonly pendingReads = new Map<UpdatesConsumer, Set<string>>();
    private readonly backoff = new Backoff();
    private socket: OpenSocket | undefined;
    private overlap: Overlap | undefined;
    private state: ChannelState = { name: 'stopped' };
    /** Bumped whenever a connect, retry or handover starts: an older one that resolves late does nothing. */
    private generation = 0;
    private listVersion = 0;
    private subscribing = false;
    private retryTimer: NodeJS.Timeout | undefined;
    private renewTimer: NodeJS.Timeout | undefined;
    private removeHandover: (() => void) | undefined;
    private removeStateListener: (() => void) | undefined;
    /** A logout (node or server) ends the socket's session: reconnect, logging in on demand. */
    private readonly onSessionState = (event: StateEvent): void => {
        if (event.session !== this.deps.session || event.state !== 'loggedOut' || !this.socket) return;
        this.dropSocket();
        this.retryLater(new SessionError('SESSION_REJECTED', 'The session was logged out.'));
    };
    private closed = false;

    constructor(private readonly deps: ChannelDeps) {}

    get consumerCount(): number {
        return this.consumers.size;
    }

    add(consumer: UpdatesConsumer): void {
        if (this.closed) return consumer.channelState({ name: 'stopped' });
        this.consumers.add(consumer);
        consumer.channelState(this.state);
        if (!this.removeHandover) return this.start();
        this.listChanged(consumer, [...consumer.datapoints]);
    }

    /** The last node gone closes the socket (1000). */
    remove(consumer: UpdatesConsumer): void {
        this.consumers.delete(consumer);
        this.pendingReads.delete(consumer);
        if (this.consumers.size === 0) this.stop();
        else this.listChanged();
    }

    /** A node's list changed; `added` are read once for it if it wants initial values. */
    listChanged(consumer?: UpdatesConsumer, added: readonly string[] = []): void {
        this.listVersion++;
        if (consumer?.wantsInitial && added.length) this.queueRead(consumer, added);
        if (this.state.name === 'live' && !this.subscribing) this.resubscribe();
    }

    /** For good: the config node closes (its sessions log out after this). */
    close(): void {
        this.closed = true;
        this.stop();
    }

    private start(): void {
        this.removeHandover = this.deps.session.onHandover((fresh) => this.handover(fresh));
        this.removeStateListener = this.deps.manager.onState(this.onSessionState);
        void this.connect();
    }

    private stop(): void {
        this.generation++;
        this.removeHandover?.();
        this.removeHandover = undefined;
        this.removeStateListener?.();
        this.removeStateListener = undefined;
        this.clearTimers();
        this.dropSocket();
        for (const ws of this.retiring) ws.close(NORMAL_CLOSURE);
        this.retiring.clear();
        this.overlap = undefined;
        this.setState({ name: 'stopped' });
    }

    private async connect(): Promise<void> {
        const generation = ++this.generation;
        this.clearTimers();
        this.setState({ name: 'connecting' });
        let credential: LiveCredential | undefined;
        try {
            credential = await this.deps.manager.login(this.deps.session, false);
            if (generation !== this.generation) return;
            const ws = await this.open(credential);
            if (generation !== this.generation) return void ws.close(NORMAL_CLOSURE);
            this.attach(ws, credential);
            await this.sendSubscription();
            if (generation !== this.generation) return;
            this.backoff.reset();
            this.setState({ name: 'live' });
            this.scheduleRenewal(credential);
            for (const consumer of this.consumers) if (consumer.wantsInitial) this.queueRead(consumer, [...consumer.datapoints]);
            void this.flushReads();
        } catch (error) {
            if (generation !== this.generation) return;
            if (error instanceof UpgradeRefused && credential && this.deps.adapter.isSessionRejected(refusal(error.status))) {
                return this.refused(credential, error.status);
            }
            this.dropSocket();
            this.retryLater(asSessionError(error));
        }
    }

    private open(credential: LiveCredential): Promise<WebSocket> {
        const url = this.deps.adapter.push.socketUrl(this.deps.manager.baseUrl);
        return openSocket(url, this.deps.manager.credentialHeaders(credential, url.replace(/^ws/, 'http')), this.deps.transport);
    }

    /** The socket in use from now on; frames of a retiring one still count until it is closed. */
    private attach(ws: WebSocket, credential: LiveCredential): void {
        const previous = this.socket;
        if (previous) this.retiring.add(previous.ws);
        this.socket = { ws, credential };
        ws.on('message', (data, isBinary) => {
            if (!isBinary) this.onFrame(data.toString(), ws);
        });
        ws.on('error', () => undefined); // the close that follows says what to do
        ws.on('close', (code: number) => {
            if (this.overlap?.old === ws) this.endOverlap();
            if (this.socket?.ws !== ws) return void this.retiring.delete(ws);
            this.socket = undefined;
            if (this.state.name === 'stopped') return;
            if (code === POLICY_VIOLATION) return this.refused(credential);
            this.retryLater(new SessionError('NETWORK', `The live updates socket closed (code ${code}).`));
        });
    }

    /**
     * The server refused the session (401 on the upgrade, close 1008): one re-login shared with the
     * requests, then reconnect. A server that refuses fresh sessions too gets `SESSION_REJECTED`
     * from the session core (one re-login per 30 s) and the socket waits for its backoff.
     */
    private refused(credential: LiveCredential, statusCode?: number): void {
        this.dropSocket();
        const generation = ++this.generation;
        this.setState({ name: 'connecting' });
        this.deps.manager.replaceRefused(this.deps.session, credential, statusCode).then(
            () => {
                if (generation === this.generation) void this.connect();
            },
            (error: unknown) => {
                if (generation === this.generation) this.retryLater(asSessionError(error));
            },
        );
    }

    private retryLater(error: SessionError): void {
        this.generation++;
        this.clearTimers();
        if (this.closed || this.consumers.size === 0) return;
        const wait = this.backoff.next();
        this.setState({ name: 'retrying', error, retryAt: Date.now() + wait });
        this.retryTimer = setTimeout(() => void this.connect(), wait);
    }

    /**
     * The session was renewed (ahead of its expiry, or forced): the new socket opens and subscribes
     * on the fresh credential before the old one closes, so no update falls into a gap. The old
     * credential is logged out once this resolves.
     */
    private async handover(fresh: LiveCredential): Promise<void> {
        if (this.state.name !== 'live' || !this.socket || this.socket.credential === fresh) return;
        const generation = ++this.generation;
        const old = this.socket;
        try {
            const ws = await this.open(fresh);
            if (generation !== this.generation) return void ws.close(NORMAL_CLOSURE);
            this.overlap = { old: old.ws, buffered: [], delivered: new Set() };
            this.attach(ws, fresh);
            await this.sendSubscription();
            if (generation !== this.generation) return;
            this.scheduleRenewal(fresh);
        } catch (error) {
            // The old socket goes on until the server closes it; the usual reconnect takes over then.
            if (generation === this.generation && error instanceof UpgradeRefused) this.retryLater(error);
        } finally {
            if (this.socket !== old) closeSoon(old.ws);
        }
    }

    /** Sends the union list until what the server holds is the latest version of it. */
    private async sendSubscription(): Promise<void> {
        this.subscribing = true;
        try {
            let version: number;
            do {
                version = this.listVersion;
                await this.send(this.deps.adapter.push.subscribe(this.union()));
            } while (version !== this.listVersion);
        } finally {
            this.subscribing = false;
        }
    }

    private resubscribe(): void {
        const generation = this.generation;
        this.sendSubscription().then(
            () => void this.flushReads(),
            (error: unknown) => {
                if (generation !== this.generation) return;
                this.dropSocket();
                this.retryLater(asSessionError(error));
            },
        );
    }

    private union(): string[] {
        const all = new Set<string>();
        for (const consumer of this.consumers) for (const datapoint of consumer.datapoints) all.add(datapoint);
        return [...all].sort();
    }

    private queueRead(consumer: UpdatesConsumer, datapoints: readonly string[]): void {
        let wanted = this.pendingReads.get(consumer);
        if (!wanted) this.pendingReads.set(consumer, (wanted = new Set()));
        for (const datapoint of datapoints) wanted.add(datapoint);
    }

    /** The on-demand read of every datapoint a node is waiting for; each value goes to the nodes that asked. */
    private async flushReads(): Promise<void> {
        if (!this.pendingReads.size) return;
        const wanted = new Map(this.pendingReads);
        this.pendingReads.clear();
        const topics = new Set<string>();
        for (const list of wanted.values()) for (const topic of list) topics.add(topic);
        for (const exchange of this.deps.adapter.push.read([...topics])) {
            let updates: PushUpdate[];
            try {
                updates = this.deps.adapter.push.parseRead(await this.send(exchange));
            } catch (error) {
                for (const consumer of wanted.keys()) consumer.notice('readFailed', asSessionError(error).message);
                continue;
            }
            for (const update of updates) {
                for (const [consumer, list] of wanted) if (list.has(update.topic) && this.consumers.has(consumer)) consumer.deliver(update, true);
            }
        }
    }

    /** One REST call of the push protocol, as an authorized request (replayed once after a refusal). */
    private async send(exchange: VendorExchange): Promise<Buffer> {
        const { response } = await this.deps.manager.request(this.deps.session, {
            method: exchange.method,
            url: this.deps.manager.baseUrl + exchange.path,
            headers: { ...exchange.headers },
            cookies: [],
            body: exchange.body,
            followRedirects: false,
        });
        if (response.status < 200 || response.status >= 300) {
            throw new SessionError(
                'SERVER_ERROR',
                `${this.deps.adapter.label} answered ${exchange.method} ${exchange.path.split('?')[0]} with HTTP ${response.status}.`,
                {
                    statusCode: response.status,
                },
            );
        }
        return response.body;
    }

    private onFrame(text: string, from: WebSocket): void {
        const overlap = this.overlap;
        if (!overlap) return this.dispatch(text);
        if (from === overlap.old) this.dispatch(text, overlap.delivered);
        else overlap.buffered.push(text);
    }

    private endOverlap(): void {
        const overlap = this.overlap;
        this.overlap = undefined;
        for (const text of overlap?.buffered ?? []) this.dispatch(text, undefined, overlap?.delivered);
    }

    /** Sends a frame's content to the nodes; `record` notes what went out, `skip` what went out already. */
    private dispatch(text: string, record?: Set<string>, skip?: Set<string>): void {
        const frame = this.deps.adapter.push.parseFrame(text);
        if (frame.kind === 'updates') {
            for (const update of frame.updates) {
                if (record || skip) {
                    const key = `${update.topic}|${updateKey(update)}`;
                    if (skip?.has(key)) continue;
                    record?.add(key);
                }
                for (const consumer of this.consumers) if (consumer.datapoints.has(update.topic)) consumer.deliver(update, false);
            }
            return;
        }
        if (skip?.has(text)) return;
        record?.add(text);
        for (const consumer of this.consumers) {
            if (frame.kind === 'invalid') consumer.notice('invalidFrame', text.slice(0, 40));
            else {
                if (!frame.known) consumer.notice('unknownAction', frame.action);
                if (consumer.wantsEvents) consumer.event(frame.action, frame.payload);
            }
        }
    }

    /** Renews the session a margin ahead of its known expiry; the handover then moves the socket. */
    private scheduleRenewal(credential: LiveCredential): void {
        if (this.renewTimer) clearTimeout(this.renewTimer);
        this.renewTimer = undefined;
        const expiry = expiryOf(credential);
        if (expiry === null) return;
        const due = expiry - refreshMargin(expiry - credential.loggedInAt) + 5;
        this.renewTimer = setTimeout(
            () => {
                this.renewTimer = undefined;
                this.deps.manager.login(this.deps.session, false).catch(() => undefined);
            },
            Math.min(MAX_TIMER_MS, Math.max(0, due - Date.now())),
        );
    }

    private dropSocket(): void {
        const current = this.socket;
        this.socket = undefined;
        current?.ws.close(NORMAL_CLOSURE);
    }

    private clearTimers(): void {
        if (this.retryTimer) clearTimeout(this.retryTimer);
        if (this.renewTimer) clearTimeout(this.renewTimer);
        this.retryTimer = undefined;
        this.renewTimer = undefined;
    }

    private setState(state: ChannelState): void {
        this.state = state;
        for (const consumer of this.consumers) consumer.channelState(state);
    }
}

/** Starts the close handshake; a peer that does not finish it soon is dropped. */
function closeSoon(ws: WebSocket): void {
    ws.close(NORMAL_CLOSURE);
    setTimeout(() => ws.terminate(), CLOSE_WAIT_MS).unref();
}

/** An upgrade answer as the adapter's "session refused" test reads replies. */
function refusal(status: number) {
    return { status, headers: {}, body: Buffer.alloc(0), url: '', redirects: [] };
}

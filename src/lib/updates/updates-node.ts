import type { Node, NodeAPI, NodeStatus as StatusObject } from 'node-red';

import { formatDuration } from '../duration';
import { ErrorCode, SessionError } from '../errors';
import { serverText } from '../node-red/i18n';
import { errorStatusText } from '../node-red/node-status';
import { asSessionError, failMessage } from '../node-red/report-error';
import { flag } from '../node-red/server-settings';
import type { FlowNodeDef, Msg, ServerNode } from '../node-red/types';
import type { Session } from '../session/session';
import type { MsgSession, SessionManager } from '../session/session-manager';
import type { PushUpdate } from '../vendors/adapter';
import { ChannelState, LiveChannel, UpdatesConsumer, updateKey } from './live-channel';

export interface UpdatesNodeDef extends FlowNodeDef {
    datapoints?: string;
    events?: string;
    initial?: boolean | string;
}

const NAMESPACE = '@rest-session/node-red-rest-session/rest-session-updates';
const ACTIONS = ['subscribe', 'unsubscribe', 'getSubscriptions'] as const;
type Action = (typeof ACTIONS)[number];
const REASON_KEYS: Partial<Record<ErrorCode, string>> = {
    INVALID_CREDENTIALS: 'status.invalidCredentials',
    ACCOUNT_DISABLED: 'status.accountDisabled',
    PASSWORD_EXPIRED: 'status.passwordExpired',
    PASSWORD_POLICY: 'status.passwordExpired',
};

/** The configured datapoints: one dpQualifier per line, blanks dropped, each once. */
export function parseDatapoints(text: unknown): string[] {
    return [
        ...new Set(
            String(text ?? '')
                .split(/\r?\n/)
                .map((line) => line.trim())
                .filter(Boolean),
        ),
    ];
}

/** `msg.topic` of a subscribe/unsubscribe: one dpQualifier or an array of them. */
export function parseTopics(topic: unknown): string[] {
    const list = Array.isArray(topic) ? topic : [topic];
    if (!list.length || list.some((item) => typeof item !== 'string' || !item.trim())) {
        throw new SessionError('INVALID_INPUT', 'msg.topic must be a datapoint (dpQualifier) or an array of them.');
    }
    return list.map((item: string) => item.trim());
}

/**
 * The "live updates" node: its list (configured datapoints plus those subscribed by msg), one msg
 * per update it has not sent already (same value and timestamp), events when asked, and a status
 * that follows the shared socket. Rides the channel of the server's own session.
 */
class UpdatesNode implements UpdatesConsumer {
    readonly datapoints: Set<string>;
    readonly wantsEvents: boolean;
    readonly wantsInitial: boolean;
    /** Per datapoint: the value and timestamp last sent, and the timestamp for ordering reads. */
    private readonly lastSent = new Map<string, { key: string; timestamp: number | null }>();
    private readonly noticed = new Set<string>();
    private described: { credential: unknown; session: MsgSession } | undefined;
    private countdown: NodeJS.Timeout | undefined;
    private shown = '';

    constructor(
        private readonly node: Node,
        private readonly RED: NodeAPI,
        private readonly manager: SessionManager,
        private readonly session: Session,
        private readonly expose: boolean,
        def: UpdatesNodeDef,
    ) {
        this.datapoints = new Set(parseDatapoints(def.datapoints));
        this.wantsEvents = def.events === 'all';
        this.wantsInitial = flag(def.initial, true);
    }

    deliver(update: PushUpdate, fromRead: boolean): void {
        const key = updateKey(update);
        const last = this.lastSent.get(update.topic);
        if (last?.key === key) return;
        // A read may return a value older than a push that came first: the newer one stays.
        if (fromRead && last && last.timestamp !== null && update.timestamp !== null && update.timestamp < last.timestamp) return;
        this.lastSent.set(update.topic, { key, timestamp: update.timestamp });
        this.node.send({ topic: update.topic, payload: update.value, ...update.extra, timestamp: update.timestamp, session: this.msgSession() });
    }

    event(action: string, payload: unknown): void {
        this.node.send({ topic: action, payload, session: this.msgSession() });
    }

    notice(kind: 'invalidFrame' | 'unknownAction' | 'readFailed', detail: string): void {
        if (this.noticed.has(kind)) return;
        this.noticed.add(kind);
        // A failed read's text or a frame's start may quote what the server echoed: scrubbed like every log line.
        this.node.warn(this.text(`warn.${kind}`, { detail: this.manager.scrubber.scrub(detail) }));
    }

    channelState(state: ChannelState): void {
        this.stopCountdown();
        switch (state.name) {
            case 'connecting':
                return this.set({ fill: 'yellow', shape: 'ring', text: this.text('status.connecting') });
            case 'live':
                return this.set({ fill: 'green', shape: 'dot', text: this.text('status.live', { count: this.datapoints.size }) });
            case 'stopped':
                return this.set({ fill: 'grey', shape: 'ring', text: this.text('status.stopped') });
            case 'retrying': {
                const render = () => {
                    const time = formatDuration(Math.max(0, state.retryAt - Date.now()));
                    this.set({ fill: 'red', shape: 'ring', text: this.text('status.retrying', { reason: this.reason(state.error), time }) });
                };
                render();
                this.countdown = setInterval(render, 1000);
                this.countdown.unref();
            }
        }
    }

    /** The input msg of the `mqtt in` dynamic-subscription convention. */
    handle(msg: Msg, channel: LiveChannel, send: (msg: Msg) => void): void {
        const action = msg.action as Action;
        if (!ACTIONS.includes(action)) {
            throw new SessionError('INVALID_INPUT', 'msg.action must be "subscribe", "unsubscribe" or "getSubscriptions".');
        }
        if (action === 'getSubscriptions') {
            msg.topic = 'subscriptions';
            msg.payload = [...this.datapoints];
            return send(msg);
        }
        const topics = parseTopics(msg.topic);
        if (action === 'subscribe') {
            const added = topics.filter((topic) => !this.datapoints.has(topic));
            for (const topic of added) this.datapoints.add(topic);
            if (added.length) channel.listChanged(this, added);
        } else {
            const removed = topics.filter((topic) => this.datapoints.delete(topic));
            for (const topic of removed) this.lastSent.delete(topic);
            if (removed.length) channel.listChanged(this);
        }
        if (this.shown.startsWith('green')) this.channelState({ name: 'live' });
    }

    close(): void {
        this.stopCountdown();
    }

    /** `msg.session`, built once per credential and copied for each msg. */
    private msgSession(): MsgSession {
        const credential = this.session.credential;
        if (!this.described || this.described.credential !== credential) {
            this.described = { credential, session: this.manager.describe(this.session, this.expose) };
        }
        const session = { ...this.described.session };
        if (session.headers) session.headers = { ...session.headers };
        return session;
    }

    private reason(error: SessionError): string {
        const key = REASON_KEYS[error.code];
        return key ? serverText(this.RED)(key) : errorStatusText(serverText(this.RED), error);
    }

    private text(key: string, params?: Record<string, string | number>): string {
        return this.RED._(`${NAMESPACE}:rest-session-updates.${key}`, params);
    }

    private stopCountdown(): void {
        if (this.countdown) clearInterval(this.countdown);
        this.countdown = undefined;
    }

    private set(status: StatusObject): void {
        const key = `${status.fill}|${status.shape}|${status.text}`;
        if (key === this.shown) return;
        this.shown = key;
        this.node.status(status);
    }
}

/**
 * Wires a live updates node to its server's channel. A server whose vendor does not push, or no
 * server, is a `CONFIG` error: red status, logged at deploy, and every msg fails with it.
 */
export function startUpdatesNode(RED: NodeAPI, node: Node, def: UpdatesNodeDef): void {
    let setupError: SessionError | undefined;
    let channel: LiveChannel | undefined;
    let consumer: UpdatesNode | undefined;
    try {
        const server = (def.server ? RED.nodes.getNode(def.server) : null) as ServerNode | null;
        if (!server || typeof server.sessionManager !== 'function') throw new SessionError('CONFIG', 'No server configuration is selected.');
        const manager = server.sessionManager();
        const hub = server.liveUpdates();
        const session = manager.ownSession();
        consumer = new UpdatesNode(node, RED, manager, session, server.exposeCredential, def);
        channel = hub.channel(session);
        channel.add(consumer);
    } catch (error) {
        setupError = asSessionError(error);
        node.status({ fill: 'red', shape: 'ring', text: serverText(RED)('status.error', { code: setupError.code }) });
        node.error(setupError.message);
    }

    node.on('input', (inputMsg, send, done) => {
        const msg = inputMsg as Msg;
        try {
            if (setupError || !channel || !consumer) throw setupError ?? new SessionError('CONFIG', 'No server configuration is selected.');
            consumer.handle(msg, channel, send);
            done();
        } catch (error) {
            failMessage(msg, asSessionError(error), done);
        }
    });

    node.on('close', () => {
        consumer?.close();
        if (channel && consumer) channel.remove(consumer);
    });
}

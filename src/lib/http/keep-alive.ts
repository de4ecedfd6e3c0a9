import type http from 'node:http';
import type { Duplex } from 'node:stream';

/** Without the server's hint an idle keep-alive socket lives at most this long (common servers close at 5 s). */
export const DEFAULT_IDLE_MS = 4000;

/** Closing this much before the server's announced timeout leaves room for a request already on its way. */
const HINT_MARGIN_MS = 1000;

/**
 * How long a socket may stay idle given the server's `Keep-Alive` header: a second less than its
 * `timeout=N`, else {@link DEFAULT_IDLE_MS}; 0 means "do not keep it".
 */
export function idleLimitMs(keepAlive: unknown): number {
    const value = Array.isArray(keepAlive) ? keepAlive[0] : keepAlive;
    if (typeof value !== 'string') return DEFAULT_IDLE_MS;
    // A server sends the same hint on every reply: read once, not per released socket.
    if (value === lastHint.value) return lastHint.limit;
    const hint = /(?:^|[\s,;])timeout\s*=\s*(\d+)/i.exec(value);
    const limit = hint ? Math.max(0, Number(hint[1]) * 1000 - HINT_MARGIN_MS) : DEFAULT_IDLE_MS;
    lastHint = { value, limit };
    return limit;
}

let lastHint: { value: string | undefined; limit: number } = { value: undefined, limit: DEFAULT_IDLE_MS };

/** The `Keep-Alive` header of the reply a socket just carried (Node keeps the request on the socket until it is released). */
function hintOf(socket: Duplex): unknown {
    const carried = (socket as { _httpMessage?: { res?: { headers?: Record<string, unknown> } } })._httpMessage;
    return carried?.res?.headers?.['keep-alive'];
}

/**
 * Makes `agent` close each idle socket before the server would, so a request is rarely written on
 * a connection the server is closing (the keep-alive race). The agent destroys a free socket whose
 * timeout fires; a socket taken again gets no timeout while it carries a request.
 */
export function closeIdleBeforeServer<A extends http.Agent>(agent: A): A {
    const keep = agent.keepSocketAlive.bind(agent) as (socket: Duplex) => boolean;
    agent.keepSocketAlive = ((socket: Duplex & { setTimeout(ms: number): unknown }) => {
        if (!keep(socket)) return false;
        const limit = idleLimitMs(hintOf(socket));
        if (limit <= 0) return false;
        socket.setTimeout(limit);
        return true;
    }) as http.Agent['keepSocketAlive'];
    const reuse = agent.reuseSocket.bind(agent);
    agent.reuseSocket = (socket, request) => {
        (socket as Duplex & { setTimeout(ms: number): unknown }).setTimeout(0);
        reuse(socket, request);
    };
    return agent;
}

/**
 * A request that failed on a reused keep-alive connection before any byte of the reply arrived:
 * the server had closed that connection and never read the request, so it may be written once more
 * on a new one, whatever its method (as browsers do).
 */
export function failedOnStaleConnection(error: unknown): boolean {
    const { code, request, response } = (error ?? {}) as { code?: unknown; request?: { reusedSocket?: unknown; res?: unknown }; response?: unknown };
    if (response !== undefined || !request || request.reusedSocket !== true || request.res) return false;
    return code === 'ECONNRESET' || code === 'EPIPE';
}

import type { Agent } from 'node:http';

import { WebSocket } from 'ws';

import { SessionError } from '../errors';
import type { TlsOptions } from '../http/http-client';
import { ProxyHttpAgent, ProxyHttpsAgent, ProxySettings } from '../http/proxy-agents';
import { transportError } from '../http/transport-errors';

/** The server's TLS and proxy settings, as its requests use them. */
export interface SocketTransport {
    tls?: TlsOptions;
    proxy?: ProxySettings;
    /** The upgrade must be answered within this (the server's request timeout). */
    timeoutMs: number;
}

/** The server answered the upgrade with an HTTP status instead of a socket. */
export class UpgradeRefused extends SessionError {
    constructor(readonly status: number) {
        super('SERVER_ERROR', `The server answered the live updates socket with HTTP ${status}.`, { statusCode: status });
    }
}

/**
 * Opens a websocket with the given headers (the session's cookie or token) through the server's
 * TLS options and proxy; resolves once it is open. Rejects with {@link UpgradeRefused} for an HTTP
 * answer, else with a `NETWORK`, `TLS` or `TIMEOUT` SessionError whose text holds no header value.
 */
export function openSocket(url: string, headers: Record<string, string>, transport: SocketTransport): Promise<WebSocket> {
    const agent = proxyAgent(url, transport);
    const socket = new WebSocket(url, {
        ...transport.tls,
        headers,
        agent,
        handshakeTimeout: transport.timeoutMs,
        perMessageDeflate: false,
        followRedirects: false,
    });
    return new Promise<WebSocket>((resolve, reject) => {
        const fail = (error: Error) => {
            socket.removeAllListeners('open');
            agent?.destroy();
            reject(error);
        };
        socket.once('open', () => {
            socket.removeAllListeners('unexpected-response');
            resolve(socket);
        });
        socket.once('unexpected-response', (request, response) => {
            response.resume();
            request.destroy();
            fail(new UpgradeRefused(response.statusCode ?? 0));
        });
        socket.on('error', (error: Error) => {
            if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CLOSING) return;
            fail(
                /timed out/i.test(error.message)
                    ? new SessionError('TIMEOUT', `No answer to the live updates socket within ${transport.timeoutMs} ms.`)
                    : transportError(error, 'GET', url.replace(/^ws/, 'http'), transport.timeoutMs),
            );
        });
        socket.once('close', () => agent?.destroy());
    });
}

/** An agent that tunnels through the proxy (CONNECT for wss), or none to go direct. */
function proxyAgent(url: string, transport: SocketTransport): Agent | undefined {
    if (!transport.proxy) return undefined;
    return url.startsWith('wss:')
        ? new ProxyHttpsAgent(transport.proxy, { ...transport.tls, keepAlive: false }, transport.timeoutMs)
        : new ProxyHttpAgent(transport.proxy, { keepAlive: false });
}

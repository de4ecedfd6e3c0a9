import type { Agent } from 'node:http';

import { WebSocket } from 'ws';

import { SessionError } from '../errors';
import type { TlsOptions } from '../http/http-client';
import { ProxyHttpAgent, ProxyHttpsAgent, ProxySettings, environmentProxy, proxyRefusalOf } from '../http/proxy-agents';
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
        let opened = false;
        const fail = (error: Error) => {
            socket.removeAllListeners('open');
            agent?.destroy();
            reject(error);
        };
        socket.once('open', () => {
            opened = true;
            socket.removeAllListeners('unexpected-response');
            resolve(socket);
        });
        socket.once('unexpected-response', (request, response) => {
            response.resume();
            request.destroy();
            const refused = proxyRefusalOf(response.statusCode ?? 0, request);
            fail(refused ? transportError(refused, 'GET', url.replace(/^ws/, 'http'), transport.timeoutMs) : new UpgradeRefused(response.statusCode ?? 0));
        });
        socket.on('error', (error: Error) => {
            // Errors after the open are the channel's; ws reports a failed handshake as CLOSING already.
            if (opened) return;
            fail(
                /timed out/i.test(error.message)
                    ? new SessionError('TIMEOUT', `No answer to the live updates socket within ${transport.timeoutMs} ms.`)
                    : transportError(error, 'GET', url.replace(/^ws/, 'http'), transport.timeoutMs),
            );
        });
        socket.once('close', () => agent?.destroy());
    });
}

/** An agent that tunnels through the proxy (CONNECT for wss), the node's or the environment's, or none to go direct. */
function proxyAgent(url: string, transport: SocketTransport): Agent | undefined {
    const secure = url.startsWith('wss:');
    const proxy = transport.proxy ?? environmentProxy(secure ? 'https:' : 'http:');
    if (!proxy) return undefined;
    return secure ? new ProxyHttpsAgent(proxy, { ...transport.tls, keepAlive: false }, transport.timeoutMs) : new ProxyHttpAgent(proxy, { keepAlive: false });
}

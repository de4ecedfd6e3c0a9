import type { NodeAPI } from 'node-red';

import { HttpClient, HttpClientOptions } from '../http/http-client';
import { loginGuard } from '../session/login-guard';
import { ServerTransport } from '../session/server-transport';
import { SessionManager } from '../session/session-manager';
import type { LoginCredentials, ServerSettings, VendorAdapter } from '../vendors/adapter';
import { coolDownMs } from './runtime-settings';

export interface ServerSessionsOptions {
    serverId: string;
    settings: ServerSettings;
    adapter: VendorAdapter;
    /** TLS and proxy of the server, as read from its tls-config and http proxy nodes. */
    connection: Pick<HttpClientOptions, 'tls' | 'proxy'>;
    maxResponseBytes: number;
    /** The user of the sessions' owner; absent when it has none. */
    credentials?: LoginCredentials;
}

/**
 * The one place a server's sessions are built, for a deployed config node and for Test login alike:
 * its HTTP client, its authorized transport, and the session manager over them, with the
 * process's login guard and the runtime's cool-down.
 */
export function createSessionManager(RED: NodeAPI, options: ServerSessionsOptions): SessionManager {
    const { settings, adapter } = options;
    const http = new HttpClient({
        ...options.connection,
        maxResponseBytes: options.maxResponseBytes,
        proxyConnectTimeoutMs: settings.requestTimeoutMs,
    });
    return new SessionManager({
        serverId: options.serverId,
        adapter,
        transport: new ServerTransport({ settings, adapter, http }),
        guard: loginGuard,
        credentials: options.credentials,
        coolDownMs: coolDownMs(RED),
    });
}

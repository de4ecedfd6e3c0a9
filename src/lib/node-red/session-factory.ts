import type { NodeAPI } from 'node-red';

import { HttpClient, HttpClientOptions } from '../http/http-client';
import { SessionError } from '../errors';
import { DEFAULT_MAX_CONNECTIONS, ServerTransport } from '../session/server-transport';
import { SessionManager } from '../session/session-manager';
import type { SharedStoreLink } from '../session/shared-account';
import { configuredAdapter } from '../vendors';
import type { GrantRuntime, LoginCredentials, ServerSettings, VendorAdapter } from '../vendors/adapter';
import { processGuard } from './guard-file';

export interface ServerSessionsOptions {
    serverId: string;
    settings: ServerSettings;
    adapter: VendorAdapter;
    /** TLS and proxy of the server, as read from its tls-config and http proxy nodes. */
    connection: Pick<HttpClientOptions, 'tls' | 'proxy'>;
    maxResponseBytes: number;
    /** Most connections open to the server at once (default 8). */
    maxConnections?: number;
    /** The user of the sessions' owner; absent when it has none. */
    credentials?: LoginCredentials;
    /** Where to tell what no msg carries (a failed logout of a replaced session). */
    onWarning?: (message: string) => void;
    /** The deployed config node's grant memory (OAuth2 grants that renew themselves). */
    grant?: GrantRuntime;
    /** The fleet's store, when the server names a `rest-session-store`. */
    shared?: SharedStoreLink;
}

const MAX_CONNECTIONS_LIMIT = 256;

/** The `maxConnections` property: a whole number 1 … 256, default 8; anything else is `CONFIG`. */
export function readMaxConnections(value: unknown): number {
    if (value === undefined || value === null || value === '') return DEFAULT_MAX_CONNECTIONS;
    const count = Number(value);
    if (!Number.isInteger(count) || count < 1 || count > MAX_CONNECTIONS_LIMIT) {
        throw new SessionError('CONFIG', `The most connections must be a whole number from 1 to ${MAX_CONNECTIONS_LIMIT} (got "${String(value)}").`);
    }
    return count;
}

/**
 * The one place a server's sessions are built, for a deployed config node and for Test login alike:
 * its HTTP client, its authorized transport, and the session manager over them, with the
 * process's login guard over its embedded store (one for every path that logs in: the same
 * cool-downs and budget, across restarts).
 */
export function createSessionManager(RED: NodeAPI, options: ServerSessionsOptions): SessionManager {
    const { settings } = options;
    const adapter = configuredAdapter(options.adapter, settings);
    const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const clientOptions = {
        ...options.connection,
        maxResponseBytes: options.maxResponseBytes,
        proxyConnectTimeoutMs: settings.requestTimeoutMs,
        // Logins and logouts may use one connection beyond the cap.
        maxSockets: maxConnections + 1,
    };
    const http = new HttpClient(clientOptions);
    // Another origin (an OAuth2 provider's token endpoint) is verified against the default trust store.
    const foreignHttp = () => new HttpClient({ ...clientOptions, tls: undefined });
    return new SessionManager({
        serverId: options.serverId,
        adapter,
        transport: new ServerTransport({ settings, adapter, http, maxConnections, foreignHttp, grant: options.grant }),
        guard: processGuard(RED),
        credentials: options.credentials,
        onWarning: options.onWarning,
        // Tokens a grant keeps in the store are the fleet's credential already: the store shares the guard besides.
        shared: options.shared && adapter.credentialInStore ? { ...options.shared, share: 'guard' } : options.shared,
    });
}

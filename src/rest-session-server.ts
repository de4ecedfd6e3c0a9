import type { Node, NodeAPI } from 'node-red';

import { SessionError } from './lib/errors';
import { HttpClient, TlsOptions } from './lib/http-client';
import { DEFAULT_COOL_DOWN_MS, loginGuard } from './lib/login-guard';
import { withEnv } from './lib/node-red/env';
import { flag, readServerSettings } from './lib/node-red/server-settings';
import type { ServerCredentials, ServerNode, ServerNodeDef, TlsConfigNode } from './lib/node-red/types';
import { SessionManager } from './lib/session-manager';
import { vendorAdapter } from './lib/vendors';
import type { LoginCredentials } from './lib/vendors/adapter';

/** Logging out on close may take this long at most, so a deploy is never held up. */
const CLOSE_LOGOUT_TIMEOUT_MS = 3000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export = function register(RED: NodeAPI): void {
    function RestSessionServer(this: Node, def: ServerNodeDef): void {
        RED.nodes.createNode(this, def);
        const node = this as ServerNode;
        let manager: SessionManager | undefined;
        node.exposeCredential = flag(def.exposeCredential, false);

        // Created on first use, so the tls-config node it reads exists whatever the start order.
        node.sessionManager = () => {
            if (!manager) {
                const adapter = vendorAdapter(def.vendor || 'smartserver');
                const settings = readServerSettings(def, adapter);
                manager = new SessionManager({
                    serverId: node.id,
                    settings,
                    adapter,
                    http: new HttpClient({ tls: tlsOptions(def), maxResponseBytes: setting('MaxResponseBytes', DEFAULT_MAX_RESPONSE_BYTES) }),
                    guard: loginGuard,
                    credentials: ownCredentials(node),
                    coolDownMs: setting('CoolDown', DEFAULT_COOL_DOWN_MS),
                });
            }
            return manager;
        };

        node.on('close', (_removed: boolean, done: () => void) => {
            const closing = manager;
            manager = undefined;
            if (!closing) return done();
            closing
                .close(flag(def.logoutOnClose, true), CLOSE_LOGOUT_TIMEOUT_MS)
                .catch((error: unknown) => node.warn(error instanceof Error ? error.message : String(error)))
                .finally(done);
        });
    }

    /** The TLS settings of the selected core tls-config node (CA, verification, client certificate). */
    function tlsOptions(def: ServerNodeDef): TlsOptions | undefined {
        if (def.proxy) throw new SessionError('CONFIG', 'HTTP proxy configurations are not supported yet: remove the proxy from the server configuration.');
        if (!def.tls) return undefined;
        const tlsNode = RED.nodes.getNode(def.tls) as TlsConfigNode | null;
        if (!tlsNode || typeof tlsNode.addTLSOptions !== 'function') {
            throw new SessionError('CONFIG', 'The selected TLS configuration was not found.');
        }
        const options: Record<string, unknown> = {};
        tlsNode.addTLSOptions(options);
        return options as TlsOptions;
    }

    function ownCredentials(node: ServerNode): LoginCredentials | undefined {
        const stored = (node.credentials ?? {}) as ServerCredentials;
        const username = withEnv(RED, node, stored.username)?.trim();
        if (!username) return undefined;
        const newPassword = withEnv(RED, node, stored.newPassword);
        return { username, password: withEnv(RED, node, stored.password) ?? '', newPassword: newPassword || undefined };
    }

    /** A tuning value from settings.js (`restSessionServerCoolDown`, ...), in ms or bytes. */
    function setting(name: string, fallback: number): number {
        const value = Number((RED.settings as unknown as Record<string, unknown>)[`restSessionServer${name}`]);
        return Number.isFinite(value) && value > 0 ? value : fallback;
    }

    RED.nodes.registerType('rest-session-server', RestSessionServer, {
        credentials: {
            username: { type: 'text' },
            password: { type: 'password' },
            newPassword: { type: 'password' },
        },
    });
};

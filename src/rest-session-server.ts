import type { Node, NodeAPI } from 'node-red';

import { SessionError } from './lib/errors';
import { proxySettings, tlsOptions } from './lib/node-red/connection-options';
import { withEnv } from './lib/node-red/env';
import { embeddedStore } from './lib/node-red/guard-file';
import { DEFAULT_MAX_RESPONSE_BYTES, guardPolicy, numberSetting } from './lib/node-red/runtime-settings';
import { flag, readServerSettings } from './lib/node-red/server-settings';
import { deployedStore, fleetGuardOf } from './lib/node-red/fleet-guard';
import { createSessionManager, readMaxConnections } from './lib/node-red/session-factory';
import { asSessionError } from './lib/node-red/report-error';
import { registerTestLogin } from './lib/node-red/test-login';
import { registerAuthorizeRoutes } from './lib/node-red/oauth2-routes';
import { createGrantRuntime, grantVault } from './lib/node-red/grant-runtime';
import { identitySettingNames } from './lib/vendors/settings';
import { VENDOR_TABLE_SETTING, editorVendors, registerSettingsCheck, serverCredentials } from './lib/node-red/vendor-table';
import type { ServerCredentials, ServerNode, ServerNodeDef, StoreNode } from './lib/node-red/types';
import type { SharedStoreLink } from './lib/session/shared-account';
import type { SessionManager } from './lib/session/session-manager';
import { UpdatesHub } from './lib/updates/updates-hub';
import { vendorAdapter } from './lib/vendors';
import type { LoginCredentials } from './lib/vendors/adapter';

/** A grant's refresh turn covers its token requests and this much more (store reads and writes). */
const GRANT_TURN_MARGIN_MS = 10_000;
/** Logging out on close may take this long at most, so a deploy is never held up. */
const CLOSE_LOGOUT_TIMEOUT_MS = 3000;

export = function register(RED: NodeAPI): void {
    function RestSessionServer(this: Node, def: ServerNodeDef): void {
        RED.nodes.createNode(this, def);
        const node = this as ServerNode;
        let manager: SessionManager | undefined;
        /** The store node the manager uses: closing keeps it open until the sessions left the fleet. */
        let store: StoreNode | undefined;
        let updates: UpdatesHub | undefined;
        let grant: ReturnType<typeof createGrantRuntime> | undefined;
        node.exposeCredential = flag(def.exposeCredential, false);
        node.tlsConfigured = Boolean(def.tls);

        /** The fleet's store this server names, with the guard's numbers; none without a `store`. */
        const sharedLink = (): SharedStoreLink | undefined => {
            store = storeNode(def.store);
            return store && { store: store.sharedStore(), share: store.share, policy: guardPolicy(RED) };
        };
        // Test login counts like any login of this server: through the fleet's guard too, never in its session.
        node.fleetGuard = () => {
            const named = storeNode(def.store);
            return named && fleetGuardOf(RED, named);
        };

        // Created on first use, so the tls-config node it reads exists whatever the start order.
        node.sessionManager = () => {
            if (!manager) {
                const adapter = vendorAdapter(def.vendor || 'smartserver');
                const settings = readServerSettings(def, adapter);
                const credentials = ownCredentials(node);
                // Tokens a person authorized belong to this node, its client and where the client's secret goes.
                const identity = identitySettingNames(adapter.settings).map(
                    (name) => `${name}=${String((settings as unknown as Record<string, unknown>)[name])}`,
                );
                const shared = sharedLink();
                grant = createGrantRuntime({
                    // With a fleet's store every instance holds the same tokens there, refreshed one at a time for the fleet.
                    vault: grantVault(RED, shared?.store),
                    binding: [node.id, credentials?.username ?? '', settings.baseUrl, ...identity],
                    // A refresh may send two token requests (one after a timeout) and write the store.
                    turnMs: 2 * settings.requestTimeoutMs + GRANT_TURN_MARGIN_MS,
                    // The statuses show what changed: the new tokens, or the device code to enter.
                    onChanged: () => {
                        const sessions = manager;
                        if (sessions) sessions.login(sessions.ownSession(), true).catch(() => undefined);
                    },
                });
                manager = createSessionManager(RED, {
                    serverId: node.id,
                    settings,
                    grant,
                    adapter,
                    connection: { tls: tlsOptions(RED, def.tls), proxy: proxySettings(RED, def.proxy) },
                    maxResponseBytes: numberSetting(RED, 'MaxResponseBytes', DEFAULT_MAX_RESPONSE_BYTES),
                    maxConnections: readMaxConnections(def.maxConnections),
                    credentials,
                    onWarning: (message) => node.warn(message),
                    shared,
                });
            }
            return manager;
        };

        // The live updates sockets of this server; only a vendor that pushes has them.
        node.liveUpdates = () => {
            const sessions = node.sessionManager();
            const adapter = vendorAdapter(def.vendor || 'smartserver');
            const push = adapter.push;
            if (!push) throw new SessionError('CONFIG', `${adapter.label} does not push live updates: poll with an authorized request instead.`);
            updates ??= new UpdatesHub(
                sessions,
                { ...adapter, push },
                {
                    tls: tlsOptions(RED, def.tls),
                    proxy: proxySettings(RED, def.proxy),
                    timeoutMs: sessions.requestTimeoutMs,
                },
            );
            return updates;
        };

        node.on('close', (_removed: boolean, done: () => void) => {
            // The sockets close first, then the sessions log out.
            updates?.close();
            updates = undefined;
            grant?.close();
            grant = undefined;
            const closing = manager;
            manager = undefined;
            if (!closing) return done();
            const closed = closing
                .close(flag(def.logoutOnClose, true), CLOSE_LOGOUT_TIMEOUT_MS)
                .catch((error: unknown) => node.warn(asSessionError(error, closing.scrubber).message))
                .finally(done);
            // Leaving the fleet's session needs the store: it stays open until then.
            store?.holdOpen(closed);
        });
    }

    /** The store node `id` names; `CONFIG` when it is missing. */
    function storeNode(id: unknown): StoreNode | undefined {
        return deployedStore(RED, id);
    }

    function ownCredentials(node: ServerNode): LoginCredentials | undefined {
        const stored = (node.credentials ?? {}) as ServerCredentials;
        const username = withEnv(RED, node, stored.username)?.trim();
        if (!username) return undefined;
        const newPassword = withEnv(RED, node, stored.newPassword);
        const refreshToken = withEnv(RED, node, stored.refreshToken)?.trim();
        return {
            username,
            password: withEnv(RED, node, stored.password) ?? '',
            newPassword: newPassword || undefined,
            ...(refreshToken ? { refreshToken } : {}),
        };
    }

    RED.nodes.registerType('rest-session-server', RestSessionServer, {
        credentials: serverCredentials(),
        settings: {
            [VENDOR_TABLE_SETTING]: { value: editorVendors(), exportable: true },
            // The dialog shows the redirect URI to register: behind a reverse proxy this base replaces the editor's origin.
            restSessionServerOAuthRedirectBase: { value: '', exportable: true },
        },
    });
    // The guard's file is read at start: a restart resumes its budget, cool-downs and blocks.
    embeddedStore(RED);
    registerTestLogin(RED);
    registerAuthorizeRoutes(RED);
    registerSettingsCheck(RED);
};

import type { Node, NodeAPI } from 'node-red';

import { SessionError } from './lib/errors';
import { tlsOptions } from './lib/node-red/connection-options';
import { withEnv } from './lib/node-red/env';
import { asSessionError } from './lib/node-red/report-error';
import { readStoreSettings, StoreCredentials } from './lib/node-red/store-settings';
import type { StoreNode, StoreNodeDef } from './lib/node-red/types';
import { createRedisStore, RedisStore } from './lib/store/redis';

/** Closing waits this long at most for the servers still leaving the shared session. */
const CLOSE_WAIT_MS = 5000;

export = function register(RED: NodeAPI): void {
    function RestSessionStore(this: Node, def: StoreNodeDef): void {
        RED.nodes.createNode(this, def);
        const node = this as StoreNode;
        const stored = (node.credentials ?? {}) as StoreCredentials;
        let store: RedisStore | undefined;
        let problem: SessionError | undefined;
        const users = new Set<Promise<void>>();
        let settings: ReturnType<typeof readStoreSettings> | undefined;
        try {
            settings = readStoreSettings(
                { ...def, url: withEnv(RED, node, def.url) },
                {
                    username: withEnv(RED, node, stored.username),
                    password: withEnv(RED, node, stored.password),
                    sharedKey: withEnv(RED, node, stored.sharedKey),
                },
            );
        } catch (error) {
            problem = asSessionError(error);
            node.error(problem.message);
        }
        node.share = settings?.share ?? 'guard';

        // Created on first use, so the tls-config node it reads exists whatever the start order.
        node.sharedStore = () => {
            if (problem) throw problem;
            store ??= createRedisStore({ ...settings!, tls: def.tls ? tlsOptions(RED, def.tls) : undefined });
            return store;
        };

        // A server leaving the shared session still needs Redis while it closes: closing waits for it.
        node.holdOpen = (until: Promise<unknown>) => {
            const held: Promise<void> = until.then(
                () => undefined,
                () => undefined,
            );
            users.add(held);
            void held.finally(() => users.delete(held));
        };

        // An evicting server is refused at deploy already, not only at the first login.
        if (!problem) {
            Promise.resolve()
                .then(() => node.sharedStore().check())
                .catch((error: unknown) => {
                    const found = asSessionError(error);
                    if (found.code === 'CONFIG') node.error(found.message);
                    else node.warn(found.message);
                });
        }

        node.on('close', (_removed: boolean, done: () => void) => {
            const closing = store;
            store = undefined;
            problem = new SessionError('CONFIG', 'The session store was stopped (redeploy or shutdown).');
            let timer: NodeJS.Timeout | undefined;
            const deadline = new Promise((resolve) => {
                timer = setTimeout(resolve, CLOSE_WAIT_MS);
            });
            // Servers closing in the same deploy register what they still need first (same tick).
            new Promise((resolve) => setImmediate(resolve))
                .then(() => Promise.race([Promise.allSettled([...users]), deadline]))
                .then(() => closing?.close())
                .catch(() => undefined)
                .finally(() => {
                    clearTimeout(timer);
                    done();
                });
        });
    }

    RED.nodes.registerType('rest-session-store', RestSessionStore, {
        credentials: { username: { type: 'text' }, password: { type: 'password' }, sharedKey: { type: 'password' } },
    });
};

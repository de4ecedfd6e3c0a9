import type { Node, NodeAPI } from 'node-red';

import { isSessionError } from './lib/errors';
import { setupFlowNode } from './lib/node-red/flow-node';
import type { FlowNodeDef } from './lib/node-red/types';
import type { Session } from './lib/session/session';
import type { SessionManager } from './lib/session/session-manager';

/** Ends `msg.session`'s session (or the server's own) and removes `msg.session` from the msg. */
export = function register(RED: NodeAPI): void {
    function RestSessionLogout(this: Node, def: FlowNodeDef): void {
        RED.nodes.createNode(this, def);
        setupFlowNode(RED, this, def, async (msg, { manager }) => {
            const session = sessionToEnd(manager, msg.session);
            if (session) await manager.logout(session);
            delete msg.session;
            return session;
        });
    }

    /**
     * The session to end; undefined when there is none, which counts as logged out: one already
     * gone, or no `msg.session` and no username in the server configuration (no own session).
     */
    function sessionToEnd(manager: SessionManager, reference: unknown): Session | undefined {
        try {
            return manager.sessionFor(reference);
        } catch (error) {
            if (!isSessionError(error)) throw error;
            if (reference === undefined || reference === null) {
                if (error.code === 'CONFIG') return undefined;
                throw error;
            }
            const server = (reference as { server?: unknown }).server;
            const alreadyGone = error.code === 'SESSION_REJECTED' && (server === undefined || server === manager.serverId);
            if (alreadyGone) return undefined;
            throw error;
        }
    }

    RED.nodes.registerType('rest-session-logout', RestSessionLogout);
};

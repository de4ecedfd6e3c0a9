import type { Node, NodeAPI } from 'node-red';

import { readMsgCredentials } from './lib/request/msg-credentials';
import { setupFlowNode } from './lib/node-red/flow-node';
import type { FlowNodeDef } from './lib/node-red/types';

/** Logs in (or reuses a live session) and puts `msg.session` and the secret-free login reply on the msg. */
export = function register(RED: NodeAPI): void {
    function RestSessionLogin(this: Node, def: FlowNodeDef): void {
        RED.nodes.createNode(this, def);
        setupFlowNode(RED, this, def, async (msg, { manager, server }) => {
            const supplied = msg.credentials;
            delete msg.credentials; // before anything can fail: a Catch node must never see a password
            const credentials = readMsgCredentials(supplied);
            const { session, changed } = credentials ? manager.sessionForCredentials(credentials) : { session: manager.ownSession(), changed: false };
            const fresh = msg.forceLogin === true || (changed && session.credential !== undefined);
            const live = await manager.login(session, fresh);
            msg.session = manager.describe(session, server.exposeCredential);
            msg.payload = live.result.payload;
            return session;
        });
    }
    RED.nodes.registerType('rest-session-login', RestSessionLogin);
};

import type { Node, NodeAPI } from 'node-red';

import { SessionError } from '../errors';
import type { Session } from '../session/session';
import type { SessionManager } from '../session/session-manager';
import { serverText } from './i18n';
import { NodeStatus } from './node-status';
import { asSessionError, failMessage } from './report-error';
import type { FlowNodeDef, Msg, ServerNode } from './types';

export interface FlowContext {
    manager: SessionManager;
    server: ServerNode;
}

/** What a flow node does with one msg: mutate it and return the session it used, if any. */
export type MsgHandler = (msg: Msg, context: FlowContext) => Promise<Session | undefined>;

/**
 * Wires a login/request/logout node: finds its server, shows session status, and funnels every
 * msg to exactly one `send`+`done()` or one `done(err)`, whatever the handler throws.
 */
export function setupFlowNode(RED: NodeAPI, node: Node, def: FlowNodeDef, handler: MsgHandler, showRequests = false): void {
    const server = (def.server ? RED.nodes.getNode(def.server) : null) as ServerNode | null;
    let manager: SessionManager | undefined;
    let setupError: SessionError | undefined;
    try {
        if (!server || typeof server.sessionManager !== 'function') {
            throw new SessionError('CONFIG', 'No server configuration is selected.');
        }
        manager = server.sessionManager();
    } catch (error) {
        setupError = asSessionError(error);
    }
    const status = new NodeStatus(node, serverText(RED), manager, showRequests);
    if (setupError) status.showError(setupError);

    node.on('input', (inputMsg, send, done) => {
        const msg = inputMsg as Msg;
        if (setupError || !manager || !server) {
            failMessage(msg, setupError ?? new SessionError('CONFIG', 'No server configuration is selected.'), done);
            return;
        }
        status.begin();
        handler(msg, { manager, server })
            .then(
                (session) => {
                    if (session) status.view(session);
                    warnOnce(node, session, manager);
                    status.end();
                    send(msg);
                    done();
                },
                (error: unknown) => {
                    const failure = asSessionError(error, manager?.scrubber);
                    status.end();
                    status.showError(failure);
                    failMessage(msg, failure, done, manager?.scrubber);
                },
            )
            .catch((error: unknown) => node.error(asSessionError(error, manager?.scrubber).message));
    });

    node.on('close', () => status.close());
}

/** A login's warning (e.g. Commvault "change the password"), shown once by whichever node used it first. */
function warnOnce(node: Node, session: Session | undefined, manager: SessionManager | undefined): void {
    const live = session?.credential;
    if (!live?.result.warning || live.warningShown) return;
    live.warningShown = true;
    node.warn(manager ? manager.scrubber.scrub(live.result.warning) : live.result.warning);
}

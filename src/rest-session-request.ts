import type { Node, NodeAPI } from 'node-red';

import { setupFlowNode } from './lib/node-red/flow-node';
import { flag } from './lib/node-red/server-settings';
import type { FlowNodeDef } from './lib/node-red/types';
import { EvaluateProperty, listHeaders, readHeaderRows } from './lib/request/header-list';
import { PayloadToQuery, RequestNodeConfig, ReturnType, parseRequest } from './lib/request/request-input';
import { statusError, writeResponse } from './lib/request/response-output';

interface RequestNodeDef extends FlowNodeDef {
    method?: string;
    url?: string;
    ret?: string;
    paytoqs?: string | boolean;
    errorOnStatus?: boolean | string;
    headers?: unknown;
}

/** "authorized request": the core http request node's msg contract, sent with the session's credential. */
export = function register(RED: NodeAPI): void {
    function RestSessionRequest(this: Node, def: RequestNodeDef): void {
        RED.nodes.createNode(this, def);
        const node = this;
        const config: RequestNodeConfig = {
            method: def.method || 'GET',
            url: (def.url ?? '').trim(),
            ret: (['txt', 'bin', 'obj'].includes(def.ret ?? '') ? def.ret : 'txt') as ReturnType,
            paytoqs: (def.paytoqs === true ? 'query' : ['query', 'body'].includes(String(def.paytoqs)) ? def.paytoqs : 'ignore') as PayloadToQuery,
        };
        const errorOnStatus = flag(def.errorOnStatus, false);
        const warn = (text: string) => node.warn(text);
        const headerRows = readHeaderRows(def.headers);
        const read: EvaluateProperty = (value, type, msg) => RED.util.evaluateNodeProperty(value, type, node, msg as never);

        setupFlowNode(
            RED,
            node,
            def,
            async (msg, { manager, server }) => {
                const session = manager.sessionFor(msg.session);
                const request = parseRequest(config, msg, manager.baseUrl, manager.requestTimeoutMs, warn, {
                    listHeaders: listHeaders(headerRows, msg, read),
                    tlsConfigured: server.tlsConfigured,
                });
                const { response } = await manager.request(session, request);
                writeResponse(msg, response, config.ret, manager.sessionCookie, warn);
                msg.session = manager.describe(session, server.exposeCredential);
                const failure = errorOnStatus ? statusError(response) : undefined;
                if (failure) throw failure;
                return session;
            },
            true,
        );
    }
    RED.nodes.registerType('rest-session-request', RestSessionRequest);
};

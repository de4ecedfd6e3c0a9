import type { Node, NodeAPI } from 'node-red';

import { UpdatesNodeDef, startUpdatesNode } from './lib/updates/updates-node';

/** "live updates": values the server pushes over the session, one msg per datapoint update. */
export = function register(RED: NodeAPI): void {
    function RestSessionUpdates(this: Node, def: UpdatesNodeDef): void {
        RED.nodes.createNode(this, def);
        startUpdatesNode(RED, this, def);
    }
    RED.nodes.registerType('rest-session-updates', RestSessionUpdates);
};

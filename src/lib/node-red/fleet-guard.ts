import type { NodeAPI } from 'node-red';

import { SessionError } from '../errors';
import type { SharedStoreLink } from '../session/shared-account';
import { guardPolicy } from './runtime-settings';
import type { StoreNode } from './types';

/** The deployed session store `id` names; none for an empty id. `CONFIG` when it is not deployed. */
export function deployedStore(RED: NodeAPI, id: unknown): StoreNode | undefined {
    if (typeof id !== 'string' || !id) return undefined;
    const found = RED.nodes.getNode(id) as StoreNode | null;
    if (!found || typeof found.sharedStore !== 'function') throw new SessionError('CONFIG', 'The selected session store was not found.');
    return found;
}

/** A store's login guard for a login that is no part of the fleet's session (Test login): its budget, cool-downs, blocks. */
export function fleetGuardOf(RED: NodeAPI, store: StoreNode): SharedStoreLink {
    return { store: store.sharedStore(), share: 'guard', policy: guardPolicy(RED) };
}

import type { Node, NodeDef, NodeMessageInFlow } from 'node-red';

import type { SessionManager } from '../session/session-manager';
import type { SharedStoreLink } from '../session/shared-account';
import type { RedisStore } from '../store/redis';
import type { UpdatesHub } from '../updates/updates-hub';

/** The `rest-session-server` config node as flow nodes see it. */
export interface ServerNode extends Node {
    /** The session manager, created on first use; throws a `CONFIG` SessionError if the config is unusable. */
    sessionManager(): SessionManager;
    /** The live updates sockets of this server, created on first use (only for a vendor that pushes). */
    liveUpdates(): UpdatesHub;
    exposeCredential: boolean;
    /** A tls-config node is selected: a request URL without a scheme gets `https://`, as in the core node. */
    tlsConfigured: boolean;
    /**
     * The fleet's login guard this server names (its `store`, sharing the guard only), for a login
     * that is no part of the fleet's session (Test login); none without a store. Throws `CONFIG`
     * when the store is unusable.
     */
    fleetGuard(): SharedStoreLink | undefined;
}

export interface ServerNodeDef extends NodeDef {
    vendor?: string;
    baseUrl?: string;
    tls?: string;
    proxy?: string;
    requestTimeout?: number | string;
    maxConnections?: number | string;
    logoutOnClose?: boolean | string;
    exposeCredential?: boolean | string;
    /** Id of a `rest-session-store` config node: share the guard (and maybe the session) with a fleet. */
    store?: string;
    /** The vendor's own settings (its settings table names them). */
    [setting: string]: unknown;
}

export interface ServerCredentials {
    username?: string;
    password?: string;
    newPassword?: string;
    refreshToken?: string;
}

export interface FlowNodeDef extends NodeDef {
    server: string;
}

/** A msg as our nodes read and write it: any user properties plus the ones of the contract. */
export type Msg = NodeMessageInFlow & Record<string, unknown>;

/** The core `tls-config` node's API. */
export interface TlsConfigNode extends Node {
    addTLSOptions(options: Record<string, unknown>): void;
}

/** The `rest-session-store` config node as server nodes see it. */
export interface StoreNode extends Node {
    /** `guard`: share the login guard; `session`: also the live credential. */
    share: 'guard' | 'session';
    /** The shared store, created on first use; throws a `CONFIG` SessionError if the config is unusable. */
    sharedStore(): RedisStore;
    /** Keeps the store open until `until` settles (at most a few seconds), for a server still leaving. */
    holdOpen(until: Promise<unknown>): void;
}

export interface StoreNodeDef extends NodeDef {
    engine?: string;
    url?: string;
    tls?: string;
    keyPrefix?: string;
    share?: string;
}

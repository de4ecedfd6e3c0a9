import type { Node, NodeDef, NodeMessageInFlow } from 'node-red';

import type { SessionManager } from '../session/session-manager';
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

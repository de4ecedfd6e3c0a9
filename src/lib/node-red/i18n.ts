import type { NodeAPI } from 'node-red';

/** Runtime strings live once, in the config node's catalog; every node set reads them from there. */
const SERVER_NAMESPACE = '@rest-session/node-red-rest-session/rest-session-server';

export type Translate = (key: string, params?: Record<string, string | number>) => string;

export function serverText(RED: NodeAPI): Translate {
    return (key, params) => RED._(`${SERVER_NAMESPACE}:rest-session-server.${key}`, params);
}

import type { Node, NodeAPI } from 'node-red';

/** Replaces `${NAME}` in a credential with the env variable (flow/global env first, where supported). */
export function withEnv(RED: NodeAPI, node: Node, value: string | undefined): string | undefined {
    if (value === undefined || !value.includes('${')) return value;
    const util = RED.util as unknown as { getSetting?: (node: Node, name: string) => unknown };
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
        const found = typeof util.getSetting === 'function' ? util.getSetting(node, name) : process.env[name];
        return found === undefined || found === null ? '' : String(found);
    });
}

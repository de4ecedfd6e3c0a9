import type { NodeAPI } from 'node-red';

import { SessionError } from '../errors';
import type { TlsOptions } from '../http/http-client';
import type { ProxySettings } from '../http/proxy-agents';
import type { TlsConfigNode } from './types';

/** The core `http proxy` config node (06-httpproxy.js) as it stores its settings. */
interface HttpProxyNode {
    url?: string;
    noproxy?: string[];
    credentials?: { username?: string; password?: string };
}

/** The TLS settings of a core tls-config node (CA, verification, client certificate); none without one. */
export function tlsOptions(RED: NodeAPI, tlsId: string | undefined): TlsOptions | undefined {
    if (!tlsId) return undefined;
    const tlsNode = RED.nodes.getNode(tlsId) as TlsConfigNode | null;
    if (!tlsNode || typeof tlsNode.addTLSOptions !== 'function') {
        throw new SessionError('CONFIG', 'The selected TLS configuration was not found.');
    }
    const options: Record<string, unknown> = {};
    tlsNode.addTLSOptions(options);
    return options as TlsOptions;
}

/**
 * The settings of a core http proxy node: its URL (user info taken out), its no-proxy list, and
 * the `Proxy-Authorization` from its credentials or, as the core node does, from the URL.
 */
export function proxySettings(RED: NodeAPI, proxyId: string | undefined): ProxySettings | undefined {
    if (!proxyId) return undefined;
    const proxyNode = RED.nodes.getNode(proxyId) as unknown as HttpProxyNode | null;
    if (!proxyNode) throw new SessionError('CONFIG', 'The selected HTTP proxy configuration was not found.');
    let url: URL;
    try {
        url = new URL(String(proxyNode.url ?? '').trim());
    } catch {
        throw new SessionError('CONFIG', 'The HTTP proxy URL is not valid: use http://host:port.');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new SessionError('CONFIG', 'The HTTP proxy URL must start with http:// or https://.');
    }
    const username = proxyNode.credentials?.username ?? '';
    const password = proxyNode.credentials?.password ?? '';
    const user = username || password ? `${username}:${password}` : url.username || url.password ? `${decode(url.username)}:${decode(url.password)}` : '';
    url.username = '';
    url.password = '';
    return {
        url,
        noProxy: Array.isArray(proxyNode.noproxy) ? proxyNode.noproxy.map(String) : [],
        authorization: user ? `Basic ${Buffer.from(user).toString('base64')}` : undefined,
    };
}

function decode(text: string): string {
    try {
        return decodeURIComponent(text);
    } catch {
        return text;
    }
}

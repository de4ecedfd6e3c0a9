import http from 'node:http';
import https from 'node:https';

import axios, { AxiosInstance, AxiosResponse } from 'axios';

import { SessionError } from './errors';
import { transportError } from './transport-errors';

/** TLS settings as a core `tls-config` node fills them in (`addTLSOptions`). */
export type TlsOptions = https.AgentOptions;

export interface HttpClientOptions {
    tls?: TlsOptions;
    /** Largest response body accepted, in bytes. */
    maxResponseBytes: number;
}

export interface HttpRequest {
    method: string;
    /** Absolute URL. */
    url: string;
    headers: Record<string, string>;
    body?: Buffer | string;
    timeoutMs: number;
    followRedirects: boolean;
    /** Headers that carry the session credential: dropped if a redirect leaves the origin. */
    credentialHeaders?: readonly string[];
}

export interface RedirectHop {
    location: string;
    setCookie: string[];
}

export interface HttpResponse {
    status: number;
    /** Lower-case names; `set-cookie` is always an array when present. */
    headers: Record<string, string | string[]>;
    body: Buffer;
    /** The URL that answered, after redirects. */
    url: string;
    redirects: RedirectHop[];
}

const MAX_REDIRECTS = 21;

/**
 * One per server config node: keep-alive agents carrying the server's TLS settings, reused by
 * every session and message of that server. Sends one exchange; retries live in the session core.
 */
export class HttpClient {
    private readonly httpAgent: http.Agent;
    private readonly httpsAgent: https.Agent;
    private readonly axios: AxiosInstance;

    constructor(options: HttpClientOptions) {
        this.httpAgent = new http.Agent({ keepAlive: true });
        this.httpsAgent = new https.Agent({ ...options.tls, keepAlive: true });
        this.axios = axios.create({
            httpAgent: this.httpAgent,
            httpsAgent: this.httpsAgent,
            proxy: false,
            validateStatus: null,
            responseType: 'arraybuffer',
            transformRequest: [],
            transformResponse: [],
            maxContentLength: options.maxResponseBytes,
            maxBodyLength: Infinity,
            transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: false },
        });
        // Like the core http request node, send no Accept unless the flow or the vendor asks for one.
        delete this.axios.defaults.headers.common.Accept;
    }

    async send(request: HttpRequest): Promise<HttpResponse> {
        const origin = new URL(request.url).origin;
        const redirects: RedirectHop[] = [];
        let response: AxiosResponse<Buffer>;
        try {
            response = await this.axios.request<Buffer>({
                method: request.method,
                url: request.url,
                headers: request.headers,
                data: request.body,
                timeout: request.timeoutMs,
                maxRedirects: request.followRedirects ? MAX_REDIRECTS : 0,
                beforeRedirect: (options: Record<string, any>, details: { headers: http.IncomingHttpHeaders }) => {
                    const location = `${options.protocol}//${options.host ?? options.hostname}${options.path ?? ''}`;
                    redirects.push({ location, setCookie: toArray(details.headers['set-cookie']) });
                    if (`${options.protocol}//${options.host}` !== origin) stripCredential(options, request.credentialHeaders);
                },
            });
        } catch (error) {
            throw transportError(error, request.method, request.url, request.timeoutMs);
        }
        return {
            status: response.status,
            headers: plainHeaders(response.headers),
            body: Buffer.isBuffer(response.data) ? response.data : Buffer.from(response.data ?? ''),
            url: finalUrl(response, request.url),
            redirects,
        };
    }

    /** Closes idle keep-alive sockets; in-flight requests finish on their own sockets. */
    destroy(): void {
        this.httpAgent.destroy();
        this.httpsAgent.destroy();
    }
}

function toArray(value: string | string[] | undefined): string[] {
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
}

function plainHeaders(headers: AxiosResponse['headers']): Record<string, string | string[]> {
    const result: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(headers)) {
        if (value === undefined || value === null) continue;
        result[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
    }
    const cookies = result['set-cookie'];
    if (typeof cookies === 'string') result['set-cookie'] = [cookies];
    return result;
}

function finalUrl(response: AxiosResponse, requested: string): string {
    const responseUrl = (response.request as { res?: { responseUrl?: string } } | undefined)?.res?.responseUrl;
    return typeof responseUrl === 'string' && responseUrl ? responseUrl : requested;
}

function stripCredential(options: Record<string, any>, names: readonly string[] | undefined): void {
    const headers = options.headers as Record<string, unknown> | undefined;
    if (!headers) return;
    const drop = new Set(['cookie', 'authorization', ...(names ?? []).map((name) => name.toLowerCase())]);
    for (const name of Object.keys(headers)) {
        if (drop.has(name.toLowerCase())) delete headers[name];
    }
}


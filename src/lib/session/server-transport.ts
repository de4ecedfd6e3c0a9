import type { HttpClient, HttpRequest, HttpResponse } from '../http/http-client';
import { isIdempotent } from '../http/retry-policy';
import { sendWithRetry } from '../http/send-with-retry';
import type { ServerSettings, SessionCredential, VendorAdapter, VendorContext, VendorExchange } from '../vendors/adapter';
import { cookieHeader, storeSessionCookies } from './session-cookies';

/** An authorized request as the request node parsed it from the msg. */
export interface AuthorizedRequest {
    method: string;
    /** Absolute URL, already checked to be on the server's origin. */
    url: string;
    headers: Record<string, string>;
    /** `name=value` pairs from the msg, sent beside the session cookie. */
    cookies: string[];
    body?: Buffer | string;
    timeoutMs?: number;
    followRedirects: boolean;
}

export interface ServerTransportOptions {
    settings: ServerSettings;
    adapter: VendorAdapter;
    http: HttpClient;
}

/**
 * One server's authorized transport: sends an exchange with a session's cookies and token, the
 * vendor's default headers, and retries on transient faults. Knows nothing of sessions: the adapters
 * use it through {@link context} to log in and out, the session manager for the flow's requests.
 */
export class ServerTransport {
    /** What the adapters are lent: the settings and a way to send their exchanges. */
    readonly context: VendorContext;
    private readonly defaultHeaders: Record<string, string>;

    constructor(private readonly options: ServerTransportOptions) {
        this.defaultHeaders = options.adapter.requestHeaders(options.settings);
        this.context = { settings: options.settings, send: (exchange, credential) => this.sendExchange(exchange, credential) };
    }

    get settings(): ServerSettings {
        return this.options.settings;
    }

    /** An adapter's exchange (login, expiry probe, logout): retried on transient faults unless it opts out. */
    sendExchange(exchange: VendorExchange, credential: SessionCredential): Promise<HttpResponse> {
        const url = this.options.settings.baseUrl + exchange.path;
        const headers = { ...exchange.headers };
        if (credential.header) headers[credential.header.name] = credential.header.value;
        return sendWithRetry(() => this.sendOnce(credential, url, headers, [], exchange.method, exchange.body), exchange.retry !== false);
    }

    /** A flow's request with the session's credential; idempotent methods are retried on transient faults. */
    sendAuthorized(credential: SessionCredential, request: AuthorizedRequest): Promise<HttpResponse> {
        const headers = withDefaults(request.headers, this.defaultHeaders);
        if (credential.header) setHeader(headers, credential.header.name, credential.header.value);
        return sendWithRetry(
            () => this.sendOnce(credential, request.url, headers, request.cookies, request.method, request.body, request),
            isIdempotent(request.method),
        );
    }

    /** Closes every socket; nothing is sent after this. */
    destroy(): void {
        this.options.http.destroy();
    }

    private async sendOnce(
        credential: SessionCredential,
        url: string,
        headers: Record<string, string>,
        msgCookies: string[],
        method: string,
        body: Buffer | string | undefined,
        request?: AuthorizedRequest,
    ): Promise<HttpResponse> {
        const outgoing: HttpRequest = {
            method,
            url,
            headers: cookieHeader(headers, msgCookies, credential.jar, url),
            body,
            timeoutMs: request?.timeoutMs ?? this.options.settings.requestTimeoutMs,
            followRedirects: request?.followRedirects ?? false,
            credentialHeaders: credential.header ? [credential.header.name] : [],
        };
        const response = await this.options.http.send(outgoing);
        storeSessionCookies(credential.jar, response, this.options.adapter.sessionCookie, !request);
        return response;
    }
}

/** Vendor defaults for headers the msg does not set (names compared without case). */
function withDefaults(headers: Record<string, string>, defaults: Record<string, string>): Record<string, string> {
    const result = { ...headers };
    for (const [name, value] of Object.entries(defaults)) {
        if (!Object.keys(result).some((key) => key.toLowerCase() === name.toLowerCase())) result[name] = value;
    }
    return result;
}

/** Sets a header, replacing any spelling of the same name: the session's token always wins. */
function setHeader(headers: Record<string, string>, name: string, value: string): void {
    for (const key of Object.keys(headers)) if (key.toLowerCase() === name.toLowerCase()) delete headers[key];
    headers[name] = value;
}

import type { CookieJar } from 'tough-cookie';

import type { HttpResponse } from '../http/http-client';

export type VendorId = 'smartserver' | 'cmwell' | 'sdm' | 'commvault';

/** The config node's settings, parsed and typed (design.md, `rest-session-server`). */
export interface ServerSettings {
    vendor: VendorId;
    /** Without a trailing slash. */
    baseUrl: string;
    apiVersion: string;
    format: 'json' | 'xml';
    authScheme: 'basic' | 'digest';
    tokenLifetime: string;
    domain: string;
    commserver: string;
    requestTimeoutMs: number;
}

export interface LoginCredentials {
    username: string;
    password: string;
    newPassword?: string;
}

/** A header that carries a token (CM-Well, Commvault); cookies travel in the jar instead. */
export interface CredentialHeader {
    name: string;
    value: string;
}

/** What a live session sends with each request: its cookie jar and, for token vendors, a header. */
export interface SessionCredential {
    jar: CookieJar;
    header?: CredentialHeader;
}

/** One exchange an adapter asks the core to make, relative to the base URL. */
export interface VendorExchange {
    method: string;
    /** Path relative to `baseUrl`, starting with "/" (may carry a query string). */
    path: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** false: never resend on a transient fault (e.g. a single-use Digest nonce). */
    retry?: boolean;
}

/** What the core lends an adapter: the settings and a way to send (retried on transient faults). */
export interface VendorContext {
    readonly settings: ServerSettings;
    send(exchange: VendorExchange, credential: SessionCredential): Promise<HttpResponse>;
}

export interface LoginResult {
    header?: CredentialHeader;
    /** Absolute expiry in ms since the epoch, when the vendor tells it in advance. */
    expiresAt: number | null;
    /** Expiry after this long without use (Commvault). */
    idleTimeoutMs?: number;
    /** The vendor's login reply with every secret removed: becomes `msg.payload` of the login node. */
    payload: unknown;
    /** The password expired and `newPassword` replaced it: the config must be updated. */
    passwordChanged?: boolean;
    /** Something the user should know that does not stop the login. */
    warning?: string;
}

/**
 * Everything that differs between vendors. The session core calls these and never asks which
 * vendor it is talking to.
 */
export interface VendorAdapter {
    readonly id: VendorId;
    /** Product name for messages. */
    readonly label: string;
    /** Name of the cookie that carries the session: kept out of `msg.responseCookies`. */
    readonly sessionCookie?: string;
    /** A message for each setting that makes the config unusable (`CONFIG`), nothing sent. */
    validate(settings: ServerSettings): string | undefined;
    /** Headers every authorized request gets unless the msg sets them (e.g. `Accept`). */
    requestHeaders(settings: ServerSettings): Record<string, string>;
    /** Logs in, storing any session cookie in `credential.jar`; throws a SessionError on refusal. */
    login(context: VendorContext, credentials: LoginCredentials, credential: SessionCredential): Promise<LoginResult>;
    /** The vendor's "this session is dead" signal on a reply to an authorized request. */
    isSessionRejected(response: HttpResponse): boolean;
    /** Ends the session on the server; a session that is already gone counts as success. */
    logout(context: VendorContext, credential: SessionCredential): Promise<void>;
}

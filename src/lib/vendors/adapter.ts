import type { CookieJar } from 'tough-cookie';

import type { SessionError } from '../errors';
import type { HttpResponse } from '../http/http-client';
import type { VendorSettingsTable } from './settings';
import type { RetryScope } from '../http/retry-policy';

/** The settings every vendor has (the config node's common properties), parsed. */
export interface CommonSettings {
    vendor: string;
    /** Without a trailing slash. */
    baseUrl: string;
    requestTimeoutMs: number;
}

/** The config node's settings, parsed: the common ones and the vendor's own (its settings table). */
export type ServerSettings<O = unknown> = CommonSettings & O;

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
    /**
     * When it may be resent after a transient fault ({@link RetryScope}). Default: any transient
     * fault, except during a login, where exchanges carry credentials and default to `'unsent'`.
     * `true` for a login exchange without credentials (a Digest challenge); `false` never (a
     * single-use Digest nonce).
     */
    retry?: RetryScope;
}

/** What the core lends an adapter: the settings and a way to send (retried on transient faults). */
export interface VendorContext<O = unknown> {
    readonly settings: ServerSettings<O>;
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
    /** Where the credential and its expiry were found (shown by Test login; never the credential itself). */
    found?: { credential: string; expiry: string };
}

/**
 * Everything that differs between vendors. The session core calls these and never asks which
 * vendor it is talking to.
 */
export interface VendorAdapter<O = unknown> {
    readonly id: string;
    /** Product name for messages. */
    readonly label: string;
    /** The vendor's own settings (`vendors/<vendor>/settings.ts`): parsed by the core, shown by the editor. */
    readonly settings: VendorSettingsTable;
    /** i18n keys under `rest-session-server.tip` the editor shows below the TLS picker for this vendor. */
    readonly tips?: readonly string[];
    /** Editor presets: each fills the vendor's settings (name → values); label key `rest-session-server.preset.<name>`. */
    readonly presets?: Readonly<Record<string, Readonly<Record<string, string | boolean>>>>;
    /** Name of the cookie that carries the session: kept out of `msg.responseCookies`. */
    readonly sessionCookie?: string;
    /**
     * An adapter whose signals depend on the settings (which cookie is the session, which statuses
     * mean "session ended") returns one bound to them; the core uses that one for the config node.
     */
    withSettings?(settings: ServerSettings<O>): VendorAdapter<O>;
    /** A message for each setting that makes the config unusable (`CONFIG`), nothing sent. */
    validate(settings: ServerSettings<O>): string | undefined;
    /** Headers every authorized request gets unless the msg sets them (e.g. `Accept`). */
    requestHeaders(settings: ServerSettings<O>): Record<string, string>;
    /** Logs in, storing any session cookie in `credential.jar`; throws a SessionError on refusal. */
    login(context: VendorContext<O>, credentials: LoginCredentials, credential: SessionCredential): Promise<LoginResult>;
    /** The vendor's "this session is dead" signal on a reply to an authorized request. */
    isSessionRejected(response: HttpResponse): boolean;
    /** Ends the session on the server; a session that is already gone counts as success. */
    logout(context: VendorContext<O>, credential: SessionCredential): Promise<void>;
    /** A sentence on the likely cause of a failed login that this vendor's settings explain, if any. */
    loginHint?(error: SessionError, settings: ServerSettings<O>): string | undefined;
}

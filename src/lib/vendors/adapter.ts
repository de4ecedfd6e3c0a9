import type { CookieJar } from 'tough-cookie';

import type { SessionError } from '../errors';
import type { Text } from '../texts';
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
    /** A refresh token the user pasted (OAuth2 grants that renew themselves). */
    refreshToken?: string;
}

/** A header that carries a token (CM-Well, Commvault); cookies travel in the jar instead. */
export interface CredentialHeader {
    name: string;
    value: string;
    /** The bare token, when the value wraps it in more text (a template): a secret of its own. */
    token?: string;
}

/**
 * A token the session sends on writes only (POST, PUT, PATCH, DELETE) and only to the server's
 * origin: a CSRF token. Its value changes when the server renews it.
 */
export interface WriteToken {
    /** The request header that carries it. */
    name: string;
    value: string;
}

/** What a live session sends with each request: its cookie jar and, for token vendors, a header. */
export interface SessionCredential {
    jar: CookieJar;
    header?: CredentialHeader;
    writeToken?: WriteToken;
}

/** One exchange an adapter asks the core to make, relative to the base URL. */
export interface VendorExchange {
    method: string;
    /** Path relative to `baseUrl`, starting with "/" (may carry a query string). */
    path: string;
    /** An absolute URL instead of `path` (an OAuth2 token endpoint, possibly on another origin). */
    url?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /**
     * When it may be resent after a transient fault ({@link RetryScope}). Default: any transient
     * fault, except during a login, where exchanges carry credentials and default to `'unsent'`.
     * `true` for a login exchange without credentials (a Digest challenge); `false` never (a
     * single-use Digest nonce).
     */
    retry?: RetryScope;
    /**
     * Set by the core on a login's exchanges: runs just before each write (the first and every
     * resend), and a throw ends the exchange unwritten (a fleet login whose lease ran out).
     */
    beforeWrite?: () => Promise<void>;
}

/** What the core lends an adapter: the settings and a way to send (retried on transient faults). */
export interface VendorContext<O = unknown> {
    readonly settings: ServerSettings<O>;
    send(exchange: VendorExchange, credential: SessionCredential): Promise<HttpResponse>;
    /** The deployed config node's memory for a grant that renews itself; absent for Test login. */
    readonly grant?: GrantRuntime;
}

/** What a grant that renews itself keeps in the guard's store (encrypted there). */
export interface GrantRecord {
    /** Fingerprint of the pasted refresh token the chain started from. */
    seed?: string;
    /** Fingerprints of every refresh token pasted for this grant so far: only a paste not among them starts a new chain. */
    seeds?: string[];
    refreshToken?: string;
    accessToken?: string;
    /** ms since the epoch; null when the provider gave no lifetime. */
    expiresAt: number | null;
    obtainedAt: number;
    /** The provider refused the refresh token: a person must authorize again. */
    dead?: boolean;
    /** A device authorization one instance of the fleet started and polls: the others show its code instead of starting their own. */
    device?: {
        prompt: GrantPrompt;
        outcome: 'waiting' | 'denied' | 'expired';
        /** Renewed by each poll: past it, the instance that polls is gone (stopped, crashed) and its code is no one's. */
        polledUntil?: number;
    };
}

/** One turn to refresh a grant (the store's lease, fleet-wide with a shared store); it is never extended. */
export interface GrantTurn {
    /** An exchange that may take `ms` still ends within this turn. */
    hasTime(ms: number): boolean;
    /** Throws `GUARD_UNAVAILABLE` (counted as not sent) unless {@link hasTime}: a holder whose turn ran out does not send. */
    assertTime(ms: number): void;
    /**
     * Saves a refresh's result, confirmed: while this turn still holds the grant's lease (fleet-wide),
     * else only over `from`, the record the refresh started from (as read); false when refused (a newer
     * chain stands).
     */
    save(from: GrantRecord | undefined, next: GrantRecord): Promise<boolean>;
}

/** The grant's slot in the store, for one config node and client (a changed client, token endpoint or base URL reads as empty). */
export interface GrantStore {
    read(): Promise<GrantRecord | undefined>;
    /** Resolves once the store confirmed the write. */
    write(record: GrantRecord): Promise<void>;
    /** Writes `next` only if the store still holds `expected` (as read); false when another write came first. */
    replace(expected: GrantRecord | undefined, next: GrantRecord): Promise<boolean>;
    /** Runs `task` as the only refresh of this grant (fleet-wide with a shared store), in a turn of limited time. */
    lease<T>(task: (turn: GrantTurn) => Promise<T>): Promise<T>;
}

/** A person's part in a grant in progress (device flow): shown in the status and the dialog. */
export interface GrantPrompt {
    userCode: string;
    verificationUri: string;
    verificationUriComplete?: string;
    expiresAt: number;
}

/** Per deployed config node: the grant's store, and what happens between logins (a device flow polling). */
export interface GrantRuntime {
    readonly store: GrantStore;
    /** State of this deploy (a device flow in progress): forgotten on redeploy. */
    readonly state: Map<string, unknown>;
    /** Timers of this deploy, cleared when the node closes. */
    later(ms: number, task: () => void): void;
    /** The grant changed outside a login (a device code to enter, an authorization finished or failed): log in again to show it. */
    changed(): void;
    readonly closed: boolean;
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
    /** A write (CSRF) token that came with the login (or was fetched right after it). */
    writeToken?: WriteToken;
    /** Where the credential, its expiry and a write token were found, as catalog texts said one after the other (Test login; never the values). */
    found?: { credential: Text[]; expiry: Text[]; writeToken?: Text[] };
}

/** One datapoint value pushed by the server (or read once to fill a gap). */
export interface PushUpdate {
    /** The datapoint's id in the vendor's terms (SmartServer: the dpQualifier). */
    topic: string;
    value: unknown;
    /** ms since the epoch, or null when the server sends no time. */
    timestamp: number | null;
    /** Copied to the msg exactly when the server's entry has them (null included). */
    extra: Record<string, unknown>;
}

/** What one frame of the push socket holds. */
export type PushFrame =
    | { kind: 'updates'; updates: PushUpdate[] }
    /** Any other `{action, payload}`; `known` is false for actions the vendor has not documented. */
    | { kind: 'event'; action: string; payload: unknown; known: boolean }
    /** Not JSON, or not the vendor's envelope. */
    | { kind: 'invalid' };

/**
 * How a vendor pushes live values over the session: a websocket opened with the session's
 * credential, a REST call that says which datapoints it carries, and an on-demand read.
 */
export interface VendorPush {
    /** The socket's URL for a base URL (ws: or wss:). */
    socketUrl(baseUrl: string): string;
    /** The call that makes the session's socket carry exactly these datapoints (`[]`: none). */
    subscribe(datapoints: readonly string[]): VendorExchange;
    /** The calls that read the current values of these datapoints once. */
    read(datapoints: readonly string[]): VendorExchange[];
    /** The values in a reply to one of those reads. */
    parseRead(body: Buffer): PushUpdate[];
    parseFrame(text: string): PushFrame;
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
     * Where the vendor's API lives under the base URL, e.g. `/iap/`: a session cookie that would
     * not be sent there is no session. Absent: anywhere at or below the base URL.
     */
    readonly apiPath?: string;
    /**
     * An adapter whose signals depend on the settings (which cookie is the session, which statuses
     * mean "session ended") returns one bound to them; the core uses that one for the config node.
     */
    withSettings?(settings: ServerSettings<O>): VendorAdapter<O>;
    /** A message for each setting that makes the config unusable (`CONFIG`), nothing sent. */
    validate(settings: ServerSettings<O>): string | undefined;
    /** Headers every authorized request gets unless the msg sets them (e.g. `Accept`). */
    requestHeaders(settings: ServerSettings<O>): Record<string, string>;
    /**
     * Logs in, storing any session cookie in `credential.jar`; throws a SessionError on refusal.
     * `replacing` is the credential this login replaces (due or refused), if any.
     */
    login(context: VendorContext<O>, credentials: LoginCredentials, credential: SessionCredential, replacing?: SessionCredential): Promise<LoginResult>;
    /** The vendor's "this session is dead" signal on a reply to an authorized request (a status, a body, a redirect). */
    isSessionRejected(response: HttpResponse): boolean;
    /** The reply to a write says its write token is missing or stale (checked before {@link isSessionRejected}). */
    isWriteTokenRefused?(response: HttpResponse): boolean;
    /**
     * A new write token for the same session (fetched with its cookies), or undefined when only a
     * new login gives one (then the core logs in again, single flight).
     */
    fetchWriteToken?(context: VendorContext<O>, credential: SessionCredential): Promise<WriteToken | undefined>;
    /** The write token a reply hands over to replace the current one (e.g. an "updated token" header). */
    renewedWriteToken?(response: HttpResponse): string | undefined;
    /** Reply headers that carry a credential: never copied to `msg.headers`. */
    readonly credentialReplyHeaders?: readonly string[];
    /** Ends the session on the server; a session that is already gone counts as success. */
    logout(context: VendorContext<O>, credential: SessionCredential): Promise<void>;
    /** A sentence on the likely cause of a failed login that this vendor's settings explain, if any. */
    loginHint?(error: SessionError, settings: ServerSettings<O>): string | undefined;
    /** Live updates over the session, for vendors that push (the live updates node needs it). */
    readonly push?: VendorPush;
    /** A person authorizes from the editor (OAuth2 grants), for vendors whose settings ask for it. */
    readonly authorization?: VendorAuthorization<O>;
    /**
     * The login's credential lives in the grant's store record (OAuth2 tokens that renew themselves):
     * a fleet's store shares it through that record, whatever its `share` says, so no session is
     * published for the fleet besides it.
     */
    readonly credentialInStore?: boolean;
}

/** What the editor's Authorize button starts: a page to open, or a code to enter elsewhere. */
export type AuthorizationStart = { kind: 'redirect'; url: string; state: string; pending: unknown } | { kind: 'device'; prompt: GrantPrompt };

/** The editor's "Authorize" (OAuth2): starts an authorization and finishes it from the provider's redirect. */
export interface VendorAuthorization<O = unknown> {
    /** Starts one; `CONFIG` when the settings ask for no authorization by a person. */
    start(context: VendorContext<O>, credentials: LoginCredentials, redirectUri: string): Promise<AuthorizationStart>;
    /** The provider redirected back with `query`: exchanges the code and stores the tokens. */
    finish(context: VendorContext<O>, credentials: LoginCredentials, pending: unknown, query: URLSearchParams): Promise<void>;
}

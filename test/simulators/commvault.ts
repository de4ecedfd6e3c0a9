/**
 * Commvault / SnapProtect REST ("WebConsole API") simulator (the wire facts: docs/vendors.md, Commvault).
 *
 * Serves Login (JSON or XML, Base64 password, HTTP 200 with `errList` on refusal), Logout,
 * RenewLoginToken, WhoAmI and a few data routes (Client, CommServ) under a configurable web-service
 * root (`/webconsole/api` by default; `/commandcenter/api` and `/SearchSvc/CVWebService.svc` work
 * the same). Tokens die after `idleTtlMs` without use. Every timing knob is an option so tests run
 * in milliseconds, and every time read is Date.now(), so sinon's fake Date drives it.
 * Only Node core modules.
 */

import http from 'node:http';
import crypto from 'node:crypto';
import {
    LockoutCounter,
    Simulator,
    runCli,
    type Exchange,
    type FlowSimulator,
    type ListenOptions,
    type RequestRecord,
    type SimulatorOptions,
    type SimulatorStats,
} from './loopback-server';

const TOKEN_PREFIX = 'QSDK ';
const XML_LOGIN_REQUEST = 'DM2ContentIndexing_CheckCredentialReq';
const XML_LOGIN_REPLY = 'DM2ContentIndexing_CheckCredentialResp';

export interface CommvaultOptions extends ListenOptions {
    /** The web-service root path. */
    root: string;
    idleTtlMs: number;
    lockoutThreshold: number;
    lockoutDurationS: number;
    /** Status of the "Invalid authorization token provided." logout answer (undocumented: 200 or 401). */
    logoutInvalidStatus: number;
    loginDelayMs: number;
}

const DEFAULT_OPTIONS: CommvaultOptions = {
    tls: true,
    host: '127.0.0.1',
    port: 0,
    root: '/webconsole/api',
    idleTtlMs: 30 * 60 * 1000,
    lockoutThreshold: 5,
    lockoutDurationS: 5400,
    logoutInvalidStatus: 200,
    loginDelayMs: 0,
};

export interface CommvaultUser {
    password: string;
    /** When set, the login must name it. */
    domain: string;
    forcePasswordChange: boolean;
    userGUID: string;
    aliasName: string;
    smtpAddress: string;
}

const DEFAULT_USERS: Record<string, Partial<CommvaultUser>> = { cvuser01: { password: 'Password#123!' } };

// The Logout texts and the 401 body follow docs/vendors.md; the errList codes and texts are the
// simulator's choice (the vendor's exact values are not documented).
const MSG = {
    loggedOut: 'User logged out',
    invalidToken: 'Invalid authorization token provided.',
    accessDenied: { errorCode: 5, errorMessage: 'Access denied' },
    invalidCredentials: { errorCode: 1116, errLogMessage: 'Invalid username or password' },
    accountLocked: { errorCode: 1117, errLogMessage: 'User account is locked' },
    renewFailed: { errorCode: 1118, errLogMessage: 'Failed to renew the login token' },
};

export interface CommvaultRecord extends RequestRecord {
    authtoken: boolean;
    accept: string;
    contentType: string;
}

export interface CommvaultLogin {
    format: 'json' | 'xml';
    username: string;
    domain: unknown;
    commserver: unknown;
    fields: string[];
}

export interface CommvaultStats extends SimulatorStats<CommvaultRecord> {
    logouts: number;
    renewals: number;
    logins: CommvaultLogin[];
}

type Ctx = Exchange<CommvaultRecord>;
type Fault = { status: number; body: unknown };
type Data = { xmlRoot: string; value: Record<string, unknown> };

interface TokenEntry {
    token: string;
    user: string;
    deviceId: string | undefined;
    createdAt: number;
    lastUsedAt: number;
    expired: boolean;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

function mediaTypeOf(header: string | undefined): string {
    return typeof header === 'string' ? header.split(';')[0].trim().toLowerCase() : '';
}

function isXmlType(header: string | undefined): boolean {
    const type = mediaTypeOf(header);
    return type === 'application/xml' || type === 'text/xml';
}

/** The reply format a client asked for with Accept: XML only when it names XML. */
function wantsXml(accept: string | undefined): boolean {
    return typeof accept === 'string' && /\b(application|text)\/xml\b/i.test(accept);
}

/** Strict Base64 of UTF-8 text; null when `text` is not Base64 (the vendor fails such a login). */
export function decodeBase64(text: unknown): string | null {
    if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
    const bytes = Buffer.from(text, 'base64');
    if (bytes.toString('base64') !== text) return null;
    const decoded = bytes.toString('utf8');
    return Buffer.from(decoded, 'utf8').equals(bytes) ? decoded : null;
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXmlText(text: string): string {
    return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (match, name: string) => {
        if (name[0] === '#') {
            const code = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
            return code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : match;
        }
        return Object.prototype.hasOwnProperty.call(XML_ENTITIES, name) ? XML_ENTITIES[name] : match;
    });
}

function encodeXmlText(text: unknown): string {
    return String(text).replace(/[&<>"']/g, (char) => `&${Object.keys(XML_ENTITIES).find((k) => XML_ENTITIES[k] === char)};`);
}

/** The first element of an XML document as `{ name, attributes }`; null when there is none. */
export function parseXmlElement(text: string): { name: string; attributes: Record<string, string> } | null {
    const match = /^\s*(?:<\?xml[^>]*\?>\s*)?<([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?>/.exec(text);
    if (!match) return null;
    const attributes: Record<string, string> = {};
    for (const attr of match[2].matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        attributes[attr[1]] = decodeXmlText(attr[2] !== undefined ? attr[2] : attr[3]);
    }
    return { name: match[1], attributes };
}

/**
 * A reply object as Commvault XML: scalars become attributes, objects child elements, arrays
 * repeated child elements (so `errList: []` disappears and `errList: [{…}]` is one `<errList …/>`).
 */
export function toXml(name: string, value: Record<string, unknown>): string {
    const attributes: string[] = [];
    const children: string[] = [];
    for (const [key, field] of Object.entries(value)) {
        if (field === null || field === undefined) continue;
        if (Array.isArray(field)) {
            for (const item of field as unknown[]) {
                children.push(
                    typeof item === 'object' && item !== null ? toXml(key, item as Record<string, unknown>) : `<${key}>${encodeXmlText(item)}</${key}>`,
                );
            }
        } else if (typeof field === 'object') {
            children.push(toXml(key, field as Record<string, unknown>));
        } else {
            attributes.push(` ${key}="${encodeXmlText(field)}"`);
        }
    }
    const open = `<${name}${attributes.join('')}`;
    return children.length ? `${open}>${children.join('')}</${name}>` : `${open}/>`;
}

/** "QSDK 3856…" or a bare "3856…" (clients differ): the token's hex part, or null. */
function tokenKey(header: unknown): string | null {
    if (typeof header !== 'string') return null;
    const value = header.trim().replace(/^QSDK\s+/i, '');
    return /^[0-9a-f]+$/i.test(value) ? value.toLowerCase() : null;
}

/** `{ sessionId, deviceId }` of a RenewLoginToken call; null when unreadable (refused then). */
function parseRenewBody(raw: Buffer): { sessionId?: unknown; deviceId?: unknown } | null {
    try {
        const body: unknown = JSON.parse(raw.toString('utf8'));
        return body && typeof body === 'object' ? body : null;
    } catch {
        return null;
    }
}

function guid(): string {
    return crypto.randomUUID().toUpperCase();
}

interface Client {
    clientId: number;
    clientName: string;
    displayName: string;
    hostName: string;
    clientDescription: string;
}

function makeClients(): Client[] {
    return [
        { clientId: 2, clientName: 'cs01', displayName: 'CommServe', hostName: 'cs01.example.local', clientDescription: '' },
        { clientId: 5, clientName: 'fileserver01', displayName: 'File server 01', hostName: 'fs01.example.local', clientDescription: '' },
    ];
}

function emptyStats(): CommvaultStats {
    return { loginAttempts: 0, loginsOk: 0, logouts: 0, renewals: 0, logins: [], requests: [] };
}

// ---------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------

export class CommvaultSimulator extends Simulator<CommvaultRecord, CommvaultStats> {
    protected readonly _options: CommvaultOptions;
    private readonly _users = new Map<string, CommvaultUser>();
    private readonly _tokens = new Map<string, TokenEntry>(); // hex → entry
    private readonly _issued: string[] = [];
    private readonly _lockout: LockoutCounter;
    private readonly _clients = makeClients();
    private readonly _faults: Record<'data' | 'login' | 'logout', Fault[]> = { data: [], login: [], logout: [] };
    private readonly _commCellGuid = guid();
    protected override _jsonType = 'application/json; charset=utf-8';

    constructor(options: SimulatorOptions<CommvaultUser> & Partial<CommvaultOptions> = {}) {
        super('Commvault', emptyStats);
        const { users, ...rest } = options;
        this._options = { ...DEFAULT_OPTIONS, ...rest };
        this._options.root = `/${String(this._options.root).replace(/^\/+|\/+$/g, '')}`;
        this._lockout = new LockoutCounter(() => ({ threshold: this._options.lockoutThreshold, durationMs: this._options.lockoutDurationS * 1000 }));
        for (const [name, props] of Object.entries(users ?? DEFAULT_USERS)) this.setUser(name, props);
    }

    // ---- address ------------------------------------------------------------------------

    /** The web-service root URL, e.g. `https://127.0.0.1:1234/webconsole/api`. */
    get baseUrl(): string {
        if (!this.origin) throw new Error('Commvault simulator not started');
        return this.origin + this._options.root;
    }

    // ---- test controls ------------------------------------------------------------------------

    /** Every token stops working (401 on data calls); they can still be renewed. */
    expireTokens(): void {
        for (const entry of this._tokens.values()) entry.expired = true;
    }

    /** The next `count` data calls (after the token check) answer `status` with `body`. */
    failNext(status: number, count = 1, body?: unknown): void {
        for (let i = 0; i < count; i++) this._faults.data.push({ status, body });
    }

    failNextLogin(status: number, count = 1, body?: unknown): void {
        for (let i = 0; i < count; i++) this._faults.login.push({ status, body });
    }

    failNextLogout(status: number, count = 1, body?: unknown): void {
        for (let i = 0; i < count; i++) this._faults.logout.push({ status, body });
    }

    /** Adds or changes a user: `password`, `domain` (then required at login), `forcePasswordChange`. */
    setUser(name: string, props: Partial<CommvaultUser> = {}): CommvaultUser {
        const current = this._users.get(name);
        const record: CommvaultUser = current
            ? { ...current, ...props }
            : {
                  password: '',
                  domain: '',
                  forcePasswordChange: false,
                  userGUID: guid(),
                  aliasName: String(this._users.size + 1),
                  smtpAddress: `${name}@commvault.example.local`,
                  ...props,
              };
        this._users.set(name, record);
        return { ...record };
    }

    getUser(name: string): CommvaultUser | undefined {
        const record = this._users.get(name);
        return record ? { ...record } : undefined;
    }

    /** Every token ever issued, as sent in the Authtoken header ("QSDK …"). */
    issuedTokens(): string[] {
        return [...this._issued];
    }

    isTokenValid(token: string): boolean {
        return this._liveToken(tokenKey(token)) !== null;
    }

    liveTokens(): number {
        let count = 0;
        for (const key of [...this._tokens.keys()]) if (this._liveToken(key)) count++;
        return count;
    }

    /** When the user's lock ends (ms since the epoch), or 0 when not locked. */
    lockedUntil(name: string): number {
        return this._lockout.lockedUntil(name);
    }

    // ---- request plumbing ---------------------------------------------------------------------

    protected _recordFields(req: http.IncomingMessage): Omit<CommvaultRecord, keyof RequestRecord> {
        return {
            authtoken: typeof req.headers.authtoken === 'string' && req.headers.authtoken !== '',
            accept: req.headers.accept ?? '',
            contentType: req.headers['content-type'] ?? '',
        };
    }

    protected _tooLarge(ctx: Ctx): void {
        this._sendJson(ctx, 413, { errorCode: 413, errorMessage: 'Request body too large' });
    }

    protected _dispatch(ctx: Ctx): void {
        const { root } = this._options;
        const { method, pathname } = ctx;
        if (pathname !== root && !pathname.startsWith(`${root}/`)) return this._notFound(ctx);
        const route = pathname.slice(root.length).replace(/\/+$/, '');
        const name = route.toLowerCase();
        // cvpysdk probes the web-service root with GET and requires 200 before it logs in.
        if (route === '' && method === 'GET') return this._send(ctx, 200, 'Commvault REST API', { 'Content-Type': 'text/plain' });
        if (name === '/login' && method === 'POST') return this._handleLogin(ctx);
        if (name === '/logout' && method === 'POST') return this._handleLogout(ctx);
        if (name === '/renewlogintoken' && method === 'POST') return this._handleRenew(ctx);
        if (name === '/whoami' && (method === 'POST' || method === 'GET')) return this._withToken(ctx, (entry) => this._handleWhoAmI(ctx, entry));
        if (name === '/client' && method === 'GET') return this._withToken(ctx, () => this._sendData(ctx, this._clientList()));
        const client = /^\/client\/(\d+)$/.exec(name);
        if (client && method === 'GET') return this._withToken(ctx, () => this._getClient(ctx, Number(client[1])));
        if (client && method === 'POST') return this._withToken(ctx, () => this._updateClient(ctx, Number(client[1])));
        if (name === '/commserv' && method === 'GET') return this._withToken(ctx, () => this._sendData(ctx, this._commServ()));
        return this._notFound(ctx);
    }

    /** JSON, or XML under `xmlRoot` when the client's Accept asks for XML. */
    private _sendData(ctx: Ctx, { xmlRoot, value }: Data, status = 200): void {
        if (wantsXml(ctx.req.headers.accept)) {
            return this._send(ctx, status, toXml(xmlRoot, value), { 'Content-Type': 'application/xml; charset=utf-8' });
        }
        return this._sendJson(ctx, status, value);
    }

    private _sendText(ctx: Ctx, status: number, text: string): void {
        this._send(ctx, status, text, { 'Content-Type': 'text/plain; charset=utf-8' });
    }

    private _notFound(ctx: Ctx): void {
        this._sendJson(ctx, 404, { errorCode: 404, errorMessage: 'The requested resource was not found' });
    }

    /** An injected fault from `queue`, answered; true when one was used. */
    private _fault(ctx: Ctx, queue: keyof CommvaultSimulator['_faults']): boolean {
        const fault = this._faults[queue].shift();
        if (!fault) return false;
        const { status, body } = fault;
        if (typeof body === 'string' || Buffer.isBuffer(body)) this._send(ctx, status, body, { 'Content-Type': 'text/plain' });
        else this._sendJson(ctx, status, body === undefined ? { errorCode: status, errorMessage: http.STATUS_CODES[status] || 'Error' } : body);
        return true;
    }

    // ---- tokens -------------------------------------------------------------------------------

    /** The token entry for `key` if alive (not expired, used within idleTtlMs), else null. */
    private _liveToken(key: string | null): TokenEntry | null {
        const entry = key ? this._tokens.get(key) : undefined;
        if (!entry || entry.expired) return null;
        if (Date.now() >= entry.lastUsedAt + this._options.idleTtlMs) {
            entry.expired = true;
            return null;
        }
        return entry;
    }

    private _issueToken(user: string, deviceId: string | undefined): TokenEntry {
        const key = crypto.randomBytes(64).toString('hex');
        const now = Date.now();
        const entry = { token: TOKEN_PREFIX + key, user, deviceId, createdAt: now, lastUsedAt: now, expired: false };
        this._tokens.set(key, entry);
        this._issued.push(entry.token);
        return entry;
    }

    /** Data calls: a live Authtoken (its idle timer restarts), then injected faults, then the handler. */
    private _withToken(ctx: Ctx, handler: (entry: TokenEntry) => void): void {
        const entry = this._liveToken(tokenKey(ctx.req.headers.authtoken));
        if (!entry) return this._sendJson(ctx, 401, MSG.accessDenied);
        entry.lastUsedAt = Date.now();
        if (this._fault(ctx, 'data')) return;
        handler(entry);
    }

    // ---- Login --------------------------------------------------------------------------------

    private _handleLogin(ctx: Ctx): void {
        this._stats.loginAttempts++;
        this._afterDelay(this._options.loginDelayMs, () => this._answerLogin(ctx));
    }

    /** `{ format, fields }` from a JSON body or the XML request element's attributes; null if unreadable. */
    private _readLoginRequest(ctx: Ctx): { format: 'json' | 'xml'; fields: Record<string, unknown> } | null {
        const contentType = ctx.req.headers['content-type'];
        const text = ctx.body.toString('utf8');
        if (isXmlType(contentType)) {
            const element = parseXmlElement(text);
            if (!element || element.name !== XML_LOGIN_REQUEST) return null;
            return { format: 'xml', fields: element.attributes };
        }
        if (mediaTypeOf(contentType) !== 'application/json') return null;
        try {
            const fields: unknown = JSON.parse(text);
            if (!fields || typeof fields !== 'object' || Array.isArray(fields)) return null;
            return { format: 'json', fields: fields as Record<string, unknown> };
        } catch {
            return null;
        }
    }

    private _answerLogin(ctx: Ctx): void {
        if (this._fault(ctx, 'login')) return;
        const request = this._readLoginRequest(ctx);
        if (!request || typeof request.fields.username !== 'string' || typeof request.fields.password !== 'string') {
            return this._sendJson(ctx, 400, { errorCode: 400, errorMessage: 'Invalid login request' });
        }
        const { domain = '', commserver = '', deviceId } = request.fields;
        const { username, password } = request.fields as { username: string; password: string };
        this._stats.logins.push({ format: request.format, username, domain, commserver, fields: Object.keys(request.fields) });
        const reply = (status: number, value: Record<string, unknown>): void => this._sendData(ctx, { xmlRoot: XML_LOGIN_REPLY, value }, status);

        // The lock wins even over the right password.
        if (this.lockedUntil(username)) return reply(200, this._lockedReply(username));
        const user = this._users.get(username);
        const domainOk = !user || !user.domain || String(domain).toLowerCase() === user.domain.toLowerCase();
        if (!user || !domainOk || decodeBase64(password) !== user.password) {
            const entry = this._lockout.recordFailure(username);
            if (entry.lockedUntil) return reply(200, this._lockedReply(username));
            return reply(200, {
                errList: [MSG.invalidCredentials],
                isAccountLocked: false,
                loginAttempts: entry.count,
                remainingLockTime: 0,
            });
        }
        this._lockout.clear(username);
        const entry = this._issueToken(username, typeof deviceId === 'string' ? deviceId : undefined);
        this._stats.loginsOk++;
        return reply(200, this._successReply(username, user, entry.token));
    }

    private _lockedReply(username: string): Record<string, unknown> {
        const entry = this._lockout.entry(username);
        return {
            errList: [MSG.accountLocked],
            isAccountLocked: true,
            loginAttempts: entry.count,
            remainingLockTime: Math.max(1, Math.ceil((entry.lockedUntil - Date.now()) / 1000)),
        };
    }

    private _successReply(username: string, user: CommvaultUser, token: string): Record<string, unknown> {
        const organization = { GUID: this._commCellGuid, providerDomainName: 'Commcell', providerId: 0 };
        return {
            aliasName: user.aliasName,
            capability: 4328650366975,
            ccn: 0,
            errList: [],
            forcePasswordChange: Boolean(user.forcePasswordChange),
            isAccountLocked: false,
            loginAttempts: 0,
            ownerOrganization: organization,
            providerOrganization: organization,
            additionalResp: { nameValues: [{ name: 'USERNAME', value: username }] },
            remainingLockTime: 0,
            smtpAddress: user.smtpAddress,
            token,
            userGUID: user.userGUID,
            userName: username,
            providerType: 1,
        };
    }

    // ---- Logout, RenewLoginToken, WhoAmI --------------------------------------------------------

    private _handleLogout(ctx: Ctx): void {
        if (this._fault(ctx, 'logout')) return;
        const key = tokenKey(ctx.req.headers.authtoken);
        const entry = this._liveToken(key);
        if (!key || !entry) return this._sendText(ctx, this._options.logoutInvalidStatus, MSG.invalidToken);
        this._tokens.delete(key);
        this._stats.logouts++;
        return this._sendText(ctx, 200, MSG.loggedOut);
    }

    /** The expired token (header and `sessionId`) plus the login's `deviceId` → a new token. */
    private _handleRenew(ctx: Ctx): void {
        const key = tokenKey(ctx.req.headers.authtoken);
        const entry = key ? this._tokens.get(key) : undefined;
        const body = parseRenewBody(ctx.body);
        const sessionOk = body && tokenKey(body.sessionId) === key;
        const deviceOk = entry && entry.deviceId !== undefined && body && body.deviceId === entry.deviceId;
        if (!key || !entry || !sessionOk || !deviceOk) return this._sendJson(ctx, 200, { error: MSG.renewFailed });
        this._tokens.delete(key);
        const renewed = this._issueToken(entry.user, entry.deviceId);
        this._stats.renewals++;
        return this._sendJson(ctx, 200, { token: renewed.token, error: {} });
    }

    private _handleWhoAmI(ctx: Ctx, entry: TokenEntry): void {
        const user = this._users.get(entry.user);
        return this._sendData(ctx, {
            xmlRoot: 'CvEntities_ProcessingInstructionInfo',
            value: { user: { userName: entry.user, userGUID: user ? user.userGUID : '' } },
        });
    }

    // ---- data routes --------------------------------------------------------------------------

    private _clientEntity(client: Client): Record<string, unknown> {
        const { clientId, clientName, displayName, hostName } = client;
        return { client: { clientEntity: { clientId, clientName, displayName, hostName }, clientDescription: client.clientDescription } };
    }

    private _clientList(): Data {
        return { xmlRoot: 'App_GetClientPropertiesResponse', value: { clientProperties: this._clients.map((c) => this._clientEntity(c)) } };
    }

    private _getClient(ctx: Ctx, id: number): void {
        const client = this._clients.find((c) => c.clientId === id);
        if (!client) return this._sendJson(ctx, 404, { errorCode: 2, errorMessage: `Client ${id} not found` });
        return this._sendData(ctx, { xmlRoot: 'App_GetClientPropertiesResponse', value: { clientProperties: [this._clientEntity(client)] } });
    }

    /** Write route: `{"clientProperties":{"client":{"clientDescription":"…"}}}` sets the description. */
    private _updateClient(ctx: Ctx, id: number): void {
        const client = this._clients.find((c) => c.clientId === id);
        if (!client) return this._sendJson(ctx, 404, { errorCode: 2, errorMessage: `Client ${id} not found` });
        let description: unknown;
        try {
            const body = JSON.parse(ctx.body.toString('utf8')) as { clientProperties: { client: { clientDescription: unknown } } };
            description = body.clientProperties.client.clientDescription;
        } catch {
            description = undefined;
        }
        if (typeof description !== 'string') return this._sendJson(ctx, 400, { errorCode: 400, errorMessage: 'Invalid client properties' });
        client.clientDescription = description;
        return this._sendData(ctx, {
            xmlRoot: 'App_SetClientPropertiesResponse',
            value: { response: [{ errorCode: 0, entity: { clientId: client.clientId, clientName: client.clientName } }] },
        });
    }

    private _commServ(): Data {
        return {
            xmlRoot: 'App_GetCommServResponse',
            value: { commcell: { commCellId: 2, commCellName: 'cs01', csGUID: this._commCellGuid, hostName: 'cs01.example.local', releaseName: '11.32' } },
        };
    }
}

// ---------------------------------------------------------------------------------------------
// Command line: node -r tsx/cjs test/simulators/commvault.ts [--port 8445] [--http] [--host 127.0.0.1] [--root /webconsole/api]
// ---------------------------------------------------------------------------------------------

if (require.main === module)
    runCli(
        (options) => new CommvaultSimulator(options),
        (sim) => sim.baseUrl,
        { '--root': ['root', String] },
    );

/** The shared entry point of every simulator module (example-flow tests, `npm start`). */
export async function startForFlows({ host = '127.0.0.1', port = 0 } = {}): Promise<FlowSimulator<CommvaultSimulator>> {
    const simulator = new CommvaultSimulator({ host, port });
    await simulator.start();
    return {
        simulator,
        baseUrl: simulator.baseUrl,
        credentials: { username: 'cvuser01', password: DEFAULT_USERS.cvuser01.password ?? '' },
        stop: () => simulator.stop(),
    };
}

/** Port `npm start` uses for this vendor (env COMMVAULT_PORT overrides). */
export const DEMO_PORT = 8445;

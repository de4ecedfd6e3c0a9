/**
 * Oracle Communications Session Delivery Manager (SDM) REST simulator (the wire facts:
 * docs/vendors.md, Oracle SDM).
 *
 * Serves `/rest/{versionId}/admin/login`, `/admin/logout`, the device list
 * `GET /rest/{versionId}/inventory/deviceMgmt/devices` (also at `/configuration/devices`) and one
 * write route, `POST /rest/{versionId}/inventory/deviceMgmt/deviceGroups`, each in XML or JSON. The
 * session is a Tomcat `JSESSIONID` cookie with `Path=/rest`, valid for every API version. `GET /`
 * stands for the SDM web client that lives outside `/rest`.
 *
 * Where the vendor documents nothing, the simulator chooses, and says so below: the error body shape,
 * the formats of `validUntil` and `idleTimeout`, the JSON reply shapes. Only Node core modules.
 */

import http from 'node:http';
import crypto from 'node:crypto';
import {
    CookieSessions,
    Simulator,
    runCli,
    type Exchange,
    type FlowSimulator,
    type Headers,
    type ListenOptions,
    type RequestRecord,
    type SimulatorOptions,
    type SimulatorStats,
} from './loopback-server';

const SESSION_COOKIE = 'JSESSIONID';
export const API_VERSIONS = ['v1.0', 'v1.1', 'v1.2', 'v1.3'];
const JSON_TYPE = 'application/json';
const XML_TYPE = 'application/xml';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';

export interface SdmOptions extends ListenOptions {
    sessionTtlMs: number;
    /** 0: no idle limit. */
    idleTtlMs: number;
    loginDelayMs: number;
    serverInfo: string;
}

const DEFAULT_OPTIONS: SdmOptions = {
    tls: true,
    host: '127.0.0.1',
    port: 0,
    sessionTtlMs: 12 * 3600000,
    idleTtlMs: 0,
    loginDelayMs: 0,
    serverInfo: 'NNC82',
};

export interface SdmUser {
    password: string;
    userGroup: string;
}

const DEFAULT_USERS: Record<string, Partial<SdmUser>> = { admin: { password: 'passphrase', userGroup: 'LI_ADMIN' } };

// Documented texts (docs/vendors.md); the others are the simulator's choice.
const MSG = {
    invalidInput: 'The user input is invalid.',
    invalidCredentials: 'The user ID or password is invalid.',
    unknownVersion: 'The REST API version of your input request cannot be found.',
    invalidSession: 'The session ID is invalid.',
    notAuthorized: 'The request is not authorized.',
    notFound: 'The requested resource cannot be found.',
    methodNotAllowed: 'The request method is not supported for this resource.',
    unsupportedType: 'The content type of the request is not supported.',
    notAcceptable: 'The requested response format is not supported.',
    tooLarge: 'The request body is too large.',
};

const DEVICES = [
    { deviceId: 'sbc-east-01', name: 'SBC East', ipAddress: '10.0.10.11', platform: 'Acme Packet 6300', softwareVersion: 'SCZ9.3.0', status: 'Connected' },
    { deviceId: 'sbc-west-01', name: 'SBC West', ipAddress: '10.0.20.11', platform: 'Acme Packet 4600', softwareVersion: 'SCZ9.3.0', status: 'Connected' },
];

export interface SdmRecord extends RequestRecord {
    cookie: string;
    accept: string;
}

export interface SdmStats extends SimulatorStats<SdmRecord> {
    logouts: number;
}

type Ctx = Exchange<SdmRecord>;
type FaultRoute = 'data' | 'login' | 'logout';
type Fault = { status: number; body: string | Buffer | undefined; route: FaultRoute };

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const XML_NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function escapeXml(text: unknown): string {
    return String(text).replace(/[&<>"']/g, (ch) => XML_ESCAPES[ch]);
}

function unescapeXml(text: string): string {
    return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (match, name: string) => {
        if (name[0] === '#') return String.fromCodePoint(name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10));
        return XML_NAMED[name];
    });
}

/** `<name>value</name>` for each field, nested objects and arrays (as repeated elements) included. */
function toXml(name: string, value: unknown): string {
    if (Array.isArray(value)) return value.map((item) => toXml(name, item)).join('');
    if (value && typeof value === 'object') {
        return `<${name}>${Object.entries(value)
            .map(([key, inner]) => toXml(key, inner))
            .join('')}</${name}>`;
    }
    return `<${name}>${escapeXml(value)}</${name}>`;
}

/**
 * The text of each `<field>` directly inside the root element `<root>` of a small XML body, or null
 * when the body is not that root. Enough for the login and device-group bodies; a DOCTYPE is refused.
 */
export function readXmlFields(text: string, root: string, fields: string[]): Record<string, string> | null {
    const trimmed = text
        .replace(/^\uFEFF/, '')
        .replace(/^<\?xml[^>]*\?>/, '')
        .trim();
    if (/<!DOCTYPE/i.test(trimmed)) return null;
    const match = new RegExp(`^<${root}(\\s[^>]*)?>([\\s\\S]*)</${root}>$`).exec(trimmed);
    if (!match) return null;
    const result: Record<string, string> = {};
    for (const field of fields) {
        const inner = new RegExp(`<${field}>([^<]*)</${field}>|<${field}\\s*/>`).exec(match[2]);
        if (inner) result[field] = unescapeXml(inner[1] || '');
    }
    return result;
}

/** The media type of a Content-Type header, lower case, without parameters. */
function mediaType(header: string | undefined): string {
    return typeof header === 'string' ? header.split(';')[0].trim().toLowerCase() : '';
}

function isXmlType(type: string): boolean {
    return type === XML_TYPE || type === 'text/xml';
}

/**
 * 'xml' or 'json' for an Accept header, as a JAX-RS resource that produces both would choose: the
 * higher quality wins, a tie or a wildcard gives XML (listed first); null when neither is acceptable.
 * No Accept header at all counts as `*\/*`.
 */
export function replyFormat(accept: string | undefined): 'xml' | 'json' | null {
    if (typeof accept !== 'string' || accept.trim() === '') return 'xml';
    let json = 0;
    let xml = 0;
    for (const range of accept.split(',')) {
        const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
        const qParam = params.find((param) => param.startsWith('q='));
        const q = qParam ? Number(qParam.slice(2)) || 0 : 1;
        if (type === '*/*' || type === 'application/*') {
            json = Math.max(json, q);
            xml = Math.max(xml, q);
        } else if (type === JSON_TYPE) json = Math.max(json, q);
        else if (isXmlType(type)) xml = Math.max(xml, q);
    }
    if (json === 0 && xml === 0) return null;
    return json > xml ? 'json' : 'xml';
}

/** The format of this exchange's replies: what its Accept asks for, XML when it asks for neither. */
function formatOf(ctx: Ctx): 'xml' | 'json' {
    return replyFormat(ctx.req.headers.accept) ?? 'xml';
}

/** A Tomcat session id: 32 upper-case hex digits and the route of the node, as in the docs. */
function newSessionId(): string {
    return `${crypto.randomBytes(16).toString('hex').toUpperCase()}.tomcat1`;
}

/**
 * A DOCTYPE declaring the "billion laughs" entity chain (lol9 expands to 10^9 "lol"): a parser
 * that expands entities would hang or run out of memory. Used by `entityBombNext`.
 */
function entityBombDoctype(root: string): string {
    const entities = ['<!ENTITY lol0 "lol">'];
    for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
    return `<!DOCTYPE ${root} [${entities.join('')}]>`;
}

function emptyStats(): SdmStats {
    return { loginAttempts: 0, loginsOk: 0, logouts: 0, requests: [] };
}

// ---------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------

export class SdmSimulator extends Simulator<SdmRecord, SdmStats> {
    protected readonly _options: SdmOptions;
    private readonly _users = new Map<string, SdmUser>();
    private readonly _sessions: CookieSessions;
    private readonly _groups = ['Home'];
    private readonly _faults: Fault[] = []; // queued failNext answers
    private _bombs = 0;
    private _expireAfter = 0;

    constructor(options: SimulatorOptions<SdmUser> & Partial<SdmOptions> = {}) {
        super('SDM', emptyStats);
        const { users, ...rest } = options;
        this._options = { ...DEFAULT_OPTIONS, ...rest };
        this._sessions = new CookieSessions(SESSION_COOKIE, () => this._options);
        for (const [name, props] of Object.entries(users ?? DEFAULT_USERS)) this.setUser(name, props);
    }

    // ---- address ------------------------------------------------------------------------

    /** The base URL a client configures: the origin (the API lives under `/rest`). */
    get baseUrl(): string {
        if (!this.origin) throw new Error('SDM simulator not started');
        return this.origin;
    }

    // ---- test controls ----------------------------------------------------------------------

    /** Every live session becomes invalid, as after an SDM restart. */
    expireSessions(): void {
        this._sessions.clear();
    }

    /** Every session becomes invalid once `count` more data requests have been served with one. */
    expireSessionsAfter(count: number): void {
        this._expireAfter = count;
    }

    /**
     * The next `count` requests of a kind are answered with `status` (and the error body, or `body`)
     * instead of being handled. `route`: 'data' (default: device routes, after the session check),
     * 'login' or 'logout'.
     */
    failNext(status: number, count = 1, { body, route = 'data' }: { body?: string | Buffer; route?: FaultRoute } = {}): void {
        for (let i = 0; i < count; i++) this._faults.push({ status, body, route });
    }

    /** The next `count` XML replies (login or data) start with a DOCTYPE "billion laughs" entity bomb. */
    entityBombNext(count = 1): void {
        this._bombs += count;
    }

    setUser(name: string, props: Partial<SdmUser> = {}): void {
        const current = this._users.get(name) ?? { password: '', userGroup: 'LI_ADMIN' };
        this._users.set(name, { ...current, ...props });
    }

    isSessionValid(sessionId: string): boolean {
        return this._sessions.live(sessionId) !== null;
    }

    liveSessions(): number {
        return this._sessions.liveCount();
    }

    get deviceGroups(): string[] {
        return [...this._groups];
    }

    // ---- request plumbing -------------------------------------------------------------------

    protected _recordFields(req: http.IncomingMessage): Omit<SdmRecord, keyof RequestRecord> {
        return { cookie: req.headers.cookie ?? '', accept: req.headers.accept ?? '' };
    }

    protected _tooLarge(ctx: Ctx): void {
        this._sendError(ctx, 413, MSG.tooLarge);
    }

    protected _dispatch(ctx: Ctx): void {
        const { method, pathname } = ctx;
        if (pathname === '/' && method === 'GET') return this._sendLanding(ctx);
        const match = /^\/rest\/([^/]+)(\/.*)?$/.exec(pathname);
        if (!match) return this._sendError(ctx, 404, MSG.notFound);
        const [, version, route = '/'] = match;
        if (route === '/admin/login' && method === 'POST') this._stats.loginAttempts++;
        if (!API_VERSIONS.includes(version)) return this._sendError(ctx, 404, MSG.unknownVersion);
        if (replyFormat(ctx.req.headers.accept) === null) return this._sendError(ctx, 406, MSG.notAcceptable);

        const routes: Record<string, Record<string, () => void>> = {
            '/admin/login': { POST: () => this._handleLogin(ctx) },
            '/admin/logout': { POST: () => this._handleLogout(ctx) },
            '/inventory/deviceMgmt/devices': { GET: () => this._withSession(ctx, () => this._listDevices(ctx)) },
            '/configuration/devices': { GET: () => this._withSession(ctx, () => this._listDevices(ctx)) },
            '/inventory/deviceMgmt/deviceGroups': { POST: () => this._withSession(ctx, () => this._addDeviceGroup(ctx)) },
        };
        const handlers = routes[route] as Record<string, () => void> | undefined;
        if (!handlers) return this._sendError(ctx, 404, MSG.notFound);
        const handler = handlers[method] as (() => void) | undefined;
        if (!handler) return this._sendError(ctx, 405, MSG.methodNotAllowed, { Allow: Object.keys(handlers).join(', ') });
        handler();
    }

    /** `value` as `<root>` XML or as JSON without the root element, per the request's Accept. */
    private _sendData(ctx: Ctx, status: number, root: string, value: Record<string, unknown>, headers: Headers = {}): void {
        if (formatOf(ctx) === 'json') {
            return this._send(ctx, status, JSON.stringify(value), { 'Content-Type': JSON_TYPE, ...headers });
        }
        let doctype = '';
        if (this._bombs > 0) {
            this._bombs--;
            doctype = entityBombDoctype(root);
            value = { ...value, serverInfo: '&lol9;' }; // marked below: an entity reference, not text
        }
        const xml = toXml(root, value).replace('&amp;lol9;', '&lol9;');
        this._send(ctx, status, XML_DECLARATION + doctype + xml, { 'Content-Type': XML_TYPE, ...headers });
    }

    /**
     * Error bodies are not documented: the simulator answers `<error><code>…</code><message>…</message></error>`
     * or `{"code":…,"message":"…"}` per Accept, with the documented message texts.
     */
    private _sendError(ctx: Ctx, status: number, message: string, headers: Headers = {}): void {
        this._sendData(ctx, status, 'error', { code: status, message }, headers);
    }

    private _sendLanding(ctx: Ctx): void {
        this._send(ctx, 200, '<!DOCTYPE html><html><head><title>Session Delivery Manager</title></head><body>SDM web client</body></html>', {
            'Content-Type': 'text/html',
        });
    }

    /** A queued failNext answer for this kind of route, if any: true when it was sent. */
    private _injectedFault(ctx: Ctx, route: FaultRoute): boolean {
        const index = this._faults.findIndex((fault) => fault.route === route);
        if (index < 0) return false;
        const [{ status, body }] = this._faults.splice(index, 1);
        if (body === undefined) this._sendError(ctx, status, http.STATUS_CODES[status] || 'Error');
        else this._send(ctx, status, body, { 'Content-Type': typeof body === 'string' && body.startsWith('<') ? XML_TYPE : 'text/plain' });
        return true;
    }

    private _withSession(ctx: Ctx, handler: () => void): void {
        const session = this._sessions.fromRequest(ctx.req);
        if (!session) return this._sendError(ctx, 401, MSG.invalidSession);
        if (this._injectedFault(ctx, 'data')) return;
        handler();
        if (this._expireAfter > 0 && --this._expireAfter === 0) this.expireSessions();
    }

    // ---- admin routes -----------------------------------------------------------------------

    private _handleLogin(ctx: Ctx): void {
        this._afterDelay(this._options.loginDelayMs, () => this._answerLogin(ctx));
    }

    private _answerLogin(ctx: Ctx): void {
        if (this._injectedFault(ctx, 'login')) return;
        const type = mediaType(ctx.req.headers['content-type']);
        if (type !== JSON_TYPE && !isXmlType(type)) return this._sendError(ctx, 415, MSG.unsupportedType);
        const creds = type === JSON_TYPE ? this._jsonLogin(ctx.body) : readXmlFields(ctx.body.toString('utf8'), 'session', ['userName', 'password']);
        if (!creds || typeof creds.userName !== 'string' || creds.userName === '' || typeof creds.password !== 'string') {
            return this._sendError(ctx, 400, MSG.invalidInput);
        }
        const user = this._users.get(creds.userName);
        if (!user || user.password !== creds.password) return this._sendError(ctx, 401, MSG.invalidCredentials);

        const session = this._sessions.create(newSessionId(), creds.userName);
        this._stats.loginsOk++;
        this._sendData(ctx, 200, 'session', this._sessionBody(session.id, creds.userName, user, session.createdAt), {
            'Set-Cookie': `${SESSION_COOKIE}=${session.id}; Path=/rest; HttpOnly`,
        });
    }

    /** The documented JSON form has no root element: `{"session":{...}}` is "incorrect" (400). */
    private _jsonLogin(raw: Buffer): Record<string, unknown> | null {
        try {
            const body: unknown = JSON.parse(raw.toString('utf8'));
            if (!body || typeof body !== 'object' || Array.isArray(body) || 'session' in body) return null;
            return body as Record<string, unknown>;
        } catch {
            return null;
        }
    }

    /**
     * The `<session>` reply. Field names and order follow the docs; the value formats of `idleTimeout`
     * and `validUntil` are not documented, so the simulator chooses: `idleTimeout` in whole minutes
     * (rounded up; 0 = no idle limit, as in the documented example) and `validUntil` as an ISO 8601
     * UTC date-time.
     */
    private _sessionBody(id: string, userName: string, user: SdmUser, now: number): Record<string, unknown> {
        return {
            idleTimeout: this._options.idleTtlMs > 0 ? Math.ceil(this._options.idleTtlMs / 60000) : 0,
            serverInfo: this._options.serverInfo,
            sessionId: id,
            userGroup: user.userGroup,
            userName,
            validUntil: new Date(now + this._options.sessionTtlMs).toISOString(),
        };
    }

    private _handleLogout(ctx: Ctx): void {
        if (this._injectedFault(ctx, 'logout')) return;
        const session = this._sessions.fromRequest(ctx.req);
        if (!session) return this._sendError(ctx, 401, MSG.notAuthorized);
        this._sessions.delete(session.id);
        this._stats.logouts++;
        this._send(ctx, 204);
    }

    // ---- data routes ------------------------------------------------------------------------

    private _listDevices(ctx: Ctx): void {
        if (formatOf(ctx) === 'json') return this._sendData(ctx, 200, 'devices', { devices: DEVICES });
        return this._sendData(ctx, 200, 'devices', { device: DEVICES });
    }

    /** Adds a device group under Home: `{"groupName":"x"}` or `<deviceGroup><groupName>x</groupName></deviceGroup>`. */
    private _addDeviceGroup(ctx: Ctx): void {
        const type = mediaType(ctx.req.headers['content-type']);
        let fields: { groupName?: unknown } | null = null;
        if (type === JSON_TYPE) {
            try {
                fields = JSON.parse(ctx.body.toString('utf8')) as { groupName?: unknown } | null;
            } catch {
                fields = null;
            }
        } else if (isXmlType(type)) fields = readXmlFields(ctx.body.toString('utf8'), 'deviceGroup', ['groupName']);
        else return this._sendError(ctx, 415, MSG.unsupportedType);
        const name = fields && typeof fields.groupName === 'string' ? fields.groupName.trim() : '';
        if (!/^[\w .-]{1,64}$/.test(name)) return this._sendError(ctx, 400, MSG.invalidInput);
        const fullName = `Home/${name}`;
        if (this._groups.includes(fullName)) return this._sendError(ctx, 409, 'The device group already exists.');
        this._groups.push(fullName);
        return this._sendData(ctx, 200, 'deviceGroup', { groupName: name, groupFullName: fullName });
    }
}

// ---------------------------------------------------------------------------------------------
// Command line: node -r tsx/cjs test/simulators/sdm.ts [--port 8444] [--http] [--host 127.0.0.1]
// ---------------------------------------------------------------------------------------------

if (require.main === module)
    runCli(
        (options) => new SdmSimulator(options),
        (sim) => sim.origin ?? '',
    );

/** The shared entry point of every simulator module (example-flow tests, `npm start`). */
export async function startForFlows({ host = '127.0.0.1', port = 0 } = {}): Promise<FlowSimulator<SdmSimulator>> {
    const simulator = new SdmSimulator({ host, port });
    await simulator.start();
    return {
        simulator,
        baseUrl: simulator.baseUrl,
        credentials: { username: 'admin', password: DEFAULT_USERS.admin.password ?? '' },
        stop: () => simulator.stop(),
    };
}

/** Port `npm start` uses for this vendor (env SDM_PORT overrides). */
export const DEMO_PORT = 8444;

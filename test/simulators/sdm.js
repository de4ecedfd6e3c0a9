'use strict';

/**
 * Oracle Communications Session Delivery Manager (SDM) REST simulator (see docs vendors.md section 3).
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

const http = require('node:http');
const crypto = require('node:crypto');
const { Simulator, readBody, send, MAX_BODY_BYTES, runCli } = require('./loopback-server');

const SESSION_COOKIE = 'JSESSIONID';
const API_VERSIONS = ['v1.0', 'v1.1', 'v1.2', 'v1.3'];
const JSON_TYPE = 'application/json';
const XML_TYPE = 'application/xml';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';

const DEFAULT_OPTIONS = {
    tls: true,
    host: '127.0.0.1',
    port: 0,
    sessionTtlMs: 12 * 3600000,
    idleTtlMs: 0,
    loginDelayMs: 0,
    serverInfo: 'NNC82',
};

const DEFAULT_USERS = { admin: { password: 'passphrase', userGroup: 'LI_ADMIN' } };

// Documented texts (vendors.md section 3); the others are the simulator's choice.
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

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

function escapeXml(text) {
    return String(text).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]);
}

function unescapeXml(text) {
    return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (match, name) => {
        if (name[0] === '#') return String.fromCodePoint(name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10));
        return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[name];
    });
}

/** `<name>value</name>` for each field, nested objects and arrays (as repeated elements) included. */
function toXml(name, value) {
    if (Array.isArray(value)) return value.map((item) => toXml(name, item)).join('');
    if (value && typeof value === 'object') {
        return `<${name}>${Object.entries(value).map(([key, inner]) => toXml(key, inner)).join('')}</${name}>`;
    }
    return `<${name}>${escapeXml(value)}</${name}>`;
}

/**
 * The text of each `<field>` directly inside the root element `<root>` of a small XML body, or null
 * when the body is not that root. Enough for the login and device-group bodies; a DOCTYPE is refused.
 */
function readXmlFields(text, root, fields) {
    const trimmed = text.replace(/^\uFEFF/, '').replace(/^<\?xml[^>]*\?>/, '').trim();
    if (/<!DOCTYPE/i.test(trimmed)) return null;
    const match = new RegExp(`^<${root}(\\s[^>]*)?>([\\s\\S]*)</${root}>$`).exec(trimmed);
    if (!match) return null;
    const result = {};
    for (const field of fields) {
        const inner = new RegExp(`<${field}>([^<]*)</${field}>|<${field}\\s*/>`).exec(match[2]);
        if (inner) result[field] = unescapeXml(inner[1] || '');
    }
    return result;
}

/** The media type of a Content-Type header, lower case, without parameters. */
function mediaType(header) {
    return typeof header === 'string' ? header.split(';')[0].trim().toLowerCase() : '';
}

function isXmlType(type) {
    return type === XML_TYPE || type === 'text/xml';
}

/**
 * 'xml' or 'json' for an Accept header, as a JAX-RS resource that produces both would choose: the
 * higher quality wins, a tie or a wildcard gives XML (listed first); null when neither is acceptable.
 * No Accept header at all counts as `*\/*`.
 */
function replyFormat(accept) {
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

/** Values of every cookie called `name` in a Cookie header; a bare value without `name=` is not one. */
function cookieValues(header, name) {
    if (typeof header !== 'string' || header === '') return [];
    const values = [];
    for (const part of header.split(';')) {
        const eq = part.indexOf('=');
        if (eq < 0) continue;
        if (part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
    }
    return values;
}

/** A Tomcat session id: 32 upper-case hex digits and the route of the node, as in the docs. */
function newSessionId() {
    return `${crypto.randomBytes(16).toString('hex').toUpperCase()}.tomcat1`;
}

/**
 * A DOCTYPE declaring the "billion laughs" entity chain (lol9 expands to 10^9 "lol"): a parser
 * that expands entities would hang or run out of memory. Used by `entityBombNext`.
 */
function entityBombDoctype(root) {
    const entities = ['<!ENTITY lol0 "lol">'];
    for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
    return `<!DOCTYPE ${root} [${entities.join('')}]>`;
}

function emptyStats() {
    return { loginAttempts: 0, loginsOk: 0, logouts: 0, requests: [] };
}

// ---------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------

class SdmSimulator extends Simulator {
    constructor(options = {}) {
        super('SDM');
        const { users, ...rest } = options;
        this._options = { ...DEFAULT_OPTIONS, ...rest };
        this._users = new Map();
        for (const [name, props] of Object.entries(users || DEFAULT_USERS)) this.setUser(name, props);
        this._sessions = new Map(); // sessionId -> { id, user, createdAt, lastUsedAt }
        this._groups = ['Home'];
        this._faults = []; // queued failNext answers: { status, body, route }
        this._bombs = 0;
        this._expireAfter = 0;
        this._stats = emptyStats();
    }

    // ---- address ------------------------------------------------------------------------

    /** The base URL a client configures: the origin (the API lives under `/rest`). */
    get baseUrl() {
        if (!this.origin) throw new Error('SDM simulator not started');
        return this.origin;
    }

    // ---- test controls ----------------------------------------------------------------------

    get stats() {
        return this._stats;
    }

    resetStats() {
        this._stats = emptyStats();
    }

    /** Every live session becomes invalid, as after an SDM restart. */
    expireSessions() {
        this._sessions.clear();
    }

    /** Every session becomes invalid once `count` more data requests have been served with one. */
    expireSessionsAfter(count) {
        this._expireAfter = count;
    }

    /**
     * The next `count` requests of a kind are answered with `status` (and the error body, or `body`)
     * instead of being handled. `route`: 'data' (default: device routes, after the session check),
     * 'login' or 'logout'.
     */
    failNext(status, count = 1, { body, route = 'data' } = {}) {
        for (let i = 0; i < count; i++) this._faults.push({ status, body, route });
    }

    /** The next `count` XML replies (login or data) start with a DOCTYPE "billion laughs" entity bomb. */
    entityBombNext(count = 1) {
        this._bombs += count;
    }

    setUser(name, props = {}) {
        const current = this._users.get(name) || { password: '', userGroup: 'LI_ADMIN' };
        this._users.set(name, { ...current, ...props });
    }

    isSessionValid(sessionId) {
        return this._liveSession(sessionId) !== null;
    }

    liveSessions() {
        let count = 0;
        for (const id of [...this._sessions.keys()]) if (this._liveSession(id)) count++;
        return count;
    }

    get deviceGroups() {
        return [...this._groups];
    }

    // ---- request plumbing -------------------------------------------------------------------

    _onRequest(req, res) {
        const url = new URL(req.url, 'http://simulator.invalid');
        const record = {
            method: req.method,
            path: url.pathname,
            status: null,
            cookie: req.headers.cookie || '',
            accept: req.headers.accept || '',
            at: Date.now(),
        };
        this._stats.requests.push(record);
        const ctx = { req, res, record, method: req.method, pathname: url.pathname, body: Buffer.alloc(0), format: replyFormat(req.headers.accept) || 'xml' };
        readBody(req, MAX_BODY_BYTES, (body) => {
            if (body === null) return this._sendError(ctx, 413, MSG.tooLarge);
            ctx.body = body;
            this._dispatch(ctx);
        });
    }

    _dispatch(ctx) {
        const { method, pathname } = ctx;
        if (pathname === '/' && method === 'GET') return this._sendLanding(ctx);
        const match = /^\/rest\/([^/]+)(\/.*)?$/.exec(pathname);
        if (!match) return this._sendError(ctx, 404, MSG.notFound);
        const [, version, route = '/'] = match;
        if (route === '/admin/login' && method === 'POST') this._stats.loginAttempts++;
        if (!API_VERSIONS.includes(version)) return this._sendError(ctx, 404, MSG.unknownVersion);
        if (replyFormat(ctx.req.headers.accept) === null) return this._sendError(ctx, 406, MSG.notAcceptable);

        const routes = {
            '/admin/login': { POST: () => this._handleLogin(ctx) },
            '/admin/logout': { POST: () => this._handleLogout(ctx) },
            '/inventory/deviceMgmt/devices': { GET: () => this._withSession(ctx, () => this._listDevices(ctx)) },
            '/configuration/devices': { GET: () => this._withSession(ctx, () => this._listDevices(ctx)) },
            '/inventory/deviceMgmt/deviceGroups': { POST: () => this._withSession(ctx, () => this._addDeviceGroup(ctx)) },
        };
        const handlers = routes[route];
        if (!handlers) return this._sendError(ctx, 404, MSG.notFound);
        if (!handlers[method]) return this._sendError(ctx, 405, MSG.methodNotAllowed, { Allow: Object.keys(handlers).join(', ') });
        return handlers[method]();
    }

    _send(ctx, status, body, headers = {}) {
        ctx.record.status = status;
        send(ctx.res, status, body, headers);
    }

    /** `value` as `<root>` XML or as JSON without the root element, per the request's Accept. */
    _sendData(ctx, status, root, value, headers = {}) {
        if (ctx.format === 'json') {
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
    _sendError(ctx, status, message, headers = {}) {
        this._sendData(ctx, status, 'error', { code: status, message }, headers);
    }

    _sendLanding(ctx) {
        this._send(ctx, 200, '<!DOCTYPE html><html><head><title>Session Delivery Manager</title></head><body>SDM web client</body></html>', { 'Content-Type': 'text/html' });
    }

    /** A queued failNext answer for this kind of route, if any: true when it was sent. */
    _injectedFault(ctx, route) {
        const index = this._faults.findIndex((fault) => fault.route === route);
        if (index < 0) return false;
        const [{ status, body }] = this._faults.splice(index, 1);
        if (body === undefined) this._sendError(ctx, status, http.STATUS_CODES[status] || 'Error');
        else this._send(ctx, status, body, { 'Content-Type': typeof body === 'string' && body.startsWith('<') ? XML_TYPE : 'text/plain' });
        return true;
    }

    // ---- sessions ---------------------------------------------------------------------------

    /** The session `id` if still alive (absolute and idle limits), else null; dead ones are dropped. */
    _liveSession(id) {
        const session = this._sessions.get(id);
        if (!session) return null;
        const now = Date.now();
        const { sessionTtlMs, idleTtlMs } = this._options;
        if (now >= session.createdAt + sessionTtlMs || (idleTtlMs > 0 && now >= session.lastUsedAt + idleTtlMs)) {
            this._sessions.delete(id);
            return null;
        }
        return session;
    }

    /** The live session named by the request's `JSESSIONID` cookie (its idle timer restarts), or null. */
    _requestSession(ctx) {
        for (const id of cookieValues(ctx.req.headers.cookie, SESSION_COOKIE)) {
            const session = this._liveSession(id);
            if (session) {
                session.lastUsedAt = Date.now();
                return session;
            }
        }
        return null;
    }

    _withSession(ctx, handler) {
        const session = this._requestSession(ctx);
        if (!session) return this._sendError(ctx, 401, MSG.invalidSession);
        if (this._injectedFault(ctx, 'data')) return undefined;
        handler(session);
        if (this._expireAfter > 0 && --this._expireAfter === 0) this.expireSessions();
        return undefined;
    }

    // ---- admin routes -----------------------------------------------------------------------

    _handleLogin(ctx) {
        const { loginDelayMs } = this._options;
        if (!(loginDelayMs > 0)) return this._answerLogin(ctx);
        this._loopback.later(loginDelayMs, () => this._answerLogin(ctx));
        return undefined;
    }

    _answerLogin(ctx) {
        if (this._injectedFault(ctx, 'login')) return undefined;
        const type = mediaType(ctx.req.headers['content-type']);
        if (type !== JSON_TYPE && !isXmlType(type)) return this._sendError(ctx, 415, MSG.unsupportedType);
        const creds = type === JSON_TYPE ? this._jsonLogin(ctx.body) : readXmlFields(ctx.body.toString('utf8'), 'session', ['userName', 'password']);
        if (!creds || typeof creds.userName !== 'string' || creds.userName === '' || typeof creds.password !== 'string') {
            return this._sendError(ctx, 400, MSG.invalidInput);
        }
        const user = this._users.get(creds.userName);
        if (!user || user.password !== creds.password) return this._sendError(ctx, 401, MSG.invalidCredentials);

        const id = newSessionId();
        const now = Date.now();
        this._sessions.set(id, { id, user: creds.userName, createdAt: now, lastUsedAt: now });
        this._stats.loginsOk++;
        this._sendData(ctx, 200, 'session', this._sessionBody(id, creds.userName, user, now), {
            'Set-Cookie': `${SESSION_COOKIE}=${id}; Path=/rest; HttpOnly`,
        });
        return undefined;
    }

    /** The documented JSON form has no root element: `{"session":{...}}` is "incorrect" (400). */
    _jsonLogin(raw) {
        try {
            const body = JSON.parse(raw.toString('utf8'));
            if (!body || typeof body !== 'object' || Array.isArray(body) || 'session' in body) return null;
            return body;
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
    _sessionBody(id, userName, user, now) {
        return {
            idleTimeout: this._options.idleTtlMs > 0 ? Math.ceil(this._options.idleTtlMs / 60000) : 0,
            serverInfo: this._options.serverInfo,
            sessionId: id,
            userGroup: user.userGroup,
            userName,
            validUntil: new Date(now + this._options.sessionTtlMs).toISOString(),
        };
    }

    _handleLogout(ctx) {
        if (this._injectedFault(ctx, 'logout')) return undefined;
        const session = this._requestSession(ctx);
        if (!session) return this._sendError(ctx, 401, MSG.notAuthorized);
        this._sessions.delete(session.id);
        this._stats.logouts++;
        this._send(ctx, 204);
        return undefined;
    }

    // ---- data routes ------------------------------------------------------------------------

    _listDevices(ctx) {
        if (ctx.format === 'json') return this._sendData(ctx, 200, 'devices', { devices: DEVICES });
        return this._sendData(ctx, 200, 'devices', { device: DEVICES });
    }

    /** Adds a device group under Home: `{"groupName":"x"}` or `<deviceGroup><groupName>x</groupName></deviceGroup>`. */
    _addDeviceGroup(ctx) {
        const type = mediaType(ctx.req.headers['content-type']);
        let fields = null;
        if (type === JSON_TYPE) {
            try {
                fields = JSON.parse(ctx.body.toString('utf8'));
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
// Command line: node test/simulators/sdm.js [--port 8444] [--http] [--host 127.0.0.1]
// ---------------------------------------------------------------------------------------------

if (require.main === module) runCli((options) => new SdmSimulator(options), (sim) => sim.origin);

/** The shared entry point of every simulator module (example-flow tests, `npm start`). */
async function startForFlows({ host = '127.0.0.1', port = 0 } = {}) {
    const simulator = new SdmSimulator({ host, port });
    await simulator.start();
    return {
        simulator,
        baseUrl: simulator.baseUrl,
        credentials: { username: 'admin', password: DEFAULT_USERS.admin.password },
        stop: () => simulator.stop(),
    };
}

/** Port `npm start` uses for this vendor (env SDM_PORT overrides). */
const DEMO_PORT = 8444;

module.exports = { SdmSimulator, replyFormat, readXmlFields, startForFlows, DEMO_PORT, API_VERSIONS };

'use strict';

/**
 * Commvault / SnapProtect REST ("WebConsole API") simulator (see docs vendors.md section 4).
 *
 * Serves Login (JSON or XML, Base64 password, HTTP 200 with `errList` on refusal), Logout,
 * RenewLoginToken, WhoAmI and a few data routes (Client, CommServ) under a configurable web-service
 * root (`/webconsole/api` by default; `/commandcenter/api` and `/SearchSvc/CVWebService.svc` work
 * the same). Tokens die after `idleTtlMs` without use. Every timing knob is an option so tests run
 * in milliseconds, and every time read is Date.now(), so sinon's fake Date drives it.
 * Only Node core modules.
 */

const http = require('node:http');
const crypto = require('node:crypto');
const { Simulator, readBody, send, MAX_BODY_BYTES, runCli } = require('./loopback-server');

const TOKEN_PREFIX = 'QSDK ';
const XML_LOGIN_REQUEST = 'DM2ContentIndexing_CheckCredentialReq';
const XML_LOGIN_REPLY = 'DM2ContentIndexing_CheckCredentialResp';

const DEFAULT_OPTIONS = {
    tls: true,
    host: '127.0.0.1',
    port: 0,
    root: '/webconsole/api',
    idleTtlMs: 30 * 60 * 1000,
    lockoutThreshold: 5,
    lockoutDurationS: 5400,
    /** Status of the "Invalid authorization token provided." logout answer (undocumented: 200 or 401). */
    logoutInvalidStatus: 200,
    loginDelayMs: 0,
};

const DEFAULT_USERS = { cvuser01: { password: 'Password#123!' } };

// The Logout texts and the 401 body follow vendors.md; the errList codes and texts are the
// simulator's choice (the vendor's exact values are not documented).
const MSG = {
    loggedOut: 'User logged out',
    invalidToken: 'Invalid authorization token provided.',
    accessDenied: { errorCode: 5, errorMessage: 'Access denied' },
    invalidCredentials: { errorCode: 1116, errLogMessage: 'Invalid username or password' },
    accountLocked: { errorCode: 1117, errLogMessage: 'User account is locked' },
    renewFailed: { errorCode: 1118, errLogMessage: 'Failed to renew the login token' },
};

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

function mediaTypeOf(header) {
    return typeof header === 'string' ? header.split(';')[0].trim().toLowerCase() : '';
}

function isXmlType(header) {
    const type = mediaTypeOf(header);
    return type === 'application/xml' || type === 'text/xml';
}

/** The reply format a client asked for with Accept: XML only when it names XML. */
function wantsXml(accept) {
    return typeof accept === 'string' && /\b(application|text)\/xml\b/i.test(accept);
}

/** Strict Base64 of UTF-8 text; null when `text` is not Base64 (the vendor fails such a login). */
function decodeBase64(text) {
    if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
    const bytes = Buffer.from(text, 'base64');
    if (bytes.toString('base64') !== text) return null;
    const decoded = bytes.toString('utf8');
    return Buffer.from(decoded, 'utf8').equals(bytes) ? decoded : null;
}

const XML_ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXmlText(text) {
    return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (match, name) => {
        if (name[0] === '#') {
            const code = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
            return code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : match;
        }
        return Object.prototype.hasOwnProperty.call(XML_ENTITIES, name) ? XML_ENTITIES[name] : match;
    });
}

function encodeXmlText(text) {
    return String(text).replace(/[&<>"']/g, (char) => `&${Object.keys(XML_ENTITIES).find((k) => XML_ENTITIES[k] === char)};`);
}

/** The first element of an XML document as `{ name, attributes }`; null when there is none. */
function parseXmlElement(text) {
    const match = /^\s*(?:<\?xml[^>]*\?>\s*)?<([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?>/.exec(text);
    if (!match) return null;
    const attributes = {};
    for (const attr of match[2].matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        attributes[attr[1]] = decodeXmlText(attr[2] !== undefined ? attr[2] : attr[3]);
    }
    return { name: match[1], attributes };
}

/**
 * A reply object as Commvault XML: scalars become attributes, objects child elements, arrays
 * repeated child elements (so `errList: []` disappears and `errList: [{…}]` is one `<errList …/>`).
 */
function toXml(name, value) {
    const attributes = [];
    const children = [];
    for (const [key, field] of Object.entries(value)) {
        if (field === null || field === undefined) continue;
        if (Array.isArray(field)) {
            for (const item of field) children.push(typeof item === 'object' ? toXml(key, item) : `<${key}>${encodeXmlText(item)}</${key}>`);
        } else if (typeof field === 'object') {
            children.push(toXml(key, field));
        } else {
            attributes.push(` ${key}="${encodeXmlText(field)}"`);
        }
    }
    const open = `<${name}${attributes.join('')}`;
    return children.length ? `${open}>${children.join('')}</${name}>` : `${open}/>`;
}

/** "QSDK 3856…" or a bare "3856…" (clients differ): the token's hex part, or null. */
function tokenKey(header) {
    if (typeof header !== 'string') return null;
    const value = header.trim().replace(/^QSDK\s+/i, '');
    return /^[0-9a-f]+$/i.test(value) ? value.toLowerCase() : null;
}

function guid() {
    return crypto.randomUUID().toUpperCase();
}

function makeClients() {
    return [
        { clientId: 2, clientName: 'cs01', displayName: 'CommServe', hostName: 'cs01.example.local', clientDescription: '' },
        { clientId: 5, clientName: 'fileserver01', displayName: 'File server 01', hostName: 'fs01.example.local', clientDescription: '' },
    ];
}

function emptyStats() {
    return { loginAttempts: 0, loginsOk: 0, logouts: 0, renewals: 0, logins: [], requests: [] };
}

// ---------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------

class CommvaultSimulator extends Simulator {
    constructor(options = {}) {
        super('Commvault');
        const { users, ...rest } = options;
        this._options = { ...DEFAULT_OPTIONS, ...rest };
        this._options.root = `/${String(this._options.root).replace(/^\/+|\/+$/g, '')}`;
        this._users = new Map();
        for (const [name, props] of Object.entries(users || DEFAULT_USERS)) this.setUser(name, props);
        this._tokens = new Map(); // hex -> { token, user, deviceId, createdAt, lastUsedAt, expired }
        this._issued = [];
        this._failures = new Map(); // username -> { count, lockedUntil }
        this._clients = makeClients();
        this._faults = { data: [], login: [], logout: [] };
        this._stats = emptyStats();
        this._commCellGuid = guid();
    }

    // ---- address ------------------------------------------------------------------------

    /** The web-service root URL, e.g. `https://127.0.0.1:1234/webconsole/api`. */
    get baseUrl() {
        if (!this.origin) throw new Error('Commvault simulator not started');
        return this.origin + this._options.root;
    }

    // ---- test controls ------------------------------------------------------------------------

    get stats() {
        return this._stats;
    }

    resetStats() {
        this._stats = emptyStats();
    }

    /** Every token stops working (401 on data calls); they can still be renewed. */
    expireTokens() {
        for (const entry of this._tokens.values()) entry.expired = true;
    }

    /** The next `count` data calls (after the token check) answer `status` with `body`. */
    failNext(status, count = 1, body) {
        for (let i = 0; i < count; i++) this._faults.data.push({ status, body });
    }

    failNextLogin(status, count = 1, body) {
        for (let i = 0; i < count; i++) this._faults.login.push({ status, body });
    }

    failNextLogout(status, count = 1, body) {
        for (let i = 0; i < count; i++) this._faults.logout.push({ status, body });
    }

    /** Adds or changes a user: `password`, `domain` (then required at login), `forcePasswordChange`. */
    setUser(name, props = {}) {
        const current = this._users.get(name);
        const record = current
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

    getUser(name) {
        const record = this._users.get(name);
        return record ? { ...record } : undefined;
    }

    /** Every token ever issued, as sent in the Authtoken header ("QSDK …"). */
    issuedTokens() {
        return [...this._issued];
    }

    isTokenValid(token) {
        return this._liveToken(tokenKey(token)) !== null;
    }

    liveTokens() {
        let count = 0;
        for (const key of [...this._tokens.keys()]) if (this._liveToken(key)) count++;
        return count;
    }

    /** When the user's lock ends (ms since the epoch), or 0 when not locked. */
    lockedUntil(name) {
        const entry = this._failureEntry(name);
        return entry.lockedUntil > Date.now() ? entry.lockedUntil : 0;
    }

    // ---- request plumbing ---------------------------------------------------------------------

    _onRequest(req, res) {
        const url = new URL(req.url, 'http://simulator.invalid');
        const record = {
            method: req.method,
            path: url.pathname,
            status: null,
            authtoken: typeof req.headers.authtoken === 'string' && req.headers.authtoken !== '',
            accept: req.headers.accept || '',
            contentType: req.headers['content-type'] || '',
            at: Date.now(),
        };
        this._stats.requests.push(record);
        const ctx = { req, res, record, method: req.method, pathname: url.pathname, query: url.searchParams, body: Buffer.alloc(0) };
        readBody(req, MAX_BODY_BYTES, (body) => {
            if (body === null) return this._sendJson(ctx, 413, { errorCode: 413, errorMessage: 'Request body too large' });
            ctx.body = body;
            this._dispatch(ctx);
        });
    }

    _dispatch(ctx) {
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

    _send(ctx, status, body, headers = {}) {
        ctx.record.status = status;
        send(ctx.res, status, body, headers);
    }

    _sendJson(ctx, status, value) {
        this._send(ctx, status, JSON.stringify(value), { 'Content-Type': 'application/json; charset=utf-8' });
    }

    /** JSON, or XML under `xmlRoot` when the client's Accept asks for XML. */
    _sendData(ctx, { xmlRoot, value }, status = 200) {
        if (wantsXml(ctx.req.headers.accept)) {
            return this._send(ctx, status, toXml(xmlRoot, value), { 'Content-Type': 'application/xml; charset=utf-8' });
        }
        return this._sendJson(ctx, status, value);
    }

    _sendText(ctx, status, text) {
        this._send(ctx, status, text, { 'Content-Type': 'text/plain; charset=utf-8' });
    }

    _notFound(ctx) {
        this._sendJson(ctx, 404, { errorCode: 404, errorMessage: 'The requested resource was not found' });
    }

    /** An injected fault from `queue`, answered; true when one was used. */
    _fault(ctx, queue) {
        const fault = this._faults[queue].shift();
        if (!fault) return false;
        const { status, body } = fault;
        if (typeof body === 'string' || Buffer.isBuffer(body)) this._send(ctx, status, body, { 'Content-Type': 'text/plain' });
        else this._sendJson(ctx, status, body === undefined ? { errorCode: status, errorMessage: http.STATUS_CODES[status] || 'Error' } : body);
        return true;
    }

    // ---- tokens -------------------------------------------------------------------------------

    /** The token entry for `key` if alive (not expired, used within idleTtlMs), else null. */
    _liveToken(key) {
        const entry = key ? this._tokens.get(key) : undefined;
        if (!entry || entry.expired) return null;
        if (Date.now() >= entry.lastUsedAt + this._options.idleTtlMs) {
            entry.expired = true;
            return null;
        }
        return entry;
    }

    _issueToken(user, deviceId) {
        const key = crypto.randomBytes(64).toString('hex');
        const now = Date.now();
        const entry = { token: TOKEN_PREFIX + key, user, deviceId, createdAt: now, lastUsedAt: now, expired: false };
        this._tokens.set(key, entry);
        this._issued.push(entry.token);
        return entry;
    }

    /** Data calls: a live Authtoken (its idle timer restarts), then injected faults, then the handler. */
    _withToken(ctx, handler) {
        const entry = this._liveToken(tokenKey(ctx.req.headers.authtoken));
        if (!entry) return this._sendJson(ctx, 401, MSG.accessDenied);
        entry.lastUsedAt = Date.now();
        if (this._fault(ctx, 'data')) return undefined;
        return handler(entry);
    }

    // ---- lockout ------------------------------------------------------------------------------

    _failureEntry(name) {
        let entry = this._failures.get(name);
        if (!entry) {
            entry = { count: 0, lockedUntil: 0 };
            this._failures.set(name, entry);
        }
        if (entry.lockedUntil && entry.lockedUntil <= Date.now()) {
            entry.count = 0;
            entry.lockedUntil = 0;
        }
        return entry;
    }

    /** Counts a failed login; the one that reaches the threshold locks the account at once. */
    _recordFailure(name) {
        const entry = this._failureEntry(name);
        entry.count++;
        if (entry.count >= this._options.lockoutThreshold) entry.lockedUntil = Date.now() + this._options.lockoutDurationS * 1000;
        return entry;
    }

    // ---- Login --------------------------------------------------------------------------------

    _handleLogin(ctx) {
        this._stats.loginAttempts++;
        const { loginDelayMs } = this._options;
        if (!(loginDelayMs > 0)) return this._answerLogin(ctx);
        this._loopback.later(loginDelayMs, () => this._answerLogin(ctx));
        return undefined;
    }

    /** `{ format, fields }` from a JSON body or the XML request element's attributes; null if unreadable. */
    _readLoginRequest(ctx) {
        const contentType = ctx.req.headers['content-type'];
        const text = ctx.body.toString('utf8');
        if (isXmlType(contentType)) {
            const element = parseXmlElement(text);
            if (!element || element.name !== XML_LOGIN_REQUEST) return null;
            return { format: 'xml', fields: element.attributes };
        }
        if (mediaTypeOf(contentType) !== 'application/json') return null;
        try {
            const fields = JSON.parse(text);
            if (!fields || typeof fields !== 'object' || Array.isArray(fields)) return null;
            return { format: 'json', fields };
        } catch {
            return null;
        }
    }

    _answerLogin(ctx) {
        if (this._fault(ctx, 'login')) return undefined;
        const request = this._readLoginRequest(ctx);
        if (!request || typeof request.fields.username !== 'string' || typeof request.fields.password !== 'string') {
            return this._sendJson(ctx, 400, { errorCode: 400, errorMessage: 'Invalid login request' });
        }
        const { username, password, domain = '', commserver = '', deviceId } = request.fields;
        this._stats.logins.push({ format: request.format, username, domain, commserver, fields: Object.keys(request.fields) });
        const reply = (status, value) => this._sendData(ctx, { xmlRoot: XML_LOGIN_REPLY, value }, status);

        // The lock wins even over the right password.
        if (this.lockedUntil(username)) return reply(200, this._lockedReply(username));
        const user = this._users.get(username);
        const domainOk = !user || !user.domain || String(domain).toLowerCase() === user.domain.toLowerCase();
        if (!user || !domainOk || decodeBase64(password) !== user.password) {
            const entry = this._recordFailure(username);
            if (entry.lockedUntil) return reply(200, this._lockedReply(username));
            return reply(200, {
                errList: [MSG.invalidCredentials],
                isAccountLocked: false,
                loginAttempts: entry.count,
                remainingLockTime: 0,
            });
        }
        this._failureEntry(username).count = 0;
        const entry = this._issueToken(username, typeof deviceId === 'string' ? deviceId : undefined);
        this._stats.loginsOk++;
        return reply(200, this._successReply(username, user, entry.token));
    }

    _lockedReply(username) {
        const entry = this._failureEntry(username);
        return {
            errList: [MSG.accountLocked],
            isAccountLocked: true,
            loginAttempts: entry.count,
            remainingLockTime: Math.max(1, Math.ceil((entry.lockedUntil - Date.now()) / 1000)),
        };
    }

    _successReply(username, user, token) {
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

    _handleLogout(ctx) {
        if (this._fault(ctx, 'logout')) return undefined;
        const key = tokenKey(ctx.req.headers.authtoken);
        const entry = this._liveToken(key);
        if (!entry) return this._sendText(ctx, this._options.logoutInvalidStatus, MSG.invalidToken);
        this._tokens.delete(key);
        this._stats.logouts++;
        return this._sendText(ctx, 200, MSG.loggedOut);
    }

    /** The expired token (header and `sessionId`) plus the login's `deviceId` → a new token. */
    _handleRenew(ctx) {
        const key = tokenKey(ctx.req.headers.authtoken);
        const entry = key ? this._tokens.get(key) : undefined;
        let body = null;
        try {
            body = JSON.parse(ctx.body.toString('utf8'));
        } catch {
            // unreadable: refused below
        }
        const sessionOk = body && tokenKey(body.sessionId) === key;
        const deviceOk = entry && entry.deviceId !== undefined && body && body.deviceId === entry.deviceId;
        if (!entry || !sessionOk || !deviceOk) return this._sendJson(ctx, 200, { error: MSG.renewFailed });
        this._tokens.delete(key);
        const renewed = this._issueToken(entry.user, entry.deviceId);
        this._stats.renewals++;
        return this._sendJson(ctx, 200, { token: renewed.token, error: {} });
    }

    _handleWhoAmI(ctx, entry) {
        const user = this._users.get(entry.user);
        return this._sendData(ctx, {
            xmlRoot: 'CvEntities_ProcessingInstructionInfo',
            value: { user: { userName: entry.user, userGUID: user ? user.userGUID : '' } },
        });
    }

    // ---- data routes --------------------------------------------------------------------------

    _clientEntity(client) {
        const { clientId, clientName, displayName, hostName } = client;
        return { client: { clientEntity: { clientId, clientName, displayName, hostName }, clientDescription: client.clientDescription } };
    }

    _clientList() {
        return { xmlRoot: 'App_GetClientPropertiesResponse', value: { clientProperties: this._clients.map((c) => this._clientEntity(c)) } };
    }

    _getClient(ctx, id) {
        const client = this._clients.find((c) => c.clientId === id);
        if (!client) return this._sendJson(ctx, 404, { errorCode: 2, errorMessage: `Client ${id} not found` });
        return this._sendData(ctx, { xmlRoot: 'App_GetClientPropertiesResponse', value: { clientProperties: [this._clientEntity(client)] } });
    }

    /** Write route: `{"clientProperties":{"client":{"clientDescription":"…"}}}` sets the description. */
    _updateClient(ctx, id) {
        const client = this._clients.find((c) => c.clientId === id);
        if (!client) return this._sendJson(ctx, 404, { errorCode: 2, errorMessage: `Client ${id} not found` });
        let description;
        try {
            const body = JSON.parse(ctx.body.toString('utf8'));
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

    _commServ() {
        return {
            xmlRoot: 'App_GetCommServResponse',
            value: { commcell: { commCellId: 2, commCellName: 'cs01', csGUID: this._commCellGuid, hostName: 'cs01.example.local', releaseName: '11.32' } },
        };
    }
}

// ---------------------------------------------------------------------------------------------
// Command line: node test/simulators/commvault.js [--port 8445] [--http] [--host 127.0.0.1] [--root /webconsole/api]
// ---------------------------------------------------------------------------------------------

if (require.main === module) runCli((options) => new CommvaultSimulator(options), (sim) => sim.baseUrl, { '--root': ['root', String] });

/** The shared entry point of every simulator module (example-flow tests, `npm start`). */
async function startForFlows({ host = '127.0.0.1', port = 0 } = {}) {
    const simulator = new CommvaultSimulator({ host, port });
    await simulator.start();
    return {
        simulator,
        baseUrl: simulator.baseUrl,
        credentials: { username: 'cvuser01', password: DEFAULT_USERS.cvuser01.password },
        stop: () => simulator.stop(),
    };
}

/** Port `npm start` uses for this vendor (env COMMVAULT_PORT overrides). */
const DEMO_PORT = 8445;

module.exports = { CommvaultSimulator, decodeBase64, parseXmlElement, toXml, startForFlows, DEMO_PORT };

'use strict';

/**
 * CM-Well simulator (see docs vendors.md section 2 and conformance cases 16-33).
 *
 * `GET /_login` with HTTP Basic or CM-Well's RFC 2069 Digest, the `exp` short format, HS256 JWTs
 * whose `exp` claim is in milliseconds, and a few data routes with authorization enforced (as with
 * `use.authorization=true`). Plain HTTP by default, like CM-Well itself. Every `/_login` reply is held
 * `penaltyMs` (Digest: half of it), as the real server does. Only Node core modules; every time read
 * goes through Date.now() so tests can fake the clock.
 */

const http = require('node:http');
const crypto = require('node:crypto');
const { Simulator, readBody, send, MAX_BODY_BYTES, runCli } = require('./loopback-server');

const MINUTE_MS = 60000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

const DEFAULT_OPTIONS = {
    tls: false,
    host: '127.0.0.1',
    port: 0,
    /** `webservice.login.penaltysec`: every /_login reply waits this long (Digest: half). */
    penaltyMs: 3000,
    /** `play.http.secret.key`; random when not given. */
    signingKey: undefined,
    /** Lifetime of a token asked for without `exp`. */
    defaultLifetimeMs: DAY_MS,
    /** `authorization.token.expiry.maxDays`. */
    maxDays: 60,
};

const DEFAULT_USERS = { root: { password: 'root' } };

const REALM = 'cmwell';
const md5 = (text) => crypto.createHash('md5').update(text, 'utf8').digest('hex');
/** CM-Well's fixed opaque: md5("any string will do. even 42."). */
const OPAQUE = md5('any string will do. even 42.');
/** HA2 is a constant on the server: the client's `uri` and method are ignored. */
const HA2 = md5('GET:/_login');

const TOKEN_HEADER = 'x-cm-well-token';
const TOKEN2_HEADER = 'x-cm-well-token2';

// Response texts, as the server sends them (vendors.md section 2).
const MSG = {
    provideCredentials: 'Please provide your credentials.\n',
    notAuthenticated: 'Not authenticated.\n',
    expiryTooFar: 'Token expiry must be less than 60 days',
    invalidToken: 'given token is not valid (not signed or expired)',
    notAuthorized: 'Not authorized, please login first',
};

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

/**
 * `LoginHandler.parseShortFormatDuration`: each of d, h, m is the first `(\d+)` followed by the
 * unit letter, case-insensitive; missing units count 0 (so "abc" is 0d0h0m).
 */
function parseShortDuration(text) {
    const unit = (letter) => {
        const match = new RegExp(`(\\d+)${letter}`, 'i').exec(text);
        return match ? Number.parseInt(match[1], 10) : 0;
    };
    return { days: unit('d'), hours: unit('h'), minutes: unit('m') };
}

function durationMs({ days, hours, minutes }) {
    return days * DAY_MS + hours * HOUR_MS + minutes * MINUTE_MS;
}

const base64url = (value) => Buffer.from(value).toString('base64url');

function signJwt(claims, key) {
    const unsigned = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
    const signature = crypto.createHmac('sha256', key).update(unsigned).digest('base64url');
    return `${unsigned}.${signature}`;
}

/**
 * `Token.apply`: the claims of a JWT that has `sub` and `exp`, with a flag telling whether `key`
 * signed it; null for anything else (the request is then anonymous, not "invalid token").
 */
function readJwt(token, key) {
    const parts = String(token).split('.');
    if (parts.length !== 3) return null;
    let header;
    let claims;
    try {
        header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
        claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
        return null;
    }
    if (!header || typeof header !== 'object' || !claims || typeof claims !== 'object') return null;
    if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return null;
    const expected = crypto.createHmac('sha256', key).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], 'base64url');
    const signed = header.alg === 'HS256' && given.length === expected.length && crypto.timingSafeEqual(given, expected);
    return { claims, signed };
}

/**
 * `DigestHeader` parsing, as CM-Well's RegexParsers do it: "Digest " then `key=value` pairs
 * separated by commas, values of `[a-zA-Z0-9"?=&/_-]+` with quotes stripped. Parsing stops at the
 * first character that does not fit; what follows is dropped. Null when the header does not start
 * with "Digest".
 */
function parseDigestClientHeader(header) {
    const match = /^\s*Digest\s+/.exec(header);
    if (!match) return null;
    const fields = {};
    const pair = /\s*([a-zA-Z]+)\s*=\s*([a-zA-Z0-9"?=&/_-]+)\s*/y;
    pair.lastIndex = match[0].length;
    for (;;) {
        const found = pair.exec(header);
        if (!found) break;
        if (!(found[1] in fields)) fields[found[1]] = found[2].replace(/"/g, '');
        if (header[pair.lastIndex] !== ',') break;
        pair.lastIndex++;
    }
    return fields;
}

const DIGEST_KEYS = ['realm', 'nonce', 'opaque', 'username', 'response'];

/** Values of every cookie called `name` in a Cookie header. */
function cookieValue(header, name) {
    if (typeof header !== 'string') return undefined;
    for (const part of header.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
    }
    return undefined;
}

/** `AuthUtils.extractTokenFrom`: the first place that holds a token wins, valid or not. */
function findToken(req, query) {
    const header2 = req.headers[TOKEN2_HEADER];
    if (header2 !== undefined) return { token: header2, from: 'X-CM-WELL-TOKEN2' };
    const header = req.headers[TOKEN_HEADER];
    if (header !== undefined) return { token: header, from: 'X-CM-WELL-TOKEN' };
    if (query.has('token')) return { token: query.get('token'), from: 'query' };
    const cookie2 = cookieValue(req.headers.cookie, 'X-CM-WELL-TOKEN2');
    if (cookie2 !== undefined) return { token: cookie2, from: 'cookie X-CM-WELL-TOKEN2' };
    const cookie = cookieValue(req.headers.cookie, 'X-CM-WELL-TOKEN');
    if (cookie !== undefined) return { token: cookie, from: 'cookie X-CM-WELL-TOKEN' };
    return null;
}

/** `<http://example.org/a/b>` → `/example.org/a/b`; null for anything that is not an http(s) IRI. */
function iriToPath(iri) {
    const match = /^<https?:\/\/([^>]+)>$/.exec(iri);
    return match ? `/${match[1].replace(/\/+$/, '')}` : null;
}

/** The local name of a predicate IRI: after the last "#" or "/". */
function localName(iri) {
    const inner = iri.slice(1, -1);
    return inner.slice(Math.max(inner.lastIndexOf('#'), inner.lastIndexOf('/')) + 1) || inner;
}

/** N-Triples lines `<s> <p> "literal" .` or `<s> <p> <o> .`; null when a line does not parse. */
function parseNTriples(text) {
    const triples = [];
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (line === '' || line.startsWith('#')) continue;
        const match = /^(<[^>\s]+>)\s+(<[^>\s]+>)\s+(<[^>\s]+>|"(?:[^"\\]|\\.)*"(?:@[A-Za-z-]+|\^\^<[^>\s]+>)?)\s*\.$/.exec(line);
        if (!match) return null;
        const subject = iriToPath(match[1]);
        if (!subject) return null;
        const object = match[3].startsWith('<')
            ? match[3].slice(1, -1)
            : JSON.parse(match[3].replace(/(@[A-Za-z-]+|\^\^<[^>\s]+>)$/, ''));
        triples.push({ subject, field: localName(match[2]), value: object });
    }
    return triples;
}

/** The infotons every simulator starts with. */
function makeInfotons() {
    const infotons = new Map();
    infotons.set('/example.org/Individuals/JohnSmith', {
        name: ['John Smith'],
        worksFor: ['http://example.org/Organizations/Acme'],
    });
    infotons.set('/example.org/Organizations/Acme', {
        name: ['Acme Inc.'],
        city: ['Springfield'],
    });
    return infotons;
}

function emptyStats() {
    return { loginAttempts: 0, loginsOk: 0, requests: [] };
}

// ---------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------

class CmWellSimulator extends Simulator {
    constructor(options = {}) {
        super('CM-Well');
        const { users, ...rest } = options;
        this._options = { ...DEFAULT_OPTIONS, ...rest };
        this._signingKey = this._options.signingKey || crypto.randomBytes(32).toString('hex');
        this._users = new Map();
        for (const [name, props] of Object.entries(users || DEFAULT_USERS)) this.setUser(name, props);
        this._nonces = new Set();
        this._infotons = makeInfotons();
        this._faults = []; // failNext: { status, body } for data routes
        this._loginFaults = []; // failLoginNext: { status, body } for /_login
        this._issued = [];
        this._stats = emptyStats();
    }

    // ---- address ------------------------------------------------------------------------

    get baseUrl() {
        if (!this.origin) throw new Error('CM-Well simulator not started');
        return this.origin;
    }

    // ---- test controls ------------------------------------------------------------------------

    get stats() {
        return this._stats;
    }

    resetStats() {
        this._stats = emptyStats();
    }

    /** Every token issued so far, oldest first (tests look for leaks with these). */
    get issuedTokens() {
        return [...this._issued];
    }

    /** Adds or changes a user: `{ password, rev }`. */
    setUser(name, props = {}) {
        const current = this._users.get(name) || { password: '', rev: 0 };
        const record = { ...current, ...props };
        this._users.set(name, record);
        return { ...record };
    }

    getUser(name) {
        const record = this._users.get(name);
        return record ? { ...record } : undefined;
    }

    removeUser(name) {
        this._users.delete(name);
    }

    /** Bumps the user's `rev`: every token issued to them before is refused (root is immune). */
    revokeUser(name) {
        const record = this._users.get(name);
        if (!record) throw new Error(`no user "${name}"`);
        record.rev += 1;
        return record.rev;
    }

    /** Every token issued so far becomes invalid (badly signed), as after a secret key rotation. */
    expireTokens() {
        this._signingKey = crypto.randomBytes(32).toString('hex');
    }

    /** The next `count` authorized data requests are answered with this status (and body). */
    failNext(status, count = 1, body) {
        for (let i = 0; i < count; i++) this._faults.push({ status, body });
    }

    /** The next `count` logins are answered with this status (and body) at once, without the penalty. */
    failLoginNext(status, count = 1, body) {
        for (let i = 0; i < count; i++) this._loginFaults.push({ status, body });
    }

    /** A fresh challenge nonce, as the 401 of an unauthenticated /_login hands out (for tests). */
    issueNonce() {
        const nonce = md5(crypto.randomBytes(26).toString('base64'));
        this._nonces.add(nonce);
        return nonce;
    }

    /** A token signed with the current key (for tests): `{ sub, exp, rev }` as given. */
    signToken(claims) {
        return signJwt(claims, this._signingKey);
    }

    /** What the server thinks of a token: 'valid', 'invalid' or 'anonymous'. */
    checkToken(token) {
        return this._tokenVerdict(token).verdict;
    }

    infoton(pathname) {
        const fields = this._infotons.get(pathname);
        return fields ? JSON.parse(JSON.stringify(fields)) : undefined;
    }

    // ---- request plumbing ---------------------------------------------------------------------

    _onRequest(req, res) {
        const url = new URL(req.url, 'http://simulator.invalid');
        const authorization = req.headers.authorization;
        const record = {
            method: req.method,
            path: url.pathname,
            query: url.search,
            status: null, // filled in when answered
            token: false,
            tokenFrom: null,
            auth: authorization === undefined ? null : (authorization.includes('Digest') ? 'Digest' : 'Basic'),
            at: Date.now(),
        };
        this._stats.requests.push(record);
        const ctx = { req, res, record, method: req.method, pathname: url.pathname, query: url.searchParams, body: Buffer.alloc(0) };
        readBody(req, MAX_BODY_BYTES, (body) => {
            if (body === null) return this._sendJson(ctx, 413, { success: false, message: 'Request body too large' });
            ctx.body = body;
            this._dispatch(ctx);
        });
    }

    _dispatch(ctx) {
        const { method, pathname } = ctx;
        if (pathname === '/_login') {
            if (method !== 'GET') return this._sendText(ctx, 404, 'Action not found');
            return this._handleLogin(ctx);
        }
        if (pathname === '/_in') {
            if (method !== 'POST') return this._sendText(ctx, 404, 'Action not found');
            return this._withAuthorization(ctx, true, () => this._handleIngest(ctx));
        }
        if (pathname.startsWith('/_')) return this._sendText(ctx, 404, 'Action not found');
        if (method === 'GET' || method === 'HEAD') return this._withAuthorization(ctx, false, () => this._handleRead(ctx));
        if (method === 'DELETE') return this._withAuthorization(ctx, true, () => this._handleDelete(ctx));
        return this._sendJson(ctx, 405, { success: false, message: `${method} is not supported on ${pathname}` });
    }

    _send(ctx, status, body, headers = {}) {
        ctx.record.status = status;
        send(ctx.res, status, ctx.method === 'HEAD' ? undefined : body, headers);
    }

    _sendText(ctx, status, text, headers = {}) {
        this._send(ctx, status, text, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    }

    _sendJson(ctx, status, value, headers = {}) {
        this._send(ctx, status, JSON.stringify(value), { 'Content-Type': 'application/json', ...headers });
    }

    /** Sends `reply` after `delayMs` (the login penalty); stop() drops it. */
    _sendLater(ctx, delayMs, reply) {
        const answer = () => (reply.json !== undefined
            ? this._sendJson(ctx, reply.status, reply.json, reply.headers)
            : this._sendText(ctx, reply.status, reply.text, reply.headers));
        if (!(delayMs > 0)) return answer();
        this._loopback.later(delayMs, answer);
    }

    // ---- /_login --------------------------------------------------------------------------------

    _handleLogin(ctx) {
        this._stats.loginAttempts++;
        if (this._loginFaults.length > 0) {
            const { status, body } = this._loginFaults.shift();
            if (typeof body === 'string') return this._sendText(ctx, status, body);
            return this._sendJson(ctx, status, body === undefined ? { success: false, message: http.STATUS_CODES[status] || 'Error' } : body);
        }
        const header = ctx.req.headers.authorization;
        const penalty = this._options.penaltyMs;
        if (header === undefined) return this._sendLater(ctx, penalty, this._challenge());
        // The server tells the schemes apart by `contains("Digest")`; anything else is read as Basic.
        if (header.includes('Digest')) return this._sendLater(ctx, penalty / 2, this._digestLogin(ctx, header));
        return this._sendLater(ctx, penalty, this._basicLogin(ctx, header));
    }

    _challenge() {
        return {
            status: 401,
            text: MSG.provideCredentials,
            headers: { 'WWW-Authenticate': `Digest realm="${REALM}",nonce="${this.issueNonce()}",opaque="${OPAQUE}"` },
        };
    }

    _basicLogin(ctx, header) {
        const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) return { status: 400, json: { success: false, error: `\`${header}\` is not a valid Basic header` } };
        const name = decoded.slice(0, colon);
        const user = this._users.get(name);
        if (!user || user.password !== decoded.slice(colon + 1)) return { status: 401, text: MSG.notAuthenticated };
        return this._grantToken(ctx, name, user);
    }

    _digestLogin(ctx, header) {
        const fields = parseDigestClientHeader(header);
        if (!fields || DIGEST_KEYS.some((key) => !fields[key])) {
            return { status: 400, json: { success: false, error: `${header} is not a valid Digest Client Header` } };
        }
        ctx.record.digestUri = fields.uri === undefined ? null : fields.uri;
        // ConsumeNonce: the nonce is gone before anything else is checked, so a failure burns it too.
        const known = this._nonces.delete(fields.nonce);
        const user = this._users.get(fields.username);
        if (!known || fields.opaque !== OPAQUE || !user) return { status: 401, text: MSG.notAuthenticated };
        const ha1 = md5(`${fields.username}:${REALM}:${user.password}`);
        if (fields.response !== md5(`${ha1}:${fields.nonce}:${HA2}`)) return { status: 401, text: MSG.notAuthenticated };
        return this._grantToken(ctx, fields.username, user);
    }

    /** `Token.generate`: `exp` from the query (or the default), refused beyond maxDays. */
    _grantToken(ctx, name, user) {
        const now = Date.now();
        const exp = ctx.query.has('exp')
            ? now + durationMs(parseShortDuration(ctx.query.get('exp')))
            : now + this._options.defaultLifetimeMs;
        if (exp > now + this._options.maxDays * DAY_MS) return { status: 400, json: { success: false, error: MSG.expiryTooFar } };
        const token = signJwt({ sub: name, exp, rev: user.rev }, this._signingKey);
        this._issued.push(token);
        this._stats.loginsOk++;
        return { status: 200, json: { token } };
    }

    // ---- authorization (AuthFilter) -------------------------------------------------------------

    _tokenVerdict(token) {
        const jwt = readJwt(token, this._signingKey);
        if (!jwt) return { verdict: 'anonymous' };
        const { claims, signed } = jwt;
        const user = this._users.get(claims.sub);
        const rev = typeof claims.rev === 'number' ? claims.rev : 0;
        const revOk = claims.sub === 'root' || !user || rev >= user.rev;
        if (!signed || claims.exp <= Date.now() || !revOk) return { verdict: 'invalid' };
        return { verdict: 'valid', user: claims.sub, known: Boolean(user) || claims.sub === 'root' };
    }

    /** Token check, then injected faults, then the handler. Reads get text errors, writes JSON. */
    _withAuthorization(ctx, isWrite, handler) {
        const found = findToken(ctx.req, ctx.query);
        ctx.record.token = Boolean(found);
        ctx.record.tokenFrom = found ? found.from : null;
        const refuse = (message) => (isWrite
            ? this._sendJson(ctx, 403, { success: false, message })
            : this._sendText(ctx, 403, message));
        const { verdict, user, known } = found ? this._tokenVerdict(found.token) : { verdict: 'anonymous' };
        if (verdict === 'anonymous') return refuse(MSG.notAuthorized);
        if (verdict === 'invalid') return refuse(MSG.invalidToken);
        if (!known) return refuse(`Username ${user} was not found in CM-Well`);
        if (this._faults.length > 0) {
            const { status, body } = this._faults.shift();
            if (typeof body === 'string') return this._sendText(ctx, status, body);
            return this._sendJson(ctx, status, body === undefined ? { success: false, message: http.STATUS_CODES[status] || 'Error' } : body);
        }
        return handler(user);
    }

    // ---- data routes ------------------------------------------------------------------------------

    _handleRead(ctx) {
        const pathname = ctx.pathname.replace(/\/+$/, '');
        const fields = this._infotons.get(pathname);
        if (!fields) return this._sendText(ctx, 404, 'Infoton not found');
        const format = ctx.query.get('format') || 'json';
        if (format === 'ntriples' || format === 'text') {
            const lines = [];
            for (const [field, values] of Object.entries(fields)) {
                for (const value of values) lines.push(`<http:/${pathname}> <http://example.org/vocab#${field}> ${JSON.stringify(value)} .`);
            }
            return this._sendText(ctx, 200, `${lines.join('\n')}\n`);
        }
        if (format !== 'json') return this._sendJson(ctx, 400, { success: false, message: `unknown format "${format}"` });
        const parent = pathname.slice(0, pathname.lastIndexOf('/')) || '/';
        this._sendJson(ctx, 200, {
            type: 'ObjectInfoton',
            system: { path: pathname, parent, dataCenter: 'dc1' },
            fields,
        });
    }

    _handleIngest(ctx) {
        const format = ctx.query.get('format');
        if (format !== 'ntriples' && format !== 'nquads') {
            return this._sendJson(ctx, 400, { success: false, message: 'format must be ntriples or nquads' });
        }
        const triples = parseNTriples(ctx.body.toString('utf8'));
        if (!triples || triples.length === 0) return this._sendJson(ctx, 400, { success: false, message: 'could not parse the N-Triples body' });
        for (const { subject, field, value } of triples) {
            const fields = this._infotons.get(subject) || {};
            fields[field] = [...(fields[field] || []), value];
            this._infotons.set(subject, fields);
        }
        this._sendJson(ctx, 200, { success: true });
    }

    _handleDelete(ctx) {
        this._infotons.delete(ctx.pathname.replace(/\/+$/, ''));
        this._sendJson(ctx, 200, { success: true });
    }
}

// ---------------------------------------------------------------------------------------------
// Command line: node test/simulators/cmwell.js [--port 9000] [--tls] [--host 127.0.0.1] [--penalty 3000]
// ---------------------------------------------------------------------------------------------

if (require.main === module) runCli((options) => new CmWellSimulator(options), (sim) => sim.origin, { '--penalty': ['penaltyMs', Number] });

/**
 * The shared entry point of every simulator module (example-flow tests, `npm start`): a running
 * simulator with the real 3 s login penalty unless told otherwise, its base URL and demo user.
 */
async function startForFlows({ host = '127.0.0.1', port = 0, penaltyMs } = {}) {
    const simulator = new CmWellSimulator({ host, port, ...(penaltyMs === undefined ? {} : { penaltyMs }) });
    await simulator.start();
    return {
        simulator,
        baseUrl: simulator.baseUrl,
        credentials: { username: 'root', password: DEFAULT_USERS.root.password },
        stop: () => simulator.stop(),
    };
}

/** Port `npm start` uses for this vendor (env CMWELL_PORT overrides). */
const DEMO_PORT = 9000;

module.exports = {
    CmWellSimulator,
    parseShortDuration,
    parseDigestClientHeader,
    signJwt,
    OPAQUE,
    REALM,
    MSG,
    startForFlows,
    DEMO_PORT,
};

/**
 * CM-Well simulator (the wire facts: docs/vendors.md, CM-Well).
 *
 * `GET /_login` with HTTP Basic or CM-Well's RFC 2069 Digest, the `exp` short format, HS256 JWTs
 * whose `exp` claim is in milliseconds, and a few data routes with authorization enforced (as with
 * `use.authorization=true`). Plain HTTP by default, like CM-Well itself. Every `/_login` reply is held
 * `penaltyMs` (Digest: half of it), as the real server does. Only Node core modules; every time read
 * goes through Date.now() so tests can fake the clock.
 */

import http from 'node:http';
import crypto from 'node:crypto';
import {
    Simulator,
    cookieValues,
    runCli,
    type Exchange,
    type FlowSimulator,
    type Headers,
    type ListenOptions,
    type RequestRecord,
    type SimulatorOptions,
    type SimulatorStats,
} from './loopback-server';

const MINUTE_MS = 60000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

export interface CmWellOptions extends ListenOptions {
    /** `webservice.login.penaltysec`: every /_login reply waits this long (Digest: half). */
    penaltyMs: number;
    /** `play.http.secret.key`; random when not given. */
    signingKey: string | undefined;
    /** Lifetime of a token asked for without `exp`. */
    defaultLifetimeMs: number;
    /** `authorization.token.expiry.maxDays`. */
    maxDays: number;
}

const DEFAULT_OPTIONS: CmWellOptions = {
    tls: false,
    host: '127.0.0.1',
    port: 0,
    penaltyMs: 3000,
    signingKey: undefined,
    defaultLifetimeMs: DAY_MS,
    maxDays: 60,
};

export interface CmWellUser {
    password: string;
    /** Tokens with a lower `rev` claim are refused (root is immune). */
    rev: number;
}

const DEFAULT_USERS: Record<string, Partial<CmWellUser>> = { root: { password: 'root' } };

export const REALM = 'cmwell';
const md5 = (text: string): string => crypto.createHash('md5').update(text, 'utf8').digest('hex');
/** CM-Well's fixed opaque: md5("any string will do. even 42."). */
export const OPAQUE = md5('any string will do. even 42.');
/** HA2 is a constant on the server: the client's `uri` and method are ignored. */
const HA2 = md5('GET:/_login');

const TOKEN_HEADER = 'x-cm-well-token';
const TOKEN2_HEADER = 'x-cm-well-token2';

// Response texts, as the server sends them (docs/vendors.md).
export const MSG = {
    provideCredentials: 'Please provide your credentials.\n',
    notAuthenticated: 'Not authenticated.\n',
    expiryTooFar: 'Token expiry must be less than 60 days',
    invalidToken: 'given token is not valid (not signed or expired)',
    notAuthorized: 'Not authorized, please login first',
};

export interface CmWellRecord extends RequestRecord {
    query: string;
    token: boolean;
    tokenFrom: string | null;
    auth: 'Digest' | 'Basic' | null;
    /** The `uri` field of a Digest login (null when it had none). */
    digestUri?: string | null;
}

export type CmWellStats = SimulatorStats<CmWellRecord>;

type Ctx = Exchange<CmWellRecord>;
type Fault = { status: number; body: unknown };
type Reply = { status: number; json?: unknown; text?: string; headers?: Headers };

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

export interface ShortDuration {
    days: number;
    hours: number;
    minutes: number;
}

/**
 * `LoginHandler.parseShortFormatDuration`: each of d, h, m is the first `(\d+)` followed by the
 * unit letter, case-insensitive; missing units count 0 (so "abc" is 0d0h0m).
 */
export function parseShortDuration(text: string): ShortDuration {
    const unit = (letter: string): number => {
        const match = new RegExp(`(\\d+)${letter}`, 'i').exec(text);
        return match ? Number.parseInt(match[1], 10) : 0;
    };
    return { days: unit('d'), hours: unit('h'), minutes: unit('m') };
}

function durationMs({ days, hours, minutes }: ShortDuration): number {
    return days * DAY_MS + hours * HOUR_MS + minutes * MINUTE_MS;
}

const base64url = (value: string): string => Buffer.from(value).toString('base64url');

export function signJwt(claims: Record<string, unknown>, key: string): string {
    const unsigned = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
    const signature = crypto.createHmac('sha256', key).update(unsigned).digest('base64url');
    return `${unsigned}.${signature}`;
}

interface JwtClaims {
    sub: string;
    exp: number;
    rev?: unknown;
}

/**
 * `Token.apply`: the claims of a JWT that has `sub` and `exp`, with a flag telling whether `key`
 * signed it; null for anything else (the request is then anonymous, not "invalid token").
 */
function readJwt(token: string, key: string): { claims: JwtClaims; signed: boolean } | null {
    const parts = String(token).split('.');
    if (parts.length !== 3) return null;
    let header: unknown;
    let claims: unknown;
    try {
        header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
        claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
        return null;
    }
    if (!header || typeof header !== 'object' || !claims || typeof claims !== 'object') return null;
    const { sub, exp } = claims as Record<string, unknown>;
    if (typeof sub !== 'string' || typeof exp !== 'number') return null;
    const expected = crypto.createHmac('sha256', key).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], 'base64url');
    const signed = (header as { alg?: unknown }).alg === 'HS256' && given.length === expected.length && crypto.timingSafeEqual(given, expected);
    return { claims: claims as JwtClaims, signed };
}

/**
 * `DigestHeader` parsing, as CM-Well's RegexParsers do it: "Digest " then `key=value` pairs
 * separated by commas, values of `[a-zA-Z0-9"?=&/_-]+` with quotes stripped. Parsing stops at the
 * first character that does not fit; what follows is dropped. Null when the header does not start
 * with "Digest".
 */
export function parseDigestClientHeader(header: string): Record<string, string> | null {
    const match = /^\s*Digest\s+/.exec(header);
    if (!match) return null;
    const fields: Record<string, string> = {};
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

/** `AuthUtils.extractTokenFrom`: the first place that holds a token wins, valid or not. */
function findToken(req: http.IncomingMessage, query: URLSearchParams): { token: string; from: string } | null {
    const header2 = req.headers[TOKEN2_HEADER];
    if (header2 !== undefined) return { token: String(header2), from: 'X-CM-WELL-TOKEN2' };
    const header = req.headers[TOKEN_HEADER];
    if (header !== undefined) return { token: String(header), from: 'X-CM-WELL-TOKEN' };
    const fromQuery = query.get('token');
    if (fromQuery !== null) return { token: fromQuery, from: 'query' };
    const [cookie2] = cookieValues(req.headers.cookie, 'X-CM-WELL-TOKEN2');
    if (cookie2 !== undefined) return { token: cookie2, from: 'cookie X-CM-WELL-TOKEN2' };
    const [cookie] = cookieValues(req.headers.cookie, 'X-CM-WELL-TOKEN');
    if (cookie !== undefined) return { token: cookie, from: 'cookie X-CM-WELL-TOKEN' };
    return null;
}

/** `<http://example.org/a/b>` → `/example.org/a/b`; null for anything that is not an http(s) IRI. */
function iriToPath(iri: string): string | null {
    const match = /^<https?:\/\/([^>]+)>$/.exec(iri);
    return match ? `/${match[1].replace(/\/+$/, '')}` : null;
}

/** The local name of a predicate IRI: after the last "#" or "/". */
function localName(iri: string): string {
    const inner = iri.slice(1, -1);
    return inner.slice(Math.max(inner.lastIndexOf('#'), inner.lastIndexOf('/')) + 1) || inner;
}

interface Triple {
    subject: string;
    field: string;
    value: string;
}

/** N-Triples lines `<s> <p> "literal" .` or `<s> <p> <o> .`; null when a line does not parse. */
function parseNTriples(text: string): Triple[] | null {
    const triples: Triple[] = [];
    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim();
        if (line === '' || line.startsWith('#')) continue;
        const match = /^(<[^>\s]+>)\s+(<[^>\s]+>)\s+(<[^>\s]+>|"(?:[^"\\]|\\.)*"(?:@[A-Za-z-]+|\^\^<[^>\s]+>)?)\s*\.$/.exec(line);
        if (!match) return null;
        const subject = iriToPath(match[1]);
        if (!subject) return null;
        const object = match[3].startsWith('<') ? match[3].slice(1, -1) : (JSON.parse(match[3].replace(/(@[A-Za-z-]+|\^\^<[^>\s]+>)$/, '')) as string);
        triples.push({ subject, field: localName(match[2]), value: object });
    }
    return triples;
}

type Fields = Record<string, string[]>;

/** The infotons every simulator starts with. */
function makeInfotons(): Map<string, Fields> {
    const infotons = new Map<string, Fields>();
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

function emptyStats(): CmWellStats {
    return { loginAttempts: 0, loginsOk: 0, requests: [] };
}

type Verdict = { verdict: 'anonymous' } | { verdict: 'invalid' } | { verdict: 'valid'; user: string; known: boolean };

// ---------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------

export class CmWellSimulator extends Simulator<CmWellRecord, CmWellStats> {
    protected readonly _options: CmWellOptions;
    private _signingKey: string;
    private readonly _users = new Map<string, CmWellUser>();
    /** Challenge nonces not used yet (a test may add its own). */
    readonly _nonces = new Set<string>();
    private readonly _infotons = makeInfotons();
    private readonly _faults: Fault[] = []; // failNext: for data routes
    private readonly _loginFaults: Fault[] = []; // failLoginNext: for /_login
    private readonly _issued: string[] = [];

    constructor(options: SimulatorOptions<CmWellUser> & Partial<CmWellOptions> = {}) {
        super('CM-Well', emptyStats);
        const { users, ...rest } = options;
        this._options = { ...DEFAULT_OPTIONS, ...rest };
        this._signingKey = this._options.signingKey || crypto.randomBytes(32).toString('hex');
        for (const [name, props] of Object.entries(users ?? DEFAULT_USERS)) this.setUser(name, props);
    }

    // ---- address ------------------------------------------------------------------------

    get baseUrl(): string {
        if (!this.origin) throw new Error('CM-Well simulator not started');
        return this.origin;
    }

    // ---- test controls ------------------------------------------------------------------------

    /** Every token issued so far, oldest first (tests look for leaks with these). */
    get issuedTokens(): string[] {
        return [...this._issued];
    }

    /** Adds or changes a user: `{ password, rev }`. */
    setUser(name: string, props: Partial<CmWellUser> = {}): CmWellUser {
        const current = this._users.get(name) ?? { password: '', rev: 0 };
        const record = { ...current, ...props };
        this._users.set(name, record);
        return { ...record };
    }

    getUser(name: string): CmWellUser | undefined {
        const record = this._users.get(name);
        return record ? { ...record } : undefined;
    }

    removeUser(name: string): void {
        this._users.delete(name);
    }

    /** Bumps the user's `rev`: every token issued to them before is refused (root is immune). */
    revokeUser(name: string): number {
        const record = this._users.get(name);
        if (!record) throw new Error(`no user "${name}"`);
        record.rev += 1;
        return record.rev;
    }

    /** Every token issued so far becomes invalid (badly signed), as after a secret key rotation. */
    expireTokens(): void {
        this._signingKey = crypto.randomBytes(32).toString('hex');
    }

    /** The next `count` authorized data requests are answered with this status (and body). */
    failNext(status: number, count = 1, body?: unknown): void {
        for (let i = 0; i < count; i++) this._faults.push({ status, body });
    }

    /** The next `count` logins are answered with this status (and body) at once, without the penalty. */
    failLoginNext(status: number, count = 1, body?: unknown): void {
        for (let i = 0; i < count; i++) this._loginFaults.push({ status, body });
    }

    /** A fresh challenge nonce, as the 401 of an unauthenticated /_login hands out (for tests). */
    issueNonce(): string {
        const nonce = md5(crypto.randomBytes(26).toString('base64'));
        this._nonces.add(nonce);
        return nonce;
    }

    /** A token signed with the current key (for tests): `{ sub, exp, rev }` as given. */
    signToken(claims: Record<string, unknown>): string {
        return signJwt(claims, this._signingKey);
    }

    /** What the server thinks of a token: 'valid', 'invalid' or 'anonymous'. */
    checkToken(token: string): Verdict['verdict'] {
        return this._tokenVerdict(token).verdict;
    }

    infoton(pathname: string): Fields | undefined {
        const fields = this._infotons.get(pathname);
        return fields ? (JSON.parse(JSON.stringify(fields)) as Fields) : undefined;
    }

    // ---- request plumbing ---------------------------------------------------------------------

    protected _recordFields(req: http.IncomingMessage, url: URL): Omit<CmWellRecord, keyof RequestRecord> {
        const authorization = req.headers.authorization;
        return {
            query: url.search,
            token: false,
            tokenFrom: null,
            auth: authorization === undefined ? null : authorization.includes('Digest') ? 'Digest' : 'Basic',
        };
    }

    protected _tooLarge(ctx: Ctx): void {
        this._sendJson(ctx, 413, { success: false, message: 'Request body too large' });
    }

    protected _dispatch(ctx: Ctx): void {
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

    /** A HEAD request gets the headers only. */
    protected override _send(ctx: Ctx, status: number, body?: string | Buffer, headers: Headers = {}): void {
        super._send(ctx, status, ctx.method === 'HEAD' ? undefined : body, headers);
    }

    private _sendText(ctx: Ctx, status: number, text: string, headers: Headers = {}): void {
        this._send(ctx, status, text, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    }

    private _sendFault(ctx: Ctx, { status, body }: Fault): void {
        if (typeof body === 'string') return this._sendText(ctx, status, body);
        this._sendJson(ctx, status, body === undefined ? { success: false, message: http.STATUS_CODES[status] || 'Error' } : body);
    }

    /** Sends `reply` after `delayMs` (the login penalty); stop() drops it. */
    private _sendLater(ctx: Ctx, delayMs: number, reply: Reply): void {
        this._afterDelay(delayMs, () =>
            reply.json !== undefined
                ? this._sendJson(ctx, reply.status, reply.json, reply.headers)
                : this._sendText(ctx, reply.status, reply.text ?? '', reply.headers),
        );
    }

    // ---- /_login --------------------------------------------------------------------------------

    private _handleLogin(ctx: Ctx): void {
        this._stats.loginAttempts++;
        const fault = this._loginFaults.shift();
        if (fault) return this._sendFault(ctx, fault);
        const header = ctx.req.headers.authorization;
        const penalty = this._options.penaltyMs;
        if (header === undefined) return this._sendLater(ctx, penalty, this._challenge());
        // The server tells the schemes apart by `contains("Digest")`; anything else is read as Basic.
        if (header.includes('Digest')) return this._sendLater(ctx, penalty / 2, this._digestLogin(ctx, header));
        return this._sendLater(ctx, penalty, this._basicLogin(ctx, header));
    }

    private _challenge(): Reply {
        return {
            status: 401,
            text: MSG.provideCredentials,
            headers: { 'WWW-Authenticate': `Digest realm="${REALM}",nonce="${this.issueNonce()}",opaque="${OPAQUE}"` },
        };
    }

    private _basicLogin(ctx: Ctx, header: string): Reply {
        const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) return { status: 400, json: { success: false, error: `\`${header}\` is not a valid Basic header` } };
        const name = decoded.slice(0, colon);
        const user = this._users.get(name);
        if (!user || user.password !== decoded.slice(colon + 1)) return { status: 401, text: MSG.notAuthenticated };
        return this._grantToken(ctx, name, user);
    }

    private _digestLogin(ctx: Ctx, header: string): Reply {
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
    private _grantToken(ctx: Ctx, name: string, user: CmWellUser): Reply {
        const now = Date.now();
        const asked = ctx.query.get('exp');
        const exp = asked !== null ? now + durationMs(parseShortDuration(asked)) : now + this._options.defaultLifetimeMs;
        if (exp > now + this._options.maxDays * DAY_MS) return { status: 400, json: { success: false, error: MSG.expiryTooFar } };
        const token = signJwt({ sub: name, exp, rev: user.rev }, this._signingKey);
        this._issued.push(token);
        this._stats.loginsOk++;
        return { status: 200, json: { token } };
    }

    // ---- authorization (AuthFilter) -------------------------------------------------------------

    private _tokenVerdict(token: string): Verdict {
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
    private _withAuthorization(ctx: Ctx, isWrite: boolean, handler: () => void): void {
        const found = findToken(ctx.req, ctx.query);
        ctx.record.token = Boolean(found);
        ctx.record.tokenFrom = found ? found.from : null;
        const refuse = (message: string): void => (isWrite ? this._sendJson(ctx, 403, { success: false, message }) : this._sendText(ctx, 403, message));
        const verdict: Verdict = found ? this._tokenVerdict(found.token) : { verdict: 'anonymous' };
        if (verdict.verdict === 'anonymous') return refuse(MSG.notAuthorized);
        if (verdict.verdict === 'invalid') return refuse(MSG.invalidToken);
        if (!verdict.known) return refuse(`Username ${verdict.user} was not found in CM-Well`);
        const fault = this._faults.shift();
        if (fault) return this._sendFault(ctx, fault);
        handler();
    }

    // ---- data routes ------------------------------------------------------------------------------

    private _handleRead(ctx: Ctx): void {
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

    private _handleIngest(ctx: Ctx): void {
        const format = ctx.query.get('format');
        if (format !== 'ntriples' && format !== 'nquads') {
            return this._sendJson(ctx, 400, { success: false, message: 'format must be ntriples or nquads' });
        }
        const triples = parseNTriples(ctx.body.toString('utf8'));
        if (!triples || triples.length === 0) return this._sendJson(ctx, 400, { success: false, message: 'could not parse the N-Triples body' });
        for (const { subject, field, value } of triples) {
            const fields = this._infotons.get(subject) ?? {};
            fields[field] = [...(fields[field] ?? []), value];
            this._infotons.set(subject, fields);
        }
        this._sendJson(ctx, 200, { success: true });
    }

    private _handleDelete(ctx: Ctx): void {
        this._infotons.delete(ctx.pathname.replace(/\/+$/, ''));
        this._sendJson(ctx, 200, { success: true });
    }
}

// ---------------------------------------------------------------------------------------------
// Command line: node -r tsx/cjs test/simulators/cmwell.ts [--port 9000] [--tls] [--host 127.0.0.1] [--penalty 3000]
// ---------------------------------------------------------------------------------------------

if (require.main === module)
    runCli(
        (options) => new CmWellSimulator(options),
        (sim) => sim.origin ?? '',
        { '--penalty': ['penaltyMs', Number] },
    );

/**
 * The shared entry point of every simulator module (example-flow tests, `npm start`): a running
 * simulator with the real 3 s login penalty unless told otherwise, its base URL and demo user.
 */
export async function startForFlows({ host = '127.0.0.1', port = 0, penaltyMs }: { host?: string; port?: number; penaltyMs?: number } = {}): Promise<
    FlowSimulator<CmWellSimulator>
> {
    const simulator = new CmWellSimulator({ host, port, ...(penaltyMs === undefined ? {} : { penaltyMs }) });
    await simulator.start();
    return {
        simulator,
        baseUrl: simulator.baseUrl,
        credentials: { username: 'root', password: DEFAULT_USERS.root.password ?? '' },
        stop: () => simulator.stop(),
    };
}

/** Port `npm start` uses for this vendor (env CMWELL_PORT overrides). */
export const DEMO_PORT = 9000;

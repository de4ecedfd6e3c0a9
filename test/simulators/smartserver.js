'use strict';

/**
 * SmartServer IoT CMS "IAP/REST" simulator (see docs vendors.md section 1).
 *
 * Serves the login/logout/sessionTimeout routes, a tiny device model and a test echo route,
 * at both `/iap/...` (vendor-code layout) and `/cms/iap/...` (documented 2.8+ layout).
 * Every timing knob is an option so tests can run in milliseconds. Only Node core modules.
 */

const http = require('node:http');
const crypto = require('node:crypto');
const { Simulator, readBody, send, MAX_BODY_BYTES, runCli } = require('./loopback-server');

const SESSION_COOKIE = 'cmsSID';
const THROTTLE_RETRY_AFTER_S = 120;

const DEFAULT_OPTIONS = {
  tls: true,
  host: '127.0.0.1',
  port: 0,
  sessionTtlMs: 86400000,
  idleTtlMs: 0,
  lockoutThreshold: 5,
  lockoutDurationMs: 600000,
  loginDelayMs: 0,
};

const DEFAULT_USERS = { admin: { password: 'Passw0rd!Passw0rd' } };

// Response texts. The lockout and login texts follow the vendor (vendors.md section 1);
// the others are the simulator's choice where the vendor's body is undocumented.
const MSG = {
  contentType: 'Content-type must be application/json',
  invalidRequest: 'Invalid request',
  wrongCredentials: 'Wrong Username or Password',
  deactivated: 'User is deactivated',
  passwordExpired: 'Password expired. Please provide a newPassword.',
  passwordPolicy: 'New password does not meet the password policy',
  dbError: 'Database error',
  notLoggedIn: 'Not logged in',
  unauthorized: 'Unauthorized',
  notFound: 'Not found',
  throttled: 'Too many requests, slow down.',
  tooLarge: 'Request body too large',
};

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

/**
 * Remaining lockout time as the vendor words it: "1 hours 2 minutes 3 seconds",
 * "10 minutes 43 seconds", "0 minutes 5 seconds" (rounded up; hours omitted when 0; the vendor
 * text does not use singular forms either).
 */
function formatWait(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const tail = `${minutes} minutes ${seconds} seconds`;
  return hours > 0 ? `${hours} hours ${tail}` : tail;
}

function lockoutMessage(remainingMs) {
  return `Too many failed login attempts! Wait for ${formatWait(remainingMs)} before the next try.`;
}

/**
 * True when `text` holds 4 consecutive ascending or descending characters of one kind
 * (digits or letters, case-insensitive), e.g. "1234", "abcd", "DCBA". Runs across symbols
 * are not counted: the vendor calls these "systematic sequences", i.e. of letters or digits.
 */
function hasSequentialRun(text, runLength = 4) {
  const s = text.toLowerCase();
  const kindOf = (ch) => (/[0-9]/.test(ch) ? 'digit' : /[a-z]/.test(ch) ? 'letter' : null);
  for (let i = 0; i + runLength <= s.length; i++) {
    const kind = kindOf(s[i]);
    if (!kind) continue;
    let up = true;
    let down = true;
    for (let j = 1; j < runLength; j++) {
      if (kindOf(s[i + j]) !== kind) { up = false; down = false; break; }
      const step = s.charCodeAt(i + j) - s.charCodeAt(i + j - 1);
      if (step !== 1) up = false;
      if (step !== -1) down = false;
    }
    if (up || down) return true;
  }
  return false;
}

/** Reason the new password breaks the SmartServer policy, or null when it complies. */
function passwordPolicyViolation(newPassword, currentPassword) {
  if (typeof newPassword !== 'string') return 'not a string';
  if (newPassword.length < 14) return 'shorter than 14 characters';
  if (!/[A-Z]/.test(newPassword)) return 'no uppercase letter';
  if (!/[a-z]/.test(newPassword)) return 'no lowercase letter';
  if (!/[0-9]/.test(newPassword)) return 'no digit';
  if (!/[^A-Za-z0-9]/.test(newPassword)) return 'no special character';
  if (/['" \t]/.test(newPassword)) return 'contains a quote, space or tab';
  if (hasSequentialRun(newPassword)) return 'contains a sequence like 1234 or abcd';
  if (newPassword === currentPassword) return 'same as the current password';
  return null;
}

/** The vendor's own code sends "application/json;chars=utf-8": accept any parameters. */
function isJsonContentType(header) {
  if (typeof header !== 'string') return false;
  return header.split(';')[0].trim().toLowerCase() === 'application/json';
}

/** Values of every cookie called `name` in a Cookie header (it may carry other cookies). */
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

/** Parse `{"username","password"[,"newPassword"]}`; null when malformed. */
function parseLoginBody(raw) {
  let body;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const { username, password, newPassword } = body;
  if (typeof username !== 'string' || username === '' || typeof password !== 'string') return null;
  if (newPassword !== undefined && typeof newPassword !== 'string') return null;
  return { username, password, newPassword };
}

/** A datapoint write accepts a bare JSON number or `{"value": n}`; undefined when invalid. */
function parseValueBody(raw) {
  let body;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof body === 'number') return body;
  if (body && typeof body === 'object' && typeof body.value === 'number') return body.value;
  return undefined;
}

/** Both layouts share the handlers: `/cms/iap/x` routes like `/iap/x`. */
function routePath(pathname) {
  return pathname === '/cms' || pathname.startsWith('/cms/') ? pathname.slice(4) || '/' : pathname;
}

function decodeSegment(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * One segment of a datapoint path: `*` matches anything; a `+filter` suffix (e.g. `*+tag==X`)
 * is accepted and ignored, the simulator has no tags to filter on.
 */
function segmentPattern(segment) {
  const base = segment.split('+')[0];
  return { any: base === '*' || base === '', wildcard: segment.includes('*') || segment.includes('+'), base };
}

function matchesSegment(pattern, actual) {
  return pattern.any || pattern.base === String(actual);
}

/** The device model every simulator starts with: two meters, each with one block. */
function makeDevices() {
  const device = (id, name, volts, amps) => ({
    id,
    name,
    type: 'meter',
    state: 'provisioned',
    health: 'normal',
    blocks: [{
      name: 'block',
      index: 1,
      datapoints: {
        Volts_1: { value: volts, unit: 'V' },
        Amps_1: { value: amps, unit: 'A' },
      },
    }],
  });
  return [device('17q2d9x.5', 'Meter 1', 230.1, 1.5), device('a1b2c3.1', 'Meter 2', 229.4, 0.7)];
}

function emptyStats() {
  return { loginAttempts: 0, loginsOk: 0, logouts: 0, sessionTimeoutCalls: 0, requests: [] };
}

// ---------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------

class SmartServerSimulator extends Simulator {
  constructor(options = {}) {
    super('SmartServer');
    const { users, ...rest } = options;
    this._options = { ...DEFAULT_OPTIONS, ...rest };
    this._users = new Map();
    this._nextUserId = 1;
    for (const [name, props] of Object.entries(users || DEFAULT_USERS)) this.setUser(name, props);
    this._sessions = new Map(); // cmsSID -> { user, createdAt, lastUsedAt }
    this._failures = new Map(); // username -> { count, lockedUntil }
    this._devices = makeDevices();
    this._faults = []; // queued failNext answers: { status, body }
    this._throttleCount = 0;
    this._hangCount = 0;
    this._stats = emptyStats();
  }

  // ---- address --------------------------------------------------------------------------

  /** 'root' → origin (vendor-code layout), 'cms' → origin + '/cms' (documented 2.8+ layout). */
  baseUrl(layout = 'root') {
    if (!this.origin) throw new Error('SmartServer simulator not started');
    if (layout === 'root') return this.origin;
    if (layout === 'cms') return `${this.origin}/cms`;
    throw new Error(`Unknown layout "${layout}" (use "root" or "cms")`);
  }

  // ---- test controls ------------------------------------------------------------------------

  get stats() {
    return this._stats;
  }

  resetStats() {
    this._stats = emptyStats();
  }

  /** Every live session becomes invalid, as after a server restart. */
  expireSessions() {
    this._sessions.clear();
  }

  failNext(status, count = 1, body) {
    for (let i = 0; i < count; i++) this._faults.push({ status, body });
  }

  throttleNext(count = 1) {
    this._throttleCount += count;
  }

  hangNext(count = 1) {
    this._hangCount += count;
  }

  setUser(name, props = {}) {
    const current = this._users.get(name);
    const record = current
      ? { ...current, ...props }
      : {
        id: this._nextUserId,
        firstName: name,
        lastName: '',
        emailAddress: `${name}@smartserver.local`,
        locale: 'en-US',
        customerId: 'sim-customer',
        state: 'active',
        password: '',
        ...props,
      };
    if (typeof record.id === 'number' && record.id >= this._nextUserId) this._nextUserId = record.id + 1;
    this._users.set(name, record);
    return { ...record };
  }

  getUser(name) {
    const record = this._users.get(name);
    return record ? { ...record } : undefined;
  }

  isSessionValid(cmsSID) {
    return this._liveSession(cmsSID) !== null;
  }

  liveSessions() {
    let count = 0;
    for (const sid of [...this._sessions.keys()]) if (this._liveSession(sid)) count++;
    return count;
  }

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
      cookie: req.headers.cookie || '',
      status: null, // filled in when answered; stays null for a hung request
      at: Date.now(),
    };
    this._stats.requests.push(record);
    const ctx = {
      req,
      res,
      record,
      method: req.method,
      pathname: url.pathname,
      route: routePath(url.pathname),
      query: url.searchParams,
      body: Buffer.alloc(0),
    };
    readBody(req, MAX_BODY_BYTES, (body) => {
      if (body === null) return this._sendJson(ctx, 413, { message: MSG.tooLarge });
      ctx.body = body;
      this._dispatch(ctx);
    });
  }

  _dispatch(ctx) {
    const { method, route } = ctx;
    if (route === '/iap/auth/login' && method === 'POST') this._stats.loginAttempts++;
    if (route === '/iap/auth/sessionTimeout' && method === 'GET') this._stats.sessionTimeoutCalls++;

    // Generic throttling comes before everything, login included.
    if (this._throttleCount > 0) {
      this._throttleCount--;
      return this._sendJson(ctx, 429, { message: MSG.throttled }, { 'Retry-After': String(THROTTLE_RETRY_AFTER_S) });
    }

    if (route === '/iap/auth/login' && method === 'POST') return this._handleLogin(ctx);
    if (route === '/iap/auth/logout' && (method === 'PUT' || method === 'POST')) return this._handleLogout(ctx);
    if (route === '/iap/auth/sessionTimeout' && method === 'GET') return this._handleSessionTimeout(ctx);
    if (route === '/iap/devs' || route.startsWith('/iap/devs/')) return this._withDataSession(ctx, () => this._handleDevs(ctx));
    // Test aid, NOT a vendor route: echoes the request so tests can see what the client sent.
    if (route === '/iap/test/echo') return this._withDataSession(ctx, () => this._handleEcho(ctx));
    return this._sendJson(ctx, 404, { message: MSG.notFound });
  }

  _send(ctx, status, body, headers = {}) {
    ctx.record.status = status;
    send(ctx.res, status, body, headers);
  }

  _sendJson(ctx, status, value, headers = {}) {
    this._send(ctx, status, JSON.stringify(value), { 'Content-Type': 'application/json', ...headers });
  }

  _sendEmpty(ctx, status = 204) {
    this._send(ctx, status);
  }

  // ---- sessions -----------------------------------------------------------------------------

  /** The session for `sid` if still alive (absolute and idle limits), else null; dead ones are dropped. */
  _liveSession(sid) {
    const session = this._sessions.get(sid);
    if (!session) return null;
    const now = Date.now();
    const { sessionTtlMs, idleTtlMs } = this._options;
    const expired = now >= session.createdAt + sessionTtlMs
      || (idleTtlMs > 0 && now >= session.lastUsedAt + idleTtlMs);
    if (expired) {
      this._sessions.delete(sid);
      return null;
    }
    return session;
  }

  /** The live session named by the request's cmsSID cookie (touched: idle timer restarts), or null. */
  _requestSession(ctx) {
    for (const sid of cookieValues(ctx.req.headers.cookie, SESSION_COOKIE)) {
      const session = this._liveSession(sid);
      if (session) {
        session.lastUsedAt = Date.now();
        return session;
      }
    }
    return null;
  }

  _createSession(userName) {
    const sid = crypto.randomBytes(24).toString('hex');
    const now = Date.now();
    this._sessions.set(sid, { sid, user: userName, createdAt: now, lastUsedAt: now });
    return sid;
  }

  _sessionCookie(sid) {
    return `${SESSION_COOKIE}=${sid}; Path=/${this._options.tls ? '; Secure' : ''}; HttpOnly`;
  }

  // ---- lockout ------------------------------------------------------------------------------

  /** Failure bookkeeping per username; a lock that has run out starts the count afresh. */
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

  _recordFailure(name) {
    const entry = this._failureEntry(name);
    entry.count++;
    if (entry.count >= this._options.lockoutThreshold) {
      entry.lockedUntil = Date.now() + this._options.lockoutDurationMs;
    }
  }

  // ---- auth routes --------------------------------------------------------------------------

  _handleLogin(ctx) {
    const { loginDelayMs } = this._options;
    if (!(loginDelayMs > 0)) return this._answerLogin(ctx);
    // Delay the answer (for client timeout tests); stop() clears pending timers.
    this._loopback.later(loginDelayMs, () => this._answerLogin(ctx));
  }

  _answerLogin(ctx) {
    if (!isJsonContentType(ctx.req.headers['content-type'])) {
      return this._sendJson(ctx, 415, { message: MSG.contentType });
    }
    const creds = parseLoginBody(ctx.body);
    if (!creds) return this._sendJson(ctx, 400, { message: MSG.invalidRequest });

    // Lockout wins even over the right password.
    const until = this.lockedUntil(creds.username);
    if (until) return this._sendJson(ctx, 429, { message: lockoutMessage(until - Date.now()) });

    const user = this._users.get(creds.username);
    if (user && user.dbError) return this._sendJson(ctx, 500, { message: MSG.dbError });
    if (!user || user.password !== creds.password) {
      // The failure that reaches the threshold still answers 401; the lock shows from the next try.
      this._recordFailure(creds.username);
      return this._sendJson(ctx, 401, { message: MSG.wrongCredentials });
    }
    this._failureEntry(creds.username).count = 0; // right password: the failure streak ends

    if (user.state === 'deactivated') return this._sendJson(ctx, 428, { message: MSG.deactivated });
    if (user.state === 'passwordExpired') {
      if (creds.newPassword === undefined) return this._sendJson(ctx, 423, { message: MSG.passwordExpired });
      if (passwordPolicyViolation(creds.newPassword, user.password)) {
        return this._sendJson(ctx, 400, { message: MSG.passwordPolicy });
      }
      user.password = creds.newPassword;
      user.state = 'active';
    }

    // Every login is a new session; earlier cookies stay valid until logout or expiry.
    const sid = this._createSession(creds.username);
    this._stats.loginsOk++;
    this._sendJson(ctx, 200, this._publicUser(creds.username, user), { 'Set-Cookie': this._sessionCookie(sid) });
  }

  _publicUser(name, user) {
    return {
      id: user.id,
      userName: name,
      firstName: user.firstName,
      lastName: user.lastName,
      emailAddress: user.emailAddress,
      locale: user.locale,
      customerId: user.customerId,
    };
  }

  _handleLogout(ctx) {
    const session = this._requestSession(ctx);
    if (!session) return this._sendJson(ctx, 401, { message: MSG.notLoggedIn });
    this._sessions.delete(session.sid);
    this._stats.logouts++;
    this._sendEmpty(ctx);
  }

  _handleSessionTimeout(ctx) {
    if (!this._requestSession(ctx)) return this._sendJson(ctx, 401, { message: MSG.unauthorized });
    this._sendJson(ctx, 200, this._options.sessionTtlMs);
  }

  // ---- data routes --------------------------------------------------------------------------

  /** Cookie check, then the injected faults (failNext, hangNext), then the real handler. */
  _withDataSession(ctx, handler) {
    if (!this._requestSession(ctx)) return this._sendJson(ctx, 401, { message: MSG.unauthorized });
    if (this._faults.length > 0) {
      const { status, body } = this._faults.shift();
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        return this._send(ctx, status, body, { 'Content-Type': 'text/plain' });
      }
      return this._sendJson(ctx, status, body === undefined ? { message: http.STATUS_CODES[status] || 'Error' } : body);
    }
    if (this._hangCount > 0) {
      this._hangCount--;
      return; // accept and never answer; stop() destroys the socket
    }
    return handler();
  }

  _handleDevs(ctx) {
    const segments = ctx.route.split('/').slice(3).filter((s) => s !== '').map(decodeSegment);
    const { method } = ctx;
    if (segments.length === 0 && method === 'GET') return this._sendJson(ctx, 200, this._deviceList());
    if (segments.length > 0 && segments[segments.length - 1] === 'tags' && (method === 'POST' || method === 'DELETE')) {
      return this._sendEmpty(ctx);
    }
    if (segments.length === 6 && segments[1] === 'if' && segments[5] === 'value') {
      if (method === 'GET') return this._readValues(ctx, segments);
      if (method === 'PUT') return this._writeValues(ctx, segments);
    }
    return this._sendJson(ctx, 404, { message: MSG.notFound });
  }

  _deviceList() {
    return this._devices.map(({ id, name, type, state, health }) => ({ id, name, type, state, health }));
  }

  /** Datapoints matching `{dev}/if/{block}/{idx}/{dp}` (segments may be wildcards). */
  _matchDatapoints(segments) {
    const [dev, , block, idx, dp] = segments.map(segmentPattern);
    const found = [];
    for (const device of this._devices) {
      if (!matchesSegment(dev, device.id)) continue;
      for (const b of device.blocks) {
        if (!matchesSegment(block, b.name) || !matchesSegment(idx, b.index)) continue;
        for (const [dpName, datapoint] of Object.entries(b.datapoints)) {
          if (!matchesSegment(dp, dpName)) continue;
          found.push({ device: device.id, path: `${b.name}/${b.index}/${dpName}`, datapoint });
        }
      }
    }
    const wildcard = [dev, block, idx, dp].some((p) => p.wildcard);
    return { wildcard, found };
  }

  _readValues(ctx, segments) {
    const { wildcard, found } = this._matchDatapoints(segments);
    if (!wildcard) {
      if (found.length === 0) return this._sendJson(ctx, 404, { message: MSG.notFound });
      const { value, unit } = found[0].datapoint;
      return this._sendJson(ctx, 200, { value, unit });
    }
    // Paging: pg is 1-based (pg=0 also means the first page), sz defaults to everything.
    const size = Number.parseInt(ctx.query.get('sz'), 10);
    const page = Math.max(1, Number.parseInt(ctx.query.get('pg'), 10) || 1);
    const items = found.map(({ device, path: dpPath, datapoint }) => ({ device, path: dpPath, value: datapoint.value }));
    const pageItems = size > 0 ? items.slice((page - 1) * size, page * size) : items;
    this._sendJson(ctx, 200, pageItems);
  }

  _writeValues(ctx, segments) {
    const value = parseValueBody(ctx.body);
    if (value === undefined) return this._sendJson(ctx, 400, { message: MSG.invalidRequest });
    const { found } = this._matchDatapoints(segments);
    if (found.length === 0) return this._sendJson(ctx, 404, { message: MSG.notFound });
    for (const { datapoint } of found) datapoint.value = value;
    this._sendEmpty(ctx);
  }

  /** Test aid, not a vendor route: tells the test exactly what the client sent. */
  _handleEcho(ctx) {
    this._sendJson(ctx, 200, {
      method: ctx.method,
      path: ctx.pathname,
      query: Object.fromEntries(ctx.query),
      headers: { ...ctx.req.headers },
      body: ctx.body.toString('utf8'),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Command line: node test/simulators/smartserver.js [--port 8443] [--http] [--host 127.0.0.1]
// ---------------------------------------------------------------------------------------------

if (require.main === module) runCli((options) => new SmartServerSimulator(options), (sim) => sim.origin);

/**
 * The shared entry point of every simulator module, used by the example-flow tests and `npm start`:
 * a running simulator, the base URL the example's server config should use, and its demo user.
 */
async function startForFlows({ host = '127.0.0.1', port = 0 } = {}) {
  const simulator = new SmartServerSimulator({ host, port });
  await simulator.start();
  return {
    simulator,
    baseUrl: simulator.baseUrl('cms'),
    credentials: { username: 'admin', password: DEFAULT_USERS.admin.password },
    stop: () => simulator.stop(),
  };
}

/** Port `npm start` uses for this vendor (env SMARTSERVER_PORT overrides). */
const DEMO_PORT = 8443;

module.exports = { SmartServerSimulator, formatWait, passwordPolicyViolation, startForFlows, DEMO_PORT };

/**
 * A UniFi OS console (vendors.md, "UniFi OS console"):
 *
 * - `POST /api/auth/login` JSON `{username, password[, rememberMe]}` → 200 with the user, cookie
 *   `TOKEN` (a JWT) and the reply header `X-CSRF-Token`; a wrong password → 401; after
 *   `lockoutThreshold` failures 429 with Retry-After.
 * - The Network application under `/proxy/network/`: `GET …/api/s/default/stat/health` (a read, the
 *   cookie alone), `POST …/api/s/default/cmd/devmgr` (a write: it needs `X-CSRF-Token`).
 *   `rotateCsrf`: every write's reply carries `X-Updated-CSRF-Token`, which replaces the token (the
 *   old one is refused from then on).
 * - A logged-out call answers 401 (`loggedOut: 'body'`: 200 with `{"meta":{"rc":"error","msg":
 *   "api.err.LoginRequired"}}`, as some builds do). A write without the right CSRF token (infer)
 *   answers 403 with the same `api.err.LoginRequired` body.
 * - `POST /api/auth/logout` ends the session.
 * - `…/api/s/default/rest/user` takes every method: GET and HEAD read, POST, PUT, PATCH and DELETE write.
 * - Test route: `POST|GET /proxy/network/redirect?to=<url>` answers 307 to `to`.
 */
import { runCli, type FlowSimulator } from './loopback-server';
import { DEVICE_DEFAULTS, DeviceSimulator, jsonLogin, startDevice, randomToken, type DeviceExchange, type DeviceOptions } from './device-base';

export interface UnifiOptions extends DeviceOptions {
    /** Every write's reply hands over a new token in `X-Updated-CSRF-Token`. */
    rotateCsrf: boolean;
    /** How a call without a live session is answered. */
    loggedOut: '401' | 'body';
}

const LOGIN_REQUIRED = { meta: { rc: 'error', msg: 'api.err.LoginRequired' }, data: [] };

/** A JWT-shaped session cookie (not signed for real: the simulator keeps its sessions by value). */
function jwtLike(user: string): string {
    const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ userId: user, jti: randomToken(8), iat: Math.floor(Date.now() / 1000) })}.${randomToken(32)}`;
}

export class UnifiOsSimulator extends DeviceSimulator<UnifiOptions> {
    constructor(options: Partial<UnifiOptions> = {}) {
        super('unifi-os', 'X-CSRF-Token', options, { ...DEVICE_DEFAULTS, rotateCsrf: false, loggedOut: '401' });
    }

    set options(change: Partial<UnifiOptions>) {
        Object.assign(this._options, change);
    }

    serves(pathname: string): boolean {
        return pathname.startsWith('/api/auth/') || pathname.startsWith('/proxy/network/');
    }

    protected _dispatch(ctx: DeviceExchange): void {
        const route = `${ctx.method} ${ctx.pathname}`;
        if (ctx.pathname === '/proxy/network/redirect') return this._send(ctx, 307, '', { Location: ctx.query.get('to') ?? '/' });
        // The users of the site: read with GET or HEAD, changed with any write method.
        if (ctx.pathname === '/proxy/network/api/s/default/rest/user') return this.isWrite(ctx) ? this.write(ctx) : this.read(ctx);
        switch (route) {
            case 'POST /api/auth/login':
                return this.login(ctx);
            case 'POST /api/auth/logout':
                return this.logout(ctx);
            case 'GET /proxy/network/api/s/default/stat/health':
                return this.read(ctx);
            case 'POST /proxy/network/api/s/default/cmd/devmgr':
                return this.write(ctx);
            default:
                return this._sendJson(ctx, 404, { meta: { rc: 'error', msg: 'api.err.NotFound' }, data: [] });
        }
    }

    private login(ctx: DeviceExchange): void {
        const { user, password } = jsonLogin(ctx);
        if (!this.beginLogin(ctx, user)) return;
        if (!this.rightPassword(user, password)) {
            return this._sendJson(ctx, 401, { code: 'AUTHENTICATION_FAILED_INVALID_CREDENTIALS', message: 'Invalid username or password' });
        }
        const session = this.openSession(user, () => jwtLike(user));
        this._sendJson(
            ctx,
            200,
            { unique_id: 'u-1', username: user, isOwner: true, deviceToken: randomToken(8) },
            { 'Set-Cookie': `TOKEN=${session.id}; path=/; samesite=none; secure; httponly`, 'X-CSRF-Token': session.csrf },
        );
    }

    private sessionOf(ctx: DeviceExchange) {
        const found = /(?:^|;\s*)TOKEN=([^;]*)/.exec(ctx.req.headers.cookie ?? '');
        return this.liveSession(found?.[1]);
    }

    private loggedOut(ctx: DeviceExchange): void {
        this._stats.ended++;
        if (this._options.loggedOut === 'body') return this._sendJson(ctx, 200, LOGIN_REQUIRED);
        return this._sendJson(ctx, 401, { meta: { rc: 'error', msg: 'api.err.LoginRequired' }, data: [] });
    }

    private read(ctx: DeviceExchange): void {
        if (!this.sessionOf(ctx)) return this.loggedOut(ctx);
        this._stats.readsOk++;
        this._sendJson(ctx, 200, { meta: { rc: 'ok' }, data: [{ subsystem: 'wlan', status: 'ok', num_ap: 2 }] });
    }

    private write(ctx: DeviceExchange): void {
        const session = this.sessionOf(ctx);
        if (!session) return this.loggedOut(ctx);
        if (this.csrfOf(ctx) !== session.csrf) {
            this._stats.writesRefused++;
            return this._sendJson(ctx, 403, LOGIN_REQUIRED);
        }
        this._stats.writesOk++;
        const headers = this._options.rotateCsrf ? { 'X-Updated-CSRF-Token': this.newCsrf(session) } : undefined;
        this._sendJson(ctx, 200, { meta: { rc: 'ok' }, data: [] }, headers);
    }

    private logout(ctx: DeviceExchange): void {
        const session = this.sessionOf(ctx);
        if (session && this.csrfOf(ctx) === session.csrf) {
            this.sessions.delete(session.id);
            this._stats.logouts++;
        }
        this._send(ctx, 200, '');
    }
}

if (require.main === module)
    runCli(
        (options) => new UnifiOsSimulator(options),
        (sim) => sim.baseUrl,
    );

/** The shared entry point of every simulator module (example-flow tests, `npm start`). */
export function startForFlows({ host = '127.0.0.1', port = 0 } = {}): Promise<FlowSimulator<UnifiOsSimulator>> {
    return startDevice(new UnifiOsSimulator({ host, port }));
}

/** Port `npm start` uses for this simulator (env UNIFI_OS_PORT overrides). */
export const DEMO_PORT = 8447;

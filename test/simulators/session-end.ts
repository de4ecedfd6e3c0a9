/**
 * Two APIs that say "session ended" without a 401, as users meet them (node-red-contrib-unifi #115,
 * n8n #32423): `signal: 'body'` answers 200 `{"errorCode":"602","message":"Login required"}`;
 * `signal: 'redirect'` answers 302 to `/login?next=…` (and `GET /login` is the login page).
 *
 * - `POST /login` JSON `{username, password}` → 200 `{ok: true}` and cookie `sid`; a wrong password → 401.
 * - `GET /items` (a read) and `POST /items` (a write) with the cookie; without a live one, the signal.
 */
import { runCli } from './loopback-server';
import { DEVICE_DEFAULTS, DeviceSimulator, jsonLogin, type DeviceExchange, type DeviceOptions } from './device-base';

export interface SessionEndOptions extends DeviceOptions {
    signal: 'body' | 'redirect';
}

export class SessionEndSimulator extends DeviceSimulator<SessionEndOptions> {
    constructor(options: Partial<SessionEndOptions> = {}) {
        super('session-end', 'X-CSRF-Token', options, { ...DEVICE_DEFAULTS, signal: 'body' });
    }

    serves(pathname: string): boolean {
        return pathname === '/login' || pathname === '/items';
    }

    protected _dispatch(ctx: DeviceExchange): void {
        switch (`${ctx.method} ${ctx.pathname}`) {
            case 'POST /login':
                return this.login(ctx);
            case 'GET /login':
                return this._send(ctx, 200, '<form method="post" action="/login"></form>', { 'Content-Type': 'text/html' });
            case 'GET /items':
            case 'POST /items':
                return this.items(ctx);
            default:
                return this._sendJson(ctx, 404, { message: 'Not found' });
        }
    }

    private login(ctx: DeviceExchange): void {
        const { user, password } = jsonLogin(ctx);
        if (!this.beginLogin(ctx, user)) return;
        if (!this.rightPassword(user, password)) return this._sendJson(ctx, 401, { message: 'Wrong password' });
        const session = this.openSession(user);
        this._sendJson(ctx, 200, { ok: true }, { 'Set-Cookie': `sid=${session.id}; Path=/; HttpOnly` });
    }

    private items(ctx: DeviceExchange): void {
        const sid = /(?:^|;\s*)sid=([^;]*)/.exec(ctx.req.headers.cookie ?? '')?.[1];
        if (!this.liveSession(sid)) {
            this._stats.ended++;
            if (this._options.signal === 'redirect') return this._send(ctx, 302, '', { Location: `/login?next=${encodeURIComponent(ctx.pathname)}` });
            return this._sendJson(ctx, 200, { errorCode: '602', message: 'Login required' });
        }
        if (this.isWrite(ctx)) {
            this._stats.writesOk++;
            return this._sendJson(ctx, 201, { created: true });
        }
        this._stats.readsOk++;
        this._sendJson(ctx, 200, { items: [1, 2, 3] });
    }
}

if (require.main === module)
    runCli(
        (options) => new SessionEndSimulator(options),
        (sim) => sim.baseUrl,
    );

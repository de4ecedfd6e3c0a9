/**
 * An SAP Gateway OData service (vendors.md, "SAP Gateway (OData)") at `servicePath`
 * (`/sap/opu/odata/sap/ZDEMO_SRV` by default):
 *
 * - Every request needs HTTP Basic as RFC 7617 has it (`user:password` in UTF-8) or the session
 *   cookie `SAP_SESSIONID_DEV_100`; Basic opens a session (cookies `SAP_SESSIONID_DEV_100` and
 *   `sap-usercontext`). Neither, or a wrong password → 401 with `WWW-Authenticate: Basic`.
 * - A GET with `X-CSRF-Token: Fetch` gets the session's token in the reply header `X-CSRF-Token`.
 * - `GET <service>/` (the service document), `GET|HEAD <service>/Products`, `POST <service>/Products`,
 *   `PUT|PATCH|DELETE <service>/Products('HT-1000')`
 *   (a write: it needs the session's `X-CSRF-Token`; a stale or missing one → 403 with
 *   `X-CSRF-Token: Required`).
 * - `refuseWrites`: every write is refused so (a token that never works).
 */
import { runCli, type FlowSimulator } from './loopback-server';
import { DEVICE_DEFAULTS, DeviceSimulator, startDevice, type DeviceExchange, type DeviceOptions, type DeviceSession } from './device-base';

export interface SapOptions extends DeviceOptions {
    servicePath: string;
    refuseWrites: boolean;
}

const SESSION_COOKIE = 'SAP_SESSIONID_DEV_100';

export class SapGatewaySimulator extends DeviceSimulator<SapOptions> {
    private nextId = 1;

    constructor(options: Partial<SapOptions> = {}) {
        super('sap-gateway', 'X-CSRF-Token', options, { ...DEVICE_DEFAULTS, servicePath: '/sap/opu/odata/sap/ZDEMO_SRV', refuseWrites: false });
    }

    set options(change: Partial<SapOptions>) {
        Object.assign(this._options, change);
    }

    /** The service root URL (the base URL a config node uses). */
    get serviceUrl(): string {
        return this.origin + this._options.servicePath;
    }

    serves(pathname: string): boolean {
        return pathname === this._options.servicePath || pathname.startsWith(`${this._options.servicePath}/`);
    }

    protected _dispatch(ctx: DeviceExchange): void {
        if (!this.serves(ctx.pathname)) return this._send(ctx, 404, 'Not found', { 'Content-Type': 'text/plain' });
        const session = this.authenticate(ctx);
        if (!session) return;
        const headers: Record<string, string | string[]> = { DataServiceVersion: '2.0' };
        if (session.fresh) headers['Set-Cookie'] = [`${SESSION_COOKIE}=${session.id}; path=/; HttpOnly`, 'sap-usercontext=sap-client=100; path=/'];
        const resource = ctx.pathname.slice(this._options.servicePath.length).replace(/^\/$/, '');
        const fetch = ctx.method === 'GET' && /^fetch$/i.test(this.csrfOf(ctx));
        if (fetch) {
            this._stats.csrfFetches++;
            headers['X-CSRF-Token'] = session.csrf;
        }
        if (this.isWrite(ctx) && (this._options.refuseWrites || this.csrfOf(ctx) !== session.csrf)) {
            this._stats.writesRefused++;
            return this.reply(ctx, 403, 'CSRF token validation failed', { ...headers, 'X-CSRF-Token': 'Required', 'Content-Type': 'text/plain' });
        }
        const route = `${ctx.method} ${resource}`;
        if (route === 'GET ') return this.reply(ctx, 200, JSON.stringify({ d: { EntitySets: ['Products'] } }), headers);
        if (route === 'GET /Products' || route === 'HEAD /Products') {
            this._stats.readsOk++;
            return this.reply(ctx, 200, JSON.stringify({ d: { results: [{ ProductID: 'HT-1000', Name: 'Notebook Basic 15' }] } }), headers);
        }
        if (route === 'POST /Products') {
            this._stats.writesOk++;
            return this.reply(ctx, 201, JSON.stringify({ d: { ProductID: `NEW-${this.nextId++}` } }), headers);
        }
        if (this.isWrite(ctx) && resource === "/Products('HT-1000')") {
            this._stats.writesOk++;
            return this.reply(ctx, 204, '', headers);
        }
        return this.reply(ctx, 404, 'Resource not found for segment', { ...headers, 'Content-Type': 'text/plain' });
    }

    private reply(ctx: DeviceExchange, status: number, body: string, headers: Record<string, string | string[]>): void {
        this._send(ctx, status, body, { 'Content-Type': 'application/json', ...headers } as Record<string, string>);
    }

    /** The request's session (by cookie, or a new one by Basic), or undefined once answered 401. */
    private authenticate(ctx: DeviceExchange): (DeviceSession & { fresh: boolean }) | undefined {
        const cookie = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([^;]*)`).exec(ctx.req.headers.cookie ?? '');
        const existing = this.liveSession(cookie?.[1]);
        if (existing) return { ...existing, fresh: false };
        const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(ctx.req.headers.authorization ?? '');
        const challenge = { 'WWW-Authenticate': 'Basic realm="SAP NetWeaver Application Server [DEV/100]"', 'Content-Type': 'text/html' };
        if (!basic) {
            this._stats.ended++;
            this._send(ctx, 401, '<html><body>Logon failed</body></html>', challenge);
            return undefined;
        }
        const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        const user = colon < 0 ? decoded : decoded.slice(0, colon);
        if (!this.beginLogin(ctx, user)) return undefined;
        if (!this.rightPassword(user, colon < 0 ? undefined : decoded.slice(colon + 1))) {
            this._send(ctx, 401, '<html><body>Logon failed</body></html>', challenge);
            return undefined;
        }
        return { ...this.openSession(user), fresh: true };
    }
}

if (require.main === module)
    runCli(
        (options) => new SapGatewaySimulator(options),
        (sim) => sim.serviceUrl,
    );

/** The shared entry point of every simulator module (example-flow tests, `npm start`). */
export function startForFlows({ host = '127.0.0.1', port = 0 } = {}): Promise<FlowSimulator<SapGatewaySimulator>> {
    return startDevice(new SapGatewaySimulator({ host, port }), (started) => started.serviceUrl);
}

/** Port `npm start` uses for this simulator (env SAP_GATEWAY_PORT overrides). */
export const DEMO_PORT = 8449;

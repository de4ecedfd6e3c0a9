/**
 * A Proxmox VE host (vendors.md, "Proxmox VE"):
 *
 * - `POST /api2/json/access/ticket` form `username=root@pam&password=…` → `{"data":{"ticket":"PVE:…",
 *   "CSRFPreventionToken":"…","username":"root@pam"}}`; a live ticket posted as the password gives a
 *   new ticket; a wrong password → 401 `{"data":null}`.
 * - The ticket goes as cookie `PVEAuthCookie` (raw or URL-encoded); writes also need the header
 *   `CSRFPreventionToken`. A ticket lives `sessionTtlMs` (2 hours by default).
 * - `GET /api2/json/nodes` (a read), `POST /api2/json/nodes/pve1/qemu/100/status/start` (a write).
 * - A missing or expired ticket, and a write without the right CSRF token, answer 401.
 */
import { runCli, type FlowSimulator } from './loopback-server';
import { DEVICE_DEFAULTS, DeviceSimulator, startDevice, randomToken, type DeviceExchange } from './device-base';

const TWO_HOURS_MS = 2 * 3600_000;

export class ProxmoxSimulator extends DeviceSimulator {
    constructor(options: Partial<typeof DEVICE_DEFAULTS> = {}) {
        super('proxmox', 'CSRFPreventionToken', options, { ...DEVICE_DEFAULTS, username: 'root@pam', sessionTtlMs: TWO_HOURS_MS });
    }

    serves(pathname: string): boolean {
        return pathname.startsWith('/api2/json/');
    }

    protected _dispatch(ctx: DeviceExchange): void {
        switch (`${ctx.method} ${ctx.pathname}`) {
            case 'POST /api2/json/access/ticket':
                return this.ticket(ctx);
            case 'GET /api2/json/nodes':
                return this.read(ctx);
            case 'POST /api2/json/nodes/pve1/qemu/100/status/start':
                return this.write(ctx);
            default:
                return this._sendJson(ctx, 501, { data: null, message: `Method '${ctx.method} ${ctx.pathname}' not implemented` });
        }
    }

    private ticket(ctx: DeviceExchange): void {
        const form = new URLSearchParams(ctx.body.toString('utf8'));
        const user = form.get('username') ?? '';
        if (!this.beginLogin(ctx, user)) return;
        const renewing = this.liveSession(form.get('password') ?? undefined)?.user === user;
        if (!renewing && !this.rightPassword(user, form.get('password'))) return this._sendJson(ctx, 401, { data: null });
        const session = this.openSession(
            user,
            () =>
                `PVE:${user}:${Math.floor(Date.now() / 1000)
                    .toString(16)
                    .toUpperCase()}::${randomToken(64)}`,
        );
        this._sendJson(ctx, 200, { data: { ticket: session.id, CSRFPreventionToken: session.csrf, username: user, cap: { vms: { 'VM.PowerMgmt': 1 } } } });
    }

    private sessionOf(ctx: DeviceExchange) {
        const found = /(?:^|;\s*)PVEAuthCookie=([^;]*)/.exec(ctx.req.headers.cookie ?? '');
        if (!found) return undefined;
        return this.liveSession(found[1]) ?? this.liveSession(safeDecode(found[1]));
    }

    private refused(ctx: DeviceExchange, why: string): void {
        this._send(ctx, 401, JSON.stringify({ data: null }), { 'Content-Type': 'application/json;charset=UTF-8', 'X-Reason': why });
    }

    private read(ctx: DeviceExchange): void {
        if (!this.sessionOf(ctx)) {
            this._stats.ended++;
            return this.refused(ctx, 'No ticket');
        }
        this._stats.readsOk++;
        this._sendJson(ctx, 200, { data: [{ node: 'pve1', status: 'online', cpu: 0.03 }] });
    }

    private write(ctx: DeviceExchange): void {
        const session = this.sessionOf(ctx);
        if (!session) {
            this._stats.ended++;
            return this.refused(ctx, 'No ticket');
        }
        if (this.csrfOf(ctx) !== session.csrf) {
            this._stats.writesRefused++;
            return this.refused(ctx, 'Permission check failed (invalid csrf token)');
        }
        this._stats.writesOk++;
        this._sendJson(ctx, 200, { data: `UPID:pve1:000A1B2C:0123ABCD:${Math.floor(Date.now() / 1000).toString(16)}:qmstart:100:${session.user}:` });
    }
}

function safeDecode(value: string): string {
    try {
        return decodeURIComponent(value);
    } catch {
        return value;
    }
}

if (require.main === module)
    runCli(
        (options) => new ProxmoxSimulator(options),
        (sim) => sim.baseUrl,
    );

/** The shared entry point of every simulator module (example-flow tests, `npm start`). */
export function startForFlows({ host = '127.0.0.1', port = 0 } = {}): Promise<FlowSimulator<ProxmoxSimulator>> {
    return startDevice(new ProxmoxSimulator({ host, port }));
}

/** Port `npm start` uses for this simulator (env PROXMOX_PORT overrides). */
export const DEMO_PORT = 8448;

/**
 * The CSRF token's invariants, proven model-based: random sequences of reads and writes (every
 * method, bursts), stale tokens, ended sessions, renewing replies and redirects to another origin,
 * against the UniFi OS (a token from the login, renewed by a reply header) and SAP Gateway (a fetched
 * token) simulators in a real Node-RED runtime, with a fake Date (so the 30-second re-login brake never
 * decides). After every step, from the simulators' own request logs: the token went on every write
 * and on no read, never to the other origin; no msg was sent more than twice (one replay); logins and
 * fetches only as many as the server's events called for; every msg got exactly one 2xx answer.
 */
import assert from 'node:assert';

import fc from 'fast-check';
import sinon from 'sinon';

import { vendorAdapter } from '../../src/lib/vendors';
import type { DeviceSimulator } from '../simulators/device-base';
import { SapGatewaySimulator } from '../simulators/sap-gateway';
import { UnifiOsSimulator } from '../simulators/unifi-os';
import { RecordingServer } from '../support/recording-server';
import { type Msg, helper, load, settle, standardFlow } from '../support/harness';

const RUNS = Number(process.env.CSRF_MODEL_RUNS) || 25;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
type Method = (typeof METHODS)[number];
const WRITES = new Set<string>(['POST', 'PUT', 'PATCH', 'DELETE']);

type Step = { kind: 'request'; method: Method; burst: number } | { kind: 'stale' } | { kind: 'expire' } | { kind: 'away' };

interface Model {
    device: 'unifiOs' | 'sapGateway';
    /** UniFi: every write's reply renews the token (writes then go one at a time: a burst would race its own renewals). */
    rotate: boolean;
    steps: Step[];
}

const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('request' as const), method: fc.constantFrom(...METHODS), burst: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 2, arbitrary: fc.constant<Step>({ kind: 'stale' }) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'expire' }) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'away' }) },
);
const models: fc.Arbitrary<Model> = fc
    .record({ device: fc.constantFrom('unifiOs' as const, 'sapGateway' as const), rotate: fc.boolean(), steps: fc.array(step, { minLength: 1, maxLength: 8 }) })
    .map((model) => {
        const rotate = model.device === 'unifiOs' && model.rotate;
        return { ...model, rotate, steps: model.steps.map((s) => (rotate && s.kind === 'request' ? { ...s, burst: 1 } : s)) };
    });

/** Where each method goes on each device. */
function urlFor(device: Model['device'], method: Method): string {
    if (device === 'unifiOs') return '/proxy/network/api/s/default/rest/user';
    if (method === 'POST' || !WRITES.has(method)) return '/Products';
    return "/Products('HT-1000')";
}

describe('CSRF token: model-based proof against the UniFi OS and SAP Gateway simulators', function () {
    this.timeout(0);
    let clock: sinon.SinonFakeTimers | undefined;

    before(() => helper.startServer());
    after(() => helper.stopServer());
    afterEach(() => clock?.restore());

    async function run(model: Model): Promise<void> {
        const sim: DeviceSimulator = model.device === 'unifiOs' ? new UnifiOsSimulator({ rotateCsrf: model.rotate }) : new SapGatewaySimulator();
        const away = new RecordingServer(() => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' }));
        await sim.start();
        await away.start();
        clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
        try {
            const base = model.device === 'unifiOs' ? sim.baseUrl : (sim as SapGatewaySimulator).serviceUrl;
            const flow = standardFlow(base, {
                server: { vendor: 'custom', ...vendorAdapter('custom').presets?.[model.device], logoutOnClose: false },
                request: { method: 'use', url: '', ret: 'txt' },
            });
            const rec = await load(flow, { server: sim.user });
            const methodOf = new Map<string, string>();
            let sent = 0;
            let events = 0;
            let stales = 0;
            const send = (method: Method, url: string): void => {
                const id = `m${++sent}`;
                methodOf.set(id, method);
                helper.getNode('r1').receive({ method, url, headers: { 'X-Test-Msg': id }, payload: WRITES.has(method) ? '{"x":1}' : undefined });
            };
            for (const s of model.steps) {
                clock.tick(31_000);
                if (s.kind === 'request') for (let i = 0; i < s.burst; i++) send(s.method, urlFor(model.device, s.method));
                else if (s.kind === 'away' && model.device === 'unifiOs')
                    send('POST', `/proxy/network/redirect?to=${encodeURIComponent(`${away.origin}/elsewhere`)}`);
                else if (s.kind === 'away') send('GET', '/Products');
                else if (s.kind === 'stale') {
                    sim.staleCsrf();
                    stales++;
                    events++;
                } else {
                    sim.expireAll();
                    events++;
                }
                await settle(rec, sent);

                // Every msg got exactly one 2xx answer.
                assert.deepStrictEqual(
                    rec.caught.messages.map((m: Msg) => `${m.errorCode}: ${m.error?.message}`),
                    [],
                );
                assert.strictEqual(rec.out.messages.length, sent);
                assert.ok(
                    rec.out.messages.every((m: Msg) => m.statusCode >= 200 && m.statusCode < 300),
                    JSON.stringify(rec.out.messages.map((m: Msg) => m.statusCode)),
                );
                // The token on every write and on no read; a write's token is one the server handed out.
                const issued = new Set(sim.issued());
                const perMsg = new Map<string, number>();
                for (const record of sim.stats.requests) {
                    if (record.msg) perMsg.set(record.msg, (perMsg.get(record.msg) ?? 0) + 1);
                    // A write (a replaced session's logout too) carries it; a login has none to carry yet.
                    if (WRITES.has(record.method) && record.path !== '/api/auth/login')
                        assert.ok(issued.has(record.csrf), `${record.method} ${record.path} without the token`);
                    // A read, a login or the fetch (asking for the token).
                    else assert.ok(record.csrf === '' || (record.csrf === 'Fetch' && !record.msg), `${record.method} ${record.path} carried "${record.csrf}"`);
                }
                // At most one replay per msg.
                for (const [id, count] of perMsg) assert.ok(count <= 2, `${methodOf.get(id)} ${id} sent ${count} times`);
                // Logins and fetches only as the server's events call for them.
                assert.ok(sim.stats.loginsOk <= 1 + events, `${sim.stats.loginsOk} logins for ${events} events`);
                if (model.device === 'sapGateway') assert.ok(sim.stats.csrfFetches <= sim.stats.loginsOk + stales, `${sim.stats.csrfFetches} fetches`);
                // Never to the other origin.
                for (const request of away.received) {
                    assert.strictEqual(request.headers['x-csrf-token'], undefined);
                    assert.strictEqual(request.headers.cookie, undefined);
                }
            }
        } finally {
            clock.restore();
            clock = undefined;
            await helper.unload();
            await sim.stop();
            await away.stop();
        }
    }

    /** Shrunk counterexamples found while writing the model (the login, and a replaced session's logout, are writes too). */
    const REGRESSIONS: Model[] = [
        { device: 'unifiOs', rotate: false, steps: [{ kind: 'request', method: 'GET', burst: 1 }] },
        {
            device: 'unifiOs',
            rotate: false,
            steps: [{ kind: 'request', method: 'GET', burst: 1 }, { kind: 'stale' }, { kind: 'request', method: 'PUT', burst: 1 }],
        },
    ];
    for (const [index, model] of REGRESSIONS.entries()) it(`holds for counterexample ${index + 1}`, () => run(model));

    it(`holds for ${RUNS} random sequences`, async function () {
        await fc.assert(
            fc.asyncProperty(models, (model) => run(model)),
            { numRuns: RUNS },
        );
    });
});

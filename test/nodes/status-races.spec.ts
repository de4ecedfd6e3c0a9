/**
 * Login, request and logout msgs sent back to back, in any order and repeated, against each
 * vendor's simulator (logins held a while, as CM-Well does): once every msg is answered no node is
 * left at "logging in" or "requesting", the login and logout nodes show the session's state, and
 * the server holds a session exactly when the node says it is logged in. The same for the live
 * updates node, whose socket rides the session.
 */
import assert from 'node:assert';

import fc from 'fast-check';

import { CmWellSimulator } from '../simulators/cmwell';
import { CommvaultSimulator } from '../simulators/commvault';
import { SdmSimulator } from '../simulators/sdm';
import { SmartServerSimulator } from '../simulators/smartserver';
import { helper, standardFlow, load, answeredOnce, type FlowNode, type Msg, type Recorders } from '../support/harness';
import { quietPeriod, waitFor } from '../support/wait';

const RUNS = Number(process.env.STATUS_RACE_RUNS || 6);
/** Each login is answered this much later: long enough for the other msgs to arrive meanwhile. */
const LOGIN_HOLD_MS = 150;
const VOLTS = '17q2d9x/lon/5/block/1/Volts_1';

type Step = 'l1' | 'r1' | 'o1';

interface Vendor {
    name: string;
    create: () => { start(): Promise<unknown>; stop(): Promise<unknown>; liveSessions?: () => number };
    flow: (sim: any) => FlowNode[];
    user: { username: string; password: string };
}

const VENDORS: Vendor[] = [
    {
        name: 'SmartServer',
        create: () => new SmartServerSimulator({ tls: false, loginDelayMs: LOGIN_HOLD_MS }),
        flow: (sim) => standardFlow(sim.baseUrl('cms')),
        user: { username: 'admin', password: 'Passw0rd!Passw0rd' },
    },
    {
        name: 'CM-Well',
        create: () => new CmWellSimulator({ penaltyMs: LOGIN_HOLD_MS }),
        flow: (sim) =>
            standardFlow(sim.origin, {
                server: { vendor: 'cmwell', authScheme: 'basic', tokenLifetime: '' },
                request: { url: '/example.org/Individuals/JohnSmith' },
            }),
        user: { username: 'root', password: 'root' },
    },
    {
        name: 'Oracle SDM',
        create: () => new SdmSimulator({ loginDelayMs: LOGIN_HOLD_MS }),
        flow: (sim) =>
            standardFlow(sim.baseUrl, {
                server: { vendor: 'sdm', apiVersion: 'v1.3', format: 'json' },
                request: { url: '/rest/v1.3/inventory/deviceMgmt/devices' },
            }),
        user: { username: 'admin', password: 'passphrase' },
    },
    {
        name: 'Commvault',
        create: () => new CommvaultSimulator({ loginDelayMs: LOGIN_HOLD_MS }),
        flow: (sim) => standardFlow(sim.baseUrl, { server: { vendor: 'commvault' }, request: { url: '/Client' } }),
        user: { username: 'cvuser01', password: 'Password#123!' },
    },
];

/** The last status each node showed, as "fill/shape/text" (the text without its catalog prefix). */
function lastStatuses(rec: Recorders): Record<string, string> {
    const last: Record<string, string> = {};
    for (const m of rec.statuses.messages as Msg[]) {
        const { fill, shape, text } = m.status;
        last[m.status.source.id] = fill ? `${fill}/${shape}/${String(text).replace(/^.*\.status\./, '')}` : '';
    }
    return last;
}

/** What a node viewing a session in `state` shows. */
function expectedStatus(state: string, user: string): string | undefined {
    if (state === 'loggedIn') return `green/dot/${user}`;
    if (state === 'loggedOut') return 'grey/ring/loggedOut';
    if (state === 'idle') return '';
    return undefined; // failed: the status names the error
}

for (const vendor of VENDORS) {
    describe(`${vendor.name}: login, request and logout msgs back to back leave true statuses`, function () {
        before(() => helper.startServer());
        after(() => helper.stopServer());

        /** One sequence on a fresh simulator and flow (a property runs many in one test). */
        async function run(steps: Step[]): Promise<void> {
            const sim = vendor.create();
            await sim.start();
            try {
                await check(sim, steps);
            } finally {
                await helper.unload();
                await sim.stop();
            }
        }

        async function check(sim: ReturnType<Vendor['create']>, steps: Step[]): Promise<void> {
            const rec = await load(vendor.flow(sim), { server: vendor.user });
            for (const id of steps) helper.getNode(id).receive({ topic: id });
            await answeredOnce(rec, steps.length);
            const session = (helper.getNode('server') as any).sessionManager().ownSession();
            const expected = expectedStatus(session.state, vendor.user.username);
            // A status event follows its state change at once: wait until every node caught up, or say which did not.
            await waitFor(
                () => {
                    const last = lastStatuses(rec);
                    return (
                        Object.values(last).every((s) => !/loggingIn|requesting/.test(s)) &&
                        (expected === undefined || ['l1', 'o1'].every((id) => (last[id] ?? '') === expected))
                    );
                },
                { timeoutMs: 5000, message: () => `${steps}: statuses ${JSON.stringify(lastStatuses(rec))} for a session ${session.state}` },
            );
            await quietPeriod(LOGIN_HOLD_MS * 2);
            const last = lastStatuses(rec);
            assert.ok(
                Object.values(last).every((s) => !/loggingIn|requesting/.test(s)),
                `${steps}: ${JSON.stringify(last)}`,
            );
            assert.notStrictEqual(session.state, 'loggingIn', `${steps}: the session is still logging in`);
            if (sim.liveSessions) {
                assert.strictEqual(
                    sim.liveSessions(),
                    session.state === 'loggedIn' ? 1 : 0,
                    `${steps}: the server's live sessions for a session ${session.state}`,
                );
            }
        }

        const steps = fc.array(fc.constantFrom<Step>('l1', 'r1', 'o1'), { minLength: 1, maxLength: 7 });

        for (const order of [
            ['l1', 'r1', 'o1'],
            ['l1', 'o1', 'r1'],
            ['r1', 'o1', 'l1'],
            ['o1', 'l1', 'r1'],
            ['l1', 'r1', 'o1', 'l1', 'r1', 'o1'],
        ] as Step[][]) {
            it(`${order.join(', ')}`, () => run(order));
        }

        it(`holds for ${RUNS} random sequences`, async function () {
            this.timeout(RUNS * 10000);
            await fc.assert(
                fc.asyncProperty(steps, (s) => run(s)),
                { numRuns: RUNS },
            );
        });
    });
}

describe('SmartServer with a live updates node: login, request and logout msgs back to back', function () {
    before(() => helper.startServer());
    after(() => helper.stopServer());

    /** One sequence: once answered, the socket comes back on a live session and every status says so. */
    async function run(steps: Step[]): Promise<void> {
        const sim = new SmartServerSimulator({ tls: false, loginDelayMs: LOGIN_HOLD_MS });
        await sim.start();
        try {
            const updates = { id: 'u1', type: 'rest-session-updates', server: 'server', datapoints: VOLTS, events: 'datapoints', initial: true, wires: [[]] };
            const rec = await load(standardFlow(sim.baseUrl('cms'), { extra: [{ z: 'tab', ...updates }] }));
            for (const id of steps) helper.getNode(id).receive({ topic: id });
            await answeredOnce(rec, steps.length);
            const session = (helper.getNode('server') as any).sessionManager().ownSession();
            // A logout ends the socket's session: it logs in again on its own (after its backoff) and goes live.
            await waitFor(
                () => {
                    const last = lastStatuses(rec);
                    return (
                        last.u1 === 'green/dot/live' &&
                        session.state === 'loggedIn' &&
                        ['l1', 'o1'].every((id) => [undefined, `green/dot/admin`].includes(last[id]))
                    );
                },
                { timeoutMs: 15000, message: () => `${steps}: statuses ${JSON.stringify(lastStatuses(rec))} for a session ${session.state}` },
            );
            await waitFor(() => sim.ws.connectionCount('admin') === 1 && sim.liveSessions() === 1, {
                timeoutMs: 5000,
                message: () => `${steps}: one socket on one live session (${sim.ws.connectionCount('admin')} sockets, ${sim.liveSessions()} sessions)`,
            });
        } finally {
            await helper.unload();
            await sim.stop();
        }
    }

    for (const order of [
        ['l1', 'r1', 'o1'],
        ['o1', 'l1', 'r1'],
        ['l1', 'r1', 'o1', 'l1', 'r1', 'o1'],
    ] as Step[][]) {
        it(`${order.join(', ')}`, async function () {
            this.timeout(30000);
            await run(order);
        });
    }
});

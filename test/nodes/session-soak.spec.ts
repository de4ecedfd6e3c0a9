/**
 * The session under sustained load (README "Guarantees under load"): SOAK_MSGS msgs (default
 * 10 000; `npm run test:soak` runs 100 000) at concurrency 32 through one authorized request node,
 * against a SmartServer simulator whose session ends after every 1 000 requests. The server's own
 * counts are the evidence: every msg answered 200, logins = sessions it ended and a request then
 * found ended + 1, no connection left open after the close; with `--expose-gc` (the soak script),
 * a heap that stays flat.
 */
import assert from 'node:assert';

import { SmartServerSimulator } from '../simulators/smartserver';
import { ADMIN, ALL_NODES, FlowNode, Msg, helper, standardFlow } from '../support/harness';
import { waitFor } from '../support/wait';

const TOTAL = Number(process.env.SOAK_MSGS) || 10_000;
const CONCURRENCY = 32;
const REQUESTS_PER_SESSION = 1000;
/** Growth of the heap in use from the first tenth of the run to its end that still counts as flat. */
const FLAT_HEAP_BYTES = 24 * 1024 * 1024;

interface Spied {
    resetHistory(): void;
}

/** The test helper spies on every node's send/status/log: forget those calls, or the spies are the leak. */
function forgetSpiedCalls(): void {
    const node = helper.getNode('r1') as unknown as Record<string, Spied | undefined>;
    for (const method of ['send', 'status', 'log', 'warn', 'error', 'debug', 'trace']) node[method]?.resetHistory?.();
    (helper.log() as unknown as Spied | undefined)?.resetHistory();
}

function heapUsed(): number | undefined {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) return undefined;
    gc();
    return process.memoryUsage().heapUsed;
}

describe(`the session under sustained load: ${TOTAL} msgs at concurrency ${CONCURRENCY}, the session ending every ${REQUESTS_PER_SESSION} requests`, function () {
    this.timeout(Math.max(120_000, TOTAL * 20));
    let sim: SmartServerSimulator | undefined;

    before(async () => helper.startServer());
    after(async () => helper.stopServer());
    afterEach(async () => {
        await helper.unload();
        await sim?.stop();
    });

    it('answers every msg with 200; logins = expiries + 1; heap flat; no socket left after close', async function () {
        const server = (sim = await new SmartServerSimulator({ sessionRequestLimit: REQUESTS_PER_SESSION }).start());
        const flow: FlowNode[] = standardFlow(server.baseUrl('cms'));
        await helper.load(ALL_NODES, flow, { server: ADMIN });
        const statuses = new Map<string, number>();
        let answered = 0;
        let sent = 0;
        let heapAtStart: number | undefined;
        // The simulator logs every request (headers included) in this process: fold its log into the
        // counts the test needs as the run goes, so the heap measures the node, not the test's server.
        const endedSessions = new Set<string>();
        let refusedByOurLogout = 0;
        const foldServerLog = (): void => {
            for (const r of server.stats.requests) {
                if (r.refusal === 'limit') endedSessions.add(r.cookie);
                if (r.refusal === 'loggedOut') refusedByOurLogout++;
            }
            server.stats.requests.length = 0;
        };
        const r1 = helper.getNode('r1');
        const next = (): void => {
            if (sent < TOTAL) r1.receive({ seq: sent++ });
        };
        const count = (key: string): void => {
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
            answered++;
            if (answered % 1000 === 0) {
                forgetSpiedCalls();
                foldServerLog();
            }
            if (answered === Math.floor(TOTAL / 10)) heapAtStart = heapUsed();
            next();
        };
        helper.getNode('out').on('input', (msg: Msg) => count(String(msg.statusCode)));
        helper.getNode('caught').on('input', (msg: Msg) => count(String(msg.errorCode)));
        for (let i = 0; i < CONCURRENCY; i++) next();
        await waitFor(() => answered >= TOTAL, {
            timeoutMs: this.timeout() - 10_000,
            intervalMs: 50,
            message: () => `${TOTAL} answers (now ${answered}: ${JSON.stringify([...statuses])})`,
        });
        forgetSpiedCalls();
        foldServerLog();
        const heapAtEnd = heapUsed();

        assert.deepStrictEqual([...statuses], [['200', TOTAL]], 'every msg got a 200');
        const expiries = endedSessions.size;
        assert.strictEqual(expiries, Math.ceil(TOTAL / REQUESTS_PER_SESSION) - 1, 'each session ended after its 1000 requests');
        assert.strictEqual(server.stats.loginAttempts, expiries + 1, 'logins = expiries + 1');
        assert.strictEqual(refusedByOurLogout, 0, 'no request refused by our own logout');
        if (heapAtStart !== undefined && heapAtEnd !== undefined) {
            assert.ok(heapAtEnd - heapAtStart < FLAT_HEAP_BYTES, `heap grew by ${Math.round((heapAtEnd - heapAtStart) / 1024)} KB`);
        }
        await helper.unload();
        await waitFor(() => server.openConnections === 0, { message: 'no connection left open after the close' });
    });
});

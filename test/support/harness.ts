/**
 * Shared set-up for node tests: a real Node-RED runtime (node-red-node-test-helper) with our four
 * nodes and the core tls-config node, flows built against a simulator, and recorders that collect
 * what reaches helper nodes, Catch nodes, Status nodes and the log.
 *
 * The nodes come from the compiled `nodes/*.js` (run `npm run build` first), not from `src/`: that is
 * what Node-RED loads from the published package, so these tests cover the shipped files.
 */
import path from 'node:path';

import { type SimulatorFixture, type Startable, simulatorFixture } from './simulator-fixture';
import { waitFor, quietPeriod } from './wait';

/** A msg as tests read it: any property, any depth. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = Record<string, any>;
/** A flow node definition as the test helper loads it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FlowNode = Record<string, any>;

/** What the tests use of a node the helper created. */
export interface TestNode {
    id: string;
    receive(msg: Msg): void;
    // Listeners of the helper's spy events ('call:warn', ...) get sinon calls: any.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    on(event: string, listener: (...args: any[]) => void): void;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    once(event: string, listener: (...args: any[]) => void): void;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    removeListener(event: string, listener: (...args: any[]) => void): void;
}

/** The part of node-red-node-test-helper the tests use (the package has no types). */
export interface TestHelper {
    init(nodeRedRuntime: string, userSettings?: Record<string, unknown>): void;
    load(nodes: unknown[], flow: FlowNode[], credentials?: Record<string, unknown>): Promise<void>;
    unload(): Promise<void>;
    setFlows(flow: FlowNode[], type?: string, credentials?: Record<string, unknown>): Promise<void>;
    getNode(id: string): TestNode;
    settings(settings: Record<string, unknown>): void;
    startServer(done?: () => void): Promise<void>;
    stopServer(done?: () => void): Promise<void>;
    log(): { args: unknown[][] } | undefined;
    url(): string;
    /** A supertest agent on the admin API. */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    request(): any;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper') as TestHelper;

// NODE_RED_PREFIX=<dir>: run against the Node-RED installed there (`npm install --prefix <dir> node-red@5`)
// instead of the dev dependency; test/compat/run uses it for the version matrix.
const NODE_RED_FROM = process.env.NODE_RED_PREFIX ? { paths: [path.resolve(process.env.NODE_RED_PREFIX)] } : undefined;
helper.init(require.resolve('node-red', NODE_RED_FROM));

const ROOT = path.join(__dirname, '..', '..');
export const CA_FILE = path.join(ROOT, 'test', 'fixtures', 'tls', 'ca.crt');
export const NODES_DIR = path.dirname(
    require.resolve('@node-red/nodes/package.json', { paths: [path.dirname(require.resolve('node-red/package.json', NODE_RED_FROM))] }),
);

/** A node module as Node-RED loads it (`module.exports = function (RED) { ... }`). */
export type NodeModule = (...args: unknown[]) => unknown;

const load_ = (file: string): NodeModule => require(file) as NodeModule; // eslint-disable-line @typescript-eslint/no-require-imports
const ourNodes = ['server', 'login', 'request', 'logout', 'updates', 'store'].map((name) => load_(path.join(ROOT, 'nodes', `rest-session-${name}.js`)));
const tlsConfigNode = load_(path.join(NODES_DIR, 'core', 'network', '05-tls.js'));
export const ALL_NODES: NodeModule[] = [...ourNodes, tlsConfigNode];

/** Loads one of Node-RED's core nodes, e.g. `coreNode('network', '21-httprequest.js')`. */
export function coreNode(...file: string[]): NodeModule {
    return load_(path.join(NODES_DIR, 'core', ...file));
}

export const ADMIN = { username: 'admin', password: 'Passw0rd!Passw0rd' };

/** A core tls-config node that trusts the test CA (verification on). */
export function tlsNode(overrides: FlowNode = {}): FlowNode {
    return {
        id: 'tls',
        type: 'tls-config',
        cert: '',
        key: '',
        ca: CA_FILE,
        certname: '',
        keyname: '',
        caname: '',
        servername: '',
        verifyservercert: true,
        ...overrides,
    };
}

export function serverNode(baseUrl: string, overrides: FlowNode = {}): FlowNode {
    return {
        id: 'server',
        type: 'rest-session-server',
        name: '',
        vendor: 'smartserver',
        baseUrl,
        tls: 'tls',
        requestTimeout: 5000,
        logoutOnClose: true,
        exposeCredential: false,
        ...overrides,
    };
}

/**
 * inject-less flow: login (l1), request (r1), logout (o1) all wired to `out`; a Catch node to
 * `caught`; a Status node to `statuses`. Extra nodes may be appended.
 */
export function standardFlow(
    baseUrl: string,
    { server = {}, request = {}, extra = [] }: { server?: FlowNode; request?: FlowNode; extra?: FlowNode[] } = {},
): FlowNode[] {
    const inTab = (node: FlowNode): FlowNode => ({ z: 'tab', ...node });
    return [
        { id: 'tab', type: 'tab', label: 'test' },
        tlsNode(),
        serverNode(baseUrl, server),
        ...[
            { id: 'l1', type: 'rest-session-login', server: 'server', wires: [['out']] },
            {
                id: 'r1',
                type: 'rest-session-request',
                server: 'server',
                method: 'GET',
                url: '/iap/devs',
                ret: 'obj',
                paytoqs: 'ignore',
                ...request,
                wires: [['out']],
            },
            { id: 'o1', type: 'rest-session-logout', server: 'server', wires: [['out']] },
            { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
            { id: 'watcher', type: 'status', scope: null, wires: [['statuses']] },
            { id: 'out', type: 'helper' },
            { id: 'caught', type: 'helper' },
            { id: 'statuses', type: 'helper' },
            ...extra,
        ].map(inTab),
    ];
}

/** Collects every msg a helper node receives; `waitFor(n)` waits until n msgs (in all) arrived. */
export class Recorder {
    readonly messages: Msg[] = [];
    private waiters: (() => boolean)[] = [];
    readonly node: TestNode;

    constructor(nodeId: string) {
        this.node = helper.getNode(nodeId);
        this.node.on('input', (msg: Msg) => {
            this.messages.push(msg);
            this.waiters = this.waiters.filter((waiter) => !waiter());
        });
    }

    /** Resolves with the first `count` messages once that many have arrived. */
    waitFor(count: number, timeoutMs = 10000): Promise<Msg[]> {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`timed out waiting for ${count} msgs at ${this.node.id}; got ${this.messages.length}`)), timeoutMs);
            const check = (): boolean => {
                if (this.messages.length < count) return false;
                clearTimeout(timer);
                resolve(this.messages.slice(0, count));
                return true;
            };
            if (!check()) this.waiters.push(check);
        });
    }
}

export interface Recorders {
    out: Recorder;
    caught: Recorder;
    statuses: Recorder;
}

/** Where answers arrive: the output and the Catch node. */
export type Answers = Pick<Recorders, 'out' | 'caught'>;

export function recorders(): Recorders {
    return { out: new Recorder('out'), caught: new Recorder('caught'), statuses: new Recorder('statuses') };
}

export async function load(flow: FlowNode[], credentials: Record<string, unknown> = { server: ADMIN }): Promise<Recorders> {
    await helper.load(ALL_NODES, flow, credentials);
    return recorders();
}

/** Waits until `total` msgs have come out at `out` plus `caught` together. */
export async function settle(rec: Answers, total: number, timeoutMs = 10000): Promise<void> {
    await waitFor(() => rec.out.messages.length + rec.caught.messages.length >= total, {
        timeoutMs,
        message: () => `${total} answers (now ${rec.out.messages.length} out + ${rec.caught.messages.length} caught)`,
    });
}

/** How long `answeredOnce` watches for a second answer to any msg. */
const SECOND_ANSWER_WATCH_MS = 30;

/**
 * Waits until `total` msgs were answered (output or Catch), then watches a little longer and checks
 * that no msg was answered twice: every input yields exactly one output or one Catch.
 */
export async function answeredOnce<R extends Answers>(rec: R, total: number): Promise<R> {
    await settle(rec, total);
    await quietPeriod(SECOND_ANSWER_WATCH_MS);
    const answered = rec.out.messages.length + rec.caught.messages.length;
    if (answered !== total) throw new Error(`expected exactly ${total} answers, got ${answered}`);
    return rec;
}

/** Real-time pause; prefer waitFor. Kept for the tests that show something does not happen. */
export const delay = quietPeriod;

/** Every log line of this test so far, as text. */
export function logText(): string {
    const spy = helper.log();
    return spy ? spy.args.map((args) => JSON.stringify(args)).join('\n') : '';
}

/**
 * A vendor spec's set-up: the Node-RED runtime for the calling `describe`, and per test a
 * simulator and a fake clock (see simulatorFixture); the flow is unloaded before the simulator stops.
 */
export function nodeRedWithSimulator<C extends (options?: any) => Startable>(create: C): SimulatorFixture<ReturnType<C>, Parameters<C>[0]> {
    before(() => helper.startServer());
    after(() => helper.stopServer());
    return simulatorFixture(create, () => helper.unload());
}

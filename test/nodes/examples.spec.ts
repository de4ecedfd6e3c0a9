/**
 * Every flow in examples/ is loaded into a real runtime, pointed at its vendor's simulator, and run:
 * what a user gets from Import > Examples must work as shipped. An example with a session store
 * gets a real redis-server (test/support/redis-server.ts), named by its environment variable.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';

import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';
import { helper, NODES_DIR, ALL_NODES, CA_FILE, Recorder, type FlowNode } from '../support/harness';

const EXAMPLES_DIR = path.join(__dirname, '..', '..', 'examples');
const coreNodes = ['common/20-inject.js', 'common/90-comment.js', 'function/10-switch.js', 'function/15-change.js'].map((file) =>
    require(path.join(NODES_DIR, 'core', file)),
);

// The examples' environment variables (scripts/example-env.js is plain CommonJS, like the demo).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const exampleEnv = require('../../scripts/example-env.js') as {
    simulatorOf(server: FlowNode): string;
    simulatorEnv(simulator: string, started: unknown, caFile: string): Record<string, string>;
    needsStore(nodes: FlowNode[]): boolean;
    storeEnv(redisUrl: string): Record<string, string>;
};

/** Each simulator module (test/simulators/<name>.ts) starts one for the example flows. */
function simulatorFor(name: string) {
    return require(path.join(__dirname, '..', 'simulators', `${name}.ts`));
}

/** Sets `vars` in process.env; returns what puts the old values back. */
function setEnv(vars: Record<string, string>): () => void {
    const old = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
    Object.assign(process.env, vars);
    return () => {
        for (const [name, value] of Object.entries(old)) {
            if (value === undefined) delete process.env[name];
            else process.env[name] = value;
        }
    };
}

/** An example names its server, user, password and CA only by `${NAME}` references. */
const ENV_REFERENCE = /^\$\{[A-Z][A-Z0-9_]*\}$/;

/** FlowFuse Dashboard 2 is not installed here: its config nodes go, its widgets become helper nodes. */
function withoutDashboard(flow: any) {
    const widgets = flow.filter((n: any) => n.type.startsWith('ui-') && n.z).map((n: any) => n.id);
    const nodes = flow.filter((n: any) => !n.type.startsWith('ui-') || n.z);
    for (const node of nodes) if (widgets.includes(node.id)) Object.assign(node, { type: 'helper' });
    return { nodes, widgets };
}

/** Ids of every node reachable over wires from `ids` (not including them). */
function downstream(flow: any, ids: any) {
    const byId = new Map<string, FlowNode>(flow.map((n: FlowNode) => [n.id, n]));
    const seen = new Set();
    const queue = ids.flatMap((id: any) => (byId.get(id)?.wires || []).flat());
    while (queue.length) {
        const id = queue.shift();
        if (seen.has(id)) continue;
        seen.add(id);
        queue.push(...(byId.get(id)?.wires || []).flat());
    }
    return seen;
}

const examples = fs.readdirSync(EXAMPLES_DIR).filter((file) => file.endsWith('.json'));

describe('example flows', function () {
    let redis: RedisServer | undefined;
    before(async () => {
        await helper.startServer();
    });
    after(async () => {
        await helper.stopServer();
        await redis?.stop();
    });
    afterEach(async () => {
        await helper.unload();
    });

    it('ship at least one example that uses every flow node type', function () {
        const types = new Set(examples.flatMap((file) => JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')).map((n: any) => n.type)));
        for (const type of ['rest-session-login', 'rest-session-request', 'rest-session-logout']) assert.ok(types.has(type), type);
    });

    for (const file of examples) {
        it(`"${file}" logs in, fetches and logs out against its simulator`, async function () {
            const shipped = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8'));
            // A custom login template names its {{password}} placeholder: that is no credential.
            const withoutTemplates = shipped
                .filter((n: FlowNode) => n.type !== 'comment')
                .map(({ loginTemplate: _template, credentials: _credentials, ...n }: FlowNode) => n);
            assert.ok(!/password/i.test(JSON.stringify(withoutTemplates)), 'no credentials in an example');
            const servers = shipped.filter((n: FlowNode) => n.type === 'rest-session-server');
            assert.ok(servers.length, 'the example has a server');
            for (const server of servers) {
                assert.match(server.baseUrl, ENV_REFERENCE, `${server.name}: the base URL is an environment variable`);
                assert.match(server.credentials?.username ?? '', ENV_REFERENCE, `${server.name}: the user is an environment variable`);
                assert.match(server.credentials?.password ?? '', ENV_REFERENCE, `${server.name}: the password is an environment variable`);
            }
            for (const tls of shipped.filter((n: FlowNode) => n.type === 'tls-config')) {
                assert.match(tls.ca, ENV_REFERENCE, `${tls.name}: the CA file is an environment variable`);
            }
            for (const store of shipped.filter((n: FlowNode) => n.type === 'rest-session-store')) {
                assert.match(store.url, ENV_REFERENCE, `${store.name}: the Redis URL is an environment variable`);
                assert.match(store.credentials?.sharedKey ?? '', ENV_REFERENCE, `${store.name}: the shared key is an environment variable`);
            }
            const { nodes: flow, widgets } = withoutDashboard(shipped);
            const running = [];
            const restoreEnv: Array<() => void> = [];
            // As imported: the shipped nodes and credentials, the simulators named by the environment.
            const credentials: Record<string, unknown> = {};
            for (const node of flow) {
                if (node.credentials) credentials[node.id] = node.credentials;
                delete node.credentials;
            }
            try {
                if (exampleEnv.needsStore(shipped)) {
                    redis ??= await RedisServer.start();
                    restoreEnv.push(setEnv(exampleEnv.storeEnv(redis.url)));
                }
                for (const server of servers) {
                    const name = exampleEnv.simulatorOf(server);
                    const started = await simulatorFor(name).startForFlows();
                    running.push(started);
                    restoreEnv.push(setEnv(exampleEnv.simulatorEnv(name, started, CA_FILE)));
                }
                // Debug nodes, and the nodes that show a Status node's msgs, become helper nodes so the test can read what they would show.
                const statusFed = new Set(flow.filter((n: any) => n.type === 'status').flatMap((n: any) => (n.wires || []).flat()));
                const debugIds = flow.filter((n: any) => n.type === 'debug' || statusFed.has(n.id)).map((n: any) => n.id);
                for (const node of flow) if (debugIds.includes(node.id)) Object.assign(node, { type: 'helper' });
                await helper.load([...ALL_NODES, ...coreNodes], flow, credentials);
                const seen = Object.fromEntries([...debugIds, ...widgets].map((id) => [id, new Recorder(id)]));
                // A grant that needs a person (OAuth2): the simulator plays the person once, as a user would after importing.
                for (const [index, server] of servers.entries()) {
                    if (running[index].authorize && ['authorization_code', 'device_code'].includes(server.grant)) {
                        await running[index].authorize(helper.request(), helper.url(), server.id);
                        const own = (helper.getNode(server.id) as any).sessionManager().ownSession();
                        await waitFor(() => own.state === 'loggedIn', { message: `${server.name} authorized`, timeoutMs: 15_000 });
                    }
                }
                const afterCatch = downstream(
                    flow,
                    flow.filter((n: any) => n.type === 'catch').map((n: any) => n.id),
                );
                const afterStatus = downstream(
                    flow,
                    flow.filter((n: any) => n.type === 'status').map((n: any) => n.id),
                );
                const catchTargets = debugIds.filter((id: any) => afterCatch.has(id));
                const statusTargets = debugIds.filter((id: any) => afterStatus.has(id));

                const injects = flow.filter((n: any) => n.type === 'inject').sort((a: any, b: any) => a.y - b.y);
                helper.getNode(injects[0].id).receive({});
                const fromFirst = downstream(flow, [injects[0].id]);
                const results = [...debugIds, ...widgets].filter((id) => fromFirst.has(id) && !afterCatch.has(id) && !afterStatus.has(id));
                assert.ok(results.length, 'the first inject leads to a debug node or a widget');
                await Promise.all(results.map((id) => seen[id].waitFor(1)));

                for (const id of catchTargets)
                    assert.deepStrictEqual(
                        seen[id].messages.map((m: any) => m.errorCode),
                        [],
                        'no error reached Catch',
                    );
                const statuses = statusTargets.flatMap((id: any) => seen[id].messages.map((m: any) => m.status.fill));
                assert.ok(statuses.includes('green'), `a green session status was shown (${statuses})`);
                for (const id of widgets.filter((w: any) => results.includes(w))) {
                    assert.ok(
                        seen[id].messages.every((m: any) => typeof m.payload === 'number'),
                        'widgets get numbers',
                    );
                }
                const payloads = results.flatMap((id) => seen[id].messages.map((m: any) => m.statusCode)).filter((code) => code !== undefined);
                assert.ok(payloads.length && payloads.every((code) => code >= 200 && code < 300), `requests succeeded: ${payloads}`);
                const logsOut = flow.some((n: any) => n.type === 'rest-session-logout' && fromFirst.has(n.id));
                for (const { simulator } of running) {
                    assert.strictEqual(simulator.stats.loginsOk, 1, 'one login');
                    if (simulator.stats.logouts !== undefined) assert.strictEqual(simulator.stats.logouts, logsOut ? 1 : 0, 'logouts');
                }
                // The session store's example shares its session through Redis: the fleet's session is there.
                if (redis && exampleEnv.needsStore(shipped)) assert.ok((await redis.keysMatching('*:sess')).length > 0, 'the shared session is in Redis');
            } finally {
                await helper.unload();
                for (const started of running) await started.stop();
                for (const restore of restoreEnv) restore();
            }
        });
    }

    it('"Error handling" names each error\'s code once, and its session state node shows the status in colour', async function () {
        const file = 'Error handling (lockout, invalid credentials).json';
        const flow = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8'));
        const credentials: Record<string, unknown> = {};
        for (const node of flow) {
            if (node.credentials) credentials[node.id] = node.credentials;
            delete node.credentials;
        }
        // A SmartServer that is gone: every read fails with NETWORK, which the "other error" branch describes.
        const started = await simulatorFor('smartserver').startForFlows();
        const restore = setEnv(exampleEnv.simulatorEnv('smartserver', started, CA_FILE));
        await started.stop();
        try {
            const other = flow.find((n: FlowNode) => n.type === 'debug' && n.name === 'other error');
            const state = flow.find((n: FlowNode) => n.type === 'function' && n.name === 'session state');
            for (const node of flow) if (node.type === 'debug') Object.assign(node, { type: 'helper' });
            await helper.load([...ALL_NODES, ...coreNodes, require(path.join(NODES_DIR, 'core', 'function', '10-function.js'))], flow, credentials);
            const described = new Recorder(other.id);
            const shown: Array<{ fill?: string; text?: string }> = [];
            helper.getNode(state.id).on('call:status', (call: { args: Array<{ fill?: string; text?: string }> }) => shown.push(call.args[0]));
            const read = flow.find((n: FlowNode) => n.type === 'inject' && /read/.test(n.name));
            helper.getNode(read.id).receive({});
            await described.waitFor(1);
            const text = String(described.messages[0].payload);
            assert.match(text, /^NETWORK: /);
            assert.strictEqual(text.split('NETWORK').length - 1, 1, `the code once: ${text}`);
            await waitFor(() => shown.some((status) => status.fill === 'red'), { message: 'a red session state' });
            // Every status it shows has a text, or is cleared: never a grey "undefined".
            assert.ok(
                shown.every((status) => (status.fill === undefined ? status.text === undefined : typeof status.text === 'string')),
                JSON.stringify(shown),
            );
        } finally {
            await helper.unload();
            restore();
        }
    });
});

'use strict';
/**
 * Every flow in examples/ is loaded into a real runtime, pointed at its vendor's simulator, and run:
 * what a user gets from Import > Examples must work as shipped.
 */
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const { helper, ALL_NODES, CA_FILE, Recorder } = require('../support/harness');

const EXAMPLES_DIR = path.join(__dirname, '..', '..', 'examples');
const NODES_DIR = path.dirname(require.resolve('@node-red/nodes/package.json'));
const coreNodes = ['20-inject.js', '90-comment.js'].map((file) => require(path.join(NODES_DIR, 'core', 'common', file)));

/** Each vendor's simulator module (test/simulators/<vendor>.js) starts one for the example flows. */
function simulatorFor(vendor) {
    return require(path.join(__dirname, '..', 'simulators', `${vendor}.js`));
}

const examples = fs.readdirSync(EXAMPLES_DIR).filter((file) => file.endsWith('.json'));

describe('example flows', function () {
    before(async () => {
        await helper.startServer();
    });
    after(async () => {
        await helper.stopServer();
    });
    afterEach(async () => {
        await helper.unload();
    });

    it('ship at least one example that uses every flow node type', function () {
        const types = new Set(examples.flatMap((file) => JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')).map((n) => n.type)));
        for (const type of ['rest-session-login', 'rest-session-request', 'rest-session-logout']) assert.ok(types.has(type), type);
    });

    for (const file of examples) {
        it(`"${file}" logs in, fetches and logs out against its simulator`, async function () {
            const flow = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8'));
            assert.ok(!/password/i.test(JSON.stringify(flow.filter((n) => n.type !== 'comment'))), 'no credentials in an example');
            const servers = flow.filter((n) => n.type === 'rest-session-server');
            const running = [];
            const credentials = {};
            try {
                for (const server of servers) {
                    const started = await simulatorFor(server.vendor).startForFlows();
                    running.push(started);
                    server.baseUrl = started.baseUrl;
                    credentials[server.id] = started.credentials;
                }
                for (const tls of flow.filter((n) => n.type === 'tls-config')) tls.ca = CA_FILE;
                // Debug nodes become helper nodes so the test can read what they would show.
                const debugIds = flow.filter((n) => n.type === 'debug').map((n) => n.id);
                for (const node of flow) if (node.type === 'debug') Object.assign(node, { type: 'helper' });
                await helper.load([...ALL_NODES, ...coreNodes], flow, credentials);
                const seen = Object.fromEntries(debugIds.map((id) => [id, new Recorder(id)]));
                const catchTargets = flow.filter((n) => n.type === 'catch').flatMap((n) => n.wires.flat());
                const statusTargets = flow.filter((n) => n.type === 'status').flatMap((n) => n.wires.flat());

                const injects = flow.filter((n) => n.type === 'inject').sort((a, b) => a.y - b.y);
                helper.getNode(injects[0].id).receive({});
                const results = debugIds.filter((id) => !catchTargets.includes(id) && !statusTargets.includes(id));
                await Promise.all(results.map((id) => seen[id].waitFor(1)));

                for (const id of catchTargets) assert.deepStrictEqual(seen[id].messages.map((m) => m.errorCode), [], 'no error reached Catch');
                const statuses = statusTargets.flatMap((id) => seen[id].messages.map((m) => m.status.fill));
                assert.ok(statuses.includes('green'), `a green session status was shown (${statuses})`);
                const payloads = results.flatMap((id) => seen[id].messages.map((m) => m.statusCode)).filter((code) => code !== undefined);
                assert.ok(payloads.length && payloads.every((code) => code >= 200 && code < 300), `requests succeeded: ${payloads}`);
                for (const { simulator } of running) {
                    assert.strictEqual(simulator.stats.loginsOk, 1, 'one login');
                    if (simulator.stats.logouts !== undefined) assert.strictEqual(simulator.stats.logouts, 1, 'one logout');
                }
            } finally {
                await helper.unload();
                for (const started of running) await started.stop();
            }
        });
    }
});

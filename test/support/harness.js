'use strict';
/**
 * Shared set-up for node tests: a real Node-RED runtime (node-red-node-test-helper) with our four
 * nodes and the core tls-config node, flows built against a simulator, and recorders that collect
 * what reaches helper nodes, Catch nodes, Status nodes and the log.
 */
const path = require('node:path');

const helper = require('node-red-node-test-helper');

// NODE_RED_PREFIX=<dir>: run against the Node-RED installed there (`npm install --prefix <dir> node-red@5`)
// instead of the dev dependency; test/compat/run uses it for the version matrix.
const NODE_RED_FROM = process.env.NODE_RED_PREFIX ? { paths: [path.resolve(process.env.NODE_RED_PREFIX)] } : undefined;
helper.init(require.resolve('node-red', NODE_RED_FROM));

const ROOT = path.join(__dirname, '..', '..');
const CA_FILE = path.join(ROOT, 'test', 'fixtures', 'tls', 'ca.crt');
const NODES_DIR = path.dirname(require.resolve('@node-red/nodes/package.json', { paths: [path.dirname(require.resolve('node-red/package.json', NODE_RED_FROM))] }));

const ourNodes = ['server', 'login', 'request', 'logout'].map((name) => require(path.join(ROOT, 'nodes', `rest-session-${name}.js`)));
const tlsConfigNode = require(path.join(NODES_DIR, 'core', 'network', '05-tls.js'));
const ALL_NODES = [...ourNodes, tlsConfigNode];

const ADMIN = { username: 'admin', password: 'Passw0rd!Passw0rd' };

/** A core tls-config node that trusts the test CA (verification on). */
function tlsNode(overrides = {}) {
    return { id: 'tls', type: 'tls-config', cert: '', key: '', ca: CA_FILE, certname: '', keyname: '', caname: '', servername: '', verifyservercert: true, ...overrides };
}

function serverNode(baseUrl, overrides = {}) {
    return { id: 'server', type: 'rest-session-server', name: '', vendor: 'smartserver', baseUrl, tls: 'tls', requestTimeout: 5000, logoutOnClose: true, exposeCredential: false, ...overrides };
}

/**
 * inject-less flow: login (l1), request (r1), logout (o1) all wired to `out`; a Catch node to
 * `caught`; a Status node to `statuses`. Extra nodes may be appended.
 */
function standardFlow(baseUrl, { server = {}, request = {}, extra = [] } = {}) {
    const inTab = (node) => ({ z: 'tab', ...node });
    return [
        { id: 'tab', type: 'tab', label: 'test' },
        tlsNode(),
        serverNode(baseUrl, server),
        ...[
            { id: 'l1', type: 'rest-session-login', server: 'server', wires: [['out']] },
            { id: 'r1', type: 'rest-session-request', server: 'server', method: 'GET', url: '/iap/devs', ret: 'obj', paytoqs: 'ignore', ...request, wires: [['out']] },
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

/** Collects every msg a helper node receives; `next(n)` waits until n more (or n in all) arrived. */
class Recorder {
    constructor(nodeId) {
        this.messages = [];
        this.waiters = [];
        this.node = helper.getNode(nodeId);
        this.node.on('input', (msg) => {
            this.messages.push(msg);
            this.waiters = this.waiters.filter((waiter) => !waiter());
        });
    }

    /** Resolves with the first `count` messages once that many have arrived. */
    waitFor(count, timeoutMs = 10000) {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`timed out waiting for ${count} msgs at ${this.node.id}; got ${this.messages.length}`)), timeoutMs);
            const check = () => {
                if (this.messages.length < count) return false;
                clearTimeout(timer);
                resolve(this.messages.slice(0, count));
                return true;
            };
            if (!check()) this.waiters.push(check);
        });
    }
}

function recorders() {
    return { out: new Recorder('out'), caught: new Recorder('caught'), statuses: new Recorder('statuses') };
}

async function load(flow, credentials = { server: ADMIN }) {
    await helper.load(ALL_NODES, flow, credentials);
    return recorders();
}

/** Sends msgs to a node and waits until `count` msgs have come out at `out` plus `caught` together. */
async function settle(rec, total, timeoutMs = 10000) {
    const started = Date.now();
    while (rec.out.messages.length + rec.caught.messages.length < total) {
        if (Date.now() - started > timeoutMs) {
            throw new Error(`expected ${total} answers, got ${rec.out.messages.length} out + ${rec.caught.messages.length} caught`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
}

/**
 * Waits until `total` msgs were answered (output or Catch), then a little longer, and checks that no
 * msg was answered twice: every input yields exactly one output or one Catch.
 */
async function answeredOnce(rec, total) {
    await settle(rec, total);
    await delay(30);
    const answered = rec.out.messages.length + rec.caught.messages.length;
    if (answered !== total) throw new Error(`expected exactly ${total} answers, got ${answered}`);
    return rec;
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every log line of this test so far, as text. */
function logText() {
    const spy = helper.log();
    return spy ? spy.args.map((args) => JSON.stringify(args)).join('\n') : '';
}

module.exports = { helper, NODES_DIR, ALL_NODES, ADMIN, CA_FILE, tlsNode, serverNode, standardFlow, Recorder, load, settle, answeredOnce, delay, logText };

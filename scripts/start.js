'use strict';
/**
 * `npm start`: the demo. Starts the simulator of every vendor the example flows use (each module in
 * test/simulators/ exports `startForFlows` and its `DEMO_PORT`), prepares a Node-RED user dir in
 * `.demo/` with this package linked in and the example flows deployed against the simulators, then
 * runs the repo's own Node-RED (the dev dependency) on http://127.0.0.1:1880.
 *
 * Env: PORT (editor port, default 1880), <VENDOR>_PORT (e.g. SMARTSERVER_PORT: a simulator's port;
 * a taken port falls back to a free one).
 *
 * `require('./scripts/start.js').prepareDemo(...)` writes the user dir without starting anything.
 */
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');

const DEFAULT_EDITOR_PORT = 1880;
const HOST = '127.0.0.1';
const PACKAGE_NAME = '@rest-session/node-red-rest-session';
const CA_FILE = path.join('test', 'fixtures', 'tls', 'ca.crt');
const INJECT_DELAY_S = 2;
const EDITOR_WAIT_MS = 60000;
const NODE_RED_STOP_MS = 10000;

// ---------------------------------------------------------------------------------------------
// The user dir
// ---------------------------------------------------------------------------------------------

function writeJson(file, value) {
    fs.writeFileSync(file, `${JSON.stringify(value, null, 4)}\n`);
}

function writeDemoPackageJson(demoDir) {
    writeJson(path.join(demoDir, 'package.json'), {
        name: 'rest-session-demo',
        private: true,
        dependencies: { [PACKAGE_NAME]: '*' },
    });
}

/** `.demo/node_modules/@rest-session/node-red-rest-session` → the repo root, made afresh. */
function linkPackage(demoDir, rootDir) {
    const link = path.join(demoDir, 'node_modules', ...PACKAGE_NAME.split('/'));
    fs.mkdirSync(path.dirname(link), { recursive: true });
    let existing = null;
    try {
        existing = fs.lstatSync(link);
    } catch (err) {
        if (err.code !== 'ENOENT') throw err;
    }
    if (existing && existing.isDirectory()) fs.rmSync(link, { recursive: true, force: true });
    else if (existing) fs.unlinkSync(link); // a symlink: remove the link, never what it points at
    // Windows junctions need an absolute target; elsewhere a relative link survives moving the repo.
    if (process.platform === 'win32') fs.symlinkSync(rootDir, link, 'junction');
    else fs.symlinkSync(path.relative(path.dirname(link), rootDir), link, 'dir');
    return link;
}

function settingsSource(port) {
    return `// Node-RED settings for the rest-session demo (written by scripts/start.js on every start).
module.exports = {
    flowFile: 'flows.json',
    flowFilePretty: true,
    // DEMO ONLY: credentialSecret false stores credentials (the simulator's demo password) in clear
    // in .demo/flows_cred.json. Never use this setting for a real device.
    credentialSecret: false,
    uiHost: '${HOST}',
    uiPort: ${Number(port)},
    editorTheme: {
        tours: false,
        palette: { catalogues: [] },
    },
    // Node-RED 4 reads this; older versions ignore the unknown key.
    telemetry: { enabled: false },
    logging: {
        console: { level: 'info', metrics: false, audit: false },
    },
};
`;
}

/** Examples left out of the demo, each reported once. */
const skippedExamples = new Set();

/** Every `examples/*.json`, in name order, as one array; a node id used twice must be identical. */
function readExampleFlows(rootDir) {
    const dir = path.join(rootDir, 'examples');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    const byId = new Map();
    for (const file of files) {
        const nodes = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
        if (!Array.isArray(nodes)) throw new Error(`examples/${file} is not an array of nodes`);
        // Node-RED starts no flow while a node type is missing: leave out what needs another package.
        if (nodes.some((n) => String(n.type).startsWith('ui-'))) {
            if (!skippedExamples.has(file)) console.warn(`Skipping examples/${file} in the demo: it needs @flowfuse/node-red-dashboard.`);
            skippedExamples.add(file);
            continue;
        }
        for (const node of nodes) {
            const seen = byId.get(node.id);
            if (seen && JSON.stringify(seen) !== JSON.stringify(node)) {
                throw new Error(`examples/${file}: node id ${node.id} is already used by another example`);
            }
            byId.set(node.id, node);
        }
    }
    return [...byId.values()];
}

/**
 * The demo copy of the example flows: servers point at their vendor's simulator, tls-config nodes
 * trust the test CA, injects that start a login fire once after deploy and debug nodes also print to the console.
 * Returns the flow and the credentials to store for it.
 */
function demoFlows(nodes, { rootDir, simulators }) {
    const caPath = path.resolve(rootDir, CA_FILE);
    const credentials = {};
    // Debug nodes fed by a Status node stay in the sidebar: in the terminal they would drown the rest.
    const statusTargets = new Set(nodes.filter((n) => n.type === 'status').flatMap((n) => (n.wires || []).flat()));
    // Only the injects that start a login fire by themselves: the others are for the user to click.
    const logins = new Set(nodes.filter((n) => n.type === 'rest-session-login').map((n) => n.id));
    const startsLogin = (node) => (node.wires || []).flat().some((id) => logins.has(id));
    const flows = nodes.map((original) => {
        const node = { ...original };
        if (node.type === 'rest-session-server' && simulators[node.vendor]) {
            node.baseUrl = simulators[node.vendor].baseUrl;
            credentials[node.id] = { ...simulators[node.vendor].credentials };
        } else if (node.type === 'tls-config') {
            node.ca = caPath;
        } else if (node.type === 'inject' && startsLogin(node)) {
            node.once = true;
            node.onceDelay = INJECT_DELAY_S;
        } else if (node.type === 'debug' && !statusTargets.has(node.id)) {
            node.console = true; // so the terminal shows what the flow did
        }
        return node;
    });
    return { flows, credentials };
}

/**
 * Writes the Node-RED user dir for the demo: package.json, the package link, settings.js,
 * flows.json and flows_cred.json (plain JSON: settings.js turns credential encryption off).
 */
function prepareDemo({ rootDir, demoDir, simulators, port = DEFAULT_EDITOR_PORT }) {
    if (!rootDir || !demoDir || !simulators) {
        throw new Error('prepareDemo needs rootDir, demoDir and simulators ({ vendor: { baseUrl, credentials } })');
    }
    fs.mkdirSync(demoDir, { recursive: true });
    writeDemoPackageJson(demoDir);
    const link = linkPackage(demoDir, rootDir);
    const settingsFile = path.join(demoDir, 'settings.js');
    fs.writeFileSync(settingsFile, settingsSource(port));
    const { flows, credentials } = demoFlows(readExampleFlows(rootDir), { rootDir, simulators });
    const flowFile = path.join(demoDir, 'flows.json');
    const credentialsFile = path.join(demoDir, 'flows_cred.json');
    writeJson(flowFile, flows);
    writeJson(credentialsFile, credentials);
    return { link, settingsFile, flowFile, credentialsFile, servers: Object.keys(credentials) };
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

function portFromEnv(name, fallback) {
    const raw = process.env[name];
    if (raw === undefined || raw === '') return fallback;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new Error(`${name} must be a port number from 0 to 65535, not "${raw}"`);
    }
    return port;
}

/** The vendors whose servers appear in the example flows. */
function exampleVendors(rootDir) {
    const vendors = readExampleFlows(rootDir).filter((n) => n.type === 'rest-session-server').map((n) => n.vendor || 'smartserver');
    return [...new Set(vendors)].sort();
}

/** Starts a vendor's simulator on its demo port, or on a free port when that one is taken. */
async function startSimulator(rootDir, vendor) {
    // The simulators are TypeScript test code: tsx (a dev dependency, like the simulators) loads them.
    require('tsx/cjs/api').register();
    const module = require(path.join(rootDir, 'test', 'simulators', `${vendor}.ts`));
    const port = portFromEnv(`${vendor.toUpperCase()}_PORT`, module.DEMO_PORT || 0);
    try {
        return await module.startForFlows({ host: HOST, port });
    } catch (err) {
        if (err.code !== 'EADDRINUSE' || port === 0) throw err;
        console.warn(`Port ${port} is taken: the ${vendor} simulator uses a free port instead.`);
        return module.startForFlows({ host: HOST, port: 0 });
    }
}

/** Prints each answered simulator request (method, path, status: never cookies) as it happens. */
function logSimulatorRequests(vendor, sim) {
    let next = 0;
    const flush = () => {
        const requests = (sim.stats && sim.stats.requests) || [];
        while (next < requests.length && requests[next].status !== null) {
            const { method, path: urlPath, status } = requests[next++];
            console.log(`[${vendor} simulator] ${method} ${urlPath} ${status}`);
        }
    };
    const timer = setInterval(flush, 500);
    timer.unref();
    return () => {
        clearInterval(timer);
        flush();
    };
}

function startNodeRed(demoDir, port) {
    const redJs = require.resolve('node-red/red.js');
    return spawn(process.execPath, [redJs, '-u', demoDir, '-p', String(port)], {
        cwd: demoDir,
        env: { ...process.env, NODE_RED_DISABLE_TELEMETRY: '1' },
        stdio: 'inherit',
    });
}

/** Resolves true once the editor answers on `url`, false after `timeoutMs` or when `isGone()`. */
function waitForEditor(url, timeoutMs, isGone) {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve) => {
        const attempt = () => {
            if (isGone()) return resolve(false);
            const req = http.get(url, (res) => {
                res.resume();
                resolve(true);
            });
            req.setTimeout(2000, () => req.destroy());
            req.on('error', () => {
                if (Date.now() > deadline) resolve(false);
                else setTimeout(attempt, 250);
            });
        };
        attempt();
    });
}

/** Sends `signal` to the child and waits for it to exit, killing it after NODE_RED_STOP_MS. */
function stopChild(child, signal) {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
        const killer = setTimeout(() => child.kill('SIGKILL'), NODE_RED_STOP_MS);
        child.once('exit', () => {
            clearTimeout(killer);
            resolve();
        });
        child.kill(signal);
    });
}

async function stopAll(started) {
    await Promise.all(Object.values(started).map((sim) => sim.stop().catch(() => {})));
}

async function main() {
    const rootDir = path.resolve(__dirname, '..');
    const demoDir = path.join(rootDir, '.demo');
    const port = portFromEnv('PORT', DEFAULT_EDITOR_PORT);
    const started = {};
    const stopLogs = [];
    let child;
    try {
        for (const vendor of exampleVendors(rootDir)) {
            started[vendor] = await startSimulator(rootDir, vendor);
            stopLogs.push(logSimulatorRequests(vendor, started[vendor].simulator));
        }
        prepareDemo({ rootDir, demoDir, simulators: started, port });
        child = startNodeRed(demoDir, port);
    } catch (err) {
        await stopAll(started);
        throw err;
    }

    let stopping = false;
    const finish = async (code) => {
        for (const stopLog of stopLogs) stopLog();
        await stopAll(started);
        process.exit(code);
    };
    const shutdown = async (signal) => {
        if (stopping) return;
        stopping = true;
        // Node-RED logs its sessions out while it stops, so the simulators go last.
        await stopChild(child, signal);
        await finish(0);
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    child.on('error', (err) => {
        console.error(`Could not start Node-RED: ${err.message}`);
        if (!stopping) finish(1);
    });
    child.on('exit', (code, signal) => {
        if (stopping) return;
        stopping = true;
        finish(code ?? (signal ? 1 : 0));
    });

    const editorUrl = `http://${HOST}:${port}`;
    const up = await waitForEditor(editorUrl, EDITOR_WAIT_MS, () => stopping);
    if (stopping) return;
    if (!up) console.warn(`Node-RED has not answered on ${editorUrl} after ${EDITOR_WAIT_MS / 1000} s.`);
    console.log(`Node-RED editor: ${editorUrl}`);
    for (const [vendor, sim] of Object.entries(started)) {
        console.log(`  ${vendor} simulator at ${sim.baseUrl}, user ${sim.credentials.username}`);
    }
}

if (require.main === module) {
    main().catch((err) => {
        console.error(err.message);
        process.exit(1);
    });
}

module.exports = { prepareDemo };

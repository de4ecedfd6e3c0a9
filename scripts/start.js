'use strict';
/**
 * `npm start`: the demo. Checks its ports first (a taken editor port ends it before anything
 * starts), builds the package, starts the simulator of every vendor the example flows use (each
 * module test/simulators/<vendor>.ts exports `startForFlows` and its `DEMO_PORT`), prepares a Node-RED user
 * dir in `.demo/` with this package and FlowFuse Dashboard 2 linked in and the example flows
 * deployed against the simulators, then runs the repo's own Node-RED (the dev dependency) on
 * http://127.0.0.1:1880, the dashboard on /dashboard. When redis-server is installed, a Redis child
 * on a free port serves the example with a session store (scripts/demo-redis.js); without it that
 * example is left out, and the demo says so in one line.
 *
 * SIGINT or SIGTERM to this process stops everything: the build, Node-RED (which logs its sessions
 * out) and then the simulators. `npm start` execs this script, so a signal to npm's PID reaches it;
 * started through a shell that dies on a signal without passing it on, it stops once its parent is gone.
 *
 * Env: PORT (editor port, default 1880), <VENDOR>_PORT (e.g. SMARTSERVER_PORT: a simulator's port;
 * a taken port falls back to a free one), DEMO_DIR (the user dir, default .demo), DEMO_RESET=1
 * (replace flows edited in the editor with the examples; by default they are kept), DEMO_VERBOSE=1
 * (print every debug msg and simulator request; by default the terminal shows warnings and errors).
 *
 * `require('./scripts/start.js').prepareDemo(...)` writes the user dir without starting anything.
 */
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');

const { demoNodeId, writeDemoFlows, withDemoIds } = require('./demo-flows-file');
const { envPrefix, examplesEnv, needsStore, simulatorOf, storeEnv } = require('./example-env');
const { startDemoRedis } = require('./demo-redis');

const DEFAULT_EDITOR_PORT = 1880;
const HOST = '127.0.0.1';
const PACKAGE_NAME = '@rest-session/node-red-rest-session';
const CA_FILE = path.join('test', 'fixtures', 'tls', 'ca.crt');
const INJECT_DELAY_S = 2;
const EDITOR_WAIT_MS = 60000;
const NODE_RED_STOP_MS = 10000;
const DASHBOARD_PACKAGE = '@flowfuse/node-red-dashboard';
/** How often the demo looks whether the process that started it is still there. */
const PARENT_CHECK_MS = 500;

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

/** `<demoDir>/node_modules/<name>` → `target`, made afresh. */
function linkModule(demoDir, name, target) {
    const link = path.join(demoDir, 'node_modules', ...name.split('/'));
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
    if (process.platform === 'win32') fs.symlinkSync(target, link, 'junction');
    else fs.symlinkSync(path.relative(path.dirname(link), target), link, 'dir');
    return link;
}

/** `.demo/node_modules/@rest-session/node-red-rest-session` → the repo root. */
function linkPackage(demoDir, rootDir) {
    return linkModule(demoDir, PACKAGE_NAME, rootDir);
}

/** The dev dependency FlowFuse Dashboard 2 as installed in the repo, or null when it is not. */
function dashboardDir(rootDir) {
    try {
        return path.dirname(require.resolve(`${DASHBOARD_PACKAGE}/package.json`, { paths: [rootDir] }));
    } catch {
        return null;
    }
}

function settingsSource(port, env = {}) {
    return `// Node-RED settings for the rest-session demo (written by scripts/start.js on every start).
// The examples read their servers from these variables (README "Examples"): here, the simulators.
// DEMO ONLY: the simulators' passwords in clear.
Object.assign(process.env, ${JSON.stringify(env, null, 4)});

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

/**
 * Every `examples/*.json`, in name order, as one array; a node id used twice must be identical.
 * Without FlowFuse Dashboard 2 (`withDashboard` false) the examples that need it are left out, and
 * without a Redis (`withRedis` false) those with a session store.
 */
function readExampleFlows(rootDir, { withDashboard = true, withRedis = true, quiet = false } = {}) {
    const dir = path.join(rootDir, 'examples');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    const byId = new Map();
    for (const file of files) {
        const nodes = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
        if (!Array.isArray(nodes)) throw new Error(`examples/${file} is not an array of nodes`);
        // Node-RED starts no flow while a node type is missing: leave out what needs the dashboard.
        if (!withDashboard && nodes.some((n) => String(n.type).startsWith('ui-'))) {
            if (!quiet && !skippedExamples.has(file)) console.warn(`Skipping examples/${file} in the demo: it needs ${DASHBOARD_PACKAGE} (npm install).`);
            skippedExamples.add(file);
            continue;
        }
        if (!withRedis && needsStore(nodes)) {
            if (!quiet && !skippedExamples.has(file)) console.warn(`Skipping examples/${file} in the demo: it needs Redis (install redis-server, e.g. apt-get install redis-server).`);
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
 * The demo copy of the example flows. The examples name their servers, users, passwords and CA
 * files by environment variables (scripts/example-env.js), which the demo sets: they run as shipped.
 * Their credentials (`${NAME_USER}`, `${NAME_PASSWORD}`) go to the credentials file; a server with a
 * literal base URL is pointed at its vendor's simulator. Injects that start a login fire once after
 * deploy; with `verbose` debug nodes also print to the console. Node ids are the demo's own
 * (scripts/demo-flows-file.js), so that an example imported into the running demo does not clash.
 * A session store reads the demo's Redis (`redisUrl`). Returns the flow, the credentials to store
 * for it and the environment it needs.
 */
function demoFlows(nodes, { rootDir, simulators, verbose = false, redisUrl }) {
    const caPath = path.resolve(rootDir, CA_FILE);
    const credentials = {};
    // Debug nodes fed by a Status node stay in the sidebar: in the terminal they would drown the rest.
    const statusTargets = new Set(nodes.filter((n) => n.type === 'status').flatMap((n) => (n.wires || []).flat()));
    // Only the injects that start a login fire by themselves: the others are for the user to click.
    const logins = new Set(nodes.filter((n) => n.type === 'rest-session-login').map((n) => n.id));
    const startsLogin = (node) => (node.wires || []).flat().some((id) => logins.has(id));
    const flows = nodes.map(({ credentials: own, ...original }) => {
        const node = { ...original };
        if (own) credentials[node.id] = { ...own };
        const simulator = node.type === 'rest-session-server' && !own && simulators[simulatorOf(node)];
        if (simulator) {
            node.baseUrl = simulator.baseUrl;
            credentials[node.id] = { ...simulator.credentials };
        } else if (node.type === 'tls-config' && !String(node.ca || '').startsWith('${')) {
            node.ca = caPath;
        } else if (node.type === 'inject' && startsLogin(node)) {
            node.once = true;
            node.onceDelay = INJECT_DELAY_S;
        } else if (node.type === 'debug' && verbose && !statusTargets.has(node.id)) {
            node.console = true; // so the terminal shows what the flow did
        }
        return node;
    });
    const renamed = withDemoIds(flows);
    const demoCredentials = Object.fromEntries(Object.entries(credentials).map(([id, value]) => [renamed.idOf(id), value]));
    const env = { ...examplesEnv(simulators, caPath), ...(redisUrl ? storeEnv(redisUrl) : {}) };
    return { flows: renamed.nodes, credentials: demoCredentials, env };
}

/**
 * Writes the Node-RED user dir for the demo: package.json, the package link, settings.js,
 * flows.json and flows_cred.json (plain JSON: settings.js turns credential encryption off). Flows
 * someone changed are kept unless `reset` (`flows`: 'written', 'updated', 'reset' or 'kept').
 * `redisUrl`: the demo's Redis; without it the examples with a session store are left out.
 */
function prepareDemo({ rootDir, demoDir, simulators, port = DEFAULT_EDITOR_PORT, reset = false, verbose = false, redisUrl }) {
    if (!rootDir || !demoDir || !simulators) {
        throw new Error('prepareDemo needs rootDir, demoDir and simulators ({ vendor: { baseUrl, credentials } })');
    }
    fs.mkdirSync(demoDir, { recursive: true });
    writeDemoPackageJson(demoDir);
    const link = linkPackage(demoDir, rootDir);
    const dashboard = dashboardDir(rootDir);
    if (dashboard) linkModule(demoDir, DASHBOARD_PACKAGE, dashboard);
    const settingsFile = path.join(demoDir, 'settings.js');
    const examples = readExampleFlows(rootDir, { withDashboard: Boolean(dashboard), withRedis: Boolean(redisUrl) });
    const { flows, credentials, env } = demoFlows(examples, { rootDir, simulators, verbose, redisUrl });
    fs.writeFileSync(settingsFile, settingsSource(port, env));
    const { outcome, flowFile, credentialsFile } = writeDemoFlows(demoDir, flows, credentials, { reset });
    const hasDashboard = flows.some((n) => n.type === 'ui-base');
    return { link, settingsFile, flowFile, credentialsFile, servers: Object.keys(credentials), dashboard: hasDashboard, flows: outcome };
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

/** The simulators the example flows' servers ask for (`${SMARTSERVER_URL}` → smartserver). */
function exampleVendors(rootDir) {
    const vendors = readExampleFlows(rootDir, { quiet: true }).filter((n) => n.type === 'rest-session-server').map(simulatorOf);
    return [...new Set(vendors)].sort();
}

/** A vendor's simulator module (test/simulators/<vendor>.ts). */
function simulatorModule(rootDir, vendor) {
    // The simulators are TypeScript test code: tsx (a dev dependency, like the simulators) loads them.
    require('tsx/cjs/api').register();
    return require(path.join(rootDir, 'test', 'simulators', `${vendor}.ts`));
}

/** Resolves true when nothing listens on `host:port` (0 is always free). */
function portIsFree(host, port) {
    if (port === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
        const probe = net.createServer();
        probe.once('error', () => resolve(false));
        probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
    });
}

/**
 * The port each vendor's simulator asks for: its env variable or DEMO_PORT, or 0 (a free one) when
 * that is taken. Returns the ports and the warnings to print.
 */
async function simulatorPorts(rootDir, vendors) {
    const ports = {};
    const warnings = [];
    for (const vendor of vendors) {
        const module = simulatorModule(rootDir, vendor);
        const wanted = portFromEnv(`${envPrefix(vendor)}_PORT`, module.DEMO_PORT || 0);
        ports[vendor] = (await portIsFree(HOST, wanted)) ? wanted : 0;
        if (ports[vendor] !== wanted) warnings.push(`Port ${wanted} is taken: the ${vendor} simulator uses a free port instead.`);
    }
    return { ports, warnings };
}

/** Starts a vendor's simulator on `port`, or on a free port when it was taken in the meantime. */
async function startSimulator(rootDir, vendor, port) {
    const module = simulatorModule(rootDir, vendor);
    try {
        return await module.startForFlows({ host: HOST, port, demo: true });
    } catch (err) {
        if (err.code !== 'EADDRINUSE' || port === 0) throw err;
        console.warn(`Port ${port} is taken: the ${vendor} simulator uses a free port instead.`);
        return module.startForFlows({ host: HOST, port: 0, demo: true });
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

/** `npm run build` as a child process (the same npm that runs us, when it does). */
function startBuild(rootDir) {
    const npm = process.env.npm_execpath;
    if (npm && /\.[cm]?js$/.test(npm)) return spawn(process.execPath, [npm, 'run', 'build'], { cwd: rootDir, stdio: 'inherit' });
    return spawn('npm', ['run', 'build'], { cwd: rootDir, stdio: 'inherit', shell: process.platform === 'win32' });
}

/** Resolves with the exit code of `child` (1 when it could not start or was killed). */
function exitOf(child) {
    return new Promise((resolve) => {
        child.once('error', () => resolve(1));
        child.once('exit', (code) => resolve(code ?? 1));
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
    const demoDir = process.env.DEMO_DIR ? path.resolve(process.env.DEMO_DIR) : path.join(rootDir, '.demo');
    const port = portFromEnv('PORT', DEFAULT_EDITOR_PORT);
    const verbose = process.env.DEMO_VERBOSE === '1';
    const started = {};
    let redis = null;
    const stopLogs = [];
    let child = null; // the build, then Node-RED
    let stopping = false;

    const finish = async (code) => {
        for (const stopLog of stopLogs) stopLog();
        await stopAll(started);
        if (redis) await redis.stop();
        console.log(code === 0 ? 'Demo stopped: Node-RED and the simulators are down.' : `Demo stopped (exit code ${code}): Node-RED and the simulators are down.`);
        process.exit(code);
    };
    const shutdown = async (signal) => {
        if (stopping) {
            // A second signal: do not wait for a clean stop.
            if (child) child.kill('SIGKILL');
            process.exit(1);
        }
        stopping = true;
        // Node-RED logs its sessions out while it stops, so the simulators go last.
        if (child) await stopChild(child, signal);
        await finish(0);
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGHUP', () => shutdown('SIGTERM'));
    // A shell between npm and us (`sh -c` without exec) dies on SIGTERM without passing it on: once
    // the process that started us is gone, stop as if signalled.
    const parent = process.ppid;
    setInterval(() => {
        if (process.ppid !== parent) shutdown('SIGTERM');
    }, PARENT_CHECK_MS).unref();

    // Ports first, before anything is printed or started.
    if (!(await portIsFree(HOST, port))) {
        console.error(`Port ${port} on ${HOST} is already in use (another Node-RED or demo?). Stop that, or start the demo on another port: PORT=1881 npm start`);
        process.exit(1);
    }
    const vendors = exampleVendors(rootDir);
    const { ports, warnings } = await simulatorPorts(rootDir, vendors);
    for (const warning of warnings) console.warn(warning);

    if (process.env.DEMO_SKIP_BUILD !== '1') {
        child = startBuild(rootDir);
        const built = await exitOf(child);
        child = null;
        if (stopping) return;
        if (built !== 0) {
            console.error('The build failed: nothing started.');
            process.exit(1);
        }
    }

    let prepared;
    try {
        for (const vendor of vendors) {
            started[vendor] = await startSimulator(rootDir, vendor, ports[vendor]);
            if (verbose) stopLogs.push(logSimulatorRequests(vendor, started[vendor].simulator));
        }
        redis = await startDemoRedis({ host: HOST });
        prepared = prepareDemo({
            rootDir,
            demoDir,
            simulators: started,
            port,
            reset: process.env.DEMO_RESET === '1',
            verbose,
            redisUrl: redis && redis.url,
        });
        announceFlows(prepared, demoDir);
        if (stopping) return;
        child = startNodeRed(demoDir, port);
    } catch (err) {
        await stopAll(started);
        if (redis) await redis.stop();
        throw err;
    }

    child.on('error', (err) => {
        console.error(`Could not start Node-RED: ${err.message}`);
        if (!stopping) {
            stopping = true;
            finish(1);
        }
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
    if (prepared.dashboard) console.log(`Dashboard: ${editorUrl}/dashboard (polled gauges; live values on ${editorUrl}/dashboard/live)`);
    for (const [vendor, sim] of Object.entries(started)) {
        console.log(`  ${vendor} simulator at ${sim.baseUrl}, user ${sim.credentials.username}`);
    }
    if (redis) console.log(`  Redis (session store example) at ${redis.url}`);
    if (!verbose) console.log('Warnings and errors show here; DEMO_VERBOSE=1 npm start also prints every debug msg and simulator request.');
    console.log('Ctrl+C (SIGINT) or SIGTERM stops the demo.');
}

/** Says whether the examples were deployed, or the user's own flows kept (and how to reset them). */
function announceFlows(prepared, demoDir) {
    const shown = (file) => (path.relative(process.cwd(), file).startsWith('..') ? file : path.relative(process.cwd(), file));
    const where = shown(prepared.flowFile);
    if (prepared.flows === 'kept') {
        console.log(`Keeping the flows you changed in ${where}. DEMO_RESET=1 npm start replaces them with the examples.`);
    } else if (prepared.flows === 'reset') {
        console.log(`DEMO_RESET=1: the flows in ${where} were replaced with the examples.`);
    } else if (prepared.flows === 'written') {
        console.log(`The examples are deployed from ${shown(demoDir) || '.'}/. Your edits there are kept on the next start.`);
    }
}

if (require.main === module) {
    main().catch((err) => {
        console.error(err.message);
        process.exit(1);
    });
}

module.exports = { prepareDemo, demoFlows, readExampleFlows, exampleVendors, demoNodeId };

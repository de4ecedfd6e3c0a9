/**
 * Smoke test of the packed package on another Node-RED and Node (test/compat/run.sh node18-nr3):
 *
 *   1. `npm pack` the built package (as published: nodes/, examples/, README, LICENSE);
 *   2. start the simulator of every vendor the example flows use (test/simulators/<vendor>.ts,
 *      `startForFlows`), write a fresh Node-RED user dir with scripts/start.js `prepareDemo`, then
 *      replace its link to the repo with the tarball, installed by npm from the registry;
 *   3. start that Node-RED (its own node binary) on a free loopback port, check through the admin
 *      API that the package's four node types loaded;
 *   4. for each example, one at a time: trigger its "log in" inject (else its first inject) with
 *      `POST /inject/<id>` and check in its simulator's stats that this cost exactly one login, at
 *      least one data request answered 2xx and, when the example logs out and the simulator counts
 *      logouts, exactly one logout;
 *   5. stop Node-RED and the simulators; one PASS/FAIL line, exit code 0/1.
 *
 * Examples are deployed as shipped except: nothing fires by itself (injects are triggered one at a
 * time), and nodes of types this Node-RED does not have (e.g. FlowFuse Dashboard widgets) are left
 * out with the wires to them.
 *
 *   node -r tsx/cjs test/compat/smoke.ts --node <node binary> --npm-cli <npm-cli.js> --node-red <install prefix> --work <dir>
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

// scripts/ is plain JavaScript.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareDemo, demoNodeId } = require('../../scripts/start.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { needsStore, simulatorOf } = require('../../scripts/example-env.js');

const ROOT = path.resolve(__dirname, '..', '..');
const PACKAGE_NAME = '@rest-session/node-red-rest-session';
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 90000;
const EXAMPLE_TIMEOUT_MS = 30000;
const SETTLE_MS = 750;
const STOP_TIMEOUT_MS = 15000;
const STRUCTURAL_TYPES = new Set(['tab', 'subflow', 'group', 'junction']);

function parseArgs(argv: any) {
    const args: Record<string, string> = {};
    for (let i = 0; i < argv.length; i += 2) {
        const key = argv[i].replace(/^--/, '');
        args[key] = argv[i + 1];
    }
    for (const key of ['node', 'npm-cli', 'node-red', 'work']) {
        if (!args[key]) throw new Error(`missing --${key}`);
        args[key] = path.resolve(args[key]);
    }
    return args;
}

const say = (text: any) => console.log(`[smoke] ${text}`);
const delay = (ms: any) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------------------------

function run(command: string, args: string[], options?: object) {
    const result = spawnSync(command, args, { encoding: 'utf8', ...options });
    if (result.status !== 0) {
        throw new Error(`${path.basename(command)} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
    }
    return result.stdout;
}

/** `npm pack` of the built package into `dir` (no prepack build: the tree is already built). */
function pack(dir: any) {
    for (const name of ['server', 'login', 'request', 'logout']) {
        if (!fs.existsSync(path.join(ROOT, 'nodes', `rest-session-${name}.js`))) throw new Error('the package is not built: run npm run build first');
    }
    const out = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT });
    const [info] = JSON.parse(out.slice(out.indexOf('[')));
    return path.join(dir, info.filename);
}

/** Node types a Node-RED install provides: every registerType in its core nodes. */
function registeredTypes(files: any) {
    const types = new Set();
    for (const file of files) {
        for (const match of fs.readFileSync(file, 'utf8').matchAll(/registerType\(\s*["']([^"']+)["']/g)) types.add(match[1]);
    }
    return types;
}

function jsFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : jsFiles(full);
        return entry.name.endsWith('.js') ? [full] : [];
    });
}

function availableTypes(nodeRedPrefix: any) {
    const nodesPackage = require.resolve('@node-red/nodes/package.json', {
        paths: [path.dirname(require.resolve('node-red/package.json', { paths: [nodeRedPrefix] }))],
    });
    const ours = ['server', 'login', 'request', 'logout', 'store'].map((name) => path.join(ROOT, 'nodes', `rest-session-${name}.js`));
    return registeredTypes([...jsFiles(path.join(path.dirname(nodesPackage), 'core')), ...ours]);
}

/** The shipped examples, each with its nodes. */
function readExamples() {
    const dir = path.join(ROOT, 'examples');
    return fs
        .readdirSync(dir)
        .filter((file) => file.endsWith('.json'))
        .sort()
        .map((file) => ({
            file,
            nodes: JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')),
        }));
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, HOST, () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

/**
 * The user dir: prepareDemo's (settings, flows against the simulators, credentials), then the
 * package installed from the tarball instead of linked, and the flows made deterministic.
 */
// The driver's plumbing is loosely typed: its checks are on what Node-RED and the simulators report.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function prepareUserDir({ userDir, simulators, port, tarball, args, examples, missingTypes }: any) {
    fs.rmSync(userDir, { recursive: true, force: true });
    const { link, flowFile, credentialsFile } = prepareDemo({ rootDir: ROOT, demoDir: userDir, simulators, port });
    if (fs.lstatSync(link).isSymbolicLink()) fs.unlinkSync(link); // the link only, never the repo it points at

    const env = { ...process.env, PATH: `${path.dirname(args.node)}${path.delimiter}${process.env.PATH}` };
    say(`installing ${path.basename(tarball)} into the user dir (npm on ${run(args.node, ['--version']).trim()})`);
    run(args.node, [args['npm-cli'], 'install', '--no-audit', '--no-fund', '--loglevel=error', '--omit=dev', tarball], { cwd: userDir, env });
    const installed = path.join(userDir, 'node_modules', ...PACKAGE_NAME.split('/'));
    if (fs.lstatSync(installed).isSymbolicLink()) throw new Error('the package in the user dir is still a link');
    const version = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')).version;

    // Leave out nodes of types this Node-RED lacks (and the wires to them), fire nothing by itself.
    const dropped = new Set(
        examples
            .flatMap((e: any) => e.nodes)
            .filter((n: any) => missingTypes.has(n.type))
            .map((n: any) => demoNodeId(n)),
    );
    const flows = JSON.parse(fs.readFileSync(flowFile, 'utf8'))
        .filter((node: any) => !dropped.has(node.id))
        .map((node: any) => {
            const copy = { ...node };
            if (Array.isArray(copy.wires)) copy.wires = copy.wires.map((port: any) => port.filter((id: any) => !dropped.has(id)));
            if (copy.type === 'inject') Object.assign(copy, { once: false, repeat: '', crontab: '' });
            return copy;
        });
    fs.writeFileSync(flowFile, `${JSON.stringify(flows, null, 4)}\n`);
    const credentials = JSON.parse(fs.readFileSync(credentialsFile, 'utf8'));
    for (const id of Object.keys(credentials)) if (dropped.has(id)) delete credentials[id];
    fs.writeFileSync(credentialsFile, `${JSON.stringify(credentials, null, 4)}\n`);
    return { version, flows };
}

// ---------------------------------------------------------------------------------------------
// Node-RED
// ---------------------------------------------------------------------------------------------

/** A Node-RED child process with its log so far (`output`) and a promise of its exit (`exited`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type NodeRedChild = any;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function startNodeRed({ args, userDir, port, logFile }: any): NodeRedChild {
    const redJs = path.join(path.dirname(require.resolve('node-red/package.json', { paths: [args['node-red']] })), 'red.js');
    const child: NodeRedChild = spawn(args.node, [redJs, '-u', userDir, '-p', String(port)], {
        cwd: userDir,
        env: { ...process.env, PATH: `${path.dirname(args.node)}${path.delimiter}${process.env.PATH}`, NODE_RED_DISABLE_TELEMETRY: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = fs.createWriteStream(logFile);
    child.output = '';
    const collect = (chunk: any) => {
        log.write(chunk);
        child.output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.exited = new Promise((resolve) =>
        child.once('exit', (code: number | null, signal: string | null) => {
            log.end();
            resolve({ code, signal });
        }),
    );
    return child;
}

async function waitForFlows(child: any) {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error('Node-RED exited during start-up');
        const missing = /Waiting for missing types[^\n]*(\n\s*-[^\n]*)*/.exec(child.output);
        if (missing) throw new Error(`Node-RED is waiting for missing node types:\n${missing[0]}`);
        if (/Started flows/.test(child.output)) return;
        await delay(200);
    }
    throw new Error(`Node-RED did not start its flows within ${START_TIMEOUT_MS / 1000} s`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function admin(port: number, method: string, urlPath: string, body?: unknown): Promise<{ status: number; text: string; json: () => any }> {
    return new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = http.request(
            {
                host: HOST,
                port,
                method,
                path: urlPath,
                agent: false,
                headers: {
                    Accept: 'application/json',
                    ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
                },
            },
            (res) => {
                let text = '';
                res.setEncoding('utf8');
                res.on('data', (chunk) => {
                    text += chunk;
                });
                res.on('end', () => resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) }));
            },
        );
        req.setTimeout(10000, () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
        req.on('error', reject);
        req.end(payload);
    });
}

async function stopNodeRed(child: any) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await child.exited;
    clearTimeout(killer);
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

function downstream(nodes: any, startIds: any) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const byId = new Map<string, any>(nodes.map((n: any) => [n.id, n]));
    const seen = new Set<string>();
    const queue = [...startIds];
    while (queue.length) {
        const id = queue.shift() as string;
        if (seen.has(id)) continue;
        seen.add(id);
        queue.push(...((byId.get(id) || {}).wires || []).flat());
    }
    return [...seen].map((id) => byId.get(id)).filter(Boolean);
}

/**
 * The inject that starts the example: one wired to a login node that leads on to a request, else
 * one that leads to a request (a polling tab logs in on demand), else one wired to a login, else
 * the topmost.
 */
function triggerOf(nodes: any) {
    const injects = nodes.filter((n: any) => n.type === 'inject').sort((a: any, b: any) => (a.y || 0) - (b.y || 0));
    const logins = new Set(nodes.filter((n: any) => n.type === 'rest-session-login').map((n: any) => n.id));
    const wiredToLogin = (n: any) => (n.wires || []).flat().some((id: any) => logins.has(id));
    const reachesRequest = (n: any) => downstream(nodes, [n.id]).some((d: any) => d.type === 'rest-session-request');
    return injects.find((n: any) => wiredToLogin(n) && reachesRequest(n)) || injects.find(reachesRequest) || injects.find(wiredToLogin) || injects[0];
}

/** The path part of a request node's static URL (relative to the base URL), or null. */
function staticPath(url: any) {
    if (typeof url !== 'string' || !url.trim() || url.includes('{{')) return null;
    const text = url.trim();
    const pathname = /^[a-z][a-z0-9+.-]*:/i.test(text) ? new URL(text).pathname : text.split('?')[0];
    return pathname.startsWith('/') ? pathname : `/${pathname}`;
}

function snapshot(stats: any) {
    return {
        logins: stats.loginsOk,
        logouts: stats.logouts,
        requests: Array.isArray(stats.requests) ? stats.requests.length : 0,
    };
}

/** What this example cost on its simulator since `before`. */
function costSince(stats: any, before: any, requestPaths: any) {
    const records = Array.isArray(stats.requests) ? stats.requests.slice(before.requests) : [];
    const ok = records.filter((r: any) => r.status >= 200 && r.status < 300);
    const data = requestPaths.length ? ok.filter((r: any) => requestPaths.some((p: any) => typeof r.path === 'string' && r.path.endsWith(p))) : [];
    return {
        logins: stats.loginsOk - before.logins,
        logouts: typeof stats.logouts === 'number' ? stats.logouts - before.logouts : null,
        data,
        anyOk: ok.length,
    };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function checkExample({ example, deployed, started, port }: any) {
    // The demo gives its copies ids of their own (scripts/demo-flows-file.js).
    const nodes = deployed.filter((n: any) => example.nodes.some((original: any) => demoNodeId(original) === n.id));
    if (!nodes.length) return { ok: true, skipped: true, line: 'skipped: prepareDemo does not deploy it' };
    const servers = nodes.filter((n: any) => n.type === 'rest-session-server');
    const trigger = triggerOf(nodes);
    if (!trigger) return { ok: false, line: 'no inject to trigger' };
    const reached = downstream(nodes, [trigger.id]);
    const requestNodes = reached.filter((n) => (n as any).type === 'rest-session-request');
    const vendors = [
        ...new Set(
            reached
                .filter((n) => (n as any).server)
                .map((n) => nodes.find((s: any) => s.id === (n as any).server))
                .filter(Boolean)
                .map((s) => s.vendor || 'smartserver'),
        ),
    ];
    if (vendors.length !== 1 || !servers.length)
        return { ok: false, line: `the trigger "${trigger.name || trigger.id}" does not reach exactly one server (${vendors.join(', ') || 'none'})` };
    const vendor = vendors[0];
    const simulator = started[vendor].simulator;
    const requestPaths = requestNodes.map((n) => staticPath((n as any).url)).filter(Boolean);
    const expectLogout = reached.some((n) => (n as any).type === 'rest-session-logout') && typeof simulator.stats.logouts === 'number';
    if (typeof simulator.stats.loginsOk !== 'number') return { ok: false, line: `the ${vendor} simulator does not count logins (stats.loginsOk)` };

    const before = snapshot(simulator.stats);
    const answer = await admin(port, 'POST', `/inject/${trigger.id}`, {});
    if ((answer as any).status !== 200) return { ok: false, line: `POST /inject/${trigger.id} answered ${(answer as any).status}` };
    const done = (cost: any) =>
        cost.logins >= 1 && (requestPaths.length ? cost.data.length >= 1 : cost.anyOk > cost.logins) && (!expectLogout || cost.logouts >= 1);
    const deadline = Date.now() + EXAMPLE_TIMEOUT_MS;
    while (!done(costSince(simulator.stats, before, requestPaths)) && Date.now() < deadline) await delay(100);
    await delay(SETTLE_MS); // anything extra (a second login, a retry) would show by now
    const cost = costSince(simulator.stats, before, requestPaths);

    const problems = [];
    if (cost.logins !== 1) problems.push(`${cost.logins} logins (expected 1)`);
    if (requestPaths.length && !cost.data.length) problems.push(`no data request to ${requestPaths.join(' or ')} answered 2xx`);
    if (!requestPaths.length && cost.anyOk <= cost.logins) problems.push('no data request answered 2xx');
    if (expectLogout && cost.logouts !== 1) problems.push(`${cost.logouts} logouts (expected 1)`);
    const dataText = cost.data.length
        ? `${cost.data.length} data request(s) (${[...new Set(cost.data.map((r: any) => `${r.method} ${r.path} ${r.status}`))].join(', ')})`
        : 'data request(s) not matched by path';
    const logoutText =
        cost.logouts === null
            ? 'logouts not counted by this simulator'
            : expectLogout
              ? `${cost.logouts} logout(s)`
              : `${cost.logouts} logout(s) (the example does not log out)`;
    return {
        ok: problems.length === 0,
        vendor,
        line: `${vendor}, inject "${trigger.name || trigger.id}": ${cost.logins} login(s), ${dataText}, ${logoutText}${problems.length ? ` -- ${problems.join('; ')}` : ''}`,
    };
}

// ---------------------------------------------------------------------------------------------

async function main() {
    const args = parseArgs(process.argv.slice(2));
    fs.mkdirSync(args.work, { recursive: true });
    const userDir = path.join(args.work, 'userdir');
    const logFile = path.join(args.work, 'node-red.log');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const started: Record<string, any> = {};
    let child;
    let failed = 0;
    try {
        const tarball = pack(args.work);
        say(`packed ${path.relative(ROOT, tarball)}`);

        const examples = readExamples();
        const types = availableTypes(args['node-red']);
        const missingTypes = new Set(
            examples
                .flatMap((e) => e.nodes.map((n: any) => n.type))
                .filter((type) => !STRUCTURAL_TYPES.has(type) && !type.startsWith('subflow:') && !types.has(type)),
        );
        if (missingTypes.size) say(`left out: nodes of types this Node-RED does not have: ${[...missingTypes].join(', ')}`);

        const vendors = [
            ...new Set(
                examples
                    .flatMap((e) => e.nodes)
                    .filter((n) => n.type === 'rest-session-server')
                    .map((n) => n.vendor || 'smartserver'),
            ),
        ].sort();
        for (const vendor of vendors) {
            const file = path.join(ROOT, 'test', 'simulators', `${vendor}.ts`);
            if (!fs.existsSync(file)) throw new Error(`an example uses vendor "${vendor}" but test/simulators/${vendor}.ts does not exist`);
            started[vendor] = await require(file).startForFlows({ host: HOST, port: 0 });
            say(`${vendor} simulator at ${started[vendor].baseUrl}`);
        }

        const port = await freePort();
        const { version, flows } = prepareUserDir({ userDir, simulators: started, port, tarball, args, examples, missingTypes });
        const deployedCount = examples.filter((e) => e.nodes.some((n: any) => flows.some((f: any) => f.id === demoNodeId(n)))).length;
        say(
            `user dir ${path.relative(ROOT, userDir)}: ${PACKAGE_NAME}@${version} from the tarball, ${deployedCount} of ${examples.length} example(s) deployed`,
        );

        child = startNodeRed({ args, userDir, port, logFile });
        await waitForFlows(child);
        const settings = (await admin(port, 'GET', '/settings')).json();
        say(`Node-RED ${settings.version} on Node ${run(args.node, ['--version']).trim()} at http://${HOST}:${port}`);
        const nodeSets = (await admin(port, 'GET', '/nodes')).json().filter((set: any) => set.module === PACKAGE_NAME);
        const loaded = nodeSets.filter((set: any) => set.enabled !== false && set.loaded !== false && !set.err).flatMap((set: any) => set.types);
        const expected = ['rest-session-server', 'rest-session-login', 'rest-session-request', 'rest-session-logout'];
        const notLoaded = expected.filter((type) => !loaded.includes(type));
        if (notLoaded.length) {
            const errors = nodeSets.filter((set: any) => set.err).map((set: any) => `${set.name}: ${set.err}`);
            throw new Error(`node types not loaded: ${notLoaded.join(', ')}${errors.length ? ` (${errors.join('; ')})` : ''}`);
        }
        say(`loaded: ${loaded.join(', ')} (${PACKAGE_NAME}@${nodeSets[0].version})`);

        // This leg starts each vendor's own simulator; an example served by another one (the device
        // and OAuth2 provider simulators, a grant that waits for a person) is run by
        // test/nodes/examples.spec.ts on the other legs, and is not counted here.
        const servedElsewhere = (example: any) =>
            example.nodes.some((n: any) => n.type === 'rest-session-server' && simulatorOf(n) !== (n.vendor || 'smartserver'));
        const elsewhere = examples.filter(servedElsewhere);
        if (elsewhere.length)
            say(
                `left out: ${elsewhere.length} example(s) served by another simulator (run by test/nodes/examples.spec.ts): ${elsewhere.map((e: any) => e.file).join(', ')}`,
            );
        // A session store needs a Redis, which this leg does not start (prepareDemo leaves such examples out without one).
        const withStore = examples.filter((e: any) => !servedElsewhere(e) && needsStore(e.nodes));
        if (withStore.length)
            say(
                `left out: ${withStore.length} example(s) with a session store, no Redis on this leg (run by test/nodes/examples.spec.ts, the fleet by test/e2e/fleet.spec.ts): ${withStore.map((e: any) => e.file).join(', ')}`,
            );
        for (const example of examples.filter((e: any) => !servedElsewhere(e) && !needsStore(e.nodes))) {
            const result = await checkExample({ example, deployed: flows, started, port });
            if (!result.ok) failed++;
            say(`${result.skipped ? 'skip' : result.ok ? 'ok  ' : 'FAIL'} ${example.file}: ${result.line}`);
        }

        const loginsBefore = Object.fromEntries(Object.entries(started).map(([vendor, s]) => [vendor, (s as any).simulator.stats.loginsOk]));
        await stopNodeRed(child);
        for (const [vendor, s] of Object.entries(started)) {
            const extra = (s as any).simulator.stats.loginsOk - loginsBefore[vendor];
            if (extra !== 0) {
                failed++;
                say(`FAIL ${vendor}: ${extra} login(s) while Node-RED stopped`);
            }
        }
        say(`Node-RED stopped (log: ${path.relative(ROOT, logFile)})`);
    } catch (error: any) {
        failed++;
        say(`FAIL ${error.message}`);
    } finally {
        if (child) await stopNodeRed(child);
        for (const s of Object.values(started)) await (s as any).stop().catch(() => undefined);
    }
    if (failed && child) {
        say('last lines of the Node-RED log:');
        console.log(child.output.split('\n').slice(-60).join('\n'));
    }
    say(failed ? `${failed} problem(s)` : 'all examples passed');
    return failed === 0;
}

main().then(
    (ok) => process.exit(ok ? 0 : 1),
    (error) => {
        console.error(error);
        process.exit(1);
    },
);

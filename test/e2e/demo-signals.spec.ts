/**
 * `npm start` as an IDE, a process manager or a container runs it: a signal goes to the npm PID
 * only. After SIGTERM or SIGINT no process of the demo (npm, the shell, scripts/start.js, Node-RED)
 * is left and every port it listened on is free again, and the demo says it stopped. A taken editor
 * port ends the demo before it starts anything. A newcomer's edit, deployed in the editor, survives
 * the next `npm start` (DEMO_RESET=1 replaces it, and says so); the terminal stays quiet unless
 * DEMO_VERBOSE=1. The demo runs on free ports and in a temporary user dir, without the build
 * (`npm test` has just built), so this runs beside other tests and a developer's own demo.
 */
import http from 'node:http';
import assert from 'node:assert';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const HOST = '127.0.0.1';
// The examples' simulator names (scripts/example-env.js is plain CommonJS, like the demo).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const exampleEnv = require('../../scripts/example-env.js') as { simulatorOf(server: object): string; envPrefix(simulator: string): string };
/** Every simulator the demo starts (those the example flows' servers name), as its port variable's prefix. */
const VENDORS = [
    ...new Set(
        fs
            .readdirSync(path.join(ROOT, 'examples'))
            .filter((file) => file.endsWith('.json'))
            .flatMap((file) => JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8')) as Array<{ type: string; vendor?: string }>)
            .filter((node) => node.type === 'rest-session-server')
            .map((node) => exampleEnv.envPrefix(exampleEnv.simulatorOf(node))),
    ),
];
const READY = /stops the demo/;
const SDM_POLLED = /GET \/rest\/v1\.3\/inventory\/deviceMgmt\/devices 200/;

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

function portIsFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const probe = net.createServer();
        probe.once('error', () => resolve(false));
        probe.listen({ host: HOST, port, exclusive: true }, () => probe.close(() => resolve(true)));
    });
}

/** Parent pid and state of every process, from /proc (Linux). */
function processTable(): Map<number, { ppid: number; state: string }> {
    const table = new Map<number, { ppid: number; state: string }>();
    for (const entry of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            table.set(Number(entry), { ppid: Number(ppid), state });
        } catch {
            // gone meanwhile
        }
    }
    return table;
}

/** `pid` and all its descendants. */
function processTree(pid: number): number[] {
    const table = processTable();
    const tree = [pid];
    for (let i = 0; i < tree.length; i++) {
        for (const [child, { ppid }] of table) if (ppid === tree[i]) tree.push(child);
    }
    return tree;
}

function alive(pid: number): boolean {
    const entry = processTable().get(pid);
    return entry !== undefined && entry.state !== 'Z';
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

interface Demo {
    npm: ChildProcess;
    output: () => string;
    ports: number[];
    demoDir: string;
}

async function startDemo({
    demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rest-session-demo-')),
    extraEnv = { DEMO_VERBOSE: '1' } as Record<string, string>,
} = {}): Promise<Demo> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv, DEMO_DIR: demoDir, DEMO_SKIP_BUILD: '1', PORT: String(await freePort()) };
    for (const vendor of VENDORS) env[`${vendor}_PORT`] = String(await freePort());
    const ports = [env.PORT, ...VENDORS.map((v) => env[`${v}_PORT`])].map(Number);
    const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    npm.stdout!.on('data', (chunk) => (text += chunk));
    npm.stderr!.on('data', (chunk) => (text += chunk));
    return { npm, output: () => text, ports, demoDir };
}

/** Stops a demo with SIGINT and waits until npm is gone. */
async function stopDemo(demo: Demo): Promise<void> {
    const tree = processTree(demo.npm.pid!);
    demo.npm.kill('SIGINT');
    await waitUntil(() => tree.every((pid) => !alive(pid)), 30000, `the demo to stop:\n${demo.output()}`);
}

/** The Node-RED admin API of a running demo (JSON in and out). */
function admin(demo: Demo, method: string, urlPath: string, body?: unknown): Promise<{ status: number; json: any }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { 'Node-RED-API-Version': 'v1', 'Node-RED-Deployment-Type': 'full' };
    if (payload) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) });
    return new Promise((resolve, reject) => {
        const req = http.request({ host: HOST, port: demo.ports[0], method, path: urlPath, headers }, (res) => {
            let text = '';
            res.on('data', (chunk) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
        });
        req.on('error', reject);
        req.end(payload);
    });
}

describe('npm start and signals', function () {
    this.timeout(90000);
    const demos: Demo[] = [];

    after(function () {
        for (const demo of demos) {
            for (const pid of processTree(demo.npm.pid!)) {
                try {
                    process.kill(pid, 'SIGKILL');
                } catch {
                    // already gone
                }
            }
            fs.rmSync(demo.demoDir, { recursive: true, force: true });
        }
    });

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        it(`${signal} to the npm PID stops npm, the demo, Node-RED and the simulators and frees every port`, async function () {
            const demo = await startDemo();
            demos.push(demo);
            await waitUntil(() => READY.test(demo.output()), 40000, `the demo to start:\n${demo.output()}`);
            // The flows have logged in (the SDM tab's first poll answered), so there is something to log out.
            await waitUntil(() => SDM_POLLED.test(demo.output()), 20000, `the first SDM poll:\n${demo.output()}`);
            // With redis-server installed (as here and in CI) the demo runs one for the session store example, and stops it too.
            const redisPort = Number(/Redis \(session store example\) at redis:\/\/127\.0\.0\.1:(\d+)/.exec(demo.output())?.[1]);
            assert.ok(redisPort > 0, `the demo's Redis is announced:\n${demo.output()}`);
            const ports = [...demo.ports, redisPort];
            for (const port of ports) assert.strictEqual(await portIsFree(port), false, `port ${port} is in use while the demo runs`);
            const tree = processTree(demo.npm.pid!);
            assert.ok(tree.length >= 4, `npm, the demo, Node-RED and redis-server are running (${tree})`);

            demo.npm.kill(signal);
            await waitUntil(() => tree.every((pid) => !alive(pid)), 20000, `processes ${tree.filter(alive)} to end:\n${demo.output()}`);
            for (const port of ports) assert.strictEqual(await portIsFree(port), true, `port ${port} is free again`);
            // Node-RED stopped cleanly: its sessions were logged out before the simulators went.
            assert.match(demo.output(), /Stopped flows/);
            assert.match(demo.output(), /POST \/rest\/v1\.3\/admin\/logout 204/);
            assert.match(demo.output(), /Demo stopped: Node-RED and the simulators are down\.\n$/);
        });
    }

    it('keeps an edit deployed in the editor over the next npm start, says so, and DEMO_RESET=1 replaces it', async function () {
        this.timeout(240000);
        const demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rest-session-demo-'));
        const run = async (extraEnv: Record<string, string>, whileUp: (demo: Demo) => Promise<void>): Promise<string> => {
            const demo = await startDemo({ demoDir, extraEnv });
            demos.push(demo);
            await waitUntil(() => READY.test(demo.output()), 60000, `the demo to start:\n${demo.output()}`);
            await whileUp(demo);
            await stopDemo(demo);
            return demo.output();
        };
        const tabLabels = async (demo: Demo): Promise<string[]> =>
            (await admin(demo, 'GET', '/flows')).json.filter((n: { type: string }) => n.type === 'tab').map((n: { label: string }) => n.label);
        let original: string[] = [];

        // 1. A fresh user dir gets the examples; the terminal stays quiet.
        const first = await run({}, async (demo) => {
            original = await tabLabels(demo);
            assert.ok(original.length >= 6, `the examples' tabs (${original})`);
        });
        assert.match(first, /The examples are deployed from/);
        assert.doesNotMatch(first, /simulator\] (GET|POST)/, 'no simulator request lines without DEMO_VERBOSE');
        assert.doesNotMatch(first, /\[debug:/, 'no debug msgs without DEMO_VERBOSE');
        assert.match(first, /DEMO_VERBOSE=1/);
        assert.match(first, /Demo stopped/);

        // 2. Unchanged flows are the demo's own: no "keeping" message. Then the newcomer edits a tab and deploys.
        const second = await run({}, async (demo) => {
            const flows = (await admin(demo, 'GET', '/flows')).json;
            const tab = flows.find((n: { type: string }) => n.type === 'tab');
            tab.label = 'my own tab';
            assert.strictEqual((await admin(demo, 'POST', '/flows', flows)).status, 204);
        });
        assert.doesNotMatch(second, /Keeping the flows/);

        // 3. The next start keeps the edit and says how to reset.
        const third = await run({}, async (demo) => {
            assert.ok((await tabLabels(demo)).includes('my own tab'), 'the edit survived');
        });
        assert.match(third, /Keeping the flows you changed in .*flows\.json\. DEMO_RESET=1 npm start replaces them/);

        // 4. DEMO_RESET=1 brings the examples back and says so.
        const fourth = await run({ DEMO_RESET: '1' }, async (demo) => {
            assert.deepStrictEqual(await tabLabels(demo), original);
        });
        assert.match(fourth, /DEMO_RESET=1: the flows in .*flows\.json were replaced with the examples/);
    });

    it('without redis-server leaves the session store example out and says so in one line', async function () {
        const demo = await startDemo({ extraEnv: { REDIS_SERVER: 'no-such-redis-server' } });
        demos.push(demo);
        await waitUntil(() => READY.test(demo.output()), 40000, `the demo to start:\n${demo.output()}`);
        const flows = (await admin(demo, 'GET', '/flows')).json as Array<{ type: string; label?: string }>;
        await stopDemo(demo);
        const lines = demo.output().split('\n');
        assert.deepStrictEqual(
            lines.filter((line) => /Redis/.test(line)),
            [
                'Skipping examples/Several Node-RED instances on one account.json in the demo: it needs Redis (install redis-server, e.g. apt-get install redis-server).',
            ],
        );
        assert.ok(!flows.some((node) => node.type === 'rest-session-store'), 'no session store deployed');
        assert.ok(flows.filter((node) => node.type === 'tab').length >= 6, 'the other examples run');
    });

    it('ends with a clear message and a non-zero code, starting nothing, when the editor port is taken', async function () {
        const blocker = net.createServer();
        const port = await freePort();
        await new Promise<void>((resolve) => blocker.listen(port, HOST, resolve));
        try {
            const demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rest-session-demo-'));
            const simulatorPort = await freePort();
            const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js')], {
                cwd: ROOT,
                env: { ...process.env, DEMO_DIR: demoDir, DEMO_SKIP_BUILD: '1', PORT: String(port), SMARTSERVER_PORT: String(simulatorPort) },
                stdio: ['ignore', 'pipe', 'pipe'],
            });
            let stdout = '';
            let stderr = '';
            child.stdout!.on('data', (chunk) => (stdout += chunk));
            child.stderr!.on('data', (chunk) => (stderr += chunk));
            const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
            assert.notStrictEqual(code, 0);
            assert.strictEqual(stdout, '', 'nothing printed before the check');
            assert.match(stderr, new RegExp(`Port ${port} on ${HOST} is already in use.*PORT=`));
            assert.strictEqual(await portIsFree(simulatorPort), true, 'no simulator started');
            assert.deepStrictEqual(fs.readdirSync(demoDir), [], 'no user dir written');
            fs.rmSync(demoDir, { recursive: true, force: true });
        } finally {
            await new Promise((resolve) => blocker.close(resolve));
        }
    });
});

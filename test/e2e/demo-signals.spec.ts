/**
 * `npm start` as an IDE, a process manager or a container runs it: a signal goes to the npm PID
 * only. After SIGTERM or SIGINT no process of the demo (npm, the shell, scripts/start.js, Node-RED)
 * is left and every port it listened on is free again. A taken editor port ends the demo before it
 * starts anything. The demo runs on free ports and in a temporary user dir, without the build
 * (`npm test` has just built), so this runs beside other tests and a developer's own demo.
 */
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

async function startDemo(): Promise<Demo> {
    const demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rest-session-demo-'));
    const env: NodeJS.ProcessEnv = { ...process.env, DEMO_DIR: demoDir, DEMO_SKIP_BUILD: '1', PORT: String(await freePort()) };
    for (const vendor of VENDORS) env[`${vendor}_PORT`] = String(await freePort());
    const ports = [env.PORT, ...VENDORS.map((v) => env[`${v}_PORT`])].map(Number);
    const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    npm.stdout!.on('data', (chunk) => (text += chunk));
    npm.stderr!.on('data', (chunk) => (text += chunk));
    return { npm, output: () => text, ports, demoDir };
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
            for (const port of demo.ports) assert.strictEqual(await portIsFree(port), false, `port ${port} is in use while the demo runs`);
            const tree = processTree(demo.npm.pid!);
            assert.ok(tree.length >= 3, `npm, the demo and Node-RED are running (${tree})`);

            demo.npm.kill(signal);
            await waitUntil(() => tree.every((pid) => !alive(pid)), 20000, `processes ${tree.filter(alive)} to end:\n${demo.output()}`);
            for (const port of demo.ports) assert.strictEqual(await portIsFree(port), true, `port ${port} is free again`);
            // Node-RED stopped cleanly: its sessions were logged out before the simulators went.
            assert.match(demo.output(), /Stopped flows/);
            assert.match(demo.output(), /POST \/rest\/v1\.3\/admin\/logout 204/);
        });
    }

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

/**
 * A real Node-RED process for the browser and admin-API tests: a fresh user dir under the OS temp
 * dir, the package either symlinked (fast) or installed from its `npm pack` tarball (as a user gets
 * it), settings that keep the editor quiet (no tour, no telemetry prompt), and helpers to call the
 * admin API.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..', '..');
export const PACKAGE_NAME = '@rest-session/node-red-rest-session';
export const CA_FILE = path.join(ROOT, 'test', 'fixtures', 'tls', 'ca.crt');
const START_TIMEOUT_MS = 60000;
const STOP_TIMEOUT_MS = 10000;

export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** settings.js for a test user dir; `extra` is JS source of further properties (e.g. adminAuth). */
export function writeSettings(userDir: string, extra = ''): void {
    fs.writeFileSync(
        path.join(userDir, 'settings.js'),
        `module.exports = {
    uiHost: '127.0.0.1',
    flowFile: 'flows.json',
    credentialSecret: 'rest-session-test-secret',
    editorTheme: { tours: false, palette: { catalogues: [] } },
    telemetry: { enabled: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
    ${extra}
};
`,
    );
}

export function writeProjectPackage(userDir: string): void {
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }, null, 4));
}

/** `<userDir>/node_modules/@rest-session/node-red-rest-session` → this repo (needs nodes/ built). */
export function linkPackage(userDir: string): void {
    const link = path.join(userDir, 'node_modules', ...PACKAGE_NAME.split('/'));
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(ROOT, link, 'dir');
}

/**
 * Packs this repo (without running the build: nodes/ must already be built) and installs the
 * tarball into the user dir, as `npm install <tarball>` does for a published release, together
 * with `extraPackages` (registry specs). Returns the tarball's file list.
 */
export function installPackedPackage(userDir: string, extraPackages: string[] = []): string[] {
    const packDir = tempDir('rest-session-pack-');
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [info] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tarball = path.join(packDir, info.filename);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-save', tarball, ...extraPackages], {
        cwd: userDir,
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    fs.rmSync(packDir, { recursive: true, force: true });
    return info.files.map((f) => f.path);
}

export interface RunningNodeRed {
    url: string;
    port: number;
    child: ChildProcess;
    log(): string;
    stop(): Promise<void>;
}

/**
 * Starts `node node_modules/node-red/red.js -u <userDir> -p 0` and resolves once it listens, with the
 * port it bound. The process log is kept in `log()`.
 */
export async function startNodeRed(userDir: string, env: Record<string, string> = {}): Promise<RunningNodeRed> {
    const redJs = require.resolve('node-red/red.js', { paths: [ROOT] });
    // Port 0: the system picks a free port as Node-RED binds it, and its log names it (a port picked
    // here and bound later could be taken in between by another test on a busy machine).
    const child = spawn(process.execPath, [redJs, '-u', userDir, '-p', '0'], {
        cwd: userDir,
        env: { ...process.env, ...env, NODE_RED_DISABLE_TELEMETRY: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const deadline = Date.now() + START_TIMEOUT_MS;
    let running: RegExpExecArray | null;
    while (!(running = /Server now running at http:\/\/127\.0\.0\.1:(\d+)\//.exec(output))) {
        if (child.exitCode !== null) throw new Error(`Node-RED exited with ${child.exitCode}:\n${output}`);
        if (Date.now() > deadline) {
            child.kill('SIGKILL');
            throw new Error(`Node-RED did not start within ${START_TIMEOUT_MS / 1000} s:\n${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const port = Number(running[1]);
    return { url: `http://127.0.0.1:${port}`, port, child, log: () => output, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
        const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        child.once('exit', () => {
            clearTimeout(killer);
            resolve();
        });
        child.kill('SIGTERM');
    });
}

export interface AdminResponse {
    status: number;
    headers: http.IncomingHttpHeaders;
    text: string;
    json: any;
}

/** One HTTP exchange with the admin API. */
export function request(
    baseUrl: string,
    method: string,
    urlPath: string,
    { body, token, headers = {} }: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<AdminResponse> {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
        const req = http.request(
            new URL(urlPath, baseUrl),
            {
                method,
                headers: {
                    ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}),
                    ...(token ? { Authorization: `Bearer ${token}` } : {}),
                    ...headers,
                },
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on('data', (chunk: Buffer) => chunks.push(chunk));
                res.on('end', () => {
                    const text = Buffer.concat(chunks).toString('utf8');
                    let json: unknown;
                    try {
                        json = JSON.parse(text);
                    } catch {
                        json = undefined;
                    }
                    resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
                });
            },
        );
        req.setTimeout(60000, () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
    });
}

/** Deploys `flows` (nodes may carry `credentials`) as a full deployment. */
export async function deployFlows(baseUrl: string, flows: unknown[], token?: string): Promise<void> {
    const res = await request(baseUrl, 'POST', '/flows', { body: flows, token, headers: { 'Node-RED-Deployment-Type': 'full' } });
    if (res.status !== 204 && res.status !== 200) throw new Error(`deploy failed: HTTP ${res.status} ${res.text}`);
}

/** An access token for an adminAuth user (POST /auth/token, the editor's own client id). */
export async function adminToken(baseUrl: string, username: string, password: string, scope = '*'): Promise<string> {
    const res = await request(baseUrl, 'POST', '/auth/token', {
        body: { client_id: 'node-red-admin', grant_type: 'password', scope, username, password },
    });
    if (res.status !== 200 || !res.json || !res.json.access_token) throw new Error(`login to the admin API failed: HTTP ${res.status}`);
    return res.json.access_token as string;
}

/** A core tls-config node that trusts the test CA. */
export function tlsConfigNode(id: string): Record<string, unknown> {
    return {
        id,
        type: 'tls-config',
        name: 'test CA',
        cert: '',
        key: '',
        ca: CA_FILE,
        certname: '',
        keyname: '',
        caname: '',
        servername: '',
        verifyservercert: true,
        alpnprotocol: '',
    };
}

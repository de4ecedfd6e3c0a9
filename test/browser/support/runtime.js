'use strict';
/**
 * A real Node-RED process for the browser and admin-API tests: a fresh user dir under the OS temp
 * dir, the package either symlinked (fast) or installed from its `npm pack` tarball (as a user gets
 * it), settings that keep the editor quiet (no tour, no telemetry prompt), and helpers to call the
 * admin API.
 */
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..', '..');
const PACKAGE_NAME = '@rest-session/node-red-rest-session';
const CA_FILE = path.join(ROOT, 'test', 'fixtures', 'tls', 'ca.crt');
const START_TIMEOUT_MS = 60000;
const STOP_TIMEOUT_MS = 10000;

function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

function tempDir(prefix) {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** settings.js for a test user dir; `extra` is JS source of further properties (e.g. adminAuth). */
function writeSettings(userDir, extra = '') {
    fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = {
    uiHost: '127.0.0.1',
    flowFile: 'flows.json',
    credentialSecret: 'rest-session-test-secret',
    editorTheme: { tours: false, palette: { catalogues: [] } },
    telemetry: { enabled: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
    ${extra}
};
`);
}

function writeProjectPackage(userDir) {
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }, null, 4));
}

/** `<userDir>/node_modules/@rest-session/node-red-rest-session` → this repo (needs nodes/ built). */
function linkPackage(userDir) {
    const link = path.join(userDir, 'node_modules', ...PACKAGE_NAME.split('/'));
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(ROOT, link, 'dir');
}

/**
 * Packs this repo (without running the build: nodes/ must already be built) and installs the
 * tarball into the user dir, as `npm install <tarball>` does for a published release, together
 * with `extraPackages` (registry specs). Returns the tarball's file list.
 */
function installPackedPackage(userDir, extraPackages = []) {
    const packDir = tempDir('rest-session-pack-');
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [info] = JSON.parse(out);
    const tarball = path.join(packDir, info.filename);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-save', tarball, ...extraPackages], { cwd: userDir, stdio: ['ignore', 'pipe', 'pipe'] });
    fs.rmSync(packDir, { recursive: true, force: true });
    return info.files.map((f) => f.path);
}

/**
 * Starts `node node_modules/node-red/red.js -u <userDir> -p <port>` and resolves once the admin API
 * answers. The process log is kept in `log()`.
 */
async function startNodeRed(userDir) {
    const port = await freePort();
    const redJs = require.resolve('node-red/red.js', { paths: [ROOT] });
    const child = spawn(process.execPath, [redJs, '-u', userDir, '-p', String(port)], {
        cwd: userDir,
        env: { ...process.env, NODE_RED_DISABLE_TELEMETRY: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!/Server now running/.test(output)) {
        if (child.exitCode !== null) throw new Error(`Node-RED exited with ${child.exitCode}:\n${output}`);
        if (Date.now() > deadline) {
            child.kill('SIGKILL');
            throw new Error(`Node-RED did not start within ${START_TIMEOUT_MS / 1000} s:\n${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
        url,
        port,
        child,
        log: () => output,
        stop: () => stopChild(child),
    };
}

function stopChild(child) {
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

/** One HTTP exchange with the admin API: `{ status, headers, text, json }`. */
function request(baseUrl, method, urlPath, { body, token, headers = {} } = {}) {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
        const req = http.request(new URL(urlPath, baseUrl), {
            method,
            headers: {
                ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}),
                ...(token ? { Authorization: `Bearer ${token}` } : {}),
                ...headers,
            },
        }, (res) => {
            const chunks = [];
            res.on('data', (chunk) => chunks.push(chunk));
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                let json;
                try {
                    json = JSON.parse(text);
                } catch {
                    json = undefined;
                }
                resolve({ status: res.statusCode, headers: res.headers, text, json });
            });
        });
        req.setTimeout(60000, () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
    });
}

/** Deploys `flows` (nodes may carry `credentials`) as a full deployment. */
async function deployFlows(baseUrl, flows, token) {
    const res = await request(baseUrl, 'POST', '/flows', { body: flows, token, headers: { 'Node-RED-Deployment-Type': 'full' } });
    if (res.status !== 204 && res.status !== 200) throw new Error(`deploy failed: HTTP ${res.status} ${res.text}`);
}

/** An access token for an adminAuth user (POST /auth/token, the editor's own client id). */
async function adminToken(baseUrl, username, password, scope = '*') {
    const res = await request(baseUrl, 'POST', '/auth/token', {
        body: { client_id: 'node-red-admin', grant_type: 'password', scope, username, password },
    });
    if (res.status !== 200 || !res.json || !res.json.access_token) throw new Error(`login to the admin API failed: HTTP ${res.status}`);
    return res.json.access_token;
}

/** A core tls-config node that trusts the test CA. */
function tlsConfigNode(id) {
    return { id, type: 'tls-config', name: 'test CA', cert: '', key: '', ca: CA_FILE, certname: '', keyname: '', caname: '', servername: '', verifyservercert: true, alpnprotocol: '' };
}

module.exports = {
    ROOT,
    PACKAGE_NAME,
    CA_FILE,
    freePort,
    tempDir,
    writeSettings,
    writeProjectPackage,
    linkPackage,
    installPackedPackage,
    startNodeRed,
    request,
    deployFlows,
    adminToken,
    tlsConfigNode,
};

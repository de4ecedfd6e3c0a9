/**
 * `npm run test:browser`: the editor as a user meets it, in Debian's Chromium driven by playwright-core.
 *
 * Node-RED (the dev dependency) runs on a fresh user dir with the package installed from its
 * `npm pack` tarball (not a symlink) plus FlowFuse Dashboard 2. Every vendor's simulator runs, and
 * the demo of `npm start` (every example flow, pointed at the simulators by scripts/start.js) is
 * deployed against them. The spec checks the palette, creates a config node through the dialog
 * (vendor switch, validation, Test login with the right and a wrong password), deploys, makes sure
 * the password never comes back to the editor, that every demo tab shows a green session dot and
 * the dashboard live values, that the help of every node fits the sidebar in English and German,
 * and that a German browser gets German texts. Screenshots go to test/artifacts/.
 *
 * The session store example gets a real redis-server (test/support/redis-server.ts), as the demo
 * gives it one when redis-server is installed.
 *
 * Needs nodes/ built (`npm run build`), /usr/bin/chromium (or CHROMIUM_PATH) and redis-server. Not part of `npm test`.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { Browser, Page, chromium } from 'playwright-core';

import type { FlowSimulator } from '../simulators/loopback-server';
import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';
import * as runtime from './support/runtime';
import { DEMO_CLIENT } from '../simulators/oauth2';

const ARTIFACTS = path.join(runtime.ROOT, 'test', 'artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
];
const DASHBOARD_PACKAGE = '@flowfuse/node-red-dashboard@1';
const DASHBOARD_EXAMPLE = 'SmartServer dashboard gauge.json';
const FLOW_NODES = { 'rest-session-login': 'session login', 'rest-session-request': 'authorized request', 'rest-session-logout': 'session logout' };
/** Every node type of the package (package.json `node-red.nodes`). */
const HELP_TYPES = Object.keys(
    (JSON.parse(fs.readFileSync(path.join(runtime.ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } })['node-red'].nodes,
);
const HELP_HEADING = { 'en-US': /^(Properties|Inputs)$/, 'de-DE': /^(Eigenschaften|Eingaben)$/ };
const WRONG_PASSWORD = 'Wrong-Passw0rd!x';
const HEADER_INJECT = 'browser-header-inject';
const EXAMPLE_FILES = fs
    .readdirSync(path.join(runtime.ROOT, 'examples'))
    .filter((file) => file.endsWith('.json'))
    .sort();
/** One dashboard per Node-RED: an imported dashboard example shares the demo's base and theme. */

// The demo's own flow preparation (scripts/start.js is plain CommonJS).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const demo = require(path.join(runtime.ROOT, 'scripts', 'start.js')) as {
    readExampleFlows(rootDir: string): Array<Record<string, any>>;
    exampleVendors(rootDir: string): string[];
    demoNodeId(node: { id: string; type: string }): string;
    demoFlows(
        nodes: Array<Record<string, any>>,
        options: { rootDir: string; simulators: Record<string, FlowSimulator<unknown>>; redisUrl?: string },
    ): { flows: Array<Record<string, any>>; credentials: Record<string, unknown>; env: Record<string, string> };
};

/** The demo's copies of the OAuth2 examples' config nodes that a person authorizes (the demo gives them ids of their own). */
const OAUTH2_CODE_SERVER = demo.demoNodeId({ id: '0a2c0de0000000a', type: 'rest-session-server' });
const OAUTH2_DEVICE_SERVER = demo.demoNodeId({ id: '0a2dc0de000000a', type: 'rest-session-server' });

/** Every simulator the demo starts: those the example flows' servers name. */
const VENDORS = demo.exampleVendors(runtime.ROOT);

/** The flows `npm start` deploys, each server node carrying its credentials, and their environment. */
/** The Redis of the session store example (the demo starts one when redis-server is installed). */
let redis: RedisServer | undefined;

function demoSetup(simulators: Record<string, FlowSimulator<unknown>>): { flows: Array<Record<string, any>>; env: Record<string, string> } {
    const { flows, credentials, env } = demo.demoFlows(demo.readExampleFlows(runtime.ROOT), { rootDir: runtime.ROOT, simulators, redisUrl: redis?.url });
    return { flows: flows.map((node) => (credentials[node.id] ? { ...node, credentials: credentials[node.id] } : node)), env };
}

function demoFlow(simulators: Record<string, FlowSimulator<unknown>>): Array<Record<string, any>> {
    return demoSetup(simulators).flows;
}

/** Palette labels wrap: compare their words. */
function squash(text: unknown): string {
    return String(text).replace(/\s+/g, ' ').trim();
}

/** A local port where nothing listens (bound, then closed). */
async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

function shot(page: Page, name: string): Promise<Buffer> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    return page.screenshot({ path: path.join(ARTIFACTS, name) });
}

/** Opens a fresh editor page and waits for the palette. */
async function openEditor(
    browser: Browser,
    url: string,
    locale: string,
    viewport = { width: 1400, height: 950 },
): Promise<{ page: Page; close(): Promise<void> }> {
    const context = await browser.newContext({ locale, viewport });
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="rest-session-request"]', { timeout: 60000 });
    return { page, close: () => context.close() };
}

describe('editor in a real browser (npm pack install, Chromium)', function () {
    this.timeout(300000);
    const simulators: Record<string, FlowSimulator<any>> = {};
    let sim: FlowSimulator<any>;
    let red: runtime.RunningNodeRed;
    let userDir: string;
    let browser: Browser;
    let page: Page;
    let packedFiles: string[];
    const pageErrors: string[] = [];
    let serverId: string;

    before(async function () {
        for (const file of ['rest-session-server.js', 'rest-session-request.js']) {
            assert.ok(fs.existsSync(path.join(runtime.ROOT, 'nodes', file)), `nodes/${file} is missing: build first`);
        }
        assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
        for (const vendor of VENDORS) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            // As in the demo: the SmartServer's Meter 2 changes every 1.5 s (the live dashboard draws it).
            simulators[vendor] = await (require(`../simulators/${vendor}`) as { startForFlows(options: object): Promise<FlowSimulator<any>> }).startForFlows({
                demo: true,
            });
        }
        // The dialog's own SmartServer: its login counts are not mixed with the demo's polls.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        sim = await (require('../simulators/smartserver') as { startForFlows(): Promise<FlowSimulator<any>> }).startForFlows();
        redis = await RedisServer.start();
        userDir = runtime.tempDir('rest-session-browser-');
        runtime.writeProjectPackage(userDir);
        packedFiles = runtime.installPackedPackage(userDir, [DASHBOARD_PACKAGE]);
        runtime.writeSettings(userDir);
        const setup = demoSetup(simulators);
        red = await runtime.startNodeRed(userDir, setup.env);
        // The demo's OAuth2 provider knows the editor's redirect URI (this Node-RED's port is a free one).
        simulators.oauth2?.simulator.registerRedirect(DEMO_CLIENT.id, `${red.url}/rest-session-server/oauth2/callback`);
        await runtime.deployFlows(red.url, setup.flows);
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
        page = await browser.newPage({ viewport: { width: 1400, height: 950 }, locale: 'en-US' });
        page.on('pageerror', (error) => pageErrors.push(error.message));
        await page.goto(red.url, { waitUntil: 'domcontentloaded' });
        await page.waitForSelector('.red-ui-palette-node[data-palette-type="inject"]', { timeout: 60000 });
    });

    after(async function () {
        if (browser) await browser.close();
        if (red) await red.stop();
        for (const started of [...Object.values(simulators), sim]) if (started) await started.stop();
        await redis?.stop();
        if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    });

    it('installs from the npm pack tarball with the editor files, locales and icons', function () {
        for (const file of [
            'nodes/rest-session-server.html',
            'nodes/locales/en-US/rest-session-request.html',
            'nodes/locales/de/rest-session-request.html',
            'nodes/locales/de/rest-session-request.json',
            'nodes/icons/rest-session-request.svg',
            `examples/${DASHBOARD_EXAMPLE}`,
        ]) {
            assert.ok(packedFiles.includes(file), `${file} is in the tarball`);
        }
        const installed = path.join(userDir, 'node_modules', ...runtime.PACKAGE_NAME.split('/'));
        assert.ok(!fs.lstatSync(installed).isSymbolicLink(), 'a real install, not a symlink');
    });

    it('shows the three flow nodes in the palette with their labels and registers the config node', async function () {
        for (const [type, label] of Object.entries(FLOW_NODES)) {
            const node = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
            await node.waitFor({ state: 'attached', timeout: 10000 });
            assert.strictEqual(squash(await node.locator('.red-ui-palette-label').textContent()), label);
        }
        const config = await page.evaluate(() => {
            const def = (window as any).RED.nodes.getType('rest-session-server');
            return def && { category: def.category, set: def.set.module };
        });
        assert.deepStrictEqual(config, { category: 'config', set: runtime.PACKAGE_NAME });
    });

    it('creates a config node through the dialog: vendor fields, validation, Test login', async function () {
        // An authorized request dragged from the palette onto the canvas, then opened.
        const before = await page.locator('#red-ui-workspace-chart g.red-ui-flow-node').count();
        await page
            .locator('.red-ui-palette-node[data-palette-type="rest-session-request"]')
            .dragTo(page.locator('#red-ui-workspace-chart'), { targetPosition: { x: 700, y: 420 } });
        await page.waitForFunction((n) => document.querySelectorAll('#red-ui-workspace-chart g.red-ui-flow-node').length > n, before);
        await page.locator('#red-ui-workspace-chart g.red-ui-flow-node:has(text:text-is("authorized request")) rect.red-ui-flow-node').first().dblclick();
        await page.waitForSelector('#node-input-url');
        await page.click('#node-input-btn-server-add');
        await page.waitForSelector('#node-config-input-baseUrl', { state: 'visible' });

        // The vendor select shows only that vendor's fields.
        const visible = (selector: string) => page.locator(selector).isVisible();
        const fieldsOf = async () => ({
            newPassword: await visible('#node-config-input-newPassword'),
            apiVersion: await visible('#node-config-input-apiVersion'),
            format: await visible('#node-config-input-format'),
            authScheme: await visible('#node-config-input-authScheme'),
            tokenLifetime: await visible('#node-config-input-tokenLifetime'),
            domain: await visible('#node-config-input-domain'),
        });
        assert.deepStrictEqual(await fieldsOf(), {
            newPassword: true,
            apiVersion: false,
            format: false,
            authScheme: false,
            tokenLifetime: false,
            domain: false,
        });
        assert.strictEqual(await page.getAttribute('#node-config-input-baseUrl', 'placeholder'), 'https://192.168.1.10/cms');
        await page.selectOption('#node-config-input-vendor', 'cmwell');
        assert.deepStrictEqual(await fieldsOf(), {
            newPassword: false,
            apiVersion: false,
            format: false,
            authScheme: true,
            tokenLifetime: true,
            domain: false,
        });
        await page.fill('#node-config-input-tokenLifetime', '61d');
        await page.waitForSelector('#rest-session-server-problem-tokenLifetime', { state: 'visible' });
        assert.match(await page.innerText('#rest-session-server-problem-tokenLifetime'), /60 days/);
        await shot(page, 'config-dialog-cmwell.png');
        await page.fill('#node-config-input-tokenLifetime', '30d');
        await page.waitForSelector('#rest-session-server-problem-tokenLifetime', { state: 'hidden' });
        await page.selectOption('#node-config-input-vendor', 'sdm');
        assert.deepStrictEqual(await fieldsOf(), {
            newPassword: false,
            apiVersion: true,
            format: true,
            authScheme: false,
            tokenLifetime: false,
            domain: false,
        });
        await page.selectOption('#node-config-input-vendor', 'commvault');
        assert.deepStrictEqual(await fieldsOf(), {
            newPassword: false,
            apiVersion: false,
            format: true,
            authScheme: false,
            tokenLifetime: false,
            domain: true,
        });
        assert.strictEqual(await page.getAttribute('#node-config-input-baseUrl', 'placeholder'), 'https://host/webconsole/api');
        await page.selectOption('#node-config-input-vendor', 'smartserver');

        // A bad URL is shown as such; the core TLS and proxy pickers are there; the password is masked.
        await page.fill('#node-config-input-baseUrl', 'not a url');
        await page.waitForSelector('#rest-session-server-problem-baseUrl', { state: 'visible' });
        assert.ok(
            await page.locator('#node-config-input-baseUrl').evaluate((el) => (el as HTMLElement).classList.contains('input-error')),
            'the field is marked invalid',
        );
        await page.fill('#node-config-input-baseUrl', sim.baseUrl);
        await page.waitForSelector('#rest-session-server-problem-baseUrl', { state: 'hidden' });
        assert.strictEqual(await page.getAttribute('#node-config-input-password', 'type'), 'password');
        assert.strictEqual(await page.locator('select#node-config-input-proxy').count(), 1, 'http proxy picker');
        const tlsId = await page.evaluate(() => {
            const ids: string[] = [];
            (window as any).RED.nodes.eachConfig((n: { type: string; id: string }) => {
                if (n.type === 'tls-config') ids.push(n.id);
            });
            return ids[ids.length - 1];
        });
        await page.selectOption('select#node-config-input-tls', tlsId);
        await page.fill('#node-config-input-name', 'simulator');
        await page.fill('#node-config-input-username', sim.credentials.username);
        await page.fill('#node-config-input-password', sim.credentials.password);

        // Test login, right password: user and expiry, logged out again.
        const logins = sim.simulator.stats.loginsOk;
        await page.click('#rest-session-server-test-login');
        await page.waitForSelector('#rest-session-server-test-result[data-result]', { timeout: 40000 });
        const ok = await page.innerText('#rest-session-server-test-result');
        assert.strictEqual(await page.getAttribute('#rest-session-server-test-result', 'data-result'), 'ok', ok);
        assert.match(ok, /Logged in as admin/);
        assert.match(ok, /expire/);
        assert.match(ok, /Logged out again/);
        assert.strictEqual(sim.simulator.stats.loginsOk, logins + 1);
        await page.locator('#rest-session-server-test-result').scrollIntoViewIfNeeded();
        await shot(page, 'config-dialog-test-login-ok.png');

        // Wrong password: INVALID_CREDENTIALS, and the password is in no answer.
        await page.fill('#node-config-input-password', WRONG_PASSWORD);
        await page.click('#rest-session-server-test-login');
        await page.waitForSelector('#rest-session-server-test-result[data-result]', { timeout: 40000 });
        const failed = await page.innerText('#rest-session-server-test-result');
        assert.strictEqual(await page.getAttribute('#rest-session-server-test-result', 'data-result'), 'failed', failed);
        assert.match(failed, /^\s*Login failed: INVALID_CREDENTIALS/);
        // Only this password is held back (another is sent at once), until a time, in the one duration format.
        assert.match(failed, /This password is held back until .+ \(\d+m \d+s\); a different password is sent at once\./);
        assert.ok(!failed.includes(WRONG_PASSWORD));
        await page.locator('#rest-session-server-test-result').scrollIntoViewIfNeeded();
        await shot(page, 'config-dialog-test-login-invalid.png');

        await page.fill('#node-config-input-password', sim.credentials.password);
        await page.click('#node-config-dialog-ok');
        await page.waitForSelector('#node-config-input-baseUrl', { state: 'detached' });
        await page.fill('#node-input-url', '/iap/devs');
        // A row of the header list, as in the core node: a typed-in name and value.
        await page.click('.node-input-headers-container-row .red-ui-editableList-addButton');
        const row = page.locator('#node-input-headers-container li').first();
        await row.locator('.red-ui-typedInput-container').nth(0).locator('input.red-ui-typedInput-input').fill('X-Browser-Row');
        await row.locator('.red-ui-typedInput-container').nth(1).locator('input.red-ui-typedInput-input').fill('from-the-editor');
        await shot(page, 'request-dialog-header-list.png');
        serverId = await page.inputValue('#node-input-server');
        assert.ok(serverId && serverId !== '_ADD_');
        await page.click('#node-dialog-ok');
        await page.waitForSelector('#node-input-url', { state: 'detached' });
    });

    it('deploys, and the password never comes back to the editor', async function () {
        // An inject node wired to the new request node (imported, as a user pastes a flow), to send its header row.
        const headers = await page.evaluate((injectId) => {
            const RED = (window as any).RED;
            const request = RED.nodes.filterNodes({ type: 'rest-session-request' }).find((n: any) => n.url === '/iap/devs' && n.headers?.length);
            const inject = { id: injectId, type: 'inject', name: 'send header row', props: [{ p: 'payload' }], payload: '', payloadType: 'date' };
            RED.nodes.import([{ ...inject, repeat: '', once: false, topic: '', x: 500, y: 420, z: request.z, wires: [] }], { generateIds: false });
            RED.nodes.addLink({ source: RED.nodes.node(injectId), sourcePort: 0, target: request });
            RED.nodes.dirty(true);
            RED.view.redraw(true);
            return request.headers;
        }, HEADER_INJECT);
        assert.deepStrictEqual(headers, [{ keyType: 'other', keyValue: 'X-Browser-Row', valueType: 'other', valueValue: 'from-the-editor' }]);
        await page.waitForFunction(() => !document.querySelector('#red-ui-header-button-deploy')!.classList.contains('disabled'));
        await page.click('#red-ui-header-button-deploy');
        let flows: runtime.AdminResponse;
        const deadline = Date.now() + 20000;
        do {
            await new Promise((resolve) => setTimeout(resolve, 250));
            flows = await runtime.request(red.url, 'GET', '/flows');
        } while (!flows.json.some((n: { id: string; type: string }) => n.id === serverId) && Date.now() < deadline);
        assert.strictEqual(flows.status, 200);
        assert.ok(
            flows.json.some((n: { id: string; type: string }) => n.id === serverId && n.type === 'rest-session-server'),
            'config node deployed',
        );
        assert.ok(!flows.text.includes(sim.credentials.password), 'no password in /flows');
        const injectNode = flows.json.find((n: { id: string }) => n.id === HEADER_INJECT);
        assert.ok(injectNode?.wires?.[0]?.length === 1, `the inject node is deployed and wired: ${JSON.stringify(injectNode)}`);
        const credentials = await runtime.request(red.url, 'GET', `/credentials/rest-session-server/${serverId}`);
        assert.strictEqual(credentials.json.has_password, true);
        assert.strictEqual(credentials.json.password, undefined);
        assert.ok(!credentials.text.includes(sim.credentials.password), 'no password from the credentials API');

        // Reopen the config node from a fresh editor: the field holds the placeholder only.
        await page.reload({ waitUntil: 'domcontentloaded' });
        await page.waitForSelector('.red-ui-palette-node[data-palette-type="rest-session-request"]', { timeout: 60000 });
        await page.evaluate((id) => (window as any).RED.editor.editConfig('', 'rest-session-server', id, 'node-config-input'), serverId);
        await page.waitForSelector('#node-config-input-password', { state: 'visible' });
        await page.waitForFunction(() => (document.querySelector('#node-config-input-password') as HTMLInputElement).value !== '');
        assert.strictEqual(await page.inputValue('#node-config-input-password'), '__PWRD__');
        const html = await page.content();
        assert.ok(!html.includes(sim.credentials.password), 'no password in the DOM');
        const inEditor = await page.evaluate(
            (pw) => JSON.stringify((window as any).RED.nodes.createCompleteNodeSet({ credentials: true })).includes(pw),
            sim.credentials.password,
        );
        assert.strictEqual(inEditor, false, 'no password in the editor model');

        // Test login with the unchanged field uses the stored password on the runtime side.
        await page.click('#rest-session-server-test-login');
        await page.waitForSelector('#rest-session-server-test-result[data-result]', { timeout: 40000 });
        assert.strictEqual(
            await page.getAttribute('#rest-session-server-test-result', 'data-result'),
            'ok',
            await page.innerText('#rest-session-server-test-result'),
        );

        // With the stored password, a changed base URL is not tested at all: "not sent", not "failed".
        await page.fill('#node-config-input-baseUrl', `${sim.baseUrl}/other`);
        await page.click('#rest-session-server-test-login');
        await page.waitForSelector('#rest-session-server-test-result[data-result]', { timeout: 40000 });
        const notSent = await page.innerText('#rest-session-server-test-result');
        assert.match(notSent, /^\s*Login not sent: CONFIG\n.*base URL differs from the deployed configuration: type the password again/s);
        await page.locator('#rest-session-server-test-result').scrollIntoViewIfNeeded();
        await shot(page, 'config-dialog-test-login-not-sent.png');
        await page.click('#node-config-dialog-cancel');
        await page.waitForSelector('#node-config-input-baseUrl', { state: 'detached' });

        // The header row goes on the wire with the request (the inject button's admin call).
        const sent = sim.simulator.stats.requests.length;
        assert.strictEqual((await runtime.request(red.url, 'POST', `/inject/${HEADER_INJECT}`)).status, 200);
        await waitFor(() => sim.simulator.stats.requests.slice(sent).some((r: { path: string }) => r.path.endsWith('/iap/devs')), {
            timeoutMs: 30000,
            message: () =>
                `the request of the header row; Node-RED said:\n${red
                    .log()
                    .split('\n')
                    .filter((line) => /error|warn|rest-session-request|inject/i.test(line))
                    .slice(-15)
                    .join('\n')}`,
        });
        const onWire = sim.simulator.stats.requests.slice(sent).find((r: { path: string }) => r.path.endsWith('/iap/devs'));
        assert.strictEqual(onWire.headers['x-browser-row'], 'from-the-editor');
        assert.strictEqual(onWire.status, 200);
    });

    /** Opens a deployed config node's dialog and waits for its Authorize button. */
    async function openAuthorize(id: string): Promise<void> {
        await page.evaluate((serverId) => (window as any).RED.editor.editConfig('', 'rest-session-server', serverId, 'node-config-input'), id);
        await page.waitForSelector('#rest-session-server-authorize', { state: 'visible' });
    }

    it('authorizes the OAuth2 examples by clicking Authorize: the provider page in a popup, and the device code', async function () {
        const provider = simulators.oauth2.simulator;
        await openAuthorize(OAUTH2_CODE_SERVER);
        assert.strictEqual(await page.innerText('#rest-session-server-redirect-uri'), `${red.url}/rest-session-server/oauth2/callback`);
        const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#rest-session-server-authorize')]);
        await popup.waitForSelector('#approve', { timeout: 30000 });
        await shot(popup, 'oauth2-consent.png');
        await popup.click('#approve');
        await popup.waitForFunction(() => document.body && /Authorized/.test(document.body.innerText), undefined, { timeout: 30000 });
        assert.strictEqual(provider.stats.oauth.tokenRequests.authorization_code, 1);
        assert.ok(!popup.url().includes(DEMO_CLIENT.secret ?? '-') && !popup.url().includes(encodeURIComponent(DEMO_CLIENT.secret ?? '-')));
        await page.click('#node-config-dialog-cancel');
        await page.waitForSelector('#rest-session-server-authorize', { state: 'detached' });

        await openAuthorize(OAUTH2_DEVICE_SERVER);
        await page.click('#rest-session-server-authorize');
        await page.waitForSelector('#rest-session-server-user-code', { timeout: 30000 });
        const userCode = await page.innerText('#rest-session-server-user-code');
        const link = await page.getAttribute('#rest-session-server-verification-link', 'href');
        await shot(page, 'oauth2-device-code.png');
        const verify = await browser.newPage();
        await verify.goto(String(link));
        assert.strictEqual(await verify.inputValue('#user_code'), userCode);
        await verify.click('#approve');
        await verify.waitForFunction(() => /Device connected/.test(document.body.innerText));
        await verify.close();
        await page.click('#node-config-dialog-cancel');
        await page.waitForSelector('#rest-session-server-authorize', { state: 'detached' });
    });

    it('shows a green session dot on every demo tab once its first poll has answered', async function () {
        const tabs: Array<{ id: string; label: string }> = await page.evaluate(() => {
            const found: Array<{ id: string; label: string }> = [];
            (window as any).RED.nodes.eachWorkspace((ws: { id: string; label: string }) => {
                found.push({ id: ws.id, label: ws.label });
            });
            return found;
        });
        const demoTabs = demoFlow(simulators)
            .filter((n) => n.type === 'tab')
            .map((n) => n.id);
        assert.ok(demoTabs.length >= 6, `the demo has a tab per example (${demoTabs.length})`);
        for (const id of demoTabs)
            assert.ok(
                tabs.some((tab) => tab.id === id),
                `tab ${id} is in the editor`,
            );
        for (const tab of tabs.filter((t) => demoTabs.includes(t.id))) {
            await page.evaluate((id) => (window as any).RED.workspaces.show(id), tab.id);
            const green = page.locator('#red-ui-workspace-chart .red-ui-flow-node-status-dot-green');
            await green.first().waitFor({ state: 'attached', timeout: 60000 });
            const labels = await page
                .locator('#red-ui-workspace-chart g.red-ui-flow-node-group:has(.red-ui-flow-node-status-dot-green) .red-ui-flow-node-status-label')
                .allTextContents();
            // Session nodes show the user under the green dot; a live updates node shows "live (n)".
            const isUser = (label: string) => /^[\w.@-]+$/.test(label); // Proxmox users are user@realm
            assert.ok(
                labels.some(isUser) && labels.every((label) => isUser(label) || /^live \(\d+\)$/.test(label)),
                `${tab.label}: the user name under the green dot (${labels})`,
            );
            await shot(page, `demo-tab-${tab.label.replace(/[^\w-]+/g, '-').toLowerCase()}.png`);
        }
    });

    it('fills the dashboard gauges with live values at /dashboard', async function () {
        const dashboard = await browser.newPage({ viewport: { width: 1000, height: 600 } });
        try {
            await dashboard.goto(`${red.url}/dashboard/smartserver`, { waitUntil: 'domcontentloaded' });
            await dashboard.waitForFunction(() => /230\.1/.test(document.body.innerText), null, { timeout: 40000 });
            await dashboard.waitForTimeout(1000); // let the needle animation settle for the picture
            await shot(dashboard, 'dashboard-gauges.png');
        } finally {
            await dashboard.close();
        }
    });

    it('draws the live dashboard: gauges, and a chart per unit with its own axis and a readable legend', async function () {
        const dashboard = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
        try {
            await dashboard.goto(`${red.url}/dashboard/live`, { waitUntil: 'domcontentloaded' });
            await dashboard.waitForFunction(() => document.querySelectorAll('canvas').length >= 2, null, { timeout: 40000 });
            // The simulator changes Meter 2 every 1.5 s: wait until the voltage gauge has shown three values.
            await dashboard.waitForFunction(
                () => {
                    const w = window as any;
                    w.voltages = w.voltages || new Set();
                    for (const value of document.body.innerText.match(/\b2[0-9]{2}(\.[0-9]+)?\b/g) || []) w.voltages.add(value);
                    return w.voltages.size >= 3;
                },
                null,
                { timeout: 40000, polling: 250 },
            );
            await shot(dashboard, 'dashboard-live-charts.png');
        } finally {
            await dashboard.close();
        }
    });

    for (const locale of ['en-US', 'de-DE'] as const) {
        it(`shows the help of every node within the default sidebar width (${locale})`, async function () {
            // A tall window, so that one screenshot holds the whole help.
            const editor = await openEditor(browser, red.url, locale, { width: 1400, height: 3200 });
            try {
                for (const type of HELP_TYPES) {
                    await editor.page.evaluate((t) => (window as any).RED.sidebar.help.show(t), type);
                    const help = editor.page.locator('.red-ui-help .rest-session-help');
                    await help.waitFor({ state: 'visible', timeout: 10000 });
                    const heading = squash(await help.locator('h3').first().textContent());
                    assert.match(heading, HELP_HEADING[locale], `${type}: ${heading}`);
                    const overflow = await help.evaluate((root) => {
                        const panel = root.closest('.red-ui-sidebar-content, #red-ui-sidebar') as HTMLElement;
                        const limit = panel.getBoundingClientRect().right;
                        const wide = Array.from(root.querySelectorAll('*'))
                            .filter((el) => el.getBoundingClientRect().right > limit + 1)
                            .map((el) => `<${el.tagName.toLowerCase()}> ${String(el.textContent).slice(0, 60)}`);
                        // The help and every box around it up to the sidebar: none scrolls sideways.
                        const scrollers: HTMLElement[] = [];
                        for (let el: HTMLElement | null = root as HTMLElement; el && el !== panel.parentElement; el = el.parentElement) scrollers.push(el);
                        const scrolls = scrollers.filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => el.className);
                        return { width: panel.clientWidth, wide, scrolls };
                    });
                    assert.ok(overflow.width > 200 && overflow.width < 600, `the default sidebar width (${overflow.width} px)`);
                    assert.deepStrictEqual(overflow.wide, [], `${type} (${locale}): elements wider than the ${overflow.width} px sidebar`);
                    assert.deepStrictEqual(overflow.scrolls, [], `${type} (${locale}): a horizontal scrollbar`);
                    await editor.page.locator('#red-ui-sidebar').screenshot({ path: path.join(ARTIFACTS, `help-${type}-${locale}.png`) });
                }
            } finally {
                await editor.close();
            }
        });
    }

    it('speaks German with a German browser', async function () {
        const editor = await openEditor(browser, red.url, 'de-DE');
        try {
            const german = editor.page;
            const request = german.locator('.red-ui-palette-node[data-palette-type="rest-session-request"] .red-ui-palette-label');
            await request.waitFor({ state: 'attached', timeout: 60000 });
            assert.strictEqual(squash(await request.textContent()), 'autorisierte Anfrage');
            await german.evaluate((id) => (window as any).RED.editor.editConfig('', 'rest-session-server', id, 'node-config-input'), serverId);
            await german.waitForSelector('#rest-session-server-test-login', { state: 'visible' });
            assert.strictEqual((await german.innerText('#rest-session-server-test-login')).trim(), 'Anmeldung testen');
            await shot(german, 'config-dialog-de.png');
        } finally {
            await editor.close();
        }
    });

    it('keeps every German label of the config dialog on one line beside its icon, and Test login answers in German', async function () {
        const editor = await openEditor(browser, red.url, 'de-DE');
        try {
            const german = editor.page;
            await german.locator('.red-ui-palette-node[data-palette-type="rest-session-request"]').waitFor({ state: 'attached', timeout: 60000 });
            // A SmartServer of the demo: its dialog has the most rows (new password, and the rest).
            const id: string = await german.evaluate(() => {
                let found = '';
                (window as any).RED.nodes.eachConfig((n: { type: string; vendor: string; id: string }) => {
                    if (!found && n.type === 'rest-session-server' && n.vendor === 'smartserver') found = n.id;
                });
                return found;
            });
            await german.evaluate((server) => (window as any).RED.editor.editConfig('', 'rest-session-server', server, 'node-config-input'), id);
            await german.waitForSelector('#node-config-input-newPassword', { state: 'visible' });
            const wrapped: string[] = await german.evaluate(() =>
                Array.from(document.querySelectorAll<HTMLLabelElement>('.form-row > label[for^="node-config-input-"]'))
                    .filter((label) => label.offsetParent !== null && label.querySelector('i.fa'))
                    .filter((label) => {
                        const icon = label.querySelector('i.fa')!.getBoundingClientRect();
                        const text = label.querySelector('span')!.getBoundingClientRect();
                        const input = document.getElementById(label.htmlFor)?.getBoundingClientRect();
                        // The text's box starts on the icon's line and is one line high; the input starts beside it.
                        const oneLine = text.height < icon.height * 1.8 && Math.abs(text.top - icon.top) < icon.height;
                        return !oneLine || (input !== undefined && input.height > 0 && input.top >= label.getBoundingClientRect().bottom);
                    })
                    .map((label) => label.textContent!.trim()),
            );
            assert.deepStrictEqual(wrapped, []);
            await german.locator('#node-config-input-newPassword').scrollIntoViewIfNeeded();
            await shot(german, 'config-dialog-de-labels.png');

            // Test login answers in the editor's language: the stored password does not go to another base URL.
            await german.fill('#node-config-input-baseUrl', 'https://127.0.0.2:1/cms');
            await german.click('#rest-session-server-test-login');
            const result = german.locator('#rest-session-server-test-result[data-result="failed"]');
            await result.waitFor({ state: 'visible', timeout: 30000 });
            const said = squash(await result.innerText());
            assert.match(said, /Anmeldung nicht gesendet: CONFIG/);
            assert.match(said, /Die Basis-URL weicht von der deployten Konfiguration ab: Geben Sie das Passwort erneut ein, um die Anmeldung zu testen\./);
            assert.doesNotMatch(said, /differs|type the password/);
            await result.scrollIntoViewIfNeeded();
            await shot(german, 'config-dialog-de-test-login.png');

            // A transport failure too: a port where nothing listens names host and port, in German.
            await german.fill('#node-config-input-baseUrl', `https://127.0.0.1:${await closedPort()}/cms`);
            await german.fill('#node-config-input-password', 'ein-Passwort-1');
            await german.click('#rest-session-server-test-login');
            await waitFor(async () => /nimmt niemand Verbindungen an/.test(await result.innerText().catch(() => '')), {
                timeoutMs: 30000,
                message: 'the German answer for a closed port',
            });
            assert.match(squash(await result.innerText()), /Anmeldung (fehlgeschlagen|nicht gesendet): NETWORK .*Prüfen Sie Host und Port in der Basis-URL/);
        } finally {
            await editor.close();
        }
    });

    // Last: an imported dashboard example adds pages beside the demo's own (same paths), which the dashboard checks above must not meet.
    it('imports every example through Import > Examples into the running demo; deployed, its injects give green statuses and outputs', async function () {
        this.timeout(EXAMPLE_FILES.length * 120000);
        await page.evaluate(() => {
            const w = window as any;
            w.__debugFrom = [];
            w.RED.comms.subscribe('debug', (_topic: string, msg: { id: string }) => w.__debugFrom.push(msg.id));
        });
        for (const file of EXAMPLE_FILES) {
            try {
                await importAndRun(file);
            } catch (error) {
                await shot(page, `imported-failed.png`);
                throw new Error(`${file}: ${(error as Error).message}`);
            }
        }
    });

    async function importAndRun(file: string): Promise<void> {
        {
            const example = JSON.parse(fs.readFileSync(path.join(runtime.ROOT, 'examples', file), 'utf8')) as Array<Record<string, any>>;
            // No id may exist already: the demo's copies have ids of their own, each dashboard example its own ui-base and ui-theme.
            const clashes: string[] = await page.evaluate(
                (ids) => ids.filter((id) => (window as any).RED.nodes.node(id) || (window as any).RED.nodes.workspace(id)),
                example.map((n) => n.id),
            );
            assert.deepStrictEqual(clashes, [], `${file}: no node id of the example exists in the running demo`);
            const tabsBefore: string[] = await page.evaluate(() => {
                const ids: string[] = [];
                (window as any).RED.nodes.eachWorkspace((ws: { id: string }) => ids.push(ws.id));
                return ids;
            });
            await page.click('#red-ui-header-button-sidemenu');
            await page.click('#menu-item-import');
            await page.click('#red-ui-clipboard-dialog-import-tabs a[href="#red-ui-clipboard-dialog-import-tab-examples"]');
            const library = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
            // The package's folder stays open between imports: open it only when the example is not shown.
            const exampleName = file.replace(/\.json$/, '');
            const item = library.locator('.red-ui-treeList-label', { hasText: exampleName });
            await library.locator('.red-ui-treeList-label', { hasText: runtime.PACKAGE_NAME }).first().waitFor({ state: 'visible', timeout: 20000 });
            // The folder's entries may render a moment after it: click the example once it shows (opening the
            // folder only while it does not), until Import is enabled.
            const importButton = page.locator('#red-ui-clipboard-dialog-ok:not([disabled])');
            await waitFor(
                async () => {
                    if (await importButton.isVisible()) return true;
                    if (await item.first().isVisible())
                        await item
                            .first()
                            .click({ timeout: 2000 })
                            .catch(() => undefined);
                    else
                        await library
                            .locator('.red-ui-treeList-label', { hasText: runtime.PACKAGE_NAME })
                            .first()
                            .click({ timeout: 2000 })
                            .catch(() => undefined);
                    return importButton.isVisible();
                },
                { timeoutMs: 30000, intervalMs: 500, message: `${exampleName} selected and Import enabled` },
            );
            await page.click('#red-ui-clipboard-dialog-ok');
            const tabId: string = await page
                .waitForFunction(
                    (before) => {
                        let added = '';
                        (window as any).RED.nodes.eachWorkspace((ws: { id: string }) => {
                            if (!before.includes(ws.id)) added = ws.id;
                        });
                        return added;
                    },
                    tabsBefore,
                    { timeout: 20000 },
                )
                .then((handle) => handle.jsonValue() as Promise<string>);
            const exampleTab = example.find((n) => n.type === 'tab')!;
            assert.strictEqual(tabId, exampleTab.id, `${file}: imported as it is, without Import copy`);
            assert.strictEqual(
                await page.locator('.red-ui-notification button:visible', { hasText: 'Import copy' }).count(),
                0,
                `${file}: Node-RED asked for no "Import copy"`,
            );
            // One Node-RED serves one dashboard: the Dashboard's editor folds an imported ui-base into the demo's.
            if (example.some((n) => n.type === 'ui-base')) {
                await page.waitForFunction(() => {
                    let bases = 0;
                    (window as any).RED.nodes.eachConfig((n: { type: string }) => void (n.type === 'ui-base' && bases++));
                    return bases === 1;
                });
            }
            const imported: Array<Record<string, any>> = await page.evaluate(
                // As exported (the editor keeps wires as links): with their wires.
                (z) =>
                    (window as any).RED.nodes
                        .createExportableNodeSet((window as any).RED.nodes.filterNodes({ z }))
                        .map((n: any) => ({ id: n.id, type: n.type, name: n.name, y: n.y, wires: n.wires })),
                tabId,
            );
            await page.evaluate((id) => (window as any).RED.workspaces.show(id), tabId);
            await page.waitForFunction(() => !document.querySelector('#red-ui-header-button-deploy')!.classList.contains('disabled'));
            await page.click('#red-ui-header-button-deploy');
            await page.waitForFunction(() => document.querySelector('#red-ui-header-button-deploy')!.classList.contains('disabled'), null, {
                timeout: 30000,
            });

            // An OAuth2 grant other than the login waits for a person (Authorize, a device code, a pasted token): imported and deployed is all here.
            if (example.some((n) => n.type === 'rest-session-server' && n.grant && n.grant !== 'login')) return;
            const byId = new Map(imported.map((n) => [n.id, n]));
            const below = (ids: string[]) => {
                const seen = new Set<string>();
                const queue = ids.flatMap((id) => (byId.get(id)?.wires || []).flat() as string[]);
                while (queue.length) {
                    const id = queue.shift()!;
                    if (seen.has(id)) continue;
                    seen.add(id);
                    queue.push(...((byId.get(id)?.wires || []).flat() as string[]));
                }
                return seen;
            };
            // A catch's or a status node's debug is no output of the flow; status nodes have no wires-in, catch nodes neither.
            const errorDebugs = below(imported.filter((n) => n.type === 'catch').map((n) => n.id));
            const stateDebugs = below(imported.filter((n) => n.type === 'status').map((n) => n.id));
            const outputs = (ids: Set<string>) =>
                imported.filter((n) => n.type === 'debug' && ids.has(n.id) && !errorDebugs.has(n.id) && !stateDebugs.has(n.id));
            const injects = imported.filter((n) => n.type === 'inject').sort((a, b) => a.y - b.y);
            const logsOut = (n: Record<string, any>) => [...below([n.id])].some((id) => byId.get(id)?.type === 'rest-session-logout');
            const fire = async (inject: Record<string, any>) => {
                const expected = outputs(below([inject.id])).map((n) => n.id);
                const seenBefore: number = await page.evaluate(() => (window as any).__debugFrom.length);
                await page.locator(`#red-ui-workspace-chart g[id="${inject.id}"] .red-ui-flow-node-button-button`).click();
                if (expected.length) {
                    await page.waitForFunction(
                        ({ ids, from }) => (window as any).__debugFrom.slice(from).some((id: string) => ids.includes(id)),
                        { ids: expected, from: seenBefore },
                        { timeout: 30000 },
                    );
                }
            };
            for (const inject of injects.filter((n) => !logsOut(n))) await fire(inject);
            await page.locator('#red-ui-workspace-chart .red-ui-flow-node-status-dot-green').first().waitFor({ state: 'attached', timeout: 30000 });
            await shot(
                page,
                `imported-${file
                    .replace(/\.json$/, '')
                    .replace(/[^\w-]+/g, '-')
                    .toLowerCase()}.png`,
            );
            for (const inject of injects.filter(logsOut)) await fire(inject);
            const errors: string[] = await page.evaluate((ids) => (window as any).__debugFrom.filter((id: string) => ids.includes(id)), [...errorDebugs]);
            assert.deepStrictEqual(errors, [], `${file}: nothing reached its Catch`);
        }
    }

    it('fills the custom vendor from the UniFi OS preset, flags a bad rejectedBody as you type, and Test login names the CSRF token', async function () {
        const unifi = simulators['unifi-os'];
        const editor = await openEditor(browser, red.url, 'en-US');
        try {
            const p = editor.page;
            p.on('pageerror', (error) => pageErrors.push(error.message));
            await p.evaluate(() => (window as any).RED.editor.editConfig('', 'rest-session-server', '_ADD_', 'node-config-input'));
            await p.waitForSelector('#node-config-input-vendor', { state: 'visible' });
            await p.selectOption('#node-config-input-vendor', 'custom');
            await p.selectOption('#rest-session-server-preset-custom', 'unifiOs');
            const values = async (...names: string[]) => Promise.all(names.map((name) => p.inputValue(`#node-config-input-${name}`)));
            assert.deepStrictEqual(await values('loginPath', 'tokenName', 'csrfFrom', 'csrfName', 'csrfHeader', 'csrfUpdateHeader', 'rejectedBody'), [
                '/api/auth/login',
                'TOKEN',
                'header',
                'X-CSRF-Token',
                'X-CSRF-Token',
                'X-Updated-CSRF-Token',
                'api\\.err\\.LoginRequired',
            ]);
            await p.fill('#node-config-input-rejectedBody', '("errorCode"');
            await p.waitForSelector('#rest-session-server-problem-rejectedBody', { state: 'visible' });
            assert.match(await p.innerText('#rest-session-server-problem-rejectedBody'), /regular expression/);
            await p.locator('#node-config-input-rejectedBody').scrollIntoViewIfNeeded();
            await shot(p, 'config-dialog-custom-unifi-bad-regex.png');
            await p.fill('#node-config-input-rejectedBody', 'api\\.err\\.LoginRequired');
            await p.waitForSelector('#rest-session-server-problem-rejectedBody', { state: 'hidden' });

            await p.fill('#node-config-input-baseUrl', unifi.baseUrl);
            const tlsId = await p.evaluate(() => {
                const ids: string[] = [];
                (window as any).RED.nodes.eachConfig((n: { type: string; id: string }) => {
                    if (n.type === 'tls-config') ids.push(n.id);
                });
                return ids[0];
            });
            await p.selectOption('select#node-config-input-tls', tlsId);
            await p.fill('#node-config-input-username', unifi.credentials.username);
            await p.fill('#node-config-input-password', unifi.credentials.password);
            await p.click('#rest-session-server-test-login');
            await p.waitForSelector('#rest-session-server-test-result[data-result]', { timeout: 40000 });
            const result = await p.innerText('#rest-session-server-test-result');
            assert.strictEqual(await p.getAttribute('#rest-session-server-test-result', 'data-result'), 'ok', result);
            assert.match(result, /Credential found in: cookie "TOKEN"/);
            assert.match(result, /CSRF token found in: login reply header "X-CSRF-Token"/);
            for (const secret of (unifi.simulator as { issued(): string[] }).issued()) assert.ok(!result.includes(secret));
            await p.locator('#rest-session-server-test-result').scrollIntoViewIfNeeded();
            await shot(p, 'config-dialog-custom-unifi-test-login.png');
            await p.click('#node-config-dialog-cancel');
        } finally {
            await editor.close();
        }
    });

    it('raised no script error in the editor', function () {
        assert.deepStrictEqual(pageErrors, []);
    });
});

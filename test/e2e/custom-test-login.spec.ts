/**
 * Test login for the custom vendor in a started Node-RED: the dialog's custom fields reach the
 * runtime, and the answer says where the credential was found and which expiry was read, never
 * the credential itself.
 */
import assert from 'node:assert';
import fs from 'node:fs';

import { customPresets } from '../../src/lib/vendors/custom/presets';
import { english } from '../../src/lib/texts';
import { CustomApiSimulator } from '../simulators/custom';
import { waitFor } from '../support/wait';

/** Where Test login found the credential and expiry, in English (the answer holds catalog texts). */
function foundIn(found: { credential: any; expiry: any }): { credential: string; expiry: string } {
    return { credential: english(found.credential), expiry: english(found.expiry) };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtime = require('../browser/support/runtime');

const ENDPOINT = '/rest-session-server/test-login';

describe('admin: Test login of a custom API (real Node-RED)', function () {
    this.timeout(120000);
    let sim: CustomApiSimulator;
    let red: { url: string; stop(): Promise<void> };
    let userDir: string;

    before(async function () {
        sim = new CustomApiSimulator();
        await sim.start();
        userDir = runtime.tempDir('rest-session-custom-');
        runtime.writeProjectPackage(userDir);
        runtime.linkPackage(userDir);
        runtime.writeSettings(userDir);
        red = await runtime.startNodeRed(userDir);
        // A server node that uses the TLS configuration, so it is deployed (as in a real flow).
        await runtime.deployFlows(red.url, [
            runtime.tlsConfigNode('tls'),
            { id: 'srv', type: 'rest-session-server', vendor: 'custom', baseUrl: sim.baseUrl, tls: 'tls' },
        ]);
        // The TLS node is started once Test login finds it (towards a closed port: nothing reaches the simulator).
        const closed = { ...dialog('jsonToken', {}), baseUrl: 'https://127.0.0.1:1' };
        await waitFor(async () => (await runtime.request(red.url, 'POST', ENDPOINT, { body: closed })).json.code !== 'CONFIG', {
            message: 'the TLS node started',
        });
    });

    after(async function () {
        if (red) await red.stop();
        if (sim) await sim.stop();
        if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    });

    function dialog(preset: string, fields: Record<string, unknown>, password = sim.user.password): Record<string, unknown> {
        return {
            id: '',
            vendor: 'custom',
            baseUrl: sim.baseUrl,
            tls: 'tls',
            proxy: '',
            requestTimeout: '5000',
            ...customPresets[preset],
            ...fields,
            username: sim.user.username,
            password,
        };
    }

    it('names where the token and the expiry were found, and logs out', async function () {
        const res = await runtime.request(red.url, 'POST', ENDPOINT, { body: dialog('jsonToken', { loginPath: '/json/login', logoutPath: '/json/logout' }) });
        assert.strictEqual(res.json.ok, true, res.text);
        assert.deepStrictEqual(foundIn(res.json.found), { credential: 'reply field "token"', expiry: 'reply field "expires_in"' });
        assert.ok(Math.abs(res.json.expiresAt - Date.now() - 3600_000) < 10_000);
        assert.strictEqual(res.json.loggedOut, true);
        assert.strictEqual(sim.stats.apis.json.logouts, 1);
        for (const secret of [sim.user.password, ...sim.issued()]) assert.ok(!res.text.includes(secret));
        const issued = sim.stats.requests.filter((r) => r.path === '/json/logout').map((r) => r.authorization.replace('Bearer ', ''));
        assert.ok(issued.length === 1 && !res.text.includes(issued[0]), 'the token is not in the answer');
    });

    it('names the session cookie of a form login', async function () {
        const res = await runtime.request(red.url, 'POST', ENDPOINT, {
            body: dialog('formCookie', { loginPath: '/form/login', logoutPath: '/form/logout', tokenName: 'sid' }),
        });
        assert.strictEqual(res.json.ok, true, res.text);
        assert.deepStrictEqual(foundIn(res.json.found), { credential: 'cookie "sid"', expiry: 'none' });
    });

    it('refuses a JSON template that is not JSON once filled with CONFIG, sending nothing', async function () {
        const before = sim.stats.requests.length;
        const res = await runtime.request(red.url, 'POST', ENDPOINT, {
            body: dialog('jsonToken', { loginPath: '/json/login', loginTemplate: '{"u":{{username}}}' }),
        });
        assert.strictEqual(res.json.code, 'CONFIG', res.text);
        assert.strictEqual(sim.stats.requests.length, before);
    });
});

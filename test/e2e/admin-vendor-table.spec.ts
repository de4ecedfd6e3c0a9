/**
 * The vendor table reaches the editor from the runtime: in `GET /settings` (loaded before any node
 * definition) and through the settings check the dialog calls as the user types, both behind
 * adminAuth in a real Node-RED.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';

import { editorVendors } from '../../src/lib/node-red/vendor-table';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtime = require('../browser/support/runtime');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bcrypt = require(require.resolve('bcryptjs', { paths: [path.dirname(require.resolve('node-red/package.json'))] }));

const CHECK = '/rest-session-server/check-settings';
const READER = { username: 'reader', password: 'reader-Secret-42' };

describe('admin: the vendor table and the settings check (real Node-RED, adminAuth on)', function () {
    this.timeout(120000);
    let red: { url: string; stop(): Promise<void> };
    let userDir: string;
    let token: string;

    before(async function () {
        userDir = runtime.tempDir('rest-session-vendors-');
        runtime.writeProjectPackage(userDir);
        runtime.linkPackage(userDir);
        const users = [{ username: READER.username, password: bcrypt.hashSync(READER.password, 8), permissions: 'read' }];
        runtime.writeSettings(userDir, `adminAuth: { type: 'credentials', users: ${JSON.stringify(users)} },`);
        red = await runtime.startNodeRed(userDir);
        token = await runtime.adminToken(red.url, READER.username, READER.password, 'read');
    });

    after(async function () {
        if (red) await red.stop();
        if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    });

    it('serves the vendor table with the editor settings', async function () {
        const res = await runtime.request(red.url, 'GET', '/settings', { token });
        assert.strictEqual(res.status, 200, res.text);
        assert.deepStrictEqual(res.json.restSessionServerVendors, JSON.parse(JSON.stringify(editorVendors())));
    });

    it('checks settings for a reader, and refuses a caller without a token', async function () {
        const refused = await runtime.request(red.url, 'POST', CHECK, { body: { vendor: 'cmwell', values: { tokenLifetime: '61d' } } });
        assert.strictEqual(refused.status, 401);
        const res = await runtime.request(red.url, 'POST', CHECK, { body: { vendor: 'cmwell', values: { tokenLifetime: '61d' } }, token });
        assert.deepStrictEqual(res.json, { problems: { tokenLifetime: 'tokenLifetimeMax' } });
        const fine = await runtime.request(red.url, 'POST', CHECK, { body: { vendor: 'cmwell', values: { tokenLifetime: '30d' } }, token });
        assert.deepStrictEqual(fine.json, { problems: {} });
        const unknown = await runtime.request(red.url, 'POST', CHECK, { body: { vendor: 'nope', values: {} }, token });
        assert.strictEqual(unknown.status, 400);
    });
});

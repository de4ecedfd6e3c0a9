import assert from 'node:assert';

import { SmartServerSimulator } from '../simulators/smartserver';
import { helper, standardFlow, load, settle, nodeRedWithSimulator } from '../support/harness';

describe('SmartServer: login, authorized request, logout', function () {
    let sim: any;

    const { start } = nodeRedWithSimulator(() => new SmartServerSimulator());
    beforeEach(async function () {
        sim = await start();
    });

    it('logs in, reuses the cookie for requests, and logs out', async function () {
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        helper.getNode('l1').receive({ payload: 'go', keep: 'me' });
        const [loggedIn] = await rec.out.waitFor(1);
        assert.strictEqual(loggedIn.keep, 'me');
        assert.strictEqual(loggedIn.payload.userName, 'admin');
        assert.strictEqual(loggedIn.session.user, 'admin');
        assert.strictEqual(loggedIn.session.vendor, 'smartserver');
        assert.strictEqual(loggedIn.session.server, 'server');
        assert.ok(loggedIn.session.expiresAt > Date.now() + 86000000);
        assert.strictEqual(loggedIn.session.headers, undefined);

        helper.getNode('r1').receive({ session: loggedIn.session });
        helper.getNode('r1').receive({});
        await rec.out.waitFor(3);
        const [, first, second] = rec.out.messages;
        assert.strictEqual(first.statusCode, 200);
        assert.ok(Array.isArray(first.payload) && first.payload.length === 2);
        assert.strictEqual(second.statusCode, 200);
        assert.strictEqual(sim.stats.loginsOk, 1);
        const dataCalls = sim.stats.requests.filter((r: any) => r.path.startsWith('/cms/iap/devs'));
        assert.strictEqual(dataCalls.length, 2);
        for (const call of dataCalls) assert.match(call.cookie, /^cmsSID=[0-9a-f]+$/);

        helper.getNode('o1').receive({ session: loggedIn.session });
        const [, , , loggedOut] = await rec.out.waitFor(4);
        assert.strictEqual(loggedOut.session, undefined);
        assert.strictEqual(sim.stats.logouts, 1);
        const cookie = dataCalls[0].cookie.split('=')[1];
        assert.strictEqual(sim.isSessionValid(cookie), false);
        await settle(rec, 4);
        assert.strictEqual(rec.caught.messages.length, 0);
    });
});

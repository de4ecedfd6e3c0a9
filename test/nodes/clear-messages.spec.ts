/**
 * What a user reads when something goes wrong: the error code instead of the class name in the log
 * and at Catch, the likely fix of a wrong scheme or port (http:// to an HTTPS-only SmartServer,
 * https:// to CM-Well's plain HTTP port, a port where nothing listens), the CM-Well request timeout
 * below its login hold, and a logout node whose server has no username and gets no msg.session
 * (nothing to log out: it succeeds, nothing sent).
 */
import assert from 'node:assert';

import { CmWellSimulator } from '../simulators/cmwell';
import { SmartServerSimulator } from '../simulators/smartserver';
import { helper, standardFlow, load, answeredOnce, type Recorders } from '../support/harness';

async function waitFor(condition: () => boolean, timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error('timed out');
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}

/** The error-level log lines so far, as Node-RED's console logger prints them. */
function errorLog(): string[] {
    const entries = (helper.log()?.args ?? []).map((args) => args[0] as { level: number; msg: unknown });
    return entries.filter((entry) => entry.level === 20).map((entry) => String(entry.msg));
}

const WRONG = { username: 'admin', password: 'Wrong-Passw0rd!x' };

describe('clear messages', function () {
    let sims: Array<{ stop(): Promise<void> }> = [];

    before(async () => {
        await helper.startServer();
    });
    after(async () => {
        await helper.stopServer();
    });
    afterEach(async () => {
        await helper.unload();
        for (const sim of sims) await sim.stop();
        sims = [];
    });

    async function smartServer(): Promise<InstanceType<typeof SmartServerSimulator>> {
        const sim = new SmartServerSimulator();
        await sim.start();
        sims.push(sim);
        return sim;
    }

    it('logs and catches an error as its code and message, without the class name', async function () {
        const sim = await smartServer();
        const rec = await load(standardFlow(sim.baseUrl('cms')), { server: WRONG });
        helper.getNode('l1').receive({});
        await answeredOnce(rec, 1);
        const [caught] = rec.caught.messages;
        assert.strictEqual(caught.errorCode, 'INVALID_CREDENTIALS');
        assert.match(caught.error.message, /^INVALID_CREDENTIALS: \S/);
        assert.ok(!caught.error.message.includes('SessionError'), caught.error.message);

        // Without a Catch node Node-RED logs it: String() of the error, as its console logger prints it.
        await helper.unload();
        const uncaught = standardFlow(sim.baseUrl('cms')).filter((node) => node.id !== 'catcher');
        const again = await load(uncaught, { server: { username: 'other', password: 'Wrong-Passw0rd!y' } });
        helper.getNode('l1').receive({});
        await waitFor(() => errorLog().length > 0);
        const logged = errorLog();
        assert.ok(
            logged.every((line) => /^INVALID_CREDENTIALS: \S/.test(line)),
            logged.join('\n'),
        );
        assert.strictEqual(again.out.messages.length, 0);
    });

    /** The status keys (the test runtime shows i18n keys) of the login node. */
    function statusKeys(rec: Recorders): string[] {
        return rec.statuses.messages.filter((m: any) => m.status.source.id === 'l1').map((m: any) => String(m.status.text).split('.').pop()!);
    }

    it('hints that a SmartServer may speak HTTPS only when an http:// base URL is reset', async function () {
        const sim = await smartServer();
        const plain = sim.baseUrl('cms').replace(/^https:/, 'http:');
        const rec = await load(standardFlow(plain));
        helper.getNode('l1').receive({});
        await answeredOnce(rec, 1);
        const [caught] = rec.caught.messages;
        assert.strictEqual(caught.errorCode, 'NETWORK');
        assert.match(caught.error.message, /ECONNRESET\): if port \d+ speaks HTTPS only, try https:\/\//);
        assert.strictEqual(sim.stats.loginsOk, 0);
        assert.ok(statusKeys(rec).includes('errorReason'), `a status with its reason (${statusKeys(rec)})`);
    });

    it('says "try http://" when an https:// base URL points at CM-Well\'s plain HTTP port', async function () {
        const sim = new CmWellSimulator({ penaltyMs: 0 });
        await sim.start();
        sims.push(sim);
        const wrongScheme = sim.baseUrl.replace(/^http:/, 'https:');
        const rec = await load(standardFlow(wrongScheme, { server: { vendor: 'cmwell', authScheme: 'basic', tokenLifetime: '' } }), {
            server: { username: 'root', password: 'root' },
        });
        helper.getNode('l1').receive({});
        await answeredOnce(rec, 1);
        const [caught] = rec.caught.messages;
        assert.strictEqual(caught.errorCode, 'TLS');
        assert.match(caught.error.message, /answered without TLS .*port \d+ speaks plain HTTP, so try http:\/\/ in the base URL/);
        assert.ok(!/trust it/.test(caught.error.message), caught.error.message);
        assert.strictEqual(sim.stats.loginsOk, 0, 'no login reached CM-Well');
        assert.ok(statusKeys(rec).includes('errorReason'), `a status with its reason (${statusKeys(rec)})`);
    });

    it('names the port and "check the host and port" when nothing listens there', async function () {
        const sim = await smartServer();
        const url = sim.baseUrl('cms');
        const port = new URL(url).port;
        await sim.stop();
        const rec = await load(standardFlow(url));
        helper.getNode('l1').receive({});
        await answeredOnce(rec, 1);
        const [caught] = rec.caught.messages;
        assert.strictEqual(caught.errorCode, 'NETWORK');
        assert.match(
            caught.error.message,
            new RegExp(`nothing accepts connections on port ${port} of 127\\.0\\.0\\.1 \\(ECONNREFUSED\\): check the host and port`),
        );
        assert.ok(statusKeys(rec).includes('errorReason'), `a status with its reason (${statusKeys(rec)})`);
    });

    it('gives no HTTPS hint for a reset on an https:// base URL', async function () {
        const sim = await smartServer();
        await sim.stop();
        const rec = await load(standardFlow(sim.baseUrl('cms')));
        helper.getNode('l1').receive({});
        await answeredOnce(rec, 1);
        const [caught] = rec.caught.messages;
        assert.strictEqual(caught.errorCode, 'NETWORK');
        assert.ok(!/HTTPS only/.test(caught.error.message), caught.error.message);
    });

    it('names the CM-Well login hold when the request timeout is below it', async function () {
        const sim = new CmWellSimulator({ penaltyMs: 3000 });
        await sim.start();
        sims.push(sim);
        const rec = await load(standardFlow(sim.baseUrl, { server: { vendor: 'cmwell', authScheme: 'basic', tokenLifetime: '', requestTimeout: 800 } }), {
            server: { username: 'root', password: 'root' },
        });
        helper.getNode('l1').receive({});
        await answeredOnce(rec, 1);
        const [caught] = rec.caught.messages;
        assert.strictEqual(caught.errorCode, 'TIMEOUT');
        assert.match(caught.error.message, /within 800 ms.*holds every login reply about 3s .*request timeout .*30000 ms, 30s/);
    });

    it('logs out successfully when the server has no username and the msg no session, sending nothing', async function () {
        const sim = await smartServer();
        const rec = await load(standardFlow(sim.baseUrl('cms')), { server: {} });
        helper.getNode('o1').receive({ payload: 'bye' });
        await answeredOnce(rec, 1);
        const [out] = rec.out.messages;
        assert.strictEqual(out.payload, 'bye');
        assert.strictEqual(out.session, undefined);
        assert.strictEqual(sim.stats.requests.length, 0, 'nothing sent');
    });
});

/**
 * CM-Well in a real Node-RED runtime against the simulator: Basic and Digest logins, the `exp`
 * token lifetime, the X-CM-WELL-TOKEN header, the 403 "given token is not valid" expiry signal, the
 * expiry known from the JWT (milliseconds), the local-only logout, the login penalty and secrecy.
 * Numbers in test names refer to the conformance cases of docs/vendors.md section 6.
 */
import assert from 'node:assert';

import { CmWellSimulator } from '../simulators/cmwell';
import { helper, standardFlow, load, settle, answeredOnce, delay, logText, nodeRedWithSimulator } from '../support/harness';

const ROOT = { username: 'root', password: 'root' };
const READ_PATH = '/example.org/Individuals/JohnSmith';
const INVALID_TOKEN = 'given token is not valid (not signed or expired)';
const DAY = 86400000;
const HOUR = 3600000;
const STATUS_KEY = (name: any) => `rest-session-server.status.${name}`;

function statusTexts(rec: any) {
    return rec.statuses.messages.map((m: any) => `${m.status.fill}/${m.status.shape}/${String(m.status.text).split(':').pop()}`);
}

/** A write node (POST /_in) wired like r1. */
const WRITER = {
    id: 'w1',
    type: 'rest-session-request',
    z: 'tab',
    server: 'server',
    method: 'POST',
    url: '/_in?format=ntriples',
    ret: 'obj',
    paytoqs: 'ignore',
    wires: [['out']],
};

function triple(name: any) {
    return `<http://example.org/Individuals/${name}> <http://xmlns.com/foaf/0.1/name> "${name}" .\n`;
}

describe('CM-Well in a Node-RED runtime', function () {
    let sim: any;
    let clock: any;

    const { start: startSim, fakeClock } = nodeRedWithSimulator((options = {}) => (sim = new CmWellSimulator({ penaltyMs: 0, ...options })));

    /** standardFlow against the simulator: vendor cmwell, r1 reading an infoton, w1 writing. */
    function flow(server = {}, request = {}) {
        return standardFlow(sim.origin, {
            server: { vendor: 'cmwell', authScheme: 'basic', tokenLifetime: '', ...server },
            request: { url: READ_PATH, ...request },
            extra: [WRITER],
        });
    }

    const dataCalls = () => sim.stats.requests.filter((r: any) => r.path !== '/_login');
    const logins = () => sim.stats.requests.filter((r: any) => r.path === '/_login');

    it('16: logs in with Basic, outputs {user, expiresAt} and reads with the X-CM-WELL-TOKEN header', async function () {
        await startSim();
        const rec = await load(flow(), { server: ROOT });
        const before = Date.now();
        helper.getNode('l1').receive({ topic: 'login' });
        const [login] = await rec.out.waitFor(1);
        assert.deepStrictEqual(Object.keys(login.payload).sort(), ['expiresAt', 'user']);
        assert.strictEqual(login.payload.user, 'root');
        assert.ok(Math.abs(login.payload.expiresAt - (before + DAY)) < 5000, `expiresAt ${login.payload.expiresAt}`);
        assert.strictEqual(login.session.vendor, 'cmwell');
        assert.strictEqual(login.session.user, 'root');
        assert.strictEqual(login.session.expiresAt, login.payload.expiresAt);
        assert.strictEqual(login.session.headers, undefined);
        assert.strictEqual(login.headers, undefined, 'the login reply headers are not copied');
        assert.deepStrictEqual(
            logins().map((r: any) => [r.auth, r.query, r.status]),
            [['Basic', '', 200]],
        );

        helper.getNode('r1').receive({ topic: 'read' });
        const [, read] = await rec.out.waitFor(2);
        assert.strictEqual(read.statusCode, 200);
        assert.deepStrictEqual(read.payload.fields.name, ['John Smith']);
        assert.strictEqual(read.session.id, login.session.id);
        const [call] = dataCalls();
        assert.deepStrictEqual([call.path, call.tokenFrom, call.auth], [READ_PATH, 'X-CM-WELL-TOKEN', null]);
        assert.strictEqual(sim.stats.loginAttempts, 1);
        assert.ok(statusTexts(rec).includes('green/dot/root'), statusTexts(rec).join());
    });

    it('20: logs in with Digest: an unauthenticated challenge, then the answer; the token works', async function () {
        await startSim();
        const rec = await load(flow({ authScheme: 'digest' }), { server: ROOT });
        helper.getNode('r1').receive({});
        const [read] = await rec.out.waitFor(1);
        assert.strictEqual(read.statusCode, 200);
        assert.deepStrictEqual(
            logins().map((r: any) => [r.auth, r.status]),
            [
                [null, 401],
                ['Digest', 200],
            ],
        );
        assert.strictEqual(logins()[1].digestUri, '/_login');
        assert.strictEqual(sim.stats.loginsOk, 1);
    });

    it('a Digest login with a token lifetime sends ?exp= in the query but uri="/_login"', async function () {
        await startSim();
        const rec = await load(flow({ authScheme: 'digest', tokenLifetime: '2h' }), { server: ROOT });
        const before = Date.now();
        helper.getNode('l1').receive({});
        const [login] = await rec.out.waitFor(1);
        const answer = logins()[1];
        assert.deepStrictEqual([answer.query, answer.digestUri, answer.status], ['?exp=2h', '/_login', 200]);
        assert.ok(Math.abs(login.session.expiresAt - (before + 2 * HOUR)) < 5000, `expiresAt ${login.session.expiresAt}`);
    });

    it('23: tokenLifetime 30d gives msg.session.expiresAt about now + 30 days (exp read as milliseconds)', async function () {
        await startSim();
        const rec = await load(flow({ tokenLifetime: '30d' }), { server: ROOT });
        const before = Date.now();
        helper.getNode('l1').receive({});
        const [login] = await rec.out.waitFor(1);
        assert.strictEqual(logins()[0].query, '?exp=30d');
        assert.ok(Math.abs(login.session.expiresAt - (before + 30 * DAY)) < 5000, `expiresAt ${login.session.expiresAt}`);
        assert.strictEqual(login.payload.expiresAt, login.session.expiresAt);
    });

    it('24: a lifetime with a space is URL-encoded (3d 5h)', async function () {
        await startSim();
        const rec = await load(flow({ tokenLifetime: '3d 5h' }), { server: ROOT });
        const before = Date.now();
        helper.getNode('l1').receive({});
        const [login] = await rec.out.waitFor(1);
        assert.strictEqual(logins()[0].query, '?exp=3d%205h');
        assert.ok(Math.abs(login.session.expiresAt - (before + 3 * DAY + 5 * HOUR)) < 5000);
    });

    for (const tokenLifetime of ['61d', '60d1m', '30']) {
        it(`25: tokenLifetime "${tokenLifetime}" is a CONFIG error and nothing is sent`, async function () {
            await startSim();
            const rec = await load(flow({ tokenLifetime }), { server: ROOT });
            helper.getNode('l1').receive({});
            helper.getNode('r1').receive({});
            await answeredOnce(rec, 2);
            assert.deepStrictEqual(
                rec.caught.messages.map((m) => m.errorCode),
                ['CONFIG', 'CONFIG'],
            );
            assert.match(rec.caught.messages[0].error.message, /token lifetime/);
            assert.strictEqual(sim.stats.requests.length, 0);
        });
    }

    it('18: a wrong password is INVALID_CREDENTIALS, then no further login during the cool-down', async function () {
        await startSim();
        const rec = await load(flow(), { server: { username: 'root', password: 'wrong' } });
        helper.getNode('l1').receive({ n: 1 });
        const [first] = await rec.caught.waitFor(1);
        assert.strictEqual(first.errorCode, 'INVALID_CREDENTIALS');
        assert.strictEqual(first.statusCode, 401);
        helper.getNode('l1').receive({ n: 2 });
        helper.getNode('r1').receive({ n: 3 });
        helper.getNode('w1').receive({ n: 4, payload: triple('X') });
        await answeredOnce(rec, 4);
        for (const msg of rec.caught.messages.slice(1)) {
            assert.strictEqual(msg.errorCode, 'INVALID_CREDENTIALS');
            assert.ok(msg.retryAfter > 0 && msg.retryAfter <= 300, `retryAfter ${msg.retryAfter}`);
        }
        assert.strictEqual(sim.stats.loginAttempts, 1);
        assert.strictEqual(dataCalls().length, 0);
        assert.ok(statusTexts(rec).includes(`red/ring/${STATUS_KEY('invalidCredentials')}`), statusTexts(rec).join());
    });

    it('a wrong Digest password is INVALID_CREDENTIALS too, with one challenge and one answer', async function () {
        await startSim();
        const rec = await load(flow({ authScheme: 'digest' }), { server: { username: 'root', password: 'wrong' } });
        helper.getNode('l1').receive({});
        helper.getNode('l1').receive({});
        await answeredOnce(rec, 2);
        assert.deepStrictEqual(
            rec.caught.messages.map((m) => m.errorCode),
            ['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS'],
        );
        assert.deepStrictEqual(
            logins().map((r: any) => [r.auth, r.status]),
            [
                [null, 401],
                ['Digest', 401],
            ],
        );
    });

    it('28: tokens refused mid-stream (403 "given token is not valid"): 30 concurrent requests cause exactly one re-login', async function () {
        await startSim({ penaltyMs: 100 });
        const rec = await load(flow(), { server: ROOT });
        const r1 = helper.getNode('r1');
        r1.receive({ seq: 'warm-up' });
        await rec.out.waitFor(1);
        sim.expireTokens();
        for (let i = 0; i < 30; i++) r1.receive({ seq: i });
        await answeredOnce(rec, 31);
        assert.strictEqual(rec.caught.messages.length, 0);
        assert.strictEqual(new Set(rec.out.messages.map((m) => m.seq)).size, 31);
        assert.ok(rec.out.messages.every((m) => m.statusCode === 200));
        assert.strictEqual(sim.stats.loginAttempts, 2, 'exactly one re-login');
        const refused = dataCalls().filter((r: any) => r.status === 403).length;
        // At most one per connection (8), and one per connection freed before the replacement.
        assert.ok(
            refused >= 1 && refused <= 16,
            `${refused}: the requests written before the re-login met the dead session; the queued ones went out with the fresh one`,
        );
        assert.strictEqual(dataCalls().filter((r: any) => r.status === 200).length, 31);
    });

    it('30 concurrent requests on a cold server cause exactly one login (held by the penalty)', async function () {
        await startSim({ penaltyMs: 150 });
        const rec = await load(flow(), { server: ROOT });
        for (let i = 0; i < 30; i++) helper.getNode('r1').receive({ seq: i });
        await answeredOnce(rec, 30);
        assert.strictEqual(rec.caught.messages.length, 0);
        assert.strictEqual(sim.stats.loginAttempts, 1);
    });

    it('a write refused with the JSON 403 is replayed once after a fresh login and stored once', async function () {
        await startSim();
        const rec = await load(flow(), { server: ROOT });
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        sim.expireTokens();
        helper.getNode('w1').receive({ payload: triple('JaneDoe') });
        const [, written] = await rec.out.waitFor(2);
        assert.strictEqual(written.statusCode, 200);
        assert.deepStrictEqual(written.payload, { success: true });
        assert.deepStrictEqual(
            dataCalls().map((r: any) => [r.method, r.status]),
            [
                ['POST', 403],
                ['POST', 200],
            ],
        );
        assert.deepStrictEqual(sim.infoton('/example.org/Individuals/JaneDoe'), { name: ['JaneDoe'] });
        assert.strictEqual(sim.stats.loginAttempts, 2);
    });

    it('30: a revoked user (rev bumped) logs in again once and goes on', async function () {
        await startSim({ users: { root: { password: 'root' }, alice: { password: 'Al1ce-pw', rev: 1 } } });
        const rec = await load(flow(), { server: { username: 'alice', password: 'Al1ce-pw' } });
        helper.getNode('r1').receive({});
        await rec.out.waitFor(1);
        sim.revokeUser('alice');
        helper.getNode('r1').receive({});
        const [, again] = await rec.out.waitFor(2);
        assert.strictEqual(again.statusCode, 200);
        assert.strictEqual(sim.stats.loginAttempts, 2);
    });

    it('a refusal that survives one fresh login is SESSION_REJECTED, without a loop', async function () {
        await startSim();
        const rec = await load(flow(), { server: ROOT });
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        sim.failNext(403, 2, INVALID_TOKEN);
        helper.getNode('r1').receive({});
        const [rejected] = await rec.caught.waitFor(1);
        assert.strictEqual(rejected.errorCode, 'SESSION_REJECTED');
        assert.strictEqual(rejected.statusCode, 403);
        assert.strictEqual(sim.stats.loginAttempts, 2);
        await answeredOnce(rec, 2);
    });

    it('another 403 (not authorized for the path) is an answer, not an expiry: no re-login', async function () {
        await startSim();
        const rec = await load(flow(), { server: ROOT });
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        sim.failNext(403, 1, 'Authenticated but not authorized');
        helper.getNode('r1').receive({});
        const [, refused] = await rec.out.waitFor(2);
        assert.strictEqual(refused.statusCode, 403);
        assert.strictEqual(sim.stats.loginAttempts, 1);
    });

    it('a known expiry (tokenLifetime 2h) logs in again before any request is refused', async function () {
        await startSim();
        clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
        const rec = await load(flow({ tokenLifetime: '2h' }), { server: ROOT });
        helper.getNode('r1').receive({ n: 1 });
        const [first] = await rec.out.waitFor(1);
        const expiresAt = first.session.expiresAt;
        assert.ok(Math.abs(expiresAt - (Date.now() + 2 * HOUR)) < 5000);

        clock.tick(2 * HOUR - 30000); // inside the one-minute margin: due for renewal, still valid on the server
        helper.getNode('r1').receive({ n: 2 });
        const [, second] = await rec.out.waitFor(2);
        assert.strictEqual(second.statusCode, 200);
        assert.strictEqual(sim.stats.loginAttempts, 2, 'logged in again ahead of the expiry');
        assert.ok(second.session.expiresAt > expiresAt);

        clock.tick(3 * HOUR); // the second token is long expired on the server too
        helper.getNode('r1').receive({ n: 3 });
        const [, , third] = await rec.out.waitFor(3);
        assert.strictEqual(third.statusCode, 200);
        assert.strictEqual(sim.stats.loginAttempts, 3);
        assert.ok(!dataCalls().some((r: any) => r.status === 403), 'no request was sent with an expired token');
        const tokens = sim.issuedTokens;
        assert.strictEqual(new Set(tokens).size, 3);
    });

    it('33: logout sends no request, removes msg.session and the next request logs in again', async function () {
        await startSim();
        const rec = await load(flow(), { server: ROOT });
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        const sentBefore = sim.stats.requests.length;
        helper.getNode('o1').receive({ session: rec.out.messages[0].session });
        const [, out] = await rec.out.waitFor(2);
        assert.strictEqual(out.session, undefined);
        assert.strictEqual(sim.stats.requests.length, sentBefore, 'no HTTP call for a CM-Well logout');
        assert.ok(statusTexts(rec).includes(`grey/ring/${STATUS_KEY('loggedOut')}`), statusTexts(rec).join());
        helper.getNode('o1').receive({ again: true });
        const [, , twice] = await rec.out.waitFor(3);
        assert.strictEqual(twice.again, true, 'logging out a session that is gone succeeds');
        helper.getNode('r1').receive({});
        const [, , , read] = await rec.out.waitFor(4);
        assert.strictEqual(read.statusCode, 200);
        assert.strictEqual(sim.stats.loginAttempts, 2, 'the dropped token is not reused');
        assert.notStrictEqual(sim.issuedTokens[0], sim.issuedTokens[1]);
    });

    it('closing the flows (logoutOnClose) sends nothing to CM-Well', async function () {
        await startSim();
        const rec = await load(flow(), { server: ROOT });
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        const sentBefore = sim.stats.requests.length;
        await helper.unload();
        await delay(50);
        assert.strictEqual(sim.stats.requests.length, sentBefore);
    });

    it('never shows the token, the password or the Basic header in a msg, status, error or log line', async function () {
        await startSim({ users: { root: { password: 'root' }, alice: { password: 'Al1ce-Secret' } } });
        const basic = Buffer.from('alice:Al1ce-Secret').toString('base64');
        const rec = await load(flow(), { server: { username: 'alice', password: 'Al1ce-Secret' } });
        const statusCalls: any = [];
        for (const id of ['l1', 'r1', 'o1', 'w1']) helper.getNode(id).on('call:status', (call) => statusCalls.push((call as any).args));
        // A 400 whose body quotes the Authorization header, as CM-Well's do.
        sim.failLoginNext(400, 1, { success: false, error: `\`Basic ${basic}\` is not a valid Basic header` });
        helper.getNode('l1').receive({ n: 1 });
        const [bad] = await rec.caught.waitFor(1);
        assert.strictEqual(bad.errorCode, 'BAD_REQUEST');
        helper.getNode('l1').receive({ n: 2 });
        helper.getNode('r1').receive({ n: 3 });
        helper.getNode('w1').receive({ n: 4, payload: triple('Leak') });
        await rec.out.waitFor(3);
        sim.failNext(403, 2, INVALID_TOKEN);
        helper.getNode('r1').receive({ n: 5 });
        await rec.caught.waitFor(2);
        helper.getNode('o1').receive({ n: 6 });
        await answeredOnce(rec, 6);

        const tokens = sim.issuedTokens;
        assert.strictEqual(tokens.length, 2);
        const seen = [
            JSON.stringify(rec.out.messages),
            JSON.stringify(rec.caught.messages),
            JSON.stringify(rec.statuses.messages),
            JSON.stringify(statusCalls),
            logText(),
        ].join('\n');
        for (const secret of [...tokens, ...tokens.map((t: any) => t.split('.')[2]), 'Al1ce-Secret', basic]) {
            assert.ok(!seen.includes(secret), `a secret leaked: ${secret.slice(0, 6)}...`);
        }
        assert.ok(seen.includes('BAD_REQUEST') && seen.includes('SESSION_REJECTED'), 'the capture did record the errors');
        assert.ok(dataCalls().every((r: any) => r.tokenFrom === 'X-CM-WELL-TOKEN'));
    });

    it('puts the token in msg.session.headers["X-CM-WELL-TOKEN"] only with exposeCredential', async function () {
        await startSim();
        const rec = await load(flow({ exposeCredential: true }), { server: ROOT });
        helper.getNode('l1').receive({});
        const [login] = await rec.out.waitFor(1);
        assert.deepStrictEqual(Object.keys(login.session.headers), ['X-CM-WELL-TOKEN']);
        assert.strictEqual(login.session.headers['X-CM-WELL-TOKEN'], sim.issuedTokens[0]);
        assert.strictEqual(sim.checkToken(login.session.headers['X-CM-WELL-TOKEN']), 'valid');
        assert.ok(!JSON.stringify(login.payload).includes(sim.issuedTokens[0]), 'never in the login payload');
    });

    it('waits out the login penalty within requestTimeout, Basic and Digest', async function () {
        await startSim({ penaltyMs: 300 });
        const rec = await load(flow({ requestTimeout: 2000 }), { server: ROOT });
        let started = Date.now();
        helper.getNode('l1').receive({});
        await rec.out.waitFor(1);
        assert.ok(Date.now() - started >= 290, 'the Basic reply was held 300 ms');
        await helper.unload();

        const digest = await load(flow({ requestTimeout: 2000, authScheme: 'digest' }), { server: ROOT });
        started = Date.now();
        helper.getNode('l1').receive({});
        const [login] = await digest.out.waitFor(1);
        assert.strictEqual(login.payload.user, 'root');
        assert.ok(Date.now() - started >= 440, 'challenge 300 ms + digest 150 ms');
        assert.strictEqual(digest.caught.messages.length, 0);
    });

    it('a requestTimeout shorter than the login penalty is TIMEOUT', async function () {
        await startSim({ penaltyMs: 300 });
        const rec = await load(flow({ requestTimeout: 100 }), { server: ROOT });
        helper.getNode('l1').receive({});
        const [caught] = await rec.caught.waitFor(1);
        assert.strictEqual(caught.errorCode, 'TIMEOUT');
        assert.ok(sim.stats.loginsOk >= 1, 'the server did answer, too late');
        await settle(rec, 1);
        assert.strictEqual(rec.out.messages.length, 0);
    });

    it('a 5xx on login is SERVER_ERROR and does not start a cool-down', async function () {
        await startSim();
        const rec = await load(flow(), { server: ROOT });
        sim.failLoginNext(500, 1);
        helper.getNode('l1').receive({});
        const [failed] = await rec.caught.waitFor(1);
        assert.strictEqual(failed.errorCode, 'SERVER_ERROR');
        helper.getNode('l1').receive({});
        const [ok] = await rec.out.waitFor(1);
        assert.strictEqual(ok.payload.user, 'root');
        assert.strictEqual(sim.stats.loginAttempts, 2);
    });

    it('logs in another user from msg.credentials as a separate session with its own token', async function () {
        await startSim({ users: { root: { password: 'root' }, bob: { password: 'B0b-pw' } } });
        const rec = await load(flow(), { server: ROOT });
        helper.getNode('l1').receive({ credentials: { username: 'bob', password: 'B0b-pw' } });
        const [login] = await rec.out.waitFor(1);
        assert.strictEqual(login.credentials, undefined);
        assert.deepStrictEqual(login.payload.user, 'bob');
        helper.getNode('r1').receive({ session: JSON.parse(JSON.stringify(login.session)) });
        helper.getNode('r1').receive({});
        await rec.out.waitFor(3);
        assert.strictEqual(rec.out.messages[1].session.user, 'bob');
        assert.strictEqual(rec.out.messages[2].session.user, 'root');
        assert.strictEqual(sim.stats.loginsOk, 2);
    });
});

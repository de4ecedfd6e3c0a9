// Tests of the CM-Well simulator itself, over real sockets (docs/vendors.md section 2 and the section 6
// conformance cases). Numbers in test names refer to those cases.

import assert from 'node:assert';
import crypto from 'node:crypto';
import { CmWellSimulator, parseShortDuration, parseDigestClientHeader, OPAQUE, startForFlows, DEMO_PORT } from './cmwell';
import { request } from './http-get';
import { simulatorFixture } from '../support/simulator-fixture';

const DAY = 86400000;
const HOUR = 3600000;
const MINUTE = 60000;
const md5 = (text: any) => crypto.createHash('md5').update(text).digest('hex');
const basic = (user: any, password: any) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const DATA_PATH = '/example.org/Individuals/JohnSmith';

function claimsOf(token: any) {
    const parts = token.split('.');
    assert.strictEqual(parts.length, 3, `not a 3-part JWT: ${token}`);
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

function digestHeader({
    user = 'root',
    password = 'root',
    nonce,
    opaque = OPAQUE,
    uri = '/_login',
}: {
    user?: string;
    password?: string;
    nonce: string;
    opaque?: string;
    uri?: string;
}) {
    const ha1 = md5(`${user}:cmwell:${password}`);
    const response = md5(`${ha1}:${nonce}:${md5('GET:/_login')}`);
    return `Digest username="${user}", realm="cmwell", nonce="${nonce}", uri="${uri}", response="${response}", opaque="${opaque}"`;
}

describe('CM-Well simulator', function () {
    this.timeout(10000);
    let sim!: CmWellSimulator; // stop() is a no-op on a stopped simulator

    const { start: startSim, fakeClock } = simulatorFixture((options = {}) => (sim = new CmWellSimulator({ penaltyMs: 0, ...options })));

    const login = (query = '', headers = { Authorization: basic('root', 'root') }) => request(`${sim.origin}/_login${query}`, { headers });

    async function token(query = '') {
        const res = await login(query);
        assert.strictEqual(res.status, 200, res.body);
        return res.json().token;
    }

    async function challengeNonce() {
        const res = await request(`${sim.origin}/_login`);
        assert.strictEqual(res.status, 401);
        return /nonce="([0-9a-f]{32})"/.exec(String(res.headers['www-authenticate']))![1];
    }

    describe('helpers', function () {
        it('parses the short duration format exactly like LoginHandler', function () {
            assert.deepStrictEqual(parseShortDuration('30d'), { days: 30, hours: 0, minutes: 0 });
            assert.deepStrictEqual(parseShortDuration('3d 5h'), { days: 3, hours: 5, minutes: 0 });
            assert.deepStrictEqual(parseShortDuration('2h30m'), { days: 0, hours: 2, minutes: 30 });
            assert.deepStrictEqual(parseShortDuration('30D'), { days: 30, hours: 0, minutes: 0 });
            assert.deepStrictEqual(parseShortDuration('abc'), { days: 0, hours: 0, minutes: 0 });
            assert.deepStrictEqual(parseShortDuration('-5d'), { days: 5, hours: 0, minutes: 0 });
            assert.deepStrictEqual(parseShortDuration('5min'), { days: 0, hours: 0, minutes: 5 });
            assert.deepStrictEqual(parseShortDuration('1d1d'), { days: 1, hours: 0, minutes: 0 });
            assert.deepStrictEqual(parseShortDuration('100h'), { days: 0, hours: 100, minutes: 0 });
        });

        it('parses digest client headers like the Scala parser, stopping at a character it cannot read', function () {
            assert.deepStrictEqual(parseDigestClientHeader('Digest username="root", realm="cmwell", uri="/_login?exp=30d"'), {
                username: 'root',
                realm: 'cmwell',
                uri: '/_login?exp=30d',
            });
            assert.deepStrictEqual(parseDigestClientHeader('Digest username="a.b", realm="cmwell"'), { username: 'a' });
            assert.strictEqual(parseDigestClientHeader('Basic abc'), null);
        });
    });

    describe('lifecycle', function () {
        it('listens on 127.0.0.1 over plain HTTP by default, HTTPS with tls: true, and stops cleanly', async function () {
            await startSim();
            assert.match(String(sim.origin), /^http:\/\/127\.0\.0\.1:\d+$/);
            assert.strictEqual(sim.baseUrl, sim.origin);
            await sim.stop();
            await startSim({ tls: true });
            assert.match(String(sim.origin), /^https:\/\/127\.0\.0\.1:\d+$/);
            const res = await login();
            assert.strictEqual(res.status, 200);
        });

        it('stop() closes a connection whose login reply is still held by the penalty', async function () {
            await startSim({ penaltyMs: 60000 });
            const pending = login().then(
                () => 'answered',
                (error) => error.code,
            );
            await new Promise((resolve) => setTimeout(resolve, 50));
            await sim.stop();
            assert.match(await pending, /ECONNRESET|socket hang up/);
        });

        it('startForFlows gives root/root on the origin; the demo port is 9000', async function () {
            const started = await startForFlows({ penaltyMs: 0 });
            try {
                assert.strictEqual(started.baseUrl, started.simulator.origin);
                assert.deepStrictEqual(started.credentials, { username: 'root', password: 'root' });
                const res = await request(`${started.baseUrl}/_login`, { headers: { Authorization: basic('root', 'root') } });
                assert.strictEqual(res.status, 200);
            } finally {
                await started.stop();
            }
            assert.strictEqual(DEMO_PORT, 9000);
        });
    });

    describe('/_login', function () {
        it('16: Basic root/root gives a 3-part JWT with sub, exp in ms about a day ahead and an integer rev', async function () {
            await startSim();
            const res = await login('', { Authorization: 'Basic cm9vdDpyb290' });
            assert.strictEqual(res.status, 200);
            assert.match(String(res.headers['content-type']), /application\/json/);
            assert.strictEqual(res.headers['set-cookie'], undefined, 'no cookie is set');
            const claims = claimsOf(res.json().token);
            assert.strictEqual(claims.sub, 'root');
            assert.ok(Math.abs(claims.exp - (Date.now() + DAY)) < 5000, `exp ${claims.exp}`);
            assert.ok(Number.isInteger(claims.rev));
            assert.deepStrictEqual(
                sim.stats.requests.map((r: any) => [r.path, r.status, r.auth]),
                [['/_login', 200, 'Basic']],
            );
            assert.strictEqual(sim.stats.loginsOk, 1);
        });

        it('17: no Authorization header gives 401 with the Digest challenge', async function () {
            await startSim();
            const res = await request(`${sim.origin}/_login`);
            assert.strictEqual(res.status, 401);
            assert.strictEqual(res.body, 'Please provide your credentials.\n');
            assert.match(String(res.headers['www-authenticate']), /^Digest realm="cmwell",nonce="[0-9a-f]{32}",opaque="5058b4284162d0410f4749e9d3910a96"$/);
        });

        it('18, 19: a wrong password or an unknown user is 401 "Not authenticated." without a challenge', async function () {
            await startSim();
            for (const auth of [basic('root', 'wrong'), basic('nobody', 'root')]) {
                const res = await login('', { Authorization: auth });
                assert.strictEqual(res.status, 401);
                assert.ok(res.body.startsWith('Not authenticated.'));
                assert.strictEqual(res.headers['www-authenticate'], undefined);
            }
            assert.strictEqual(sim.stats.loginAttempts, 2);
            assert.strictEqual(sim.stats.loginsOk, 0);
        });

        it('a password may hold ":"; only the first one separates it from the user name', async function () {
            await startSim({ users: { alice: { password: 'a:b:c' } } });
            assert.strictEqual((await login('', { Authorization: basic('alice', 'a:b:c') })).status, 200);
        });

        it('20: a digest response to a fresh nonce gives a token; uri and exp in the query do not matter', async function () {
            await startSim();
            const res = await login('', { Authorization: digestHeader({ nonce: await challengeNonce() }) });
            assert.strictEqual(res.status, 200, res.body);
            assert.strictEqual(claimsOf(res.json().token).sub, 'root');
            const withExp = await login('?exp=2h', { Authorization: digestHeader({ nonce: await challengeNonce() }) });
            assert.strictEqual(withExp.status, 200);
            assert.ok(Math.abs(claimsOf(withExp.json().token).exp - (Date.now() + 2 * HOUR)) < 5000);
            const record = sim.stats.requests[sim.stats.requests.length - 1];
            assert.strictEqual(record.auth, 'Digest');
            assert.strictEqual(record.digestUri, '/_login');
            assert.strictEqual(record.query, '?exp=2h');
        });

        it('the worked example of docs/vendors.md: nonce 0123... gives response ff4c0222...', async function () {
            await startSim();
            const nonce = '0123456789abcdef0123456789abcdef';
            sim._nonces.add(nonce);
            const header = `Digest username="root", realm="cmwell", nonce="${nonce}", uri="/_login", response="ff4c0222291c31344ab113a5d875082a", opaque="${OPAQUE}"`;
            assert.strictEqual((await login('', { Authorization: header })).status, 200);
        });

        it('21: a nonce is single-use, burnt even by a failed attempt', async function () {
            await startSim();
            const nonce = await challengeNonce();
            const first = await login('', { Authorization: digestHeader({ nonce }) });
            assert.strictEqual(first.status, 200);
            const replay = await login('', { Authorization: digestHeader({ nonce }) });
            assert.strictEqual(replay.status, 401);
            assert.ok(replay.body.startsWith('Not authenticated.'));
            assert.strictEqual(replay.headers['www-authenticate'], undefined);

            const burnt = await challengeNonce();
            assert.strictEqual((await login('', { Authorization: digestHeader({ nonce: burnt, password: 'wrong' }) })).status, 401);
            assert.strictEqual((await login('', { Authorization: digestHeader({ nonce: burnt }) })).status, 401);
        });

        it('wrong opaque or unknown nonce is 401 without a fresh challenge', async function () {
            await startSim();
            const wrongOpaque = await login('', { Authorization: digestHeader({ nonce: await challengeNonce(), opaque: 'ffff' }) });
            assert.strictEqual(wrongOpaque.status, 401);
            assert.strictEqual(wrongOpaque.headers['www-authenticate'], undefined);
            const unknown = await login('', { Authorization: digestHeader({ nonce: 'abcdef0123456789abcdef0123456789' }) });
            assert.strictEqual(unknown.status, 401);
        });

        it('a digest whose HA2 covers the query in uri fails, as with curl', async function () {
            await startSim();
            const nonce = await challengeNonce();
            const ha1 = md5('root:cmwell:root');
            const response = md5(`${ha1}:${nonce}:${md5('GET:/_login?exp=2h')}`);
            const header = `Digest username="root", realm="cmwell", nonce="${nonce}", uri="/_login?exp=2h", response="${response}", opaque="${OPAQUE}"`;
            assert.strictEqual((await login('?exp=2h', { Authorization: header })).status, 401);
        });

        it('22: a digest header missing opaque is 400 "is not a valid Digest Client Header"', async function () {
            await startSim();
            const header = `Digest username="root", realm="cmwell", nonce="${await challengeNonce()}", uri="/_login", response="00"`;
            const res = await login('', { Authorization: header });
            assert.strictEqual(res.status, 400);
            assert.strictEqual(res.json().success, false);
            assert.match(res.json().error, /is not a valid Digest Client Header$/);
        });

        it('23, 24: exp sets the token expiry in ms (30d, 3d 5h, 2h30m, 30D, 60d)', async function () {
            await startSim();
            const cases: [string, number][] = [
                ['30d', 30 * DAY],
                ['3d%205h', 3 * DAY + 5 * HOUR],
                ['2h30m', 2 * HOUR + 30 * MINUTE],
                ['30D', 30 * DAY],
                ['60d', 60 * DAY],
            ];
            for (const [exp, ms] of cases) {
                const claims = claimsOf(await token(`?exp=${exp}`));
                assert.ok(Math.abs(claims.exp - (Date.now() + ms)) < 5000, `${exp}: ${claims.exp}`);
            }
        });

        it('25: exp over 60 days is 400 "Token expiry must be less than 60 days"', async function () {
            await startSim();
            for (const exp of ['61d', '60d1m']) {
                const res = await login(`?exp=${exp}`);
                assert.strictEqual(res.status, 400);
                assert.deepStrictEqual(res.json(), { success: false, error: 'Token expiry must be less than 60 days' });
            }
            assert.strictEqual(sim.stats.loginsOk, 0);
        });

        it('26: exp=abc gives 200 with a token that is already expired', async function () {
            await startSim();
            const expired = await token('?exp=abc');
            assert.ok(claimsOf(expired).exp <= Date.now());
            const res = await request(`${sim.origin}${DATA_PATH}`, { headers: { 'X-CM-WELL-TOKEN': expired } });
            assert.strictEqual(res.status, 403);
            assert.strictEqual(res.body, 'given token is not valid (not signed or expired)');
        });

        it('27: a Basic header without ":" is 400 quoting the header', async function () {
            await startSim();
            const res = await login('', { Authorization: 'Basic Zm9v' });
            assert.strictEqual(res.status, 400);
            assert.deepStrictEqual(res.json(), { success: false, error: '`Basic Zm9v` is not a valid Basic header' });
        });

        it('holds every reply for the penalty, half of it for Digest', async function () {
            await startSim({ penaltyMs: 300 });
            let started = Date.now();
            const challenge = await request(`${sim.origin}/_login`);
            assert.ok(Date.now() - started >= 290, 'challenge');
            const nonce = /nonce="([0-9a-f]+)"/.exec(String(challenge.headers['www-authenticate']))![1];
            started = Date.now();
            assert.strictEqual((await login('', { Authorization: digestHeader({ nonce }) })).status, 200);
            const digestTime = Date.now() - started;
            assert.ok(digestTime >= 140 && digestTime < 290, `digest ${digestTime} ms`);
            started = Date.now();
            assert.strictEqual((await login('', { Authorization: basic('root', 'wrong') })).status, 401);
            assert.ok(Date.now() - started >= 290, 'basic failure');
        });

        it('failLoginNext answers logins at once with the given status', async function () {
            await startSim({ penaltyMs: 5000 });
            sim.failLoginNext(503, 1);
            const res = await login();
            assert.strictEqual(res.status, 503);
            assert.strictEqual(sim.stats.loginAttempts, 1);
        });
    });

    describe('authorization on data routes', function () {
        it('reads an infoton with a valid X-CM-WELL-TOKEN header', async function () {
            await startSim();
            const res = await request(`${sim.origin}${DATA_PATH}`, { headers: { 'X-CM-WELL-TOKEN': await token() } });
            assert.strictEqual(res.status, 200);
            assert.strictEqual(res.json().system.path, DATA_PATH);
            assert.deepStrictEqual(res.json().fields.name, ['John Smith']);
            const read = sim.stats.requests.find((r) => r.path === DATA_PATH)!;
            assert.deepStrictEqual([read.token, read.tokenFrom, read.status], [true, 'X-CM-WELL-TOKEN', 200]);
        });

        it('writes with POST /_in?format=ntriples and reads the result back as N-Triples', async function () {
            await startSim();
            const jwt = await token();
            const body = '<http://example.org/Individuals/JaneDoe> <http://xmlns.com/foaf/0.1/name> "Jane Doe" .\n';
            const res = await request(`${sim.origin}/_in?format=ntriples`, { method: 'POST', headers: { 'X-CM-WELL-TOKEN': jwt }, body });
            assert.strictEqual(res.status, 200);
            assert.deepStrictEqual(res.json(), { success: true });
            assert.deepStrictEqual(sim.infoton('/example.org/Individuals/JaneDoe'), { name: ['Jane Doe'] });
            const read = await request(`${sim.origin}/example.org/Individuals/JaneDoe?format=ntriples`, { headers: { 'X-CM-WELL-TOKEN': jwt } });
            assert.strictEqual(read.body, '<http://example.org/Individuals/JaneDoe> <http://example.org/vocab#name> "Jane Doe" .\n');
            const bad = await request(`${sim.origin}/_in?format=ntriples`, { method: 'POST', headers: { 'X-CM-WELL-TOKEN': jwt }, body: 'nonsense' });
            assert.strictEqual(bad.status, 400);
            assert.strictEqual((await request(`${sim.origin}/nowhere`, { headers: { 'X-CM-WELL-TOKEN': jwt } })).status, 404);
        });

        it('28: an expired token is 403 "given token is not valid" (text for reads, JSON for writes)', async function () {
            await startSim();
            const jwt = await token('?exp=1m');
            fakeClock({ now: Date.now() + 2 * MINUTE, toFake: ['Date'] });
            const read = await request(`${sim.origin}${DATA_PATH}`, { headers: { 'X-CM-WELL-TOKEN': jwt } });
            assert.strictEqual(read.status, 403);
            assert.strictEqual(read.body, 'given token is not valid (not signed or expired)');
            const write = await request(`${sim.origin}/_in?format=ntriples`, { method: 'POST', headers: { 'X-CM-WELL-TOKEN': jwt }, body: '' });
            assert.strictEqual(write.status, 403);
            assert.deepStrictEqual(write.json(), { success: false, message: 'given token is not valid (not signed or expired)' });
        });

        it('29: a tampered signature is 403, and expireTokens() makes every issued token invalid', async function () {
            await startSim();
            const jwt = await token();
            const tampered = `${jwt.slice(0, -2)}${jwt.endsWith('AA') ? 'BB' : 'AA'}`;
            const res = await request(`${sim.origin}${DATA_PATH}`, { headers: { 'X-CM-WELL-TOKEN': tampered } });
            assert.strictEqual(res.status, 403);
            assert.strictEqual(res.body, 'given token is not valid (not signed or expired)');
            assert.strictEqual(sim.checkToken(jwt), 'valid');
            sim.expireTokens();
            assert.strictEqual(sim.checkToken(jwt), 'invalid');
            assert.strictEqual((await request(`${sim.origin}${DATA_PATH}`, { headers: { 'X-CM-WELL-TOKEN': jwt } })).status, 403);
            assert.strictEqual((await request(`${sim.origin}${DATA_PATH}`, { headers: { 'X-CM-WELL-TOKEN': await token() } })).status, 200);
        });

        it("30: bumping a user's rev revokes their older tokens; root is immune", async function () {
            await startSim({ users: { root: { password: 'root' }, alice: { password: 'secret', rev: 1 } } });
            const rootToken = await token();
            const aliceRes = await login('', { Authorization: basic('alice', 'secret') });
            const aliceToken = aliceRes.json().token;
            assert.strictEqual(claimsOf(aliceToken).rev, 1);
            sim.revokeUser('alice');
            sim.revokeUser('root');
            assert.strictEqual(sim.getUser('alice')?.rev, 2);
            const refused = await request(`${sim.origin}${DATA_PATH}`, { headers: { 'X-CM-WELL-TOKEN': aliceToken } });
            assert.strictEqual(refused.status, 403);
            const rootRes = await request(`${sim.origin}${DATA_PATH}`, { headers: { 'X-CM-WELL-TOKEN': rootToken } });
            assert.strictEqual(rootRes.status, 200, 'root tokens survive a rev bump');
        });

        it('31: a token by cookie or ?token= is accepted like the header, X-CM-WELL-TOKEN2 first', async function () {
            await startSim();
            const jwt = await token();
            const byCookie = await request(`${sim.origin}${DATA_PATH}`, { headers: { Cookie: `other=1; X-CM-WELL-TOKEN=${jwt}` } });
            assert.strictEqual(byCookie.status, 200);
            const byQuery = await request(`${sim.origin}${DATA_PATH}?token=${jwt}`);
            assert.strictEqual(byQuery.status, 200);
            const first = await request(`${sim.origin}${DATA_PATH}`, { headers: { 'X-CM-WELL-TOKEN2': 'garbage', 'X-CM-WELL-TOKEN': jwt } });
            assert.strictEqual(first.status, 403, 'the TOKEN2 header is looked at first');
            const reads = sim.stats.requests.filter((r: any) => r.path === DATA_PATH).map((r: any) => r.tokenFrom);
            assert.deepStrictEqual(reads, ['cookie X-CM-WELL-TOKEN', 'query', 'X-CM-WELL-TOKEN2']);
        });

        it('32: a token that is not a JWT is anonymous: 403 "Not authorized, please login first"', async function () {
            await startSim();
            const write = await request(`${sim.origin}/_in?format=ntriples`, { method: 'POST', headers: { 'X-CM-WELL-TOKEN': 'not-a-jwt' }, body: '' });
            assert.strictEqual(write.status, 403);
            assert.deepStrictEqual(write.json(), { success: false, message: 'Not authorized, please login first' });
            const none = await request(`${sim.origin}${DATA_PATH}`);
            assert.strictEqual(none.status, 403);
            assert.strictEqual(none.body, 'Not authorized, please login first');
            assert.strictEqual(sim.stats.requests[1].token, false);
        });

        it('a valid token of a user who no longer exists is 403 "was not found in CM-Well"', async function () {
            await startSim({ users: { root: { password: 'root' }, bob: { password: 'b' } } });
            const bob = (await login('', { Authorization: basic('bob', 'b') })).json().token;
            sim.removeUser('bob');
            const res = await request(`${sim.origin}${DATA_PATH}`, { headers: { 'X-CM-WELL-TOKEN': bob } });
            assert.strictEqual(res.status, 403);
            assert.strictEqual(res.body, 'Username bob was not found in CM-Well');
        });

        it('33: there is no logout route', async function () {
            await startSim();
            for (const route of ['/_logout', '/_login']) {
                const res = await request(`${sim.origin}${route}`, { method: 'POST' });
                assert.strictEqual(res.status, 404);
            }
        });

        it('failNext answers authorized data requests with the given status; resetStats clears the counts', async function () {
            await startSim();
            const jwt = await token();
            sim.failNext(503, 2);
            sim.failNext(403, 1, 'given token is not valid (not signed or expired)');
            const statuses = [];
            for (let i = 0; i < 4; i++) statuses.push((await request(`${sim.origin}${DATA_PATH}`, { headers: { 'X-CM-WELL-TOKEN': jwt } })).status);
            assert.deepStrictEqual(statuses, [503, 503, 403, 200]);
            sim.resetStats();
            assert.deepStrictEqual(sim.stats, { loginAttempts: 0, loginsOk: 0, requests: [] });
        });
    });
});

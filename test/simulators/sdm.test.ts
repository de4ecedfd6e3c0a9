// Tests of the Oracle SDM REST simulator itself, over real sockets (docs/vendors.md section 3 and the
// section 6 conformance cases 34-41; numbers in test names refer to those cases).

import assert from 'node:assert';

import { SdmSimulator, replyFormat, readXmlFields, startForFlows, DEMO_PORT } from './sdm';
import { request } from './http-get';
import { idleKeepAlive, simulatorFixture, stopsAtOnce } from '../support/simulator-fixture';

const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' };
const XML_HEADERS = { 'Content-Type': 'application/xml', Accept: 'application/xml' };
const XML_LOGIN = '<?xml version="1.0" encoding="UTF-8"?><session><userName>admin</userName><password>passphrase</password></session>';
const COOKIE_PATTERN = /^JSESSIONID=([0-9A-F]{32}\.tomcat1); Path=\/rest; HttpOnly$/;

function loginJson(
    origin: string | null,
    body: unknown = { userName: 'admin', password: 'passphrase' },
    version = 'v1.3',
    headers: Record<string, string> = JSON_HEADERS,
) {
    return request(`${origin}/rest/${version}/admin/login`, { method: 'POST', headers, body });
}

/** `JSESSIONID=<id>` from a login reply, checked against the documented cookie shape. */
function sessionCookie(res: any) {
    const header = [].concat(res.headers['set-cookie'] || [])[0] || '';
    const match = COOKIE_PATTERN.exec(header);
    assert.ok(match, `unexpected Set-Cookie ${JSON.stringify(res.headers['set-cookie'])}`);
    return `JSESSIONID=${match[1]}`;
}

async function loginCookie(origin: any) {
    const res = await loginJson(origin);
    assert.strictEqual(res.status, 200, res.body);
    return sessionCookie(res);
}

function devices(origin: any, cookie: any, { version = 'v1.3', accept = 'application/json' } = {}) {
    const headers: Record<string, string> = { Accept: accept };
    if (cookie !== undefined) headers.Cookie = cookie;
    return request(`${origin}/rest/${version}/inventory/deviceMgmt/devices`, { headers });
}

function logout(origin: any, cookie: any, version = 'v1.3') {
    return request(`${origin}/rest/${version}/admin/logout`, {
        method: 'POST',
        headers: cookie ? { Cookie: cookie, Accept: 'application/xml' } : { Accept: 'application/xml' },
    });
}

describe('Oracle SDM simulator', function () {
    this.timeout(10000);
    let sim!: SdmSimulator; // stop() is a no-op on a stopped simulator
    let clock: any;

    const { start: startSim, fakeClock } = simulatorFixture((options?: any) => (sim = new SdmSimulator(options)));

    describe('lifecycle', function () {
        it('listens on 127.0.0.1 over HTTPS with the fixture certificate; GET / is the web client outside /rest', async function () {
            await startSim();
            assert.ok(Number(sim.port) > 0);
            assert.strictEqual(sim.baseUrl, `https://127.0.0.1:${sim.port}`);
            const res = await request(`${sim.origin}/`);
            assert.strictEqual(res.status, 200);
            assert.match(String(res.headers['content-type']), /text\/html/);
            await assert.rejects(request(`${sim.origin}/`, { ca: null }), (err) => /CERT|SELF_SIGNED|UNABLE/.test((err as any).code));
        });

        it('serves plain HTTP when tls is false', async function () {
            await startSim({ tls: false });
            assert.strictEqual(sim.origin, `http://127.0.0.1:${sim.port}`);
            assert.strictEqual((await loginJson(sim.origin)).status, 200);
        });

        it('stop() closes keep-alive sockets and pending delayed logins at once', async function () {
            await startSim({ loginDelayMs: 60000 });
            const agent = await idleKeepAlive(`${sim.origin}/`);
            try {
                const pending = loginJson(sim.origin).then(
                    () => 'answered',
                    () => 'closed',
                );
                while (sim.stats.loginAttempts === 0) await new Promise((resolve) => setTimeout(resolve, 5));
                await stopsAtOnce(sim);
                assert.strictEqual(await pending, 'closed');
            } finally {
                agent.destroy();
            }
        });

        it('startForFlows gives admin/passphrase, the origin as base URL, and DEMO_PORT is 8444', async function () {
            const started = await startForFlows();
            try {
                assert.strictEqual(started.baseUrl, started.simulator.origin);
                assert.deepStrictEqual(started.credentials, { username: 'admin', password: 'passphrase' });
                assert.strictEqual((await loginJson(started.baseUrl)).status, 200);
            } finally {
                await started.stop();
            }
            assert.strictEqual(DEMO_PORT, 8444);
        });
    });

    describe('login', function () {
        it('(34) XML login on v1.1: 200, JSESSIONID cookie (Path=/rest; HttpOnly), <session> with sessionId = cookie value', async function () {
            await startSim();
            const res = await request(`${sim.origin}/rest/v1.1/admin/login`, { method: 'POST', headers: XML_HEADERS, body: XML_LOGIN });
            assert.strictEqual(res.status, 200);
            assert.strictEqual(res.headers['content-type'], 'application/xml');
            const cookie = sessionCookie(res);
            assert.match(
                res.body,
                /^<\?xml version="1\.0" encoding="UTF-8" standalone="yes"\?><session><idleTimeout>0<\/idleTimeout><serverInfo>NNC82<\/serverInfo>/,
            );
            assert.ok(res.body.includes(`<sessionId>${cookie.split('=')[1]}</sessionId>`));
            assert.ok(res.body.includes('<userName>admin</userName>'));
            assert.match(res.body, /<userGroup>LI_ADMIN<\/userGroup>/);
            assert.match(res.body, /<validUntil>\d{4}-\d\d-\d\dT[\d:.]+Z<\/validUntil><\/session>$/);
            assert.ok(!res.body.includes('passphrase'));
            assert.strictEqual(sim.stats.loginsOk, 1);
        });

        it('(35) JSON login on v1.3: 200 with the cookie and the session fields as JSON without a root element', async function () {
            await startSim({ sessionTtlMs: 3600000, idleTtlMs: 90000 });
            const before = Date.now();
            const res = await loginJson(sim.origin);
            assert.strictEqual(res.status, 200);
            assert.strictEqual(res.headers['content-type'], 'application/json');
            const cookie = sessionCookie(res);
            const body = res.json();
            assert.deepStrictEqual(Object.keys(body), ['idleTimeout', 'serverInfo', 'sessionId', 'userGroup', 'userName', 'validUntil']);
            assert.strictEqual(body.sessionId, cookie.split('=')[1]);
            assert.strictEqual(body.userName, 'admin');
            assert.strictEqual(body.idleTimeout, 2, 'idle TTL in whole minutes, rounded up');
            const validUntil = Date.parse(body.validUntil);
            assert.ok(validUntil >= before + 3600000 && validUntil <= Date.now() + 3600000);
        });

        it('answers in the format the Accept header asks for, whatever the request body format', async function () {
            await startSim();
            const xmlReply = await loginJson(sim.origin, undefined, 'v1.3', { 'Content-Type': 'application/json', Accept: 'application/xml' });
            assert.strictEqual(xmlReply.headers['content-type'], 'application/xml');
            const jsonReply = await request(`${sim.origin}/rest/v1.0/admin/login`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/xml', Accept: 'application/json' },
                body: XML_LOGIN,
            });
            assert.strictEqual(jsonReply.json().userName, 'admin');
            const noAccept = await loginJson(sim.origin, undefined, 'v1.2', { 'Content-Type': 'application/json' });
            assert.strictEqual(noAccept.headers['content-type'], 'application/xml', 'no Accept: XML, the first format produced');
            const plain = await loginJson(sim.origin, undefined, 'v1.3', { 'Content-Type': 'application/json', Accept: 'text/plain' });
            assert.strictEqual(plain.status, 406);
        });

        it('(36) refuses the wrapped JSON form {"session":{...}} and missing fields with 400 "The user input is invalid."', async function () {
            await startSim();
            const wrapped = await loginJson(sim.origin, { session: { userName: 'admin', password: 'passphrase' } });
            assert.strictEqual(wrapped.status, 400);
            assert.deepStrictEqual(wrapped.json(), { code: 400, message: 'The user input is invalid.' });
            for (const body of [{ userName: 'admin' }, { password: 'passphrase' }, '{"userName":', '[]']) {
                assert.strictEqual((await loginJson(sim.origin, body)).status, 400, JSON.stringify(body));
            }
            const xmlMissing = await request(`${sim.origin}/rest/v1.3/admin/login`, {
                method: 'POST',
                headers: XML_HEADERS,
                body: '<session><userName>admin</userName></session>',
            });
            assert.strictEqual(xmlMissing.status, 400);
            assert.strictEqual(
                xmlMissing.body,
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><error><code>400</code><message>The user input is invalid.</message></error>',
            );
            const unsupported = await loginJson(sim.origin, undefined, 'v1.3', { 'Content-Type': 'text/plain', Accept: 'application/json' });
            assert.strictEqual(unsupported.status, 415);
            assert.strictEqual(sim.stats.loginsOk, 0);
            assert.strictEqual(sim.stats.loginAttempts, 7);
        });

        it('(37) answers 401 "The user ID or password is invalid." for a wrong password or an unknown user, with no cookie', async function () {
            await startSim();
            for (const body of [
                { userName: 'admin', password: 'nope' },
                { userName: 'ghost', password: 'passphrase' },
            ]) {
                const res = await loginJson(sim.origin, body);
                assert.strictEqual(res.status, 401);
                assert.deepStrictEqual(res.json(), { code: 401, message: 'The user ID or password is invalid.' });
                assert.strictEqual(res.headers['set-cookie'], undefined);
            }
            assert.strictEqual(sim.liveSessions(), 0);
        });

        it('(38) answers 404 "The REST API version of your input request cannot be found." for v9.9', async function () {
            await startSim();
            const res = await loginJson(sim.origin, undefined, 'v9.9');
            assert.strictEqual(res.status, 404);
            assert.strictEqual(res.json().message, 'The REST API version of your input request cannot be found.');
            assert.strictEqual(sim.stats.loginAttempts, 1);
            assert.strictEqual(sim.stats.requests[0].status, 404);
        });

        it('decodes XML entities in the credentials and refuses an XML body with a DOCTYPE', async function () {
            await startSim({ users: { 'o&r': { password: '<p&ss>' } } });
            const body = '<session><userName>o&amp;r</userName><password>&lt;p&amp;ss&gt;</password></session>';
            const res = await request(`${sim.origin}/rest/v1.3/admin/login`, { method: 'POST', headers: XML_HEADERS, body });
            assert.strictEqual(res.status, 200);
            const doctype = await request(`${sim.origin}/rest/v1.3/admin/login`, {
                method: 'POST',
                headers: XML_HEADERS,
                body: `<!DOCTYPE session []>${body}`,
            });
            assert.strictEqual(doctype.status, 400);
        });

        it('delays the login answer by loginDelayMs', async function () {
            await startSim({ loginDelayMs: 200 });
            const started = Date.now();
            assert.strictEqual((await loginJson(sim.origin)).status, 200);
            assert.ok(Date.now() - started >= 180);
        });

        it('every login is a new session; earlier cookies stay valid', async function () {
            await startSim();
            const first = await loginCookie(sim.origin);
            const second = await loginCookie(sim.origin);
            assert.notStrictEqual(first, second);
            assert.strictEqual(sim.liveSessions(), 2);
            assert.strictEqual((await devices(sim.origin, first)).status, 200);
        });
    });

    describe('sessions and data', function () {
        it('(39) GET devices with the cookie: 200 in JSON or XML; without it: 401 "The session ID is invalid."', async function () {
            await startSim();
            const cookie = await loginCookie(sim.origin);
            const json = await devices(sim.origin, cookie);
            assert.strictEqual(json.status, 200);
            assert.strictEqual(json.json().devices.length, 2);
            const xml = await devices(sim.origin, cookie, { accept: 'application/xml' });
            assert.match(xml.body, /^<\?xml[^>]*\?><devices><device><deviceId>sbc-east-01<\/deviceId>/);
            const none = await devices(sim.origin, undefined);
            assert.strictEqual(none.status, 401);
            assert.deepStrictEqual(none.json(), { code: 401, message: 'The session ID is invalid.' });
            const noneXml = await devices(sim.origin, undefined, { accept: 'application/xml' });
            assert.match(noneXml.body, /<message>The session ID is invalid\.<\/message>/);
            assert.deepStrictEqual(
                sim.stats.requests.map((r: any) => r.status),
                [200, 200, 200, 401, 401],
            );
            assert.strictEqual(sim.stats.requests[1].cookie, cookie);
            assert.strictEqual(sim.stats.requests[1].accept, 'application/json');
        });

        it('accepts the cookie on every API version (Path=/rest), also at /configuration/devices', async function () {
            await startSim();
            const cookie = await loginCookie(sim.origin);
            for (const version of ['v1.0', 'v1.1', 'v1.2']) assert.strictEqual((await devices(sim.origin, cookie, { version })).status, 200);
            const configuration = await request(`${sim.origin}/rest/v1.1/configuration/devices`, { headers: { Cookie: cookie, Accept: 'application/json' } });
            assert.strictEqual(configuration.status, 200);
            assert.strictEqual((await devices(sim.origin, cookie, { version: 'v2.0' })).status, 404);
        });

        it('accepts only "JSESSIONID=<id>": not the bare id, not another cookie name; other cookies may come along', async function () {
            await startSim();
            const cookie = await loginCookie(sim.origin);
            const id = cookie.split('=')[1];
            assert.strictEqual((await devices(sim.origin, id)).status, 401);
            assert.strictEqual((await devices(sim.origin, `SESSIONID=${id}`)).status, 401);
            assert.strictEqual((await devices(sim.origin, `theme=dark; ${cookie}`)).status, 200);
            assert.strictEqual(sim.isSessionValid(id), true);
        });

        it('writes a device group with POST (JSON or XML) and refuses invalid input', async function () {
            await startSim();
            const cookie = await loginCookie(sim.origin);
            const url = `${sim.origin}/rest/v1.3/inventory/deviceMgmt/deviceGroups`;
            const created = await request(url, { method: 'POST', headers: { ...JSON_HEADERS, Cookie: cookie }, body: { groupName: 'Lab' } });
            assert.strictEqual(created.status, 200);
            assert.deepStrictEqual(created.json(), { groupName: 'Lab', groupFullName: 'Home/Lab' });
            const xml = await request(url, {
                method: 'POST',
                headers: { ...XML_HEADERS, Cookie: cookie },
                body: '<deviceGroup><groupName>Core</groupName></deviceGroup>',
            });
            assert.match(xml.body, /<groupFullName>Home\/Core<\/groupFullName>/);
            assert.strictEqual((await request(url, { method: 'POST', headers: { ...JSON_HEADERS, Cookie: cookie }, body: { groupName: 'Lab' } })).status, 409);
            assert.strictEqual((await request(url, { method: 'POST', headers: { ...JSON_HEADERS, Cookie: cookie }, body: {} })).status, 400);
            assert.strictEqual((await request(url, { method: 'POST', headers: JSON_HEADERS, body: { groupName: 'X' } })).status, 401);
            assert.strictEqual((await request(url, { method: 'GET', headers: { Cookie: cookie } })).status, 405);
            assert.deepStrictEqual(sim.deviceGroups, ['Home', 'Home/Lab', 'Home/Core']);
        });

        it('expires sessions after sessionTtlMs and after idleTtlMs without use (Date.now only)', async function () {
            await startSim({ sessionTtlMs: 10 * 60000, idleTtlMs: 4 * 60000 });
            clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
            const cookie = await loginCookie(sim.origin);
            for (let i = 0; i < 3; i++) {
                clock.tick(3 * 60000);
                assert.strictEqual((await devices(sim.origin, cookie)).status, 200, `use ${i}`);
            }
            clock.tick(60000 + 1);
            assert.strictEqual((await devices(sim.origin, cookie)).status, 401, 'absolute TTL');
            const idle = await loginCookie(sim.origin);
            clock.tick(4 * 60000);
            assert.strictEqual((await devices(sim.origin, idle)).status, 401, 'idle TTL');
        });

        it('expireSessions() invalidates every session; expireSessionsAfter(n) does so after n served data requests', async function () {
            await startSim();
            let cookie = await loginCookie(sim.origin);
            sim.expireSessions();
            assert.strictEqual((await devices(sim.origin, cookie)).status, 401);
            assert.strictEqual(sim.liveSessions(), 0);
            cookie = await loginCookie(sim.origin);
            sim.expireSessionsAfter(2);
            const statuses = [];
            for (let i = 0; i < 4; i++) statuses.push((await devices(sim.origin, cookie)).status);
            assert.deepStrictEqual(statuses, [200, 200, 401, 401]);
            cookie = await loginCookie(sim.origin);
            assert.strictEqual((await devices(sim.origin, cookie)).status, 200, 'it fires once');
        });
    });

    describe('logout', function () {
        it('(40) answers 204 with an empty body; the cookie is then refused', async function () {
            await startSim();
            const cookie = await loginCookie(sim.origin);
            const res = await logout(sim.origin, cookie);
            assert.strictEqual(res.status, 204);
            assert.strictEqual(res.body, '');
            assert.strictEqual(sim.stats.logouts, 1);
            assert.strictEqual((await devices(sim.origin, cookie)).status, 401);
        });

        it('(41) answers 401 without a session, and to a second logout', async function () {
            await startSim();
            const none = await logout(sim.origin, undefined);
            assert.strictEqual(none.status, 401);
            assert.match(none.body, /<message>The request is not authorized\.<\/message>/);
            const cookie = await loginCookie(sim.origin);
            assert.strictEqual((await logout(sim.origin, cookie, 'v1.1')).status, 204);
            assert.strictEqual((await logout(sim.origin, cookie)).status, 401);
            assert.strictEqual((await logout(sim.origin, cookie, 'v9.9')).status, 404);
            assert.strictEqual(sim.stats.logouts, 1);
        });
    });

    describe('knobs', function () {
        it('failNext answers data routes (after the session check), or login/logout when asked', async function () {
            await startSim();
            const cookie = await loginCookie(sim.origin);
            sim.failNext(503, 2);
            sim.failNext(500, 1, { route: 'login' });
            sim.failNext(502, 1, { route: 'logout', body: 'Bad gateway' });
            assert.strictEqual((await devices(sim.origin, undefined)).status, 401, 'no session: no fault used');
            assert.strictEqual((await devices(sim.origin, cookie)).status, 503);
            const second = await devices(sim.origin, cookie);
            assert.deepStrictEqual([second.status, second.json()], [503, { code: 503, message: 'Service Unavailable' }]);
            assert.strictEqual((await devices(sim.origin, cookie)).status, 200);
            assert.strictEqual((await loginJson(sim.origin)).status, 500);
            assert.strictEqual((await loginJson(sim.origin)).status, 200);
            const gateway = await logout(sim.origin, cookie);
            assert.deepStrictEqual([gateway.status, gateway.body], [502, 'Bad gateway']);
            assert.strictEqual(sim.isSessionValid(cookie.split('=')[1]), true);
        });

        it('entityBombNext puts a "billion laughs" DOCTYPE in front of the next XML reply, login or data', async function () {
            await startSim();
            sim.entityBombNext(2);
            const login = await request(`${sim.origin}/rest/v1.3/admin/login`, { method: 'POST', headers: XML_HEADERS, body: XML_LOGIN });
            assert.strictEqual(login.status, 200);
            assert.match(
                login.body,
                /^<\?xml[^>]*\?><!DOCTYPE session \[<!ENTITY lol0 "lol"><!ENTITY lol1 "(&lol0;){10}">.*<!ENTITY lol9 "(&lol8;){10}">\]><session>/,
            );
            assert.match(login.body, /<serverInfo>&lol9;<\/serverInfo>/);
            assert.match(login.body, /<sessionId>[0-9A-F]{32}\.tomcat1<\/sessionId>/);
            const data = await devices(sim.origin, sessionCookie(login), { accept: 'application/xml' });
            assert.match(data.body, /<!DOCTYPE devices \[/);
            const plain = await devices(sim.origin, sessionCookie(login), { accept: 'application/xml' });
            assert.doesNotMatch(plain.body, /DOCTYPE/);
        });

        it('records every request and resetStats() starts afresh', async function () {
            await startSim();
            await loginCookie(sim.origin);
            assert.deepStrictEqual(
                sim.stats.requests.map(({ method, path, status }) => ({ method, path, status })),
                [{ method: 'POST', path: '/rest/v1.3/admin/login', status: 200 }],
            );
            sim.resetStats();
            assert.deepStrictEqual(sim.stats, { loginAttempts: 0, loginsOk: 0, logouts: 0, requests: [] });
        });
    });

    describe('helpers', function () {
        it('replyFormat follows Accept quality, XML on a tie or a wildcard, null when neither is acceptable', function () {
            assert.strictEqual(replyFormat(undefined), 'xml');
            assert.strictEqual(replyFormat('*/*'), 'xml');
            assert.strictEqual(replyFormat('application/json'), 'json');
            assert.strictEqual(replyFormat('application/xml;q=0.5, application/json'), 'json');
            assert.strictEqual(replyFormat('application/json;q=0.2, text/xml'), 'xml');
            assert.strictEqual(replyFormat('text/html'), null);
        });

        it('readXmlFields reads the fields of the named root only', function () {
            assert.deepStrictEqual(
                readXmlFields('<?xml version="1.0"?>\n<session><userName>a</userName><password/></session>', 'session', ['userName', 'password']),
                { userName: 'a', password: '' },
            );
            assert.strictEqual(readXmlFields('<other><userName>a</userName></other>', 'session', ['userName']), null);
        });
    });
});

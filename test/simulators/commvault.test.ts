// Tests of the Commvault REST simulator itself, over real HTTPS (docs/vendors.md section 4 and the
// section 6 conformance cases). Numbers in test names refer to those cases.

import assert from 'node:assert';

import { CommvaultSimulator, decodeBase64, parseXmlElement, toXml, startForFlows, DEMO_PORT } from './commvault';
import { request } from './http-get';
import { idleKeepAlive, simulatorFixture, stopsAtOnce } from '../support/simulator-fixture';

const USER = 'cvuser01';
const PASSWORD = 'Password#123!';
const PASSWORD_B64 = 'UGFzc3dvcmQjMTIzIQ==';
const JSON_HEADERS = { Accept: 'application/json', 'Content-Type': 'application/json' };
const XML_HEADERS = { Accept: 'application/xml', 'Content-Type': 'application/xml' };

function b64(text: any) {
    return Buffer.from(text, 'utf8').toString('base64');
}

function loginJson(sim: CommvaultSimulator, body: unknown = { username: USER, password: PASSWORD_B64 }, headers: Record<string, string> = JSON_HEADERS) {
    return request(`${sim.baseUrl}/Login`, { method: 'POST', headers, body });
}

function loginXml(sim: any, attributes: any, headers = XML_HEADERS) {
    return request(`${sim.baseUrl}/Login`, { method: 'POST', headers, body: `<DM2ContentIndexing_CheckCredentialReq ${attributes}/>` });
}

async function token(sim: any) {
    const res = await loginJson(sim);
    assert.strictEqual(res.status, 200, res.body);
    return res.json().token;
}

function get(sim: CommvaultSimulator, route: string, authtoken?: string, accept = 'application/json') {
    const headers: Record<string, string> = { Accept: accept };
    if (authtoken !== undefined) headers.Authtoken = authtoken;
    return request(`${sim.baseUrl}${route}`, { headers });
}

function logout(sim: CommvaultSimulator, authtoken?: string) {
    return request(`${sim.baseUrl}/Logout`, { method: 'POST', headers: { Accept: 'application/json', Authtoken: authtoken } });
}

describe('Commvault simulator', function () {
    this.timeout(10000);
    let sim!: CommvaultSimulator; // stop() is a no-op on a stopped simulator
    let clock: any;

    const { start: startSim, fakeClock } = simulatorFixture(
        (options: ConstructorParameters<typeof CommvaultSimulator>[0] = {}) => (sim = new CommvaultSimulator(options)),
    );

    describe('helpers', function () {
        it('decodes strict Base64 of UTF-8 only', function () {
            assert.strictEqual(decodeBase64(PASSWORD_B64), PASSWORD);
            assert.strictEqual(decodeBase64(b64('Pässwörd €')), 'Pässwörd €');
            assert.strictEqual(decodeBase64(PASSWORD), null);
            assert.strictEqual(decodeBase64('UGFzc3dvcmQjMTIzIQ'), null, 'no padding');
            assert.strictEqual(decodeBase64(Buffer.from([0xff, 0xfe]).toString('base64')), null, 'not UTF-8');
            assert.strictEqual(decodeBase64(undefined), null);
        });

        it('reads the attributes of the first XML element, entities decoded', function () {
            const element = parseXmlElement('<?xml version="1.0"?>\n<Req a="x &amp; &lt;y&gt;" b=\'&#65;&#x42;\' c=""/>');
            assert.deepStrictEqual(element, { name: 'Req', attributes: { a: 'x & <y>', b: 'AB', c: '' } });
            assert.strictEqual(parseXmlElement('not xml'), null);
        });

        it('writes scalars as attributes, objects and arrays as children', function () {
            const xml = toXml('Root', { a: 1, b: 'x"y', list: [], one: [{ c: true }], child: { d: 'e' } });
            assert.strictEqual(xml, '<Root a="1" b="x&quot;y"><one c="true"/><child d="e"/></Root>');
        });
    });

    describe('lifecycle', function () {
        it('serves HTTPS on 127.0.0.1 under /webconsole/api, and (42) answers the root probe with 200', async function () {
            await startSim();
            assert.ok(Number(sim.port) > 0);
            assert.strictEqual(sim.origin, `https://127.0.0.1:${sim.port}`);
            assert.strictEqual(sim.baseUrl, `${sim.origin}/webconsole/api`);
            assert.strictEqual((await request(sim.baseUrl)).status, 200);
            assert.strictEqual((await request(`${sim.baseUrl}/`)).status, 200);
            assert.strictEqual((await request(`${sim.origin}/Login`, { method: 'POST', headers: JSON_HEADERS, body: {} })).status, 404);
            assert.strictEqual((await get(sim, '/NoSuchThing', 'QSDK 00')).status, 404);
        });

        it('is refused by a client that does not trust the test CA', async function () {
            await startSim();
            await assert.rejects(request(sim.baseUrl, { ca: null }), (err) => {
                assert.match((err as any).code, /CERT|SELF_SIGNED|UNABLE/);
                return true;
            });
        });

        it('serves plain HTTP under another root (the port-81 Web Server layout)', async function () {
            await startSim({ tls: false, root: '/SearchSvc/CVWebService.svc/' });
            assert.strictEqual(sim.baseUrl, `http://127.0.0.1:${sim.port}/SearchSvc/CVWebService.svc`);
            assert.strictEqual((await request(`${sim.baseUrl}/`)).status, 200);
            assert.match(await token(sim), /^QSDK [0-9a-f]+$/);
        });

        it('stop() closes idle keep-alive connections and resolves fast', async function () {
            await startSim();
            const agent = await idleKeepAlive(sim.baseUrl);
            try {
                await stopsAtOnce(sim);
            } finally {
                agent.destroy();
            }
        });

        it('startForFlows gives a running simulator, its web-service root and the demo user', async function () {
            const started = await startForFlows();
            try {
                assert.strictEqual(started.baseUrl, `${started.simulator.origin}/webconsole/api`);
                assert.deepStrictEqual(started.credentials, { username: USER, password: PASSWORD });
                assert.strictEqual(DEMO_PORT, 8445);
                assert.strictEqual((await request(started.baseUrl)).status, 200);
            } finally {
                await started.stop();
            }
        });
    });

    describe('login', function () {
        it('(43) answers 200 JSON with a QSDK token and the documented fields', async function () {
            await startSim();
            const res = await loginJson(sim);
            assert.strictEqual(res.status, 200);
            assert.match(String(res.headers['content-type']), /^application\/json/);
            const body = res.json();
            assert.match(body.token, /^QSDK [0-9a-f]{64,}$/);
            assert.strictEqual(body.userName, USER);
            assert.deepStrictEqual(body.errList, []);
            assert.strictEqual(body.isAccountLocked, false);
            assert.strictEqual(body.loginAttempts, 0);
            assert.strictEqual(body.remainingLockTime, 0);
            assert.strictEqual(body.forcePasswordChange, false);
            for (const key of ['aliasName', 'capability', 'ownerOrganization', 'providerOrganization', 'userGUID', 'smtpAddress', 'additionalResp']) {
                assert.ok(key in body, `reply lacks ${key}`);
            }
            assert.ok(!JSON.stringify(body).includes(PASSWORD_B64), 'the password is not echoed');
            assert.deepStrictEqual(sim.stats.logins, [{ format: 'json', username: USER, domain: '', commserver: '', fields: ['username', 'password'] }]);
            assert.strictEqual(sim.stats.loginsOk, 1);
            assert.strictEqual(sim.liveTokens(), 1);
            assert.ok(sim.isTokenValid(body.token));
            assert.deepStrictEqual(sim.issuedTokens(), [body.token]);
        });

        it('(44) answers a wrong password with HTTP 200, errList and no token', async function () {
            await startSim();
            const res = await loginJson(sim, { username: USER, password: b64('wrong') });
            assert.strictEqual(res.status, 200);
            const body = res.json();
            assert.strictEqual(body.token, undefined);
            assert.strictEqual(body.userName, undefined);
            assert.strictEqual(body.errList.length, 1);
            assert.strictEqual(typeof body.errList[0].errorCode, 'number');
            assert.ok(body.errList[0].errLogMessage.length > 0);
            assert.strictEqual(body.isAccountLocked, false);
            assert.strictEqual(body.loginAttempts, 1);
            assert.strictEqual(sim.stats.loginsOk, 0);
        });

        it('refuses a password that is not Base64, and an unknown user, the same way', async function () {
            await startSim();
            for (const body of [
                { username: USER, password: PASSWORD },
                { username: 'nobody', password: PASSWORD_B64 },
            ]) {
                const res = await loginJson(sim, body);
                assert.strictEqual(res.status, 200);
                assert.strictEqual(res.json().token, undefined);
                assert.strictEqual(res.json().errList.length, 1);
            }
        });

        it('answers an unreadable login request with 400', async function () {
            await startSim();
            const malformed = await loginJson(sim, '{"username":');
            assert.strictEqual(malformed.status, 400);
            const missing = await loginJson(sim, { username: USER });
            assert.strictEqual(missing.status, 400);
            const wrongType = await loginJson(sim, { username: USER, password: PASSWORD_B64 }, { 'Content-Type': 'text/plain' });
            assert.strictEqual(wrongType.status, 400);
            const wrongRoot = await request(`${sim.baseUrl}/Login`, {
                method: 'POST',
                headers: XML_HEADERS,
                body: `<Other username="${USER}" password="${PASSWORD_B64}"/>`,
            });
            assert.strictEqual(wrongRoot.status, 400);
            assert.strictEqual(sim.stats.loginsOk, 0);
        });

        it('(46) takes the XML attribute form and answers XML when Accept asks for it', async function () {
            await startSim();
            const res = await loginXml(sim, `username="${USER}" password="${PASSWORD_B64}"`);
            assert.strictEqual(res.status, 200);
            assert.match(String(res.headers['content-type']), /^application\/xml/);
            const root = parseXmlElement(res.body)!;
            assert.strictEqual(root.name, 'DM2ContentIndexing_CheckCredentialResp');
            assert.match(root.attributes.token, /^QSDK [0-9a-f]+$/);
            assert.strictEqual(root.attributes.userName, USER);
            assert.strictEqual(root.attributes.isAccountLocked, 'false');
            assert.strictEqual(root.attributes.forcePasswordChange, 'false');
            assert.strictEqual(root.attributes.remainingLockTime, '0');
            assert.match(res.body, /<ownerOrganization [^>]*providerDomainName="Commcell"/);
            assert.doesNotMatch(res.body, /<errList/);
            assert.strictEqual(sim.stats.logins[0].format, 'xml');
        });

        it('answers a refused XML login in XML with an errList element', async function () {
            await startSim();
            const res = await loginXml(sim, `username="${USER}" password="${b64('nope')}"`);
            assert.strictEqual(res.status, 200);
            assert.strictEqual(parseXmlElement(res.body)!.attributes.token, undefined);
            assert.match(res.body, /<errList errorCode="\d+" errLogMessage="[^"]+"\/>/);
        });

        it('decodes escaped XML attributes, and answers JSON to an XML request that accepts JSON', async function () {
            await startSim({ users: { "o'neil & <co>": { password: 'p"w<&>' } } });
            const res = await loginXml(sim, `username="o&apos;neil &amp; &lt;co&gt;" password="${b64('p"w<&>')}"`, {
                Accept: 'application/json',
                'Content-Type': 'application/xml',
            });
            assert.strictEqual(res.status, 200);
            assert.strictEqual(res.json().userName, "o'neil & <co>");
        });

        it('asks for a domain when the user has one, and records domain and commserver', async function () {
            await startSim({ users: { [USER]: { password: PASSWORD, domain: 'CORP' } } });
            const without = await loginJson(sim);
            assert.strictEqual(without.json().token, undefined);
            const withDomain = await loginJson(sim, { username: USER, password: PASSWORD_B64, domain: 'corp', commserver: 'cs01' });
            assert.match(withDomain.json().token, /^QSDK /);
            assert.deepStrictEqual(sim.stats.logins[1], {
                format: 'json',
                username: USER,
                domain: 'corp',
                commserver: 'cs01',
                fields: ['username', 'password', 'domain', 'commserver'],
            });
        });

        it('logs in a user who must change the password, saying so', async function () {
            await startSim();
            sim.setUser(USER, { forcePasswordChange: true });
            const body = (await loginJson(sim)).json();
            assert.match(body.token, /^QSDK /);
            assert.strictEqual(body.forcePasswordChange, true);
        });

        it('(45) locks the account after the threshold: any password gets isAccountLocked and the seconds left', async function () {
            clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
            await startSim({ lockoutThreshold: 3 });
            for (let i = 1; i <= 2; i++) {
                const res = (await loginJson(sim, { username: USER, password: b64('guess') })).json();
                assert.strictEqual(res.isAccountLocked, false);
                assert.strictEqual(res.loginAttempts, i);
            }
            const locking = (await loginJson(sim, { username: USER, password: b64('guess') })).json();
            assert.strictEqual(locking.isAccountLocked, true, 'the failure that reaches the threshold locks');
            assert.strictEqual(locking.remainingLockTime, 5400);

            const right = (await loginJson(sim)).json();
            assert.strictEqual(right.token, undefined);
            assert.strictEqual(right.isAccountLocked, true);
            assert.strictEqual(right.remainingLockTime, 5400);
            assert.ok(right.errList[0].errLogMessage);
            assert.ok(sim.lockedUntil(USER) > Date.now());

            clock.tick(3600 * 1000);
            assert.strictEqual((await loginJson(sim)).json().remainingLockTime, 1800);
            clock.tick(1800 * 1000);
            const after = (await loginJson(sim)).json();
            assert.match(after.token, /^QSDK /);
            assert.strictEqual(sim.lockedUntil(USER), 0);
        });

        it('counts failures afresh after a successful login, and uses lockoutDurationS', async function () {
            await startSim({ lockoutThreshold: 2, lockoutDurationS: 60 });
            await loginJson(sim, { username: USER, password: b64('guess') });
            await loginJson(sim);
            const first = (await loginJson(sim, { username: USER, password: b64('guess') })).json();
            assert.strictEqual(first.loginAttempts, 1);
            const locked = (await loginJson(sim, { username: USER, password: b64('guess') })).json();
            assert.strictEqual(locked.isAccountLocked, true);
            assert.ok(locked.remainingLockTime > 55 && locked.remainingLockTime <= 60);
        });

        it('delays the login answer by loginDelayMs', async function () {
            await startSim({ loginDelayMs: 150 });
            const started = Date.now();
            await token(sim);
            assert.ok(Date.now() - started >= 140);
        });

        it('failNextLogin answers the next logins with the status given', async function () {
            await startSim();
            sim.failNextLogin(503, 1);
            const failed = await loginJson(sim);
            assert.strictEqual(failed.status, 503);
            assert.strictEqual((await loginJson(sim)).status, 200);
            assert.strictEqual(sim.stats.loginAttempts, 2);
        });
    });

    describe('data calls', function () {
        it('(47) GET /Client with the Authtoken answers 200 JSON, with or without the QSDK prefix', async function () {
            await startSim();
            const authtoken = await token(sim);
            const res = await get(sim, '/Client', authtoken);
            assert.strictEqual(res.status, 200);
            const clients = res.json().clientProperties;
            assert.ok(clients.length >= 2);
            assert.strictEqual(clients[0].client.clientEntity.clientName, 'cs01');
            const bare = await get(sim, '/Client', authtoken.slice('QSDK '.length));
            assert.strictEqual(bare.status, 200);
            const commServ = await get(sim, '/CommServ', authtoken);
            assert.strictEqual(commServ.json().commcell.commCellName, 'cs01');
            const requests = sim.stats.requests.filter((r: any) => r.path.endsWith('/Client'));
            assert.deepStrictEqual(
                requests.map((r: any) => [r.method, r.status, r.authtoken, r.accept]),
                [
                    ['GET', 200, true, 'application/json'],
                    ['GET', 200, true, 'application/json'],
                ],
            );
        });

        it('answers XML when Accept asks for it', async function () {
            await startSim();
            const res = await get(sim, '/Client', await token(sim), 'application/xml');
            assert.strictEqual(res.status, 200);
            assert.match(String(res.headers['content-type']), /^application\/xml/);
            assert.match(res.body, /^<App_GetClientPropertiesResponse><clientProperties><client[^>]*><clientEntity clientId="2" clientName="cs01"/);
        });

        it('refuses a missing, unknown or malformed token with 401 Access denied', async function () {
            await startSim();
            for (const authtoken of [undefined, 'QSDK 0123abcd', 'garbage token']) {
                const res = await get(sim, '/Client', authtoken);
                assert.strictEqual(res.status, 401);
                assert.deepStrictEqual(res.json(), { errorCode: 5, errorMessage: 'Access denied' });
            }
            assert.strictEqual(sim.stats.requests[0].authtoken, false);
        });

        it('writes with POST /Client/{id} and reads it back', async function () {
            await startSim();
            const authtoken = await token(sim);
            const write = await request(`${sim.baseUrl}/Client/5`, {
                method: 'POST',
                headers: { ...JSON_HEADERS, Authtoken: authtoken },
                body: { clientProperties: { client: { clientDescription: 'backed up nightly' } } },
            });
            assert.strictEqual(write.status, 200);
            assert.deepStrictEqual(write.json().response[0], { errorCode: 0, entity: { clientId: 5, clientName: 'fileserver01' } });
            const read = await get(sim, '/Client/5', authtoken);
            assert.strictEqual(read.json().clientProperties[0].client.clientDescription, 'backed up nightly');
            const bad = await request(`${sim.baseUrl}/Client/5`, { method: 'POST', headers: { ...JSON_HEADERS, Authtoken: authtoken }, body: { x: 1 } });
            assert.strictEqual(bad.status, 400);
            assert.strictEqual((await get(sim, '/Client/99', authtoken)).status, 404);
        });

        it('(48) a token idle for idleTtlMs is refused; each use restarts the idle time', async function () {
            clock = fakeClock({ now: Date.now(), toFake: ['Date'] });
            await startSim({ idleTtlMs: 60_000 });
            const authtoken = await token(sim);
            clock.tick(50_000);
            assert.strictEqual((await get(sim, '/Client', authtoken)).status, 200);
            clock.tick(50_000);
            assert.strictEqual((await get(sim, '/Client', authtoken)).status, 200, 'the last use counts, not the login');
            clock.tick(60_000);
            assert.strictEqual((await get(sim, '/Client', authtoken)).status, 401);
            assert.strictEqual(sim.isTokenValid(authtoken), false);
        });

        it('expireTokens() kills every token at once', async function () {
            await startSim();
            const first = await token(sim);
            const second = await token(sim);
            sim.expireTokens();
            assert.strictEqual((await get(sim, '/Client', first)).status, 401);
            assert.strictEqual((await get(sim, '/Client', second)).status, 401);
            assert.strictEqual(sim.liveTokens(), 0);
            assert.strictEqual((await get(sim, '/Client', await token(sim))).status, 200);
        });

        it('failNext answers the next data calls after the token check', async function () {
            await startSim();
            const authtoken = await token(sim);
            sim.failNext(503, 2);
            sim.failNext(500, 1, 'boom');
            assert.strictEqual((await get(sim, '/Client', undefined)).status, 401, 'no token: the fault stays queued');
            assert.strictEqual((await get(sim, '/Client', authtoken)).status, 503);
            assert.strictEqual((await get(sim, '/Client', authtoken)).status, 503);
            const text = await get(sim, '/Client', authtoken);
            assert.strictEqual(text.status, 500);
            assert.strictEqual(text.body, 'boom');
            assert.strictEqual((await get(sim, '/Client', authtoken)).status, 200);
        });

        it("POST /WhoAmI names the token's user", async function () {
            await startSim();
            const res = await request(`${sim.baseUrl}/WhoAmI`, { method: 'POST', headers: { Accept: 'application/json', Authtoken: await token(sim) } });
            assert.strictEqual(res.json().user.userName, USER);
        });
    });

    describe('RenewLoginToken', function () {
        async function deviceLogin(deviceId: any) {
            const res = await loginJson(sim, { username: USER, password: PASSWORD_B64, deviceId });
            return res.json().token;
        }

        function renew(authtoken: any, body: any) {
            return request(`${sim.baseUrl}/RenewLoginToken`, { method: 'POST', headers: { ...JSON_HEADERS, Authtoken: authtoken }, body });
        }

        it("(48) renews an expired token with the login's deviceId; the old one is gone", async function () {
            await startSim();
            const old = await deviceLogin('host-1.example');
            sim.expireTokens();
            const res = await renew(old, { sessionId: old, deviceId: 'host-1.example' });
            assert.strictEqual(res.status, 200);
            const { token: renewed, error } = res.json();
            assert.match(renewed, /^QSDK [0-9a-f]+$/);
            assert.deepStrictEqual(error, {});
            assert.notStrictEqual(renewed, old);
            assert.strictEqual((await get(sim, '/Client', renewed)).status, 200);
            assert.strictEqual((await get(sim, '/Client', old)).status, 401);
            assert.strictEqual(sim.stats.renewals, 1);
        });

        it('(49) refuses another deviceId, a login without one, or a sessionId that is not the token', async function () {
            await startSim();
            const withDevice = await deviceLogin('host-1.example');
            const withoutDevice = await token(sim);
            for (const [authtoken, body] of [
                [withDevice, { sessionId: withDevice, deviceId: 'host-2.example' }],
                [withoutDevice, { sessionId: withoutDevice, deviceId: 'host-1.example' }],
                [withDevice, { sessionId: withoutDevice, deviceId: 'host-1.example' }],
                [withDevice, 'not json'],
            ]) {
                const res = await renew(authtoken, body);
                assert.strictEqual(res.status, 200);
                assert.strictEqual(res.json().token, undefined);
                assert.ok(res.json().error.errLogMessage);
            }
            assert.strictEqual(sim.stats.renewals, 0);
        });
    });

    describe('logout', function () {
        it('(50) answers "User logged out", then "Invalid authorization token provided." with 200', async function () {
            await startSim();
            const authtoken = await token(sim);
            const first = await logout(sim, authtoken);
            assert.strictEqual(first.status, 200);
            assert.strictEqual(first.body, 'User logged out');
            assert.strictEqual((await get(sim, '/Client', authtoken)).status, 401);
            const second = await logout(sim, authtoken);
            assert.strictEqual(second.status, 200);
            assert.strictEqual(second.body, 'Invalid authorization token provided.');
            assert.strictEqual(sim.stats.logouts, 1);
            assert.strictEqual(sim.liveTokens(), 0);
        });

        it('answers an invalid token with 401 when logoutInvalidStatus is 401', async function () {
            await startSim({ logoutInvalidStatus: 401 });
            const res = await logout(sim, 'QSDK 1234');
            assert.strictEqual(res.status, 401);
            assert.strictEqual(res.body, 'Invalid authorization token provided.');
        });

        it('treats an idle-expired token as invalid, and failNextLogout injects a fault', async function () {
            await startSim();
            const authtoken = await token(sim);
            sim.failNextLogout(500, 1);
            assert.strictEqual((await logout(sim, authtoken)).status, 500);
            sim.expireTokens();
            assert.strictEqual((await logout(sim, authtoken)).body, 'Invalid authorization token provided.');
            assert.strictEqual(sim.stats.logouts, 0);
        });
    });

    it('resetStats() starts the counters afresh', async function () {
        await startSim();
        await token(sim);
        sim.resetStats();
        assert.deepStrictEqual(sim.stats, { loginAttempts: 0, loginsOk: 0, logouts: 0, renewals: 0, logins: [], requests: [] });
    });
});

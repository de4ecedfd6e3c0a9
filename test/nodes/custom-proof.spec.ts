/**
 * Proof that the custom vendor is the right abstraction: the SmartServer and Commvault simulators,
 * driven once through their own adapters and once through `custom` configs, go through the same
 * login, request burst, expiry (found out and replayed once) and logout, and the servers count the
 * same exchanges either way. SmartServer: a JSON login and the `cmsSID` cookie. Commvault:
 * `{{passwordBase64}}` in a JSON body, the token from the body, an `Authtoken` header without prefix.
 */
import assert from 'node:assert';

import { CommvaultSimulator } from '../simulators/commvault';
import { SmartServerSimulator } from '../simulators/smartserver';
import { type FlowNode, type Msg, answeredOnce, helper, load, logText, standardFlow } from '../support/harness';

interface Vendor {
    name: string;
    start(): Promise<{
        baseUrl: string;
        user: { username: string; password: string };
        expire(): void;
        counts(): Record<string, number>;
        issued(): string[];
        stop(): Promise<void>;
    }>;
    own: FlowNode;
    custom: FlowNode;
    url: string;
}

const VENDORS: Vendor[] = [
    {
        name: 'SmartServer',
        async start() {
            const sim = new SmartServerSimulator();
            await sim.start();
            return {
                baseUrl: sim.baseUrl(),
                user: { username: 'admin', password: 'Passw0rd!Passw0rd' },
                expire: () => sim.expireSessions(),
                counts: () => ({
                    logins: sim.stats.loginsOk,
                    attempts: sim.stats.loginAttempts,
                    logouts: sim.stats.logouts,
                    live: sim.liveSessions(),
                    devs: sim.stats.requests.filter((r) => r.path === '/iap/devs' && r.status === 200).length,
                }),
                issued: () => sim.stats.requests.map((r) => r.cookie).filter(Boolean),
                stop: () => sim.stop(),
            };
        },
        own: { vendor: 'smartserver' },
        custom: {
            vendor: 'custom',
            loginMethod: 'POST',
            loginPath: '/iap/auth/login',
            loginBody: 'json',
            loginTemplate: '{"username":"{{username}}","password":"{{password}}"}',
            tokenFrom: 'cookie',
            tokenName: 'cmsSID',
            expiry: 'none',
            rejectedStatus: '401',
            logoutMethod: 'PUT',
            logoutPath: '/iap/auth/logout',
        },
        url: '/iap/devs',
    },
    {
        name: 'Commvault',
        async start() {
            const sim = new CommvaultSimulator();
            await sim.start();
            return {
                baseUrl: sim.baseUrl,
                user: { username: 'cvuser01', password: 'Password#123!' },
                expire: () => sim.expireTokens(),
                counts: () => ({
                    logins: sim.stats.loginsOk,
                    attempts: sim.stats.loginAttempts,
                    logouts: sim.stats.logouts,
                    live: sim.liveTokens(),
                    clients: sim.stats.requests.filter((r) => r.path.endsWith('/Client') && r.status === 200).length,
                }),
                issued: () => sim.issuedTokens(),
                stop: () => sim.stop(),
            };
        },
        own: { vendor: 'commvault' },
        custom: {
            vendor: 'custom',
            loginMethod: 'POST',
            loginPath: '/Login',
            loginBody: 'json',
            loginTemplate: '{"username":"{{username}}","password":"{{passwordBase64}}"}',
            tokenFrom: 'body',
            tokenName: 'token',
            tokenHeader: 'Authtoken',
            tokenTemplate: '{{token}}',
            expiry: 'lifetime',
            expiryValue: '30m',
            expiryIdle: true,
            rejectedStatus: '401',
            logoutMethod: 'POST',
            logoutPath: '/Logout',
        },
        url: '/Client',
    },
];

/** Login, a burst of requests, an expiry the server tells by 401, a replay, logout: what each step gave and what the server counted. */
async function journey(vendor: Vendor, server: FlowNode): Promise<Record<string, unknown>> {
    const sim = await vendor.start();
    try {
        const rec = await load(standardFlow(sim.baseUrl, { server, request: { url: vendor.url } }), { server: sim.user });
        helper.getNode('l1').receive({});
        const [login] = await rec.out.waitFor(1);
        for (let i = 0; i < 10; i++) helper.getNode('r1').receive({ i });
        await answeredOnce(rec, 11);
        const afterBurst = sim.counts();
        sim.expire();
        for (let i = 0; i < 3; i++) helper.getNode('r1').receive({ i });
        await answeredOnce(rec, 14);
        const afterExpiry = sim.counts();
        helper.getNode('o1').receive({});
        await answeredOnce(rec, 15);
        const seen = JSON.stringify([rec.out.messages, rec.caught.messages, rec.statuses.messages]) + logText();
        for (const secret of [sim.user.password, Buffer.from(sim.user.password).toString('base64'), ...sim.issued()]) {
            assert.ok(!seen.includes(secret), `${vendor.name}: a secret leaked`);
        }
        const result = {
            user: login.session.user,
            lifetimeMs: login.session.expiresAt === null ? null : 'known',
            statuses: rec.out.messages.slice(1, 14).map((m: Msg) => m.statusCode),
            caught: rec.caught.messages.length,
            afterBurst,
            afterExpiry,
            afterLogout: sim.counts(),
            loggedOut: rec.out.messages[14].session === undefined,
        };
        await helper.unload();
        return result;
    } finally {
        await sim.stop();
    }
}

describe('custom vendor: the SmartServer and Commvault simulators through custom configs', function () {
    before(async () => {
        await helper.startServer();
    });
    after(async () => {
        await helper.stopServer();
    });
    afterEach(async () => {
        await helper.unload();
    });

    for (const vendor of VENDORS) {
        it(`${vendor.name}: the same login, burst, expiry, replay and logout as its own adapter`, async function () {
            const own = await journey(vendor, vendor.own);
            const custom = await journey(vendor, vendor.custom);
            assert.deepStrictEqual(own.statuses, new Array(13).fill(200));
            assert.strictEqual((own.afterBurst as Record<string, number>).attempts, 1, 'one login for the burst');
            assert.strictEqual((own.afterExpiry as Record<string, number>).logins, 2, 'one re-login after the expiry');
            if (vendor.name === 'SmartServer') {
                // Its own adapter reads the lifetime from /iap/auth/sessionTimeout; a custom config cannot ask that.
                assert.strictEqual(own.lifetimeMs, 'known');
                own.lifetimeMs = custom.lifetimeMs;
            }
            assert.deepStrictEqual(custom, own);
        });
    }
});

/**
 * Adversarial probes (review of issues 10, 11 and 12) in a real Node-RED runtime, against a scripted
 * server on 127.0.0.1 that counts what it receives: logins, live sessions, logouts. Each probe is a
 * finding that was reproduced here before its fix, or a defence no other test covers.
 */
import assert from 'node:assert';
import http from 'node:http';

import sinon from 'sinon';
import type { AddressInfo } from 'node:net';

import { customPresets } from '../../src/lib/vendors/custom/presets';
import { waitFor } from '../support/wait';

import { Msg, Recorders, answeredOnce, delay, helper, load, logText, standardFlow } from '../support/harness';

/** The session of the first login (see ScriptedSmartServer). */
const FIRST_SID = 'sid-1-c0ffee0123456789';

interface Seen {
    method: string;
    path: string;
    cookie: string;
    authorization: string;
    body: string;
}

type Reply = { status: number; headers?: Record<string, string>; body?: string };
type Route = (seen: Seen) => Reply | Promise<Reply>;

/**
 * A SmartServer look-alike whose every route can be replaced: issues a new `cmsSID` per login, keeps
 * the live ones, ends one on logout, and answers `/iap/devs` by whether the cookie is live.
 */
class ScriptedSmartServer {
    readonly seen: Seen[] = [];
    readonly live = new Set<string>();
    logins = 0;
    sessionTimeoutMs = 3_600_000;
    routes = new Map<string, Route>();
    private server: http.Server | undefined;
    private readonly sockets = new Set<import('node:net').Socket>();
    port = 0;

    get origin(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    sidOf(seen: Seen): string | undefined {
        return /cmsSID=([^;]+)/.exec(seen.cookie)?.[1];
    }

    count(path: string): number {
        return this.seen.filter((s) => s.path.split('?')[0] === path).length;
    }

    private defaultRoute(seen: Seen): Reply {
        const path = seen.path.split('?')[0];
        if (path === '/iap/auth/login') {
            this.logins++;
            const sid = `sid-${this.logins}-c0ffee0123456789`;
            this.live.add(sid);
            return {
                status: 200,
                headers: { 'Content-Type': 'application/json', 'Set-Cookie': `cmsSID=${sid}; Path=/; HttpOnly` },
                body: '{"userName":"admin"}',
            };
        }
        if (path === '/iap/auth/sessionTimeout') return { status: 200, body: String(this.sessionTimeoutMs) };
        if (path === '/iap/auth/logout') {
            const sid = this.sidOf(seen);
            if (sid) this.live.delete(sid);
            return { status: 200, body: '{}' };
        }
        const sid = this.sidOf(seen);
        return sid && this.live.has(sid) ? { status: 200, headers: { 'Content-Type': 'application/json' }, body: '[]' } : { status: 401, body: '' };
    }

    async start(): Promise<this> {
        this.server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on('data', (chunk: Buffer) => chunks.push(chunk));
            req.on('end', () => {
                const seen: Seen = {
                    method: req.method ?? '',
                    path: req.url ?? '',
                    cookie: String(req.headers.cookie ?? ''),
                    authorization: String(req.headers.authorization ?? ''),
                    body: Buffer.concat(chunks).toString('utf8'),
                };
                this.seen.push(seen);
                const route = this.routes.get(seen.path.split('?')[0]);
                void Promise.resolve(route ? route(seen) : this.defaultRoute(seen)).then((reply) => {
                    if (res.destroyed) return;
                    res.writeHead(reply.status, reply.headers ?? {});
                    res.end(reply.body ?? '');
                });
            });
        });
        this.server.on('connection', (socket) => {
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
        await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
        this.port = (this.server.address() as AddressInfo).port;
        return this;
    }

    /** The default answer for a path, for routes that only delay or wrap it. */
    answer(seen: Seen): Reply {
        return this.defaultRoute(seen);
    }

    async stop(): Promise<void> {
        const server = this.server;
        if (!server) return;
        this.server = undefined;
        const closed = new Promise((resolve) => server.close(resolve));
        for (const socket of this.sockets) socket.destroy();
        await closed;
    }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
        resolve = r;
    });
    return { promise, resolve };
}

/** Every text a flow user could read: msgs at the output and at Catch, their errors, statuses, the log. */
function everythingSeen(rec: Recorders): string {
    return (
        [rec.out.messages, rec.caught.messages, rec.caught.messages.map((m: Msg) => m.error), rec.statuses.messages].map((v) => JSON.stringify(v)).join('\n') +
        logText()
    );
}

describe('adversarial probes (issues 10, 11, 12)', function () {
    let server: ScriptedSmartServer;

    before(() => helper.startServer());
    after(() => helper.stopServer());
    beforeEach(async () => {
        server = await new ScriptedSmartServer().start();
    });
    afterEach(async () => {
        await helper.unload();
        await server.stop();
    });

    const flow = (serverProps: Record<string, unknown> = {}) =>
        standardFlow(server.origin, { server: { tls: '', logoutOnClose: false, ...serverProps }, request: { url: '', ret: 'obj' } });

    describe('secrets in quoted server texts', function () {
        // A quoted message is flattened (whitespace runs to one space) and loses its final dots: the
        // scrubber must still recognise a password that the quote changed that way.
        for (const [what, password] of [
            ['two spaces', 'Correct  Horse 42!'],
            ['a tab', 'Correct\tHorse42!'],
            ['final dots', 'CorrectHorse42!..'],
            ['a trailing space', 'CorrectHorse42! '],
        ]) {
            it(`a login 401 quoting a password with ${what} leaks no part of it`, async function () {
                server.routes.set('/iap/auth/login', (seen) => ({
                    status: 401,
                    headers: { 'Content-Type': 'application/json' },
                    body: JSON.stringify({ message: `Wrong password ${JSON.parse(seen.body).password}` }),
                }));
                const rec = await load(flow(), { server: { username: 'admin', password } });
                helper.getNode('l1').receive({ payload: 'go' });
                await answeredOnce(rec, 1);
                assert.strictEqual(rec.caught.messages[0].errorCode, 'INVALID_CREDENTIALS');
                assert.match(rec.caught.messages[0].error.message, /Wrong password/);
                const seen = everythingSeen(rec);
                for (const part of ['Correct', 'Horse'])
                    assert.ok(!seen.includes(part), `"${part}" of the password leaked: ${rec.caught.messages[0].error.message}`);
            });
        }
    });

    describe('secrets of the custom vendor in quoted server texts', function () {
        // The custom vendor form-encodes as WHATWG forms do (space as "+", "!" as "%21"), for its
        // form bodies and for the RFC 6749 Basic header: the scrubber must know those forms too.
        const PASSWORD = 'Passw0rd! (sp ace)';
        const formOf = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
        const basic = Buffer.from(`admin:${formOf(PASSWORD)}`).toString('base64');
        const leaked = (text: string) => [PASSWORD, formOf(PASSWORD), basic, basic.replace(/=+$/, '')].filter((form) => text.includes(form));

        it('a form login answered 401 quoting the form body leaks no form of the password', async function () {
            server.routes.set('/login', (seen) => ({
                status: 401,
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ message: `bad login ${seen.body}` }),
            }));
            const rec = await load(
                standardFlow(server.origin, { server: { tls: '', logoutOnClose: false, vendor: 'custom', ...customPresets.formCookie }, request: { url: '' } }),
                { server: { username: 'admin', password: PASSWORD } },
            );
            helper.getNode('l1').receive({ payload: 'go' });
            await answeredOnce(rec, 1);
            assert.ok(server.seen[0].body.includes(formOf(PASSWORD)), 'the form body carried the form-encoded password');
            assert.match(rec.caught.messages[0].error.message, /bad login/);
            assert.deepStrictEqual(leaked(everythingSeen(rec)), [], rec.caught.messages[0].error.message);
        });

        it('an OAuth2 token endpoint answered 500 quoting the Basic header leaks no form of it', async function () {
            let authorization = '';
            const rec = await load(
                standardFlow(server.origin, { server: { tls: '', logoutOnClose: false, vendor: 'custom', ...customPresets.oauth2 }, request: { url: '' } }),
                { server: { username: 'admin', password: PASSWORD } },
            );
            server.routes.set('/oauth/token', (seen) => {
                authorization = seen.authorization;
                return { status: 500, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message: `failed for ${seen.authorization}` }) };
            });
            helper.getNode('l1').receive({ payload: 'go' });
            await answeredOnce(rec, 1);
            assert.strictEqual(authorization, `Basic ${basic}`, 'the Basic header form-encodes as RFC 6749 asks');
            assert.match(rec.caught.messages[0].error.message, /failed for/);
            assert.deepStrictEqual(leaked(everythingSeen(rec)), [], rec.caught.messages[0].error.message);
        });

        it('a logout answered 500 quoting the bare token of a templated header leaks no token', async function () {
            const TOKEN = 'tok3n5ecret70ken5ecret';
            server.routes.set('/login', () => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: TOKEN }) }));
            server.routes.set('/logout', () => ({
                status: 500,
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ message: `session ${TOKEN} is busy` }),
            }));
            const rec = await load(
                standardFlow(server.origin, {
                    server: {
                        tls: '',
                        logoutOnClose: false,
                        vendor: 'custom',
                        ...customPresets.jsonToken,
                        expiry: 'none',
                        tokenHeader: 'X-Auth',
                        tokenTemplate: 'token="{{token}}", v=1',
                    },
                    request: { url: '' },
                }),
            );
            helper.getNode('l1').receive({ payload: 'login' });
            await rec.out.waitFor(1);
            helper.getNode('o1').receive({ payload: 'logout' });
            await answeredOnce(rec, 2);
            assert.strictEqual(rec.caught.messages[0]?.errorCode, 'SERVER_ERROR');
            assert.match(rec.caught.messages[0].error.message, /is busy/);
            assert.ok(!everythingSeen(rec).includes(TOKEN), rec.caught.messages[0].error.message);
        });
    });

    describe('login guard', function () {
        it('a login cut off by a redeploy while on the wire counts as an unknown outcome: at most 3 reach the server', async function () {
            // The server reads the login and never answers (it may well count the attempt).
            server.routes.set('/iap/auth/login', () => new Promise<Reply>(() => undefined));
            for (let deploy = 1; deploy <= 5; deploy++) {
                const rec = await load(flow());
                helper.getNode('l1').receive({ deploy });
                const sent = server.count('/iap/auth/login');
                // Held back (a Catch at once) or on the wire: either way the deploy may come now.
                await waitFor(() => rec.caught.messages.length > 0 || sent >= deploy || server.count('/iap/auth/login') > sent, { message: `login ${deploy}` });
                await helper.unload();
            }
            assert.ok(server.count('/iap/auth/login') <= 3, `${server.count('/iap/auth/login')} logins reached the server`);
        });
    });

    describe('login guard and closing', function () {
        it('a login waiting for its turn behind another login of the same account is not sent once the config node closes', async function () {
            const release = deferred();
            server.routes.set('/iap/auth/login', async (seen) => {
                if (server.count('/iap/auth/login') === 1) await release.promise;
                return server.answer(seen);
            });
            const rec = await load(flow({ logoutOnClose: true }));
            helper.getNode('l1').receive({ who: 'own' });
            await waitFor(() => server.count('/iap/auth/login') === 1, { message: 'the first login on the wire' });
            // The same account with another password: a separate session, whose login waits for the first.
            helper.getNode('l1').receive({ who: 'other', credentials: { username: 'admin', password: 'An0ther!Passw0rd' } });
            await delay(100);
            assert.strictEqual(server.count('/iap/auth/login'), 1, 'one login of an account on the wire at a time');
            const unloading = helper.unload();
            await delay(100);
            release.resolve();
            await unloading;
            assert.strictEqual(server.count('/iap/auth/login'), 1, 'the waiting login was sent after the close began');
            assert.strictEqual(server.live.size, 0, 'the login that was on the wire was logged out');
            void rec;
        });
    });

    describe('bad input', function () {
        it('prototype-pollution keys in msg.headers, msg.cookies, msg.session and msg.credentials: one answer each, nothing polluted', async function () {
            const rec = await load(flow());
            const evil = (text: string) => JSON.parse(text);
            helper.getNode('r1').receive({ url: '/iap/devs', headers: evil('{"__proto__":{"polluted":"yes"},"X-A":"1"}') });
            helper.getNode('r1').receive({ url: '/iap/devs', headers: evil('{"__proto__":"x","X-A":"1"}') });
            helper.getNode('r1').receive({ url: '/iap/devs', cookies: evil('{"__proto__":{"value":"x"}}') });
            helper.getNode('r1').receive({ url: '/iap/devs', session: evil('{"__proto__":{"user":"admin"}}') });
            helper.getNode('l1').receive({ credentials: evil('{"__proto__":{"username":"admin","password":"x"}}') });
            helper.getNode('l1').receive({ credentials: evil('{"username":"__proto__","password":"x"}') });
            helper.getNode('o1').receive({ session: evil('{"__proto__":{"server":"other"}}') });
            await answeredOnce(rec, 7);
            assert.strictEqual(({} as Record<string, unknown>).polluted, undefined);
            assert.strictEqual(({} as Record<string, unknown>).user, undefined);
            assert.ok(server.logins <= 2, `${server.logins} logins`);
        });
    });

    describe('session lifecycle', function () {
        it('a logout ends the session for good also for a request that used a credential renewed ahead of its expiry', async function () {
            // Renewed ahead of its expiry (not through a refusal) while an older request is in flight.
            server.sessionTimeoutMs = 20_000;
            const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
            try {
                const slow = deferred();
                server.routes.set('/slow', async () => {
                    await slow.promise;
                    return { status: 401, body: '' };
                });
                const rec = await load(flow());
                helper.getNode('l1').receive({ step: 'login' });
                await rec.out.waitFor(1);
                helper.getNode('r1').receive({ step: 'in flight', url: '/slow' });
                await waitFor(() => server.count('/slow') === 1, { message: 'the slow request' });
                clock.tick(19_000); // past the refresh margin: the next request logs in again
                helper.getNode('r1').receive({ step: 'renewing', url: '/iap/devs' });
                await rec.out.waitFor(2);
                assert.strictEqual(server.logins, 2, 'the renewal logged in once');
                assert.ok(server.live.has(FIRST_SID), 'the replaced session waits for its request in flight');
                helper.getNode('o1').receive({ step: 'logout' });
                await rec.out.waitFor(3);
                assert.deepStrictEqual([...server.live], [FIRST_SID], 'the logout ended the live session');
                slow.resolve();
                await answeredOnce(rec, 4);
                const refused = rec.caught.messages.find((m) => m.step === 'in flight');
                assert.ok(refused, 'the request in flight at the logout failed');
                assert.strictEqual(refused.errorCode, 'SESSION_REJECTED');
                assert.strictEqual(server.logins, 2, 'no login after the logout');
                await waitFor(() => server.live.size === 0, { message: 'the replaced session logged out once its request finished' });
            } finally {
                clock.restore();
            }
        });
    });
});

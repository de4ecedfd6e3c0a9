import assert from 'node:assert';

import sinon from 'sinon';

import { LoginGuard } from '../../src/lib/session/login-guard';
import { LiveCredential, RELOGIN_INTERVAL_MS, Session, SessionDeps } from '../../src/lib/session/session';
import type { LoginResult, ServerSettings, SessionCredential, VendorAdapter, VendorContext } from '../../src/lib/vendors/adapter';

const MINUTE = 60_000;

/** A fake adapter: each login stores a numbered cookie; logouts are recorded by the credential they end. */
function fakeAdapter(result: () => LoginResult = () => ({ expiresAt: null, payload: {} })) {
    let logins = 0;
    const loggedOut: SessionCredential[] = [];
    const adapter = {
        id: 'smartserver',
        label: 'Fake vendor',
        sessionCookie: 'sid',
        settings: {},
        validate: () => undefined,
        requestHeaders: () => ({}),
        login: async (context: VendorContext, _credentials: unknown, credential: SessionCredential) => {
            logins++;
            credential.jar.setCookieSync(`sid=s${logins}; Path=/`, context.settings.baseUrl);
            return result();
        },
        isSessionRejected: () => false,
        logout: async (_context: VendorContext, credential: SessionCredential) => {
            loggedOut.push(credential);
        },
    } as unknown as VendorAdapter;
    return { adapter, loggedOut, logins: () => logins };
}

function makeSession(adapter: VendorAdapter, extra: Partial<SessionDeps> = {}): Session {
    const origin = 'https://lifecycle.example';
    const deps: SessionDeps = {
        adapter,
        context: { settings: { baseUrl: origin, requestTimeoutMs: 30000 } as ServerSettings, send: async () => Promise.reject(new Error('nothing is sent')) },
        guard: new LoginGuard(),
        origin,
        onState: () => undefined,
        onReplacedLogoutError: () => undefined,
        ...extra,
    };
    return new Session({ username: 'admin', password: 'pw' }, deps);
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('session lifecycle (unit)', function () {
    let clock: sinon.SinonFakeTimers;

    beforeEach(function () {
        clock = sinon.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z'), toFake: ['Date'] });
    });

    afterEach(function () {
        clock.restore();
    });

    it('replacing a refused credential while a newer one is due logs out both (the Session.replace race)', async function () {
        const { adapter, loggedOut } = fakeAdapter(() => ({ expiresAt: Date.now() + 10 * MINUTE, payload: {} }));
        const session = makeSession(adapter);
        const first = await session.current();
        clock.tick(9 * MINUTE);
        const second = await session.current(); // renewal: `first` is logged out
        clock.tick(9 * MINUTE); // `second` is due now too
        const third = await session.replace(first);
        await flush();
        assert.notStrictEqual(third, second);
        assert.deepStrictEqual(loggedOut, [first, second]);
    });

    it('a refused fresh credential costs one re-login per 30 s; the session stays in use meanwhile', async function () {
        const { adapter, logins, loggedOut } = fakeAdapter();
        const session = makeSession(adapter);
        const first = await session.current();
        const second = await session.replace(first);
        assert.strictEqual(logins(), 2);
        await assert.rejects(session.replace(second), (error: { code?: string }) => error.code === 'SESSION_REJECTED');
        assert.strictEqual(logins(), 2);
        assert.strictEqual(session.credential, second, 'still in use for requests the server accepts');
        clock.tick(RELOGIN_INTERVAL_MS);
        const third = await session.replace(second);
        assert.strictEqual(logins(), 3);
        await flush();
        assert.deepStrictEqual(loggedOut, [first, second]);
        assert.strictEqual(session.credential, third);
    });

    it('a credential is logged out once, however it was replaced', async function () {
        const { adapter, loggedOut } = fakeAdapter();
        const session = makeSession(adapter);
        const first: LiveCredential = await session.current();
        await Promise.all([session.replace(first), session.replace(first), session.replace(first)]);
        await flush();
        assert.deepStrictEqual(loggedOut, [first]);
    });

    it('an ended session logs in no more (CONFIG), and logout marks the credential as logged out', async function () {
        const { adapter } = fakeAdapter();
        const session = makeSession(adapter);
        const live = await session.current();
        await session.logout();
        assert.strictEqual(live.endedBy, 'logout');
        session.end();
        await assert.rejects(session.current(), (error: { code?: string }) => error.code === 'CONFIG');
        await assert.rejects(session.replace(live), (error: { code?: string }) => error.code === 'CONFIG');
    });

    it('a credential that served requests and is then refused has simply ended: replaced at once, however soon', async function () {
        const { adapter, logins } = fakeAdapter();
        const session = makeSession(adapter);
        let credential = await session.current();
        for (let i = 0; i < 5; i++) {
            credential.served = true;
            credential = await session.replace(credential);
        }
        assert.strictEqual(logins(), 6, 'one re-login per ended session, no 30 s wait');
        await assert.rejects(session.replace(credential), (error: { code?: string }) => error.code === 'SESSION_REJECTED');
        assert.strictEqual(logins(), 6, 'a fresh credential refused before serving anything waits out the 30 s');
    });

    it('a reported lifetime under 10 s is not trusted: expiry unknown, one warning', async function () {
        const warnings: string[] = [];
        const { adapter, logins } = fakeAdapter(() => ({ expiresAt: Date.now() + 9_999, payload: {} }));
        const session = makeSession(adapter, { onWarning: (_, message) => warnings.push(message) });
        const live = await session.current();
        assert.strictEqual(live.expiresAt, null);
        clock.tick(60_000);
        assert.strictEqual(await session.current(), live, 'no renewal of a lifetime not trusted');
        assert.strictEqual(logins(), 1);
        assert.strictEqual(warnings.length, 1);
        assert.match(warnings[0], /lifetime under 10s \(9999 ms\) for "admin": not trusted/);
    });

    it('an idle lifetime under 10 s is not trusted either; 10 s is', async function () {
        const short = makeSession(fakeAdapter(() => ({ expiresAt: null, idleTimeoutMs: 5_000, payload: {} })).adapter);
        assert.strictEqual((await short.current()).idleTimeoutMs, undefined);
        const trusted = makeSession(fakeAdapter(() => ({ expiresAt: Date.now() + 10_000, payload: {} })).adapter);
        assert.strictEqual((await trusted.current()).expiresAt, Date.now() + 10_000);
    });

    it('a renewed credential is logged out only once its requests in flight finished, or at once when the session ends', async function () {
        const { adapter, loggedOut } = fakeAdapter(() => ({ expiresAt: Date.now() + 10 * MINUTE, payload: {} }));
        const session = makeSession(adapter, { drainTimeoutMs: 60_000 });
        const first = await session.lease(session.logoutCount);
        const second = await session.lease(session.logoutCount);
        clock.tick(9.5 * MINUTE);
        const renewed = await session.lease(session.logoutCount);
        assert.notStrictEqual(renewed.credential, first.credential);
        await flush();
        assert.deepStrictEqual(loggedOut, [], 'two requests still in flight on it');
        first.finished();
        first.finished(); // counted once
        await flush();
        assert.deepStrictEqual(loggedOut, []);
        second.finished();
        await flush();
        assert.deepStrictEqual(loggedOut, [first.credential]);
        // Another renewal while a request is in flight: ending the session logs it out at once.
        const held = await session.lease(session.logoutCount);
        clock.tick(9.5 * MINUTE);
        await session.current();
        await flush();
        assert.strictEqual(loggedOut.length, 1);
        session.end();
        await session.retired();
        assert.deepStrictEqual(loggedOut, [first.credential, held.credential]);
    });

    it('a request whose msg arrived before a logout never logs in after it (SESSION_REJECTED)', async function () {
        const { adapter, logins } = fakeAdapter();
        const session = makeSession(adapter);
        const arrivedAt = session.logoutCount;
        await session.logout();
        await assert.rejects(session.lease(arrivedAt), (error: { code?: string }) => error.code === 'SESSION_REJECTED');
        assert.strictEqual(logins(), 0);
        const lease = await session.lease(session.logoutCount);
        await session.logout();
        await assert.rejects(session.lease(session.logoutCount, lease.credential), (error: { code?: string }) => error.code === 'SESSION_REJECTED');
    });
});

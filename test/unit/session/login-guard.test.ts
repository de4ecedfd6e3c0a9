import assert from 'node:assert';

import sinon from 'sinon';

import { SessionError } from '../../../src/lib/errors';
import type { HttpResponse } from '../../../src/lib/http/http-client';
import { sendWithRetry } from '../../../src/lib/http/send-with-retry';
import { neverReachedServer, transportError } from '../../../src/lib/http/transport-errors';
import { DEFAULT_GUARD_POLICY, LoginGuard, MAX_BLOCK_MS, guardOver } from '../../../src/lib/session/login-guard';
import { LedgerStore } from '../../../src/lib/store/ledger-store';
import { credentialFingerprint } from '../../../src/lib/session/session';
import { vendorAdapter } from '../../../src/lib/vendors';
import type { ServerSettings, VendorContext } from '../../../src/lib/vendors/adapter';

const START = Date.parse('2026-11-22T10:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const rejected = (): SessionError => new SessionError('INVALID_CREDENTIALS', 'rejected', { statusCode: 401 });
const serverError = (): SessionError => new SessionError('SERVER_ERROR', '503', { statusCode: 503 });
const timeout = (): SessionError => new SessionError('TIMEOUT', 'no answer');

const probe = (): SessionError => new SessionError('CONFIG', 'probe: never sent');

/** The error the guard holds a login with, or undefined when it would be sent (the probe is refunded). */
async function held(guard: LoginGuard, key: string, fingerprint: string): Promise<SessionError | undefined> {
    const error = (await guard.attempt(key, fingerprint, 'admin', () => Promise.reject(probe())).catch((e: unknown) => e)) as SessionError;
    return error.message === probe().message ? undefined : error;
}

/** One attempt that fails with `error` (if the guard lets it through): what the caller gets. */
async function fail(guard: LoginGuard, key: string, fingerprint: string, error: SessionError): Promise<SessionError> {
    return (await guard.attempt(key, fingerprint, 'admin', () => Promise.reject(error)).catch((e: unknown) => e)) as SessionError;
}

function socketError(code: string): Error {
    return Object.assign(new Error(`connect ${code}`), { code });
}

function reply(status: number): HttpResponse {
    return { status, headers: {}, body: Buffer.alloc(0), url: 'https://device.example/iap/auth/login', redirects: [] };
}

describe('login-guard', function () {
    let clock: sinon.SinonFakeTimers;
    let guard: LoginGuard;
    let key: string;
    let n = 0;
    const fpA = LoginGuard.fingerprint(['admin', 'wrong-a']);
    const fpB = LoginGuard.fingerprint(['admin', 'wrong-b']);
    const fpC = LoginGuard.fingerprint(['admin', 'wrong-c']);
    const fpD = LoginGuard.fingerprint(['admin', 'wrong-d']);

    beforeEach(function () {
        clock = sinon.useFakeTimers({ now: START, toFake: ['Date'] });
        guard = new LoginGuard();
        key = LoginGuard.key(`https://guard-${++n}.example`, 'admin');
    });

    afterEach(function () {
        clock.restore();
    });

    it('is one guard per store, with the documented defaults', function () {
        const store = new LedgerStore();
        assert.strictEqual(guardOver(store), guardOver(store));
        assert.strictEqual(guardOver(store).store, store);
        assert.deepStrictEqual({ ...DEFAULT_GUARD_POLICY }, { coolDownMs: 5 * MINUTE, maxFailedLogins: 3, failureWindowMs: 30 * MINUTE, leaseMs: 2 * MINUTE });
    });

    it('keys by origin and username, and fingerprints one-way', function () {
        assert.notStrictEqual(LoginGuard.key('https://a.example', 'admin'), LoginGuard.key('https://b.example', 'admin'));
        assert.notStrictEqual(LoginGuard.key('https://a.example', 'admin'), LoginGuard.key('https://a.example', 'user'));
        assert.notStrictEqual(fpA, fpB);
        assert.ok(!fpA.includes('wrong-a'));
    });

    describe('cool-down of a rejected credential', function () {
        it('fails the same credential at once with the same code, status and a countdown', async function () {
            const error = await fail(guard, key, fpA, rejected());
            assert.strictEqual(error.retryAfter, 300);
            const blocked = await held(guard, key, fpA);
            assert.strictEqual(blocked?.code, 'INVALID_CREDENTIALS');
            assert.strictEqual(blocked?.statusCode, 401);
            assert.strictEqual(blocked?.retryAfter, 300);
            clock.tick(2 * MINUTE);
            assert.strictEqual((await held(guard, key, fpA))?.retryAfter, 180);
            clock.tick(3 * MINUTE);
            assert.strictEqual(await held(guard, key, fpA), undefined);
        });

        it('doubles with each further rejection of the same credential, at most 24 h', async function () {
            const waits: number[] = [];
            const roomy = new LoginGuard({ maxFailedLogins: 1000 });
            for (let i = 0; i < 12; i++) {
                const error = await fail(roomy, key, fpA, rejected());
                waits.push(error.retryAfter!);
                clock.tick(error.retryAfter! * 1000);
            }
            assert.deepStrictEqual(waits.slice(0, 5), [300, 600, 1200, 2400, 4800]);
            assert.strictEqual(Math.max(...waits), MAX_BLOCK_MS / 1000);
        });

        it('does not hold another credential of the same user', async function () {
            await fail(guard, key, fpA, rejected());
            assert.strictEqual(await held(guard, key, fpB), undefined);
            // ...nor does trying another one end the first one's cool-down
            await fail(guard, key, fpB, rejected());
            assert.strictEqual((await held(guard, key, fpA))?.code, 'INVALID_CREDENTIALS');
        });

        for (const code of ['ACCOUNT_DISABLED', 'PASSWORD_EXPIRED', 'PASSWORD_POLICY'] as const) {
            it(`applies to ${code}`, async function () {
                await fail(guard, key, fpA, new SessionError(code, 'x'));
                assert.strictEqual((await held(guard, key, fpA))?.code, code);
            });
        }
    });

    describe('failure budget per (origin, username)', function () {
        it('holds every credential after 3 failed-or-unknown attempts within 30 min, with the last code', async function () {
            await fail(guard, key, fpA, rejected());
            clock.tick(MINUTE);
            await fail(guard, key, fpB, timeout());
            clock.tick(MINUTE);
            await fail(guard, key, fpC, serverError());
            const error = await held(guard, key, fpD);
            assert.strictEqual(error?.code, 'SERVER_ERROR');
            assert.strictEqual(error?.statusCode, 503);
            assert.match(error!.message, /3 failed logins as "admin" within 30m 0s: held back to avoid a lockout/);
            // until the oldest counted attempt leaves the window
            assert.strictEqual(error?.retryAfter, 28 * 60);
            assert.deepStrictEqual(guard.blockOf(key), { code: 'SERVER_ERROR', until: START + 30 * MINUTE });
            clock.tick(28 * MINUTE - 1);
            assert.ok(await held(guard, key, fpD));
            clock.tick(1);
            assert.strictEqual(await held(guard, key, fpD), undefined);
        });

        it('is not refilled by changed credentials', async function () {
            for (const fp of [fpA, fpB, fpC]) await fail(guard, key, fp, rejected());
            assert.match((await held(guard, key, fpD))!.message, /held back/);
        });

        it('does not count attempts that never reached the server', async function () {
            const refused = transportError(socketError('ECONNREFUSED'), 'POST', 'https://device.example/iap/auth/login', 1000);
            assert.ok(neverReachedServer(refused));
            for (let i = 0; i < 5; i++) await fail(guard, key, fpA, refused);
            await fail(guard, key, fpA, new SessionError('CONFIG', 'stopped'));
            assert.strictEqual(await held(guard, key, fpA), undefined);
            assert.strictEqual(guard.blockOf(key), undefined);
        });

        it('counts a login cut off on the wire by a close (CONFIG with a socket code)', async function () {
            const cut = new SessionError('CONFIG', 'stopped', { transportCode: 'ECONNRESET' });
            for (let i = 0; i < 3; i++) await fail(guard, key, LoginGuard.fingerprint(['admin', `p${i}`]), cut);
            assert.match((await held(guard, key, fpA))!.message, /held back/);
        });

        it('is cleared, with every cool-down, by a successful login', async function () {
            await fail(guard, key, fpA, rejected());
            await fail(guard, key, fpC, timeout());
            assert.strictEqual(await guard.attempt(key, fpB, 'admin', async () => 'session'), 'session');
            assert.strictEqual(await held(guard, key, fpA), undefined);
            assert.strictEqual(guard.blockOf(key), undefined);
            for (const fp of [fpA, fpC]) await fail(guard, key, fp, timeout());
            assert.strictEqual(await held(guard, key, fpD), undefined, 'the budget is whole again');
        });

        it('takes its limits from the policy (settings.js)', async function () {
            const strict = new LoginGuard({ maxFailedLogins: 1, failureWindowMs: HOUR });
            await fail(strict, key, fpA, timeout());
            const error = await held(strict, key, fpB);
            assert.match(error!.message, /1 failed logins as "admin" within 1h 0m 0s/);
            assert.strictEqual(error?.code, 'TIMEOUT');
        });
    });

    describe('server blocks', function () {
        it('hold every credential until the time the server gave', async function () {
            const error = new SessionError('LOCKED_OUT', 'locked', { statusCode: 429, retryAfter: 643 });
            await fail(guard, key, fpA, error);
            assert.strictEqual((await held(guard, key, fpB))?.code, 'LOCKED_OUT');
            clock.tick(643_000);
            assert.strictEqual(await held(guard, key, fpB), undefined);
        });

        it('are capped at 24 h, even for a Retry-After of ten years', async function () {
            const error = new SessionError('RATE_LIMITED', 'slow down', { statusCode: 429, retryAfter: 10 * 365 * 24 * 3600 });
            await fail(guard, key, fpA, error);
            assert.strictEqual(error.retryAfter, 24 * 3600);
            assert.strictEqual((await held(guard, key, fpA))?.retryAfter, 24 * 3600);
            clock.tick(MAX_BLOCK_MS);
            // the budget still holds one counted attempt, but no block remains
            assert.strictEqual(await held(guard, key, fpA), undefined);
        });
    });

    describe('attempt', function () {
        it('sends nothing while held, and records what the attempt returns or throws', async function () {
            const send = sinon.stub().rejects(rejected());
            await assert.rejects(guard.attempt(key, fpA, 'admin', send), { code: 'INVALID_CREDENTIALS', retryAfter: 300 });
            await assert.rejects(guard.attempt(key, fpA, 'admin', send), { code: 'INVALID_CREDENTIALS' });
            assert.strictEqual(send.callCount, 1);
            assert.strictEqual(await guard.attempt(key, fpB, 'admin', async () => 'session'), 'session');
            assert.strictEqual(await held(guard, key, fpA), undefined);
        });

        it('charges the attempt before it is sent, and sends nothing when the charge cannot be recorded', async function () {
            const store = new LedgerStore();
            const charged = sinon.spy(store, 'charge');
            const send = sinon.spy(async () => {
                assert.strictEqual(charged.callCount, 1, 'charged first');
                await charged.firstCall.returnValue;
                return 'session';
            });
            await new LoginGuard({}, store).attempt(key, fpA, 'admin', send);
            assert.strictEqual(send.callCount, 1);
            charged.restore();
            sinon.stub(store, 'charge').rejects(new SessionError('GUARD_UNAVAILABLE', 'cannot write'));
            const unsent = sinon.spy(async () => 'session');
            await assert.rejects(new LoginGuard({}, store).attempt(key, fpA, 'admin', unsent), { code: 'GUARD_UNAVAILABLE' });
            assert.strictEqual(unsent.callCount, 0);
        });

        it('lets one login of an account on the wire at a time, each decided on the outcome before', async function () {
            let onWire = 0;
            let most = 0;
            let sent = 0;
            const send = async (): Promise<never> => {
                sent++;
                most = Math.max(most, ++onWire);
                await new Promise((resolve) => setImmediate(resolve));
                onWire--;
                throw timeout();
            };
            const fingerprints = Array.from({ length: 10 }, (_, i) => LoginGuard.fingerprint(['admin', `p${i}`]));
            const results = await Promise.allSettled(fingerprints.map((fp) => guard.attempt(key, fp, 'admin', send)));
            assert.strictEqual(most, 1);
            assert.strictEqual(sent, 3);
            assert.ok(results.every((result) => result.status === 'rejected'));
        });

        it('waits while another instance holds the account (a shared store says busy), then asks again', async function () {
            const store = new LedgerStore();
            const charge = sinon.stub(store, 'charge').callThrough();
            charge.onFirstCall().resolves({ busy: { waitMs: 5 } });
            assert.strictEqual(await new LoginGuard({}, store).attempt(key, fpA, 'admin', async () => 'session'), 'session');
            assert.strictEqual(charge.callCount, 2);
        });
    });
});

describe('login retry scope', function () {
    const url = 'https://device.example/iap/auth/login';
    const noSleep = async (): Promise<void> => undefined;

    it('resends a login only after a fault before it reached the server', async function () {
        const refused = (): SessionError => transportError(socketError('ECONNREFUSED'), 'POST', url, 1000);
        const send = sinon.stub();
        send.onCall(0).rejects(refused());
        send.onCall(1).rejects(transportError(socketError('ENOTFOUND'), 'POST', url, 1000));
        send.onCall(2).rejects(refused());
        await assert.rejects(sendWithRetry(send, 'unsent', undefined, noSleep), { code: 'NETWORK' });
        assert.strictEqual(send.callCount, 3, 'the first try and at most two resends');
    });

    for (const [name, fault] of [
        ['a reset after sending', () => transportError(socketError('ECONNRESET'), 'POST', url, 1000)],
        ['a timeout', () => new SessionError('TIMEOUT', 'no answer')],
    ] as const) {
        it(`never resends a login after ${name}`, async function () {
            const send = sinon.stub().rejects(fault());
            await assert.rejects(sendWithRetry(send, 'unsent', undefined, noSleep));
            assert.strictEqual(send.callCount, 1);
        });
    }

    for (const status of [502, 503, 504]) {
        it(`never resends a login answered ${status}`, async function () {
            const send = sinon.stub().resolves(reply(status));
            assert.strictEqual((await sendWithRetry(send, 'unsent', undefined, noSleep)).status, status);
            assert.strictEqual(send.callCount, 1);
        });
    }

    it('keeps the transient retry for other exchanges', async function () {
        const send = sinon.stub();
        send.onCall(0).resolves(reply(503));
        send.onCall(1).rejects(new SessionError('TIMEOUT', 'x'));
        send.onCall(2).resolves(reply(200));
        assert.strictEqual((await sendWithRetry(send, true, undefined, noSleep)).status, 200);
    });

    it('counts certificate failures and proxy refusals as never sent, resets and alerts as maybe sent', function () {
        assert.ok(neverReachedServer(transportError(socketError('DEPTH_ZERO_SELF_SIGNED_CERT'), 'POST', url, 1)));
        const proxyRefused = Object.assign(new Error('x'), { cause: { code: 'ECONNRESET', viaProxy: true, proxyStatus: 502 } });
        assert.ok(neverReachedServer(transportError(proxyRefused, 'POST', url, 1)));
        assert.ok(!neverReachedServer(transportError(socketError('ECONNRESET'), 'POST', url, 1)));
        assert.ok(!neverReachedServer(transportError(socketError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), 'POST', url, 1)));
        assert.ok(!neverReachedServer(new SessionError('NETWORK', 'made up elsewhere')));
    });
});

describe('credential fingerprint', function () {
    const settings = (overrides: Record<string, unknown> = {}): VendorContext => ({
        settings: {
            vendor: 'commvault',
            baseUrl: 'https://cv.example/webconsole/api',
            apiVersion: 'v1.1',
            format: 'json',
            authScheme: 'basic',
            tokenLifetime: '',
            domain: '',
            commserver: '',
            requestTimeoutMs: 30000,
            ...overrides,
        } as ServerSettings,
        send: async () => reply(200),
    });
    const credentials = { username: 'admin', password: 'wrong' };

    // The CM-Well auth scheme is in its table's identity (it decides how the stored password travels,
    // for Test login); the failure budget still caps what a scheme switch can cost.
    it('leaves out timeouts, formats, API versions and token lifetimes', function () {
        for (const vendor of ['smartserver', 'cmwell', 'sdm', 'commvault']) {
            const adapter = vendorAdapter(vendor);
            const base = credentialFingerprint(adapter, settings(), credentials);
            for (const change of [{ requestTimeoutMs: 15000 }, { format: 'xml' as const }, { apiVersion: 'v1.3' }, { tokenLifetime: '2h' }]) {
                assert.strictEqual(credentialFingerprint(adapter, settings(change), credentials), base, `${vendor} ${JSON.stringify(change)}`);
            }
        }
    });

    it('includes the passwords and the Commvault domain', function () {
        const commvault = vendorAdapter('commvault');
        const base = credentialFingerprint(commvault, settings(), credentials);
        assert.notStrictEqual(credentialFingerprint(commvault, settings({ domain: 'corp' }), credentials), base);
        assert.notStrictEqual(credentialFingerprint(commvault, settings(), { ...credentials, password: 'other' }), base);
        assert.notStrictEqual(credentialFingerprint(commvault, settings(), { ...credentials, newPassword: 'N3w!Passw0rd#xyz' }), base);
    });
});

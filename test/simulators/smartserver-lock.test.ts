import assert from 'node:assert';

import sinon from 'sinon';

import { request } from './http-get';
import { SmartServerSimulator } from './smartserver';

const JSON_TYPE = { 'Content-Type': 'application/json' };
const MINUTE = 60_000;

describe('SmartServer simulator: lock model and login log', function () {
    let sim: SmartServerSimulator;
    let clock: sinon.SinonFakeTimers;

    beforeEach(async function () {
        clock = sinon.useFakeTimers({ now: Date.parse('2026-12-01T10:00:00Z'), toFake: ['Date'] });
        sim = new SmartServerSimulator();
        await sim.start();
    });

    afterEach(async function () {
        clock.restore();
        await sim.stop();
    });

    const login = (password: string) => request(`${sim.origin}/iap/auth/login`, { method: 'POST', headers: JSON_TYPE, body: { username: 'admin', password } });
    const outcomes = (): string[] => sim.stats.logins.map((entry) => entry.outcome);

    it('locks after 5 failures within 10 minutes, and logs every attempt', async function () {
        for (let i = 0; i < 5; i++) assert.strictEqual((await login(`wrong-${i}`)).status, 401);
        const locked = await login('Passw0rd!Passw0rd');
        assert.strictEqual(locked.status, 429);
        assert.match(locked.body, /Too many failed login attempts/);
        assert.deepStrictEqual(outcomes(), ['rejected', 'rejected', 'rejected', 'rejected', 'rejected', 'locked']);
        assert.strictEqual(sim.locks.length, 1);
    });

    it('does not lock for 5 failures spread over more than 10 minutes', async function () {
        for (let i = 0; i < 5; i++) {
            assert.strictEqual((await login(`wrong-${i}`)).status, 401);
            clock.tick(3 * MINUTE);
        }
        assert.strictEqual((await login('Passw0rd!Passw0rd')).status, 200);
        assert.strictEqual(sim.locks.length, 0);
    });

    it('plays scripted login behaviours, counting a wrong password behind a 503 towards the lock', async function () {
        sim.scriptLogins({ kind: 'status', status: 503 }, { kind: 'status', status: 429, headers: { 'Retry-After': '30' } }, { kind: 'lock', waitMs: 60_000 });
        assert.strictEqual((await login('wrong')).status, 503);
        const limited = await login('wrong');
        assert.strictEqual(limited.status, 429);
        assert.strictEqual(limited.headers['retry-after'], '30');
        assert.match((await login('wrong')).body, /Wait for 1 minutes 0 seconds/);
        sim.scriptLogins({ kind: 'reset' });
        await assert.rejects(login('wrong'));
        assert.deepStrictEqual(outcomes(), ['scripted', 'scripted', 'scripted', 'reset']);
        // the 503 and the reset checked the wrong password: two failures towards the lock
        for (let i = 0; i < 2; i++) assert.strictEqual((await login('wrong')).status, 401);
        assert.strictEqual(sim.locks.length, 0);
        assert.strictEqual((await login('wrong')).status, 401);
        assert.strictEqual(sim.locks.length, 1);
    });
});

import assert from 'node:assert';
import sinon from 'sinon';
import { SingleFlight } from '../../../src/lib/session/single-flight';
import { deferred } from '../../support/wait';

describe('single-flight', function () {
    it('is not busy before any run', function () {
        assert.strictEqual(new SingleFlight().busy, false);
    });

    it('shares one task among N concurrent callers', async function () {
        const flight = new SingleFlight();
        const gate = deferred<string>();
        const task = sinon.spy(() => gate.promise);
        const callers = Array.from({ length: 25 }, () => flight.run(task));
        assert.strictEqual(task.callCount, 1);
        assert.strictEqual(flight.busy, true);
        assert.ok(callers.every((promise) => promise === callers[0]));
        gate.resolve('credential');
        const results = await Promise.all(callers);
        assert.deepStrictEqual(results, Array(25).fill('credential'));
        assert.strictEqual(task.callCount, 1);
        assert.strictEqual(flight.busy, false);
    });

    it('starts a new task for a run after the last one settled', async function () {
        const flight = new SingleFlight();
        let n = 0;
        const task = sinon.spy(async () => ++n);
        assert.strictEqual(await flight.run(task), 1);
        assert.strictEqual(await flight.run(task), 2);
        assert.strictEqual(task.callCount, 2);
    });

    it('shares a rejection with every caller and clears it', async function () {
        const flight = new SingleFlight();
        const gate = deferred<string>();
        const failing = sinon.spy(() => gate.promise);
        const callers = [flight.run(failing), flight.run(failing), flight.run(failing)];
        const error = new Error('login refused');
        gate.reject(error);
        const outcomes = await Promise.allSettled(callers);
        assert.deepStrictEqual(
            outcomes.map((o) => o.status),
            ['rejected', 'rejected', 'rejected'],
        );
        assert.ok(outcomes.every((o) => o.status === 'rejected' && o.reason === error));
        assert.strictEqual(failing.callCount, 1);
        assert.strictEqual(flight.busy, false);

        const retry = sinon.spy(async () => 'second try');
        assert.strictEqual(await flight.run(retry), 'second try');
        assert.strictEqual(retry.callCount, 1);
    });

    it('ignores the task of a caller that joins a run in flight', async function () {
        const flight = new SingleFlight();
        const gate = deferred<string>();
        const first = sinon.spy(() => gate.promise);
        const second = sinon.spy(async () => 'other');
        const a = flight.run(first);
        const b = flight.run(second);
        gate.resolve('first');
        assert.deepStrictEqual(await Promise.all([a, b]), ['first', 'first']);
        assert.strictEqual(second.callCount, 0);
    });
});

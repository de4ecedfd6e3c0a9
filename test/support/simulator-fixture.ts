/**
 * The per-test set-up every simulator test and vendor spec shares: the test's simulator, started
 * on demand and stopped after the test, and a fake clock, restored after the test.
 */
import assert from 'node:assert';
import https from 'node:https';

import sinon from 'sinon';

import { TEST_CA } from '../simulators/http-get';

/** A simulator (test/simulators/): listens on start(), closes everything on stop(). */
export interface Startable {
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
}

export interface SimulatorFixture<S, O> {
    /** Creates and starts this test's simulator. */
    start(options?: O): Promise<S>;
    /** Fakes the clock until the test ends; by default only `Date` (timers keep running). */
    fakeClock(config?: Parameters<typeof sinon.useFakeTimers>[0]): sinon.SinonFakeTimers;
}

/**
 * Registers the after-each hook in the calling `describe`: the clock is restored, `beforeStop`
 * runs (a Node-RED flow is unloaded before its server goes), and every simulator started is stopped.
 */
export function simulatorFixture<C extends (options?: any) => Startable>(
    create: C,
    beforeStop?: () => Promise<void>,
): SimulatorFixture<ReturnType<C>, Parameters<C>[0]> {
    type S = ReturnType<C>;
    let started: S[] = [];
    let clock: sinon.SinonFakeTimers | undefined;
    afterEach(async function () {
        clock?.restore();
        clock = undefined;
        await beforeStop?.();
        const stopping = started;
        started = [];
        for (const sim of stopping) await sim.stop();
    });
    return {
        async start(options?: Parameters<C>[0]) {
            const sim = create(options) as S;
            started.push(sim);
            await sim.start();
            return sim;
        },
        fakeClock(config = { now: Date.now(), toFake: ['Date'] }) {
            clock?.restore();
            clock = sinon.useFakeTimers(config);
            return clock;
        },
    };
}

/**
 * Makes one request to `url` over a keep-alive agent that trusts the test CA, and returns the agent
 * with that connection idle in its pool (destroy it when done).
 */
export async function idleKeepAlive(url: string): Promise<https.Agent> {
    const agent = new https.Agent({ keepAlive: true, ca: TEST_CA });
    await new Promise((resolve, reject) => {
        https
            .get(url, { agent }, (res) => {
                res.resume();
                res.on('end', resolve);
            })
            .on('error', reject);
    });
    assert.strictEqual(Object.keys(agent.freeSockets).length, 1, 'the connection should be kept alive');
    return agent;
}

/** Stops the simulator and asserts it did not wait for its open connections (under a second). */
export async function stopsAtOnce(sim: Startable): Promise<void> {
    const started = Date.now();
    await sim.stop();
    assert.ok(Date.now() - started < 1000, 'stop() took too long');
}

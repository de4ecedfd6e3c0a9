import assert from 'node:assert';

import type { Node, NodeStatus as StatusObject } from 'node-red';
import sinon from 'sinon';

import { NodeStatus } from '../../../src/lib/node-red/node-status';
import type { Session } from '../../../src/lib/session/session';

describe('NodeStatus of a request node', function () {
    let clock: sinon.SinonFakeTimers;
    let shown: StatusObject[];
    let status: NodeStatus;
    const session = { state: 'loggedIn', user: 'admin', passwordChanged: false } as unknown as Session;

    beforeEach(function () {
        clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
        shown = [];
        const node = { status: (s: StatusObject) => shown.push(s) } as unknown as Node;
        status = new NodeStatus(node, (key, params) => (params ? `${key} ${JSON.stringify(params)}` : key), undefined, true);
        status.view(session);
    });

    afterEach(function () {
        status.close();
        clock.restore();
    });

    it('shows the session once, never "requesting", and keeps at most one timer for 1 000 msgs of 1 ms one after another', function () {
        for (let i = 0; i < 1000; i++) {
            status.begin();
            clock.tick(1);
            status.end();
            assert.ok(clock.countTimers() <= 1, `${clock.countTimers()} timers after msg ${i}`);
        }
        clock.tick(1000);
        // The first end() shows the session; nothing else changes: never "requesting" for 1 ms requests.
        assert.deepStrictEqual(
            shown.filter((s) => s.fill === 'blue'),
            [],
        );
        assert.strictEqual(shown.filter((s) => s.fill === 'green').length, 1);
    });

    it('shows "requesting (n)" once msgs stay in flight for 250 ms, updated at most every 250 ms, then the session again', function () {
        for (let i = 0; i < 3; i++) status.begin();
        clock.tick(249);
        assert.strictEqual(shown.filter((s) => s.fill === 'blue').length, 0);
        clock.tick(1);
        assert.deepStrictEqual(shown.at(-1), { fill: 'blue', shape: 'dot', text: 'status.requestingCount {"count":3}' });
        for (let i = 0; i < 50; i++) {
            status.begin();
            clock.tick(1);
            status.end();
        }
        assert.strictEqual(shown.filter((s) => s.fill === 'blue').length, 1, 'no update within the interval');
        status.end();
        clock.tick(250);
        assert.deepStrictEqual(shown.at(-1), { fill: 'blue', shape: 'dot', text: 'status.requestingCount {"count":2}' });
        const before = shown.length;
        status.end();
        assert.strictEqual(shown.length, before, 'the count changes with the timer, not per msg');
        clock.tick(250);
        assert.deepStrictEqual(shown.at(-1), { fill: 'blue', shape: 'dot', text: 'status.requesting' });
        status.end();
        assert.deepStrictEqual(shown.at(-1), { fill: 'green', shape: 'dot', text: 'admin' });
        clock.tick(1000);
        assert.strictEqual(clock.countTimers(), 0);
    });
});

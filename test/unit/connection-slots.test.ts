import assert from 'node:assert';

import { ConnectionSlots } from '../../src/lib/http/connection-slots';

const timeout = (): Error => new Error('timeout');
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('connection slots (maxConnections)', function () {
    it('lets `limit` requests through and queues the rest in order', async function () {
        const slots = new ConnectionSlots(2);
        const order: number[] = [];
        const releases = await Promise.all([slots.acquire('request', 1000, timeout), slots.acquire('request', 1000, timeout)]);
        const queued = [3, 4].map((n) =>
            slots.acquire('request', 1000, timeout).then((release) => {
                order.push(n);
                return release;
            }),
        );
        await flush();
        assert.deepStrictEqual(order, []);
        releases[0]();
        await flush();
        assert.deepStrictEqual(order, [3]);
        releases[1]();
        (await queued[0])();
        (await queued[1])();
        assert.deepStrictEqual(order, [3, 4]);
    });

    it('a login or logout never waits behind queued requests: it goes first, and may use one slot beyond the limit', async function () {
        const slots = new ConnectionSlots(1);
        const busy = await slots.acquire('request', 1000, timeout);
        let requestGranted = false;
        const request = slots.acquire('request', 1000, timeout).then((release) => {
            requestGranted = true;
            return release;
        });
        const login = slots.tryAcquire('session');
        assert.ok(login, 'the extra slot is free for the login');
        assert.strictEqual(slots.tryAcquire('session'), undefined, 'only one beyond the limit');
        const logout = slots.acquire('session', 1000, timeout);
        busy();
        await flush();
        assert.strictEqual(requestGranted, false, 'the waiting logout goes ahead of the queued request');
        (await logout)();
        login();
        (await request)();
        assert.strictEqual(requestGranted, true);
    });

    it('a released slot is freed once, however often release is called', async function () {
        const slots = new ConnectionSlots(1);
        const release = await slots.acquire('request', 1000, timeout);
        release();
        release();
        const again = slots.tryAcquire('request');
        assert.ok(again);
        assert.strictEqual(slots.tryAcquire('request'), undefined);
    });

    it('a request that waits longer than its timeout fails and leaves the queue', async function () {
        const slots = new ConnectionSlots(1);
        const busy = await slots.acquire('request', 1000, timeout);
        await assert.rejects(slots.acquire('request', 10, timeout), /timeout/);
        busy();
        assert.ok(slots.tryAcquire('request'), 'the timed-out waiter holds no slot');
    });

    it('closing fails the waiting requests and every later one, while logins and logouts still go', async function () {
        const slots = new ConnectionSlots(1);
        const busy = await slots.acquire('request', 1000, timeout);
        const waiting = slots.acquire('request', 1000, timeout);
        slots.closeRequests(new Error('stopped'));
        await assert.rejects(waiting, /stopped/);
        await assert.rejects(slots.acquire('request', 1000, timeout), /stopped/);
        busy();
        const logout = await slots.acquire('session', 1000, timeout);
        logout();
    });
});

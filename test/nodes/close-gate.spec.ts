/**
 * design.md "Session lifecycle": from the moment a config node starts closing, nothing but the
 * closing logouts reaches the server, whatever was queued then: a CSRF token fetch waiting for a
 * connection, the logins queued behind it, a request's retry. The simulator's own request log is the
 * evidence: every request it saw after the close began, by order.
 */
import assert from 'node:assert';

import { vendorAdapter } from '../../src/lib/vendors';
import type { DeviceRecord } from '../simulators/device-base';
import { SapGatewaySimulator } from '../simulators/sap-gateway';
import { type Recorders, helper, load, standardFlow } from '../support/harness';
import { waitFor } from '../support/wait';

const SAP = vendorAdapter('custom').presets?.sapGateway ?? {};

/** The connection queue of the deployed server `id` (its length tells that an exchange waits for a slot). */
function queuedExchanges(id = 'server'): number {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a wait condition on the transport's private queue
    const node = helper.getNode(id) as any;
    return node.sessionManager().options.transport.slots.queue.length as number;
}

describe('nothing but logouts reaches the server once the config node began closing', function () {
    let sim: SapGatewaySimulator;

    before(() => helper.startServer());
    after(() => helper.stopServer());
    afterEach(async () => {
        await helper.unload();
        await sim.stop();
    });

    it('a CSRF token fetch queued for a connection when the close begins is never sent; only the closing logout goes', async function () {
        sim = new SapGatewaySimulator();
        await sim.start();
        const flow = standardFlow(sim.serviceUrl, {
            // A logout call (answered 404 by the simulator, still a logout) holds the close open while the queue moves.
            server: { vendor: 'custom', ...SAP, maxConnections: 1, logoutMethod: 'POST', logoutPath: '/logout' },
            request: { url: '/Products' },
            extra: [
                {
                    id: 'r2',
                    z: 'tab',
                    type: 'rest-session-request',
                    server: 'server',
                    method: 'POST',
                    url: '/Products',
                    ret: 'obj',
                    paytoqs: 'ignore',
                    wires: [['out']],
                },
            ],
        });
        const rec: Recorders = await load(flow, { server: sim.user });
        helper.getNode('r1').receive({});
        await rec.out.waitFor(1);
        const fetchesBefore = sim.stats.csrfFetches;
        sim.staleCsrf();
        // maxConnections 1: one request and one login/logout beyond it may be on the wire at once.
        const releaseWrite = sim.holdWhere((ctx) => ctx.method === 'POST' && ctx.pathname.endsWith('/Products'));
        const releaseLogout = sim.holdWhere((ctx) => ctx.pathname.endsWith('/logout'));
        const releaseLogins = sim.holdWhere((ctx) => /^Basic /.test(ctx.req.headers.authorization ?? ''));
        const basics = (): DeviceRecord[] => sim.stats.requests.filter((r) => r.authorization.startsWith('Basic '));
        const ownLogins = basics().length;
        helper.getNode('r2').receive({ payload: { Name: 'x' } });
        await waitFor(() => sim.requestsTo('POST', new URL(sim.serviceUrl).pathname + '/Products').length === 1, { message: 'the write on the wire' });
        helper.getNode('l1').receive({ credentials: { username: 'other1', password: 'p1' } });
        await waitFor(() => basics().length === ownLogins + 1, { message: 'a second user login on the wire' });
        helper.getNode('l1').receive({ credentials: { username: 'other2', password: 'p2' } });
        await waitFor(() => queuedExchanges() === 1, { message: 'a third login waiting for a connection' });
        // The write is refused for its stale token: its slot goes to the queued login, the token fetch waits.
        releaseWrite();
        await waitFor(() => basics().length === ownLogins + 2, { message: 'the queued login on the wire' });
        await waitFor(() => queuedExchanges() === 1, { message: 'the token fetch waiting for a connection' });
        const seenBefore = sim.stats.requests.length;
        const closing = (helper.getNode('server') as unknown as { close(removed: boolean): Promise<void> }).close(false);
        releaseLogins();
        await waitFor(() => sim.stats.requests.some((r) => r.path.endsWith('/logout')), { message: 'the closing logout' });
        releaseLogout();
        await closing;
        await waitFor(() => rec.caught.messages.length >= 1, { message: 'the write answered' });
        const after = sim.stats.requests.slice(seenBefore);
        assert.deepStrictEqual(
            after.map((r) => `${r.method} ${r.path.replace(/.*\//, '')}${r.csrf ? ` (${r.csrf === 'Fetch' ? 'token fetch' : 'token'})` : ''}`),
            ['POST logout (token)'],
            'nothing but the logout reached the server after the close began',
        );
        assert.strictEqual(sim.stats.csrfFetches, fetchesBefore, 'the queued token fetch was not sent');
        assert.strictEqual(
            rec.caught.messages.find((m) => m.errorCode !== 'CONFIG' && m.errorCode !== 'INVALID_CREDENTIALS'),
            undefined,
        );
    });
});

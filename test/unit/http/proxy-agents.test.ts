import assert from 'node:assert';
import type { Node, NodeAPI } from 'node-red';
import { bypassesProxy } from '../../../src/lib/http/proxy-agents';
import { proxySettings, tlsOptions } from '../../../src/lib/node-red/connection-options';

/** Just enough of RED for the config-node readers. */
function red(nodes: Record<string, unknown>): NodeAPI {
    return { nodes: { getNode: (id: string) => (nodes[id] || null) as Node } } as unknown as NodeAPI;
}

describe('proxy-agents', function () {
    describe("bypassesProxy (the core node's noproxy rules)", function () {
        it('matches a host exactly, case-insensitively', function () {
            assert.strictEqual(bypassesProxy(['device.example'], 'device.example', 443), true);
            assert.strictEqual(bypassesProxy(['DEVICE.example'], 'device.EXAMPLE', 443), true);
            assert.strictEqual(bypassesProxy(['device.example'], 'other.device.example', 443), false);
            assert.strictEqual(bypassesProxy(['device.example'], 'device.example.evil', 443), false);
        });

        it('matches .suffix and *.suffix against sub-domains only', function () {
            for (const entry of ['.example.com', '*.example.com']) {
                assert.strictEqual(bypassesProxy([entry], 'a.example.com', 80), true, entry);
                assert.strictEqual(bypassesProxy([entry], 'example.com', 80), false, entry);
                assert.strictEqual(bypassesProxy([entry], 'badexample.com', 80), false, entry);
            }
        });

        it('honours a port when the entry names one', function () {
            assert.strictEqual(bypassesProxy(['127.0.0.1:8443'], '127.0.0.1', 8443), true);
            assert.strictEqual(bypassesProxy(['127.0.0.1:8443'], '127.0.0.1', 443), false);
            assert.strictEqual(bypassesProxy(['[::1]:80'], '::1', 80), true);
        });

        it('takes * for every host, and comma or space separated lists in one entry', function () {
            assert.strictEqual(bypassesProxy(['*'], 'anything', 1), true);
            assert.strictEqual(bypassesProxy(['a.example, b.example c.example'], 'c.example', 1), true);
            assert.strictEqual(bypassesProxy(['', ' '], 'c.example', 1), false);
            assert.strictEqual(bypassesProxy([], 'c.example', 1), false);
        });
    });

    describe('proxySettings (the core http proxy node)', function () {
        it('is undefined without a proxy, and CONFIG for a missing node or a bad URL', function () {
            assert.strictEqual(proxySettings(red({}), ''), undefined);
            assert.throws(() => proxySettings(red({}), 'gone'), { code: 'CONFIG' });
            assert.throws(() => proxySettings(red({ p: { url: 'not a url' } }), 'p'), { code: 'CONFIG' });
            assert.throws(() => proxySettings(red({ p: { url: 'socks5://proxy:1080' } }), 'p'), { code: 'CONFIG' });
        });

        it('reads the URL, the noproxy list and the credentials as a Proxy-Authorization', function () {
            const settings = proxySettings(
                red({ p: { url: 'http://proxy.example:3128', noproxy: ['a', 'b'], credentials: { username: 'u', password: 'p:w' } } }),
                'p',
            );
            assert.strictEqual(settings!.url.href, 'http://proxy.example:3128/');
            assert.deepStrictEqual(settings!.noProxy, ['a', 'b']);
            assert.strictEqual(settings!.authorization, `Basic ${Buffer.from('u:p:w').toString('base64')}`);
        });

        it('takes credentials from the URL when the node has none, and never keeps them in the URL', function () {
            const settings = proxySettings(red({ p: { url: 'http://us%40er:s3cret@proxy.example:3128' } }), 'p');
            assert.strictEqual(settings!.authorization, `Basic ${Buffer.from('us@er:s3cret').toString('base64')}`);
            assert.ok(!settings!.url.href.includes('s3cret'));
            assert.strictEqual(proxySettings(red({ p: { url: 'http://proxy.example:3128' } }), 'p')?.authorization, undefined);
        });
    });

    describe('tlsOptions (the core tls-config node)', function () {
        it('asks the node for its options, and is CONFIG when it is missing', function () {
            const tls = { addTLSOptions: (options: any) => Object.assign(options, { ca: 'CA', rejectUnauthorized: true }) };
            assert.deepStrictEqual(tlsOptions(red({ t: tls }), 't'), { ca: 'CA', rejectUnauthorized: true });
            assert.strictEqual(tlsOptions(red({}), ''), undefined);
            assert.throws(() => tlsOptions(red({}), 'gone'), { code: 'CONFIG' });
        });
    });
});

import assert from 'node:assert';
import type { Node, NodeAPI } from 'node-red';
import { bypassesProxy, environmentProxy, proxyRefusalOf } from '../../../src/lib/http/proxy-agents';
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

    describe("environmentProxy (the core node's proxy variables, without a proxy node)", function () {
        it('takes <scheme>_proxy, then all_proxy, lower case before upper case, with no_proxy', function () {
            const env = { http_proxy: 'http://low:3128', HTTP_PROXY: 'http://up:3128', HTTPS_PROXY: 'http://secure:8080', no_proxy: 'localhost,.corp' };
            const http = environmentProxy('http:', env)!;
            assert.strictEqual(http.url.href, 'http://low:3128/');
            assert.deepStrictEqual(http.noProxy, ['localhost,.corp']);
            assert.strictEqual(bypassesProxy(http.noProxy, 'intra.corp', 80), true);
            assert.strictEqual(environmentProxy('https:', env)!.url.href, 'http://secure:8080/');
            assert.strictEqual(environmentProxy('https:', { ALL_PROXY: 'http://all:1' })!.url.host, 'all:1');
            assert.deepStrictEqual(environmentProxy('http:', { HTTP_PROXY: 'http://up:1', NO_PROXY: '*' })!.noProxy, ['*']);
        });

        it("gives a bare host:port the target's scheme and moves user info into Proxy-Authorization", function () {
            const proxy = environmentProxy('http:', { http_proxy: 'user%40corp:p%3Ass@proxy.corp:3128' })!;
            assert.strictEqual(proxy.url.href, 'http://proxy.corp:3128/');
            assert.strictEqual(proxy.authorization, `Basic ${Buffer.from('user@corp:p:ss').toString('base64')}`);
            assert.strictEqual(environmentProxy('https:', { https_proxy: 'proxy.corp:3128' })!.url.protocol, 'https:');
        });

        it('is undefined when nothing usable is set', function () {
            assert.strictEqual(environmentProxy('http:', {}), undefined);
            assert.strictEqual(environmentProxy('http:', { https_proxy: 'http://only-https:1' }), undefined);
            assert.strictEqual(environmentProxy('http:', { http_proxy: '  ' }), undefined);
            assert.strictEqual(environmentProxy('http:', { http_proxy: 'socks5://proxy:1080' }), undefined);
            assert.strictEqual(environmentProxy('http:', { http_proxy: 'http://[bad' }), undefined);
        });
    });

    describe('proxyRefusalOf', function () {
        it('is only a 407 to a request that went through the proxy', function () {
            assert.strictEqual(proxyRefusalOf(407, {}), undefined, 'a request that went direct');
            assert.strictEqual(proxyRefusalOf(407, undefined), undefined);
            assert.strictEqual(proxyRefusalOf(401, undefined), undefined);
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

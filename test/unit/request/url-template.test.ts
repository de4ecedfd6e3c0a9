import assert from 'node:assert';
import { renderUrlTemplate } from '../../../src/lib/request/url-template';

describe('url-template', function () {
    it('returns a template without placeholders as it is', function () {
        assert.strictEqual(renderUrlTemplate('/iap/devs?pg=1', { payload: 'x' }), '/iap/devs?pg=1');
    });

    it('escapes {{payload}} as mustache does', function () {
        assert.strictEqual(renderUrlTemplate('/x/{{payload}}', { payload: 'a/b&c="d"' }), '/x/a&#x2F;b&amp;c&#x3D;&quot;d&quot;');
        assert.strictEqual(renderUrlTemplate('/x/{{payload}}', { payload: "<'`>" }), '/x/&lt;&#39;&#x60;&gt;');
    });

    it('leaves {{{payload}}} and {{& payload}} raw', function () {
        assert.strictEqual(renderUrlTemplate('/x/{{{payload}}}', { payload: 'a/b&c=d' }), '/x/a/b&c=d');
        assert.strictEqual(renderUrlTemplate('/x/{{& payload}}', { payload: 'a/b' }), '/x/a/b');
    });

    it('reads nested properties', function () {
        const msg = { device: { id: '17q2d9x.5', block: { index: 1 } } };
        assert.strictEqual(renderUrlTemplate('/iap/devs/{{device.id}}/if/block/{{ device.block.index }}', msg), '/iap/devs/17q2d9x.5/if/block/1');
    });

    it('renders a missing property as an empty string', function () {
        assert.strictEqual(renderUrlTemplate('/x/{{missing}}/{{device.id}}/{{{nothing.here}}}', { device: null }), '/x///');
    });

    it('renders numbers and booleans as text, and keeps 0 and false', function () {
        assert.strictEqual(renderUrlTemplate('/x?n={{n}}&f={{f}}', { n: 0, f: false }), '/x?n=0&f=false');
    });

    it('renders several placeholders', function () {
        assert.strictEqual(renderUrlTemplate('{{a}}-{{a}}-{{{b}}}', { a: '1', b: '/' }), '1-1-/');
    });
});

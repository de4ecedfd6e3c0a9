/**
 * The help's Errors block is built from one source per locale (help/<lang>/errors.html) and the
 * codes each node can produce: a sentence is written once, a missing or stale one fails the build.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildHelp, parseErrors } = require('../../../scripts/build-help.js');

const ROOT = path.join(__dirname, '..', '..', '..');
const LANGS = fs.readdirSync(path.join(ROOT, 'help'));

const ERRORS = `<!-- how to edit -->
<h3>Errors</h3>
<p>Every failure goes to Catch.</p>
<p data-if="LOCKED_OUT">Wait <code>msg.retryAfter</code> seconds.</p>
<dl>
    <dt>LOCKED_OUT</dt>
    <dd>locked.</dd>
    <dt>TIMEOUT</dt>
    <dd>no answer
        in time.</dd>
    <dt data-node="b">TIMEOUT</dt>
    <dd>no answer to the logout.</dd>
</dl>
`;
const roots: string[] = [];
const HELP = '<script type="text/html" data-help-name="TYPE">\n    <p>Intro.</p>\n\n    <!-- errors -->\n</script>\n';

/** A project tree with one locale, help for nodes a and b, and the given errors source. */
function tree(errors: string, types = ['a', 'b']): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'help-build-'));
    roots.push(root);
    fs.mkdirSync(path.join(root, 'help', 'xx'), { recursive: true });
    fs.writeFileSync(path.join(root, 'help', 'xx', 'errors.html'), errors);
    for (const type of types) fs.writeFileSync(path.join(root, 'help', 'xx', `${type}.html`), HELP.replace('TYPE', type));
    return root;
}

function built(root: string, type: string): string {
    return fs.readFileSync(path.join(root, 'nodes', 'locales', 'xx', `${type}.html`), 'utf8');
}

describe('help build', function () {
    after(function () {
        for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
    });

    it('puts each node its codes in order, its own entry before the common one, indented like the marker', function () {
        const root = tree(ERRORS);
        buildHelp(root, { a: ['TIMEOUT', 'LOCKED_OUT'], b: ['TIMEOUT'] });
        const a = built(root, 'a');
        assert.ok(a.includes('    <h3>Errors</h3>\n    <p>Every failure goes to Catch.</p>\n    <p>Wait <code>msg.retryAfter</code> seconds.</p>'), a);
        assert.ok(
            a.includes(
                '    <dl class="message-properties">\n        <dt>TIMEOUT</dt>\n        <dd>no answer\n            in time.</dd>\n        <dt>LOCKED_OUT</dt>',
            ),
            a,
        );
        const b = built(root, 'b');
        assert.ok(b.includes('<dt>TIMEOUT</dt>\n        <dd>no answer to the logout.</dd>\n    </dl>'), b);
        assert.ok(!b.includes('retryAfter'), 'a paragraph about a code the node lacks is left out');
        assert.ok(!/data-(if|node)=|<!--/.test(a + b), 'no source markup left');
    });

    it('fails on a code a node can produce that the locale does not describe', function () {
        assert.throws(() => buildHelp(tree(ERRORS), { a: ['TIMEOUT', 'TLS'], b: ['TIMEOUT', 'LOCKED_OUT'] }), /no entry for TLS, which a can produce/);
    });

    it('fails on a sentence no node uses, and on a node that can fail without an Errors block', function () {
        assert.throws(() => buildHelp(tree(ERRORS), { a: ['TIMEOUT'], b: ['TIMEOUT'] }), /LOCKED_OUT is described but never produced/);
        assert.throws(() => buildHelp(tree(ERRORS), { a: ['LOCKED_OUT', 'TIMEOUT'], b: ['LOCKED_OUT'] }), /TIMEOUT for b is described but never produced/);
        const root = tree(ERRORS, ['a']);
        fs.writeFileSync(path.join(root, 'help', 'xx', 'b.html'), '<p>No errors here.</p>\n');
        assert.throws(() => buildHelp(root, { a: ['LOCKED_OUT', 'TIMEOUT'], b: ['TIMEOUT'] }), /no <!-- errors --> line/);
    });

    for (const lang of LANGS) {
        it(`${lang}: describes each code once per node and holds no Errors block outside errors.html`, function () {
            const errors = parseErrors(fs.readFileSync(path.join(ROOT, 'help', lang, 'errors.html'), 'utf8'), lang);
            const english = parseErrors(fs.readFileSync(path.join(ROOT, 'help', 'en-US', 'errors.html'), 'utf8'), 'en-US');
            assert.deepStrictEqual([...errors.entries.keys()], [...english.entries.keys()]);
            for (const file of fs.readdirSync(path.join(ROOT, 'help', lang)).filter((name) => name !== 'errors.html')) {
                const html = fs.readFileSync(path.join(ROOT, 'help', lang, file), 'utf8');
                assert.ok(!/<dt>[A-Z_]+<\/dt>/.test(html), `${lang}/${file} lists codes by hand`);
            }
        });
    }
});

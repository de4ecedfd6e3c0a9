import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';

import { textError } from '../../src/lib/errors';
import { SecretScrubber } from '../../src/lib/secret-scrubber';
import { english, text } from '../../src/lib/texts';

const ROOT = path.join(__dirname, '..', '..');
const catalogOf = (lang: string) =>
    JSON.parse(fs.readFileSync(path.join(ROOT, 'nodes', 'locales', lang, 'rest-session-server.json'), 'utf8'))['rest-session-server'];
const lookup = (catalog: any, key: string) => key.split('.').reduce((node: any, part) => (node && typeof node === 'object' ? node[part] : undefined), catalog);
const placeholders = (template: string) => [...template.matchAll(/__(\w+)__/g)].map((m) => m[1]).sort();

/** Every catalog key the runtime names literally (`text('…')`), and the guard's keys made from its hold reasons. */
function runtimeKeys(): string[] {
    const keys = new Set(['guard.block', 'guard.coolDown', 'guard.inDoubt', 'guard.budget', 'guard.unreadable']);
    const walk = (dir: string): string[] =>
        fs
            .readdirSync(dir, { withFileTypes: true })
            .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
    for (const file of walk(path.join(ROOT, 'src'))) {
        const source = fs.readFileSync(file, 'utf8');
        for (const m of source.matchAll(/\b(?:text|catalogText)\(\s*'((?:testLogin|guard|transport)\.[\w.]+)'/g)) keys.add(m[1]);
        for (const m of source.matchAll(/'(testLogin\.place\.\w+)'/g)) keys.add(m[1]);
    }
    return [...keys].sort();
}

describe('catalog texts of the runtime (Test login in the editor language)', function () {
    const keys = runtimeKeys();

    it('finds the texts of Test login, the guard and the places it names', function () {
        for (const key of ['testLogin.changed', 'testLogin.noStoredPassword', 'testLogin.place.replyField', 'guard.budget']) assert.ok(keys.includes(key), key);
    });

    for (const lang of ['en-US', 'de']) {
        it(`has every one in the ${lang} catalog, with the parameters the English one takes`, function () {
            const catalog = catalogOf(lang);
            const en = catalogOf('en-US');
            for (const key of keys) {
                assert.strictEqual(typeof lookup(catalog, key), 'string', `${lang}: ${key}`);
                assert.deepStrictEqual(placeholders(lookup(catalog, key)), placeholders(lookup(en, key)), `${lang}: ${key}`);
            }
        });
    }

    it('says German with "Sitzung" and "Anmeldung", never "Session" or "Login"', function () {
        const de = catalogOf('de');
        for (const key of keys) assert.doesNotMatch(lookup(de, key), /\bSession|\bLogin\b/, key);
    });

    it('fills parameters, nested texts and lists of texts in English from the en-US catalog', function () {
        assert.strictEqual(
            english(text('testLogin.changed', { what: text('testLogin.what.setting', { name: 'domain' }) })),
            'The setting "domain" differs from the deployed configuration: type the password again to test it.',
        );
        assert.strictEqual(
            english([text('testLogin.place.replyField', { name: 'data.ticket' }), text('testLogin.place.sentAsCookie', { name: 'PVEAuthCookie' })]),
            'reply field "data.ticket", sent as cookie "PVEAuthCookie"',
        );
    });

    it('keeps the catalog text of an error, and scrubs secrets out of its parameters as out of its message', function () {
        const error = textError('CONFIG', text('testLogin.what.setting', { name: 'hunter2-secret' }));
        assert.strictEqual(error.message, 'The setting "hunter2-secret"');
        const scrubber = new SecretScrubber();
        scrubber.remember({ passwords: ['hunter2-secret'] });
        scrubber.scrubError(error);
        assert.ok(!error.message.includes('hunter2-secret'));
        assert.ok(!JSON.stringify(error.text).includes('hunter2-secret'));
        assert.strictEqual(error.text!.key, 'testLogin.what.setting');
    });
});

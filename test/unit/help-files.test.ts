/**
 * The help the editor's sidebar shows for every node type, in every locale: a help file per type
 * and locale, the same sections and entries as en-US (so no part stays untranslated), every error
 * code listed, and the wrapper the editor's style uses to wrap long code spans at the sidebar width.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const LOCALES = path.join(ROOT, 'nodes', 'locales');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
const TYPES = Object.keys(pkg['node-red'].nodes);
const OTHER_LOCALES = fs.readdirSync(LOCALES).filter((lang) => lang !== 'en-US');
/** A newcomer reads a help page in about a minute: the rest waits behind "More". */
const MAX_VISIBLE_WORDS = 320;

function help(lang: string, type: string): string {
    return fs.readFileSync(path.join(LOCALES, lang, `${type}.html`), 'utf8');
}

function count(html: string, pattern: RegExp): number {
    return [...html.matchAll(pattern)].length;
}

/** The error codes a help lists as entries (`<dt>CODE</dt>`). */
function errorCodes(html: string): string[] {
    return [...html.matchAll(/<dt>([A-Z_]+)<\/dt>/g)].map((m) => m[1]);
}

describe('help files', function () {
    it('exist in more than one locale', function () {
        assert.ok(OTHER_LOCALES.includes('de'), OTHER_LOCALES.join());
    });

    for (const type of TYPES) {
        describe(type, function () {
            const english = help('en-US', type);

            it('has en-US help wrapped for the sidebar style', function () {
                assert.match(english, new RegExp(`^<script type="text/html" data-help-name="${type}">\\s*<div class="rest-session-help">`));
                assert.match(english, /<\/div>\s*<\/script>\s*$/);
            });

            for (const lang of OTHER_LOCALES) {
                it(`has "${lang}" help with the same sections and entries as en-US`, function () {
                    const other = help(lang, type);
                    assert.match(other, new RegExp(`^<script type="text/html" data-help-name="${type}">\\s*<div class="rest-session-help">`));
                    for (const [what, pattern] of [
                        ['h3', /<h3>/g],
                        ['h4', /<h4>/g],
                        ['dt', /<dt[ >]/g],
                        ['li', /<li>/g],
                        ['p', /<p>/g],
                    ] as const) {
                        assert.strictEqual(count(other, pattern), count(english, pattern), `${lang} ${type}: number of <${what}>`);
                    }
                    assert.deepStrictEqual(errorCodes(other), errorCodes(english), `${lang} ${type}: error codes`);
                    assert.ok(
                        !/\b(the|and|with|when|session is)\b/.test(other.replace(/<code>[\s\S]*?<\/code>|<a [^>]*>|"[^"]*"|„[^“]*“/g, '')),
                        `${lang} ${type}: English words left`,
                    );
                });
            }
        });
    }

    /** The words a reader sees before opening any "More" section (collapsed `<details>`). */
    function visibleWords(html: string): number {
        let text = html.replace(/<!--[\s\S]*?-->/g, '');
        for (let before = ''; before !== text;) {
            before = text;
            text = text.replace(/<details\b(?:(?!<details\b)[\s\S])*?<\/details>/g, '');
        }
        return text
            .replace(/<[^>]+>/g, ' ')
            .split(/\s+/)
            .filter(Boolean).length;
    }

    for (const lang of ['en-US', ...OTHER_LOCALES]) {
        it(`reads in a minute in "${lang}": at most ${MAX_VISIBLE_WORDS} words before "More", every "More" closed and named`, function () {
            const counts = Object.fromEntries(TYPES.map((type) => [type, visibleWords(help(lang, type))]));
            for (const [type, words] of Object.entries(counts)) assert.ok(words <= MAX_VISIBLE_WORDS, `${lang} ${type}: ${words} visible words`);
            for (const type of TYPES) {
                const html = help(lang, type);
                assert.strictEqual(count(html, /<details\b/g), count(html, /<\/details>/g), `${lang} ${type}: every <details> closed`);
                assert.strictEqual(
                    count(html, /<details\b[^>]*>\s*<summary>[^<]+<\/summary>/g),
                    count(html, /<details\b/g),
                    `${lang} ${type}: every <details> named`,
                );
            }
        });
    }

    it('counts only what is outside "More"', function () {
        assert.strictEqual(
            visibleWords('<p>one two</p><details><summary>More</summary>three <details><summary>x</summary>four</details> five</details><p>six</p>'),
            3,
        );
    });

    it('is styled to wrap long code spans at the sidebar width', function () {
        const editor = fs.readFileSync(path.join(ROOT, 'nodes', 'rest-session-server.html'), 'utf8');
        assert.match(editor, /\.red-ui-help \.rest-session-help code \{[^}]*white-space: normal/);
    });
});

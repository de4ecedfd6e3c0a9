'use strict';
/**
 * The hand-written editor files Node-RED and the Flow Library read: one .html beside each node's
 * .js with a literal registerType, valid catalogs holding every key the editor and runtime use,
 * help for every type, and the icons the definitions name.
 */
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const ROOT = path.join(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const LOCALES = path.join(ROOT, 'nodes', 'locales', 'en-US');
const RUNTIME_STATUS_KEYS = ['loggingIn', 'requesting', 'requestingCount', 'invalidCredentials', 'lockedOut', 'rateLimited', 'accountDisabled', 'passwordExpired', 'passwordChanged', 'loggedOut', 'error'];

function lookup(catalog, key) {
    return key.split('.').reduce((value, part) => (value && typeof value === 'object' ? value[part] : undefined), catalog);
}

describe('editor files', function () {
    const entries = Object.entries(pkg['node-red'].nodes);

    it('declares the four node types of the contract', function () {
        assert.deepStrictEqual(entries.map(([type]) => type).sort(), ['rest-session-login', 'rest-session-logout', 'rest-session-request', 'rest-session-server']);
    });

    for (const [type, file] of entries) {
        describe(type, function () {
            const htmlFile = path.join(ROOT, file.replace(/\.js$/, '.html'));
            const html = fs.readFileSync(htmlFile, 'utf8');
            const catalog = JSON.parse(fs.readFileSync(path.join(LOCALES, `${type}.json`), 'utf8'));

            it('has an editor script that parses and registers the type literally', function () {
                const scripts = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
                assert.strictEqual(scripts.length, 1);
                assert.doesNotThrow(() => new vm.Script(scripts[0], { filename: htmlFile }));
                assert.match(scripts[0], new RegExp(`RED\\.nodes\\.registerType\\('${type}', \\{`));
                assert.match(html, new RegExp(`<script type="text/html" data-template-name="${type}">`));
            });

            it('has every i18n key it uses in its catalog', function () {
                const keys = [
                    ...[...html.matchAll(/data-i18n="([^"]+)"/g)].flatMap((m) => m[1].split(';').map((k) => k.replace(/^\[[^\]]+\]/, ''))),
                    ...[...html.matchAll(/_\('([^']+)'\)/g)].map((m) => m[1]),
                ];
                assert.ok(keys.length > 0);
                for (const key of keys) assert.strictEqual(typeof lookup(catalog, key), 'string', `missing ${key}`);
            });

            it('has help in the core style and its icon', function () {
                const help = fs.readFileSync(path.join(LOCALES, `${type}.html`), 'utf8');
                assert.match(help, new RegExp(`data-help-name="${type}"`));
                if (type !== 'rest-session-server') {
                    for (const heading of ['Inputs', 'Outputs', 'Details']) assert.match(help, new RegExp(`<h3>${heading}</h3>`));
                    for (const code of ['INVALID_CREDENTIALS', 'LOCKED_OUT', 'SESSION_REJECTED', 'INVALID_INPUT', 'CONFIG']) assert.ok(help.includes(code), code);
                }
                const icon = /icon: '([^']+)'/.exec(html)[1];
                assert.ok(fs.existsSync(path.join(ROOT, 'icons', icon)), icon);
            });
        });
    }

    it('has every runtime status text in the server catalog', function () {
        const catalog = JSON.parse(fs.readFileSync(path.join(LOCALES, 'rest-session-server.json'), 'utf8'));
        for (const key of RUNTIME_STATUS_KEYS) assert.strictEqual(typeof lookup(catalog, `rest-session-server.status.${key}`), 'string', key);
    });
});

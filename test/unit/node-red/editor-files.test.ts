/**
 * The hand-written editor files Node-RED and the Flow Library read: one .html beside each node's
 * .js with a literal registerType, valid catalogs holding every key the editor and runtime use,
 * help for every type, and the icons the definitions name.
 */
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

import { NODE_ERROR_CODES } from '../../../src/lib/node-red/node-errors';

const ROOT = path.join(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const LOCALES = path.join(ROOT, 'nodes', 'locales', 'en-US');
const SECOND_LOCALES = ['de'];
const EXAMPLES = path.join(ROOT, 'examples');
const RUNTIME_STATUS_KEYS = [
    'loggingIn',
    'requesting',
    'requestingCount',
    'invalidCredentials',
    'lockedOut',
    'rateLimited',
    'accountDisabled',
    'passwordExpired',
    'passwordChanged',
    'loggedOut',
    'error',
];

function lookup(catalog: any, key: any) {
    return key.split('.').reduce((value: any, part: any) => (value && typeof value === 'object' ? value[part] : undefined), catalog);
}

/** Every leaf key of a catalog, dotted. */
function leafKeys(catalog: object, prefix = ''): string[] {
    return Object.entries(catalog).flatMap(([key, value]) => (value && typeof value === 'object' ? leafKeys(value, `${prefix}${key}.`) : [`${prefix}${key}`]));
}

/** The i18n parameters (`__name__`) a text uses. */
function params(text: any) {
    return [...text.matchAll(/__(\w+)__/g)].map((m) => m[1]).sort();
}

describe('editor files', function () {
    const entries = Object.entries(pkg['node-red'].nodes);

    it('declares the six node types of the contract', function () {
        assert.deepStrictEqual(entries.map(([type]) => type).sort(), [
            'rest-session-login',
            'rest-session-logout',
            'rest-session-request',
            'rest-session-server',
            'rest-session-store',
            'rest-session-updates',
        ]);
    });

    for (const [type, file] of entries) {
        describe(type, function () {
            const htmlFile = path.join(ROOT, (file as any).replace(/\.js$/, '.html'));
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
                if (type !== 'rest-session-server' && type !== 'rest-session-store') {
                    for (const heading of ['Inputs', 'Outputs', 'Details']) assert.match(help, new RegExp(`<h3>${heading}</h3>`));
                    // The codes this node can produce (one source: NODE_ERROR_CODES); live updates names CONFIG.
                    for (const code of NODE_ERROR_CODES[type] ?? ['CONFIG']) assert.ok(help.includes(code), code);
                }
                const icon = /icon: '([^']+)'/.exec(html)![1];
                assert.ok(fs.existsSync(path.join(ROOT, 'icons', icon)), icon);
            });
        });
    }

    it('has every problem and Test login text the server dialog shows in its catalog', function () {
        const html = fs.readFileSync(path.join(ROOT, 'nodes', 'rest-session-server.html'), 'utf8');
        const catalog = JSON.parse(fs.readFileSync(path.join(LOCALES, 'rest-session-server.json'), 'utf8'));
        const problems = [...html.matchAll(/'(errors\.\w+)'/g)].map((m) => m[1]);
        assert.ok(problems.length >= 3);
        for (const key of problems) assert.strictEqual(typeof lookup(catalog, `rest-session-server.${key}`), 'string', key);
        for (const key of [
            'button',
            'running',
            'ok',
            'expires',
            'noExpiry',
            'loggedOut',
            'notLoggedOut',
            'failed',
            'notSent',
            'heldCredentials',
            'heldUser',
            'denied',
            'unreachable',
        ]) {
            assert.strictEqual(typeof lookup(catalog, `rest-session-server.testLogin.${key}`), 'string', key);
        }
    });

    it('posts Test login to the admin route the runtime registers', function () {
        const html = fs.readFileSync(path.join(ROOT, 'nodes', 'rest-session-server.html'), 'utf8');
        const { TEST_LOGIN_PATH, PASSWORD_PLACEHOLDER } = require(path.join(ROOT, 'nodes', 'lib', 'node-red', 'test-login.js'));
        assert.ok(html.includes(`url: '${TEST_LOGIN_PATH.replace(/^\//, '')}'`), 'relative to the admin root');
        assert.strictEqual(PASSWORD_PLACEHOLDER, '__PWRD__');
        assert.match(html, /<input type="password" id="node-config-input-password"/);
    });

    it('labels every node for the palette and the dialog title, "authorized request" included', function () {
        for (const [type] of entries) {
            const catalog = JSON.parse(fs.readFileSync(path.join(LOCALES, `${type}.json`), 'utf8'));
            assert.strictEqual(typeof lookup(catalog, `${type}.paletteLabel`), 'string', type);
        }
        const request = JSON.parse(fs.readFileSync(path.join(LOCALES, 'rest-session-request.json'), 'utf8'));
        assert.strictEqual(request['rest-session-request'].paletteLabel, 'authorized request');
    });

    for (const lang of SECOND_LOCALES) {
        it(`has a complete "${lang}" catalog for every node (same keys and parameters as en-US)`, function () {
            for (const [type] of entries) {
                const english = JSON.parse(fs.readFileSync(path.join(LOCALES, `${type}.json`), 'utf8'));
                const other = JSON.parse(fs.readFileSync(path.join(ROOT, 'nodes', 'locales', lang, `${type}.json`), 'utf8'));
                assert.deepStrictEqual(leafKeys(other).sort(), leafKeys(english).sort(), type);
                for (const key of leafKeys(english)) assert.deepStrictEqual(params(lookup(other, key)), params(lookup(english, key)), `${type} ${key}`);
            }
        });
    }

    it('has white-on-transparent 2:3 SVG icons', function () {
        for (const file of fs.readdirSync(path.join(ROOT, 'icons'))) {
            const svg = fs.readFileSync(path.join(ROOT, 'icons', file), 'utf8');
            assert.match(svg, /<svg[^>]*width="40"[^>]*height="60"/, file);
            const painted = svg.replace(/<mask[\s\S]*?<\/mask>/g, '');
            for (const [, colour] of painted.matchAll(/(?:fill|stroke)="([^"]+)"/g))
                assert.ok(['#ffffff', 'none'].includes(colour.toLowerCase()), `${file}: ${colour}`);
            assert.ok(!/<rect[^>]*width="40"[^>]*height="60"[^>]*fill="#ffffff"/.test(painted), `${file} has no background`);
        }
    });

    describe('examples', function () {
        const files = fs.readdirSync(EXAMPLES).filter((file) => file.endsWith('.json'));
        const flows = Object.fromEntries(files.map((file) => [file, JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8'))]));

        it('ship the error-handling and dashboard examples', function () {
            assert.ok(files.includes('Error handling (lockout, invalid credentials).json'));
            assert.ok(files.includes('SmartServer dashboard gauge.json'));
        });

        it('give every node an id that no other example uses differently (they are deployed together by npm start)', function () {
            const byId = new Map();
            for (const [file, flow] of Object.entries(flows)) {
                for (const node of flow) {
                    const seen = byId.get(node.id);
                    assert.ok(!seen || JSON.stringify(seen) === JSON.stringify(node), `${file}: ${node.id}`);
                    byId.set(node.id, node);
                }
            }
        });

        it('branch on msg.errorCode for LOCKED_OUT and INVALID_CREDENTIALS and watch the session with a Status node', function () {
            const flow = flows['Error handling (lockout, invalid credentials).json'];
            const catcher = flow.find((n: any) => n.type === 'catch');
            const router = flow.find((n: any) => catcher.wires.flat().includes(n.id));
            assert.strictEqual(router.type, 'switch');
            assert.strictEqual(router.property, 'errorCode');
            assert.deepStrictEqual(router.rules.map((r: any) => r.v).slice(0, 2), ['LOCKED_OUT', 'INVALID_CREDENTIALS']);
            assert.ok(flow.some((n: any) => n.type === 'status'));
        });

        it('show SmartServer data on a Dashboard 2 gauge and say that the dashboard package is needed', function () {
            const flow = flows['SmartServer dashboard gauge.json'];
            for (const type of ['ui-base', 'ui-page', 'ui-group', 'ui-gauge', 'rest-session-request'])
                assert.ok(
                    flow.some((n: any) => n.type === type),
                    type,
                );
            const note = flow
                .filter((n: any) => n.type === 'comment')
                .map((n: any) => `${n.name} ${n.info}`)
                .join(' ');
            assert.match(note, /@flowfuse\/node-red-dashboard/);
        });
    });

    it('has every runtime status text in the server catalog', function () {
        const catalog = JSON.parse(fs.readFileSync(path.join(LOCALES, 'rest-session-server.json'), 'utf8'));
        for (const key of RUNTIME_STATUS_KEYS) assert.strictEqual(typeof lookup(catalog, `rest-session-server.status.${key}`), 'string', key);
    });
});

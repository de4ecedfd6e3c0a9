/**
 * Each vendor owns its settings table: the runtime parses it, Test login reads its keys, and the
 * editor renders its rows from the copy the runtime serves (no vendor list in the .html).
 */
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

import { checkVendorSettings, editorVendors, serverCredentials } from '../../src/lib/node-red/vendor-table';
import { readServerSettings } from '../../src/lib/node-red/server-settings';
import type { ServerNodeDef } from '../../src/lib/node-red/types';
import { vendorAdapter, vendorAdapters } from '../../src/lib/vendors';
import { editorRows, identitySettingNames } from '../../src/lib/vendors/settings';

const ROOT = path.join(__dirname, '..', '..');
const HTML = fs.readFileSync(path.join(ROOT, 'nodes', 'rest-session-server.html'), 'utf8');

function catalog(lang: string): Record<string, unknown> {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'nodes', 'locales', lang, 'rest-session-server.json'), 'utf8')) as Record<string, unknown>;
}

function lookup(tree: unknown, key: string): unknown {
    return key.split('.').reduce<unknown>((value, part) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined), tree);
}

function def(vendor: string, extra: Record<string, unknown> = {}): ServerNodeDef {
    return { id: 's', type: 'rest-session-server', name: '', z: '', vendor, baseUrl: 'https://host.example/api/', ...extra } as ServerNodeDef;
}

/** Runs the editor script against a served table, with just enough of jQuery and RED to register the type. */
function loadEditor(vendors: unknown): { template: string; registered: Record<string, any> } {
    const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(HTML)![1];
    let template = /<script type="text\/html" data-template-name="rest-session-server">([\s\S]*?)<\/script>/.exec(HTML)![1];
    let registered: Record<string, any> = {};
    const jquery = Object.assign(
        (selector: string) => {
            assert.strictEqual(selector, 'script[data-template-name="rest-session-server"]');
            return {
                text: (value?: string) => {
                    if (value === undefined) return template;
                    template = value;
                    return undefined;
                },
            };
        },
        { extend: Object.assign },
    );
    const RED = {
        settings: { restSessionServerVendors: vendors },
        _: (key: string) => key,
        nodes: { registerType: (_type: string, definition: Record<string, any>) => (registered = definition) },
    };
    vm.runInNewContext(script, { $: jquery, RED });
    return { template, registered };
}

describe('vendor settings tables', function () {
    it('serve every vendor in editor order, each row named and with a default', function () {
        const vendors = editorVendors();
        assert.deepStrictEqual(
            vendors.map((vendor) => vendor.id),
            vendorAdapters().map((adapter) => adapter.id),
        );
        for (const vendor of vendors) for (const row of vendor.rows) assert.ok(row.name && row.icon && row.default !== undefined, `${vendor.id} ${row.name}`);
        assert.deepStrictEqual(JSON.parse(JSON.stringify(vendors)), vendors, 'the table survives JSON (Node-RED serves it with /settings)');
    });

    it('have every label, option, placeholder, tip, group and problem text in both locales', function () {
        for (const lang of ['en-US', 'de']) {
            const texts = catalog(lang)['rest-session-server'];
            for (const vendor of editorVendors()) {
                const keys = [`vendor.${vendor.id}`, `placeholder.baseUrl.${vendor.id}`, `tip.baseUrl.${vendor.id}`, ...vendor.tips.map((tip) => `tip.${tip}`)];
                for (const row of vendor.rows) {
                    keys.push(`label.${row.name}`);
                    if (row.placeholder) keys.push(`placeholder.${row.name}`);
                    if (row.tip) keys.push(`tip.${row.name}`);
                    if (row.group) keys.push(`group.${row.group}`);
                    for (const option of row.options ?? []) keys.push(`${row.name}.${option}`);
                }
                if (Object.keys(vendor.presets).length)
                    keys.push('label.preset', 'preset.choose', ...Object.keys(vendor.presets).map((name) => `preset.${name}`));
                for (const key of keys) assert.strictEqual(typeof lookup(texts, key), 'string', `${lang}: ${key}`);
            }
        }
    });

    it('are what the runtime parses: a vendor setting of another vendor is not read', function () {
        const settings = readServerSettings(
            def('commvault', { format: 'xml', domain: ' corp ', apiVersion: 'v9' }),
            vendorAdapter('commvault'),
        ) as unknown as Record<string, unknown>;
        assert.deepStrictEqual(settings, {
            format: 'xml',
            domain: 'corp',
            commserver: '',
            vendor: 'commvault',
            baseUrl: 'https://host.example/api',
            requestTimeoutMs: 30000,
        });
        const sdm = readServerSettings(def('sdm'), vendorAdapter('sdm')) as unknown as Record<string, unknown>;
        assert.strictEqual(sdm.apiVersion, 'v1.1');
        assert.strictEqual(sdm.format, 'json');
    });

    it('refuse a bad value at deploy with CONFIG and in the editor with its problem key', function () {
        assert.throws(() => readServerSettings(def('cmwell', { tokenLifetime: '61d' }), vendorAdapter('cmwell')), {
            code: 'CONFIG',
            message: /more than 60 days/,
        });
        assert.throws(() => readServerSettings(def('sdm', { apiVersion: '1.1' }), vendorAdapter('sdm')), { code: 'CONFIG', message: /API version "1\.1"/ });
        assert.deepStrictEqual(checkVendorSettings('cmwell', { tokenLifetime: '61d' }), { tokenLifetime: 'tokenLifetimeMax' });
        assert.deepStrictEqual(checkVendorSettings('cmwell', { tokenLifetime: '30' }), { tokenLifetime: 'tokenLifetime' });
        assert.deepStrictEqual(checkVendorSettings('cmwell', { tokenLifetime: '${LIFETIME}' }), {}, '${VAR} is expanded at deploy');
        assert.deepStrictEqual(checkVendorSettings('sdm', { apiVersion: 'one' }), { apiVersion: 'apiVersion' });
        assert.deepStrictEqual(checkVendorSettings('smartserver', {}), {});
        assert.throws(() => checkVendorSettings('nope', {}), { code: 'CONFIG' });
    });

    it('declare the login identity: the Commvault domain and the CM-Well scheme, no format or version', function () {
        assert.deepStrictEqual(identitySettingNames(vendorAdapter('commvault').settings), ['domain']);
        assert.deepStrictEqual(identitySettingNames(vendorAdapter('cmwell').settings), ['authScheme']);
        assert.deepStrictEqual(identitySettingNames(vendorAdapter('sdm').settings), []);
    });

    it('have presets that fill only settings of their vendor, with values the settings accept', function () {
        for (const vendor of editorVendors()) {
            const names = vendor.rows.map((row) => row.name);
            for (const [preset, values] of Object.entries(vendor.presets)) {
                for (const name of Object.keys(values)) assert.ok(names.includes(name), `${vendor.id} ${preset}: ${name}`);
                assert.deepStrictEqual(checkVendorSettings(vendor.id, values), {}, `${vendor.id} ${preset}`);
            }
        }
        assert.deepStrictEqual(Object.keys(vendorAdapter('custom').presets ?? {}), [
            'jsonToken',
            'formCookie',
            'oauth2',
            'oauth2Code',
            'oauth2Device',
            'oauth2Refresh',
            'unifiOs',
            'proxmoxTicket',
            'sapGateway',
        ]);
    });

    it('have custom presets that each fill every custom setting, so one never keeps a value of another', function () {
        // Credentials (a pasted refresh token) are never a preset's to fill.
        const names = Object.entries(vendorAdapter('custom').settings)
            .filter(([, setting]) => !setting.row.credential)
            .map(([name]) => name)
            .sort();
        for (const [preset, values] of Object.entries(vendorAdapter('custom').presets ?? {})) assert.deepStrictEqual(Object.keys(values).sort(), names, preset);
    });

    it('give the config node its credentials: username, password, SmartServer new password and a pasted OAuth2 refresh token', function () {
        assert.deepStrictEqual(serverCredentials(), {
            username: { type: 'text' },
            password: { type: 'password' },
            newPassword: { type: 'password' },
            refreshToken: { type: 'password' },
        });
    });

    describe('the editor', function () {
        it('holds no vendor list or vendor rule of its own', function () {
            for (const id of ['cmwell', 'sdm', 'commvault']) assert.ok(!HTML.includes(id), id);
            for (const name of ['apiVersion', 'tokenLifetime', 'authScheme', 'domain', 'commserver', 'newPassword']) assert.ok(!HTML.includes(name), name);
        });

        it('renders one row per setting from the served table, the shared format row for both vendors', function () {
            const { template, registered } = loadEditor(editorVendors());
            for (const vendor of editorVendors()) {
                assert.ok(template.includes(`<option value="${vendor.id}" data-i18n="rest-session-server.vendor.${vendor.id}">`), vendor.id);
                for (const row of vendor.rows) {
                    assert.ok(template.includes(`id="node-config-input-${row.name}"`), row.name);
                    assert.ok(template.includes(`id="rest-session-server-problem-${row.name}"`), row.name);
                }
            }
            assert.strictEqual(template.split('id="node-config-input-format"').length, 2, 'one format row');
            assert.ok(template.includes('data-vendors="sdm commvault"'));
            assert.ok(template.includes('data-i18n="rest-session-server.tip.tls"'));
            assert.ok(!template.includes('<!--'), 'every marker filled');
            assert.ok(template.includes('id="rest-session-server-preset-custom"'), 'the custom presets select');
            for (const preset of ['jsonToken', 'formCookie', 'oauth2', 'oauth2Code', 'oauth2Device', 'oauth2Refresh'])
                assert.ok(template.includes(`data-i18n="rest-session-server.preset.${preset}"`), preset);
            assert.ok(template.includes('data-i18n="rest-session-server.group.credential"'), 'custom fields grouped');
            const rows = editorVendors().flatMap((vendor) => vendor.rows);
            for (const row of rows.filter((r) => !r.credential)) assert.strictEqual(registered.defaults[row.name].value, row.default, row.name);
            assert.deepStrictEqual(Object.keys(registered.credentials), ['username', 'password', 'newPassword', 'refreshToken']);
            for (const name of ['name', 'vendor', 'baseUrl', 'tls', 'proxy', 'requestTimeout', 'logoutOnClose', 'exposeCredential'])
                assert.ok(registered.defaults[name], name);
        });

        it('a vendor setting added to a table reaches the dialog and the saved properties without touching the .html', function () {
            const vendors = editorVendors();
            vendors[2].rows.push(...editorRows({ tenant: { default: 't1', parse: String, row: { input: 'text', icon: 'fa-building' } } }));
            const { template, registered } = loadEditor(vendors);
            assert.ok(template.includes('id="node-config-input-tenant"'));
            assert.strictEqual(registered.defaults.tenant.value, 't1');
        });
    });
});

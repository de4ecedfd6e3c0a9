import type { NodeAPI } from 'node-red';

import { vendorAdapter, vendorAdapters } from '../vendors';
import { EditorSettingRow, credentialNames, editorRows, parseSettings, settingProblems } from '../vendors/settings';

/** What the editor renders for one vendor: its id (label `rest-session-server.vendor.<id>`), tips and rows. */
export interface EditorVendor {
    id: string;
    tips: readonly string[];
    rows: EditorSettingRow[];
    presets: Readonly<Record<string, Readonly<Record<string, string | boolean>>>>;
}

/**
 * The node setting that carries the vendor table to the editor. Node-RED exports it with
 * `GET /settings`, which the editor loads before any node definition, so the dialog's `defaults`
 * and credentials are complete when flows are imported (a property missing there would be dropped).
 */
export const VENDOR_TABLE_SETTING = 'restSessionServerVendors';
/** The admin route that checks the vendor settings as the user types (relative to `httpAdminRoot`). */
export const CHECK_SETTINGS_PATH = '/rest-session-server/check-settings';
/** `${VAR}` values are Node-RED's to expand at deploy: not checked in the editor. */
const ENV_REFERENCE = /^\$\{[^}\s]+\}/;

export function editorVendors(): EditorVendor[] {
    return vendorAdapters().map((adapter) => ({
        id: adapter.id,
        tips: adapter.tips ?? [],
        rows: editorRows(adapter.settings),
        presets: adapter.presets ?? {},
    }));
}

/** The credentials the config node keeps: username and password, and every vendor's own. */
export function serverCredentials(): Record<string, { type: 'text' | 'password' }> {
    const credentials: Record<string, { type: 'text' | 'password' }> = { username: { type: 'text' }, password: { type: 'password' } };
    for (const adapter of vendorAdapters()) {
        for (const name of credentialNames(adapter.settings)) {
            credentials[name] = { type: adapter.settings[name].row.input === 'password' ? 'password' : 'text' };
        }
    }
    return credentials;
}

/** The problem key (under `rest-session-server.errors`) of each setting of the vendor that cannot be used. */
export function checkVendorSettings(vendor: string, values: Readonly<Record<string, unknown>>): Record<string, string> {
    const adapter = vendorAdapter(vendor);
    const problems = settingProblems(adapter.settings, parseSettings(adapter.settings, values));
    const keys: Record<string, string> = {};
    for (const [name, problem] of Object.entries(problems)) {
        if (!ENV_REFERENCE.test(String(values[name] ?? '').trim())) keys[name] = problem.key;
    }
    return keys;
}

/**
 * `POST /rest-session-server/check-settings` (permission `rest-session-server.read`): body
 * `{vendor, values}`, answer `{problems: {name: key}}`. The checks are the ones a deploy runs, so
 * the editor holds no copy of any vendor's rules. Nothing is sent anywhere.
 */
export function registerSettingsCheck(RED: NodeAPI): void {
    RED.httpAdmin.post(CHECK_SETTINGS_PATH, RED.auth.needsPermission('rest-session-server.read'), (req, res) => {
        const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
        const values = body.values && typeof body.values === 'object' ? (body.values as Record<string, unknown>) : {};
        try {
            res.json({ problems: checkVendorSettings(typeof body.vendor === 'string' ? body.vendor : '', values) });
        } catch {
            res.status(400).json({ problems: {} });
        }
    });
}

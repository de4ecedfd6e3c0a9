import { SessionError } from '../errors';
import type { ServerSettings, VendorAdapter } from '../vendors/adapter';
import { readVendorSettings } from '../vendors/settings';
import { MAX_TIMEOUT_MS } from '../request/request-input';
import type { ServerNodeDef } from './types';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30000;

/** True for `true` and `"true"`: the editor stores checkboxes as booleans, hand-made flows as strings. */
export function flag(value: unknown, fallback: boolean): boolean {
    if (value === undefined || value === null || value === '') return fallback;
    return value === true || value === 'true';
}

/**
 * The config node's properties as typed settings, or a `CONFIG` error that says what is wrong:
 * the common ones here, the vendor's own from its settings table.
 */
export function readServerSettings(def: ServerNodeDef, adapter: VendorAdapter): ServerSettings {
    const baseUrl = String(def.baseUrl ?? '')
        .trim()
        .replace(/\/+$/, '');
    let parsed: URL;
    try {
        parsed = new URL(baseUrl);
    } catch {
        throw new SessionError('CONFIG', `The base URL "${baseUrl}" is not a valid http(s) URL.`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        throw new SessionError('CONFIG', `The base URL must start with http:// or https:// (got "${parsed.protocol}").`);
    }
    if (parsed.username || parsed.password || parsed.search || parsed.hash) {
        throw new SessionError('CONFIG', 'The base URL must not hold credentials, a query or a fragment.');
    }
    const timeout = def.requestTimeout === undefined || def.requestTimeout === '' ? DEFAULT_REQUEST_TIMEOUT_MS : Number(def.requestTimeout);
    if (!Number.isFinite(timeout) || timeout < 1 || timeout > MAX_TIMEOUT_MS) {
        throw new SessionError('CONFIG', `The request timeout must be a number of milliseconds from 1 to ${MAX_TIMEOUT_MS}.`);
    }
    const settings: ServerSettings = {
        ...readVendorSettings(adapter.settings, def),
        vendor: adapter.id,
        baseUrl: parsed.origin + parsed.pathname.replace(/\/+$/, ''),
        requestTimeoutMs: timeout,
    };
    const problem = adapter.validate(settings);
    if (problem) throw new SessionError('CONFIG', problem);
    return settings;
}

import { SessionError } from '../errors';
import type { ServerSettings, VendorAdapter } from './adapter';
import { cmwell } from './cmwell/adapter';
import { commvault } from './commvault/adapter';
import { custom } from './custom/adapter';
import { sdm } from './sdm/adapter';
import { smartserver } from './smartserver/adapter';

/** Every vendor, in the order the editor lists them. Adding a vendor: its folder and one line here. */
const VENDORS: readonly VendorAdapter[] = [smartserver, cmwell, sdm, commvault, custom];

/** The vendors the package supports, in editor order. */
export function vendorAdapters(): readonly VendorAdapter[] {
    return VENDORS;
}

/** The adapter of a vendor id from the config node; an unknown id is a `CONFIG` error. */
export function vendorAdapter(id: string): VendorAdapter {
    const adapter = vendorAdapters().find((candidate) => candidate.id === id);
    if (!adapter) throw new SessionError('CONFIG', `Vendor "${id}" is not supported.`);
    return adapter;
}

/** The adapter to use with these (parsed) settings: bound to them if the vendor needs that. */
export function configuredAdapter(adapter: VendorAdapter, settings: ServerSettings): VendorAdapter {
    return adapter.withSettings ? adapter.withSettings(settings) : adapter;
}

import { SessionError } from '../errors';
import type { VendorAdapter, VendorId } from './adapter';
import { cmwell } from './cmwell/adapter';
import { commvault } from './commvault/adapter';
import { sdm } from './sdm/adapter';
import { smartserver } from './smartserver/adapter';

const ADAPTERS: Record<VendorId, VendorAdapter> = { smartserver, cmwell, sdm, commvault };

/** The adapter of a vendor id from the config node; an unknown id is a `CONFIG` error. */
export function vendorAdapter(id: string): VendorAdapter {
    if (!Object.prototype.hasOwnProperty.call(ADAPTERS, id)) {
        throw new SessionError('CONFIG', `Vendor "${id}" is not supported.`);
    }
    return ADAPTERS[id as VendorId];
}

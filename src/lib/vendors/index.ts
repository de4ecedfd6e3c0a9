import { SessionError } from '../errors';
import type { VendorAdapter, VendorId } from './adapter';
import { cmwell } from './cmwell';
import { commvault } from './commvault';
import { sdm } from './sdm';
import { smartserver } from './smartserver';

const ADAPTERS: Record<VendorId, VendorAdapter> = { smartserver, cmwell, sdm, commvault };

/** The adapter of a vendor id from the config node; an unknown id is a `CONFIG` error. */
export function vendorAdapter(id: string): VendorAdapter {
    if (!Object.prototype.hasOwnProperty.call(ADAPTERS, id)) {
        throw new SessionError('CONFIG', `Vendor "${id}" is not supported.`);
    }
    return ADAPTERS[id as VendorId];
}

import { SessionError } from '../errors';
import type { VendorAdapter, VendorId } from './adapter';
import { smartserver } from './smartserver';

const ADAPTERS: Partial<Record<VendorId, VendorAdapter>> = { smartserver };

export function vendorAdapter(id: string): VendorAdapter {
    const adapter = Object.prototype.hasOwnProperty.call(ADAPTERS, id) ? ADAPTERS[id as VendorId] : undefined;
    if (!adapter) throw new SessionError('CONFIG', `Vendor "${id}" is not supported by this version.`);
    return adapter;
}

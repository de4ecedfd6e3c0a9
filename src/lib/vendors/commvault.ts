import { SessionError } from '../errors';
import type { VendorAdapter } from './adapter';

const notYet = (): never => {
    throw new SessionError('CONFIG', 'This vendor is not supported yet.');
};

/** Placeholder until the adapter is written: every use is a CONFIG error, nothing is sent. */
export const commvault: VendorAdapter = {
    id: 'commvault',
    label: 'commvault',
    validate: () => 'This vendor is not supported yet.',
    requestHeaders: () => ({}),
    login: notYet,
    isSessionRejected: () => false,
    logout: notYet,
};

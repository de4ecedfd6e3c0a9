import { formatSetting } from '../format-setting';
import { textSetting } from '../settings';

/** Commvault: the body format, and the user's domain (part of the login identity) and CommServe. */
export const commvaultSettings = {
    format: formatSetting,
    domain: textSetting('', { input: 'text', icon: 'fa-sitemap', placeholder: true }, { identity: true }),
    commserver: textSetting('', { input: 'text', icon: 'fa-server', placeholder: true }),
};

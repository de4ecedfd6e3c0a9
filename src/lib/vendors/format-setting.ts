import { choiceSetting } from './settings';

/** JSON or XML bodies (SDM and Commvault speak both): one setting, one editor row for both. */
export const formatSetting = choiceSetting(['json', 'xml'] as const, 'json', { icon: 'fa-file-code-o' });

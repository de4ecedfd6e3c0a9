import { textSetting } from '../settings';

/** SmartServer: the password that replaces an expired one (a credential, sent only after a 423). */
export const smartserverSettings = {
    newPassword: textSetting('', { input: 'password', icon: 'fa-key', placeholder: true, tip: true, credential: true }),
};

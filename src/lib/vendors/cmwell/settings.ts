import { choiceSetting, textSetting } from '../settings';
import { tokenLifetimeIssue } from './token';

/** CM-Well: how the password travels (part of the login identity) and the `exp` of `/_login`. */
export const cmwellSettings = {
    authScheme: choiceSetting(['basic', 'digest'] as const, 'basic', { icon: 'fa-user-secret' }, { identity: true }),
    tokenLifetime: textSetting(
        '',
        { input: 'text', icon: 'fa-hourglass-half', placeholder: true, tip: true },
        {
            problem: (value) => tokenLifetimeIssue(value),
        },
    ),
};

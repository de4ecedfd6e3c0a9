import { SettingProblem, choiceSetting, textSetting, verbatimSetting } from '../../settings';

/** A relative path ("/oauth/token") or an absolute http(s) URL. */
function isPathOrUrl(value: string): boolean {
    if (value.startsWith('/')) return true;
    try {
        const url = new URL(value);
        return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password;
    } catch {
        return false;
    }
}

function problem(key: string, message: string): SettingProblem {
    return { key, message };
}

/**
 * The OAuth2 grants that need a person and renew themselves (README, "OAuth2"): shown with the
 * custom vendor. `login` keeps the configured login request (client credentials included). The
 * token endpoint and the client authentication decide where the client secret travels: identity.
 */
export const oauth2Settings = {
    grant: choiceSetting(
        ['login', 'refresh_token', 'authorization_code', 'device_code'] as const,
        'login',
        { icon: 'fa-key', tip: true, group: 'oauth2' },
        { identity: true },
    ),
    tokenPath: textSetting(
        '/oauth/token',
        { input: 'text', icon: 'fa-ticket', placeholder: true, group: 'oauth2' },
        {
            identity: true,
            problem: (value, all) =>
                all.grant !== 'login' && !isPathOrUrl(value)
                    ? problem('tokenPath', `The token endpoint "${value}" must be a path starting with "/" or an http(s) URL.`)
                    : undefined,
        },
    ),
    authorizeUrl: textSetting(
        '',
        { input: 'text', icon: 'fa-external-link', placeholder: true, group: 'oauth2' },
        {
            problem: (value, all) =>
                all.grant === 'authorization_code' && !(isPathOrUrl(value) && !value.startsWith('/'))
                    ? problem('authorizeUrl', "The authorization endpoint must be the provider's absolute https:// URL.")
                    : undefined,
        },
    ),
    deviceAuthorizationPath: textSetting(
        '',
        { input: 'text', icon: 'fa-mobile', placeholder: true, group: 'oauth2' },
        {
            identity: true,
            problem: (value, all) =>
                all.grant === 'device_code' && !isPathOrUrl(value)
                    ? problem('deviceAuthorizationPath', 'The device authorization endpoint must be a path starting with "/" or an http(s) URL.')
                    : undefined,
        },
    ),
    scope: textSetting('', { input: 'text', icon: 'fa-list', placeholder: true, group: 'oauth2' }),
    authorizeParams: verbatimSetting(
        '',
        { input: 'text', icon: 'fa-sliders', placeholder: true, tip: true, group: 'oauth2' },
        {
            problem: (value) =>
                /[\s#]/.test(value.trim())
                    ? problem('authorizeParams', 'The extra parameters must be a query like access_type=offline&prompt=consent.')
                    : undefined,
        },
    ),
    clientAuth: choiceSetting(['basic', 'body', 'none'] as const, 'basic', { icon: 'fa-id-card-o', group: 'oauth2' }, { identity: true }),
    refreshToken: textSetting('', { input: 'password', icon: 'fa-refresh', credential: true, tip: true, group: 'oauth2' }),
};

import { SettingProblem, choiceSetting, flagSetting, textSetting, verbatimSetting } from '../settings';
import { parseDuration } from './duration';
import { HEADER_NAME, JSON_PATH, csrfSettings, sessionEndSettings, tokenCarrierSettings } from './signal-settings';
import { fillTemplate } from './template';
import { oauth2Settings } from './oauth2/settings';

export { JSON_PATH };
const STATUS_LIST = /^\s*[1-5]\d\d(\s*,\s*[1-5]\d\d)*\s*$/;

function problem(key: string, message: string): SettingProblem {
    return { key, message };
}

/**
 * The custom vendor: any REST API whose login hands back a cookie or a token, described by these
 * settings (README, "Custom APIs"). The login request's settings are part of the login
 * identity: they decide where and how the password travels.
 */
export const customSettings = {
    loginMethod: choiceSetting(['POST', 'PUT', 'GET'] as const, 'POST', { icon: 'fa-exchange', group: 'login' }, { identity: true }),
    loginPath: textSetting(
        '/login',
        { input: 'text', icon: 'fa-sign-in', placeholder: true, group: 'login' },
        {
            identity: true,
            problem: (value) =>
                value.startsWith('/') ? undefined : problem('loginPath', `The login path "${value}" must start with "/" (it is relative to the base URL).`),
        },
    ),
    loginBody: choiceSetting(['json', 'form', 'none'] as const, 'json', { icon: 'fa-file-code-o', group: 'login' }, { identity: true }),
    loginTemplate: verbatimSetting(
        '{"username":"{{username}}","password":"{{password}}"}',
        { input: 'textarea', icon: 'fa-pencil-square-o', tip: true, group: 'login' },
        {
            identity: true,
            problem: (value, all) => {
                if (all.loginBody !== 'json') return undefined;
                try {
                    JSON.parse(fillTemplate(value, 'json', { username: 'user', password: 'pass"word\\' }));
                    return undefined;
                } catch {
                    return problem(
                        'loginTemplate',
                        'The login template is not valid JSON once its placeholders are filled in: put each {{placeholder}} inside quotes.',
                    );
                }
            },
        },
    ),
    loginAuth: choiceSetting(['none', 'basic', 'basic-plain'] as const, 'none', { icon: 'fa-user-secret', tip: true, group: 'login' }, { identity: true }),

    tokenFrom: choiceSetting(['cookie', 'body', 'header'] as const, 'cookie', { icon: 'fa-ticket', group: 'credential' }),
    tokenName: textSetting(
        '',
        { input: 'text', icon: 'fa-tag', placeholder: true, tip: true, group: 'credential' },
        {
            problem: (value, all) => {
                if (all.tokenFrom === 'body' && !JSON_PATH.test(value)) {
                    return problem('jsonPath', `"${value}" is not a JSON path: write the field's name, or names joined by dots (data.access_token).`);
                }
                if (all.tokenFrom === 'header' && !HEADER_NAME.test(value)) {
                    return problem('headerName', `"${value}" is not a header name.`);
                }
                if (all.tokenFrom === 'cookie' && value && !HEADER_NAME.test(value)) {
                    return problem('cookieName', `"${value}" is not a cookie name.`);
                }
                return undefined;
            },
        },
    ),
    tokenHeader: textSetting(
        'Authorization',
        { input: 'text', icon: 'fa-header', group: 'credential' },
        {
            problem: (value, all) =>
                all.tokenFrom !== 'cookie' && !HEADER_NAME.test(value) ? problem('headerName', `"${value}" is not a header name.`) : undefined,
        },
    ),
    tokenTemplate: verbatimSetting(
        'Bearer {{token}}',
        { input: 'text', icon: 'fa-pencil', tip: true, group: 'credential' },
        {
            problem: (value, all) =>
                all.tokenFrom !== 'cookie' && !value.includes('{{token}}')
                    ? problem('tokenTemplate', 'The header template must hold {{token}}, where the token goes.')
                    : undefined,
        },
    ),
    ...tokenCarrierSettings,
    ...csrfSettings,

    expiry: choiceSetting(['none', 'lifetime', 'body', 'jwt'] as const, 'none', { icon: 'fa-hourglass-half', group: 'expiry' }),
    expiryValue: textSetting(
        '',
        { input: 'text', icon: 'fa-clock-o', placeholder: true, tip: true, group: 'expiry' },
        {
            problem: (value, all) => {
                if (all.expiry === 'lifetime' && parseDuration(value) === undefined) {
                    return problem('duration', `The session lifetime "${value}" is not a duration: write it like 30m, 24h or 1h30m.`);
                }
                if (all.expiry === 'body' && !JSON_PATH.test(value)) {
                    return problem('jsonPath', `"${value}" is not a JSON path: write the field's name, or names joined by dots (expires_in).`);
                }
                return undefined;
            },
        },
    ),
    expiryIdle: flagSetting(false, { icon: 'fa-pause', group: 'expiry' }),

    rejectedStatus: textSetting(
        '401',
        { input: 'text', icon: 'fa-ban', tip: true, group: 'logout' },
        {
            problem: (value) =>
                STATUS_LIST.test(value) ? undefined : problem('rejectedStatus', `"${value}" is not a list of HTTP statuses: write them like 401, 403.`),
        },
    ),
    ...sessionEndSettings,
    logoutMethod: choiceSetting(['POST', 'PUT', 'GET', 'DELETE'] as const, 'POST', { icon: 'fa-exchange', group: 'logout' }),
    logoutPath: textSetting(
        '',
        { input: 'text', icon: 'fa-sign-out', placeholder: true, tip: true, group: 'logout' },
        {
            problem: (value) =>
                value === '' || value.startsWith('/')
                    ? undefined
                    : problem('logoutPath', `The logout path "${value}" must start with "/" (it is relative to the base URL).`),
        },
    ),
    ...oauth2Settings,
};

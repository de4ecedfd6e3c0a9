import { BEARER_FROM_TOKEN_REPLY, oauth2Presets } from './oauth2/presets';

/**
 * The editor's presets for the custom vendor: each fills every custom setting for one common kind
 * of API (the paths are the usual ones; the user adapts them). Names are i18n keys `preset.<name>`.
 */
export const customPresets: Record<string, Record<string, string | boolean>> = {
    jsonToken: {
        loginMethod: 'POST',
        loginPath: '/login',
        loginBody: 'json',
        loginTemplate: '{"username":"{{username}}","password":"{{password}}"}',
        loginAuth: 'none',
        tokenFrom: 'body',
        tokenName: 'token',
        tokenHeader: 'Authorization',
        tokenTemplate: 'Bearer {{token}}',
        expiry: 'body',
        expiryValue: 'expires_in',
        expiryIdle: false,
        rejectedStatus: '401',
        logoutMethod: 'POST',
        logoutPath: '/logout',
        grant: 'login',
    },
    formCookie: {
        loginMethod: 'POST',
        loginPath: '/login',
        loginBody: 'form',
        loginTemplate: 'username={{username}}&password={{password}}',
        loginAuth: 'none',
        tokenFrom: 'cookie',
        tokenName: '',
        tokenHeader: 'Authorization',
        tokenTemplate: 'Bearer {{token}}',
        expiry: 'none',
        expiryValue: '',
        expiryIdle: false,
        rejectedStatus: '401',
        logoutMethod: 'GET',
        logoutPath: '/logout',
        grant: 'login',
    },
    oauth2: {
        loginMethod: 'POST',
        loginPath: '/oauth/token',
        loginBody: 'form',
        loginTemplate: 'grant_type=client_credentials',
        loginAuth: 'basic',
        ...BEARER_FROM_TOKEN_REPLY,
        grant: 'login',
    },
    ...oauth2Presets,
};

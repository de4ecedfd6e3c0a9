/**
 * Presets of the OAuth2 grants that need a person: the token arrives in `access_token` and goes as a
 * Bearer header, its lifetime is `expires_in`, a 401 means "refresh". The grant logs nothing out.
 */
const bearer = {
    tokenFrom: 'body',
    tokenName: 'access_token',
    tokenHeader: 'Authorization',
    tokenTemplate: 'Bearer {{token}}',
    expiry: 'body',
    expiryValue: 'expires_in',
    expiryIdle: false,
    rejectedStatus: '401',
    logoutMethod: 'POST',
    logoutPath: '',
    tokenPath: '/oauth/token',
    scope: '',
    authorizeParams: '',
    clientAuth: 'basic',
} as const;

export const oauth2Presets: Record<string, Record<string, string | boolean>> = {
    oauth2Code: { ...bearer, grant: 'authorization_code', authorizeUrl: 'https://provider.example/oauth/authorize', deviceAuthorizationPath: '' },
    oauth2Device: { ...bearer, grant: 'device_code', authorizeUrl: '', deviceAuthorizationPath: '/oauth/device_authorization' },
    oauth2Refresh: { ...bearer, grant: 'refresh_token', authorizeUrl: '', deviceAuthorizationPath: '' },
};

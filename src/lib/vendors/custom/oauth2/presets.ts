/** An OAuth2 token reply's `access_token` as a Bearer header, its lifetime `expires_in`, a 401 "renew", no logout call. */
export const BEARER_FROM_TOKEN_REPLY = {
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
} as const;

/** Presets of the OAuth2 grants that need a person (their token endpoint, scope and client authentication). */
const bearer = {
    ...BEARER_FROM_TOKEN_REPLY,
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

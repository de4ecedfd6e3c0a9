/**
 * Presets for device and appliance APIs (vendors.md, "Wire facts for the custom presets"): a CSRF
 * token beside the session, a token sent as a cookie, Basic as RFC 7617 has it. Only what differs
 * from the settings' defaults is listed; {@link completePresets} fills in the rest.
 */
export const devicePresets: Record<string, Record<string, string | boolean>> = {
    unifiOs: {
        loginMethod: 'POST',
        loginPath: '/api/auth/login',
        loginBody: 'json',
        loginTemplate: '{"username":"{{username}}","password":"{{password}}","rememberMe":false}',
        tokenFrom: 'cookie',
        tokenName: 'TOKEN',
        csrfFrom: 'header',
        csrfName: 'X-CSRF-Token',
        csrfHeader: 'X-CSRF-Token',
        csrfUpdateHeader: 'X-Updated-CSRF-Token',
        rejectedStatus: '401',
        rejectedBody: 'api\\.err\\.LoginRequired',
        logoutMethod: 'POST',
        logoutPath: '/api/auth/logout',
    },
    proxmoxTicket: {
        loginMethod: 'POST',
        loginPath: '/api2/json/access/ticket',
        loginBody: 'form',
        loginTemplate: 'username={{username}}&password={{password}}',
        tokenFrom: 'body',
        tokenName: 'data.ticket',
        tokenAs: 'cookie',
        tokenCookie: 'PVEAuthCookie',
        csrfFrom: 'body',
        csrfName: 'data.CSRFPreventionToken',
        csrfHeader: 'CSRFPreventionToken',
        expiry: 'lifetime',
        expiryValue: '2h',
        rejectedStatus: '401',
        logoutPath: '',
    },
    sapGateway: {
        loginMethod: 'GET',
        loginPath: '/',
        loginBody: 'none',
        loginTemplate: '',
        loginAuth: 'basic-plain',
        tokenFrom: 'cookie',
        tokenName: '',
        csrfFrom: 'fetch',
        csrfName: 'X-CSRF-Token',
        csrfHeader: 'X-CSRF-Token',
        csrfFetchPath: '/',
        rejectedStatus: '401',
        logoutPath: '',
    },
};

/** Each preset with every setting it does not name at its default: choosing one never keeps a value of another. */
export function completePresets(
    presets: Record<string, Record<string, string | boolean>>,
    settings: Readonly<Record<string, { default: string | boolean; row: { credential?: boolean } }>>,
): Record<string, Record<string, string | boolean>> {
    const defaults: Record<string, string | boolean> = {};
    for (const [name, setting] of Object.entries(settings)) if (!setting.row.credential) defaults[name] = setting.default;
    return Object.fromEntries(Object.entries(presets).map(([name, values]) => [name, { ...defaults, ...values }]));
}

import { SettingProblem, choiceSetting, textSetting } from '../settings';
import { MAX_WAYS, PatternRisk, patternRisk } from './pattern-cost';

/** A dotted JSON path: `token`, `data.access_token`. */
export const JSON_PATH = /^[^.\s]+(\.[^.\s]+)*$/;
/** An HTTP header name (RFC 9110 token); a cookie name takes the same characters. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function problem(key: string, message: string): SettingProblem {
    return { key, message };
}

/** A regular expression as typed, or undefined when it does not compile. */
export function compiledPattern(source: string): RegExp | undefined {
    try {
        return new RegExp(source);
    } catch {
        return undefined;
    }
}

/** Why a pattern could hang Node-RED on a reply, in the user's terms. */
const RISKS: Record<PatternRisk, string> = {
    nested: 'a repeat of a group that holds a repeat or alternatives, such as (a+)+ or (a|b)*',
    backreference: 'a back-reference such as \\1',
    unbounded: 'more than one unbounded repeat (*, + or {n,})',
    ways: `repeats and alternatives that allow more than ${MAX_WAYS} ways to match`,
};

/** An invalid pattern, or one too costly to run on every reply (it could hang Node-RED): `CONFIG`. */
function patternProblem(value: string): SettingProblem | undefined {
    if (!value) return undefined;
    if (!compiledPattern(value)) return problem('rejectedBody', `"${value}" is not a valid regular expression (for example api\\.err\\.LoginRequired).`);
    const risk = patternRisk(value);
    if (!risk) return undefined;
    return problem(
        'rejectedBodySlow',
        `The regular expression "${value}" could take too long on a reply: it has ${RISKS[risk]}. Match the marker text itself, e.g. api\\.err\\.LoginRequired.`,
    );
}

const headerName = (value: string): SettingProblem | undefined =>
    HEADER_NAME.test(value) ? undefined : problem('headerName', `"${value}" is not a header name.`);

/** How a token read from the body or a header travels: the custom vendor's header, or a cookie (Proxmox `PVEAuthCookie`). */
export const tokenCarrierSettings = {
    tokenAs: choiceSetting(['header', 'cookie'] as const, 'header', { icon: 'fa-share', group: 'credential' }),
    tokenCookie: textSetting(
        '',
        { input: 'text', icon: 'fa-tag', placeholder: true, group: 'credential' },
        {
            problem: (value, all) =>
                all.tokenFrom !== 'cookie' && all.tokenAs === 'cookie' && !HEADER_NAME.test(value)
                    ? problem('tokenCookie', `"${value}" is not a cookie name: name the cookie the token is sent in.`)
                    : undefined,
        },
    ),
};

/** A CSRF token that comes with the session and goes with every write (README, "CSRF tokens"). */
export const csrfSettings = {
    csrfFrom: choiceSetting(['none', 'header', 'body', 'fetch'] as const, 'none', { icon: 'fa-shield', tip: true, group: 'csrf' }),
    csrfName: textSetting(
        '',
        { input: 'text', icon: 'fa-tag', placeholder: true, group: 'csrf' },
        {
            problem: (value, all) => {
                if (all.csrfFrom === 'header' || (all.csrfFrom === 'fetch' && value)) return headerName(value);
                if (all.csrfFrom === 'body' && !JSON_PATH.test(value)) {
                    return problem('jsonPath', `"${value}" is not a JSON path: write the field's name, or names joined by dots (data.CSRFPreventionToken).`);
                }
                return undefined;
            },
        },
    ),
    csrfHeader: textSetting(
        'X-CSRF-Token',
        { input: 'text', icon: 'fa-header', group: 'csrf' },
        { problem: (value, all) => (all.csrfFrom === 'none' ? undefined : headerName(value)) },
    ),
    csrfFetchPath: textSetting(
        '',
        { input: 'text', icon: 'fa-download', placeholder: true, group: 'csrf' },
        {
            problem: (value, all) =>
                all.csrfFrom === 'fetch' && !value.startsWith('/')
                    ? problem('csrfFetchPath', `The CSRF fetch path "${value}" must start with "/" (it is relative to the base URL).`)
                    : undefined,
        },
    ),
    csrfUpdateHeader: textSetting(
        '',
        { input: 'text', icon: 'fa-refresh', placeholder: true, tip: true, group: 'csrf' },
        { problem: (value, all) => (all.csrfFrom === 'none' || !value ? undefined : headerName(value)) },
    ),
};

/** "Session ended" said by a reply body or a redirect, beside `rejectedStatus`. */
export const sessionEndSettings = {
    rejectedBody: textSetting('', { input: 'text', icon: 'fa-file-text-o', placeholder: true, tip: true, group: 'logout' }, { problem: patternProblem }),
    rejectedRedirect: textSetting(
        '',
        { input: 'text', icon: 'fa-share-square-o', placeholder: true, tip: true, group: 'logout' },
        {
            problem: (value) =>
                value && !value.startsWith('/')
                    ? problem('rejectedRedirect', `The redirect path "${value}" must start with "/" (the login page, e.g. /login).`)
                    : undefined,
        },
    ),
};

/**
 * CM-Well tokens: the short lifetime format of `/_login?exp=` and the claims of the JWT it returns.
 * @see docs/vendors.md section 2, "`exp` parsing (exact)" and "JWT"
 */

import { jwtClaims } from '../jwt';
import type { SettingProblem } from '../settings';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** `authorization.token.expiry.maxDays`: a later expiry is refused with 400. */
export const MAX_TOKEN_DAYS = 60;

export interface TokenLifetime {
    days: number;
    hours: number;
    minutes: number;
}

/**
 * The lifetime as CM-Well reads it: each of d, h and m is the number of its first `(\d+)` followed by
 * the unit letter (any case); anything else is ignored. Undefined when no unit is found at all
 * (CM-Well would then issue a token that is already expired).
 */
export function parseTokenLifetime(text: string): TokenLifetime | undefined {
    const unit = (letter: string): number | undefined => {
        const match = new RegExp(`(\\d+)${letter}`, 'i').exec(text);
        return match ? Number(match[1]) : undefined;
    };
    const days = unit('d');
    const hours = unit('h');
    const minutes = unit('m');
    if (days === undefined && hours === undefined && minutes === undefined) return undefined;
    return { days: days ?? 0, hours: hours ?? 0, minutes: minutes ?? 0 };
}

export function tokenLifetimeMs(lifetime: TokenLifetime): number {
    return lifetime.days * DAY_MS + lifetime.hours * HOUR_MS + lifetime.minutes * MINUTE_MS;
}

/** Why a `tokenLifetime` setting cannot be used, or undefined when it is empty or fine. */
export function tokenLifetimeProblem(text: string): string | undefined {
    return tokenLifetimeIssue(text)?.message;
}

/** {@link tokenLifetimeProblem} with the editor's key for it. */
export function tokenLifetimeIssue(text: string): SettingProblem | undefined {
    const trimmed = text.trim();
    if (trimmed === '') return undefined;
    const lifetime = parseTokenLifetime(trimmed);
    if (!lifetime) {
        return {
            key: 'tokenLifetime',
            message: `The CM-Well token lifetime "${trimmed}" has no unit: write it like 30d, 3d 5h or 2h30m (d days, h hours, m minutes).`,
        };
    }
    const ms = tokenLifetimeMs(lifetime);
    if (ms <= 0) return { key: 'tokenLifetime', message: `The CM-Well token lifetime "${trimmed}" is zero: the token would expire as soon as it is issued.` };
    if (ms > MAX_TOKEN_DAYS * DAY_MS) {
        return { key: 'tokenLifetimeMax', message: `The CM-Well token lifetime "${trimmed}" is more than ${MAX_TOKEN_DAYS} days, the most CM-Well issues.` };
    }
    return undefined;
}

export { jwtClaims } from '../jwt';

/**
 * When a CM-Well token expires, in ms since the epoch: its `exp` claim, which CM-Well writes in
 * MILLISECONDS (not the JWT-standard seconds). Null when the token does not say.
 */
export function tokenExpiry(token: string): number | null {
    const exp = jwtClaims(token)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp : null;
}

import type { HttpResponse } from '../../http/http-client';

/** Keys that look like a secret: never copied to `msg.payload`, at any depth. */
const SECRET_KEY = /token|secret|password|session.?id/i;
/** A credential goes into a header or cookie: visible ASCII (and spaces inside) only. */
const CREDENTIAL_SHAPE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

/** The reply as JSON, or undefined when it is not JSON. */
export function replyJson(response: HttpResponse): unknown {
    const text = response.body.toString('utf8').trim();
    if (!text) return undefined;
    try {
        return JSON.parse(text) as unknown;
    } catch {
        return undefined;
    }
}

/** The value at a dotted path (`data.access_token`); undefined when any step is missing. */
export function atPath(value: unknown, path: string): unknown {
    let current = value;
    for (const step of path.split('.')) {
        if (!current || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, step)) return undefined;
        current = (current as Record<string, unknown>)[step];
    }
    return current;
}

/** A token as read from a reply, if it can be sent as it is. */
export function usableCredential(value: unknown): string | undefined {
    const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
    return typeof text === 'string' && text.length <= 16384 && CREDENTIAL_SHAPE.test(text) ? text : undefined;
}

/**
 * The reply for `msg.payload`: without the value at the token's path, without any key that looks
 * like a secret and without any string equal to the token, at any depth; `{}` for a body that is not JSON.
 */
export function withoutSecrets(reply: unknown, tokenPath: string | undefined, token: string | undefined): unknown {
    const tokenSteps = tokenPath ? tokenPath.split('.') : [];
    const scrub = (value: unknown, steps: string[] | undefined): unknown => {
        if (Array.isArray(value)) return value.filter((item) => item !== token).map((item) => scrub(item, undefined));
        if (!value || typeof value !== 'object') return value;
        const copy: Record<string, unknown> = {};
        for (const [key, item] of Object.entries(value)) {
            const onPath = steps !== undefined && steps[0] === key;
            if (SECRET_KEY.test(key) || (onPath && steps.length === 1) || (token !== undefined && item === token)) continue;
            copy[key] = scrub(item, onPath ? steps.slice(1) : undefined);
        }
        return copy;
    };
    return reply === undefined ? {} : scrub(reply, tokenSteps.length ? tokenSteps : undefined);
}

/**
 * An expiry read from a reply: a number below 1e9 is seconds from now (`expires_in`), 1e9 … 1e12
 * epoch seconds, above that epoch ms; a string is an ISO date (or a number in a string). Null when
 * it is none of these.
 */
export function expiryFromValue(value: unknown, now: number): number | null {
    let number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
    if (Number.isNaN(number) && typeof value === 'string') {
        const date = Date.parse(value);
        return Number.isFinite(date) ? date : null;
    }
    if (!Number.isFinite(number) || number <= 0) return null;
    if (number < 1e9) number = now + number * 1000;
    else if (number <= 1e12) number *= 1000;
    return Math.round(number);
}

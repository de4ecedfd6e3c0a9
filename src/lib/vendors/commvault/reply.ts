import type { HttpResponse } from '../../http/http-client';
import { escapeXml, parseXml } from '../xml';
import { headerValue } from '../login-failure';

export type CommvaultFormat = 'json' | 'xml';

/** Root element of the XML login request (docs/vendors.md section 4). */
export const XML_LOGIN_ROOT = 'DM2ContentIndexing_CheckCredentialReq';

/** The fields of a Login reply that decide what happened, whatever the format. */
export interface LoginReply {
    /** The reply as parsed: the JSON object, or the XML root element (attributes as properties). */
    fields: Record<string, unknown>;
    token?: string;
    /** `errList[0].errLogMessage` (or a bare `errorMessage`), when the server gave one. */
    errorMessage?: string;
    locked: boolean;
    /** Seconds until the lock ends, when the server says. */
    remainingLockTime?: number;
    forcePasswordChange: boolean;
}

export function mediaType(format: CommvaultFormat): string {
    return format === 'xml' ? 'application/xml' : 'application/json';
}

/**
 * The Login request body: the password Base64-encoded from UTF-8, `domain` and `commserver` only
 * when set.
 */
export function loginBody(format: CommvaultFormat, fields: Record<string, string>): string {
    if (format === 'json') return JSON.stringify(fields);
    const attributes = Object.entries(fields).map(([name, value]) => ` ${name}="${xmlAttribute(value)}"`);
    return `<${XML_LOGIN_ROOT}${attributes.join('')}/>`;
}

/** Attribute text: the predefined entities, plus tab and line breaks, which parsers turn into spaces. */
function xmlAttribute(value: string): string {
    return escapeXml(value).replace(/[\t\n\r]/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Reads a Login reply in either format; an unreadable body gives no fields (and so no token). */
export function parseLoginReply(response: HttpResponse): LoginReply {
    const fields = parseFields(response);
    const token = typeof fields.token === 'string' && fields.token.trim() ? fields.token.trim() : undefined;
    return {
        fields,
        token,
        errorMessage: errorText(fields),
        locked: isTrue(fields.isAccountLocked),
        remainingLockTime: wholeSeconds(fields.remainingLockTime),
        forcePasswordChange: isTrue(fields.forcePasswordChange),
    };
}

function parseFields(response: HttpResponse): Record<string, unknown> {
    const text = response.body.toString('utf8').trim();
    if (!text) return {};
    const contentType = (headerValue(response, 'content-type') ?? '').toLowerCase();
    try {
        if (contentType.includes('xml') || text.startsWith('<')) {
            const root = Object.values(parseXml(text)).find(isRecord);
            return root ?? {};
        }
        const parsed = JSON.parse(text) as unknown;
        return isRecord(parsed) ? parsed : {};
    } catch {
        return {};
    }
}

/** The first `errList` entry's text: a JSON array, or one or several XML child elements. */
function errorText(fields: Record<string, unknown>): string | undefined {
    const list = fields.errList;
    const entries = Array.isArray(list) ? list : list === undefined ? [] : [list];
    for (const entry of entries) {
        if (isRecord(entry) && typeof entry.errLogMessage === 'string' && entry.errLogMessage.trim()) {
            return entry.errLogMessage.trim();
        }
    }
    for (const name of ['errLogMessage', 'errorMessage']) {
        const value = fields[name];
        if (typeof value === 'string' && value.trim()) return value.trim();
    }
    return undefined;
}

/** `true` in JSON, `"true"` in an XML attribute. */
function isTrue(value: unknown): boolean {
    return value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true');
}

function wholeSeconds(value: unknown): number | undefined {
    const seconds = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
    return Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The reply for `msg.payload`: everything but the token (and anything else that could be a credential). */
export function withoutToken(fields: Record<string, unknown>): Record<string, unknown> {
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) {
        if (!/^(token|sessionId|password|refreshToken|accessToken)$/i.test(key)) copy[key] = value;
    }
    return copy;
}

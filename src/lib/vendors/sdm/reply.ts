import type { HttpResponse } from '../../http/http-client';
import { parseXml } from '../xml';
import { headerValue } from '../login-failure';
import { clipQuote } from '../../secret-scrubber';

/** The field of an error body that holds its text (the simulator's shape; SDM documents only the texts). */
const MESSAGE_FIELD = 'message';
/** Fields of a login reply that are secrets (the session id is the cookie value). */
const SECRET_FIELD = /session_?id|password|secret|token/i;

/** A reply body read as JSON or XML (by Content-Type, else by its first character), or as text. */
export type ReplyBody = { kind: 'json' | 'xml'; value: unknown } | { kind: 'text'; value: string };

/**
 * Reads an SDM reply. XML goes through `parseXml` (no entity expansion, so a DOCTYPE "billion
 * laughs" stays a short literal); a body that does not parse is returned as text.
 */
export function readReply(response: HttpResponse): ReplyBody {
    const text = response.body.toString('utf8').trim();
    const type = (headerValue(response, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type === 'text/html') return { kind: 'text', value: text }; // an error page, not data
    const looksXml = type.endsWith('/xml') || type.endsWith('+xml') || (!type.includes('json') && text.startsWith('<'));
    const looksJson = type.endsWith('/json') || type.endsWith('+json') || (!looksXml && /^[{[]/.test(text));
    try {
        if (looksJson) return { kind: 'json', value: JSON.parse(text) as unknown };
        if (looksXml) return { kind: 'xml', value: parseXml(text) };
    } catch {
        // not what it claims to be: fall through to text
    }
    return { kind: 'text', value: text };
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The fields of the `<session>` a login reply holds, unwrapped: XML always has the root element;
 * JSON may come with (`{"session":{...}}`) or without it. `undefined` when the body is not a session.
 */
export function sessionFields(reply: ReplyBody): Record<string, unknown> | undefined {
    if (reply.kind === 'text' || !isRecord(reply.value)) return undefined;
    const root = reply.value;
    if (isRecord(root.session)) return root.session;
    const keys = Object.keys(root);
    if (reply.kind === 'xml') return keys.length === 1 && isRecord(root[keys[0]]) ? (root[keys[0]] as Record<string, unknown>) : undefined;
    return root;
}

/** The fields without the session id or anything else that looks like a secret, at any depth. */
export function withoutSecrets(fields: Record<string, unknown>): Record<string, unknown> {
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) {
        if (!SECRET_FIELD.test(key)) copy[key] = isRecord(value) ? withoutSecrets(value) : value;
    }
    return copy;
}

/**
 * The `message` of an error reply (`{"code":…,"message":"…"}`, `<error><message>…</message></error>`
 * or a bare `<message>`), clipped; '' when there is none. SDM documents its error texts but not their
 * body, so only that one field is quoted: never a text or HTML body, which may echo the request.
 */
export function errorText(response: HttpResponse): string {
    const reply = readReply(response);
    if (reply.kind === 'text' || !isRecord(reply.value)) return '';
    const root = reply.value;
    const keys = Object.keys(root);
    const element = reply.kind === 'xml' && keys.length === 1 ? root[keys[0]] : root;
    if (typeof element === 'string' && keys[0] === MESSAGE_FIELD) return clipQuote(element);
    const message = isRecord(element) ? element[MESSAGE_FIELD] : undefined;
    return typeof message === 'string' ? clipQuote(message) : '';
}

/** What the login reply tells about the session's lifetime. */
export interface SessionLifetime {
    expiresAt: number | null;
    idleTimeoutMs?: number;
}

/**
 * SDM documents `validUntil` and `idleTimeout` but not their formats (docs/vendors.md section 3), so
 * they are used only when they cannot be misread:
 * - `validUntil`: an ISO 8601 date-time with a zone (`Z` or `+01:00`), or a whole number of epoch
 *   milliseconds (13 digits) or seconds (10 digits), and only if it lies after `now`. A date without
 *   a zone (whose clock?), Java's `Date.toString()` text or a past time gives `null`.
 * - `idleTimeout`: a number above 0 is read as minutes, the unit of Tomcat's `session-timeout`. It is
 *   also the longest plausible unit, so if SDM meant seconds the guess only means an idle expiry is
 *   found by a 401 (one re-login and replay) rather than foreseen, never that sessions are thrown
 *   away early. The documented example value `0` means no idle limit.
 * Anything else: expiry is found by the 401 "The session ID is invalid.".
 */
export function sessionLifetime(fields: Record<string, unknown> | undefined, now: number): SessionLifetime {
    const lifetime: SessionLifetime = { expiresAt: parseValidUntil(fields?.validUntil, now) };
    const idle = parseIdleMinutes(fields?.idleTimeout);
    if (idle !== undefined) lifetime.idleTimeoutMs = idle * 60_000;
    return lifetime;
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

export function parseValidUntil(value: unknown, now: number): number | null {
    const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
    let at: number;
    if (/^\d{13}$/.test(text)) at = Number(text);
    else if (/^\d{10}$/.test(text)) at = Number(text) * 1000;
    else if (ISO_WITH_ZONE.test(text)) at = Date.parse(normalizeZone(text));
    else return null;
    return Number.isFinite(at) && at > now ? at : null;
}

/** `+0100` → `+01:00`, which every Date.parse reads. */
function normalizeZone(text: string): string {
    return text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
}

export function parseIdleMinutes(value: unknown): number | undefined {
    const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
    if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
    const minutes = Number(text);
    return minutes > 0 && Number.isFinite(minutes) ? minutes : undefined;
}

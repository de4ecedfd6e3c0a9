import { escape as formEscape } from 'node:querystring';

import { Text, mapTextStrings } from './texts';

/** What takes a secret's place in a text. */
export const REDACTED = '***';
/** The mark a quoted server text ends with when it was cut short (see `clipQuote`). */
export const CLIP_MARK = '…';
/** Longest server text quoted in a message. */
const MAX_QUOTE = 200;
/** Forms of old secrets (logged-out cookies, earlier passwords) kept for scrubbing, at most. */
const MAX_REMEMBERED_FORMS = 1024;
/** Secret sets whose forms are kept derived (a server's sessions and connection): beyond this the memo starts over. */
const MAX_MEMO_SETS = 256;
/** A secret cut by a clip mark is still removed when at least this much of it is left. */
const MIN_CLIPPED_PART = 2;

/** The secret values one session (or one login attempt) involves, before their encodings are derived. */
export interface KnownSecrets {
    username?: string;
    /** Password and newPassword. */
    passwords?: ReadonlyArray<string | undefined>;
    /** Whole `Authorization` (or `Proxy-Authorization`, token header) values. */
    authorizations?: ReadonlyArray<string | undefined>;
    /** Session cookies (name and value) and bare tokens. */
    cookies?: ReadonlyArray<{ key: string; value: string }>;
    tokens?: ReadonlyArray<string | undefined>;
}

/**
 * The one place secret values are taken out of text. It knows the passwords of the sessions it
 * serves (with their Base64, Basic, JSON, XML and URL encodings), `Authorization` values, and the
 * session cookies and tokens, and removes every one of them from any text before it becomes an error
 * message, a status text, a log line or a msg property. Sources are read when scrubbing, so a secret
 * is known as long as its session is; logged-out credentials are remembered for a while.
 */
export class SecretScrubber {
    private readonly sources: Array<() => KnownSecrets | Iterable<KnownSecrets>> = [];
    private readonly remembered = new Set<string>();
    /** Changes whenever `remembered` does. */
    private rememberedVersion = 0;
    /** The forms of each secret set seen, by its values: deriving them (Base64, URL, JSON...) costs more than a scrub. */
    private readonly formsMemo = new Map<string, readonly string[]>();
    /** The last answer of `known()` and what it was derived from. */
    private lastKnown: { key: string; forms: string[] } | undefined;

    /** Adds a live source of secrets, read on every scrub. */
    addSource(source: () => KnownSecrets | Iterable<KnownSecrets>): this {
        this.sources.push(source);
        return this;
    }

    /** Keeps secrets that no source holds any more (a logged-out cookie, a replaced password). */
    remember(secrets: KnownSecrets): void {
        this.rememberedVersion++;
        for (const form of secretForms(secrets)) {
            this.remembered.delete(form);
            this.remembered.add(form);
        }
        // Oldest first out: a Set iterates in insertion order.
        for (const form of this.remembered) {
            if (this.remembered.size <= MAX_REMEMBERED_FORMS) break;
            this.remembered.delete(form);
        }
    }

    /**
     * Every secret form known now, longest first (so a longer form is not half-replaced by a shorter
     * one). The sources are read each time; forms are derived again only for values not seen before.
     */
    private known(): string[] {
        const sets: KnownSecrets[] = [];
        for (const source of this.sources) {
            const found = source();
            if (isKnownSecrets(found)) sets.push(found);
            else for (const secrets of found) sets.push(secrets);
        }
        const keys = sets.map(secretsKey);
        const key = `${this.rememberedVersion}${JSON.stringify(keys)}`;
        if (this.lastKnown?.key === key) return this.lastKnown.forms;
        const forms = new Set<string>();
        sets.forEach((secrets, index) => {
            for (const form of this.formsOf(secrets, keys[index])) forms.add(form);
        });
        for (const form of this.remembered) forms.add(form);
        this.lastKnown = { key, forms: [...forms].sort((a, b) => b.length - a.length) };
        return this.lastKnown.forms;
    }

    private formsOf(secrets: KnownSecrets, key: string): readonly string[] {
        let forms = this.formsMemo.get(key);
        if (!forms) {
            if (this.formsMemo.size >= MAX_MEMO_SETS) this.formsMemo.clear();
            forms = secretForms(secrets);
            this.formsMemo.set(key, forms);
        }
        return forms;
    }

    /** The text with every known secret replaced by `***`, also the start of one cut off by a clip mark. */
    scrub(text: string): string {
        if (!text) return text;
        return scrubWith(text, this.known());
    }

    /** Scrubs the error's message in place and returns it (stack traces are never shown, so they are dropped). */
    scrubError<E extends Error>(error: E): E {
        const clean = this.scrub(error.message);
        if (clean !== error.message) error.message = clean;
        const text = (error as { text?: Text }).text;
        if (text) (error as { text?: Text }).text = mapTextStrings(text, (s) => this.scrub(s));
        error.stack = `${error.name}: ${error.message}`;
        return error;
    }

    /** A copy of a value (a login reply for msg.payload) with every secret taken out of its strings. */
    scrubDeep(value: unknown): unknown {
        const secrets = this.known();
        return secrets.length ? deepScrub(value, secrets, 0) : value;
    }
}

/** A server text as it may be quoted: whitespace flattened, at most 200 characters, cut with `…`. */
export function clipQuote(text: string): string {
    const flat = text.replace(/\s+/g, ' ').trim().replace(/\.+$/, '');
    return flat.length > MAX_QUOTE ? `${flat.slice(0, MAX_QUOTE)}${CLIP_MARK}` : flat;
}

/** Every form in which the given secrets could show up in a server's echo. */
export function secretForms(secrets: KnownSecrets): string[] {
    const forms: string[] = [];
    const username = secrets.username ?? '';
    for (const password of secrets.passwords ?? []) {
        if (!password) continue;
        forms.push(...encodings(password));
        // Base64 of it, as a URL or a form body (custom {{passwordBase64}}) carries it.
        for (const base64 of base64Forms(password)) forms.push(encodeURIComponent(base64), formEncode(base64));
        // HTTP Basic (CM-Well, custom basic), also with RFC 6749 §2.3.1 form encoding first.
        forms.push(...base64Forms(`${username}:${password}`));
        forms.push(...base64Forms(`${formEscape(username)}:${formEscape(password)}`));
        forms.push(...base64Forms(`${formEncode(username)}:${formEncode(password)}`));
    }
    for (const value of secrets.authorizations ?? []) {
        if (!value) continue;
        forms.push(value);
        const space = value.indexOf(' ');
        if (space > 0 && value.length - space > 1) forms.push(value.slice(space + 1).trim());
    }
    for (const cookie of secrets.cookies ?? []) {
        if (!cookie.value) continue;
        forms.push(`${cookie.key}=${cookie.value}`, ...encodings(cookie.value));
    }
    for (const token of secrets.tokens ?? []) if (token) forms.push(...encodings(token));
    // The user name is no secret (statuses and msg.session show it), even when the password equals it.
    return forms.filter((form) => form.length > 0 && form !== username);
}

/**
 * The value as it is, as a quote shows it (see `clipQuote`: whitespace flattened, final dots
 * dropped), and as JSON, XML, URL and Base64 (standard and url-safe, with and without padding)
 * would carry it.
 */
function encodings(value: string): string[] {
    const quoted = value.replace(/\s+/g, ' ').trim();
    const forms = [
        value,
        quoted,
        quoted.replace(/\.+$/, ''),
        JSON.stringify(value).slice(1, -1),
        xmlEscape(value),
        encodeURIComponent(value),
        formEscape(value),
        formEncode(value),
    ];
    forms.push(...base64Forms(value));
    return forms;
}

function base64Forms(value: string): string[] {
    const standard = Buffer.from(value, 'utf8').toString('base64');
    const unpadded = standard.replace(/=+$/, '');
    const urlSafe = unpadded.replace(/\+/g, '-').replace(/\//g, '_');
    return [standard, unpadded, urlSafe, urlSafe + standard.slice(unpadded.length)];
}

/** As a WHATWG form body carries it (`URLSearchParams`: space as "+", "!" as "%21"), the custom vendor's form encoding. */
function formEncode(value: string): string {
    return new URLSearchParams({ v: value }).toString().slice(2);
}

function xmlEscape(value: string): string {
    return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** The values of a secret set as one string (what its forms are derived from; JSON, so no two sets share one). */
function secretsKey(secrets: KnownSecrets): string {
    const cookies = (secrets.cookies ?? []).map((cookie) => [cookie.key, cookie.value]);
    return JSON.stringify([secrets.username, secrets.passwords, secrets.authorizations, cookies, secrets.tokens]);
}

function isKnownSecrets(value: KnownSecrets | Iterable<KnownSecrets>): value is KnownSecrets {
    return typeof (value as Iterable<KnownSecrets>)[Symbol.iterator] !== 'function';
}

function scrubWith(text: string, secrets: readonly string[]): string {
    let result = text;
    for (const secret of secrets) if (result.includes(secret)) result = result.split(secret).join(REDACTED);
    return result.includes(CLIP_MARK) ? scrubClipped(result, secrets) : result;
}

/** A quote cut short may end in the first part of a secret: that part goes too. */
function scrubClipped(text: string, secrets: readonly string[]): string {
    let result = '';
    let rest = text;
    for (let at = rest.indexOf(CLIP_MARK); at >= 0; at = rest.indexOf(CLIP_MARK)) {
        const before = rest.slice(0, at);
        let cut = 0;
        for (const secret of secrets) {
            for (let length = Math.min(secret.length - 1, before.length); length >= MIN_CLIPPED_PART && length > cut; length--) {
                if (before.endsWith(secret.slice(0, length))) {
                    cut = length;
                    break;
                }
            }
        }
        result += (cut ? before.slice(0, before.length - cut) + REDACTED : before) + CLIP_MARK;
        rest = rest.slice(at + CLIP_MARK.length);
    }
    return result + rest;
}

const MAX_DEPTH = 32;

function deepScrub(value: unknown, secrets: readonly string[], depth: number): unknown {
    if (typeof value === 'string') return scrubWith(value, secrets);
    if (depth > MAX_DEPTH || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
    if (Array.isArray(value)) return value.map((item) => deepScrub(item, secrets, depth + 1));
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[scrubWith(key, secrets)] = deepScrub(item, secrets, depth + 1);
    return copy;
}

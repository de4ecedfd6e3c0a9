import { XMLParser } from 'fast-xml-parser';

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the five predefined XML entities and character references; nothing from a DTD. */
function decodeEntities(text: string): string {
    if (!text.includes('&')) return text;
    return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (match, name: string) => {
        if (name.startsWith('#x')) return safeCodePoint(parseInt(name.slice(2), 16), match);
        if (name.startsWith('#')) return safeCodePoint(parseInt(name.slice(1), 10), match);
        return PREDEFINED[name] ?? match;
    });
}

function safeCodePoint(code: number, fallback: string): string {
    return Number.isInteger(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : fallback;
}

/**
 * Vendor XML (SDM sessions, Commvault login replies): attributes become plain properties, values
 * stay strings, and entities declared in a DOCTYPE are never expanded, so an entity bomb
 * ("billion laughs") stays a short literal.
 */
const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    processEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    tagValueProcessor: (_name, value) => decodeEntities(value),
    attributeValueProcessor: (_name, value) => decodeEntities(value),
});

export function parseXml(text: string): Record<string, unknown> {
    const parsed = parser.parse(text) as Record<string, unknown>;
    delete parsed['?xml'];
    return parsed;
}

/** Text or attribute content for XML we send (user names, passwords). */
export function escapeXml(text: string): string {
    return text.replace(/[&<>"']/g, (char) => `&${Object.keys(PREDEFINED).find((name) => PREDEFINED[name] === char)};`);
}

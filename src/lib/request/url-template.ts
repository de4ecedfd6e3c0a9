/** HTML escaping as mustache applies it to `{{name}}`, so URLs render as in the core http request node. */
const ESCAPES: Record<string, string> = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': '&quot;',
    "'": '&#39;',
    '/': '&#x2F;',
    '`': '&#x60;',
    '=': '&#x3D;',
};

function lookup(view: Record<string, unknown>, path: string): unknown {
    let value: unknown = view;
    for (const part of path.split('.')) {
        if (value === null || value === undefined || typeof value !== 'object') return undefined;
        value = (value as Record<string, unknown>)[part];
    }
    return value;
}

function text(value: unknown): string {
    if (value === undefined || value === null) return '';
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Renders `{{msg.prop}}` (escaped) and `{{{prop}}}` (raw) placeholders from the msg, mustache style. */
export function renderUrlTemplate(template: string, msg: Record<string, unknown>): string {
    if (!template.includes('{{')) return template;
    return template.replace(/\{\{\{\s*([^}\s]+)\s*\}\}\}|\{\{\s*(&\s*)?([^}\s]+)\s*\}\}/g, (_m, raw?: string, amp?: string, escaped?: string) => {
        if (raw !== undefined) return text(lookup(msg, raw));
        const value = text(lookup(msg, escaped as string));
        return amp ? value : value.replace(/[&<>"'`=/]/g, (char) => ESCAPES[char]);
    });
}

/** The values a login template's placeholders take. */
export interface TemplateValues {
    username: string;
    password: string;
}

/** A value escaped for the body's format: inside a JSON string, or form-encoded. */
function escapeFor(format: 'json' | 'form' | 'none', value: string): string {
    if (format === 'json') return JSON.stringify(value).slice(1, -1);
    if (format === 'form') return new URLSearchParams({ v: value }).toString().slice(2);
    return value;
}

/**
 * The login body: `{{username}}`, `{{password}}` and `{{passwordBase64}}` (Base64 of the UTF-8
 * password) each escaped for the format, so no value can break out of its place in the body.
 */
export function fillTemplate(template: string, format: 'json' | 'form' | 'none', values: TemplateValues): string {
    const filled: Record<string, string> = {
        username: values.username,
        password: values.password,
        passwordBase64: Buffer.from(values.password, 'utf8').toString('base64'),
    };
    return template.replace(/\{\{\s*(username|password|passwordBase64)\s*\}\}/g, (_match, name: string) => escapeFor(format, filled[name]));
}

/**
 * `Authorization: Basic` as RFC 6749 §2.3.1 asks of an OAuth2 client: name and password each
 * form-encoded first, so a ":" in the name cannot shift the split.
 */
export function basicAuthorization(username: string, password: string): string {
    const encode = (value: string): string => escapeFor('form', value);
    return `Basic ${Buffer.from(`${encode(username)}:${encode(password)}`, 'utf8').toString('base64')}`;
}

/** `Authorization: Basic` as RFC 7617 has it: `username:password` in UTF-8, unchanged (SAP). */
export function plainBasicAuthorization(username: string, password: string): string {
    return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

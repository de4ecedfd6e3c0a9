import { randomBytes } from 'node:crypto';

/** A `multipart/form-data` body and the Content-Type that names its boundary. */
export interface MultipartBody {
    body: Buffer;
    contentType: string;
}

interface Part {
    data: Buffer;
    filename?: string;
    contentType?: string;
}

/**
 * Encodes `msg.payload` as the core http request node does with form-data: each value a string,
 * a Buffer, or `{value, options: {filename, contentType}}`; anything else is sent as JSON text;
 * null and undefined are left out.
 */
export function encodeMultipart(fields: Record<string, unknown>): MultipartBody {
    const boundary = `----rest-session-${randomBytes(12).toString('hex')}`;
    const chunks: Buffer[] = [];
    for (const [name, value] of Object.entries(fields)) {
        if (value === undefined || value === null) continue;
        const part = toPart(value);
        let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"`;
        if (part.filename !== undefined) head += `; filename="${quoted(part.filename)}"`;
        if (part.contentType) head += `\r\nContent-Type: ${part.contentType.replace(/[\r\n]/g, '')}`;
        chunks.push(Buffer.from(`${head}\r\n\r\n`), part.data, Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from(`--${boundary}--\r\n`));
    return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

function toPart(value: unknown): Part {
    if (typeof value === 'string') return { data: Buffer.from(value) };
    // Binary without a declared type is octet-stream, as form-data labels it.
    if (Buffer.isBuffer(value)) return { data: value, contentType: 'application/octet-stream' };
    if (typeof value === 'object' && value !== null && Object.prototype.hasOwnProperty.call(value, 'value')) {
        const { value: inner, options } = value as { value: unknown; options?: { filename?: unknown; contentType?: unknown } };
        const filename = options?.filename === undefined ? undefined : String(options.filename);
        const data = Buffer.isBuffer(inner) ? inner : Buffer.from(typeof inner === 'string' ? inner : String(inner ?? ''));
        const declared = typeof options?.contentType === 'string' ? options.contentType : undefined;
        const binary = filename !== undefined || Buffer.isBuffer(inner);
        return { data, filename, contentType: declared ?? (binary ? 'application/octet-stream' : undefined) };
    }
    return { data: Buffer.from(JSON.stringify(value)) };
}

/** A name or file name inside the part header: quotes and line breaks escaped as browsers do. */
function quoted(text: string): string {
    return text.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

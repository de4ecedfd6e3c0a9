/**
 * The request node's editor list of headers, stored as the core http request node stores it:
 * `[{keyType, keyValue, valueType, valueValue}]`. A type is `other` (the text as typed), `msg`
 * (a msg property), `env` (an environment variable), or else a preset: the type itself is the
 * header name or value (`Accept`, `application/json`).
 */
export interface HeaderRow {
    keyType: string;
    keyValue?: string;
    valueType: string;
    valueValue?: string;
}

/** Reads a `msg` or `env` typed value (RED.util.evaluateNodeProperty in the node); undefined if absent. */
export type EvaluateProperty = (value: string, type: 'msg' | 'env', msg: Record<string, unknown>) => unknown;

/** The rows as deployed, keeping only well-formed ones (a flow file may hold anything). */
export function readHeaderRows(value: unknown): HeaderRow[] {
    if (!Array.isArray(value)) return [];
    return value.filter(
        (row): row is HeaderRow => typeof row === 'object' && row !== null && typeof row.keyType === 'string' && typeof row.valueType === 'string',
    );
}

function evaluate(type: string, text: string | undefined, msg: Record<string, unknown>, read: EvaluateProperty): unknown {
    if (type === 'other') return text;
    if (type === 'msg' || type === 'env') return read(text ?? '', type, msg);
    return type;
}

/**
 * The list's headers for one msg, in list order. A row whose name or value is empty or missing
 * (an unset msg property) sends nothing, as in the core node; values are checked like msg.headers.
 */
export function listHeaders(rows: readonly HeaderRow[], msg: Record<string, unknown>, read: EvaluateProperty): Record<string, unknown> {
    const headers: Record<string, unknown> = {};
    for (const row of rows) {
        const name = evaluate(row.keyType, row.keyValue, msg, read);
        if (name === undefined || name === null || name === '') continue;
        const value = evaluate(row.valueType, row.valueValue, msg, read);
        if (value === undefined || value === null || value === '') continue;
        headers[String(name)] = value;
    }
    return headers;
}

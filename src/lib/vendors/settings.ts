import { SessionError } from '../errors';

/**
 * A vendor's own settings, declared once in its folder (`vendors/<vendor>/settings.ts`): the
 * runtime parses them, Test login reads the same keys, the guard takes the identity ones, and the
 * editor renders their rows from the table the runtime serves.
 */

/** A refusal of one setting: the editor shows `key` (under `rest-session-server.errors`), the runtime `message`. */
export interface SettingProblem {
    key: string;
    message: string;
}

/** How the editor shows a setting. Texts are i18n keys derived from the name (see `editorRows`). */
export interface EditorRow {
    input: 'text' | 'select' | 'checkbox' | 'password' | 'textarea';
    /** Font Awesome 4 icon name, e.g. `fa-code-fork`. */
    icon: string;
    /** `select` choices; label key `rest-session-server.<name>.<option>`. */
    options?: readonly string[];
    /** Has a placeholder `rest-session-server.placeholder.<name>`. */
    placeholder?: boolean;
    /** Has a tip `rest-session-server.tip.<name>` under it. */
    tip?: boolean;
    /** Heading the row is shown under: `rest-session-server.group.<group>`. */
    group?: string;
    /** A credential (kept in the credential store, never in the flow), e.g. SmartServer's new password. */
    credential?: boolean;
}

export interface VendorSetting<T> {
    /** The value an empty or missing property takes (also the editor's default). */
    readonly default: string | boolean;
    /** The property as typed (raw from the flow or the dialog, `${ENV}` already expanded) to its value. */
    parse(raw: unknown): T;
    /** Why the value (seen with the vendor's other values) cannot be used; checked at deploy and as the user types. */
    problem?(value: T, all: Readonly<Record<string, unknown>>): SettingProblem | undefined;
    /** Part of the login identity: a rejected login with other values of it is another credential. */
    readonly identity?: boolean;
    readonly row: EditorRow;
}

/** A vendor's settings by property name, in editor order. */
export type VendorSettingsTable = Readonly<Record<string, VendorSetting<unknown>>>;

/** The parsed values a table gives: `{ format: 'json' | 'xml', ... }`. */
export type SettingsOf<T> = { readonly [K in keyof T]: T[K] extends VendorSetting<infer V> ? V : never };

/** The row the editor renders for a setting, as served to it. */
export interface EditorSettingRow extends EditorRow {
    name: string;
    default: string | boolean;
}

function isEmpty(raw: unknown): boolean {
    return raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');
}

/** A trimmed string setting; empty takes the default. */
export function textSetting(fallback: string, row: EditorRow, extra: Partial<VendorSetting<string>> = {}): VendorSetting<string> {
    return {
        default: fallback,
        parse: (raw) => (isEmpty(raw) ? fallback : String(raw).trim()),
        row,
        ...extra,
    };
}

/** A string setting kept as typed (templates: their spaces matter); empty takes the default. */
export function verbatimSetting(fallback: string, row: EditorRow, extra: Partial<VendorSetting<string>> = {}): VendorSetting<string> {
    return {
        default: fallback,
        parse: (raw) => (raw === undefined || raw === null || raw === '' ? fallback : String(raw)),
        row,
        ...extra,
    };
}

/** One of a fixed list; anything else takes the default (as the editor's select would show it). */
export function choiceSetting<C extends string>(
    options: readonly C[],
    fallback: C,
    row: Omit<EditorRow, 'options' | 'input'>,
    extra: Partial<VendorSetting<C>> = {},
): VendorSetting<C> {
    return {
        default: fallback,
        parse: (raw) => {
            const text = typeof raw === 'string' ? raw.trim() : '';
            const found = options.find((option) => option.toLowerCase() === text.toLowerCase());
            return found ?? fallback;
        },
        row: { ...row, input: 'select', options },
        ...extra,
    };
}

/** A checkbox: `true`/`"true"` (the editor stores booleans, hand-made flows strings). */
export function flagSetting(fallback: boolean, row: Omit<EditorRow, 'input'>): VendorSetting<boolean> {
    return {
        default: fallback,
        parse: (raw) => (isEmpty(raw) ? fallback : raw === true || raw === 'true'),
        row: { ...row, input: 'checkbox' },
    };
}

/** Every setting of the table parsed from `raw` (the config node's properties), no check yet. */
export function parseSettings(table: VendorSettingsTable, raw: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const [name, setting] of Object.entries(table)) {
        if (!setting.row.credential) values[name] = setting.parse(raw[name]);
    }
    return values;
}

/** The problems of parsed values, by setting name. */
export function settingProblems(table: VendorSettingsTable, values: Readonly<Record<string, unknown>>): Record<string, SettingProblem> {
    const problems: Record<string, SettingProblem> = {};
    for (const [name, setting] of Object.entries(table)) {
        const problem = setting.problem?.(values[name], values);
        if (problem) problems[name] = problem;
    }
    return problems;
}

/** The parsed settings, or a `CONFIG` error naming the first problem: nothing is sent with them. */
export function readVendorSettings(table: VendorSettingsTable, raw: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const values = parseSettings(table, raw);
    const [problem] = Object.values(settingProblems(table, values));
    if (problem) throw new SessionError('CONFIG', problem.message);
    return values;
}

/** The names of the settings that are part of the login identity. */
export function identitySettingNames(table: VendorSettingsTable): string[] {
    return Object.entries(table)
        .filter(([, setting]) => setting.identity)
        .map(([name]) => name);
}

/** The property names the config node stores for the table (credentials excluded). */
export function propertyNames(table: VendorSettingsTable): string[] {
    return Object.entries(table)
        .filter(([, setting]) => !setting.row.credential)
        .map(([name]) => name);
}

/** The credential names of the table (kept in Node-RED's credential store). */
export function credentialNames(table: VendorSettingsTable): string[] {
    return Object.entries(table)
        .filter(([, setting]) => setting.row.credential)
        .map(([name]) => name);
}

/** The table as the editor renders it. */
export function editorRows(table: VendorSettingsTable): EditorSettingRow[] {
    return Object.entries(table).map(([name, setting]) => ({ name, default: setting.default, ...setting.row }));
}

import fs from 'node:fs';
import path from 'node:path';

/**
 * A text of the config node's message catalog (`nodes/locales/<lang>/rest-session-server.json`,
 * under `rest-session-server.`): its key and parameters. A parameter may be a text itself, or a list
 * of texts said one after the other ("reply field "token", sent as cookie "sid""). The editor shows
 * it in its own language (Test login); the runtime says it in English, from the same catalog entry.
 */
export interface Text {
    key: string;
    params?: Record<string, TextParam>;
}
export type TextParam = string | number | Text | Text[];

/** The English catalog: one source for what the runtime says and what the editor shows. */
const CATALOG_FILE = path.join(__dirname, '..', '..', 'nodes', 'locales', 'en-US', 'rest-session-server.json');
let catalog: Record<string, unknown> | undefined;

function englishTemplate(key: string): string {
    catalog ??= (JSON.parse(fs.readFileSync(CATALOG_FILE, 'utf8')) as { 'rest-session-server': Record<string, unknown> })['rest-session-server'];
    const found = key
        .split('.')
        .reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), catalog);
    if (typeof found !== 'string') throw new Error(`No English text for rest-session-server.${key}`);
    return found;
}

export function text(key: string, params?: Record<string, TextParam>): Text {
    return params ? { key, params } : { key };
}

/** The text in English, parameters filled in as Node-RED's i18n does (`__name__`). */
export function english(value: Text | Text[]): string {
    if (Array.isArray(value)) return value.map(english).join(', ');
    const params = value.params ?? {};
    return englishTemplate(value.key).replace(/__(\w+)__/g, (whole, name: string) => {
        const param = params[name];
        if (param === undefined) return whole;
        return typeof param === 'object' ? english(param) : String(param);
    });
}

/** The text with every string parameter passed through `clean` (secrets out), nested texts too. */
export function mapTextStrings(value: Text, clean: (s: string) => string): Text {
    if (!value.params) return value;
    const params: Record<string, TextParam> = {};
    for (const [name, param] of Object.entries(value.params)) {
        if (typeof param === 'string') params[name] = clean(param);
        else if (Array.isArray(param)) params[name] = param.map((part) => mapTextStrings(part, clean));
        else if (typeof param === 'object') params[name] = mapTextStrings(param, clean);
        else params[name] = param;
    }
    return { key: value.key, params };
}

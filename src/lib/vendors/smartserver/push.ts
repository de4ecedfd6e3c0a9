import type { PushFrame, PushUpdate, VendorPush } from '../adapter';

/** Actions the vendor documents or its own pages handle (docs/vendors.md section 1a, Messages). */
const KNOWN_ACTIONS = new Set([
    'UPD:DATAPOINT',
    'UPD:DEVICE',
    'DEL:DEVICE',
    'UPD:DEVICE_TEST_RESULT',
    'CRT:ALARM',
    'DEL:ALARM',
    'CRT:NOTIFICATION',
    'UPD:CPU',
    'UPD:SC:CPU',
    'UPD:EPS',
    'UPD:TOTAL_EPS',
    'UPD:SC:MEMORY',
    'UPD:MONITORINGSTATE',
    'NTF:JOIN',
    'NTF:TIME',
    'UPD:LIC:CLOUD',
    'DEL:LIC',
    'NTF:LIC:ACTION',
    'UPD:LIC:TOTAL',
    'UPD:SC:EPS',
]);
/** Qualifiers per on-demand read: keeps the URL short (the vendor's page reads 10 at a time). */
const READ_CHUNK = 50;
const OPTIONAL_FIELDS = ['presetValue', 'locValue'] as const;

/**
 * SmartServer IAP/WS: `wss://<host>/iap/ws` at the origin whatever the base path (the vendor's own
 * pages open it at the host root), `PUT /iap/dp/updates/subscribe` with the qualifier list, and the
 * `+qualifier=-` read without `max_age` (the cached values, no device read).
 * @see docs/vendors.md section 1a
 */
export const smartserverPush: VendorPush = {
    socketUrl(baseUrl) {
        const url = new URL(baseUrl);
        return `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}/iap/ws`;
    },

    subscribe(datapoints) {
        return {
            method: 'PUT',
            path: '/iap/dp/updates/subscribe',
            headers: { 'Content-Type': 'application/json; charset=utf-8' },
            body: JSON.stringify(datapoints),
        };
    },

    read(datapoints) {
        const exchanges = [];
        for (let i = 0; i < datapoints.length; i += READ_CHUNK) {
            const list = datapoints
                .slice(i, i + READ_CHUNK)
                .map(encodeQualifier)
                .join(',');
            exchanges.push({ method: 'GET', path: `/iap/devs/*/if/*/*/*+qualifier=-${list}/value?noxs=true` });
        }
        return exchanges;
    },

    parseRead(body) {
        const entries = parseJson(body.toString('utf8'));
        const list = Array.isArray(entries) ? entries : isObject(entries) && Array.isArray(entries.resources) ? entries.resources : [];
        return list.flatMap((entry: unknown) => {
            if (!isObject(entry) || typeof entry.dpQualifier !== 'string' || !('value' in entry)) return [];
            return [update(entry, entry.dpQualifier, entry.utc ?? entry.timestamp)];
        });
    },

    parseFrame(text) {
        const frame = parseJson(text);
        if (!isObject(frame) || typeof frame.action !== 'string') return { kind: 'invalid' } satisfies PushFrame;
        if (frame.action !== 'UPD:DATAPOINT') {
            return { kind: 'event', action: frame.action, payload: frame.payload, known: KNOWN_ACTIONS.has(frame.action) };
        }
        const entries = Array.isArray(frame.payload) ? frame.payload : [frame.payload];
        const updates = entries.flatMap((entry: unknown) =>
            isObject(entry) && typeof entry.datapointQualifier === 'string' && 'value' in entry
                ? [update(entry, entry.datapointQualifier, entry.timestamp)]
                : [],
        );
        return { kind: 'updates', updates };
    },
};

function update(entry: Record<string, unknown>, topic: string, stamp: unknown): PushUpdate {
    const extra: Record<string, unknown> = {};
    for (const field of OPTIONAL_FIELDS) if (field in entry) extra[field] = entry[field];
    return { topic, value: entry.value, timestamp: parseTimestamp(stamp), extra };
}

/** UTC ISO text (`…Z`, optionally with a `[zone]` suffix), ` GMT` text, or epoch ms; else null. */
export function parseTimestamp(stamp: unknown): number | null {
    if (typeof stamp === 'number') return Number.isFinite(stamp) ? stamp : null;
    if (typeof stamp !== 'string' || !stamp) return null;
    const time = Date.parse(stamp.replace(/\[[^\]]*\]$/, ''));
    return Number.isFinite(time) ? time : null;
}

/** The vendor page's escaping of one qualifier in the read URL; the list is joined by a literal `,`. */
function encodeQualifier(qualifier: string): string {
    return encodeURIComponent(qualifier).replace(/\*/g, '%2A');
}

function parseJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/gy;

/** `30m`, `24h`, `1h30m`, `90s`, `1d` in ms; undefined for anything else or zero. */
export function parseDuration(text: string): number | undefined {
    const compact = text.trim();
    if (!compact) return undefined;
    PART.lastIndex = 0;
    let total = 0;
    let at = 0;
    for (let match = PART.exec(compact); match; match = PART.exec(compact)) {
        total += Number(match[1]) * UNIT_MS[match[2]];
        at = PART.lastIndex;
        while (compact[at] === ' ') at++;
        PART.lastIndex = at;
    }
    return at === compact.length && total > 0 ? total : undefined;
}

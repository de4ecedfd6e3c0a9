/**
 * Whether a user's regular expression is cheap enough to run on every reply. JavaScript's engine
 * backtracks: a repeat of a group that holds a repeat or an alternative (`(a+)+`, `(a|ab)*`) costs
 * exponential time, and each further unbounded repeat multiplies the cost by the text's length
 * (`.*.*X` on 4 KB: about a minute). So each top-level alternative may hold at most one unbounded
 * repeat (`*`, `+`, `{n,}`) that can give back what it took, any number of repeats whose stop is
 * decided (one character followed by a character it cannot match: `\s*:`, `[^"]*"`) before it but
 * none after it (each of its give-backs would run them again), and one that ends the pattern (not
 * before `$`, which can refuse it); bounded repeats and alternatives that together allow at most
 * {@link MAX_WAYS} ways; no repeated group that holds a repeat or an alternative; no back-reference.
 * Together with the bounded text it is matched against, a match then costs at most about the
 * square of that text.
 */

/** Bounded repeats and alternatives may allow this many ways to match, multiplied. */
export const MAX_WAYS = 64;

export type PatternRisk = 'nested' | 'backreference' | 'unbounded' | 'ways';

interface Group {
    /** Holds a quantifier or an alternative (at any depth). */
    branching: boolean;
    /** `|` at this level: the number of its alternatives. */
    alternatives: number;
}

/** What makes `source` too costly to run on a reply, or undefined when it is safe. */
export function patternRisk(source: string): PatternRisk | undefined {
    /** Unbounded repeats that can give back what they took, and those where they stop is decided. */
    let unbounded = 0;
    /** Decided repeats after one that gives back: its every give-back runs them again. */
    let decidedAfter = 0;
    /** The worst top-level alternative so far: they are tried one after the other, so their costs add. */
    let worst = 0;
    let ways = 1;
    const groups: Group[] = [{ branching: false, alternatives: 1 }];
    /** Whether the atom just read (a repeat may follow) is a group that branches. */
    let lastAtom: 'plain' | 'branching' | undefined;
    /** The source of that atom when it is one character (a literal, an escape, a class, `.`). */
    let lastChar: string | undefined;
    for (let i = 0; i < source.length; i++) {
        const char = source[i];
        if (char === '\\') {
            const next = source[i + 1] ?? '';
            if (/[1-9]/.test(next) || next === 'k') return 'backreference';
            lastChar = source.slice(i, i + 2);
            i++;
            lastAtom = 'plain';
        } else if (char === '[') {
            // A class: one character, whatever it holds.
            const start = i;
            for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
            lastChar = source.slice(start, i + 1);
            lastAtom = 'plain';
        } else if (char === '(') {
            groups.push({ branching: false, alternatives: 1 });
            // Skip the group's kind: (?:, (?=, (?!, (?<=, (?<!, (?<name>.
            if (source[i + 1] === '?') {
                const named = /^\?<([A-Za-z_$][\w$]*)>/.exec(source.slice(i + 1));
                i += named ? named[0].length : source[i + 2] === '<' ? 3 : 2;
            }
            lastAtom = undefined;
            lastChar = undefined;
        } else if (char === ')') {
            const group = groups.pop() ?? { branching: false, alternatives: 1 };
            ways *= group.alternatives;
            const branching = group.branching || group.alternatives > 1;
            const outer = groups[groups.length - 1];
            if (outer && branching) outer.branching = true;
            lastAtom = branching ? 'branching' : 'plain';
            lastChar = undefined;
        } else if (char === '|') {
            const group = groups[groups.length - 1];
            group.alternatives++;
            if (groups.length === 1) {
                worst = Math.max(worst, unbounded + (decidedAfter > 0 ? 1 : 0));
                unbounded = 0;
                decidedAfter = 0;
            }
            lastAtom = undefined;
            lastChar = undefined;
        } else if (char === '*' || char === '+' || char === '?' || (char === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i)))) {
            if (lastAtom === undefined) continue; // a lazy mark (`*?`) or a literal the engine rejects anyway
            let most: number;
            if (char === '{') {
                const [quantifier, least, comma, upper] = /^\{(\d+)(,)?(\d*)\}/.exec(source.slice(i)) as RegExpExecArray;
                most = comma === undefined ? Number(least) : upper === '' ? Infinity : Number(upper);
                if (most !== Infinity) ways *= most - Number(least) + 1;
                i += quantifier.length - 1;
            } else {
                most = char === '?' ? 1 : Infinity;
                if (char === '?') ways *= 2;
            }
            if (most === Infinity && !(groups.length === 1 && endsPattern(source, i + 1))) {
                if (!lastChar || !stopsBefore(lastChar, source, i + 1)) unbounded++;
                else if (unbounded > 0) decidedAfter++;
            }
            if (most > 1 && lastAtom === 'branching') return 'nested';
            groups[groups.length - 1].branching = true;
            lastAtom = undefined;
            lastChar = undefined;
        } else {
            lastAtom = 'plain';
            lastChar = char === '^' || char === '$' ? undefined : char;
        }
    }
    // Each repeat that can give back multiplies the cost by the text's length, and so do decided ones after it.
    if (Math.max(worst, unbounded + (decidedAfter > 0 ? 1 : 0)) > 1) return 'unbounded';
    if (ways > MAX_WAYS) return 'ways';
    return undefined;
}

/**
 * Only an optional lazy mark follows a quantifier ending before `from`: nothing after it can refuse
 * what it took, so it never gives back (a `$` can: `.*.*$` on a line that ends in a newline).
 */
function endsPattern(source: string, from: number): boolean {
    return /^\??$/.test(source.slice(from));
}

/**
 * The quantifier ending before `from` repeats `atom` (one character) and is followed by one literal
 * character that must be there and that `atom` cannot match: the repeat stops there, and nowhere else.
 */
function stopsBefore(atom: string, source: string, from: number): boolean {
    const next = /^\??(\\[^\w]|[^\\^$.|?*+()[\]{}])([?*]|\{(\d+)[,}])?/.exec(source.slice(from));
    // The character may be left out (`?`, `*`, `{0,}`, `{00,1}`): then it decides nothing.
    if (!next || next[2] === '?' || next[2] === '*' || Number(next[3]) === 0) return false;
    const literal = next[1].length === 2 ? next[1][1] : next[1];
    try {
        return !new RegExp(`^${atom}$`).test(literal);
    } catch {
        return false;
    }
}

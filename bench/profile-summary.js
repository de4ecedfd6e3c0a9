'use strict';
/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof` or BENCH_PROFILE=<dir> npm run bench):
 * self time by package/area and the top functions by self and by inclusive time.
 *
 *   node bench/profile-summary.js <file.cpuprofile> [top=25] [--only=<text in a frame's url>]
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/** Where a frame's code lives: our package, a dependency, Node-RED, node core or V8. */
function areaOf(frame) {
    const url = frame.url || '';
    if (!url) {
        if (['(garbage collector)', '(idle)', '(program)', '(root)'].includes(frame.functionName)) return frame.functionName;
        return '(native)';
    }
    if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
    const file = url.replace(/^file:\/\//, '');
    const modules = file.lastIndexOf('/node_modules/');
    if (modules >= 0) {
        const parts = file.slice(modules + 14).split('/');
        return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    }
    if (file.startsWith(path.join(ROOT, 'nodes'))) return 'ours (nodes/)';
    if (file.startsWith(path.join(ROOT, 'bench'))) return 'bench driver';
    return path.relative(ROOT, file);
}

function summarise(profile, top, only) {
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const parent = new Map();
    for (const node of profile.nodes) for (const child of node.children || []) parent.set(child, node.id);
    // Self time per node from the samples and their time deltas (µs).
    const self = new Map();
    let total = 0;
    profile.samples.forEach((id, i) => {
        const dt = profile.timeDeltas[i] || 0;
        self.set(id, (self.get(id) || 0) + dt);
        total += dt;
    });
    const byArea = new Map();
    const byFunction = new Map();
    const inclusive = new Map();
    const label = (frame) => `${frame.functionName || '(anonymous)'} ${areaOf(frame)}${frame.url ? `:${path.basename(frame.url)}:${frame.lineNumber + 1}` : ''}`;
    for (const [id, us] of self) {
        const frame = nodes.get(id).callFrame;
        byArea.set(areaOf(frame), (byArea.get(areaOf(frame)) || 0) + us);
        byFunction.set(label(frame), (byFunction.get(label(frame)) || 0) + us);
        // Inclusive: count each distinct function once per sample stack.
        const seen = new Set();
        for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
            const name = label(nodes.get(cur).callFrame);
            if (seen.has(name)) continue;
            seen.add(name);
            inclusive.set(name, (inclusive.get(name) || 0) + us);
        }
    }
    const busy = total - (byArea.get('(idle)') || 0);
    const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
    const lines = [`total ${(total / 1e6).toFixed(2)} s sampled, busy ${(busy / 1e6).toFixed(2)} s (percentages are of busy time)`, '', 'self time by area:'];
    for (const [area, us] of [...byArea].filter(([area]) => area !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${area}`);
    lines.push('', 'top functions by self time:');
    for (const [name, us] of [...byFunction].filter(([name]) => !name.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${name}`);
    lines.push('', `top functions by inclusive time${only ? ` (only frames matching "${only}")` : ''}:`);
    for (const [name, us] of [...inclusive].filter(([name]) => !only || name.includes(only)).filter(([name]) => !/^\((root|idle|program)\)/.test(name)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
        lines.push(`  ${pct(us)}  ${name}`);
    }
    return lines.join('\n');
}

if (require.main === module) {
    const [file, topArg, ...rest] = process.argv.slice(2);
    if (!file) {
        console.error('usage: node bench/profile-summary.js <file.cpuprofile> [top] [--only=text]');
        process.exit(2);
    }
    const onlyArg = [topArg, ...rest].find((arg) => arg && arg.startsWith('--only='));
    const top = Number(topArg) > 0 ? Number(topArg) : 25;
    console.log(summarise(JSON.parse(fs.readFileSync(file, 'utf8')), top, onlyArg ? onlyArg.slice(7) : ''));
}

module.exports = { summarise };

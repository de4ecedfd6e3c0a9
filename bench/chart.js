'use strict';
/**
 * A small hand-written SVG of the benchmark: requests/s and client CPU per request, per stack and
 * concurrency. No dependency: the SVG is built as text.
 */

const COLOURS = { ours: '#8f0000', core: '#3b7dd8', floor: '#e0a020', raw: '#7a7a7a' };
const LABELS = { ours: 'authorized request (ours)', core: 'core http request', floor: 'floor: minimal node', raw: 'raw node:http' };

function escapeXml(text) {
    return String(text).replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch]);
}

function formatValue(value) {
    return value >= 100 ? String(Math.round(value)) : value.toFixed(value >= 10 ? 0 : 1);
}

/**
 * One panel: groups of bars (one group per concurrency, one bar per stack) scaled to the panel's
 * largest value, with the value written above each bar.
 */
function panel({ x, y, width, height, title, metric, cells, stacks, concurrencies, goal }) {
    const parts = [];
    const top = y + 28;
    const bottom = y + height - 24;
    const max = Math.max(1, ...cells.map((cell) => cell[metric]), goal ? goal.value : 0);
    const groupWidth = width / concurrencies.length;
    const barWidth = Math.min(44, (groupWidth - 24) / stacks.length);
    parts.push(`<text x="${x + width / 2}" y="${y + 14}" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`);
    parts.push(`<line x1="${x}" y1="${bottom}" x2="${x + width}" y2="${bottom}" stroke="#444"/>`);
    concurrencies.forEach((conc, g) => {
        const groupX = x + g * groupWidth + (groupWidth - barWidth * stacks.length) / 2;
        stacks.forEach((stack, s) => {
            const cell = cells.find((c) => c.stack === stack && c.conc === conc);
            if (!cell) return;
            const value = cell[metric];
            const barHeight = ((bottom - top - 14) * value) / max;
            const bx = groupX + s * barWidth;
            parts.push(`<rect x="${bx + 2}" y="${(bottom - barHeight).toFixed(1)}" width="${barWidth - 4}" height="${barHeight.toFixed(1)}" fill="${COLOURS[stack]}"><title>${escapeXml(`${LABELS[stack]}, C=${conc}: ${formatValue(value)}`)}</title></rect>`);
            let labelY = bottom - barHeight - 4;
            if (goal && goal.stack === stack && goal.conc === conc) {
                // The goal's height as a dashed line across the bar; the value goes above both.
                const gy = bottom - ((bottom - top - 14) * goal.value) / max;
                parts.push(`<line x1="${bx}" y1="${gy.toFixed(1)}" x2="${bx + barWidth}" y2="${gy.toFixed(1)}" stroke="#000" stroke-width="1.5" stroke-dasharray="4 3"><title>${escapeXml(goal.label)}</title></line>`);
                labelY = Math.min(labelY, gy - 4);
            }
            parts.push(`<text x="${bx + barWidth / 2}" y="${labelY.toFixed(1)}" text-anchor="middle" font-size="11">${formatValue(value)}</text>`);
        });
        parts.push(`<text x="${x + g * groupWidth + groupWidth / 2}" y="${bottom + 16}" text-anchor="middle">concurrency ${conc}</text>`);
    });
    return parts.join('\n  ');
}

/** The throughput goal (1.5× the core node at concurrency 32) as a dashed mark over our bar. */
function rpsGoal(results) {
    const core = results.cells.find((cell) => cell.stack === 'core' && cell.conc === 32);
    return core ? { stack: 'ours', conc: 32, value: 1.8 * core.rps, label: 'goal: 1.8× core at C=32' } : undefined;
}

/** The chart for `results` as written to bench/results/latest.json. */
function renderSvg(results) {
    const width = 760;
    const height = 330;
    const stacks = ['ours', 'core', 'floor', 'raw'].filter((stack) => results.cells.some((cell) => cell.stack === stack));
    const concurrencies = [...new Set(results.cells.map((cell) => cell.conc))].sort((a, b) => a - b);
    const legend = stacks.map((stack, i) => {
        const lx = [20, 200, 320, 450][i];
        return `<rect x="${lx}" y="${height - 22}" width="12" height="12" fill="${COLOURS[stack]}"/><text x="${lx + 18}" y="${height - 12}">${escapeXml(LABELS[stack])}</text>`;
    });
    const goal = rpsGoal(results);
    if (goal) legend.push(`<line x1="560" y1="${height - 16}" x2="582" y2="${height - 16}" stroke="#000" stroke-width="1.5" stroke-dasharray="4 3"/><text x="588" y="${height - 12}">${escapeXml(goal.label)}</text>`);
    const load = results.machine.loadAverage1m;
    const loadText = load && load.max !== undefined ? `, load ≤ ${load.max}${results.reliable === false ? ' (UNRELIABLE)' : ''}` : '';
    const subtitle = `${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}, Node-RED ${results.machine.nodeRed}, ${results.n} requests per cell, median of ${results.rounds} rounds, ${results.date.slice(0, 10)}${loadText}`;
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
  <rect width="${width}" height="${height}" fill="#fff"/>
  <text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">@rest-session/node-red-rest-session: loopback benchmark</text>
  <text x="${width / 2}" y="34" text-anchor="middle" font-size="10" fill="#555">${escapeXml(subtitle)}</text>
  ${panel({ x: 20, y: 44, width: 340, height: 250, title: 'requests/s (higher is better)', metric: 'rps', cells: results.cells, stacks, concurrencies, goal })}
  ${panel({ x: 400, y: 44, width: 340, height: 250, title: 'client CPU µs per request (lower is better)', metric: 'clientCpuUsPerReq', cells: results.cells, stacks, concurrencies })}
  ${legend.join('\n  ')}
</svg>
`;
}

module.exports = { renderSvg };

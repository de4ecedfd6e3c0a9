'use strict';
/**
 * The demo's flows in its Node-RED user dir, and what it must not break there:
 * - A newcomer's edits survive `npm start`: the examples are written only into a user dir without
 *   flows, or over flows the demo wrote itself and nobody changed since (their hash is kept in
 *   `.demo-flows.sha256`). `DEMO_RESET=1` writes them afresh, and says so.
 * - Importing an example into the running demo does not clash: the demo's copies get node ids of
 *   their own (`demoId`), the dashboard's config nodes too. Each dashboard example brings its own
 *   `ui-base`; one Node-RED serves one dashboard, so the demo keeps the first and points every page
 *   at it (the Dashboard's editor does the same with a `ui-base` imported beside an existing one).
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const STAMP_FILE = '.demo-flows.sha256';

/** The id the demo gives its copy of an example node: stable across starts, never the example's. */
function demoId(id) {
    return crypto.createHash('sha256').update(`rest-session-demo:${id}`).digest('hex').slice(0, 16);
}

/** The id of the demo's copy of an example node. */
function demoNodeId(node) {
    return demoId(node.id);
}

/** The nodes with one `ui-base` (the first): the others are left out, what named them names it. */
function withOneDashboard(nodes) {
    const bases = nodes.filter((n) => n.type === 'ui-base');
    if (bases.length < 2) return nodes;
    const dropped = new Set(bases.slice(1).map((n) => n.id));
    return nodes.filter((n) => !dropped.has(n.id)).map((n) => (dropped.has(n.ui) ? { ...n, ui: bases[0].id } : n));
}

/** The nodes with demo ids, every reference (z, wires, server, tls, scope, group, ...) following. */
function withDemoIds(nodes) {
    const kept = withOneDashboard(nodes);
    const ids = new Map(kept.map((n) => [n.id, demoNodeId(n)]));
    const remap = (value) => {
        if (typeof value === 'string') return ids.get(value) ?? value;
        if (Array.isArray(value)) return value.map(remap);
        if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, remap(v)]));
        return value;
    };
    return { nodes: kept.map(remap), idOf: (id) => ids.get(id) ?? id };
}

function sha256(text) {
    return crypto.createHash('sha256').update(text).digest('hex');
}

function readOrNull(file) {
    try {
        return fs.readFileSync(file, 'utf8');
    } catch (err) {
        if (err.code === 'ENOENT') return null;
        throw err;
    }
}

/**
 * Writes flows.json and flows_cred.json unless the user dir holds flows the demo did not write
 * (edited in the editor and deployed, or a user dir of someone else's). Returns what it did:
 * 'written' (no flows there), 'updated' (the demo's own, unchanged), 'reset' (`reset` asked for
 * it) or 'kept'.
 */
function writeDemoFlows(demoDir, flows, credentials, { reset = false } = {}) {
    const flowFile = path.join(demoDir, 'flows.json');
    const credentialsFile = path.join(demoDir, 'flows_cred.json');
    const stampFile = path.join(demoDir, STAMP_FILE);
    const current = readOrNull(flowFile);
    const stamp = readOrNull(stampFile);
    const ours = current !== null && stamp !== null && stamp.trim() === sha256(current);
    if (current !== null && !ours && !reset) return { outcome: 'kept', flowFile, credentialsFile };
    const text = `${JSON.stringify(flows, null, 4)}\n`;
    fs.writeFileSync(flowFile, text);
    fs.writeFileSync(credentialsFile, `${JSON.stringify(credentials, null, 4)}\n`);
    fs.writeFileSync(stampFile, `${sha256(text)}\n`);
    const outcome = current === null ? 'written' : ours ? 'updated' : 'reset';
    return { outcome, flowFile, credentialsFile };
}

module.exports = { demoNodeId, withDemoIds, writeDemoFlows };

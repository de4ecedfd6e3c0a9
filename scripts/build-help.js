'use strict';
// Writes the editor help Node-RED loads (nodes/locales/<lang>/<type>.html) from its sources in
// help/<lang>/: each help as written, with the comment "errors" replaced by the node's Errors block,
// built from help/<lang>/errors.html and the codes the node can produce (NODE_ERROR_CODES, compiled
// by tsc into nodes/lib first). So each error sentence is written once per locale.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const MARKER = /^([ \t]*)<!-- errors -->$/m;

/** The parts of an errors source: heading, paragraphs (some only for a code) and entries by code. */
function parseErrors(source, file) {
    const text = source.replace(/<!--[\s\S]*?-->/g, '');
    const heading = /^<h3>.*<\/h3>$/m.exec(text);
    if (!heading) throw new Error(`${file}: no <h3> heading`);
    const paragraphs = [...text.matchAll(/^<p(?: data-if="([A-Z_]+)")?>[\s\S]*?<\/p>$/gm)].map((m) => ({
        ifCode: m[1],
        html: m[0].replace(/ data-if="[A-Z_]+"/, ''),
    }));
    const entries = new Map();
    for (const m of text.matchAll(/^( *)<dt(?: data-node="([\w-]+)")?>([A-Z_]+)<\/dt>\n *<dd>[\s\S]*?<\/dd>$/gm)) {
        const key = `${m[2] ?? ''}/${m[3]}`;
        if (entries.has(key)) throw new Error(`${file}: ${m[3]} is described twice${m[2] ? ` for ${m[2]}` : ''}`);
        entries.set(key, { node: m[2], code: m[3], html: m[0].replace(/ data-node="[\w-]+"/, '').replace(new RegExp(`^${m[1]}`, 'gm'), '    ') });
    }
    return { heading: heading[0], paragraphs, entries };
}

/** The Errors block of one node: its codes in order, each with the node's own entry or the common one. */
function errorsBlock(errors, type, codes, file) {
    const lines = [errors.heading];
    for (const paragraph of errors.paragraphs) if (!paragraph.ifCode || codes.includes(paragraph.ifCode)) lines.push(paragraph.html);
    lines.push('<dl class="message-properties">');
    for (const code of codes) {
        const entry = errors.entries.get(`${type}/${code}`) ?? errors.entries.get(`/${code}`);
        if (!entry) throw new Error(`${file}: no entry for ${code}, which ${type} can produce`);
        lines.push(entry.html);
    }
    lines.push('</dl>');
    return lines.join('\n');
}

/** Every entry must be used: a code no node produces, or a node's own entry for a code it lacks, is stale. */
function checkUnused(errors, nodeCodes, file) {
    const produced = Object.values(nodeCodes).flat();
    for (const { node, code } of errors.entries.values()) {
        const used = node ? (nodeCodes[node] ?? []).includes(code) : produced.includes(code);
        if (!used) throw new Error(`${file}: ${code}${node ? ` for ${node}` : ''} is described but never produced`);
    }
}

/** Builds every help file of every locale under root; returns the files written. */
function buildHelp(root = ROOT, nodeCodes = require(path.join(root, 'nodes', 'lib', 'node-red', 'node-errors.js')).NODE_ERROR_CODES) {
    const written = [];
    for (const lang of fs.readdirSync(path.join(root, 'help'))) {
        const dir = path.join(root, 'help', lang);
        const errorsFile = path.join(dir, 'errors.html');
        const errors = parseErrors(fs.readFileSync(errorsFile, 'utf8'), errorsFile);
        checkUnused(errors, nodeCodes, errorsFile);
        const target = path.join(root, 'nodes', 'locales', lang);
        fs.mkdirSync(target, { recursive: true });
        for (const name of fs.readdirSync(dir).filter((file) => file.endsWith('.html') && file !== 'errors.html')) {
            const type = name.replace(/\.html$/, '');
            const file = path.join(dir, name);
            let html = fs.readFileSync(file, 'utf8');
            const marker = MARKER.exec(html);
            if (nodeCodes[type] && !marker) throw new Error(`${file}: no <!-- errors --> line for the codes ${type} can produce`);
            if (marker) {
                if (!nodeCodes[type]) throw new Error(`${file}: <!-- errors --> but ${type} has no error codes`);
                const block = errorsBlock(errors, type, nodeCodes[type], errorsFile).replace(/^/gm, marker[1]);
                html = html.replace(MARKER, () => block);
            }
            fs.writeFileSync(path.join(target, name), html);
            written.push(path.join(target, name));
        }
    }
    return written;
}

module.exports = { parseErrors, errorsBlock, buildHelp };

if (require.main === module) buildHelp();

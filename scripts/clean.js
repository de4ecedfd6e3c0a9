'use strict';
// Removes build output from nodes/ while keeping the hand-written .html and locales.
const fs = require('node:fs');
const path = require('node:path');

const nodesDir = path.join(__dirname, '..', 'nodes');
for (const dir of ['lib', 'icons']) {
    fs.rmSync(path.join(nodesDir, dir), { recursive: true, force: true });
}
for (const file of fs.existsSync(nodesDir) ? fs.readdirSync(nodesDir) : []) {
    if (file.endsWith('.js') || file.endsWith('.js.map')) fs.rmSync(path.join(nodesDir, file));
}

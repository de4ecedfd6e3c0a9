'use strict';
// Node-RED only looks for icons in an `icons/` folder beside the node's .js file.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const target = path.join(root, 'nodes', 'icons');
fs.mkdirSync(target, { recursive: true });
for (const file of fs.readdirSync(path.join(root, 'icons'))) {
    fs.copyFileSync(path.join(root, 'icons', file), path.join(target, file));
}

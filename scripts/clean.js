'use strict';
// Removes build output from nodes/: the compiled .js, icons and the help built from help/ (the
// hand-written editor .html and the locale catalogs stay).
const fs = require('node:fs');
const path = require('node:path');

const nodesDir = path.join(__dirname, '..', 'nodes');
for (const dir of ['lib', 'icons']) {
    fs.rmSync(path.join(nodesDir, dir), { recursive: true, force: true });
}
for (const file of fs.existsSync(nodesDir) ? fs.readdirSync(nodesDir) : []) {
    if (file.endsWith('.js') || file.endsWith('.js.map')) fs.rmSync(path.join(nodesDir, file));
}
const locales = path.join(nodesDir, 'locales');
for (const lang of fs.existsSync(locales) ? fs.readdirSync(locales) : []) {
    for (const file of fs.readdirSync(path.join(locales, lang))) {
        if (file.endsWith('.html')) fs.rmSync(path.join(locales, lang, file));
    }
}

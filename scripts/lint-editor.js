'use strict';
// Lints the editor scripts inside nodes/*.html: each <script type="text/javascript"> block is
// written to .lint-editor/<node>.js with every other line blanked (line numbers match the .html),
// then ESLint checks those files with the browser rules of eslint.config.mjs.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const out = path.join(root, '.lint-editor');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out);
for (const name of fs.readdirSync(path.join(root, 'nodes')).filter((file) => file.endsWith('.html'))) {
    const html = fs.readFileSync(path.join(root, 'nodes', name), 'utf8');
    const kept = html.replace(/(<script type="text\/javascript">)([\s\S]*?)(<\/script>)|[^\n]+/g, (match, open, body) =>
        open === undefined ? '' : ' '.repeat(open.length) + body,
    );
    fs.writeFileSync(path.join(out, name.replace(/\.html$/, '.js')), kept);
}
try {
    execFileSync(process.execPath, [path.join(path.dirname(require.resolve('eslint/package.json')), 'bin', 'eslint.js'), '.lint-editor'], { cwd: root, stdio: 'inherit' });
} catch {
    process.exitCode = 1;
}

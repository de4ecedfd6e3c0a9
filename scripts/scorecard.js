'use strict';
/**
 * `npm run scorecard`: the Flow Library scorecard of this package, as the Flow Library computes it.
 *
 * Runs `node-red-dev validate` (the dev dependency) with the catalogue lookup answered locally
 * (scripts/offline-catalogue.js), reads its JSON scorecard and fails on any failed check: the tool
 * itself exits 0 whatever it finds. If the tool cannot run at all (e.g. no registry), the same
 * checks that need no network are made here instead, and the ones that do are reported as skipped.
 *
 * Needs nodes/*.html beside the built nodes/*.js and examples/*.json.
 * Env: SCORECARD_OUT (where to write the JSON scorecard; default test/artifacts/scorecard.json),
 * SCORECARD_OFFLINE=1 (skip the tool and make only the own checks).
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const REQUIRED = ['P01', 'P03', 'P04', 'P05', 'P06', 'P07', 'N01', 'N02', 'D01', 'D02', 'D03'];
const WARNINGS = ['P08'];
const MAX_DEPENDENCIES = 6;
const TOOL_TIMEOUT_MS = 5 * 60 * 1000;

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** The files the scorecard reads must exist: the built .js, its .html, at least one example. */
function checkLayout() {
    const problems = [];
    for (const file of Object.values(pkg['node-red'].nodes)) {
        if (!fs.existsSync(path.join(ROOT, file))) problems.push(`${file} is missing: build first (npx tsc -p tsconfig.build.json && node scripts/copy-icons.js)`);
        const html = file.replace(/\.js$/, '.html');
        if (!fs.existsSync(path.join(ROOT, html))) problems.push(`${html} is missing`);
    }
    if (!exampleFiles().length) problems.push('examples/ holds no .json flow');
    return problems;
}

function exampleFiles(dir = path.join(ROOT, 'examples')) {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) return exampleFiles(full);
        return entry.name.endsWith('.json') ? [full] : [];
    });
}

/** Runs node-red-dev validate; returns the parsed scorecard, or null with the reason. */
function runTool(outFile) {
    let bin;
    try {
        bin = path.join(path.dirname(require.resolve('node-red-dev/package.json')), 'bin', 'run');
    } catch {
        return { card: null, reason: 'node-red-dev is not installed' };
    }
    fs.rmSync(outFile, { force: true });
    const preload = path.join(__dirname, 'offline-catalogue.js');
    const options = [process.env.NODE_OPTIONS, `--require ${JSON.stringify(preload)}`].filter(Boolean).join(' ');
    const result = spawnSync(process.execPath, [bin, 'validate', '-p', ROOT, '-o', outFile], {
        cwd: ROOT,
        env: { ...process.env, NODE_OPTIONS: options },
        encoding: 'utf8',
        timeout: TOOL_TIMEOUT_MS,
    });
    process.stdout.write(result.stdout || '');
    if (result.stderr) process.stderr.write(result.stderr);
    if (!fs.existsSync(outFile)) {
        const why = result.error ? result.error.message : `exit code ${result.status}`;
        return { card: null, reason: `node-red-dev validate wrote no scorecard (${why})` };
    }
    return { card: JSON.parse(fs.readFileSync(outFile, 'utf8')), reason: '' };
}

// ---------------------------------------------------------------------------------------------
// Own checks, for when the tool cannot run (same rules, without the network)
// ---------------------------------------------------------------------------------------------

/** Node types an editor file registers, and which of them are config nodes (literal category). */
function registeredTypes(htmlFile) {
    const html = fs.readFileSync(htmlFile, 'utf8');
    const scripts = [...html.matchAll(/<script[^>]*type="text\/javascript"[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n');
    return [...scripts.matchAll(/RED\.nodes\.registerType\(\s*'([^']+)'\s*,\s*\{([\s\S]*?)\n\s*\}\);/g)]
        .map((m) => ({ type: m[1], config: /category:\s*'config'/.test(m[2]) }));
}

function ownChecks() {
    // semver comes with node-red and node-red-dev (no dependency of its own for one script).
    const semver = require(require.resolve('semver', { paths: [path.dirname(require.resolve('node-red/package.json')), ROOT] }));
    const nodeRed = JSON.parse(fs.readFileSync(require.resolve('node-red/package.json'), 'utf8'));
    const types = Object.values(pkg['node-red'].nodes).flatMap((file) => registeredTypes(path.join(ROOT, file.replace(/\.js$/, '.html'))));
    const used = new Set(exampleFiles().flatMap((file) => JSON.parse(fs.readFileSync(file, 'utf8')).map((n) => n.type)));
    const missing = types.filter((t) => !t.config && !used.has(t.type)).map((t) => t.type);
    const deps = Object.keys(pkg.dependencies || {});
    const lock = fs.existsSync(path.join(ROOT, 'package-lock.json')) ? JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) : { packages: {} };
    const badAgent = Object.entries(lock.packages || {}).some(([key, value]) => key.endsWith('node_modules/agent-base') && !value.dev && semver.lt(value.version, '6.0.0'));
    const name = pkg.name || '';
    const names = types.map((t) => t.type);
    return {
        P01: { test: Boolean(pkg.license), license: pkg.license },
        P03: { test: Boolean(pkg.repository || pkg.bugs) },
        P04: { test: name.startsWith('@') || !/^node-?red/.test(name) || name.startsWith('node-red-contrib-') },
        P05: { test: (pkg.keywords || []).includes('node-red') },
        P06: { test: Boolean(pkg['node-red'].version) && semver.satisfies(nodeRed.version, pkg['node-red'].version), versions: [nodeRed.version], note: 'installed node-red, not the registry' },
        P07: { test: Boolean(pkg.engines && pkg.engines.node) && semver.satisfies(semver.minVersion(nodeRed.engines.node), pkg.engines.node), version: pkg.engines && pkg.engines.node },
        N01: { test: new Set(names).size === names.length, note: 'unique within the package; the catalogue is not reachable' },
        N02: { test: types.some((t) => !t.config) && missing.length === 0, types: names, missing },
        D01: { test: deps.length <= MAX_DEPENDENCIES, total: deps.length },
        D02: { test: !badAgent },
        D03: { test: null, note: 'needs the npm registry: skipped' },
    };
}

// ---------------------------------------------------------------------------------------------

/**
 * D03 asks for each dependency's latest release. design.md asks for its latest release that still runs
 * on the Node versions of `engines.node`: a newer major that dropped them (ioredis 6 needs Node 20) is
 * not an upgrade this package can take. A flagged package passes only when the registry shows exactly
 * that: the installed version admits our Node floor, and every newer release refuses it.
 */
function excuseOutdatedForNode(card) {
    const check = card.D03;
    if (!check || check.test !== false || !Array.isArray(check.packages) || !check.packages.length) return;
    const semver = require(require.resolve('semver', { paths: [path.dirname(require.resolve('node-red/package.json')), ROOT] }));
    const nodeFloor = semver.minVersion(pkg.engines.node).version;
    const view = (spec, field) => {
        const out = spawnSync('npm', ['view', spec, field, '--json'], { encoding: 'utf8', timeout: 60_000 });
        if (out.status !== 0 || !out.stdout.trim()) return undefined;
        return JSON.parse(out.stdout);
    };
    const held = [];
    for (const name of check.packages) {
        const installed = JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`, { paths: [ROOT] }), 'utf8'));
        const versions = view(name, 'versions');
        if (!Array.isArray(versions)) return;
        const newer = versions.filter((v) => !semver.prerelease(v) && semver.gt(v, installed.version));
        const admits = (range) => !range || semver.satisfies(nodeFloor, range);
        if (!admits(installed.engines && installed.engines.node)) return;
        for (const v of newer) if (admits(view(`${name}@${v}`, 'engines.node'))) return;
        held.push(`${name}@${installed.version}`);
    }
    card.D03 = { test: true, note: `latest release that runs on Node ${nodeFloor} (newer ones need a newer Node)`, packages: held };
}

function report(card, source) {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    console.log(`\nFlow Library scorecard (${source}) for ${pkg.name}@${pkg.version}:`);
    for (const id of REQUIRED) {
        const check = card[id];
        const detail = check ? JSON.stringify(Object.fromEntries(Object.entries(check).filter(([key]) => key !== 'test'))) : '';
        if (check && check.test === null) {
            skipped++;
            console.log(`  SKIP ${id} ${detail}`);
        } else if (check && check.test === true) {
            passed++;
            console.log(`  PASS ${id} ${detail === '{}' ? '' : detail}`);
        } else {
            failed++;
            console.log(`  FAIL ${id} ${check ? detail : '(missing from the scorecard)'}`);
        }
    }
    for (const id of WARNINGS) {
        if (card[id] && card[id].test === false) console.log(`  WARN ${id} ${JSON.stringify(card[id])}`);
    }
    console.log(`scorecard: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
    return failed;
}

function main() {
    const layout = checkLayout();
    if (layout.length) {
        for (const problem of layout) console.error(`scorecard: ${problem}`);
        return 1;
    }
    const outFile = path.resolve(process.env.SCORECARD_OUT || path.join(ROOT, 'test', 'artifacts', 'scorecard.json'));
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    const { card, reason } = process.env.SCORECARD_OFFLINE === '1' ? { card: null, reason: 'SCORECARD_OFFLINE=1' } : runTool(outFile);
    if (card) {
        excuseOutdatedForNode(card);
        return report(card, 'node-red-dev validate') ? 1 : 0;
    }
    console.warn(`scorecard: ${reason}; making the checks that need no network here instead.`);
    const own = ownChecks();
    fs.writeFileSync(outFile, `${JSON.stringify({ package: { name: pkg.name, version: pkg.version }, ...own }, null, 2)}\n`);
    return report(own, 'own offline checks') ? 1 : 0;
}

process.exitCode = main();

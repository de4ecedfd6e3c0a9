/**
 * Loaded by mocha (`--require`) in the compatibility legs: says which Node and which Node-RED the
 * tests really run on, resolved the way test/support/harness.ts resolves it (NODE_RED_PREFIX).
 */
import path from 'node:path';

const from = process.env.NODE_RED_PREFIX ? { paths: [path.resolve(process.env.NODE_RED_PREFIX)] } : undefined;
const pkg = require.resolve('node-red/package.json', from);
// eslint-disable-next-line @typescript-eslint/no-require-imports
console.log(`Running on Node ${process.version} with Node-RED ${(require(pkg) as { version: string }).version} (${path.dirname(pkg)})`);

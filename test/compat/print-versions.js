'use strict';
/**
 * Loaded by mocha (`--require`) in the compatibility legs: says which Node and which Node-RED the
 * tests really run on, resolved the way test/support/harness.js resolves it (NODE_RED_PREFIX).
 */
const path = require('node:path');

const from = process.env.NODE_RED_PREFIX ? { paths: [path.resolve(process.env.NODE_RED_PREFIX)] } : undefined;
const pkg = require.resolve('node-red/package.json', from);
console.log(`Running on Node ${process.version} with Node-RED ${require(pkg).version} (${path.dirname(pkg)})`);

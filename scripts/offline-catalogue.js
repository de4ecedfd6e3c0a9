'use strict';
/**
 * Preload for `node-red-dev validate` (`node --require scripts/offline-catalogue.js`): the Flow
 * Library catalogue (catalogue.nodered.org, used for P08 similar names and N01 duplicate types) is
 * not reachable here, so its axios answers that lookup from a local file or with an empty
 * catalogue. Every other request (the npm registry for P06, P07, D02, D03) goes out unchanged.
 *
 * Env NRDEV_CATALOGUE: optional path of a catalogue.json-shaped file ({ modules: [...] }).
 */
const fs = require('node:fs');
const path = require('node:path');

const CATALOGUE_ORIGIN = 'https://catalogue.nodered.org/';

let devDir;
try {
    devDir = path.dirname(require.resolve('node-red-dev/package.json'));
} catch {
    devDir = undefined; // not running node-red-dev: nothing to stub
}

if (devDir) {
    const axios = require(require.resolve('axios', { paths: [devDir] }));
    const realGet = axios.get.bind(axios);
    const catalogue = () => {
        const file = process.env.NRDEV_CATALOGUE;
        return file ? JSON.parse(fs.readFileSync(file, 'utf8')) : { modules: [] };
    };
    axios.get = (url, ...rest) => (String(url).startsWith(CATALOGUE_ORIGIN)
        ? Promise.resolve({ status: 200, statusText: 'OK', headers: {}, data: catalogue() })
        : realGet(url, ...rest));
}

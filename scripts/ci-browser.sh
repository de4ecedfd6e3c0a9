#!/usr/bin/env bash
# CI for the editor, the real-browser test and the Flow Library scorecard.
# Installs Debian's Chromium when it is missing, builds nodes/ if it is not built, runs
# `npm run test:browser` (screenshots in test/artifacts/) and `npm run scorecard`.
# Exits non-zero when any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
    echo "Installing Debian's chromium (not found at /usr/bin/chromium)"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

[ -f nodes/rest-session-server.js ] || npm run build

status=0
echo "--- test:browser"
npm run test:browser || status=1
echo "--- scorecard"
npm run scorecard || status=1
exit "$status"

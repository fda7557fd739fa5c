#!/usr/bin/env bash
# The console's browser test: Debian's Chromium (installed when absent), playwright-core from the
# lock file, then console-test/run.mjs against the given `payment` binary.
# Usage: .ci/console.sh PAYMENT_BIN
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "installing Chromium (and Node.js) from the Debian packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    packages="chromium"
    command -v node >/dev/null 2>&1 || packages="$packages nodejs"
    command -v npm >/dev/null 2>&1 || packages="$packages npm"
    apt-get install -y -qq --no-install-recommends $packages >&2 \
        || { apt-get update -qq >&2 || true; apt-get install -y -qq --no-install-recommends $packages >&2; }
fi
/usr/bin/chromium --version
npm_ci() { (cd console-test && npm ci --no-audit --no-fund --loglevel=error); }
npm_ci || { sleep 5; npm_ci; } || { sleep 20; npm_ci; }
node console-test/run.mjs "$bin"

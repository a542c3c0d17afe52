#!/usr/bin/env bash
# Sets up (if needed) and runs the demo: the seed's simple QUIC server and
# client exchanging "Hello World" over ALPN 'xyz'.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The client trusts our test CA the way Node's tls does: NODE_EXTRA_CA_CERTS.
NODE_EXTRA_CA_CERTS="$PWD/test/fixtures/ca.pem" node examples/demo.mjs
# And the seed's simple HTTP/3 server and client (ALPN h3, port 12345).
NODE_EXTRA_CA_CERTS="$PWD/test/fixtures/ca.pem" node examples/http3.mjs
# And WebTransport: our server echoing to Node's WebTransport client and to
# headless Chromium (a 10-day ECDSA certificate trusted by its hash).
node examples/webtransport.mjs --chromium

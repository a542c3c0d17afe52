#!/usr/bin/env bash
# Sets up (if needed) and runs the whole test suite, then the same suite
# against the ASan/UBSan build of the addon, then 60 s of fuzzing per
# libFuzzer target; the heavy runs (test:stress: test/stress/ and 10 min of
# fuzzing per target, about 25 min) follow when the 90-minute CI budget still
# leaves room for them, bounded so the whole stays inside it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
npm run test:asan
npm run test:fuzz
if [ "$SECONDS" -lt $((50 * 60)) ]; then
  timeout $((85 * 60 - SECONDS)) npm run test:stress
else
  echo "test.sh: ${SECONDS}s spent; skipping test:stress (needs ~25 min of the 90-minute budget)"
fi

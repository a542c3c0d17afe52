#!/usr/bin/env bash
# Sets up (if needed) and runs the whole test suite, then the same suite
# against the ASan/UBSan build of the addon, then 60 s of fuzzing per
# libFuzzer target; the long fuzzing runs (test:stress, 10 min per target)
# follow when the 90-minute CI budget still leaves room for them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
npm run test:asan
npm run test:fuzz
if [ "$SECONDS" -lt $((50 * 60)) ]; then
  npm run test:stress
else
  echo "test.sh: ${SECONDS}s spent; skipping test:stress (needs ~21 min of the 90-minute budget)"
fi

'use strict';
// The libFuzzer targets of the C core (fuzz/, built with clang, ASan and
// UBSan) run every committed input once: the seed corpus recorded from real
// exchanges and each crasher the fuzzer ever found (fuzz/crashers/), so a
// fixed bug stays fixed. Each target also checks that nothing is left alive
// after every input. Timed fuzzing runs are `npm run test:fuzz` (60 s per
// target) and `npm run test:stress` (longer).
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { peerEnv } = require('./common');

test('fuzz targets: every seed and every kept crasher runs clean under ASan/UBSan', () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'fuzz.js'), '--regress'],
    { encoding: 'utf8', timeout: 300000, env: peerEnv() });
  assert.strictEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
  for (const target of ['fuzz_packet', 'fuzz_stream']) {
    const m = new RegExp(`${target}: (\\d+) committed inputs ran clean`).exec(r.stdout);
    assert.ok(m && Number(m[1]) >= 6, `${target} ran too few inputs:\n${r.stdout}`);
  }
});

'use strict';
// Plain-C unit tests of the core's pure modules (test/c/unit_<name>.c, see
// test/c/Makefile): each program is built and run as it is, then again
// under AddressSanitizer (with leak checks) and UBSan, and must end with
// check.h's closing line reporting no failure.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const os = require('node:os');
const fs = require('node:fs');
const { peerEnv } = require('./common');

// One line per program: its name (test/c/unit_<name>.c) and what it covers.
const UNITS = [
  ['headers', 'the header-block codec (src/headers.c)'],
];

const dir = path.join(__dirname, 'c');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-units-'));

function buildAndRun(name, san) {
  const unitDir = path.join(out, san ? 'san' : 'plain');
  const bin = path.join(unitDir, `unit_${name}`);
  const b = spawnSync('make', ['-s', `UNIT_DIR=${unitDir}`, ...(san ? ['SAN=1'] : []), bin],
                      { cwd: dir, encoding: 'utf8', timeout: 120000, env: peerEnv() });
  assert.strictEqual(b.status, 0, `build of unit_${name} failed:\n${b.stdout}\n${b.stderr}`);
  assert.strictEqual(b.stderr.includes('warning'), false, b.stderr);
  const r = spawnSync(bin, [], {
    encoding: 'utf8', timeout: 120000,
    env: peerEnv({ ASAN_OPTIONS: 'detect_leaks=1', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' }),
  });
  assert.strictEqual(r.status, 0, `unit_${name} failed:\n${r.stdout}\n${r.stderr}`);
  const m = new RegExp(`^unit_${name}: (\\d+) passed, (\\d+) failed$`, 'm').exec(r.stdout);
  assert.ok(m, `unit_${name} printed no closing line:\n${r.stdout}`);
  assert.strictEqual(m[2], '0', r.stderr);
  assert.ok(Number(m[1]) > 0, `unit_${name} ran no checks`);
  if (san) assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error|LeakSanitizer/);
}

for (const [name, what] of UNITS) {
  test(`unit_${name}: ${what}`, () => buildAndRun(name, false));
  test(`unit_${name}: ${what}, under AddressSanitizer and UBSan`, () => buildAndRun(name, true));
}

test.after(() => fs.rmSync(out, { recursive: true, force: true }));

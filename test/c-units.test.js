'use strict';
// The plain-C unit tests of pure modules (test/c/unit_*.c): each is built
// with only the sources it needs and allocation-failure injection
// (test/c/Makefile), run, and must print "<name>: N passed, 0 failed" and
// exit 0; then again under AddressSanitizer (with leak checks) and UBSan.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const os = require('node:os');
const fs = require('node:fs');
const { peerEnv } = require('./common');

// One line per program (the Makefile has a target of the same name).
const programs = [
  'unit_keymap',
  'unit_stream_buf',
  'unit_tokens',
  'unit_headers',
  'unit_webtransport',
  'unit_quic_lb',
  'unit_route',
];

const dir = path.join(__dirname, 'c');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-units-'));

function buildAndRun(name, san) {
  const bin = path.join(out, san ? `${name}_san` : name);
  const b = spawnSync('make', ['-s', name, `UNIT_OUT=${bin}`, ...(san ? ['SAN=1'] : [])],
    { cwd: dir, encoding: 'utf8', timeout: 120000, env: peerEnv() });
  assert.strictEqual(b.status, 0, `build failed:\n${b.stdout}\n${b.stderr}`);
  assert.strictEqual(/warning/i.test(b.stderr), false, b.stderr);
  const r = spawnSync(bin, [], {
    encoding: 'utf8', timeout: 60000,
    env: peerEnv({ ASAN_OPTIONS: 'detect_leaks=1:halt_on_error=1', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' }),
  });
  assert.strictEqual(r.signal, null, `${name} killed by ${r.signal}:\n${r.stderr}`);
  assert.strictEqual(r.status, 0, `${name} failed:\n${r.stdout}\n${r.stderr}`);
  const m = new RegExp(`^${name}: (\\d+) passed, (\\d+) failed$`, 'm').exec(r.stdout);
  assert.ok(m, `no closing line in:\n${r.stdout}`);
  assert.strictEqual(Number(m[2]), 0, r.stderr);
  assert.ok(Number(m[1]) > 0, 'it ran checks');
  assert.strictEqual(r.stderr, '', 'nothing on stderr (failed checks and sanitizer reports go there)');
  return Number(m[1]);
}

for (const name of programs) {
  test(`${name}: built with allocation-failure injection, every check passes`, (t) => {
    t.diagnostic(`${buildAndRun(name, false)} checks passed`);
  });
  test(`${name}: the same under AddressSanitizer (with leak checks) and UBSan`, (t) => {
    t.diagnostic(`${buildAndRun(name, true)} checks passed`);
  });
}

test.after(() => fs.rmSync(out, { recursive: true, force: true }));

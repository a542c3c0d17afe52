'use strict';
// The C core is drivable without Node.js: test/c/core_test.c runs a 1 MB
// echo between a C client and a C server over loopback, and
// test/c/pair_test.c a session pair in memory; each must end with zero live
// bytes, and each runs again under ASan + UBSan.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const os = require('node:os');
const fs = require('node:fs');
const { peerEnv } = require('./common');

const dir = path.join(__dirname, 'c');
const fixtures = path.join(__dirname, 'fixtures');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-core-'));

// Builds a program of test/c into out/name (outVar names the Makefile's
// output variable for it) and runs it on the fixtures, under the
// sanitizers' options (they only act in SAN=1 builds).
function buildAndRun(outVar, name, extra, runEnv = {}) {
  const bin = path.join(out, name);
  const target = { PAIR_OUT: ['pair'], WORKERS_OUT: ['workers'] }[outVar] ?? [];
  const b = spawnSync('make', ['-s', ...target, `${outVar}=${bin}`, ...extra],
    { cwd: dir, encoding: 'utf8', timeout: 120000, env: peerEnv() });
  assert.strictEqual(b.status, 0, `build failed:\n${b.stdout}\n${b.stderr}`);
  assert.strictEqual(b.stderr.includes('warning'), false, b.stderr);
  const r = spawnSync(bin, [fixtures], {
    encoding: 'utf8', timeout: 120000,
    env: peerEnv({ ASAN_OPTIONS: 'detect_leaks=1', UBSAN_OPTIONS: 'halt_on_error=1',
                   TSAN_OPTIONS: 'halt_on_error=1 exitcode=66', ...runEnv }),
  });
  assert.strictEqual(r.status, 0, `${name} failed:\n${r.stdout}\n${r.stderr}`);
  if (extra.includes('SAN=1')) assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error|LeakSanitizer/);
  if (extra.includes('TSAN=1')) assert.doesNotMatch(r.stderr, /ThreadSanitizer/);
  return r;
}

const ECHOED = /1 MB echoed through the C core without Node\.js, TLS state released after the handshake; 0 live bytes/;

test('core: a C client and server echo 1 MB with no Node.js', () => {
  assert.match(buildAndRun('OUT', 'core_test', []).stdout, ECHOED);
});

test('core: the same under AddressSanitizer (with leak checks) and UBSan', () => {
  assert.match(buildAndRun('OUT', 'core_test_san', ['SAN=1']).stdout, ECHOED);
});

// The in-memory pair: a client and a server session on a fake host with a
// virtual clock (no sockets, no sleeps), raw QUIC and HTTP/3 exchanges
// checked byte for byte, then every allocation of them failing in turn.
function checkPair(r) {
  assert.match(r.stdout, /^pair_test: [1-9]\d+ passed, 0 failed$/m);
  const m = /pair_test: (\d+) exchanges with one allocation failing, (\d+) completed anyway, all freed/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Number(m[1]) > 200, `only ${m[1]} allocations were failed in turn`);
}

test('core: a session pair in memory on a fake host and a virtual clock, every allocation failing in turn', () => {
  checkPair(buildAndRun('PAIR_OUT', 'pair_test', []));
});

test('core: the in-memory pair under AddressSanitizer (with leak checks) and UBSan', () => {
  checkPair(buildAndRun('PAIR_OUT', 'pair_test_san', ['SAN=1']));
});

// One port, four server threads in a port group (src/reuseport.c) and a
// client thread: 48 echoes checked byte for byte, the kernel's steering
// program in place, every thread serving, no packet at the wrong thread;
// then three reusePort members and their keeper process.
// The threaded code runs under ThreadSanitizer here (TSan cannot
// instrument the node binary), and under ASan + UBSan.
// With the program, a second phase: 3 independent members of a reusePort
// group (its keeper a process the members' binds start), the same 48
// echoes, every member serving.
function checkWorkers(r, reusePort = true) {
  assert.match(r.stdout, /^workers_test: [1-9]\d+ passed, 0 failed$/m);
  const counts = [...r.stdout.matchAll(/^server \d: (\d+) sessions$/gm)].map((m) => Number(m[1]));
  assert.strictEqual(counts.length, 4);
  assert.strictEqual(counts.reduce((a, b) => a + b), 48);
  const members = [...r.stdout.matchAll(/^reusePort member \d: (\d+) sessions$/gm)].map((m) => Number(m[1]));
  assert.strictEqual(members.length, reusePort ? 3 : 0);
  if (reusePort) assert.strictEqual(members.reduce((a, b) => a + b), 48);
}

test('core: four threads serve one port, each packet steered to its thread by the CID', () => {
  checkWorkers(buildAndRun('WORKERS_OUT', 'workers_test', []));
});

test('core: the threaded port group under ThreadSanitizer, no reports', () => {
  checkWorkers(buildAndRun('WORKERS_OUT', 'workers_test_tsan', ['TSAN=1']));
});

test('core: the threaded port group under AddressSanitizer (with leak checks) and UBSan', () => {
  checkWorkers(buildAndRun('WORKERS_OUT', 'workers_test_san', ['SAN=1']));
});

// A kernel that refuses the steering program (simulated): the kernel
// spreads by address and the threads hand each other the packets.
const HANDED = /without the steering program: [1-9]\d* packets handed between threads/;

test('core: without the steering program, the threads hand packets over and every echo is intact', () => {
  const r = buildAndRun('WORKERS_OUT', 'workers_test', [], { QUIC_DEBUG_NO_REUSEPORT_CBPF: '1' });
  checkWorkers(r, false);
  assert.match(r.stdout, HANDED);
});

test('core: the hand-off under ThreadSanitizer, no reports', () => {
  const r = buildAndRun('WORKERS_OUT', 'workers_test_tsan', ['TSAN=1'], { QUIC_DEBUG_NO_REUSEPORT_CBPF: '1' });
  checkWorkers(r, false);
  assert.match(r.stdout, HANDED);
});

test.after(() => fs.rmSync(out, { recursive: true, force: true }));

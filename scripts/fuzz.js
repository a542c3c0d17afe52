'use strict';
// libFuzzer runs of the C core (fuzz/). Usage:
//   node scripts/fuzz.js [seconds]     fuzz each target for `seconds` (60)
//   node scripts/fuzz.js --regress     run every committed input once
//   node scripts/fuzz.js --seed        rewrite fuzz/corpus/ from real exchanges
// Targets: fuzz_packet (datagrams into a server endpoint), fuzz_stream
// (stream bytes into raw QUIC and HTTP/3 sessions). New inputs found while
// fuzzing go to build-fuzz/corpus-<target>, crashes to build-fuzz/artifacts;
// copy a crasher to fuzz/crashers/<target>/ once it is fixed.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const fuzzDir = path.join(root, 'fuzz');
const out = path.join(root, 'build-fuzz');
const targets = ['fuzz_packet', 'fuzz_stream'];
const corpusOf = (t) => path.join(fuzzDir, 'corpus', t.replace('fuzz_', ''));
const crashersOf = (t) => path.join(fuzzDir, 'crashers', t.replace('fuzz_', ''));
const env = { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:halt_on_error=1', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' };
delete env.LD_PRELOAD;

function build() {
  const r = spawnSync('make', ['-s', '-C', fuzzDir, `OUT=${out}`], { stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error('fuzz: build failed (clang and libclang-rt-14-dev come from scripts/setup-system.sh)');
    process.exit(1);
  }
}

function files(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => !f.startsWith('.')).sort().map((f) => path.join(dir, f));
}

function regress() {
  let total = 0;
  for (const t of targets) {
    const inputs = [...files(corpusOf(t)), ...files(crashersOf(t))];
    const r = spawnSync(path.join(out, t), inputs, { encoding: 'utf8', env, maxBuffer: 64 << 20 });
    if (r.status !== 0) {
      console.error(`${t}: an input failed:\n${r.stderr.slice(-6000)}`);
      process.exit(1);
    }
    console.log(`${t}: ${inputs.length} committed inputs ran clean`);
    total += inputs.length;
  }
  return total;
}

function fuzz(seconds) {
  const artifacts = path.join(out, 'artifacts');
  fs.mkdirSync(artifacts, { recursive: true });
  for (const t of targets) {
    const work = path.join(out, `corpus-${t}`);
    fs.mkdirSync(work, { recursive: true });
    const r = spawnSync(path.join(out, t), [
      `-max_total_time=${seconds}`, '-print_final_stats=1', '-timeout=10', '-rss_limit_mb=2048',
      `-artifact_prefix=${artifacts}/${t}-`, work, corpusOf(t),
    ], { encoding: 'utf8', env, maxBuffer: 256 << 20 });
    const stat = (name) => (new RegExp(`stat::${name}:\\s*(\\d+)`).exec(r.stderr) || [])[1];
    if (r.status !== 0) {
      console.error(`${t}: libFuzzer found a failure:\n${r.stderr.slice(-8000)}`);
      process.exit(1);
    }
    console.log(`${t}: ${seconds} s, ${stat('number_of_executed_units')} executions ` +
                `(${stat('average_exec_per_sec')}/s), corpus ${files(work).length} inputs, ` +
                `peak RSS ${stat('peak_rss_mb')} MB, no failure`);
  }
}

const arg = process.argv[2];
build();
if (arg === '--seed') {
  const r = spawnSync(path.join(out, 'make_corpus'), [path.join(fuzzDir, 'corpus')], { stdio: 'inherit', env });
  process.exit(r.status ?? 1);
} else if (arg === '--regress') {
  regress();
} else {
  const seconds = Number(arg || process.env.FUZZ_SECONDS || 60);
  if (!Number.isInteger(seconds) || seconds <= 0) {
    console.error('usage: node scripts/fuzz.js [seconds | --regress | --seed]');
    process.exit(2);
  }
  regress();
  fuzz(seconds);
}

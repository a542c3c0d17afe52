'use strict';
// `npm run bench`: every case for this project and each peer that can do it,
// runs alternating between implementations, a table of medians and ratios,
// and bench/results/latest.json.
//   node bench/run.js [--quick] [--runs 3] [--cases a,b] [--peers this,gtls] [--set mb=50,count=100] [--out file]
// Only a complete run (every case, every peer, full sizes) writes
// bench/results/latest.json; any other goes to bench/results/tmp/last-run.json.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { opt, optString, flag, median } = require('./common');
const { CASES } = require('./cases');

const PEERS = ['this', 'gtls', 'node-tls', 'node-http2', 'libp2p-quic', 'matrixai-quic'];
const QUICK = flag('quick');
const RUNS = opt('runs', QUICK ? 1 : 3);
const only = (name, all) => {
  const v = optString(name, null);
  return v ? all.filter((x) => v.split(',').includes(typeof x === 'string' ? x : x.name)) : all;
};
const cases = only('cases', CASES);
const peers = only('peers', PEERS);
// `--set k=v,...` overrides case parameters (sizes, counts) where a case has
// them; `cc` (this project's ccAlgorithm, gtls's --cc: cubic, reno, bbr) applies to every
// case.
const EVERY_CASE = new Set(['cc']);
const SET = Object.fromEntries((optString('set', '') || '').split(',').filter(Boolean).map((kv) => {
  const [k, v] = kv.split('=');
  return [k, EVERY_CASE.has(k) ? v : Number(v)];
}));
const complete = !QUICK && cases.length === CASES.length && peers.length === PEERS.length && Object.keys(SET).length === 0;
const OUT = optString('out', path.join(__dirname, 'results', complete ? 'latest.json' : 'tmp/last-run.json'));

// The npm peers live in bench/node_modules, installed on demand.
function installPeers() {
  const need = peers.some((p) => p === 'libp2p-quic' || p === 'matrixai-quic');
  const have = ['@matrixai/quic', '@chainsafe/libp2p-quic', '@libp2p/crypto', '@matrixai/logger']
    .every((p) => fs.existsSync(path.join(__dirname, 'node_modules', p, 'package.json')));
  if (!need || have) return;
  console.log('installing the npm peers: npm --prefix bench install');
  try {
    execFileSync('npm', ['--prefix', __dirname, 'install', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  } catch (err) {
    console.log(`npm install failed (${err.message}); those peers will report why they cannot run`);
  }
}

// The driver running now: stopped (and it stops what it started) if this
// process is interrupted.
let current = null;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (current) current.kill('SIGTERM');
    process.exit(1);
  });
}

function runOne(peer, c, params) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'driver.js'), peer, c.name, JSON.stringify(params)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    current = child;
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => {
      current = null;
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) resolve(JSON.parse(line.slice(7)));
      else {
        // The error's own lines, not its stack.
        const lines = err.trim().split('\n').filter((l) => l && !/^\s+at /.test(l));
        resolve({ error: `exit ${code}: ${(lines.slice(-3).join(' | ') || 'no output').slice(0, 300)}` });
      }
    });
  });
}

const fmt = (v) => (v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toPrecision(2));

async function main() {
  installPeers();
  const report = { date: new Date().toISOString(), node: process.version, quick: QUICK, runs: RUNS, cases: [], notes: {} };
  for (const c of cases) {
    const params = { ...(QUICK ? c.quick : c.full) };
    for (const k of Object.keys(SET)) if (k in params || EVERY_CASE.has(k)) params[k] = SET[k];
    const samples = Object.fromEntries(peers.map((p) => [p, []]));
    const status = {};
    for (let run = 0; run < RUNS; run++) {
      // One run of each implementation in turn, so machine noise hits all alike.
      for (const p of peers) {
        if (status[p]) continue;
        // A seeded case (the relay's) takes seed + run, the same for every
        // implementation in a run: each run its own loss pattern, met by all.
        const r = await runOne(p, c, 'seed' in params ? { ...params, seed: params.seed + run } : params);
        if (r.cannot) status[p] = { cannot: r.cannot };
        else if (r.error) status[p] = { error: r.error };
        else samples[p].push(r);
        process.stdout.write(`  ${c.name} run ${run + 1}/${RUNS} ${p}: ` +
          `${r.cannot ? `cannot run: ${r.cannot}` : r.error ? `failed: ${r.error}` : `${fmt(r.value)} ${c.unit}`}\n`);
      }
    }
    const entry = { name: c.name, unit: c.unit, higherIsBetter: c.higherIsBetter, params, results: {}, extra: {} };
    if (c.comparable === false) entry.comparable = false;
    for (const p of peers) {
      if (samples[p].length === 0 || status[p]) {
        if (status[p]) report.notes[`${c.name}/${p}`] = status[p].cannot ? `cannot run: ${status[p].cannot}` : `failed: ${status[p].error}`;
        continue;
      }
      entry.results[p] = Number(median(samples[p].map((s) => s.value)).toPrecision(5));
      const keys = Object.keys(samples[p][0].extra || {});
      if (keys.length) {
        entry.extra[p] = Object.fromEntries(keys.map((k) => [k, Number(median(samples[p].map((s) => s.extra[k])).toPrecision(5))]));
      }
    }
    if (Object.keys(entry.extra).length === 0) delete entry.extra;
    report.cases.push(entry);
  }
  printTable(report);
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), OUT)}`);
}

// Ratio = this project's median / the peer's median, turned so that above 1
// always means this project is better (for lower-is-better cases, peer / this).
function ratio(entry, p, key) {
  const pick = (who) => (key ? entry.extra && entry.extra[who] && entry.extra[who][key] : entry.results[who]);
  const a = pick('this');
  const b = pick(p);
  if (a === undefined || b === undefined || a === 0 || b === 0) return undefined;
  return entry.higherIsBetter ? a / b : b / a;
}

function printTable(report) {
  const others = peers.filter((p) => p !== 'this');
  const header = ['case', 'unit', 'this', ...others.flatMap((p) => [p, 'ratio'])];
  const rows = [];
  const cell = (e, p, key) => {
    if (key && key.noRatio) return '';
    const r = ratio(key ? { ...e, higherIsBetter: key.higherIsBetter } : e, p, key && key.key);
    if (r === undefined) return '';
    return e.comparable === false ? 'n/c' : `${r.toFixed(2)}x`;
  };
  for (const e of report.cases) {
    rows.push([e.name, e.unit, fmt(e.results.this), ...others.flatMap((p) => [fmt(e.results[p]), cell(e, p)])]);
    const c = CASES.find((x) => x.name === e.name);
    for (const k of (c && c.secondary) || []) {
      const v = (p) => (e.results[p] === undefined || !e.extra || !e.extra[p] ? undefined : e.extra[p][k.key]);
      rows.push(['', k.unit, fmt(v('this')), ...others.flatMap((p) => [fmt(v(p)), cell(e, p, k)])]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((x, i) => x.padEnd(widths[i])).join('  ');
  console.log(`\n${report.quick ? 'QUICK (harness check, not figures) ' : ''}medians of ${report.runs} run(s), ${report.node}; ratio > 1: this project is better`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  if (report.cases.some((e) => e.comparable === false)) {
    console.log('\nn/c: not comparable (each implementation dropped with its own knob, not the same loss); see the relay-* cases');
  }
  const notes = Object.entries(report.notes);
  if (notes.length) {
    console.log('\nnot measured:');
    for (const [k, v] of notes) console.log(`  ${k}: ${v}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

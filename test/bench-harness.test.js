'use strict';
// The benchmark harness really measures this package: each case runs once at
// a tiny size in its own processes, and its result must count what the case
// asked for (bytes moved, requests answered, streams echoed, handshakes,
// datagrams) and give a rate that is that count over the time it reports.
// Then bench/run.js itself, end to end, on two small cases: the JSON report
// and the table. No figure is compared with a target: speed lives in bench/.
// The server cases (gtlsclient as the load) and the relay cases also run for
// gtls, whose programs measure themselves.
const test = require('node:test');
const assert = require('node:assert');
const { execFile, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const bench = path.join(__dirname, '..', 'bench');
const driver = path.join(bench, 'driver.js');
const { CASES } = require('../bench/cases');

function run(args, timeout = 60000) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

async function measure(peer, name, params) {
  const { stdout } = await run([driver, peer, name, JSON.stringify(params)]);
  const lines = stdout.split('\n').filter((l) => l.startsWith('RESULT '));
  assert.strictEqual(lines.length, 1, `one RESULT line:\n${stdout}`);
  return JSON.parse(lines[0].slice(7));
}

// a equals b up to rounding (relative).
function near(a, b, what, rel = 1e-9) {
  assert.ok(Number.isFinite(a) && Number.isFinite(b), `${what}: ${a} vs ${b}`);
  assert.ok(Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)), `${what}: ${a} is not ${b}`);
}

const positive = (x, what) => assert.ok(Number.isFinite(x) && x > 0, `${what}: ${x}`);

// A throughput result: `value` is `count` things over `extra.seconds`.
function assertRate(r, count, what) {
  positive(r.extra.seconds, `${what} seconds`);
  positive(r.value, `${what} rate`);
  near(r.value, count / r.extra.seconds, `${what} rate = count / seconds`);
}

const MB = 1024 * 1024;

function assertBulk(r, mb) {
  assert.strictEqual(r.extra.bytes, mb * MB, 'every byte arrived');
  assert.strictEqual(r.extra.mb, mb);
  assertRate(r, mb, 'MB/s');
  positive(r.extra.cpuSecondsPerGB, 'CPU s/GB');
}

// Through the relay: every byte arrived (the driver also checked their
// SHA-256), and the relay's counts are those of a lossy path.
function assertRelayed(r, p) {
  assert.strictEqual(r.extra.bytes, p.mb * MB, 'every byte arrived');
  assert.strictEqual(r.extra.mb, p.mb);
  assertRate(r, p.mb, 'MB/s');
  positive(r.extra.datagrams, 'datagrams through the relay');
  if (p.drop > 0) positive(r.extra.dropped, 'datagrams dropped');
  near(r.extra.lossRatio, (r.extra.dropped + r.extra.kernelDrops) / (r.extra.datagrams + r.extra.kernelDrops),
       'real loss = dropped / seen', 1e-6);
  assert.ok(r.extra.relayCpuShare >= 0, `relay CPU share ${r.extra.relayCpuShare}`);
}

// Under gtlsclient load: every request answered (gtls-load.js checked each
// 100-byte body), and the server's CPU per 1,000 requests.
function assertServerLoad(r, p) {
  assert.strictEqual(r.extra.requests, p.requests, 'every request answered');
  assertRate(r, p.requests, 'req/s');
  positive(r.extra.serverCpuPer1k, 'server CPU s/1k');
}

// One port served by 1 and then 2 threads or processes, in one run: the
// figure is the run with 2, and beside it the run with 1, their ratio, and
// the server's CPU per 1,000 with each and its ratio.
function assertShared(r, count, what) {
  assertRate(r, count, what);
  positive(r.extra.rate1, `${what} with 1`);
  near(r.extra.ratio, r.value / r.extra.rate1, 'ratio 2/1');
  positive(r.extra.serverCpuPer1k, 'server CPU s/1k with 2');
  positive(r.extra.serverCpuPer1k1, 'server CPU s/1k with 1');
  near(r.extra.cpuRatio, r.extra.serverCpuPer1k / r.extra.serverCpuPer1k1, 'CPU per request 2/1');
}

// The server cases' load is gtlsclient; gtls's own cases need its programs too.
const hasGtls = ['gtlsclient', 'gtlsserver'].every((prog) => spawnSync('sh', ['-c', `command -v ${prog}`]).status === 0);
const needsGtls = (name) => name.startsWith('h3-server-') || name.startsWith('shared-h3-');

// Each case at a tiny size, and what its result must say.
const cases = [
  // By default, loopback-sized packets (the route to a peer on this host);
  // held to 1452, path MTU discovery stops at ngtcp2's 1444.
  ['bulk-up', { mb: 1, path: 'loopback' }, (r, p) => { assertBulk(r, p.mb); assert.strictEqual(r.extra.packetSize, 65488); }],
  ['bulk-down', { mb: 1, path: 'loopback' }, (r, p) => { assertBulk(r, p.mb); assert.strictEqual(r.extra.packetSize, 65488); }],
  ['bulk-up-1452', { mb: 1, payload: 1452 }, (r, p) => { assertBulk(r, p.mb); assert.strictEqual(r.extra.packetSize, 1444); }],
  ['bulk-down-1452', { mb: 1, payload: 1452 }, (r, p) => { assertBulk(r, p.mb); assert.strictEqual(r.extra.packetSize, 1444); }],
  ['bulk-loss-1', { mb: 0.25, payload: 1452, loss: 0.01 }, (r, p) => assertBulk(r, p.mb)],
  ['handshakes', { count: 3 }, (r, p) => {
    assert.strictEqual(r.extra.handshakes, p.count);
    assertRate(r, p.count, 'handshakes/s');
  }],
  ['handshakes-resumed', { count: 3 }, (r, p) => {
    // The sessions really resume (the peer checks earlyData first, or says it cannot).
    assert.strictEqual(r.cannot, undefined, r.cannot);
    assert.strictEqual(r.extra.handshakes, p.count);
    assertRate(r, p.count, 'handshakes/s');
  }],
  ['h3-requests-10conn', { requests: 40, conns: 2, inflight: 4 }, (r, p) => {
    assert.strictEqual(r.extra.requests, p.requests, 'every request answered');
    // The server answers each request with a 100-byte body.
    assert.strictEqual(r.extra.responseBytes, p.requests * 100);
    assertRate(r, p.requests, 'req/s');
    positive(r.extra.p50ms, 'p50');
    assert.ok(r.extra.p99ms >= r.extra.p50ms, `p99 ${r.extra.p99ms} < p50 ${r.extra.p50ms}`);
  }],
  ['streams', { streams: 40, inflight: 10 }, (r, p) => {
    assert.strictEqual(r.extra.streams, p.streams, 'every stream echoed');
    assertRate(r, p.streams, 'streams/s');
  }],
  ['datagrams', { count: 50, size: 1000 }, (r, p) => {
    assert.strictEqual(r.extra.sent, p.count);
    assert.ok(r.extra.received > 0 && r.extra.received <= p.count, `received ${r.extra.received}`);
    near(r.extra.lossRatio, 1 - r.extra.received / p.count, 'loss ratio');
    assertRate(r, r.extra.received, 'datagrams/s');
  }],
  ['mem-idle-conn', { conns: 5 }, (r, p) => {
    assert.strictEqual(r.extra.conns, p.conns, 'the connections were open together');
    near(r.value, r.extra.clientKB + r.extra.serverKB, 'KB/conn = client + server');
    // The native count moved: each open connection holds memory in C.
    positive(r.extra.liveKB, 'native KB/conn');
  }],
  ['mem-stalled-reader', { mb: 4, seconds: 0.3 }, (r) => {
    assert.ok(r.value >= 0 && r.extra.clientMB >= 0 && r.extra.serverMB >= 0, JSON.stringify(r));
    near(r.value, r.extra.clientMB + r.extra.serverMB, 'MB = client + server');
  }],
  ['relay-mix', { mb: 0.25, seed: 1, drop: 0.1, dup: 0.02, reorder: 0.05, corrupt: 0.01 }, assertRelayed],
  ['wt-stream', { mb: 1 }, (r, p) => assertBulk(r, p.mb)],
  ['wt-datagrams', { count: 50, size: 1000 }, (r, p) => {
    // The client never lets the session's queue overflow: all 50 are sent.
    assert.strictEqual(r.extra.sent, p.count);
    assert.ok(r.extra.received > 0 && r.extra.received <= p.count, `received ${r.extra.received}`);
    near(r.extra.lossRatio, 1 - r.extra.received / p.count, 'loss ratio');
    assertRate(r, r.extra.received, 'datagrams/s');
  }],
  ['h3-server-4x50', { requests: 40, clients: 2, inflight: 4 }, assertServerLoad],
  ['shared-h3-threads', { requests: 40, clients: 2, inflight: 4 }, (r, p) => {
    assert.strictEqual(r.extra.requests, p.requests, 'every request answered');
    assertShared(r, p.requests, 'req/s');
  }],
  ['shared-h3-procs', { requests: 40, clients: 2, inflight: 4 }, (r, p) => {
    assert.strictEqual(r.extra.requests, p.requests, 'every request answered');
    assertShared(r, p.requests, 'req/s');
  }],
  ['shared-hs-threads', { count: 8, clients: 2, concurrency: 2 }, (r, p) => {
    assert.strictEqual(r.extra.handshakes, p.count);
    assertShared(r, p.count, 'handshakes/s');
  }],
  ['shared-hs-procs', { count: 8, clients: 2, concurrency: 2 }, (r, p) => {
    assert.strictEqual(r.extra.handshakes, p.count);
    assertShared(r, p.count, 'handshakes/s');
  }],
];

test('every case in bench/cases.js is exercised here', () => {
  const here = new Set(cases.map(([name]) => name));
  // These differ from a case above only in parameters.
  const same = ['bulk-loss-5', 'h3-requests-c50', 'relay-clean', 'relay-loss-1', 'relay-loss-5', 'h3-server-10x10'];
  const missing = CASES.map((c) => c.name).filter((n) => !here.has(n) && !same.includes(n));
  assert.deepStrictEqual(missing, []);
});

for (const [name, params, check] of cases) {
  const skip = needsGtls(name) && !hasGtls && 'gtlsclient is not installed';
  test(`bench case ${name} measures what it asked for (this package)`, { skip }, async () => {
    const r = await measure('this', name, params);
    assert.strictEqual(r.cannot, undefined, r.cannot);
    assert.strictEqual(r.error, undefined, r.error);
    assert.deepStrictEqual(Object.keys(r).sort(), ['extra', 'value']);
    check(r, params);
  });
}

test('bench peer node-tls measures bulk-down beside it', async () => {
  const r = await measure('node-tls', 'bulk-down', { mb: 1 });
  assertBulk(r, 1);
});

for (const [name, params, check] of [['relay-loss-1', { mb: 1, seed: 1, drop: 0.01 }, assertRelayed],
  ['h3-server-10x10', { requests: 40, clients: 2, inflight: 4 }, assertServerLoad]]) {
  test(`bench peer gtls measures ${name} through the same harness`, { skip: !hasGtls && 'gtlsserver/gtlsclient are not installed' }, async () => {
    const r = await measure('gtls', name, params);
    assert.deepStrictEqual(Object.keys(r).sort(), ['extra', 'value'], JSON.stringify(r));
    check(r, params);
  });
}

test('a case a peer cannot run says why, as a result (not a failure)', async () => {
  const r = await measure('node-tls', 'datagrams', { count: 5, size: 1000 });
  assert.deepStrictEqual(Object.keys(r), ['cannot']);
  assert.match(r.cannot, /datagram/);
});

test('bench/run.js --quick: the JSON report and the table', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-bench-'));
  try {
    const out = path.join(dir, 'report.json');
    const { stdout } = await run([path.join(bench, 'run.js'), '--quick', '--cases', 'handshakes,datagrams',
      '--peers', 'this,node-tls', '--set', 'count=20', '--out', out], 120000);
    const report = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.deepStrictEqual(Object.keys(report).sort(), ['cases', 'date', 'node', 'notes', 'quick', 'runs']);
    assert.ok(!Number.isNaN(Date.parse(report.date)), report.date);
    assert.strictEqual(report.node, process.version);
    assert.strictEqual(report.quick, true);
    assert.strictEqual(report.runs, 1);
    assert.deepStrictEqual(report.cases.map((c) => c.name), ['handshakes', 'datagrams']);

    const [hs, dg] = report.cases;
    // --set count=20 reached both cases; --quick kept datagrams' quick size.
    assert.deepStrictEqual(hs.params, { count: 20 });
    assert.deepStrictEqual(dg.params, { count: 20, size: CASES.find((c) => c.name === 'datagrams').quick.size });
    assert.strictEqual(hs.unit, 'handshakes/s');
    assert.strictEqual(hs.higherIsBetter, true);
    // Both implementations measured handshakes; the medians of one run are
    // that run's figures (rounded to 5 significant digits).
    assert.deepStrictEqual(Object.keys(hs.results).sort(), ['node-tls', 'this']);
    for (const p of ['this', 'node-tls']) {
      positive(hs.results[p], `${p} handshakes/s`);
      assert.strictEqual(hs.extra[p].handshakes, 20);
      near(hs.results[p], 20 / hs.extra[p].seconds, `${p} handshakes/s = 20 / seconds`, 1e-4);
    }
    // Datagrams: this package only; node-tls has none, and the notes say so.
    assert.deepStrictEqual(Object.keys(dg.results), ['this']);
    assert.strictEqual(dg.extra.this.sent, 20);
    assert.ok(dg.extra.this.received > 0 && dg.extra.this.received <= 20);
    assert.match(report.notes['datagrams/node-tls'], /^cannot run: .*datagram/);
    assert.deepStrictEqual(Object.keys(report.notes), ['datagrams/node-tls']);

    // The table: a header naming the peers, a row per case with this
    // package's figure and the ratio beside node-tls.
    assert.match(stdout, /^QUICK \(harness check, not figures\) medians of 1 run\(s\)/m);
    assert.match(stdout, /^case\s+unit\s+this\s+node-tls\s+ratio\s*$/m);
    const row = stdout.split('\n').find((l) => l.startsWith('handshakes '));
    assert.ok(row, stdout);
    const ratio = hs.results.this / hs.results['node-tls'];
    assert.match(row, new RegExp(`\\s${ratio.toFixed(2).replace('.', '\\.')}x\\s*$`));
    assert.match(stdout, /^datagrams\s+datagrams\/s\s+\d/m);
    assert.match(stdout, /^not measured:\n\s+datagrams\/node-tls: cannot run:/m);
    assert.match(stdout, new RegExp(`wrote .*${path.basename(out)}`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

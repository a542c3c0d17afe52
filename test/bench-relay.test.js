'use strict';
// The benchmarks' loss relay (bench/relay.c) does what it says. Numbered
// datagrams go through it both ways on loopback; a model of its documented
// rules, fed the same seed, says which datagram must be dropped, corrupted
// (and at which byte), duplicated and held back, and so the exact sequence
// each side must receive. Its printed counts must match the model, what
// arrived, and (roughly) the probabilities asked for.
const test = require('node:test');
const assert = require('node:assert');
const dgram = require('node:dgram');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const relay = require('../bench/relay');

// --- the model: the relay's random stream and rules, in BigInt ----------------

const M64 = (1n << 64n) - 1n;
function splitmix64(state) {
  state.s = (state.s + 0x9e3779b97f4a7c15n) & M64;
  let z = state.s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}
const unit = (x) => Number(x >> 11n) * 2 ** -53;

// The streams of both directions for a seed (c2s first, as the relay derives them).
function streams(seed) {
  const s = { s: BigInt(seed) };
  return [{ s: splitmix64(s) }, { s: splitmix64(s) }];
}

// What the relay must send for `lens` (datagram lengths in arrival order):
// a list of { i, corruptAt, corruptXor, sentBy } in sending order (sentBy:
// the number of datagrams in by the time it leaves), and the counts. Held
// datagrams still waiting at the end leave on their timer, in order.
function model(rng, lens, p, k) {
  const out = [];
  const hold = [];
  const counts = { in: 0, dropped: 0, corrupted: 0, duplicated: 0, reordered: 0 };
  let sent = 0;
  const push = (d, sentBy) => {
    for (let c = 0; c < d.copies; c++) out.push({ i: d.i, corruptAt: d.corruptAt, corruptXor: d.corruptXor, sentBy });
  };
  lens.forEach((len, i) => {
    counts.in++;
    const rDrop = splitmix64(rng);
    const rCorrupt = splitmix64(rng);
    const rDup = splitmix64(rng);
    const rReorder = splitmix64(rng);
    if (unit(rDrop) < (p.drop || 0)) {
      counts.dropped++;
      return;
    }
    const d = { i, copies: 1, corruptAt: -1, corruptXor: 0 };
    if (unit(rCorrupt) < (p.corrupt || 0) && len > 0) {
      d.corruptAt = Number(rCorrupt & 0xffffffffn) % len;
      d.corruptXor = 1 + Number((rCorrupt >> 32n) % 255n);
      counts.corrupted++;
    }
    if (unit(rDup) < (p.dup || 0)) {
      d.copies = 2;
      counts.duplicated++;
    }
    if (unit(rReorder) < (p.reorder || 0)) {
      d.releaseAfter = sent + k;
      hold.push(d);
      counts.reordered++;
      return;
    }
    push(d, i + 1);
    sent++;
    while (hold.length && hold[0].releaseAfter <= sent) push(hold.shift(), i + 1);
  });
  while (hold.length) push(hold.shift(), Infinity);
  return { out, counts };
}

// --- numbered datagrams -------------------------------------------------------

// Datagram i: its number, the number's complement (so a flipped byte in one
// still leaves the other), then bytes that depend on both i and the offset.
// (The train test sets one size for most, so that duplicates leave as
// trains, and a shorter one every fifth, which ends a train.)
let fixedLen = 0;
const lenOf = (i) => (fixedLen ? (i % 5 === 4 ? fixedLen >> 1 : fixedLen) : 40 + (i * 7) % 200);
function payload(i) {
  const b = Buffer.alloc(lenOf(i));
  b.writeUInt32LE(i, 0);
  b.writeUInt32LE(~i >>> 0, 4);
  for (let j = 8; j < b.length; j++) b[j] = (i * 31 + j * 7) & 0xff;
  return b;
}

// Which datagram `b` is, and which single byte (if any) differs from it.
function identify(b, n) {
  for (const i of [b.readUInt32LE(0), ~b.readUInt32LE(4) >>> 0]) {
    if (i >= n || lenOf(i) !== b.length) continue;
    const want = payload(i);
    const diff = [];
    for (let j = 0; j < b.length && diff.length < 2; j++) if (b[j] !== want[j]) diff.push(j);
    if (diff.length === 0) return { i, corruptAt: -1, corruptXor: 0 };
    if (diff.length === 1) return { i, corruptAt: diff[0], corruptXor: b[diff[0]] ^ want[diff[0]] };
  }
  return null;
}

function waitUntil(cond, ms, what) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (cond()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 2);
    };
    tick();
  });
}

async function bindSocket(family, address) {
  const s = dgram.createSocket({ type: family, recvBufferSize: 1 << 20 });
  await new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, address, resolve);
  });
  return s;
}

// Sends `n` numbered datagrams from `from` to `to` in batches, each batch
// waiting until what the model says has arrived by then (so no socket queue
// ever overflows). Resolves when everything expected has arrived.
async function sendAll(send, got, expected, n, batch = 50) {
  // (`expected` entries carry sentBy: how many datagrams must be in first.)
  for (let i = 0; i < n; i += batch) {
    const end = Math.min(n, i + batch);
    for (let j = i; j < end; j++) send(payload(j));
    const due = expected.filter((e) => e.sentBy <= end).length;
    await waitUntil(() => got.length >= due, 5000, `${due} datagrams (${got.length} arrived)`);
  }
}

// Runs n1 datagrams client to server and n2 server to client through a relay.
// With `chain`, a second relay with no fates sits between the first and the
// server: it reads the first one's GSO trains with GRO and splits them.
async function through({ family = 'udp4', address = '127.0.0.1', seed = 1, c2s = {}, s2c = {}, k = 3, reorderMs = 1000,
  gso = true, chain = false, n1, n2 }) {
  const server = await bindSocket(family, address);
  const client = await bindSocket(family, address);
  const atServer = [];
  const atClient = [];
  let upstream = null; // the relay's address towards the server
  server.on('message', (m, rinfo) => {
    upstream = upstream || rinfo;
    atServer.push(m);
  });
  client.on('message', (m) => atClient.push(m));
  // Held datagrams go on their timer only at the very end (1 s is far longer
  // than any batch takes), so the model's order is exact.
  const second = chain ? await relay.start({ address, port: server.address().port }, { seed: 99, idleMs: 20000, maxMs: 60000 }) : null;
  const r = await relay.start({ address, port: second ? second.port : server.address().port },
                              { seed, c2s, s2c, reorderK: k, reorderMs, gso, idleMs: 20000, maxMs: 60000 });
  try {
    const [rc, rs] = streams(seed);
    const lens = (n) => Array.from({ length: n }, (_, i) => lenOf(i));
    const expectC2s = model(rc, lens(n1), c2s, k);
    const expectS2c = model(rs, lens(n2), s2c, k);
    await sendAll((b) => client.send(b, r.port, address), atServer, expectC2s.out, n1);
    // The last held datagrams leave on their timer.
    await waitUntil(() => atServer.length >= expectC2s.out.length, 5000, 'the held datagrams');
    if (n2) {
      assert.ok(upstream, 'no datagram reached the server');
      await sendAll((b) => server.send(b, upstream.port, upstream.address), atClient, expectS2c.out, n2);
      await waitUntil(() => atClient.length >= expectS2c.out.length, 5000, 'the held datagrams');
    }
    await sleep(50); // anything beyond the expected would show up now
    const counts = await r.stop();
    const secondCounts = second ? await second.stop() : null;
    return { counts, secondCounts, atServer, atClient, expectC2s, expectS2c };
  } finally {
    await r.kill();
    if (second) await second.kill();
    server.close();
    client.close();
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The received sequence, each datagram identified.
function decode(received, n) {
  return received.map((b) => {
    const d = identify(b, n);
    assert.ok(d, `a datagram of ${b.length} bytes matches no number`);
    return d;
  });
}

// Counts seen at the receiving end: distinct numbers, duplicates, corrupted
// numbers, numbers that arrived after a higher one.
function observed(seq) {
  const seen = new Map();
  let outOfOrder = 0;
  let max = -1;
  for (const d of seq) {
    if (!seen.has(d.i)) {
      if (d.i < max) outOfOrder++;
      max = Math.max(max, d.i);
      seen.set(d.i, { copies: 0, corrupted: d.corruptAt >= 0 });
    }
    seen.get(d.i).copies++;
  }
  const v = [...seen.values()];
  return {
    distinct: seen.size,
    twice: v.filter((x) => x.copies === 2).length,
    corrupted: v.filter((x) => x.corrupted).length,
    outOfOrder,
  };
}

function checkDirection(name, got, expect, printed, n, p) {
  const seq = decode(got, n);
  // Exactly the model's sequence: the same numbers, in the same order, with
  // the same byte flipped by the same value.
  assert.deepStrictEqual(seq, expect.out.map(({ i, corruptAt, corruptXor }) => ({ i, corruptAt, corruptXor })),
                         `${name}: the received sequence differs from the model's`);
  for (const k of ['in', 'dropped', 'corrupted', 'duplicated', 'reordered']) {
    assert.strictEqual(printed[k], expect.counts[k], `${name}: printed ${k}`);
  }
  assert.strictEqual(printed.in, n);
  assert.strictEqual(printed.out, got.length, `${name}: printed out`);
  assert.strictEqual(printed.unsent, 0);
  assert.strictEqual(printed.sendErrors, 0);
  assert.strictEqual(printed.kernelDrops, 0);
  assert.strictEqual(printed.holdFull, 0);
  assert.strictEqual(printed.bytesOut, got.reduce((a, b) => a + b.length, 0));
  // What the receiver saw on its own agrees with the printed counts.
  const o = observed(seq);
  assert.strictEqual(o.distinct, printed.in - printed.dropped, `${name}: distinct numbers received`);
  assert.strictEqual(o.twice, printed.duplicated, `${name}: duplicates received`);
  assert.strictEqual(o.corrupted, printed.corrupted, `${name}: corrupted numbers received`);
  // A held datagram arrives after a higher one, unless it left on its timer
  // at the end with nothing sent after it.
  const atEnd = new Set(expect.out.filter((d) => d.sentBy === Infinity).map((d) => d.i)).size;
  assert.ok(o.outOfOrder <= printed.reordered && o.outOfOrder >= printed.reordered - atEnd,
            `${name}: ${o.outOfOrder} out of order, ${printed.reordered} held back`);
  // And the counts are near the probabilities (within 4.5 standard deviations).
  const near = (count, trials, prob, what) => {
    const sd = Math.sqrt(trials * prob * (1 - prob));
    assert.ok(Math.abs(count - trials * prob) <= 4.5 * sd + 1,
              `${name}: ${what} ${count} of ${trials}, expected about ${(trials * prob).toFixed(0)}`);
  };
  near(printed.dropped, n, p.drop || 0, 'dropped');
  const kept = n - printed.dropped;
  near(printed.corrupted, kept, p.corrupt || 0, 'corrupted');
  near(printed.duplicated, kept, p.dup || 0, 'duplicated');
  near(printed.reordered, kept, p.reorder || 0, 'held back');
}

test('relay.c compiles without warnings (C11, -Wall -Wextra -Werror)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-build-'));
  try {
    for (const cc of ['cc', 'clang']) {
      if (cc === 'clang' && spawnSync('sh', ['-c', 'command -v clang'], { stdio: 'ignore' }).status !== 0) continue;
      relay.build({ cc, extra: ['-Werror', '-Wpedantic'], out: path.join(dir, `relay-${cc}`) });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

for (const [family, address] of [['udp4', '127.0.0.1'], ['udp6', '::1']]) {
  test(`with every probability 0, each datagram arrives once, intact and in order (${address})`, async () => {
    const n = 500;
    const { counts, atServer, atClient } = await through({ family, address, seed: 7, n1: n, n2: n });
    for (const [name, got] of [['c2s', atServer], ['s2c', atClient]]) {
      assert.strictEqual(got.length, n, name);
      got.forEach((b, i) => assert.ok(b.equals(payload(i)), `${name}: datagram ${i}`));
      const c = counts[name];
      assert.deepStrictEqual([c.in, c.out, c.dropped, c.duplicated, c.reordered, c.corrupted, c.kernelDrops],
                             [n, n, 0, 0, 0, 0, 0], name);
    }
    assert.strictEqual(counts.clients, 1);
  });
}

for (const gso of [true, false]) {
  test(`drops, duplicates, reorders and corrupts as its seed says, and counts it (${gso ? 'GSO trains' : '--no-gso'})`, async () => {
    const c2s = { drop: 0.1, dup: 0.05, reorder: 0.08, corrupt: 0.05 };
    const s2c = { drop: 0.05, dup: 0.1, reorder: 0.05, corrupt: 0.02 };
    const n1 = 2000;
    const n2 = 1000;
    const r = await through({ seed: 42, c2s, s2c, gso, n1, n2 });
    assert.strictEqual(r.counts.seed, 42);
    checkDirection('c2s', r.atServer, r.expectC2s, r.counts.c2s, n1, c2s);
    checkDirection('s2c', r.atClient, r.expectS2c, r.counts.s2c, n2, s2c);
    if (!gso) assert.strictEqual(r.counts.c2s.trainsOut + r.counts.s2c.trainsOut, 0);
  });
}

test('trains: GSO out of one relay, GRO into the next, split into the same datagrams', async () => {
  // One size for all, and many duplicates (two copies leave as a train of two).
  fixedLen = 1200;
  try {
    const c2s = { drop: 0.1, dup: 0.5, reorder: 0.05, corrupt: 0.05 };
    const s2c = { drop: 0.05, dup: 0.5, reorder: 0.05, corrupt: 0.05 };
    const r = await through({ seed: 5, c2s, s2c, chain: true, n1: 600, n2: 600 });
    checkDirection('c2s', r.atServer, r.expectC2s, r.counts.c2s, 600, c2s);
    checkDirection('s2c', r.atClient, r.expectS2c, r.counts.s2c, 600, s2c);
    // The first relay sent trains; the second read them as trains, and
    // passed every datagram in them on untouched.
    const a = r.counts;
    const b = r.secondCounts;
    assert.ok(a.c2s.trainsOut > 0 && b.c2s.trainsIn > 0, `c2s trains: ${a.c2s.trainsOut} out, ${b.c2s.trainsIn} in`);
    assert.ok(b.s2c.trainsOut > 0 && a.s2c.trainsIn > 0, `s2c trains: ${b.s2c.trainsOut} out, ${a.s2c.trainsIn} in`);
    assert.strictEqual(b.c2s.in, a.c2s.out);
    assert.strictEqual(b.c2s.out, b.c2s.in);
    assert.strictEqual(a.s2c.in, b.s2c.out);
  } finally {
    fixedLen = 0;
  }
});

test('held datagrams with nothing after them leave on their timer, in order', async () => {
  const n = 20;
  const t0 = Date.now();
  const r = await through({ seed: 3, c2s: { reorder: 1 }, reorderMs: 200, n1: n, n2: 0 });
  assert.ok(Date.now() - t0 >= 200);
  assert.strictEqual(r.counts.c2s.reordered, n);
  assert.strictEqual(r.counts.c2s.out, n);
  r.atServer.forEach((b, i) => assert.ok(b.equals(payload(i)), `datagram ${i}`));
});

test('another seed gives other fates', async () => {
  const c2s = { drop: 0.2 };
  const a = await through({ seed: 1, c2s, n1: 300, n2: 0 });
  const b = await through({ seed: 2, c2s, n1: 300, n2: 0 });
  const nums = (r) => decode(r.atServer, 300).map((d) => d.i).join();
  assert.notStrictEqual(nums(a), nums(b));
  assert.strictEqual(nums(a), a.expectC2s.out.map((d) => d.i).join());
  assert.strictEqual(nums(b), b.expectC2s.out.map((d) => d.i).join());
});

test('it stops by itself when idle and at its time limit, and refuses other addresses', async () => {
  const idle = await relay.start({ address: '127.0.0.1', port: 9 }, { idleMs: 150, maxMs: 10000 });
  const t0 = Date.now();
  const a = await idle.wait();
  assert.strictEqual(a.reason, 'idle');
  assert.ok(Date.now() - t0 < 5000);
  const limited = await relay.start({ address: '127.0.0.1', port: 9 }, { idleMs: 10000, maxMs: 150 });
  const b = await limited.wait();
  assert.strictEqual(b.reason, 'max-time');
  for (const bad of [['--listen', '10.0.0.1:0', '--server', '127.0.0.1:9'],
    ['--listen', '127.0.0.1:0', '--server', '192.0.2.1:9'],
    ['--listen', '[2001:db8::1]:0', '--server', '[::1]:9']]) {
    const r = spawnSync(relay.BINARY, bad, { encoding: 'utf8', timeout: 5000 });
    assert.strictEqual(r.status, 2, bad.join(' '));
    assert.match(r.stderr, /not a loopback address/);
  }
});

test('the binary the bench builds is the current source', () => {
  relay.build();
  assert.ok(fs.statSync(relay.BINARY).mtimeMs >= fs.statSync(relay.SOURCE).mtimeMs);
  // It answers --help-like misuse with its usage, not a crash.
  let err;
  try {
    execFileSync(relay.BINARY, [], { stdio: 'pipe', timeout: 5000 });
  } catch (e) {
    err = e;
  }
  assert.ok(err && err.status === 2 && /usage: relay/.test(err.stderr.toString()));
});

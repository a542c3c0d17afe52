'use strict';
// Shared by the benchmarks: command-line options, medians, CPU and memory
// readings, payload chunks.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);

// `--name value` as a number, or the default.
function opt(name, dflt) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

// `--name value` as a string, or the default.
function optString(name, dflt) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
}

const flag = (name) => args.includes(`--${name}`);

// The upper median for an even count, so a value is always one that was measured.
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// CPU seconds (user + system) this process has used.
function cpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const rss = () => process.memoryUsage.rss();

// CPU seconds (user + system) of another process, from /proc (Linux).
function cpuOfPid(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

// The same, in nanoseconds from the scheduler (/proc/<pid>/task/*/schedstat,
// summed over the threads) where the kernel has it, with the thread ids:
// finer than cpuOfPid's 10 ms ticks. cpuDelta() takes two readings.
function cpuSampleOfPid(pid) {
  const ticks = cpuOfPid(pid);
  try {
    const tids = fs.readdirSync(`/proc/${pid}/task`);
    let ns = 0;
    for (const t of tids) ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    return { ticks, ns, tids: tids.sort().join() };
  } catch {
    return { ticks, ns: null, tids: null };
  }
}

// CPU seconds between two samples: the scheduler's figure when the same
// threads were there at both (a thread gone would take its time with it),
// else the tick counts.
function cpuDelta(a, b) {
  if (a.ns !== null && b.ns !== null && a.tids === b.tids) return (b.ns - a.ns) / 1e9;
  return b.ticks - a.ticks;
}

function rssOfPid(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

// spawn() in a process group of its own, killed whole (SIGKILL) if this
// process exits first: a wrapper such as time(1) does not pass a kill on to
// the program it runs.
function spawnGroup(cmd, argv, options) {
  const { spawn } = require('node:child_process');
  const child = spawn(cmd, argv, { ...options, detached: true });
  const kill = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', kill);
  child.once('close', () => process.removeListener('exit', kill));
  child.killGroup = kill;
  return child;
}

const now = () => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Rejects if `promise` does not settle within `ms`.
function within(promise, ms, what) {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

// The test helpers (certificates, ready-made endpoints) serve the benches too.
const testCommon = path.join(__dirname, '..', 'test', 'common');
const fixtures = path.join(__dirname, '..', 'test', 'fixtures');
// The test certificates, read without loading the addon (for the TCP peers).
const certs = {
  key: fs.readFileSync(path.join(fixtures, 'server-key.pem')),
  cert: fs.readFileSync(path.join(fixtures, 'server-cert.pem')),
  ca: fs.readFileSync(path.join(fixtures, 'ca.pem')),
};

const CHUNK = Buffer.alloc(256 * 1024, 0x61);

// `total` bytes of payload as 256 KiB chunks; the first chunk starts with `head`.
function* chunks(total, head = null) {
  let sent = 0;
  if (head) {
    yield head;
    sent = head.length;
  }
  while (sent < total) {
    const n = Math.min(CHUNK.length, total - sent);
    yield n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n);
    sent += n;
  }
}

// A Node net/tls/http2 server on a loopback port, as a peer's serve() returns it.
async function listenLocal(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function* asyncChunks(total, head) {
  yield* chunks(total, head);
}

// A payload whose hash shows any byte lost, repeated, moved or changed: a
// 256 KiB block of xorshift32 output, each chunk a fresh copy of it with its
// own index in its first 8 bytes. The same for every peer (the gtls peer
// writes it to the file its server sends).
let patternBlock = null;
function pattern() {
  if (!patternBlock) {
    patternBlock = Buffer.alloc(CHUNK.length);
    let x = 0x9e3779b9;
    for (let i = 0; i < patternBlock.length; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      patternBlock.writeUInt32LE(x >>> 0, i);
    }
  }
  return patternBlock;
}

function* patternChunks(total) {
  const block = pattern();
  for (let off = 0, n = 0; off < total; n++) {
    const len = Math.min(block.length, total - off);
    const c = Buffer.allocUnsafe(len);
    block.copy(c, 0, 0, len);
    if (len >= 8) c.writeBigUInt64BE(BigInt(n), 0);
    yield c;
    off += len;
  }
}

async function* asyncPatternChunks(total) {
  yield* patternChunks(total);
}

// SHA-256 (hex) of patternChunks(total).
function patternHash(total) {
  const h = crypto.createHash('sha256');
  for (const c of patternChunks(total)) h.update(c);
  return h.digest('hex');
}

module.exports = {
  args, opt, optString, flag, median, cpu, rss, spawnGroup, cpuOfPid, cpuSampleOfPid, cpuDelta, rssOfPid, now, sleep, within,
  testCommon, fixtures, certs, CHUNK, chunks, asyncChunks, listenLocal,
  patternChunks, asyncPatternChunks, patternHash,
};

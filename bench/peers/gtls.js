'use strict';
// gtlsserver / gtlsclient: ngtcp2's own example programs over the same
// libraries (ngtcp2, nghttp3, GnuTLS), from Debian's ngtcp2-server and
// ngtcp2-client. C with no JavaScript anywhere: our practical ceiling for
// bulk and HTTP/3 requests. They speak HTTP/3 only, so bulk here is one
// request: a GET of a file (down) or a POST of one (up).
const { spawn, execFileSync } = require('node:child_process');
const dgram = require('node:dgram');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { fixtures, CHUNK, cpuOfPid, median, now, sleep, patternChunks, patternHash, spawnGroup } = require('../common');
const gtlsLoad = require('../gtls-load');
const relays = require('../relay');

const cases = {
  'bulk-up': true,
  'bulk-down': true,
  'bulk-up-1452': true,
  'bulk-down-1452': true,
  handshakes: 'gtlsclient makes one connection per process: the figure would be process start-up',
  'handshakes-resumed': 'gtlsclient makes one connection per process: the figure would be process start-up',
  'h3-requests-c50': true,
  'h3-requests-10conn': true,
  streams: 'the examples carry HTTP/3 only; raw streams are not measurable',
  datagrams: 'the examples send no datagrams',
  'mem-idle-conn': 'gtlsclient makes one connection per process',
  'mem-stalled-reader': 'gtlsclient always reads',
  'bulk-loss-1': true,
  'bulk-loss-5': true,
  'h3-server-4x50': true,
  'h3-server-10x10': true,
  'relay-clean': true,
  'relay-loss-1': true,
  'relay-loss-5': true,
  'relay-mix': true,
};

function unavailable() {
  for (const prog of ['gtlsserver', 'gtlsclient']) {
    try {
      execFileSync('sh', ['-c', `command -v ${prog}`], { stdio: 'ignore' });
    } catch {
      return `${prog} is not installed (Debian ngtcp2-server / ngtcp2-client; scripts/setup-system.sh installs them)`;
    }
  }
  return null;
}

function freeUdpPort() {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// True once something is bound to UDP `port` (from /proc/net/udp).
function udpBound(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  return fs.readFileSync('/proc/net/udp', 'utf8').includes(hex);
}

// Runs gtlsclient; resolves with its wall time and CPU (user+sys, via time(1)).
function runClient(args) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawnGroup('/usr/bin/time', ['-f', 'BENCH-CPU %U %S', 'gtlsclient', '-q', '--exit-on-all-streams-close', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => {
      const secs = now() - t0;
      const m = /BENCH-CPU ([\d.]+) ([\d.]+)/.exec(err);
      if (code !== 0 || !m) reject(new Error(`gtlsclient exited ${code}: ${err.trim().slice(-300)}`));
      else resolve({ secs, cpu: Number(m[1]) + Number(m[2]) });
    });
  });
}

function sha256File(file) {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha256');
    fs.createReadStream(file).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

async function measure(caseName, params) {
  const tmp = path.join(__dirname, '..', 'results', 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const dir = fs.mkdtempSync(path.join(tmp, 'gtls-'));
  // Removed in the finally below, or here if the driver exits first.
  const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const htdocs = path.join(dir, 'htdocs');
  fs.mkdirSync(htdocs);
  // A whole client process is timed, less one that moves nearly nothing: the
  // transfer must be long beside that start-up's jitter (tens of ms), so
  // plain bulk moves at least 64 MB even in --quick.
  if (params.mb && !params.loss && !params.drop && params.mb < 64) params = { ...params, mb: 64 };
  const bytes = (params.mb || 0) * 1024 * 1024;
  const relayed = caseName.startsWith('relay-');
  if (bytes) {
    const fd = fs.openSync(path.join(htdocs, 'blob'), 'w');
    if (relayed) {
      // Through the relay: the bytes whose hash is checked on arrival.
      for (const c of patternChunks(bytes)) fs.writeSync(fd, c);
    } else {
      for (let n = 0; n < bytes; n += CHUNK.length) fs.writeSync(fd, CHUNK, 0, Math.min(CHUNK.length, bytes - n));
    }
    fs.closeSync(fd);
  }
  fs.writeFileSync(path.join(htdocs, 'small'), 'x'.repeat(100));
  const loss = params.loss ? [`--tx-loss=${params.loss}`] : [];
  // Arguments for both ends: `--set cc=...` picks their congestion controller, as it does this project's.
  const bothArgs = params.cc ? [`--cc=${params.cc}`] : [];
  // Packets as large as loopback carries (bulk-up/-down): gtls takes the size
  // as given, without path MTU discovery, so the largest both IPv4 and IPv6
  // loopback carry. A payload given (the -1452 and loss cases) as is.
  const payload = params.path === 'loopback' ? 65488 : params.payload;
  if (payload) bothArgs.push(`--max-udp-payload-size=${Math.min(payload, 65488)}`);
  const client = (args) => runClient([...bothArgs, ...args]);
  // Flow-control windows as large as gtlsclient's own, so the upload is not held to the server's 1 MB default.
  const serverArgs = ['-q', ...bothArgs, '-d', htdocs, '--max-data=24M', '--max-stream-data-bidi-remote=16M'];
  if (caseName.startsWith('h3-')) serverArgs.push(`--max-streams-bidi=${params.inflight}`);
  const servers = [];
  const startServer = async (extra) => {
    const port = await freeUdpPort();
    const child = spawn('gtlsserver', [...serverArgs, ...extra, '127.0.0.1', String(port),
      path.join(fixtures, 'server-key.pem'), path.join(fixtures, 'server-cert.pem')], { stdio: 'ignore' });
    servers.push(child);
    // Also when the driver exits at its time limit, past the finally below.
    process.once('exit', () => child.kill('SIGTERM'));
    for (let i = 0; i < 100 && !udpBound(port); i++) await sleep(20);
    if (!udpBound(port)) throw new Error('gtlsserver did not bind its port');
    return { pid: child.pid, port, base: ['127.0.0.1', String(port)], url: (file) => `https://localhost:${port}/${file}` };
  };
  let relay;
  try {
    const server = await startServer(loss);
    const { base, url } = server;
    // The server cases: several gtlsclient processes, as against any server.
    if (caseName.startsWith('h3-server-')) return await gtlsLoad.load({ port: server.port, pid: server.pid, ...params });
    if (relayed) {
      // As bulk below, the time of a client process less that of one that
      // fetched 100 bytes, here straight from the server (so the relay's
      // random stream is the download's alone); the download's own
      // handshake goes through the relay.
      const empty = [];
      for (let i = 0; i < 3; i++) empty.push(await client([...base, url('small')]));
      relay = await relays.start({ address: '127.0.0.1', port: server.port }, relays.optionsFor(params));
      const dl = path.join(dir, 'download');
      fs.mkdirSync(dl);
      const r = await client([`--download=${dl}`, '127.0.0.1', String(relay.port), url('blob')]);
      const counts = await relay.stop();
      const file = path.join(dl, 'blob');
      const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
      const hash = size === bytes ? await sha256File(file) : null;
      if (size !== bytes || hash !== patternHash(bytes)) {
        throw new Error(`${size} bytes arrived of ${bytes}${size === bytes ? ', and their hash differs' : ''}`);
      }
      const secs = Math.max(r.secs - median(empty.map((e) => e.secs)), 1e-3);
      return { value: params.mb / secs, extra: relays.extraFor(counts, secs, params.mb, size) };
    }
    if (caseName.startsWith('h3-')) {
      const per = Math.ceil(params.requests / params.conns);
      const t0 = now();
      await Promise.all(Array.from({ length: params.conns }, () => client(['-n', String(per), ...base, url('small')])));
      return { value: (per * params.conns) / (now() - t0) };
    }
    // Bulk: one request. What a process that only makes a tiny request costs
    // (start-up, handshake, close) is measured without loss and taken off.
    const plain = loss.length ? await startServer([]) : server;
    const empty = [];
    for (let i = 0; i < 3; i++) empty.push(await client([...plain.base, plain.url('small')]));
    const upArgs = caseName.startsWith('bulk-up') ? ['-m', 'POST', '-d', path.join(htdocs, 'blob'), ...base, url('small')] : null;
    const s0 = cpuOfPid(server.pid);
    const r = await client([...loss, ...(upArgs || [...base, url('blob')])]);
    const serverCpu = cpuOfPid(server.pid) - s0;
    const secs = Math.max(r.secs - median(empty.map((e) => e.secs)), 1e-3);
    const cpu = Math.max(r.cpu - median(empty.map((e) => e.cpu)), 0) + serverCpu;
    return { value: params.mb / secs, extra: { cpuSecondsPerGB: cpu / (params.mb / 1024), seconds: secs, mb: params.mb } };
  } finally {
    if (relay) await relay.kill();
    for (const child of servers) child.kill('SIGTERM');
    removeDir();
    process.removeListener('exit', removeDir);
  }
}

module.exports = { cases, unavailable, measure };

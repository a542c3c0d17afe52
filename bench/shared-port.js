'use strict';
// The shared-port cases (shared-*): one UDP port served by 1 and then 2
// worker threads (endpoint.share() / Endpoint.from()) or 1 and then 2
// processes (the reusePort option), both measured in the same run so their
// ratio is not a comparison across runs. The load comes from other
// processes: gtlsclient (bench/gtls-load.js) for HTTP/3 requests, and
// node clients of this package (this file, --hs-client) for handshakes.
// The server's CPU is read from /proc for every server process (all its
// threads); a reusePort group's keeper process only waits in poll() and is
// not counted.
//   node bench/shared-port.js --server threads <n> <inflight>   (IPC: { port })
//   node bench/shared-port.js --server proc <port> <inflight>   (stdout: ready)
//   node bench/shared-port.js --hs-client <port> <count> <concurrency>
const { fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const { cpuSampleOfPid, cpuDelta, now, sleep, within, testCommon } = require('./common');
const gtlsLoad = require('./gtls-load');

const BODY = 'x'.repeat(100);

// Voluntary context switches of every thread of a process (each is a sleep
// in epoll_wait or a lock, then a wake-up).
function wakeupsOfPid(pid) {
  let n = 0;
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'));
      if (m) n += Number(m[1]);
    }
  } catch {
    // a thread went while it was read
  }
  return n;
}

// A server that answers every request with the 100 bytes gtls-load checks.
// Requests the server has seen, and the JavaScript turns they arrived in
// (one turn: one batch of events from the addon, and its microtasks).
const seen = { requests: 0, turns: 0 };
let inTurn = false;
function listenH3(endpoint, inflight) {
  const { certs } = require(testCommon);
  endpoint.onsession = ({ session }) => {
    session.onstream = ({ respondWith }) => {
      seen.requests++;
      if (!inTurn) {
        inTurn = true;
        seen.turns++;
        queueMicrotask(() => { inTurn = false; });
      }
      try {
        respondWith({ headers: { 'content-type': 'text/plain' }, body: BODY });
      } catch {
        // the client went away
      }
    };
  };
  endpoint.listen({ alpn: 'h3', secure: { key: certs.key, cert: certs.cert },
                    transportParams: { initialMaxStreamsBidi: inflight } });
}

const ENDPOINT = { maxConnectionsPerHost: 10000, maxConnectionsTotal: 10000 };

async function serverMain(mode, arg, inflight) {
  const { quic } = require(testCommon);
  if (mode === 'worker') {
    const { workerData, parentPort } = require('node:worker_threads');
    const endpoint = quic.Endpoint.from(workerData.handle);
    listenH3(endpoint, workerData.inflight);
    parentPort.on('message', () => parentPort.postMessage(packets(endpoint)));
    parentPort.postMessage('ready');
    return;
  }
  if (mode === 'proc') {
    const endpoint = new quic.Endpoint({ ...ENDPOINT, address: { port: arg }, reusePort: true });
    listenH3(endpoint, inflight);
    process.stdout.write(`ready ${endpoint.address.port} ${endpoint.reusePort.worker}\n`);
    // Any input: a line with the packet counts.
    process.stdin.on('data', () => process.stdout.write(`packets ${JSON.stringify(packets(endpoint))}\n`));
    process.stdin.on('end', () => endpoint.close().then(() => process.exit(0)));
    return;
  }
  // threads: the original shares and does not listen; n workers serve.
  const { Worker } = require('node:worker_threads');
  const original = new quic.Endpoint(ENDPOINT);
  const handle = original.share();
  const workers = [];
  for (let i = 0; i < arg; i++) {
    const w = new Worker(__filename, { argv: ['--server', 'worker', '0', '0'], workerData: { handle, inflight } });
    await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    workers.push(w);
  }
  process.on('disconnect', () => process.exit(0));
  // Any message: the workers' packet counts, summed.
  process.on('message', async () => {
    const all = await Promise.all(workers.map((w) => new Promise((resolve) => {
      w.once('message', resolve);
      w.postMessage('packets');
    })));
    const sum = (k) => all.reduce((a, x) => a + x[k], 0);
    process.send({ rx: sum('rx'), tx: sum('tx'), requests: sum('requests'), turns: sum('turns') });
  });
  process.send({ port: original.address.port });
}

const packets = (endpoint) => ({ rx: Number(endpoint.stats.packetsReceived), tx: Number(endpoint.stats.packetsSent),
                                 ...seen });

// n server threads in one process; resolves with { port, pids, stop }.
async function startThreads(n, inflight) {
  const child = fork(__filename, ['--server', 'threads', String(n), String(inflight)],
                     { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const { port } = await within(new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
  }), 30e3, 'server start');
  return {
    port,
    pids: [child.pid],
    packets: () => within(new Promise((resolve) => {
      child.once('message', resolve);
      child.send('packets');
    }), 10e3, 'packet counts'),
    async stop() {
      child.disconnect();
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

// n server processes on one port with reusePort.
async function startProcs(n, inflight) {
  const { freePort } = require(testCommon);
  const port = await freePort();
  const procs = Array.from({ length: n }, () => {
    const p = spawn(process.execPath, [__filename, '--server', 'proc', String(port), String(inflight)],
                    { stdio: ['pipe', 'pipe', 'inherit'] });
    p.out = '';
    p.stdout.on('data', (d) => { p.out += d; });
    p.exited = new Promise((resolve) => p.once('exit', resolve));
    return p;
  });
  const kill = () => { for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL'); };
  process.once('exit', kill);
  const deadline = Date.now() + 30e3;
  while (procs.some((p) => !p.out.includes('ready')) && Date.now() < deadline) await sleep(20);
  if (procs.some((p) => !p.out.includes('ready'))) {
    kill();
    throw new Error('a reusePort server did not start');
  }
  return {
    port,
    pids: procs.map((p) => p.pid),
    async packets() {
      const all = await within(Promise.all(procs.map((p) => new Promise((resolve) => {
        const from = p.out.length;
        const on = () => {
          const m = /packets (.*)\n/.exec(p.out.slice(from));
          if (!m) return;
          p.stdout.off('data', on);
          resolve(JSON.parse(m[1]));
        };
        p.stdout.on('data', on);
        p.stdin.write('p');
      }))), 10e3, 'packet counts');
      const sum = (k) => all.reduce((a, x) => a + x[k], 0);
      return { rx: sum('rx'), tx: sum('tx'), requests: sum('requests'), turns: sum('turns') };
    },
    async stop() {
      for (const p of procs) p.stdin.end();
      await Promise.race([Promise.all(procs.map((p) => p.exited)), sleep(3000)]);
      kill();
      process.removeListener('exit', kill);
    },
  };
}

// Handshakes from `clients` client processes, `count` in all, each process
// with `concurrency` at a time: handshakes/s and the server's CPU per 1,000.
// The clients start first (loading Node.js and the addon), then all begin
// at one signal, so the time is the handshakes' alone.
async function handshakeLoad({ port, pids, count, clients, concurrency }) {
  const per = Math.ceil(count / clients);
  const procs = Array.from({ length: clients }, () => {
    const p = spawn(process.execPath, [__filename, '--hs-client', String(port), String(per), String(concurrency)],
                    { stdio: ['pipe', 'pipe', 'inherit'] });
    p.out = '';
    p.stdout.on('data', (d) => { p.out += d; });
    p.done = new Promise((resolve, reject) => p.on('close', (code) => {
      const line = p.out.split('\n').find((l) => l.startsWith('HS '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(3)));
      else reject(new Error(`a handshake client exited ${code}`));
    }));
    p.done.catch(() => {});
    return p;
  });
  try {
    await within((async () => { while (procs.some((p) => !p.out.includes('ready'))) await sleep(10); })(),
                 30e3, 'handshake clients start');
    const c0 = pids.map(cpuSampleOfPid);
    const t0 = now();
    for (const p of procs) p.stdin.end('go');
    const runs = await within(Promise.all(procs.map((p) => p.done)), 300e3, 'handshakes');
    const secs = now() - t0;
    const serverCpu = pids.reduce((a, pid, i) => a + cpuDelta(c0[i], cpuSampleOfPid(pid)), 0);
    const done = runs.reduce((a, r) => a + r.done, 0);
    if (done !== per * clients) throw new Error(`${done} of ${per * clients} handshakes completed`);
    return { value: done / secs, extra: { serverCpuPer1k: serverCpu / (done / 1000), seconds: secs, handshakes: done } };
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  }
}

async function hsClient(port, count, concurrency) {
  const { quic, certs } = require(testCommon);
  const endpoint = new quic.Endpoint();
  const options = new quic.SessionConfig('client', { alpn: 'h3', hostname: 'localhost', secure: { ca: certs.ca } });
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  let started = 0;
  let done = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (started < count) {
      started++;
      const s = endpoint.connect({ address: '127.0.0.1', port }, options);
      await s.handshake;
      await Promise.race([s.close().catch(() => {}), sleep(2000)]);
      done++;
    }
  }));
  await endpoint.close();
  process.stdout.write(`HS ${JSON.stringify({ done })}\n`);
  process.stdin.destroy();
}

// One case: the load against 1, then 2, servers; value: the rate with 2.
async function measure(caseName, params) {
  const procs = caseName.endsWith('-procs');
  const start = procs ? startProcs : startThreads;
  const inflight = params.inflight || 10;
  const results = [];
  for (const n of [1, 2]) {
    const server = await start(n, inflight);
    try {
      const p0 = await server.packets();
      const w0 = server.pids.map(wakeupsOfPid);
      const r = caseName.startsWith('shared-h3-')
        ? await gtlsLoad.load({ port: server.port, pids: server.pids, requests: params.requests, clients: params.clients })
        : await handshakeLoad({ port: server.port, pids: server.pids, count: params.count, clients: params.clients,
                                concurrency: params.concurrency });
      const wakeups = server.pids.reduce((a, pid, i) => a + wakeupsOfPid(pid) - w0[i], 0);
      const p1 = await server.packets();
      const count = r.extra.requests ?? r.extra.handshakes;
      // What a request cost the server in packets and in wake-ups (a thread
      // that sleeps in epoll and is woken: its voluntary context switches).
      r.extra.packetsPerOp = (p1.rx - p0.rx + p1.tx - p0.tx) / count;
      r.extra.wakeupsPerOp = wakeups / count;
      // Requests per JavaScript turn that had any (the batch a server thread handles at once).
      if (p1.turns > p0.turns) r.extra.requestsPerTurn = (p1.requests - p0.requests) / (p1.turns - p0.turns);
      results.push(r);
    } finally {
      await server.stop();
    }
  }
  const [one, two] = results;
  return {
    value: two.value,
    extra: {
      ...two.extra,
      rate1: one.value,
      ratio: two.value / one.value,
      serverCpuPer1k1: one.extra.serverCpuPer1k,
      packetsPerOp1: one.extra.packetsPerOp,
      wakeupsPerOp1: one.extra.wakeupsPerOp,
      requestsPerTurn1: one.extra.requestsPerTurn,
      // The server's CPU per request (or handshake) with 2 against 1: the
      // cost of sharing the port (1.05 = 5% more per request).
      cpuRatio: two.extra.serverCpuPer1k / one.extra.serverCpuPer1k,
    },
  };
}

module.exports = { measure, startThreads, startProcs };

if (require.main === module) {
  const [what, a, b, c] = process.argv.slice(2);
  if (what === '--server') {
    serverMain(a, Number(b), Number(c)).catch((err) => {
      console.error(err);
      process.exit(1);
    });
  } else if (what === '--hs-client') {
    hsClient(Number(a), Number(b), Number(c)).catch((err) => {
      console.error(err);
      process.exit(1);
    });
  }
}

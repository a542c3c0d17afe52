'use strict';
// One measurement: one case, one implementation, fresh processes.
//   node bench/driver.js <peer> <case> '<params as JSON>'
// Forks the peer's server into its own process (so CPU and RSS are per side),
// runs the client here, and prints `RESULT <json>`: { value, extra } or
// { cannot: reason }. Peers with their own programs (gtls) measure themselves.
// `extra` also says what was counted and over how long (bytes, requests,
// streams, handshakes, seconds), so a run can be checked against what it
// asked for (test/bench-harness.test.js).
const { fork } = require('node:child_process');
const path = require('node:path');
const { cpu, rss, now, sleep, within, patternHash } = require('./common');
const gtlsLoad = require('./gtls-load');
const relays = require('./relay');
const sharedPort = require('./shared-port');

class CannotRun extends Error {}

const loadPeer = (name) => require(path.join(__dirname, 'peers', `${name}.js`));

if (process.argv[2] === '--server') {
  serverMain(process.argv[3], process.argv[4], JSON.parse(process.argv[5])).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else if (require.main === module) {
  const [peerName, caseName, params] = process.argv.slice(2);
  // A signal ends this process through exit(), so the 'exit' handlers kill
  // what it started (relay, gtlsserver, gtlsclient); its server child
  // follows on the IPC channel's close.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(1));
  const hardLimit = setTimeout(() => {
    console.error(`${peerName} ${caseName}: no result within 10 minutes`);
    process.exit(1);
  }, 600e3);
  hardLimit.unref();
  measure(peerName, caseName, JSON.parse(params)).then((result) => {
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0));
  }, (err) => {
    if (err instanceof CannotRun) {
      process.stdout.write(`RESULT ${JSON.stringify({ cannot: err.message })}\n`, () => process.exit(0));
      return;
    }
    console.error(err);
    process.exit(1);
  });
}

async function serverMain(peerName, caseName, params) {
  const peer = loadPeer(peerName);
  // The driver gone (finished or killed at its time limit) means this server is done too.
  process.on('disconnect', () => process.exit(0));
  const server = await peer.serve(caseName, params);
  process.on('message', async ({ id, cmd }) => {
    let value;
    if (cmd === 'cpu') value = cpu();
    else if (cmd === 'rss') value = rss();
    else if (cmd === 'report') value = server.report ? server.report() : null;
    else if (cmd === 'live') value = server.liveMemory ? server.liveMemory() : null;
    else if (cmd === 'exit') {
      process.send({ id, value: null });
      await Promise.race([server.close ? server.close() : null, sleep(2000)]);
      process.exit(0);
    }
    process.send({ id, value });
  });
  process.send({ port: server.port });
}

// The server process and a request/reply channel to it.
async function startServer(peerName, caseName, params) {
  const child = fork(__filename, ['--server', peerName, caseName, JSON.stringify(params)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const { port } = await within(new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${peerName} server exited (${code}) before listening`)));
  }), 30e3, `${peerName} server start`);
  let next = 0;
  const waiting = new Map();
  child.on('message', (m) => {
    const w = waiting.get(m.id);
    if (w) {
      waiting.delete(m.id);
      w(m.value);
    }
  });
  const ask = (cmd) => new Promise((resolve) => {
    const id = ++next;
    waiting.set(id, resolve);
    child.send({ id, cmd });
  });
  return {
    port,
    pid: child.pid,
    ask,
    async stop() {
      if (child.exitCode === null) {
        await Promise.race([ask('exit'), exited]);
        await Promise.race([exited, sleep(3000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}

async function measure(peerName, caseName, params) {
  const peer = loadPeer(peerName);
  const support = peer.cases[caseName];
  if (support !== true) throw new CannotRun(support || 'not measured for this peer');
  const why = peer.unavailable ? await peer.unavailable() : null;
  if (why) throw new CannotRun(why);
  if (peer.measure) return peer.measure(caseName, params, CannotRun);
  // A peer too slow for the full size moves less (its result says how much).
  if (params.mb && peer.maxMB && params.mb > peer.maxMB) params = { ...params, mb: peer.maxMB };
  // The server cases: gtlsclient processes are the load, whatever the server.
  if (isServerLoad(caseName) || caseName.startsWith('shared-h3-')) {
    const missing = gtlsLoad.unavailable();
    if (missing) throw new CannotRun(missing);
  }
  // One port shared by threads or processes: this package only (its own servers).
  if (caseName.startsWith('shared-')) return sharedPort.measure(caseName, params);
  const server = await startServer(peerName, caseName, params);
  let client;
  let relay;
  try {
    if (isServerLoad(caseName)) return await gtlsLoad.load({ port: server.port, pid: server.pid, ...params });
    let port = server.port;
    // The relay cases: the client talks to the relay, the relay to the server.
    if (isRelayed(caseName)) {
      relay = await relays.start({ address: '127.0.0.1', port: server.port }, relays.optionsFor(params));
      port = relay.port;
    }
    client = await peer.client(caseName, params, port, CannotRun);
    return await MEASURES[caseName](client, server, params, relay);
  } finally {
    if (client) await Promise.race([client.shutdown(), sleep(3000)]);
    if (relay) await relay.kill();
    await server.stop();
  }
}

function isServerLoad(name) {
  return name.startsWith('h3-server-');
}

function isRelayed(name) {
  return name.startsWith('relay-');
}

// Throughput of one transfer and the CPU both processes spent on it.
async function bulk(client, server, params, dir) {
  const bytes = params.mb * 1024 * 1024;
  const conn = await client.connect();
  const c0 = cpu() + await server.ask('cpu');
  const t0 = now();
  const moved = dir === 'up' ? await client.upload(conn, bytes) : await client.download(conn, bytes);
  const secs = now() - t0;
  const cpuSecs = cpu() + await server.ask('cpu') - c0;
  if (moved !== bytes) throw new Error(`${dir}: ${moved} bytes arrived of ${bytes}`);
  // Where the implementation can tell: the packet size the sender's path reached.
  const packetSize = dir === 'up' ? client.packetSize?.(conn) : (await server.ask('report'))?.packetSize;
  await client.close(conn);
  return {
    value: params.mb / secs,
    extra: { cpuSecondsPerGB: cpuSecs / (params.mb / 1024), seconds: secs, mb: params.mb, bytes: moved, packetSize },
  };
}

// One download through the relay, its bytes checked by hash. Timed from the
// connection attempt: the handshake meets the relay's fates too, as it does
// for gtls (whose time is a whole client process, less one that made a
// small request without the relay).
async function relayed(client, server, params, relay) {
  const bytes = params.mb * 1024 * 1024;
  const expected = patternHash(bytes);
  const t0 = now();
  const conn = await client.connect();
  const got = await client.downloadHashed(conn, bytes);
  const secs = now() - t0;
  await client.close(conn);
  const counts = await relay.stop();
  if (got.bytes !== bytes || got.hash !== expected) {
    throw new Error(`${got.bytes} bytes arrived of ${bytes}${got.hash !== expected ? ', and their hash differs' : ''}`);
  }
  return { value: params.mb / secs, extra: relays.extraFor(counts, secs, params.mb, got.bytes) };
}

// `total` requests spread over `conns` connections with `inflight` each.
async function requests(client, server, { requests: total, conns, inflight }) {
  const connections = [];
  for (let i = 0; i < conns; i++) connections.push(await client.connect());
  const latencies = [];
  let issued = 0;
  let responseBytes = 0;
  const t0 = now();
  await Promise.all(connections.flatMap((c) => Array.from({ length: inflight }, async () => {
    while (issued < total) {
      issued++;
      const s = now();
      const n = await client.request(c);
      latencies.push((now() - s) * 1e3);
      if (typeof n === 'number') responseBytes += n;
    }
  })));
  const secs = now() - t0;
  await Promise.all(connections.map((c) => client.close(c)));
  latencies.sort((a, b) => a - b);
  return {
    value: total / secs,
    extra: {
      p50ms: latencies[Math.floor(latencies.length * 0.5)],
      p99ms: latencies[Math.floor(latencies.length * 0.99)],
      requests: latencies.length,
      responseBytes,
      seconds: secs,
    },
  };
}

const MEASURES = {
  'bulk-up': (client, server, params) => bulk(client, server, params, 'up'),
  'wt-stream': (client, server, params) => bulk(client, server, params, 'up'),
  'bulk-down': (client, server, params) => bulk(client, server, params, 'down'),
  'bulk-up-1452': (client, server, params) => bulk(client, server, params, 'up'),
  'bulk-down-1452': (client, server, params) => bulk(client, server, params, 'down'),
  'bulk-loss-1': (client, server, params) => bulk(client, server, params, 'down'),
  'bulk-loss-5': (client, server, params) => bulk(client, server, params, 'down'),

  async handshakes(client, server, { count }) {
    const t0 = now();
    let done = 0;
    for (let i = 0; i < count; i++) {
      await client.close(await client.connect());
      done++;
    }
    const secs = now() - t0;
    return { value: count / secs, extra: { handshakes: done, seconds: secs } };
  },

  async 'handshakes-resumed'(client, server, { count }) {
    // The peer gets a ticket first, then times `count` resumed handshakes.
    const resumed = await client.resumedHandshakes(count);
    return { value: count / resumed.seconds, extra: { ...resumed.extra, handshakes: count, seconds: resumed.seconds } };
  },

  'h3-requests-c50': requests,
  'h3-requests-10conn': requests,

  'relay-clean': relayed,
  'relay-loss-1': relayed,
  'relay-loss-5': relayed,
  'relay-mix': relayed,

  async streams(client, server, { streams: total, inflight }) {
    const conn = await client.connect();
    const payload = Buffer.alloc(100, 0x62);
    let issued = 0;
    let echoed = 0;
    const t0 = now();
    await Promise.all(Array.from({ length: inflight }, async () => {
      while (issued < total) {
        issued++;
        const n = await client.echo(conn, payload);
        if (n !== payload.length) throw new Error(`echo returned ${n} bytes`);
        echoed++;
      }
    }));
    const secs = now() - t0;
    await client.close(conn);
    return { value: total / secs, extra: { streams: echoed, seconds: secs } };
  },

  'wt-datagrams': (client, server, params) => MEASURES.datagrams(client, server, params),

  async datagrams(client, server, { count, size }) {
    const conn = await client.connect();
    const t0 = now();
    const sent = await client.sendDatagrams(conn, count, size);
    // Wait until the server's count stops moving (or everything arrived).
    let report = await server.ask('report');
    for (let quiet = 0; quiet < 5 && report.count < sent;) {
      await sleep(100);
      const r = await server.ask('report');
      quiet = r.count === report.count ? quiet + 1 : 0;
      report = r;
    }
    await client.close(conn);
    const secs = report.last - t0;
    return {
      value: report.count / secs,
      extra: { lossRatio: 1 - report.count / count, sent, received: report.count, seconds: secs },
    };
  },

  async 'mem-idle-conn'(client, server, { conns }) {
    // One connection first, so one-time costs (TLS context, first socket) are out of the figure.
    const first = await client.connect();
    await sleep(200);
    const c0 = rss();
    const s0 = await server.ask('rss');
    const l0 = client.liveMemory ? [client.liveMemory(), await server.ask('live')] : null;
    const open = [];
    for (let i = 0; i < conns; i += 50) {
      const batch = Math.min(50, conns - i);
      open.push(...await Promise.all(Array.from({ length: batch }, () => client.connect())));
    }
    await sleep(500);
    const clientKB = (rss() - c0) / conns / 1024;
    const serverKB = (await server.ask('rss') - s0) / conns / 1024;
    const extra = { clientKB, serverKB, conns: open.length };
    if (l0) {
      const l1 = [client.liveMemory(), await server.ask('live')];
      extra.liveKB = (l1[0].bytes - l0[0].bytes + l1[1].bytes - l0[1].bytes) / conns / 1024;
    }
    await Promise.all([...open, first].map((c) => client.close(c)));
    return { value: clientKB + serverKB, extra };
  },

  async 'mem-stalled-reader'(client, server, { mb, seconds }) {
    const conn = await client.connect();
    await sleep(200);
    const c0 = rss();
    const s0 = await server.ask('rss');
    let peakClient = 0;
    let peakServer = 0;
    const transfer = client.stall(conn, mb * 1024 * 1024);
    const end = now() + seconds;
    while (now() < end) {
      await sleep(100);
      peakClient = Math.max(peakClient, rss() - c0);
      peakServer = Math.max(peakServer, await server.ask('rss') - s0);
    }
    await transfer.stop();
    await client.close(conn);
    const MiB = 1024 * 1024;
    return {
      value: (peakClient + peakServer) / MiB,
      extra: { clientMB: peakClient / MiB, serverMB: peakServer / MiB },
    };
  },
};

module.exports = { CannotRun, measure };

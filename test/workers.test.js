'use strict';
// One UDP port served by worker threads (issue 14): an Endpoint shared with
// endpoint.share() and Endpoint.from() in each worker (test/common/
// endpoint-worker.js), every copy with its own socket in the port's
// SO_REUSEPORT group and the kernel steering each datagram by the worker
// index in the destination connection ID (src/reuseport.c).
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { Worker } = require('node:worker_threads');
const { quic, certs, ALPN, sha256, readAll, within, randomBytes } = require('./common');
const { createRelay, isLongHeader, longType } = require('./common/relay');

const binding = require('../lib/binding');

const { Endpoint } = quic;
const WORKER = path.join(__dirname, 'common', 'endpoint-worker.js');
const TICKET_KEYS = randomBytes(48, 14);

// The original endpoint (which shares and does not listen) and n workers
// serving its port; `events` collects what they report.
// A failed test still ends its workers (t.after), so the file can exit.
async function startWorkers(t, n, endpoint = {}) {
  const original = new Endpoint({ maxConnectionsPerHost: 5000, maxConnectionsTotal: 5000, ...endpoint });
  const handle = original.share();
  const events = [];
  const workers = [];
  for (let index = 0; index < n; index++) {
    const w = new Worker(WORKER, {
      workerData: { handle, key: certs.key, cert: certs.cert, alpn: ALPN, index, ticketKeys: TICKET_KEYS },
    });
    w.exited = new Promise((resolve) => w.on('exit', resolve));
    w.on('error', (e) => events.push({ type: 'error', index, message: e.message }));
    const ready = new Promise((resolve) => w.on('message', (m) => m.type === 'ready' && resolve(m)));
    w.on('message', (m) => events.push(m));
    const m = await within(ready, 10000, `worker ${index} ready`);
    assert.strictEqual(m.port, original.address.port, 'the worker serves the same port');
    workers.push(w);
  }
  const port = original.address.port;
  async function stats() {
    const live = workers.filter((w) => w.threadId !== -1);
    const replies = live.map((w) => new Promise((resolve) => {
      const on = (m) => {
        if (m.type !== 'stats') return;
        w.off('message', on);
        resolve(m);
      };
      w.on('message', on);
      w.postMessage('stats');
    }));
    return within(Promise.all(replies), 5000, 'worker stats');
  }
  // Until every worker's sessions are gone (a relay must stay open until
  // the clients' CONNECTION_CLOSE frames have passed it).
  async function settled() {
    const deadline = Date.now() + 10000;
    for (;;) {
      const s = await stats();
      if (s.every((x) => x.open.length === 0)) return;
      if (Date.now() > deadline) throw new Error(`sessions still open: ${JSON.stringify(s)}`);
      await sleep(20);
    }
  }
  let stopped = false;
  t.after(async () => {
    if (stopped) return;
    for (const w of workers) await w.terminate();
    if (!original.destroyed) original.destroy();
  });
  async function stop() {
    stopped = true;
    for (const w of workers) if (w.threadId !== -1) w.postMessage('close');
    try {
      await within(Promise.all(workers.map((w) => w.exited)), 15000, 'workers exit');
    } catch (e) {
      const left = await stats().catch((err) => err.message);
      throw new Error(`${e.message}: ${JSON.stringify(left)}`);
    }
    await within(original.close(), 5000, 'original close');
  }
  const count = (type) => {
    const c = new Array(n).fill(0);
    for (const e of events) if (e.type === type) c[e.index]++;
    return c;
  };
  return { original, handle, workers, events, port, stats, stop, count, settled };
}

// A transfer under way for a while: 640 KB sent a 16 KB chunk every 20 ms
// and echoed back behind the serving worker's index byte. firstByte[i]
// becomes a promise of that byte. Resolves { ok: true, worker, intact,
// session } or, if the stream fails, { ok: false, error, session }.
function slowTransfer(client, port, seed, firstByte, i, sessionOptions) {
  const CHUNK = 16 * 1024;
  const CHUNKS = 40;
  const data = randomBytes(CHUNK * CHUNKS, seed);
  const s = dial(client, port, sessionOptions);
  let gotFirst;
  firstByte[i] = new Promise((resolve) => { gotFirst = resolve; });
  const done = (async () => {
    await within(s.handshake, 20000, `handshake ${i}`);
    const stream = s.open({
      body: (async function* body() {
        for (let k = 0; k < CHUNKS; k++) {
          yield data.subarray(k * CHUNK, (k + 1) * CHUNK);
          await sleep(20);
        }
      })(),
    });
    const chunks = [];
    try {
      for await (const c of stream.readableNodeStream()) {
        if (chunks.length === 0) gotFirst(Buffer.from(c)[0]);
        chunks.push(Buffer.from(c));
      }
    } catch (e) {
      return { ok: false, error: e, session: s };
    }
    const got = Buffer.concat(chunks);
    if (got.length !== data.length + 1) return { ok: false, error: new Error(`${got.length} bytes`), session: s };
    await within(s.close(), 10000, 'close');
    return { ok: true, worker: got[0], intact: sha256(got.subarray(1)) === sha256(data), session: s };
  })();
  done.catch(() => {});
  return done;
}

function dial(client, port, session = {}, resume) {
  return client.connect({ address: '127.0.0.1', port },
                        { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca }, ...session }, resume);
}

// One connection: send body, get back [worker index] + body.
async function exchange(client, port, body) {
  const s = dial(client, port);
  await within(s.handshake, 30000, 'handshake');
  const got = await within(readAll(s.open({ body }).readableNodeStream()), 60000, 'echo');
  await within(s.close(), 10000, 'session close');
  return { worker: got[0], hash: sha256(got.subarray(1)), length: got.length - 1 };
}

async function pool(n, width, fn) {
  const results = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) {
      const i = next++;
      results[i] = await fn(i);
    }
  }));
  return results;
}

test('share(): a plain value every channel carries; Endpoint.from() refuses anything else', async () => {
  const original = new Endpoint();
  const handle = original.share();
  assert.deepStrictEqual(structuredClone(handle), handle);
  assert.strictEqual(handle.type, 'quic.Endpoint');
  assert.ok(original.address.port > 0, 'share() binds the socket');
  assert.strictEqual(original.share().group, handle.group, 'one group per endpoint');
  // Posting the Endpoint itself gives {} (Node.js has no cloning hook for it).
  assert.throws(() => Endpoint.from(structuredClone(original)), { code: 'ERR_INVALID_ARG_VALUE' });
  // Another process's handle: no group of that process is served.
  assert.throws(() => Endpoint.from({ ...handle, pid: 0x7ffffff0 }), { code: 'ERR_INVALID_STATE' });
  // A copy on the same thread works too, on the same port, with its own stats.
  const copy = Endpoint.from(handle);
  assert.strictEqual(copy.address.port, original.address.port);
  assert.notStrictEqual(copy.stats, original.stats);
  await copy.close();
  // A chosen source ID would not carry the worker index.
  assert.throws(() => original.connect({ address: '127.0.0.1', port: 9 }, { alpn: ALPN, scid: Buffer.alloc(8, 1) }),
                { code: 'ERR_QUIC_UNSUPPORTED' });
  // Bound outside a group: too late to share.
  const bound = new Endpoint();
  bound.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert } });
  assert.throws(() => bound.share(), { code: 'ERR_INVALID_STATE' });
  await bound.close();
  // Self-encoded CID lengths leave no room for the worker index.
  const lb = new Endpoint({ loadBalancer: { serverId: Buffer.from([1, 2]), lengthSelfEncoding: true } });
  assert.throws(() => lb.share(), { code: 'ERR_QUIC_UNSUPPORTED' });
  await lb.close();
  await original.close();
  // Every copy has closed (their sockets once their handles have): the
  // group is gone.
  const deadline = Date.now() + 5000;
  while (binding.liveMemory().endpoints > 0 && Date.now() < deadline) await sleep(10);
  assert.throws(() => Endpoint.from(handle), { code: 'ERR_INVALID_STATE' });
});

test('4 worker threads share one port: 400 connections send and receive 256 KB each, checked by hash; ' +
     'every worker serves at least 15%', { timeout: 300000 }, async (t) => {
  const N = 400;
  const SIZE = 256 * 1024;
  const g = await startWorkers(t, 4);
  const client = new Endpoint();
  const results = await pool(N, 40, async (i) => {
    const body = randomBytes(SIZE, i + 1);
    const r = await exchange(client, g.port, body);
    assert.strictEqual(r.length, SIZE, `connection ${i}: length`);
    assert.strictEqual(r.hash, sha256(body), `connection ${i}: hash`);
    return r.worker;
  });
  const byAnswer = [0, 0, 0, 0];
  for (const w of results) byAnswer[w]++;
  const sessions = g.count('session');
  t.diagnostic(`sessions per worker: ${sessions.join(', ')}`);
  assert.deepStrictEqual(sessions, byAnswer, 'each answer came from the worker that accepted the session');
  assert.strictEqual(sessions.reduce((a, b) => a + b), N);
  for (const c of sessions) assert.ok(c >= N * 0.15, `a worker served ${c} of ${N}`);
  const stats = await g.stats();
  assert.strictEqual(stats.reduce((a, s) => a + s.serverSessions, 0), N, 'per-worker stats add up');
  for (const s of stats) assert.strictEqual(s.misrouted, 0, `worker ${s.index}: no packet reached the wrong thread`);
  assert.strictEqual(g.original.stats.serverSessions, 0n, 'the original does not listen: no session went to it');
  await within(client.close(), 10000, 'client close');
  await g.stop();
  assert.deepStrictEqual(g.events.filter((e) => e.type === 'error'), []);
});

test('a relay drops the server\'s first flight: each client\'s retransmitted Initial reaches the same worker', {
  timeout: 120000,
}, async (t) => {
  const g = await startWorkers(t, 4);
  const client = new Endpoint();
  const CLIENTS = 8;
  const relays = [];
  let retransmitted = 0;
  for (let i = 0; i < CLIENTS; i++) {
    // Drops everything the server sends until the client's Initial with
    // its first destination ID arrives again (its loss timer fired).
    let firstDcid = null;
    let firstAt = 0;
    let open = false;
    relays.push(await createRelay(g.port, (msg, dir) => {
      if (dir === 'up' && isLongHeader(msg) && longType(msg) === 0) {
        const dcid = msg.subarray(6, 6 + msg[5]).toString('hex');
        if (firstDcid === null) {
          firstDcid = dcid;
          firstAt = Date.now();
        } else if (!open && dcid === firstDcid && Date.now() - firstAt > 200) {
          open = true;
          retransmitted++;
        }
      }
      if (dir === 'down' && !open) return null;
      return msg;
    }));
  }
  await Promise.all(relays.map(async (relay, i) => {
    const s = dial(client, relay.port);
    await within(s.handshake, 30000, `handshake ${i}`);
    const got = await within(readAll(s.open({ body: `client ${i}` }).readableNodeStream()), 10000, 'echo');
    assert.strictEqual(got.subarray(1).toString(), `client ${i}`);
    await within(s.close(), 10000, 'close');
  }));
  assert.strictEqual(retransmitted, CLIENTS, 'every client retransmitted its Initial');
  // One session per client: no retransmission opened a second one elsewhere.
  const sessions = g.count('session');
  assert.strictEqual(sessions.reduce((a, b) => a + b), CLIENTS, `sessions per worker: ${sessions}`);
  const stats = await g.stats();
  assert.strictEqual(stats.reduce((a, s) => a + s.serverSessions, 0), CLIENTS);
  await g.settled();
  for (const r of relays) await r.close();
  await within(client.close(), 10000, 'client close');
  await g.stop();
});

test('0-RTT to a shared port: workers with the same ticketKeys accept each other\'s tickets', {
  timeout: 60000,
}, async (t) => {
  const g = await startWorkers(t, 2);
  const client = new Endpoint();
  const first = dial(client, g.port);
  await within(first.handshake, 10000, 'first handshake');
  await readAll(first.open({ body: 'first' }).readableNodeStream());
  const deadline = Date.now() + 3000;
  while (first.sessionTicket === undefined && Date.now() < deadline) await sleep(10);
  const ticket = first.sessionTicket;
  assert.ok(ticket, 'a ticket');
  await within(first.close(), 5000, 'first close');
  // Several resumptions: their random IDs spread them over both workers.
  for (let i = 0; i < 6; i++) {
    const s = dial(client, g.port, {}, ticket);
    const stream = s.open({ body: `early ${i}` }); // before the handshake: 0-RTT
    await within(s.handshake, 10000, 'resumed handshake');
    const got = await within(readAll(stream.readableNodeStream()), 10000, 'echo');
    assert.strictEqual(got.subarray(1).toString(), `early ${i}`);
    assert.strictEqual(s.earlyData, true, `resumption ${i} sent 0-RTT data the server took`);
    await within(s.close(), 5000, 'close');
  }
  const early = () => g.events.filter((e) => e.type === 'handshake' && e.earlyData).length;
  const until = Date.now() + 5000;
  while (early() < 6 && Date.now() < until) await sleep(10);
  assert.strictEqual(early(), 6, 'the workers saw 0-RTT data in every resumption');
  await within(client.close(), 10000, 'client close');
  await g.stop();
});

test('a worker calls process.exit() mid-transfer: its clients see their sessions end, the others finish ' +
     'intact, and the port keeps serving', { timeout: 120000 }, async (t) => {
  const g = await startWorkers(t, 3);
  const client = new Endpoint();
  const CLIENTS = 24;
  const firstByte = [];
  const transfers = Array.from({ length: CLIENTS }, (_, i) => slowTransfer(client, g.port, 100 + i, firstByte, i));
  const workerOf = await within(Promise.all(firstByte), 20000, 'every transfer under way');
  const victim = workerOf[0];
  g.workers[victim].postMessage('exit');
  await within(g.workers[victim].exited, 10000, 'the worker exits');
  const results = await within(Promise.all(transfers.map((p) => p.catch((e) => ({ ok: false, error: e })))),
                               60000, 'every transfer settles');
  for (let i = 0; i < CLIENTS; i++) {
    const r = results[i];
    if (workerOf[i] === victim) {
      assert.strictEqual(r.ok, false, `client ${i} of the exited worker sees its session end`);
      await within(r.session.closed.then(() => {}, () => {}), 10000, 'the session is closed');
    } else {
      assert.strictEqual(r.ok, true, `client ${i}: ${r.error}`);
      assert.strictEqual(r.intact, true, `client ${i}: the transfer finished intact`);
    }
  }
  // New sessions after the exit: all served, none by the worker that left.
  for (let i = 0; i < 8; i++) {
    const body = randomBytes(4096, 500 + i);
    const r = await exchange(client, g.port, body);
    assert.strictEqual(r.hash, sha256(body));
    assert.notStrictEqual(r.worker, victim);
  }
  await within(client.close(), 10000, 'client close');
  await g.stop();
});

// The server's source connection ID in a long-header datagram (RFC 9000 17.2).
function serverScid(msg) {
  const dcidLen = msg[5];
  const at = 6 + dcidLen;
  return msg.subarray(at + 1, at + 1 + msg[at]);
}

test('loadBalancer: the CIDs a shared port issues carry the QUIC-LB layout and the worker index, and a load ' +
     'balancer with the key finds the server ID', { timeout: 60000 }, async (t) => {
  const serverId = Buffer.from('c0ffee', 'hex');
  const key = randomBytes(16, 99);
  const g = await startWorkers(t, 2, { loadBalancer: { serverId, key, configRotation: 2 } });
  const client = new Endpoint();
  const seen = [];
  const relays = [];
  for (let i = 0; i < 6; i++) {
    let scid = null;
    const relay = await createRelay(g.port, (msg, dir) => {
      if (dir === 'down' && isLongHeader(msg) && scid === null) scid = Buffer.from(serverScid(msg));
      return msg;
    });
    const s = dial(client, relay.port);
    await within(s.handshake, 10000, 'handshake');
    const got = await within(readAll(s.open({ body: 'lb' }).readableNodeStream()), 10000, 'echo');
    await within(s.close(), 5000, 'close');
    relays.push(relay);
    seen.push({ scid, worker: got[0] });
  }
  await g.settled();
  for (const r of relays) await r.close();
  const crypto = require('node:crypto');
  for (const { scid, worker } of seen) {
    assert.strictEqual(scid.length, 17, '1 + 3 (server ID) + 13 (nonce): one AES block');
    assert.strictEqual(scid[0] >> 5, 2, 'config rotation');
    // The original is member 0 of the group; the workers joined in turn.
    assert.strictEqual(scid[0] & 0x1f, worker + 1, 'the worker index the kernel steers by');
    assert.notDeepStrictEqual(scid.subarray(1, 4), serverId, 'encrypted');
    // What a QUIC-LB load balancer does with a 16-byte block: AES-128-ECB.
    const d = crypto.createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
    const plain = Buffer.concat([d.update(scid.subarray(1)), d.final()]);
    assert.deepStrictEqual(plain.subarray(0, 3), serverId, 'the load balancer finds the server ID');
  }
  await within(client.close(), 10000, 'client close');
  await g.stop();
});

test('loadBalancer without a key: the server ID in the clear; bad layouts are refused', async () => {
  const serverId = Buffer.from([0xab, 0xcd]);
  const server = new Endpoint({ loadBalancer: { serverId, nonceLength: 6 } });
  server.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert } });
  let scid = null;
  const relay = await createRelay(server.address.port, (msg, dir) => {
    if (dir === 'down' && isLongHeader(msg) && scid === null) scid = Buffer.from(serverScid(msg));
    return msg;
  });
  const client = new Endpoint();
  const s = dial(client, relay.port);
  await within(s.handshake, 10000, 'handshake');
  await within(s.close(), 5000, 'close');
  await sleep(100); // the CONNECTION_CLOSE passes the relay
  assert.strictEqual(scid.length, 9);
  assert.strictEqual(scid[0] >> 5, 0);
  assert.deepStrictEqual(scid.subarray(1, 3), serverId);
  await relay.close();
  await client.close();
  await server.close();
  assert.throws(() => new Endpoint({ loadBalancer: { serverId: Buffer.alloc(16) } }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new Endpoint({ loadBalancer: { serverId, nonceLength: 3 } }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new Endpoint({ loadBalancer: { serverId, configRotation: 7 } }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new Endpoint({ loadBalancer: { serverId, key: Buffer.alloc(15) } }),
                { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => new Endpoint({ loadBalancer: {} }), { code: 'ERR_INVALID_ARG_TYPE' });
});

// A relay whose client-facing socket stays and whose server-facing socket
// can be replaced: to the server, the client rebinds to a new port (a NAT
// rebinding) in the middle of a transfer.
async function rebindingRelay(serverPort) {
  const dgram = require('node:dgram');
  const open = async () => {
    const s = dgram.createSocket('udp4');
    await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
    return s;
  };
  const front = await open();
  let back = await open();
  const retired = [];
  let client = null;
  const down = (msg) => { if (client) front.send(msg, client.port, client.address); };
  back.on('message', down);
  front.on('message', (msg, rinfo) => {
    client = rinfo;
    back.send(msg, serverPort, '127.0.0.1');
  });
  return {
    port: front.address().port,
    async rebind() {
      retired.push(back); // still delivers what the server sent before it learns the new port
      back = await open();
      back.on('message', down);
      return back.address().port;
    },
    // Back to the first server-facing socket (the first address again).
    restore() {
      if (retired.length === 0) return;
      retired.push(back);
      back = retired[0];
    },
    async close() {
      for (const s of new Set([front, back, ...retired])) await new Promise((resolve) => s.close(resolve));
    },
  };
}

test('a client that rebinds its port mid-transfer still reaches its worker', { timeout: 60000 }, async (t) => {
  const g = await startWorkers(t, 3);
  const client = new Endpoint();
  const relays = [];
  const CHUNK = 16 * 1024;
  const CHUNKS = 40;
  await Promise.all(Array.from({ length: 6 }, async (_, i) => {
    const relay = await rebindingRelay(g.port);
    relays.push(relay);
    const data = randomBytes(CHUNK * CHUNKS, 700 + i);
    const s = dial(client, relay.port);
    await within(s.handshake, 10000, 'handshake');
    const stream = s.open({
      body: (async function* body() {
        for (let k = 0; k < CHUNKS; k++) {
          if (k === CHUNKS / 2) await relay.rebind();
          yield data.subarray(k * CHUNK, (k + 1) * CHUNK);
          await sleep(10);
        }
      })(),
    });
    const got = await within(readAll(stream.readableNodeStream()), 30000, 'echo');
    assert.strictEqual(sha256(got.subarray(1)), sha256(data), `client ${i}: intact after the rebinding`);
    await within(s.close(), 5000, 'close');
  }));
  const sessions = g.count('session');
  assert.strictEqual(sessions.reduce((a, b) => a + b), 6, 'one session per client, on one worker');
  const stats = await g.stats();
  for (const s of stats) assert.strictEqual(s.misrouted, 0, 'the new port\'s packets were steered to the worker');
  await g.settled();
  for (const r of relays) await r.close();
  await within(client.close(), 10000, 'client close');
  await g.stop();
});

test('a kernel that refuses the steering program: the workers hand each other the packets, and every echo is ' +
     'intact', { timeout: 60000 }, () => {
  const { spawnSync } = require('node:child_process');
  // The child's native state is checked as this file's is (leak-check.js).
  const r = spawnSync(process.execPath, ['--require', path.join(__dirname, 'common', 'leak-check.js'),
                                         path.join(__dirname, 'common', 'handoff-child.js')], {
    encoding: 'utf8', timeout: 50000, env: { ...process.env, QUIC_DEBUG_NO_REUSEPORT_CBPF: '1' },
  });
  assert.strictEqual(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.strictEqual(out.intact, 30);
  assert.strictEqual(out.sessions.reduce((a, b) => a + b), 30);
  for (const c of out.sessions) assert.ok(c > 0, `sessions per worker: ${out.sessions}`);
  const handed = out.misrouted.reduce((a, b) => a + b) + out.originalMisrouted;
  assert.ok(handed > 0, 'packets were handed between threads');
});

test('the port stays bound while any copy is open: the original closes first and the workers keep serving', {
  timeout: 60000,
}, async (t) => {
  const g = await startWorkers(t, 2);
  await within(g.original.close(), 5000, 'original close');
  const client = new Endpoint();
  for (let i = 0; i < 6; i++) {
    const body = randomBytes(8192, 1200 + i);
    const r = await exchange(client, g.port, body);
    assert.strictEqual(r.hash, sha256(body));
  }
  // A worker closes too: the last one still serves.
  g.workers[0].postMessage('close');
  await within(g.workers[0].exited, 10000, 'worker 0 exits');
  for (let i = 0; i < 4; i++) {
    const body = randomBytes(8192, 1300 + i);
    const r = await exchange(client, g.port, body);
    assert.strictEqual(r.hash, sha256(body));
    assert.strictEqual(r.worker, 1);
  }
  await within(client.close(), 10000, 'client close');
  await g.stop();
});

// Processes that serve a shared Endpoint (test/common/endpoint-process.js),
// each with the leak check of its own native state.
async function startProcesses(t, handle, n) {
  const { spawn } = require('node:child_process');
  const procs = [];
  for (let i = 0; i < n; i++) {
    const p = spawn(process.execPath, ['--require', path.join(__dirname, 'common', 'leak-check.js'),
                                       path.join(__dirname, 'common', 'endpoint-process.js'),
                                       JSON.stringify(handle), String(10 + i)],
                    { stdio: ['pipe', 'pipe', 'pipe'] });
    p.out = '';
    p.err = '';
    p.stdout.on('data', (d) => { p.out += d; });
    p.stderr.on('data', (d) => { p.err += d; });
    p.exited = new Promise((resolve) => p.on('exit', (code) => resolve(code)));
    procs.push(p);
  }
  t.after(() => {
    for (const p of procs) {
      p.stdin.destroy();
      if (p.exitCode === null) p.kill();
    }
  });
  const deadline = Date.now() + 15000;
  while (procs.some((p) => !p.out.includes('ready')) && Date.now() < deadline) await sleep(20);
  for (const p of procs) assert.match(p.out, /^ready \d+/, p.err);
  return {
    procs,
    async stop() {
      for (const p of procs) p.stdin.end('x');
      const codes = await within(Promise.all(procs.map((p) => p.exited)), 15000, 'processes exit');
      for (let i = 0; i < procs.length; i++) assert.strictEqual(codes[i], 0, procs[i].err);
      return procs.map((p) => JSON.parse(p.out.trim().split('\n').pop()));
    },
  };
}

// The original serves as well: three processes on one port.
function listenOriginal(original) {
  original.onsession = ({ session }) => {
    session.onstream = ({ stream, respondWith }) => {
      respondWith({
        body: (async function* echo() {
          yield Buffer.from([0]);
          for await (const c of stream.readableNodeStream()) yield Buffer.from(c);
        })(),
      });
    };
  };
  original.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert } });
}

test('3 processes on one port (the sharing one and two that Endpoint.from() its handle): every client served, ' +
     'each process serves, steered by the CID', { timeout: 60000 }, async (t) => {
  const original = new Endpoint({ maxConnectionsPerHost: 1000 });
  t.after(() => { if (!original.destroyed) original.destroy(); });
  const handle = original.share();
  listenOriginal(original);
  const ps = await startProcesses(t, handle, 2);
  const client = new Endpoint();
  const N = 24;
  const served = await pool(N, 8, async (i) => {
    const body = randomBytes(32768, 1500 + i);
    const r = await exchange(client, original.address.port, body);
    assert.strictEqual(r.hash, sha256(body), `client ${i}`);
    return r.worker;
  });
  await within(client.close(), 10000, 'client close');
  const stats = await ps.stop();
  const perProcess = [served.filter((w) => w === 0).length, ...stats.map((s) => s.serverSessions)];
  t.diagnostic(`sessions per process: ${perProcess.join(', ')}`);
  assert.strictEqual(Number(original.stats.serverSessions) + stats.reduce((a, s) => a + s.serverSessions, 0), N);
  for (const c of perProcess) assert.ok(c > 0, `every process served: ${perProcess}`);
  for (const s of stats) assert.strictEqual(served.filter((w) => w === s.index).length, s.serverSessions);
  for (const s of stats) assert.strictEqual(s.misrouted, 0);
  await within(original.close(), 5000, 'original close');
});

test('processes without the steering program: a packet at the wrong process is dropped, never reset, and the ' +
     'session lives on', { timeout: 60000 }, async (t) => {
  // The group reads the switch when it attaches its program.
  process.env.QUIC_DEBUG_NO_REUSEPORT_CBPF = '1';
  let original;
  try {
    original = new Endpoint({ maxConnectionsPerHost: 1000 });
    t.after(() => { if (!original.destroyed) original.destroy(); });
    var handle = original.share(); // eslint-disable-line no-var
  } finally {
    delete process.env.QUIC_DEBUG_NO_REUSEPORT_CBPF;
  }
  listenOriginal(original);
  const ps = await startProcesses(t, handle, 2);
  const client = new Endpoint();
  const CLIENTS = 9;
  const CHUNK = 16 * 1024;
  const CHUNKS = 30;
  const relays = [];
  // Each client's address changes for a while mid-transfer (its packets
  // may then reach another process, by the kernel's hash), then comes back.
  await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
    const relay = await rebindingRelay(original.address.port);
    relays.push(relay);
    const data = randomBytes(CHUNK * CHUNKS, 1700 + i);
    const s = dial(client, relay.port, { transportParams: { maxIdleTimeout: 30000 } });
    await within(s.handshake, 10000, 'handshake');
    const stream = s.open({
      body: (async function* body() {
        for (let k = 0; k < CHUNKS; k++) {
          if (k === 10) await relay.rebind();
          if (k === 12) relay.restore();
          yield data.subarray(k * CHUNK, (k + 1) * CHUNK);
          await sleep(10);
        }
      })(),
    });
    const got = await within(readAll(stream.readableNodeStream()), 40000, `echo ${i}`);
    assert.strictEqual(sha256(got.subarray(1)), sha256(data), `client ${i}: intact`);
    await within(s.close(), 5000, 'close');
  }));
  await within(client.close(), 10000, 'client close');
  await sleep(100);
  for (const r of relays) await r.close();
  const stats = await ps.stop();
  const resets = Number(original.stats.statelessResetCount) + stats.reduce((a, s) => a + s.resets, 0);
  const misrouted = Number(original.stats.misroutedCount) + stats.reduce((a, s) => a + s.misrouted, 0);
  t.diagnostic(`misrouted ${misrouted}, resets ${resets}`);
  assert.ok(misrouted > 0, 'some packets reached a process that does not own them');
  assert.strictEqual(resets, 0, 'and none was answered with a stateless reset');
  await within(original.close(), 5000, 'original close');
});

// Independent processes on one port with the reusePort option
// (test/common/reuseport-process.js), started at once (they race to start
// the group's keeper), each with the leak check of its own native state.
async function startReusePort(t, n, { port, group, secret, env } = {}) {
  const { spawn } = require('node:child_process');
  const { freePort } = require('./common');
  port ??= await freePort();
  group ??= `test-${process.pid}-${port}`;
  const procs = [];
  const spawnOne = () => {
    const p = spawn(process.execPath, ['--require', path.join(__dirname, 'common', 'leak-check.js'),
                                       path.join(__dirname, 'common', 'reuseport-process.js'),
                                       String(port), group, ...(secret ? [secret.toString('hex')] : [])],
                    { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    p.out = '';
    p.err = '';
    p.stdout.on('data', (d) => { p.out += d; });
    p.stderr.on('data', (d) => { p.err += d; });
    p.exited = new Promise((resolve) => p.on('exit', (code, sig) => resolve(code ?? sig)));
    procs.push(p);
    return p;
  };
  const ready = async (list) => {
    const deadline = Date.now() + 15000;
    while (list.some((p) => !/ready \d+ \d+/.test(p.out)) && Date.now() < deadline) await sleep(20);
    for (const p of list) {
      const m = /^ready (\d+) (\d+)/.exec(p.out);
      assert.ok(m, p.err);
      assert.strictEqual(Number(m[1]), port, 'the process serves the port it named');
      p.worker = Number(m[2]);
    }
  };
  const first = Array.from({ length: n }, spawnOne);
  t.after(() => {
    for (const p of procs) {
      p.stdin.destroy();
      if (p.exitCode === null && p.signalCode === null) p.kill();
    }
  });
  await ready(first);
  return {
    port,
    procs,
    // The stats of each running process, without stopping it.
    async peek() {
      const live = procs.filter((p) => p.exitCode === null && p.signalCode === null);
      return within(Promise.all(live.map((p) => new Promise((resolve) => {
        const from = p.out.length;
        const on = () => {
          const m = /stats (.*)\n/.exec(p.out.slice(from));
          if (!m) return;
          p.stdout.off('data', on);
          resolve(JSON.parse(m[1]));
        };
        p.stdout.on('data', on);
        p.stdin.write('s');
      }))), 5000, 'stats');
    },
    async add() {
      const p = spawnOne();
      await ready([p]);
      return p;
    },
    // The stats of every process still running, which then exit cleanly.
    async stop() {
      const live = procs.filter((p) => p.exitCode === null && p.signalCode === null);
      for (const p of live) p.stdin.end('x');
      const codes = await within(Promise.all(live.map((p) => p.exited)), 15000, 'processes exit');
      for (let i = 0; i < live.length; i++) assert.strictEqual(codes[i], 0, live[i].err);
      return live.map((p) => JSON.parse(p.out.trim().split('\n').pop()));
    },
  };
}

test('reusePort: 3 processes started at once serve one port, each with its own worker index; one is killed ' +
     'mid-transfer, the others\' transfers finish intact, and no packet is misrouted after it (the kernel ' +
     'renumbered nothing); a new process takes the freed index', { timeout: 120000 }, async (t) => {
  const g = await startReusePort(t, 3);
  assert.deepStrictEqual(g.procs.map((p) => p.worker).sort(), [0, 1, 2], 'distinct worker indices');
  // A client sends no stateless resets here: one answering a server's late
  // packet to a session it already closed carries a random connection ID,
  // which the group cannot tell from a packet for another member and counts
  // as misrouted (seen under ASan, where a server's packet can arrive after
  // the client's closing period).
  const client = new Endpoint({ disableStatelessReset: true });
  // The slow transfers get an endpoint of their own, destroyed once they
  // settle: then no packet of the killed process's sessions (their probes
  // go on until the idle timeout) can arrive after the baseline below.
  const slowClient = new Endpoint({ disableStatelessReset: true });
  t.after(() => { client.destroy(); slowClient.destroy(); }); // a failed assertion must not keep the file alive
  const N = 30;
  const served = await pool(N, 10, async (i) => {
    const body = randomBytes(16384, 2100 + i);
    const r = await exchange(client, g.port, body);
    assert.strictEqual(r.hash, sha256(body), `client ${i}`);
    return r.worker;
  });
  const per = [0, 1, 2].map((w) => served.filter((x) => x === w).length);
  t.diagnostic(`sessions per worker index: ${per.join(', ')}`);
  for (const c of per) assert.ok(c > 0, `every process served: ${per}`);

  // Slow transfers on every process; then the process with index 0 (the
  // first socket of the kernel's group: closing it would move the last
  // socket into its place) is killed.
  const firstByte = [];
  const transfers = Array.from({ length: 12 }, (_, i) =>
    slowTransfer(slowClient, g.port, 2300 + i, firstByte, i, { transportParams: { maxIdleTimeout: 3000 } }));
  const workerOf = await within(Promise.all(firstByte), 20000, 'every transfer under way');
  for (const s of await g.peek()) {
    assert.strictEqual(s.steered, true);
    assert.strictEqual(s.misrouted, 0, `worker ${s.worker}: every packet was steered to its process`);
  }
  const victim = g.procs.find((p) => p.worker === 0);
  victim.kill('SIGKILL');
  await within(victim.exited, 10000, 'the process dies');
  const results = await within(Promise.all(transfers.map((p) => p.catch((e) => ({ ok: false, error: e })))),
                               60000, 'every transfer settles');
  for (let i = 0; i < results.length; i++) {
    if (workerOf[i] === 0) {
      assert.strictEqual(results[i].ok, false, `client ${i} of the killed process sees its session end`);
      await within(results[i].session.closed.then(() => {}, () => {}), 15000, 'the session is closed');
    } else {
      assert.strictEqual(results[i].ok, true, `client ${i} (index ${workerOf[i]}): ${results[i].error}`);
      assert.strictEqual(results[i].intact, true, `client ${i}: intact`);
    }
  }
  // The killed process's sessions are over, and their endpoint gone: from
  // now on every packet is of a live member's session, and none may reach
  // another member. Their last probes may still wait, unread, in a
  // member's socket queue: the baseline is taken once the counts hold
  // still for 500 ms (at most 10 s).
  slowClient.destroy();
  const misroutedNow = async () => JSON.stringify(Object.fromEntries((await g.peek()).map((x) => [x.worker, x.misrouted])));
  let baseline = await misroutedNow();
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await misroutedNow();
    if (now === baseline) break;
    baseline = now;
  }
  const before = JSON.parse(baseline);
  // New sessions: served by the two left.
  for (let i = 0; i < 6; i++) {
    const body = randomBytes(4096, 2500 + i);
    const r = await exchange(client, g.port, body);
    assert.strictEqual(r.hash, sha256(body));
    assert.notStrictEqual(r.worker, 0);
  }
  // A new process takes the lowest free index (the killed one's) and serves.
  const late = await g.add();
  assert.strictEqual(late.worker, 0, 'the freed index');
  const after = await pool(30, 6, async (i) => {
    const body = randomBytes(4096, 2600 + i);
    const r = await exchange(client, g.port, body);
    assert.strictEqual(r.hash, sha256(body));
    return r.worker;
  });
  assert.ok(after.includes(0), `the new process serves: ${after}`);
  for (const x of await g.peek()) {
    assert.strictEqual(x.misrouted, before[x.worker] ?? 0, `worker ${x.worker}: nothing misrouted since the kill`);
  }
  await within(client.close(), 10000, 'client close');
  const stats = await g.stop();
  // Packets of the killed process's sessions went to the others, which
  // dropped them (counted as misrouted) and never reset them.
  t.diagnostic(`after the kill: ${JSON.stringify(stats)}`);
  for (const s of stats) assert.strictEqual(s.steered, true);
  for (const s of stats.filter((x) => x.worker !== 0)) assert.strictEqual(s.resets, 0, `worker ${s.worker}: no reset`);
});

// A short-header packet to connection ID dcid, as an attacker (or a
// confused path) would send it: random bytes after the ID, long enough that
// a server could answer it with a stateless reset.
function shortHeaderTo(dcid, seed) {
  const rest = randomBytes(80, seed);
  return Buffer.concat([Buffer.from([0x40 | (rest[0] & 0x3f)]), dcid, rest]);
}

test('reusePort: a stateless reset from the wrong process never kills a live session (3 processes, one reset ' +
     'secret, no steering program: packets for live sessions reach every process)', { timeout: 90000 }, async (t) => {
  const dgram = require('node:dgram');
  const secret = randomBytes(16, 31);
  const g = await startReusePort(t, 3, { secret, env: { QUIC_DEBUG_NO_REUSEPORT_CBPF: '1' } });
  const client = new Endpoint();
  const CLIENTS = 9;
  const CHUNK = 16 * 1024;
  const CHUNKS = 40;
  const relays = [];
  const dcids = new Map(); // hex -> Buffer: the server's IDs the clients send to
  // Sockets on many ports, so that the kernel's hash takes their packets
  // to every process; a reset would come back to them.
  const probes = [];
  let answered = 0;
  for (let i = 0; i < 48; i++) {
    const s = dgram.createSocket('udp4');
    await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
    s.on('message', () => { answered++; });
    probes.push(s);
  }
  t.after(() => { for (const s of probes) s.close(); });
  let sent = 0;
  const workers = await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
    const relay = await createRelay(g.port, (msg, dir) => {
      if (dir === 'up' && !isLongHeader(msg)) dcids.set(msg.subarray(1, 17).toString('hex'), Buffer.from(msg.subarray(1, 17)));
      return msg;
    });
    relays.push(relay);
    const data = randomBytes(CHUNK * CHUNKS, 2700 + i);
    const s = dial(client, relay.port, { transportParams: { maxIdleTimeout: 30000 } });
    await within(s.handshake, 10000, 'handshake');
    const stream = s.open({
      body: (async function* body() {
        for (let k = 0; k < CHUNKS; k++) {
          if (k >= 10 && k < 30) {
            // Every live ID, from every probe socket.
            for (const id of dcids.values()) {
              for (const p of probes) {
                p.send(shortHeaderTo(id, sent++), g.port, '127.0.0.1');
              }
            }
          }
          yield data.subarray(k * CHUNK, (k + 1) * CHUNK);
          await sleep(20);
        }
      })(),
    });
    const got = await within(readAll(stream.readableNodeStream()), 40000, `echo ${i}`);
    assert.strictEqual(sha256(got.subarray(1)), sha256(data), `client ${i}: intact, its session alive`);
    await within(s.close(), 5000, 'close');
    return got[0];
  }));
  await sleep(200); // a reset would be back by now
  await within(client.close(), 10000, 'client close');
  for (const r of relays) await r.close();
  const stats = await g.stop();
  const misrouted = stats.reduce((a, s) => a + s.misrouted, 0);
  t.diagnostic(`probes ${sent}, misrouted ${misrouted}, sessions by index ${workers.join(',')}`);
  for (const s of stats) assert.strictEqual(s.steered, false, 'the kernel spread the datagrams by their addresses');
  assert.ok(sent > 1000, 'the probes went out');
  assert.ok(misrouted > 0, 'probes reached processes that do not own their sessions');
  assert.strictEqual(stats.reduce((a, s) => a + s.resets, 0), 0, 'no process sent a stateless reset');
  assert.strictEqual(answered, 0, 'nothing came back to the probes');
  assert.strictEqual(stats.reduce((a, s) => a + s.serverSessions, 0), CLIENTS);
});

test('reusePort: the option\'s checks; a port serves one group; the keeper lets the port go with its last member',
     { timeout: 30000 }, async () => {
  const dgram = require('node:dgram');
  const { freePort } = require('./common');
  assert.throws(() => new Endpoint({ reusePort: true }), { code: 'ERR_INVALID_ARG_VALUE' }); // port 0
  const port = await freePort();
  const address = { port };
  assert.throws(() => new Endpoint({ address, reusePort: 1 }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new Endpoint({ address, reusePort: { group: 7 } }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new Endpoint({ address, reusePort: { group: '' } }), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => new Endpoint({ address, reusePort: { group: 'x'.repeat(65) } }), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => new Endpoint({ address, reusePort: true,
                                     loadBalancer: { serverId: Buffer.from([1]), lengthSelfEncoding: true } }),
                { code: 'ERR_QUIC_UNSUPPORTED' });
  const a = new Endpoint({ address, reusePort: { group: 'one' } });
  const b = new Endpoint({ address, reusePort: { group: 'one' } });
  assert.strictEqual(a.reusePort, undefined, 'not bound yet');
  a.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert } });
  b.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert } });
  assert.deepStrictEqual([a.reusePort.worker, b.reusePort.worker], [0, 1]);
  assert.strictEqual(a.reusePort.group, 'one');
  assert.strictEqual(a.address.port, port);
  assert.throws(() => a.share(), { code: 'ERR_INVALID_STATE' });
  assert.throws(() => a.connect({ address: '127.0.0.1', port: 9 }, { alpn: ALPN, scid: Buffer.alloc(8, 1) }),
                { code: 'ERR_QUIC_UNSUPPORTED' });
  // Another group on the same port: the address is in use.
  const other = new Endpoint({ address, reusePort: { group: 'two' } });
  assert.throws(() => other.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert } }),
                { code: 'EADDRINUSE', syscall: 'bind' });
  await other.close();
  // Both serve.
  const client = new Endpoint();
  const workers = new Set();
  for (const e of [a, b]) {
    e.onsession = ({ session }) => {
      session.onstream = ({ stream, respondWith }) => {
        respondWith({ body: (async function* echo() {
          yield Buffer.from([e.reusePort.worker]);
          for await (const c of stream.readableNodeStream()) yield Buffer.from(c);
        })() });
      };
    };
  }
  for (let i = 0; i < 16 && workers.size < 2; i++) {
    const r = await exchange(client, port, Buffer.from(`n${i}`));
    workers.add(r.worker);
  }
  assert.deepStrictEqual([...workers].sort(), [0, 1]);
  await client.close();
  await a.close();
  await b.close();
  // The keeper goes with the last member, and with it every socket: a plain
  // socket can bind the port again.
  const deadline = Date.now() + 5000;
  for (;;) {
    const s = dgram.createSocket('udp4');
    const err = await new Promise((resolve) => {
      s.once('error', resolve);
      s.bind(port, '127.0.0.1', () => resolve(null));
    });
    await new Promise((resolve) => s.close(resolve));
    if (err === null) break;
    assert.ok(Date.now() < deadline, `the port is still bound: ${err.message}`);
    await sleep(50);
  }
  // A plain socket on the port: a group cannot bind there.
  const plain = dgram.createSocket('udp4');
  await new Promise((resolve) => plain.bind(port, '127.0.0.1', resolve));
  const late = new Endpoint({ address, reusePort: true });
  assert.throws(() => late.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert } }),
                { code: 'EADDRINUSE', syscall: 'bind' });
  await late.close();
  await new Promise((resolve) => plain.close(resolve));
});

test('HTTP/3 and WebTransport on a port shared by 2 workers: request bodies and bidirectional echoes checked by ' +
     'hash, sessions on both workers', { timeout: 120000 }, async (t) => {
  const original = new Endpoint({ maxConnectionsPerHost: 1000 });
  const handle = original.share();
  const events = [];
  const workers = [];
  t.after(async () => {
    for (const w of workers) await w.terminate();
    if (!original.destroyed) original.destroy();
  });
  for (let index = 0; index < 2; index++) {
    const w = new Worker(path.join(__dirname, 'common', 'h3-worker.js'),
                         { workerData: { handle, key: certs.key, cert: certs.cert, index } });
    w.exited = new Promise((resolve) => w.on('exit', resolve));
    w.on('error', (e) => events.push({ type: 'error', index, message: e.message }));
    w.on('message', (m) => events.push(m));
    await within(new Promise((resolve) => w.on('message', (m) => m.type === 'ready' && resolve())), 10000, 'ready');
    workers.push(w);
  }
  const port = original.address.port;
  const client = new Endpoint();
  // HTTP/3: 16 connections, 4 requests each, bodies echoed.
  const byWorker = [0, 0];
  await pool(16, 8, async (c) => {
    const s = client.connect({ address: '127.0.0.1', port }, { hostname: 'localhost', secure: { ca: certs.ca } });
    await within(s.handshake, 20000, 'h3 handshake');
    let worker = null;
    await Promise.all(Array.from({ length: 4 }, async (_, r) => {
      const body = randomBytes(20000 + r * 1000, 3000 + c * 10 + r);
      const stream = s.open({ headers: { ':method': 'POST', ':path': `/echo/${c}/${r}` }, body });
      const headers = await within(stream.headers, 20000, 'response headers');
      assert.strictEqual(headers[':status'], 200);
      const got = await within(readAll(stream.readableNodeStream()), 20000, 'response body');
      assert.strictEqual(sha256(got), sha256(body), `connection ${c} request ${r}: the body`);
      if (worker === null) worker = Number(headers['x-worker']);
      assert.strictEqual(Number(headers['x-worker']), worker, 'one connection, one worker');
    }));
    byWorker[worker]++;
    await within(s.close(), 10000, 'h3 close');
  });
  t.diagnostic(`HTTP/3 connections per worker: ${byWorker.join(', ')}`);
  for (const c of byWorker) assert.ok(c > 0, `both workers served HTTP/3: ${byWorker}`);
  // WebTransport: 16 sessions, 2 bidirectional echoes each.
  const { WebTransport } = quic;
  const wtByWorker = [0, 0];
  await pool(16, 8, async (i) => {
    const wt = new WebTransport(`https://localhost:${port}/wt/${i}`, { ca: certs.ca });
    await within(wt.ready, 20000, 'WebTransport ready');
    const workersSeen = await Promise.all([0, 1].map(async (k) => {
      const data = randomBytes(65536, 3500 + i * 2 + k);
      const { readable, writable } = await wt.createBidirectionalStream();
      const chunks = [];
      const reading = (async () => { for await (const c of readable) chunks.push(Buffer.from(c)); })();
      const w = writable.getWriter();
      await w.write(data);
      await w.close();
      await within(reading, 20000, 'echo');
      const got = Buffer.concat(chunks);
      assert.strictEqual(sha256(got.subarray(1)), sha256(data), `session ${i} stream ${k}: the echo`);
      return got[0];
    }));
    assert.strictEqual(workersSeen[0], workersSeen[1], 'one session, one worker');
    wtByWorker[workersSeen[0]]++;
    wt.close();
    await within(wt.closed, 10000, 'WebTransport closed');
  });
  t.diagnostic(`WebTransport sessions per worker: ${wtByWorker.join(', ')}`);
  for (const c of wtByWorker) assert.ok(c > 0, `both workers served WebTransport: ${wtByWorker}`);
  const reported = [0, 1].map((i) => events.filter((e) => e.type === 'webtransport' && e.index === i).length);
  assert.deepStrictEqual(reported, wtByWorker, 'each echo came from the worker that accepted the session');
  await within(client.close(), 10000, 'client close');
  for (const w of workers) w.postMessage('close');
  await within(Promise.all(workers.map((w) => w.exited)), 15000, 'workers exit');
  await within(original.close(), 5000, 'original close');
  assert.deepStrictEqual(events.filter((e) => e.type === 'error'), []);
});

'use strict';
// Scenarios shared by test/hostile.test.js (small sizes, in the default
// suite) and test/stress/ (the full sizes of issue 6): a transfer through
// loss or corruption, and a flood of garbage while a real client works.
const assert = require('node:assert');
const path = require('node:path');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const { quic, makeServer, connect, readAll, hashOf, within, randomBytes } = require('.');
const { createRelay } = require('./relay');

// A server that answers each bidirectional stream with `size` bytes of its
// own (seeded) data after reading the request whole, so each direction
// carries a full body: the request up, the reply down.
// Under heavy loss the client's one CONNECTION_CLOSE may never arrive: the
// server's session then ends by this idle timeout (a clean close too).
const IDLE = { transportParams: { maxIdleTimeout: 5000 } };

function twoWayServer(size, options = {}) {
  return makeServer({
    session: IDLE,
    ...options,
    onsession: (s) => {
      s.onstream = async ({ stream, respondWith }) => {
        const got = await hashOf(stream.readableNodeStream());
        const reply = randomBytes(size, 77);
        // The request's hash rides in front so the client can check it.
        respondWith({ body: [Buffer.from(`${got.length} ${got.hash}\n`), reply] });
      };
    },
  });
}

const digest = (b) => crypto.createHash('sha256').update(b).digest('hex');

// `size` bytes each way, through whatever `via` (a relay port or the
// server) does to the packets; checks both hashes and a clean close.
// `session` adds to the client's session options (a longer idle timeout).
// On failure the client endpoint is destroyed, so that nothing keeps the
// test file alive until its own timeout.
async function twoWayTransfer(t, { size, server, port, clientEndpoint = {}, session: sessionOptions = {}, timeout }) {
  const { client, session } = connect(port ?? server, { endpoint: clientEndpoint, session: { ...IDLE, handshakeTimeout: 30000, ...sessionOptions } });
  try {
    const t0 = Date.now();
    await within(session.handshake, 30000, 'handshake');
    const data = randomBytes(size, 33);
    const stream = session.open({ body: data });
    const back = await within(readAll(stream.readableNodeStream()), timeout, `${size}-byte transfer each way`);
    const nl = back.indexOf(10);
    assert.ok(nl > 0, 'the reply starts with the request hash');
    assert.strictEqual(back.subarray(0, nl).toString(), `${size} ${digest(data)}`, 'what the server received');
    assert.strictEqual(back.length - nl - 1, size, 'reply length');
    assert.strictEqual(digest(back.subarray(nl + 1)), digest(randomBytes(size, 77)), 'what the client received');
    const ms = Date.now() - t0;
    t.diagnostic(`${size} bytes each way in ${ms} ms; client stats ${JSON.stringify(session.stats.toJSON())}`);
    await within(stream.closed, 10000, 'stream closed');
    // A clean end: close() fulfils and so does closed (NO_ERROR).
    await within(session.close(), 10000, 'session close');
    await within(session.closed, 10000, 'session closed');
    await within(client.close(), 10000, 'client endpoint close');
    return ms;
  } catch (err) {
    client.destroy();
    throw err;
  }
}

// A relay that flips one byte in a `fraction` of the datagrams each way.
async function corruptingRelay(serverPort, fraction, seed = 1) {
  let x = seed;
  const rnd = () => { x = (x * 1103515245 + 12345) >>> 0; return x / 2 ** 32; };
  const counts = { corrupted: 0 };
  const relay = await createRelay(serverPort, (msg) => {
    if (rnd() >= fraction) return msg;
    const copy = Buffer.from(msg);
    copy[Math.floor(rnd() * copy.length)] ^= 1 + Math.floor(rnd() * 255);
    counts.corrupted++;
    return copy;
  });
  relay.corrupted = counts;
  return relay;
}

// Spawns test/common/flood.js against `port`; resolves with its report.
function flood(port, ms, kind, sockets) {
  const child = spawn(process.execPath, [path.join(__dirname, 'flood.js'), String(port), String(ms), kind, String(sockets)],
                      { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`flood exited with ${code}`));
      else resolve(JSON.parse(out));
    });
  });
  done.kill = () => child.kill();
  return done;
}

// Garbage at full speed for `ms` while real clients handshake and echo,
// one after the other, for the whole time; memory stays bounded.
async function garbageFlood(t, ms, { memoryBound = 64 * 1024 * 1024 } = {}) {
  const server = makeServer({
    // The flood overflows the socket's queue, so a client's CONNECTION_CLOSE
    // can be lost: its server session then ends by this idle timeout.
    session: { transportParams: { maxIdleTimeout: 3000 } },
    onsession: (s) => {
      s.onstream = async ({ stream, respondWith }) => respondWith({ body: await readAll(stream.readableNodeStream()) });
    },
  });
  const memBefore = quic.liveMemory().bytes;
  const flooding = flood(server.address.port, ms, 'garbage', 4);
  try {
    let rounds = 0;
    let peak = 0;
    const end = Date.now() + ms - 300;
    // Give the flood a head start, so the first handshake already meets it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    do {
      // The flood fills the socket's queue, so the client's packets are
      // dropped there too and its handshake may need several probe timeouts.
      const { client, session } = connect(server, { session: { handshakeTimeout: 30000 } });
      await within(session.handshake, 30000, `handshake ${rounds} during the flood`);
      const msg = `during the flood ${rounds}`;
      const back = await within(readAll(session.open({ body: msg }).readableNodeStream()), 10000, 'echo during the flood');
      assert.strictEqual(back.toString(), msg);
      await within(client.close(), 10000, 'client close');
      peak = Math.max(peak, quic.liveMemory().bytes);
      rounds++;
    } while (Date.now() < end);
    const report = await within(flooding, ms + 30000, 'the flood ends');
    const stats = server.stats;
    t.diagnostic(`flood: ${JSON.stringify(report)}; server received ${stats.packetsReceived} packets, ` +
                 `sent ${stats.packetsSent}; ${rounds} client rounds; liveMemory before ${memBefore}, peak ${peak}; ` +
                 `server sessions ${stats.serverSessions}, resets ${stats.statelessResetCount}`);
    assert.ok(rounds >= 1, 'at least one real client round during the flood');
    assert.ok(stats.packetsReceived > BigInt(rounds * 20), 'the garbage reached the server');
    assert.ok(peak < memoryBound, `liveMemory peak ${peak} bytes (bound ${memoryBound})`);
    // Resets to the flooding host are capped (maxStatelessResetsPerHost).
    assert.ok(stats.statelessResetCount <= 10n, `stateless resets sent: ${stats.statelessResetCount}`);
  } finally {
    flooding.kill();
    await flooding.catch(() => {});
    await within(server.close(), 10000, 'server close');
  }
}

module.exports = { twoWayServer, twoWayTransfer, corruptingRelay, flood, garbageFlood };

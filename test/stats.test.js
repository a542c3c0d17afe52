'use strict';
// EndpointStats, SessionStats and StreamStats: every seed field is a bigint,
// the counters follow the data that really crossed, C updates them in place
// (a read never calls the addon), and they freeze when their owner closes.
const test = require('node:test');
const assert = require('node:assert');
const v8 = require('node:v8');
const vm = require('node:vm');
const binding = require('../lib/binding');
const { quic, makeServer, connect, readAll, within, randomBytes } = require('./common');

const T = 10000;
const { EndpointStats, SessionStats, StreamStats } = quic;

const SEED_FIELDS = {
  EndpointStats: ['bytesReceived', 'bytesSent', 'clientSessions', 'createdAt', 'duration', 'packetsReceived',
    'packetsSent', 'serverBusyCount', 'serverSessions', 'statelessResetCount',
    'misroutedCount'], // misroutedCount: issue 14 (a port shared by threads)
  SessionStats: ['bidiStreamCount', 'blockCount', 'bytesInFlight', 'bytesReceived', 'bytesSent', 'closingAt',
    'congestionRecoveryStartTS', 'createdAt', 'cwnd', 'deliveryRateSec', 'duration', 'firstRttSampleTS',
    'handshakeCompletedAt', 'handshakeConfirmedAt', 'inboundStreamsCount', 'initialRtt', 'keyUpdateCount',
    'lastReceivedAt', 'lastSentAt', 'lastSentPacketTS', 'latestRtt', 'lossDetectionTimer', 'lossRetransmitCount',
    'lossTime', 'maxBytesInFlight', 'maxUdpPayloadSize', 'minRtt', 'outboundStreamsCount', 'ptoCount',
    'receiveRate', 'rttVar', 'sendRate', 'smoothedRtt', 'ssthresh', 'uniStreamCount'],
  StreamStats: ['bytesReceived', 'bytesSent', 'closingAt', 'createdAt', 'duration', 'finalSize',
    'lastAcknowledgeAt', 'lastReceivedAt', 'maxOffset', 'maxOffsetAcknowledged', 'maxOffsetReceived'],
};

// Counts calls to the addon's stats functions (the only way into C for a
// stats read) for the whole file.
const statsCalls = { endpointStats: 0, sessionStats: 0, streamStats: 0 };
for (const name of Object.keys(statsCalls)) {
  const f = binding[name];
  binding[name] = function(...args) {
    statsCalls[name]++;
    return f.apply(this, args);
  };
}

// Every addon function, counted while `fn` runs.
function addonCallsDuring(fn) {
  const saved = {};
  let calls = 0;
  for (const [name, f] of Object.entries(binding)) {
    if (typeof f !== 'function') continue;
    saved[name] = f;
    binding[name] = function(...args) {
      calls++;
      return f.apply(this, args);
    };
  }
  try {
    fn();
  } finally {
    Object.assign(binding, saved);
  }
  return calls;
}

function readAllFields(stats) {
  const out = {};
  for (const f of stats.constructor.fields) out[f] = stats[f];
  return out;
}

function assertAllBigint(stats, what) {
  for (const f of stats.constructor.fields) assert.strictEqual(typeof stats[f], 'bigint', `${what}.${f}`);
}

function assertOrdered(what, ...pairs) {
  for (let i = 1; i < pairs.length; i++) {
    const [an, a] = pairs[i - 1];
    const [bn, b] = pairs[i];
    assert.ok(a <= b, `${what}: ${an} (${a}) <= ${bn} (${b})`);
  }
}

test('the classes are exported with every seed field, in both module systems', async () => {
  for (const [name, fields] of Object.entries(SEED_FIELDS)) {
    assert.strictEqual(typeof quic[name], 'function', name);
    assert.deepStrictEqual([...quic[name].fields].sort(), [...fields].sort(), `${name}.fields`);
    for (const f of fields) assert.ok(f in quic[name].prototype, `${name}.${f}`);
    assert.throws(() => new quic[name](), TypeError);
  }
  const esm = await import('../lib/index.mjs');
  assert.strictEqual(esm.StreamStats, StreamStats);
  assert.strictEqual(esm.SessionStats, SessionStats);
  assert.strictEqual(esm.EndpointStats, EndpointStats);
});

test('an echo: counters match the data that crossed, in place, then frozen', async () => {
  const PAYLOAD = 200 * 1024;
  const data = randomBytes(PAYLOAD, 7);
  const before = { ...statsCalls };
  let serverSession;
  let serverStream;
  const server = makeServer();
  const serverDone = new Promise((resolve, reject) => {
    server.onsession = ({ session }) => {
      serverSession = session;
      session.onstream = async ({ stream, respondWith }) => {
        try {
          serverStream = stream;
          // Read once early: from here on the same view follows the stream.
          assert.strictEqual(typeof stream.stats.bytesReceived, 'bigint');
          const body = await readAll(stream.readableNodeStream());
          respondWith({ body });
          resolve(body);
        } catch (err) {
          reject(err);
        }
      };
    };
  });
  const { client, session } = connect(server);
  const eStats = client.stats;
  const sStats = session.stats;
  assert.ok(eStats instanceof EndpointStats);
  assert.ok(sStats instanceof SessionStats);
  assert.strictEqual(session.stats, sStats, 'the same object on every read');
  await within(session.handshake, T, 'handshake');

  const stream = session.open({ body: data });
  const stStats = stream.stats;
  assert.ok(stStats instanceof StreamStats);
  assert.strictEqual(stream.stats, stStats);
  const sentAtOpen = stStats.bytesSent;
  const echoed = await within(readAll(stream.readableNodeStream()), T, 'echo');
  assert.ok(echoed.equals(data), 'the echo is the data');
  const body = await within(serverDone, T, 'server side');
  assert.ok(body.equals(data), 'the server read the data');

  // Live values, read without asking C: the views follow the traffic.
  assert.ok(stStats.bytesSent > sentAtOpen || sentAtOpen === BigInt(PAYLOAD));
  assert.strictEqual(stStats.bytesSent, BigInt(PAYLOAD));
  assert.strictEqual(stStats.bytesReceived, BigInt(PAYLOAD));
  assert.strictEqual(stStats.maxOffsetReceived, BigInt(PAYLOAD));
  assert.strictEqual(stStats.finalSize, BigInt(PAYLOAD));
  assert.ok(stStats.maxOffset >= BigInt(PAYLOAD), `maxOffset ${stStats.maxOffset}: the peer let us send it all`);
  const ss = serverStream.stats;
  assert.strictEqual(ss.bytesReceived, BigInt(PAYLOAD));
  assert.strictEqual(ss.finalSize, BigInt(PAYLOAD));
  assert.strictEqual(ss.bytesSent, BigInt(PAYLOAD));

  for (const [who, st, peer] of [['client', sStats, serverSession.stats], ['server', serverSession.stats, sStats]]) {
    assertAllBigint(st, `${who} session`);
    assert.ok(st.bytesSent >= BigInt(PAYLOAD), `${who} bytesSent ${st.bytesSent}`);
    assert.ok(st.bytesReceived >= BigInt(PAYLOAD), `${who} bytesReceived ${st.bytesReceived}`);
    // Loopback loses nothing, but packets may still be on their way.
    assert.ok(peer.bytesReceived <= st.bytesSent + 4096n, `${who}: peer received no more than was sent`);
    assert.ok(st.smoothedRtt > 0n && st.latestRtt > 0n && st.minRtt > 0n, `${who} RTTs`);
    assert.ok(st.minRtt <= st.latestRtt, `${who} minRtt <= latestRtt`);
    assert.strictEqual(st.initialRtt, 333000000n, `${who} initialRtt is ngtcp2's default, 333 ms`);
    assert.ok(st.cwnd > 0n, `${who} cwnd`);
    assert.ok(st.maxBytesInFlight > 0n && st.maxBytesInFlight >= st.bytesInFlight, `${who} maxBytesInFlight`);
    assert.ok(st.maxUdpPayloadSize >= 1200n, `${who} maxUdpPayloadSize ${st.maxUdpPayloadSize}`);
    assert.ok(st.sendRate > 0n && st.receiveRate > 0n && st.deliveryRateSec > 0n, `${who} rates`);
    assert.strictEqual(st.bidiStreamCount, 1n);
    assert.strictEqual(st.uniStreamCount, 0n);
    assert.ok(st.duration > 0n);
    assertOrdered(`${who} session`, ['createdAt', st.createdAt], ['handshakeCompletedAt', st.handshakeCompletedAt],
                  ['handshakeConfirmedAt', st.handshakeConfirmedAt], ['lastSentAt', st.lastSentAt]);
    assertOrdered(`${who} session`, ['createdAt', st.createdAt], ['firstRttSampleTS', st.firstRttSampleTS],
                  ['lastReceivedAt', st.lastReceivedAt], ['now', process.hrtime.bigint()]);
    assertOrdered(`${who} session`, ['createdAt', st.createdAt], ['lastSentPacketTS', st.lastSentPacketTS],
                  ['now', process.hrtime.bigint()]);
    assert.strictEqual(st.closingAt, 0n, `${who} not closing yet`);
  }
  assert.strictEqual(sStats.outboundStreamsCount, 1n);
  assert.strictEqual(sStats.inboundStreamsCount, 0n);
  assert.strictEqual(serverSession.stats.inboundStreamsCount, 1n);
  assert.strictEqual(serverSession.stats.outboundStreamsCount, 0n);

  // A read is an array load: no addon call at all, for any stats object.
  const objects = [eStats, server.stats, sStats, serverSession.stats, stStats, ss];
  for (const o of objects) readAllFields(o); // views taken
  const calls = addonCallsDuring(() => {
    for (let i = 0; i < 1000; i++) for (const o of objects) readAllFields(o);
  });
  assert.strictEqual(calls, 0, 'reading stats called into the addon');

  // Close everything; the values freeze.
  await within(stream.closed, T, 'stream closed');
  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
  for (const o of objects) assertAllBigint(o, o.constructor.name);
  assert.strictEqual(stStats.maxOffsetAcknowledged, BigInt(PAYLOAD), 'every byte acknowledged before the close');
  assert.strictEqual(ss.maxOffsetAcknowledged, BigInt(PAYLOAD));
  for (const st of [stStats, ss]) {
    assertOrdered('stream', ['createdAt', st.createdAt], ['lastReceivedAt', st.lastReceivedAt],
                  ['now', process.hrtime.bigint()]);
    assertOrdered('stream', ['createdAt', st.createdAt], ['closingAt', st.closingAt],
                  ['now', process.hrtime.bigint()]);
    assertOrdered('stream', ['createdAt', st.createdAt], ['lastAcknowledgeAt', st.lastAcknowledgeAt],
                  ['now', process.hrtime.bigint()]);
    assert.ok(st.closingAt > 0n && st.lastAcknowledgeAt > 0n);
  }
  for (const st of [sStats, serverSession.stats]) {
    assertOrdered('closed session', ['handshakeConfirmedAt', st.handshakeConfirmedAt], ['closingAt', st.closingAt],
                  ['now', process.hrtime.bigint()]);
    assert.ok(st.duration >= st.closingAt - st.createdAt, 'duration runs up to the end');
  }
  assert.ok(eStats.bytesSent >= sStats.bytesSent, 'an endpoint counts at least its session');
  assert.ok(eStats.bytesReceived >= sStats.bytesReceived);
  assert.ok(server.stats.bytesReceived >= serverSession.stats.bytesReceived);
  assert.ok(eStats.packetsSent > 0n && eStats.packetsReceived > 0n);
  assert.strictEqual(eStats.clientSessions, 1n);
  assert.strictEqual(server.stats.serverSessions, 1n);
  assert.ok(server.stats.bytesReceived >= BigInt(PAYLOAD) && eStats.bytesSent >= BigInt(PAYLOAD));

  const frozen = objects.map(readAllFields);
  const json = objects.map((o) => JSON.stringify(o));
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepStrictEqual(objects.map(readAllFields), frozen, 'values (duration too) stay frozen');
  assert.deepStrictEqual(objects.map((o) => JSON.stringify(o)), json);

  // toJSON: every field, as a Number.
  for (const o of objects) {
    const j = JSON.parse(JSON.stringify(o));
    assert.deepStrictEqual(Object.keys(j).sort(), [...o.constructor.fields].sort());
    for (const [k, v] of Object.entries(j)) assert.strictEqual(v, Number(o[k]), `${o.constructor.name}.${k}`);
  }

  // One view per object, asked on its first read: 2 endpoints, 2 sessions,
  // 2 streams (the stream views), and nothing per read.
  assert.deepStrictEqual({
    endpointStats: statsCalls.endpointStats - before.endpointStats,
    sessionStats: statsCalls.sessionStats - before.sessionStats,
    streamStats: statsCalls.streamStats - before.streamStats,
  }, { endpointStats: 2, sessionStats: 2, streamStats: 2 });
});

test('a stream whose stats are first read after it closed keeps its last values', async () => {
  const PAYLOAD = 50000;
  const data = randomBytes(PAYLOAD, 3);
  let serverStream;
  const server = makeServer({
    onsession: (session) => {
      session.onstream = async ({ stream, respondWith }) => {
        serverStream = stream;
        respondWith({ body: await readAll(stream.readableNodeStream()) });
      };
    },
  });
  const { client, session } = connect(server);
  await within(session.handshake, T, 'handshake');
  const before = statsCalls.streamStats;
  const stream = session.open({ body: data });
  const echoed = await within(readAll(stream.readableNodeStream()), T, 'echo');
  assert.strictEqual(echoed.length, PAYLOAD);
  await within(stream.closed, T, 'stream closed');
  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
  // Taken when the stream was let go of, not when the stats are first read.
  const readAt = process.hrtime.bigint();
  for (const st of [stream.stats, serverStream.stats]) {
    assertAllBigint(st, 'stream');
    assert.ok(st.duration > 0n && st.createdAt + st.duration < readAt, 'the duration ends at the release');
    assert.strictEqual(st.bytesSent, BigInt(PAYLOAD));
    assert.strictEqual(st.bytesReceived, BigInt(PAYLOAD));
    assert.ok(st.createdAt > 0n && st.duration > 0n);
    const d = st.duration;
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.strictEqual(st.duration, d, 'frozen');
  }
  // The last values came with the release, not through a view.
  assert.strictEqual(statsCalls.streamStats - before, 0);
});

test('streams released together keep their own last values (more than one shared slab of them)', async () => {
  // Released streams' values sit side by side in shared arrays of 64
  // streams each: 70 echoes of distinct sizes, read only after they closed.
  const server = makeServer({
    onsession: (session) => {
      session.onstream = async ({ stream, respondWith }) => {
        respondWith({ body: await readAll(stream.readableNodeStream()) });
      };
    },
  });
  const { client, session } = connect(server);
  await within(session.handshake, T, 'handshake');
  const streams = [];
  await within(Promise.all(Array.from({ length: 70 }, async (_, i) => {
    const size = 1000 + i * 37;
    const stream = session.open({ body: randomBytes(size, i) });
    streams.push({ stream, size });
    const echoed = await readAll(stream.readableNodeStream());
    assert.strictEqual(echoed.length, size);
    await stream.closed;
  })), T, 'echoes');
  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
  for (const { stream, size } of streams) {
    assert.strictEqual(stream.stats.bytesSent, BigInt(size), `sent, stream of ${size}`);
    assert.strictEqual(stream.stats.bytesReceived, BigInt(size), `received, stream of ${size}`);
  }
});

test('stats outlive their native objects and the garbage collector', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const kept = [];
  const server = makeServer({
    onsession: (session) => {
      session.onstream = async ({ stream, respondWith }) => {
        kept.push(stream.stats);
        respondWith({ body: await readAll(stream.readableNodeStream()) });
      };
    },
  });
  for (let round = 0; round < 3; round++) {
    const { client, session } = connect(server);
    await within(session.handshake, T, 'handshake');
    kept.push(session.stats, client.stats);
    for (let i = 0; i < 20; i++) {
      const stream = session.open({ body: randomBytes(1000 + i, i + 1) });
      if (i % 2) kept.push(stream.stats);
      await within(readAll(stream.readableNodeStream()), T, 'echo');
    }
    // Views dropped while C still runs, then C freed while views live.
    gc();
    await within(client.close(), T, 'client close');
    gc();
  }
  await within(server.close(), T, 'server close');
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  for (const st of kept) {
    assertAllBigint(st, st.constructor.name);
    assert.ok(st.createdAt > 0n, `${st.constructor.name}.createdAt`);
    assert.ok(st.duration > 0n);
  }
  const streams = kept.filter((s) => s instanceof StreamStats);
  assert.ok(streams.length >= 60);
  for (const st of streams) assert.ok(st.bytesReceived >= 1000n && st.bytesSent >= 1000n, JSON.stringify(st));
});

test('a destroyed endpoint first read afterwards still answers with bigints', async () => {
  const ep = new quic.Endpoint();
  ep.destroy();
  await ep.closed;
  assertAllBigint(ep.stats, 'endpoint');
  assert.ok(ep.stats.createdAt > 0n, 'the last values were kept at destroy');
  const d = ep.stats.duration;
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.strictEqual(ep.stats.duration, d);
});

test('HTTP/3: stream stats count body bytes both ways', async () => {
  const REQ = 30000;
  const RES = 70000;
  const { certs } = require('./common');
  let serverStats;
  const server = new quic.Endpoint();
  server.onsession = ({ session }) => {
    session.onstream = async ({ stream, respondWith }) => {
      serverStats = stream.stats;
      const body = await readAll(stream.readableNodeStream());
      respondWith({ body: randomBytes(RES, body.length) });
    };
  };
  server.listen({ secure: { key: certs.key, cert: certs.cert } });
  const client = new quic.Endpoint();
  const session = client.connect({ address: '127.0.0.1', port: server.address.port },
                                 { hostname: 'localhost', secure: { ca: certs.ca } });
  await within(session.handshake, T, 'handshake');
  assert.strictEqual(session.alpn, 'h3');
  const stream = session.open({ headers: { ':method': 'POST' }, body: randomBytes(REQ, 5) });
  const st = stream.stats;
  const res = await within(readAll(stream.readableNodeStream()), T, 'response');
  assert.ok(res.equals(randomBytes(RES, REQ)));
  assert.strictEqual(st.bytesSent, BigInt(REQ));
  assert.strictEqual(st.bytesReceived, BigInt(RES));
  assert.strictEqual(st.finalSize, BigInt(RES));
  assert.strictEqual(serverStats.bytesReceived, BigInt(REQ));
  assert.strictEqual(serverStats.bytesSent, BigInt(RES));
  assert.ok(st.maxOffset > 0n && serverStats.maxOffset > 0n, 'the peers granted send credit');
  await within(stream.closed, T, 'stream closed');
  assert.strictEqual(st.maxOffsetAcknowledged, BigInt(REQ));
  assert.ok(session.stats.deliveryRateSec > 0n);
  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
  assertAllBigint(st, 'h3 stream');
});

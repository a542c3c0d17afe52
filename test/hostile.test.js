'use strict';
// A hostile network and hostile peers (issue 6, parts 3 and 4), at sizes
// that fit the default suite; test/stress/ runs the same scenarios at full
// size. Every peer here misbehaves on the wire: through a UDP relay that
// drops, corrupts, counts or injects datagrams, a flooding child process,
// or the session option testing.ignoreStreamCredit (test only).
const test = require('node:test');
const assert = require('node:assert');
const crypto = require('node:crypto');
const { quic, makeServer, connect, readAll, hashOf, within, randomBytes } = require('./common');
const { createRelay, isLongHeader, longType } = require('./common/relay');
const { twoWayServer, twoWayTransfer, corruptingRelay, flood, garbageFlood } = require('./common/hostile');

const MB = 1024 * 1024;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function echoServer(options = {}) {
  return makeServer({
    ...options,
    onsession: (s) => {
      s.onstream = async ({ stream, respondWith }) => respondWith({ body: await readAll(stream.readableNodeStream()) });
    },
  });
}

test('corruption: 1 MB each way with 5% of datagrams corrupted in flight; intact, clean close', async (t) => {
  const server = twoWayServer(MB);
  const relay = await corruptingRelay(server.address.port, 0.05, 7);
  try {
    await twoWayTransfer(t, { size: MB, port: relay.port, timeout: 60000 });
    t.diagnostic(`corrupted ${relay.corrupted.corrupted} of ${relay.counts.up.packets + relay.counts.down.packets} datagrams`);
    assert.ok(relay.corrupted.corrupted > 10, 'the relay corrupted datagrams');
  } finally {
    await within(server.close(), 10000, 'server close');
    await relay.close();
  }
});

test('garbage at full speed for 1.5 s: a real client still handshakes and echoes; memory bounded', async (t) => {
  await garbageFlood(t, 1500);
});

test('Initial flood from many ports with validateAddress: answered by Retry only, no session, memory bounded', async (t) => {
  const server = echoServer({ endpoint: { validateAddress: true } });
  // The real client's port is held during the flood, so that it cannot be
  // one the flood used: that address has had its 10 Retry packets and is
  // ignored, as it should be (a CI run once drew such a port).
  const held = require('node:dgram').createSocket('udp4');
  await new Promise((resolve) => held.bind(0, '127.0.0.1', resolve));
  const clientPort = held.address().port;
  const memBefore = quic.liveMemory().bytes;
  const report = await within(flood(server.address.port, 1000, 'initials', 64), 20000, 'flood');
  await new Promise((resolve) => held.close(resolve));
  const memAfter = quic.liveMemory().bytes;
  t.diagnostic(`${JSON.stringify(report)}; server ${JSON.stringify(server.stats.toJSON())}; liveMemory ${memBefore} -> ${memAfter}`);
  assert.ok(report.sent >= 64, 'the flood went out');
  assert.ok(report.retries >= 64, 'every port got a Retry');
  assert.strictEqual(report.retries, report.received, 'nothing but Retry came back');
  // Retries per address are capped (retryLimit, 10 by default): no reflector.
  assert.ok(report.retries <= 64 * 10, `${report.retries} Retry packets for 64 addresses`);
  assert.strictEqual(server.stats.serverSessions, 0n, 'no session for an unvalidated address');
  // What validation remembers is bounded by addressLRUSize (1000 entries).
  assert.ok(memAfter - memBefore < 1 * MB, `liveMemory grew by ${memAfter - memBefore} bytes`);
  // A real client still gets through, by way of a Retry.
  const { client, session } = connect(server, { endpoint: { address: { address: '127.0.0.1', port: clientPort } } });
  await within(session.handshake, 5000, 'handshake after the flood');
  assert.strictEqual((await readAll(session.open({ body: 'ok' }).readableNodeStream())).toString(), 'ok');
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 10000, 'server close');
});

test('Initial flood from many ports without validation: junk never becomes a session, a real client is served meanwhile', async (t) => {
  let announced = 0;
  const server = echoServer({ endpoint: { maxConnectionsPerHost: 20 } });
  const onsession = server.onsession;
  server.onsession = (e) => { announced++; onsession(e); };
  const memBefore = quic.liveMemory().bytes;
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, quic.liveMemory().bytes); }, 10);
  const flooding = flood(server.address.port, 1500, 'initials', 64);
  try {
    await sleep(300);
    const { client, session } = connect(server);
    await within(session.handshake, 5000, 'handshake during the flood');
    assert.strictEqual((await readAll(session.open({ body: 'ok' }).readableNodeStream())).toString(), 'ok');
    // The close waits for the flood's end: while it lasts the server's socket
    // buffer overflows, and a lost CONNECTION_CLOSE (or last acknowledgment)
    // would leave the server's session waiting out its idle timeout.
    const report = await within(flooding, 20000, 'flood');
    await within(client.close(), 5000, 'client close');
    clearInterval(sampler);
    const stats = server.stats;
    t.diagnostic(`${JSON.stringify(report)}; server ${JSON.stringify(stats.toJSON())}; liveMemory ${memBefore}, peak ${peak}`);
    assert.ok(report.sent >= 64);
    assert.ok(stats.packetsReceived > 64n, 'the junk reached the server');
    // Initials that do not decrypt are dropped before anyone hears of them:
    // no 'session' event, not counted, nothing held.
    assert.strictEqual(announced, 1, 'only the real client was announced');
    assert.strictEqual(stats.serverSessions, 1n);
    // Junk holds none of the 20 slots this host has.
    assert.strictEqual(stats.serverBusyCount, 0n);
    assert.strictEqual(report.received, 0, 'junk gets no answer');
    assert.ok(peak - memBefore < 8 * MB, `liveMemory peak ${peak - memBefore} bytes above the start`);
  } finally {
    clearInterval(sampler);
    flooding.kill();
    await flooding.catch(() => {});
    await within(server.close(), 10000, 'server close');
  }
});

test('a peer opens the most streams allowed and never reads: the server stays bounded and serves others', async (t) => {
  const STREAMS = 8;
  const CHUNK = 64 * 1024;
  let served = 0;
  let produced = 0; // reply bytes the server's bodies have handed over
  async function* endless() {
    for (let i = 0; i < 1024; i++) { // 64 MB at most
      produced += CHUNK;
      yield randomBytes(CHUNK, i + 1);
    }
  }
  const server = makeServer({
    // The hostile client is destroyed at the end without a word: the
    // server's sessions to it end by this idle timeout.
    session: { transportParams: { initialMaxStreamsBidi: STREAMS, maxIdleTimeout: 1000 } },
    onsession: (s) => {
      s.onstream = async ({ stream, respondWith }) => {
        const req = await readAll(stream.readableNodeStream());
        served++;
        respondWith({ body: req.toString() === 'big' ? endless() : req });
      };
    },
  });
  const memBefore = quic.liveMemory().bytes;
  const hostile = connect(server);
  await within(hostile.session.handshake, 5000, 'handshake');
  // Two more than allowed: those wait for MAX_STREAMS that never comes.
  const streams = [];
  for (let i = 0; i < STREAMS + 2; i++) streams.push(hostile.session.open({ body: 'big' }));
  for (let i = 0; i < 100 && served < STREAMS; i++) await sleep(20);
  assert.strictEqual(served, STREAMS, 'the server got exactly the allowed number of streams');
  await sleep(500);
  const produced1 = produced;
  const mem1 = quic.liveMemory().bytes;
  await sleep(500);
  const mem2 = quic.liveMemory().bytes;
  t.diagnostic(`replies produced ${produced1} -> ${produced} bytes; liveMemory ${memBefore} -> ${mem1} -> ${mem2}`);
  assert.strictEqual(served, STREAMS, 'the streams past the limit never reached the server');
  // Flow control holds each reply to the reader's window (256 KB) plus the
  // stream's send buffer: nothing like the 64 MB each body could produce.
  assert.ok(produced < STREAMS * 4 * MB, `the replies produced ${produced} bytes while unread`);
  assert.ok(produced - produced1 <= MB, `the replies kept going: ${produced1} -> ${produced}`);
  assert.ok(mem2 - memBefore < STREAMS * 4 * MB, `liveMemory grew by ${mem2 - memBefore} bytes`);
  // Another client is served meanwhile.
  const honest = connect(server);
  await within(honest.session.handshake, 5000, 'honest handshake');
  const back = await within(readAll(honest.session.open({ body: 'hello' }).readableNodeStream()), 5000, 'honest echo');
  assert.strictEqual(back.toString(), 'hello');
  await within(honest.client.close(), 5000, 'honest close');
  hostile.client.destroy();
  for (const s of streams) await within(s.closed.catch(() => {}), 5000, 'hostile streams settle');
  await within(server.close(), 10000, 'server close');
});

test('a peer that advertises a tiny flow-control window gets its data, slowly but intact', async (t) => {
  const SIZE = 256 * 1024;
  const data = randomBytes(SIZE, 3);
  let serverSession;
  const server = makeServer({
    onsession: (s) => {
      serverSession = s;
      s.onstream = ({ respondWith }) => respondWith({ body: data });
    },
  });
  const { client, session } = connect(server, {
    session: { transportParams: { initialMaxData: 1500, initialMaxStreamDataBidiLocal: 1000 } },
  });
  await within(session.handshake, 5000, 'handshake');
  const got = await within(hashOf(session.open({ body: 'x' }).readableNodeStream()), 30000, 'the reply');
  assert.strictEqual(got.length, SIZE);
  assert.strictEqual(got.hash, crypto.createHash('sha256').update(data).digest('hex'));
  t.diagnostic(`server blockCount ${serverSession.stats.blockCount}`);
  assert.ok(serverSession.stats.blockCount >= 1n, 'the server was held back by the window');
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
});

test('a peer that sends far beyond its stream credit is closed with FLOW_CONTROL_ERROR (0x3)', async () => {
  let serverSession;
  let gotSession;
  const sawSession = new Promise((resolve) => { gotSession = resolve; });
  const server = makeServer({
    session: { transportParams: { initialMaxStreamDataBidiRemote: 4096 } },
    onsession: (s) => { serverSession = s; gotSession(); s.onstream = () => {}; },
  });
  // The test-only option makes this client ignore the server's per-stream
  // limit (applied when the client's handshake completes).
  const { client, session } = connect(server, { session: { testing: { ignoreStreamCredit: true } } });
  await within(session.handshake, 5000, 'handshake');
  await within(sawSession, 5000, 'server session');
  const stream = session.open({ body: randomBytes(256 * 1024, 1) });
  await assert.rejects(within(serverSession.closed, 5000, 'server closed'),
                       { code: 'ERR_QUIC_TRANSPORT_ERROR', errorCode: 3n });
  await assert.rejects(within(session.closed, 5000, 'client closed'),
                       { code: 'ERR_QUIC_TRANSPORT_ERROR', errorCode: 3n });
  await within(stream.closed.catch(() => {}), 5000, 'stream settles');
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
});

test('control: without the switch the same client respects the 4 KB stream credit', async () => {
  const server = makeServer({
    session: { transportParams: { initialMaxStreamDataBidiRemote: 4096 } },
    onsession: (s) => {
      s.onstream = async ({ stream, respondWith }) => respondWith({ body: (await hashOf(stream.readableNodeStream())).hash });
    },
  });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  const data = randomBytes(256 * 1024, 1);
  const back = await within(readAll(session.open({ body: data }).readableNodeStream()), 10000, 'reply');
  assert.strictEqual(back.toString(), crypto.createHash('sha256').update(data).digest('hex'));
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
});

// The token a server with `secret` issues for connection ID `cid`
// (ngtcp2_crypto_generate_stateless_reset_token: HKDF-SHA256, salt = cid).
const resetToken = (secret, cid) => Buffer.from(crypto.hkdfSync('sha256', secret, cid, 'stateless_reset', 16));

function statelessReset(token) {
  const b = crypto.randomBytes(43);
  b[0] = 0x40 | (b[0] & 0x3f); // looks like a short-header packet
  token.copy(b, b.length - 16);
  return b;
}

test('stateless reset injected into a live connection: the client closes with ERR_QUIC_STATELESS_RESET', async () => {
  const resetTokenSecret = crypto.randomBytes(16);
  const server = echoServer({ endpoint: { resetTokenSecret } });
  let dcid = null; // the server's connection ID the client is using now
  const relay = await createRelay(server.address.port, (msg, dir) => {
    if (dir === 'up' && !isLongHeader(msg)) dcid = msg.subarray(1, 17);
    return msg;
  });
  const { client, session } = connect(relay.port);
  try {
    await within(session.handshake, 5000, 'handshake');
    assert.strictEqual((await readAll(session.open({ body: 'ping' }).readableNodeStream())).toString(), 'ping');
    assert.ok(dcid, 'the client sent short-header packets');
    // A reset with the wrong token is noise: the session keeps working.
    relay.inject('down', statelessReset(crypto.randomBytes(16)));
    await sleep(50);
    assert.strictEqual((await readAll(session.open({ body: 'still' }).readableNodeStream())).toString(), 'still');
    // The real token, with the server still up: the client drops the session.
    relay.inject('down', statelessReset(resetToken(resetTokenSecret, dcid)));
    await assert.rejects(within(session.closed, 5000, 'closed'), { code: 'ERR_QUIC_STATELESS_RESET' });
  } finally {
    await within(client.close(), 5000, 'client close');
    server.destroy();
    await relay.close();
  }
});

test('a peer that vanishes mid-transfer: the idle timeout ends the session, the reader gets ERR_QUIC_SESSION_CLOSED naming it', async () => {
  const transportParams = { maxIdleTimeout: 600 };
  let serverSession;
  const server = makeServer({
    session: { transportParams },
    onsession: (s) => {
      serverSession = s;
      s.onstream = ({ respondWith }) => respondWith({ body: randomBytes(8 * MB, 2) });
    },
  });
  let vanished = false;
  let down = 0;
  const relay = await createRelay(server.address.port, (msg, dir) => {
    if (vanished) return null;
    if (dir === 'down' && (down += msg.length) > MB) vanished = true; // the client's network is gone
    return msg;
  });
  const { client, session } = connect(relay.port, { session: { transportParams } });
  try {
    await within(session.handshake, 5000, 'handshake');
    const stream = session.open({ body: 'go' });
    await assert.rejects(within(hashOf(stream.readableNodeStream()), 10000, 'reader'),
                         { code: 'ERR_QUIC_SESSION_CLOSED', message: 'The session closed (idle timeout) before the stream finished' });
    assert.ok(vanished);
    // An idle timeout is a clean close for the session itself, on both sides.
    await within(session.closed, 5000, 'client closed');
    await within(serverSession.closed, 5000, 'server closed');
  } finally {
    await within(client.close(), 5000, 'client close');
    await within(server.close(), 5000, 'server close');
    await relay.close();
  }
});

test('amplification: before the client address is validated the server sends at most 3x what it received', async (t) => {
  const server = echoServer({ session: { handshakeTimeout: 10000 } });
  // Only the datagrams the test lets through reach the server, and nothing
  // comes back: the server cannot validate the address and keeps probing.
  let allowUp = 1;
  const relay = await createRelay(server.address.port, (msg, dir) => {
    if (dir === 'up' && allowUp > 0) { allowUp--; return msg; }
    return null;
  });
  const { client, session } = connect(relay.port, { session: { handshakeTimeout: 10000 } });
  try {
    // Long enough for the first probe timeout (1 s before an RTT sample).
    await sleep(1500);
    const received1 = relay.forwarded.up.bytes;
    const sent1 = relay.counts.down.bytes;
    t.diagnostic(`after one client datagram: server received ${received1} bytes, sent ${sent1} bytes in ${relay.counts.down.packets} datagrams`);
    assert.ok(received1 >= 1200, 'the client Initial was padded to at least 1200 bytes');
    assert.ok(sent1 > 0, 'the server answered');
    assert.ok(sent1 <= 3 * received1, `sent ${sent1} > 3 x ${received1}`);
    // One more client datagram (its own probe) raises the budget, and the
    // server, which was held back, sends more, still within 3x.
    allowUp = 1;
    for (let i = 0; i < 100 && allowUp > 0; i++) await sleep(50);
    await sleep(500);
    const received2 = relay.forwarded.up.bytes;
    const sent2 = relay.counts.down.bytes;
    t.diagnostic(`after two: server received ${received2} bytes, sent ${sent2} bytes in ${relay.counts.down.packets} datagrams ` +
                 `(stats: ${server.stats.bytesReceived} in, ${server.stats.bytesSent} out)`);
    assert.ok(received2 > received1, 'a second client datagram went through');
    assert.ok(sent2 > sent1, 'the server was held back by the limit, not done');
    assert.ok(sent2 <= 3 * received2, `sent ${sent2} > 3 x ${received2}`);
    assert.strictEqual(server.stats.bytesReceived, BigInt(received2), 'the server counts what it received');
    assert.strictEqual(server.stats.bytesSent, BigInt(sent2), 'the server counts what it sent');
  } finally {
    // Both still handshaking: end them at once.
    client.destroy();
    server.destroy();
    await within(session.closed.catch(() => {}), 5000, 'client session settles');
    await relay.close();
  }
});

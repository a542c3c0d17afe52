'use strict';
// Transport paths beyond the default: IPv6 loopback, the plain (non-GSO)
// send path, simulated packet loss, and each congestion controller.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { makeServer, connect, readAll, sha256, randomBytes, within, quic, certs, ALPN } = require('./common');

async function echo(server, clientOptions, data) {
  const { client, session } = connect(server, clientOptions);
  try {
    await within(session.handshake, 15000, 'handshake');
    const stream = session.open({ body: data });
    const back = await within(readAll(stream.readableNodeStream()), 30000, 'echo');
    await within(client.close(), 5000, 'client close');
    return back;
  } finally {
    client.destroy(); // a failed run must not keep the file alive
  }
}

function echoServer(options = {}) {
  return makeServer({
    ...options,
    onsession: (s) => {
      s.onstream = async ({ stream, respondWith }) => {
        respondWith({ body: await readAll(stream.readableNodeStream()) });
      };
    },
  });
}

test('IPv6 loopback: an exchange over ::1 reports IPv6 addresses', async () => {
  const server = echoServer({ endpoint: { address: { address: '::1', family: 'ipv6' } } });
  assert.strictEqual(server.address.family, 'ipv6');
  assert.strictEqual(server.address.address, '::1');
  const client = new quic.Endpoint({ address: { address: '::1', family: 'ipv6' } });
  const session = client.connect({ address: '::1', port: server.address.port, family: 'ipv6' },
                                 { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca } });
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(session.remoteAddress.family, 'ipv6');
  const data = randomBytes(200000, 3);
  const stream = session.open({ body: data });
  const back = await within(readAll(stream.readableNodeStream()), 10000, 'echo');
  assert.strictEqual(sha256(back), sha256(data));
  await client.close();
  await server.close();
});

test('a dual-stack IPv6 endpoint serves an IPv4 client', async () => {
  const server = echoServer({ endpoint: { address: { address: '::', family: 'ipv6' } } });
  const back = await echo(server.address.port, {}, 'over v4-mapped');
  assert.strictEqual(back.toString(), 'over v4-mapped');
  await server.close();
});

test('simulated loss: 1 MB intact through 10% loss in both directions', async () => {
  // Each direction passes a sender's tx and a receiver's rx drop: p on each
  // makes 1-(1-p)^2 per direction, so p = 1-sqrt(0.9) gives 10%.
  const p = 1 - Math.sqrt(0.9);
  const server = echoServer({ endpoint: { rxPacketLoss: p, txPacketLoss: p } });
  try {
    const data = randomBytes(1024 * 1024, 5);
    const back = await echo(server, { endpoint: { rxPacketLoss: p, txPacketLoss: p } }, data);
    assert.strictEqual(sha256(back), sha256(data));
    const stats = server.stats;
    assert.ok(stats.packetsSent > 0n && stats.packetsReceived > 0n);
    await server.close();
  } finally {
    server.destroy();
  }
});

for (const cc of ['cubic', 'reno', 'bbr']) {
  test(`congestion control ${cc}: 4 MB echo intact`, async () => {
    const server = echoServer({ endpoint: { ccAlgorithm: cc } });
    const data = randomBytes(4 * 1024 * 1024, 9);
    const back = await echo(server, { endpoint: { ccAlgorithm: cc } }, data);
    assert.strictEqual(sha256(back), sha256(data));
    await server.close();
  });
}

for (const [what, env] of [
  ['without UDP GSO (the plain sendmmsg path)', { QUIC_DEBUG_DISABLE_GSO: '1' }],
  ['without UDP GRO (one datagram per receive slot)', { QUIC_DEBUG_DISABLE_GRO: '1' }],
  ['without GSO or GRO', { QUIC_DEBUG_DISABLE_GSO: '1', QUIC_DEBUG_DISABLE_GRO: '1' }],
]) test(`${what}: 8 MB arrive intact, with 1452-byte, 9000-byte and (by default, on loopback) 65488-byte packets`, () => {
  // The switch is read when a socket opens, so run the exchange in a child.
  const script = `
    const { makeServer, connect, readAll, sha256, randomBytes } = require(${JSON.stringify(path.join(__dirname, 'common'))});
    (async () => {
      for (const endpoint of [{ maxPayloadSize: 1452 }, { maxPayloadSize: 9000 }, {}]) {
        const server = makeServer({ endpoint, onsession: (s) => { s.onstream = async ({ stream, respondWith }) => {
          respondWith({ body: await readAll(stream.readableNodeStream()) }); }; } });
        const { client, session } = connect(server, { endpoint });
        await session.handshake;
        const data = randomBytes(8 * 1024 * 1024, 11);
        const back = await readAll(session.open({ body: data }).readableNodeStream());
        const size = session.stats.maxUdpPayloadSize;
        await client.close(); await server.close();
        console.log(sha256(back) === sha256(data) ? 'match' : 'mismatch', String(size));
      }
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, ...env }, timeout: 30000, encoding: 'utf8',
  });
  assert.strictEqual(r.status, 0, r.stderr);
  // Each receive slot holds the largest datagram we allow (65527 bytes),
  // with GRO or without, so the 9000-byte probes arrive and are used.
  assert.deepStrictEqual(r.stdout.trim().split('\n'), ['match 1444', 'match 9000', 'match 65488']);
});

// Path MTU discovery: every connection starts at 1200-byte packets and
// ngtcp2 probes larger ones once the handshake is confirmed. On loopback
// every probe up to the endpoint's maxPayloadSize gets through.
async function pathSizes(maxPayloadSize, host = '127.0.0.1') {
  const family = host.includes(':') ? 'ipv6' : 'ipv4';
  const endpoint = { ...(maxPayloadSize ? { maxPayloadSize } : {}), address: { address: host, family } };
  let serverSession;
  const server = makeServer({
    endpoint,
    onsession: (s) => {
      serverSession = s;
      s.onstream = async ({ stream, respondWith }) => {
        respondWith({ body: await readAll(stream.readableNodeStream()) });
      };
    },
  });
  const client = new quic.Endpoint(endpoint);
  const session = client.connect({ address: host, port: server.address.port, family },
                                 { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca } });
  try {
    await within(session.handshake, 15000, 'handshake');
    const data = randomBytes(2 * 1024 * 1024, 13);
    const back = await within(readAll(session.open({ body: data }).readableNodeStream()), 30000, 'echo');
    assert.strictEqual(sha256(back), sha256(data));
    const sent = server.stats;
    return {
      client: session.stats.maxUdpPayloadSize,
      server: serverSession.stats.maxUdpPayloadSize,
      // What the server's datagrams carried on average, handshake included.
      serverAverage: Number(sent.bytesSent) / Number(sent.packetsSent),
    };
  } finally {
    await client.close();
    await server.close();
  }
}

test('path MTU discovery: loopback packets grow past 1200 bytes, up to maxPayloadSize', async () => {
  const grown = await pathSizes(1452);
  for (const side of ['client', 'server']) {
    assert.ok(grown[side] > 1200n && grown[side] <= 1452n, `${side} path size ${grown[side]}`);
  }
  assert.ok(grown.serverAverage > 1300, `server datagrams average ${grown.serverAverage} bytes`);

  const capped = await pathSizes(1200);
  assert.strictEqual(capped.client, 1200n);
  assert.strictEqual(capped.server, 1200n);
  assert.ok(capped.serverAverage <= 1200, `capped datagrams average ${capped.serverAverage} bytes`);
});

test('path MTU discovery by default: a peer on this host gets loopback-sized packets over 127.0.0.1 and ::1', async () => {
  // Without maxPayloadSize the ceiling is what the kernel's route to the
  // peer carries when that route stays on this host (src/route.c): 65535 -
  // 28 bytes for IPv4, 65536 - 48 for IPv6, and nothing above 65488 is
  // probed. Both sides look up their own route, so both climb.
  for (const host of ['127.0.0.1', '::1']) {
    const grown = await pathSizes(undefined, host);
    assert.strictEqual(grown.client, 65488n, `client path size over ${host}`);
    assert.strictEqual(grown.server, 65488n, `server path size over ${host}`);
    assert.ok(grown.serverAverage > 2000, `server datagrams average ${grown.serverAverage} bytes over ${host}`);
  }
});

test('path MTU discovery waits for data: an idle connection never probes, a sender with more than a packet does', async () => {
  // A probe makes the receiving ngtcp2 keep a decrypt buffer of its size
  // for the connection's life (64 KB after a loopback probe), so only a
  // session that fills a packet to the path's size after the handshake
  // gets to probe; here the server only acknowledges until it answers.
  const memBefore = quic.liveMemory().bytes;
  let serverSession;
  const server = makeServer({
    onsession: (s) => {
      serverSession = s;
      s.onstream = async ({ stream, respondWith }) => {
        const got = await readAll(stream.readableNodeStream());
        respondWith({ body: got.length > 100 ? Buffer.from(String(got.length)) : Buffer.alloc(1024 * 1024, 5) });
      };
    },
  });
  const { client, session } = connect(server);
  try {
    await within(session.handshake, 15000, 'handshake');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.strictEqual(session.stats.maxUdpPayloadSize, 1200n, 'idle client');
    assert.strictEqual(serverSession.stats.maxUdpPayloadSize, 1200n, 'idle server');
    const idle = quic.liveMemory().bytes - memBefore;
    assert.ok(idle < 128 * 1024, `an idle connection holds ${idle} bytes, both sides (a 64 KB decrypt buffer would show)`);
    // Upload: the client probes; the server, acknowledging, does not.
    const up = await within(readAll(session.open({ body: randomBytes(1024 * 1024, 19) }).readableNodeStream()), 30000, 'upload');
    assert.strictEqual(up.toString(), String(1024 * 1024));
    assert.strictEqual(session.stats.maxUdpPayloadSize, 65488n, 'the uploading client');
    // Download: now the server has more than a packet to send.
    const down = await within(readAll(session.open({ body: 'x' }).readableNodeStream()), 30000, 'download');
    assert.strictEqual(down.length, 1024 * 1024);
    assert.strictEqual(serverSession.stats.maxUdpPayloadSize, 65488n, 'the sending server');
  } finally {
    await client.close();
    await server.close();
  }
});

test('path MTU discovery above Ethernet: loopback carries a 9000-byte jumbo ceiling, a 4000-byte one, and 65488-byte packets under the largest ceiling', async () => {
  // Loopback's MTU is 65536: each ceiling is reached exactly, except 65527,
  // which no IPv4 datagram carries (65535 - 20 - 8 = 65507): the probe of
  // 65488 (loopback less IPv6 and UDP headers) is where that path settles.
  for (const [ceiling, expect] of [[9000, 9000n], [4000, 4000n], [65527, 65488n]]) {
    const grown = await pathSizes(ceiling);
    assert.strictEqual(grown.client, expect, `client path size under ${ceiling}`);
    assert.strictEqual(grown.server, expect, `server path size under ${ceiling}`);
    assert.ok(grown.serverAverage > 2000, `server datagrams average ${grown.serverAverage} bytes under ${ceiling}`);
  }
});

test('a downloading client acknowledges every train of packets, not once per receive batch', async () => {
  // A sender's GSO train (at most 64 packets) arrives as one GRO message.
  // The receiver answers each one; one answer per batch of up to 32 trains
  // left a lossy sender waiting for the news of its losses.
  const size = 16 * 1024 * 1024;
  const server = makeServer({
    endpoint: { maxPayloadSize: 1452 },
    onsession: (s) => {
      s.onstream = ({ respondWith }) => respondWith({ body: Buffer.alloc(size, 7) });
    },
  });
  const { client, session } = connect(server, { endpoint: { maxPayloadSize: 1452 } });
  try {
    await within(session.handshake, 15000, 'handshake');
    const back = await within(readAll(session.open({ body: 'x' }).readableNodeStream()), 30000, 'download');
    assert.strictEqual(back.length, size);
    const data = server.stats.packetsSent;
    const acks = client.stats.packetsSent;
    assert.ok(data > 10000n, `server packets ${data}`);
    assert.ok(acks * 64n >= data, `${acks} client packets for ${data} server packets`);
  } finally {
    await client.close();
    await server.close();
  }
});

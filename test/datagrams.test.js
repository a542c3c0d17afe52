'use strict';
// Unreliable datagrams (RFC 9221): session.datagram() and the 'datagram'
// event, sizes and refusals, a bounded queue, and sharing packets with
// stream data.
const test = require('node:test');
const assert = require('node:assert');
const { quic, makeServer, connect, readAll, sha256, randomBytes, within, certs } = require('./common');

const T = 10000;

function waitFor(pred, ms, what) {
  return within(new Promise((resolve) => {
    const t = setInterval(() => { if (pred()) { clearInterval(t); resolve(); } }, 5);
  }), ms, what);
}

test('seed example: a datagram each way, delivered as DatagramEvent', async () => {
  const events = [];
  const server = makeServer({
    onsession: (s) => {
      s.ondatagram = (event) => {
        events.push(event);
        s.datagram(`echo ${Buffer.from(event.datagram)}`);
      };
    },
  });
  const { client, session } = connect(server);
  const dec = new TextDecoder();
  const back = [];
  session.ondatagram = ({ datagram }) => back.push(dec.decode(datagram));
  await within(session.handshake, T, 'handshake');
  assert.ok(session.maxDatagramSize >= 1100, `maxDatagramSize ${session.maxDatagramSize}`);
  assert.strictEqual(session.datagram('hello world datagram'), true);
  await waitFor(() => back.length === 1, T, 'echo');
  assert.deepStrictEqual(back, ['echo hello world datagram']);
  const e = events[0];
  assert.ok(e instanceof quic.DatagramEvent);
  assert.ok(e.datagram instanceof ArrayBuffer);
  assert.strictEqual(e.early, false);
  assert.strictEqual(e.name, 'datagram');
  assert.strictEqual(e.type, 'datagram');
  assert.strictEqual(e.session.side, 'server');
  await client.close();
  await server.close();
});

test('every data type arrives byte for byte; before the handshake they queue', async () => {
  const got = [];
  const server = makeServer({ onsession: (s) => { s.ondatagram = ({ datagram }) => got.push(Buffer.from(datagram)); } });
  const { client, session } = connect(server);
  assert.strictEqual(session.datagram('queued before the handshake'), true);
  await session.handshake;
  const bytes = randomBytes(1000, 41);
  const sent = [
    ['00ff10', 'hex'], ['aGVsbG8=', 'base64'], bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 1000),
    new Uint8Array([1, 2, 3]), new DataView(new Uint8Array([4, 5]).buffer), Buffer.from('buffer'),
    new Uint16Array([0x0102]),
  ];
  for (const d of sent) assert.strictEqual(Array.isArray(d) ? session.datagram(d[0], d[1]) : session.datagram(d), true);
  await waitFor(() => got.length === sent.length + 1, T, 'datagrams');
  const hexes = got.map((b) => b.toString('hex'));
  assert.strictEqual(got[0].toString(), 'queued before the handshake');
  assert.ok(hexes.includes('00ff10'));
  assert.ok(hexes.includes(Buffer.from('hello').toString('hex')));
  assert.ok(hexes.includes(bytes.toString('hex')));
  assert.ok(hexes.includes('010203') && hexes.includes('0405') && hexes.includes(Buffer.from('buffer').toString('hex')));
  assert.ok(hexes.includes(Buffer.from(new Uint16Array([0x0102]).buffer).toString('hex')));
  await client.close();
  await server.close();
});

test('datagram() returns false, never throws, when a datagram cannot go', async () => {
  // A peer that takes no datagrams.
  const server = makeServer({ session: { transportParams: { maxDatagramFrameSize: 0 } } });
  const { client, session } = connect(server);
  await session.handshake;
  assert.strictEqual(session.maxDatagramSize, 0);
  assert.strictEqual(session.datagram('nobody listens'), false);
  await client.close();
  await server.close();

  const server2 = makeServer();
  const c2 = connect(server2);
  await c2.session.handshake;
  const max = c2.session.maxDatagramSize;
  assert.strictEqual(c2.session.datagram(Buffer.alloc(max + 1)), false, 'too large');
  assert.strictEqual(c2.session.datagram(Buffer.alloc(max)), true, 'exactly the maximum');
  // A full queue drops: a burst far past the bound gets some false.
  const results = [];
  for (let i = 0; i < 1000; i++) results.push(c2.session.datagram(Buffer.alloc(500, i)));
  assert.ok(results.includes(false), 'the send queue is bounded');
  assert.ok(results.filter(Boolean).length >= 100);
  c2.session.close();
  assert.strictEqual(c2.session.datagram('closing'), false, 'closing');
  await c2.client.close();
  assert.strictEqual(c2.session.datagram('closed'), false, 'closed');
  await server2.close();
});

test('HTTP/3 sessions carry no raw datagrams', async () => {
  const server = new quic.Endpoint();
  server.listen({ secure: { key: certs.key, cert: certs.cert } });
  const client = new quic.Endpoint();
  const session = client.connect({ address: '127.0.0.1', port: server.address.port },
                                 { hostname: 'localhost', secure: { ca: certs.ca } });
  await session.handshake;
  assert.strictEqual(session.alpn, 'h3');
  assert.strictEqual(session.maxDatagramSize, 0);
  assert.strictEqual(session.datagram('x'), false);
  await client.close();
  await server.close();
});

test('bad arguments throw with codes', async () => {
  const server = makeServer();
  const { client, session } = connect(server);
  await session.handshake;
  for (const bad of [42, {}, null, undefined, [1, 2]]) {
    assert.throws(() => session.datagram(bad), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  assert.throws(() => session.datagram('x', 'no-such-encoding'), { code: 'ERR_INVALID_ARG_VALUE' });
  await client.close();
  await server.close();
});

test('datagrams share the connection with a stream transfer', async () => {
  let dgrams = 0;
  const server = makeServer({
    onsession: (s) => {
      s.ondatagram = () => { dgrams++; };
      s.onstream = async ({ stream, respondWith }) => respondWith({ body: await readAll(stream.readableNodeStream()) });
    },
  });
  const { client, session } = connect(server);
  await session.handshake;
  const data = randomBytes(5 * 1024 * 1024, 43);
  const stream = session.open({ body: data });
  let sent = 0;
  const timer = setInterval(() => { if (sent < 100 && session.datagram(`tick ${sent}`)) sent++; }, 1);
  const back = await within(readAll(stream.readableNodeStream()), 30000, 'echo');
  await waitFor(() => sent === 100, T, '100 datagrams sent');
  clearInterval(timer);
  await waitFor(() => dgrams >= 90, T, 'datagrams received');
  assert.strictEqual(sha256(back), sha256(data));
  await client.close();
  await server.close();
});

// A sender in a child process, so that it keeps sending whatever this
// process is doing. It sends n datagrams of `size` bytes (each numbered),
// then waits for a line on stdin before it closes.
function datagramSender(port, n, size) {
  const script = `
    const { connect } = require(${JSON.stringify(require('node:path').join(__dirname, 'common'))});
    (async () => {
      const { client, session } = connect(${port});
      await session.handshake;
      const payload = Buffer.alloc(${size}, 0x2e); // copied by datagram(): reused
      for (let i = 0; i < ${n}; i++) {
        payload.write(String(i));
        for (let tries = 0; !session.datagram(payload); tries++) {
          if (tries > 100000) throw new Error('datagram() kept refusing');
          await new Promise(setImmediate);
        }
      }
      await new Promise((r) => process.stdin.once('data', r)); // until the parent has counted
      process.stdin.destroy();
      await client.close();
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const child = require('node:child_process').spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r(code ?? signal)));
  return {
    async finish() {
      child.stdin.write('done\n');
      return within(exited, T, 'sender exit');
    },
    kill: () => child.kill(),
  };
}

test('a burst that arrives while the application is busy is delivered whole, not cut at 128', async () => {
  // This process blocks in its first 'datagram' handler while the child
  // sends the rest; they then arrive in one receive batch. 300 small
  // datagrams stay far below the socket's buffer, so on loopback nothing is
  // lost on the way.
  const N = 300;
  let got = 0;
  let blocked = false;
  const bodies = new Set();
  const server = makeServer({
    onsession: (s) => {
      s.ondatagram = ({ datagram }) => {
        got++;
        bodies.add(Buffer.from(datagram).toString());
        if (!blocked) {
          blocked = true;
          const until = Date.now() + 300;
          while (Date.now() < until); // a busy application
        }
      };
    },
  });
  const sender = datagramSender(server.address.port, N, 80);
  try {
    await waitFor(() => got === N, T, 'the burst').catch(() => {});
    assert.strictEqual(got, N, 'every datagram of the burst arrived');
    assert.strictEqual(bodies.size, N, 'each datagram once');
    assert.strictEqual(await sender.finish(), 0);
  } finally {
    sender.kill();
    await server.close();
  }
});

test('a flood from a fast sender reaches an application that keeps up', async () => {
  // 20,000 datagrams of 1,000 bytes as fast as the child can send them.
  // The endpoint hands datagrams over after each receive round instead of
  // reading on: once, later rounds overflowed them and 84% were lost here.
  // The rest of the loss is the kernel's: the sender is still in slow start
  // when the 20 MB are out, and what it has in flight beyond what this
  // process drains waits in the socket's receive buffer. With 4 MiB asked
  // (8 MiB after the kernel doubles it), about 1 run in 8 here lost some
  // there, up to 11%; with the 7 MiB asked now (granted past rmem_max to
  // CAP_NET_ADMIN, as the suite runs), none in 80. So the bar is that most
  // arrive.
  const N = 20000;
  let got = 0;
  const server = makeServer({ onsession: (s) => { s.ondatagram = () => { got++; }; } });
  const sender = datagramSender(server.address.port, N, 1000);
  try {
    let last = -1;
    for (let i = 0; i < 200 && got < N && (got !== last || got === 0); i++) {
      last = got;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(got >= N * 0.9, `${got} of ${N} datagrams arrived`);
    assert.strictEqual(await sender.finish(), 0);
  } finally {
    sender.kill();
    await server.close();
  }
});

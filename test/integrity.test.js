'use strict';
// Integrity: large transfers in both directions checked by SHA-256 of what
// arrived, many concurrent streams on one session, many concurrent sessions
// on one server. Loopback only; every endpoint is closed at the end.
const { test } = require('node:test');
const assert = require('node:assert');
const { quic, certs, ALPN, makeServer, connect, readAll, within, randomBytes, sha256, hashOf } = require('./common');

const T = 10000;
const MB = 1024 * 1024;

// A server whose streams carry one request line and maybe a body:
//   "up\n<body>"      the server hashes the body and answers "<length> <sha256>"
//   "down <n> <seed>" the server answers with randomBytes(n, seed)
//   "echo\n<body>"    the server answers with the body
function protocolServer(extra = {}) {
  const sessions = [];
  const server = makeServer({
    ...extra,
    onsession(session) {
      sessions.push(session);
      session.onstream = ({ stream, respondWith }) => {
        handle(stream, respondWith).catch((err) => stream.cancel(err));
      };
    },
  });
  async function handle(stream, respondWith) {
    const readable = stream.readableNodeStream();
    const it = readable[Symbol.asyncIterator]();
    // Read up to the first newline (or the end) to learn the request.
    let head = Buffer.alloc(0);
    let rest = null;
    for (;;) {
      const { value, done } = await it.next();
      if (done) break;
      head = Buffer.concat([head, value]);
      const nl = head.indexOf(10);
      if (nl >= 0) {
        rest = head.subarray(nl + 1);
        head = head.subarray(0, nl);
        break;
      }
    }
    const [verb, a, b] = head.toString().split(' ');
    if (verb === 'down') {
      respondWith({ body: randomBytes(Number(a), Number(b)) });
      return;
    }
    // The remainder of the body: what followed the newline, then the rest.
    async function* remainder() {
      if (rest && rest.length) yield rest;
      for (;;) {
        const { value, done } = await it.next();
        if (done) return;
        yield value;
      }
    }
    if (verb === 'up') {
      const { length, hash } = await hashOf(remainder());
      respondWith({ body: `${length} ${hash}` });
    } else if (verb === 'echo') {
      respondWith({ body: await readAll(remainder()) });
    } else {
      throw new Error(`unknown request ${verb}`);
    }
  }
  return { server, sessions };
}

async function closeAll(clients, server) {
  await within(Promise.all(clients.map((c) => c.close())), T, 'client endpoints close');
  await within(server.close(), T, 'server endpoint close');
}

for (const size of [1 * MB, 50 * MB]) {
  const label = `${size / MB} MB`;

  test(`${label} client -> server, checked by SHA-256`, async (t) => {
    const { server } = protocolServer();
    const { client, session } = connect(server);
    t.after(() => { client.destroy(); server.destroy(); });
    await within(session.handshake, T, 'handshake');
    const data = randomBytes(size, 0xC0FFEE + size);
    const expected = sha256(data);
    const stream = session.open({ body: [Buffer.from('up\n'), data] });
    const reply = await within(readAll(stream.readableNodeStream()), 60000, `${label} upload`);
    const [length, hash] = reply.toString().split(' ');
    assert.strictEqual(Number(length), size, 'length the server received');
    assert.strictEqual(hash, expected, 'hash of what the server received');
    await closeAll([client], server);
  });

  test(`${label} server -> client, checked by SHA-256`, async (t) => {
    const { server } = protocolServer();
    const { client, session } = connect(server);
    t.after(() => { client.destroy(); server.destroy(); });
    await within(session.handshake, T, 'handshake');
    const seed = 0xBEEF + size;
    const expected = sha256(randomBytes(size, seed));
    const stream = session.open({ body: `down ${size} ${seed}\n` });
    const got = await within(hashOf(stream.readableNodeStream()), 60000, `${label} download`);
    assert.strictEqual(got.length, size, 'length the client received');
    assert.strictEqual(got.hash, expected, 'hash of what the client received');
    await closeAll([client], server);
  });
}

test('100 concurrent bidirectional streams on one session, each echoing distinct data', async (t) => {
  const N = 100;
  const { server } = protocolServer();
  const { client, session } = connect(server);
  t.after(() => { client.destroy(); server.destroy(); });
  await within(session.handshake, T, 'handshake');

  const payloads = [];
  for (let i = 0; i < N; i++) {
    // Distinct sizes and contents: 1 byte to ~300 KB.
    const n = i === 0 ? 1 : (i * 2999) % (300 * 1024) + 1;
    payloads.push(randomBytes(Math.max(n, 4), 1000 + i).subarray(0, n)); // the helper wants n >= 4
  }
  const streams = payloads.map((p) => session.open({ body: [Buffer.from('echo\n'), p] }));
  const ids = new Set(streams.map((s) => s.id));
  assert.strictEqual(ids.size, N, 'every stream has its own id');
  const results = await within(Promise.all(streams.map((s) => readAll(s.readableNodeStream()))),
                               30000, `${N} echoes`);
  results.forEach((got, i) => {
    assert.strictEqual(got.length, payloads[i].length, `stream ${i}: length`);
    assert.ok(got.equals(payloads[i]), `stream ${i}: content`);
  });
  await within(Promise.all(streams.map((s) => s.closed)), T, 'streams closed');
  await closeAll([client], server);
});

test('50 concurrent sessions on one server endpoint, each doing an echo', async (t) => {
  const SESSIONS = 50;
  const CLIENTS = 10; // client endpoints, five sessions each
  const { server, sessions } = protocolServer();
  const clients = [];
  t.after(() => { for (const c of clients) c.destroy(); server.destroy(); });

  for (let i = 0; i < CLIENTS; i++) clients.push(new quic.Endpoint());
  const port = server.address.port;
  const jobs = [];
  for (let i = 0; i < SESSIONS; i++) {
    const client = clients[i % CLIENTS];
    const session = client.connect({ address: '127.0.0.1', port },
                                   { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca } });
    const payload = randomBytes(1000 + i * 37, 5000 + i);
    jobs.push((async () => {
      await session.handshake;
      const stream = session.open({ body: [Buffer.from('echo\n'), payload] });
      const got = await readAll(stream.readableNodeStream());
      return { got, payload, session };
    })());
  }
  const results = await within(Promise.all(jobs), 30000, `${SESSIONS} sessions`);
  results.forEach(({ got, payload }, i) => {
    assert.ok(got.equals(payload), `session ${i}: echo differs`);
  });
  assert.strictEqual(sessions.length, SESSIONS, 'the server saw one session per client session');
  // Each client endpoint holds its own sessions on its own port.
  const ports = new Set(clients.map((c) => c.address.port));
  assert.strictEqual(ports.size, CLIENTS);
  await closeAll(clients, server);
  await within(Promise.all(results.map(({ session }) => session.closed)), T, 'client sessions closed');
  await within(Promise.all(sessions.map((s) => s.closed)), T, 'server sessions closed');
});

'use strict';
// Close, cancel and destroy semantics of endpoints, sessions and streams,
// and a child process that must exit on its own with nothing left alive.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn } = require('node:child_process');
const { quic, certs, ALPN, makeServer, connect, readAll, within, sha256, randomBytes } = require('./common');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function outcome(promise) {
  return promise.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
}

function echo(session) {
  session.onstream = ({ stream, respondWith }) => {
    if (respondWith) respondWith({ body: stream.readableNodeStream() });
  };
}

// A server whose responses arrive slowly: `delay` ms, then `data`.
function slowResponder(data, delay) {
  return (session) => {
    session.onstream = ({ stream, respondWith }) => {
      // The client may reset the stream: that is not this server's failure.
      stream.readableNodeStream().on('error', () => {}).resume();
      respondWith({
        body: (async function* body() {
          // Infinity: never answer (and hold no timer that keeps the process up).
          await (delay === Infinity ? new Promise(() => {}) : sleep(delay));
          yield data;
        })(),
      });
    };
  };
}

// Resolves with the first server Session.
function serverWithSession(opts = {}) {
  let got;
  const first = new Promise((resolve) => { got = resolve; });
  const server = makeServer({
    ...opts,
    onsession: (s) => { if (opts.onsession) opts.onsession(s); got(s); },
  });
  return { server, first };
}

async function closeAll(...endpoints) {
  for (const e of endpoints) await within(e.close(), 5000, 'endpoint close');
}

test('session.close() lets an open stream finish, then closed fulfils', async () => {
  const data = randomBytes(512 * 1024, 7);
  const { server, first } = serverWithSession({ onsession: slowResponder(data, 200) });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  const stream = session.open({ body: 'request' });
  const reading = readAll(stream.readableNodeStream());
  const closing = session.close();
  assert.strictEqual(session.closing, true);
  assert.strictEqual(closing, session.closed, 'close() returns session.closed');
  const got = await within(reading, 5000, 'response');
  assert.strictEqual(got.length, data.length);
  assert.strictEqual(sha256(got), sha256(data));
  await within(session.closed, 5000, 'client session closed');
  await within(stream.closed, 5000, 'stream closed');
  const serverSession = await first;
  await within(serverSession.closed, 5000, 'server session closed');
  await closeAll(client, server);
});

test('session.close() right after the last reply: the peer hears its last packet acknowledged before the close', async () => {
  // A CONNECTION_CLOSE carries no ACK frame, and a one-packet reply is under
  // the ack threshold, so its acknowledgment waits the ack delay: the close
  // waits for it rather than leave the server's stream unacknowledged. The
  // reply comes after the request was acknowledged, so the client's stream
  // is done the moment the reply arrives.
  const reply = Buffer.from('a reply that fits one packet');
  const serverStreams = [];
  const server = makeServer({
    onsession: (s) => {
      s.onstream = ({ stream, respondWith }) => {
        serverStreams.push(stream);
        stream.readableNodeStream().resume();
        respondWith({ body: (async function* later() { await sleep(20); yield reply; })() });
      };
    },
  });
  try {
    for (let i = 0; i < 10; i++) {
      const { client, session } = connect(server);
      try {
        await within(session.handshake, 5000, 'handshake');
        const stream = session.open({ body: 'request' });
        assert.deepStrictEqual(await within(readAll(stream.readableNodeStream()), 5000, 'reply'), reply);
        await within(stream.closed, 5000, 'stream closed');
        await within(session.close(), 5000, 'session close');
        const served = serverStreams[i];
        await within(served.closed, 5000, 'server stream closed');
        assert.strictEqual(served.stats.maxOffsetAcknowledged, BigInt(reply.length), `run ${i}: the reply acknowledged`);
      } finally {
        client.destroy();
      }
    }
  } finally {
    server.destroy();
  }
});

test('session.open() after close() throws ERR_INVALID_STATE', async () => {
  const server = makeServer({ onsession: echo });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  session.close();
  assert.throws(() => session.open({ body: 'x' }), { code: 'ERR_INVALID_STATE' });
  await within(session.closed, 5000, 'closed');
  assert.throws(() => session.open({ body: 'x' }), { code: 'ERR_INVALID_STATE' });
  await closeAll(client, server);
});

test('session.open() before the handshake throws ERR_INVALID_STATE', async () => {
  const server = makeServer({ onsession: echo });
  const { client, session } = connect(server);
  assert.throws(() => session.open({ body: 'x' }), { code: 'ERR_INVALID_STATE' });
  await within(session.handshake, 5000, 'handshake');
  // ... and works once the handshake is done.
  const got = await within(readAll(session.open({ body: 'after' }).readableNodeStream()), 5000, 'echo');
  assert.strictEqual(got.toString(), 'after');
  await closeAll(client, server);
});

test('session.cancel() fulfils closed; the peer sees the session close', async () => {
  const { server, first } = serverWithSession({ onsession: echo });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  const serverSession = await within(first, 5000, 'server session');
  const ret = session.cancel();
  assert.strictEqual(ret, session.closed, 'cancel() returns session.closed');
  await within(session.closed, 1000, 'client closed');
  const peer = await within(outcome(serverSession.closed), 5000, 'server closed');
  assert.strictEqual(peer.ok, true, `a cancel without reason is a clean close (${peer.error?.code})`);
  assert.throws(() => session.open(), { code: 'ERR_INVALID_STATE' });
  await closeAll(client, server);
});

test('session.cancel(error) rejects closed with that error; the peer sees an error close', async () => {
  const { server, first } = serverWithSession({ onsession: echo });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  const serverSession = await within(first, 5000, 'server session');
  const err = new Error('x');
  session.cancel(err);
  const r = await within(outcome(session.closed), 1000, 'client closed');
  assert.strictEqual(r.ok, false);
  assert.strictEqual(r.error, err);
  const peer = await within(outcome(serverSession.closed), 5000, 'server closed');
  assert.strictEqual(peer.ok, false, 'the peer should see an error close');
  assert.strictEqual(peer.error.code, 'ERR_QUIC_APPLICATION_ERROR');
  assert.strictEqual(typeof peer.error.errorCode, 'bigint');
  assert.notStrictEqual(peer.error.errorCode, 0n);
  await closeAll(client, server);
});

test('session.cancel() with an open stream settles the stream', async () => {
  const { server, first } = serverWithSession({ onsession: slowResponder('late', Infinity) });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  const stream = session.open({ body: 'x' });
  await within(first, 5000, 'server session');
  session.cancel();
  await within(outcome(stream.closed), 1000, 'stream closed');
  await within(session.closed, 1000, 'session closed');
  await closeAll(client, server);
});

test('stream.cancel() fulfils stream.closed; the peer reader errors with ERR_QUIC_APPLICATION_ERROR', async () => {
  let serverRead;
  const serverStream = new Promise((resolve) => {
    serverRead = resolve;
  });
  const server = makeServer({
    onsession: (s) => {
      s.onstream = ({ stream }) => {
        const chunks = [];
        const readable = stream.readableNodeStream();
        let first;
        const gotFirst = new Promise((resolve) => { first = resolve; });
        readable.on('data', (c) => { chunks.push(c); first(); });
        const done = new Promise((resolve) => {
          readable.on('error', (error) => resolve({ ok: false, error }));
          readable.on('end', () => resolve({ ok: true }));
        });
        serverRead({ gotFirst, done, stream });
      };
    },
  });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  let release;
  const never = new Promise((resolve) => { release = resolve; });
  const stream = session.open({
    body: (async function* body() {
      yield 'first chunk';
      await never;
    })(),
  });
  const peer = await within(serverStream, 5000, 'server stream');
  await within(peer.gotFirst, 5000, 'first chunk at server');
  const ret = stream.cancel();
  assert.strictEqual(ret, stream.closed, 'cancel() returns stream.closed');
  await within(stream.closed, 1000, 'stream closed');
  const r = await within(peer.done, 5000, 'server reader settles');
  assert.strictEqual(r.ok, false, 'the peer reader must error, not end');
  assert.strictEqual(r.error.code, 'ERR_QUIC_APPLICATION_ERROR');
  assert.strictEqual(typeof r.error.errorCode, 'bigint');
  release();
  await closeAll(client, server);
});

test('stream.cancel(error) rejects stream.closed with that error', async () => {
  const server = makeServer({ onsession: slowResponder('late', Infinity) });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  const stream = session.open({ body: 'x' });
  const err = new Error('stop');
  stream.cancel(err);
  const r = await within(outcome(stream.closed), 1000, 'stream closed');
  assert.strictEqual(r.ok, false);
  assert.strictEqual(r.error, err);
  await closeAll(client, server);
});

test('endpoint.close() closes its sessions gracefully and fulfils', async () => {
  const data = randomBytes(200 * 1024, 3);
  const { server, first } = serverWithSession({ onsession: slowResponder(data, 200) });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  const stream = session.open({ body: 'req' });
  const reading = readAll(stream.readableNodeStream());
  const closing = client.close();
  assert.strictEqual(closing, client.closed, 'close() returns endpoint.closed');
  assert.strictEqual(client.closing, true);
  assert.throws(() => client.connect({ address: '127.0.0.1', port: server.address.port },
                                     { alpn: ALPN, secure: { ca: certs.ca } }),
                { code: 'ERR_INVALID_STATE' });
  const got = await within(reading, 5000, 'response during endpoint close');
  assert.strictEqual(sha256(got), sha256(data));
  await within(closing, 5000, 'client endpoint closed');
  await within(session.closed, 1000, 'client session closed');
  assert.strictEqual(client.closing, false);
  assert.strictEqual(client.destroyed, true);
  const serverSession = await first;
  await within(serverSession.closed, 5000, 'server session closed');
  await within(server.close(), 5000, 'server close');
});

test('endpoint.close() on a server closes its server sessions', async () => {
  const { server, first } = serverWithSession({ onsession: echo });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  const serverSession = await within(first, 5000, 'server session');
  await within(server.close(), 5000, 'server close');
  await within(serverSession.closed, 1000, 'server session closed');
  const r = await within(outcome(session.closed), 5000, 'client session sees the close');
  assert.strictEqual(r.ok, true, `a graceful close is clean (${r.error?.code})`);
  await within(client.close(), 5000, 'client close');
});

test('endpoint.destroy() settles its sessions\' closed promises', async () => {
  const server = makeServer({ onsession: echo });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  const pending = connect(server); // a second client, destroyed mid-handshake
  const s2 = client.connect({ address: '127.0.0.1', port: server.address.port },
                            { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca } });
  client.destroy();
  assert.strictEqual(client.destroyed, true);
  await within(client.closed, 1000, 'endpoint closed fulfils');
  await within(outcome(session.closed), 1000, 'session closed settles');
  await within(outcome(s2.closed), 1000, 'handshaking session closed settles');
  const hs = await within(outcome(s2.handshake), 1000, 'handshake settles');
  assert.strictEqual(hs.ok, false);
  assert.throws(() => client.connect({ address: '127.0.0.1', port: server.address.port }, { alpn: ALPN }),
                { code: 'ERR_INVALID_STATE' });
  pending.client.destroy();
  await within(server.close(), 5000, 'server close');
});

test('endpoint.destroy(error) rejects endpoint.closed with it and settles sessions', async () => {
  const server = makeServer({ onsession: echo });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  const err = new Error('boom');
  client.destroy(err);
  const r = await within(outcome(client.closed), 1000, 'endpoint closed');
  assert.strictEqual(r.ok, false);
  assert.strictEqual(r.error, err);
  await within(outcome(session.closed), 1000, 'session closed settles');
  await within(server.close(), 5000, 'server close');
});

test('endpoint.listen() twice throws ERR_INVALID_STATE', async () => {
  const server = makeServer({ onsession: echo });
  assert.throws(() => server.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert } }),
                { code: 'ERR_INVALID_STATE' });
  assert.strictEqual(server.listening, true);
  await within(server.close(), 5000, 'close');
});

test('connect() and listen() after close() or destroy() throw ERR_INVALID_STATE', async () => {
  const serverOpts = { alpn: ALPN, secure: { key: certs.key, cert: certs.cert } };
  const addr = { address: '127.0.0.1', port: 4433 };
  const a = new quic.Endpoint();
  const closing = a.close();
  assert.throws(() => a.connect(addr, { alpn: ALPN }), { code: 'ERR_INVALID_STATE' });
  assert.throws(() => a.listen(serverOpts), { code: 'ERR_INVALID_STATE' });
  await within(closing, 5000, 'close');
  assert.throws(() => a.connect(addr, { alpn: ALPN }), { code: 'ERR_INVALID_STATE' });
  assert.throws(() => a.listen(serverOpts), { code: 'ERR_INVALID_STATE' });

  const b = new quic.Endpoint();
  b.destroy();
  assert.throws(() => b.connect(addr, { alpn: ALPN }), { code: 'ERR_INVALID_STATE' });
  assert.throws(() => b.listen(serverOpts), { code: 'ERR_INVALID_STATE' });
  await within(b.closed, 1000, 'closed');

  const c = makeServer();
  await within(c.close(), 5000, 'close');
  assert.throws(() => c.listen(serverOpts), { code: 'ERR_INVALID_STATE' });
  assert.throws(() => c.connect(addr, { alpn: ALPN }), { code: 'ERR_INVALID_STATE' });
});

test('endpoint.address: undefined before listen/connect, a SocketAddress after', async () => {
  const server = new quic.Endpoint();
  assert.strictEqual(server.address, undefined);
  server.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert } });
  assert.ok(server.address instanceof net.SocketAddress);
  assert.strictEqual(server.address.address, '127.0.0.1');
  assert.strictEqual(server.address.family, 'ipv4');
  assert.ok(Number.isInteger(server.address.port) && server.address.port > 0);

  const client = new quic.Endpoint();
  assert.strictEqual(client.address, undefined);
  const session = client.connect({ address: '127.0.0.1', port: server.address.port },
                                 { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca } });
  assert.ok(client.address instanceof net.SocketAddress);
  assert.ok(client.address.port > 0);
  assert.notStrictEqual(client.address.port, server.address.port);
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(session.remoteAddress.port, server.address.port);
  await closeAll(client, server);
});

test('endpoint.listening and endpoint.closing flags', async () => {
  const e = new quic.Endpoint();
  assert.strictEqual(e.listening, false);
  assert.strictEqual(e.closing, false);
  e.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert } });
  assert.strictEqual(e.listening, true);
  assert.strictEqual(e.closing, false);
  const closed = e.close();
  assert.strictEqual(e.closing, true);
  assert.strictEqual(e.listening, false);
  assert.strictEqual(e.close(), closed, 'a second close() returns the same promise');
  await within(closed, 5000, 'close');
  assert.strictEqual(e.closing, false);
  assert.strictEqual(e.listening, false);

  const d = new quic.Endpoint();
  d.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert } });
  d.destroy();
  assert.strictEqual(d.listening, false);
  assert.strictEqual(d.closing, false);
  await within(d.closed, 1000, 'destroyed');
});

// Runs `body` (the inside of an async function; `quic`, `read(fixture)` and
// `dgram` are in scope) in a child process, so that a crash fails one test
// instead of the whole file. Resolves { code, signal, stdout, stderr }.
async function runChild(body, ms = 5000) {
  const script = path.join(os.tmpdir(), `quic-lifecycle-child-${process.pid}-${Date.now()}-${Math.random()}.js`);
  fs.writeFileSync(script, `'use strict';
const fs = require('node:fs');
const dgram = require('node:dgram');
const quic = require(${JSON.stringify(path.join(__dirname, '..'))});
const fixtures = ${JSON.stringify(path.join(__dirname, 'fixtures'))};
const read = (n) => fs.readFileSync(fixtures + '/' + n);
(async () => {
${body}
})().catch((err) => { console.error(err); process.exitCode = 1; });
`);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    const { code, signal } = await within(exited, ms, 'child exit (handles left open?)');
    return { code, signal, stdout, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(script, { force: true });
  }
}

function lastJson(result) {
  assert.strictEqual(result.signal, null, `child killed by ${result.signal}: ${result.stderr}`);
  assert.strictEqual(result.code, 0, `child exited with ${result.code}: ${result.stderr}`);
  const line = result.stdout.trim().split('\n').pop();
  return JSON.parse(line);
}

// A client session to a UDP port that never answers, closed by `how`
// before its handshake can complete. The handshake timeout is an hour: a
// close that waited for it would not end within runChild's bound. Prints
// how each promise settled and the order they settled in.
const closeBeforeHandshake = (how) => `
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const client = new quic.Endpoint();
  const session = client.connect({ address: '127.0.0.1', port: sock.address().port },
                                 { alpn: 'child', hostname: 'localhost', secure: { ca: read('ca.pem') },
                                   handshakeTimeout: 3600000 });
  const order = [];
  const outcome = (name, p) => p.then(() => { order.push(name); return 'fulfilled'; },
                                      (e) => { order.push(name); return 'rejected:' + (e && e.code); });
  const closedP = outcome('closed', session.closed);
  const handshakeP = outcome('handshake', session.handshake);
  let endpointP;
  ${how}
  const closed = await closedP;
  const handshake = await handshakeP;
  const endpoint = endpointP && await endpointP;
  const nativeAlive = session.nativeAlive;
  await client.close();
  sock.close();
  console.log(JSON.stringify({ closed, handshake, endpoint, order, nativeAlive }));
`;

// The handshake rejects as cut short (ERR_INVALID_STATE), not timed out
// (ERR_QUIC_HANDSHAKE_TIMEOUT, which would also reject closed), and before
// closed settles; the session's native side is gone.
function assertClosedBeforeHandshake(r) {
  assert.strictEqual(r.handshake, 'rejected:ERR_INVALID_STATE');
  assert.strictEqual(r.closed, 'fulfilled');
  assert.strictEqual(r.nativeAlive, false);
}

test('session.close() before the handshake completes: closed settles (fulfils), handshake rejects first', async () => {
  const r = lastJson(await runChild(closeBeforeHandshake('session.close();')));
  assertClosedBeforeHandshake(r);
  assert.deepStrictEqual(r.order, ['handshake', 'closed']);
});

test('endpoint.close() while a session is still handshaking: fulfils, the session settles', async () => {
  const r = lastJson(await runChild(closeBeforeHandshake("endpointP = outcome('endpoint', client.close());")));
  assertClosedBeforeHandshake(r);
  assert.strictEqual(r.endpoint, 'fulfilled');
  // The endpoint's close waits for its session.
  assert.deepStrictEqual(r.order, ['handshake', 'closed', 'endpoint']);
});

test('session.cancel() before the handshake completes: closed fulfils, handshake rejects', async () => {
  const r = lastJson(await runChild(closeBeforeHandshake('session.cancel();')));
  assertClosedBeforeHandshake(r);
  assert.deepStrictEqual(r.order, ['handshake', 'closed']);
});

test('a process that closes everything exits on its own, with no native memory left', async () => {
  const result = await runChild(`
  const server = new quic.Endpoint();
  server.onsession = ({ session }) => {
    session.onstream = ({ stream, respondWith }) => {
      respondWith({ body: stream.readableNodeStream() });
    };
  };
  server.listen({ alpn: 'child', secure: { key: read('server-key.pem'), cert: read('server-cert.pem') } });
  const client = new quic.Endpoint();
  const session = client.connect({ address: '127.0.0.1', port: server.address.port },
                                 { alpn: 'child', hostname: 'localhost', secure: { ca: read('ca.pem') } });
  await session.handshake;
  const payload = Buffer.alloc(100000, 7);
  const stream = session.open({ body: payload });
  const chunks = [];
  for await (const c of stream.readableNodeStream()) chunks.push(c);
  const got = Buffer.concat(chunks);
  if (!got.equals(payload)) throw new Error('echo mismatch: ' + got.length);
  await client.close();
  await server.close();
  setTimeout(() => {
    console.log(JSON.stringify({ echoed: got.length, liveMemory: quic.liveMemory() }));
  }, 100);
`);
  const report = lastJson(result);
  assert.strictEqual(report.echoed, 100000);
  assert.strictEqual(report.liveMemory.bytes, 0, `native bytes still live: ${JSON.stringify(report)}`);
});

'use strict';
// Streams: bidirectional and unidirectional streams opened by either side,
// every body kind of the seed, the three ways to consume inbound data, and
// the one-consumer rule. Loopback only; every endpoint is closed at the end.
const { test, describe, before, after, it } = require('node:test');
const assert = require('node:assert');
const { Readable } = require('node:stream');
const { makeServer, connect, readAll, within, randomBytes, sha256 } = require('./common');

const T = 10000; // bound for one step

// A server, a client endpoint and a client session with its handshake done.
// `clientSetup(session)` runs before the handshake (to install onstream).
async function pair(t, onsession, clientSetup) {
  const server = makeServer({ onsession });
  const { client, session } = connect(server);
  if (clientSetup) clientSetup(session);
  // If the test fails half way, do not leave sockets behind.
  t.after(() => { client.destroy(); server.destroy(); });
  await within(session.handshake, T, 'client handshake');
  return {
    server,
    client,
    session,
    async close() {
      await within(client.close(), T, 'client endpoint close');
      await within(server.close(), T, 'server endpoint close');
      assert.strictEqual(client.destroyed, true);
      assert.strictEqual(server.destroyed, true);
    },
  };
}

// A promise with its resolve function, for values handed over by callbacks.
function later() {
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

function streamFacts(stream) {
  return { id: stream.id, serverInitiated: stream.serverInitiated, unidirectional: stream.unidirectional };
}

test('echo on a bidirectional stream opened by the client', async (t) => {
  const data = randomBytes(300 * 1024, 11); // more than one stream window
  const serverSide = later();
  const p = await pair(t, (session) => {
    session.onstream = async ({ stream, respondWith }) => {
      try {
        const facts = streamFacts(stream);
        assert.strictEqual(typeof respondWith, 'function');
        const body = await readAll(stream.readableNodeStream());
        respondWith({ body });
        serverSide.resolve({ facts, body });
      } catch (err) {
        serverSide.reject(err);
      }
    };
  });
  const stream = p.session.open({ body: data });
  assert.strictEqual(typeof stream.id, 'bigint');
  assert.strictEqual(stream.id, 0n, 'first client bidi stream is id 0');
  assert.strictEqual(stream.serverInitiated, false);
  assert.strictEqual(stream.unidirectional, false);
  assert.strictEqual(stream.session, p.session);

  const echoed = await within(readAll(stream.readableNodeStream()), T, 'echo');
  assert.strictEqual(echoed.length, data.length);
  assert.ok(echoed.equals(data), 'echoed data differs');

  const { facts, body } = await within(serverSide.promise, T, 'server side');
  assert.ok(body.equals(data), 'server read different data');
  assert.strictEqual(typeof facts.id, 'bigint');
  assert.strictEqual(facts.id, stream.id, 'both sides see the same stream id');
  assert.strictEqual(facts.serverInitiated, false);
  assert.strictEqual(facts.unidirectional, false);
  await within(stream.closed, T, 'client stream closed');
  await p.close();
});

test('echo on a bidirectional stream opened by the server', async (t) => {
  const data = randomBytes(200 * 1024, 12);
  const serverSide = later();
  const clientSide = later();
  const p = await pair(t, async (session) => {
    try {
      await within(session.handshake, T, 'server handshake');
      const stream = session.open({ body: data });
      const facts = streamFacts(stream);
      const reply = await within(readAll(stream.readableNodeStream()), T, 'server reads the reply');
      serverSide.resolve({ facts, reply });
    } catch (err) {
      serverSide.reject(err);
    }
  }, (session) => {
    session.onstream = async ({ stream, respondWith }) => {
      try {
        const facts = streamFacts(stream);
        assert.strictEqual(typeof respondWith, 'function');
        const body = await readAll(stream.readableNodeStream());
        respondWith({ body: Buffer.concat([Buffer.from('echo:'), body]) });
        clientSide.resolve({ facts, body });
      } catch (err) {
        clientSide.reject(err);
      }
    };
  });

  const { facts: cf, body } = await within(clientSide.promise, T, 'client receives the server stream');
  assert.ok(body.equals(data), 'client read different data');
  const { facts: sf, reply } = await within(serverSide.promise, T, 'server receives the reply');
  assert.ok(reply.equals(Buffer.concat([Buffer.from('echo:'), data])), 'reply differs');

  assert.strictEqual(typeof sf.id, 'bigint');
  assert.strictEqual(sf.id, 1n, 'first server bidi stream is id 1');
  assert.strictEqual(cf.id, sf.id);
  for (const f of [sf, cf]) {
    assert.strictEqual(f.serverInitiated, true);
    assert.strictEqual(f.unidirectional, false);
  }
  await p.close();
});

test('unidirectional stream client -> server', async (t) => {
  const data = randomBytes(100 * 1024, 13);
  const serverSide = later();
  const p = await pair(t, (session) => {
    session.onstream = async ({ stream, respondWith }) => {
      try {
        const facts = streamFacts(stream);
        const body = await readAll(stream.readableNodeStream());
        serverSide.resolve({ facts, body, respondWith });
      } catch (err) {
        serverSide.reject(err);
      }
    };
  });
  const stream = p.session.open({ unidirectional: true, body: data });
  assert.strictEqual(typeof stream.id, 'bigint');
  assert.strictEqual(stream.id, 2n, 'first client uni stream is id 2');
  assert.strictEqual(stream.unidirectional, true);
  assert.strictEqual(stream.serverInitiated, false);

  const { facts, body, respondWith } = await within(serverSide.promise, T, 'server reads the uni stream');
  assert.ok(body.equals(data), 'server read different data');
  assert.strictEqual(respondWith, undefined, 'no respondWith on a unidirectional stream');
  assert.strictEqual(facts.id, stream.id);
  assert.strictEqual(facts.unidirectional, true);
  assert.strictEqual(facts.serverInitiated, false);
  await within(stream.closed, T, 'client uni stream closed');
  await p.close();
});

test('unidirectional stream server -> client', async (t) => {
  const data = randomBytes(100 * 1024, 14);
  const serverSide = later();
  const clientSide = later();
  const p = await pair(t, async (session) => {
    try {
      await within(session.handshake, T, 'server handshake');
      const stream = session.open({ unidirectional: true, body: data });
      serverSide.resolve(streamFacts(stream));
      await within(stream.closed, T, 'server uni stream closed');
    } catch (err) {
      serverSide.reject(err);
    }
  }, (session) => {
    session.onstream = async ({ stream, respondWith }) => {
      try {
        const facts = streamFacts(stream);
        const body = await readAll(stream.readableNodeStream());
        clientSide.resolve({ facts, body, respondWith });
      } catch (err) {
        clientSide.reject(err);
      }
    };
  });
  const { facts, body, respondWith } = await within(clientSide.promise, T, 'client reads the uni stream');
  const sf = await within(serverSide.promise, T, 'server opened');
  assert.ok(body.equals(data), 'client read different data');
  assert.strictEqual(respondWith, undefined, 'no respondWith on a unidirectional stream');
  assert.strictEqual(typeof sf.id, 'bigint');
  assert.strictEqual(sf.id, 3n, 'first server uni stream is id 3');
  assert.strictEqual(facts.id, sf.id);
  for (const f of [sf, facts]) {
    assert.strictEqual(f.unidirectional, true);
    assert.strictEqual(f.serverInitiated, true);
  }
  await p.close();
});

// ---- body kinds ----

function chunked(buf, size) {
  const out = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, Math.min(buf.length, i + size)));
  return out;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

// name -> [expected bytes, () => a fresh body producing them]
function bodyKinds() {
  const kinds = [];
  const add = (name, expected, make) => kinds.push({ name, expected, make });

  const text = 'héllo wörld ✓ ñ 😀 '.repeat(4000);
  add('string', Buffer.from(text, 'utf8'), () => text);

  add('empty string', Buffer.alloc(0), () => '');

  {
    const exp = randomBytes(70 * 1024, 21);
    add('ArrayBuffer', exp, () => {
      const ab = new ArrayBuffer(exp.length);
      new Uint8Array(ab).set(exp);
      return ab;
    });
  }
  {
    const exp = randomBytes(90 * 1024 + 3, 22);
    // A view into the middle of a larger buffer: only the view is sent.
    add('Uint8Array (offset view)', exp, () => {
      const u = new Uint8Array(exp.length + 17);
      u.fill(0xee);
      u.set(exp, 9);
      return u.subarray(9, 9 + exp.length);
    });
  }
  {
    const exp = randomBytes(40 * 1024, 23);
    add('Uint16Array', exp, () => {
      const ab = new ArrayBuffer(exp.length + 8);
      new Uint8Array(ab).set(exp, 4);
      return new Uint16Array(ab, 4, exp.length / 2);
    });
  }
  {
    const exp = randomBytes(50 * 1024 + 1, 24);
    add('DataView (offset view)', exp, () => {
      const ab = new ArrayBuffer(exp.length + 11);
      new Uint8Array(ab).fill(0xaa);
      new Uint8Array(ab).set(exp, 5);
      return new DataView(ab, 5, exp.length);
    });
  }
  {
    const exp = randomBytes(700 * 1024, 25); // larger than a write slice and a window
    add('Buffer', exp, () => Buffer.from(exp));
  }
  {
    const a = randomBytes(30 * 1024, 26);
    const b = Buffer.from('a string part of the blob');
    const c = randomBytes(200 * 1024, 27);
    add('Blob', Buffer.concat([a, b, c]), () => new Blob([a, b.toString(), c]));
  }
  {
    const exp = randomBytes(300 * 1024, 28);
    add('stream.Readable', exp, () => Readable.from(chunked(exp, 16 * 1024)));
  }
  {
    const exp = randomBytes(120 * 1024, 29);
    add('stream.Readable (byte mode, pushed later)', exp, () => {
      const parts = chunked(exp, 10000);
      let i = 0;
      return new Readable({
        read() {
          setImmediate(() => this.push(i < parts.length ? parts[i++] : null));
        },
      });
    });
  }
  {
    const exp = randomBytes(250 * 1024, 30);
    add('web ReadableStream', exp, () => {
      const parts = chunked(exp, 7000);
      let i = 0;
      return new ReadableStream({
        async pull(controller) {
          await tick();
          if (i < parts.length) controller.enqueue(new Uint8Array(parts[i++]));
          else controller.close();
        },
      });
    });
  }
  {
    const p1 = randomBytes(5000, 31);
    const p2 = 'some text ✓';
    const p3 = randomBytes(6000, 32);
    const p4 = randomBytes(7000, 33);
    const exp = Buffer.concat([p1, Buffer.from(p2), p3, p4]);
    add('sync iterable (array of mixed chunks)', exp, () => {
      const ab = new ArrayBuffer(p4.length);
      new Uint8Array(ab).set(p4);
      return [p1, p2, new Uint8Array(p3), ab];
    });
  }
  {
    const exp = randomBytes(200 * 1024, 34);
    add('sync generator', exp, () => (function* gen() {
      yield* chunked(exp, 4096);
    })());
  }
  {
    const exp = randomBytes(400 * 1024, 35);
    add('async generator', exp, () => (async function* gen() {
      for (const c of chunked(exp, 32 * 1024)) {
        await tick();
        yield c;
      }
    })());
  }
  {
    const exp = randomBytes(60 * 1024, 36);
    add('Promise of a body', exp, () => new Promise((resolve) => setTimeout(() => resolve(Buffer.from(exp)), 20)));
  }
  {
    const exp = randomBytes(60 * 1024, 37);
    add('Promise of an async generator', exp, () => Promise.resolve((async function* gen() {
      yield* chunked(exp, 1000);
    })()));
  }
  {
    const s = 'returned from a sync function ✓ '.repeat(1000);
    add('sync function returning a body', Buffer.from(s), () => () => s);
  }
  {
    const exp = randomBytes(80 * 1024, 38);
    add('async function returning a body', exp, () => async () => {
      await tick();
      return new Blob([exp]);
    });
  }
  {
    const exp = randomBytes(20 * 1024, 39);
    add('sync function returning a generator', exp, () => () => (function* gen() {
      yield* chunked(exp, 999);
    })());
  }
  return kinds;
}

// One server and one client session shared by the tests of a describe block.
function sharedPair(onstream) {
  const p = {};
  before(async () => {
    p.server = makeServer({ onsession(session) { session.onstream = onstream; } });
    const { client, session } = connect(p.server);
    p.client = client;
    p.session = session;
    await within(session.handshake, T, 'handshake');
  });
  after(async () => {
    try {
      await within(p.client.close(), T, 'client endpoint close');
      await within(p.server.close(), T, 'server endpoint close');
    } finally {
      p.client.destroy();
      p.server.destroy();
    }
  });
  return p;
}

const kinds = bodyKinds();

describe('every body kind arrives intact: session.open({ body })', () => {
  const serverRead = new Map(); // stream id -> Promise<Buffer> the server read
  // The server reads the whole request, then echoes it back.
  const p = sharedPair(({ stream, respondWith }) => {
    const got = readAll(stream.readableNodeStream());
    serverRead.set(stream.id, got);
    got.then((body) => respondWith({ body }), (err) => stream.cancel(err));
  });

  for (const kind of kinds) {
    it(kind.name, async () => {
      const stream = p.session.open({ body: kind.make() });
      const echoed = await within(readAll(stream.readableNodeStream()), T, `echo of ${kind.name}`);
      const read = await serverRead.get(stream.id);
      assert.strictEqual(read.length, kind.expected.length, 'length the server read');
      assert.strictEqual(sha256(read), sha256(kind.expected), 'content the server read');
      assert.strictEqual(echoed.length, kind.expected.length, 'length of the echo');
      assert.strictEqual(sha256(echoed), sha256(kind.expected), 'content of the echo');
    });
  }
});

describe('every body kind arrives intact: respondWith({ body })', () => {
  const byName = new Map(kinds.map((k) => [k.name, k]));
  // The request names a kind; the server answers with a body of that kind.
  const p = sharedPair(({ stream, respondWith }) => {
    readAll(stream.readableNodeStream()).then((name) => {
      respondWith({ body: byName.get(name.toString()).make() });
    }, (err) => stream.cancel(err));
  });

  for (const kind of kinds) {
    it(kind.name, async () => {
      const stream = p.session.open({ body: kind.name });
      const got = await within(readAll(stream.readableNodeStream()), T, `response ${kind.name}`);
      assert.strictEqual(got.length, kind.expected.length, 'length');
      assert.strictEqual(sha256(got), sha256(kind.expected), 'content');
    });
  }
});

test('respondWith() given a promise of the response options', async (t) => {
  const data = randomBytes(150 * 1024, 15);
  const p = await pair(t, (session) => {
    session.onstream = ({ stream, respondWith }) => {
      // Called synchronously in the event, fulfilled once the request is read.
      respondWith(readAll(stream.readableNodeStream()).then((body) => ({ body: body.reverse() })));
    };
  });
  const stream = p.session.open({ body: data });
  const got = await within(readAll(stream.readableNodeStream()), T, 'response');
  assert.ok(got.equals(Buffer.from(data).reverse()), 'response differs');
  await p.close();
});

// ---- consumers ----

test('setStreamConsumer receives every chunk, then done=true once', async (t) => {
  const data = randomBytes(2 * 1024 * 1024 + 123, 16);
  const p = await pair(t, (session) => {
    session.onstream = ({ stream, respondWith }) => {
      readAll(stream.readableNodeStream()).then(() => respondWith({
        body: (async function* gen() {
          for (const c of chunked(data, 50 * 1024)) {
            await tick();
            yield c;
          }
        })(),
      }));
    };
  });
  const stream = p.session.open({ body: 'give me the data' });
  assert.strictEqual(stream.locked, false);
  const calls = [];
  const finished = later();
  const ret = stream.setStreamConsumer((chunks, done) => {
    calls.push({ chunks, done });
    if (done) finished.resolve();
  });
  assert.strictEqual(ret, undefined);
  assert.strictEqual(stream.locked, true);
  await within(finished.promise, T, 'consumer sees done');
  // Nothing comes after done.
  await new Promise((resolve) => setTimeout(resolve, 100));

  assert.ok(calls.length >= 2, `expected several calls, got ${calls.length}`);
  calls.forEach(({ chunks, done }, i) => {
    assert.ok(Array.isArray(chunks), `call ${i}: chunks is an array`);
    for (const c of chunks) assert.ok(c instanceof ArrayBuffer, `call ${i}: each chunk is an ArrayBuffer`);
    assert.strictEqual(done, i === calls.length - 1, `call ${i}: done only on the last call`);
  });
  const got = Buffer.concat(calls.flatMap(({ chunks }) => chunks.map((c) => Buffer.from(c))));
  assert.strictEqual(got.length, data.length);
  assert.strictEqual(sha256(got), sha256(data));
  await p.close();
});

test('received chunks stay intact after the session and both endpoints are gone', async (t) => {
  // Full receive buffers are handed to JavaScript uncopied: they must not
  // depend on the native session that filled them.
  const quic = require('..');
  const data = randomBytes(4 * 1024 * 1024, 23);
  const p = await pair(t, (session) => {
    session.onstream = ({ stream, respondWith }) => {
      readAll(stream.readableNodeStream()).then(() => respondWith({ body: data }));
    };
  });
  const kept = [];
  const finished = later();
  p.session.open({ body: 'send it' }).setStreamConsumer((chunks, done) => {
    kept.push(...chunks);
    if (done) finished.resolve();
  });
  await within(finished.promise, T, 'consumer sees done');
  await p.close();
  // The native core no longer counts what JavaScript holds.
  const held = kept.reduce((n, c) => n + c.byteLength, 0);
  assert.strictEqual(held, data.length);
  assert.ok(quic.liveMemory().bytes < held / 4, `native memory ${quic.liveMemory().bytes} while JS holds ${held}`);
  // Churn the heap, then check every byte.
  for (let i = 0; i < 20; i++) Buffer.alloc(1024 * 1024).fill(i);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.strictEqual(sha256(Buffer.concat(kept.map((c) => Buffer.from(c)))), sha256(data));
});

test('setStreamConsumer attached late gets the queued data at once', async (t) => {
  const data = randomBytes(20 * 1024, 17); // fits the stream window: all of it arrives
  const arrived = later();
  const p = await pair(t, (session) => {
    session.onstream = ({ stream }) => arrived.resolve(stream);
  });
  const sent = p.session.open({ unidirectional: true, body: data });
  await within(sent.closed, T, 'client uni stream closed (all data acknowledged)');
  const stream = await within(arrived.promise, T, 'server sees the stream');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const calls = [];
  const finished = later();
  stream.setStreamConsumer((chunks, done) => {
    calls.push({ chunks, done });
    if (done) finished.resolve();
  });
  await within(finished.promise, T, 'consumer sees done');
  assert.strictEqual(calls.length, 1, 'queued data and the end come in a single call');
  const got = Buffer.concat(calls[0].chunks.map((c) => Buffer.from(c)));
  assert.ok(got.equals(data), 'queued data differs');
  await p.close();
});

test('readableNodeStream() attached after the stream ended still gets the data', async (t) => {
  const data = randomBytes(20 * 1024, 20); // fits the stream window: all of it arrives
  const arrived = later();
  const p = await pair(t, (session) => {
    session.onstream = ({ stream }) => arrived.resolve(stream);
  });
  const sent = p.session.open({ unidirectional: true, body: data });
  await within(sent.closed, T, 'client uni stream closed (all data acknowledged)');
  const stream = await within(arrived.promise, T, 'server sees the stream');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const got = await within(readAll(stream.readableNodeStream()), T, 'late read');
  assert.strictEqual(got.length, data.length, 'length read late');
  assert.ok(got.equals(data), 'data read late differs');
  await p.close();
});

test('readableWebStream() delivers the data', async (t) => {
  const data = randomBytes(500 * 1024, 18);
  const p = await pair(t, (session) => {
    session.onstream = ({ respondWith }) => respondWith({ body: data });
  });
  const stream = p.session.open({ body: 'x' });
  const got = await within(readAll(stream.readableWebStream()), T, 'web stream read');
  assert.ok(got.equals(data));
  await p.close();
});

// ---- one consumer per stream ----

describe('a stream has at most one consumer', () => {
  const data = randomBytes(64 * 1024, 19);
  const p = sharedPair(({ respondWith }) => respondWith({ body: data }));

  function assertInvalidState(fn, what) {
    assert.throws(fn, (err) => {
      assert.strictEqual(err.code, 'ERR_INVALID_STATE', `${what}: ${err.code} ${err.message}`);
      return true;
    }, what);
  }

  it('readableNodeStream() after readableWebStream() throws ERR_INVALID_STATE', async () => {
    const stream = p.session.open({ body: 'a' });
    assert.strictEqual(stream.locked, false);
    const web = stream.readableWebStream();
    assert.strictEqual(stream.locked, true);
    assertInvalidState(() => stream.readableNodeStream(), 'readableNodeStream');
    assertInvalidState(() => stream.setStreamConsumer(() => {}), 'setStreamConsumer');
    assertInvalidState(() => stream.readableWebStream(), 'second readableWebStream');
    assert.strictEqual(stream.locked, true);
    // The first consumer still gets everything.
    const got = await within(readAll(web), T, 'web read');
    assert.ok(got.equals(data));
  });

  it('readableNodeStream() after setStreamConsumer() throws ERR_INVALID_STATE', async () => {
    const stream = p.session.open({ body: 'b' });
    const chunks = [];
    const finished = later();
    stream.setStreamConsumer((c, done) => {
      chunks.push(...c);
      if (done) finished.resolve();
    });
    assert.strictEqual(stream.locked, true);
    assertInvalidState(() => stream.readableNodeStream(), 'readableNodeStream');
    assertInvalidState(() => stream.readableWebStream(), 'readableWebStream');
    assertInvalidState(() => stream.setStreamConsumer(() => {}), 'second setStreamConsumer');
    assert.strictEqual(stream.locked, true);
    await within(finished.promise, T, 'consumer done');
    assert.ok(Buffer.concat(chunks.map((c) => Buffer.from(c))).equals(data));
  });

  it('readableWebStream() and setStreamConsumer() after readableNodeStream() throw', async () => {
    const stream = p.session.open({ body: 'c' });
    const node = stream.readableNodeStream();
    assert.strictEqual(stream.locked, true);
    assertInvalidState(() => stream.readableWebStream(), 'readableWebStream');
    assertInvalidState(() => stream.setStreamConsumer(() => {}), 'setStreamConsumer');
    assertInvalidState(() => stream.readableNodeStream(), 'second readableNodeStream');
    const got = await within(readAll(node), T, 'node read');
    assert.ok(got.equals(data));
  });
});

// STOP_SENDING (RFC 9000 3.5) aborts only the direction it names. The side
// that stops reading keeps writing (its stop used to reset its own sending
// side too); the side that is stopped sees the stopper's code and its body
// stops being pulled.
test('STOP_SENDING stops only the peer\'s sending side; the stopper still writes; the peer sees the code', async (t) => {
  const reply = randomBytes(256 * 1024, 21);
  const serverSide = later();
  const p = await pair(t, (session) => {
    session.onstream = async ({ stream, respondWith }) => {
      try {
        const reader = stream.readableWebStream().getReader();
        const first = await reader.read();
        await reader.cancel({ errorCode: 7 }); // STOP_SENDING with 7, nothing else
        respondWith({ body: reply });
        serverSide.resolve(first.value.length);
      } catch (err) {
        serverSide.reject(err);
      }
    };
  });
  let pulled = 0;
  const LIMIT = 4096; // 64 MB at most
  const stream = p.session.open({
    body: (function* () {
      for (; pulled < LIMIT; pulled++) yield Buffer.alloc(16 * 1024, pulled & 0xff);
    })(),
  });
  const closed = stream.closed.then(() => null, (err) => err);
  const committed = stream.committed.then(() => null, (err) => err);
  const got = await within(readAll(stream.readableNodeStream()), T, 'reply');
  assert.strictEqual(got.length, reply.length);
  assert.strictEqual(sha256(got), sha256(reply), 'the stopper\'s own data arrives whole');
  assert.ok((await within(serverSide.promise, T, 'server read')) > 0);
  const err = await within(closed, T, 'client stream closed');
  assert.ok(err, 'closed rejects with the peer\'s code');
  assert.strictEqual(err.code, 'ERR_QUIC_APPLICATION_ERROR');
  assert.strictEqual(err.errorCode, 7n);
  assert.ok(pulled < LIMIT, `the body stopped being pulled (${pulled} chunks)`);
  const cerr = await within(committed, T, 'committed');
  assert.strictEqual(cerr?.code, 'ERR_QUIC_APPLICATION_ERROR', 'committed rejects: the data was not all delivered');
  assert.strictEqual(cerr.errorCode, 7n);
  await p.close();
});

test('stream.committed settles only once the peer acknowledged every byte and the end', async (t) => {
  const data = randomBytes(600 * 1024, 41); // over twice the stream window
  let serverStream = null;
  const uni = later();
  const p = await pair(t, (session) => {
    session.onstream = ({ stream, respondWith }) => {
      if (stream.unidirectional) {
        // Nothing to send on a peer's unidirectional stream: committed at once.
        uni.resolve(stream.committed);
        readAll(stream.readableNodeStream()).catch(() => {});
        return;
      }
      serverStream = stream;
      respondWith({ body: 'ok' });
    };
  });
  const stream = p.session.open({ body: data });
  let committed = false;
  const settled = stream.committed.then(() => { committed = true; });
  await within((async () => { while (!serverStream) await new Promise((r) => setTimeout(r, 5)); })(), T, 'server stream');
  await new Promise((r) => setTimeout(r, 300));
  assert.strictEqual(committed, false, 'pending while the server reads nothing');
  const got = await within(readAll(serverStream.readableNodeStream()), T, 'server read');
  assert.strictEqual(sha256(got), sha256(data));
  await within(settled, T, 'committed');
  assert.strictEqual((await within(readAll(stream.readableNodeStream()), T, 'reply')).toString(), 'ok');
  // Our unidirectional stream commits once acknowledged; the server's side
  // of it has nothing to send and is committed at once. A cancelled
  // stream's promise rejects with the reason.
  assert.strictEqual(await within(p.session.open({ unidirectional: true, body: 'x' }).committed, T, 'uni committed'), undefined);
  assert.strictEqual(await within(uni.promise, T, 'server uni committed'), undefined);
  const s2 = p.session.open({ body: (async function* () { yield 'a'; await new Promise(() => {}); })() });
  const c2 = s2.committed.then(() => null, (e) => e);
  const why = new Error('changed my mind');
  s2.cancel(why);
  assert.strictEqual(await within(c2, T, 'cancelled committed'), why);
  await p.close();
});

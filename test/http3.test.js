'use strict';
// HTTP/3 (ALPN h3, the default): requests and responses on the same
// Session/Stream objects, headers, hints, trailers, bodies, validation,
// malformed peers and GOAWAY.
const test = require('node:test');
const assert = require('node:assert');
const { Readable } = require('node:stream');
const { quic, certs, readAll, sha256, hashOf, randomBytes, within } = require('./common');

const T = 10000;

// An HTTP/3 server whose streams go to `handler(event)`.
function h3Server(handler, options = {}) {
  const server = new quic.Endpoint(options.endpoint || {});
  server.onsession = ({ session }) => { session.onstream = handler; };
  server.listen({ ...options.session, secure: { key: certs.key, cert: certs.cert } });
  return server;
}

function h3Client(server, options = {}) {
  const client = new quic.Endpoint();
  const session = client.connect({ address: '127.0.0.1', port: server.address.port },
                                 { hostname: 'localhost', ...options, secure: { ca: certs.ca } });
  return { client, session };
}

test('seed example: the simple HTTP/3 server and client', async () => {
  const { Endpoint } = quic;
  const seen = {};
  const endpoint = new Endpoint({ address: { port: 0 } });
  endpoint.onsession = ({ session }) => {
    session.onstream = async ({ stream, respondWith }) => {
      respondWith({ headers: { 'content-type': 'text/plain' }, body: 'right back at you' });
      seen.headers = await stream.headers;
      seen.body = (await readAll(stream.readableNodeStream())).toString();
    };
  };
  endpoint.listen({ secure: { key: certs.key, cert: certs.cert } });

  const client = new Endpoint();
  const { port } = endpoint.address; // a closed endpoint has no address
  const req = client.connect({ address: '127.0.0.1', port },
                             { hostname: 'localhost', secure: { ca: certs.ca } });
  await within(req.handshake, T, 'handshake');
  assert.strictEqual(req.alpn, 'h3');
  const stream = req.open({ headers: { ':method': 'POST' }, body: 'hello there' });
  const headers = await within(stream.headers, T, 'response headers');
  assert.strictEqual(Object.getPrototypeOf(headers), null);
  assert.strictEqual(headers[':status'], 200);
  assert.strictEqual(headers['content-type'], 'text/plain');
  assert.strictEqual((await readAll(stream.readableNodeStream())).toString(), 'right back at you');
  await within(client.close(), T, 'client close');
  await within(endpoint.close(), T, 'server close');
  // The request used the documented defaults for what it did not set.
  assert.strictEqual(seen.headers[':method'], 'POST');
  assert.strictEqual(seen.headers[':scheme'], 'https');
  assert.strictEqual(seen.headers[':authority'], `localhost:${port}`);
  assert.strictEqual(seen.headers[':path'], '/');
  assert.strictEqual(seen.body, 'hello there');
});

test('hints before the final headers, and trailers both ways', async () => {
  let gotServerTrailers;
  const serverTrailersP = new Promise((resolve) => { gotServerTrailers = resolve; });
  const server = h3Server(async ({ stream, respondWith }) => {
    respondWith({
      hints: [{ link: '</a.css>; rel=preload' }, { ':status': 103, link: '</b.js>; rel=preload' }],
      headers: { ':status': 201, 'x-multi': ['one', 'two'], 'set-cookie': ['a=1', 'b=2'] },
      body: 'created',
      trailers: { 'x-checksum': 'abc' },
    });
    await readAll(stream.readableNodeStream());
    gotServerTrailers(await stream.trailers);
  });
  const { client, session } = h3Client(server);
  await within(session.handshake, T, 'handshake');
  const stream = session.open({ headers: { ':method': 'PUT', ':path': '/x' }, body: 'data', trailers: { 'x-sent': '4' } });
  const hints = await within(stream.hints, T, 'hints');
  assert.strictEqual(hints.length, 2);
  assert.deepStrictEqual(hints.map((h) => h[':status']), [103, 103]);
  assert.strictEqual(hints[1].link, '</b.js>; rel=preload');
  const headers = await stream.headers;
  assert.strictEqual(headers[':status'], 201);
  assert.strictEqual(headers['x-multi'], 'one, two');
  assert.deepStrictEqual(headers['set-cookie'], ['a=1', 'b=2']);
  assert.strictEqual((await readAll(stream.readableNodeStream())).toString(), 'created');
  const trailers = await within(stream.trailers, T, 'trailers');
  assert.strictEqual(Object.getPrototypeOf(trailers), null);
  assert.strictEqual(trailers['x-checksum'], 'abc');
  const serverTrailers = await within(serverTrailersP, T, 'request trailers on the server');
  assert.strictEqual(serverTrailers['x-sent'], '4');
  await client.close();
  await server.close();
});

test('a stream without trailers fulfils stream.trailers with undefined', async () => {
  const server = h3Server(({ respondWith }) => respondWith({ body: 'x' }));
  const { client, session } = h3Client(server);
  await session.handshake;
  const stream = session.open();
  await readAll(stream.readableNodeStream());
  assert.strictEqual(await within(stream.trailers, T, 'trailers'), undefined);
  await client.close();
  await server.close();
});

test('respondWith a promise, and headers given as promises', async () => {
  const server = h3Server(({ respondWith }) => {
    respondWith(new Promise((resolve) => setTimeout(() => resolve({
      headers: Promise.resolve({ ':status': 202, 'x-late': 'yes' }),
      body: Promise.resolve('later'),
    }), 20)));
  });
  const { client, session } = h3Client(server);
  await session.handshake;
  const stream = session.open({ headers: Promise.resolve({ ':path': '/promised' }) });
  const headers = await within(stream.headers, T, 'headers');
  assert.strictEqual(headers[':status'], 202);
  assert.strictEqual(headers['x-late'], 'yes');
  assert.strictEqual((await readAll(stream.readableNodeStream())).toString(), 'later');
  await client.close();
  await server.close();
});

test('request and response bodies of every kind arrive intact', async () => {
  const server = h3Server(async ({ stream, respondWith }) => {
    const body = await readAll(stream.readableNodeStream());
    const h = await stream.headers;
    respondWith({ headers: { 'x-path': h[':path'] }, body: Readable.from([body.subarray(0, 3), body.subarray(3)]) });
  });
  const { client, session } = h3Client(server);
  await session.handshake;
  const kinds = {
    string: 'a string body',
    buffer: Buffer.from('a buffer body'),
    uint8: new TextEncoder().encode('a typed array'),
    blob: new Blob(['a ', 'blob']),
    asyncgen: (async function* () { yield 'async '; yield Buffer.from('generator'); })(),
    web: new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('web stream')); c.close(); } }),
    fn: () => 'from a function',
  };
  const expect = {
    string: 'a string body', buffer: 'a buffer body', uint8: 'a typed array', blob: 'a blob',
    asyncgen: 'async generator', web: 'web stream', fn: 'from a function',
  };
  await within(Promise.all(Object.entries(kinds).map(async ([name, body]) => {
    const stream = session.open({ headers: { ':method': 'POST', ':path': `/${name}` }, body });
    const headers = await stream.headers;
    assert.strictEqual(headers['x-path'], `/${name}`);
    assert.strictEqual((await readAll(stream.readableNodeStream())).toString(), expect[name], name);
  })), T, 'all bodies');
  await client.close();
  await server.close();
});

test('string bodies arrive as their UTF-8 bytes, at every size the response fast path takes', async () => {
  // Short string bodies are encoded by C (a stack buffer up to 4096 bytes,
  // then an allocation, up to a third of the 256 KiB write slice); longer
  // ones go through Buffer.from. Each must arrive as Buffer.from would
  // encode it: multi-byte characters, a lone surrogate (U+FFFD), the empty string.
  const bodies = {
    empty: '',
    ascii: 'plain',
    multibyte: 'caf\u00e9 \u{1f600} \u4e2d\u6587',
    surrogate: 'a\ud800b',
    stack: '\u00e9'.repeat(2047) + 'x', // 4095 bytes: the most the stack buffer holds
    edge: '\u00e9'.repeat(2047) + 'xy', // 4096 bytes: the first size allocated
    heap: '\u{1f600}'.repeat(3000), // 12,000 bytes
    slice: 'x'.repeat((256 * 1024) / 3), // the largest the fast path takes
    long: '\u00e9'.repeat(100000), // beyond it: Buffer.from, sliced
  };
  const server = h3Server(async ({ stream, respondWith }) => {
    const h = await stream.headers;
    respondWith({ body: bodies[h[':path'].slice(1)] });
  });
  const { client, session } = h3Client(server);
  await within(session.handshake, T, 'handshake');
  await within(Promise.all(Object.entries(bodies).map(async ([name, body]) => {
    const stream = session.open({ headers: { ':path': `/${name}` } });
    const got = await readAll(stream.readableNodeStream());
    assert.ok(got.equals(Buffer.from(body, 'utf8')), `${name}: ${got.length} bytes, expected ${Buffer.byteLength(body)}`);
  })), T, 'string bodies');
  await client.close();
  await server.close();
});

test('20 MB each way through HTTP/3, checked by SHA-256', async () => {
  const up = randomBytes(20 * 1024 * 1024, 21);
  const down = randomBytes(20 * 1024 * 1024, 22);
  let serverHash;
  const server = h3Server(async ({ stream, respondWith }) => {
    respondWith({ body: down });
    serverHash = await hashOf(stream.readableNodeStream());
  });
  const { client, session } = h3Client(server);
  await session.handshake;
  const stream = session.open({ headers: { ':method': 'POST' }, body: up });
  const got = await within(hashOf(stream.readableNodeStream()), 60000, 'download');
  assert.strictEqual(got.length, down.length);
  assert.strictEqual(got.hash, sha256(down));
  await within(stream.closed, T, 'stream closed');
  assert.strictEqual(serverHash.length, up.length);
  assert.strictEqual(serverHash.hash, sha256(up));
  await client.close();
  await server.close();
});

test('outgoing headers are validated as HTTP/3 requires', async () => {
  const server = h3Server(({ respondWith }) => respondWith({ body: 'ok' }));
  const { client, session } = h3Client(server);
  await session.handshake;
  const bad = [
    [{ connection: 'keep-alive' }, 'ERR_INVALID_ARG_VALUE'],
    [{ 'transfer-encoding': 'chunked' }, 'ERR_INVALID_ARG_VALUE'],
    [{ te: 'gzip' }, 'ERR_INVALID_ARG_VALUE'],
    [{ ':status': '200' }, 'ERR_INVALID_ARG_VALUE'],
    [{ ':bogus': 'x' }, 'ERR_INVALID_ARG_VALUE'],
    [{ 'bad name': 'x' }, 'ERR_INVALID_ARG_VALUE'],
    [{ 'x-crlf': 'a\r\nb' }, 'ERR_INVALID_ARG_VALUE'],
    [{ 'x-obj': {} }, 'ERR_INVALID_ARG_TYPE'],
    [{ ':method': 'GE T' }, 'ERR_INVALID_ARG_VALUE'],
  ];
  for (const [headers, code] of bad) {
    assert.throws(() => session.open({ headers }), { code }, JSON.stringify(headers));
  }
  assert.throws(() => session.open({ unidirectional: true }), { code: 'ERR_QUIC_UNSUPPORTED' });
  // Uppercase names are lowercased, not refused.
  const ok = session.open({ headers: { 'X-Upper': 'v' } });
  assert.strictEqual((await ok.headers)[':status'], 200);
  await readAll(ok.readableNodeStream());
  await client.close();
  await server.close();
});

test('response validation: bad :status, and server-side open() is refused', async () => {
  const errors = [];
  const server = h3Server(({ respondWith, stream }) => {
    try { stream.session.open(); } catch (e) { errors.push(e.code); }
    try { respondWith({ headers: { ':status': 99 } }); } catch (e) { errors.push(e.code); }
  });
  const { client, session } = h3Client(server);
  await session.handshake;
  const s = session.open();
  await within(new Promise((r) => { const t = setInterval(() => { if (errors.length === 2) { clearInterval(t); r(); } }, 5); }), T, 'server errors');
  assert.deepStrictEqual(errors, ['ERR_INVALID_STATE', 'ERR_OUT_OF_RANGE']);
  s.cancel();
  await client.close();
  await server.close();
});

test('a malformed request from a peer is answered with H3_MESSAGE_ERROR, never a crash', async () => {
  let served = 0;
  const server = h3Server(async ({ respondWith }) => { served++; respondWith({ body: 'fine' }); });
  const { client, session } = h3Client(server);
  await session.handshake;
  // Bypass our own validation to put a broken request on the wire: no
  // :scheme or :authority, and an uppercase field name.
  const http3 = require('../lib/http3');
  const original = http3.requestFields;
  http3.requestFields = () => http3.toWire([':method', 'GET', ':path', '/', 'Bad-Name', 'x']);
  let stream;
  try {
    stream = session.open();
  } finally {
    http3.requestFields = original;
  }
  await assert.rejects(within(stream.headers, T, 'malformed'), (err) => err.errorCode === 0x10en);
  assert.strictEqual(served, 0);
  // The session survives: a proper request on it still works.
  const ok = session.open();
  assert.strictEqual((await within(ok.headers, T, 'good request'))[':status'], 200);
  assert.strictEqual((await readAll(ok.readableNodeStream())).toString(), 'fine');
  await client.close();
  await server.close();
});

test('header lists cross to C as one NUL-separated string: long lists arrive whole, malformed ones are refused', async () => {
  // The binding takes lib/http3.js's toWire() form; a list longer than its
  // 2 KiB stack buffer goes through an allocation.
  const big = {};
  for (let i = 0; i < 40; i++) big[`x-field-${i}`] = `value-${i}-${'v'.repeat(100)}`;
  const server = h3Server(async ({ stream, respondWith }) => {
    const h = await stream.headers;
    respondWith({ headers: { 'x-count': Object.keys(h).filter((k) => k.startsWith('x-field-')).length, ...big } });
  });
  const { client, session } = h3Client(server);
  await within(session.handshake, T, 'handshake');
  const ok = session.open({ headers: big });
  const headers = await within(ok.headers, T, 'long lists');
  assert.strictEqual(headers['x-count'], '40');
  for (const [k, v] of Object.entries(big)) assert.strictEqual(headers[k], v);
  // Bypass the builder: an odd list, and a name without its terminator.
  const http3 = require('../lib/http3');
  const original = http3.requestFields;
  for (const bad of [':method\0GET\0:path\0', ':method\0GET\0:path']) {
    http3.requestFields = () => bad;
    try {
      assert.throws(() => session.open(), { code: 'ERR_INVALID_ARG_TYPE' });
    } finally {
      http3.requestFields = original;
    }
  }
  await client.close();
  await server.close();
});

test('session.close() sends GOAWAY: in-flight requests finish, new ones are refused', async () => {
  let release;
  const gate = new Promise((r) => { release = r; });
  let serverSession;
  const server = h3Server(async ({ stream, respondWith }) => {
    serverSession = stream.session;
    respondWith({ body: (async function* () { yield 'part one, '; await gate; yield 'part two'; })() });
  });
  const { client, session } = h3Client(server);
  await session.handshake;
  const inflight = session.open({ headers: { ':path': '/slow' } });
  await within(inflight.headers, T, 'headers of the in-flight request');
  const closing = serverSession.close();
  // The client learns about the GOAWAY and refuses to start new requests.
  await within(new Promise((resolve) => {
    const t = setInterval(() => {
      try {
        session.open().cancel();
      } catch (err) {
        if (err.code === 'ERR_INVALID_STATE') { clearInterval(t); resolve(); }
      }
    }, 10);
  }), T, 'GOAWAY seen by the client');
  release();
  assert.strictEqual((await within(readAll(inflight.readableNodeStream()), T, 'in-flight body')).toString(),
                     'part one, part two');
  await within(closing, T, 'server session closed');
  await within(session.closed, T, 'client session closed (H3_NO_ERROR is clean)');
  await client.close();
  await server.close();
});

test('backpressure: a server that does not read holds back a 64 MB request body', async () => {
  let serverStream;
  const server = h3Server(({ stream }) => { serverStream = stream; });
  const { client, session } = h3Client(server);
  await session.handshake;
  let produced = 0;
  const total = 64 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 7);
  const body = (async function* () {
    while (produced < total) {
      produced += chunk.length;
      yield chunk;
    }
  })();
  const stream = session.open({ headers: { ':method': 'POST' }, body });
  assert.strictEqual(await within(stream.blocked, T, 'blocked'), true);
  await new Promise((r) => setTimeout(r, 300));
  const stalled = produced;
  await new Promise((r) => setTimeout(r, 300));
  assert.strictEqual(produced, stalled, 'the body is not pulled while the peer cannot take it');
  assert.ok(produced < 16 * 1024 * 1024, `pulled ${produced} bytes while stalled`);
  assert.ok(quic.liveMemory().bytes < 64 * 1024 * 1024, 'memory stays bounded');
  // Once the server reads, everything arrives.
  const got = await within(hashOf(serverStream.readableNodeStream()), 60000, 'server reads the body');
  assert.strictEqual(got.length, total);
  stream.cancel();
  await client.close();
  await server.close();
});

test('limits and edge rules: field section size, cookie joining, 101 hints, retrying respondWith', async () => {
  const unhandled = [];
  const onUnhandled = (e) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  const codesSeen = [];
  let announced = 0;
  const server = h3Server(async ({ stream, respondWith }) => {
    announced++;
    const h = await stream.headers;
    if (h[':path'] === '/retry') {
      try { respondWith({ hints: { ':status': 101 } }); } catch (e) { codesSeen.push(e.code); }
      try { respondWith({ headers: { connection: 'close' } }); } catch (e) { codesSeen.push(e.code); }
      respondWith({ body: `cookie=${h.cookie}` }); // the corrected call still works
    } else {
      respondWith({ body: 'ok' });
    }
  }, { session: { http3: { maxFieldSectionSize: 1000 } } });
  const { client, session } = h3Client(server);
  await session.handshake;
  // A header block over the server's advertised limit is refused.
  const big = session.open({ headers: { 'x-big': 'v'.repeat(5000) } });
  await assert.rejects(within(big.headers, T, 'oversized'), (e) => e.errorCode === 0x107n);
  assert.strictEqual(announced, 0, 'an oversized request never reaches the application');
  // Repeated cookie fields join with '; '.
  const r = session.open({ headers: { ':path': '/retry', cookie: ['a=1', 'b=2'] } });
  assert.strictEqual((await readAll(r.readableNodeStream())).toString(), 'cookie=a=1; b=2');
  assert.deepStrictEqual(codesSeen, ['ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE']);
  // Promised headers that fail validation cancel the stream, quietly.
  const bad = session.open({ headers: Promise.resolve({ connection: 'x' }) });
  await assert.rejects(bad.closed, { code: 'ERR_INVALID_ARG_VALUE' });
  await new Promise((resolve) => setImmediate(resolve));
  process.off('unhandledRejection', onUnhandled);
  assert.deepStrictEqual(unhandled, []);
  await client.close();
  await server.close();
});

// A server that needs no more of the request body stops it (STOP_SENDING,
// here with H3_REQUEST_CANCELLED) and still answers in full: its stop does
// not reset its own response, and the client sees the server's code.
test('STOP_SENDING on a request body: the response still arrives whole; the client sees the server\'s code', async () => {
  const reply = randomBytes(300 * 1024, 31);
  let serverRead = null;
  const server = h3Server(async ({ stream, respondWith }) => {
    const reader = stream.readableWebStream().getReader();
    serverRead = (await reader.read()).value.length;
    await reader.cancel({ errorCode: 0x10cn });
    respondWith({ headers: { ':status': 200 }, body: reply });
  });
  const { client, session } = h3Client(server);
  try {
    await within(session.handshake, T, 'handshake');
    let pulled = 0;
    const LIMIT = 4096; // 64 MB at most
    const stream = session.open({
      headers: { ':method': 'POST' },
      body: (function* () {
        for (; pulled < LIMIT; pulled++) yield Buffer.alloc(16 * 1024, 1);
      })(),
    });
    const closed = stream.closed.then(() => null, (err) => err);
    const headers = await within(stream.headers, T, 'response headers');
    assert.strictEqual(headers[':status'], 200);
    const got = await within(readAll(stream.readableNodeStream()), T, 'response body');
    assert.strictEqual(sha256(got), sha256(reply));
    assert.ok(serverRead > 0);
    const err = await within(closed, T, 'closed');
    assert.strictEqual(err?.code, 'ERR_QUIC_APPLICATION_ERROR');
    assert.strictEqual(err.errorCode, 0x10cn);
    assert.ok(pulled < LIMIT, `the body stopped being pulled (${pulled} chunks)`);
  } finally {
    await within(client.close(), T, 'client close');
    await within(server.close(), T, 'server close');
  }
});

test('received header blocks become objects whatever their names: many distinct, long, and odd ones', () => {
  // toObject interns up to 256 names of at most 64 characters; past that,
  // names are used as they come. Every block must come out the same.
  const { toObject } = require('../lib/http3');
  const names = [];
  for (let i = 0; i < 400; i++) names.push(i % 3 === 0 ? `x-${'n'.repeat(100)}-${i}` : `x-name-${i}`);
  names.push('__proto__', 'constructor', '123');
  for (let round = 0; round < 2; round++) {
    const text = names.map((n, i) => `${n}\x00v${i}-${round}\x00`).join('');
    const o = toObject(`:status\x00204\x00${text}set-cookie\x00a\x00set-cookie\x00b\x00cookie\x00c\x00cookie\x00d\x00`);
    assert.strictEqual(Object.getPrototypeOf(o), null);
    assert.strictEqual(o[':status'], 204);
    names.forEach((n, i) => assert.strictEqual(o[n], `v${i}-${round}`, n));
    assert.deepStrictEqual(o['set-cookie'], ['a', 'b']);
    assert.strictEqual(o.cookie, 'c; d');
    assert.strictEqual(Object.keys(o).length, names.length + 3);
  }
});

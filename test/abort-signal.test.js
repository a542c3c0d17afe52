'use strict';
// AbortSignal where Node APIs take one: connect(), open(), respondWith() and
// close() accept `signal`; aborting cancels what it was given to with an
// AbortError (code ABORT_ERR, cause: the signal's reason).
const test = require('node:test');
const assert = require('node:assert');
const dgram = require('node:dgram');
const { getEventListeners } = require('node:events');
const { quic, certs, ALPN, makeServer, connect, readAll, within } = require('./common');

const T = 10000;

function isAbortError(err, reason) {
  assert.ok(err instanceof Error, `expected an AbortError, got ${err}`);
  assert.strictEqual(err.name, 'AbortError');
  assert.strictEqual(err.code, 'ABORT_ERR');
  if (reason !== undefined) assert.strictEqual(err.cause, reason);
  return true;
}

const settle = (p) => p.then(() => 'fulfilled', (e) => e);
const forever = () => new Promise(() => {});

test('connect({ signal }): aborting during the handshake rejects it with an AbortError', async () => {
  const sink = dgram.createSocket('udp4');
  await new Promise((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const client = new quic.Endpoint();
  try {
    const ac = new AbortController();
    const session = client.connect({ address: '127.0.0.1', port: sink.address().port }, { alpn: ALPN, signal: ac.signal });
    const reason = new Error('user gave up');
    setTimeout(() => ac.abort(reason), 20);
    isAbortError(await within(settle(session.handshake), T, 'handshake'), reason);
    isAbortError(await within(settle(session.closed), T, 'closed'), reason);
    assert.strictEqual(getEventListeners(ac.signal, 'abort').length, 0, 'the listener is gone with the session');

    // An already aborted signal cancels at once.
    const late = client.connect({ address: '127.0.0.1', port: sink.address().port },
                                { alpn: ALPN, signal: AbortSignal.abort('already') });
    const err = await within(settle(late.handshake), T, 'handshake');
    isAbortError(err, 'already');
  } finally {
    await within(client.close(), T, 'client close');
    await new Promise((resolve) => sink.close(resolve));
  }
});

test('connect({ signal }): aborting an open session cancels it; the server hears an application close', async () => {
  let serverSession;
  const server = makeServer({ onsession: (s) => { serverSession = s; } });
  const ac = new AbortController();
  const { client, session } = connect(server, { session: { signal: ac.signal } });
  try {
    await within(session.handshake, T, 'handshake');
    ac.abort();
    isAbortError(await within(settle(session.closed), T, 'closed'));
    const serr = await within(settle(serverSession.closed), T, 'server closed');
    assert.strictEqual(serr.code, 'ERR_QUIC_APPLICATION_ERROR');
    assert.match(serr.reason, /aborted/);
  } finally {
    await within(client.close(), T, 'client close');
    await within(server.close(), T, 'server close');
  }
});

test('open({ signal }): aborting mid-body resets the stream; the body is let go; the peer sees a reset', async () => {
  let serverRead;
  const server = makeServer({
    onsession: (s) => {
      s.onstream = ({ stream, respondWith }) => {
        if (serverRead) {
          respondWith({ body: 'y' });
          return;
        }
        serverRead = settle(readAll(stream.readableNodeStream()));
      };
    },
  });
  const { client, session } = connect(server);
  try {
    await within(session.handshake, T, 'handshake');
    const ac = new AbortController();
    let released = false;
    let sent = 0;
    async function* body() {
      try {
        for (;;) {
          sent++;
          yield Buffer.alloc(1024, 1);
          if (sent === 10) setImmediate(() => ac.abort(new Error('stop')));
          await new Promise((r) => setImmediate(r));
        }
      } finally {
        released = true;
      }
    }
    const stream = session.open({ body: body(), signal: ac.signal });
    const err = await within(settle(stream.closed), T, 'stream closed');
    isAbortError(err);
    assert.strictEqual(err.cause.message, 'stop');
    await within((async () => { while (!serverRead) await new Promise((r) => setTimeout(r, 5)); })(), T, 'server stream');
    const serr = await within(serverRead, T, 'server read');
    assert.strictEqual(serr.code, 'ERR_QUIC_APPLICATION_ERROR', 'the peer sees a reset, not an end');
    await within((async () => { while (!released) await new Promise((r) => setTimeout(r, 5)); })(), T, 'body released');

    // A stream that ends normally leaves no listener on the signal.
    const keep = new AbortController();
    const ok = session.open({ body: 'x', signal: keep.signal });
    ok.setStreamConsumer(() => {});
    await within(ok.closed, T, 'ok closed');
    assert.strictEqual(getEventListeners(keep.signal, 'abort').length, 0);
    assert.throws(() => session.open({ body: 'x', signal: 5 }), { code: 'ERR_INVALID_ARG_TYPE' });
  } finally {
    await within(client.close(), T, 'client close');
    await within(server.close(), T, 'server close');
  }
});

test('respondWith({ signal }): aborting the response resets it for the client', async () => {
  const ac = new AbortController();
  const server = makeServer({
    onsession: (s) => {
      s.onstream = ({ respondWith }) => {
        respondWith({ body: (async function* () { yield 'partial'; await forever(); })(), signal: ac.signal });
        setTimeout(() => ac.abort(), 20);
      };
    },
  });
  const { client, session } = connect(server);
  try {
    await within(session.handshake, T, 'handshake');
    const stream = session.open({ body: 'q' });
    const err = await within(settle(readAll(stream.readableNodeStream())), T, 'response');
    assert.strictEqual(err.code, 'ERR_QUIC_APPLICATION_ERROR');
  } finally {
    await within(client.close(), T, 'client close');
    await within(server.close(), T, 'server close');
  }
});

test('session.close({ signal }) and endpoint.close({ signal }): aborting turns a waiting graceful close into an immediate one', async () => {
  let streams = 0;
  // The server never answers, so a graceful close would wait for the stream.
  const server = makeServer({ onsession: (s) => { s.onstream = () => { streams++; }; } });
  const arrived = (n) => within((async () => { while (streams < n) await new Promise((r) => setTimeout(r, 5)); })(), T, `stream ${n}`);
  const { client, session } = connect(server);
  try {
    await within(session.handshake, T, 'handshake');
    const stream = session.open({ body: 'waiting' });
    await arrived(1);
    const ac = new AbortController();
    const closing = session.close({ signal: ac.signal });
    assert.strictEqual(session.closing, true);
    assert.strictEqual(await Promise.race([settle(closing), new Promise((r) => setTimeout(() => r('waiting'), 50))]), 'waiting');
    ac.abort();
    isAbortError(await within(settle(closing), T, 'session close'));
    await within(settle(stream.closed), T, 'stream closed');
    assert.throws(() => session.close({ signal: 'x' }), { code: 'ERR_INVALID_ARG_TYPE' });

    // The server endpoint: its session is gone too, so connect again and leave
    // a request unanswered.
    const second = client.connect({ address: '127.0.0.1', port: server.address.port },
                                  { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca } });
    await within(second.handshake, T, 'second handshake');
    second.open({ body: 'unanswered' });
    await arrived(2);
    const stop = new AbortController();
    const ending = server.close({ signal: stop.signal });
    assert.strictEqual(await Promise.race([settle(ending), new Promise((r) => setTimeout(() => r('waiting'), 50))]), 'waiting');
    stop.abort('enough');
    isAbortError(await within(settle(ending), T, 'endpoint close'), 'enough');
    assert.strictEqual(server.destroyed, true);
    const cerr = await within(settle(second.closed), T, 'client sees the close');
    assert.strictEqual(cerr.code, 'ERR_QUIC_APPLICATION_ERROR');
    assert.throws(() => client.close({ signal: {} }), { code: 'ERR_INVALID_ARG_TYPE' });
  } finally {
    await within(client.close(), T, 'client close');
    server.destroy();
  }
});

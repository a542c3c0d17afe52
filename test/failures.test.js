'use strict';
// Handshakes and sessions that fail or end on their own: certificate checks,
// ALPN mismatch, idle timeout, no server, Retry, per-host connection limit.
const test = require('node:test');
const assert = require('node:assert');
const dgram = require('node:dgram');
const { quic, certs, makeServer, connect, readAll, within } = require('./common');

// Settles to { ok, value } / { ok: false, error } without throwing.
function outcome(promise) {
  return promise.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
}

// A server session handler that echoes every bidirectional stream.
function echo(session) {
  session.onstream = ({ stream, respondWith }) => {
    if (respondWith) respondWith({ body: stream.readableNodeStream() });
  };
}

async function roundTrip(session, text) {
  const stream = session.open({ body: text });
  const got = await within(readAll(stream.readableNodeStream()), 5000, 'echo');
  return got.toString();
}

async function closeAll(...endpoints) {
  for (const e of endpoints) await within(e.close(), 5000, 'endpoint close');
}

function assertValidationError(session, code) {
  const ve = session.validationError;
  assert.ok(ve && typeof ve === 'object', `validationError should be an object, got ${ve}`);
  assert.deepStrictEqual(Object.keys(ve).sort(), ['code', 'reason']);
  assert.strictEqual(ve.code, code);
  assert.strictEqual(typeof ve.reason, 'string');
  assert.ok(ve.reason.length > 0, 'reason should not be empty');
}

test('untrusted (self-signed) certificate: handshake rejects with DEPTH_ZERO_SELF_SIGNED_CERT', async () => {
  const server = makeServer({
    secure: { key: certs.selfSignedKey, cert: certs.selfSignedCert },
    onsession: echo,
  });
  const { client, session } = connect(server);
  const r = await within(outcome(session.handshake), 5000, 'handshake');
  assert.strictEqual(r.ok, false, 'the handshake must not complete');
  assert.ok(r.error instanceof Error);
  assert.strictEqual(r.error.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  assertValidationError(session, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  const c = await within(outcome(session.closed), 5000, 'client closed');
  assert.strictEqual(c.ok, false, 'a failed verification is not a clean close');
  await closeAll(client, server);
});

test('untrusted certificate with rejectUnauthorized:false: handshake completes, validationError reports it', async () => {
  const server = makeServer({
    secure: { key: certs.selfSignedKey, cert: certs.selfSignedCert },
    onsession: echo,
  });
  const { client, session } = connect(server, { secure: { rejectUnauthorized: false } });
  await within(session.handshake, 5000, 'handshake');
  assertValidationError(session, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  assert.strictEqual(await roundTrip(session, 'still works'), 'still works');
  await closeAll(client, server);
});

test('trusted certificate: validationError is undefined', async () => {
  const server = makeServer({ onsession: echo });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(session.validationError, undefined);
  await closeAll(client, server);
});

test('wrong hostname: handshake rejects with ERR_TLS_CERT_ALTNAME_INVALID', async () => {
  const server = makeServer({
    secure: { key: certs.wrongHostKey, cert: certs.wrongHostCert },
    onsession: echo,
  });
  const { client, session } = connect(server, { session: { hostname: 'localhost' } });
  const r = await within(outcome(session.handshake), 5000, 'handshake');
  assert.strictEqual(r.ok, false, 'the handshake must not complete');
  assert.ok(r.error instanceof Error);
  assert.strictEqual(r.error.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  assertValidationError(session, 'ERR_TLS_CERT_ALTNAME_INVALID');
  await within(outcome(session.closed), 5000, 'client closed');
  await closeAll(client, server);
});

test('ALPN mismatch: client handshake rejects with CRYPTO_ERROR(no_application_protocol)', async () => {
  const serverHandshakes = [];
  const server = makeServer({
    session: { alpn: 'a' },
    onsession: (s) => { serverHandshakes.push(outcome(s.handshake)); },
  });
  const { client, session } = connect(server, { session: { alpn: 'b' } });
  const r = await within(outcome(session.handshake), 5000, 'handshake');
  assert.strictEqual(r.ok, false, 'the handshake must not complete');
  assert.strictEqual(r.error.code, 'ERR_QUIC_TRANSPORT_ERROR');
  assert.strictEqual(typeof r.error.errorCode, 'bigint');
  assert.strictEqual(r.error.errorCode, 0x178n); // 0x100 CRYPTO_ERROR + alert 120
  const c = await within(outcome(session.closed), 5000, 'client closed');
  assert.strictEqual(c.ok, false);
  // Give the server time to process whatever it got, then close it.
  await new Promise((resolve) => setTimeout(resolve, 200));
  await closeAll(client, server);
  const results = await within(Promise.all(serverHandshakes), 5000, 'server handshakes settle');
  for (const s of results) assert.strictEqual(s.ok, false, 'no server session may complete its handshake');
});

test('idle timeout: a session in use outlives it; once both sides go quiet, closed fulfils on both', async () => {
  const transportParams = { maxIdleTimeout: 1000 };
  let serverSession;
  let gotServerSession;
  const gotServer = new Promise((resolve) => { gotServerSession = resolve; });
  const server = makeServer({
    session: { transportParams },
    onsession: (s) => { serverSession = s; echo(s); gotServerSession(); },
  });
  const { client, session } = connect(server, { session: { transportParams } });
  await within(session.handshake, 5000, 'handshake');
  await within(gotServer, 5000, 'server session');
  let clientSettled = false;
  let serverSettled = false;
  const clientClosed = outcome(session.closed).finally(() => { clientSettled = true; });
  const serverClosed = outcome(serverSession.closed).finally(() => { serverSettled = true; });
  // Round trips 100 ms apart for 1.5 s, longer than the idle timeout: each
  // one restarts it, so the sessions stay open and every echo comes back.
  for (let i = 0; i < 15; i++) {
    assert.strictEqual(await roundTrip(session, `ping ${i}`), `ping ${i}`);
    assert.strictEqual(clientSettled || serverSettled, false, `a session closed while in use (round ${i})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Then nothing: both close on their own, without an error and without
  // anyone calling close().
  const c = await within(clientClosed, 5000, 'client closed after idle');
  const s = await within(serverClosed, 5000, 'server closed after idle');
  assert.deepStrictEqual(c, { ok: true, value: undefined });
  assert.deepStrictEqual(s, { ok: true, value: undefined });
  assert.strictEqual(session.closing, false, 'nobody called close()');
  assert.strictEqual(session.nativeAlive, false);
  assert.strictEqual(serverSession.nativeAlive, false);
  await closeAll(client, server);
});

test('idle timeout set on one side only applies to both (the smaller value wins)', async () => {
  for (const side of ['client', 'server']) {
    const transportParams = { maxIdleTimeout: 300 };
    let serverSession;
    let gotServerSession;
    const gotServer = new Promise((resolve) => { gotServerSession = resolve; });
    const server = makeServer({
      session: side === 'server' ? { transportParams } : {},
      onsession: (s) => { serverSession = s; gotServerSession(); },
    });
    const { client, session } = connect(server, { session: side === 'client' ? { transportParams } : {} });
    await within(session.handshake, 5000, 'handshake');
    await within(gotServer, 5000, 'server session');
    await within(session.closed, 3000, `client closed after idle (${side} set it)`);
    await within(serverSession.closed, 3000, `server closed after idle (${side} set it)`);
    await closeAll(client, server);
  }
});

test('no server at the port (silent socket): handshake times out', async () => {
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  let received = 0;
  sock.on('message', () => { received++; });
  const { port } = sock.address();
  const { client, session } = connect(port, { session: { handshakeTimeout: 500 } });
  try {
    const r = await within(outcome(session.handshake), 3000, 'handshake');
    assert.strictEqual(r.ok, false);
    assert.strictEqual(r.error.code, 'ERR_QUIC_HANDSHAKE_TIMEOUT');
    const c = await within(outcome(session.closed), 3000, 'closed');
    assert.strictEqual(c.ok, false);
    assert.strictEqual(c.error.code, 'ERR_QUIC_HANDSHAKE_TIMEOUT');
    assert.ok(received >= 1, 'the client should have sent Initial packets to the port');
  } finally {
    sock.close();
    await within(client.close(), 5000, 'client close');
  }
});

test('no server at the port (closed socket): handshake times out', async () => {
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const { port } = sock.address();
  await new Promise((resolve) => sock.close(resolve));
  const { client, session } = connect(port, { session: { handshakeTimeout: 500 } });
  const r = await within(outcome(session.handshake), 3000, 'handshake');
  assert.strictEqual(r.ok, false);
  assert.strictEqual(r.error.code, 'ERR_QUIC_HANDSHAKE_TIMEOUT');
  await within(outcome(session.closed), 3000, 'closed');
  await within(client.close(), 5000, 'client close');
});

test('Retry round trip: validateAddress server completes the handshake and echoes', async () => {
  const server = makeServer({ endpoint: { validateAddress: true }, onsession: echo });
  // A UDP relay between the two, to see the Retry packet go by.
  const relay = dgram.createSocket('udp4');
  await new Promise((resolve) => relay.bind(0, '127.0.0.1', resolve));
  const serverPort = server.address.port;
  let clientAddr;
  let retries = 0;
  relay.on('message', (msg, rinfo) => {
    if (rinfo.port === serverPort) {
      // Long header, QUIC v1, packet type 3 = Retry.
      if ((msg[0] & 0x80) && msg.readUInt32BE(1) === 1 && ((msg[0] >> 4) & 3) === 3) retries++;
      if (clientAddr) relay.send(msg, clientAddr.port, clientAddr.address);
    } else {
      clientAddr = rinfo;
      relay.send(msg, serverPort, '127.0.0.1');
    }
  });
  const { client, session } = connect(relay.address().port);
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(await roundTrip(session, 'retry me'), 'retry me');
  assert.ok(retries >= 1, 'the server should have sent a Retry packet');
  for (const name of quic.EndpointStats.fields) {
    assert.strictEqual(typeof server.stats[name], 'bigint', `server.stats.${name}`);
    assert.strictEqual(typeof client.stats[name], 'bigint', `client.stats.${name}`);
  }
  assert.ok(server.stats.packetsSent > 0n);
  assert.ok(server.stats.packetsReceived > 0n);
  assert.ok(server.stats.bytesSent > 0n);
  assert.ok(server.stats.bytesReceived > 0n);
  assert.strictEqual(server.stats.serverSessions, 1n);
  await closeAll(client, server);
  relay.close();
});

test('maxConnectionsPerHost: the third session from 127.0.0.1 is refused', async () => {
  const server = makeServer({ endpoint: { maxConnectionsPerHost: 2 }, onsession: echo });
  const a = connect(server);
  await within(a.session.handshake, 5000, 'handshake 1');
  const b = connect(server);
  await within(b.session.handshake, 5000, 'handshake 2');
  const c = connect(server);
  const r = await within(outcome(c.session.handshake), 5000, 'handshake 3');
  assert.strictEqual(r.ok, false, 'the third handshake must be refused');
  assert.strictEqual(r.error.code, 'ERR_QUIC_TRANSPORT_ERROR');
  assert.strictEqual(r.error.errorCode, 2n); // CONNECTION_REFUSED
  await within(outcome(c.session.closed), 5000, 'third closed');
  assert.ok(server.stats.serverBusyCount >= 1n, `serverBusyCount ${server.stats.serverBusyCount}`);
  // The two admitted sessions still work.
  assert.strictEqual(await roundTrip(a.session, 'one'), 'one');
  assert.strictEqual(await roundTrip(b.session, 'two'), 'two');
  await closeAll(a.client, b.client, c.client, server);
});

test('maxConnectionsPerHost: the limit counts sessions from one client endpoint too', async () => {
  const server = makeServer({ endpoint: { maxConnectionsPerHost: 2 }, onsession: echo });
  const client = new quic.Endpoint();
  const opts = { alpn: 'quic-test', hostname: 'localhost', secure: { ca: certs.ca } };
  const addr = { address: '127.0.0.1', port: server.address.port };
  const s1 = client.connect(addr, opts);
  const s2 = client.connect(addr, opts);
  await within(Promise.all([s1.handshake, s2.handshake]), 5000, 'handshakes 1 and 2');
  const s3 = client.connect(addr, opts);
  const r = await within(outcome(s3.handshake), 5000, 'handshake 3');
  assert.strictEqual(r.ok, false);
  assert.strictEqual(r.error.code, 'ERR_QUIC_TRANSPORT_ERROR');
  assert.strictEqual(r.error.errorCode, 2n);
  assert.ok(server.stats.serverBusyCount >= 1n);
  await closeAll(client, server);
});

'use strict';
// Errors a person can act on: TLS alerts by name with their context (the
// ALPN lists behind no_application_protocol), certificate failures in
// Node's wording, handshake timeouts that say whether anything came back,
// and HTTP/3 codes by name.
const test = require('node:test');
const assert = require('node:assert');
const dgram = require('node:dgram');
const tls = require('node:tls');
const { X509Certificate } = require('node:crypto');
const { quic, certs, ALPN, makeServer, connect, within } = require('./common');

const T = 10000;

test('no ALPN in common: both sides name the alert; the client names its list, the server both', async () => {
  let serverSession;
  const server = makeServer({ session: { alpn: [ALPN, 'other'] }, onsession: (s) => { serverSession = s; } });
  const { client, session } = connect(server, { session: { alpn: ['foo', 'bar'] } });
  const err = await within(session.handshake.then(() => null, (e) => e), T, 'client handshake');
  assert.ok(err, 'the handshake must fail');
  assert.strictEqual(err.code, 'ERR_QUIC_TRANSPORT_ERROR');
  assert.strictEqual(err.errorCode, 0x178n);
  assert.strictEqual(err.errorName, 'CRYPTO_ERROR');
  assert.strictEqual(err.tlsAlert, 120);
  assert.strictEqual(err.tlsAlertName, 'no_application_protocol');
  assert.deepStrictEqual(err.offeredAlpn, ['foo', 'bar']);
  assert.strictEqual(err.supportedAlpn, undefined, 'a client cannot know what the server speaks');
  assert.match(err.message, /^QUIC transport error 376 \(CRYPTO_ERROR, TLS alert no_application_protocol\)/);
  assert.match(err.message, /offered 'foo', 'bar'/);
  assert.match(err.message, /does not say which protocols it speaks/);

  assert.ok(serverSession, 'the server saw the session');
  const serr = await within(serverSession.closed.then(() => null, (e) => e), T, 'server closed');
  assert.strictEqual(serr.code, 'ERR_QUIC_TRANSPORT_ERROR');
  assert.strictEqual(serr.tlsAlertName, 'no_application_protocol');
  assert.deepStrictEqual(serr.offeredAlpn, ['foo', 'bar']);
  assert.deepStrictEqual(serr.supportedAlpn, [ALPN, 'other']);
  assert.match(serr.message, /the client offered 'foo', 'bar'; this server speaks 'quic-test', 'other'/);
  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
});

test('a server that shares a protocol keeps no list of the client (nothing is recorded on success)', async () => {
  let serverSession;
  const server = makeServer({ onsession: (s) => { serverSession = s; } });
  const { client, session } = connect(server, { session: { alpn: ['nope', ALPN] } });
  await within(session.handshake, T, 'handshake');
  assert.strictEqual(session.alpn, ALPN);
  await within(serverSession.handshake, T, 'server handshake');
  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
});

async function handshakeError(serverSecure, clientSecure = {}) {
  let serverSession;
  const server = makeServer({ secure: serverSecure, onsession: (s) => { serverSession = s; } });
  const { client, session } = connect(server, { secure: clientSecure });
  const err = await within(session.handshake.then(() => null, (e) => e), T, 'handshake');
  const closed = await within(session.closed.then(() => null, (e) => e), T, 'closed');
  const serverClosed = serverSession ? await within(serverSession.closed.then(() => null, (e) => e), T, 'server closed') : null;
  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
  return { err, closed, serverClosed, session };
}

test('certificate failures use Node\'s codes and Node\'s wording, and both sides say who refused what', async () => {
  const self = await handshakeError({ key: certs.selfSignedKey, cert: certs.selfSignedCert });
  assert.strictEqual(self.err.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  assert.strictEqual(self.err.message, 'self-signed certificate');
  assert.strictEqual(typeof self.err.reason, 'string', 'GnuTLS\'s own description stays in reason');
  assert.strictEqual(self.closed.tlsAlertName, 'bad_certificate');
  assert.match(self.closed.message, /this client refused the peer's certificate: DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate/);
  assert.strictEqual(self.serverClosed.tlsAlertName, 'bad_certificate');
  assert.match(self.serverClosed.message, /the peer refused this server's certificate/);

  // No CA given: the system store does not know the test CA.
  const unknown = await handshakeError({}, { ca: undefined });
  assert.strictEqual(unknown.err.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.strictEqual(unknown.err.message, 'unable to verify the first certificate');

  const wrong = await handshakeError({ key: certs.wrongHostKey, cert: certs.wrongHostCert });
  const expected = tls.checkServerIdentity('localhost', new X509Certificate(certs.wrongHostCert).toLegacyObject());
  assert.strictEqual(wrong.err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.strictEqual(wrong.err.message, expected.message);
  assert.strictEqual(wrong.err.reason, expected.reason);
  assert.strictEqual(wrong.err.host, 'localhost');
  assert.ok(wrong.err.cert instanceof X509Certificate);
  assert.match(wrong.err.message, /Host: localhost\. is not in the cert's altnames: DNS:other\.example/);
});

test('validationError carries Node\'s wording too, and is the same object on every read', async () => {
  const server = makeServer({ secure: { key: certs.wrongHostKey, cert: certs.wrongHostCert } });
  const { client, session } = connect(server, { secure: { rejectUnauthorized: false } });
  await within(session.handshake, T, 'handshake');
  const ve = session.validationError;
  assert.strictEqual(ve.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.match(ve.reason, /^Hostname\/IP does not match certificate's altnames: Host: localhost\./);
  assert.strictEqual(session.validationError, ve);
  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
});

test('handshake timeout with nothing coming back says so, with the time limit and the address', async () => {
  // A UDP socket that reads and never answers: no QUIC server there.
  const sink = dgram.createSocket('udp4');
  let seen = 0;
  sink.on('message', () => { seen++; });
  await new Promise((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const port = sink.address().port;
  const client = new quic.Endpoint();
  const session = client.connect({ address: '127.0.0.1', port }, { alpn: ALPN, handshakeTimeout: 300 });
  const err = await within(session.handshake.then(() => null, (e) => e), T, 'handshake');
  assert.strictEqual(err.code, 'ERR_QUIC_HANDSHAKE_TIMEOUT');
  assert.strictEqual(err.timeout, 300);
  assert.strictEqual(err.bytesReceived, 0);
  assert.match(err.message, new RegExp(`did not complete within 300 ms: nothing came back from 127\\.0\\.0\\.1:${port}`));
  assert.ok(seen > 0, 'the client did send');
  await within(client.close(), T, 'client close');
  await new Promise((resolve) => sink.close(resolve));
});

test('handshake timeout after the peer answered says how much came back (server stuck in its ClientHello hook)', async () => {
  let announced;
  const serverSessionP = new Promise((resolve) => { announced = resolve; });
  const server = makeServer({
    session: { handshakeTimeout: 400 },
    secure: { clientHello: true },
    onsession: (s) => announced(s), // and never calls clientHello.done()
  });
  const { client, session } = connect(server, { session: { handshakeTimeout: 1200 } });
  const serverSession = await within(serverSessionP, T, 'session event');
  const serr = await within(serverSession.handshake.then(() => null, (e) => e), T, 'server handshake');
  assert.strictEqual(serr.code, 'ERR_QUIC_HANDSHAKE_TIMEOUT');
  assert.strictEqual(serr.timeout, 400);
  assert.ok(serr.bytesReceived > 0, 'the client sent its Initial');
  assert.match(serr.message, /within 400 ms: 127\.0\.0\.1:\d+ answered \(\d+ bytes received\) but the handshake did not finish/);
  const cerr = await within(session.handshake.then(() => null, (e) => e), T, 'client handshake');
  assert.strictEqual(cerr.code, 'ERR_QUIC_HANDSHAKE_TIMEOUT');
  assert.ok(cerr.bytesReceived > 0, 'the server acknowledged the Initial');
  assert.match(cerr.message, /within 1200 ms: 127\.0\.0\.1:\d+ answered/);
  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
});

test('HTTP/3 error codes carry their names', async () => {
  let arrived;
  const serverStreamP = new Promise((resolve) => { arrived = resolve; });
  const server = new quic.Endpoint();
  server.onsession = ({ session }) => {
    session.onstream = ({ stream }) => arrived(stream);
  };
  server.listen({ secure: { key: certs.key, cert: certs.cert } });
  const client = new quic.Endpoint();
  const session = client.connect({ address: '127.0.0.1', port: server.address.port },
                                 { hostname: 'localhost', secure: { ca: certs.ca } });
  await within(session.handshake, T, 'handshake');
  const req = session.open({ headers: { ':method': 'POST' }, body: (async function* () { yield 'a'; await new Promise(() => {}); })() });
  const serverStream = await within(serverStreamP, T, 'request');
  req.cancel();
  const err = await within(serverStream.closed.then(() => null, (e) => e), T, 'server stream closed');
  assert.strictEqual(err.code, 'ERR_QUIC_APPLICATION_ERROR');
  assert.strictEqual(err.errorCode, 0x10cn);
  assert.strictEqual(err.errorName, 'H3_REQUEST_CANCELLED');
  assert.match(err.message, /H3_REQUEST_CANCELLED/);
  serverStream.cancel();
  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
});

'use strict';
// Certificates and key exchange details after the handshake, and key
// updates (RFC 9001 6).
const test = require('node:test');
const assert = require('node:assert');
const { X509Certificate } = require('node:crypto');
const { makeServer, connect, certs, readAll, within } = require('./common');

function echoServer() {
  let serverSession;
  const server = makeServer({
    onsession: (s) => {
      serverSession = s;
      s.onstream = async ({ stream, respondWith }) => respondWith({ body: await readAll(stream.readableNodeStream()) });
    },
  });
  return { server, get session() { return serverSession; } };
}

const roundTrip = async (session) =>
  (await readAll(session.open({ body: 'ping' }).readableNodeStream())).toString();

test('certificates are X509Certificate objects; ephemeralKeyInfo has Node\'s shape', async () => {
  const srv = echoServer();
  const { client, session } = connect(srv.server);
  assert.strictEqual(session.peerCertificate, undefined, 'nothing before the handshake');
  await within(session.handshake, 5000, 'handshake');
  const expected = new X509Certificate(certs.cert);
  assert.ok(session.peerCertificate instanceof X509Certificate);
  assert.strictEqual(session.peerCertificate.fingerprint256, expected.fingerprint256);
  assert.strictEqual(session.certificate, undefined, 'the client sent no certificate');
  const info = session.ephemeralKeyInfo;
  assert.strictEqual(info.type, 'ECDH');
  assert.ok(['X25519', 'prime256v1', 'secp384r1', 'secp521r1', 'X448'].includes(info.name), info.name);
  assert.strictEqual(typeof info.size, 'number');
  await roundTrip(session);
  assert.strictEqual(srv.session.certificate.fingerprint256, expected.fingerprint256);
  assert.strictEqual(srv.session.peerCertificate, undefined);
  await client.close();
  await srv.server.close();
});

test('updateKey(): both sides move to new keys and count it', async () => {
  const srv = echoServer();
  const { client, session } = connect(srv.server);
  assert.throws(() => session.updateKey(), { code: 'ERR_INVALID_STATE' }, 'not before the handshake');
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(await roundTrip(session), 'ping');
  assert.strictEqual(session.stats.keyUpdateCount, 0n);
  session.updateKey();
  // Traffic under the new keys confirms the update on both sides; the
  // count rises once it completes.
  await within((async () => {
    while (session.stats.keyUpdateCount < 1n || srv.session.stats.keyUpdateCount < 1n) {
      assert.strictEqual(await roundTrip(session), 'ping');
      await new Promise((r) => setTimeout(r, 20));
    }
  })(), 10000, 'key update counted on both sides');
  assert.strictEqual(await roundTrip(session), 'ping', 'data still flows under the new keys');
  await client.close();
  await srv.server.close();
});

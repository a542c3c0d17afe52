'use strict';
// TLS hooks (issue 4): client certificates, CRLs, pfx, encrypted keys,
// cipher/group/signature lists, the NSS key log, and the OpenSSL-only
// options. Everything over loopback; the results are read from both ends.
const test = require('node:test');
const assert = require('node:assert');
const { X509Certificate } = require('node:crypto');
const { quic, makeServer, connect, certs, readAll, within, fixture } = require('./common');

const client = {
  ca: fixture('client-ca.pem'),
  key: fixture('client-key.pem'),
  cert: fixture('client-cert.pem'),
  revokedKey: fixture('revoked-key.pem'),
  revokedCert: fixture('revoked-cert.pem'),
  crl: fixture('client-ca.crl'),
};

// TLS alerts close the connection with 0x100 + alert (RFC 9001 4.8).
const ALERT = { handshake_failure: 0x128n, bad_certificate: 0x12an, certificate_required: 0x174n };

// A server that echoes one stream; `session` is its latest Session.
function echoServer(opts = {}) {
  const srv = { session: undefined };
  srv.server = makeServer({
    ...opts,
    onsession: (s) => {
      srv.session = s;
      s.onstream = async ({ stream, respondWith }) => respondWith({ body: await readAll(stream.readableNodeStream()) });
    },
  });
  return srv;
}

const roundTrip = async (session) =>
  (await readAll(session.open({ body: 'ping' }).readableNodeStream())).toString();

async function until(fn, ms, what) {
  await within((async () => { while (!fn()) await new Promise((r) => setTimeout(r, 10)); })(), ms, what);
}

async function closeAll(...endpoints) {
  for (const e of endpoints) await within(e.close(), 5000, 'endpoint close');
}

const clientAuth = { requestPeerCertificate: true, ca: client.ca, crl: client.crl };

test('a client certificate reaches the server, verified against secure.ca', async () => {
  const srv = echoServer({ secure: clientAuth });
  const c = connect(srv.server, { secure: { key: client.key, cert: client.cert } });
  await within(c.session.handshake, 5000, 'handshake');
  assert.strictEqual(await roundTrip(c.session), 'ping');
  const expected = new X509Certificate(client.cert);
  assert.ok(srv.session.peerCertificate instanceof X509Certificate);
  assert.strictEqual(srv.session.peerCertificate.fingerprint256, expected.fingerprint256);
  assert.strictEqual(srv.session.peerCertificate.subject, 'CN=quic test client');
  assert.strictEqual(srv.session.validationError, undefined);
  assert.strictEqual(c.session.certificate.fingerprint256, expected.fingerprint256, 'the client sees what it sent');
  await closeAll(c.client, srv.server);
});

test('no client certificate when one is required: the handshake fails with certificate_required', async () => {
  const srv = echoServer({ secure: clientAuth });
  const c = connect(srv.server);
  // TLS 1.3: the client finishes first, then the server's alert closes it.
  await assert.rejects(within(c.session.closed, 5000, 'client closed'),
                       { code: 'ERR_QUIC_TRANSPORT_ERROR', errorCode: ALERT.certificate_required });
  await until(() => srv.session, 5000, 'server session');
  await assert.rejects(within(srv.session.handshake, 5000, 'server handshake'),
                       { code: 'ERR_QUIC_TRANSPORT_ERROR', errorCode: ALERT.certificate_required });
  assert.strictEqual(srv.session.peerCertificate, undefined);
  await closeAll(c.client, srv.server);
});

test('a client certificate from a CA the server does not trust is not accepted', async () => {
  const srv = echoServer({ secure: clientAuth });
  // GnuTLS offers only certificates the server's CA list names, so this one
  // is never sent and the server reports the missing certificate.
  const c = connect(srv.server, { secure: { key: certs.key, cert: certs.cert } });
  await assert.rejects(within(c.session.closed, 5000, 'client closed'),
                       { code: 'ERR_QUIC_TRANSPORT_ERROR', errorCode: ALERT.certificate_required });
  await until(() => srv.session, 5000, 'server session');
  await assert.rejects(within(srv.session.handshake, 5000, 'server handshake'), { code: 'ERR_QUIC_TRANSPORT_ERROR' });
  await closeAll(c.client, srv.server);
});

test('a revoked client certificate (secure.crl) fails the handshake with CERT_REVOKED', async () => {
  const srv = echoServer({ secure: clientAuth });
  const c = connect(srv.server, { secure: { key: client.revokedKey, cert: client.revokedCert } });
  await assert.rejects(within(c.session.closed, 5000, 'client closed'),
                       { code: 'ERR_QUIC_TRANSPORT_ERROR', errorCode: ALERT.bad_certificate });
  await until(() => srv.session, 5000, 'server session');
  await assert.rejects(within(srv.session.handshake, 5000, 'server handshake'), { code: 'CERT_REVOKED' });
  assert.strictEqual(srv.session.validationError.code, 'CERT_REVOKED');
  await closeAll(c.client, srv.server);
});

test('without the CRL the same certificate is accepted', async () => {
  const srv = echoServer({ secure: { requestPeerCertificate: true, ca: client.ca } });
  const c = connect(srv.server, { secure: { key: client.revokedKey, cert: client.revokedCert } });
  await within(c.session.handshake, 5000, 'handshake');
  assert.strictEqual(await roundTrip(c.session), 'ping');
  assert.strictEqual(srv.session.peerCertificate.subject, 'CN=quic revoked client');
  await closeAll(c.client, srv.server);
});

test('rejectUnauthorized: false on the server accepts a revoked certificate and reports it', async () => {
  const srv = echoServer({ secure: { ...clientAuth, rejectUnauthorized: false } });
  const c = connect(srv.server, { secure: { key: client.revokedKey, cert: client.revokedCert } });
  await within(c.session.handshake, 5000, 'handshake');
  assert.strictEqual(await roundTrip(c.session), 'ping');
  assert.strictEqual(srv.session.validationError.code, 'CERT_REVOKED');
  assert.strictEqual(srv.session.peerCertificate.subject, 'CN=quic revoked client');
  await closeAll(c.client, srv.server);
});

test('pfx: a PKCS#12 bundle with its passphrase serves the certificate it holds', async () => {
  const pfx = fixture('server.pfx');
  for (const secure of [{ pfx, passphrase: 'pfx-pass' }, { pfx: [{ buf: pfx, passphrase: 'pfx-pass' }] }]) {
    const server = new quic.Endpoint();
    let ss;
    server.onsession = ({ session }) => { ss = session; };
    server.listen({ alpn: 'quic-test', secure });
    const c = connect(server);
    await within(c.session.handshake, 5000, 'handshake');
    const expected = new X509Certificate(certs.cert);
    assert.strictEqual(c.session.peerCertificate.fingerprint256, expected.fingerprint256);
    await until(() => ss, 5000, 'server session');
    await closeAll(c.client, server);
  }
  const server = new quic.Endpoint();
  assert.throws(() => server.listen({ alpn: 'quic-test', secure: { pfx, passphrase: 'wrong' } }),
                { code: 'ERR_QUIC_TLS', message: /secure\.pfx\[0\]/ });
  await server.close();
});

test('passphrase-protected keys: secure.passphrase and { pem, passphrase }', async () => {
  const encrypted = fixture('server-key-encrypted.pem');
  for (const secure of [{ key: encrypted, passphrase: 'key-pass' },
                        { key: [{ pem: encrypted, passphrase: 'key-pass' }], passphrase: 'not this one' }]) {
    const server = makeServer({ secure });
    const c = connect(server);
    await within(c.session.handshake, 5000, 'handshake');
    assert.strictEqual(c.session.peerCertificate.fingerprint256, new X509Certificate(certs.cert).fingerprint256);
    await closeAll(c.client, server);
  }
  const server = new quic.Endpoint();
  assert.throws(() => server.listen({ alpn: 'quic-test', secure: { key: encrypted, cert: certs.cert } }),
                { code: 'ERR_QUIC_TLS' });
  assert.throws(() => server.listen({ alpn: 'quic-test', secure: { key: encrypted, cert: certs.cert, passphrase: 'no' } }),
                { code: 'ERR_QUIC_TLS' });
  await server.close();
});

test('ciphers and ecdhCurve restrict the negotiation; session.cipher and ephemeralKeyInfo show it', async () => {
  const cases = [
    { ciphers: 'TLS_CHACHA20_POLY1305_SHA256', ecdhCurve: 'P-384', name: 'secp384r1', size: 384 },
    { ciphers: 'TLS_AES_128_GCM_SHA256', ecdhCurve: 'X25519', name: 'X25519', size: 253 },
    { ciphers: 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256', ecdhCurve: 'prime256v1', name: 'prime256v1', size: 256 },
  ];
  for (const { ciphers, ecdhCurve, name, size } of cases) {
    const srv = echoServer({ secure: { ciphers, ecdhCurve } });
    const c = connect(srv.server, { secure: { ciphers, ecdhCurve, sigalgs: 'ecdsa_secp256r1_sha256' } });
    await within(c.session.handshake, 5000, 'handshake');
    assert.strictEqual(await roundTrip(c.session), 'ping');
    const suite = ciphers.split(':')[0];
    for (const s of [c.session, srv.session]) {
      assert.deepStrictEqual(s.cipher, { name: suite, standardName: suite, version: 'TLSv1.3' });
      assert.deepStrictEqual(s.ephemeralKeyInfo, { type: 'ECDH', name, size });
    }
    await closeAll(c.client, srv.server);
  }
});

test('defaults: AES-128-GCM and X25519; a server without X25519 still agrees on a group (one more round trip)', async () => {
  const plain = echoServer({});
  const a = connect(plain.server, {});
  await within(a.session.handshake, 5000, 'handshake');
  assert.strictEqual(await roundTrip(a.session), 'ping');
  for (const s of [a.session, plain.session]) {
    assert.strictEqual(s.cipher.name, 'TLS_AES_128_GCM_SHA256');
    assert.deepStrictEqual(s.ephemeralKeyInfo, { type: 'ECDH', name: 'X25519', size: 253 });
  }
  await closeAll(a.client, plain.server);
  // The client sends one key share (X25519); this server asks for another.
  const p256 = echoServer({ secure: { ecdhCurve: 'P-256' } });
  const b = connect(p256.server, {});
  await within(b.session.handshake, 5000, 'handshake after HelloRetryRequest');
  assert.strictEqual(await roundTrip(b.session), 'ping');
  for (const s of [b.session, p256.session]) assert.strictEqual(s.ephemeralKeyInfo.name, 'prime256v1');
  await closeAll(b.client, p256.server);
});

test('no suite in common fails the handshake with handshake_failure', async () => {
  const srv = echoServer({ secure: { ciphers: 'TLS_CHACHA20_POLY1305_SHA256' } });
  const c = connect(srv.server, { secure: { ciphers: 'TLS_AES_128_GCM_SHA256' } });
  await assert.rejects(within(c.session.handshake, 5000, 'handshake'),
                       { code: 'ERR_QUIC_TRANSPORT_ERROR', errorCode: ALERT.handshake_failure });
  await closeAll(c.client, srv.server);
});

test('unknown cipher, group and signature names are rejected with a clear coded error', () => {
  const bad = [
    ['ciphers', 'ECDHE-RSA-AES128-GCM-SHA256', /unknown or unsupported TLS 1\.3 cipher suite 'ECDHE-RSA-AES128-GCM-SHA256'/],
    ['ciphers', 'TLS_AES_128_CCM_8_SHA256', /cipher suite 'TLS_AES_128_CCM_8_SHA256'/],
    ['ciphers', '', /at least one/],
    ['ecdhCurve', 'X25519:brainpoolP256r1', /unknown or unsupported group 'brainpoolP256r1'/],
    ['sigalgs', 'ecdsa_secp256r1_sha256:dsa_sha1', /unknown or unsupported signature algorithm 'dsa_sha1'/],
  ];
  for (const [key, value, message] of bad) {
    assert.throws(() => new quic.SessionConfig('client', { secure: { [key]: value } }),
                  { code: 'ERR_INVALID_ARG_VALUE', message }, `${key}: ${value}`);
  }
  assert.throws(() => new quic.SessionConfig('client', { secure: { ciphers: 5 } }), { code: 'ERR_INVALID_ARG_TYPE' });
  // Known names are accepted, in Node's spellings.
  new quic.SessionConfig('client', {
    secure: { ciphers: 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256', ecdhCurve: 'auto',
              sigalgs: 'ECDSA+SHA256:rsa_pss_rsae_sha256:ed25519' },
  });
});

test('keylog: NSS key log lines on both sides, matching each other', async () => {
  const srv = echoServer({ secure: { keylog: true, ciphers: 'TLS_AES_256_GCM_SHA384' } });
  const c = connect(srv.server, { secure: { keylog: true } });
  assert.ok(typeof c.session.keylog?.on === 'function', 'a stream.Readable');
  await within(c.session.handshake, 5000, 'handshake');
  assert.strictEqual(await roundTrip(c.session), 'ping');
  const serverLog = srv.session.keylog;
  await closeAll(c.client, srv.server);
  const parse = async (r) => (await within(readAll(r), 5000, 'keylog end')).toString().trim().split('\n')
    .map((l) => l.split(' '));
  const [clientLines, serverLines] = [await parse(c.session.keylog), await parse(serverLog)];
  const labels = clientLines.map((l) => l[0]);
  for (const label of ['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_HANDSHAKE_TRAFFIC_SECRET',
                       'CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0']) {
    assert.ok(labels.includes(label), `${label} in ${labels}`);
  }
  const random = clientLines[0][1];
  for (const [label, clientRandom, secret] of clientLines) {
    assert.match(clientRandom, /^[0-9a-f]{64}$/, 'client random: 32 bytes in hex');
    assert.strictEqual(clientRandom, random, 'one client random per connection');
    // SHA-384 suite: every TLS 1.3 secret is 48 bytes.
    assert.match(secret, /^[0-9a-f]{96}$/, `${label}: 48-byte secret`);
  }
  assert.deepStrictEqual(serverLines.sort(), clientLines.sort(), 'both ends logged the same secrets');
  assert.strictEqual(srv.session.keylog === undefined, false);
  const other = echoServer();
  const plain = connect(other.server);
  assert.strictEqual(plain.session.keylog, undefined, 'no key log unless asked');
  await within(plain.session.handshake, 5000, 'handshake');
  assert.strictEqual(other.session.keylog, undefined);
  await closeAll(plain.client, other.server);
});

test('OpenSSL-only options: each is either honoured as Node does over TLS 1.3 or throws ERR_QUIC_UNSUPPORTED', () => {
  for (const [key, value] of [['clientCertEngine', 'pkcs11'], ['privateKey', { engine: 'e', identifier: 'k' }],
                              ['enableTLSTrace', true], ['pskCallback', () => {}], ['secureOptions', 4],
                              ['sessionIdContext', 'ctx']]) {
    assert.throws(() => new quic.SessionConfig('server', { secure: { key: certs.key, cert: certs.cert, [key]: value } }),
                  { code: 'ERR_QUIC_UNSUPPORTED' }, key);
  }
  // dhparam: TLS 1.3 uses named groups only, so (as in Node's tls over
  // TLS 1.3) the parameters are accepted and unused.
  new quic.SessionConfig('server', { secure: { key: certs.key, cert: certs.cert, dhparam: 'auto' } });
  new quic.SessionConfig('server', { secure: { key: certs.key, cert: certs.cert, dhparam: Buffer.from('x') } });
  assert.throws(() => new quic.SessionConfig('server', { secure: { key: certs.key, cert: certs.cert, dhparam: 5 } }),
                { code: 'ERR_INVALID_ARG_TYPE' });
});

test('clientHello: the handshake waits for done(); done(context) switches the certificate', async () => {
  const seen = [];
  const srv = echoServer({
    secure: { clientHello: true },
  });
  srv.server.addEventListener('session', ({ session }) => {
    session.clienthello.then((hello) => {
      seen.push(hello);
      assert.ok(hello instanceof quic.ClientHello);
      // Paused: the client cannot finish while the server holds its hello.
      setTimeout(() => hello.done({ key: certs.wrongHostKey, cert: certs.wrongHostCert }), 100);
    }, () => {});
  });
  const c = connect(srv.server, { secure: { verifyHostnameIdentity: false } });
  let finished = false;
  c.session.handshake.then(() => { finished = true; }, () => {});
  await until(() => seen.length === 1, 5000, 'client hello');
  assert.strictEqual(finished, false, 'the handshake waits on done()');
  const [hello] = seen;
  assert.strictEqual(hello.servername, 'localhost');
  assert.strictEqual(hello.alpn, 'quic-test');
  assert.deepStrictEqual(hello.protocols, ['quic-test']);
  assert.ok(hello.ciphers.some((c) => c.name === 'TLS_AES_128_GCM_SHA256' && c.version === 'TLSv1.3'));
  for (const c of hello.ciphers) assert.strictEqual(c.standardName, c.name);
  await within(c.session.handshake, 5000, 'handshake');
  assert.strictEqual(await roundTrip(c.session), 'ping');
  const expected = new X509Certificate(certs.wrongHostCert);
  assert.strictEqual(c.session.peerCertificate.fingerprint256, expected.fingerprint256, 'the client saw the new cert');
  assert.strictEqual(srv.session.certificate.fingerprint256, expected.fingerprint256);
  assert.throws(() => hello.done(), { code: 'ERR_INVALID_STATE' }, 'a second done()');
  await closeAll(c.client, srv.server);
});

test('clientHello: done() with no context keeps the listen() certificate; a SecureContext works too', async () => {
  for (const make of [() => undefined, () => quic.createSecureContext({ key: certs.wrongHostKey, cert: certs.wrongHostCert })]) {
    const context = make();
    const srv = echoServer({ secure: { clientHello: true } });
    srv.server.addEventListener('session', ({ session }) => {
      session.clienthello.then(({ done }) => done(context), () => {});
    });
    const c = connect(srv.server, { secure: { verifyHostnameIdentity: false } });
    await within(c.session.handshake, 5000, 'handshake');
    assert.strictEqual(await roundTrip(c.session), 'ping');
    const expected = new X509Certificate(context ? certs.wrongHostCert : certs.cert);
    assert.strictEqual(c.session.peerCertificate.fingerprint256, expected.fingerprint256);
    await closeAll(c.client, srv.server);
  }
});

test('clientHello: a HelloRetryRequest after done() needs no second done()', async () => {
  // The client's default key shares do not include P-384: the server asks
  // for another ClientHello, which goes straight to GnuTLS.
  let hellos = 0;
  const srv = echoServer({ secure: { clientHello: true, ecdhCurve: 'P-384' } });
  srv.server.addEventListener('session', ({ session }) => {
    session.clienthello.then(({ done }) => { hellos++; done(); }, () => {});
  });
  const c = connect(srv.server);
  await within(c.session.handshake, 5000, 'handshake');
  assert.strictEqual(await roundTrip(c.session), 'ping');
  assert.strictEqual(hellos, 1);
  assert.deepStrictEqual(c.session.ephemeralKeyInfo, { type: 'ECDH', name: 'secp384r1', size: 384 });
  await closeAll(c.client, srv.server);
});

test('clientHello: bad contexts throw and leave the handshake waiting; no done() ends in the handshake timeout', async () => {
  // The client gives up first, so it sends nothing that would start a
  // second server session.
  const srv = echoServer({ secure: { clientHello: true }, session: { handshakeTimeout: 1500 } });
  const outcomes = [];
  srv.server.addEventListener('session', ({ session }) => {
    session.clienthello.then((hello) => {
      const tls = require('node:tls');
      assert.throws(() => hello.done(tls.createSecureContext({})), { code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => hello.done({ key: certs.key }), { code: 'ERR_INVALID_ARG_VALUE' });
      assert.throws(() => hello.done({ key: certs.key, cert: certs.wrongHostCert }), { code: 'ERR_QUIC_TLS' });
      outcomes.push('checked');
      // ...and never call done(): the handshake timeout still applies.
    }, () => {});
  });
  const c = connect(srv.server, { session: { handshakeTimeout: 800 } });
  await assert.rejects(within(c.session.handshake, 10000, 'client handshake'), (err) => /ERR_QUIC_/.test(err.code));
  assert.deepStrictEqual(outcomes, ['checked']);
  await assert.rejects(within(srv.session.handshake, 10000, 'server handshake'), { code: 'ERR_QUIC_HANDSHAKE_TIMEOUT' });
  await assert.rejects(srv.session.clienthello.then(({ done }) => done()), { code: 'ERR_INVALID_STATE' });
  await closeAll(c.client, srv.server);
});

const der = (pem) => Buffer.from(new X509Certificate(pem).raw);

test('ocsp: the server is asked for a staple, the handshake waits for respondWith(), the client receives it', async () => {
  const staple = Buffer.from('30030a0100', 'hex'); // any bytes: judging them is the client's business
  const requests = [];
  const srv = echoServer({ secure: { ocsp: true, cert: Buffer.concat([certs.cert, certs.ca]) } });
  srv.server.addEventListener('session', ({ session }) => {
    session.ocsp.then((request) => {
      requests.push(request);
      setTimeout(() => request.respondWith(new Uint8Array(staple)), 100);
    }, () => {});
  });
  const c = connect(srv.server, { secure: { ocsp: true } });
  let finished = false;
  c.session.handshake.then(() => { finished = true; }, () => {});
  await until(() => requests.length === 1, 5000, 'OCSP request');
  assert.strictEqual(finished, false, 'the handshake waits on respondWith()');
  const [request] = requests;
  assert.ok(request instanceof quic.OCSPRequest);
  assert.ok(request.certificate instanceof ArrayBuffer);
  assert.deepStrictEqual(Buffer.from(request.certificate), der(certs.cert));
  assert.deepStrictEqual(Buffer.from(request.issuer), der(certs.ca));
  await within(c.session.handshake, 5000, 'handshake');
  const response = await within(c.session.ocsp, 5000, 'client ocsp');
  assert.ok(response instanceof quic.OCSPResponse);
  assert.ok(response.response instanceof ArrayBuffer);
  assert.deepStrictEqual(Buffer.from(response.response), staple);
  assert.strictEqual(c.session.validationError, undefined, 'the staple does not fail the chain');
  assert.strictEqual(await roundTrip(c.session), 'ping');
  assert.throws(() => request.respondWith('again'), { code: 'ERR_INVALID_STATE' });
  await closeAll(c.client, srv.server);
});

test('ocsp: respondWith() with nothing, and a server without ocsp: the client gets no response', async () => {
  const srv = echoServer({ secure: { ocsp: true } });
  srv.server.addEventListener('session', ({ session }) => {
    session.ocsp.then(({ certificate, issuer, respondWith }) => {
      assert.deepStrictEqual(Buffer.from(certificate), der(certs.cert));
      assert.strictEqual(issuer, undefined, 'the chain does not hold the issuer');
      respondWith();
    }, () => {});
  });
  const plain = echoServer();
  for (const server of [srv.server, plain.server]) {
    const c = connect(server, { secure: { ocsp: true } });
    await within(c.session.handshake, 5000, 'handshake');
    const response = await within(c.session.ocsp, 5000, 'client ocsp');
    assert.strictEqual(response.response, undefined);
    assert.strictEqual(await roundTrip(c.session), 'ping');
    await within(c.client.close(), 5000, 'client close');
  }
  const c = connect(plain.server);
  assert.strictEqual(c.session.ocsp, undefined, 'no promise unless asked');
  await closeAll(c.client, srv.server, plain.server);
});

test('ocsp with clientHello: the OCSP request names the certificate done() switched to', async () => {
  const seen = [];
  const srv = echoServer({ secure: { ocsp: true, clientHello: true } });
  srv.server.addEventListener('session', ({ session }) => {
    session.clienthello.then(({ done }) => {
      seen.push('hello');
      done({ key: certs.wrongHostKey, cert: certs.wrongHostCert });
    }, () => {});
    session.ocsp.then(({ certificate, respondWith }) => {
      seen.push('ocsp');
      assert.deepStrictEqual(Buffer.from(certificate), der(certs.wrongHostCert));
      respondWith('staple');
    }, () => {});
  });
  const c = connect(srv.server, { secure: { ocsp: true, verifyHostnameIdentity: false } });
  await within(c.session.handshake, 5000, 'handshake');
  assert.deepStrictEqual(seen, ['hello', 'ocsp']);
  assert.strictEqual(Buffer.from((await c.session.ocsp).response).toString(), 'staple');
  assert.strictEqual(c.session.peerCertificate.subject, 'CN=other.example');
  await closeAll(c.client, srv.server);
});

test('hook options: wrong types are refused with Node\'s codes', () => {
  const server = (secure) => new quic.SessionConfig('server', { secure: { key: certs.key, cert: certs.cert, ...secure } });
  assert.throws(() => server({ crl: 5 }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => server({ pfx: [{ buf: 5 }] }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => server({ pfx: [{ buf: Buffer.alloc(1), passphrase: 5 }] }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => server({ key: [{ pem: certs.key, passphrase: 5 }] }), { code: 'ERR_INVALID_ARG_TYPE' });
  for (const key of ['requestPeerCertificate', 'clientHello', 'ocsp', 'keylog']) {
    assert.throws(() => server({ [key]: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' }, key);
  }
  assert.throws(() => quic.createSecureContext({ key: certs.key }), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => quic.createSecureContext('x'), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.ok(quic.createSecureContext({ pfx: fixture('server.pfx'), passphrase: 'pfx-pass' }) instanceof quic.SecureContext);
  assert.throws(() => new quic.ClientHello(), TypeError);
  assert.throws(() => new quic.OCSPRequest(), TypeError);
  assert.throws(() => new quic.OCSPResponse(), TypeError);
  // A server needs key/cert or pfx.
  assert.throws(() => new quic.SessionConfig('server', { secure: {} }), { code: 'ERR_INVALID_ARG_VALUE' });
});

test('everything the hooks held is freed once the endpoints are gone', async () => {
  // Each test above closed its endpoints; held hellos, staples and key log
  // buffers belong to sessions, so nothing may remain.
  await until(() => quic.liveMemory().bytes === 0, 5000, 'live memory back to 0');
});

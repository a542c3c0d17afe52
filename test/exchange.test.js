'use strict';
// The seed's simple server and client, verbatim but for the certificates.
const test = require('node:test');
const assert = require('node:assert');
const { quic, certs, within } = require('./common');

test('seed example: Hello World both ways over alpn xyz', async () => {
  const { Endpoint } = quic;
  const server = new Endpoint();
  const serverGot = [];
  server.onsession = ({ session }) => {
    session.onstream = ({ stream, respondWith }) => {
      respondWith({ body: 'Hello World' });
      stream.readableNodeStream().on('data', (d) => serverGot.push(d));
    };
  };
  server.listen({ alpn: 'xyz', secure: { key: certs.key, cert: certs.cert } });

  const client = new Endpoint();
  const session = client.connect({ address: '127.0.0.1', port: server.address.port },
                                 { alpn: 'xyz', secure: { ca: certs.ca } });
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(session.alpn, 'xyz');
  const stream = session.open({ body: 'Hello World' });
  const dec = new TextDecoder();
  let text = '';
  for await (const chunk of stream.readableWebStream()) text += dec.decode(chunk, { stream: true });
  assert.strictEqual(text, 'Hello World');
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
  assert.strictEqual(Buffer.concat(serverGot).toString(), 'Hello World');
});

test('one SessionConfig for many connect() calls: each session handshakes, is verified on its own, and exchanges', async () => {
  const { Endpoint, SessionConfig } = quic;
  const server = new Endpoint();
  server.onsession = ({ session }) => {
    session.onstream = async ({ stream, respondWith }) => {
      const chunks = [];
      for await (const c of stream.readableNodeStream()) chunks.push(c);
      respondWith({ body: Buffer.concat(chunks) });
    };
  };
  server.listen({ alpn: 'xyz', secure: { key: certs.key, cert: certs.cert } });
  const client = new Endpoint();
  // The TLS context behind this config is built once and shared.
  const config = new SessionConfig('client', { alpn: 'xyz', hostname: 'localhost', secure: { ca: certs.ca } });
  const address = { address: '127.0.0.1', port: server.address.port };
  for (let i = 0; i < 5; i++) {
    const session = client.connect(address, config);
    await within(session.handshake, 5000, `handshake ${i}`);
    assert.strictEqual(session.servername, 'localhost');
    const stream = session.open({ body: `round ${i}` });
    const chunks = [];
    for await (const c of stream.readableNodeStream()) chunks.push(c);
    assert.strictEqual(Buffer.concat(chunks).toString(), `round ${i}`);
    await within(session.close(), 5000, `close ${i}`);
  }
  // Verification is per session: another name fails against the same context.
  const wrong = new SessionConfig('client', { alpn: 'xyz', hostname: 'not-localhost.example', secure: { ca: certs.ca } });
  const bad = client.connect(address, wrong);
  await assert.rejects(within(bad.handshake, 5000, 'bad handshake'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
});

test('a verified chain is remembered per chain: other servers on the same TLS context are still checked', async () => {
  const { Endpoint, SessionConfig } = quic;
  const listen = (secure) => {
    const server = new Endpoint();
    server.onsession = () => {};
    server.listen({ alpn: 'xyz', secure });
    return server;
  };
  const good = listen({ key: certs.key, cert: certs.cert });
  const otherName = listen({ key: certs.wrongHostKey, cert: certs.wrongHostCert });
  const untrusted = listen({ key: certs.selfSignedKey, cert: certs.selfSignedCert });
  const client = new Endpoint();
  const config = new SessionConfig('client', { alpn: 'xyz', hostname: 'localhost', secure: { ca: certs.ca } });
  const to = (server) => client.connect({ address: '127.0.0.1', port: server.address.port }, config);
  for (let round = 0; round < 2; round++) {
    const ok = to(good);
    await within(ok.handshake, 5000, `good ${round}`);
    assert.strictEqual(ok.validationError, undefined);
    await within(ok.close(), 5000, `close ${round}`);
    // The same CA signed this one, for another name: a remembered success
    // for the first chain must not carry over to it.
    await assert.rejects(within(to(otherName).handshake, 5000, `other name ${round}`),
                         { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    await assert.rejects(within(to(untrusted).handshake, 5000, `untrusted ${round}`),
                         (err) => /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(err.code));
  }
  await within(client.close(), 5000, 'client close');
  await Promise.all([good, otherName, untrusted].map((s, i) => within(s.close(), 5000, `server close ${i}`)));
});

test('TLS contexts are shared only between equal TLS inputs: rejectUnauthorized still applies per connect()', async () => {
  const { Endpoint } = quic;
  const server = new Endpoint();
  server.onsession = () => {};
  // A certificate for another name: verification fails unless turned off.
  server.listen({ alpn: 'xyz', secure: { key: certs.wrongHostKey, cert: certs.wrongHostCert } });
  const client = new Endpoint();
  const address = { address: '127.0.0.1', port: server.address.port };
  const strict = () => client.connect(address, { alpn: 'xyz', hostname: 'localhost', secure: { ca: certs.ca } });
  const lax = () => client.connect(address, { alpn: 'xyz', hostname: 'localhost',
                                              secure: { ca: certs.ca, rejectUnauthorized: false } });
  await assert.rejects(within(strict().handshake, 5000, 'strict 1'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  const ok = lax();
  await within(ok.handshake, 5000, 'lax');
  assert.strictEqual(ok.validationError.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  await assert.rejects(within(strict().handshake, 5000, 'strict 2'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
});

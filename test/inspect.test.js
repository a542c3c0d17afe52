'use strict';
// console.log / util.inspect of every class shows what someone debugging
// needs (addresses, state, ALPN, stream ids and directions, stats as
// numbers), never key material, and respects depth as Node's objects do.
const test = require('node:test');
const assert = require('node:assert');
const { inspect } = require('node:util');
const { quic, certs, ALPN, makeServer, connect, readAll, within } = require('./common');

const T = 10000;
const show = (v, opts) => inspect(v, { depth: 4, breakLength: Infinity, ...opts });

test('Endpoint, Session, Stream and the events show address, state, ALPN, ids and direction', async () => {
  const seen = {};
  const server = new quic.Endpoint();
  assert.match(show(server), /^Endpoint \{ address: undefined, state: 'not bound', listening: false, closing: false, destroyed: false, sessions: 0 \}$/);
  server.onsession = (sessionEvent) => {
    seen.sessionEvent = sessionEvent;
    const s = sessionEvent.session;
    s.onstream = (streamEvent) => {
      seen.streamEvent = streamEvent;
      streamEvent.respondWith({ body: 'pong' });
    };
    s.ondatagram = (datagramEvent) => { seen.datagramEvent = datagramEvent; };
  };
  server.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert, ocsp: true } });
  const port = server.address.port;
  const { client, session } = connect(server, { secure: { ocsp: true } });
  assert.match(show(session), /^Session \{ side: 'client', state: 'handshaking', remoteAddress: '127\.0\.0\.1:\d+', localAddress: '127\.0\.0\.1:\d+', streams: 0 \}$/);
  const req = await within(new Promise((resolve) => { server.addEventListener('session', ({ session: s }) => s.ocsp.then(resolve)); }), T, 'OCSP request');
  assert.strictEqual(show(req), `OCSPRequest { certificate: '<${req.certificate.byteLength} bytes>', issuer: undefined }`);
  req.respondWith('staple');
  await within(session.handshake, T, 'handshake');
  const res = await session.ocsp;
  assert.strictEqual(show(res), "OCSPResponse { response: '<6 bytes>' }");

  assert.match(show(server), new RegExp(`^Endpoint \\{ address: '127\\.0\\.0\\.1:${port}', state: 'listening', listening: true, closing: false, destroyed: false, sessions: 1 \\}$`));
  const s = show(session);
  assert.match(s, /^Session \{ side: 'client', state: 'open', alpn: 'quic-test', servername: 'localhost', /);
  assert.match(s, new RegExp(`remoteAddress: '127\\.0\\.0\\.1:${port}'`));
  assert.match(s, /cipher: 'TLS_AES_128_GCM_SHA256', earlyData: false \}$/);

  const stream = session.open({ body: 'ping' });
  assert.strictEqual((await within(readAll(stream.readableNodeStream()), T, 'reply')).toString(), 'pong');
  const st = show(stream);
  assert.match(st, /^Stream \{ id: 0n, direction: 'bidirectional', opened: 'locally', serverInitiated: false, state: '(open|closed)', /);
  assert.match(st, /consumer: 'node', http3: false, side: 'client' \}$/);

  session.datagram('hello');
  await within((async () => { while (!seen.datagramEvent) await new Promise((r) => setTimeout(r, 5)); })(), T, 'datagram');

  assert.match(show(seen.sessionEvent), /^SessionEvent \{ type: 'session', session: Session \{ side: 'server', state: 'open', /);
  const se = show(seen.streamEvent);
  assert.match(se, /^StreamEvent \{ type: 'stream', stream: Stream \{ id: 0n, direction: 'bidirectional', opened: 'by the peer', /);
  assert.match(se, /respondWith: \[Function: respondWith\] \}$/);
  assert.match(show(seen.datagramEvent), /^DatagramEvent \{ type: 'datagram', datagram: ArrayBuffer \{ \[Uint8Contents\]: <68 65 6c 6c 6f>, byteLength: 5 \}, early: false, session: Session \{ side: 'server'/);

  // Depth as Node does it: nested objects collapse to [Name].
  assert.strictEqual(inspect(seen.sessionEvent, { depth: 0 }), "SessionEvent { type: 'session', session: [Session] }");
  assert.strictEqual(inspect(server, { depth: -1 }), '[Endpoint]');

  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
  assert.match(show(session), /^Session \{ side: 'client', state: 'closed', /);
  assert.strictEqual(show(server), 'Endpoint { address: undefined, state: \'destroyed\', listening: false, closing: false, destroyed: true, sessions: 0 }');
});

test('stats show every field as a number', async () => {
  const server = makeServer({ onsession: (s) => { s.onstream = ({ respondWith }) => respondWith({ body: 'x' }); } });
  const { client, session } = connect(server);
  await within(session.handshake, T, 'handshake');
  const stream = session.open({ body: 'y' });
  await within(readAll(stream.readableNodeStream()), T, 'reply');
  for (const stats of [server.stats, client.stats, session.stats, stream.stats]) {
    const text = show(stats);
    const name = stats.constructor.name;
    assert.ok(text.startsWith(`${name} { `), text);
    for (const field of stats.constructor.fields) {
      assert.match(text, new RegExp(`[{,] ${field}: \\d+(e\\+\\d+)?[, ]`), `${name}.${field} as a number in ${text}`);
    }
    assert.doesNotMatch(text, /\d+n[,}\s]/, 'no bigint literals');
  }
  const es = show(server.stats);
  assert.match(es, /serverSessions: 1/);
  assert.match(show(session.stats), /bidiStreamCount: 1/);
  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
});

test('config and options classes show the resolved options, never keys or secrets', () => {
  const secret = Buffer.alloc(16, 0xab);
  const ec = show(new quic.EndpointConfig({ address: { address: '::1', port: 4433 }, resetTokenSecret: secret, ccAlgorithm: 'reno', maxPayloadSize: 9000 }));
  assert.match(ec, /^EndpointConfig \{ address: '\[::1\]:4433', ccAlgorithm: 'reno', maxPayloadSize: 9000, /);
  // Not given, the size is chosen per peer (1452, or loopback's for a peer on this host).
  assert.match(show(new quic.EndpointConfig({})), /^EndpointConfig \{ address: '127\.0\.0\.1:0', ccAlgorithm: 'cubic', unacknowledgedPacketThreshold: 0, /);
  assert.match(ec, /resetTokenSecret: '<16 bytes>', tokenSecret: '<random>' \}$/);
  assert.doesNotMatch(ec, /ab ab|171/);

  const sc = show(new quic.SessionConfig('server', { alpn: ['h3', 'x'], secure: { key: certs.key, cert: certs.cert, ticketKeys: Buffer.alloc(48) } }));
  assert.match(sc, /^SessionConfig \{ side: 'server', alpn: \[ 'h3', 'x' \], handshakeTimeout: 10000, transportParams: \{ initialMaxData: 1048576, /);
  assert.match(sc, /secure: \{ key: '<1 key>', cert: '<1 certificate>', rejectUnauthorized: true, requestPeerCertificate: false, ticketKeys: '<48 bytes>' \}/);
  assert.doesNotMatch(sc, /BEGIN|PRIVATE/);
  const cc = show(new quic.SessionConfig('client', { hostname: 'example.com', secure: { ca: certs.ca } }));
  assert.match(cc, /^SessionConfig \{ side: 'client', alpn: 'h3', hostname: 'example\.com', /);
  assert.match(cc, /secure: \{ ca: '<1 CA>', rejectUnauthorized: true, verifyHostnameIdentity: true \}/);

  assert.strictEqual(show(new quic.StreamOptions({ headers: { ':path': '/' }, body: 'abc' })),
                     "StreamOptions { unidirectional: false, headers: { ':path': '/' }, body: '<string, 3 bytes>' }");
  assert.strictEqual(show(new quic.ResponseOptions({ hints: { link: '<a>' }, body: new Uint8Array(7) })),
                     "ResponseOptions { hints: { link: '<a>' }, body: '<Uint8Array, 7 bytes>' }");
  assert.strictEqual(show(quic.createSecureContext({ key: certs.key, cert: certs.cert })),
                     "SecureContext { key: '<1 key>', cert: '<1 certificate>' }");
});

test('ClientHello shows the SNI, ALPN list and ciphers', async () => {
  let hello;
  const server = makeServer({
    secure: { clientHello: true },
    onsession: (s) => s.clienthello.then((h) => { hello = show(h); h.done(); }),
  });
  const { client, session } = connect(server, { session: { alpn: ['zz', ALPN] } });
  await within(session.handshake, T, 'handshake');
  assert.match(hello, /^ClientHello \{ servername: 'localhost', alpn: 'zz', protocols: \[ 'zz', 'quic-test' \], ciphers: \[ 'TLS_AES_128_GCM_SHA256', /);
  await within(client.close(), T, 'client close');
  await within(server.close(), T, 'server close');
});

'use strict';
// The seed API's remaining edges, one test each: option types checked with
// Node's codes, FileHandle bodies read piece by piece, trailers (and headers
// and hints) from functions, datagrams that cannot go, getters that keep
// their objects, and endpoint.address once the endpoint is gone.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const { quic, certs, ALPN, makeServer, connect, readAll, hashOf, sha256, randomBytes, within } = require('./common');

const T = 10000;
const { EndpointConfig, SessionConfig, StreamOptions, ResponseOptions } = quic;
const TYPE = 'ERR_INVALID_ARG_TYPE';
const VALUE = 'ERR_INVALID_ARG_VALUE';
const RANGE = 'ERR_OUT_OF_RANGE';
const UNSUPPORTED = 'ERR_QUIC_UNSUPPORTED';
const srv = { key: certs.key, cert: certs.cert };

function codeOf(fn) {
  try {
    fn();
  } catch (err) {
    return err.code;
  }
  return 'no error';
}

test('every typed seed option is checked with Node\'s codes (types first, then values)', () => {
  const E = (o) => () => new EndpointConfig(o);
  const C = (o) => () => new SessionConfig('client', o);
  const S = (o) => () => new SessionConfig('server', { ...o, secure: { ...srv, ...o.secure } });
  const cases = [
    // EndpointConfigInit
    ['address: []', E({ address: [] }), TYPE],
    ['address.address: [ip]', E({ address: { address: ['127.0.0.1'] } }), TYPE],
    ['address.family: 4', E({ address: { family: 4 } }), TYPE],
    ['address.family: [\'ipv4\']', E({ address: { family: ['ipv4'] } }), TYPE],
    ['address.family: \'ip4\'', E({ address: { family: 'ip4' } }), VALUE],
    ['address.port: \'80\'', E({ address: { port: '80' } }), TYPE],
    ['address.port: 65536', E({ address: { port: 65536 } }), RANGE],
    ['address.flowlabel: \'1\'', E({ address: { flowlabel: '1' } }), TYPE],
    ['resetTokenSecret: 16-char string', E({ resetTokenSecret: 'x'.repeat(16) }), TYPE],
    ['resetTokenSecret: [16 numbers]', E({ resetTokenSecret: new Array(16).fill(0) }), TYPE],
    ['resetTokenSecret: 15 bytes', E({ resetTokenSecret: Buffer.alloc(15) }), VALUE],
    ['resetTokenSecret: 17 bytes', E({ resetTokenSecret: new Uint8Array(17) }), VALUE],
    ['tokenSecret: 32-char string', E({ tokenSecret: 'x'.repeat(32) }), TYPE],
    ['ccAlgorithm: [\'cubic\']', E({ ccAlgorithm: ['cubic'] }), TYPE],
    ['ccAlgorithm: \'CUBIC\'', E({ ccAlgorithm: 'CUBIC' }), VALUE],
    ['disableStatelessReset: 1', E({ disableStatelessReset: 1 }), TYPE],
    ['validateAddress: \'yes\'', E({ validateAddress: 'yes' }), TYPE],
    ['rxPacketLoss: \'0.1\'', E({ rxPacketLoss: '0.1' }), TYPE],
    ['txPacketLoss: 2', E({ txPacketLoss: 2 }), RANGE],
    ['maxPayloadSize: \'1300\'', E({ maxPayloadSize: '1300' }), TYPE],
    ['maxConnectionsTotal: 1.5', E({ maxConnectionsTotal: 1.5 }), RANGE],
    ['retryTokenExpiration: 0n', E({ retryTokenExpiration: 0n }), RANGE],
    ['udp: []', E({ udp: [] }), TYPE],
    ['udp.ipv6Only: 1', E({ udp: { ipv6Only: 1 } }), TYPE],
    ['udp.ttl: \'1\'', E({ udp: { ttl: '1' } }), TYPE],
    // SessionConfig side
    ['side: 1', () => new SessionConfig(1, {}), TYPE],
    ['side: [\'client\']', () => new SessionConfig(['client'], {}), TYPE],
    ['side: \'CLIENT\'', () => new SessionConfig('CLIENT', {}), VALUE],
    // SessionConfigInit
    ['alpn: 5', C({ alpn: 5 }), TYPE],
    ['alpn: [5]', C({ alpn: [5] }), TYPE],
    ['alpn: \'\'', C({ alpn: '' }), VALUE],
    ['hostname: [\'a\']', C({ hostname: ['a'] }), TYPE],
    ['dcid: 5', C({ dcid: 5 }), TYPE],
    ['dcid: [8 numbers]', C({ dcid: new Array(8).fill(1) }), TYPE],
    ['dcid: 21 bytes', C({ dcid: Buffer.alloc(21) }), RANGE],
    ['scid: {}', C({ scid: {} }), TYPE],
    ['preferredAddressStrategy: 1', C({ preferredAddressStrategy: 1 }), TYPE],
    ['preferredAddressStrategy: [\'use\']', C({ preferredAddressStrategy: ['use'] }), TYPE],
    ['preferredAddressStrategy: \'maybe\'', C({ preferredAddressStrategy: 'maybe' }), VALUE],
    ['qlog: 1', C({ qlog: 1 }), TYPE],
    ['transportParams: []', C({ transportParams: [] }), TYPE],
    ['transportParams.maxIdleTimeout: \'1\'', C({ transportParams: { maxIdleTimeout: '1' } }), TYPE],
    ['transportParams.ackDelayExponent: 21', C({ transportParams: { ackDelayExponent: 21 } }), RANGE],
    ['transportParams.disableActiveMigration: 1', C({ transportParams: { disableActiveMigration: 1 } }), TYPE],
    ['transportParams.preferredAddress: []', S({ transportParams: { preferredAddress: [] } }), TYPE],
    ['transportParams.preferredAddress.ipv4: \'1.2.3.4\'', S({ transportParams: { preferredAddress: { ipv4: '1.2.3.4' } } }), TYPE],
    ['secure: []', C({ secure: [] }), TYPE],
    ['secure.ca: 5', C({ secure: { ca: 5 } }), TYPE],
    ['secure.ca: [[pem]]', C({ secure: { ca: [[certs.ca]] } }), TYPE],
    ['secure.cert: {}', C({ secure: { cert: {} } }), TYPE],
    ['secure.key: 5', () => new SessionConfig('server', { secure: { key: 5, cert: certs.cert } }), TYPE],
    ['secure.rejectUnauthorized: \'no\'', C({ secure: { rejectUnauthorized: 'no' } }), TYPE],
    ['secure.requestPeerCertificate: 1', S({ secure: { requestPeerCertificate: 1 } }), TYPE],
    ['secure.verifyHostnameIdentity: 0', C({ secure: { verifyHostnameIdentity: 0 } }), TYPE],
    ['secure.ciphers: [name]', C({ secure: { ciphers: ['TLS_AES_128_GCM_SHA256'] } }), TYPE],
    ['secure.ciphers: \'NOPE\'', C({ secure: { ciphers: 'NOPE' } }), VALUE],
    ['secure.ecdhCurve: [\'X25519\']', C({ secure: { ecdhCurve: ['X25519'] } }), TYPE],
    ['secure.sigalgs: 5', C({ secure: { sigalgs: 5 } }), TYPE],
    ['secure.crl: 5', C({ secure: { crl: 5 } }), TYPE],
    ['secure.dhparam: 5', C({ secure: { dhparam: 5 } }), TYPE],
    ['secure.dhparam: [\'x\']', C({ secure: { dhparam: ['x'] } }), TYPE],
    ['secure.passphrase: [\'x\']', C({ secure: { passphrase: ['x'] } }), TYPE],
    ['secure.pfx: 5', () => new SessionConfig('server', { secure: { pfx: 5 } }), TYPE],
    ['secure.keylog: 1', C({ secure: { keylog: 1 } }), TYPE],
    ['secure.ocsp: 1', C({ secure: { ocsp: 1 } }), TYPE],
    ['secure.clientHello: 1 (server)', S({ secure: { clientHello: 1 } }), TYPE],
    ['secure.clientHello: 1 (client, which ignores it)', C({ secure: { clientHello: 1 } }), TYPE],
    ['secure.sessionTimeout: \'1\'', S({ secure: { sessionTimeout: '1' } }), TYPE],
    ['secure.ticketKeys: 48-char string', S({ secure: { ticketKeys: 'x'.repeat(48) } }), TYPE],
    ['secure.ticketKeys: 47 bytes', S({ secure: { ticketKeys: Buffer.alloc(47) } }), VALUE],
    // Options this build cannot honour: the type first, then ERR_QUIC_UNSUPPORTED.
    ['secure.clientCertEngine: 5', C({ secure: { clientCertEngine: 5 } }), TYPE],
    ['secure.clientCertEngine: \'x\'', C({ secure: { clientCertEngine: 'x' } }), UNSUPPORTED],
    ['secure.enableTLSTrace: \'yes\'', C({ secure: { enableTLSTrace: 'yes' } }), TYPE],
    ['secure.enableTLSTrace: true', C({ secure: { enableTLSTrace: true } }), UNSUPPORTED],
    ['secure.privateKey: \'x\'', C({ secure: { privateKey: 'x' } }), TYPE],
    ['secure.privateKey: { engine: 1 }', C({ secure: { privateKey: { engine: 1 } } }), TYPE],
    ['secure.privateKey: { engine, identifier }', C({ secure: { privateKey: { engine: 'e', identifier: 'i' } } }), UNSUPPORTED],
    ['secure.pskCallback: 5', C({ secure: { pskCallback: 5 } }), TYPE],
    ['secure.pskCallback: function', C({ secure: { pskCallback: () => {} } }), UNSUPPORTED],
    ['secure.secureOptions: \'x\'', C({ secure: { secureOptions: 'x' } }), TYPE],
    ['secure.secureOptions: 4', C({ secure: { secureOptions: 4 } }), UNSUPPORTED],
    ['secure.sessionIdContext: 5', C({ secure: { sessionIdContext: 5 } }), TYPE],
    ['secure.sessionIdContext: \'x\'', C({ secure: { sessionIdContext: 'x' } }), UNSUPPORTED],
    // StreamOptionsInit / ResponseOptionsInit
    ['StreamOptions unidirectional: 1', () => new StreamOptions({ unidirectional: 1 }), TYPE],
    ['StreamOptions headers: 5', () => new StreamOptions({ headers: 5 }), TYPE],
    ['StreamOptions trailers: \'x\'', () => new StreamOptions({ trailers: 'x' }), TYPE],
    ['StreamOptions body: 5', () => new StreamOptions({ body: 5 }), TYPE],
    ['StreamOptions body: {}', () => new StreamOptions({ body: {} }), TYPE],
    ['StreamOptions signal: {}', () => new StreamOptions({ signal: {} }), TYPE],
    ['ResponseOptions hints: 5', () => new ResponseOptions({ hints: 5 }), TYPE],
    ['ResponseOptions body: true', () => new ResponseOptions({ body: true }), TYPE],
    ['ResponseOptions signal: \'x\'', () => new ResponseOptions({ signal: 'x' }), TYPE],
  ];
  const wrong = [];
  for (const [label, fn, code] of cases) {
    const got = codeOf(fn);
    if (got !== code) wrong.push(`${label}: expected ${code}, got ${got}`);
  }
  assert.deepStrictEqual(wrong, []);
  // And the good forms are taken.
  new EndpointConfig({ resetTokenSecret: new ArrayBuffer(16), tokenSecret: new DataView(new ArrayBuffer(32)) });
  new SessionConfig('server', { secure: { ...srv, ticketKeys: new Uint8Array(48), enableTLSTrace: false } });
  new StreamOptions({ headers: () => ({}), trailers: async () => ({}), body: () => 'x', signal: new AbortController().signal });
  new ResponseOptions({ hints: () => [{}], headers: () => ({}) });
});

// A file with a FileHandle whose reads are recorded (the size of each).
async function recordedHandle(file) {
  const fh = await fsp.open(file);
  const reads = [];
  const read = fh.read.bind(fh);
  fh.read = (...args) => {
    const p = read(...args);
    p.then(({ bytesRead }) => reads.push(bytesRead), () => {});
    return p;
  };
  return { fh, reads };
}

test('a FileHandle, or a promise of one, is a body: read slice by slice, never whole, and closed after', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-fh-'));
  const data = randomBytes(3 * 1024 * 1024 + 777, 5);
  const file = path.join(dir, 'body.bin');
  fs.writeFileSync(file, data);
  const received = [];
  const server = makeServer({
    onsession: (s) => {
      s.onstream = async ({ stream, respondWith }) => {
        let got;
        try {
          got = await hashOf(stream.readableNodeStream());
        } catch (err) {
          received.push(err.code); // the request whose body failed
          stream.cancel();
          return;
        }
        received.push(got);
        // The answer is a promise of a FileHandle, opened by the server.
        respondWith({ body: fsp.open(file) });
      };
    },
  });
  const { client, session } = connect(server);
  try {
    await within(session.handshake, T, 'handshake');
    const { fh, reads } = await recordedHandle(file);
    const stream = session.open({ body: fh });
    const back = await within(hashOf(stream.readableNodeStream()), T, 'response');
    assert.deepStrictEqual(received, [{ length: data.length, hash: sha256(data) }]);
    assert.deepStrictEqual(back, { length: data.length, hash: sha256(data) });
    // Read in slices of at most 256 KiB, the last one empty (end of file).
    assert.ok(reads.length >= Math.ceil(data.length / (256 * 1024)), `${reads.length} reads`);
    assert.ok(reads.every((n) => n <= 256 * 1024), `read sizes ${reads}`);
    assert.strictEqual(reads.reduce((a, b) => a + b, 0), data.length);
    assert.strictEqual(fh.fd, -1, 'the stream closed the handle it was given');
    // A closed handle cannot be a body: the stream is reset, not ended.
    const warned = new Promise((resolve) => process.once('warning', resolve));
    const bad = session.open({ body: fh });
    assert.match((await within(warned, T, 'warning')).message, /FileHandle body is already closed/);
    await within(bad.closed.catch(() => {}), T, 'bad stream');
    while (received.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.strictEqual(received[1], 'ERR_QUIC_APPLICATION_ERROR', 'the peer saw a reset, not an end');
  } finally {
    await within(client.close(), T, 'client close');
    await within(server.close(), T, 'server close');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('HTTP/3: trailers (and headers and hints) may come from functions; trailers are asked for after the body', async () => {
  const events = [];
  const server = new quic.Endpoint();
  server.onsession = ({ session }) => {
    session.onstream = async ({ stream, respondWith }) => {
      const req = await stream.headers;
      const body = await readAll(stream.readableNodeStream());
      events.push(`request ${req[':path']} ${body}`, `request trailers ${JSON.stringify({ ...await stream.trailers })}`);
      respondWith({
        hints: () => ({ link: '</a.css>; rel=preload' }),
        headers: async () => ({ 'content-type': 'text/plain' }),
        body: (async function* () { events.push('response body'); yield 'reply'; })(),
        trailers: () => { events.push('response trailers asked'); return { 'x-sum': sha256(Buffer.from('reply')) }; },
      });
    };
  };
  server.listen({ secure: srv });
  const client = new quic.Endpoint();
  try {
    const session = client.connect({ address: '127.0.0.1', port: server.address.port },
                                   { hostname: 'localhost', secure: { ca: certs.ca } });
    await within(session.handshake, T, 'handshake');
    const sent = [];
    const stream = session.open({
      headers: () => ({ ':method': 'POST', ':path': '/fn' }),
      body: (async function* () { for (const c of ['a', 'b', 'c']) { sent.push(c); yield c; } })(),
      trailers: async () => { events.push(`request trailers asked after ${sent.join('')}`); return { 'x-count': sent.length }; },
    });
    assert.deepStrictEqual((await within(stream.hints, T, 'hints')).map((h) => h.link), ['</a.css>; rel=preload']);
    assert.strictEqual((await stream.headers)['content-type'], 'text/plain');
    assert.strictEqual((await readAll(stream.readableNodeStream())).toString(), 'reply');
    assert.strictEqual((await stream.trailers)['x-sum'], sha256(Buffer.from('reply')));
    assert.deepStrictEqual(events, [
      'request trailers asked after abc',
      'request /fn abc',
      'request trailers {"x-count":"3"}',
      'response body',
      'response trailers asked',
    ]);
    // A function that throws makes open() throw, as invalid headers do.
    assert.throws(() => session.open({ headers: () => { throw new Error('no headers'); } }), /no headers/);
  } finally {
    await within(client.close(), T, 'client close');
    await within(server.close(), T, 'server close');
  }
});

test('datagram() returns false, never throws, for empty and oversized datagrams', async () => {
  const got = [];
  const server = makeServer({ onsession: (s) => { s.ondatagram = ({ datagram }) => got.push(datagram.byteLength); } });
  const { client, session } = connect(server);
  try {
    await within(session.handshake, T, 'handshake');
    const max = session.maxDatagramSize;
    assert.ok(max > 1000, `maxDatagramSize ${max}`);
    for (const empty of ['', Buffer.alloc(0), new Uint8Array(0), new ArrayBuffer(0), new DataView(new ArrayBuffer(0))]) {
      assert.strictEqual(session.datagram(empty), false);
    }
    assert.strictEqual(session.datagram(Buffer.alloc(max + 1)), false);
    assert.strictEqual(session.datagram('x'.repeat(max + 1)), false);
    assert.strictEqual(session.datagram(Buffer.alloc(64 * 1024)), false);
    assert.strictEqual(session.datagram(Buffer.alloc(max, 1)), true);
    await within((async () => { while (got.length === 0) await new Promise((r) => setTimeout(r, 5)); })(), T, 'datagram');
    assert.deepStrictEqual(got, [max], 'only the one that fits arrived');
    assert.throws(() => session.datagram('x', 5), { code: TYPE });
  } finally {
    await within(client.close(), T, 'client close');
    await within(server.close(), T, 'server close');
  }
});

test('getters that return objects give the same object while the value is unchanged', async () => {
  let serverSession;
  const fixture = (name) => fs.readFileSync(path.join(__dirname, 'fixtures', name));
  const server = makeServer({ secure: { requestPeerCertificate: true, ca: fixture('client-ca.pem') },
                              onsession: (s) => { serverSession = s; } });
  const { client, session } = connect(server, { secure: { key: fixture('client-key.pem'), cert: fixture('client-cert.pem') } });
  try {
    await within(session.handshake, T, 'handshake');
    await within(serverSession.handshake, T, 'server handshake');
    const same = (obj, key) => {
      const a = obj[key];
      assert.notStrictEqual(a, undefined, `${key} is set`);
      assert.strictEqual(obj[key], a, `${key}: the same object on a second read`);
    };
    for (const key of ['address', 'stats']) same(server, key);
    for (const key of ['remoteAddress', 'cipher', 'ephemeralKeyInfo', 'peerCertificate', 'stats', 'handshake', 'closed']) {
      same(session, key);
    }
    same(serverSession, 'remoteAddress');
    same(serverSession, 'certificate');
    same(serverSession, 'peerCertificate');
    const ec = new EndpointConfig({ address: { port: 1234 } });
    same(ec, 'address');
    const sc = new SessionConfig('client', { alpn: ['a', 'b'] });
    same(sc, 'alpn');
    assert.ok(Object.isFrozen(sc.alpn) && Object.isFrozen(ec.address) && Object.isFrozen(session.cipher));
  } finally {
    await within(client.close(), T, 'client close');
    await within(server.close(), T, 'server close');
  }
});

test('sessionTicket is the same object until a newer ticket arrives', async () => {
  const server = makeServer();
  const { client, session } = connect(server);
  try {
    await within(session.handshake, T, 'handshake');
    const deadline = Date.now() + T;
    while (session.sessionTicket === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const t = session.sessionTicket;
    assert.ok(t && t.sessionTicket instanceof ArrayBuffer);
    assert.strictEqual(session.sessionTicket, t);
  } finally {
    await within(client.close(), T, 'client close');
    await within(server.close(), T, 'server close');
  }
});

test('endpoint.address is undefined before binding and again once the endpoint is closed', async () => {
  const server = new quic.Endpoint();
  assert.strictEqual(server.address, undefined);
  server.listen({ alpn: ALPN, secure: srv });
  const bound = server.address;
  assert.ok(bound instanceof require('node:net').SocketAddress);
  const { client, session } = connect(server);
  await within(session.handshake, T, 'handshake');
  assert.ok(client.address);
  await within(client.close(), T, 'client close');
  assert.strictEqual(client.address, undefined);
  const closing = server.close();
  await within(closing, T, 'server close');
  assert.strictEqual(server.address, undefined);
  // destroy() unbinds too.
  const other = new quic.Endpoint();
  other.listen({ alpn: ALPN, secure: srv });
  assert.ok(other.address);
  other.destroy();
  assert.strictEqual(other.address, undefined);
});

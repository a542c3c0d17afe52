'use strict';
// Bad arguments to every public constructor and method: the error class and
// code (wrong type -> ERR_INVALID_ARG_TYPE, bad value -> ERR_INVALID_ARG_VALUE,
// out of range / non-integer / Infinity -> ERR_OUT_OF_RANGE, wrong state ->
// ERR_INVALID_STATE, no support on this build -> ERR_QUIC_UNSUPPORTED).
const test = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const { quic, certs, ALPN, makeServer, connect, readAll, within } = require('./common');

const {
  Endpoint, EndpointConfig, SessionConfig, StreamOptions, ResponseOptions,
} = quic;

const TYPE = [TypeError, 'ERR_INVALID_ARG_TYPE'];
const VALUE = [TypeError, 'ERR_INVALID_ARG_VALUE'];
const RANGE = [RangeError, 'ERR_OUT_OF_RANGE'];
const STATE = [Error, 'ERR_INVALID_STATE'];
const UNSUPPORTED = [Error, 'ERR_QUIC_UNSUPPORTED'];

function throwsWith(fn, [Cls, code], label) {
  let thrown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown !== undefined, `${label}: expected ${code}, nothing was thrown`);
  assert.strictEqual(thrown.code, code, `${label}: expected ${code}, got ${thrown.code} (${thrown.message})`);
  assert.ok(thrown instanceof Cls, `${label}: expected a ${Cls.name}, got ${thrown.constructor.name}`);
  assert.strictEqual(typeof thrown.message, 'string');
}

const serverSecure = { key: certs.key, cert: certs.cert };

test('new Endpoint / EndpointConfig: options of the wrong type', () => {
  for (const bad of [42, 'x', true, null, [], () => {}, 1n]) {
    throwsWith(() => new Endpoint(bad), TYPE, `new Endpoint(${String(bad)})`);
    throwsWith(() => new EndpointConfig(bad), TYPE, `new EndpointConfig(${String(bad)})`);
  }
});

test('new Endpoint: bad address', () => {
  const cases = [
    [{ address: 'x' }, TYPE],
    [{ address: 42 }, TYPE],
    [{ address: { address: 'not-an-ip' } }, VALUE],
    [{ address: { address: 'localhost' } }, VALUE],
    [{ address: { address: 42 } }, TYPE],
    [{ address: { address: '127.0.0.1', family: 'ipv5' } }, VALUE],
    [{ address: { address: '127.0.0.1', family: 'ipv6' } }, VALUE],
    [{ address: { address: '::1', family: 'ipv4' } }, VALUE],
    [{ address: { port: 65536 } }, RANGE],
    [{ address: { port: -1 } }, RANGE],
    [{ address: { port: 1.5 } }, RANGE],
    [{ address: { port: Infinity } }, RANGE],
    [{ address: { port: NaN } }, RANGE],
    [{ address: { port: '80' } }, TYPE],
    [{ address: { port: 70000n } }, RANGE],
  ];
  for (const [opts, want] of cases) {
    throwsWith(() => new Endpoint(opts), want, `new Endpoint(${JSON.stringify(opts, (k, v) =>
      (typeof v === 'bigint' ? `${v}n` : Number.isNaN(v) || v === Infinity ? String(v) : v))})`);
  }
});

test('new Endpoint: good addresses are accepted (control)', async () => {
  const e = new Endpoint({ address: new net.SocketAddress({ address: '127.0.0.1', port: 0 }) });
  const f = new Endpoint({ address: { address: '127.0.0.1', port: 0n } });
  const g = new Endpoint(new EndpointConfig({ address: { port: 0 } }));
  for (const x of [e, f, g]) await within(x.close(), 5000, 'close');
});

test('new Endpoint: bad resetTokenSecret / tokenSecret', () => {
  throwsWith(() => new Endpoint({ resetTokenSecret: Buffer.alloc(15) }), VALUE, 'resetTokenSecret 15 bytes');
  throwsWith(() => new Endpoint({ resetTokenSecret: Buffer.alloc(17) }), VALUE, 'resetTokenSecret 17 bytes');
  throwsWith(() => new Endpoint({ resetTokenSecret: new ArrayBuffer(8) }), VALUE, 'resetTokenSecret AB 8 bytes');
  throwsWith(() => new Endpoint({ resetTokenSecret: 42 }), TYPE, 'resetTokenSecret 42');
  throwsWith(() => new Endpoint({ resetTokenSecret: {} }), TYPE, 'resetTokenSecret {}');
  throwsWith(() => new Endpoint({ tokenSecret: Buffer.alloc(3) }), VALUE, 'tokenSecret 3 bytes');
  // 16 bytes in any byte form is fine.
  new EndpointConfig({ resetTokenSecret: new Uint8Array(16) });
  new EndpointConfig({ resetTokenSecret: new ArrayBuffer(16) });
  new EndpointConfig({ resetTokenSecret: new DataView(new ArrayBuffer(16)) });
});

test('new Endpoint: packet loss, congestion control, udp options', () => {
  throwsWith(() => new Endpoint({ rxPacketLoss: 2 }), RANGE, 'rxPacketLoss 2');
  throwsWith(() => new Endpoint({ rxPacketLoss: -0.1 }), RANGE, 'rxPacketLoss -0.1');
  throwsWith(() => new Endpoint({ rxPacketLoss: NaN }), RANGE, 'rxPacketLoss NaN');
  throwsWith(() => new Endpoint({ rxPacketLoss: '0.5' }), TYPE, "rxPacketLoss '0.5'");
  throwsWith(() => new Endpoint({ txPacketLoss: 1.01 }), RANGE, 'txPacketLoss 1.01');
  throwsWith(() => new Endpoint({ ccAlgorithm: 'foo' }), VALUE, "ccAlgorithm 'foo'");
  throwsWith(() => new Endpoint({ ccAlgorithm: 'CUBIC' }), VALUE, "ccAlgorithm 'CUBIC'");
  throwsWith(() => new Endpoint({ ccAlgorithm: 1 }), TYPE, 'ccAlgorithm 1');
  throwsWith(() => new Endpoint({ udp: 'x' }), TYPE, "udp 'x'");
  throwsWith(() => new Endpoint({ udp: { ttl: 300 } }), RANGE, 'udp.ttl 300');
  throwsWith(() => new Endpoint({ udp: { ttl: -1 } }), RANGE, 'udp.ttl -1');
  throwsWith(() => new Endpoint({ udp: { ttl: 1.5 } }), RANGE, 'udp.ttl 1.5');
  throwsWith(() => new Endpoint({ udp: { ttl: '64' } }), TYPE, "udp.ttl '64'");
  throwsWith(() => new Endpoint({ udp: { ipv6Only: 1 } }), TYPE, 'udp.ipv6Only 1');
  throwsWith(() => new Endpoint({ udp: { receiveBufferSize: -1 } }), RANGE, 'udp.receiveBufferSize -1');
  throwsWith(() => new Endpoint({ udp: { sendBufferSize: Infinity } }), RANGE, 'udp.sendBufferSize Infinity');
  throwsWith(() => new Endpoint({ validateAddress: 'yes' }), TYPE, "validateAddress 'yes'");
  throwsWith(() => new Endpoint({ disableStatelessReset: 0 }), TYPE, 'disableStatelessReset 0');
  new EndpointConfig({ ccAlgorithm: 'reno', rxPacketLoss: 0, txPacketLoss: 1, udp: { ttl: 255 } });
  // maxPayloadSize: QUIC's 1200 up to the largest max_udp_payload_size, 65527.
  new EndpointConfig({ maxPayloadSize: 1200 });
  new EndpointConfig({ maxPayloadSize: 65527 });
  throwsWith(() => new Endpoint({ maxPayloadSize: 1199 }), RANGE, 'maxPayloadSize 1199');
  throwsWith(() => new Endpoint({ maxPayloadSize: 65528 }), RANGE, 'maxPayloadSize 65528');
});

test('new Endpoint: negative, Infinity and non-integer limits', () => {
  const limits = ['addressLRUSize', 'maxConnectionsPerHost', 'maxConnectionsTotal', 'maxStatelessResets',
                  'retryLimit', 'retryTokenExpiration', 'tokenExpiration', 'maxPayloadSize',
                  'maxStreamWindowOverride', 'maxWindowOverride', 'unacknowledgedPacketThreshold'];
  for (const key of limits) {
    for (const v of [-1, -1n, Infinity, -Infinity, 1.5, NaN]) {
      throwsWith(() => new Endpoint({ [key]: v }), RANGE, `${key} ${String(v)}`);
    }
    throwsWith(() => new Endpoint({ [key]: '10' }), TYPE, `${key} '10'`);
    throwsWith(() => new Endpoint({ [key]: null }), TYPE, `${key} null`);
  }
});

test('new SessionConfig: side and options', () => {
  throwsWith(() => new SessionConfig('middle', { alpn: ALPN }), VALUE, "side 'middle'");
  // Not a string at all (missing included) is the wrong type, as Node's validateString says.
  throwsWith(() => new SessionConfig(undefined, { alpn: ALPN }), TYPE, 'side undefined');
  throwsWith(() => new SessionConfig(42, { alpn: ALPN }), TYPE, 'side 42');
  throwsWith(() => new SessionConfig('CLIENT', { alpn: ALPN }), VALUE, "side 'CLIENT'");
  for (const bad of [42, 'x', null, []]) {
    throwsWith(() => new SessionConfig('client', bad), TYPE, `options ${String(bad)}`);
  }
});

test('new SessionConfig: bad alpn', () => {
  throwsWith(() => new SessionConfig('client', { alpn: '' }), VALUE, "alpn ''");
  throwsWith(() => new SessionConfig('client', { alpn: 'x'.repeat(256) }), VALUE, 'alpn 256 chars');
  throwsWith(() => new SessionConfig('client', { alpn: [] }), VALUE, 'alpn []');
  throwsWith(() => new SessionConfig('client', { alpn: 42 }), TYPE, 'alpn 42');
  throwsWith(() => new SessionConfig('client', { alpn: [ALPN, 42] }), TYPE, 'alpn [ok, 42]');
  throwsWith(() => new SessionConfig('client', { alpn: null }), TYPE, 'alpn null');
  // Longest legal ALPN, and a list.
  new SessionConfig('client', { alpn: 'x'.repeat(255) });
  new SessionConfig('client', { alpn: ['a', 'b'] });
});

test('new SessionConfig: transportParams out of range', () => {
  const cases = [
    ['maxIdleTimeout', -1, RANGE],
    ['maxIdleTimeout', 1.5, RANGE],
    ['maxIdleTimeout', Infinity, RANGE],
    ['maxIdleTimeout', '1000', TYPE],
    ['initialMaxData', -1, RANGE],
    ['initialMaxData', -1n, RANGE],
    ['initialMaxStreamDataBidiLocal', -1, RANGE],
    ['initialMaxStreamDataBidiRemote', 0.5, RANGE],
    ['initialMaxStreamDataUni', NaN, RANGE],
    ['initialMaxStreamsBidi', 2 ** 61, RANGE], // RFC 9000: at most 2^60
    ['initialMaxStreamsUni', 2n ** 61n, RANGE],
    ['ackDelayExponent', 21, RANGE], // RFC 9000: above 20 is invalid
    ['maxAckDelay', 2 ** 14, RANGE], // RFC 9000: 2^14 or more is invalid
    ['activeConnectionIdLimit', 1, RANGE], // RFC 9000: at least 2
    ['maxDatagramFrameSize', -1, RANGE],
    ['disableActiveMigration', 1, TYPE],
  ];
  for (const [key, v, want] of cases) {
    throwsWith(() => new SessionConfig('client', { alpn: ALPN, transportParams: { [key]: v } }), want,
               `transportParams.${key} ${typeof v === 'bigint' ? `${v}n` : String(v)}`);
  }
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, transportParams: 'x' }), TYPE, "transportParams 'x'");
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, transportParams: null }), TYPE, 'transportParams null');
  new SessionConfig('client', {
    alpn: ALPN,
    transportParams: { maxIdleTimeout: 1000n, ackDelayExponent: 20, activeConnectionIdLimit: 2 },
  });
});

test('new SessionConfig: secure, hostname and other options', () => {
  throwsWith(() => new SessionConfig('server', { alpn: ALPN, secure: { key: certs.key } }), VALUE,
             'server key without cert');
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, secure: { key: certs.key } }), VALUE,
             'client key without cert');
  throwsWith(() => new SessionConfig('server', { alpn: ALPN, secure: { cert: certs.cert } }), VALUE,
             'server cert without key');
  throwsWith(() => new SessionConfig('server', { alpn: ALPN }), VALUE, 'server without key and cert');
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, secure: 'x' }), TYPE, "secure 'x'");
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, secure: { ca: 42 } }), TYPE, 'secure.ca 42');
  throwsWith(() => new SessionConfig('server', { alpn: ALPN, secure: { key: 42, cert: certs.cert } }), TYPE,
             'secure.key 42');
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, secure: { rejectUnauthorized: 'no' } }), TYPE,
             "secure.rejectUnauthorized 'no'");
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, secure: { passphrase: 42 } }), TYPE,
             'secure.passphrase 42');
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, hostname: 42 }), TYPE, 'hostname 42');
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, hostname: '' }), VALUE, "hostname ''");
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, handshakeTimeout: -1 }), RANGE, 'handshakeTimeout -1');
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, preferredAddressStrategy: 'maybe' }), VALUE,
             "preferredAddressStrategy 'maybe'");
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, qlog: 'yes' }), TYPE, "qlog 'yes'");
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, dcid: 42 }), TYPE, 'dcid 42');
  throwsWith(() => new SessionConfig('client', { alpn: ALPN, dcid: Buffer.alloc(21) }), RANGE, 'dcid 21 bytes');
  new SessionConfig('server', { alpn: ALPN, secure: serverSecure });
});

test('new SessionConfig: unsupported options throw ERR_QUIC_UNSUPPORTED', () => {
  const cases = [
    ['secure.pskCallback', { alpn: ALPN, secure: { pskCallback: () => {} } }],
    ['secure.secureOptions', { alpn: ALPN, secure: { secureOptions: 4 } }],
    ['secure.enableTLSTrace true', { alpn: ALPN, secure: { enableTLSTrace: true } }],
    ['scid of zero bytes', { alpn: ALPN, scid: Buffer.alloc(0) }],
  ];
  for (const [label, opts] of cases) {
    throwsWith(() => new SessionConfig('client', opts), UNSUPPORTED, label);
  }
  // HTTP/3 is supported: 'h3' (the default) and its settings are accepted,
  // and bad settings are refused with the usual codes.
  new SessionConfig('client', {});
  new SessionConfig('client', { alpn: [ALPN, 'h3'], http3: { qpackMaxDTableCapacity: 0, qpackBlockedStreams: 0 } });
  throwsWith(() => new SessionConfig('client', { http3: 'x' }), TYPE, 'http3 not an object');
  throwsWith(() => new SessionConfig('client', { http3: { maxFieldSectionSize: 0 } }), RANGE, 'http3.maxFieldSectionSize 0');
  throwsWith(() => new SessionConfig('client', { http3: { qpackBlockedStreams: -1 } }), RANGE, 'http3.qpackBlockedStreams -1');
  // `false` for a boolean option that is unsupported when on is fine.
  new SessionConfig('client', { alpn: ALPN, qlog: false, secure: { ocsp: false } });
});

test('endpoint.connect() and endpoint.listen(): bad arguments', async () => {
  const e = new Endpoint();
  const opts = { alpn: ALPN, secure: { ca: certs.ca } };
  throwsWith(() => e.connect('127.0.0.1:4433', opts), TYPE, 'connect(string)');
  throwsWith(() => e.connect(null, opts), TYPE, 'connect(null)');
  throwsWith(() => e.connect(undefined, opts), TYPE, 'connect(undefined)');
  throwsWith(() => e.connect({ address: 'nope', port: 4433 }, opts), VALUE, 'connect bad address');
  throwsWith(() => e.connect({ address: '127.0.0.1', port: 0 }, opts), RANGE, 'connect port 0');
  throwsWith(() => e.connect({ address: '127.0.0.1' }, opts), RANGE, 'connect no port');
  throwsWith(() => e.connect({ address: '127.0.0.1', port: 65536 }, opts), RANGE, 'connect port 65536');
  throwsWith(() => e.connect({ address: '127.0.0.1', port: 1.5 }, opts), RANGE, 'connect port 1.5');
  throwsWith(() => e.connect({ address: '127.0.0.1', port: '4433' }, opts), TYPE, "connect port '4433'");
  throwsWith(() => e.connect({ address: '127.0.0.1', port: 4433 }, 42), TYPE, 'connect options 42');
  throwsWith(() => e.connect({ address: '127.0.0.1', port: 4433 }, 'xyz'), TYPE, "connect options 'xyz'");
  throwsWith(() => e.connect({ address: '127.0.0.1', port: 4433 }, null), TYPE, 'connect options null');
  throwsWith(() => e.connect({ address: '127.0.0.1', port: 4433 },
                             new SessionConfig('server', { alpn: ALPN, secure: serverSecure })),
             VALUE, 'connect with a server SessionConfig');
  throwsWith(() => e.connect({ address: '127.0.0.1', port: 4433 }, opts, 42), TYPE, 'connect resume 42');

  throwsWith(() => e.listen(42), TYPE, 'listen(42)');
  throwsWith(() => e.listen(null), TYPE, 'listen(null)');
  throwsWith(() => e.listen({ alpn: ALPN }), VALUE, 'listen without key/cert');
  throwsWith(() => e.listen(new SessionConfig('client', { alpn: ALPN })), VALUE, 'listen with a client SessionConfig');
  assert.strictEqual(e.listening, false, 'failed listen() calls leave the endpoint not listening');
  // A SessionConfig instance is accepted.
  e.listen(new SessionConfig('server', { alpn: ALPN, secure: serverSecure }));
  assert.strictEqual(e.listening, true);
  await within(e.close(), 5000, 'close');
});

test('session.open(), stream.setStreamConsumer(), respondWith(): bad arguments and state', async () => {
  const serverErrors = [];
  let uniRespondWith = 'not seen';
  let uniSeen;
  const gotUni = new Promise((resolve) => { uniSeen = resolve; });
  const server = makeServer({
    onsession: (s) => {
      s.onstream = ({ stream, respondWith }) => {
        if (stream.unidirectional) {
          uniRespondWith = respondWith;
          stream.readableNodeStream().resume();
          uniSeen();
          return;
        }
        const readable = stream.readableNodeStream();
        readable.resume();
        readable.on('error', () => {});
        if (stream.id === 0n) {
          respondWith({ body: 'ok' });
          try {
            respondWith({ body: 'again' });
          } catch (err) {
            serverErrors.push(['respondWith twice', err]);
          }
        } else {
          try {
            respondWith({ body: 42 });
          } catch (err) {
            serverErrors.push(['respondWith body 42', err]);
          }
          stream.cancel();
        }
      };
    },
  });
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');

  throwsWith(() => session.open({ body: 42 }), TYPE, 'open body 42');
  throwsWith(() => session.open({ body: true }), TYPE, 'open body true');
  throwsWith(() => session.open({ body: {} }), TYPE, 'open body {}');
  throwsWith(() => session.open({ unidirectional: 'yes' }), TYPE, "open unidirectional 'yes'");
  throwsWith(() => session.open(42), TYPE, 'open(42)');
  throwsWith(() => session.open(null), TYPE, 'open(null)');
  throwsWith(() => session.open({ headers: { a: 'b' } }), UNSUPPORTED, 'open headers (needs HTTP/3)');

  const s0 = session.open({ body: 'first' });
  assert.strictEqual(s0.id, 0n, 'the failed open() calls must not consume stream ids');
  throwsWith(() => s0.setStreamConsumer('x'), TYPE, "setStreamConsumer('x')");
  throwsWith(() => s0.setStreamConsumer(), TYPE, 'setStreamConsumer()');
  const got = await within(readAll(s0.readableNodeStream()), 5000, 'response');
  assert.strictEqual(got.toString(), 'ok');
  // A second consumer is a state error.
  throwsWith(() => s0.readableWebStream(), STATE, 'second consumer');
  throwsWith(() => s0.setStreamConsumer(() => {}), STATE, 'second consumer (callback)');

  const s1 = session.open({ body: 'second' });
  const r1 = s1.readableNodeStream();
  r1.resume();
  await within(new Promise((resolve) => { r1.on('error', resolve); r1.on('end', resolve); }), 5000, 's1 settles');

  const u = session.open({ unidirectional: true, body: 'uni' });
  throwsWith(() => u.readableNodeStream(), STATE, 'read a local unidirectional stream');
  await within(gotUni, 5000, 'uni stream at server');
  assert.strictEqual(uniRespondWith, undefined, 'respondWith is undefined on unidirectional streams');

  const byLabel = Object.fromEntries(serverErrors);
  assert.ok(byLabel['respondWith twice'], 'a second respondWith() must throw');
  assert.strictEqual(byLabel['respondWith twice'].code, 'ERR_INVALID_STATE');
  assert.ok(byLabel['respondWith body 42'], 'respondWith({ body: 42 }) must throw');
  assert.strictEqual(byLabel['respondWith body 42'].code, 'ERR_INVALID_ARG_TYPE');
  assert.ok(byLabel['respondWith body 42'] instanceof TypeError);

  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
});

test('new StreamOptions / ResponseOptions: bad arguments', () => {
  for (const bad of [42, 'x', null, []]) {
    throwsWith(() => new StreamOptions(bad), TYPE, `new StreamOptions(${String(bad)})`);
    throwsWith(() => new ResponseOptions(bad), TYPE, `new ResponseOptions(${String(bad)})`);
  }
  throwsWith(() => new StreamOptions({ unidirectional: 1 }), TYPE, 'StreamOptions unidirectional 1');
});

test('internal classes cannot be constructed from user code', () => {
  for (const name of ['Session', 'Stream', 'SessionEvent', 'StreamEvent', 'DatagramEvent',
                      'EndpointStats', 'SessionStats', 'StreamStats']) {
    assert.throws(() => new quic[name](), TypeError, `new ${name}()`);
    assert.throws(() => new quic[name]({}), TypeError, `new ${name}({})`);
  }
});

test('static isEndpointConfig / isSessionConfig / isStreamOptions / isResponseOptions', () => {
  const ec = new EndpointConfig();
  const sc = new SessionConfig('client', { alpn: ALPN });
  const so = new StreamOptions({ body: 'x' });
  const ro = new ResponseOptions({ body: 'x' });
  assert.strictEqual(EndpointConfig.isEndpointConfig(ec), true);
  assert.strictEqual(SessionConfig.isSessionConfig(sc), true);
  assert.strictEqual(StreamOptions.isStreamOptions(so), true);
  assert.strictEqual(ResponseOptions.isResponseOptions(ro), true);
  assert.strictEqual(StreamOptions.isStreamOptions(new StreamOptions()), true);
  assert.strictEqual(ResponseOptions.isResponseOptions(new ResponseOptions()), true);
  for (const v of [{}, { body: 'x' }, { alpn: ALPN }, null, undefined, 42, 'x', []]) {
    assert.strictEqual(EndpointConfig.isEndpointConfig(v), false, `isEndpointConfig(${String(v)})`);
    assert.strictEqual(SessionConfig.isSessionConfig(v), false, `isSessionConfig(${String(v)})`);
    assert.strictEqual(StreamOptions.isStreamOptions(v), false, `isStreamOptions(${String(v)})`);
    assert.strictEqual(ResponseOptions.isResponseOptions(v), false, `isResponseOptions(${String(v)})`);
  }
  // Each check is for its own class only.
  assert.strictEqual(EndpointConfig.isEndpointConfig(sc), false);
  assert.strictEqual(SessionConfig.isSessionConfig(ec), false);
  assert.strictEqual(StreamOptions.isStreamOptions(ro), false);
  assert.strictEqual(ResponseOptions.isResponseOptions(so), false);
  assert.strictEqual(EndpointConfig.isEndpointConfig(Object.create(EndpointConfig.prototype)), false);
});

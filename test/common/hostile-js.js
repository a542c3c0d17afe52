'use strict';
// Hostile input from JavaScript (issue 6, part 5), run as a child process by
// test/hostile-js.test.js so that an abort shows up as a signal instead of
// taking the test runner down. It calls every public constructor and method
// with each value of a table of hostile values, in each argument and in each
// option, on live objects and on closed ones, and sorts every outcome:
//   ok       the call returned (the value was acceptable there)
//   coded    it threw, or its promise rejected, with an Error that has a code
//   user     it threw the error a hostile value's own trap threw
//   uncoded  anything else: an error without a code, a non-Error, a hang
// It prints { calls, outcomes, uncoded: [...] } as one JSON line.
const { quic, certs, ALPN, within, readAll } = require('.');

const {
  Endpoint, EndpointConfig, SessionConfig, StreamOptions, ResponseOptions,
  Session, Stream, SessionEvent, StreamEvent, DatagramEvent, EndpointStats, SessionStats,
} = quic;

const USER = Symbol('user error');
function userError() {
  const e = new Error('thrown by a hostile value');
  e[USER] = true;
  return e;
}

function detachedBuffer() {
  const ab = new ArrayBuffer(64);
  structuredClone(ab, { transfer: [ab] });
  return ab;
}

function hostileValues() {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const revokedFn = Proxy.revocable(() => {}, {});
  revokedFn.revoke();
  const throwing = new Proxy({}, {
    get() { throw userError(); },
    has() { throw userError(); },
    ownKeys() { throw userError(); },
    getOwnPropertyDescriptor() { throw userError(); },
    getPrototypeOf() { throw userError(); },
  });
  const viewBuffer = new ArrayBuffer(64);
  const view = new Uint8Array(viewBuffer);
  structuredClone(viewBuffer, { transfer: [viewBuffer] });
  return [
    ['null', null],
    ['true', true],
    ['-1', -1],
    ['-0', -0],
    ['1.5', 1.5],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['2^53', 2 ** 53],
    ['2^64', 2 ** 64],
    ['-1n', -1n],
    ['2^70n', 2n ** 70n],
    ['empty string', ''],
    ['huge string (32 MB)', 'x'.repeat(32 * 1024 * 1024)],
    ['string with NUL', 'a\0b'],
    ['lone surrogate', '\ud800'],
    ['symbol', Symbol('hostile')],
    ['function', () => {}],
    ['empty object', {}],
    ['null-prototype object', Object.create(null)],
    ['empty array', []],
    ['sparse huge array', new Array(2 ** 31)],
    ['array of symbols', [Symbol('a')]],
    ['Date', new Date(0)],
    ['RegExp', /x/],
    ['Map', new Map()],
    ['Promise that never settles', new Promise(() => {})],
    ['detached ArrayBuffer', detachedBuffer()],
    ['view on a detached ArrayBuffer', view],
    ['SharedArrayBuffer', new SharedArrayBuffer(16)],
    ['BigInt64Array', new BigInt64Array(2)],
    ['empty DataView', new DataView(new ArrayBuffer(0))],
    ['revoked proxy', revoked.proxy],
    ['revoked function proxy', revokedFn.proxy],
    ['proxy whose every trap throws', throwing],
    ['object with a throwing getter', Object.defineProperty({}, 'alpn', { get() { throw userError(); }, enumerable: true })],
    ['object with a throwing toString', { toString() { throw userError(); }, valueOf() { throw userError(); } }],
  ];
}

// Option names to poison one at a time, per options object.
const ENDPOINT_OPTIONS = ['address', 'resetTokenSecret', 'tokenSecret', 'addressLRUSize', 'disableStatelessReset',
  'maxConnectionsPerHost', 'maxConnectionsTotal', 'maxStatelessResets', 'retryLimit', 'retryTokenExpiration',
  'tokenExpiration', 'validateAddress', 'udp', 'ccAlgorithm', 'maxPayloadSize', 'maxStreamWindowOverride',
  'maxWindowOverride', 'unacknowledgedPacketThreshold', 'rxPacketLoss', 'txPacketLoss'];
const SESSION_OPTIONS = ['alpn', 'hostname', 'secure', 'transportParams', 'handshakeTimeout', 'qlog', 'http',
  'preferredAddressStrategy'];
const SECURE_OPTIONS = ['key', 'cert', 'ca', 'passphrase', 'rejectUnauthorized', 'ciphers', 'clientHello', 'crl',
  'keylog', 'ocsp', 'requestPeerCertificate', 'sigalgs', 'ticketKeys'];
const TRANSPORT_PARAMS = ['initialMaxStreamDataBidiLocal', 'initialMaxStreamDataBidiRemote', 'initialMaxStreamDataUni',
  'initialMaxData', 'initialMaxStreamsBidi', 'initialMaxStreamsUni', 'maxIdleTimeout', 'activeConnectionIdLimit',
  'ackDelayExponent', 'maxAckDelay', 'maxDatagramFrameSize', 'preferredAddress'];
const STREAM_OPTIONS = ['body', 'unidirectional', 'headers', 'trailers', 'priority', 'incremental'];
const RESPONSE_OPTIONS = ['body', 'headers', 'trailers', 'hints'];

const results = { calls: 0, outcomes: { ok: 0, coded: 0, user: 0, uncoded: 0 }, uncoded: [] };

function describe(e) {
  if (e instanceof Error) return `${e.constructor.name}${e.code ? ` ${e.code}` : ''}: ${e.message.slice(0, 120)}`;
  return `non-Error ${typeof e}`;
}

function classify(label, e) {
  if (e instanceof Error && e[USER]) return 'user';
  if (e instanceof Error && typeof e.code === 'string' && e.code.length > 0) return 'coded';
  results.uncoded.push(`${label}: ${describe(e)}`);
  return 'uncoded';
}

// Runs fn; a returned promise must settle within 2 s.
async function call(label, fn) {
  results.calls++;
  let kind;
  try {
    const r = fn();
    if (r && typeof r.then === 'function') {
      try {
        await within(Promise.resolve(r), 2000, label);
        kind = 'ok';
      } catch (e) {
        kind = e instanceof Error && /did not settle/.test(e.message) ? (results.uncoded.push(`${label}: hangs`), 'uncoded')
          : classify(label, e);
      }
    } else {
      kind = 'ok';
    }
  } catch (e) {
    kind = classify(label, e);
  }
  results.outcomes[kind]++;
  return kind;
}

const serverSecure = { key: certs.key, cert: certs.cert };
const clientOptions = () => ({ alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca } });
const serverOptions = () => ({ alpn: ALPN, secure: { ...serverSecure } });

// Every option of an options object, one at a time, set to the value.
function poisoned(base, names, value, nested) {
  const out = [];
  for (const n of names) {
    const o = base();
    if (nested) o[nested] = { ...(o[nested] || {}), [n]: value };
    else o[n] = value;
    out.push([nested ? `${nested}.${n}` : n, o]);
  }
  return out;
}

async function main() {
  const values = hostileValues();
  const open = [];      // endpoints to close at the end
  const keep = (e) => { open.push(e); return e; };

  // A live pair: a server, a client session, a stream each way.
  let serverStreamEvent;
  const server = keep(new Endpoint());
  server.onsession = ({ session }) => {
    // The first stream is kept for respondWith(); the others are answered
    // so that close() need not wait for them.
    session.onstream = (ev) => {
      if (!serverStreamEvent) { serverStreamEvent = ev; return; }
      ev.stream.readableNodeStream().on('error', () => {}).resume();
      try { ev.respondWith?.({}); } catch { /* unidirectional */ }
    };
  };
  server.listen(serverOptions());
  const client = keep(new Endpoint());
  const session = client.connect({ address: '127.0.0.1', port: server.address.port }, clientOptions());
  await within(session.handshake, 5000, 'handshake');
  const stream = session.open({ body: 'hello' });
  const tableStreams = [];
  for (let i = 0; i < 100 && !serverStreamEvent; i++) await new Promise((r) => setTimeout(r, 10));
  if (!serverStreamEvent) throw new Error('no server stream');

  for (const [vname, v] of values) {
    const L = (what) => `${what} with ${vname}`;
    // Constructors.
    await call(L('new Endpoint(v)'), () => keep(new Endpoint(v)));
    await call(L('new EndpointConfig(v)'), () => new EndpointConfig(v));
    await call(L("new SessionConfig(v, {})"), () => new SessionConfig(v, {}));
    await call(L("new SessionConfig('client', v)"), () => new SessionConfig('client', v));
    await call(L('new StreamOptions(v)'), () => new StreamOptions(v));
    await call(L('new ResponseOptions(v)'), () => new ResponseOptions(v));
    for (const C of [Session, Stream, SessionEvent, StreamEvent, DatagramEvent, EndpointStats, SessionStats]) {
      await call(L(`new ${C.name}(v)`), () => new C(v));
    }
    for (const [n, o] of poisoned(() => ({}), ENDPOINT_OPTIONS, v)) {
      await call(L(`new Endpoint({ ${n} })`), () => keep(new Endpoint(o)));
    }
    for (const side of ['client', 'server']) {
      const base = side === 'client' ? clientOptions : serverOptions;
      for (const [n, o] of [...poisoned(base, SESSION_OPTIONS, v), ...poisoned(base, SECURE_OPTIONS, v, 'secure'),
        ...poisoned(base, TRANSPORT_PARAMS, v, 'transportParams')]) {
        await call(L(`new SessionConfig('${side}', { ${n} })`), () => new SessionConfig(side, o));
      }
    }
    // Static checks answer false for anything that is not theirs.
    for (const C of [EndpointConfig, SessionConfig, StreamOptions, ResponseOptions]) {
      const name = Object.getOwnPropertyNames(C).find((k) => k.startsWith('is'));
      await call(L(`${C.name}.${name}(v)`), () => {
        if (C[name](v) !== false) throw new Error(`${name} accepted a hostile value`);
      });
    }

    // Endpoint methods, on fresh endpoints.
    await call(L('endpoint.listen(v)'), () => keep(new Endpoint()).listen(v));
    for (const [n, o] of [...poisoned(serverOptions, SESSION_OPTIONS, v), ...poisoned(serverOptions, SECURE_OPTIONS, v, 'secure')]) {
      await call(L(`endpoint.listen({ ${n} })`), () => keep(new Endpoint()).listen(o));
    }
    const port = server.address.port;
    await call(L('endpoint.connect(v)'), () => keep(new Endpoint()).connect(v, clientOptions()));
    await call(L('endpoint.connect({ address: v })'), () => keep(new Endpoint()).connect({ address: v, port }, clientOptions()));
    await call(L('endpoint.connect({ port: v })'), () => keep(new Endpoint()).connect({ address: '127.0.0.1', port: v }, clientOptions()));
    await call(L('endpoint.connect(addr, v)'), () => keep(new Endpoint()).connect({ address: '127.0.0.1', port }, v));
    await call(L('endpoint.connect(addr, opts, v)'), () => keep(new Endpoint()).connect({ address: '127.0.0.1', port }, clientOptions(), v));
    for (const [n, o] of [...poisoned(clientOptions, SESSION_OPTIONS, v), ...poisoned(clientOptions, SECURE_OPTIONS, v, 'secure'),
      ...poisoned(clientOptions, TRANSPORT_PARAMS, v, 'transportParams')]) {
      await call(L(`endpoint.connect(addr, { ${n} })`), () => {
        const s = keep(new Endpoint()).connect({ address: '127.0.0.1', port }, o);
        // An accepted option must still give a session that settles.
        s.handshake.catch(() => {});
        s.closed.catch(() => {});
      });
    }
    await call(L('endpoint.onsession = v'), () => { keep(new Endpoint()).onsession = v; });

    // Session methods, on the live session.
    await call(L('session.open(v)'), () => { tableStreams.push(session.open(v)); });
    for (const [n, o] of poisoned(() => ({}), STREAM_OPTIONS, v)) {
      await call(L(`session.open({ ${n} })`), () => {
        const st = session.open(o);
        st.closed.catch(() => {});
        tableStreams.push(st);
      });
    }
    await call(L('session.datagram(v)'), () => session.datagram(v));
    await call(L("session.datagram('x', v)"), () => session.datagram('x', v));
    await call(L('session.onstream = v'), () => { const prev = session.onstream; session.onstream = v; session.onstream = prev; });
    await call(L('session.ondatagram = v'), () => { const prev = session.ondatagram; session.ondatagram = v; session.ondatagram = prev; });

    // Stream methods, on the live stream and the server's side of it.
    await call(L('stream.setStreamConsumer(v)'), () => stream.setStreamConsumer(v));
    await call(L('respondWith(v)'), () => serverStreamEvent.respondWith(v));
    for (const [n, o] of poisoned(() => ({}), RESPONSE_OPTIONS, v)) {
      await call(L(`respondWith({ ${n} })`), () => serverStreamEvent.respondWith(o));
    }

    // Receivers of the wrong kind.
    for (const [C, methods] of [[Endpoint, ['listen', 'connect', 'close', 'destroy']],
      [Session, ['open', 'datagram', 'updateKey', 'close', 'cancel']],
      [Stream, ['readableNodeStream', 'readableWebStream', 'setStreamConsumer', 'cancel']]]) {
      for (const m of methods) {
        if (v === null || typeof v !== 'object') continue;
        await call(L(`${C.name}.prototype.${m}.call(v)`), () => C.prototype[m].call(v));
      }
    }
  }

  // Reasons given to cancel(): any value is allowed, nothing may throw
  // from inside the library. Each on its own stream or session.
  for (const [vname, v] of values) {
    await call(`stream.cancel(${vname})`, () => {
      const st = session.open({ body: 'x' });
      st.cancel(v);
      return st.closed.catch((e) => { if (e !== v) throw e; });
    });
    await call(`session.cancel(${vname})`, async () => {
      const e = keep(new Endpoint());
      const s = e.connect({ address: '127.0.0.1', port: server.address.port }, clientOptions());
      await s.handshake;
      s.cancel(v);
      await s.closed.catch((err) => { if (err !== v) throw err; });
    });
    await call(`endpoint.destroy(${vname})`, () => {
      const e = new Endpoint();
      e.destroy(v);
      return e.closed.catch((err) => { if (err !== v) throw err; });
    });
  }

  // Everything called again after close.
  for (const st of tableStreams) st.cancel();
  try { serverStreamEvent.respondWith({}); } catch { /* one of the table's calls responded */ }
  try { readAll(stream.readableNodeStream()).catch(() => {}); } catch { /* a table call took the reader */ }
  // cancel(), not close(): after this table the session holds streams whose
  // bodies (hostile values that were accepted) never end, and close() waits
  // for streams by design.
  session.cancel();
  await within(session.closed, 10000, 'session closed');
  for (const [vname, v] of [['no argument', undefined], ...values.slice(0, 8)]) {
    const L = (what) => `${what} after close with ${vname}`;
    await call(L('session.open(v)'), () => session.open(v));
    await call(L('session.datagram(v)'), () => session.datagram(v === undefined ? 'x' : v));
    await call(L('session.updateKey()'), () => session.updateKey());
    await call(L('session.close()'), () => session.close());
    await call(L('session.cancel(v)'), () => session.cancel(v));
    await call(L('stream.cancel(v)'), () => stream.cancel(v));
    await call(L('stream.setStreamConsumer(v)'), () => stream.setStreamConsumer(v === undefined ? () => {} : v));
    await call(L('stream.readableNodeStream()'), () => readAll(stream.readableNodeStream()));
    await call(L('respondWith(v)'), () => serverStreamEvent.respondWith(v === undefined ? {} : v));
    await call(L('session.stats.toJSON()'), () => session.stats.toJSON());
  }
  await within(client.close(), 5000, 'client close');
  for (const [vname, v] of [['no argument', undefined], ...values.slice(0, 8)]) {
    const L = (what) => `${what} after close with ${vname}`;
    await call(L('endpoint.listen(v)'), () => client.listen(v === undefined ? serverOptions() : v));
    await call(L('endpoint.connect(addr, v)'), () => client.connect({ address: '127.0.0.1', port: server.address.port }, v === undefined ? clientOptions() : v));
    await call(L('endpoint.close()'), () => client.close());
    await call(L('endpoint.destroy(v)'), () => client.destroy(v));
    await call(L('endpoint.stats.toJSON()'), () => client.stats.toJSON());
  }

  for (const e of open) e.destroy();
  await within(server.closed.catch(() => {}), 5000, 'server closed');
  console.log(JSON.stringify(results));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

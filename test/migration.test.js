'use strict';
// Paths (issue 4): client-chosen connection IDs, the server's preferred
// address, NAT rebinding (path validation), disableActiveMigration, qlog.
// A small UDP relay stands in for the network in between: it reads the
// long headers that pass and can move its server-facing side to a new port.
const test = require('node:test');
const assert = require('node:assert');
const dgram = require('node:dgram');
const { makeServer, connect, readAll, sha256, randomBytes, within, quic, certs, ALPN } = require('./common');

function bindUdp() {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

// The connection IDs of a long-header packet (RFC 9000 17.2), or null.
function longHeader(msg) {
  if (msg.length < 7 || !(msg[0] & 0x80)) return null;
  const dlen = msg[5];
  if (dlen > 20 || msg.length < 7 + dlen) return null;
  const dcid = msg.subarray(6, 6 + dlen);
  const slen = msg[6 + dlen];
  if (slen > 20 || msg.length < 7 + dlen + slen) return null;
  return { type: (msg[0] >> 4) & 3, dcid: Buffer.from(dcid), scid: Buffer.from(msg.subarray(7 + dlen, 7 + dlen + slen)) };
}

// One client <-> relay <-> server. rebind() is a NAT giving the client a new
// source port: the old mapping is gone, so replies to it are dropped.
async function makeRelay(serverPort) {
  const front = await bindUdp();
  let client = null;
  let back = null;
  const seen = { fromClient: [], fromServer: [], clientPackets: 0 };
  const onClient = [];
  const openBack = async () => {
    const s = await bindUdp();
    s.on('message', (msg) => {
      if (s !== back || !client) return;
      const h = longHeader(msg);
      if (h && seen.fromServer.length < 16) seen.fromServer.push(h);
      front.send(msg, client.port, client.address);
    });
    return s;
  };
  back = await openBack();
  front.on('message', (msg, rinfo) => {
    client = rinfo;
    seen.clientPackets++;
    const h = longHeader(msg);
    if (h && seen.fromClient.length < 16) seen.fromClient.push(h);
    for (const f of onClient) f(seen.clientPackets);
    back.send(msg, serverPort, '127.0.0.1');
  });
  return {
    port: front.address().port,
    seen,
    onClient,
    get backPort() { return back.address().port; },
    async rebind() {
      const old = back;
      back = await openBack();
      old.close();
    },
    close() {
      front.close();
      back.close();
    },
  };
}

function echoServer(options = {}) {
  const sessions = [];
  const server = makeServer({
    ...options,
    onsession: (s) => {
      sessions.push(s);
      s.onstream = async ({ stream, respondWith }) => {
        respondWith({ body: await readAll(stream.readableNodeStream()) });
      };
    },
  });
  return { server, sessions };
}

// Records of a JSON-SEQ text (RFC 7464: each record starts with 0x1E).
function qlogRecords(text) {
  assert.strictEqual(text[0], '\x1e', 'JSON-SEQ starts with a record separator');
  return text.split('\x1e').slice(1).map((r) => JSON.parse(r));
}

test('dcid and scid: the server sees the client-chosen connection IDs', async () => {
  const { server } = echoServer();
  const relay = await makeRelay(server.address.port);
  const dcid = Buffer.from('0123456789abcdef0123', 'latin1'); // 20 bytes
  const scid = Buffer.from('scid!');                          // 5 bytes: not our usual length
  const { client, session } = connect(relay.port, { session: { dcid, scid } });
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(session.qlog, undefined, 'no qlog unless asked');
  const data = randomBytes(300000, 11);
  const back = await within(readAll(session.open({ body: data }).readableNodeStream()), 20000, 'echo');
  assert.strictEqual(sha256(back), sha256(data));
  const first = relay.seen.fromClient[0];
  assert.strictEqual(first.type, 0, 'the first client packet is an Initial');
  assert.deepStrictEqual(first.dcid, dcid);
  assert.deepStrictEqual(first.scid, scid);
  // The server answers to the chosen SCID.
  assert.ok(relay.seen.fromServer.length > 0);
  for (const h of relay.seen.fromServer) assert.deepStrictEqual(h.dcid, scid);
  // The same SCID cannot be used twice on one endpoint at once.
  assert.throws(() => client.connect({ address: '127.0.0.1', port: relay.port },
                                     { alpn: ALPN, hostname: 'localhost', scid, secure: { ca: certs.ca } }),
                { code: 'ERR_INVALID_ARG_VALUE', message: /scid is in use/ });
  await within(client.close(), 5000, 'client close');
  await server.close();
  relay.close();
});

test('NAT rebinding: the client gets a new port mid-transfer; the session survives, data intact', async () => {
  const { server, sessions } = echoServer();
  const relay = await makeRelay(server.address.port);
  const firstPort = relay.backPort;
  let rebound = null;
  relay.onClient.push((n) => { if (n === 200 && !rebound) rebound = relay.rebind(); });
  const { client, session } = connect(relay.port);
  await within(session.handshake, 5000, 'handshake');
  const data = randomBytes(4 * 1024 * 1024, 12);
  const back = await within(readAll(session.open({ body: data }).readableNodeStream()), 30000, 'echo');
  assert.ok(rebound, 'the relay rebound during the transfer');
  await rebound;
  assert.strictEqual(sha256(back), sha256(data));
  assert.notStrictEqual(relay.backPort, firstPort);
  // The server validated the new path and moved to it.
  assert.strictEqual(sessions.length, 1);
  assert.strictEqual(sessions[0].remoteAddress.port, relay.backPort);
  await within(client.close(), 5000, 'client close');
  await server.close();
  relay.close();
});

// The transport parameters a session's qlog says the peer sent.
function remoteParams(records) {
  const r = records.find((e) => e.name === 'transport:parameters_set' && e.data.owner === 'remote');
  assert.ok(r, 'the qlog has the peer\'s transport parameters');
  return r.data;
}

test('disableActiveMigration: the client is told; a NAT rebinding is still followed (RFC 9000 9)', async () => {
  const { server, sessions } = echoServer({ session: { transportParams: { disableActiveMigration: true } } });
  const relay = await makeRelay(server.address.port);
  let rebound = null;
  relay.onClient.push((n) => { if (n === 100 && !rebound) rebound = relay.rebind(); });
  const { client, session } = connect(relay.port, { session: { qlog: true } });
  await within(session.handshake, 5000, 'handshake');
  const data = randomBytes(2 * 1024 * 1024, 13);
  const back = await within(readAll(session.open({ body: data }).readableNodeStream()), 30000, 'echo');
  await rebound;
  assert.strictEqual(sha256(back), sha256(data));
  // A rebinding is not active migration: the server validates and follows it.
  assert.strictEqual(sessions[0].remoteAddress.port, relay.backPort);
  const qlog = readAll(session.qlog);
  await within(client.close(), 5000, 'client close');
  assert.strictEqual(remoteParams(qlogRecords((await qlog).toString())).disable_active_migration, true);
  await server.close();
  relay.close();
});

test('transportParams: every field reaches the peer as given (read from the peer\'s qlog)', async () => {
  const tp = {
    ackDelayExponent: 5, activeConnectionIdLimit: 4, disableActiveMigration: true, initialMaxData: 3000000,
    initialMaxStreamDataBidiLocal: 200001, initialMaxStreamDataBidiRemote: 200002, initialMaxStreamDataUni: 200003,
    initialMaxStreamsBidi: 17, initialMaxStreamsUni: 19, maxAckDelay: 40, maxDatagramFrameSize: 1000,
    maxIdleTimeout: 12345, preferredAddress: { ipv4: { address: '127.0.0.2', port: 4999 } },
  };
  const { server } = echoServer({ session: { transportParams: tp } });
  const { client, session } = connect(server, { session: { qlog: true, preferredAddressStrategy: 'ignore' } });
  await within(session.handshake, 5000, 'handshake');
  const qlog = readAll(session.qlog);
  await within(client.close(), 5000, 'client close');
  const p = remoteParams(qlogRecords((await qlog).toString()));
  assert.strictEqual(p.ack_delay_exponent, 5);
  assert.strictEqual(p.active_connection_id_limit, 4);
  assert.strictEqual(p.disable_active_migration, true);
  assert.strictEqual(p.initial_max_data, 3000000);
  assert.strictEqual(p.initial_max_stream_data_bidi_local, 200001);
  assert.strictEqual(p.initial_max_stream_data_bidi_remote, 200002);
  assert.strictEqual(p.initial_max_stream_data_uni, 200003);
  assert.strictEqual(p.initial_max_streams_bidi, 17);
  assert.strictEqual(p.initial_max_streams_uni, 19);
  assert.strictEqual(p.max_ack_delay, 40);
  assert.strictEqual(p.max_datagram_frame_size, 1000);
  assert.strictEqual(p.max_idle_timeout, 12345);
  assert.ok(p.preferred_address, 'the preferred address was sent');
  assert.strictEqual(p.preferred_address.port_v4, 4999);
  await server.close();
});

test('transportParams: by default each side announces a max_ack_delay of 2 ms, not 25 (read from the peer\'s qlog)', async () => {
  const { server, sessions } = echoServer({ session: { qlog: true } });
  const { client, session } = connect(server, { session: { qlog: true } });
  await within(session.handshake, 5000, 'handshake');
  const qlogs = [readAll(session.qlog), readAll(sessions[0].qlog)];
  await within(client.close(), 5000, 'client close');
  const [atClient, atServer] = (await Promise.all(qlogs)).map((q) => remoteParams(qlogRecords(q.toString())));
  assert.strictEqual(atClient.max_ack_delay, 2, 'the server\'s, as the client read it');
  assert.strictEqual(atServer.max_ack_delay, 2, 'the client\'s, as the server read it');
  await server.close();
});

// The server's socket is bound to a wildcard address, so it receives on
// 127.0.0.2 as well and answers from it: one Endpoint serves both addresses.
async function preferredExchange(strategy, bind = '0.0.0.0') {
  const { server, sessions } = echoServer({
    endpoint: { address: { address: bind, port: 0 } },
    session: { transportParams: { preferredAddress: { ipv4: { address: '127.0.0.2' } } } },
  });
  const port = server.address.port;
  const { client, session } = connect(port, { session: { preferredAddressStrategy: strategy } });
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(session.remoteAddress.address, '127.0.0.1');
  const data = randomBytes(2 * 1024 * 1024, 14);
  const back = await within(readAll(session.open({ body: data }).readableNodeStream()), 30000, 'echo');
  assert.strictEqual(sha256(back), sha256(data));
  // The move starts once the handshake is confirmed and takes a path
  // validation round trip: wait for it (bounded), or give 'ignore' as long.
  const deadline = Date.now() + (strategy === 'use' ? 5000 : 300);
  while (session.remoteAddress.address === '127.0.0.1' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // Data keeps flowing after the move (or the decision to stay).
  const more = randomBytes(100000, 15);
  const back2 = await within(readAll(session.open({ body: more }).readableNodeStream()), 30000, 'second echo');
  assert.strictEqual(sha256(back2), sha256(more));
  const remote = session.remoteAddress;
  assert.strictEqual(sessions.length, 1);
  await within(client.close(), 5000, 'client close');
  await server.close();
  return { remote, port };
}

test("preferredAddress with 'use': the client moves to the server's preferred address", async () => {
  const { remote, port } = await preferredExchange('use');
  assert.strictEqual(remote.address, '127.0.0.2');
  assert.strictEqual(remote.port, port);
});

test("preferredAddress with 'use' on a dual-stack server (bound to ::): the IPv4 client moves too", async () => {
  const { remote, port } = await preferredExchange('use', '::');
  assert.strictEqual(remote.address, '127.0.0.2');
  assert.strictEqual(remote.port, port);
});

test("preferredAddress with 'ignore': the client stays on the address it connected to", async () => {
  const { remote, port } = await preferredExchange('ignore');
  assert.strictEqual(remote.address, '127.0.0.1');
  assert.strictEqual(remote.port, port);
});

test('qlog: session.qlog is JSON-SEQ with ngtcp2\'s records, on both sides', async () => {
  let serverQlog;
  const { server } = echoServer({ session: { qlog: true } });
  server.onsession = ({ session: s }) => {
    serverQlog = readAll(s.qlog);
    s.onstream = async ({ stream, respondWith }) => {
      respondWith({ body: await readAll(stream.readableNodeStream()) });
    };
  };
  const { client, session } = connect(server, { session: { qlog: true } });
  await within(session.handshake, 5000, 'handshake');
  const clientQlog = readAll(session.qlog); // read while the exchange runs
  const data = randomBytes(100000, 16);
  const back = await within(readAll(session.open({ body: data }).readableNodeStream()), 10000, 'echo');
  assert.strictEqual(sha256(back), sha256(data));
  await within(client.close(), 5000, 'client close');
  for (const [side, q] of [['client', clientQlog], ['server', serverQlog]]) {
    const records = qlogRecords((await within(q, 5000, `${side} qlog end`)).toString());
    const head = records[0];
    assert.strictEqual(head.qlog_format, 'JSON-SEQ');
    assert.strictEqual(head.trace.vantage_point.type, side);
    const names = new Set(records.slice(1).map((r) => r.name));
    for (const n of ['transport:parameters_set', 'transport:packet_sent', 'transport:packet_received']) {
      assert.ok(names.has(n), `${side} qlog has ${n}`);
    }
    const sent = records.find((r) => r.name === 'transport:packet_sent');
    assert.strictEqual(typeof sent.time, 'number');
    assert.ok(sent.data.header && typeof sent.data.header.packet_type === 'string');
  }
  await server.close();
});

test('qlog: output nobody reads is capped at 1 MiB of whole records', async () => {
  // Internet-sized packets: a record per packet is what fills the buffer.
  const endpoint = { maxPayloadSize: 1452 };
  const { server } = echoServer({ endpoint });
  const { client, session } = connect(server, { endpoint, session: { qlog: true } });
  try {
    await within(session.handshake, 5000, 'handshake');
    const data = randomBytes(8 * 1024 * 1024, 17);
    const back = await within(readAll(session.open({ body: data }).readableNodeStream()), 30000, 'echo');
    assert.strictEqual(sha256(back), sha256(data));
    await within(client.close(), 5000, 'client close');
    const text = (await within(readAll(session.qlog), 5000, 'qlog end')).toString();
    assert.ok(text.length <= 1024 * 1024, `${text.length} bytes`);
    assert.ok(text.length > 512 * 1024, 'an 8 MB transfer fills the buffer');
    qlogRecords(text); // every record whole
  } finally {
    client.destroy();
    server.destroy();
  }
});

test('dcid, scid, qlog, preferredAddress: argument checks', () => {
  const cfg = (o) => new quic.SessionConfig('client', { alpn: ALPN, ...o });
  assert.throws(() => cfg({ dcid: Buffer.alloc(7) }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => cfg({ dcid: Buffer.alloc(21) }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => cfg({ scid: Buffer.alloc(21) }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => cfg({ scid: '' }), { code: 'ERR_QUIC_UNSUPPORTED' });
  assert.throws(() => cfg({ qlog: 1 }), { code: 'ERR_INVALID_ARG_TYPE' });
  cfg({ dcid: 'eight-by', scid: new Uint8Array(20), qlog: true });
  const srv = (pa) => new quic.SessionConfig('server', { alpn: ALPN, secure: { key: certs.key, cert: certs.cert },
                                                         transportParams: { preferredAddress: pa } });
  assert.throws(() => srv({ ipv4: { address: '::1' } }), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => srv({ ipv4: { address: '0.0.0.0' } }), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => srv({ ipv6: { address: '::1', port: 70000 } }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => srv({ ipv4: 'x' }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => srv(5), { code: 'ERR_INVALID_ARG_TYPE' });
  srv({ ipv4: { address: '127.0.0.2', port: 1234 }, ipv6: new (require('node:net').SocketAddress)({ address: '::1', family: 'ipv6' }) });
});

test('address.flowlabel: IPv6 packets of the endpoint carry the flow label', async () => {
  const { spawn, spawnSync } = require('node:child_process');
  const os = require('node:os');
  const fs = require('node:fs');
  const path = require('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-flowlabel-'));
  const bin = path.join(dir, 'flowlabel_rx');
  try {
    const b = spawnSync('cc', ['-Wall', '-Wextra', '-O1', '-o', bin, path.join(__dirname, 'c', 'flowlabel_rx.c')],
                        { encoding: 'utf8', timeout: 60000 });
    assert.strictEqual(b.status, 0, `building the receiver failed:\n${b.stderr}`);
    for (const label of [0x12345, 0xfffff]) {
      // The receiver is not a QUIC server: the client's Initials (and their
      // retransmissions) are what it sees.
      const rx = spawn(bin, ['2'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      const port = await within(new Promise((resolve) => {
        rx.stdout.on('data', (d) => {
          out += d;
          const m = /port (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
      }), 5000, 'receiver port');
      const exited = new Promise((resolve) => rx.once('exit', resolve));
      const client = new quic.Endpoint({ address: { address: '::1', family: 'ipv6', flowlabel: label } });
      const session = client.connect({ address: '::1', port, family: 'ipv6' },
                                     { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca } });
      session.closed.catch(() => {});
      await within(exited, 10000, 'receiver exit');
      client.destroy();
      const labels = [...out.matchAll(/label 0x([0-9a-f]+)/g)].map((m) => parseInt(m[1], 16));
      assert.strictEqual(labels.length, 2, out);
      for (const l of labels) assert.strictEqual(l, label);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

'use strict';
// Session tickets, resumption, 0-RTT (accepted, rejected and replayed) and
// NEW_TOKEN address validation tokens, over loopback.
const test = require('node:test');
const assert = require('node:assert');
const dgram = require('node:dgram');
const { quic, certs, ALPN, makeServer, connect, readAll, sha256, within, randomBytes } = require('./common');
const { createRelay, isLongHeader, longType } = require('./common/relay');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const KEYS_A = Buffer.alloc(48, 0xa5);
const KEYS_B = Buffer.alloc(48, 0x5a);

// A server that records every stream body and datagram with what it knew
// when they arrived.
function recordingServer(secure = {}, endpoint = {}, session = {}) {
  const seen = { streams: [], datagrams: [], sessions: [] };
  const server = makeServer({
    endpoint,
    session,
    secure: { ticketKeys: KEYS_A, ...secure },
    onsession: (s) => {
      seen.sessions.push(s);
      s.ondatagram = ({ datagram, early }) => seen.datagrams.push({ text: Buffer.from(datagram).toString(), early });
      s.onstream = async ({ stream, respondWith }) => {
        respondWith({ body: 'ok' });
        const body = await readAll(stream.readableNodeStream());
        seen.streams.push({ hash: sha256(body), length: body.length });
      };
    },
  });
  return { server, seen };
}

// A first, full handshake that leaves a ticket behind.
async function getTicket(server, client) {
  const session = client.connect({ address: '127.0.0.1', port: server.address.port },
                                 { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca } });
  await within(session.handshake, 5000, 'first handshake');
  assert.strictEqual(session.earlyData, false);
  // The ticket follows the handshake; a round trip makes sure it is here.
  await readAll(session.open({ body: 'first' }).readableNodeStream());
  const deadline = Date.now() + 3000;
  while (session.sessionTicket === undefined && Date.now() < deadline) await sleep(10);
  const ticket = session.sessionTicket;
  assert.ok(ticket, 'the client received a session ticket');
  assert.ok(ticket.sessionTicket instanceof ArrayBuffer && ticket.sessionTicket.byteLength > 0);
  assert.ok(ticket.transportParams instanceof ArrayBuffer && ticket.transportParams.byteLength > 0);
  await within(session.close(), 5000, 'first close');
  // Still readable once the session is gone.
  assert.strictEqual(Buffer.compare(Buffer.from(session.sessionTicket.sessionTicket), Buffer.from(ticket.sessionTicket)), 0);
  return ticket;
}

function resume(client, port, ticket, session = {}) {
  return client.connect({ address: '127.0.0.1', port },
                        { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca }, ...session }, ticket);
}

test('resumption: streams and datagrams sent before the handshake go out as 0-RTT', async () => {
  const { server, seen } = recordingServer();
  const client = new quic.Endpoint();
  const ticket = await getTicket(server, client);

  const s = resume(client, server.address.port, ticket);
  const body = randomBytes(100000, 7);
  const stream = s.open({ body });                      // before the handshake
  assert.strictEqual(s.datagram('early datagram'), true);
  await within(s.handshake, 5000, 'resumed handshake');
  assert.strictEqual((await readAll(stream.readableNodeStream())).toString(), 'ok');
  assert.strictEqual(s.earlyData, true, 'the server accepted our 0-RTT data');
  const deadline = Date.now() + 3000;
  while ((seen.streams.length < 2 || seen.datagrams.length < 1) && Date.now() < deadline) await sleep(10);
  assert.deepStrictEqual(seen.streams[1], { hash: sha256(body), length: body.length });
  assert.deepStrictEqual(seen.datagrams, [{ text: 'early datagram', early: true }]);
  const serverSession = seen.sessions[1];
  await within(serverSession.handshake, 3000, 'server handshake');
  assert.strictEqual(serverSession.earlyData, true, 'the server saw 0-RTT data');
  assert.strictEqual(seen.sessions[0].earlyData, false);
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
});

test('resumption: servers sharing ticketKeys resume each other\'s clients; others refuse 0-RTT and the data is resent as 1-RTT', async () => {
  const a = recordingServer({ ticketKeys: KEYS_A });
  // Another server of the same fleet. (It must be up before the ticket is
  // issued: a server refuses 0-RTT from tickets older than its replay memory.)
  const b = recordingServer({ ticketKeys: KEYS_A });
  const client = new quic.Endpoint();
  const ticket = await getTicket(a.server, client);
  const sb = resume(client, b.server.address.port, ticket);
  const body1 = randomBytes(150000, 11);
  const st1 = sb.open({ body: body1 });
  await within(sb.handshake, 5000, 'fleet handshake');
  assert.strictEqual((await readAll(st1.readableNodeStream())).toString(), 'ok');
  assert.strictEqual(sb.earlyData, true);

  // A server with other keys cannot open the ticket: a full handshake, the
  // early stream is reopened and its whole body sent again.
  const c = recordingServer({ ticketKeys: KEYS_B });
  const sc = resume(client, c.server.address.port, ticket);
  const body2 = randomBytes(150000, 12);
  const st2 = sc.open({ body: body2 });
  const st3 = sc.open({ body: 'second early stream' });
  assert.strictEqual(sc.datagram('lost with the 0-RTT flight'), true);
  await within(sc.handshake, 5000, 'refused handshake');
  assert.strictEqual(sc.earlyData, false);
  assert.strictEqual((await readAll(st2.readableNodeStream())).toString(), 'ok');
  assert.strictEqual((await readAll(st3.readableNodeStream())).toString(), 'ok');
  assert.strictEqual(st2.id, 0n);
  assert.strictEqual(st3.id, 4n);
  const deadline = Date.now() + 3000;
  while (c.seen.streams.length < 2 && Date.now() < deadline) await sleep(10);
  const hashes = c.seen.streams.map((x) => x.hash).sort();
  assert.deepStrictEqual(hashes, [sha256(body2), sha256(Buffer.from('second early stream'))].sort());
  assert.strictEqual(c.seen.sessions[0].earlyData, false);
  await within(client.close(), 5000, 'client close');
  for (const x of [a, b, c]) await within(x.server.close(), 5000, 'server close');
});

test('resumption: an expired ticket (sessionTimeout) means a full handshake, and the data still arrives', async () => {
  const { server, seen } = recordingServer({ sessionTimeout: 1 });
  const client = new quic.Endpoint();
  const ticket = await getTicket(server, client);
  await sleep(2100);
  const s = resume(client, server.address.port, ticket);
  const st = s.open({ body: 'after expiry' });
  await within(s.handshake, 5000, 'handshake');
  assert.strictEqual(s.earlyData, false);
  assert.strictEqual((await readAll(st.readableNodeStream())).toString(), 'ok');
  const deadline = Date.now() + 3000;
  while (seen.streams.length < 2 && Date.now() < deadline) await sleep(10);
  assert.strictEqual(seen.streams[1].hash, sha256(Buffer.from('after expiry')));
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
});

test('0-RTT anti-replay: a replayed first flight does not deliver its early data twice', async () => {
  const { server, seen } = recordingServer({}, {}, { handshakeTimeout: 1000 });
  const first = new quic.Endpoint();
  const ticket = await getTicket(server, first);
  await within(first.close(), 5000, 'first client close');

  // A relay that records what the client sends before the server answers.
  const serverPort = server.address.port;
  let answered = false;
  const flight = [];
  const relay = await createRelay(serverPort, (msg, dir) => {
    if (dir === 'down') answered = true;
    else if (!answered) flight.push(Buffer.from(msg));
    return msg;
  });
  const client = new quic.Endpoint();
  const s = resume(client, relay.port, ticket);
  s.open({ body: 'pay once' });
  await within(s.handshake, 5000, 'resumed handshake');
  assert.strictEqual(s.earlyData, true);
  let deadline = Date.now() + 3000;
  while (seen.streams.length < 2 && Date.now() < deadline) await sleep(10);
  assert.strictEqual(seen.streams.length, 2);
  assert.strictEqual(seen.streams[1].hash, sha256(Buffer.from('pay once')));
  await within(s.close(), 5000, 'resumed close');
  await within(seen.sessions[1].closed, 5000, 'server side closed');
  await sleep(500); // the closed session stops lingering; its connection IDs are gone
  assert.ok(flight.length >= 1, 'the first flight was captured');

  // An attacker sends the captured flight again from another port.
  const attacker = dgram.createSocket('udp4');
  await new Promise((resolve) => attacker.bind(0, '127.0.0.1', resolve));
  for (const msg of flight) attacker.send(msg, serverPort, '127.0.0.1');
  deadline = Date.now() + 3000;
  while (seen.sessions.length < 3 && Date.now() < deadline) await sleep(10);
  assert.strictEqual(seen.sessions.length, 3, 'the replayed ClientHello reached the server');
  await sleep(500);
  assert.strictEqual(seen.streams.length, 2, 'the replayed 0-RTT stream was not delivered');
  assert.strictEqual(seen.sessions[2].earlyData, false);
  attacker.close();
  await relay.close();
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
});

test('NEW_TOKEN: the next connection skips Retry until tokenExpiration', async () => {
  const { server } = recordingServer({}, { validateAddress: true, addressLRUSize: 0, tokenExpiration: 1 });
  let retries = 0;
  const relay = await createRelay(server.address.port, (msg, dir) => {
    if (dir === 'down' && isLongHeader(msg) && msg.readUInt32BE(1) === 1 && longType(msg) === 3) retries++;
    return msg;
  });
  const client = new quic.Endpoint();
  const round = async (text) => {
    const s = client.connect({ address: '127.0.0.1', port: relay.port },
                             { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca } });
    await within(s.handshake, 5000, 'handshake');
    assert.strictEqual((await readAll(s.open({ body: text }).readableNodeStream())).toString(), 'ok');
    await sleep(50); // NEW_TOKEN travels with the handshake's last flight
    await within(s.close(), 5000, 'close');
  };
  await round('one');
  assert.strictEqual(retries, 1, 'the first connection is validated by Retry');
  await round('two');
  assert.strictEqual(retries, 1, 'the token from the first connection validated the second');
  await sleep(2100);
  await round('three');
  assert.strictEqual(retries, 2, 'an expired token is ignored: Retry again');
  await relay.close();
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
});

test('resumption arguments: bad tickets are ignored; bad options and early opens throw', async () => {
  const { server, seen } = recordingServer();
  const client = new quic.Endpoint();
  // Garbage is ignored: a full handshake, as the seed says. A stream opened
  // early on a resumed session waits for the handshake instead of 0-RTT.
  const s = resume(client, server.address.port, { sessionTicket: Buffer.from('not a ticket at all'),
                                                  transportParams: new ArrayBuffer(3) });
  const early = s.open({ body: 'queued' });
  assert.strictEqual(early.id, undefined, 'no stream credit before the handshake');
  await within(s.handshake, 5000, 'handshake');
  assert.strictEqual(s.earlyData, false);
  assert.strictEqual((await readAll(early.readableNodeStream())).toString(), 'ok');
  assert.strictEqual((await readAll(s.open({ body: 'after' }).readableNodeStream())).toString(), 'ok');
  assert.strictEqual(seen.streams.length, 2);
  // A session that is not resumed cannot open before its handshake.
  const plain = connect(server);
  assert.throws(() => plain.session.open({ body: 'x' }), { code: 'ERR_INVALID_STATE' });
  await within(plain.session.handshake, 5000, 'plain handshake');
  assert.strictEqual(plain.session.earlyData, false);
  // A server has no ticket of its own to give.
  assert.strictEqual(seen.sessions[0].sessionTicket, undefined);

  assert.throws(() => client.connect({ address: '127.0.0.1', port: 1 }, {}, 'ticket'), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => client.connect({ address: '127.0.0.1', port: 1 }, {}, { sessionTicket: 'x' }),
                { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => client.connect({ address: '127.0.0.1', port: 1 }, {}, { sessionTicket: Buffer.alloc(20000) }),
                { code: 'ERR_OUT_OF_RANGE' });
  const kc = { key: certs.key, cert: certs.cert };
  assert.throws(() => new quic.SessionConfig('server', { secure: { ...kc, ticketKeys: Buffer.alloc(32) } }),
                { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => new quic.SessionConfig('server', { secure: { ...kc, ticketKeys: 48 } }),
                { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new quic.SessionConfig('server', { secure: { ...kc, sessionTimeout: 0 } }),
                { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new quic.SessionConfig('server', { secure: { ...kc, sessionTimeout: '300' } }),
                { code: 'ERR_INVALID_ARG_TYPE' });

  // With several ALPNs the protocol is unknown before the handshake, so an
  // early request cannot be framed: open() waits for the handshake.
  const h3server = new quic.Endpoint();
  h3server.listen({ alpn: ['h3', ALPN], secure: { key: certs.key, cert: certs.cert } });
  h3server.onsession = ({ session }) => {
    session.onstream = ({ respondWith }) => respondWith({ headers: { ':status': 200 }, body: 'h3' });
  };
  const both = { alpn: ['h3', ALPN], hostname: 'localhost', secure: { ca: certs.ca } };
  const h3first = client.connect({ address: '127.0.0.1', port: h3server.address.port }, both);
  await within(h3first.handshake, 5000, 'h3 handshake');
  await readAll(h3first.open({ headers: { ':method': 'GET' } }).readableNodeStream());
  let deadline = Date.now() + 3000;
  while (h3first.sessionTicket === undefined && Date.now() < deadline) await sleep(10);
  const h3ticket = h3first.sessionTicket;
  assert.ok(h3ticket);
  await within(h3first.close(), 5000, 'h3 close');
  const h3again = client.connect({ address: '127.0.0.1', port: h3server.address.port }, both, h3ticket);
  assert.throws(() => h3again.open({ headers: { ':method': 'GET' } }), { code: 'ERR_INVALID_STATE' });
  await within(h3again.handshake, 5000, 'h3 resumed handshake');
  const r = h3again.open({ headers: { ':method': 'GET' } });
  assert.strictEqual((await r.headers)[':status'], 200);
  assert.strictEqual((await readAll(r.readableNodeStream())).toString(), 'h3');
  await within(client.close(), 5000, 'client close');
  await within(plain.client.close(), 5000, 'plain client close');
  await within(server.close(), 5000, 'server close');
  await within(h3server.close(), 5000, 'h3 server close');
});

// An HTTP/3 server that echoes what it knew about each request.
function h3Server(ticketKeys, seen) {
  const server = new quic.Endpoint();
  server.listen({ secure: { key: certs.key, cert: certs.cert, ticketKeys } });
  server.onsession = ({ session }) => {
    session.onstream = async ({ stream, respondWith }) => {
      const headers = await stream.headers;
      const body = await readAll(stream.readableNodeStream());
      const trailers = await stream.trailers;
      seen.push({ path: headers[':path'], hash: sha256(body), trailer: trailers?.['x-check'] });
      respondWith({ headers: { ':status': 200 }, body: `${headers[':path']} ${body.length}` });
    };
  };
  return server;
}

test('HTTP/3 0-RTT: requests sent before the handshake, accepted, and resent as 1-RTT when refused', async () => {
  const seen = [];
  const a = h3Server(KEYS_A, seen);
  const b = h3Server(KEYS_B, seen);
  const client = new quic.Endpoint();
  const opts = { hostname: 'localhost', secure: { ca: certs.ca } }; // alpn: 'h3' only (the default)
  const first = client.connect({ address: '127.0.0.1', port: a.address.port }, opts);
  await within(first.handshake, 5000, 'first handshake');
  await readAll(first.open({ headers: { ':method': 'GET', ':path': '/first' } }).readableNodeStream());
  let deadline = Date.now() + 3000;
  while (first.sessionTicket === undefined && Date.now() < deadline) await sleep(10);
  const ticket = first.sessionTicket;
  assert.ok(ticket);
  await within(first.close(), 5000, 'first close');

  for (const [server, accepted] of [[a, true], [b, false]]) {
    const s = client.connect({ address: '127.0.0.1', port: server.address.port }, opts, ticket);
    const body = randomBytes(60000, accepted ? 21 : 22);
    const post = s.open({ headers: { ':method': 'POST', ':path': '/post' }, body, trailers: { 'x-check': 'yes' } });
    const get = s.open({ headers: { ':method': 'GET', ':path': '/get' } });
    await within(s.handshake, 5000, 'resumed handshake');
    assert.strictEqual(s.earlyData, accepted);
    assert.strictEqual((await post.headers)[':status'], 200);
    assert.strictEqual((await readAll(post.readableNodeStream())).toString(), '/post 60000');
    assert.strictEqual((await readAll(get.readableNodeStream())).toString(), '/get 0');
    const mine = seen.filter((x) => x.path === '/post' && x.hash === sha256(body));
    assert.strictEqual(mine.length, 1, 'the request arrived exactly once');
    assert.strictEqual(mine[0].trailer, 'yes');
    await within(s.close(), 5000, 'close');
  }
  await within(client.close(), 5000, 'client close');
  await within(a.close(), 5000, 'server a close');
  await within(b.close(), 5000, 'server b close');
});

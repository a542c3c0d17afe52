'use strict';
// Endpoint features: stateless reset with a shared secret, ALPN chosen by the
// server's preference, SNI, the total connection limit, and socket buffers.
const test = require('node:test');
const assert = require('node:assert');
const crypto = require('node:crypto');
const { quic, makeServer, connect, certs, readAll, within } = require('./common');

const tick = (ms) => new Promise((r) => setTimeout(r, ms));

function echoOnce(session) {
  session.onstream = async ({ stream, respondWith }) => {
    respondWith({ body: await readAll(stream.readableNodeStream()) });
  };
}

test('stateless reset: a restarted server with the same secret resets a stale session', async () => {
  const resetTokenSecret = crypto.randomBytes(16);
  const server = makeServer({ endpoint: { resetTokenSecret }, onsession: echoOnce });
  const port = server.address.port;
  const { client, session } = connect(server);
  await within(session.handshake, 5000, 'handshake');
  // A round trip first: the session is established on both sides (the
  // handshake confirmed), so what follows are short-header packets.
  assert.strictEqual((await readAll(session.open({ body: 'ping' }).readableNodeStream())).toString(), 'ping');
  // The server vanishes without a word, as after a crash.
  server.destroy();
  await tick(50);
  const restarted = makeServer({ endpoint: { resetTokenSecret, address: { port } } });
  assert.strictEqual(restarted.address.port, port);
  // The client's next packet reaches a server that does not know the
  // connection: it answers with a stateless reset the client can verify.
  session.open({ body: Buffer.alloc(2000, 1) });
  await assert.rejects(within(session.closed, 5000, 'closed'), { code: 'ERR_QUIC_STATELESS_RESET' });
  assert.ok(restarted.stats.statelessResetCount >= 1n);
  await client.close();
  await restarted.close();
});

test('stateless reset: disabled, the stale session is not reset', async () => {
  const resetTokenSecret = crypto.randomBytes(16);
  const server = makeServer({ endpoint: { resetTokenSecret } });
  const port = server.address.port;
  const { client, session } = connect(server, { session: { transportParams: { maxIdleTimeout: 800 } } });
  await within(session.handshake, 5000, 'handshake');
  server.destroy();
  await tick(50);
  const restarted = makeServer({ endpoint: { resetTokenSecret, disableStatelessReset: true, address: { port } } });
  session.open({ body: Buffer.alloc(2000, 1) });
  // No reset: the session ends by idle timeout instead, which fulfils.
  await within(session.closed, 5000, 'closed');
  assert.strictEqual(restarted.stats.statelessResetCount, 0n);
  await client.close();
  await restarted.close();
});

test('ALPN: the server picks by its own order of preference', async () => {
  const server = makeServer({ session: { alpn: ['zeta', 'alpha', 'beta'] } });
  let serverAlpn;
  server.onsession = async ({ session }) => { await session.handshake; serverAlpn = session.alpn; };
  const { client, session } = connect(server, { session: { alpn: ['beta', 'alpha'] } });
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(session.alpn, 'alpha');
  await tick(20);
  assert.strictEqual(serverAlpn, 'alpha');
  await client.close();
  await server.close();
});

test('SNI: the server sees the client hostname as session.servername', async () => {
  let servername;
  const server = makeServer({
    onsession: async (s) => { await s.handshake; servername = s.servername; },
  });
  const { client, session } = connect(server, { session: { hostname: 'localhost' } });
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(session.servername, 'localhost');
  await tick(20);
  assert.strictEqual(servername, 'localhost');
  await client.close();
  await server.close();
});

test('maxConnectionsTotal: sessions past the total are refused and counted as busy', async () => {
  const server = makeServer({
    endpoint: { maxConnectionsTotal: 2 },
    onsession: (s) => { s.onstream = async ({ stream, respondWith }) => respondWith({ body: await readAll(stream.readableNodeStream()) }); },
  });
  const a = connect(server);
  const b = connect(server);
  await within(Promise.all([a.session.handshake, b.session.handshake]), 5000, 'two handshakes');
  const c = connect(server);
  await assert.rejects(within(c.session.handshake, 5000, 'third'),
                       { code: 'ERR_QUIC_TRANSPORT_ERROR', errorCode: 2n });
  assert.ok(server.stats.serverBusyCount >= 1n);
  // When one leaves, there is room again.
  await a.client.close();
  await tick(50);
  const d = connect(server);
  await within(d.session.handshake, 5000, 'fourth after one closed');
  const back = await readAll(d.session.open({ body: 'room again' }).readableNodeStream());
  assert.strictEqual(back.toString(), 'room again');
  for (const e of [b, c, d]) await e.client.close();
  await server.close();
});

test('keys and certificates as PEM strings and as arrays', async () => {
  const server = new quic.Endpoint();
  server.listen({ alpn: 'xyz', secure: { key: [certs.key.toString()], cert: [certs.cert.toString()] } });
  const client = new quic.Endpoint();
  const session = client.connect({ address: '127.0.0.1', port: server.address.port },
                                 { alpn: 'xyz', hostname: 'localhost', secure: { ca: [certs.ca.toString()] } });
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(session.validationError, undefined);
  await client.close();
  await server.close();
});

// The kernel's own view of a socket's buffers: ss reads them over sock_diag
// (rb and tb, already doubled by the kernel for its bookkeeping).
function socketBuffers(port) {
  const out = require('node:child_process').execFileSync('ss', ['-uamnH', `sport = :${port}`], { encoding: 'utf8' });
  const m = /skmem:\(r\d+,rb(\d+),t\d+,tb(\d+)/.exec(out);
  assert.ok(m, `ss shows the socket on port ${port}: ${out}`);
  return { rb: Number(m[1]), tb: Number(m[2]) };
}
// Past rmem_max/wmem_max only with CAP_NET_ADMIN (bit 12 of CapEff).
function mayForce() {
  const eff = /CapEff:\s*([0-9a-f]+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1];
  return (BigInt(`0x${eff}`) >> 12n) & 1n ? true : false;
}
const sysctl = (name) => Number(require('node:fs').readFileSync(`/proc/sys/net/core/${name}`, 'utf8'));

test('socket buffers: 7 MiB to receive and 4 MiB to send by default, the sizes asked for otherwise, past the kernel limits where allowed', async () => {
  const force = mayForce();
  const expect = (want, max) => 2 * (force ? want : Math.min(want, max));
  const cases = [
    [{}, 7 << 20, 4 << 20],
    [{ receiveBufferSize: 1 << 20, sendBufferSize: 512 << 10 }, 1 << 20, 512 << 10],
    [{ receiveBufferSize: 16 << 20, sendBufferSize: 16 << 20 }, 16 << 20, 16 << 20],
  ];
  for (const [udp, rcv, snd] of cases) {
    const endpoint = makeServer({ endpoint: { udp } });
    try {
      const { rb, tb } = socketBuffers(endpoint.address.port);
      assert.strictEqual(rb, expect(rcv, sysctl('rmem_max')), `receive buffer for ${JSON.stringify(udp)} (CAP_NET_ADMIN: ${force})`);
      assert.strictEqual(tb, expect(snd, sysctl('wmem_max')), `send buffer for ${JSON.stringify(udp)}`);
    } finally {
      await endpoint.close();
    }
  }
});

'use strict';
// @chainsafe/libp2p-quic: quinn (Rust) through its napi binding, used
// directly (Server, Client, Connection, Stream) without the libp2p stack, so
// what is measured is the QUIC transport. Its TLS is libp2p's: self-signed
// certificates carrying a peer identity key, verified by that key.
const crypto = require('node:crypto');
const { load, writeBytes, serveStream, readToEnd } = require('./npm-peer');

const READ = 64 * 1024; // bytes per read() call (libp2p's own wrapper reads 4 KiB)

const cases = {
  'bulk-up': true,
  'bulk-down': true,
  'bulk-up-1452': 'no option for the UDP payload size',
  'bulk-down-1452': 'no option for the UDP payload size',
  handshakes: true,
  'handshakes-resumed': 'the binding has no session resumption API',
  'h3-requests-c50': 'no HTTP/3 (a libp2p transport: raw QUIC streams only)',
  'h3-requests-10conn': 'no HTTP/3 (a libp2p transport: raw QUIC streams only)',
  streams: true,
  datagrams: 'the binding exposes no datagram API',
  'mem-idle-conn': true,
  'mem-stalled-reader': true,
  'bulk-loss-1': 'no packet-loss simulation option',
  'bulk-loss-5': 'no packet-loss simulation option',
  'h3-server-4x50': 'no HTTP/3 (gtlsclient sends HTTP/3 requests)',
  'h3-server-10x10': 'no HTTP/3 (gtlsclient sends HTTP/3 requests)',
  // Through the relay any QUIC can meet the same loss.
  'relay-clean': true,
  'relay-loss-1': true,
  'relay-loss-5': true,
  'relay-mix': true,
};

async function modules() {
  const napi = await load('@chainsafe/libp2p-quic', 'dist/src/napi.js');
  if (napi.loadError) return napi;
  const keys = await load('@libp2p/crypto', 'dist/src/keys/index.js');
  if (keys.loadError) return keys;
  return { napi, keys };
}

async function unavailable() {
  const m = await modules();
  return m.loadError || null;
}

// The package's own defaults (its index.js `defaultOptions`), with a fresh identity.
async function config({ napi, keys }) {
  const key = await keys.generateKeyPair('Ed25519');
  return new napi.QuinnConfig({
    handshakeTimeout: 5000,
    maxIdleTimeout: 10000,
    keepAliveInterval: 5000,
    maxConcurrentStreamLimit: 256,
    maxStreamData: 10_000_000,
    maxConnectionData: 15_000_000,
    receiveBufferSize: 500_000,
    sendBufferSize: 500_000,
    privateKeyProto: keys.privateKeyToProtobuf(key),
  });
}

const wrap = (stream) => ({
  read: () => stream.read(READ),
  write: (chunk) => stream.write(chunk),
  end: () => stream.finishWrite(),
});

async function serve(caseName, params) {
  const m = await modules();
  const bytes = (params.mb || 0) * 1024 * 1024;
  const server = new m.napi.Server(await config(m), '127.0.0.1', 0);
  const conns = new Set();
  let closing = false;
  (async () => {
    while (!closing) {
      let conn;
      try {
        conn = await server.inboundConnection();
      } catch {
        return;
      }
      conns.add(conn);
      conn.closed().then(() => conns.delete(conn), () => conns.delete(conn));
      (async () => {
        for (;;) {
          const stream = await conn.inboundStream();
          serveStream(caseName, bytes, wrap(stream)).catch(() => {});
        }
      })().catch(() => {});
    }
  })();
  return {
    port: server.port(),
    async close() {
      closing = true;
      for (const c of conns) c.abort();
      await server.abort();
    },
  };
}

async function client(caseName, params, port) {
  const m = await modules();
  const c = new m.napi.Client(await config(m), 0);
  const open = new Set();
  return {
    async connect() {
      const conn = await c.outboundConnection('127.0.0.1', port);
      open.add(conn);
      return conn;
    },
    async close(conn) {
      open.delete(conn);
      conn.abort();
    },
    async upload(conn, bytes) {
      const s = wrap(await conn.outboundStream());
      await writeBytes(s.write, bytes);
      await s.end();
      return Number((await readToEnd(s.read, true)).toString());
    },
    async download(conn) {
      const s = wrap(await conn.outboundStream());
      await s.write(Buffer.from('d'));
      await s.end();
      return readToEnd(s.read, false);
    },
    // The bytes' count and SHA-256, hashed as they arrive.
    async downloadHashed(conn) {
      const s = wrap(await conn.outboundStream());
      await s.write(Buffer.from('d'));
      await s.end();
      const h = crypto.createHash('sha256');
      let n = 0;
      for (let c; (c = await s.read()) !== null;) {
        n += c.byteLength;
        h.update(c);
      }
      return { bytes: n, hash: h.digest('hex') };
    },
    async echo(conn, payload) {
      const s = wrap(await conn.outboundStream());
      await s.write(payload);
      await s.end();
      return (await readToEnd(s.read, true)).length;
    },
    stall(conn, bytes) {
      let stopped = false;
      const sending = conn.outboundStream().then((stream) => writeBytes((chunk) => stream.write(chunk), bytes, () => stopped)
        .finally(() => stream.resetWrite().catch(() => {})));
      sending.catch(() => {});
      return {
        async stop() {
          stopped = true;
          conn.abort();
        },
      };
    },
    async shutdown() {
      for (const conn of open) conn.abort();
      c.abort();
    },
  };
}

module.exports = { cases, unavailable, serve, client };

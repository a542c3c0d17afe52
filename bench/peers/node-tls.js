'use strict';
// Node's tls over TCP: what a Node user picks instead of QUIC for one
// encrypted byte stream. One TCP connection stands in for one QUIC stream.
const tls = require('node:tls');
const { certs, CHUNK, now, sleep, listenLocal } = require('../common');

const noTcpLoss = 'TCP on loopback has no loss knob here (simulating it needs tc/netem, root on a shared machine)';
const cases = {
  'bulk-up': true,
  'bulk-down': true,
  'bulk-up-1452': true,
  'bulk-down-1452': true,
  handshakes: true,
  'handshakes-resumed': true,
  'h3-requests-c50': 'HTTP requests are measured with node-http2',
  'h3-requests-10conn': 'HTTP requests are measured with node-http2',
  streams: 'TCP has one stream per connection; multiplexed streams are measured with node-http2',
  datagrams: 'TLS over TCP has no unreliable datagrams',
  'mem-idle-conn': true,
  'mem-stalled-reader': true,
  'bulk-loss-1': noTcpLoss,
  'bulk-loss-5': noTcpLoss,
  'h3-server-4x50': 'gtlsclient speaks HTTP/3 only',
  'h3-server-10x10': 'gtlsclient speaks HTTP/3 only',
  'relay-clean': 'the loss relay carries UDP; TCP would need tc/netem',
  'relay-loss-1': 'the loss relay carries UDP; TCP would need tc/netem',
  'relay-loss-5': 'the loss relay carries UDP; TCP would need tc/netem',
  'relay-mix': 'the loss relay carries UDP; TCP would need tc/netem',
};

// Writes `bytes` of payload with backpressure, then ends.
async function writeAll(socket, bytes) {
  for (let sent = 0; sent < bytes;) {
    const n = Math.min(CHUNK.length, bytes - sent);
    if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
      await new Promise((resolve) => socket.once('drain', resolve));
    }
    sent += n;
  }
  socket.end();
}

function readAll(socket, keep) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let n = 0;
    socket.on('data', (d) => {
      n += d.length;
      if (keep) parts.push(d);
    });
    socket.once('end', () => resolve(keep ? Buffer.concat(parts) : n));
    socket.once('error', reject);
  });
}

async function serve(caseName, params) {
  const bytes = (params.mb || 0) * 1024 * 1024;
  const server = tls.createServer({ key: certs.key, cert: certs.cert, allowHalfOpen: true }, async (socket) => {
    socket.on('error', () => {});
    if (caseName.startsWith('bulk-up')) {
      socket.end(String(await readAll(socket, false)));
    } else if (caseName.startsWith('bulk-down')) {
      await readAll(socket, false);
      await writeAll(socket, bytes);
    } else if (caseName === 'mem-stalled-reader') {
      socket.once('data', () => socket.pause());
    } else {
      socket.resume();
      socket.on('end', () => socket.end());
    }
  });
  return listenLocal(server);
}

async function client(caseName, params, port) {
  const open = new Set();
  const connect = (session) => new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: certs.ca, session, allowHalfOpen: true });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  const close = (socket) => new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once('close', resolve);
    socket.end();
    socket.resume();
    setTimeout(() => socket.destroy(), 2000).unref();
  });
  return {
    connect: () => connect(),
    close,
    async upload(socket, bytes) {
      const reply = readAll(socket, true);
      await writeAll(socket, bytes);
      return Number((await reply).toString());
    },
    async download(socket) {
      const got = readAll(socket, false);
      socket.end('d');
      return got;
    },
    stall(socket, bytes) {
      writeAll(socket, bytes).catch(() => {});
      return { stop: async () => socket.destroy() };
    },
    async resumedHandshakes(count) {
      const first = await connect();
      // TLS 1.3 tickets come after the handshake, in the 'session' event.
      let ticket = await Promise.race([new Promise((resolve) => first.once('session', resolve)), sleep(1000)]);
      first.resume();
      await sleep(50);
      await close(first);
      if (!ticket) throw new Error('no TLS session ticket within 1 s');
      let reused = 0;
      const t0 = now();
      for (let i = 0; i < count; i++) {
        const s = await connect(ticket);
        if (s.isSessionReused()) reused++;
        s.once('session', (t) => { ticket = t; });
        await close(s);
      }
      return { seconds: now() - t0, extra: { reusedRatio: reused / count } };
    },
    async shutdown() {
      for (const s of open) s.destroy();
    },
  };
}

module.exports = { cases, serve, client };

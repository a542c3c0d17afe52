'use strict';
// Node's http2 over TLS: the HTTP a Node user has without QUIC, for the
// request cases and for many short streams on one connection.
const http2 = require('node:http2');
const { certs, listenLocal } = require('../common');

const viaTls = 'one big transfer is measured with node-tls (http2 adds framing on the same TCP connection)';
const cases = {
  'bulk-up': viaTls,
  'bulk-down': viaTls,
  'bulk-up-1452': viaTls,
  'bulk-down-1452': viaTls,
  handshakes: 'measured with node-tls (the same TLS handshake)',
  'handshakes-resumed': 'measured with node-tls (the same TLS handshake)',
  'h3-requests-c50': true,
  'h3-requests-10conn': true,
  streams: true,
  datagrams: 'HTTP/2 has no unreliable datagrams',
  'mem-idle-conn': 'measured with node-tls',
  'mem-stalled-reader': 'measured with node-tls',
  'bulk-loss-1': 'TCP on loopback has no loss knob here',
  'bulk-loss-5': 'TCP on loopback has no loss knob here',
  'h3-server-4x50': 'gtlsclient speaks HTTP/3 only',
  'h3-server-10x10': 'gtlsclient speaks HTTP/3 only',
  'relay-clean': 'the loss relay carries UDP; TCP would need tc/netem',
  'relay-loss-1': 'the loss relay carries UDP; TCP would need tc/netem',
  'relay-loss-5': 'the loss relay carries UDP; TCP would need tc/netem',
  'relay-mix': 'the loss relay carries UDP; TCP would need tc/netem',
};

const BODY = 'x'.repeat(100);

async function serve(caseName) {
  const server = http2.createSecureServer({ key: certs.key, cert: certs.cert, settings: { maxConcurrentStreams: 1000 } });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    if (headers[':method'] === 'POST') {
      // The streams case: echo the request body.
      const parts = [];
      stream.on('data', (d) => parts.push(d));
      stream.on('end', () => {
        stream.respond({ ':status': 200 });
        stream.end(Buffer.concat(parts));
      });
    } else {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.end(BODY);
    }
  });
  server.on('sessionError', () => {});
  return listenLocal(server);
}

async function client(caseName, params, port) {
  const open = new Set();
  const send = (session, headers, body) => new Promise((resolve, reject) => {
    const req = session.request(headers);
    let n = 0;
    req.on('data', (d) => { n += d.length; });
    req.on('end', () => resolve(n));
    req.on('error', reject);
    req.end(body);
  });
  return {
    async connect() {
      const session = http2.connect(`https://localhost:${port}`, { ca: certs.ca, peerMaxConcurrentStreams: 1000 });
      open.add(session);
      await new Promise((resolve, reject) => { session.once('connect', resolve); session.once('error', reject); });
      return session;
    },
    close: (session) => new Promise((resolve) => {
      open.delete(session);
      session.close(resolve);
    }),
    request: (session) => send(session, { ':path': '/' }),
    echo: (session, payload) => send(session, { ':path': '/echo', ':method': 'POST' }, payload),
    async shutdown() {
      for (const s of open) s.destroy();
    },
  };
}

module.exports = { cases, serve, client };

'use strict';
// A UDP relay for tests that play a hostile network: it stands between one
// client and one server on loopback and lets the test drop, rewrite,
// corrupt, count or inject datagrams. The client connects to relay.port.
const dgram = require('node:dgram');

// `onpacket(msg, dir)` sees every datagram (dir is 'up' for client to
// server, 'down' for server to client) and returns the Buffer to forward
// (the same one, a changed copy) or null to drop it.
async function createRelay(serverPort, onpacket = (msg) => msg) {
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const relay = {
    port: sock.address().port,
    client: null, // the client's rinfo, once it has sent something
    counts: { up: { packets: 0, bytes: 0 }, down: { packets: 0, bytes: 0 } },
    forwarded: { up: { packets: 0, bytes: 0 }, down: { packets: 0, bytes: 0 } },
    onpacket,
    // Sends a datagram as if it came from the other side.
    inject(dir, msg) {
      if (dir === 'up') sock.send(msg, serverPort, '127.0.0.1');
      else if (relay.client) sock.send(msg, relay.client.port, relay.client.address);
    },
    close() { return new Promise((resolve) => sock.close(resolve)); },
  };
  sock.on('message', (msg, rinfo) => {
    const dir = rinfo.port === serverPort ? 'down' : 'up';
    if (dir === 'up') relay.client = rinfo;
    relay.counts[dir].packets++;
    relay.counts[dir].bytes += msg.length;
    const out = relay.onpacket(msg, dir);
    if (!out) return;
    relay.forwarded[dir].packets++;
    relay.forwarded[dir].bytes += out.length;
    relay.inject(dir, out);
  });
  return relay;
}

// QUIC header facts the relays need (RFC 9000 17).
const isLongHeader = (msg) => (msg[0] & 0x80) !== 0;
const longType = (msg) => (msg[0] >> 4) & 3; // 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry

module.exports = { createRelay, isLongHeader, longType };

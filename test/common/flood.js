'use strict';
// A hostile sender, run as a child process so it floods from its own event
// loop: `node flood.js <port> <ms> <kind> [sockets]`. It sends as fast as
// the sockets take datagrams, for <ms> milliseconds, then prints one JSON
// line { sent, bytes, received, retries } and exits.
//   kind 'garbage':  random bytes, short headers with random connection IDs,
//                    long headers with unknown versions, junk Initials
//   kind 'initials': 1200-byte v1 Initials with random connection IDs (they
//                    parse, but cannot decrypt), each socket its own port
const dgram = require('node:dgram');
const crypto = require('node:crypto');

const [port, ms, kind = 'garbage', nsockets = '4'] = process.argv.slice(2);
const deadline = Date.now() + Number(ms);

function initial() {
  const dcidLen = 8 + crypto.randomInt(13);
  const b = crypto.randomBytes(1200);
  b[0] = 0xc0 | (b[0] & 0x0f); // long header, fixed bit, type Initial
  b.writeUInt32BE(1, 1);       // QUIC v1
  b[5] = dcidLen;
  b[6 + dcidLen] = 8;          // SCID length; token length 0; a length
  b[7 + dcidLen + 8] = 0;      // that runs to the end of the datagram
  b.writeUInt16BE(0x4000 | (1200 - (7 + dcidLen + 8 + 1 + 2)), 7 + dcidLen + 8 + 1);
  return b;
}

function garbage(i) {
  switch (i % 4) {
    case 0: return crypto.randomBytes(1 + crypto.randomInt(1500));
    case 1: { // short header: an unknown connection ID
      const b = crypto.randomBytes(40 + crypto.randomInt(1200));
      b[0] = 0x40 | (b[0] & 0x3f);
      return b;
    }
    case 2: { // long header, a version nobody speaks
      const b = crypto.randomBytes(1200);
      b[0] |= 0xc0;
      b.writeUInt32BE(0x0a0a0a0a + (i & 0xf0), 1);
      b[5] = 8;
      b[14] = 8;
      return b;
    }
    default: return initial();
  }
}

(async () => {
  const socks = [];
  for (let i = 0; i < Number(nsockets); i++) {
    const s = dgram.createSocket('udp4');
    await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
    socks.push(s);
  }
  let sent = 0;
  let bytes = 0;
  let received = 0;
  let retries = 0;
  for (const s of socks) {
    s.on('message', (m) => {
      received++;
      if ((m[0] & 0xf0) === 0xf0 && m.readUInt32BE(1) === 1) retries++; // long header type 3: Retry
    });
  }
  // Junk Initials are made ahead of time: the flood is bound by sending.
  const pool = [];
  for (let i = 0; i < 512; i++) pool.push(kind === 'initials' ? initial() : garbage(i));
  let i = 0;
  while (Date.now() < deadline) {
    // A burst per socket, then a turn of the loop (sends complete, replies
    // are read).
    await Promise.all(socks.map((s) => new Promise((resolve) => {
      let left = kind === 'initials' ? 4 : 32;
      const one = () => {
        const msg = pool[i++ % pool.length];
        sent++;
        bytes += msg.length;
        if (--left === 0) s.send(msg, Number(port), '127.0.0.1', () => resolve());
        else s.send(msg, Number(port), '127.0.0.1', one);
      };
      one();
    })));
    await new Promise((resolve) => setImmediate(resolve));
    if (kind === 'initials') await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise((resolve) => setTimeout(resolve, 200)); // late replies
  for (const s of socks) s.close();
  console.log(JSON.stringify({ sent, bytes, received, retries }));
})();

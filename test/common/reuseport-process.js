'use strict';
// A process that serves one port with the reusePort option, on its own
// (test/workers.test.js): argv[2] is the port, argv[3] the group's name,
// argv[4] (optional) the resetTokenSecret in hex. Listens, answers every
// stream with one byte, its worker index, and the bytes the stream carried,
// prints 'ready <port> <worker>'; on 's' a line 'stats <JSON>', on other input
// its stats as JSON, then it closes and exits.
const { Endpoint } = require('../..');
const { certs, ALPN } = require('.');

const port = Number(process.argv[2]);
const group = process.argv[3];
const secret = process.argv[4] ? Buffer.from(process.argv[4], 'hex') : undefined;
const endpoint = new Endpoint({ address: { port }, reusePort: { group }, maxConnectionsPerHost: 1000,
                                resetTokenSecret: secret });
let worker = -1;
endpoint.onsession = ({ session }) => {
  session.onstream = ({ stream, respondWith }) => {
    respondWith({
      body: (async function* echo() {
        yield Buffer.from([worker]);
        try {
          for await (const c of stream.readableNodeStream()) yield Buffer.from(c);
        } catch {
          // The client went away.
        }
      })(),
    });
  };
};
endpoint.listen({ alpn: ALPN, secure: { key: certs.key, cert: certs.cert } });
worker = endpoint.reusePort.worker;
process.stdout.write(`ready ${endpoint.address.port} ${worker}\n`);
const stats = () => {
  const s = endpoint.stats;
  return JSON.stringify({ worker, steered: endpoint.reusePort.steered, serverSessions: Number(s.serverSessions),
                          misrouted: Number(s.misroutedCount), resets: Number(s.statelessResetCount) });
};
// 's': a line of stats; anything else: the stats, then close and exit.
process.stdin.on('data', async (d) => {
  if (d.toString() === 's') {
    process.stdout.write(`stats ${stats()}\n`);
    return;
  }
  process.stdin.removeAllListeners('data');
  process.stdout.write(`${stats()}\n`);
  await endpoint.close();
  process.stdin.destroy();
});

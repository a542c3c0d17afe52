'use strict';
// A process that serves a shared Endpoint (test/workers.test.js): argv[2]
// is the JSON of endpoint.share() from another process. Listens, answers
// every stream with 'p<index>:' and the bytes it carried, prints 'ready'
// and, on any input, its stats as JSON, then closes and exits.
const { Endpoint } = require('../..');
const { certs, ALPN } = require('.');

const handle = JSON.parse(process.argv[2]);
const index = Number(process.argv[3]);
const endpoint = Endpoint.from(handle);
endpoint.onsession = ({ session }) => {
  session.onstream = ({ stream, respondWith }) => {
    respondWith({
      body: (async function* echo() {
        yield Buffer.from([index]);
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
process.stdout.write(`ready ${endpoint.address.port}\n`);
process.stdin.once('data', async () => {
  const s = endpoint.stats;
  process.stdout.write(`${JSON.stringify({ index, serverSessions: Number(s.serverSessions),
                                           misrouted: Number(s.misroutedCount),
                                           resets: Number(s.statelessResetCount) })}\n`);
  await endpoint.close();
  process.stdin.destroy();
});

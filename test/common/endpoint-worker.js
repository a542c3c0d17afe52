'use strict';
// A worker thread that serves a shared Endpoint (test/workers.test.js):
// Endpoint.from(workerData.handle), listen, and answer every stream with
// one byte naming this worker followed by the bytes the stream carried, as
// they arrive. Reports each session it accepts ('session', with whether it
// came with 0-RTT data once its handshake is done). Messages: 'stats' (its
// endpoint's counters), 'close' (closes the endpoint; the thread ends),
// 'exit' (process.exit() at once, mid-transfer).
const { parentPort, workerData } = require('node:worker_threads');
const { Endpoint } = require('../..');

const { handle, key, cert, alpn, index, ticketKeys } = workerData;
const endpoint = Endpoint.from(handle);
let sessions = 0;
const open = new Set();
endpoint.onsession = ({ session }) => {
  sessions++;
  open.add(session);
  session.closed.then(() => open.delete(session), () => open.delete(session));
  parentPort.postMessage({ type: 'session', index });
  session.handshake.then(() => parentPort.postMessage({ type: 'handshake', index, earlyData: session.earlyData }),
                         () => {});
  session.onstream = ({ stream, respondWith }) => {
    respondWith({
      body: (async function* echo() {
        yield Buffer.from([index]);
        try {
          for await (const c of stream.readableNodeStream()) yield Buffer.from(c);
        } catch {
          // The client went away: the answer ends here.
        }
      })(),
    });
  };
};
endpoint.listen({ alpn, secure: { key, cert, ticketKeys } });

parentPort.on('message', async (m) => {
  if (m === 'exit') process.exit(0);
  if (m === 'stats') {
    const s = endpoint.stats;
    parentPort.postMessage({ type: 'stats', index, sessions, serverSessions: Number(s.serverSessions),
                             misrouted: Number(s.misroutedCount), port: endpoint.address.port,
                             open: [...open].map((x) => ({ state: x.destroyed ? 'destroyed' : x.closing ? 'closing' : 'open',
                                                           handshake: x.handshakeCompleted ?? null })) });
  }
  if (m === 'close') {
    await endpoint.close();
    parentPort.close();
  }
});
parentPort.postMessage({ type: 'ready', index, port: endpoint.address.port });

'use strict';
// A worker thread that serves HTTP/3 and WebTransport on a shared Endpoint
// (test/workers.test.js): Endpoint.from(workerData.handle). Every request
// is answered with 'x-worker: <index>' and its own body; every
// WebTransport session's bidirectional streams are echoed after one byte,
// the worker's index. Reports each session and each WebTransport session;
// 'close' closes the endpoint and ends the thread.
const { parentPort, workerData } = require('node:worker_threads');
const { Endpoint } = require('../..');

const { handle, key, cert, index } = workerData;
const endpoint = Endpoint.from(handle);
endpoint.onsession = ({ session }) => {
  parentPort.postMessage({ type: 'session', index });
  session.onstream = ({ stream, respondWith }) => {
    respondWith({
      headers: { ':status': 200, 'x-worker': String(index) },
      body: (async function* echo() {
        for await (const c of stream.readableNodeStream()) yield Buffer.from(c);
      })(),
    });
  };
  session.onwebtransport = ({ request }) => {
    const ws = request.accept();
    parentPort.postMessage({ type: 'webtransport', index, path: request.path });
    (async () => {
      for await (const { readable, writable } of ws.incomingBidirectionalStreams) {
        (async () => {
          const w = writable.getWriter();
          await w.write(Buffer.from([index]));
          w.releaseLock();
          await readable.pipeTo(writable);
        })().catch(() => {});
      }
    })().catch(() => {});
  };
};
endpoint.listen({ secure: { key, cert }, webtransport: true });
parentPort.on('message', async (m) => {
  if (m === 'close') {
    await endpoint.close();
    parentPort.close();
  }
});
parentPort.postMessage({ type: 'ready', index, port: endpoint.address.port });

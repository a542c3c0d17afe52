'use strict';
// Many requests on one HTTP/3 connection, far past the stream limit: the
// server gives stream credit back as requests finish, even when it never
// reads the (empty) request bodies.
const test = require('node:test');
const assert = require('node:assert');
const { quic, certs, within } = require('./common');

test('1000 requests, 50 in flight, through a limit of 20 concurrent streams', async () => {
  let served = 0;
  const server = new quic.Endpoint();
  server.onsession = ({ session }) => {
    session.onstream = ({ respondWith }) => { served++; respondWith({ body: `r${served}` }); };
  };
  server.listen({ secure: { key: certs.key, cert: certs.cert }, transportParams: { initialMaxStreamsBidi: 20 } });
  const client = new quic.Endpoint();
  const session = client.connect({ address: '127.0.0.1', port: server.address.port },
                                 { hostname: 'localhost', secure: { ca: certs.ca } });
  await within(session.handshake, 5000, 'handshake');
  let issued = 0;
  let bytes = 0;
  await within(Promise.all(Array.from({ length: 50 }, async () => {
    while (issued < 1000) {
      issued++;
      const stream = session.open();
      const status = (await stream.headers)[':status'];
      assert.strictEqual(status, 200);
      await new Promise((resolve) => stream.setStreamConsumer((chunks, done) => {
        for (const c of chunks) bytes += c.byteLength;
        if (done) resolve();
      }));
    }
  })), 30000, '1000 requests');
  assert.strictEqual(served, 1000);
  assert.ok(bytes >= 1000 * 2);
  await client.close();
  await server.close();
});

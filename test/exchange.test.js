'use strict';
// The seed's simple server and client, verbatim but for the certificates.
const test = require('node:test');
const assert = require('node:assert');
const { quic, certs, within } = require('./common');

test('seed example: Hello World both ways over alpn xyz', async () => {
  const { Endpoint } = quic;
  const server = new Endpoint();
  const serverGot = [];
  server.onsession = ({ session }) => {
    session.onstream = ({ stream, respondWith }) => {
      respondWith({ body: 'Hello World' });
      stream.readableNodeStream().on('data', (d) => serverGot.push(d));
    };
  };
  server.listen({ alpn: 'xyz', secure: { key: certs.key, cert: certs.cert } });

  const client = new Endpoint();
  const session = client.connect({ address: '127.0.0.1', port: server.address.port },
                                 { alpn: 'xyz', secure: { ca: certs.ca } });
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(session.alpn, 'xyz');
  const stream = session.open({ body: 'Hello World' });
  const dec = new TextDecoder();
  let text = '';
  for await (const chunk of stream.readableWebStream()) text += dec.decode(chunk, { stream: true });
  assert.strictEqual(text, 'Hello World');
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
  assert.strictEqual(Buffer.concat(serverGot).toString(), 'Hello World');
});

// The seed's "A simple QUIC Server" and "A simple QUIC Client", with only the
// certificate lines filled in (and the client pointed at the server's port).
import { readFileSync } from 'node:fs';
import { Endpoint } from 'quic';

const fixtures = new URL('../test/fixtures/', import.meta.url);
const getTLSKeySomehow = () => readFileSync(new URL('server-key.pem', fixtures));
const getTLSCertSomehow = () => readFileSync(new URL('server-cert.pem', fixtures));

// ---- A simple QUIC Server ----
const server = new Endpoint();

server.onsession = ({ session }) => {
  session.onstream = ({ stream, respondWith }) => {
    respondWith({ body: 'Hello World' });
    // (not in the seed) show what the client sent
    stream.readableNodeStream().on('data', (d) => console.log(`server received: ${d}`));
  };
};

server.listen({
  alpn: 'xyz',
  secure: {
    key: getTLSKeySomehow(),
    cert: getTLSCertSomehow(),
  },
});
console.log(`server listening on ${server.address.address}:${server.address.port}`);

// ---- A simple QUIC Client ----
const client = new Endpoint();
const session = client.connect({
  address: '127.0.0.1',
  port: server.address.port,
}, { alpn: 'xyz' });

await session.handshake;
console.log(`client handshake done: alpn=${session.alpn} cipher=${session.cipher.name}`);

const stream = session.open({ body: 'Hello World' });
for await (const chunk of stream.readableWebStream())
  console.log(`client received: ${new TextDecoder().decode(chunk)}`);

await client.close();
await server.close();
console.log('both endpoints closed');

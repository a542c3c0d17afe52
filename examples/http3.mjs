// The seed's "A simple HTTP/3 Server" and "A simple HTTP/3 Client", with only
// the certificate lines filled in. Run: NODE_EXTRA_CA_CERTS=test/fixtures/ca.pem node examples/http3.mjs
import { readFileSync } from 'node:fs';
import { stdout } from 'node:process';
import { Endpoint } from 'quic';

const fixtures = new URL('../test/fixtures/', import.meta.url);
const getTLSKeySomehow = () => readFileSync(new URL('server-key.pem', fixtures));
const getTLSCertSomehow = () => readFileSync(new URL('server-cert.pem', fixtures));

// ---- A simple HTTP/3 Server ----
const endpoint = new Endpoint({ address: { port: 12345 } });

endpoint.onsession = ({ session }) => {
  session.onstream = async ({ stream, respondWith }) => {
    respondWith({
      headers: { 'content-type': 'text/plain' },
      body: 'right back at you',
    });

    console.log(await stream.headers);

    stream.readableNodeStream().pipe(stdout);
  };
};

endpoint.listen({
  secure: {
    key: getTLSKeySomehow(),
    cert: getTLSCertSomehow(),
  },
});

// ---- A simple HTTP/3 Client ----
const client = new Endpoint();

const req = client.connect({
  address: '127.0.0.1',
  port: 12345
}, {
  hostname: 'localhost',
});

await req.handshake;

const stream = req.open({
  headers: { ':method': 'POST' },
  body: 'hello there',
});

console.log(await stream.headers);

stream.readableNodeStream().pipe(stdout);

await client.close();
await endpoint.close();
console.log('\nboth endpoints closed');

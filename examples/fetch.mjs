// fetch() over HTTP/3: an HTTP/3 server from this package, and Node's own
// fetch() reaching it through Http3Dispatcher. Run: node examples/fetch.mjs
import { readFileSync } from 'node:fs';
import { Endpoint } from 'quic';
import { Http3Dispatcher } from 'quic/fetch';

const fixture = (name) => readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url));

const server = new Endpoint();
server.onsession = ({ session }) => {
  session.onstream = async ({ stream, respondWith }) => {
    const headers = await stream.headers;
    let size = 0;
    for await (const chunk of stream.readableNodeStream()) size += chunk.length;
    respondWith({
      headers: { 'content-type': 'text/plain' },
      body: `${headers[':method']} ${headers[':path']} (${size} bytes up) over HTTP/3\n`,
    });
  };
};
server.listen({ secure: { key: fixture('server-key.pem'), cert: fixture('server-cert.pem') } });
const base = `https://localhost:${server.address.port}`;

const dispatcher = new Http3Dispatcher({ session: { secure: { ca: fixture('ca.pem') } } });
const get = await fetch(`${base}/hello`, { dispatcher });
console.log(get.status, get.headers.get('content-type'), await get.text());
const post = await fetch(`${base}/upload`, { dispatcher, method: 'POST', body: 'x'.repeat(100000) });
console.log(post.status, await post.text());
console.log(dispatcher);

await dispatcher.close();
await server.close();

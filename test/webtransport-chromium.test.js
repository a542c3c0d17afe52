'use strict';
// WebTransport from a real browser: Debian's Chromium (headless, through
// playwright-core) opens WebTransport sessions to our HTTP/3 server with
// serverCertificateHashes (an ECDSA certificate valid for 10 days, made
// here with openssl), and its page script checks every byte that crosses.
// A missing Chromium fails these tests, it never skips them.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { quic, within, withBrowser } = require('./common');

const T = 30000;

// serverCertificateHashes takes only ECDSA certificates valid for at most
// two weeks: made fresh for this run.
function shortLivedCert(dir) {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
                                  '-keyout', key, '-out', cert, '-days', '10', '-subj', '/CN=localhost',
                                  '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  const pem = fs.readFileSync(cert);
  const der = new crypto.X509Certificate(pem).raw;
  return { key: fs.readFileSync(key), cert: pem, hash: [...crypto.createHash('sha256').update(der).digest()] };
}

// A byte pattern both sides can check.
function pattern(n, seed) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

async function readAllWeb(readable) {
  const chunks = [];
  for await (const c of readable) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

// Our server: echoes bidirectional streams, answers each unidirectional
// stream with one of its own ("echo:" + the bytes), echoes datagrams, and
// on /server-close closes the session itself, on /drain drains it.
function startServer(cert, webtransport, seen) {
  const server = new quic.Endpoint();
  server.onsession = ({ session }) => {
    session.onwebtransport = async ({ request }) => {
      seen.requests.push({ path: request.path, origin: request.origin, version: request.version });
      const ws = request.accept();
      await ws.ready;
      seen.sessions.push(ws);
      ws.closed.then((info) => seen.closes.push({ path: request.path, ...info }),
                     (err) => seen.closes.push({ path: request.path, error: err.message }));
      if (request.path === '/server-close') {
        ws.close({ closeCode: 42, reason: 'server says bye' });
        return;
      }
      if (request.path === '/drain') {
        ws.drain();
        return;
      }
      (async () => {
        for await (const { readable, writable } of ws.incomingBidirectionalStreams) {
          (async () => {
            const data = await readAllWeb(readable);
            seen.bidi.push(data.length);
            const w = writable.getWriter();
            await w.write(data);
            await w.close();
          })().catch((err) => seen.errors.push(err));
        }
      })().catch(() => {});
      (async () => {
        for await (const readable of ws.incomingUnidirectionalStreams) {
          (async () => {
            const data = await readAllWeb(readable);
            seen.uni.push(data.toString());
            const out = await ws.createUnidirectionalStream();
            const w = out.getWriter();
            await w.write(Buffer.concat([Buffer.from('echo:'), data]));
            await w.close();
          })().catch((err) => seen.errors.push(err));
        }
      })().catch(() => {});
      (async () => {
        const w = ws.datagrams.writable.getWriter();
        for await (const d of ws.datagrams.readable) {
          seen.datagrams.push(Buffer.from(d).toString());
          await w.write(d);
        }
      })().catch(() => {});
    };
  };
  // Chromium drops a WebTransport connection without CONNECTION_CLOSE once
  // its last session ends (a silent close): a short idle timeout lets the
  // server's close() finish soon after the browser is gone.
  server.listen({ secure: { key: cert.key, cert: cert.cert }, webtransport, transportParams: { maxIdleTimeout: 3000 } });
  return server;
}

async function withChromium(fn) {
  // The page comes over plain HTTP from localhost, which is a secure
  // context: WebTransport trusts our server by the certificate hash alone.
  const page = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>wt</title><p>webtransport test page</p>');
  });
  await new Promise((resolve) => page.listen(0, '127.0.0.1', resolve));
  try {
    return await withBrowser([], async (browser) => {
      const tab = browser.pages()[0] || await browser.newPage();
      const origin = `http://localhost:${page.address().port}`;
      await tab.goto(`${origin}/`, { timeout: T });
      return fn(tab, origin);
    });
  } finally {
    await new Promise((resolve) => page.close(resolve));
  }
}

function newSeen() {
  return { requests: [], sessions: [], closes: [], bidi: [], uni: [], datagrams: [], errors: [] };
}

test('chromium: WebTransport bidi echo, uni each way, datagrams and close codes each way', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-wt-cert-'));
  const cert = shortLivedCert(dir);
  const seen = newSeen();
  const server = startServer(cert, { maxSessions: 8 }, seen);
  const port = server.address.port;
  try {
    const r = await withChromium((tab) => within(tab.evaluate(async ({ port, hash }) => {
      const options = { serverCertificateHashes: [{ algorithm: 'sha-256', value: new Uint8Array(hash) }] };
      const readAll = async (readable) => {
        const parts = [];
        let n = 0;
        for (const reader = readable.getReader(); ;) {
          const { value, done } = await reader.read();
          if (done) break;
          parts.push(value);
          n += value.length;
        }
        const out = new Uint8Array(n);
        let o = 0;
        for (const p of parts) { out.set(p, o); o += p.length; }
        return out;
      };
      const out = {};
      const wt = new WebTransport(`https://localhost:${port}/echo`, options);
      await wt.ready;
      // A bidirectional stream: 200 KB out, the same back.
      const payload = new Uint8Array(200000);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 5) & 0xff;
      const bs = await wt.createBidirectionalStream();
      const bw = bs.writable.getWriter();
      await bw.write(payload);
      await bw.close();
      const back = await readAll(bs.readable);
      out.bidiLength = back.length;
      out.bidiEqual = back.length === payload.length && back.every((v, i) => v === payload[i]);
      // A unidirectional stream each way.
      const us = await wt.createUnidirectionalStream();
      const uw = us.getWriter();
      await uw.write(new TextEncoder().encode('hello from chromium'));
      await uw.close();
      const { value: incoming } = await wt.incomingUnidirectionalStreams.getReader().read();
      out.uniBack = new TextDecoder().decode(await readAll(incoming));
      // Datagrams: sent until one comes back (they may be lost), at most 50.
      const dw = wt.datagrams.writable.getWriter();
      const dr = wt.datagrams.readable.getReader();
      out.maxDatagramSize = wt.datagrams.maxDatagramSize;
      let echoed = null;
      const got = dr.read().then(({ value }) => { echoed = new TextDecoder().decode(value); });
      for (let i = 0; i < 50 && echoed === null; i++) {
        await dw.write(new TextEncoder().encode('datagram ping'));
        await Promise.race([got, new Promise((r) => setTimeout(r, 100))]);
      }
      out.datagram = echoed;
      // Our close code and reason reach the server.
      wt.close({ closeCode: 7, reason: 'bye from chromium' });
      out.closedByUs = await wt.closed;
      // The server's close code and reason reach us.
      const wt2 = new WebTransport(`https://localhost:${port}/server-close`, options);
      await wt2.ready;
      out.closedByServer = await wt2.closed;
      // A server-initiated drain.
      const wt3 = new WebTransport(`https://localhost:${port}/drain`, options);
      await wt3.ready;
      await wt3.draining;
      out.drained = true;
      wt3.close({ closeCode: 3, reason: 'drained' });
      await wt3.closed;
      return out;
    }, { port, hash: cert.hash }), T, 'page script'));
    assert.strictEqual(r.bidiLength, 200000);
    assert.strictEqual(r.bidiEqual, true);
    assert.deepStrictEqual(seen.bidi, [200000]);
    assert.strictEqual(r.uniBack, 'echo:hello from chromium');
    assert.deepStrictEqual(seen.uni, ['hello from chromium']);
    assert.strictEqual(r.datagram, 'datagram ping');
    assert.ok(seen.datagrams.length >= 1 && seen.datagrams.every((d) => d === 'datagram ping'));
    assert.ok(r.maxDatagramSize > 1000, `maxDatagramSize ${r.maxDatagramSize}`);
    assert.deepStrictEqual(r.closedByServer, { closeCode: 42, reason: 'server says bye' });
    assert.strictEqual(r.drained, true);
    // What the server saw of the client's closes.
    await within((async () => { while (seen.closes.length < 3) await new Promise((r) => setTimeout(r, 20)); })(), T, 'closes');
    const byPath = Object.fromEntries(seen.closes.map((c) => [c.path, c]));
    assert.deepStrictEqual(byPath['/echo'], { path: '/echo', closeCode: 7, reason: 'bye from chromium' });
    assert.deepStrictEqual(byPath['/server-close'], { path: '/server-close', closeCode: 42, reason: 'server says bye' });
    assert.deepStrictEqual(byPath['/drain'], { path: '/drain', closeCode: 3, reason: 'drained' });
    assert.deepStrictEqual(seen.requests.map((q) => q.path), ['/echo', '/server-close', '/drain']);
    // Chromium speaks draft-02 by default, also to a server that offers draft-16 too.
    assert.deepStrictEqual(seen.requests.map((q) => q.version), ['draft02', 'draft02', 'draft02']);
    assert.deepStrictEqual(seen.errors, []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await within(server.close(), T, 'server close');
  }
});

test('chromium: 5 sessions at once, stream aborts each way with their codes, an origin refused with 403', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-wt-cert-'));
  const cert = shortLivedCert(dir);
  const servers = [];
  const seen = { paths: [], aborts: [], closes: [], errors: [] };
  const listen = (origins) => {
    const server = new quic.Endpoint();
    server.onsession = ({ session }) => {
      session.onwebtransport = ({ request }) => {
        seen.paths.push(request.path);
        const ws = request.accept();
        ws.closed.then((info) => seen.closes.push(info), (err) => seen.closes.push(err.message));
        serve(request, ws).catch((err) => seen.errors.push(err.message));
      };
    };
    const serve = async (request, ws) => {
        if (request.path !== '/abort') {
          // /n/<i>: one bidi stream, echoed with the session's number.
          for await (const { readable, writable } of ws.incomingBidirectionalStreams) {
            const data = await readAllWeb(readable);
            const w = writable.getWriter();
            await w.write(Buffer.concat([data, Buffer.from(` via ${request.path}`)]));
            await w.close();
          }
          return;
        }
        // We send a little on a uni stream; once the page has read it, it
        // opens a stream and aborts it with 17, and then we abort ours with
        // 23. (A stream aborted before its first bytes went out never
        // reaches the peer as a WebTransport stream: draft-02 has no
        // reliable reset.)
        const out = await ws.createUnidirectionalStream();
        const w = out.getWriter();
        await w.write(Buffer.from('partial'));
        for await (const { readable } of ws.incomingBidirectionalStreams) {
          try {
            await readAllWeb(readable);
            seen.aborts.push('no error');
          } catch (err) {
            seen.aborts.push({ name: err.name, code: err.streamErrorCode });
          }
          await w.abort(new quic.WebTransportError('server gives up', { streamErrorCode: 23 }));
        }
    };
    server.listen({ secure: { key: cert.key, cert: cert.cert }, webtransport: { origins },
                    transportParams: { maxIdleTimeout: 3000 } });
    servers.push(server);
    return server.address.port;
  };
  try {
    const r = await withChromium(async (tab, origin) => {
      const port = listen([origin]);
      const elsewhere = listen(['https://elsewhere.example']);
      return within(tab.evaluate(async ({ port, elsewhere, hash }) => {
        const options = { serverCertificateHashes: [{ algorithm: 'sha-256', value: new Uint8Array(hash) }] };
        const readAll = async (readable) => {
          const parts = [];
          for (const reader = readable.getReader(); ;) {
            const { value, done } = await reader.read();
            if (done) break;
            parts.push(...value);
          }
          return new TextDecoder().decode(new Uint8Array(parts));
        };
        const out = { step: 'five' };
        try {
        // Five sessions at once, each echoing a stream.
        out.echoes = await Promise.all([0, 1, 2, 3, 4].map(async (i) => {
          const wt = new WebTransport(`https://localhost:${port}/n/${i}`, options);
          await wt.ready;
          const s = await wt.createBidirectionalStream();
          const w = s.writable.getWriter();
          await w.write(new TextEncoder().encode(`hello ${i}`));
          await w.close();
          const text = await readAll(s.readable);
          wt.close({ closeCode: i, reason: `done ${i}` });
          return text;
        }));
        out.step = 'abort';
        // Aborts: ours with 17, the server's with 23.
        const wt = new WebTransport(`https://localhost:${port}/abort`, options);
        await wt.ready;
        const { value: incoming } = await wt.incomingUnidirectionalStreams.getReader().read();
        const reader = incoming.getReader();
        const first = await reader.read();
        out.partial = new TextDecoder().decode(first.value);
        const s = await wt.createBidirectionalStream();
        const w = s.writable.getWriter();
        await w.write(new TextEncoder().encode('about to abort'));
        await w.abort(new WebTransportError({ message: 'page gives up', streamErrorCode: 17 }));
        s.readable.cancel(new WebTransportError({ message: 'page gives up', streamErrorCode: 17 })).catch(() => {});
        try {
          while (!(await reader.read()).done);
          out.serverAbort = 'no error';
        } catch (err) {
          out.serverAbort = { name: err.name, code: err.streamErrorCode };
        }
        wt.close();
        out.step = 'origin';
        // An origin the server does not allow.
        const refused = new WebTransport(`https://localhost:${elsewhere}/n/9`, options);
        try {
          await refused.ready;
          out.refused = 'ready';
        } catch (err) {
          out.refused = err.name;
        }
        } catch (err) {
          out.error = `${err.name}: ${err.message}`;
        }
        return out;
      }, { port, elsewhere, hash: cert.hash }), T, 'page script');
    });
    assert.deepStrictEqual(r.echoes, [0, 1, 2, 3, 4].map((i) => `hello ${i} via /n/${i}`));
    assert.strictEqual(r.error, undefined);
    assert.strictEqual(r.partial, 'partial');
    assert.deepStrictEqual(r.serverAbort, { name: 'WebTransportError', code: 23 });
    assert.deepStrictEqual(seen.aborts, [{ name: 'WebTransportError', code: 17 }]);
    assert.strictEqual(r.refused, 'WebTransportError');
    // The refused request never reached the application.
    assert.deepStrictEqual(seen.paths.slice().sort(), ['/abort', '/n/0', '/n/1', '/n/2', '/n/3', '/n/4']);
    await within((async () => { while (seen.closes.length < 6) await new Promise((res) => setTimeout(res, 20)); })(), T, 'closes');
    assert.deepStrictEqual(seen.closes.filter((c) => typeof c === 'object').map((c) => c.reason).sort(),
                           ['', 'done 0', 'done 1', 'done 2', 'done 3', 'done 4']);
    assert.deepStrictEqual(seen.errors, []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const server of servers) await within(server.close(), T, 'server close');
  }
});

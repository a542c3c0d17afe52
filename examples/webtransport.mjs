// WebTransport: a server that serves a page (plain HTTP on localhost, a
// secure context) whose script opens a WebTransport session to our QUIC
// server and echoes a stream and a datagram; then the same echo driven
// from Node's own WebTransport client.
//
//   node examples/webtransport.mjs             the Node client, then exit
//   node examples/webtransport.mjs --chromium  also headless Chromium (playwright-core)
//   node examples/webtransport.mjs --serve     keep serving: open the printed page in Chrome
//
// Browsers accept a self-signed certificate for WebTransport by its hash
// (serverCertificateHashes) when it is ECDSA and valid for at most 14 days:
// one is made at start with openssl.
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Endpoint, WebTransport } from 'quic';

const dir = mkdtempSync(join(tmpdir(), 'wt-example-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
                         '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '10',
                         '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
             { stdio: 'ignore' });
const key = readFileSync(join(dir, 'key.pem'));
const cert = readFileSync(join(dir, 'cert.pem'));
rmSync(dir, { recursive: true, force: true });
const hash = createHash('sha256').update(new X509Certificate(cert).raw).digest();

// ---- the WebTransport server: echoes streams and datagrams ----
const server = new Endpoint({ address: { address: '127.0.0.1', port: 0 } });
server.onsession = ({ session }) => {
  session.onwebtransport = async ({ request }) => {
    console.log(`server: session for ${request.path} from ${request.origin ?? 'no origin'} (${request.version})`);
    const wt = request.accept();
    wt.closed.then(({ closeCode, reason }) => console.log(`server: closed (${closeCode}, '${reason}')`), () => {});
    (async () => {
      const w = wt.datagrams.writable.getWriter();
      for await (const d of wt.datagrams.readable) await w.write(d);
    })().catch(() => {});
    for await (const { readable, writable } of wt.incomingBidirectionalStreams) readable.pipeTo(writable).catch(() => {});
  };
};
server.listen({ secure: { key, cert }, webtransport: { maxSessions: 4 } });
const port = server.address.port;

// The page, over plain HTTP on localhost.
const page = `<!doctype html><meta charset=utf-8><title>WebTransport echo</title><pre id=out></pre><script>
(async () => {
  const out = (s) => { document.getElementById('out').textContent += s + '\\n'; };
  const wt = new WebTransport('https://localhost:${port}/echo', {
    serverCertificateHashes: [{ algorithm: 'sha-256', value: new Uint8Array([${[...hash].join(',')}]) }] });
  await wt.ready;
  const { readable, writable } = await wt.createBidirectionalStream();
  const w = writable.getWriter();
  await w.write(new TextEncoder().encode('hello from the browser'));
  await w.close();
  let text = '';
  for (const r = readable.getReader(); ;) { const { value, done } = await r.read(); if (done) break; text += new TextDecoder().decode(value); }
  out('stream echo: ' + text);
  const dr = wt.datagrams.readable.getReader();
  await wt.datagrams.writable.getWriter().write(new TextEncoder().encode('datagram from the browser'));
  out('datagram echo: ' + new TextDecoder().decode((await dr.read()).value));
  wt.close({ closeCode: 0, reason: 'browser done' });
  out('done');
})().catch((e) => { document.getElementById('out').textContent += 'error: ' + e; });
</script>`;
const http = createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(page); });
await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
const pageUrl = `http://localhost:${http.address().port}/`;

// ---- the same echo from Node's WebTransport client ----
const wt = new WebTransport(`https://localhost:${port}/echo`, {
  serverCertificateHashes: [{ algorithm: 'sha-256', value: hash }],
  origin: 'https://node.example',
});
await wt.ready;
const { readable, writable } = await wt.createBidirectionalStream();
const w = writable.getWriter();
await w.write(new TextEncoder().encode('hello from Node'));
await w.close();
let text = '';
for await (const chunk of readable) text += new TextDecoder().decode(chunk);
console.log(`node: stream echo: ${text}`);
const dr = wt.datagrams.readable.getReader();
await wt.datagrams.writable.getWriter().write(new TextEncoder().encode('datagram from Node'));
console.log(`node: datagram echo: ${new TextDecoder().decode((await dr.read()).value)}`);
wt.close({ closeCode: 0, reason: 'node done' });
await wt.closed;

if (process.argv.includes('--chromium')) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--host-resolver-rules=MAP localhost 127.0.0.1'],
  });
  const tab = await browser.newPage();
  await tab.goto(pageUrl);
  await tab.waitForFunction(() => /done|error/.test(document.getElementById('out').textContent), null, { timeout: 20000 });
  for (const line of (await tab.textContent('#out')).trim().split('\n')) console.log(`chromium: ${line}`);
  await browser.close();
}

if (process.argv.includes('--serve')) {
  console.log(`open ${pageUrl} in Chrome (Ctrl-C to stop)`);
} else {
  http.close();
  // Chromium drops its connection without a close: do not wait for its idle timeout.
  await Promise.race([server.close(), new Promise((r) => setTimeout(r, 1000))]);
  server.destroy();
}

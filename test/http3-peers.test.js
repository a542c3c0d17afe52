'use strict';
// HTTP/3 against peers nobody here wrote: ngtcp2's own example client and
// server (Debian ngtcp2-client / ngtcp2-server, GnuTLS builds), and a real
// browser (Debian chromium, driven by playwright-core). scripts/setup.sh
// installs them; a missing peer fails these tests, it never skips them.
const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { quic, certs, readAll, sha256, randomBytes, within, peerEnv, requireBinary, freePort, withBrowser } = require('./common');

const T = 20000;
const fixtures = path.join(__dirname, 'fixtures');



function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: peerEnv(), ...opts });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} timed out:\n${out.slice(-2000)}`)); }, T);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

test('gtlsclient (ngtcp2 example client) fetches 10 MB from our HTTP/3 server, bytes match', async () => {
  const gtlsclient = requireBinary('gtlsclient');
  const body = randomBytes(10 * 1024 * 1024, 31);
  const requests = [];
  const server = new quic.Endpoint();
  server.onsession = ({ session }) => {
    session.onstream = async ({ stream, respondWith }) => {
      const h = await stream.headers;
      requests.push(`${h[':method']} ${h[':path']}`);
      if (h[':path'] === '/big.bin') {
        respondWith({ headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }, body });
      } else {
        respondWith({ headers: { ':status': 404 }, body: 'not found' });
      }
    };
  };
  server.listen({ secure: { key: certs.key, cert: certs.cert } });
  const port = server.address.port;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-gtlsclient-'));
  try {
    const r = await run(gtlsclient, ['-q', '--exit-on-all-streams-close', `--download=${dir}`,
                                     '127.0.0.1', String(port), `https://localhost:${port}/big.bin`]);
    assert.strictEqual(r.code, 0, r.out);
    const got = fs.readFileSync(path.join(dir, 'big.bin'));
    assert.strictEqual(got.length, body.length);
    assert.strictEqual(sha256(got), sha256(body));
    assert.deepStrictEqual(requests, ['GET /big.bin']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await server.close();
  }
});

test('our HTTP/3 client fetches from gtlsserver (ngtcp2 example server) serving a directory', async () => {
  const gtlsserver = requireBinary('gtlsserver');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-gtlsserver-'));
  const file = randomBytes(3 * 1024 * 1024, 32);
  fs.writeFileSync(path.join(dir, 'file.bin'), file);
  fs.writeFileSync(path.join(dir, 'index.html'), '<h1>hello</h1>');
  const port = await freePort();
  const child = spawn(gtlsserver, ['-q', `--htdocs=${dir}`, '127.0.0.1', String(port),
                                   path.join(fixtures, 'server-key.pem'), path.join(fixtures, 'server-cert.pem')],
                      { stdio: 'ignore', env: peerEnv() });
  const client = new quic.Endpoint();
  try {
    // The server needs a moment to bind: retry the handshake a few times.
    let session;
    for (let attempt = 0; ; attempt++) {
      session = client.connect({ address: '127.0.0.1', port },
                               { hostname: 'localhost', handshakeTimeout: 1000, secure: { ca: certs.ca } });
      try {
        await session.handshake;
        break;
      } catch (err) {
        if (attempt >= 10) throw err;
      }
    }
    assert.strictEqual(session.alpn, 'h3');
    const st = session.open({ headers: { ':path': '/file.bin' } });
    const headers = await within(st.headers, T, 'headers');
    assert.strictEqual(headers[':status'], 200);
    assert.strictEqual(headers['content-length'], String(file.length));
    assert.match(headers.server, /ngtcp2/);
    const got = await within(readAll(st.readableNodeStream()), T, 'body');
    assert.strictEqual(sha256(got), sha256(file));
    const index = session.open({ headers: { ':path': '/index.html' } });
    assert.strictEqual((await readAll(index.readableNodeStream())).toString(), '<h1>hello</h1>');
    const missing = session.open({ headers: { ':path': '/nope' } });
    assert.strictEqual((await within(missing.headers, T, '404'))[':status'], 404);
    await readAll(missing.readableNodeStream());
    await within(client.close(), T, 'client close');
  } finally {
    client.destroy();
    child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('headless chromium loads a page from our HTTP/3 server over h3', async () => {
  // Chromium trusts the self-signed chain only by the leaf's SPKI hash.
  const spki = new crypto.X509Certificate(certs.cert).publicKey.export({ type: 'spki', format: 'der' });
  const spkiHash = crypto.createHash('sha256').update(spki).digest('base64');
  const seen = [];
  const server = new quic.Endpoint();
  server.onsession = ({ session }) => {
    session.onstream = async ({ stream, respondWith }) => {
      const h = await stream.headers;
      seen.push(h[':path']);
      if (h[':path'] === '/') {
        respondWith({ headers: { 'content-type': 'text/html' }, body: '<!doctype html><title>quic</title><p id=x>served over QUIC</p>' });
      } else {
        respondWith({ headers: { ':status': 404 }, body: '' });
      }
    };
  };
  server.listen({ secure: { key: certs.key, cert: certs.cert } });
  const port = server.address.port;
  try {
    await withBrowser([`--origin-to-force-quic-on=localhost:${port}`, `--ignore-certificate-errors-spki-list=${spkiHash}`],
      async (browser) => {
        const page = browser.pages()[0] || await browser.newPage();
        await page.goto(`https://localhost:${port}/`, { timeout: T });
        assert.strictEqual(await page.textContent('#x'), 'served over QUIC');
        const protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
        assert.strictEqual(protocol, 'h3');
      });
    assert.ok(seen.includes('/'));
  } finally {
    await within(server.close(), T, 'server close').catch(() => server.destroy());
  }
});

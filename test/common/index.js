'use strict';
// Shared helpers for the node:test files: certificates, a ready server and
// client, hashing, and bounded waits. Loopback only, port 0 only.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const quic = require('../..');

const fixtures = path.join(__dirname, '..', 'fixtures');
const fixture = (name) => fs.readFileSync(path.join(fixtures, name));

const certs = {
  ca: fixture('ca.pem'),
  key: fixture('server-key.pem'),
  cert: fixture('server-cert.pem'),
  selfSignedKey: fixture('selfsigned-key.pem'),
  selfSignedCert: fixture('selfsigned-cert.pem'),
  wrongHostKey: fixture('wronghost-key.pem'),
  wrongHostCert: fixture('wronghost-cert.pem'),
};

const ALPN = 'quic-test';

// A listening server endpoint; `onsession` gets each server Session.
function makeServer({ endpoint = {}, session = {}, secure = {}, onsession } = {}) {
  const server = new quic.Endpoint(endpoint);
  if (onsession) server.onsession = ({ session: s }) => onsession(s);
  server.listen({
    alpn: ALPN,
    ...session,
    secure: { key: certs.key, cert: certs.cert, ...secure },
  });
  return server;
}

// A client endpoint and a session to `server` (an Endpoint or a port).
function connect(server, { endpoint = {}, session = {}, secure = {} } = {}) {
  const client = new quic.Endpoint(endpoint);
  const port = typeof server === 'number' ? server : server.address.port;
  const s = client.connect({ address: '127.0.0.1', port }, {
    alpn: ALPN,
    hostname: 'localhost',
    ...session,
    secure: { ca: certs.ca, ...secure },
  });
  return { client, session: s };
}

function sha256(...buffers) {
  const h = crypto.createHash('sha256');
  for (const b of buffers) h.update(b);
  return h.digest('hex');
}

async function readAll(readable) {
  const chunks = [];
  for await (const c of readable) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

// Hashes a readable as it arrives (the data is never held whole).
async function hashOf(readable) {
  const h = crypto.createHash('sha256');
  let length = 0;
  for await (const chunk of readable) {
    h.update(chunk);
    length += chunk.byteLength;
  }
  return { length, hash: h.digest('hex') };
}

// Rejects if `promise` does not settle within `ms`: a bounded wait.
function within(promise, ms, what = 'operation') {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

// Deterministic pseudo-random data, so failures reproduce.
function randomBytes(n, seed = 1) {
  const out = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out.writeUInt32LE(x, Math.min(i, n - 4) === i ? i : n - 4);
  }
  return out;
}

// Environment for programs that are not Node.js (peers, compilers): under
// `npm run test:asan` the ASan runtime is preloaded into Node.js, and these
// must not get it.
function peerEnv(extra = {}) {
  const env = { ...process.env };
  if (process.env.QUIC_ASAN) {
    delete env.LD_PRELOAD;
    delete env.ASAN_OPTIONS;
    delete env.UBSAN_OPTIONS;
  }
  return { ...env, ...extra };
}


// The path of a peer program (gtlsserver, gtlsclient, chromium); a test
// that needs one fails, never skips, when it is missing. (These two load
// their modules when called: loaded with this file, they left a PipeWrap
// handle in the children of lifecycle-load.test.js, which count handles.)
function requireBinary(name) {
  const { spawnSync } = require('node:child_process');
  const assert = require('node:assert');
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8', env: peerEnv() });
  assert.strictEqual(r.status, 0, `${name} is not installed: run scripts/setup.sh`);
  return r.stdout.trim();
}

// A UDP port that nothing is using right now.
async function freePort() {
  const s = require('node:dgram').createSocket('udp4');
  await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

// Headless Chromium (Debian's, driven by playwright-core) with a fresh
// profile, for fn(browser); the flags every browser test needs plus
// extraArgs. Closes the browser and removes the profile afterwards.
async function withBrowser(extraArgs, fn) {
  const executablePath = requireBinary('chromium');
  const { chromium } = require('playwright-core');
  const os = require('node:os');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-chromium-'));
  let browser;
  try {
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      env: peerEnv(),
      headless: true,
      args: [
        '--no-sandbox', '--headless', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--enable-quic',
        // Chromium may try ::1 first for localhost; our servers are on 127.0.0.1.
        '--host-resolver-rules=MAP localhost 127.0.0.1',
        ...extraArgs,
      ],
    });
    return await fn(browser);
  } finally {
    if (browser) await browser.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

module.exports = { quic, certs, ALPN, makeServer, connect, sha256, hashOf, readAll, within, randomBytes, fixture,
                   peerEnv, requireBinary, freePort, withBrowser };

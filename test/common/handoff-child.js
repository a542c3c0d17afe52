'use strict';
// Run by test/workers.test.js with QUIC_DEBUG_NO_REUSEPORT_CBPF=1: a port
// shared by 3 worker threads under a kernel that (as far as the group can
// tell) refused the steering program. 30 connections echo 64 KB each;
// prints one JSON line: the hashes that matched, sessions and hand-offs per
// worker.
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { quic, certs, ALPN, sha256, readAll, randomBytes } = require('.');

async function main() {
  const original = new quic.Endpoint({ maxConnectionsPerHost: 1000 });
  const handle = original.share();
  const workers = [];
  const sessions = [0, 0, 0];
  for (let index = 0; index < 3; index++) {
    const w = new Worker(path.join(__dirname, 'endpoint-worker.js'),
      { workerData: { handle, key: certs.key, cert: certs.cert, alpn: ALPN, index } });
    w.on('message', (m) => { if (m.type === 'session') sessions[m.index]++; });
    await new Promise((resolve) => w.on('message', (m) => m.type === 'ready' && resolve()));
    workers.push(w);
  }
  const client = new quic.Endpoint();
  let intact = 0;
  await Promise.all(Array.from({ length: 30 }, async (_, i) => {
    const body = randomBytes(65536, 900 + i);
    const s = client.connect({ address: '127.0.0.1', port: original.address.port },
                             { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca } });
    await s.handshake;
    const got = await readAll(s.open({ body }).readableNodeStream());
    if (sha256(got.subarray(1)) === sha256(body)) intact++;
    await s.close();
  }));
  const stats = await Promise.all(workers.map((w) => new Promise((resolve) => {
    w.on('message', (m) => m.type === 'stats' && resolve(m));
    w.postMessage('stats');
  })));
  await client.close();
  for (const w of workers) w.postMessage('close');
  await Promise.all(workers.map((w) => new Promise((resolve) => w.on('exit', resolve))));
  await original.close();
  console.log(JSON.stringify({ intact, sessions, misrouted: stats.map((s) => s.misrouted),
                               originalMisrouted: Number(original.stats.misroutedCount) }));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});

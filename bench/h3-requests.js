'use strict';
// HTTP/3 requests per second for small responses, beside the same load on
// Node's own http2 secure server (TLS over TCP), as a ratio. Servers run in a
// child process, the load generator here; both on this machine.
//   node bench/h3-requests.js [--requests 20000] [--runs 3]
const { fork } = require('node:child_process');
const http2 = require('node:http2');

const { args, opt, median, testCommon: common } = require('./common');
const REQUESTS = opt('requests', 20000);
const RUNS = opt('runs', 3);
const BODY = 'x'.repeat(100);

if (args[0] === 'server') {
  const { quic, certs } = require(common);
  const h3 = new quic.Endpoint({ maxConnectionsPerHost: 1000 });
  h3.onsession = ({ session }) => {
    session.onstream = ({ respondWith }) => {
      respondWith({ headers: { 'content-type': 'text/plain' }, body: BODY });
    };
  };
  h3.listen({ secure: { key: certs.key, cert: certs.cert }, transportParams: { initialMaxStreamsBidi: 1000 } });
  const h2 = http2.createSecureServer({ key: certs.key, cert: certs.cert });
  h2.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end(BODY);
  });
  h2.listen(0, '127.0.0.1', () => {
    process.send({ h3: h3.address.port, h2: h2.address().port });
  });
  process.on('message', (m) => { if (m === 'exit') process.exit(0); });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

// Runs `total` requests through `conns` connections with `inflight` each.
async function load(total, conns, inflight, makeConn) {
  const connections = await Promise.all(Array.from({ length: conns }, makeConn));
  const latencies = [];
  let issued = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(connections.flatMap((c) => Array.from({ length: inflight }, async () => {
    while (issued < total) {
      issued++;
      const s = process.hrtime.bigint();
      await c.request();
      latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  })));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await Promise.all(connections.map((c) => c.close()));
  latencies.sort((a, b) => a - b);
  return {
    rps: total / secs,
    p50: latencies[Math.floor(latencies.length * 0.5)],
    p99: latencies[Math.floor(latencies.length * 0.99)],
  };
}

async function h3Conn(port) {
  const { quic, certs } = require(common);
  const client = new quic.Endpoint();
  const session = client.connect({ address: '127.0.0.1', port }, { hostname: 'localhost', secure: { ca: certs.ca } });
  await session.handshake;
  return {
    request: () => new Promise((resolve, reject) => {
      const stream = session.open();
      stream.setStreamConsumer((chunks, done) => { if (done) resolve(); });
      stream.closed.catch(reject);
    }),
    close: () => client.close(),
  };
}

async function h2Conn(port) {
  const { certs } = require(common);
  const client = http2.connect(`https://localhost:${port}`, { ca: certs.ca, peerMaxConcurrentStreams: 1000 });
  await new Promise((resolve, reject) => { client.once('connect', resolve); client.once('error', reject); });
  return {
    request: () => new Promise((resolve, reject) => {
      const req = client.request({ ':path': '/' });
      req.on('data', () => {});
      req.on('end', resolve);
      req.on('error', reject);
      req.end();
    }),
    close: () => new Promise((resolve) => client.close(resolve)),
  };
}

async function main() {
  const child = fork(__filename, ['server']);
  const ports = await new Promise((resolve) => child.once('message', resolve));
  const cases = [
    { name: 'h3-requests-c50', conns: 1, inflight: 50 },
    { name: 'h3-requests-10conn', conns: 10, inflight: 10 },
  ];
  console.log(`HTTP/3 requests (100-byte responses), ${REQUESTS} requests, ${RUNS} runs, medians (${process.version})`);
  for (const c of cases) {
    const r = { h3: [], h2: [] };
    for (let run = 0; run < RUNS; run++) {
      // Alternate the two so machine noise hits both alike.
      r.h3.push(await load(REQUESTS, c.conns, c.inflight, () => h3Conn(ports.h3)));
      r.h2.push(await load(REQUESTS, c.conns, c.inflight, () => h2Conn(ports.h2)));
    }
    const m = (k, f) => median(r[k].map((x) => x[f]));
    console.log(`  ${c.name} (${c.conns} connection(s) x ${c.inflight} in flight):`);
    console.log(`    quic h3    ${m('h3', 'rps').toFixed(0)} req/s  p50 ${m('h3', 'p50').toFixed(2)} ms  p99 ${m('h3', 'p99').toFixed(2)} ms`);
    console.log(`    node http2 ${m('h2', 'rps').toFixed(0)} req/s  p50 ${m('h2', 'p50').toFixed(2)} ms  p99 ${m('h2', 'p99').toFixed(2)} ms`);
    console.log(`    ratio h3/http2: ${(m('h3', 'rps') / m('h2', 'rps')).toFixed(2)}`);
  }
  child.send('exit');
}

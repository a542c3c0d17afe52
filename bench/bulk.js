'use strict';
// Bulk throughput: 200 MB on one stream over loopback, client and server in
// separate processes (one core each). Prints MB/s for upload (client to
// server) and download (server to client), and CPU seconds per GB.
//   node bench/bulk.js [--mb 200] [--runs 3]
const { fork } = require('node:child_process');

const { args, opt, median, testCommon: common } = require('./common');
const MB = opt('mb', 200);
const RUNS = opt('runs', 3);
const TOTAL = MB * 1024 * 1024;
const CHUNK = Buffer.alloc(256 * 1024, 0x61);

async function* source(total) {
  for (let sent = 0; sent < total; sent += CHUNK.length) {
    yield sent + CHUNK.length <= total ? CHUNK : CHUNK.subarray(0, total - sent);
  }
}

function cpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

if (args[0] === 'server') {
  const { makeServer } = require(common);
  const server = makeServer({
    onsession: (session) => {
      session.onstream = async ({ stream, respondWith }) => {
        const mode = await new Promise((resolve) => {
          // First byte says what to do: 'u' = swallow the upload, 'd' = send TOTAL back.
          let first = null;
          let n = 0;
          stream.setStreamConsumer((chunks, done) => {
            for (const c of chunks) {
              if (first === null && c.byteLength) first = String.fromCharCode(new Uint8Array(c)[0]);
              n += c.byteLength;
            }
            if (done) resolve({ first, n });
          });
        });
        respondWith({ body: mode.first === 'd' ? source(TOTAL) : `${mode.n}` });
      };
    },
  });
  process.send({ port: server.address.port });
  process.on('message', (m) => {
    if (m === 'cpu') process.send({ cpu: cpu() });
    if (m === 'exit') server.close().then(() => process.exit(0));
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

async function main() {
  const { connect } = require(common);
  const child = fork(__filename, ['server', ...args]);
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const askCpu = () => new Promise((resolve) => {
    child.once('message', (m) => resolve(m.cpu));
    child.send('cpu');
  });
  const results = { up: [], down: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const dir of ['up', 'down']) {
      const { client, session } = connect(port);
      await session.handshake;
      const c0 = cpu();
      const s0 = await askCpu();
      const t0 = process.hrtime.bigint();
      let received = 0;
      const stream = session.open({ body: dir === 'up' ? source(TOTAL) : 'd' });
      await new Promise((resolve) => {
        stream.setStreamConsumer((chunks, done) => {
          for (const c of chunks) received += c.byteLength;
          if (done) resolve();
        });
      });
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpuSecs = cpu() - c0 + (await askCpu()) - s0;
      if (dir === 'down' && received !== TOTAL) throw new Error(`received ${received} of ${TOTAL}`);
      const mbps = MB / secs;
      results[dir].push({ mbps, cpuPerGB: cpuSecs / (MB / 1024) });
      await client.close();
    }
  }
  child.send('exit');
  console.log(`bulk: ${MB} MB on one stream over loopback, ${RUNS} runs, median (${process.version})`);
  for (const dir of ['up', 'down']) {
    const r = results[dir];
    console.log(`  ${dir === 'up' ? 'client -> server' : 'server -> client'}: ` +
                `${median(r.map((x) => x.mbps)).toFixed(1)} MB/s, ` +
                `${median(r.map((x) => x.cpuPerGB)).toFixed(2)} CPU s/GB (both processes)`);
  }
}

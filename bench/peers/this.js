'use strict';
// This project: raw QUIC (ALPN quic-test) for bulk, streams, datagrams,
// memory and the relay cases; HTTP/3 for the request and server cases.
const crypto = require('node:crypto');
const { testCommon, asyncChunks, asyncPatternChunks, now, sleep } = require('../common');

const cases = {
  'bulk-up': true,
  'bulk-down': true,
  'bulk-up-1452': true,
  'bulk-down-1452': true,
  handshakes: true,
  'handshakes-resumed': true,
  'h3-requests-c50': true,
  'h3-requests-10conn': true,
  streams: true,
  datagrams: true,
  'mem-idle-conn': true,
  'mem-stalled-reader': true,
  'bulk-loss-1': true,
  'bulk-loss-5': true,
  'h3-server-4x50': true,
  'h3-server-10x10': true,
  'relay-clean': true,
  'relay-loss-1': true,
  'relay-loss-5': true,
  'relay-mix': true,
  'wt-datagrams': true,
  'wt-stream': true,
  'shared-h3-threads': true,
  'shared-h3-procs': true,
  'shared-hs-threads': true,
  'shared-hs-procs': true,
};

const isH3 = (name) => name.startsWith('h3-');
const isWt = (name) => name.startsWith('wt-');

function endpointOptions(params) {
  const o = { maxConnectionsPerHost: 5000, maxConnectionsTotal: 5000 };
  if (params.loss) o.txPacketLoss = params.loss;
  if (params.cc) o.ccAlgorithm = params.cc;
  if (params.payload) o.maxPayloadSize = params.payload;
  return o;
}

// In the server cases the server's stream limit is what sets how many
// requests each gtlsclient has in flight (as --max-streams-bidi does for gtlsserver).
function sessionOptions(caseName, params = {}) {
  return {
    alpn: isH3(caseName) ? 'h3' : 'quic-test',
    transportParams: { initialMaxStreamsBidi: caseName.startsWith('h3-server-') ? params.inflight : 1000 },
  };
}

// Resolves with the bytes of a stream as one Buffer (small replies only) or their count.
function consume(stream, keep) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let n = 0;
    stream.setStreamConsumer((chunks, done) => {
      for (const c of chunks) {
        n += c.byteLength;
        if (keep) parts.push(Buffer.from(c));
      }
      if (done) resolve(keep ? Buffer.concat(parts) : n);
    });
    stream.closed.catch(reject);
  });
}

async function serve(caseName, params) {
  const { quic, certs } = require(testCommon);
  const bytes = (params.mb || 0) * 1024 * 1024;
  const dgrams = { count: 0, first: 0, last: 0 };
  const server = new quic.Endpoint(endpointOptions(params));
  let latest; // the newest session: its path's packet size goes in the report
  server.onsession = ({ session }) => {
    latest = session;
    session.ondatagram = () => {
      const t = now();
      if (dgrams.count++ === 0) dgrams.first = t;
      dgrams.last = t;
    };
    session.onstream = async ({ stream, respondWith }) => {
      try {
        if (isH3(caseName)) {
          respondWith({ headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(100) });
        } else if (caseName.startsWith('bulk-up')) {
          respondWith({ body: String(await consume(stream, false)) });
        } else if (caseName === 'streams') {
          respondWith({ body: await consume(stream, true) });
        } else if (caseName === 'mem-stalled-reader') {
          // Read one chunk, then never again: the sender must be held back.
          await stream.readableWebStream().getReader().read();
        } else {
          await consume(stream, false);
          // Through the relay: bytes whose hash the client checks.
          respondWith({ body: caseName.startsWith('relay-') ? asyncPatternChunks(bytes) : asyncChunks(bytes) });
        }
      } catch {
        // The client cancelled or closed; nothing to report.
      }
    };
  };
  if (isWt(caseName)) {
    // WebTransport: the server side of wt-datagrams (count what arrives)
    // and wt-stream (read it all, answer with the count).
    server.onsession = ({ session }) => {
      session.onwebtransport = ({ request }) => {
        const ws = request.accept();
        ws.closed.catch(() => {});
        ws.datagrams.incomingHighWaterMark = 1024;
        (async () => {
          for await (const d of ws.datagrams.readable) {
            const t = now();
            if (dgrams.count++ === 0) dgrams.first = t;
            dgrams.last = t;
            if (d.byteLength === 0) break;
          }
        })().catch(() => {});
        (async () => {
          for await (const { readable, writable } of ws.incomingBidirectionalStreams) {
            let n = 0;
            for await (const c of readable) n += c.byteLength;
            const w = writable.getWriter();
            await w.write(Buffer.from(String(n)));
            await w.close();
          }
        })().catch(() => {});
      };
    };
    server.listen({ secure: { key: certs.key, cert: certs.cert }, webtransport: true });
    return {
      port: server.address.port,
      report: () => dgrams,
      liveMemory: () => quic.liveMemory(),
      close: () => server.close(),
    };
  }
  server.listen({ ...sessionOptions(caseName, params), secure: { key: certs.key, cert: certs.cert } });
  return {
    port: server.address.port,
    report: () => ({ ...dgrams, packetSize: latest ? Number(latest.stats.maxUdpPayloadSize) : undefined }),
    liveMemory: () => quic.liveMemory(),
    close: () => server.close(),
  };
}

// WebTransport: our W3C client against our server (wt-datagrams, wt-stream).
function wtClient(quic, certs, port) {
  const endpoint = new quic.Endpoint();
  const url = `https://localhost:${port}/bench`;
  return {
    async connect() {
      const wt = new quic.WebTransport(url, { ca: certs.ca, endpoint });
      await wt.ready;
      wt.closed.catch(() => {});
      return wt;
    },
    async close(wt) {
      wt.close();
      await wt.closed.catch(() => {});
    },
    // Writes in 64 KB chunks, then close(), which settles once every byte is
    // acknowledged; the server answers with the count it read.
    async upload(wt, bytes) {
      const { readable, writable } = await wt.createBidirectionalStream();
      const w = writable.getWriter();
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      for (let off = 0; off < bytes; off += chunk.length) {
        await w.write(off + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - off));
      }
      await w.close();
      const parts = [];
      for await (const c of readable) parts.push(Buffer.from(c));
      return Number(Buffer.concat(parts).toString());
    },
    // The writable drops what finds the session's queue (outgoingHighWaterMark)
    // full: while the queue is as full as the raw case's (128), yield so it
    // drains, as the raw case does when datagram() returns false.
    async sendDatagrams(wt, count, size) {
      const dg = wt.datagrams;
      if (dg.maxDatagramSize < size) throw new Error(`maxDatagramSize ${dg.maxDatagramSize} < ${size}`);
      const w = dg.writable.getWriter();
      const payload = Buffer.alloc(size, 0x63);
      for (let i = 0; i < count; i++) {
        for (let tries = 0; dg.outgoingQueued >= 128; tries++) {
          if (tries > 100000) throw new Error('the datagram queue did not drain');
          await new Promise(setImmediate);
        }
        await w.write(payload);
      }
      const st = await wt.getStats();
      if (st.datagramsDroppedOutgoing) throw new Error(`${st.datagramsDroppedOutgoing} datagrams dropped on send`);
      return st.datagramsSent;
    },
    liveMemory: () => quic.liveMemory(),
    shutdown: () => endpoint.close(),
  };
}

async function client(caseName, params, port, CannotRun) {
  const { quic, certs } = require(testCommon);
  if (isWt(caseName)) return wtClient(quic, certs, port);
  const endpoint = new quic.Endpoint(endpointOptions(params));
  const address = { address: '127.0.0.1', port };
  // One SessionConfig for every connection, as a server-to-server client
  // would: its TLS context is built once (docs/api.md, endpoint.connect).
  const options = new quic.SessionConfig('client',
                                         { ...sessionOptions(caseName), hostname: 'localhost', secure: { ca: certs.ca } });
  const connect = async (resume) => {
    const session = resume === undefined ? endpoint.connect(address, options) : endpoint.connect(address, options, resume);
    await session.handshake;
    return session;
  };
  // A graceful close, or destroy if the peer keeps a stream open.
  const close = async (session) => {
    let t;
    const late = new Promise((resolve) => { t = setTimeout(resolve, 2000, 'late'); });
    const r = await Promise.race([session.close().catch(() => {}), late]);
    clearTimeout(t);
    if (r === 'late') session.destroy();
  };
  return {
    connect: () => connect(),
    close,
    async upload(session, bytes) {
      return Number((await consume(session.open({ body: asyncChunks(bytes) }), true)).toString());
    },
    download: (session) => consume(session.open({ body: 'd' }), false),
    // The largest UDP payload this client's path reached (path MTU discovery;
    // it probes only once it has more than a packet to send: bulk-up).
    packetSize: (session) => Number(session.stats.maxUdpPayloadSize),
    // The bytes' count and SHA-256, hashed as they arrive.
    downloadHashed: (session) => new Promise((resolve, reject) => {
      const stream = session.open({ body: 'd' });
      const h = crypto.createHash('sha256');
      let n = 0;
      stream.setStreamConsumer((chunks, done) => {
        for (const c of chunks) {
          n += c.byteLength;
          h.update(ArrayBuffer.isView(c) ? c : new Uint8Array(c));
        }
        if (done) resolve({ bytes: n, hash: h.digest('hex') });
      });
      stream.closed.catch(reject);
    }),
    echo: async (session, payload) => (await consume(session.open({ body: payload }), true)).length,
    request: (session) => consume(session.open(), false),
    stall(session, bytes) {
      const stream = session.open({ body: asyncChunks(bytes) });
      stream.closed.catch(() => {});
      return { stop: async () => stream.cancel() };
    },
    async sendDatagrams(session, count, size) {
      if (session.maxDatagramSize < size) throw new Error(`maxDatagramSize ${session.maxDatagramSize} < ${size}`);
      const payload = Buffer.alloc(size, 0x63);
      let sent = 0;
      for (let i = 0; i < count; i++) {
        // false while the 128-datagram send queue is full: yield so it drains.
        for (let tries = 0; !session.datagram(payload); tries++) {
          if (tries > 100000) throw new Error('datagram() kept returning false');
          await new Promise(setImmediate);
        }
        sent++;
      }
      return sent;
    },
    async resumedHandshakes(count) {
      const first = await connect();
      let ticket;
      for (let i = 0; i < 20 && !ticket; i++) {
        ticket = first.sessionTicket;
        if (!ticket) await sleep(50);
      }
      await close(first);
      if (!ticket) throw new CannotRun('no session.sessionTicket within 1 s of the handshake');
      // earlyData is true only when the server took the ticket (and 0-RTT).
      const check = await connect(ticket);
      const resumed = check.earlyData;
      await close(check);
      if (!resumed) throw new CannotRun('the server did not resume the session from its ticket');
      const t0 = now();
      for (let i = 0; i < count; i++) {
        const s = await connect(ticket);
        ticket = s.sessionTicket || ticket;
        await close(s);
      }
      return { seconds: now() - t0 };
    },
    liveMemory: () => quic.liveMemory(),
    shutdown: () => endpoint.close(),
  };
}

module.exports = { cases, serve, client };

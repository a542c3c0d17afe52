'use strict';
// Lifecycle under load (issue 6, part 6), run as a child process by
// test/lifecycle-load.test.js: SESSIONS client sessions with STREAMS echo
// streams each, one after another; once about half the streams are done, the server endpoint
// is closed (and the client endpoint after it). Every promise the API handed
// out is tracked. Nothing calls process.exit(): when the loop runs dry the
// 'exit' handler prints one JSON line with what settled, the core's live
// memory and the handles still open.
const { quic, certs, ALPN, makeServer, readAll } = require('.');

const SESSIONS = Number(process.argv[2] || 200);
const STREAMS = Number(process.argv[3] || 20);
// 'streams': close once half the streams are done; 'handshakes': once half
// the sessions have completed their handshake (the rest still in flight).
const WHEN = process.argv[4] || 'streams';
const BODY = Buffer.alloc(4096, 7);

const tracked = [];
function track(label, promise) {
  const t = { label, state: 'pending' };
  tracked.push(t);
  promise.then(() => { t.state = 'fulfilled'; }, (e) => { t.state = 'rejected'; t.code = e && e.code; });
  return promise;
}

let echoed = 0;
let serverStreams = 0;
const server = makeServer({
  endpoint: { maxConnectionsPerHost: SESSIONS * 2, maxConnectionsTotal: SESSIONS * 2 },
  session: { transportParams: { initialMaxStreamsBidi: STREAMS } },
  onsession: (s) => {
    track('server session.closed', s.closed);
    track('server session.handshake', s.handshake);
    s.onstream = ({ stream, respondWith }) => {
      serverStreams++;
      track('server stream.closed', stream.closed);
      track('server echo', readAll(stream.readableNodeStream()).then((b) => respondWith({ body: b })));
    };
  },
});
track('server endpoint.closed', server.closed);

const client = new quic.Endpoint({ maxConnectionsPerHost: SESSIONS * 2 });
track('client endpoint.closed', client.closed);
const { port } = server.address;

let closedServerAt = -1;
const total = SESSIONS * STREAMS;
let handshakes = 0;
function maybeClose() {
  if (closedServerAt >= 0) return;
  if (WHEN === 'streams' ? echoed < total / 2 : handshakes < SESSIONS / 2) return;
  closedServerAt = echoed;
  // In the middle: half the streams are done, the rest are in flight.
  track('server endpoint.close()', server.close());
  track('client endpoint.close()', client.close());
}

for (let i = 0; i < SESSIONS; i++) {
  const s = client.connect({ address: '127.0.0.1', port }, { alpn: ALPN, hostname: 'localhost', secure: { ca: certs.ca } });
  track('client session.closed', s.closed);
  // Streams one after another, so the close finds every session mid-way.
  track('client session.handshake', s.handshake).then(async () => {
    handshakes++;
    maybeClose();
    for (let j = 0; j < STREAMS; j++) {
      let st;
      try {
        st = s.open({ body: BODY });
      } catch (e) {
        // The session is closing: refused with a code, as it should be.
        tracked.push({ label: 'open() refused', state: e.code ? 'rejected' : 'uncoded', code: e.code });
        return;
      }
      track('client stream.closed', st.closed);
      const ok = await track('client read', readAll(st.readableNodeStream()).then((b) => {
        if (b.length !== BODY.length) throw new Error(`short echo: ${b.length}`);
        echoed++;
        maybeClose();
      })).then(() => true, () => false);
      if (!ok) return;
    }
  }, () => {});
}

process.on('exit', (code) => {
  const states = {};
  const pending = [];
  for (const t of tracked) {
    states[t.state] = (states[t.state] || 0) + 1;
    if (t.state === 'pending' || t.state === 'uncoded') pending.push(t.label);
  }
  const codes = {};
  for (const t of tracked) if (t.state === 'rejected') codes[t.code] = (codes[t.code] || 0) + 1;
  const resources = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
  console.log(JSON.stringify({
    code, when: WHEN, total, echoed, handshakes, closedServerAt, serverStreams, tracked: tracked.length, states, codes,
    pending: pending.slice(0, 20), liveMemory: quic.liveMemory(), resources,
  }));
});

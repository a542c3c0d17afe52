'use strict';
// Stream limits: streams beyond the peer's limit queue and go out as the
// peer gives slots back (MAX_STREAMS) when it is done with earlier streams.
const test = require('node:test');
const assert = require('node:assert');
const { makeServer, connect, readAll, within } = require('./common');

for (const unidirectional of [false, true]) {
  test(`${unidirectional ? 'uni' : 'bidi'}: 6 streams through a limit of 1 all arrive, in order of opening`, async () => {
    const got = [];
    const server = makeServer({
      session: { transportParams: { initialMaxStreamsBidi: 1, initialMaxStreamsUni: 1 } },
      onsession: (s) => {
        s.onstream = async ({ stream, respondWith }) => {
          const body = (await readAll(stream.readableNodeStream())).toString();
          got.push(body);
          if (respondWith) respondWith({ body: `ack ${body}` });
        };
      },
    });
    const { client, session } = connect(server);
    await within(session.handshake, 5000, 'handshake');
    const streams = [];
    for (let i = 0; i < 6; i++) streams.push(session.open({ unidirectional, body: `s${i}` }));
    // Only the first fits at once; the others wait for an id.
    assert.strictEqual(typeof streams[0].id, 'bigint');
    assert.strictEqual(streams[5].id, undefined);
    if (!unidirectional) {
      const acks = await within(Promise.all(streams.map(async (st) =>
        (await readAll(st.readableNodeStream())).toString())), 10000, 'responses');
      assert.deepStrictEqual(acks, streams.map((_, i) => `ack s${i}`));
    } else {
      await within(Promise.all(streams.map((st) => st.closed)), 10000, 'uni streams closed');
      await within(new Promise((resolve) => {
        const t = setInterval(() => { if (got.length === 6) { clearInterval(t); resolve(); } }, 10);
      }), 5000, 'server reads');
    }
    assert.deepStrictEqual(got.slice().sort(), ['s0', 's1', 's2', 's3', 's4', 's5']);
    const ids = streams.map((st) => st.id);
    assert.ok(ids.every((id) => typeof id === 'bigint'));
    assert.deepStrictEqual(ids, ids.slice().sort((a, b) => (a < b ? -1 : 1)));
    await client.close();
    await server.close();
  });
}

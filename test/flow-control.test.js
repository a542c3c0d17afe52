'use strict';
// Flow control: a reader that does not read holds the writer back. The
// client's body is pulled only as the stream drains, the client sees
// `stream.blocked`, the C core's memory stays bounded while the reader is
// stalled, and once the reader starts everything arrives intact.
const { test } = require('node:test');
const assert = require('node:assert');
const crypto = require('node:crypto');
const { quic, makeServer, connect, within, randomBytes, readAll, hashOf } = require('./common');

const MB = 1024 * 1024;
const T = 10000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

for (const unidirectional of [true, false]) {
  const kind = unidirectional ? 'unidirectional' : 'bidirectional';
  test(`${kind}: a slow reader holds back a 64 MB body; memory stays bounded; then it all arrives`, async (t) => {
    const TOTAL = 64 * MB;
    const CHUNK = 64 * 1024;
    const BOUND = 8 * MB;         // what the writer may have pulled while the reader stalls
    const MEMORY_BOUND = 64 * MB; // liveMemory() of the process while stalled

    const memoryBefore = quic.liveMemory().bytes;

    // The server takes the stream but does not read it until told to.
    let arrivedResolve;
    const arrived = new Promise((resolve) => { arrivedResolve = resolve; });
    const server = makeServer({
      onsession(session) {
        session.onstream = (event) => arrivedResolve(event);
      },
    });
    const { client, session } = connect(server);
    t.after(() => { client.destroy(); server.destroy(); });
    await within(session.handshake, T, 'handshake');

    // The body: an async generator that counts and hashes what it produces.
    let produced = 0;
    const sent = crypto.createHash('sha256');
    let i = 0;
    async function* body() {
      while (produced < TOTAL) {
        const chunk = randomBytes(CHUNK, ++i);
        produced += chunk.length;
        sent.update(chunk);
        yield chunk;
      }
    }

    const stream = session.open({ unidirectional, body: body() });
    const blocked = await within(stream.blocked, T, 'stream.blocked');
    assert.strictEqual(blocked, true, 'stream.blocked fulfils with true');
    const { stream: serverStream, respondWith } = await within(arrived, T, 'the server sees the stream');

    // Stalled: give the writer time to run ahead if it were going to.
    await sleep(500);
    const producedStalled1 = produced;
    const memoryStalled1 = quic.liveMemory().bytes;
    await sleep(500);
    const producedStalled2 = produced;
    const memoryStalled2 = quic.liveMemory().bytes;

    t.diagnostic(`stalled: produced ${producedStalled1} -> ${producedStalled2} bytes; ` +
                 `liveMemory ${memoryStalled1} -> ${memoryStalled2} bytes (before ${memoryBefore})`);
    assert.ok(producedStalled1 < BOUND,
              `the generator produced ${producedStalled1} bytes while the reader was stalled (bound ${BOUND})`);
    assert.ok(producedStalled2 < BOUND,
              `the generator produced ${producedStalled2} bytes while the reader was stalled (bound ${BOUND})`);
    assert.ok(producedStalled2 - producedStalled1 <= 1 * MB,
              `the generator kept going while stalled: ${producedStalled1} -> ${producedStalled2}`);
    assert.ok(memoryStalled1 < MEMORY_BOUND && memoryStalled2 < MEMORY_BOUND,
              `liveMemory while stalled: ${memoryStalled1}, ${memoryStalled2} bytes (before: ${memoryBefore})`);

    // The reader starts: the whole body arrives with the right hash.
    const got = await within(hashOf(serverStream.readableNodeStream()), 60000, 'the server reads 64 MB');
    const expected = sent.digest('hex');
    assert.strictEqual(produced, TOTAL, 'the generator was drained to the end');
    assert.strictEqual(got.length, TOTAL, 'bytes the server read');
    assert.strictEqual(got.hash, expected, 'hash of what the server read');
    if (!unidirectional) {
      // The server tells the client what it got, over the same stream.
      respondWith({ body: `${got.length} ${got.hash}` });
      const reply = await within(readAll(stream.readableNodeStream()), T, 'reply');
      assert.strictEqual(reply.toString(), `${TOTAL} ${expected}`);
    }
    await within(stream.closed, T, 'client stream closed');

    await within(client.close(), T, 'client endpoint close');
    await within(server.close(), T, 'server endpoint close');
  });
}

'use strict';
// Hostile input from JavaScript (issue 6, part 5). The table itself lives in
// test/common/hostile-js.js and runs in a child process, so an abort is seen
// as a signal. arguments.test.js checks the exact codes of chosen cases;
// this one sweeps every public entry point with every hostile value.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { makeServer, connect, within } = require('./common');

test('every public constructor and method, with every hostile value: returns, or throws/rejects with a coded error; never aborts', (t) => {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'common', 'hostile-js.js')], {
    encoding: 'utf8', timeout: 170000, maxBuffer: 64 * 1024 * 1024,
  });
  assert.strictEqual(r.signal, null, `the process died by ${r.signal}: ${r.stderr.slice(-2000)}`);
  assert.strictEqual(r.status, 0, r.stderr.slice(-2000));
  const results = JSON.parse(r.stdout.trim().split('\n').pop());
  t.diagnostic(`${results.calls} calls: ${JSON.stringify(results.outcomes)}`);
  assert.ok(results.calls > 5000, 'the table ran');
  assert.ok(results.outcomes.coded > results.calls / 2, 'most hostile values are refused');
  assert.deepStrictEqual(results.uncoded, [], 'calls that failed without an error code');
});

test('an empty datagram is refused (false), and the next one still goes (empty ones used to trip an assertion in ngtcp2)', async () => {
  const transportParams = { maxDatagramFrameSize: 1200 };
  let got;
  const arrived = new Promise((resolve) => { got = resolve; });
  const server = makeServer({
    session: { transportParams },
    onsession: (s) => { s.ondatagram = ({ datagram }) => got(datagram); },
  });
  const { client, session } = connect(server, { session: { transportParams } });
  await within(session.handshake, 5000, 'handshake');
  assert.strictEqual(session.datagram(''), false);
  assert.strictEqual(session.datagram(new Uint8Array(0)), false);
  assert.strictEqual(session.datagram(new ArrayBuffer(0)), false);
  assert.strictEqual(session.datagram('x'), true);
  const d = await within(arrived, 5000, 'the datagram');
  assert.strictEqual(d.byteLength, 1, 'the first datagram to arrive is the non-empty one');
  await within(client.close(), 5000, 'client close');
  await within(server.close(), 5000, 'server close');
});

'use strict';
// The benchmark harness still drives this package: each case runs once at a
// tiny size in its own processes and reports a result (or, for resumption,
// why it cannot run yet). No figures are checked: speed lives in bench/.
const test = require('node:test');
const assert = require('node:assert');
const { execFile } = require('node:child_process');
const path = require('node:path');

const driver = path.join(__dirname, '..', 'bench', 'driver.js');

function measure(peer, name, params) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [driver, peer, name, JSON.stringify(params)], { timeout: 60000 }, (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (err || !line) reject(new Error(`${peer} ${name}: ${err ? err.message : 'no RESULT line'}\n${stderr}`));
      else resolve(JSON.parse(line.slice(7)));
    });
  });
}

const cases = [
  ['bulk-up', { mb: 1 }],
  ['bulk-down', { mb: 1 }],
  ['handshakes', { count: 3 }],
  ['h3-requests-10conn', { requests: 40, conns: 2, inflight: 4 }],
  ['streams', { streams: 40, inflight: 10 }],
  ['datagrams', { count: 50, size: 1000 }],
  ['mem-idle-conn', { conns: 5 }],
  ['mem-stalled-reader', { mb: 4, seconds: 0.3 }],
  ['bulk-loss-1', { mb: 0.25, loss: 0.01 }],
];

for (const [name, params] of cases) {
  test(`bench case ${name} runs for this package`, async () => {
    const r = await measure('this', name, params);
    assert.strictEqual(r.cannot, undefined);
    assert.ok(Number.isFinite(r.value), `value ${r.value}`);
    if (name === 'datagrams') assert.ok(r.extra.received > 0);
  });
}

test('bench case handshakes-resumed runs (the sessions really resume)', async () => {
  const r = await measure('this', 'handshakes-resumed', { count: 3 });
  assert.strictEqual(r.cannot, undefined, r.cannot);
  assert.ok(Number.isFinite(r.value) && r.value > 0);
});

test('bench peer node-tls runs bulk-down beside it', async () => {
  const r = await measure('node-tls', 'bulk-down', { mb: 1 });
  assert.ok(Number.isFinite(r.value) && r.value > 0);
});

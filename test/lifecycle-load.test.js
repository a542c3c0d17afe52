'use strict';
// Lifecycle under load (issue 6, part 6): 200 sessions with 20 streams
// each, and endpoint.close() in the middle. The scenario runs in a child
// (test/common/lifecycle-load.js) that never calls process.exit(): it must
// exit by itself, with every tracked promise settled, no native memory
// left and no handle open.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

function run(when) {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'common', 'lifecycle-load.js'), '200', '20', when], {
    encoding: 'utf8', timeout: 60000,
  });
  assert.strictEqual(r.error, undefined, `the child did not exit by itself: ${r.error}`);
  assert.strictEqual(r.signal, null, `the child died by ${r.signal}: ${r.stderr.slice(-2000)}`);
  assert.strictEqual(r.status, 0, r.stderr.slice(-2000));
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function check(t, out) {
  t.diagnostic(JSON.stringify(out));
  assert.deepStrictEqual(out.pending, [], 'promises left pending (or errors without a code)');
  assert.strictEqual(out.states.pending, undefined);
  assert.strictEqual(out.states.uncoded, undefined);
  for (const code of Object.keys(out.codes)) assert.match(code, /^ERR_/, `a rejection without a code: ${code}`);
  assert.deepStrictEqual(out.liveMemory, { bytes: 0, allocations: 0, handles: 0, sessions: 0, endpoints: 0 },
                         'native memory, handles, sessions or endpoints left');
  assert.deepStrictEqual(out.resources, [], 'handles left open');
  assert.ok(out.closedServerAt >= 0, 'the endpoints were closed in the middle');
}

test('200 sessions x 20 streams, endpoint.close() once half the streams are done: everything settles, the process exits by itself', (t) => {
  const out = run('streams');
  check(t, out);
  assert.ok(out.echoed >= out.total / 2 && out.echoed < out.total, `echoed ${out.echoed} of ${out.total}`);
  assert.ok(out.codes.ERR_INVALID_STATE > 0, 'streams opened after close() are refused with ERR_INVALID_STATE');
});

test('200 sessions, endpoint.close() while half of them are still handshaking: everything settles, the process exits by itself', (t) => {
  check(t, run('handshakes'));
});

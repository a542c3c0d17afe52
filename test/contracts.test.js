'use strict';
// The contracts between lib/ and the addon are written once, in C, and
// checked when lib/ loads: stats slots (src/stats_layout.h), event codes
// and records (src/endpoint.h, src/binding.h), option values
// (src/options.h). Each case loads lib/ in a child process after changing
// one exported constant, as a mismatched addon would, and expects the
// require() itself to fail with ERR_QUIC_ADDON_MISMATCH.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
require('./common'); // the leak check, as every file
const binding = require('../lib/binding');

const lib = path.join(__dirname, '..', 'lib');

// Runs `change` (source text; C is the addon's constants) then require()s
// lib/; returns { loaded } or the error's { code, message }.
function loadWith(change) {
  const script = `
    const C = require(${JSON.stringify(path.join(lib, 'binding.js'))}).constants;
    ${change}
    try {
      require(${JSON.stringify(lib)});
      console.log(JSON.stringify({ loaded: true }));
    } catch (err) {
      console.log(JSON.stringify({ code: err.code, message: err.message }));
    }`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function assertRefused(change, pattern) {
  const r = loadWith(change);
  assert.strictEqual(r.code, 'ERR_QUIC_ADDON_MISMATCH', JSON.stringify(r));
  assert.match(r.message, pattern);
}

test('the addon exports each contract', () => {
  const C = binding.constants;
  for (const name of ['STATS_ENDPOINT_SLOTS', 'STATS_SESSION_SLOTS', 'STATS_STREAM_SLOTS', 'EVENT_FIELDS', 'CC_ALGORITHMS']) {
    assert.ok(Array.isArray(C[name]) && Object.isFrozen(C[name]), name);
  }
  assert.strictEqual(C.EVENT_WIDTH, C.EVENT_FIELDS.length);
  assert.ok(Object.isFrozen(C.EVENTS));
  assert.ok(C.CC_ALGORITHMS.includes(C.CC_DEFAULT));
  assert.ok(C.PAYLOAD_MIN <= C.PAYLOAD_DEFAULT && C.PAYLOAD_DEFAULT <= C.PAYLOAD_MAX);
  assert.deepStrictEqual(binding.napiFailures(), { count: 0, last: undefined });
});

test('control: lib/ loads against the addon as built', () => {
  assert.deepStrictEqual(loadWith(''), { loaded: true });
});

test('stats: a public field naming a slot the addon lacks fails the load', () => {
  assertRefused("C.STATS_SESSION_SLOTS = C.STATS_SESSION_SLOTS.filter((s) => s !== 'cwnd');",
                /SessionStats\.cwnd reads stats slot 'cwnd'/);
  assertRefused("C.STATS_STREAM_SLOTS = C.STATS_STREAM_SLOTS.map((s) => s === 'last_acked_at' ? 'acked_at' : s);",
                /StreamStats\.lastAcknowledgeAt reads stats slot 'last_acked_at'/);
  // A derived field's slots are checked too.
  assertRefused("C.STATS_SESSION_SLOTS = C.STATS_SESSION_SLOTS.filter((s) => s !== 'stream_bytes_acked');",
                /SessionStats\.deliveryRateSec reads stats slot 'stream_bytes_acked'/);
  assertRefused("C.STATS_ENDPOINT_SLOTS = [...C.STATS_ENDPOINT_SLOTS, 'created_at'];", /not a distinct name/);
  assertRefused('delete C.STATS_STREAM_SLOTS;', /STATS_STREAM_SLOTS is not a list/);
});

test('events: codes and record fields must match what lib/ reads', () => {
  assertRefused('C.EVENTS = { ...C.EVENTS, STREAM_PRIORITY: 99 };', /emits event STREAM_PRIORITY, which lib\/ does not handle/);
  assertRefused('const { STREAM_DRAIN, ...rest } = C.EVENTS; C.EVENTS = rest;', /EVENTS\.STREAM_DRAIN is undefined/);
  assertRefused('C.EVENTS = { ...C.EVENTS, STREAM_DRAIN: C.EVENTS.STREAM_DATA };', /STREAM_DRAIN .* not distinct/);
  assertRefused("C.EVENT_FIELDS = C.EVENT_FIELDS.filter((f) => f !== 'CODE_LO'); C.EVENT_WIDTH--;", /has no 'CODE_LO'/);
  assertRefused('C.EVENT_WIDTH = 8;', /EVENT_FIELDS has 7 names for records of 8/);
});

test('other constants lib/ reads by name must be there', () => {
  assertRefused('delete C.CLOSE_IDLE;', /constants\.CLOSE_IDLE is undefined, not an integer/);
  assertRefused('C.STREAM_TX_HWM = -1;', /constants\.STREAM_TX_HWM is -1, not an integer/);
});

test('options: congestion-control names and payload bounds', () => {
  assertRefused("C.CC_DEFAULT = 'vegas';", /CC_DEFAULT \(vegas\) is not in CC_ALGORITHMS/);
  assertRefused('C.PAYLOAD_MIN = 1500;', /payload bounds 0 < 1500 <= 1452 <= 65527 do not hold/);
  assertRefused("C.PAYLOAD_MAX = '1472';", /PAYLOAD_MAX is string, not an integer/);
});

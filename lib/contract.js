'use strict';
// Load-time checks of what lib/ reads from the addon's constants. The
// contracts between JavaScript and C are written once, in C (stats slots in
// src/stats_layout.h, event codes in src/endpoint.h, the event record in
// src/binding.h, option values in src/options.h), and the modules that use
// them check them here when they load: a stale or mismatched addon fails
// at require() with ERR_QUIC_ADDON_MISMATCH instead of misreading numbers.
const binding = require('./binding');
const { codes } = require('./errors');

function mismatch(what) {
  throw codes.ERR_QUIC_ADDON_MISMATCH(what);
}

// obj[name], which must be a non-negative integer.
function integer(obj, name, where = 'constants') {
  const v = obj?.[name];
  if (!Number.isSafeInteger(v) || v < 0) {
    mismatch(`${where}.${name} is ${typeof v === 'number' ? v : typeof v}, not an integer`);
  }
  return v;
}

// C[name], which must be an array of distinct non-empty strings (the names
// of a C list, in order). Returns { list, index: name -> position }.
function nameList(C, name) {
  const list = C[name];
  if (!Array.isArray(list) || list.length === 0) mismatch(`constants.${name} is not a list of names`);
  const index = Object.create(null);
  list.forEach((n, i) => {
    if (typeof n !== 'string' || n === '' || n in index) mismatch(`constants.${name}[${i}] is not a distinct name`);
    index[n] = i;
  });
  return { list, index: Object.freeze(index) };
}

// Requires that `have` (a name -> position index) has every name in `want`.
function requireNames(have, want, what) {
  for (const n of want) if (!(n in have)) mismatch(`${what} has no '${n}'`);
}

// ---- event records ----

// Every event code lib/ acts on (endpoint.js, session.js, stream.js). The
// addon must define each, and may define no other: an event C emits that
// nothing here handles would be dropped without a word.
const HANDLED_EVENTS = [
  'SESSION_NEW', 'SESSION_HANDSHAKE', 'SESSION_CLOSE', 'SESSION_DATAGRAM', 'SESSION_CLIENT_HELLO', 'SESSION_OCSP',
  'STREAM_NEW', 'STREAM_OPENED', 'STREAM_DATA', 'STREAM_RESET', 'STREAM_STOP', 'STREAM_BLOCKED', 'STREAM_DRAIN',
  'STREAM_CLOSE', 'STREAM_HEADERS', 'STREAM_WT_CLOSE', 'STREAM_WT_DRAIN', 'SESSION_WT_SETTINGS', 'STREAM_COMMITTED',
];
// The fields of a record endpoint.js reads.
const RECORD_FIELDS = ['TYPE', 'SESSION_KEY', 'STREAM_KEY', 'AUX', 'STREAM_ID', 'CODE_HI', 'CODE_LO'];

// { E: name -> code, F: field -> index in a record, WIDTH: numbers per record }
function eventContract(C) {
  const WIDTH = integer(C, 'EVENT_WIDTH');
  const { list, index: F } = nameList(C, 'EVENT_FIELDS');
  if (list.length !== WIDTH) mismatch(`EVENT_FIELDS has ${list.length} names for records of ${WIDTH}`);
  requireNames(F, RECORD_FIELDS, 'the event record (EVENT_FIELDS)');
  const all = C.EVENTS;
  if (all === null || typeof all !== 'object') mismatch('constants.EVENTS is not an object');
  const E = Object.create(null);
  const seen = new Set();
  for (const name of HANDLED_EVENTS) {
    const code = integer(all, name, 'constants.EVENTS');
    if (code === 0 || seen.has(code)) mismatch(`constants.EVENTS.${name} (${code}) is 0 or not distinct`);
    seen.add(code);
    E[name] = code;
  }
  for (const name of Object.keys(all)) {
    if (!(name in E)) mismatch(`the addon emits event ${name}, which lib/ does not handle`);
  }
  return { E: Object.freeze(E), F, WIDTH };
}

const events = eventContract(binding.constants);

// ---- other constants ----

// Single values lib/ reads by name (close kinds and header kinds from
// src/session.h and src/headers.h, stream flags from src/stream.h, option
// array sizes from src/binding.h): each must be there, an integer.
for (const name of [
  'CLOSE_TRANSPORT', 'CLOSE_APPLICATION', 'CLOSE_IDLE', 'CLOSE_STATELESS_RESET', 'CLOSE_VERSION_NEGOTIATION',
  'CLOSE_HANDSHAKE_TIMEOUT', 'HEADERS_INFO', 'HEADERS_INITIAL', 'HEADERS_TRAILERS', 'STREAM_UNI', 'STREAM_NEW_H3',
  'STREAM_TX_HWM', 'EPO_COUNT', 'SO_COUNT', 'STREAM_CLOSE_DRAINED', 'STREAM_CLOSE_HEADERS', 'STREAM_CLOSE_COMMITTED',
  'WT_DRAFT02', 'WT_DRAFT16',
]) integer(binding.constants, name);

module.exports = { mismatch, integer, nameList, requireNames, events };

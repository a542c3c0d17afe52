'use strict';
// Load-time checks of what lib/ reads from the addon's constants: the
// contracts between JavaScript and C are written once, in C (stats slots in
// src/stats_layout.h, event records in src/endpoint.h, option values in
// src/options.h), and the modules that use them call these when they load,
// so a stale or mismatched addon fails at require() with
// ERR_QUIC_ADDON_MISMATCH rather than misreading numbers later.
const { codes } = require('./errors');

function mismatch(what) {
  throw codes.ERR_QUIC_ADDON_MISMATCH(what);
}

// C[name], which must be a non-negative integer.
function integer(C, name) {
  const v = C[name];
  if (!Number.isSafeInteger(v) || v < 0) mismatch(`constants.${name} is ${typeof v === 'number' ? v : typeof v}, not an integer`);
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

module.exports = { mismatch, integer, nameList };

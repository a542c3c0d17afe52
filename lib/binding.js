'use strict';
// Loads the native addon. A build error names the command that fixes it.
const path = require('node:path');

const candidates = [
  process.env.QUIC_ADDON_PATH,
  path.join(__dirname, '..', 'build', 'Release', 'quic.node'),
  path.join(__dirname, '..', 'build', 'Debug', 'quic.node'),
].filter(Boolean);

let binding;
let lastError;
for (const file of candidates) {
  try {
    binding = require(file);
    break;
  } catch (err) {
    lastError = err;
  }
}
if (!binding) {
  const err = new Error('quic: the native addon is not built; run `npm run build` ' +
                        `(${lastError && lastError.message})`);
  err.code = 'ERR_QUIC_ADDON_NOT_BUILT';
  throw err;
}

// A plain, writable copy, so a test can count the calls made into C.
module.exports = Object.fromEntries(Object.getOwnPropertyNames(binding).map((k) => [k, binding[k]]));

'use strict';
// What the two npm QUIC peers share: loading them from bench/node_modules
// (ESM, installed by `npm run bench`), and the server-side stream handling
// written against a small read/write interface.
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { CHUNK, patternChunks } = require('../common');

// Imports one file of an ESM package in bench/node_modules (by path: these
// packages export only for `import`, and some files not at all), or says why
// it cannot.
async function load(pkg, file) {
  const where = path.join(__dirname, '..', 'node_modules', pkg, file);
  try {
    return await import(pathToFileURL(where).href);
  } catch (err) {
    return { loadError: `${pkg} cannot be loaded from bench/node_modules (npm --prefix bench install): ${err.message.split('\n')[0]}` };
  }
}

// Writes `bytes` of payload through `write(chunk)` (a promise per chunk).
async function writeBytes(write, bytes, stop = () => false) {
  for (let sent = 0; sent < bytes && !stop();) {
    const n = Math.min(CHUNK.length, bytes - sent);
    await write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    sent += n;
  }
}

// The server's side of one stream for `caseName`; `s` has read() (a chunk or
// null at the end), write(chunk) and end(), all promises.
async function serveStream(caseName, bytes, s) {
  const drain = async (keep) => {
    const parts = [];
    let n = 0;
    for (let c; (c = await s.read()) !== null;) {
      n += c.byteLength;
      if (keep) parts.push(Buffer.from(c));
    }
    return keep ? Buffer.concat(parts) : n;
  };
  if (caseName === 'bulk-up') {
    await s.write(Buffer.from(String(await drain(false))));
  } else if (caseName === 'streams') {
    await s.write(await drain(true));
  } else if (caseName === 'mem-stalled-reader') {
    await s.read(); // one chunk, then never again
    return;
  } else if (caseName.startsWith('relay-')) {
    // Through the relay: bytes whose hash the client checks.
    await drain(false);
    for (const c of patternChunks(bytes)) await s.write(c);
  } else {
    await drain(false);
    await writeBytes(s.write, bytes);
  }
  await s.end();
}

// Reads a stream to its end: the bytes (keep) or their count.
async function readToEnd(read, keep) {
  const parts = [];
  let n = 0;
  for (let c; (c = await read()) !== null;) {
    n += c.byteLength;
    if (keep) parts.push(Buffer.from(c));
  }
  return keep ? Buffer.concat(parts) : n;
}

module.exports = { load, writeBytes, serveStream, readToEnd };

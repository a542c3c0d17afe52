'use strict';
// Turns any body the seed accepts into a stream of byte chunks, pulled only
// when the writer asks for more.
const { Readable } = require('node:stream');
const { isArrayBufferView, isAnyArrayBuffer } = require('node:util/types');
const { codes } = require('./errors');
const { validateNotRevoked } = require('./validate');

// Writes larger than this are sliced, so a big Buffer is fed as it drains.
const SLICE = 256 * 1024;

function* sliceBytes(buf) {
  for (let off = 0; off < buf.length; off += SLICE) yield buf.subarray(off, Math.min(buf.length, off + SLICE));
}

function bytesOf(chunk) {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (Buffer.isBuffer(chunk)) return chunk;
  if (isArrayBufferView(chunk) || isAnyArrayBuffer(chunk)) {
    try {
      return isAnyArrayBuffer(chunk) ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    } catch {
      throw codes.ERR_INVALID_ARG_VALUE('body', chunk, 'is a detached ArrayBuffer or a view on one');
    }
  }
  return null;
}

function isReadableStream(v) {
  return typeof ReadableStream !== 'undefined' && v instanceof ReadableStream;
}

// A FileHandle from fs.promises.open(). Node does not export the class, so
// it is recognised by its name and the methods this module uses.
function isFileHandle(v) {
  return v !== null && typeof v === 'object' && v.constructor?.name === 'FileHandle' &&
    typeof v.fd === 'number' && typeof v.read === 'function' && typeof v.close === 'function';
}

// Reads a FileHandle from its current position to the end, one slice at a
// time as the writer asks (never the whole file), and closes it afterwards:
// the stream owns a handle given as its body, also when it is cancelled.
async function* fileChunks(fh) {
  if (fh.fd < 0) throw codes.ERR_INVALID_STATE('the FileHandle body is already closed');
  try {
    for (;;) {
      // A fresh buffer per slice: the writer keeps each until it is sent.
      const { bytesRead, buffer } = await fh.read(Buffer.allocUnsafe(SLICE), 0, SLICE, null);
      if (bytesRead === 0) return;
      yield bytesRead === SLICE ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await fh.close().catch(() => {});
  }
}

// Validates synchronously what can be checked up front.
function validateBody(body, name = 'options.body') {
  if (body === undefined || body === null) return;
  validateNotRevoked(body, name);
  if (typeof body === 'string' || bytesOf(body) || typeof body === 'function' || isFileHandle(body) ||
      typeof body.then === 'function' || body instanceof Blob || body instanceof Readable ||
      isReadableStream(body) || typeof body[Symbol.asyncIterator] === 'function' ||
      typeof body[Symbol.iterator] === 'function') {
    return;
  }
  throw codes.ERR_INVALID_ARG_TYPE(name,
    'a string, ArrayBuffer, TypedArray, DataView, Buffer, Blob, FileHandle, stream.Readable, ReadableStream, ' +
    'Iterable, AsyncIterable, Promise or Function', body);
}

// Yields Buffers. Functions and promises are resolved first (a function may
// return any other body kind, including a promise of one).
async function* chunksOf(body, depth = 0) {
  if (depth > 8) throw codes.ERR_INVALID_ARG_VALUE('body', body, 'nests functions or promises too deeply');
  if (body === undefined || body === null) return;
  if (typeof body === 'function') {
    yield* chunksOf(await body(), depth + 1);
    return;
  }
  if (typeof body.then === 'function') {
    yield* chunksOf(await body, depth + 1);
    return;
  }
  const direct = bytesOf(body);
  if (direct) {
    yield* sliceBytes(direct);
    return;
  }
  if (isFileHandle(body)) {
    yield* fileChunks(body);
    return;
  }
  if (body instanceof Blob) {
    const reader = body.stream().getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield* sliceBytes(bytesOf(value));
    }
  }
  if (isReadableStream(body)) {
    const reader = body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        yield* chunkToBytes(value);
      }
    } finally {
      reader.releaseLock();
    }
  }
  if (typeof body[Symbol.asyncIterator] === 'function' || typeof body[Symbol.iterator] === 'function') {
    for await (const chunk of body) yield* chunkToBytes(chunk);
    return;
  }
  throw codes.ERR_INVALID_ARG_TYPE('body', 'a supported body type', body);
}

function* chunkToBytes(chunk) {
  const b = bytesOf(chunk);
  if (b === null) {
    throw codes.ERR_INVALID_ARG_TYPE('body chunk', 'a string, Buffer, TypedArray, DataView or ArrayBuffer', chunk);
  }
  yield* sliceBytes(b);
}

module.exports = { chunksOf, validateBody, bytesOf, isFileHandle, SLICE };

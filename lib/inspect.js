'use strict';
// util.inspect (console.log) for the package's objects: a class name and the
// fields a person debugging wants, rendered as Node renders its own objects
// (depth, colours and line breaking come from the caller's options).
const util = require('node:util');

const custom = util.inspect.custom;

// `Name { field: value, ... }`, or `[Name]` once the depth is spent. The
// fields stand for the object itself, so they get the depth it was given.
function formatObject(name, depth, options, fields) {
  if (depth < 0) return options.stylize(`[${name}]`, 'special');
  return `${name} ${util.inspect(fields, { ...options, depth: options.depth == null ? options.depth : depth })}`;
}

// A net.SocketAddress (or { address, port }) as 'host:port'.
function formatAddress(a) {
  if (!a) return undefined;
  return a.family === 'ipv6' || a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

// Secrets and key material are never printed, only their shape.
function formatBytes(v) {
  if (v === undefined || v === null) return undefined;
  const n = v.byteLength ?? v.length;
  return `<${n} bytes>`;
}

function formatList(list, what) {
  if (!list || list.length === 0) return undefined;
  return `<${list.length} ${what}${list.length === 1 ? '' : 's'}>`;
}

// What a body is, without reading it.
function describeBody(body) {
  if (body === undefined || body === null) return body;
  if (typeof body === 'string') return `<string, ${Buffer.byteLength(body)} bytes>`;
  if (typeof body === 'function') return `<function ${body.name || '(anonymous)'}>`;
  if (typeof body.then === 'function') return '<Promise>';
  if (ArrayBuffer.isView(body) || body instanceof ArrayBuffer) return `<${body.constructor.name}, ${body.byteLength} bytes>`;
  if (typeof body === 'object' && body.constructor && body.constructor.name) return `<${body.constructor.name}>`;
  return `<${typeof body}>`;
}

// Drops undefined fields, so the output shows only what is set.
function defined(fields) {
  const out = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}

module.exports = { custom, formatObject, formatAddress, formatBytes, formatList, describeBody, defined };

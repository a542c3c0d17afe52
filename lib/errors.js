'use strict';
// Errors in Node's style: a class by kind, and a `code` to match on.
const { inspect } = require('node:util');

// Describing a hostile value (a revoked proxy, a throwing getter) must not
// throw in place of the coded error being built.
function safe(fn, fallback) {
  try { return fn(); } catch { return fallback; }
}

function describe(value) {
  return safe(() => describeValue(value), ` Received type ${typeof value}`);
}

function show(value) {
  return safe(() => inspect(value, { depth: 0 }).slice(0, 64), `type ${typeof value}`);
}

function describeValue(value) {
  if (value == null) return ` Received ${value}`;
  if (typeof value === 'function') return ` Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    if (value.constructor && value.constructor.name) return ` Received an instance of ${value.constructor.name}`;
    return ` Received ${inspect(value, { depth: -1 })}`;
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${shown})`;
}

function make(Base, code, message, props) {
  const err = new Base(message);
  Object.defineProperty(err, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  if (props) Object.assign(err, props);
  return err;
}

const codes = {
  ERR_INVALID_ARG_TYPE: (name, expected, actual) =>
    make(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${expected}.${describe(actual)}`),
  ERR_INVALID_ARG_VALUE: (name, value, reason = 'is invalid') =>
    make(TypeError, 'ERR_INVALID_ARG_VALUE',
         `The argument '${name}' ${reason}. Received ${show(value)}`),
  ERR_OUT_OF_RANGE: (name, range, value) =>
    make(RangeError, 'ERR_OUT_OF_RANGE',
         `The value of "${name}" is out of range. It must be ${range}. Received ${show(value)}`),
  ERR_INVALID_THIS: (type) => make(TypeError, 'ERR_INVALID_THIS', `Value of "this" must be of type ${type}`),
  ERR_ILLEGAL_CONSTRUCTOR: () => make(TypeError, 'ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor'),
  ERR_INVALID_STATE: (message) => make(Error, 'ERR_INVALID_STATE', `Invalid state: ${message}`),
  ERR_QUIC_UNSUPPORTED: (what, why) =>
    make(Error, 'ERR_QUIC_UNSUPPORTED', `${what} is not supported${why ? `: ${why}` : ''}`),
  ERR_QUIC_TRANSPORT_ERROR: (errorCode, reason) =>
    make(Error, 'ERR_QUIC_TRANSPORT_ERROR',
         `QUIC transport error ${errorCode}${reason ? `: ${reason}` : ''}`, { errorCode, reason }),
  ERR_QUIC_APPLICATION_ERROR: (errorCode, reason) =>
    make(Error, 'ERR_QUIC_APPLICATION_ERROR',
         `QUIC application error ${errorCode}${reason ? `: ${reason}` : ''}`, { errorCode, reason }),
  ERR_QUIC_STATELESS_RESET: () =>
    make(Error, 'ERR_QUIC_STATELESS_RESET', 'The peer reset the connection (stateless reset)'),
  ERR_QUIC_VERSION_NEGOTIATION: () =>
    make(Error, 'ERR_QUIC_VERSION_NEGOTIATION', 'The peer supports no QUIC version in common'),
  ERR_QUIC_HANDSHAKE_TIMEOUT: () =>
    make(Error, 'ERR_QUIC_HANDSHAKE_TIMEOUT', 'The QUIC handshake did not complete in time'),
  ERR_QUIC_SESSION_CLOSED: () =>
    make(Error, 'ERR_QUIC_SESSION_CLOSED', 'The session closed before the stream finished'),
  ERR_QUIC_STREAM_RESET: (errorCode) =>
    make(Error, 'ERR_QUIC_APPLICATION_ERROR', `The peer reset the stream with code ${errorCode}`,
         { errorCode }),
  // lib/ was written against a different addon than the one loaded.
  ERR_QUIC_ADDON_MISMATCH: (what) =>
    make(Error, 'ERR_QUIC_ADDON_MISMATCH', `quic: lib/ and the native addon disagree: ${what} (rebuild the addon)`),
  // TLS verification failures keep Node's codes (DEPTH_ZERO_SELF_SIGNED_CERT, ...).
  tlsVerification: (code, reason) => make(Error, code, reason || code, { reason }),
};

module.exports = { codes, make };

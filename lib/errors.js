'use strict';
// Errors in Node's style: a class by kind, and a `code` to match on.
const { inspect } = require('node:util');
const { transportName, http3Name } = require('./names');

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
  // `context` (optional): { detail, ...properties } from lib/session.js,
  // e.g. the ALPN lists behind a no_application_protocol alert.
  ERR_QUIC_TRANSPORT_ERROR: (errorCode, reason, context = {}) => {
    const { detail, ...props } = context;
    const n = transportName(errorCode);
    const label = n.tlsAlertName !== undefined ? `${n.errorName}, TLS alert ${n.tlsAlertName}` : n.errorName;
    return make(Error, 'ERR_QUIC_TRANSPORT_ERROR',
                `QUIC transport error ${errorCode}${label ? ` (${label})` : ''}` +
                `${detail ? `: ${detail}` : ''}${reason ? `${detail ? '; the peer said' : ''}: ${reason}` : ''}`,
                { errorCode, reason, ...n, ...props });
  },
  // `h3`: the code is HTTP/3's, and gets its name (H3_REQUEST_CANCELLED, ...).
  ERR_QUIC_APPLICATION_ERROR: (errorCode, reason, h3 = false) => {
    const errorName = h3 ? http3Name(errorCode) : undefined;
    return make(Error, 'ERR_QUIC_APPLICATION_ERROR',
                `QUIC application error ${errorCode}${errorName ? ` (${errorName})` : ''}${reason ? `: ${reason}` : ''}`,
                errorName ? { errorCode, reason, errorName } : { errorCode, reason });
  },
  ERR_QUIC_STATELESS_RESET: () =>
    make(Error, 'ERR_QUIC_STATELESS_RESET', 'The peer reset the connection (stateless reset)'),
  ERR_QUIC_VERSION_NEGOTIATION: () =>
    make(Error, 'ERR_QUIC_VERSION_NEGOTIATION', 'The peer supports no QUIC version in common'),
  // `info` (optional): { timeout (ms), bytesReceived, peer (host:port), side }
  // so the message says whether anything came back.
  ERR_QUIC_HANDSHAKE_TIMEOUT: (info) => {
    if (!info) return make(Error, 'ERR_QUIC_HANDSHAKE_TIMEOUT', 'The QUIC handshake did not complete in time');
    const { timeout, bytesReceived, peer } = info;
    const within = timeout ? ` within ${timeout} ms` : ' in time';
    const what = bytesReceived === 0
      ? `nothing came back from ${peer}` +
        (info.side === 'client' ? ' (no QUIC server answering there, or the packets are dropped on the way)' : '')
      : `${peer} answered (${bytesReceived} bytes received) but the handshake did not finish`;
    return make(Error, 'ERR_QUIC_HANDSHAKE_TIMEOUT', `The QUIC handshake did not complete${within}: ${what}`,
                { timeout, bytesReceived });
  },
  // Node's AbortError: what an aborted `signal` cancels things with.
  ABORT_ERR: (cause) => {
    const err = new Error('The operation was aborted', cause === undefined ? undefined : { cause });
    Object.defineProperty(err, 'code', { value: 'ABORT_ERR', enumerable: true, writable: true, configurable: true });
    Object.defineProperty(err, 'name', { value: 'AbortError', writable: true, configurable: true });
    return err;
  },
  // `how` says why a session that closed cleanly left the stream unfinished
  // (its idle timeout, say), when that is known.
  ERR_QUIC_SESSION_CLOSED: (how) =>
    make(Error, 'ERR_QUIC_SESSION_CLOSED', `The session closed${how ? ` (${how})` : ''} before the stream finished`),
  ERR_QUIC_STREAM_RESET: (errorCode, h3 = false) => {
    const errorName = h3 ? http3Name(errorCode) : undefined;
    return make(Error, 'ERR_QUIC_APPLICATION_ERROR',
                `The peer reset the stream with code ${errorCode}${errorName ? ` (${errorName})` : ''}`,
                errorName ? { errorCode, errorName } : { errorCode });
  },
  // lib/ was written against a different addon than the one loaded.
  ERR_QUIC_ADDON_MISMATCH: (what) =>
    make(Error, 'ERR_QUIC_ADDON_MISMATCH', `quic: lib/ and the native addon disagree: ${what} (rebuild the addon)`),
  // TLS verification failures keep Node's codes (DEPTH_ZERO_SELF_SIGNED_CERT,
  // ...) and, where Node has one, its message (see verificationMessage).
  tlsVerification: (code, reason, message = reason || code, props = {}) => make(Error, code, message, { reason, ...props }),
};

// The messages Node's tls gives for the verification codes this build
// reports (OpenSSL's wording; Node 20 prints exactly these).
const VERIFY_MESSAGES = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_REVOKED: 'certificate revoked',
  INVALID_CA: 'invalid CA certificate',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
};

// Node's wording for a verification failure: { message, reason, host, cert }.
// `detail` is what GnuTLS said; `host` the name checked (hostname or IP);
// `cert` the peer's X509Certificate when there is one. An altname mismatch
// is worded by Node's own tls.checkServerIdentity(), as Node's client does.
function verificationMessage(code, detail, host, cert) {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' && host && cert) {
    let err;
    try { err = require('node:tls').checkServerIdentity(host, cert.toLegacyObject()); } catch { /* an unreadable certificate */ }
    if (err) return { message: err.message, reason: err.reason, host, cert };
  }
  const known = VERIFY_MESSAGES[code];
  if (known === undefined) return { message: detail || code, reason: detail };
  // 'peer sent no certificate' comes from this build, not GnuTLS: say it.
  const message = code === 'UNABLE_TO_GET_ISSUER_CERT' && /no certificate/.test(detail || '')
    ? `${known} (the peer sent no certificate)` : known;
  return { message, reason: detail || known };
}

module.exports = { codes, make, verificationMessage };

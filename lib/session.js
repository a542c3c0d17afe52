'use strict';
// Session: one QUIC connection, client or server.
const net = require('node:net');
const binding = require('./binding');
const { codes } = require('./errors');
const { StreamEvent, defineEventHandler, deferred, settle, kPrivate } = require('./events');
const { Stream, kEvent, kSessionClosed, kSend, kOpened, codeOf } = require('./stream');
const { StreamOptions, ResponseOptions } = require('./config');
const { validateBody } = require('./body');
const { SessionStats } = require('./stats');

const C = binding.constants;
const kHandshake = Symbol('kHandshake');
const kNativeClose = Symbol('kNativeClose');
const kStreamEvent = Symbol('kStreamEvent');
const kDestroy = Symbol('kDestroy');

function closeError(kind, code, reason) {
  switch (kind) {
    case C.CLOSE_IDLE: return null;
    case C.CLOSE_TRANSPORT: return code === 0n ? null : codes.ERR_QUIC_TRANSPORT_ERROR(code, reason);
    case C.CLOSE_APPLICATION: return code === 0n ? null : codes.ERR_QUIC_APPLICATION_ERROR(code, reason);
    case C.CLOSE_STATELESS_RESET: return codes.ERR_QUIC_STATELESS_RESET();
    case C.CLOSE_VERSION_NEGOTIATION: return codes.ERR_QUIC_VERSION_NEGOTIATION();
    case C.CLOSE_HANDSHAKE_TIMEOUT: return codes.ERR_QUIC_HANDSHAKE_TIMEOUT();
    default: return codes.ERR_QUIC_TRANSPORT_ERROR(code, reason);
  }
}

class Session extends EventTarget {
  #endpoint;
  #handle;
  #key;
  #side;
  #streams = new Map(); // key -> Stream
  #handshake = deferred();
  #closed = deferred();
  #closing = false;
  #open = false;       // handshake done, not closed
  #info = null;        // TLS and peer details after the handshake
  #remote;
  #stats;

  #onGone;

  constructor(token, endpoint, handle, key, side, remote, onGone) {
    if (token !== kPrivate) throw new TypeError('Illegal constructor');
    super();
    this.#onGone = onGone;
    this.#endpoint = endpoint;
    this.#handle = handle;
    this.#key = key;
    this.#side = side;
    this.#remote = remote;
    this.#stats = new SessionStats(kPrivate, () => (this.#handle ? this.#handle : null));
  }

  get side() { return this.#side; }
  get endpoint() { return this.#endpoint; }
  get handshake() { return this.#handshake.promise; }
  get closed() { return this.#closed.promise; }
  get closing() { return this.#closing; }
  get alpn() { return this.#info?.alpn || undefined; }
  get servername() { return this.#info?.servername || undefined; }
  get cipher() {
    if (!this.#info || !this.#info.cipher) return undefined;
    return { name: this.#info.cipher, standardName: this.#info.cipher, version: this.#info.version };
  }
  get validationError() {
    if (!this.#info || !this.#info.validationCode) return undefined;
    return { code: this.#info.validationCode, reason: this.#info.validationReason };
  }
  get remoteAddress() {
    const r = this.#info ? { address: this.#info.remoteAddress, port: this.#info.remotePort,
                              family: this.#info.remoteFamily } : this.#remote;
    return r ? new net.SocketAddress(r) : undefined;
  }
  get stats() { return this.#stats; }
  get nativeAlive() { return this.#handle !== null; }

  open(options = {}) {
    const opts = StreamOptions.isStreamOptions(options) ? options : new StreamOptions(options);
    validateBody(opts.body);
    if (this.#closed.settled || this.#closing) throw codes.ERR_INVALID_STATE('the session is closing or closed');
    if (!this.#open) throw codes.ERR_INVALID_STATE('the handshake has not completed');
    const [key, id] = binding.sessionOpen(this.#handle, opts.unidirectional);
    const stream = new Stream(kPrivate, this, this.#handle, key, id, true, opts.unidirectional);
    this.#streams.set(key, stream);
    stream[kSend](opts.body);
    return stream;
  }

  close() {
    if (!this.#closing && !this.#closed.settled) {
      this.#closing = true;
      binding.sessionClose(this.#handle);
    }
    return this.#closed.promise;
  }

  cancel(reason) {
    if (this.#closed.settled) return this.#closed.promise;
    this.#closing = true;
    if (this.#handle) {
      const message = reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason);
      binding.sessionCancel(this.#handle, true, codeOf(reason), message.slice(0, 100));
    }
    this.#finish(reason === undefined ? null : reason);
    return this.#closed.promise;
  }

  // Endpoint destroy: settle everything without waiting for the network.
  [kDestroy](error) {
    this.#finish(error || null);
  }

  #finish(error, handshakeError) {
    if (this.#closed.settled) return;
    this.#open = false;
    for (const stream of this.#streams.values()) stream[kSessionClosed](error);
    this.#streams.clear();
    this.#stats[kPrivate]();
    this.#handle = null;
    settle(this.#handshake, handshakeError || error || codes.ERR_INVALID_STATE('the session closed before the handshake completed'));
    settle(this.#closed, error);
    this.#onGone(this, this.#key);
  }

  [kHandshake]() {
    this.#info = binding.sessionInfo(this.#handle);
    this.#open = true;
    settle(this.#handshake, null, undefined);
  }

  [kNativeClose](kind, code) {
    // Read what the TLS layer knew before the session goes away.
    let info = null;
    try { info = binding.sessionInfo(this.#handle); } catch {}
    if (info && !this.#info) this.#info = info;
    const err = closeError(kind, code, info?.closeReason);
    if (process.env.QUIC_DEBUG_JS) console.error("close", this.#side, kind, code, info?.closeReason);
    let hsErr = null;
    if (!this.#handshake.settled && info?.validationCode) {
      hsErr = codes.tlsVerification(info.validationCode, info.validationReason);
    }
    this.#finish(err, hsErr);
  }

  [kStreamEvent](type, key, id, aux, code) {
    if (type === C.E_STREAM_NEW) {
      const uni = (aux & C.STREAM_UNI) !== 0;
      const stream = new Stream(kPrivate, this, this.#handle, key, id, false, uni);
      this.#streams.set(key, stream);
      let respondWith;
      if (!uni) {
        let responded = false;
        respondWith = (options = {}) => {
          if (responded) throw codes.ERR_INVALID_STATE('respondWith() was already called');
          responded = true;
          const start = (opts) => {
            const ro = ResponseOptions.isResponseOptions(opts) ? opts : new ResponseOptions(opts);
            if (ro.headers !== undefined || ro.hints !== undefined || ro.trailers !== undefined) {
              throw codes.ERR_QUIC_UNSUPPORTED('response headers', 'headers need HTTP/3');
            }
            validateBody(ro.body);
            return stream[kSend](ro.body);
          };
          if (options && typeof options.then === 'function') {
            return Promise.resolve(options).then(start).catch((err) => stream.cancel(err));
          }
          start(options);
        };
      }
      this.dispatchEvent(new StreamEvent(kPrivate, stream, respondWith));
      return;
    }
    const stream = this.#streams.get(key);
    if (stream === undefined) return;
    if (type === C.E_STREAM_OPENED) {
      stream[kOpened](id);
      return;
    }
    stream[kEvent](type, code);
  }

  // A stream let go of its native state.
  [kEvent](what, key) {
    if (what === 'released') this.#streams.delete(key);
  }

  get [Symbol.toStringTag]() { return 'Session'; }
}

defineEventHandler(Session.prototype, 'stream');
defineEventHandler(Session.prototype, 'datagram');

module.exports = { Session, kHandshake, kNativeClose, kStreamEvent, kDestroy };

'use strict';
// Stats views. Values are bigint; after the owner closes they stay readable,
// frozen at their last values.
const binding = require('./binding');
const { kPrivate } = require('./events');

function defineStats(cls, fields, read) {
  fields.forEach((name, i) => {
    Object.defineProperty(cls.prototype, name, {
      enumerable: true,
      configurable: true,
      get() { return this[kRead]()[i]; },
    });
  });
  cls.prototype.toJSON = function toJSON() {
    const out = {};
    for (const name of fields) out[name] = Number(this[name]);
    return out;
  };
  cls.fields = fields;
  void read;
}

const kRead = Symbol('kRead');

const ENDPOINT_FIELDS = ['createdAt', 'duration', 'bytesReceived', 'bytesSent', 'packetsReceived', 'packetsSent',
                         'serverSessions', 'clientSessions', 'serverBusyCount', 'statelessResetCount'];

class EndpointStats {
  #buf = new BigUint64Array(ENDPOINT_FIELDS.length);
  #source;
  #frozen = false;
  constructor(token, source) {
    if (token !== kPrivate) throw new TypeError('Illegal constructor');
    this.#source = source;
  }
  [kRead]() {
    if (!this.#frozen) {
      const h = this.#source();
      if (h) binding.endpointStats(h, this.#buf);
    }
    return this.#buf;
  }
  // Captures the final values; later reads return them.
  [kPrivate]() {
    if (this.#frozen) return;
    this[kRead]();
    this.#frozen = true;
  }
}
defineStats(EndpointStats, ENDPOINT_FIELDS);

const SESSION_FIELDS = ['createdAt', 'duration', 'handshakeCompletedAt', 'handshakeConfirmedAt', 'closingAt',
                        'bytesReceived', 'bytesSent', 'bidiStreamCount', 'uniStreamCount', 'inboundStreamsCount',
                        'outboundStreamsCount', 'blockCount', 'keyUpdateCount', 'smoothedRtt', 'cwnd',
                        'bytesInFlight'];

class SessionStats {
  #buf = new BigUint64Array(SESSION_FIELDS.length);
  #source;
  #frozen = false;
  constructor(token, source) {
    if (token !== kPrivate) throw new TypeError('Illegal constructor');
    this.#source = source;
  }
  [kRead]() {
    if (!this.#frozen) {
      const h = this.#source();
      if (h) {
        try { binding.sessionStats(h, this.#buf); } catch { /* closed in C: keep the last values */ }
      }
    }
    return this.#buf;
  }
  [kPrivate]() {
    if (this.#frozen) return;
    this[kRead]();
    this.#frozen = true;
  }
}
defineStats(SessionStats, SESSION_FIELDS);

module.exports = { EndpointStats, SessionStats };

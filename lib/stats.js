'use strict';
// Stats views. Values are bigint; after the owner closes they stay readable,
// frozen at their last values.
const { codes } = require('./errors');
const binding = require('./binding');
const { kPrivate } = require('./events');

const kRead = Symbol('kRead');

// A stats view: `fill(handle, buffer)` copies the native counters; after
// freeze() the last values stay.
function statsClass(name, fields, fill) {
  const cls = class {
    #buf = new BigUint64Array(fields.length);
    #source;
    #frozen = false;
    constructor(token, source) {
      if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
      this.#source = source;
    }
    [kRead]() {
      if (!this.#frozen) {
        const h = this.#source();
        if (h) {
          try { fill(h, this.#buf); } catch { /* closed in C: keep the last values */ }
        }
      }
      return this.#buf;
    }
    [kPrivate]() {
      if (this.#frozen) return;
      this[kRead]();
      this.#frozen = true;
    }
    toJSON() {
      const out = {};
      for (const f of fields) out[f] = Number(this[f]);
      return out;
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  // The field names, in order (handy for walking every stat).
  Object.defineProperty(cls, 'fields', { value: Object.freeze(fields.slice()) });
  fields.forEach((field, i) => {
    Object.defineProperty(cls.prototype, field, {
      enumerable: true,
      configurable: true,
      get() { return this[kRead]()[i]; },
    });
  });
  return cls;
}

const EndpointStats = statsClass('EndpointStats',
  ['createdAt', 'duration', 'bytesReceived', 'bytesSent', 'packetsReceived', 'packetsSent',
   'serverSessions', 'clientSessions', 'serverBusyCount', 'statelessResetCount'],
  (h, buf) => binding.endpointStats(h, buf));

const SessionStats = statsClass('SessionStats',
  ['createdAt', 'duration', 'handshakeCompletedAt', 'handshakeConfirmedAt', 'closingAt',
   'bytesReceived', 'bytesSent', 'bidiStreamCount', 'uniStreamCount', 'inboundStreamsCount',
   'outboundStreamsCount', 'blockCount', 'keyUpdateCount', 'smoothedRtt', 'cwnd', 'bytesInFlight'],
  (h, buf) => binding.sessionStats(h, buf));

module.exports = { EndpointStats, SessionStats };

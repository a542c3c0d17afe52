'use strict';
// Stats views. The C core writes the counters in place, into memory that a
// BigUint64Array here views (src/stats.h), so a read is an array load and
// never a call into C. The view is asked for once, on the first read. When
// the owner closes, the values are copied and stay frozen, duration too.
const { codes } = require('./errors');
const binding = require('./binding');
const { kPrivate } = require('./events');
const inspect = require('./inspect');

const C = binding.constants;
const NS_PER_S = 1000000000n;

// Derived values, computed from the counters at read time.
function duration(v, s) {
  const start = v[s.createdAt];
  const end = v[s.destroyedAt] || process.hrtime.bigint();
  return start !== 0n && end > start ? end - start : 0n;
}
function perSecond(slot) {
  return (v, s) => {
    const d = duration(v, s);
    return d === 0n ? 0n : (v[s[slot]] * NS_PER_S) / d;
  };
}
const kValues = Symbol('kValues');
const zero = () => 0n; // values ngtcp2 1.11 keeps private (docs/api.md)

// slots: the C struct's fields in order; fields: public name -> slot name
// or a function of (values, slot indices).
function statsClass(name, slots, count, fields) {
  if (slots.length !== count) {
    throw new Error(`quic: ${name} layout differs between lib/stats.js (${slots.length}) and the addon (${count})`);
  }
  const index = Object.freeze(Object.fromEntries(slots.map((s, i) => [s, i])));
  const names = Object.keys(fields);
  const cls = class {
    #view = null;   // BigUint64Array over C memory; a private copy once frozen
    #source;        // () => ArrayBuffer shared with C
    #frozen = false;
    constructor(token, source) {
      if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
      this.#source = source;
    }
    [kValues]() {
      if (this.#view === null) {
        let ab = null;
        try { ab = this.#source(); } catch { /* closed in C before the first read */ }
        if (ab === null) return new BigUint64Array(count);
        this.#view = new BigUint64Array(ab);
      }
      return this.#view;
    }
    // Freezes the values. fill(array), if given, copies the last values
    // when no view was taken (cheaper than sharing memory for one read).
    [kPrivate](fill) {
      if (this.#frozen) return;
      let copy;
      if (this.#view === null && fill) {
        copy = new BigUint64Array(count);
        try { fill(copy); } catch { /* closed in C already */ }
      } else {
        copy = this[kValues]().slice();
      }
      // Dropping the shared view lets its finalizer release the C memory.
      if (copy[index.destroyedAt] === 0n) copy[index.destroyedAt] = process.hrtime.bigint();
      this.#view = copy;
      this.#frozen = true;
    }
    toJSON() {
      const out = {};
      for (const f of names) out[f] = Number(this[f]);
      return out;
    }
    // console.log(stats): every field, as a Number (toJSON's values).
    [inspect.custom](depth, options) {
      return inspect.formatObject(name, depth, options, this.toJSON());
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  // The public field names, in order (handy for walking every stat).
  Object.defineProperty(cls, 'fields', { value: Object.freeze(names.slice()) });
  for (const field of names) {
    const def = fields[field];
    let get;
    if (typeof def === 'function') {
      get = function() { return def(this[kValues](), index); };
    } else {
      const i = index[def];
      if (i === undefined) throw new Error(`quic: ${name}.${field}: no slot ${def}`);
      get = function() { return this[kValues]()[i]; };
    }
    Object.defineProperty(cls.prototype, field, { enumerable: true, configurable: true, get });
  }
  return cls;
}

const EndpointStats = statsClass('EndpointStats',
  ['createdAt', 'destroyedAt', 'bytesReceived', 'bytesSent', 'packetsReceived', 'packetsSent',
   'serverSessions', 'clientSessions', 'serverBusyCount', 'statelessResetCount'],
  C.STATS_ENDPOINT, {
    bytesReceived: 'bytesReceived',
    bytesSent: 'bytesSent',
    clientSessions: 'clientSessions',
    createdAt: 'createdAt',
    duration,
    packetsReceived: 'packetsReceived',
    packetsSent: 'packetsSent',
    serverBusyCount: 'serverBusyCount',
    serverSessions: 'serverSessions',
    statelessResetCount: 'statelessResetCount',
  });

const SessionStats = statsClass('SessionStats',
  ['createdAt', 'destroyedAt', 'handshakeCompletedAt', 'handshakeConfirmedAt', 'closingAt',
   'lastReceivedAt', 'lastSentAt', 'lastSentPacketTS', 'firstRttSampleTS',
   'bytesReceived', 'bytesSent', 'streamBytesAcked',
   'bidiStreamCount', 'uniStreamCount', 'inboundStreamsCount', 'outboundStreamsCount',
   'blockCount', 'keyUpdateCount',
   'initialRtt', 'latestRtt', 'minRtt', 'smoothedRtt', 'rttVar',
   'cwnd', 'ssthresh', 'bytesInFlight', 'maxBytesInFlight', 'maxUdpPayloadSize'],
  C.STATS_SESSION, {
    bidiStreamCount: 'bidiStreamCount',
    blockCount: 'blockCount',
    bytesInFlight: 'bytesInFlight',
    bytesReceived: 'bytesReceived',
    bytesSent: 'bytesSent',
    closingAt: 'closingAt',
    congestionRecoveryStartTS: zero,
    createdAt: 'createdAt',
    cwnd: 'cwnd',
    deliveryRateSec: perSecond('streamBytesAcked'),
    duration,
    firstRttSampleTS: 'firstRttSampleTS',
    handshakeCompletedAt: 'handshakeCompletedAt',
    handshakeConfirmedAt: 'handshakeConfirmedAt',
    inboundStreamsCount: 'inboundStreamsCount',
    initialRtt: 'initialRtt',
    keyUpdateCount: 'keyUpdateCount',
    lastReceivedAt: 'lastReceivedAt',
    lastSentAt: 'lastSentAt',
    lastSentPacketTS: 'lastSentPacketTS',
    latestRtt: 'latestRtt',
    lossDetectionTimer: zero,
    lossRetransmitCount: zero,
    lossTime: zero,
    maxBytesInFlight: 'maxBytesInFlight',
    maxUdpPayloadSize: 'maxUdpPayloadSize',
    minRtt: 'minRtt',
    outboundStreamsCount: 'outboundStreamsCount',
    ptoCount: zero,
    receiveRate: perSecond('bytesReceived'),
    rttVar: 'rttVar',
    sendRate: perSecond('bytesSent'),
    smoothedRtt: 'smoothedRtt',
    ssthresh: 'ssthresh',
    uniStreamCount: 'uniStreamCount',
  });

const StreamStats = statsClass('StreamStats',
  ['createdAt', 'destroyedAt', 'closingAt', 'lastReceivedAt', 'lastAcknowledgeAt',
   'bytesReceived', 'bytesSent', 'finalSize', 'maxOffset', 'maxOffsetAcknowledged', 'maxOffsetReceived'],
  C.STATS_STREAM, {
    bytesReceived: 'bytesReceived',
    bytesSent: 'bytesSent',
    closingAt: 'closingAt',
    createdAt: 'createdAt',
    duration,
    finalSize: 'finalSize',
    lastAcknowledgeAt: 'lastAcknowledgeAt',
    lastReceivedAt: 'lastReceivedAt',
    maxOffset: 'maxOffset',
    maxOffsetAcknowledged: 'maxOffsetAcknowledged',
    maxOffsetReceived: 'maxOffsetReceived',
  });

module.exports = { EndpointStats, SessionStats, StreamStats };

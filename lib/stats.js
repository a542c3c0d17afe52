'use strict';
// Stats views. The C core writes the counters in place, into memory that a
// BigUint64Array here views (src/stats.h), so a read is an array load and
// never a call into C. The view is asked for once, on the first read. When
// the owner closes, the values are copied and stay frozen, duration too.
//
// The layout is C's: src/stats_layout.h lists each object's slots, and the
// addon exports their names in order (constants.STATS_*_SLOTS). Public
// fields here name those slots; a field naming a slot the addon does not
// have fails the require() (lib/contract.js).
const { codes } = require('./errors');
const binding = require('./binding');
const { kPrivate } = require('./events');
const { mismatch, nameList } = require('./contract');
const inspect = require('./inspect');

const C = binding.constants;
const NS_PER_S = 1000000000n;

// A value computed from the counters at read time, from the slots it names.
function derived(slots, fn) {
  return Object.assign(fn, { slots });
}
function elapsed(v, s) {
  const start = v[s.created_at];
  const end = v[s.destroyed_at] || process.hrtime.bigint();
  return start !== 0n && end > start ? end - start : 0n;
}
const duration = derived(['created_at', 'destroyed_at'], elapsed);
function perSecond(slot) {
  return derived([slot, 'created_at', 'destroyed_at'], (v, s) => {
    const d = elapsed(v, s);
    return d === 0n ? 0n : (v[s[slot]] * NS_PER_S) / d;
  });
}
const kValues = Symbol('kValues');
const zero = derived([], () => 0n); // values ngtcp2 1.11 keeps private (docs/api.md)

// slotsName: the constant listing the C struct's slots in order; fields:
// public name -> slot name, or derived(slots, fn of (values, slot indices)).
function statsClass(name, slotsName, fields) {
  const { list: slots, index } = nameList(C, slotsName);
  const count = slots.length;
  const names = Object.keys(fields);
  // Every slot any field reads, and the ones the class itself reads, must be
  // in the addon's layout: checked now, not at the first read.
  const need = (slot, who) => {
    if (!(slot in index)) mismatch(`${who} reads stats slot '${slot}', which ${slotsName} does not list`);
  };
  need('destroyed_at', name);
  for (const field of names) {
    const def = fields[field];
    const reads = typeof def === 'string' ? [def] : typeof def === 'function' ? def.slots : undefined;
    if (!Array.isArray(reads)) mismatch(`${name}.${field} names no slot`);
    for (const slot of reads) need(slot, `${name}.${field}`);
  }
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
      if (copy[index.destroyed_at] === 0n) copy[index.destroyed_at] = process.hrtime.bigint();
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
      get = function() { return this[kValues]()[i]; };
    }
    Object.defineProperty(cls.prototype, field, { enumerable: true, configurable: true, get });
  }
  return cls;
}

const EndpointStats = statsClass('EndpointStats', 'STATS_ENDPOINT_SLOTS', {
  bytesReceived: 'bytes_received',
  bytesSent: 'bytes_sent',
  clientSessions: 'client_sessions',
  createdAt: 'created_at',
  duration,
  misroutedCount: 'misrouted_count',
  packetsReceived: 'packets_received',
  packetsSent: 'packets_sent',
  serverBusyCount: 'server_busy_count',
  serverSessions: 'server_sessions',
  statelessResetCount: 'stateless_reset_count',
});

const SessionStats = statsClass('SessionStats', 'STATS_SESSION_SLOTS', {
  bidiStreamCount: 'bidi_stream_count',
  blockCount: 'block_count',
  bytesInFlight: 'bytes_in_flight',
  bytesReceived: 'bytes_received',
  bytesSent: 'bytes_sent',
  closingAt: 'closing_at',
  congestionRecoveryStartTS: zero,
  createdAt: 'created_at',
  cwnd: 'cwnd',
  deliveryRateSec: perSecond('stream_bytes_acked'),
  duration,
  firstRttSampleTS: 'first_rtt_sample_ts',
  handshakeCompletedAt: 'handshake_completed_at',
  handshakeConfirmedAt: 'handshake_confirmed_at',
  inboundStreamsCount: 'inbound_streams',
  initialRtt: 'initial_rtt',
  keyUpdateCount: 'key_update_count',
  lastReceivedAt: 'last_received_at',
  lastSentAt: 'last_sent_at',
  lastSentPacketTS: 'last_sent_packet_ts',
  latestRtt: 'latest_rtt',
  lossDetectionTimer: zero,
  lossRetransmitCount: zero,
  lossTime: zero,
  maxBytesInFlight: 'max_bytes_in_flight',
  maxUdpPayloadSize: 'max_udp_payload_size',
  minRtt: 'min_rtt',
  outboundStreamsCount: 'outbound_streams',
  ptoCount: zero,
  receiveRate: perSecond('bytes_received'),
  rttVar: 'rtt_var',
  sendRate: perSecond('bytes_sent'),
  smoothedRtt: 'smoothed_rtt',
  ssthresh: 'ssthresh',
  uniStreamCount: 'uni_stream_count',
});

const StreamStats = statsClass('StreamStats', 'STATS_STREAM_SLOTS', {
  bytesReceived: 'bytes_received',
  bytesSent: 'bytes_sent',
  closingAt: 'closing_at',
  createdAt: 'created_at',
  duration,
  finalSize: 'final_size',
  lastAcknowledgeAt: 'last_acked_at',
  lastReceivedAt: 'last_received_at',
  maxOffset: 'max_offset',
  maxOffsetAcknowledged: 'max_offset_acked',
  maxOffsetReceived: 'max_offset_received',
});

module.exports = { EndpointStats, SessionStats, StreamStats };

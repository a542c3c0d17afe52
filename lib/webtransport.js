'use strict';
// WebTransport over HTTP/3, draft-ietf-webtrans-http3-02 (what Chromium
// speaks by default) and -16, side by side: a request event on the HTTP/3
// session (server), the W3C WebTransport client, and the session object in
// the W3C shape for both. The wire work (settings, stream classification,
// capsules, datagram prefixes, error codes) is in C, src/webtransport.c;
// this file turns its events into promises and web streams.
const binding = require('./binding');
const { codes } = require('./errors');
const { deferred, settle, kPrivate } = require('./events');
const { kWritable, kReadable, kPair, WebTransportError } = require('./stream');
const http3 = require('./http3');
const { events: { E }, nameList, requireNames } = require('./contract');
const { isArrayBufferView, isAnyArrayBuffer } = require('node:util/types');
const crypto = require('node:crypto');

const C = binding.constants;
const kIncoming = Symbol('kIncoming');
const kWtEvent = Symbol('kWtEvent');
const kWtDatagram = Symbol('kWtDatagram');
const kWtGone = Symbol('kWtGone');
const kWtConnect = Symbol('kWtConnect');
const kWtPeerSettings = Symbol('kWtPeerSettings');
const kWtRemembered = Symbol('kWtRemembered');

const WT_OP_ACCEPT = 0;
const WT_OP_CONNECT = 1;
const WT_OP_CLOSE = 2;
const WT_OP_DRAIN = 3;

// The versions, by name; the bits C reports a peer's SETTINGS enable.
const VERSIONS = Object.freeze({ draft02: C.WT_DRAFT02, draft16: C.WT_DRAFT16 });
const VERSION_NAME = new Map([[C.WT_DRAFT02, 'draft02'], [C.WT_DRAFT16, 'draft16']]);
// Each version's extended CONNECT :protocol (draft-02 3.2, draft-16 3.2).
const PROTOCOL = Object.freeze({ draft02: 'webtransport', draft16: 'webtransport-h3' });
// HTTP/3 codes: H3_MESSAGE_ERROR (RFC 9114 8.1); WT_ALPN_ERROR (draft-16 9.5).
const H3_MESSAGE_ERROR = 0x10e;
const WT_ALPN_ERROR = 0x0817b3dd;
// WT_REQUIREMENTS_NOT_MET (draft-16 9.5); H3_REQUEST_CANCELLED (RFC 9114 8.1).
const WT_REQUIREMENTS_NOT_MET = 0x212c0d48;
const H3_REQUEST_CANCELLED = 0x10c;
// How long a draft-16 request waits for the client's SETTINGS (draft-16 7.1).
const PEER_SETTINGS_WAIT_MS = 5000;

// Datagram queues (src/webtransport.c): the bounds' defaults and limit,
// and the slots of a session's datagram counts, as C defines them.
const DGRAM_HWM_MAX = C.WT_DGRAM_HWM_MAX;
const DGRAM = nameList(C, 'STATS_WT_DATAGRAM_SLOTS').index;
requireNames(DGRAM, ['sent', 'received', 'dropped_in', 'expired_in', 'dropped_out', 'expired_out', 'lost_out'],
             'STATS_WT_DATAGRAM_SLOTS');
const SESSION_SLOT = nameList(C, 'STATS_SESSION_SLOTS').index;
requireNames(SESSION_SLOT, ['bytes_sent', 'packets_sent', 'bytes_received', 'packets_received', 'smoothed_rtt',
                            'rtt_var', 'min_rtt', 'cwnd'], 'STATS_SESSION_SLOTS');
// Received datagrams taken from C per pull of datagrams.readable.
const DGRAM_PULL = 16;
// The longest maxAge accepted (ms): a day.
const MAX_AGE_MAX = 86400000;

function validateHwm(value, name) {
  if (typeof value !== 'number') throw codes.ERR_INVALID_ARG_TYPE(name, 'a number', value);
  if (!Number.isInteger(value) || value < 1 || value > DGRAM_HWM_MAX) {
    throw codes.ERR_OUT_OF_RANGE(name, `an integer >= 1 and <= ${DGRAM_HWM_MAX}`, value);
  }
  return value;
}

function validateMaxAge(value, name) {
  if (value === null) return null;
  if (typeof value !== 'number') throw codes.ERR_INVALID_ARG_TYPE(name, 'a number or null', value);
  if (!(value > 0 && value <= MAX_AGE_MAX)) throw codes.ERR_OUT_OF_RANGE(name, `> 0 and <= ${MAX_AGE_MAX} (ms), or null`, value);
  return value;
}

// newSessionsPerSecond: a token bucket per client address (burst: one
// second's worth), per server config. The table is bounded: past
// RATE_TABLE_MAX addresses the oldest is forgotten (it starts full again).
const RATE_TABLE_MAX = 10000;
const rateTables = new WeakMap(); // config -> Map(address -> { tokens, at })
function rateAllows(config, address) {
  const rate = config.newSessionsPerSecond;
  if (!rate) return true;
  let table = rateTables.get(config);
  if (!table) rateTables.set(config, table = new Map());
  const now = performance.now();
  let b = table.get(address);
  if (b) {
    table.delete(address); // most recent last
    b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
  } else {
    b = { tokens: rate, at: now };
    if (table.size >= RATE_TABLE_MAX) table.delete(table.keys().next().value);
  }
  table.set(address, b);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

// The TLS 1.3 exporter (RFC 8446 7.5) from the exporter_master_secret:
// HKDF-Expand-Label(Derive-Secret(secret, label, ""), "exporter",
// Hash(context), length).
function hkdfExpand(hash, prk, info, length) {
  const out = [];
  let t = Buffer.alloc(0);
  for (let i = 1, n = 0; n < length; i++) {
    t = crypto.createHmac(hash, prk).update(t).update(info).update(Buffer.of(i)).digest();
    out.push(t);
    n += t.length;
  }
  return Buffer.concat(out).subarray(0, length);
}
function hkdfExpandLabel(hash, secret, label, context, length) {
  const full = Buffer.concat([Buffer.from('tls13 '), Buffer.from(label)]);
  const info = Buffer.concat([Buffer.of(length >> 8, length & 0xff, full.length), full, Buffer.of(context.length), context]);
  return hkdfExpand(hash, secret, info, length);
}
function tlsExporter(hash, secret, label, context, length) {
  const empty = crypto.createHash(hash).digest();
  const derived = hkdfExpandLabel(hash, secret, label, empty, empty.length);
  return hkdfExpandLabel(hash, derived, 'exporter', crypto.createHash(hash).update(context).digest(), length);
}

// A structured-field list of strings (RFC 9651), as wt-available-protocols
// carries: ["a", "b"] from `"a", "b"`; parameters are ignored. A member
// that is not a string, or a malformed list, gives [] (draft-16 3.3: the
// whole field is ignored). WT-Protocol, an Item, reads as a list of one.
function parseStringList(value) {
  if (typeof value !== 'string') return [];
  const out = [];
  const re = /\s*"((?:[^"\\]|\\["\\])*)"(?:\s*;[^,]*)?\s*(?:,|$)/y;
  let m;
  re.lastIndex = 0;
  while (re.lastIndex < value.length && (m = re.exec(value)) !== null) out.push(m[1].replace(/\\(["\\])/g, '$1'));
  if (m === null && value.trim() !== '') return [];
  return out;
}

function utf8Truncate(s, max) {
  let b = Buffer.from(String(s), 'utf8');
  if (b.length <= max) return b;
  b = b.subarray(0, max);
  // Do not end inside a character.
  let end = b.length;
  while (end > 0 && (b[end - 1] & 0xc0) === 0x80) end--;
  if (end > 0 && b[end - 1] >= 0xc0) end--;
  else end = b.length;
  return b.subarray(0, end);
}

// The session, in the W3C shape (the same members on the Node client).
class WebTransportSession {
  #native;       // { handle(), key, stream(key, id, local, uni) }: the HTTP/3 session's view for us
  #connect;      // the CONNECT stream
  #ready = deferred();
  #closed = deferred();
  #draining = deferred();
  #protocol;
  #bidi;         // controller of incomingBidirectionalStreams
  #uni;          // controller of incomingUnidirectionalStreams
  #dgramIn;      // controller of datagrams.readable
  #dgramWait = null; // a pull of datagrams.readable waiting for datagrams
  #dgramConfig = { incomingHighWaterMark: C.WT_DGRAM_IN_HWM, outgoingHighWaterMark: C.WT_DGRAM_OUT_HWM,
                   incomingMaxAge: null, outgoingMaxAge: null };
  #dgramStats = null;     // the last datagram counts read from C (kept once the session is gone)
  #dgramUnqueued = 0;     // writes that never reached C (no session yet, or its stream gone)
  #done = false;
  #datagrams;
  #incomingBidirectionalStreams;
  #incomingUnidirectionalStreams;
  #version;
  #earlyData = false;

  constructor(token, native, connect, protocol, version, earlyData = false) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    this.#native = native;
    this.#connect = connect;
    this.#protocol = protocol;
    this.#version = version;
    this.#earlyData = earlyData;
    this.#ready.promise.catch(() => {});
    this.#closed.promise.catch(() => {});
    this.#incomingBidirectionalStreams = new ReadableStream({ start: (c) => { this.#bidi = c; } }, { highWaterMark: Infinity });
    this.#incomingUnidirectionalStreams = new ReadableStream({ start: (c) => { this.#uni = c; } }, { highWaterMark: Infinity });
    // Received datagrams wait in C (bounded by incomingHighWaterMark, aged
    // by incomingMaxAge) until a reader asks: a pull takes a few.
    const readable = new ReadableStream({
      start: (c) => { this.#dgramIn = c; },
      pull: (controller) => new Promise((resolve) => {
        const attempt = () => {
          this.#dgramWait = null;
          if (this.#done) { resolve(); return; }
          const h = native.handle();
          let list = [];
          if (h !== null) try { list = binding.wtDatagrams(h, native.key, DGRAM_PULL); } catch { /* stream gone */ }
          if (list.length === 0) {
            this.#dgramWait = attempt;
            return;
          }
          for (const ab of list) controller.enqueue(new Uint8Array(ab));
          resolve();
        };
        attempt();
      }),
    }, { highWaterMark: 0 });
    const writable = new WritableStream({
      write: (chunk) => {
        if (this.#done) throw new WebTransportError('the session is closed', { source: 'session' });
        if (!isArrayBufferView(chunk) && !isAnyArrayBuffer(chunk)) {
          throw codes.ERR_INVALID_ARG_TYPE('chunk', 'an ArrayBuffer or ArrayBufferView', chunk);
        }
        const h = native.handle();
        // A full queue (outgoingHighWaterMark) or an oversized datagram
        // drops it, as datagrams go; C counts it.
        let reached = false;
        try { if (h !== null) { binding.wtDatagram(h, native.key, chunk); reached = true; } } catch { /* CONNECT stream gone */ }
        if (!reached) this.#dgramUnqueued++;
      },
    }, { highWaterMark: 1 });
    const self = this;
    const config = this.#dgramConfig;
    const set = (name, value) => {
      config[name] = value;
      this.#applyDatagramConfig();
    };
    // The W3C WebTransportDatagramDuplexStream.
    this.#datagrams = Object.freeze({
      readable,
      writable,
      get maxDatagramSize() { return self.#maxDatagramSize(); },
      // Ours (Node): the session's datagrams waiting in C for a packet. A
      // write that finds outgoingHighWaterMark of them is dropped, so a
      // sender that must not lose any waits while this is near the mark.
      get outgoingQueued() { return self.#outgoingQueued(); },
      get incomingHighWaterMark() { return config.incomingHighWaterMark; },
      set incomingHighWaterMark(v) { set('incomingHighWaterMark', validateHwm(v, 'incomingHighWaterMark')); },
      get outgoingHighWaterMark() { return config.outgoingHighWaterMark; },
      set outgoingHighWaterMark(v) { set('outgoingHighWaterMark', validateHwm(v, 'outgoingHighWaterMark')); },
      get incomingMaxAge() { return config.incomingMaxAge; },
      set incomingMaxAge(v) { set('incomingMaxAge', validateMaxAge(v, 'incomingMaxAge')); },
      get outgoingMaxAge() { return config.outgoingMaxAge; },
      set outgoingMaxAge(v) { set('outgoingMaxAge', validateMaxAge(v, 'outgoingMaxAge')); },
    });
  }

  // The queue bounds go to C once the session is there (set earlier on a
  // client, they wait for it).
  #applyDatagramConfig() {
    const h = this.#native.handle();
    if (h === null || this.#done || this.#native.key === undefined) return;
    const c = this.#dgramConfig;
    try {
      binding.wtDatagramConfig(h, this.#native.key, c.incomingHighWaterMark, c.outgoingHighWaterMark,
                               c.incomingMaxAge ?? 0, c.outgoingMaxAge ?? 0);
    } catch { /* the session's stream is gone */ }
  }

  #readDatagramStats() {
    const h = this.#native.handle();
    if (h !== null && this.#native.key !== undefined) {
      try {
        const ab = binding.wtDatagramStats(h, this.#native.key);
        if (ab !== undefined) this.#dgramStats = new BigUint64Array(ab);
      } catch { /* the session's stream is gone */ }
    }
    return this.#dgramStats;
  }

  #outgoingQueued() {
    const h = this.#native.handle();
    if (!h || this.#done) return 0;
    try { return binding.wtDatagramsQueued(h, this.#native.key); } catch { return 0; }
  }

  #maxDatagramSize() {
    const h = this.#native.handle();
    if (!h || this.#done) return 0;
    try { return binding.wtInfo(h, this.#native.key)[0]; } catch { return 0; }
  }

  get ready() { return this.#ready.promise; }
  get closed() { return this.#closed.promise; }
  get draining() { return this.#draining.promise; }
  get protocol() { return this.#protocol; }
  // The draft this session speaks: 'draft02' or 'draft16' (undefined on a
  // client until it chose, after the server's SETTINGS).
  get version() { return this.#version; }
  // Its CONNECT went in 0-RTT and was taken so (client: the server accepted
  // our 0-RTT; server: it arrived in 0-RTT).
  get earlyData() { return this.#earlyData; }
  get datagrams() { return this.#datagrams; }
  get incomingBidirectionalStreams() { return this.#incomingBidirectionalStreams; }
  get incomingUnidirectionalStreams() { return this.#incomingUnidirectionalStreams; }
  // The CONNECT request's stream (its headers, its stats).
  get connectStream() { return this.#connect; }

  // W3C WebTransportConnectionStats: the connection's figures (shared by
  // the sessions of a pooled connection) from ngtcp2 and our counters;
  // what ngtcp2 1.11 does not report (losses, atSendCapacity) is null.
  // Times are milliseconds; estimatedSendRate is bits per second (the
  // congestion window over the smoothed RTT). datagrams: the session's
  // WebTransportDatagramStats; datagramsSent .. datagramsDroppedOutgoing:
  // ours (queued, kept, dropped each way).
  getStats() {
    const h = this.#native.handle();
    let conn = null;
    if (h !== null && !this.#done) {
      try { conn = new BigUint64Array(binding.sessionStats(h)); } catch { /* closed */ }
    }
    if (conn !== null) this.#connStats = conn.slice();
    conn = this.#connStats;
    const d = this.#done ? this.#dgramStats : this.#readDatagramStats();
    const dg = (name) => (d ? Number(d[DGRAM[name]]) : 0);
    const cs = (name) => (conn ? Number(conn[SESSION_SLOT[name]]) : null);
    const ms = (name) => (conn ? cs(name) / 1e6 : null);
    const srtt = cs('smoothed_rtt');
    return Promise.resolve({
      timestamp: performance.timeOrigin + performance.now(),
      bytesSent: cs('bytes_sent'),
      packetsSent: cs('packets_sent'),
      bytesLost: null,
      packetsLost: null,
      bytesReceived: cs('bytes_received'),
      packetsReceived: cs('packets_received'),
      smoothedRtt: ms('smoothed_rtt'),
      rttVariation: ms('rtt_var'),
      minRtt: ms('min_rtt'),
      estimatedSendRate: srtt ? Math.round((cs('cwnd') * 8 * 1e9) / srtt) : null,
      atSendCapacity: null,
      datagrams: {
        timestamp: performance.timeOrigin + performance.now(),
        droppedIncoming: dg('dropped_in'),
        expiredIncoming: dg('expired_in'),
        expiredOutgoing: dg('expired_out'),
        lostOutgoing: dg('lost_out'),
      },
      datagramsSent: dg('sent'),
      datagramsReceived: dg('received'),
      datagramsDroppedIncoming: dg('dropped_in'),
      datagramsDroppedOutgoing: dg('dropped_out') + this.#dgramUnqueued,
    });
  }
  #connStats = null;

  // Keying material bound to this session (the seed's
  // exportKeyingMaterial; draft-ietf-webtrans-http3 "Exporting Keying
  // Material"): the TLS exporter with the label EXPORTER-WebTransport and
  // the context { session ID (64 bits), label length, label, context
  // length, context }. Both ends of a session get the same bytes; other
  // sessions, labels or contexts get others. label: a string or bytes,
  // 1-255 bytes; context: bytes, 0-255; length: 1-1024 (default 32).
  async exportKeyingMaterial(label, context, length = 32) {
    const lab = typeof label === 'string' ? Buffer.from(label, 'utf8') : bytesOf(label, 'label');
    if (lab.length < 1 || lab.length > 255) throw codes.ERR_OUT_OF_RANGE('label', '1 to 255 bytes', lab.length);
    const ctx = context === undefined ? Buffer.alloc(0) : bytesOf(context, 'context');
    if (ctx.length > 255) throw codes.ERR_OUT_OF_RANGE('context', 'at most 255 bytes', ctx.length);
    if (!Number.isInteger(length) || length < 1 || length > 1024) {
      throw codes.ERR_OUT_OF_RANGE('length', 'an integer >= 1 and <= 1024', length);
    }
    await this.#ready.promise;
    const h = this.#native.handle();
    const secret = h && !this.#done ? binding.sessionExporterSecret(h) : undefined;
    if (secret === undefined) throw codes.ERR_INVALID_STATE('the session is closed');
    const hash = secret.length === 48 ? 'sha384' : 'sha256';
    const id = Buffer.alloc(8);
    id.writeBigUInt64BE(BigInt(this.#native.id));
    const wtContext = Buffer.concat([id, Buffer.of(lab.length), lab, Buffer.of(ctx.length), ctx]);
    const out = tlsExporter(hash, secret, 'EXPORTER-WebTransport', wtContext, length);
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.length);
  }

  async #open(uni) {
    await this.#ready.promise;
    if (this.#done) throw new WebTransportError('the session is closed', { source: 'session' });
    const h = this.#native.handle();
    if (!h) throw new WebTransportError('the session is closed', { source: 'session' });
    const [key, id] = binding.wtOpen(h, this.#native.key, uni);
    return this.#native.stream(key, id, true, uni);
  }

  async createBidirectionalStream() {
    const s = await this.#open(false);
    return s[kPair]();
  }

  async createUnidirectionalStream() {
    const s = await this.#open(true);
    return s[kWritable]();
  }

  // Sends CLOSE_WEBTRANSPORT_SESSION (closeCode: 32 bits; reason: at most
  // 1024 bytes of UTF-8, truncated as the W3C API does) and ends the session.
  close(closeInfo = {}) {
    if (closeInfo === null || typeof closeInfo !== 'object') {
      throw codes.ERR_INVALID_ARG_TYPE('closeInfo', 'an object', closeInfo);
    }
    const code = closeInfo.closeCode ?? 0;
    if (!Number.isInteger(code) || code < 0 || code > 0xffffffff) {
      throw codes.ERR_OUT_OF_RANGE('closeInfo.closeCode', 'an integer >= 0 and <= 4294967295', code);
    }
    const reason = utf8Truncate(closeInfo.reason ?? '', C.WT_REASON_MAX);
    if (this.#done) return;
    const h = this.#native.handle();
    if (h) {
      try { binding.wtSession(h, this.#native.key, WT_OP_CLOSE, code, reason); } catch { /* already gone */ }
    }
    this.#finish(null, { closeCode: code, reason: reason.toString('utf8') });
  }

  // Server or client: asks the peer to wrap up (DRAIN_WEBTRANSPORT_SESSION).
  drain() {
    if (this.#done) throw codes.ERR_INVALID_STATE('the session is closed');
    binding.wtSession(this.#native.handle(), this.#native.key, WT_OP_DRAIN);
  }

  #finish(error, info) {
    if (this.#done) return;
    this.#readDatagramStats(); // the last counts, before C lets the session go
    this.#done = true;
    const err = error || new WebTransportError('the session is closed', { source: 'session' });
    if (!this.#ready.settled) settle(this.#ready, err);
    for (const c of [this.#bidi, this.#uni, this.#dgramIn]) {
      try { error ? c.error(err) : c.close(); } catch { /* already closed */ }
    }
    settle(this.#closed, error, info);
    if (this.#dgramWait) this.#dgramWait();
    this.#native.gone();
  }

  [kPrivate](what, value) {
    if (what === 'done') return this.#done;
    if (what === 'version') {
      this.#version = value;
      return;
    }
    if (what === 'early') {
      this.#earlyData = value;
      return;
    }
    if (what === 'connect') {
      this.#connect = value;
      return;
    }
    if (what === 'ready') {
      if (value !== undefined) this.#protocol = value;
      this.#applyDatagramConfig();
      settle(this.#ready, null, undefined);
      if (this.#dgramWait) this.#dgramWait();
    } else if (what === 'failed') {
      this.#finish(value);
    }
  }

  // A stream of ours the peer opened.
  [kIncoming](stream) {
    if (this.#done) {
      stream.cancel();
      return;
    }
    if (stream.unidirectional) this.#uni.enqueue(stream[kReadable]());
    else this.#bidi.enqueue(stream[kPair]());
  }

  // Datagrams arrived on the connection: a waiting pull looks for ours.
  [kWtDatagram]() {
    if (this.#dgramWait) this.#dgramWait();
  }

  [kWtEvent](type, code, aux) {
    // Client: before the response was read, the request's outcome (a
    // refusal ends the stream) is the connect path's to report.
    if (!this.#ready.settled) return;
    if (type === E.STREAM_WT_DRAIN) {
      settle(this.#draining, null, undefined);
      return;
    }
    // STREAM_WT_CLOSE: aux 1 when the peer closed it (capsule or end).
    let reason = '';
    const h = this.#native.handle();
    if (h) try { reason = binding.wtInfo(h, this.#native.key)[1] ?? ''; } catch { /* stream gone */ }
    if (aux === 1) this.#finish(null, { closeCode: Number(code), reason });
    else this.#finish(new WebTransportError('the session ended without a close', { source: 'session' }));
  }

  // The connection went away.
  [kWtGone](error) {
    this.#finish(new WebTransportError(error ? `the connection closed: ${error.message}` : 'the connection closed',
                                       { source: 'session' }));
  }

  get [Symbol.toStringTag]() { return 'WebTransportSession'; }
}

// What the 'webtransport' event carries: the extended CONNECT, to accept
// or reject.
class WebTransportRequest {
  #decide;
  #decided = false;
  constructor(token, info, decide) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    Object.assign(this, info);
    Object.freeze(this.headers);
    this.#decide = decide;
  }

  get decided() { return this.#decided; }

  // Accepts: a 200 response. options.protocol: one of the offered
  // subprotocols (default: the server's preferred match, if any);
  // options.headers: more response fields.
  accept(options = {}) {
    if (this.#decided) throw codes.ERR_INVALID_STATE('the request was already accepted or rejected');
    if (options === null || typeof options !== 'object') throw codes.ERR_INVALID_ARG_TYPE('options', 'an object', options);
    const protocol = options.protocol === undefined ? this.protocol : options.protocol;
    if (protocol !== undefined && !this.protocols.includes(protocol)) {
      throw codes.ERR_INVALID_ARG_VALUE('options.protocol', protocol, 'is not among the protocols the client offered');
    }
    const ws = this.#decide(200, options.headers, protocol);
    this.#decided = true;
    return ws;
  }

  // Rejects with a status (default 404; 2xx is not a rejection).
  reject(status = 404, headers) {
    if (this.#decided) throw codes.ERR_INVALID_STATE('the request was already accepted or rejected');
    if (!Number.isInteger(status) || status < 300 || status > 599) {
      throw codes.ERR_OUT_OF_RANGE('status', 'an integer >= 300 and <= 599', status);
    }
    this.#decide(status, headers);
    this.#decided = true;
  }
}

class WebTransportEvent extends Event {
  #request;
  constructor(token, request) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    super('webtransport');
    this.#request = request;
  }
  get request() { return this.#request; }
}

// Serves an extended CONNECT the core registered as a WebTransport
// session: its version's checks, origin check, subprotocol choice, the
// event, the response. `native` is the HTTP/3 session's view (see
// WebTransportSession) plus submit(kind, fields), end() and abort(code) for
// the CONNECT stream.
async function serveRequest(session, stream, native, config, dispatch) {
  let h;
  try { h = await stream.headers; } catch { return; }
  const version = h[':protocol'] === PROTOCOL.draft16 ? 'draft16' : 'draft02';
  const info = () => {
    const handle = native.handle();
    try { return handle ? binding.wtInfo(handle, native.key) : undefined; } catch { return undefined; }
  };
  const early = info()?.[2] === true;
  if (version === 'draft16') {
    // draft-16 7.1: no request is processed before the client's SETTINGS;
    // 3.1: one whose SETTINGS do not enable draft-16 (with HTTP/3
    // datagrams) is malformed (RFC 9114 4.1.2: H3_MESSAGE_ERROR).
    let timer;
    const versions = await Promise.race([session[kWtPeerSettings](), new Promise((resolve) => {
      timer = setTimeout(() => resolve(0), PEER_SETTINGS_WAIT_MS);
    })]).catch(() => null).finally(() => clearTimeout(timer));
    if (versions === null) return; // the connection went first
    if ((versions & VERSIONS.draft16) === 0) {
      native.abort(H3_MESSAGE_ERROR);
      return;
    }
  }
  // A CONNECT that came in 0-RTT waits for the handshake unless the server
  // allows 0-RTT sessions (a replayed first flight never completes one).
  if (early && !config.allowZeroRtt) {
    try { await session.handshake; } catch { return; }
  }
  if (!native.handle()) return;
  const respond = (status, headers, protocol) => {
    const extra = { ...(headers || {}), ':status': status };
    if (status === 200) {
      // draft-02: the server names the draft it speaks.
      if (version === 'draft02') extra['sec-webtransport-http3-draft'] = 'draft02';
      // A structured-field string (draft-16 3.3: an Item; draft-02 the same).
      if (protocol !== undefined) extra['wt-protocol'] = `"${protocol}"`;
    }
    const fields = http3.responseFields(extra);
    if (status !== 200) {
      native.submit(fields);
      native.end();
      return undefined;
    }
    // The 2xx first: capsules the client sent before it are read only once
    // it is sent (draft-16 3.2), when the core accepts (both in this tick,
    // before anything goes out).
    native.submit(fields);
    binding.wtSession(native.handle(), native.key, WT_OP_ACCEPT);
    const ws = new WebTransportSession(kPrivate, native, stream, protocol, version, early);
    native.register(ws);
    ws[kPrivate]('ready');
    return ws;
  };
  if (!rateAllows(config, session.remoteAddress?.address ?? '')) {
    respond(429);
    return;
  }
  const origin = h.origin;
  if (config.origins && !(typeof origin === 'string' && config.origins.has(origin.toLowerCase()))) {
    respond(403);
    return;
  }
  const offered = parseStringList(h['wt-available-protocols']);
  const preferred = config.protocols.find((p) => offered.includes(p));
  const request = new WebTransportRequest(kPrivate, {
    path: h[':path'], authority: h[':authority'], origin, protocols: offered, protocol: preferred,
    headers: h, version, early,
  }, respond);
  const handled = dispatch(new WebTransportEvent(kPrivate, request));
  if (!handled && !request.decided) request.reject(404);
}

// ---- the client ----

const HASH_OK = new Set(['sha-256']);
const CONGESTION = { default: undefined, throughput: 'cubic', 'low-latency': 'bbr' };
const TWO_WEEKS_MS = 14 * 24 * 3600 * 1000;
// allowPooling: sessions per pooled connection, and the pools per endpoint.
const POOL_SESSIONS = 64;
// How long a client waits for the server's SETTINGS after the handshake.
const SETTINGS_WAIT_MS = 5000;
const poolsOf = new WeakMap(); // Endpoint -> Map(key -> { session, users, key, pools })

// The version to speak, from the bits of the versions the server's
// SETTINGS enable: the one asked for, or with 'auto' draft-16 where the
// server offers it, else draft-02. A pooled 'auto' session prefers draft-02,
// which allows several sessions on one connection (draft-16 without flow
// control allows one, 5.1). undefined: none we may use.
function chooseVersion(offered, version, pooled) {
  if (version !== 'auto') return (offered & VERSIONS[version]) ? version : undefined;
  const order = pooled ? ['draft02', 'draft16'] : ['draft16', 'draft02'];
  return order.find((v) => (offered & VERSIONS[v]) !== 0);
}

function bytesOf(v, name) {
  if (isArrayBufferView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (isAnyArrayBuffer(v)) return Buffer.from(v);
  throw codes.ERR_INVALID_ARG_TYPE(name, 'an ArrayBuffer or ArrayBufferView', v);
}

// The W3C WebTransport client for Node.js: the same members as in browsers
// (and as WebTransportSession, which it is), plus Node's own options:
// `ca` (trust), `origin` (the header a browser would send), `endpoint` (a
// quic Endpoint to connect from; by default one of its own, closed with
// the session), `servername`.
class WebTransport extends WebTransportSession {
  #session = null;   // the QUIC session (our own connection, or a pooled one)
  #pool = null;      // the pool entry when pooled
  #endpoint = null;
  #ownEndpoint = false;

  constructor(url, options = {}) {
    if (typeof url !== 'string' && !(url instanceof URL)) throw codes.ERR_INVALID_ARG_TYPE('url', 'a string or URL', url);
    let u;
    try { u = new URL(String(url)); } catch { throw codes.ERR_INVALID_ARG_VALUE('url', url, 'is not a valid URL'); }
    if (u.protocol !== 'https:') throw codes.ERR_INVALID_ARG_VALUE('url', url, "must be an https: URL");
    if (u.hash) throw codes.ERR_INVALID_ARG_VALUE('url', url, 'must not have a fragment');
    if (options === null || typeof options !== 'object') throw codes.ERR_INVALID_ARG_TYPE('options', 'an object', options);
    if (options.allowPooling !== undefined && typeof options.allowPooling !== 'boolean') {
      throw codes.ERR_INVALID_ARG_TYPE('options.allowPooling', 'a boolean', options.allowPooling);
    }
    if (options.requireUnreliable !== undefined && typeof options.requireUnreliable !== 'boolean') {
      throw codes.ERR_INVALID_ARG_TYPE('options.requireUnreliable', 'a boolean', options.requireUnreliable);
    }
    if (options.allowPooling && options.serverCertificateHashes !== undefined) {
      // W3C: NotSupportedError.
      throw codes.ERR_QUIC_UNSUPPORTED('options.allowPooling with serverCertificateHashes', 'the W3C API refuses the pair');
    }
    if (options.allowPooling && options.endpoint === undefined) {
      throw codes.ERR_INVALID_ARG_VALUE('options.allowPooling', true, 'needs options.endpoint (the endpoint that keeps the pooled connections)');
    }
    const cc = options.congestionControl === undefined ? 'default' : options.congestionControl;
    if (!(cc in CONGESTION)) {
      throw codes.ERR_INVALID_ARG_VALUE('options.congestionControl', cc, "must be 'default', 'throughput' or 'low-latency'");
    }
    const hashes = [];
    if (options.serverCertificateHashes !== undefined) {
      if (!Array.isArray(options.serverCertificateHashes)) {
        throw codes.ERR_INVALID_ARG_TYPE('options.serverCertificateHashes', 'an array', options.serverCertificateHashes);
      }
      options.serverCertificateHashes.forEach((h, i) => {
        const at = `options.serverCertificateHashes[${i}]`;
        if (h === null || typeof h !== 'object') throw codes.ERR_INVALID_ARG_TYPE(at, 'an object', h);
        // W3C: hashes of another algorithm are ignored.
        if (HASH_OK.has(String(h.algorithm).toLowerCase())) hashes.push(bytesOf(h.value, `${at}.value`));
      });
    }
    const protocols = options.protocols === undefined ? [] : options.protocols;
    if (!Array.isArray(protocols)) throw codes.ERR_INVALID_ARG_TYPE('options.protocols', 'an array of strings', protocols);
    protocols.forEach((p, i) => {
      if (typeof p !== 'string' || p.length === 0 || /[\0-\x1f"\\\x7f-\uffff]/.test(p)) {
        throw codes.ERR_INVALID_ARG_VALUE(`options.protocols[${i}]`, p, 'must be a non-empty printable ASCII string without quotes or backslashes');
      }
    });
    if (new Set(protocols).size !== protocols.length) {
      throw codes.ERR_INVALID_ARG_VALUE('options.protocols', protocols, 'must not repeat a protocol');
    }
    if (options.origin !== undefined && typeof options.origin !== 'string') {
      throw codes.ERR_INVALID_ARG_TYPE('options.origin', 'a string', options.origin);
    }
    const version = options.version === undefined ? 'auto' : options.version;
    if (version !== 'auto' && !(version in VERSIONS)) {
      throw codes.ERR_INVALID_ARG_VALUE('options.version', version, "must be 'auto', 'draft02' or 'draft16'");
    }
    if (options.resume !== undefined && (options.resume === null || typeof options.resume !== 'object')) {
      throw codes.ERR_INVALID_ARG_TYPE('options.resume', 'a session ticket object (webTransport.sessionTicket)', options.resume);
    }
    // The session's view of its QUIC session, filled in once connected.
    const late = { key: undefined, id: undefined, handle: () => null, stream: null, submit: null, end: null, register: null, gone: () => {} };
    super(kPrivate, late, null, undefined);
    if (options.endpoint !== undefined) {
      const { Endpoint } = require('./endpoint');
      if (!(options.endpoint instanceof Endpoint)) throw codes.ERR_INVALID_ARG_TYPE('options.endpoint', 'an Endpoint', options.endpoint);
      this.#endpoint = options.endpoint;
    }
    this.#start(u, options, hashes, protocols, CONGESTION[cc], late, version).catch((err) => {
      this[kPrivate]('failed', err instanceof WebTransportError ? err
        : Object.assign(new WebTransportError(err?.message ?? String(err), { source: 'session' }), { cause: err }));
      this.#teardown();
    });
  }

  async #start(u, options, hashes, protocols, cc, late, version) {
    const { Endpoint } = require('./endpoint');
    const dns = require('node:dns');
    const net = require('node:net');
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port === '' ? 443 : Number(u.port);
    const address = net.isIP(host) ? host : (await dns.promises.lookup(host)).address;
    if (!this.#endpoint) {
      this.#endpoint = new Endpoint();
      this.#ownEndpoint = true;
    }
    const secure = { ...(options.ca !== undefined ? { ca: options.ca } : {}) };
    // With certificate hashes the chain is not checked: the hash is (below).
    if (hashes.length) {
      secure.rejectUnauthorized = false;
      secure.verifyHostnameIdentity = false;
    }
    const config = {
      alpn: 'h3',
      webtransport: { maxSessions: options.allowPooling ? POOL_SESSIONS : 1 },
      secure,
      ...(net.isIP(host) ? {} : { hostname: options.servername ?? host }),
      ...(cc ? { ccAlgorithm: cc } : {}),
    };
    if (net.isIP(host) && options.servername !== undefined) config.hostname = options.servername;
    let session;
    if (options.allowPooling) {
      // One connection per endpoint, address, port, name and trust, shared
      // by the WebTransports that allow it (up to POOL_SESSIONS each).
      let pools = poolsOf.get(this.#endpoint);
      if (!pools) poolsOf.set(this.#endpoint, pools = new Map());
      const ca = options.ca === undefined ? '' : crypto.createHash('sha256').update(JSON.stringify(
        [].concat(options.ca).map((c) => Buffer.from(c).toString('base64')))).digest('hex');
      const key = `${address}|${port}|${config.hostname ?? ''}|${ca}|${cc ?? ''}|${version}`;
      let entry = pools.get(key);
      // draft-16 without flow control: one session per connection (5.1).
      if (!entry || entry.session.closing || entry.users >= (entry.full ? 1 : POOL_SESSIONS)) {
        entry = { session: this.#endpoint.connect({ address, port }, config), users: 0, key, pools, full: version === 'draft16' };
        pools.set(key, entry);
        const forget = () => { if (pools.get(key) === entry) pools.delete(key); };
        entry.session.closed.then(forget, forget);
      }
      entry.users++;
      this.#pool = entry;
      session = entry.session;
    } else {
      session = this.#endpoint.connect({ address, port }, config, options.resume);
    }
    this.#session = session;
    session.closed.then(() => this.#teardown(), () => this.#teardown());
    const headers = (v) => {
      const fields = {
        ':method': 'CONNECT', ':protocol': PROTOCOL[v], ':scheme': 'https',
        ':authority': u.host, ':path': `${u.pathname}${u.search}`,
      };
      if (v === 'draft02') fields['sec-webtransport-http3-draft02'] = '1';
      if (options.origin !== undefined) fields.origin = options.origin;
      if (protocols.length) fields['wt-available-protocols'] = protocols.map((p) => `"${p}"`).join(', ');
      return fields;
    };
    // Resumed with the server's SETTINGS remembered (RFC 9114 7.2.4.2): the
    // CONNECT goes at once, in 0-RTT, by them. A server that refuses 0-RTT
    // gets it again after the handshake (the core resends early requests).
    let connect = null;
    const remembered = options.resume !== undefined ? session[kWtRemembered]() : 0;
    const early = remembered ? chooseVersion(remembered, version, options.allowPooling) : undefined;
    if (early !== undefined) {
      connect = session[kWtConnect](headers(early), VERSIONS[early], true);
      if (connect) this[kPrivate]('version', early);
    }
    await session.handshake;
    if (this[kPrivate]('done')) throw new WebTransportError('closed before it was ready', { source: 'session' });
    if (hashes.length) {
      const cert = session.peerCertificate;
      const ok = cert && hashes.some((h) => crypto.createHash('sha256').update(cert.raw).digest().equals(h));
      // W3C: a hashed certificate is valid for at most two weeks.
      const span = cert ? Date.parse(cert.validTo) - Date.parse(cert.validFrom) : Infinity;
      if (!ok || !(span <= TWO_WEEKS_MS)) {
        throw new WebTransportError(ok ? 'the server certificate is valid for more than two weeks'
          : 'the server certificate matches none of serverCertificateHashes', { source: 'session' });
      }
    }
    if (connect === null) {
      // RFC 9220 3 (draft-16 3.1): no extended CONNECT before the server's
      // SETTINGS; and a server whose SETTINGS enable no version we speak
      // is not asked.
      const settled = session[kWtPeerSettings]();
      settled.catch(() => {});
      let timer;
      const offered = await Promise.race([settled, new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), SETTINGS_WAIT_MS);
      })]).finally(() => clearTimeout(timer));
      if (this[kPrivate]('done')) throw new WebTransportError('closed before it was ready', { source: 'session' });
      if (offered === null) throw new WebTransportError('the server sent no SETTINGS in time', { source: 'session' });
      const chosen = chooseVersion(offered, version, options.allowPooling);
      if (chosen === undefined) {
        throw new WebTransportError(`the server does not enable WebTransport (${
          version === 'auto' ? 'draft-02 or draft-16' : version.replace('draft', 'draft-')}) in its SETTINGS`,
        { source: 'session' });
      }
      this[kPrivate]('version', chosen);
      connect = session[kWtConnect](headers(chosen), VERSIONS[chosen], false);
    } else {
      this[kPrivate]('early', session.earlyData);
    }
    if (this.#pool && this.version === 'draft16') this.#pool.full = true;
    const { stream, native } = connect;
    this[kPrivate]('connect', stream);
    Object.assign(late, native, { gone: () => { native.gone(); this.#teardown(); } });
    // The CONNECT's id as it is now (sent again after a refused 0-RTT, it has a new one).
    Object.defineProperty(late, 'id', { get: () => native.id });
    native.register(this);
    const h = await stream.headers;
    if (this[kPrivate]('done')) return;
    const status = h[':status'];
    if (!(status >= 200 && status < 300)) {
      throw new WebTransportError(`the server refused the session (status ${status})`, { source: 'session' });
    }
    const chosen = parseStringList(h['wt-protocol'])[0];
    if (chosen !== undefined && !protocols.includes(chosen)) {
      // draft-16 3.3: the session is closed with WT_ALPN_ERROR.
      if (this.version === 'draft16') native.abort(WT_ALPN_ERROR);
      throw new WebTransportError(`the server chose a protocol not offered (${chosen})`, { source: 'session' });
    }
    if (options.requireUnreliable && this.datagrams.maxDatagramSize === 0) {
      // W3C: a connection that cannot carry datagrams fails the session.
      // (HTTP/3 datagrams need the server's max_datagram_frame_size.)
      native.abort(this.version === 'draft16' ? WT_REQUIREMENTS_NOT_MET : H3_REQUEST_CANCELLED);
      throw new WebTransportError('the connection cannot carry datagrams (requireUnreliable)', { source: 'session' });
    }
    binding.wtSession(native.handle(), native.key, WT_OP_ACCEPT);
    this[kPrivate]('ready', chosen);
  }

  // The newest TLS ticket of this WebTransport's connection, with the
  // server's WebTransport SETTINGS remembered (applicationParams): give it
  // as `resume` to a later WebTransport to the same server, whose CONNECT
  // then goes in 0-RTT. Undefined until the server sent one.
  get sessionTicket() { return this.#session?.sessionTicket; }

  // Once the session is over: our own connection and endpoint go too.
  #teardown() {
    if (this.#tornDown) return;
    this.#tornDown = true;
    const session = this.#session;
    const endpoint = this.#endpoint;
    const own = this.#ownEndpoint;
    const pool = this.#pool;
    // A pooled connection closes with its last WebTransport.
    if (pool && --pool.users > 0) return;
    if (pool && pool.pools.get(pool.key) === pool) pool.pools.delete(pool.key);
    queueMicrotask(async () => {
      try { if (session && !session.closing) await session.close(); } catch { /* closed with an error: fine */ }
      if (own) await endpoint.close().catch(() => endpoint.destroy());
    });
  }
  #tornDown = false;

  get [Symbol.toStringTag]() { return 'WebTransport'; }
}

module.exports = {
  WebTransport, WebTransportSession, WebTransportRequest, WebTransportEvent, WebTransportError, serveRequest,
  parseStringList, kIncoming, kWtEvent, kWtDatagram, kWtGone, kWtConnect, kWtPeerSettings, kWtRemembered, WT_OP_CONNECT, tlsExporter,
  VERSION_NAME,
};

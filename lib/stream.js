'use strict';
// Stream: one QUIC stream. Inbound data stays in C until a consumer reads
// it (that is what holds the peer back); outbound bodies are pulled as the
// send buffer drains.
const { Readable } = require('node:stream');
const { isArrayBufferView, isAnyArrayBuffer } = require('node:util/types');
const binding = require('./binding');
const { codes } = require('./errors');
const { deferred, settle, kPrivate, defineEventHandler } = require('./events');
const { chunksOf, bytesOf, SLICE } = require('./body');

const EMPTY = Buffer.alloc(0);
const { validateFunction } = require('./validate');
const http3 = require('./http3');
const { StreamStats } = require('./stats');
const { events: { E } } = require('./contract');
const inspect = require('./inspect');

const C = binding.constants;
const HWM = C.STREAM_TX_HWM;
const kEvent = Symbol('kEvent');
const kSessionClosed = Symbol('kSessionClosed');
const kSend = Symbol('kSend');
const kOpened = Symbol('kOpened');
const kWritable = Symbol('kWritable');
const kReadable = Symbol('kReadable');
const kPair = Symbol('kPair');
// After the peer's STOP_SENDING is seen without its code (ngtcp2 1.11
// tells the code only when the stream closes, which waits for the peer's
// own direction to end), a WebTransport writer waits this long for it, then
// fails with streamErrorCode null rather than hang.
const STOP_CODE_WAIT_MS = 500;

// The WebTransport application error-code mapping onto HTTP/3 codes
// (draft-ietf-webtrans-http3-02 4.3; src/webtransport.c has the same for
// what C sends itself).
const WT_FIRST = 0x52e4a40fa8dbn;
const WT_LAST = 0x52e5ac983162n;
function wtToH3(code) {
  const n = BigInt(code);
  return WT_FIRST + n + n / 0x1en;
}
// The WebTransport code of an HTTP/3 code, or null outside the range.
function h3ToWt(h3) {
  if (h3 < WT_FIRST || h3 > WT_LAST || (h3 - 0x21n) % 0x1fn === 0n) return null;
  const shifted = h3 - WT_FIRST;
  return Number(shifted - shifted / 0x1fn);
}

// W3C WebTransportError (also thrown on the Node side).
class WebTransportError extends Error {
  #source;
  #streamErrorCode;
  constructor(message = '', options = {}) {
    super(message);
    this.name = 'WebTransportError';
    this.#source = options?.source === 'session' ? 'session' : 'stream';
    this.#streamErrorCode = options?.streamErrorCode ?? null;
  }
  get source() { return this.#source; }
  get streamErrorCode() { return this.#streamErrorCode; }
}

// What a WebTransport stream hears of the peer's aborts (the seed's
// protocol events): 'receivesideaborted' (the peer's RESET_STREAM: our
// receiving side is aborted) and 'sendsideaborted' (its STOP_SENDING: our
// sending side is). streamErrorCode: the peer's WebTransport code, or null
// when its HTTP/3 code is outside the WebTransport range.
class WebTransportStreamEvent extends Event {
  #code;
  constructor(token, type, code) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    super(type);
    this.#code = code;
  }
  get streamErrorCode() { return this.#code; }
}

// EventTarget methods for classes that extend something else (the web
// streams), through a private EventTarget.
function withEvents(Base, names) {
  const C = class extends Base {
    #target = new EventTarget();
    addEventListener(...args) { return this.#target.addEventListener(...args); }
    removeEventListener(...args) { return this.#target.removeEventListener(...args); }
    dispatchEvent(event) { return this.#target.dispatchEvent(event); }
  };
  for (const n of names) defineEventHandler(C.prototype, n);
  return C;
}

// The W3C WebTransportSendStream / WebTransportReceiveStream: web streams
// that also fire the abort events above.
const WebTransportSendStream = withEvents(WritableStream, ['sendsideaborted']);
Object.defineProperty(WebTransportSendStream, 'name', { value: 'WebTransportSendStream' });
const WebTransportReceiveStream = withEvents(ReadableStream, ['receivesideaborted']);
Object.defineProperty(WebTransportReceiveStream, 'name', { value: 'WebTransportReceiveStream' });

// The W3C WebTransportBidirectionalStream ({ readable, writable }), which
// also hears both abort events.
class WebTransportBidirectionalStream extends EventTarget {
  #readable;
  #writable;
  constructor(token, readable, writable) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    super();
    this.#readable = readable;
    this.#writable = writable;
  }
  get readable() { return this.#readable; }
  get writable() { return this.#writable; }
}
defineEventHandler(WebTransportBidirectionalStream.prototype, 'sendsideaborted');
defineEventHandler(WebTransportBidirectionalStream.prototype, 'receivesideaborted');

// The WebTransport code an abort of a WebTransport stream sends: the
// reason's streamErrorCode (a 32-bit integer), else 0.
function wtCodeOf(reason) {
  let c;
  try { c = reason?.streamErrorCode; } catch { /* unreadable: 0 */ }
  return Number.isInteger(c) && c >= 0 && c <= 0xffffffff ? c : 0;
}

// The application error code an abort sends: the reason's errorCode (or
// numeric code) if it has one; otherwise 0 without a reason and 1 with one,
// or on HTTP/3 H3_REQUEST_CANCELLED either way (codes 0 and 1 mean nothing
// there).
function codeOf(reason, h3 = false) {
  let c;
  try {
    // A DOMException's `code` is its legacy type number (20 for AbortError),
    // not an application error code.
    c = reason == null ? undefined : reason instanceof DOMException ? reason.errorCode : reason.errorCode ?? reason.code;
  } catch { /* a reason we cannot read (a revoked Proxy) has no code */ }
  if (typeof c === 'bigint' && c >= 0n && c < 2n ** 62n) return c;
  if (Number.isSafeInteger(c) && c >= 0) return BigInt(c);
  if (h3) return 0x10cn;
  return reason == null ? 0n : 1n;
}

// Released streams keep their last stats in shared slabs, a slot range
// each, rather than an array (and its backing store) apiece: most are never
// read. A slab lives while any of its streams is referenced.
// The slot list was checked when lib/ loaded (lib/contract.js).
const STATS_SLOTS = C.STATS_STREAM_SLOTS.length;
const SLAB_STREAMS = 64;
let statsSlab = null;
let statsSlabNext = SLAB_STREAMS;
function statsSlot() {
  if (statsSlabNext === SLAB_STREAMS) {
    statsSlab = new BigUint64Array(SLAB_STREAMS * STATS_SLOTS);
    statsSlabNext = 0;
  }
  return STATS_SLOTS * statsSlabNext++; // a slot range of statsSlab
}

class Stream {
  #session;
  #handle;       // the session's native handle
  #key;
  #id;
  #local;
  #uni;
  #closed = deferred();
  #blocked = null;       // deferred of the next 'blocked', made when asked for
  #consumer = null;      // 'node' | 'web' | 'callback'
  #wantData = null;      // called when data (or the end) arrives
  #readEnded = false;    // the consumer saw the end
  #readError = null;
  #drained = null;       // writers waiting for room (an array once one waits)
  #writeDone = false;    // FIN queued, or the sending side was aborted
  #nativeClosed = false;
  #released = false;
  #stash = null;         // data copied out of C when the session ended
  #h3;
  #headers = null;       // HTTP/3: deferred of the request / final response headers
  #hints = null;         // deferred of the informational blocks before them
  #trailers = null;
  #hintList = null;
  #failReader = null;    // errors the attached reader (set by the consumer)
  #stats = null;         // StreamStats, made on first use (most streams never need one)
  #lastStats = null;     // the slab holding the last values, kept at release while #stats is null
  #lastStatsAt = 0;      // their first slot in it
  #wt;                   // a WebTransport stream: codes are mapped, errors are WebTransportErrors
  #writerError = null;   // WebTransport: the error the writer fails with once the stream ended under it
  #writerController = null; // WebTransport: the WritableStream's controller
  #stopSeen = false;     // the peer's STOP_SENDING ended our sending side
  #stopTimer = null;     // WebTransport: the wait for its code (STOP_CODE_WAIT_MS)
  #sendAborted = false;  // WebTransport: sendsideaborted fired
  #txEnded = null;       // WebTransport: deferred, fulfils once the sending side's fate is known (the stop's code, the close, the session's end)
  #committed = null;     // WebTransport: deferred, fulfils once all we wrote was acknowledged, or the sending side ended otherwise
  #commitP = deferred();   // stream.committed: fulfils once all we sent was acknowledged, rejects if it cannot be
  #commitAsked = false;
  #wtRecv = null;        // WebTransport: our WebTransportReceiveStream, WebTransportSendStream and the bidirectional pair,
  #wtSend = null;        // which hear the peer's aborts as events
  #wtPair = null;

  // Methods called on something else (Reflect.apply, .call) fail with a code.
  static #check(self) {
    if (self === null || typeof self !== 'object' || !(#key in self)) throw codes.ERR_INVALID_THIS('Stream');
  }

  constructor(token, session, handle, key, id, local, uni, h3 = false, wt = false) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    this.#h3 = h3;
    this.#wt = wt;
    if (wt) {
      this.#txEnded = deferred();
      this.#committed = deferred();
    }
    if (h3) {
      this.#headers = deferred();
      this.#hints = deferred();
      this.#trailers = deferred();
    }
    this.#session = session;
    this.#handle = handle;
    this.#key = key;
    this.#id = id;
    this.#local = local;
    this.#uni = uni;
    // A peer's request arrives with its headers already complete: the
    // headers event that follows the new-stream event in the same batch
    // takes them (src/events.c orders them so).
    // A unidirectional stream has one direction only.
    if (uni && !local) this.#writeDone = true;
    if (uni && local) this.#readEnded = true;
  }

  get id() { return this.#id < 0 ? undefined : BigInt(this.#id); }
  get stats() {
    if (this.#stats === null) {
      this.#stats = new StreamStats(kPrivate, () => (this.#released || !this.#session.nativeAlive
        ? null : binding.streamStats(this.#handle, this.#key)));
      if (this.#lastStats !== null) {
        // Released before anyone looked: the values kept then, frozen.
        const last = this.#lastStats.subarray(this.#lastStatsAt, this.#lastStatsAt + STATS_SLOTS);
        this.#lastStats = null;
        this.#stats[kPrivate]((a) => a.set(last));
      }
    }
    return this.#stats;
  }
  // Freezes the stats with the native stream's last values; release(array)
  // copies them and lets the native stream go in one call. Most streams'
  // stats are never read: only the values are kept then, and the stats
  // object is made if someone asks (it was a tenth of a server's JavaScript
  // per request).
  // release(array, slot) writes the values to array's slots from `slot` on.
  #freezeStats(release) {
    if (this.#stats === null) {
      const at = statsSlot();
      this.#lastStats = statsSlab;
      this.#lastStatsAt = at;
      release(statsSlab, at);
      return;
    }
    let done = false;
    this.#stats[kPrivate]((a) => { release(a, 0); done = true; });
    if (!done) release();
  }
  get session() { return this.#session; }
  get unidirectional() { return this.#uni; }
  get serverInitiated() {
    // Bit 0 of a stream id says who opened it; a queued stream is ours.
    if (this.#id >= 0) return (this.#id & 1) === 1;
    return this.#session.side === 'server';
  }
  get closed() { return this.#closed.promise; }
  // allDataCommitted: fulfils once the peer acknowledged every byte we sent
  // and the end (HTTP/3: the body's bytes); rejects if our sending side was
  // aborted first (our cancel() or a failed body: its reason; the peer's
  // STOP_SENDING: ERR_QUIC_APPLICATION_ERROR with its code) or the session
  // ended first. A peer's unidirectional stream has nothing to send: it
  // fulfils at once.
  get committed() {
    if (!this.#commitAsked) {
      this.#commitAsked = true;
      if (this.#uni && !this.#local) settle(this.#commitP, null, undefined);
      else if (!this.#commitP.settled && !this.#released && this.#session.nativeAlive) {
        try { binding.streamWantCommit(this.#handle, this.#key); } catch { /* gone: its close settles it */ }
      }
    }
    return this.#commitP.promise;
  }
  get blocked() {
    if (this.#blocked === null) {
      this.#blocked = deferred();
      // Made after the stream ended: it will never be blocked again.
      if (this.#nativeClosed || this.#closed.settled) settle(this.#blocked, null, false);
    }
    return this.#blocked.promise;
  }
  get locked() { return this.#consumer !== null; }
  // HTTP/3 header promises. Raw QUIC has no headers: they reject (handled).
  get headers() { return this.#h3 ? this.#headers.promise : this.#noHeaders('stream.headers'); }
  get trailers() { return this.#h3 ? this.#trailers.promise : this.#noHeaders('stream.trailers'); }
  get hints() { return this.#h3 ? this.#hints.promise : this.#noHeaders('stream.hints'); }
  #noHeadersPromise = null;
  #noHeaders(what) {
    if (this.#noHeadersPromise === null) {
      const d = deferred();
      settle(d, codes.ERR_QUIC_UNSUPPORTED(what, 'headers need HTTP/3'));
      this.#noHeadersPromise = d.promise;
    }
    return this.#noHeadersPromise;
  }

  // ---- reading ----

  #lock(kind) {
    if (this.#consumer !== null) {
      throw codes.ERR_INVALID_STATE(`the stream already has a consumer (${this.#consumer})`);
    }
    if (this.#local && this.#uni) throw codes.ERR_INVALID_STATE('a local unidirectional stream has nothing to read');
    this.#consumer = kind;
  }

  // Returns a Buffer, true at the end, false when nothing is buffered yet.
  #read() {
    if (this.#stash !== null && this.#stash.length) return this.#stash.shift();
    if (this.#readError) throw this.#readError;
    if (this.#released || !this.#session.nativeAlive) return true;
    return binding.streamRead(this.#handle, this.#key);
  }

  // checkHeaders false: the caller knows no header block waits in C.
  #endRead(checkHeaders = true) {
    this.#readEnded = true;
    if (this.#h3) {
      // Trailers precede the end of the stream: they are in C already, even
      // if their event has not been handled yet. Otherwise there are none.
      if (checkHeaders) this.#takeHeaders();
      settle(this.#trailers, null, undefined);
    }
    this.#maybeRelease();
  }

  #takeHeaders() {
    if (!this.#session.nativeAlive || this.#released) return;
    const blocks = binding.streamHeaders(this.#handle, this.#key);
    for (let b = 0; b < blocks.length; b += 2) {
      const kind = blocks[b];
      const fields = http3.toObject(blocks[b + 1]);
      if (kind === http3.KIND.INFO) {
        (this.#hintList ??= []).push(fields);
      } else if (kind === http3.KIND.INITIAL) {
        settle(this.#headers, null, fields);
        settle(this.#hints, null, this.#hintList ?? []);
      } else {
        settle(this.#trailers, null, fields);
      }
    }
  }

  // Header promises still open when the stream ends settle here.
  #settleHeaders(error) {
    if (!this.#h3) return;
    // Built only when the headers are still awaited: an error object (and
    // its stack) for every request that ended cleanly was a sixth of a
    // server's CPU per request.
    if (!this.#headers.settled) settle(this.#headers, error || codes.ERR_QUIC_SESSION_CLOSED());
    settle(this.#hints, null, this.#hintList ?? []);
    settle(this.#trailers, null, undefined);
  }

  readableNodeStream() {
    Stream.#check(this);
    this.#lock('node');
    // Node's Readable calls read() once and waits for a push; when nothing
    // is buffered we push later, from the data event.
    const pull = () => {
      for (;;) {
        let r;
        try {
          r = this.#read();
        } catch (err) {
          readable.destroy(err);
          return;
        }
        if (r === true) {
          readable.push(null);
          this.#endRead();
          return;
        }
        if (r === false) {
          this.#wantData = pull;
          return;
        }
        if (!readable.push(r)) return;
      }
    };
    const readable = new Readable({
      highWaterMark: 256 * 1024,
      read: pull,
      destroy: (err, cb) => {
        if (!this.#readEnded) {
          // The reader gave up: tell the peer to stop sending.
          this.#readEnded = true;
          this.#abort(codeOf(err, this.#h3), false, true, err);
          this.#maybeRelease();
        }
        cb(err);
      },
    });
    this.#failReader = (err) => readable.destroy(err);
    return readable;
  }

  readableWebStream() {
    Stream.#check(this);
    return this.#webReadable(ReadableStream);
  }

  // WebTransport: the receiving side as a WebTransportReceiveStream.
  [kReadable]() {
    this.#wtRecv = this.#webReadable(WebTransportReceiveStream);
    return this.#wtRecv;
  }

  // WebTransport: the bidirectional pair, which also hears both aborts.
  [kPair]() {
    this.#wtPair = new WebTransportBidirectionalStream(kPrivate, this[kReadable](), this[kWritable]());
    return this.#wtPair;
  }

  #webReadable(Ctor) {
    this.#lock('web');
    let failed = null;
    const stream = new Ctor({
      pull: (controller) => new Promise((resolve) => {
        const attempt = () => {
          let r;
          try {
            if (failed) throw failed;
            r = this.#read();
          } catch (err) {
            controller.error(err);
            resolve();
            return;
          }
          if (r === true) {
            controller.close();
            this.#endRead();
            resolve();
          } else if (r === false) {
            this.#wantData = attempt;
          } else {
            controller.enqueue(new Uint8Array(r.buffer, r.byteOffset, r.length));
            resolve();
          }
        };
        attempt();
      }),
      cancel: (reason) => {
        this.#readEnded = true;
        this.#abort(codeOf(reason, this.#h3), false, true, reason);
        this.#maybeRelease();
      },
    }, { highWaterMark: 0 });
    this.#failReader = (err) => {
      failed = err;
      if (this.#wantData) {
        const w = this.#wantData;
        this.#wantData = null;
        w();
      }
    };
    return stream;
  }

  setStreamConsumer(callback) {
    Stream.#check(this);
    validateFunction(callback, 'callback');
    this.#lock('callback');
    if (this.#session.nativeAlive && !this.#released) binding.streamConsumer(this.#handle, this.#key);
    const push = () => {
      const chunks = [];
      let done = false;
      for (;;) {
        let r;
        try {
          r = this.#read();
        } catch {
          done = true;
          break;
        }
        if (r === true) { done = true; break; }
        if (r === false) break;
        // The binding's Buffers own their ArrayBuffer: hand it over, uncopied.
        const whole = r.byteOffset === 0 && r.length === r.buffer.byteLength;
        chunks.push(whole ? r.buffer : r.buffer.slice(r.byteOffset, r.byteOffset + r.length));
      }
      if (chunks.length === 0 && !done) {
        this.#wantData = push;
        return;
      }
      if (done) this.#endRead();
      else this.#wantData = push;
      try {
        const result = callback(chunks, done);
        if (result && typeof result.then === 'function') result.then(undefined, (err) => { this.cancel(err); });
      } catch (err) {
        this.cancel(err);
      }
    };
    this.#wantData = push;
    queueMicrotask(() => { if (this.#wantData === push) { this.#wantData = null; push(); } });
  }

  // ---- writing ----

  // Sends the body, then the end (with trailers). A body already in memory
  // and small enough for one write, with no trailers, goes in one call with
  // its end, synchronously: most responses are such, and the generator and
  // the second call cost a request a tenth of the server's time.
  [kSend](body, trailers) {
    if (this.#writeDone) return undefined;
    if (trailers === undefined) {
      // A short string goes to C as it is (C encodes it): no Buffer per response.
      if (typeof body === 'string' && body.length <= SLICE / 3) return this.#sendWhole(body);
      const bytes = body === undefined || body === null ? EMPTY : bytesOf(body);
      if (bytes !== null && bytes.length <= SLICE) return this.#sendWhole(bytes);
    }
    return this.#sendAll(body, trailers);
  }

  // The whole body (a string or bytes) and the end, in one call.
  #sendWhole(body) {
    if (!this.#session.nativeAlive) return undefined;
    this.#writeDone = true;
    try {
      binding.streamWrite(this.#handle, this.#key, body.length ? body : null, true, null);
    } catch (err) {
      this.#bodyFailed(err);
    }
    return undefined;
  }

  async #sendAll(body, trailers) {
    try {
      for await (const chunk of chunksOf(body)) {
        if (this.#writeDone) return;
        const pending = binding.streamWrite(this.#handle, this.#key, chunk, false);
        if (pending > HWM) await new Promise((resolve) => (this.#drained ??= []).push(resolve));
      }
      // Trailers may be an object, a promise, or a function called now
      // that the body has ended (so it can sum up what was sent).
      const fields = trailers === undefined ? null
        : http3.trailerFields(await (typeof trailers === 'function' ? trailers() : trailers));
      if (!this.#writeDone && this.#session.nativeAlive) {
        this.#writeDone = true;
        binding.streamWrite(this.#handle, this.#key, null, true, fields);
      }
    } catch (err) {
      if (this.#writeDone) return; // the stream ended under us: nothing to report
      this.#writeDone = true;
      this.#bodyFailed(err);
    }
  }

  // The body failed: reset our side so the peer sees an abort, not an end.
  #bodyFailed(err) {
    settle(this.#commitP, err);
    this.#abort(codeOf(err, this.#h3), true, false);
    process.emitWarning(`quic: stream body failed: ${err && err.message}`, 'QuicWarning');
  }

  #wakeWriters() {
    const w = this.#drained;
    if (w === null) return;
    this.#drained = null;
    for (const resolve of w) resolve();
  }

  // ---- control ----

  #abort(code, resetTx, stopRx, reason) {
    if (this.#released || this.#nativeClosed || !this.#session.nativeAlive) return;
    if (this.#wt) code = wtToH3(wtCodeOf(reason));
    try {
      binding.streamAbort(this.#handle, this.#key, code, resetTx, stopRx);
    } catch {
      // The stream is already gone in C: nothing left to abort.
    }
  }

  cancel(reason) {
    Stream.#check(this);
    if (!this.#closed.settled) {
      this.#writeDone = true;
      this.#wakeWriters();
      this.#abort(codeOf(reason, this.#h3), true, true, reason);
      settle(this.#commitP, reason ?? codes.ERR_QUIC_SESSION_CLOSED());
      if (this.#blocked !== null) settle(this.#blocked, null, false);
      settle(this.#closed, reason === undefined ? null : reason);
      this.#settleHeaders(reason);
      this.#maybeRelease();
    }
    return this.#closed.promise;
  }

  #maybeRelease() {
    if (this.#released) return;
    // Free the C side once ngtcp2 is done with it and the reader has had
    // everything: data nobody has read yet stays for a late consumer.
    if ((this.#nativeClosed || this.#closed.settled) && this.#readEnded) {
      this.#released = true;
      if (this.#session.nativeAlive) this.#freezeStats((a, at) => binding.streamRelease(this.#handle, this.#key, a, at));
      else this.#freezeStats(() => {});
      this.#session[kEvent]('released', this.#key);
    }
  }

  [kOpened](id) { this.#id = id; }

  // The peer's STOP_SENDING, with its code: a WebTransport writer fails
  // with it, and the send stream (and its pair) fire sendsideaborted.
  // code null: seen, but its code did not come within STOP_CODE_WAIT_MS
  // (WebTransport only; a later code changes nothing).
  #peerStopped(code) {
    if (this.#stopTimer !== null) {
      clearTimeout(this.#stopTimer);
      this.#stopTimer = null;
    }
    if (code !== null) settle(this.#commitP, this.#resetError(code, 'stopped reading'));
    if (this.#wt && !this.#sendAborted) {
      this.#sendAborted = true;
      const err = code === null
        ? new WebTransportError('the peer stopped reading the stream (its code is not known yet)', { source: 'stream' })
        : this.#resetError(code, 'stopped reading');
      if (!this.#writerError) {
        this.#writerError = err;
        try { this.#writerController?.error(err); } catch { /* already closed or errored */ }
      }
      this.#wtDispatch('sendsideaborted', err.streamErrorCode, this.#wtSend);
    }
    settle(this.#txEnded, null, undefined);
    settle(this.#committed, null, undefined);
  }

  #wtDispatch(type, code, target) {
    const ev = new WebTransportStreamEvent(kPrivate, type, code);
    for (const t of [target, this.#wtPair]) {
      if (t === null) continue;
      try { t.dispatchEvent(ev); } catch (err) { process.nextTick(() => { throw err; }); }
    }
  }

  #resetError(code, what = 'aborted') {
    if (!this.#wt) return codes.ERR_QUIC_STREAM_RESET(code, this.#h3);
    const wt = h3ToWt(code);
    return new WebTransportError(`the peer ${what} the stream (${wt === null ? `HTTP/3 code ${code}` : `code ${wt}`})`,
                                 { source: 'stream', streamErrorCode: wt });
  }

  // WebTransport: the sending side as a WebTransportSendStream of
  // BufferSources. write() resolves once C took the bytes (it waits while
  // more than the high-water mark is queued); close() sends the end and
  // resolves once the peer acknowledged every byte and the end (the seed's
  // allDataCommitted); abort(reason) resets with the reason's
  // streamErrorCode. After the peer's STOP_SENDING, writes fail with a
  // WebTransportError carrying the peer's code.
  [kWritable]() {
    const done = () => this.#writeDone || !this.#session.nativeAlive || this.#released;
    // The peer stopped us but its code is still on its way: wait for it.
    const stopFailure = async (fallback) => {
      await this.#txEnded.promise;
      throw this.#writerError ?? fallback;
    };
    const closedError = () => new WebTransportError('the stream can no longer be written', { source: 'stream' });
    const stream = new WebTransportSendStream({
      start: (controller) => { this.#writerController = controller; },
      write: async (chunk) => {
        if (!isArrayBufferView(chunk) && !isAnyArrayBuffer(chunk)) {
          throw codes.ERR_INVALID_ARG_TYPE('chunk', 'an ArrayBuffer or ArrayBufferView', chunk);
        }
        if (this.#writerError) throw this.#writerError;
        if (this.#stopSeen) return stopFailure(closedError());
        if (done()) throw closedError();
        let pending;
        try {
          pending = binding.streamWrite(this.#handle, this.#key, chunk, false);
        } catch (err) {
          // C saw the peer's STOP_SENDING before its event reached us.
          if (err?.code === 'ERR_INVALID_STATE') return stopFailure(closedError());
          throw err;
        }
        if (pending > HWM) await new Promise((resolve) => (this.#drained ??= []).push(resolve));
        return undefined;
      },
      close: async () => {
        if (this.#writerError) throw this.#writerError;
        if (this.#stopSeen) return stopFailure(closedError());
        if (done()) return undefined;
        this.#writeDone = true;
        try {
          binding.streamWrite(this.#handle, this.#key, null, true);
        } catch (err) {
          if (err?.code === 'ERR_INVALID_STATE') return stopFailure(closedError());
          throw err;
        }
        // allDataCommitted: every byte and the end acknowledged.
        await this.#committed.promise;
        if (this.#writerError) throw this.#writerError;
        return undefined;
      },
      abort: (reason) => {
        if (done()) return;
        this.#writeDone = true;
        this.#wakeWriters();
        this.#abort(0n, true, false, reason);
      },
    }, { highWaterMark: 1 });
    this.#wtSend = stream;
    return stream;
  }

  // Called by the session for this stream's native events.
  [kEvent](type, code, aux) {
    switch (type) {
      case E.STREAM_HEADERS:
        this.#takeHeaders();
        break;
      case E.STREAM_DATA: {
        const w = this.#wantData;
        this.#wantData = null;
        if (w) w();
        break;
      }
      case E.STREAM_RESET: {
        const err = this.#resetError(code);
        // Not for the reset that answers our own STOP_SENDING (the reader
        // was cancelled): only the peer's own abort is an event.
        if (this.#wt && !this.#readEnded) this.#wtDispatch('receivesideaborted', err.streamErrorCode, this.#wtRecv);
        this.#settleHeaders(err);
        this.#readError = err;
        if (this.#failReader) this.#failReader(err);
        else if (this.#wantData) { const w = this.#wantData; this.#wantData = null; w(); }
        break;
      }
      case E.STREAM_STOP:
        // The peer's STOP_SENDING ended our sending side (aux 1: `code` is
        // its code; 0: seen, its code comes with a later stop event).
        this.#writeDone = true;
        this.#stopSeen = true;
        this.#wakeWriters();
        if (aux === 1) {
          this.#peerStopped(code);
        } else if (this.#wt && this.#stopTimer === null && !this.#txEnded.settled) {
          this.#stopTimer = setTimeout(() => { this.#stopTimer = null; this.#peerStopped(null); }, STOP_CODE_WAIT_MS);
          this.#stopTimer.unref();
        }
        break;
      case E.STREAM_COMMITTED:
        settle(this.#committed, null, undefined);
        settle(this.#commitP, null, undefined);
        break;
      case E.STREAM_BLOCKED: {
        // The next look at `blocked` gets a fresh promise.
        const b = this.#blocked;
        this.#blocked = null;
        if (b !== null) settle(b, null, true);
        break;
      }
      case E.STREAM_DRAIN:
        this.#wakeWriters();
        break;
      case E.STREAM_CLOSE: {
        this.#nativeClosed = true;
        this.#writeDone = true;
        this.#wakeWriters();
        if (this.#blocked !== null) settle(this.#blocked, null, false);
        const clean = code === 0n || (this.#h3 && code === http3.H3_NO_ERROR);
        const err = clean ? null : this.#resetError(code);
        if (this.#wt && err && this.#writerController && !this.#writerError && !this.#committed.settled) {
          // The stream ended with a code before all we wrote was
          // acknowledged: the session went (C reset the stream). (The
          // peer's STOP_SENDING came as its own event, before this one.)
          this.#writerError = err;
          try { this.#writerController.error(err); } catch { /* already closed or errored */ }
        }
        if (this.#stopTimer !== null) { clearTimeout(this.#stopTimer); this.#stopTimer = null; }
        settle(this.#txEnded, null, undefined);
        settle(this.#committed, null, undefined);
        // ngtcp2 closes a stream only once our side is done: all of it
        // acknowledged (aux bit 1), or reset.
        settle(this.#commitP, (aux & C.STREAM_CLOSE_COMMITTED) !== 0 ? null : err || codes.ERR_QUIC_SESSION_CLOSED());
        // Data still buffered in C remains readable; the end comes through read().
        settle(this.#closed, err);
        // Blocks left untaken (trailers with the end, say) are taken now;
        // C says whether there are any, saving a call per stream.
        const headersWait = (aux & C.STREAM_CLOSE_HEADERS) !== 0;
        if (this.#h3 && headersWait) this.#takeHeaders();
        this.#settleHeaders(err);
        // Nothing unread and no reader: the read side is done as it is.
        if ((aux & C.STREAM_CLOSE_DRAINED) !== 0 && this.#consumer === null) this.#endRead(false);
        if (this.#wantData) { const w = this.#wantData; this.#wantData = null; w(); }
        this.#maybeRelease();
        break;
      }
      default:
        break;
    }
  }

  // console.log(stream): its id, direction, who opened it and where it is.
  [inspect.custom](depth, options) {
    const state = this.#closed.settled ? 'closed' : this.#id < 0 ? 'queued' : 'open';
    return inspect.formatObject('Stream', depth, options, inspect.defined({
      id: this.id,
      direction: this.#uni ? 'unidirectional' : 'bidirectional',
      opened: this.#local ? 'locally' : 'by the peer',
      serverInitiated: this.serverInitiated,
      state,
      sending: this.#uni && !this.#local ? undefined : this.#writeDone ? 'done' : 'open',
      receiving: this.#uni && this.#local ? undefined : this.#readEnded ? 'done' : 'open',
      consumer: this.#consumer ?? undefined,
      http3: this.#h3,
      side: this.#session.side,
    }));
  }

  // The session ended: copy what C still holds, then settle everything.
  // `how`: why a clean close (error null) ended the session, for the
  // error an unfinished stream gets.
  [kSessionClosed](error, how) {
    if (!this.#released) {
      this.#freezeStats((a, at) => {
        if (a && this.#session.nativeAlive) binding.streamStats(this.#handle, this.#key, a.subarray(at, at + STATS_SLOTS));
      });
    }
    if (!this.#released && !this.#readEnded && this.#session.nativeAlive) {
      for (;;) {
        let r;
        try { r = binding.streamRead(this.#handle, this.#key); } catch { break; }
        if (r === true) { (this.#stash ??= []).push(true); break; }
        if (r === false) break;
        (this.#stash ??= []).push(r);
      }
      const sawEnd = this.#stash !== null && this.#stash.length > 0 && this.#stash[this.#stash.length - 1] === true;
      if (!sawEnd && !this.#readError) this.#readError = error || codes.ERR_QUIC_SESSION_CLOSED(how);
    }
    this.#released = true;
    this.#writeDone = true;
    this.#wakeWriters();
    if (this.#wt && !this.#committed.settled && !this.#writerError) {
      // A writer still open, or closed but not yet acknowledged, fails.
      this.#writerError = new WebTransportError('the session ended before the stream was done', { source: 'session' });
      try { this.#writerController?.error(this.#writerError); } catch { /* already closed or errored */ }
    }
    if (this.#stopTimer !== null) { clearTimeout(this.#stopTimer); this.#stopTimer = null; }
    settle(this.#txEnded, null, undefined);
    settle(this.#committed, null, undefined);
    settle(this.#commitP, error || codes.ERR_QUIC_SESSION_CLOSED(how));
    if (this.#blocked !== null) settle(this.#blocked, null, false);
    const incomplete = !this.#nativeClosed && !this.#closed.settled;
    settle(this.#closed, incomplete ? (error || null) : null);
    this.#settleHeaders(error);
    const w = this.#wantData;
    this.#wantData = null;
    if (this.#failReader && this.#readError && (this.#stash === null || this.#stash.length === 0)) this.#failReader(this.#readError);
    else if (w) w();
  }
}

module.exports = {
  Stream, kEvent, kSessionClosed, kSend, kOpened, kWritable, kReadable, kPair, codeOf, wtToH3, h3ToWt, WebTransportError,
  WebTransportStreamEvent, WebTransportSendStream, WebTransportReceiveStream, WebTransportBidirectionalStream,
};

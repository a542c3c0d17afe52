'use strict';
// Session: one QUIC connection, client or server.
const net = require('node:net');
const binding = require('./binding');
const { codes, verificationMessage } = require('./errors');
const { alertHint } = require('./names');
const inspect = require('./inspect');
const { StreamEvent, DatagramEvent, defineEventHandler, deferred, settle, kPrivate } = require('./events');
const { isArrayBufferView, isAnyArrayBuffer } = require('node:util/types');
const { X509Certificate } = require('node:crypto');
const { Readable } = require('node:stream');
const { Stream, kEvent, kSessionClosed, kSend, kOpened, codeOf } = require('./stream');
const { StreamOptions, ResponseOptions, optSignal } = require('./config');
const { validateObject, toBuffer } = require('./validate');
const { validateBody } = require('./body');
const { SessionStats } = require('./stats');
const http3 = require('./http3');
const { ClientHello, OCSPRequest, OCSPResponse, contextNative } = require('./tls-hooks');
const { events: { E } } = require('./contract');
const webtransport = require('./webtransport');

const C = binding.constants;
const kHandshake = Symbol('kHandshake');
const kNativeClose = Symbol('kNativeClose');
const kStreamEvent = Symbol('kStreamEvent');
const kDestroy = Symbol('kDestroy');
const kDatagrams = Symbol('kDatagrams');
const kClientHello = Symbol('kClientHello');
const kOcsp = Symbol('kOcsp');
const kWtSettings = Symbol('kWtSettings');

// `context()` gives what the session knows to explain a transport error or
// a handshake timeout (see Session#errorContext); called only for those.
function closeError(kind, code, reason, h3, context) {
  switch (kind) {
    case C.CLOSE_IDLE: return null;
    case C.CLOSE_TRANSPORT: return code === 0n ? null : codes.ERR_QUIC_TRANSPORT_ERROR(code, reason, context?.(code));
    case C.CLOSE_APPLICATION:
      // NO_ERROR, and H3_NO_ERROR on HTTP/3, are clean closes.
      return code === 0n || (h3 && code === http3.H3_NO_ERROR) ? null : codes.ERR_QUIC_APPLICATION_ERROR(code, reason, h3);
    case C.CLOSE_STATELESS_RESET: return codes.ERR_QUIC_STATELESS_RESET();
    case C.CLOSE_VERSION_NEGOTIATION: return codes.ERR_QUIC_VERSION_NEGOTIATION();
    case C.CLOSE_HANDSHAKE_TIMEOUT: return codes.ERR_QUIC_HANDSHAKE_TIMEOUT(context?.('timeout'));
    default: return codes.ERR_QUIC_TRANSPORT_ERROR(code, reason, context?.(code));
  }
}

const quote = (list) => list.map((p) => `'${p}'`).join(', ');

// Aborting `signal` cancels `target` (a Stream or Session) with an
// AbortError whose cause is the signal's reason; an already aborted signal
// cancels it at once. The listener goes when the target closes.
function cancelOnAbort(signal, target) {
  const abort = () => { target.cancel(codes.ABORT_ERR(signal.reason)); };
  if (signal.aborted) {
    abort();
    return;
  }
  signal.addEventListener('abort', abort, { once: true });
  const done = () => signal.removeEventListener('abort', abort);
  target.closed.then(done, done);
}

// The TLS details repeat from session to session (the same ALPN, cipher,
// group): one shared copy of each string instead of one per session. The
// table is bounded, since a server's servername comes from its peers.
const interned = new Map();
const kInterned = ['alpn', 'servername', 'cipher', 'version', 'remoteFamily', 'ephemeralName', 'ephemeralType', 'closeReason'];
function sessionInfo(handle) {
  const info = binding.sessionInfo(handle);
  for (const k of kInterned) {
    const v = info[k];
    if (typeof v !== 'string') continue;
    const shared = interned.get(v);
    if (shared !== undefined) info[k] = shared;
    else if (interned.size < 256) interned.set(v, v);
  }
  return info;
}

class Session extends EventTarget {
  #endpoint;
  #handle;
  #key;
  #side;
  #streams = null; // key -> Stream; made with the first stream
  #handshake = deferred();
  #closed = deferred();
  #closing = false;
  #open = false;       // handshake done, not closed
  #info = null;        // TLS and peer details after the handshake
  #remote;
  #stats;

  // Methods called on something else (Reflect.apply, .call) fail with a code.
  static #check(self) {
    if (self === null || typeof self !== 'object' || !(#key in self)) throw codes.ERR_INVALID_THIS('Session');
  }

  #onGone;
  #authority;  // client: what an HTTP/3 request names by default
  #offersH3;   // client: 'h3' is among the offered ALPNs
  #onlyH3;     // client: 'h3' is the only offered ALPN (known before the handshake)
  #ticket;     // client: the last session ticket seen, kept after close

  #keylog;     // stream.Readable of NSS key log lines, when secure.keylog
  #qlog;       // stream.Readable of qlog JSON-SEQ text, when qlog: true
  #qlogTimer;  // polls the C buffer while a reader waits (not per packet)
  #hooks;      // TLS hooks the config turned on (see Endpoint)
  #clienthello; // deferred ClientHello, server with secure.clientHello
  #ocsp;        // deferred OCSPRequest (server) or OCSPResponse (client), secure.ocsp
  #helloProtocols; // server: the client's ALPN list, when the ClientHello hook showed it
  #wt = null;   // WebTransport sessions: session ID -> WebTransportSession (made with the first)
  #wtByKey = null; // ... and by their CONNECT stream's key
  #wtSettings = null; // deferred: whether the peer's SETTINGS enable WebTransport (made when first asked or told)

  constructor(token, endpoint, handle, key, side, remote, onGone, authority, hooks) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    super();
    this.#offersH3 = hooks?.offersH3 === true;
    this.#onlyH3 = hooks?.onlyH3 === true;
    this.#onGone = onGone;
    this.#authority = authority;
    this.#endpoint = endpoint;
    this.#handle = handle;
    this.#key = key;
    this.#side = side;
    this.#remote = remote;
    this.#stats = new SessionStats(kPrivate, () => (this.#handle ? binding.sessionStats(this.#handle) : null));
    if (hooks?.keylog) this.#keylog = new Readable({ read() {} });
    if (hooks?.qlog) this.#qlog = new Readable({ read: () => this.#pullQlog() });
    this.#hooks = hooks;
    if (hooks?.clientHello && side === 'server') this.#clienthello = deferred();
    if (hooks?.ocsp) this.#ocsp = deferred();
  }

  get clienthello() { return this.#clienthello?.promise; }
  get ocsp() { return this.#ocsp?.promise; }

  // Server: the client asked for a stapled OCSP response; the handshake
  // waits for respondWith().
  [kOcsp]() {
    if (!this.#ocsp || !this.#handle) return;
    const info = binding.sessionOcsp(this.#handle);
    if (info === undefined) return;
    settle(this.#ocsp, null, new OCSPRequest(kPrivate, info, (bytes) => {
      if (!this.#handle || !binding.sessionOcspRespond(this.#handle, bytes)) {
        throw codes.ERR_INVALID_STATE('the session is no longer waiting for an OCSP response');
      }
    }));
  }

  // The server holds the client's first flight until done() is called.
  [kClientHello]() {
    if (!this.#clienthello || !this.#handle) return;
    const info = binding.sessionClientHello(this.#handle);
    if (info === undefined) return;
    this.#helloProtocols = info.alpn.slice();
    let called = false;
    const done = (context) => {
      if (called) throw codes.ERR_INVALID_STATE('clientHello.done() was already called');
      if (!this.#handle) throw codes.ERR_INVALID_STATE('the session is closed');
      const n = context === undefined ? null
        : contextNative(context, this.#hooks.alpn, this.#hooks.endpointSession, this.#hooks.ocsp);
      const ok = n ? binding.sessionClientHelloDone(this.#handle, n.options, n.tls)
        : binding.sessionClientHelloDone(this.#handle);
      if (!ok) throw codes.ERR_INVALID_STATE('the session is no longer waiting on its client hello');
      called = true;
    };
    settle(this.#clienthello, null, new ClientHello(kPrivate, info, done));
  }

  get keylog() { return this.#keylog; }

  // Key log lines are collected in C during the handshake and taken here
  // when it completes or the session closes: never per packet.
  #drainKeylog() {
    if (!this.#keylog || !this.#handle) return;
    let text;
    try { text = binding.sessionKeylog(this.#handle); } catch { return; } // native side already gone
    if (text === undefined) return;
    for (const line of text.split('\n')) if (line) this.#keylog.push(Buffer.from(`${line}\n`, 'latin1'));
  }

  get qlog() { return this.#qlog; }

  // qlog records are collected in C (bounded, QUIC_QLOG_MAX) and taken when
  // the reader asks; with nothing new, look again shortly while it waits.
  #pullQlog() {
    if (!this.#drainQlog() && this.#handle && !this.#qlogTimer) {
      this.#qlogTimer = setTimeout(() => {
        this.#qlogTimer = null;
        this.#pullQlog();
      }, 50);
      this.#qlogTimer.unref?.();
    }
  }

  #drainQlog() {
    if (!this.#qlog || !this.#handle) return false;
    let out;
    try { out = binding.sessionQlog(this.#handle); } catch { return false; } // native side already gone
    if (out[0] === undefined) return false;
    this.#qlog.push(Buffer.from(out[0], 'utf8'));
    return true;
  }

  get side() { return this.#side; }
  get endpoint() { return this.#endpoint; }
  get handshake() { return this.#handshake.promise; }
  get closed() { return this.#closed.promise; }
  get closing() { return this.#closing; }
  get alpn() { return this.#info?.alpn || undefined; }
  get servername() { return this.#info?.servername || undefined; }
  // Object-valued getters give the same (frozen) object while the value is
  // unchanged, so `session.cipher === session.cipher`.
  #cipher;
  get cipher() {
    if (!this.#info || !this.#info.cipher) return undefined;
    const c = this.#cipher;
    if (c?.name !== this.#info.cipher || c.version !== this.#info.version) {
      this.#cipher = Object.freeze({ name: this.#info.cipher, standardName: this.#info.cipher, version: this.#info.version });
    }
    return this.#cipher;
  }
  // { code, reason }, reason in Node's wording; the same object while the
  // outcome stays the same.
  #validationError;
  get validationError() {
    if (!this.#info || !this.#info.validationCode) return undefined;
    const code = this.#info.validationCode;
    if (this.#validationError?.code !== code) {
      this.#validationError = Object.freeze({ code, reason: this.#verification(this.#info).message });
    }
    return this.#validationError;
  }
  get remoteAddress() {
    // The path changes when either side migrates: ask again while open.
    if (this.#info && this.#handle) this.#info = sessionInfo(this.#handle);
    const r = this.#info ? { address: this.#info.remoteAddress, port: this.#info.remotePort,
                              family: this.#info.remoteFamily } : this.#remote;
    if (!r) return undefined;
    const a = this.#remoteAddress;
    if (a === undefined || a.address !== r.address || a.port !== r.port || a.family !== r.family) {
      this.#remoteAddress = new net.SocketAddress(r);
    }
    return this.#remoteAddress;
  }
  #remoteAddress; // the SocketAddress last returned, kept while the path is the same
  // Certificates as Node's X509Certificate (OpenSSL-backed), built from the
  // DER the core keeps, asked for on first use (most sessions never do);
  // the DER is read at close if nobody asked before.
  #certs = null; // { certificate, peerCertificate }: X509Certificate, DER Buffer, or null (none)
  #certDer(which) {
    this.#certs ??= {};
    if (this.#certs[which] === undefined && this.#handle) {
      this.#certs[which] = binding.sessionCertificate(this.#handle, which === 'peerCertificate') || null;
    }
  }
  #cert(which) {
    if (!this.#info) return undefined;
    this.#certDer(which);
    const c = this.#certs[which];
    if (c == null) return undefined;
    if (!(c instanceof X509Certificate)) this.#certs[which] = new X509Certificate(c);
    return this.#certs[which];
  }
  get certificate() { return this.#cert('certificate'); }
  get peerCertificate() { return this.#cert('peerCertificate'); }
  #ephemeralKeyInfo;
  get ephemeralKeyInfo() {
    if (!this.#info?.ephemeralName) return undefined;
    const k = this.#ephemeralKeyInfo;
    if (k?.name !== this.#info.ephemeralName || k.type !== this.#info.ephemeralType || k.size !== this.#info.ephemeralSize) {
      this.#ephemeralKeyInfo = Object.freeze({ type: this.#info.ephemeralType, name: this.#info.ephemeralName,
                                               size: this.#info.ephemeralSize });
    }
    return this.#ephemeralKeyInfo;
  }

  // Starts a key update (RFC 9001 6): both sides move to new keys.
  updateKey() {
    Session.#check(this);
    if (!this.#open || this.#closing) throw codes.ERR_INVALID_STATE('the session is not open');
    if (!binding.sessionUpdateKey(this.#handle)) {
      throw codes.ERR_INVALID_STATE('a key update is in progress, or the handshake is not confirmed yet');
    }
  }

  // True when 0-RTT data was accepted (server: received; client: the
  // server took what we sent early).
  get earlyData() { return this.#info ? this.#info.earlyData === true : false; }

  // The newest TLS ticket and the server's 0-RTT transport parameters, for
  // endpoint.connect(address, options, resume). Client only; undefined until
  // the server has sent a ticket (shortly after the handshake).
  get sessionTicket() {
    if (this.#side !== 'client') return undefined;
    if (this.#handle) this.#readTicket();
    return this.#ticket;
  }

  #readTicket() {
    const t = binding.sessionTicket(this.#handle);
    // A ticket read before the server's SETTINGS came is read again once
    // they did (its applicationParams remember them).
    if (t !== undefined && (this.#ticket === undefined || !Buffer.from(t[0]).equals(Buffer.from(this.#ticket.sessionTicket)) ||
                            t[2].byteLength !== this.#ticket.applicationParams.byteLength)) {
      this.#ticket = { sessionTicket: t[0], transportParams: t[1], applicationParams: t[2] };
    }
  }

  get stats() { return this.#stats; }
  get nativeAlive() { return this.#handle !== null; }
  get isHttp3() { return this.#info?.alpn === 'h3'; }

  open(options = {}) {
    Session.#check(this);
    const opts = StreamOptions.isStreamOptions(options) ? options : new StreamOptions(options);
    validateBody(opts.body);
    if (this.#closed.settled || this.#closing) throw codes.ERR_INVALID_STATE('the session is closing or closed');
    let early = false;
    if (!this.#open) {
      // A session resumed from a ticket may send streams as 0-RTT.
      if (this.#side !== 'client' || !this.#handle || !binding.sessionOpensEarly(this.#handle)) {
        throw codes.ERR_INVALID_STATE('the handshake has not completed');
      }
      // Early requests need the ALPN known before the handshake.
      if (this.#offersH3 && !this.#onlyH3) {
        throw codes.ERR_INVALID_STATE("0-RTT requests need alpn 'h3' alone; with several ALPNs, wait for the handshake");
      }
      early = this.#onlyH3;
    }
    const h3 = this.isHttp3 || early;
    let headers = null;
    let pendingHeaders = null;
    if (h3) {
      if (opts.unidirectional) {
        throw codes.ERR_QUIC_UNSUPPORTED('unidirectional streams on an HTTP/3 session', 'HTTP/3 requests are bidirectional');
      }
      if (this.#side === 'server') throw codes.ERR_INVALID_STATE('an HTTP/3 server answers requests; it cannot open them');
      if (binding.sessionGoaway(this.#handle)) throw codes.ERR_INVALID_STATE('the server sent GOAWAY: no new requests');
      // A function gives the headers (or a promise of them) now.
      const given = typeof opts.headers === 'function' ? opts.headers() : opts.headers;
      if (http3.isPromise(given)) pendingHeaders = given;
      else headers = http3.requestFields(given, this.#authority);
      if (opts.trailers !== undefined && !http3.isPromise(opts.trailers) && typeof opts.trailers !== 'function') {
        http3.trailerFields(opts.trailers);
      }
    } else if (opts.headers !== undefined || opts.trailers !== undefined) {
      throw codes.ERR_QUIC_UNSUPPORTED('headers and trailers', `the negotiated ALPN '${this.alpn}' has no headers (use 'h3')`);
    }
    const [key, id] = binding.sessionOpen(this.#handle, opts.unidirectional, headers);
    const stream = new Stream(kPrivate, this, this.#handle, key, id, true, opts.unidirectional, h3);
    (this.#streams ??= new Map()).set(key, stream);
    if (pendingHeaders) {
      Promise.resolve(pendingHeaders).then((h) => {
        if (this.#handle) binding.streamSubmitHeaders(this.#handle, key, http3.KIND.INITIAL, http3.requestFields(h, this.#authority));
        stream[kSend](opts.body, opts.trailers);
      }).catch((err) => { stream.cancel(err); });
    } else {
      stream[kSend](opts.body, opts.trailers);
    }
    if (opts.signal) cancelOnAbort(opts.signal, stream);
    return stream;
  }

  // Sends an unreliable datagram. false (never a throw) when it cannot go:
  // too large, the peer takes none, the queue is full, or the session is
  // closing. Before the handshake it is queued (bounded).
  datagram(data, encoding) {
    Session.#check(this);
    let buf;
    if (typeof data === 'string') {
      if (encoding !== undefined && typeof encoding !== 'string') {
        throw codes.ERR_INVALID_ARG_TYPE('encoding', 'of type string', encoding);
      }
      if (encoding !== undefined && !Buffer.isEncoding(encoding)) {
        throw codes.ERR_INVALID_ARG_VALUE('encoding', encoding, 'is not a supported encoding');
      }
      buf = Buffer.from(data, encoding);
    } else if (isArrayBufferView(data) || isAnyArrayBuffer(data)) {
      buf = data;
      // A detached buffer is a bad value, not an empty datagram.
      if (buf.byteLength === 0) toBuffer(data, 'data');
    } else {
      throw codes.ERR_INVALID_ARG_TYPE('data', 'a string, ArrayBuffer, TypedArray, DataView or Buffer', data);
    }
    if (this.#closed.settled || this.#closing || !this.#handle) return false;
    // An empty datagram carries nothing: it is not sent (false), as the seed
    // says of any datagram that cannot go.
    if (buf.byteLength === 0) return false;
    return binding.sessionDatagram(this.#handle, buf);
  }

  // The largest datagram payload datagram() can send now (0: none).
  get maxDatagramSize() {
    if (!this.#handle || this.#closed.settled) return 0;
    return binding.sessionMaxDatagram(this.#handle);
  }

  [kDatagrams]() {
    if (!this.#handle) return;
    const list = binding.sessionDatagrams(this.#handle);
    for (let i = 0; i < list.length; i += 2) {
      // WebTransport's datagrams wait in their sessions' queues in C.
      if (typeof list[i + 1] !== 'number') this.dispatchEvent(new DatagramEvent(kPrivate, list[i], list[i + 1], this));
    }
    // Tell the WebTransport sessions: a reader waiting takes its own.
    if (this.#wt) for (const ws of this.#wt.values()) ws[webtransport.kWtDatagram]();
  }

  // close({ signal }): aborting turns the graceful close into cancel() with
  // an AbortError.
  close(options) {
    Session.#check(this);
    const signal = options === undefined ? undefined : (validateObject(options, 'options'), optSignal(options));
    if (!this.#closing && !this.#closed.settled) {
      this.#closing = true;
      binding.sessionClose(this.#handle);
    }
    if (signal && !this.#closed.settled) cancelOnAbort(signal, this);
    return this.#closed.promise;
  }

  cancel(reason) {
    Session.#check(this);
    if (this.#closed.settled) return this.#closed.promise;
    this.#closing = true;
    if (this.#handle) {
      let message = '';
      try {
        message = reason instanceof Error ? String(reason.message) : reason === undefined ? '' : String(reason);
      } catch { /* a reason with no string form is sent without one */ }
      let code = codeOf(reason);
      if (this.isHttp3 && code === 0n) code = http3.H3_NO_ERROR;
      binding.sessionCancel(this.#handle, true, code, message.slice(0, 100));
    }
    this.#finish(reason === undefined ? null : reason);
    return this.#closed.promise;
  }

  // Endpoint destroy: settle everything without waiting for the network.
  [kDestroy](error) {
    this.#finish(error || null);
  }

  // `how` names a clean close's cause for the streams it cuts short.
  #finish(error, handshakeError, how) {
    if (this.#closed.settled) return;
    this.#open = false;
    if (this.#wt) for (const ws of [...this.#wt.values()]) ws[webtransport.kWtGone](error);
    if (this.#wtSettings && !this.#wtSettings.settled) {
      settle(this.#wtSettings, error || codes.ERR_INVALID_STATE('the session closed before the server\'s SETTINGS'));
    }
    if (this.#streams) {
      for (const stream of this.#streams.values()) stream[kSessionClosed](error, how);
      this.#streams.clear();
    }
    this.#drainKeylog();
    this.#keylog?.push(null);
    this.#drainQlog();
    clearTimeout(this.#qlogTimer);
    this.#qlogTimer = null;
    this.#qlog?.push(null);
    if (this.#clienthello) {
      settle(this.#clienthello, error || codes.ERR_INVALID_STATE('the session closed before its client hello'));
    }
    if (this.#ocsp) settle(this.#ocsp, error || codes.ERR_INVALID_STATE('the session closed before any OCSP exchange'));
    if (this.#info) {
      try {
        this.#certDer('certificate');
        this.#certDer('peerCertificate');
      } catch {} // native side already gone
    }
    this.#stats[kPrivate]();
    this.#handle = null;
    // An error object records a stack: make one only for a handshake still waiting.
    if (!this.#handshake.settled) {
      settle(this.#handshake, handshakeError || error || codes.ERR_INVALID_STATE('the session closed before the handshake completed'));
    }
    settle(this.#closed, error);
    this.#onGone(this, this.#key);
  }

  [kHandshake]() {
    this.#info = sessionInfo(this.#handle);
    this.#remote = undefined; // #info has the address from now on
    this.#drainKeylog();
    if (this.#ocsp && this.#side === 'client') {
      settle(this.#ocsp, null, new OCSPResponse(kPrivate, binding.sessionOcsp(this.#handle)));
    }
    this.#open = true;
    settle(this.#handshake, null, undefined);
  }

  [kNativeClose](kind, code) {
    // Read what the TLS layer knew before the session goes away.
    let info = null;
    try { info = sessionInfo(this.#handle); } catch {}
    if (this.#side === 'client') try { this.#readTicket(); } catch {}
    if (info && !this.#info) this.#info = info;
    const err = closeError(kind, code, info?.closeReason, (this.#info || info)?.alpn === 'h3',
                           (what) => this.#errorContext(what, info));
    let hsErr = null;
    if (!this.#handshake.settled && info?.validationCode) {
      const v = this.#verification(info);
      hsErr = codes.tlsVerification(info.validationCode, v.reason, v.message, v.host ? { host: v.host, cert: v.cert } : {});
    }
    this.#finish(err, hsErr, kind === C.CLOSE_IDLE ? 'idle timeout' : undefined);
  }

  // The peer as host:port, for messages.
  #peerName() {
    const r = this.#remote ?? (this.#info ? { address: this.#info.remoteAddress, port: this.#info.remotePort } : null);
    if (!r) return 'the peer';
    return net.isIPv6(r.address) ? `[${r.address}]:${r.port}` : `${r.address}:${r.port}`;
  }

  // What a transport error (by code) or a handshake timeout ('timeout') can
  // be explained with, from what this side knows. A client that failed ALPN
  // knows what it offered, never what the server speaks (TLS sends no list
  // back); a server knows its own list, and the client's when it saw the
  // ClientHello (always for a failed negotiation; see #offeredAlpn).
  #errorContext(what, info) {
    if (what === 'timeout') {
      let bytesReceived = 0;
      try { bytesReceived = Number(this.#stats.bytesReceived); } catch { /* stats gone with the native side */ }
      return { timeout: this.#hooks?.handshakeTimeout, bytesReceived, peer: this.#peerName(), side: this.#side };
    }
    const code = what;
    if (code < 0x100n || code > 0x1ffn) return {};
    const alert = Number(code - 0x100n);
    const mine = this.#hooks?.alpn;
    if (alert === 120) {
      if (this.#side === 'client') {
        return {
          detail: `no ALPN protocol in common: this client offered ${mine ? quote(mine) : 'its list'}, and the server ` +
                  'accepts none of them (a TLS server does not say which protocols it speaks)',
          offeredAlpn: mine,
        };
      }
      const offered = this.#offeredAlpn(info);
      return {
        detail: `no ALPN protocol in common: the client offered ${offered ? quote(offered) : 'protocols not known here'}` +
                `${mine ? `; this server speaks ${quote(mine)}` : ''}`,
        offeredAlpn: offered,
        supportedAlpn: mine,
      };
    }
    // This side's own verification failure explains the alert it sent.
    const v = info?.validationCode ? this.#verification(info) : null;
    if (v) return { detail: `this ${this.#side} refused the peer's certificate: ${info.validationCode}: ${v.message}` };
    // Otherwise a certificate alert came from the peer, about ours.
    if ([42, 43, 44, 45, 46, 48].includes(alert)) return { detail: `the peer refused this ${this.#side}'s certificate` };
    const hint = alertHint(alert);
    return hint ? { detail: hint } : {};
  }

  // The client's ALPN list as the server saw it: from the ClientHello hook,
  // or from the core, which keeps the list of a ClientHello it could not serve.
  #offeredAlpn(info) {
    if (Array.isArray(info?.offeredAlpn)) return info.offeredAlpn;
    return this.#helloProtocols;
  }

  // Node's wording for a certificate check that failed (lib/errors.js).
  #verification(info) {
    let cert;
    try { cert = this.#side === 'client' ? this.#cert('peerCertificate') : undefined; } catch { /* no DER */ }
    const host = this.#side === 'client' ? this.#hooks?.hostname ?? this.#remote?.address ?? info?.remoteAddress : undefined;
    return verificationMessage(info.validationCode, info.validationReason, host, cert);
  }

  // The view of this session a WebTransport session works through. `id`
  // follows the CONNECT stream's (a client's CONNECT sent again after a
  // refused 0-RTT gets a new one).
  #wtNative(key, id, connect) {
    const currentId = () => (connect?.id !== undefined ? Number(connect.id) : id);
    return {
      key,
      get id() { return currentId(); },
      handle: () => this.#handle,
      abort: (code) => {
        if (this.#handle) try { binding.streamAbort(this.#handle, key, code, true, true); } catch { /* gone */ }
      },
      stream: (k, sid, local, uni) => {
        const s = new Stream(kPrivate, this, this.#handle, k, sid, local, uni, false, true);
        (this.#streams ??= new Map()).set(k, s);
        return s;
      },
      submit: (fields) => {
        if (this.#handle) binding.streamSubmitHeaders(this.#handle, key, http3.KIND.INITIAL, fields);
      },
      end: () => {
        if (this.#handle) binding.streamWrite(this.#handle, key, null, true);
      },
      register: (ws) => {
        (this.#wt ??= new Map()).set(currentId(), ws);
        (this.#wtByKey ??= new Map()).set(key, ws);
      },
      gone: () => {
        this.#wt?.delete(currentId());
        this.#wtByKey?.delete(key);
      },
    };
  }

  // WebTransport: the peer's SETTINGS were read; versions: the bits
  // (constants WT_DRAFT02, WT_DRAFT16) of the versions they enable.
  [kWtSettings](versions) {
    settle(this.#wtSettings ??= deferred(), null, versions);
  }

  // Client resumed from a ticket: the versions the server's remembered
  // SETTINGS enable (0: none remembered, or they have arrived since).
  [webtransport.kWtRemembered]() {
    if (!this.#handle || this.#open) return 0;
    return binding.wtPeerVersions(this.#handle);
  }

  // A promise of the versions the peer's SETTINGS enable (WT_DRAFT* bits;
  // settles when they arrive; rejects if the session ends first).
  [webtransport.kWtPeerSettings]() {
    this.#wtSettings ??= deferred();
    if (this.#closed.settled && !this.#wtSettings.settled) {
      settle(this.#wtSettings, codes.ERR_INVALID_STATE('the session closed before the server\'s SETTINGS'));
    }
    return this.#wtSettings.promise;
  }

  // Client: sends an extended CONNECT for a WebTransport session of
  // `version` (WT_DRAFT02 or WT_DRAFT16; its stream stays open: capsules go
  // on it) and registers it with the core. Returns { stream, native } for
  // WebTransportSession. early: before the handshake, in 0-RTT, on a session
  // resumed with alpn 'h3' alone; null when that cannot be (no stream
  // credit remembered), and the caller waits for the handshake instead.
  [webtransport.kWtConnect](headers, version, early) {
    if (early) {
      if (this.#open || this.#closing || !this.#handle || !this.#onlyH3 || !binding.sessionOpensEarly(this.#handle)) return null;
    } else if (!this.#open || this.#closing || !this.isHttp3) {
      throw codes.ERR_INVALID_STATE('the session is not an open HTTP/3 session');
    }
    const fields = http3.requestFields(headers, this.#authority);
    const [key, id] = binding.sessionOpen(this.#handle, false, fields);
    const stream = new Stream(kPrivate, this, this.#handle, key, id, true, false, true);
    (this.#streams ??= new Map()).set(key, stream);
    if (early && id < 0) {
      stream.cancel();
      return null;
    }
    binding.wtSession(this.#handle, key, webtransport.WT_OP_CONNECT, version);
    return { stream, native: this.#wtNative(key, id, stream) };
  }

  [kStreamEvent](type, key, id, aux, code) {
    if (type === E.STREAM_WT_CLOSE || type === E.STREAM_WT_DRAIN) {
      this.#wtByKey?.get(key)?.[webtransport.kWtEvent](type, code, aux);
      return;
    }
    if (type === E.STREAM_NEW && (aux & C.STREAM_WT) !== 0) {
      // A WebTransport stream the peer opened; `code` is its session ID.
      const uni = (aux & C.STREAM_UNI) !== 0;
      const stream = new Stream(kPrivate, this, this.#handle, key, id, false, uni, false, true);
      (this.#streams ??= new Map()).set(key, stream);
      const ws = this.#wt?.get(Number(code));
      if (ws) ws[webtransport.kIncoming](stream);
      else stream.cancel();
      return;
    }
    if (type === E.STREAM_NEW && (aux & C.STREAM_WT_SESSION) !== 0 && this.#side === 'server') {
      // An extended CONNECT the core took as a WebTransport session.
      const stream = new Stream(kPrivate, this, this.#handle, key, id, false, false, true);
      (this.#streams ??= new Map()).set(key, stream);
      const config = this.#hooks?.webtransport || { origins: null, protocols: [] };
      webtransport.serveRequest(this, stream, this.#wtNative(key, id), config, (event) => {
        const listened = this.#wtListeners > 0;
        this.dispatchEvent(event);
        return listened;
      }).catch((err) => { stream.cancel(err); });
      return;
    }
    if (type === E.STREAM_NEW) {
      const uni = (aux & C.STREAM_UNI) !== 0;
      const h3 = (aux & C.STREAM_NEW_H3) !== 0;
      const stream = new Stream(kPrivate, this, this.#handle, key, id, false, uni, h3);
      (this.#streams ??= new Map()).set(key, stream);
      let respondWith;
      if (!uni) {
        let responded = false;
        respondWith = (options = {}) => {
          if (responded) throw codes.ERR_INVALID_STATE('respondWith() was already called');
          if (http3.isPromise(options)) {
            responded = true;
            return Promise.resolve(options).then((o) => this.#startResponse(stream, key, h3, o))
              .catch((err) => { stream.cancel(err); });
          }
          // A call that throws (bad options) can be made again, corrected.
          const r = this.#startResponse(stream, key, h3, options);
          responded = true;
          if (http3.isPromise(r)) r.catch((err) => { stream.cancel(err); });
        };
      }
      this.dispatchEvent(new StreamEvent(kPrivate, stream, respondWith));
      return;
    }
    const stream = this.#streams?.get(key);
    if (stream === undefined) return;
    if (type === E.STREAM_OPENED) {
      const ws = this.#wtByKey?.get(key);
      if (ws) {
        // Our CONNECT, sent again after a refused 0-RTT under a new id.
        for (const [sid, w] of this.#wt) if (w === ws) this.#wt.delete(sid);
        this.#wt.set(Number(id), ws);
      }
      stream[kOpened](id);
      return;
    }
    stream[kEvent](type, code, aux);
  }

  // respondWith(options) on a peer's stream: validates, then sends. A method,
  // not a closure made per request.
  #startResponse(stream, key, h3, opts) {
    const ro = ResponseOptions.isResponseOptions(opts) ? opts : new ResponseOptions(opts);
    validateBody(ro.body);
    let sending;
    if (!h3) {
      if (ro.headers !== undefined || ro.hints !== undefined || ro.trailers !== undefined) {
        throw codes.ERR_QUIC_UNSUPPORTED('response headers', `the negotiated ALPN '${this.alpn}' has no headers (use 'h3')`);
      }
      sending = stream[kSend](ro.body);
    } else {
      sending = this.#respondH3(stream, key, ro);
    }
    // Only a call that did not throw takes the signal.
    if (ro.signal) cancelOnAbort(ro.signal, stream);
    return sending;
  }

  // Hints, then the response headers, then the body and trailers. Header
  // objects that are promises are awaited in that order.
  #respondH3(stream, key, ro) {
    const submit = (kind, fields) => {
      if (this.#handle) binding.streamSubmitHeaders(this.#handle, key, kind, fields);
    };
    // Functions give their value (or a promise of it) now; trailers wait
    // for the end of the body (Stream[kSend]).
    const given = typeof ro.hints === 'function' ? ro.hints() : ro.hints;
    const headers = typeof ro.headers === 'function' ? ro.headers() : ro.headers;
    const list = (h) => (h === undefined ? [] : Array.isArray(h) ? h : [h]);
    const hints = http3.isPromise(given) ? null : list(given);
    if (hints && !hints.some(http3.isPromise) && !http3.isPromise(headers)) {
      // Validate everything before anything goes on the wire.
      const info = hints.map((h) => http3.hintFields(h));
      const fields = http3.responseFields(headers);
      if (ro.trailers !== undefined && !http3.isPromise(ro.trailers) && typeof ro.trailers !== 'function') {
        http3.trailerFields(ro.trailers);
      }
      for (const f of info) submit(http3.KIND.INFO, f);
      submit(http3.KIND.INITIAL, fields);
      return stream[kSend](ro.body, ro.trailers);
    }
    return (async () => {
      for (const h of hints ?? list(await given)) submit(http3.KIND.INFO, http3.hintFields(await h));
      submit(http3.KIND.INITIAL, http3.responseFields(await headers));
      return stream[kSend](ro.body, ro.trailers);
    })();
  }

  #wtListeners = 0;
  addEventListener(type, listener, options) {
    if (type === 'webtransport' && listener) this.#wtListeners++;
    return super.addEventListener(type, listener, options);
  }
  removeEventListener(type, listener, options) {
    if (type === 'webtransport' && listener && this.#wtListeners > 0) this.#wtListeners--;
    return super.removeEventListener(type, listener, options);
  }

  // A stream let go of its native state.
  [kEvent](what, key) {
    if (what === 'released') this.#streams?.delete(key);
  }

  get [Symbol.toStringTag]() { return 'Session'; }

  // console.log(session): side, state, protocol, peer and TLS outcome.
  [inspect.custom](depth, options) {
    const state = this.#closed.settled ? 'closed' : this.#closing ? 'closing' : this.#open ? 'open' : 'handshaking';
    const cipher = this.#info?.cipher || undefined;
    return inspect.formatObject('Session', depth, options, inspect.defined({
      side: this.#side,
      state,
      alpn: this.alpn,
      servername: this.servername,
      remoteAddress: inspect.formatAddress(this.remoteAddress),
      localAddress: inspect.formatAddress(this.#endpoint.address),
      streams: this.#streams?.size ?? 0,
      cipher,
      earlyData: this.#info ? this.earlyData : undefined,
      validationError: this.validationError,
    }));
  }
}

defineEventHandler(Session.prototype, 'stream');
defineEventHandler(Session.prototype, 'datagram');
defineEventHandler(Session.prototype, 'webtransport');

module.exports = {
  Session, kHandshake, kNativeClose, kStreamEvent, kDestroy, kDatagrams, kClientHello, kOcsp, cancelOnAbort, kWtSettings,
};

'use strict';
// Endpoint: a UDP socket that can listen for sessions and open them.
const net = require('node:net');
const binding = require('./binding');
const { codes } = require('./errors');
const { SessionEvent, defineEventHandler, deferred, settle, kPrivate } = require('./events');
const { EndpointConfig, SessionConfig, readAddress, kNative, kTlsKey, optSignal } = require('./config');
const {
  Session, kHandshake, kNativeClose, kStreamEvent, kDestroy, kDatagrams, kClientHello, kOcsp, cancelOnAbort, kWtSettings,
} = require('./session');
const { EndpointStats } = require('./stats');
const { validateObject, validateNotRevoked } = require('./validate');
const { events: { E, F, WIDTH } } = require('./contract');
const { isAnyArrayBuffer, isArrayBufferView } = require('node:util/types');
const inspect = require('./inspect');

// Positions in an event record (src/binding.h QUIC_EVENT_RECORD), checked
// against the addon when lib/contract.js loaded.
const { TYPE, SESSION_KEY, STREAM_KEY, AUX, STREAM_ID, CODE_HI, CODE_LO } = F;

// The parts of session.sessionTicket; copied so later changes by the caller
// cannot race the handshake.
function resumeBytes(value, name, max) {
  if (value === undefined) return null;
  if (!isAnyArrayBuffer(value) && !isArrayBufferView(value)) {
    throw codes.ERR_INVALID_ARG_TYPE(name, 'an ArrayBuffer, TypedArray, DataView or Buffer', value);
  }
  const b = isAnyArrayBuffer(value) ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (b.length > max) throw codes.ERR_OUT_OF_RANGE(name, `at most ${max} bytes`, b.length);
  return Buffer.from(b);
}

// What Endpoint.from() hands its `new Endpoint()` (set and taken in the
// same synchronous call): the options argument is the user's and is never
// read for it.
let joining = null;
const SHARE_TYPE = 'quic.Endpoint';

class Endpoint extends EventTarget {
  #handle;
  #config;
  #sessions = new Map(); // key -> Session
  #address;              // net.SocketAddress once bound
  #listening = false;
  #closing = false;
  #destroyed = false;
  #closed = deferred();
  #stats;
  #serverHooks = null; // TLS hooks the listen() options turned on
  #reusePort;          // { group, worker, steered } of a bound reusePort endpoint

  // Methods called on something else (Reflect.apply, .call) fail with a code.
  static #check(self) {
    if (self === null || typeof self !== 'object' || !(#handle in self)) throw codes.ERR_INVALID_THIS('Endpoint');
  }

  constructor(options = {}) {
    super();
    const onEvents = (events, handles) => this.#onEvents(events, handles);
    const join = joining;
    joining = null;
    if (join !== null) {
      // A copy on this thread of a shared endpoint: the group's native
      // configuration, the original's session defaults, the same port.
      this.#config = { session: join.session };
      this.#handle = binding.endpointJoin(join.group, onEvents, join.pid === process.pid ? null : join.pid);
    } else {
      const config = EndpointConfig.isEndpointConfig(options) ? options : new EndpointConfig(options);
      this.#config = config[kNative];
      const { options: n, address, resetTokenSecret, tokenSecret, loadBalancer, reusePort } = this.#config;
      this.#handle = binding.endpointCreate(n, address.address, address.port, resetTokenSecret, tokenSecret,
                                            onEvents, loadBalancer, reusePort ? reusePort.group : null);
    }
    this.#stats = new EndpointStats(kPrivate, () => binding.endpointStats(this.#handle));
    if (join !== null) this.#bind();
  }

  // A value to post to a worker thread (postMessage, workerData,
  // BroadcastChannel), where Endpoint.from() makes it an Endpoint of its own
  // on the same UDP port. Node.js lets a package take no part in structured
  // cloning, so posting the Endpoint itself can only give `{}`; this is a
  // plain object that every channel carries.
  share() {
    Endpoint.#check(this);
    this.#checkUsable('share()');
    if (this.#config.reusePort) {
      throw codes.ERR_INVALID_STATE('share(): a reusePort endpoint is already in its port\'s group; create another ' +
                                    'Endpoint with the same address and reusePort option in the worker instead');
    }
    const group = binding.endpointShare(this.#handle);
    this.#bind();
    return { type: SHARE_TYPE, group, pid: process.pid, session: { ...this.#config.session } };
  }

  static from(handle) {
    if (handle === null || typeof handle !== 'object' || handle.type !== SHARE_TYPE) {
      throw codes.ERR_INVALID_ARG_VALUE('handle', handle,
        'must be the value endpoint.share() returned (posting an Endpoint itself copies none of it)');
    }
    const { group, pid, session } = handle;
    if (!Number.isSafeInteger(group) || group < 1 || !Number.isSafeInteger(pid) || session === null ||
        typeof session !== 'object') {
      throw codes.ERR_INVALID_ARG_VALUE('handle', handle, 'must be the value endpoint.share() returned');
    }
    const s = {};
    for (const k of ['ccAlgorithm', 'maxPayloadSize', 'maxStreamWindow', 'maxWindow', 'ackThreshold']) {
      if (!Number.isSafeInteger(session[k]) || session[k] < 0) {
        throw codes.ERR_INVALID_ARG_VALUE('handle', handle, 'must be the value endpoint.share() returned');
      }
      s[k] = session[k];
    }
    joining = { group, pid, session: s };
    try {
      return new Endpoint();
    } finally {
      joining = null;
    }
  }

  get address() { return this.#address; }
  get listening() { return this.#listening; }
  get closing() { return this.#closing; }
  get closed() { return this.#closed.promise; }
  get destroyed() { return this.#destroyed; }
  get stats() { return this.#stats; }

  #checkUsable(what) {
    if (this.#destroyed) throw codes.ERR_INVALID_STATE(`${what}: the endpoint is destroyed`);
    if (this.#closing) throw codes.ERR_INVALID_STATE(`${what}: the endpoint is closing`);
  }

  #bind() {
    if (this.#address) return;
    const a = binding.endpointBind(this.#handle);
    this.#address = new net.SocketAddress({ address: a.address, port: a.port, family: a.family });
    if (a.worker !== undefined) {
      this.#reusePort = Object.freeze({ group: this.#config.reusePort.group, worker: a.worker, steered: a.steered });
      if (!a.steered) {
        process.emitWarning('reusePort: the kernel refused the steering program (SO_ATTACH_REUSEPORT_CBPF); ' +
                            'datagrams are spread by a hash of their addresses, a packet that reaches the wrong ' +
                            'process is dropped, and sessions break when the group changes or a client migrates',
                            { code: 'QUIC_REUSEPORT_UNSTEERED' });
      }
    }
  }

  // A reusePort endpoint once bound: { group, worker, steered }.
  get reusePort() { return this.#reusePort; }

  listen(options = {}) {
    Endpoint.#check(this);
    this.#checkUsable('listen()');
    if (this.#listening) throw codes.ERR_INVALID_STATE('listen(): the endpoint is already listening');
    const config = SessionConfig.isSessionConfig(options) ? options : new SessionConfig('server', options);
    if (config.side !== 'server') throw codes.ERR_INVALID_ARG_VALUE('options', options, "must be a 'server' SessionConfig");
    const { options: n, tls } = config[kNative](this.#config.session);
    this.#bind();
    binding.endpointListen(this.#handle, n, tls);
    this.#serverHooks = { keylog: tls.keylog, qlog: tls.paths?.qlog, clientHello: tls.clientHello, ocsp: tls.ocsp, alpn: config.alpn,
                          endpointSession: this.#config.session, handshakeTimeout: config.handshakeTimeout,
                          webtransport: config.webtransport };
    this.#listening = true;
  }

  connect(address, options = {}, resume) {
    Endpoint.#check(this);
    this.#checkUsable('connect()');
    validateNotRevoked(address, 'address');
    if (!(address instanceof net.SocketAddress)) validateObject(address, 'address');
    const remote = readAddress(address, 'address', { address: '127.0.0.1', port: 0 });
    if (remote.port === 0) throw codes.ERR_OUT_OF_RANGE('address.port', '>= 1 && <= 65535', remote.port);
    const config = SessionConfig.isSessionConfig(options) ? options : new SessionConfig('client', options);
    if (config.side !== 'client') throw codes.ERR_INVALID_ARG_VALUE('options', options, "must be a 'client' SessionConfig");
    // options.signal (a plain options object only): aborting cancels the session.
    const signal = SessionConfig.isSessionConfig(options) ? undefined : optSignal(options);
    let ticket = null;
    let params = null;
    let appParams = null;
    if (resume !== undefined) {
      validateObject(resume, 'resume');
      ticket = resumeBytes(resume.sessionTicket, 'resume.sessionTicket', 16384);
      params = resumeBytes(resume.transportParams, 'resume.transportParams', 4096);
      appParams = resumeBytes(resume.applicationParams, 'resume.applicationParams', 4096);
    }
    const { options: n, tls } = config[kNative](this.#config.session, remote.address);
    // Connections with the same TLS inputs share one native TLS context
    // (credentials, trust store, parsed CAs): building one costs more than
    // the session itself.
    tls.context = this.#tlsContextFor(config[kTlsKey], n, tls);
    this.#bind();
    const [handle, key] = binding.endpointConnect(this.#handle, remote.address, remote.port, n, tls, ticket, params,
                                                 appParams);
    const host = config.hostname ?? (net.isIPv6(remote.address) ? `[${remote.address}]` : remote.address);
    const authority = remote.port === 443 ? host : `${host}:${remote.port}`;
    const session = new Session(kPrivate, this, handle, key, 'client', remote, this.#sessionGone, authority,
                                { keylog: tls.keylog, qlog: tls.paths?.qlog, ocsp: tls.ocsp, offersH3: config.alpn.includes('h3'),
                                  onlyH3: config.alpn.length === 1 && config.alpn[0] === 'h3',
                                  alpn: config.alpn, hostname: config.hostname, handshakeTimeout: config.handshakeTimeout });
    this.#sessions.set(key, session);
    if (signal) cancelOnAbort(signal, session);
    return session;
  }

  #tlsContexts = new Map(); // digest of the TLS inputs -> native TLS context (bounded, LRU)

  #tlsContextFor(key, n, tls) {
    let ctx = this.#tlsContexts.get(key);
    if (ctx !== undefined) {
      this.#tlsContexts.delete(key); // most recently used last
      this.#tlsContexts.set(key, ctx);
    }
    if (ctx === undefined) {
      ctx = binding.tlsContext(n, tls, false);
      if (this.#tlsContexts.size >= 16) {
        const [oldest, old] = this.#tlsContexts.entries().next().value;
        binding.tlsContextRelease(old);
        this.#tlsContexts.delete(oldest);
      }
      this.#tlsContexts.set(key, ctx);
    }
    return ctx;
  }

  close(options) {
    Endpoint.#check(this);
    // close({ signal }): aborting turns the graceful close into an immediate
    // one (every session cancelled with an AbortError, then destroy).
    const signal = options === undefined ? undefined : (validateObject(options, 'options'), optSignal(options));
    if (signal && !this.#destroyed) {
      const abort = () => {
        const err = codes.ABORT_ERR(signal.reason);
        for (const session of [...this.#sessions.values()]) session.cancel(err);
        this.destroy(err);
      };
      if (signal.aborted) {
        queueMicrotask(abort);
      } else {
        signal.addEventListener('abort', abort, { once: true });
        const done = () => signal.removeEventListener('abort', abort);
        this.#closed.promise.then(done, done);
      }
    }
    if (this.#destroyed || this.#closing) return this.#closed.promise;
    this.#closing = true;
    this.#listening = false;
    binding.endpointClose(this.#handle);
    if (this.#sessions.size === 0) queueMicrotask(() => this.destroy());
    return this.#closed.promise;
  }

  destroy(error) {
    Endpoint.#check(this);
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#listening = false;
    this.#closing = false;
    for (const session of [...this.#sessions.values()]) session[kDestroy](error);
    this.#sessions.clear();
    for (const ctx of this.#tlsContexts.values()) binding.tlsContextRelease(ctx);
    this.#tlsContexts.clear();
    this.#stats[kPrivate]();
    binding.endpointDestroy(this.#handle);
    this.#address = undefined; // no longer bound (the seed: undefined unless bound)
    settle(this.#closed, error || null);
  }

  #sessionGone = (session, key) => {
    this.#sessions.delete(key);
    if (this.#closing && this.#sessions.size === 0 && !this.#destroyed) queueMicrotask(() => this.destroy());
  };

  // One call per receive batch: events flattened as WIDTH numbers each.
  #onEvents(ev, handles) {
    let h = 0;
    for (let i = 0; i < ev.length; i += WIDTH) {
      const type = ev[i + TYPE];
      const skey = ev[i + SESSION_KEY];
      if (type === E.SESSION_NEW) {
        const handle = handles[h++];
        if (this.#destroyed) continue;
        const info = binding.sessionInfo(handle);
        const remote = { address: info.remoteAddress, port: info.remotePort, family: info.remoteFamily };
        const session = new Session(kPrivate, this, handle, skey, 'server', remote, this.#sessionGone, undefined,
                                    this.#serverHooks);
        this.#sessions.set(skey, session);
        this.dispatchEvent(new SessionEvent(kPrivate, session));
        continue;
      }
      const session = this.#sessions.get(skey);
      if (session === undefined) continue;
      // Most events carry no code: skip the BigInt work for them.
      const hi = ev[i + CODE_HI];
      const lo = ev[i + CODE_LO];
      const code = hi === 0 && lo === 0 ? 0n : (BigInt(hi) << 32n) | BigInt(lo);
      switch (type) {
        case E.SESSION_HANDSHAKE:
          session[kHandshake]();
          break;
        case E.SESSION_CLOSE:
          session[kNativeClose](ev[i + AUX], code);
          break;
        case E.SESSION_DATAGRAM:
          session[kDatagrams]();
          break;
        case E.SESSION_CLIENT_HELLO:
          session[kClientHello]();
          break;
        case E.SESSION_WT_SETTINGS:
          session[kWtSettings](ev[i + AUX]);
          break;
        case E.SESSION_OCSP:
          session[kOcsp]();
          break;
        default:
          session[kStreamEvent](type, ev[i + STREAM_KEY], ev[i + STREAM_ID], ev[i + AUX], code);
          break;
      }
    }
  }

  get [Symbol.toStringTag]() { return 'Endpoint'; }

  // console.log(endpoint): where it is bound, what it is doing, its sessions.
  [inspect.custom](depth, options) {
    const state = this.#destroyed ? 'destroyed' : this.#closing ? 'closing' : this.#listening ? 'listening'
      : this.#address ? 'bound' : 'not bound';
    return inspect.formatObject('Endpoint', depth, options, {
      address: inspect.formatAddress(this.#address),
      state,
      listening: this.#listening,
      closing: this.#closing,
      destroyed: this.#destroyed,
      sessions: this.#sessions.size,
    });
  }
}

defineEventHandler(Endpoint.prototype, 'session');

module.exports = { Endpoint };

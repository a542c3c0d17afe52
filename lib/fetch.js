'use strict';
// Http3Dispatcher: an undici Dispatcher whose requests go over HTTP/3 with
// this package's client, so `fetch(url, { dispatcher })`, undici's
// request()/stream() and setGlobalDispatcher() speak h3.
//
// undici defines the interface: dispatch(options, handler) gets a handler of
// either generation, the controller one (onRequestStart, onResponseStart,
// onResponseData, onResponseEnd, onResponseError: undici 7+, Node 26's
// fetch) or the legacy one (onConnect, onHeaders, onData, onComplete,
// onError: undici 6 and Node 20/22/24's fetch). Requests are driven through
// the controller form; legacy handlers are adapted (LegacyHandler below).
// One QUIC session per origin carries every request to it, each on its own
// stream; sessions idle for keepAliveTimeout are closed, and the endpoints
// this dispatcher made are closed once it has no sessions left.
const dns = require('node:dns');
const net = require('node:net');
const { Dispatcher, errors } = require('undici');
const { Endpoint } = require('./endpoint');
const { SessionConfig } = require('./config');
const { validateObject, validateFunction } = require('./validate');
const { chunksOf, validateBody } = require('./body');
const inspect = require('./inspect');

const H3_REQUEST_REJECTED = 0x10bn;
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

function timeoutOption(options, key, dflt) {
  const v = options[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new errors.InvalidArgumentError(`invalid ${key}`);
  return v;
}

// A timer that does not keep the process alive by itself.
function timer(ms, fn) {
  if (!ms) return null;
  const t = setTimeout(fn, ms);
  t.unref?.();
  return t;
}

// undici's header forms: a flat [name, value, ...] array, an iterable of
// [name, value] pairs (Headers, Map), or an object. Names come out
// lowercase; values are strings or arrays of strings.
function* headerPairs(headers) {
  if (headers == null) return;
  if (Array.isArray(headers)) {
    if (headers.length % 2 !== 0) throw new errors.InvalidArgumentError('headers array must be even');
    for (let i = 0; i < headers.length; i += 2) yield [headers[i], headers[i + 1]];
  } else if (typeof headers === 'object' && typeof headers[Symbol.iterator] === 'function') {
    for (const pair of headers) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new errors.InvalidArgumentError('headers must be in key-value pair format');
      yield pair;
    }
  } else if (typeof headers === 'object') {
    for (const key of Object.keys(headers)) yield [key, headers[key]];
  } else {
    throw new errors.InvalidArgumentError('headers must be an object or an array');
  }
}

const toText = (v) => (Buffer.isBuffer(v) || v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : String(v));

// Received fields (null-prototype object, :status a number) -> undici's
// headers object (lowercase names, string or string[] values) and the raw
// [Buffer name, Buffer value, ...] list legacy handlers take.
function responseHeaders(fields) {
  const headers = {};
  const raw = [];
  for (const name of Object.keys(fields)) {
    if (name.startsWith(':')) continue;
    const value = fields[name];
    headers[name] = value;
    for (const v of Array.isArray(value) ? value : [value]) raw.push(Buffer.from(name, 'latin1'), Buffer.from(String(v), 'latin1'));
  }
  return { headers, raw };
}

// A body can be sent again (a GOAWAY-refused request is retried once).
function replayable(body) {
  return body == null || typeof body === 'string' || ArrayBuffer.isView(body) || body instanceof ArrayBuffer;
}

// Legacy (undici 6 style) handler, driven through the controller calls.
class LegacyHandler {
  #h;
  constructor(handler) { this.#h = handler; }
  onRequestStart(controller, context) {
    this.#h.onConnect?.((reason) => controller.abort(reason), context);
  }
  onResponseStarted() { this.#h.onResponseStarted?.(); }
  onResponseStart(controller, statusCode, headers, statusMessage) {
    const r = this.#h.onHeaders?.(statusCode, controller.rawHeaders, () => controller.resume(), statusMessage);
    if (r === false && statusCode >= 200) controller.pause();
  }
  onResponseData(controller, chunk) {
    if (this.#h.onData?.(chunk) === false) controller.pause();
  }
  onResponseEnd(controller) { this.#h.onComplete?.(controller.rawTrailers); }
  onResponseError(controller, err) {
    if (typeof this.#h.onError !== 'function') throw err;
    this.#h.onError(err);
  }
  onBodySent(chunk) { this.#h.onBodySent?.(chunk); }
  onRequestSent() { this.#h.onRequestSent?.(); }
}

// What dispatch() hands the handler: abort, pause and resume one request.
class Controller {
  #request;
  #paused = false;
  rawHeaders = null;
  rawTrailers = null;
  constructor(request) { this.#request = request; }
  get aborted() { return this.#request.aborted; }
  get paused() { return this.#paused; }
  get reason() { return this.#request.reason; }
  abort(reason) { this.#request.abort(reason); }
  pause() {
    if (this.#paused) return;
    this.#paused = true;
    this.#request.pause();
  }
  resume() {
    if (!this.#paused) return;
    this.#paused = false;
    this.#request.resume();
  }
}

// One request/response exchange on one HTTP/3 stream.
class Request {
  #dispatcher;
  #opts;
  #handler;
  #controller = new Controller(this);
  #stream = null;
  #readable = null;
  #headersTimer = null;
  #bodyTimer = null;
  #done = false;         // the handler got its last call
  #responded = false;    // response headers went to the handler
  #retried = false;
  aborted = false;
  reason = null;

  constructor(dispatcher, opts, handler) {
    this.#dispatcher = dispatcher;
    this.#opts = opts;
    this.#handler = handler;
  }

  async start() {
    let session;
    try {
      session = await this.#dispatcher._session(this.#opts.origin);
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (this.#done) return;
    // undici calls onConnect/onRequestStart once a connection carries the
    // request (once: a retry on a new session does not call it again).
    if (!this.#started) {
      this.#started = true;
      try {
        this.#handler.onRequestStart?.(this.#controller, {});
      } catch (err) {
        this.#fail(err);
        return;
      }
      if (this.#done) return;
    }
    this.#open(session);
  }

  #started = false;

  #open(session) {
    const o = this.#opts;
    let stream;
    try {
      stream = session.open({ headers: o.fields, body: this.#bodyFor(o.body) });
    } catch (err) {
      // GOAWAY arrived, or the session is closing: a new session takes it.
      if (err.code === 'ERR_INVALID_STATE' && !this.#retried) {
        this.#retried = true;
        this.#dispatcher._forget(o.origin.key, session);
        this.start();
        return;
      }
      this.#fail(err);
      return;
    }
    this.#stream = stream;
    this.#dispatcher._track(o.origin.key, session, this);
    if (this.#sentAtOpen) this.#armHeadersTimer();
    stream.headers.then((fields) => this.#onHeaders(fields), (err) => this.#onStreamError(err, session));
  }

  #sentAtOpen = true;

  // Streaming bodies are wrapped to tell the handler what was sent, and to
  // start the headers timeout once the request is complete (undici's
  // headersTimeout runs while nothing more is being sent).
  #bodyFor(body) {
    if (body == null || typeof body === 'string' || ArrayBuffer.isView(body) || body instanceof ArrayBuffer) {
      return body;
    }
    // Anything else this package takes as a body (an iterable, a stream, a
    // Blob, a FileHandle, ...) becomes Buffers through lib/body.js; what it
    // does not take fails open() with ERR_INVALID_ARG_TYPE.
    try {
      validateBody(body, 'body');
    } catch {
      return body;
    }
    this.#sentAtOpen = false;
    const self = this;
    return (async function* () {
      for await (const bytes of chunksOf(body)) {
        if (self.#done) return;
        yield bytes;
        self.#handler.onBodySent?.(bytes);
      }
      self.#handler.onRequestSent?.();
      self.#armHeadersTimer();
    })();
  }

  #armHeadersTimer() {
    if (this.#done || this.#responded) return;
    this.#headersTimer = timer(this.#opts.headersTimeout, () => this.#fail(new errors.HeadersTimeoutError()));
  }

  #armBodyTimer() {
    clearTimeout(this.#bodyTimer);
    this.#bodyTimer = timer(this.#opts.bodyTimeout, () => this.#fail(new errors.BodyTimeoutError()));
  }

  async #onHeaders(fields) {
    if (this.#done) return;
    clearTimeout(this.#headersTimer);
    const c = this.#controller;
    try {
      this.#handler.onResponseStarted?.();
      // Informational responses first (103 Early Hints, ...), as undici does.
      for (const hint of await this.#stream.hints) {
        if (this.#done) return;
        const h = responseHeaders(hint);
        c.rawHeaders = h.raw;
        const wasPaused = c.paused;
        this.#handler.onResponseStart?.(c, hint[':status'], h.headers, '');
        if (!wasPaused && c.paused) c.resume();
      }
      if (this.#done) return;
      const h = responseHeaders(fields);
      c.rawHeaders = h.raw;
      this.#responded = true;
      // HTTP/3 has no reason phrase: statusText is '', as for undici's HTTP/2.
      this.#handler.onResponseStart?.(c, fields[':status'], h.headers, '');
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (this.#done) return;
    this.#readBody();
  }

  #readBody() {
    const readable = this.#stream.readableNodeStream();
    this.#readable = readable;
    const c = this.#controller;
    if (c.paused) readable.pause();
    else this.#armBodyTimer();
    readable.on('data', (chunk) => {
      if (this.#done) return;
      this.#armBodyTimer();
      try {
        this.#handler.onResponseData?.(c, chunk);
      } catch (err) {
        this.#fail(err);
      }
    });
    readable.on('error', (err) => this.#fail(err));
    readable.on('end', async () => {
      clearTimeout(this.#bodyTimer);
      let fields;
      try {
        fields = await this.#stream.trailers;
      } catch { /* never rejects; kept for safety */ }
      if (this.#done) return;
      const t = responseHeaders(fields || {});
      c.rawTrailers = t.raw;
      this.#done = true;
      this.#finished();
      try {
        this.#handler.onResponseEnd?.(c, t.headers);
      } catch (err) {
        process.nextTick(() => { throw err; });
      }
    });
  }

  pause() {
    clearTimeout(this.#bodyTimer);
    this.#readable?.pause();
  }

  resume() {
    if (this.#done) return;
    if (this.#readable) {
      this.#armBodyTimer();
      this.#readable.resume();
    }
  }

  abort(reason) {
    if (this.aborted || this.#done) return;
    this.aborted = true;
    this.reason = reason ?? new errors.RequestAbortedError();
    this.#fail(this.reason);
  }

  #onStreamError(err, session) {
    if (this.#done) return;
    // A request the server refused unprocessed (GOAWAY, H3_REQUEST_REJECTED)
    // may go again on a new connection (RFC 9114 4.1.1).
    if (err?.errorCode === H3_REQUEST_REJECTED && !this.#retried && replayable(this.#opts.body)) {
      this.#retried = true;
      clearTimeout(this.#headersTimer);
      this.#dispatcher._untrack(this.#opts.origin.key, this);
      this.#dispatcher._forget(this.#opts.origin.key, session);
      this.start();
      return;
    }
    this.#fail(err);
  }

  // Ends the exchange with an error: the handler's last call.
  #fail(err) {
    if (this.#done) return;
    this.#done = true;
    this.#finished();
    // Without a reason the stream is reset with H3_REQUEST_CANCELLED, whatever
    // the error (the handler hears the error itself).
    if (this.#stream && !this.#readEnded()) this.#stream.cancel();
    try {
      this.#handler.onResponseError?.(this.#controller, err);
    } catch (thrown) {
      process.nextTick(() => { throw thrown; });
    }
  }

  #readEnded() {
    return this.#readable !== null && this.#readable.readableEnded;
  }

  #finished() {
    clearTimeout(this.#headersTimer);
    clearTimeout(this.#bodyTimer);
    this.#dispatcher._untrack(this.#opts.origin.key, this);
  }
}

class Http3Dispatcher extends Dispatcher {
  #endpoint;            // the user's Endpoint, if given
  #own = new Map();     // 'ipv4' | 'ipv6' -> Endpoint this dispatcher made
  #sessionOptions;
  #lookup;
  #connectTimeout;
  #headersTimeout;
  #bodyTimeout;
  #keepAliveTimeout;
  #pool = new Map();    // origin key -> { session, ready, requests: Set, idle }
  #closed = false;
  #destroyed = false;
  #closing = null;

  constructor(options = {}) {
    super();
    validateObject(options, 'options');
    if (options.endpoint !== undefined && !(options.endpoint instanceof Endpoint)) {
      throw new errors.InvalidArgumentError('endpoint must be a quic Endpoint');
    }
    this.#endpoint = options.endpoint;
    const session = options.session === undefined ? {} : options.session;
    validateObject(session, 'options.session');
    if (session.alpn !== undefined && session.alpn !== 'h3') {
      throw new errors.InvalidArgumentError("session.alpn must be 'h3' (or left out)");
    }
    if (session.hostname !== undefined) throw new errors.InvalidArgumentError('session.hostname comes from each URL');
    this.#sessionOptions = session;
    if (options.lookup !== undefined) validateFunction(options.lookup, 'options.lookup');
    this.#lookup = options.lookup ?? dns.lookup;
    this.#connectTimeout = timeoutOption(options, 'connectTimeout', 10e3);
    this.#headersTimeout = timeoutOption(options, 'headersTimeout', 300e3);
    this.#bodyTimeout = timeoutOption(options, 'bodyTimeout', 300e3);
    this.#keepAliveTimeout = timeoutOption(options, 'keepAliveTimeout', 4e3);
    if (options.maxRedirections !== undefined && options.maxRedirections !== 0) {
      throw new errors.InvalidArgumentError('maxRedirections is not supported, use the redirect interceptor ' +
                                            '(dispatcher.compose(interceptors.redirect()))');
    }
    // The session options are checked now (with Node's codes), not at the
    // first request; each connection builds its own config with its host name.
    new SessionConfig('client', { ...session, alpn: 'h3', handshakeTimeout: this.#connectTimeout });
  }

  get closed() { return this.#closed; }
  get destroyed() { return this.#destroyed; }

  dispatch(opts, handler) {
    if (!handler || typeof handler !== 'object') throw new errors.InvalidArgumentError('handler must be an object');
    const h = typeof handler.onRequestStart === 'function' || typeof handler.onResponseStart === 'function'
      ? handler : new LegacyHandler(handler);
    let prepared;
    try {
      if (this.#destroyed) throw new errors.ClientDestroyedError();
      if (this.#closed) throw new errors.ClientClosedError();
      prepared = this.#prepare(opts);
    } catch (err) {
      // As undici's dispatchers do: the handler hears of it, dispatch() returns false.
      h.onResponseError(new Controller({ aborted: true, reason: err, abort() {}, pause() {}, resume() {} }), err);
      return false;
    }
    new Request(this, prepared, h).start();
    return true;
  }

  // dispatch() options -> what a request needs; throws undici's errors.
  #prepare(opts) {
    if (opts === null || typeof opts !== 'object') throw new errors.InvalidArgumentError('opts must be an object');
    if (opts.upgrade || opts.method === 'CONNECT') {
      throw new errors.NotSupportedError('upgrade and CONNECT are not supported over HTTP/3 by this dispatcher');
    }
    if (opts.maxRedirections) {
      throw new errors.InvalidArgumentError('maxRedirections is not supported, use the redirect interceptor');
    }
    let url;
    try {
      url = new URL(typeof opts.origin === 'string' ? opts.origin : String(opts.origin));
    } catch {
      throw new errors.InvalidArgumentError('invalid origin');
    }
    if (url.protocol !== 'https:') {
      throw new errors.InvalidArgumentError(`HTTP/3 needs an https: origin, not ${url.protocol}`);
    }
    if (typeof opts.path !== 'string' || (opts.path[0] !== '/' && opts.path !== '*')) {
      throw new errors.InvalidArgumentError('path must be an absolute URL or start with a slash');
    }
    if (typeof opts.method !== 'string' || opts.method.length === 0) throw new errors.InvalidArgumentError('method must be a string');
    let path = opts.path;
    if (opts.query) {
      const q = new URLSearchParams(opts.query).toString();
      if (q) path += (path.includes('?') ? '&' : '?') + q;
    }
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port ? Number(url.port) : 443;
    const fields = { ':method': opts.method, ':scheme': 'https', ':authority': url.host, ':path': path };
    let hasLength = false;
    for (const [name, value] of headerPairs(opts.headers)) {
      const key = toText(name).toLowerCase();
      if (value === undefined || value === null) continue;
      const values = (Array.isArray(value) ? value : [value]).map(toText);
      if (key === 'host') {
        fields[':authority'] = values[0];
        continue;
      }
      // Connection-specific fields have no meaning in HTTP/3 (RFC 9114 4.2).
      if (CONNECTION_SPECIFIC.has(key)) continue;
      if (key === 'te' && values[0].toLowerCase() !== 'trailers') continue;
      if (key === 'expect') continue; // 100-continue is not supported; the body goes at once
      if (key === 'content-length') hasLength = true;
      const prev = fields[key];
      fields[key] = prev === undefined ? (values.length === 1 ? values[0] : values) : [].concat(prev, values);
    }
    const body = opts.body;
    if (!hasLength && body != null) {
      const n = typeof body === 'string' ? Buffer.byteLength(body)
        : ArrayBuffer.isView(body) || body instanceof ArrayBuffer ? body.byteLength : -1;
      if (n >= 0) fields['content-length'] = String(n);
    }
    return {
      origin: { key: `${host}:${port}`, host, port, url: new URL(url.origin) },
      fields,
      body,
      headersTimeout: opts.headersTimeout ?? this.#headersTimeout,
      bodyTimeout: opts.bodyTimeout ?? this.#bodyTimeout,
    };
  }

  // ---- connections ----

  #endpointFor(family) {
    if (this.#endpoint) return this.#endpoint;
    let e = this.#own.get(family);
    if (e === undefined || e.closing || e.destroyed) {
      e = new Endpoint({ address: family === 'ipv6' ? { address: '::', family: 'ipv6' } : { address: '0.0.0.0' } });
      this.#own.set(family, e);
    }
    return e;
  }

  #resolve(host) {
    if (net.isIP(host)) return Promise.resolve({ address: host, family: net.isIPv6(host) ? 6 : 4 });
    return new Promise((resolve, reject) => {
      this.#lookup(host, {}, (err, address, family) => {
        if (err) reject(err);
        else if (typeof address === 'object' && address !== null) resolve(Array.isArray(address) ? address[0] : address);
        else resolve({ address, family });
      });
    });
  }

  // The session for an origin: the live one, or a new one (DNS, handshake).
  _session(origin) {
    const entry = this.#pool.get(origin.key);
    if (entry && !entry.session?.closing) return entry.ready;
    // A closing session finishes what it carries; new requests get a new one.
    if (entry && entry.requests.size > 0) {
      entry.draining = true;
      this.#draining.add(entry);
    }
    const fresh = { session: null, requests: new Set(), idle: null, ready: null, draining: false };
    fresh.ready = (async () => {
      const { address, family } = await this.#resolve(origin.host);
      if (this.#destroyed || this.#closed) throw this.#destroyed ? new errors.ClientDestroyedError() : new errors.ClientClosedError();
      const endpoint = this.#endpointFor(family === 6 || family === 'IPv6' ? 'ipv6' : 'ipv4');
      const session = endpoint.connect({ address, port: origin.port }, {
        ...this.#sessionOptions,
        alpn: 'h3',
        ...(net.isIP(origin.host) ? {} : { hostname: origin.host }),
        handshakeTimeout: this.#connectTimeout,
      });
      fresh.session = session;
      session.closed.then(() => this.#gone(origin, fresh, null), (err) => this.#gone(origin, fresh, err));
      try {
        await session.handshake;
      } catch (err) {
        this.emit('connectionError', origin.url, [this], err);
        if (err.code === 'ERR_QUIC_HANDSHAKE_TIMEOUT') {
          const e = new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${origin.key}, timeout: ${this.#connectTimeout}ms)`);
          e.cause = err;
          throw e;
        }
        throw err;
      }
      fresh.connected = true;
      this.emit('connect', origin.url, [this]);
      // Closed if no request comes (one normally takes it at once).
      if (fresh.requests.size === 0) fresh.idle = timer(this.#keepAliveTimeout, () => session.close().catch(() => {}));
      return session;
    })();
    fresh.ready.catch(() => {
      // No session was made (DNS failed, or the dispatcher closed meanwhile).
      if (fresh.session === null) {
        if (this.#pool.get(origin.key) === fresh) this.#pool.delete(origin.key);
        this.#maybeRelease();
      }
    });
    this.#pool.set(origin.key, fresh);
    return fresh.ready;
  }

  #gone(origin, entry, err) {
    if (this.#pool.get(origin.key) === entry) this.#pool.delete(origin.key);
    this.#draining.delete(entry);
    clearTimeout(entry.idle);
    if (entry.connected) {
      this.emit('disconnect', origin.url, [this], err ?? new errors.InformationalError('the HTTP/3 session closed'));
    }
    this.#maybeRelease();
  }

  // Drop a session that can take no more requests (GOAWAY): new ones go to a
  // new session; this one finishes what it carries, then closes.
  _forget(key, session) {
    const entry = this.#pool.get(key);
    if (entry && entry.session === session) {
      this.#pool.delete(key);
      if (entry.requests.size === 0) session.close().catch(() => {});
      else entry.draining = true;
      this.#draining.add(entry);
    }
  }

  #draining = new Set();

  _track(key, session, request) {
    const entry = this.#pool.get(key);
    if (entry && entry.session === session) {
      clearTimeout(entry.idle);
      entry.idle = null;
      entry.requests.add(request);
    }
  }

  _untrack(key, request) {
    for (const entry of [this.#pool.get(key), ...this.#draining]) {
      if (!entry || !entry.requests.delete(request) || entry.requests.size !== 0) continue;
      if (entry.draining) {
        this.#draining.delete(entry);
        entry.session.close().catch(() => {});
      } else if (this.#closed) {
        entry.session.close().catch(() => {});
      } else {
        // Idle: kept for keepAliveTimeout ms, then closed (undici's keep-alive).
        entry.idle = timer(this.#keepAliveTimeout, () => entry.session.close().catch(() => {}));
      }
    }
    this.#maybeRelease();
  }

  // With no session left, the endpoints this dispatcher made are closed, so
  // nothing keeps the process alive; a later request makes new ones.
  #ending = Promise.resolve();
  #maybeRelease() {
    if (this.#pool.size !== 0 || this.#draining.size !== 0) return;
    const ends = [];
    for (const [family, e] of this.#own) {
      this.#own.delete(family);
      ends.push(e.close().catch(() => {}));
    }
    if (ends.length) this.#ending = Promise.all([this.#ending, ...ends]);
    if (this.#closing) this.#ending.then(this.#closing.resolve);
  }

  // ---- lifecycle (undici's close()/destroy(), promise or callback) ----

  // Graceful: requests in flight finish, then every session and the
  // endpoints this dispatcher made close. Later dispatches fail with
  // ClientClosedError.
  close(callback) {
    if (callback !== undefined && typeof callback !== 'function') throw new errors.InvalidArgumentError('invalid callback');
    if (!this.#closing) {
      let resolve;
      const promise = new Promise((r) => { resolve = r; });
      this.#closing = { promise, resolve };
      this.#closed = true;
      for (const entry of this.#pool.values()) {
        if (entry.requests.size !== 0) continue;
        clearTimeout(entry.idle);
        if (entry.session) entry.session.close().catch(() => {});
        else entry.ready.then((s) => s.close(), () => {}).catch(() => {});
      }
      this.#maybeRelease();
    }
    const done = this.#closing.promise;
    if (callback) {
      done.then(() => callback(null, null));
      return undefined;
    }
    return done;
  }

  destroy(err, callback) {
    if (typeof err === 'function') {
      callback = err;
      err = null;
    }
    const reason = err ?? new errors.ClientDestroyedError();
    this.#destroyed = true;
    this.#closed = true;
    for (const entry of [...this.#pool.values(), ...this.#draining]) {
      for (const request of [...entry.requests]) request.abort(reason);
      if (entry.session) entry.session.cancel();
      else entry.ready.then((s) => s.cancel(), () => {});
    }
    for (const [family, e] of this.#own) {
      this.#own.delete(family);
      this.#ending = Promise.all([this.#ending, e.close().catch(() => {})]);
    }
    const done = this.#ending.then(() => undefined);
    if (this.#closing) done.then(this.#closing.resolve);
    if (callback) {
      done.then(() => callback(null, null));
      return undefined;
    }
    return done;
  }

  [inspect.custom](depth, options) {
    return inspect.formatObject('Http3Dispatcher', depth, options, {
      origins: [...this.#pool.keys()],
      requests: [...this.#pool.values()].reduce((n, e) => n + e.requests.size, 0),
      closed: this.#closed,
      destroyed: this.#destroyed,
    });
  }
}

module.exports = { Http3Dispatcher };

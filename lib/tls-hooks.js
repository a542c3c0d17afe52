'use strict';
// The objects the TLS hooks hand to the application: ClientHello (server,
// secure.clientHello), OCSPRequest / OCSPResponse (secure.ocsp), and
// SecureContext, the credentials clientHello.done() can switch to.
const { codes } = require('./errors');
const inspect = require('./inspect');
const { kPrivate } = require('./events');
const { SessionConfig, kNative } = require('./config');
const { validateObject, toBuffer } = require('./validate');

const kOptions = Symbol('kOptions');

// Server credentials checked once, for clientHello.done(). Made by
// createSecureContext(options); options are the secure.* of a server
// SessionConfig (key, cert, pfx, passphrase, ca, crl, ciphers, ...).
class SecureContext {
  #options;
  constructor(token, options) {
    if (token !== kPrivate) throw new TypeError('Illegal constructor: use createSecureContext()');
    this.#options = options;
  }
  get [kOptions]() { return this.#options; }
  get [Symbol.toStringTag]() { return 'SecureContext'; }
  [inspect.custom](depth, options) {
    const o = this.#options;
    return inspect.formatObject('SecureContext', depth, options, inspect.defined({
      key: inspect.formatList([].concat(o.key ?? []), 'key'),
      cert: inspect.formatList([].concat(o.cert ?? []), 'certificate'),
      pfx: inspect.formatList([].concat(o.pfx ?? []), 'bundle'),
      ca: inspect.formatList([].concat(o.ca ?? []), 'CA'),
    }));
  }
}

function createSecureContext(options) {
  validateObject(options, 'options');
  const copy = { ...options };
  new SessionConfig('server', { alpn: 'h3', secure: copy }); // throws on bad options
  return new SecureContext(kPrivate, Object.freeze(copy));
}

// Turns done()'s argument into what the binding takes.
function contextNative(context, alpn, endpointSession, ocsp) {
  let options;
  if (context instanceof SecureContext) {
    options = context[kOptions];
  } else if (context !== null && typeof context === 'object' && context.constructor?.name === 'SecureContext') {
    // node:tls contexts wrap OpenSSL objects that GnuTLS cannot use.
    throw codes.ERR_INVALID_ARG_TYPE('context', 'a plain secure options object or a quic SecureContext', context);
  } else {
    validateObject(context, 'context');
    options = context;
  }
  // These stay as listen() set them.
  const { clientHello, keylog, ocsp: ignored, ...secure } = options;
  void clientHello; void keylog; void ignored;
  return new SessionConfig('server', { alpn, secure: { ...secure, ocsp } })[kNative](endpointSession);
}

class ClientHello {
  #alpn;
  #protocols;
  #ciphers;
  #servername;
  constructor(token, info, done) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    this.#protocols = Object.freeze(info.alpn.slice());
    this.#alpn = info.alpn[0];
    this.#ciphers = Object.freeze(info.ciphers.map((name) =>
      Object.freeze({ name, standardName: name, version: 'TLSv1.3' })));
    this.#servername = info.servername || undefined;
    // An own function, so `({ done }) => done()` works as in the seed.
    Object.defineProperty(this, 'done', { value: done, enumerable: true });
  }
  // The client's most preferred protocol; `protocols` lists them all.
  get alpn() { return this.#alpn; }
  get protocols() { return this.#protocols; }
  get ciphers() { return this.#ciphers; }
  get servername() { return this.#servername; }
  get [Symbol.toStringTag]() { return 'ClientHello'; }
  [inspect.custom](depth, options) {
    return inspect.formatObject('ClientHello', depth, options, {
      servername: this.#servername,
      alpn: this.#alpn,
      protocols: this.#protocols,
      ciphers: this.#ciphers.map((c) => c.name),
    });
  }
}

const toArrayBuffer = (buf) => (buf === undefined ? undefined
  : buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));

// Server: the certificate whose status the client asked for. The handshake
// waits until respondWith() is called.
class OCSPRequest {
  #certificate;
  #issuer;
  constructor(token, info, respond) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    this.#certificate = toArrayBuffer(info.certificate);
    this.#issuer = toArrayBuffer(info.issuer);
    let called = false;
    const respondWith = (response) => {
      if (called) throw codes.ERR_INVALID_STATE('respondWith() was already called');
      const bytes = response === undefined ? undefined : toBuffer(response, 'response');
      respond(bytes);
      called = true;
    };
    Object.defineProperty(this, 'respondWith', { value: respondWith, enumerable: true });
  }
  get certificate() { return this.#certificate; }
  get issuer() { return this.#issuer; }
  get [Symbol.toStringTag]() { return 'OCSPRequest'; }
  [inspect.custom](depth, options) {
    return inspect.formatObject('OCSPRequest', depth, options,
                                { certificate: inspect.formatBytes(this.#certificate), issuer: inspect.formatBytes(this.#issuer) });
  }
}

// Client: the response the server stapled (undefined when it sent none).
class OCSPResponse {
  #response;
  constructor(token, response) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    this.#response = toArrayBuffer(response);
  }
  get response() { return this.#response; }
  get [Symbol.toStringTag]() { return 'OCSPResponse'; }
  [inspect.custom](depth, options) {
    return inspect.formatObject('OCSPResponse', depth, options, { response: inspect.formatBytes(this.#response) });
  }
}

module.exports = { ClientHello, OCSPRequest, OCSPResponse, SecureContext, createSecureContext, contextNative };

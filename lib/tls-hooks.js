'use strict';
// The objects the TLS hooks hand to the application: ClientHello (server,
// secure.clientHello) and SecureContext, the credentials clientHello.done()
// can switch to.
const { codes } = require('./errors');
const { kPrivate } = require('./events');
const { SessionConfig, kNative } = require('./config');
const { validateObject } = require('./validate');

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
}

function createSecureContext(options) {
  validateObject(options, 'options');
  const copy = { ...options };
  new SessionConfig('server', { alpn: 'h3', secure: copy }); // throws on bad options
  return new SecureContext(kPrivate, Object.freeze(copy));
}

// Turns done()'s argument into what the binding takes.
function contextNative(context, alpn, endpointSession) {
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
  const { clientHello, keylog, ...secure } = options; // these stay as listen() set them
  void clientHello; void keylog;
  return new SessionConfig('server', { alpn, secure })[kNative](endpointSession);
}

class ClientHello {
  #alpn;
  #protocols;
  #ciphers;
  #servername;
  constructor(token, info, done) {
    if (token !== kPrivate) throw new TypeError('Illegal constructor');
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
}

module.exports = { ClientHello, SecureContext, createSecureContext, contextNative };

'use strict';
// Event classes of the seed, and the on<name> property helper.
const { codes } = require('./errors');
const inspect = require('./inspect');
const kPrivate = Symbol('kPrivate');

class SessionEvent extends Event {
  #session;
  constructor(token, session) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    super('session');
    this.#session = session;
  }
  get name() { return 'session'; }
  get session() { return this.#session; }
  [inspect.custom](depth, options) {
    return inspect.formatObject('SessionEvent', depth, options, { type: this.type, session: this.#session });
  }
}

class StreamEvent extends Event {
  #stream;
  #respondWith;
  constructor(token, stream, respondWith) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    super('stream');
    this.#stream = stream;
    this.#respondWith = respondWith;
  }
  get name() { return 'stream'; }
  get stream() { return this.#stream; }
  // A function (usable destructured), or undefined for unidirectional streams.
  get respondWith() { return this.#respondWith; }
  [inspect.custom](depth, options) {
    return inspect.formatObject('StreamEvent', depth, options,
                                { type: this.type, stream: this.#stream, respondWith: this.#respondWith });
  }
}

class DatagramEvent extends Event {
  #datagram;
  #early;
  #session;
  constructor(token, datagram, early, session) {
    if (token !== kPrivate) throw codes.ERR_ILLEGAL_CONSTRUCTOR();
    super('datagram');
    this.#datagram = datagram;
    this.#early = early;
    this.#session = session;
  }
  get name() { return 'datagram'; }
  get datagram() { return this.#datagram; }
  get early() { return this.#early; }
  get session() { return this.#session; }
  [inspect.custom](depth, options) {
    return inspect.formatObject('DatagramEvent', depth, options,
                                { type: this.type, datagram: this.#datagram, early: this.#early, session: this.#session });
  }
}

// Defines `on<name>` on a prototype: one listener slot per object, replaced
// on assignment, as the DOM does.
function defineEventHandler(proto, name) {
  const slot = Symbol(`on${name}`);
  Object.defineProperty(proto, `on${name}`, {
    configurable: true,
    enumerable: true,
    get() { return this[slot]?.handler ?? null; },
    set(handler) {
      if (this[slot]) {
        this.removeEventListener(name, this[slot].listener);
        this[slot] = undefined;
      }
      if (typeof handler === 'function') {
        const listener = (event) => handler.call(this, event);
        this[slot] = { handler, listener };
        this.addEventListener(name, listener);
      }
    },
  });
}

// A promise with its settle functions, made only when someone asks for it
// (most sessions' and streams' promises are never looked at: an idle server
// session would carry two promises, three closures and a context each).
// Until then only the outcome is kept. Rejections are marked handled so an
// unobserved one does not crash the process (callers observe it when they care).
class Deferred {
  settled = false;
  #promise = null;
  #resolve = null;
  #reject = null;
  #err = null;
  #value;

  get promise() {
    if (this.#promise === null) {
      if (!this.settled) {
        this.#promise = new Promise((res, rej) => { this.#resolve = res; this.#reject = rej; });
      } else {
        this.#promise = this.#err ? Promise.reject(this.#err) : Promise.resolve(this.#value);
        this.#err = null;
        this.#value = undefined;
      }
      this.#promise.catch(() => {});
    }
    return this.#promise;
  }

  settleWith(err, value) {
    this.settled = true;
    if (this.#promise === null) {
      this.#err = err;
      this.#value = value;
    } else if (err) {
      this.#reject(err);
    } else {
      this.#resolve(value);
    }
    this.#resolve = this.#reject = null;
  }
}

function deferred() {
  return new Deferred();
}

// A null deferred (one a stream of another kind never made) is left alone.
function settle(d, err, value) {
  if (d === null || d.settled) return;
  d.settleWith(err || null, value);
}

module.exports = { SessionEvent, StreamEvent, DatagramEvent, defineEventHandler, deferred, settle, kPrivate };

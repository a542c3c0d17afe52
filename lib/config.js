'use strict';
// EndpointConfig, SessionConfig, StreamOptions and ResponseOptions: every
// option is validated here, in JS, before anything reaches C. Options that
// this build cannot honour throw ERR_QUIC_UNSUPPORTED (see docs/api.md).
const net = require('node:net');
const fs = require('node:fs');
const crypto = require('node:crypto');
const binding = require('./binding');
const { codes } = require('./errors');
const { priorityFor } = require('./tls-names');
const { validateBody } = require('./body');
const inspect = require('./inspect');
const {
  validateNotRevoked, validateObject, validateString, validateBoolean, validateInteger, validateProbability, toBuffer,
} = require('./validate');
const { mismatch, integer, nameList } = require('./contract');

const C = binding.constants;
const kNative = Symbol('kNative');
const kTlsKey = Symbol('kTlsKey');
const kSide = Symbol('kSide');
const U62 = 2 ** 53 - 1; // QUIC varints reach 2^62; JS numbers stay exact to 2^53.

// Congestion-control names (position = the value C receives) and the
// maxPayloadSize bounds come from src/options.h, checked here at load.
const { list: CC_NAMES, index: CC } = nameList(C, 'CC_ALGORITHMS');
const CC_DEFAULT = C.CC_DEFAULT;
if (!(CC_DEFAULT in CC)) mismatch(`constants.CC_DEFAULT (${CC_DEFAULT}) is not in CC_ALGORITHMS`);
// The default first: "must be 'cubic', 'reno' or 'bbr'".
const CC_CHOICES = [CC_DEFAULT, ...CC_NAMES.filter((n) => n !== CC_DEFAULT)].map((n) => `'${n}'`);
const CC_EXPECTED = CC_CHOICES.length === 1 ? `must be ${CC_CHOICES[0]}`
  : `must be ${CC_CHOICES.slice(0, -1).join(', ')} or ${CC_CHOICES.at(-1)}`;
const PAYLOAD_MIN = integer(C, 'PAYLOAD_MIN');
const PAYLOAD_MAX = integer(C, 'PAYLOAD_MAX');
const PAYLOAD_DEFAULT = integer(C, 'PAYLOAD_DEFAULT');
// Not given: the C side picks by the path (1452, or loopback's for a peer on
// this host), so it must be a value no given size can take.
const PAYLOAD_BY_PATH = integer(C, 'PAYLOAD_BY_PATH');
if (!(PAYLOAD_BY_PATH < PAYLOAD_MIN && PAYLOAD_MIN <= PAYLOAD_DEFAULT && PAYLOAD_DEFAULT <= PAYLOAD_MAX)) {
  mismatch(`payload bounds ${PAYLOAD_BY_PATH} < ${PAYLOAD_MIN} <= ${PAYLOAD_DEFAULT} <= ${PAYLOAD_MAX} do not hold`);
}

function unsupported(what, why) {
  throw codes.ERR_QUIC_UNSUPPORTED(what, why);
}

// options.webtransport: true, or { maxSessions, origins, protocols }.
function webtransportOptions(o, alpnList) {
  if (!alpnList.includes('h3')) {
    throw codes.ERR_INVALID_ARG_VALUE('options.webtransport', o, "needs alpn 'h3'");
  }
  if (o === true) o = {};
  validateObject(o, 'options.webtransport');
  // A CONNECT that came in 0-RTT is served at once (true) or once the
  // handshake completed (false, the default: a replayed first flight never
  // completes one, so nothing of it reaches the application).
  if (o.allowZeroRtt !== undefined && typeof o.allowZeroRtt !== 'boolean') {
    throw codes.ERR_INVALID_ARG_TYPE('options.webtransport.allowZeroRtt', 'a boolean', o.allowZeroRtt);
  }
  const allowZeroRtt = o.allowZeroRtt === true;
  const maxSessions = optInt(o, 'maxSessions', 'options.webtransport', 1, 1024, 16);
  // The peer's open streams per session (0: only the connection's limits).
  const maxStreamsPerSession = optInt(o, 'maxStreamsPerSession', 'options.webtransport', 0, 2 ** 20, 0);
  // New sessions per second from one client address (0: no limit).
  const newSessionsPerSecond = optInt(o, 'newSessionsPerSecond', 'options.webtransport', 0, 1e6, 0);
  let origins = null;
  if (o.origins !== undefined) {
    if (!Array.isArray(o.origins)) throw codes.ERR_INVALID_ARG_TYPE('options.webtransport.origins', 'an array of strings', o.origins);
    origins = new Set();
    o.origins.forEach((v, i) => {
      validateString(v, `options.webtransport.origins[${i}]`);
      origins.add(v.toLowerCase());
    });
  }
  const protocols = [];
  if (o.protocols !== undefined) {
    if (!Array.isArray(o.protocols)) throw codes.ERR_INVALID_ARG_TYPE('options.webtransport.protocols', 'an array of strings', o.protocols);
    o.protocols.forEach((v, i) => {
      validateString(v, `options.webtransport.protocols[${i}]`);
      if (v.length === 0 || /[\0-\x1f"\\\x7f-\uffff]/.test(v)) {
        throw codes.ERR_INVALID_ARG_VALUE(`options.webtransport.protocols[${i}]`, v, 'must be a non-empty printable ASCII string without quotes or backslashes');
      }
      protocols.push(v);
    });
  }
  return Object.freeze({
    maxSessions, maxStreamsPerSession, newSessionsPerSecond, origins, protocols: Object.freeze(protocols), allowZeroRtt,
  });
}

// allowFlowlabel: the endpoint's own address carries a flow label (issue 4);
// elsewhere a non-zero label is still unsupported.
function readAddress(value, name, defaults, allowFlowlabel = false) {
  if (value === undefined) return { ...defaults };
  validateNotRevoked(value, name);
  if (value instanceof net.SocketAddress) {
    return { address: value.address, port: value.port, family: value.family };
  }
  validateObject(value, name);
  let address = value.address;
  // net.isIP runs a large regular expression: once per address (connect() is hot).
  let kind = 0;
  if (address !== undefined) {
    validateString(address, `${name}.address`);
    kind = net.isIP(address);
  }
  if (value.family !== undefined) validateString(value.family, `${name}.family`);
  const family = value.family === undefined ? (kind === 6 ? 'ipv6' : 'ipv4') : value.family;
  if (family !== 'ipv4' && family !== 'ipv6') {
    throw codes.ERR_INVALID_ARG_VALUE(`${name}.family`, family, "must be 'ipv4' or 'ipv6'");
  }
  if (address === undefined) {
    address = family === 'ipv6' ? (defaults.v6 || '::') : defaults.address;
    validateString(address, `${name}.address`);
    kind = net.isIP(address);
  }
  if (!kind) throw codes.ERR_INVALID_ARG_VALUE(`${name}.address`, address, 'must be an IP address');
  if ((family === 'ipv6') !== (kind === 6)) {
    throw codes.ERR_INVALID_ARG_VALUE(`${name}.address`, address, `is not an ${family} address`);
  }
  const port = value.port === undefined ? defaults.port : validateInteger(value.port, `${name}.port`, 0, 65535);
  if (value.flowlabel !== undefined) {
    validateInteger(value.flowlabel, `${name}.flowlabel`, 0, 0xfffff);
    if (value.flowlabel !== 0 && !allowFlowlabel) {
      unsupported(`${name}.flowlabel`, 'IPv6 flow labels are only supported on the endpoint address');
    }
  }
  return { address, port, family };
}

function optInt(opts, key, name, min, max, dflt) {
  const v = opts[key];
  if (v === undefined) return dflt;
  return validateInteger(v, `${name}.${key}`, min, max);
}

function optBool(opts, key, name, dflt) {
  const v = opts[key];
  if (v === undefined) return dflt;
  validateBoolean(v, `${name}.${key}`);
  return v;
}

function optSecret(opts, key, name, length) {
  const v = opts[key];
  if (v === undefined) return undefined;
  // Binary only, as the seed types it: a string is the wrong type.
  if (typeof v === 'string') {
    throw codes.ERR_INVALID_ARG_TYPE(`${name}.${key}`, 'an ArrayBuffer, TypedArray, DataView or Buffer', v);
  }
  const buf = toBuffer(v, `${name}.${key}`);
  if (typeof v === 'string' || buf.length !== length) {
    throw codes.ERR_INVALID_ARG_VALUE(`${name}.${key}`, v, `must be exactly ${length} bytes`);
  }
  return Buffer.from(buf);
}

class EndpointConfig {
  #address;
  #native;
  #resetTokenSecret;
  #tokenSecret;
  #session; // endpoint-wide settings that ngtcp2 applies per connection
  #loadBalancer = null; // the QUIC-LB connection ID layout (docs/api.md)
  #reusePort = null; // { group }: one port, independent processes (docs/api.md)

  static isEndpointConfig(value) {
    return value != null && typeof value === 'object' && #native in value;
  }

  constructor(options = {}) {
    validateObject(options, 'options');
    const n = new Float64Array(C.EPO_COUNT);
    this.#address = readAddress(options.address, 'options.address', { address: '127.0.0.1', port: 0 }, true);
    // Sent on every IPv6 packet of this endpoint; IPv4 has no flow label.
    const label = options.address?.flowlabel;
    if (label !== undefined && this.#address.family === 'ipv6') n[C.EPO_FLOWLABEL] = Number(label);
    this.#resetTokenSecret = optSecret(options, 'resetTokenSecret', 'options', 16);
    this.#tokenSecret = optSecret(options, 'tokenSecret', 'options', 32);
    n[C.EPO_ADDRESS_LRU_SIZE] = optInt(options, 'addressLRUSize', 'options', 0, 1e7, 1000);
    n[C.EPO_DISABLE_STATELESS_RESET] = optBool(options, 'disableStatelessReset', 'options', false) ? 1 : 0;
    n[C.EPO_MAX_CONNECTIONS_PER_HOST] = optInt(options, 'maxConnectionsPerHost', 'options', 0, 1e9, 100);
    n[C.EPO_MAX_CONNECTIONS_TOTAL] = optInt(options, 'maxConnectionsTotal', 'options', 0, 1e9, 1000);
    n[C.EPO_MAX_STATELESS_RESETS] = optInt(options, 'maxStatelessResets', 'options', 0, 1e9, 10);
    n[C.EPO_RETRY_LIMIT] = optInt(options, 'retryLimit', 'options', 0, 1e9, 10);
    n[C.EPO_RETRY_TOKEN_EXPIRATION] = optInt(options, 'retryTokenExpiration', 'options', 1, 86400 * 365, 600);
    n[C.EPO_TOKEN_EXPIRATION] = optInt(options, 'tokenExpiration', 'options', 1, 86400 * 365, 600);
    n[C.EPO_VALIDATE_ADDRESS] = optBool(options, 'validateAddress', 'options', false) ? 1 : 0;
    n[C.EPO_RX_PACKET_LOSS] = options.rxPacketLoss === undefined ? 0
      : validateProbability(options.rxPacketLoss, 'options.rxPacketLoss');
    n[C.EPO_TX_PACKET_LOSS] = options.txPacketLoss === undefined ? 0
      : validateProbability(options.txPacketLoss, 'options.txPacketLoss');
    if (options.udp !== undefined) {
      validateObject(options.udp, 'options.udp');
      n[C.EPO_IPV6_ONLY] = optBool(options.udp, 'ipv6Only', 'options.udp', false) ? 1 : 0;
      n[C.EPO_RECEIVE_BUFFER_SIZE] = optInt(options.udp, 'receiveBufferSize', 'options.udp', 0, 2 ** 31 - 1, 0);
      n[C.EPO_SEND_BUFFER_SIZE] = optInt(options.udp, 'sendBufferSize', 'options.udp', 0, 2 ** 31 - 1, 0);
      n[C.EPO_TTL] = optInt(options.udp, 'ttl', 'options.udp', 0, 255, 0);
    }
    let cc = CC_DEFAULT;
    if (options.ccAlgorithm !== undefined) {
      validateString(options.ccAlgorithm, 'options.ccAlgorithm');
      if (!(options.ccAlgorithm in CC)) {
        throw codes.ERR_INVALID_ARG_VALUE('options.ccAlgorithm', options.ccAlgorithm, CC_EXPECTED);
      }
      cc = options.ccAlgorithm;
    }
    const v6 = this.#address.family === 'ipv6';
    this.#session = {
      ccAlgorithm: CC[cc],
      maxPayloadSize: optInt(options, 'maxPayloadSize', 'options', PAYLOAD_MIN, PAYLOAD_MAX, PAYLOAD_BY_PATH),
      maxStreamWindow: optInt(options, 'maxStreamWindowOverride', 'options', 1, U62, 0),
      maxWindow: optInt(options, 'maxWindowOverride', 'options', 1, U62, 0),
      ackThreshold: optInt(options, 'unacknowledgedPacketThreshold', 'options', 0, 1e6, 0),
    };
    void v6;
    if (options.loadBalancer !== undefined) this.#loadBalancer = readLoadBalancer(options.loadBalancer);
    if (options.reusePort !== undefined && options.reusePort !== false) {
      this.#reusePort = readReusePort(options.reusePort, this.#address);
      if (this.#loadBalancer?.lengthSelfEncoding) {
        throw codes.ERR_QUIC_UNSUPPORTED('reusePort with loadBalancer.lengthSelfEncoding',
                                         'the worker index takes the first octet\'s low bits');
      }
    }
    this.#native = n;
  }

  // The same frozen object on every read.
  #addressView;
  get address() { return (this.#addressView ??= Object.freeze({ ...this.#address })); }

  // console.log(config): the resolved options; secrets only by their size.
  [inspect.custom](depth, options) {
    const n = this.#native;
    const e = this.#session;
    return inspect.formatObject('EndpointConfig', depth, options, inspect.defined({
      address: inspect.formatAddress(this.#address),
      ccAlgorithm: Object.keys(CC).find((k) => CC[k] === e.ccAlgorithm),
      maxPayloadSize: e.maxPayloadSize === PAYLOAD_BY_PATH ? undefined : e.maxPayloadSize,
      maxStreamWindowOverride: e.maxStreamWindow || undefined,
      maxWindowOverride: e.maxWindow || undefined,
      unacknowledgedPacketThreshold: e.ackThreshold,
      addressLRUSize: n[C.EPO_ADDRESS_LRU_SIZE],
      maxConnectionsPerHost: n[C.EPO_MAX_CONNECTIONS_PER_HOST],
      maxConnectionsTotal: n[C.EPO_MAX_CONNECTIONS_TOTAL],
      maxStatelessResets: n[C.EPO_MAX_STATELESS_RESETS],
      retryLimit: n[C.EPO_RETRY_LIMIT],
      retryTokenExpiration: n[C.EPO_RETRY_TOKEN_EXPIRATION],
      tokenExpiration: n[C.EPO_TOKEN_EXPIRATION],
      validateAddress: n[C.EPO_VALIDATE_ADDRESS] === 1,
      disableStatelessReset: n[C.EPO_DISABLE_STATELESS_RESET] === 1,
      rxPacketLoss: n[C.EPO_RX_PACKET_LOSS] || undefined,
      txPacketLoss: n[C.EPO_TX_PACKET_LOSS] || undefined,
      udp: { ipv6Only: n[C.EPO_IPV6_ONLY] === 1, receiveBufferSize: n[C.EPO_RECEIVE_BUFFER_SIZE],
             sendBufferSize: n[C.EPO_SEND_BUFFER_SIZE], ttl: n[C.EPO_TTL] },
      resetTokenSecret: this.#resetTokenSecret ? inspect.formatBytes(this.#resetTokenSecret) : '<random>',
      tokenSecret: this.#tokenSecret ? inspect.formatBytes(this.#tokenSecret) : '<random>',
      reusePort: this.#reusePort ?? undefined,
    }));
  }

  get [kNative]() {
    return {
      options: this.#native,
      address: this.#address,
      resetTokenSecret: this.#resetTokenSecret,
      tokenSecret: this.#tokenSecret,
      session: this.#session,
      loadBalancer: this.#loadBalancer,
      reusePort: this.#reusePort,
    };
  }
}

// reusePort: true, or { group }: the group's name (1-64 UTF-8 bytes,
// default 'default'). Every process names the port, so 0 is refused.
function readReusePort(v, address) {
  const name = 'options.reusePort';
  let group = 'default';
  if (v !== true) {
    validateObject(v, name);
    if (v.group !== undefined) {
      validateString(v.group, `${name}.group`);
      const bytes = Buffer.byteLength(v.group);
      if (bytes < 1 || bytes > 64 || v.group.includes('\0')) {
        throw codes.ERR_INVALID_ARG_VALUE(`${name}.group`, v.group, 'must be 1 to 64 bytes, without NUL');
      }
      group = v.group;
    }
  }
  if (address.port === 0) {
    throw codes.ERR_INVALID_ARG_VALUE('options.address.port', 0,
      'must be given with reusePort (every process of the group names the same port)');
  }
  return Object.freeze({ group });
}

// The QUIC-LB layout (draft-ietf-quic-load-balancers): server ID 1..15
// bytes, nonce 4..18 bytes (both at most 19), an optional 16-byte AES key,
// config rotation 0..6. The default nonce makes the two fill one AES block.
function readLoadBalancer(lb) {
  const name = 'options.loadBalancer';
  validateObject(lb, name);
  const serverId = Buffer.from(toBuffer(lb.serverId, `${name}.serverId`));
  if (serverId.length < 1 || serverId.length > 15) {
    throw codes.ERR_OUT_OF_RANGE(`${name}.serverId.length`, '>= 1 && <= 15', serverId.length);
  }
  return {
    serverId,
    nonceLength: optInt(lb, 'nonceLength', name, 4, 19 - serverId.length, Math.max(4, 16 - serverId.length)),
    key: optSecret(lb, 'key', name, 16) ?? null,
    configRotation: optInt(lb, 'configRotation', name, 0, 6, 0),
    lengthSelfEncoding: optBool(lb, 'lengthSelfEncoding', name, false),
  };
}

// Longest key, certificate or CA lists and ALPN lists accepted.
const MAX_PEM_LIST = 65536;
const MAX_ALPN_LIST = 1024;

// `field` names Node's object form ({ pem, passphrase } for keys,
// { buf, passphrase } for pfx); `passphrases` collects their passphrases.
function toBufferList(value, name, field = 'pem', passphrases = null) {
  if (value === undefined) return undefined;
  validateNotRevoked(value, name);
  const list = Array.isArray(value) ? value : [value];
  // A bound, so a huge (sparse) array cannot stall the thread.
  if (list.length > MAX_PEM_LIST) throw codes.ERR_OUT_OF_RANGE(`${name}.length`, `<= ${MAX_PEM_LIST}`, list.length);
  return list.map((v, i) => {
    const at = Array.isArray(value) ? `${name}[${i}]` : name;
    if (v != null && typeof v === 'object' && !Array.isArray(v) && field in v) {
      if (passphrases && v.passphrase !== undefined) {
        validateString(v.passphrase, `${at}.passphrase`);
        passphrases[i] = v.passphrase;
      }
      return Buffer.from(toBuffer(v[field], `${at}.${field}`));
    }
    return Buffer.from(toBuffer(v, at));
  });
}

function encodeAlpn(alpn) {
  validateNotRevoked(alpn, 'options.alpn');
  const list = Array.isArray(alpn) ? alpn : [alpn];
  if (list.length === 0) throw codes.ERR_INVALID_ARG_VALUE('options.alpn', alpn, 'must not be empty');
  if (list.length > MAX_ALPN_LIST) throw codes.ERR_OUT_OF_RANGE('options.alpn.length', `<= ${MAX_ALPN_LIST}`, list.length);
  const parts = list.map((p, i) => {
    if (typeof p !== 'string') throw codes.ERR_INVALID_ARG_TYPE(`options.alpn[${i}]`, 'of type string', p);
    const b = Buffer.from(p, 'latin1');
    if (b.length < 1 || b.length > 255 || /[^\x21-\x7e]/.test(p)) {
      throw codes.ERR_INVALID_ARG_VALUE('options.alpn', p, 'must be 1 to 255 printable ASCII characters');
    }
    return Buffer.concat([Buffer.from([b.length]), b]);
  });
  return { list, wire: Buffer.concat(parts) };
}

// Secure options this build does not implement, and why (docs/api.md).
const TLS_UNSUPPORTED = {
  clientCertEngine: 'OpenSSL engines do not exist in GnuTLS',
  enableTLSTrace: 'OpenSSL tracing does not exist in GnuTLS (GNUTLS_DEBUG_LEVEL=n in the environment logs to stderr)',
  privateKey: 'OpenSSL engines do not exist in GnuTLS',
  pskCallback: 'external pre-shared keys are not implemented',
  secureOptions: 'SSL_OP_* flags are OpenSSL settings with no GnuTLS meaning',
  sessionIdContext: 'GnuTLS resumes TLS 1.3 sessions from tickets only; separate ticketKeys keep servers apart',
};

// The seed's types for secure options checked nowhere else (the ones this
// build cannot honour, and clientHello, which only servers use): a wrong
// type is ERR_INVALID_ARG_TYPE on either side, before ERR_QUIC_UNSUPPORTED.
const TLS_TYPES = {
  clientCertEngine: 'string',
  clientHello: 'boolean',
  enableTLSTrace: 'boolean',
  privateKey: 'object',
  pskCallback: 'function',
  secureOptions: 'number',
  sessionIdContext: 'string',
};

function validateSecureTypes(secure, name) {
  for (const [key, type] of Object.entries(TLS_TYPES)) {
    const v = secure[key];
    if (v === undefined) continue;
    if (type === 'object') {
      validateObject(v, `${name}.${key}`);
      for (const field of ['engine', 'identifier']) {
        if (v[field] !== undefined) validateString(v[field], `${name}.${key}.${field}`);
      }
    } else if (typeof v !== type) {
      throw codes.ERR_INVALID_ARG_TYPE(`${name}.${key}`, `of type ${type}`, v);
    }
  }
}

const TP = [
  // name, native index, min, max, default
  ['initialMaxData', 'SO_INITIAL_MAX_DATA', 0, U62, 1 << 20],
  ['initialMaxStreamDataBidiLocal', 'SO_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL', 0, U62, 256 * 1024],
  ['initialMaxStreamDataBidiRemote', 'SO_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE', 0, U62, 256 * 1024],
  ['initialMaxStreamDataUni', 'SO_INITIAL_MAX_STREAM_DATA_UNI', 0, U62, 256 * 1024],
  ['initialMaxStreamsBidi', 'SO_INITIAL_MAX_STREAMS_BIDI', 0, 2 ** 50, 100],
  ['initialMaxStreamsUni', 'SO_INITIAL_MAX_STREAMS_UNI', 0, 2 ** 50, 100],
  ['ackDelayExponent', 'SO_ACK_DELAY_EXPONENT', 0, 20, 3],
  ['maxAckDelay', 'SO_MAX_ACK_DELAY', 0, 2 ** 14 - 1, C.MAX_ACK_DELAY_DEFAULT],
  ['activeConnectionIdLimit', 'SO_ACTIVE_CONNECTION_ID_LIMIT', 2, 8, 2],
  ['maxDatagramFrameSize', 'SO_MAX_DATAGRAM_FRAME_SIZE', 0, 65535, 0],
  ['maxIdleTimeout', 'SO_MAX_IDLE_TIMEOUT', 0, U62, 30000],
];

class SessionConfig {
  #side;
  #native;
  #tls;
  #alpn;
  #hostname;
  #webtransport = null;

  static isSessionConfig(value) {
    return value != null && typeof value === 'object' && #native in value;
  }

  constructor(side, options = {}) {
    validateString(side, 'side');
    if (side !== 'client' && side !== 'server') {
      throw codes.ERR_INVALID_ARG_VALUE('side', side, "must be 'client' or 'server'");
    }
    validateObject(options, 'options');
    this.#side = side;
    const n = new Float64Array(C.SO_COUNT);

    const alpn = encodeAlpn(options.alpn === undefined ? 'h3' : options.alpn);
    this.#alpn = alpn;

    // HTTP/3 settings, used when 'h3' is negotiated.
    const h3 = options.http3 === undefined ? {} : options.http3;
    validateObject(h3, 'options.http3');
    n[C.SO_MAX_FIELD_SECTION_SIZE] = optInt(h3, 'maxFieldSectionSize', 'options.http3', 1, 2 ** 32 - 1, 64 * 1024);
    n[C.SO_QPACK_MAX_DTABLE_CAPACITY] = optInt(h3, 'qpackMaxDTableCapacity', 'options.http3', 0, 2 ** 20, 4096);
    n[C.SO_QPACK_ENCODER_MAX_DTABLE_CAPACITY] =
      optInt(h3, 'qpackEncoderMaxDTableCapacity', 'options.http3', 0, 2 ** 20, 4096);
    n[C.SO_QPACK_BLOCKED_STREAMS] = optInt(h3, 'qpackBlockedStreams', 'options.http3', 0, 65535, 100);

    if (options.hostname !== undefined) {
      validateString(options.hostname, 'options.hostname');
      if (options.hostname.length === 0 || options.hostname.length > 253) {
        throw codes.ERR_INVALID_ARG_VALUE('options.hostname', options.hostname, 'must be 1 to 253 characters');
      }
    }
    this.#hostname = options.hostname;

    // Connection IDs, preferred addresses and qlog (issue 4), for the binding.
    const paths = { qlog: optBool(options, 'qlog', 'options', false) };
    for (const key of ['dcid', 'scid']) {
      if (options[key] !== undefined) {
        const b = Buffer.from(toBuffer(options[key], `options.${key}`));
        if (b.length > 20) throw codes.ERR_OUT_OF_RANGE(`options.${key}`, 'at most 20 bytes', b.length);
        // RFC 9000 7.2: a client's first DCID has at least 8 bytes (servers drop shorter ones).
        if (key === 'dcid' && b.length < 8) throw codes.ERR_OUT_OF_RANGE('options.dcid', '8 to 20 bytes', b.length);
        // A zero-length SCID would need routing by address, which endpoints do not do.
        if (key === 'scid' && b.length === 0) unsupported('options.scid', 'zero-length connection IDs are not supported');
        paths[key] = b;
      }
    }
    if (options.preferredAddressStrategy !== undefined) {
      validateString(options.preferredAddressStrategy, 'options.preferredAddressStrategy');
      if (options.preferredAddressStrategy !== 'use' && options.preferredAddressStrategy !== 'ignore') {
        throw codes.ERR_INVALID_ARG_VALUE('options.preferredAddressStrategy', options.preferredAddressStrategy,
                                          "must be 'use' or 'ignore'");
      }
      paths.ignorePreferred = options.preferredAddressStrategy === 'ignore';
    }

    // Test only (docs/api.md): play a client that ignores the server's
    // per-stream flow-control credit, to reach the server's
    // FLOW_CONTROL_ERROR path.
    if (options.testing !== undefined) {
      validateObject(options.testing, 'options.testing');
      n[C.SO_TEST_IGNORE_STREAM_CREDIT] = optBool(options.testing, 'ignoreStreamCredit', 'options.testing', false) ? 1 : 0;
    }

    const tp = options.transportParams === undefined ? {} : options.transportParams;
    validateObject(tp, 'options.transportParams');
    for (const [name, idx, min, max, dflt] of TP) {
      n[C[idx]] = optInt(tp, name, 'options.transportParams', min, max, dflt);
    }
    // WebTransport over HTTP/3 (lib/webtransport.js).
    if (options.webtransport !== undefined && options.webtransport !== false) {
      this.#webtransport = webtransportOptions(options.webtransport, alpn.list);
      n[C.SO_WT_MAX_SESSIONS] = this.#webtransport.maxSessions;
      n[C.SO_WT_MAX_STREAMS] = this.#webtransport.maxStreamsPerSession;
    }
    // Raw QUIC accepts datagrams by default; HTTP/3 carries none of its own
    // (HTTP/3 datagrams belong to WebTransport), so h3-only configs do not.
    if (tp.maxDatagramFrameSize === undefined) {
      n[C.SO_MAX_DATAGRAM_FRAME_SIZE] = this.#webtransport ? 65535 : alpn.list.every((p) => p === 'h3') ? 0 : 1200;
    } else if (this.#webtransport && n[C.SO_MAX_DATAGRAM_FRAME_SIZE] === 0) {
      throw codes.ERR_OUT_OF_RANGE('options.transportParams.maxDatagramFrameSize', '> 0 with webtransport', 0);
    }
    n[C.SO_DISABLE_ACTIVE_MIGRATION] = optBool(tp, 'disableActiveMigration', 'options.transportParams', false) ? 1 : 0;
    // HTTP/3 needs three unidirectional streams of the peer's own (control
    // and QPACK): a smaller limit would fail every h3 handshake.
    if (alpn.list.includes('h3') && n[C.SO_INITIAL_MAX_STREAMS_UNI] < 3) {
      throw codes.ERR_OUT_OF_RANGE('options.transportParams.initialMaxStreamsUni', '>= 3 when ALPN h3 is offered',
                                   n[C.SO_INITIAL_MAX_STREAMS_UNI]);
    }
    if (tp.preferredAddress !== undefined) {
      const pa = tp.preferredAddress;
      validateObject(pa, 'options.transportParams.preferredAddress');
      for (const family of ['ipv4', 'ipv6']) {
        if (pa[family] === undefined) continue;
        const at = `options.transportParams.preferredAddress.${family}`;
        const v = pa[family];
        if (!(v instanceof net.SocketAddress)) validateObject(v, at);
        const r = readAddress(v instanceof net.SocketAddress ? v : { ...v, family }, at,
                              { address: '0.0.0.0', v6: '::', port: 0 });
        if (r.family !== family) throw codes.ERR_INVALID_ARG_VALUE(`${at}.family`, r.family, `must be '${family}'`);
        // An unspecified address cannot be moved to; port 0 means the listening endpoint's own port.
        if (r.address === '0.0.0.0' || r.address === '::') {
          throw codes.ERR_INVALID_ARG_VALUE(`${at}.address`, r.address, 'must be a specific address');
        }
        paths[family === 'ipv4' ? 'preferredIpv4' : 'preferredIpv6'] = { address: r.address, port: r.port };
      }
    }
    // A session whose handshake has not completed this long after it was
    // created gives up (ms; 0 = never).
    n[C.SO_HANDSHAKE_TIMEOUT] = optInt(options, 'handshakeTimeout', 'options', 0, 3600000, 10000);

    const secure = options.secure === undefined ? {} : options.secure;
    validateObject(secure, 'options.secure');
    validateSecureTypes(secure, 'options.secure');
    for (const [key, why] of Object.entries(TLS_UNSUPPORTED)) {
      const v = secure[key];
      if (v !== undefined && v !== false) unsupported(`options.secure.${key}`, why);
    }
    const keyPassphrases = [];
    const pfxPassphrases = [];
    const tls = {
      key: toBufferList(secure.key, 'options.secure.key', 'pem', keyPassphrases),
      cert: toBufferList(secure.cert, 'options.secure.cert'),
      ca: toBufferList(secure.ca, 'options.secure.ca'),
      alpn: alpn.wire,
      rejectUnauthorized: optBool(secure, 'rejectUnauthorized', 'options.secure', true),
      verifyHostname: optBool(secure, 'verifyHostnameIdentity', 'options.secure', true),
      // TLS hooks (issue 4).
      pfx: toBufferList(secure.pfx, 'options.secure.pfx', 'buf', pfxPassphrases),
      crl: toBufferList(secure.crl, 'options.secure.crl'),
      priority: priorityFor(secure, 'options.secure'),
      requestCert: optBool(secure, 'requestPeerCertificate', 'options.secure', false),
      keylog: optBool(secure, 'keylog', 'options.secure', false),
      clientHello: side === 'server' && optBool(secure, 'clientHello', 'options.secure', false),
      ocsp: optBool(secure, 'ocsp', 'options.secure', false),
    };
    if (tls.key && keyPassphrases.length) tls.keyPassphrases = Array.from(tls.key, (_, i) => keyPassphrases[i] ?? null);
    if (tls.pfx && pfxPassphrases.length) tls.pfxPassphrases = Array.from(tls.pfx, (_, i) => pfxPassphrases[i] ?? null);
    if (secure.dhparam !== undefined && secure.dhparam !== 'auto') {
      // TLS 1.3 negotiates named groups only, so custom DH parameters are
      // never used (Node's tls ignores them over TLS 1.3 too); checked, kept out.
      toBuffer(secure.dhparam, 'options.secure.dhparam');
    }
    if (secure.passphrase !== undefined) {
      validateString(secure.passphrase, 'options.secure.passphrase');
      tls.passphrase = secure.passphrase;
    }
    // Resumption: tickets sealed under ticketKeys (48 bytes, as Node's tls),
    // valid sessionTimeout seconds. Only servers issue tickets.
    if (secure.ticketKeys !== undefined) {
      if (typeof secure.ticketKeys === 'string') {
        throw codes.ERR_INVALID_ARG_TYPE('options.secure.ticketKeys', 'a Buffer, TypedArray, DataView or ArrayBuffer',
                                         secure.ticketKeys);
      }
      const keys = toBuffer(secure.ticketKeys, 'options.secure.ticketKeys');
      if (keys.length !== 48) {
        throw codes.ERR_INVALID_ARG_VALUE('options.secure.ticketKeys', secure.ticketKeys, 'must be exactly 48 bytes');
      }
      tls.ticketKeys = Buffer.from(keys);
    }
    if (secure.sessionTimeout !== undefined) {
      tls.sessionTimeout = optInt(secure, 'sessionTimeout', 'options.secure', 1, 7 * 24 * 3600, 300);
    }
    if ((tls.key?.length || 0) !== (tls.cert?.length || 0)) {
      throw codes.ERR_INVALID_ARG_VALUE('options.secure', '{ key, cert }',
                                        'must have as many key entries as cert entries');
    }
    if (side === 'server' && !tls.key && !tls.pfx) {
      throw codes.ERR_INVALID_ARG_VALUE('options.secure', secure, 'needs key and cert (or pfx) for a server');
    }
    if (side === 'client' && !tls.ca && process.env.NODE_EXTRA_CA_CERTS) {
      // Node's tls honours NODE_EXTRA_CA_CERTS on top of the system store.
      if (fs.existsSync(process.env.NODE_EXTRA_CA_CERTS)) tls.extraCaFile = process.env.NODE_EXTRA_CA_CERTS;
    }
    tls.paths = paths;
    this.#tls = tls;
    this.#native = n;
  }

  get side() { return this.#side; }
  #alpnView; // the same frozen array on every read
  get alpn() { return (this.#alpnView ??= Object.freeze(this.#alpn.list.slice())); }
  get hostname() { return this.#hostname; }
  // { maxSessions, origins (Set or null: any), protocols } or null.
  get webtransport() { return this.#webtransport; }

  // The handshake time limit in ms (0: none), for error messages.
  get handshakeTimeout() { return this.#native[C.SO_HANDSHAKE_TIMEOUT]; }

  // console.log(config): the resolved options; keys and certificates only
  // by their count, secrets by their size.
  [inspect.custom](depth, options) {
    const n = this.#native;
    const t = this.#tls;
    const tp = {};
    for (const [name, idx] of TP) tp[name] = n[C[idx]];
    tp.disableActiveMigration = n[C.SO_DISABLE_ACTIVE_MIGRATION] === 1;
    const p = t.paths || {};
    if (p.preferredIpv4 || p.preferredIpv6) {
      tp.preferredAddress = inspect.defined({ ipv4: inspect.formatAddress(p.preferredIpv4),
                                              ipv6: inspect.formatAddress(p.preferredIpv6) });
    }
    return inspect.formatObject('SessionConfig', depth, options, inspect.defined({
      side: this.#side,
      alpn: this.#alpn.list.length === 1 ? this.#alpn.list[0] : this.#alpn.list.slice(),
      hostname: this.#hostname,
      handshakeTimeout: n[C.SO_HANDSHAKE_TIMEOUT],
      qlog: p.qlog || undefined,
      dcid: p.dcid ? inspect.formatBytes(p.dcid) : undefined,
      scid: p.scid ? inspect.formatBytes(p.scid) : undefined,
      preferredAddressStrategy: p.ignorePreferred === undefined ? undefined : p.ignorePreferred ? 'ignore' : 'use',
      transportParams: tp,
      http3: {
        maxFieldSectionSize: n[C.SO_MAX_FIELD_SECTION_SIZE],
        qpackMaxDTableCapacity: n[C.SO_QPACK_MAX_DTABLE_CAPACITY],
        qpackEncoderMaxDTableCapacity: n[C.SO_QPACK_ENCODER_MAX_DTABLE_CAPACITY],
        qpackBlockedStreams: n[C.SO_QPACK_BLOCKED_STREAMS],
      },
      secure: inspect.defined({
        key: inspect.formatList(t.key, 'key'),
        cert: inspect.formatList(t.cert, 'certificate'),
        pfx: inspect.formatList(t.pfx, 'bundle'),
        ca: t.ca ? inspect.formatList(t.ca, 'CA') : this.#side === 'client' ? '<system store>' : undefined,
        crl: inspect.formatList(t.crl, 'CRL'),
        passphrase: t.passphrase !== undefined ? '<set>' : undefined,
        rejectUnauthorized: t.rejectUnauthorized,
        verifyHostnameIdentity: this.#side === 'client' ? t.verifyHostname : undefined,
        requestPeerCertificate: this.#side === 'server' ? t.requestCert : undefined,
        priority: t.priority || undefined,
        clientHello: t.clientHello || undefined,
        ocsp: t.ocsp || undefined,
        keylog: t.keylog || undefined,
        ticketKeys: t.ticketKeys ? inspect.formatBytes(t.ticketKeys) : undefined,
        sessionTimeout: t.sessionTimeout,
      }),
    }));
  }

  // A digest of every TLS input of this config (keys, certificates, CAs,
  // passphrases, ALPN, flags, lists), so connections whose TLS inputs are
  // equal can share one native TLS context. Computed once.
  #tlsKey;
  get [kTlsKey]() {
    if (this.#tlsKey === undefined) {
      const h = crypto.createHash('sha256');
      const walk = (v) => {
        if (v === undefined || v === null) {
          h.update('\0n');
        } else if (ArrayBuffer.isView(v)) {
          h.update(`\0b${v.byteLength}:`);
          h.update(v);
        } else if (Array.isArray(v)) {
          h.update(`\0a${v.length}`);
          v.forEach(walk);
        } else if (typeof v === 'object') {
          const keys = Object.keys(v).sort();
          h.update(`\0o${keys.length}`);
          for (const k of keys) {
            h.update(`\0k${k}`);
            walk(v[k]);
          }
        } else {
          h.update(`\0${typeof v}${String(v)}`);
        }
      };
      walk(this.#side);
      walk(this.#tls);
      this.#tlsKey = h.digest('hex');
    }
    return this.#tlsKey;
  }

  // Merges endpoint-wide settings; returns what the binding takes.
  [kNative](endpointSession, remoteAddress) {
    const n = Float64Array.from(this.#native);
    n[C.SO_CC_ALGORITHM] = endpointSession.ccAlgorithm;
    n[C.SO_MAX_PAYLOAD_SIZE] = endpointSession.maxPayloadSize;
    n[C.SO_MAX_STREAM_WINDOW] = endpointSession.maxStreamWindow;
    n[C.SO_MAX_WINDOW] = endpointSession.maxWindow;
    n[C.SO_UNACKNOWLEDGED_PACKET_THRESHOLD] = endpointSession.ackThreshold;
    // Per connection only the names differ: inherit the rest rather than
    // copy every TLS option for each connect().
    const tls = Object.create(this.#tls);
    if (this.#side === 'client') {
      const name = this.#hostname ?? remoteAddress;
      tls.verifyName = name;
      // SNI carries host names only, never IP literals (RFC 6066).
      if (!net.isIP(name)) tls.servername = name;
    }
    return { options: n, tls };
  }
}

// Header options are plain objects, promises of them, or functions (sync or
// async) that return them (checked in full when they are sent, see
// lib/http3.js).
function validateHeaderOptions(options, keys) {
  for (const key of keys) {
    const v = options[key];
    validateNotRevoked(v, `options.${key}`);
    if (typeof v === 'function') continue;
    if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v))) {
      throw codes.ERR_INVALID_ARG_TYPE(`options.${key}`, 'an object, a Promise or a Function', v);
    }
  }
}

// An AbortSignal option (open(), respondWith(), connect(), close()).
function optSignal(options, name = 'options.signal') {
  const signal = options.signal;
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw codes.ERR_INVALID_ARG_TYPE(name, 'an instance of AbortSignal', signal);
  return signal;
}

class StreamOptions {
  #signal;
  #unidirectional;
  #headers;
  #trailers;
  #body;

  static isStreamOptions(value) {
    return value != null && typeof value === 'object' && #body in value;
  }

  constructor(options = {}) {
    validateObject(options, 'options');
    this.#unidirectional = optBool(options, 'unidirectional', 'options', false);
    this.#headers = options.headers;
    this.#trailers = options.trailers;
    this.#body = options.body;
    validateHeaderOptions(options, ['headers', 'trailers']);
    validateBody(options.body);
    this.#signal = optSignal(options);
  }

  get unidirectional() { return this.#unidirectional; }
  get signal() { return this.#signal; }
  get headers() { return this.#headers; }
  get trailers() { return this.#trailers; }
  get body() { return this.#body; }

  // console.log(options): header objects as they are, the body by its kind.
  [inspect.custom](depth, options) {
    return inspect.formatObject('StreamOptions', depth, options, inspect.defined({
      unidirectional: this.#unidirectional,
      headers: this.#headers,
      trailers: this.#trailers,
      body: inspect.describeBody(this.#body),
    }));
  }
}

class ResponseOptions {
  #signal;
  #headers;
  #hints;
  #trailers;
  #body;

  static isResponseOptions(value) {
    return value != null && typeof value === 'object' && #body in value;
  }

  constructor(options = {}) {
    validateObject(options, 'options');
    validateHeaderOptions(options, ['headers', 'trailers']);
    if (options.hints !== undefined && typeof options.hints !== 'function' &&
        (options.hints === null || typeof options.hints !== 'object')) {
      throw codes.ERR_INVALID_ARG_TYPE('options.hints', 'an object, an array of objects, a Promise or a Function',
                                       options.hints);
    }
    validateBody(options.body);
    this.#signal = optSignal(options);
    this.#headers = options.headers;
    this.#hints = options.hints;
    this.#trailers = options.trailers;
    this.#body = options.body;
  }

  get signal() { return this.#signal; }
  get headers() { return this.#headers; }
  get hints() { return this.#hints; }
  get trailers() { return this.#trailers; }
  get body() { return this.#body; }

  // console.log(options): header objects as they are, the body by its kind.
  [inspect.custom](depth, options) {
    return inspect.formatObject('ResponseOptions', depth, options, inspect.defined({
      hints: this.#hints,
      headers: this.#headers,
      trailers: this.#trailers,
      body: inspect.describeBody(this.#body),
    }));
  }
}

module.exports = { EndpointConfig, SessionConfig, StreamOptions, ResponseOptions, readAddress, kNative, kSide, kTlsKey };
module.exports.optSignal = optSignal;

'use strict';
// quic: QUIC for Node.js. The API follows the net/quic design document.
const { Endpoint } = require('./endpoint');
const { Session } = require('./session');
const {
  Stream, WebTransportStreamEvent, WebTransportSendStream, WebTransportReceiveStream, WebTransportBidirectionalStream,
} = require('./stream');
const { EndpointConfig, SessionConfig, StreamOptions, ResponseOptions } = require('./config');
const { SessionEvent, StreamEvent, DatagramEvent } = require('./events');
const { EndpointStats, SessionStats, StreamStats } = require('./stats');
const binding = require('./binding');
const { ClientHello, OCSPRequest, OCSPResponse, SecureContext, createSecureContext } = require('./tls-hooks');
const { WebTransport, WebTransportSession, WebTransportRequest, WebTransportEvent, WebTransportError } = require('./webtransport');

module.exports = {
  Endpoint,
  EndpointConfig,
  Session,
  SessionConfig,
  Stream,
  StreamOptions,
  ResponseOptions,
  SessionEvent,
  StreamEvent,
  DatagramEvent,
  EndpointStats,
  SessionStats,
  StreamStats,
  ClientHello,
  OCSPRequest,
  OCSPResponse,
  SecureContext,
  createSecureContext,
  WebTransport,
  WebTransportSession,
  WebTransportRequest,
  WebTransportEvent,
  WebTransportError,
  WebTransportStreamEvent,
  WebTransportSendStream,
  WebTransportReceiveStream,
  WebTransportBidirectionalStream,
  // Bytes the C core (ngtcp2 included) holds right now: for leak tests.
  liveMemory: () => binding.liveMemory(),
  versions: { tls: binding.gnutlsVersion },
};

// The fetch() dispatcher (lib/fetch.js) loads undici, which takes longer to
// load than the rest of the package: it is loaded when first asked for.
Object.defineProperty(module.exports, 'Http3Dispatcher', {
  enumerable: true,
  configurable: true,
  get: () => require('./fetch').Http3Dispatcher,
});

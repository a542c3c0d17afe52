import quic from './index.js';

export const {
  Endpoint, EndpointConfig, Session, SessionConfig, Stream, StreamOptions, ResponseOptions,
  SessionEvent, StreamEvent, DatagramEvent, EndpointStats, SessionStats, StreamStats, liveMemory, versions,
  ClientHello, OCSPRequest, OCSPResponse, SecureContext, createSecureContext,
  WebTransport, WebTransportSession, WebTransportRequest, WebTransportEvent, WebTransportError,
  WebTransportStreamEvent, WebTransportSendStream, WebTransportReceiveStream, WebTransportBidirectionalStream,
} = quic;
export default quic;

// Deliberate misuse: every line marked `// error` must be a type error, and
// no other line may be (test/types.test.js checks both).
import {
    Endpoint, EndpointConfig, Session, SessionConfig, Stream, StreamOptions, StreamEvent, createSecureContext,
    type SessionTicket,
    WebTransport, WebTransportSession, WebTransportRequest, WebTransportError, WebTransportStreamEvent, WebTransportSendStream,
    type EndpointShareHandle,
} from 'quic';
import { Http3Dispatcher } from 'quic/fetch';

const server = new Endpoint({ ccAlgorithm: 'vegas' }); // error
new EndpointConfig({ resetTokenSecret: 'sixteen-chars!!!' }); // error
new SessionConfig('peer', {}); // error
new SessionConfig('client', { preferredAddressStrategy: 'maybe' }); // error
new SessionConfig('client', { alpn: 5 }); // error
new SessionConfig('client', { transportParams: { maxIdleTimeout: '30s' } }); // error
new SessionConfig('server', { secure: { ticketKeys: 'x'.repeat(48) } }); // error
new Session(); // error
new Stream(); // error
new StreamOptions({ body: 5 }); // error
createSecureContext(); // error
new Http3Dispatcher({ headersTimeout: '10s' }); // error
server.onsession = (event: StreamEvent) => { void event; }; // error
server.addEventListener('session', (event) => { void event.stream; }); // error

const session = server.connect({ address: '127.0.0.1', port: 443 }, { hostname: 'localhost' });
session.open({ unidirectional: 'yes' }); // error
session.datagram(42); // error
void session.close({ signal: 'soon' }); // error
session.addEventListener('datagram', (event) => { const text: string = event.datagram; void text; }); // error
const ticket: SessionTicket = session.sessionTicket; // error
const count: number = session.stats.bytesSent; // error
void session.stats.packetsLost; // error
session.onstream = ({ stream, respondWith }) => {
    const id: number = stream.id; // error
    respondWith({ body: 'x' }); // error
    void id;
};
const stream = session.open();
const status: number = (await stream.headers)[':status']; // error
void ticket; void count; void status;

// Port sharing and the newer core members
Endpoint.from({ group: 1 }); // error
const shareHandle: EndpointShareHandle = server.share();
shareHandle.group = 2; // error
new Endpoint({ loadBalancer: { nonceLength: 4 } }); // error
stream.committed = Promise.resolve(); // error

// WebTransport: the client's options
new WebTransport(42); // error
new WebTransport('https://localhost/', { version: 'draft03' }); // error
new WebTransport('https://localhost/', { congestionControl: 'fast' }); // error
new WebTransport('https://localhost/', { serverCertificateHashes: [{ algorithm: 'sha-256', value: 'ab12' }] }); // error
new WebTransport('https://localhost/', { allowPooling: 'yes' }); // error
new WebTransport('https://localhost/', { protocols: 'chat' }); // error
new WebTransport('https://localhost/', { endpoint: session }); // error
// ... its members
const wt = new WebTransport('https://localhost/');
wt.version = 'draft02'; // error
if (wt.version === 'draft03') void wt; // error
wt.datagrams.maxDatagramSize = 1000; // error
wt.datagrams.incomingHighWaterMark = '64'; // error
wt.datagrams.outgoingMaxAge = undefined; // error
wt.close({ closeCode: 1n }); // error
void wt.exportKeyingMaterial(5); // error
const stats = await wt.getStats();
const lost: number = stats.bytesLost; // error
const sent: number = stats.bytesSent; // error
const wtSent: number = stats.datagramsSent;
const uni = await wt.createUnidirectionalStream();
uni.onsendsideaborted = (event: StreamEvent) => { void event; }; // error
uni.addEventListener('sendsideaborted', (event) => { const code: string = event.streamErrorCode ?? ''; void code; }); // error
// ... the classes only the library makes, and WebTransportError's options
new WebTransportSession(); // error
new WebTransportRequest(); // error
new WebTransportStreamEvent(); // error
new WebTransportSendStream(); // error
new WebTransportError('gone', { source: 'connection' }); // error
// WebTransport: the server's option and the 'webtransport' event
new SessionConfig('server', { webtransport: { maxSessions: '4' } }); // error
new SessionConfig('server', { webtransport: { origins: 'https://example.com' } }); // error
session.onwebtransport = (event: StreamEvent) => { void event; }; // error
session.onwebtransport = ({ request }) => {
    request.accept({ protocol: 5 }); // error
    request.reject('403'); // error
    const early: boolean = request.early;
    const direct: WebTransport = request.accept(); // error
    void early; void direct;
};
void lost; void sent; void wtSent;

// The same kinds of misuse in the form an application writes them: each directive needs its error
// (an unused one is itself an error, on a line not marked above).
// @ts-expect-error: a bad version string
new WebTransport('https://localhost/', { version: 'draft-16' });
// @ts-expect-error: a wrong option type
new WebTransport('https://localhost/', { requireUnreliable: 1 });
// @ts-expect-error: a read-only member
wt.datagrams.outgoingQueued = 0;

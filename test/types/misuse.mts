// Deliberate misuse: every line marked `// error` must be a type error, and
// no other line may be (test/types.test.js checks both).
import {
    Endpoint, EndpointConfig, Session, SessionConfig, Stream, StreamOptions, StreamEvent, createSecureContext,
    type SessionTicket,
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

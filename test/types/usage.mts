// Uses every class of the public API with its documented types; compiled by
// test/types.test.js with `tsc --noEmit --strict` and must have no error.
// It is never run.
import quic, {
    Endpoint, EndpointConfig, Session, SessionConfig, Stream, StreamOptions, ResponseOptions,
    SessionEvent, StreamEvent, DatagramEvent, EndpointStats, SessionStats, StreamStats,
    ClientHello, OCSPRequest, OCSPResponse, SecureContext, createSecureContext, liveMemory, versions,
} from 'quic';
import type {
    IncomingHeaders, OutgoingHeaders, SessionTicket, QuicTransportError, QuicApplicationError,
    QuicHandshakeTimeoutError, QuicErrorCode, Body,
} from 'quic';
import { Http3Dispatcher, type Http3DispatcherOptions } from 'quic/fetch';
import { setGlobalDispatcher, request, interceptors, fetch as undiciFetch } from 'undici';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { SocketAddress } from 'node:net';
import { Readable } from 'node:stream';
import { X509Certificate } from 'node:crypto';

const key = readFileSync('server-key.pem');
const cert = readFileSync('server-cert.pem');
const ca = readFileSync('ca.pem');

// Endpoint and EndpointConfig
const config = new EndpointConfig({
    address: { address: '::', port: 4433, family: 'ipv6' },
    resetTokenSecret: new Uint8Array(16),
    ccAlgorithm: 'bbr',
    maxConnectionsPerHost: 10n,
    udp: { ipv6Only: false, ttl: 64 },
    validateAddress: true,
});
const configAddress: { address: string; port: number } = config.address;
const isConfig: boolean = EndpointConfig.isEndpointConfig(config);
const server = new Endpoint(config);
const other = new Endpoint({ address: new SocketAddress({ address: '127.0.0.1', port: 0 }) });
server.onsession = function ({ session }) {
    const self: Endpoint = this;
    void self;
    session.onstream = async ({ stream, respondWith }) => {
        const headers: IncomingHeaders = await stream.headers;
        const status: number | undefined = headers[':status'];
        const path = headers[':path'];
        void status;
        respondWith?.({
            hints: () => ({ link: '</a.css>; rel=preload' }),
            headers: { 'content-type': 'text/plain', 'x-path': String(path), 'x-n': 1, 'x-many': ['a', 'b'] },
            body: open('file.txt'),
            trailers: async () => ({ 'x-done': 1n }),
            signal: AbortSignal.timeout(1000),
        });
    };
    session.ondatagram = (event) => {
        const bytes: ArrayBuffer = event.datagram;
        const early: boolean = event.early;
        void bytes; void early;
    };
};
server.addEventListener('session', (event) => {
    const s: Session = event.session;
    const name: 'session' = event.name;
    void s; void name;
}, { once: true });
server.addEventListener('session', { handleEvent(event: SessionEvent) { void event.session; } });
server.listen({
    alpn: ['h3', 'myproto'],
    secure: { key, cert, ocsp: true, clientHello: true, ticketKeys: Buffer.alloc(48), sessionTimeout: 300 },
    transportParams: { maxIdleTimeout: 30_000, initialMaxStreamsBidi: 100n, preferredAddress: { ipv4: { address: '127.0.0.2' } } },
    http3: { maxFieldSectionSize: 65536 },
});
const bound: SocketAddress | undefined = server.address;
const endpointStats: EndpointStats = server.stats;
const sent: bigint = endpointStats.bytesSent;
const json: number = endpointStats.toJSON().bytesSent;
const fields: readonly string[] = EndpointStats.fields;
void configAddress; void isConfig; void other; void bound; void sent; void json; void fields;

// Client side: SessionConfig, Session, Stream, StreamOptions
const clientConfig = new SessionConfig('client', { hostname: 'localhost', secure: { ca }, qlog: true });
const alpns: readonly string[] = clientConfig.alpn;
const isSession: boolean = SessionConfig.isSessionConfig(clientConfig);
const client = new Endpoint();
const session: Session = client.connect({ address: '127.0.0.1', port: 4433 }, { hostname: 'localhost', secure: { ca }, signal: AbortSignal.timeout(5000) });
const again: Session = client.connect(new SocketAddress({ address: '127.0.0.1', port: 4433 }), clientConfig);
await session.handshake;
const alpn: string | undefined = session.alpn;
const cipher = session.cipher;
const cipherName: string | undefined = cipher?.name;
const peer: X509Certificate | undefined = session.peerCertificate;
const problem = session.validationError;
const code: string | undefined = problem?.code;
const remote: SocketAddress | undefined = session.remoteAddress;
const ticket: SessionTicket | undefined = session.sessionTicket;
if (ticket) client.connect({ port: 4433 }, { hostname: 'localhost' }, ticket);
const ok: boolean = session.datagram('hello', 'utf8') && session.datagram(new Uint8Array(4));
const max: number = session.maxDatagramSize;
const qlog: Readable | undefined = session.qlog;
session.addEventListener('stream', (event: StreamEvent) => { void event.stream.id; });
session.addEventListener('datagram', (event) => { const d: DatagramEvent = event; void d; });
session.ondatagram = null;
const options = new StreamOptions({
    headers: () => ({ ':method': 'POST', ':path': '/upload' }),
    body: Readable.from(['a', 'b']),
    trailers: { 'x-sum': 'abc' },
    signal: new AbortController().signal,
});
const isOptions: boolean = StreamOptions.isStreamOptions(options);
const stream: Stream = session.open(options);
const id: bigint | undefined = stream.id;
const response: IncomingHeaders = await stream.headers;
const hints: IncomingHeaders[] = await stream.hints;
const trailers: IncomingHeaders | undefined = await stream.trailers;
for await (const chunk of stream.readableWebStream()) {
    const bytes: Uint8Array = chunk;
    void bytes;
}
const other2 = session.open({ body: (async function* () { yield 'x'; yield new Uint8Array(1); })() });
other2.setStreamConsumer((chunks: ArrayBuffer[], done: boolean) => { void chunks; void done; });
const blocked: boolean = await other2.blocked;
const streamStats: StreamStats = stream.stats;
const received: bigint = streamStats.bytesReceived;
const sessionStats: SessionStats = session.stats;
const rtt: bigint = sessionStats.smoothedRtt;
const bodies: Body[] = ['s', new ArrayBuffer(1), new DataView(new ArrayBuffer(1)), new Blob(['x']), () => 'x', Promise.resolve('x'), [new Uint8Array(1)], null];
await stream.cancel(new Error('done'));
await session.close({ signal: AbortSignal.timeout(1000) });
await session.cancel();
void alpns; void isSession; void again; void alpn; void cipherName; void peer; void code; void remote; void ok; void max;
void qlog; void isOptions; void id; void response; void hints; void trailers; void blocked; void received; void rtt; void bodies;

// ResponseOptions and the TLS hooks
const reply = new ResponseOptions({ headers: { ':status': 201 }, body: 'made' });
const isReply: boolean = ResponseOptions.isResponseOptions(reply);
const hello: ClientHello | undefined = await session.clienthello;
if (hello) {
    const offered: readonly string[] = hello.protocols;
    const context: SecureContext = createSecureContext({ key, cert });
    hello.done(context);
    void offered;
}
const ocsp = await session.ocsp;
if (ocsp instanceof OCSPRequest) ocsp.respondWith(Buffer.from('staple'));
if (ocsp instanceof OCSPResponse) { const r: ArrayBuffer | undefined = ocsp.response; void r; }
void isReply;

// Errors
try {
    await session.closed;
} catch (err) {
    const e = err as QuicTransportError | QuicApplicationError | QuicHandshakeTimeoutError;
    const c: QuicErrorCode = e.code;
    if (e.code === 'ERR_QUIC_TRANSPORT_ERROR') {
        const alert: string | undefined = e.tlsAlertName;
        const list: string[] | undefined = e.offeredAlpn;
        void alert; void list;
    } else if (e.code === 'ERR_QUIC_HANDSHAKE_TIMEOUT') {
        const n: number | undefined = e.bytesReceived;
        void n;
    }
    void c;
}

// The rest of the package
const memory: number = liveMemory().bytes + quic.liveMemory().sessions;
const tls: string = versions.tls;
void memory; void tls;

// fetch() over HTTP/3
const dispatcherOptions: Http3DispatcherOptions = {
    session: { secure: { ca } },
    connectTimeout: 5000,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
    keepAliveTimeout: 1000,
    endpoint: client,
};
const dispatcher = new Http3Dispatcher(dispatcherOptions);
// undici's fetch takes the dispatcher typed; Node's global fetch is typed by
// lib.dom or @types/node's undici-types, whose Dispatcher type is another
// copy, so with it the dispatcher goes through setGlobalDispatcher().
const res = await undiciFetch('https://localhost:4433/', { dispatcher, method: 'POST', body: 'x' });
const text: string = await res.text();
setGlobalDispatcher(dispatcher);
const viaGlobal: Response = await fetch('https://localhost:4433/');
void viaGlobal;
const { statusCode, body, trailers: undiciTrailers } = await request('https://localhost:4433/', { dispatcher });
const redirecting = dispatcher.compose(interceptors.redirect({ maxRedirections: 3 }));
await dispatcher.close();
await server.close();
void text; void statusCode; void body; void undiciTrailers; void redirecting;

// Uses every class of the public API with its documented types; compiled by
// test/types.test.js with `tsc --noEmit --strict` and must have no error.
// It is never run.
import quic, {
    Endpoint, EndpointConfig, Session, SessionConfig, Stream, StreamOptions, ResponseOptions,
    SessionEvent, StreamEvent, DatagramEvent, EndpointStats, SessionStats, StreamStats,
    ClientHello, OCSPRequest, OCSPResponse, SecureContext, createSecureContext, liveMemory, versions,
    WebTransport, WebTransportSession, WebTransportRequest, WebTransportEvent, WebTransportError,
    WebTransportStreamEvent, WebTransportSendStream, WebTransportReceiveStream, WebTransportBidirectionalStream,
} from 'quic';
import type {
    IncomingHeaders, OutgoingHeaders, SessionTicket, QuicTransportError, QuicApplicationError,
    QuicHandshakeTimeoutError, QuicErrorCode, Body, EndpointShareHandle, WebTransportOptions, WebTransportVersion,
    WebTransportConnectionStats, WebTransportDatagramStats, WebTransportDatagramDuplexStream, WebTransportCloseInfo,
    AcceptedWebTransportSession, WebTransportServerConfig,
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

// Port sharing, QUIC-LB connection IDs, and the newer members of the core classes
const shared = new Endpoint({
    address: { port: 4434 },
    loadBalancer: { serverId: new Uint8Array([1, 2, 3]), nonceLength: 8, key: Buffer.alloc(16), configRotation: 1 },
});
const handle: EndpointShareHandle = shared.share();
const group: number = handle.group;
const copy: Endpoint = Endpoint.from(handle);
const copyFromJson: Endpoint = Endpoint.from(JSON.parse(JSON.stringify(handle)) as EndpointShareHandle);
const misrouted: bigint = copy.stats.misroutedCount;
const misroutedJson: number = copy.stats.toJSON().misroutedCount;
const committed: Promise<void> = stream.committed;
await committed;
const testing = client.connect({ port: 4433 }, { testing: { ignoreStreamCredit: true } });
const memoryCode: QuicErrorCode = 'ERR_QUIC_LIMIT';
void group; void copyFromJson; void misrouted; void misroutedJson; void testing; void memoryCode;

// WebTransport, server side: the option, the 'webtransport' event, the request and the session
const wtServer = new Endpoint();
wtServer.listen({
    secure: { key, cert },
    webtransport: {
        maxSessions: 4, newSessionsPerSecond: 10n, maxStreamsPerSession: 100,
        origins: ['https://example.com'], protocols: ['chat', 'echo'], allowZeroRtt: false,
    },
});
const wtConfig = new SessionConfig('server', {
    secure: { key, cert },
    webtransport: { maxSessions: 8n, newSessionsPerSecond: 0, maxStreamsPerSession: 2 ** 20, origins: [], protocols: ['a'], allowZeroRtt: true },
});
const wtDefaults = new SessionConfig('server', { secure: { key, cert }, webtransport: true });
const wtResolved: WebTransportServerConfig | null = wtConfig.webtransport ?? wtDefaults.webtransport;
if (wtResolved) {
    const origins: ReadonlySet<string> | null = wtResolved.origins;
    const limits: number[] = [wtResolved.maxSessions, wtResolved.maxStreamsPerSession, wtResolved.newSessionsPerSecond];
    const serverProtocols: readonly string[] = wtResolved.protocols;
    const zeroRtt: boolean = wtResolved.allowZeroRtt;
    void origins; void limits; void serverProtocols; void zeroRtt;
}
wtServer.onsession = ({ session }) => {
    session.onwebtransport = async function (event) {
        const self: Session = this;
        const request: WebTransportRequest = event.request;
        const path: string = request.path;
        const authority: string = request.authority;
        const origin: string | undefined = request.origin;
        const offered: readonly string[] = request.protocols;
        const chosen: string | undefined = request.protocol;
        const version: WebTransportVersion = request.version;
        const early: boolean = request.early;
        const fields: Readonly<IncomingHeaders> = request.headers;
        const decided: boolean = request.decided;
        void self; void path; void authority; void origin; void offered; void version; void early; void fields; void decided;
        if (chosen === undefined) {
            request.reject(403, { 'x-why': 'no protocol' });
            return;
        }
        const wt: AcceptedWebTransportSession = request.accept({ protocol: chosen, headers: { 'x-server': 'quic' } });
        const server: WebTransportSession = wt;
        const wtVersion: WebTransportVersion = wt.version;
        const connect: Stream = wt.connectStream;
        const connectHeaders: IncomingHeaders = await connect.headers;
        await server.ready;
        void wtVersion; void connectHeaders;
        for await (const bidi of wt.incomingBidirectionalStreams) {
            const pair: WebTransportBidirectionalStream = bidi;
            pair.onreceivesideaborted = (e: WebTransportStreamEvent) => { const c: number | null = e.streamErrorCode; void c; };
            pair.onsendsideaborted = function (e) { const me: WebTransportBidirectionalStream = this; void me; void e.streamErrorCode; };
            pair.addEventListener('sendsideaborted', (e) => { const c: number | null = e.streamErrorCode; void c; });
            pair.addEventListener('receivesideaborted', (e) => { const c: number | null = e.streamErrorCode; void c; });
            pair.removeEventListener('receivesideaborted', null);
            await pair.readable.pipeTo(pair.writable);
        }
        for await (const uni of wt.incomingUnidirectionalStreams) {
            const incoming: WebTransportReceiveStream = uni;
            incoming.addEventListener('receivesideaborted', (e) => { const c: number | null = e.streamErrorCode; void c; }, { once: true });
            incoming.onreceivesideaborted = null;
            const heard: boolean = incoming.dispatchEvent(new Event('custom'));
            void heard;
            for await (const chunk of incoming) { const bytes: Uint8Array = chunk; void bytes; }
        }
        wt.drain();
        wt.close({ closeCode: 7, reason: 'done' });
    };
    session.addEventListener('webtransport', (event) => {
        const e: WebTransportEvent = event;
        void e.request.accept();
    });
};

// WebTransport, client side: the W3C constructor with every option, and every member
const wtOptions: WebTransportOptions = {
    serverCertificateHashes: [{ algorithm: 'sha-256', value: new Uint8Array(32) }],
    protocols: ['chat', 'echo'],
    congestionControl: 'low-latency',
    allowPooling: false,
    requireUnreliable: true,
    ca,
    servername: 'localhost',
    origin: 'https://example.com',
    endpoint: client,
    version: 'auto',
};
const wt = new WebTransport('https://localhost:4433/chat', wtOptions);
const pooled = new WebTransport(new URL('https://localhost:4433/'), { allowPooling: true, endpoint: client, version: 'draft02', ca: [ca] });
await wt.ready;
const wtSession: WebTransportSession = wt;
const protocol: string | undefined = wt.protocol;
const wtVersion: WebTransportVersion | undefined = wt.version;
const wtEarly: boolean = wt.earlyData;
const wtTicket: SessionTicket | undefined = wt.sessionTicket;
const connectStream: Stream | null = wt.connectStream;
if (wtTicket) {
    const resumed = new WebTransport('https://localhost:4433/chat', { resume: wtTicket, congestionControl: 'throughput', version: 'draft16' });
    void resumed;
}
void wt.draining.then(() => wt.close());
const closeInfo: WebTransportCloseInfo = await pooled.closed;
const closeCode: number = closeInfo.closeCode;
const closeReason: string = closeInfo.reason;
void wtSession; void protocol; void wtVersion; void wtEarly; void connectStream; void closeCode; void closeReason;

// Datagrams
const datagrams: WebTransportDatagramDuplexStream = wt.datagrams;
const maxSize: number = datagrams.maxDatagramSize;
const queued: number = datagrams.outgoingQueued;
datagrams.incomingHighWaterMark = 256;
datagrams.outgoingHighWaterMark = datagrams.incomingHighWaterMark;
datagrams.incomingMaxAge = 1000;
datagrams.outgoingMaxAge = null;
const maxAge: number | null = datagrams.incomingMaxAge ?? datagrams.outgoingMaxAge;
const datagramWriter = datagrams.writable.getWriter();
await datagramWriter.write(new Uint8Array([1, 2, 3]));
await datagramWriter.write(new ArrayBuffer(4));
const datagramReader = datagrams.readable.getReader();
const datagram = await datagramReader.read();
if (!datagram.done) { const bytes: Uint8Array = datagram.value; void bytes; }
void maxSize; void queued; void maxAge;

// Streams
const bidi: WebTransportBidirectionalStream = await wt.createBidirectionalStream();
const bidiWriter = bidi.writable.getWriter();
await bidiWriter.write(new TextEncoder().encode('hello'));
await bidiWriter.close();
const reader = bidi.readable.getReader();
const chunk = await reader.read();
if (!chunk.done) { const bytes: Uint8Array = chunk.value; void bytes; }
await reader.cancel(new WebTransportError('enough', { streamErrorCode: 3 }));
const uni: WebTransportSendStream = await wt.createUnidirectionalStream();
uni.onsendsideaborted = function (event) {
    const self: WebTransportSendStream = this;
    const code: number | null = event.streamErrorCode;
    void self; void code;
};
uni.addEventListener('sendsideaborted', { handleEvent(event: WebTransportStreamEvent) { void event.streamErrorCode; } });
uni.addEventListener('sendsideaborted', (event) => { const code: number | null = event.streamErrorCode; void code; }, { once: true });
uni.removeEventListener('sendsideaborted', null);
const dispatched: boolean = uni.dispatchEvent(new Event('custom'));
await uni.getWriter().abort(new WebTransportError('stop', { source: 'stream', streamErrorCode: 9 }));
void dispatched;

// Stats, keying material, errors
const stats: WebTransportConnectionStats = await wt.getStats();
const rtt2: number | null = stats.smoothedRtt;
const sendRate: number | null = stats.estimatedSendRate;
const lost: null = stats.bytesLost;
const atCapacity: null = stats.atSendCapacity;
const datagramStats: WebTransportDatagramStats = stats.datagrams;
const dropped: number = datagramStats.droppedIncoming + stats.datagramsDroppedOutgoing + stats.datagramsSent + stats.datagramsReceived;
const statsNumbers: Array<number | null> = [stats.timestamp, stats.bytesSent, stats.packetsSent, stats.bytesReceived, stats.packetsReceived,
    stats.rttVariation, stats.minRtt, stats.packetsLost, stats.datagramsDroppedIncoming, datagramStats.timestamp,
    datagramStats.expiredIncoming, datagramStats.expiredOutgoing, datagramStats.lostOutgoing];
const keying: ArrayBuffer = await wt.exportKeyingMaterial('label');
const keying2: ArrayBuffer = await wt.exportKeyingMaterial(new Uint8Array([1]), Buffer.from('context'), 64);
void rtt2; void sendRate; void lost; void atCapacity; void dropped; void statsNumbers; void keying; void keying2;
try {
    await wt.closed;
} catch (err) {
    if (err instanceof WebTransportError) {
        const source: 'stream' | 'session' = err.source;
        const code: number | null = err.streamErrorCode;
        const message: string = err.message;
        void source; void code; void message;
    }
}
const plainError = new WebTransportError();
const sessionError = new WebTransportError('gone', { source: 'session', streamErrorCode: null });
void plainError; void sessionError;
wt.close();
await wtServer.close();

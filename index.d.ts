// Type definitions for quic: QUIC, HTTP/3 and WebTransport for Node.js with the net/quic API.
// Written for TypeScript 5 and later with @types/node >= 20; see docs/api.md
// for what each member does on this build. Blob, ReadableStream,
// WritableStream, Event and EventTarget are the global ones (lib.dom's or
// @types/node's).

/// <reference types="node" />

import type { SocketAddress } from 'node:net';
import type { X509Certificate } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';

// ---- shared shapes ----

/** Binary data: ArrayBuffer, any TypedArray, DataView or Buffer. */
export type BinaryLike = ArrayBuffer | NodeJS.ArrayBufferView;
/** Integers may be given as a number or a bigint. */
export type Integer = number | bigint;

/** What `new net.SocketAddress()` takes (the seed's `net.SocketAddressInit`). */
export interface SocketAddressInit {
    address?: string | undefined;
    port?: number | bigint | undefined;
    family?: 'ipv4' | 'ipv6' | undefined;
    flowlabel?: number | bigint | undefined;
}

/** Listener options of EventTarget.addEventListener(). */
export type ListenerOptions = boolean | {
    capture?: boolean | undefined;
    once?: boolean | undefined;
    passive?: boolean | undefined;
    signal?: AbortSignal | undefined;
};

/** A listener for events of type `E` on target `T`. */
export type Listener<T, E extends Event> = ((this: T, event: E) => void) | { handleEvent(event: E): void };

// ---- Endpoint ----

export interface EndpointConfigInit {
    /** The local address to bind. Default: `127.0.0.1`, port 0 (ephemeral). */
    address?: SocketAddressInit | SocketAddress | undefined;
    /** Exactly 16 bytes. Stateless-reset tokens are an HMAC of the connection ID under it. */
    resetTokenSecret?: BinaryLike | undefined;
    /** Exactly 32 bytes: seals Retry and NEW_TOKEN tokens (an extra of this build). */
    tokenSecret?: BinaryLike | undefined;
    /** Connection IDs in the QUIC-LB layout, so that a load balancer routes by them (an extra of this build). */
    loadBalancer?: LoadBalancerInit | undefined;
    addressLRUSize?: Integer | undefined;
    ccAlgorithm?: 'cubic' | 'reno' | 'bbr' | undefined;
    disableStatelessReset?: boolean | undefined;
    maxConnectionsPerHost?: Integer | undefined;
    maxConnectionsTotal?: Integer | undefined;
    /** 1200-65527: the largest payload path MTU discovery probes up to; above 1472 for jumbo-frame networks. Default: 1452, or for a peer on this host what its route carries (65488 on loopback). */
    maxPayloadSize?: Integer | undefined;
    maxStatelessResets?: Integer | undefined;
    maxStreamWindowOverride?: Integer | undefined;
    maxWindowOverride?: Integer | undefined;
    retryLimit?: Integer | undefined;
    /** Seconds. */
    retryTokenExpiration?: Integer | undefined;
    /** 0.0-1.0, testing only. */
    rxPacketLoss?: number | undefined;
    /** Seconds. */
    tokenExpiration?: Integer | undefined;
    /** 0.0-1.0, testing only. */
    txPacketLoss?: number | undefined;
    udp?: {
        ipv6Only?: boolean | undefined;
        receiveBufferSize?: Integer | undefined;
        sendBufferSize?: Integer | undefined;
        ttl?: Integer | undefined;
    } | undefined;
    unacknowledgedPacketThreshold?: Integer | undefined;
    validateAddress?: boolean | undefined;
    /**
     * Serve `address.port` (required) with every other endpoint, in any process of this user, that
     * names the same address, port and group (an extra of this build; docs/api.md).
     */
    reusePort?: boolean | { group?: string | undefined } | undefined;
}

/** The QUIC-LB connection ID layout (draft-ietf-quic-load-balancers): `loadBalancer` of EndpointConfigInit. */
export interface LoadBalancerInit {
    /** 1-15 bytes (a string is taken as UTF-8). Required. */
    serverId: string | BinaryLike;
    /** 4 to 19 - serverId bytes. Default: 16 - serverId bytes, at least 4. */
    nonceLength?: Integer | undefined;
    /** Exactly 16 bytes (AES-128); without it the IDs are in the clear. */
    key?: BinaryLike | undefined;
    /** 0-6, in the first byte's top 3 bits. Default 0. */
    configRotation?: Integer | undefined;
    /** The first byte's low 5 bits carry the ID's length (Endpoint.share() then throws ERR_QUIC_UNSUPPORTED). */
    lengthSelfEncoding?: boolean | undefined;
}

export class EndpointConfig {
    constructor(options?: EndpointConfigInit);
    static isEndpointConfig(value: unknown): value is EndpointConfig;
    /** The resolved local address (frozen). */
    readonly address: Readonly<{ address: string; port: number; family?: 'ipv4' | 'ipv6' }>;
}

export interface EndpointEventMap {
    session: SessionEvent;
}

/** What endpoint.share() returns: plain data that postMessage(), workerData, BroadcastChannel and JSON carry. */
export interface EndpointShareHandle {
    readonly type: 'quic.Endpoint';
    /** The port group. */
    readonly group: number;
    /** The process that shared it. */
    readonly pid: number;
    /** The original's endpoint-wide session settings. */
    readonly session: {
        readonly ccAlgorithm: number;
        readonly maxPayloadSize: number;
        readonly maxStreamWindow: number;
        readonly maxWindow: number;
        readonly ackThreshold: number;
    };
}

/** A UDP socket that listens for sessions, opens them, or both. */
export class Endpoint extends EventTarget {
    constructor(options?: EndpointConfigInit | EndpointConfig);
    /** The bound address; undefined before the first listen()/connect() and once closed. */
    readonly address: SocketAddress | undefined;
    readonly listening: boolean;
    readonly closing: boolean;
    readonly destroyed: boolean;
    /** Fulfils when the endpoint is destroyed; rejects if destroyed with an error. */
    readonly closed: Promise<void>;
    readonly stats: EndpointStats;
    /** A bound `reusePort` endpoint: its group, its worker index, and whether the kernel steers. */
    readonly reusePort: Readonly<{ group: string; worker: number; steered: boolean }> | undefined;
    onsession: ((this: Endpoint, event: SessionEvent) => void) | null;
    listen(options?: SessionConfigInit | SessionConfig): void;
    connect(address: SocketAddressInit | SocketAddress, options?: ConnectOptions | SessionConfig, resume?: ResumeInit): Session;
    /** Graceful; `signal` aborts it into an immediate close. Returns `closed`. */
    close(options?: { signal?: AbortSignal | undefined }): Promise<void>;
    destroy(error?: unknown): void;
    /**
     * Binds the socket into a port group (SO_REUSEPORT; before the first listen()/connect()) and returns a plain
     * object to post to a worker thread or another process, where Endpoint.from() makes an Endpoint on the same port.
     */
    share(): EndpointShareHandle;
    /** An Endpoint of its own (bound at once) on the port of the endpoint that gave `handle` with share(). */
    static from(handle: EndpointShareHandle): Endpoint;
    addEventListener<K extends keyof EndpointEventMap>(type: K, listener: Listener<this, EndpointEventMap[K]> | null,
                                                       options?: ListenerOptions): void;
    addEventListener(type: string, listener: Listener<this, Event> | null, options?: ListenerOptions): void;
    removeEventListener<K extends keyof EndpointEventMap>(type: K, listener: Listener<this, EndpointEventMap[K]> | null,
                                                          options?: boolean | { capture?: boolean | undefined }): void;
    removeEventListener(type: string, listener: Listener<this, Event> | null,
                        options?: boolean | { capture?: boolean | undefined }): void;
}

// ---- Session ----

export interface SecureOptions {
    /** Trusted CAs (client: replaces the system store; server: for client certificates). PEM or DER. */
    ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
    cert?: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
    key?: string | Buffer | { pem: string | Buffer; passphrase?: string | undefined }
        | ReadonlyArray<string | Buffer | { pem: string | Buffer; passphrase?: string | undefined }> | undefined;
    pfx?: string | Buffer | { buf: string | Buffer; passphrase?: string | undefined }
        | ReadonlyArray<string | Buffer | { buf: string | Buffer; passphrase?: string | undefined }> | undefined;
    passphrase?: string | undefined;
    crl?: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
    rejectUnauthorized?: boolean | undefined;
    requestPeerCertificate?: boolean | undefined;
    verifyHostnameIdentity?: boolean | undefined;
    /** IANA TLS 1.3 suite names separated by ':'. */
    ciphers?: string | undefined;
    /** Group names separated by ':', or 'auto'. */
    ecdhCurve?: string | undefined;
    sigalgs?: string | undefined;
    clientHello?: boolean | undefined;
    ocsp?: boolean | undefined;
    keylog?: boolean | undefined;
    /** Accepted, unused: TLS 1.3 has named groups only. */
    dhparam?: string | Buffer | undefined;
    /** 48 bytes (server). */
    ticketKeys?: BinaryLike | undefined;
    /** Seconds (server). */
    sessionTimeout?: number | undefined;
    /** Not possible on GnuTLS: throws ERR_QUIC_UNSUPPORTED. */
    clientCertEngine?: string | undefined;
    /** `true` throws ERR_QUIC_UNSUPPORTED (GnuTLS has no per-session trace). */
    enableTLSTrace?: boolean | undefined;
    /** Not possible on GnuTLS: throws ERR_QUIC_UNSUPPORTED. */
    privateKey?: { engine?: string | undefined; identifier?: string | undefined } | undefined;
    /** Not built yet: throws ERR_QUIC_UNSUPPORTED. */
    pskCallback?: ((socket: unknown, identity: string) => NodeJS.ArrayBufferView | undefined) | undefined;
    /** Not possible on GnuTLS: throws ERR_QUIC_UNSUPPORTED. */
    secureOptions?: number | undefined;
    /** Not possible on GnuTLS: throws ERR_QUIC_UNSUPPORTED. */
    sessionIdContext?: string | undefined;
}

export interface TransportParams {
    ackDelayExponent?: Integer | undefined;
    activeConnectionIdLimit?: Integer | undefined;
    disableActiveMigration?: boolean | undefined;
    initialMaxData?: Integer | undefined;
    initialMaxStreamDataBidiLocal?: Integer | undefined;
    initialMaxStreamDataBidiRemote?: Integer | undefined;
    initialMaxStreamDataUni?: Integer | undefined;
    initialMaxStreamsBidi?: Integer | undefined;
    initialMaxStreamsUni?: Integer | undefined;
    /** Milliseconds; 2 by default (not the 25 most stacks announce: see docs/api.md). */
    maxAckDelay?: Integer | undefined;
    maxDatagramFrameSize?: Integer | undefined;
    /** Milliseconds. */
    maxIdleTimeout?: Integer | undefined;
    preferredAddress?: {
        ipv4?: SocketAddressInit | SocketAddress | undefined;
        ipv6?: SocketAddressInit | SocketAddress | undefined;
    } | undefined;
}

export interface Http3Settings {
    maxFieldSectionSize?: Integer | undefined;
    qpackMaxDTableCapacity?: Integer | undefined;
    qpackEncoderMaxDTableCapacity?: Integer | undefined;
    qpackBlockedStreams?: Integer | undefined;
}

export interface SessionConfigInit {
    /** A protocol or a list in order of preference. Default: 'h3'. */
    alpn?: string | readonly string[] | undefined;
    hostname?: string | undefined;
    dcid?: string | BinaryLike | undefined;
    scid?: string | BinaryLike | undefined;
    preferredAddressStrategy?: 'use' | 'ignore' | undefined;
    qlog?: boolean | undefined;
    /** Milliseconds; 0 for none. Default 10000. */
    handshakeTimeout?: Integer | undefined;
    http3?: Http3Settings | undefined;
    secure?: SecureOptions | undefined;
    transportParams?: TransportParams | undefined;
    /** WebTransport over HTTP/3 (server; needs 'h3' in `alpn`): `true` for the defaults, or the options. */
    webtransport?: boolean | WebTransportServerOptions | undefined;
    /** Test-only switches, never for production (docs/api.md, "Test-only switches"). */
    testing?: { ignoreStreamCredit?: boolean | undefined } | undefined;
}

/** connect()'s options: a SessionConfigInit and an AbortSignal that cancels the session. */
export interface ConnectOptions extends SessionConfigInit {
    signal?: AbortSignal | undefined;
}

export class SessionConfig {
    constructor(side: 'client' | 'server', options?: SessionConfigInit);
    static isSessionConfig(value: unknown): value is SessionConfig;
    readonly side: 'client' | 'server';
    readonly alpn: readonly string[];
    readonly hostname: string | undefined;
    readonly handshakeTimeout: number;
    /** The resolved `webtransport` options (frozen), or null when WebTransport is off. */
    readonly webtransport: WebTransportServerConfig | null;
}

/** What session.sessionTicket gives; pass it to connect() as `resume`. */
export interface SessionTicket {
    readonly sessionTicket: ArrayBuffer;
    readonly transportParams: ArrayBuffer;
    /** The server's WebTransport SETTINGS remembered for 0-RTT (empty without). */
    readonly applicationParams: ArrayBuffer;
}

export interface ResumeInit {
    sessionTicket?: BinaryLike | undefined;
    transportParams?: BinaryLike | undefined;
    applicationParams?: BinaryLike | undefined;
}

export interface CipherInfo {
    readonly name: string;
    readonly standardName: string;
    readonly version: string;
}

export interface SessionEventMap {
    stream: StreamEvent;
    datagram: DatagramEvent;
    webtransport: WebTransportEvent;
}

/** One QUIC connection, client or server. Made by connect() and the 'session' event. */
export class Session extends EventTarget {
    private constructor();
    readonly side: 'client' | 'server';
    readonly endpoint: Endpoint;
    /** The negotiated protocol; undefined until the handshake completes. */
    readonly alpn: string | undefined;
    readonly servername: string | undefined;
    readonly cipher: CipherInfo | undefined;
    readonly certificate: X509Certificate | undefined;
    readonly peerCertificate: X509Certificate | undefined;
    readonly ephemeralKeyInfo: Readonly<{ type: string; name: string; size: number }> | undefined;
    readonly validationError: Readonly<{ code: string; reason: string }> | undefined;
    readonly remoteAddress: SocketAddress | undefined;
    readonly earlyData: boolean;
    readonly sessionTicket: SessionTicket | undefined;
    readonly handshake: Promise<void>;
    readonly closed: Promise<void>;
    readonly closing: boolean;
    readonly clienthello: Promise<ClientHello> | undefined;
    readonly ocsp: Promise<OCSPRequest | OCSPResponse> | undefined;
    readonly keylog: Readable | undefined;
    readonly qlog: Readable | undefined;
    readonly maxDatagramSize: number;
    readonly stats: SessionStats;
    onstream: ((this: Session, event: StreamEvent) => void) | null;
    ondatagram: ((this: Session, event: DatagramEvent) => void) | null;
    /** A WebTransport CONNECT (server with the `webtransport` option), after the origin check. */
    onwebtransport: ((this: Session, event: WebTransportEvent) => void) | null;
    open(options?: StreamOptionsInit | StreamOptions): Stream;
    /** false (never a throw) when it cannot go: empty, too large, no room, closing. */
    datagram(data: string | BinaryLike, encoding?: BufferEncoding): boolean;
    updateKey(): void;
    /** Graceful; `signal` aborts it into cancel(). Returns `closed`. */
    close(options?: { signal?: AbortSignal | undefined }): Promise<void>;
    cancel(reason?: unknown): Promise<void>;
    addEventListener<K extends keyof SessionEventMap>(type: K, listener: Listener<this, SessionEventMap[K]> | null,
                                                      options?: ListenerOptions): void;
    addEventListener(type: string, listener: Listener<this, Event> | null, options?: ListenerOptions): void;
    removeEventListener<K extends keyof SessionEventMap>(type: K, listener: Listener<this, SessionEventMap[K]> | null,
                                                         options?: boolean | { capture?: boolean | undefined }): void;
    removeEventListener(type: string, listener: Listener<this, Event> | null,
                        options?: boolean | { capture?: boolean | undefined }): void;
}

// ---- Stream ----

/** An outgoing HTTP/3 field value; arrays send the field once per element. */
export type OutgoingHeaderValue = string | number | bigint | ReadonlyArray<string | number | bigint> | undefined;
export interface OutgoingHeaders {
    [name: string]: OutgoingHeaderValue;
}
/** Received fields: a null-prototype object, `:status` a number, set-cookie an array. */
export interface IncomingHeaders {
    ':status'?: number;
    'set-cookie'?: string[];
    [name: string]: string | string[] | number | undefined;
}
/** Header options: an object, a promise of one, or a function (sync or async) giving one. */
export type HeadersOption = OutgoingHeaders | Promise<OutgoingHeaders> | (() => OutgoingHeaders | Promise<OutgoingHeaders>);

export type BodyChunk = string | ArrayBuffer | NodeJS.ArrayBufferView;
/** Everything a stream body may be (a function or promise may give any of the others). */
export type Body =
    | BodyChunk
    | Blob
    | Readable
    | ReadableStream<BodyChunk>
    | FileHandle
    | Iterable<BodyChunk>
    | AsyncIterable<BodyChunk>
    | PromiseLike<Body>
    | (() => Body)
    | null
    | undefined;

export interface StreamOptionsInit {
    unidirectional?: boolean | undefined;
    /** HTTP/3 only: the request's fields. */
    headers?: HeadersOption | undefined;
    /** HTTP/3 only: sent after the body; a function is called once the body has ended. */
    trailers?: HeadersOption | undefined;
    body?: Body;
    /** Aborting cancels the stream with an AbortError. */
    signal?: AbortSignal | undefined;
}

export class StreamOptions {
    constructor(options?: StreamOptionsInit);
    static isStreamOptions(value: unknown): value is StreamOptions;
    readonly unidirectional: boolean;
    readonly headers: HeadersOption | undefined;
    readonly trailers: HeadersOption | undefined;
    readonly body: Body;
    readonly signal: AbortSignal | undefined;
}

export type HintsOption =
    | OutgoingHeaders
    | ReadonlyArray<OutgoingHeaders | Promise<OutgoingHeaders>>
    | Promise<OutgoingHeaders | ReadonlyArray<OutgoingHeaders | Promise<OutgoingHeaders>>>
    | (() => OutgoingHeaders | ReadonlyArray<OutgoingHeaders | Promise<OutgoingHeaders>> |
        Promise<OutgoingHeaders | ReadonlyArray<OutgoingHeaders | Promise<OutgoingHeaders>>>);

export interface ResponseOptionsInit {
    /** HTTP/3 only: informational responses (103 by default) before the headers. */
    hints?: HintsOption | undefined;
    headers?: HeadersOption | undefined;
    trailers?: HeadersOption | undefined;
    body?: Body;
    signal?: AbortSignal | undefined;
}

export class ResponseOptions {
    constructor(options?: ResponseOptionsInit);
    static isResponseOptions(value: unknown): value is ResponseOptions;
    readonly hints: HintsOption | undefined;
    readonly headers: HeadersOption | undefined;
    readonly trailers: HeadersOption | undefined;
    readonly body: Body;
    readonly signal: AbortSignal | undefined;
}

/** One QUIC stream (not an EventTarget). */
export class Stream {
    private constructor();
    /** undefined while a local stream waits for the peer's stream limit. */
    readonly id: bigint | undefined;
    readonly session: Session;
    readonly unidirectional: boolean;
    readonly serverInitiated: boolean;
    readonly locked: boolean;
    readonly closed: Promise<void>;
    /**
     * allDataCommitted: fulfils once the peer acknowledged every byte we sent and the end; rejects if our sending
     * side was aborted first (cancel(), a failed body, the peer's STOP_SENDING) or the session ended first.
     */
    readonly committed: Promise<void>;
    readonly blocked: Promise<boolean>;
    readonly headers: Promise<IncomingHeaders>;
    readonly hints: Promise<IncomingHeaders[]>;
    readonly trailers: Promise<IncomingHeaders | undefined>;
    readonly stats: StreamStats;
    cancel(reason?: unknown): Promise<void>;
    readableNodeStream(): Readable;
    readableWebStream(): ReadableStream<Uint8Array>;
    setStreamConsumer(callback: (chunks: ArrayBuffer[], done: boolean) => void | PromiseLike<void>): void;
}

// ---- events ----

export class SessionEvent extends Event {
    private constructor();
    readonly name: 'session';
    readonly session: Session;
}

export type RespondWith =
    (options?: ResponseOptionsInit | ResponseOptions | Promise<ResponseOptionsInit | ResponseOptions>) => void | Promise<void>;

export class StreamEvent extends Event {
    private constructor();
    readonly name: 'stream';
    readonly stream: Stream;
    /** undefined for unidirectional streams. */
    readonly respondWith: RespondWith | undefined;
}

export class DatagramEvent extends Event {
    private constructor();
    readonly name: 'datagram';
    readonly datagram: ArrayBuffer;
    readonly early: boolean;
    readonly session: Session;
}

// ---- stats: bigints, live while open, frozen after ----

export class EndpointStats {
    private constructor();
    static readonly fields: readonly string[];
    readonly bytesReceived: bigint;
    readonly bytesSent: bigint;
    readonly clientSessions: bigint;
    readonly createdAt: bigint;
    readonly duration: bigint;
    /** Packets for another copy of a shared endpoint that arrived at this one (see Endpoint.share()). */
    readonly misroutedCount: bigint;
    readonly packetsReceived: bigint;
    readonly packetsSent: bigint;
    readonly serverBusyCount: bigint;
    readonly serverSessions: bigint;
    readonly statelessResetCount: bigint;
    toJSON(): { [K in Exclude<keyof EndpointStats, 'toJSON'>]: number };
}

export class SessionStats {
    private constructor();
    static readonly fields: readonly string[];
    readonly bidiStreamCount: bigint;
    readonly blockCount: bigint;
    readonly bytesInFlight: bigint;
    readonly bytesReceived: bigint;
    readonly bytesSent: bigint;
    readonly closingAt: bigint;
    readonly congestionRecoveryStartTS: bigint;
    readonly createdAt: bigint;
    readonly cwnd: bigint;
    readonly deliveryRateSec: bigint;
    readonly duration: bigint;
    readonly firstRttSampleTS: bigint;
    readonly handshakeCompletedAt: bigint;
    readonly handshakeConfirmedAt: bigint;
    readonly inboundStreamsCount: bigint;
    readonly initialRtt: bigint;
    readonly keyUpdateCount: bigint;
    readonly lastReceivedAt: bigint;
    readonly lastSentAt: bigint;
    readonly lastSentPacketTS: bigint;
    readonly latestRtt: bigint;
    readonly lossDetectionTimer: bigint;
    readonly lossRetransmitCount: bigint;
    readonly lossTime: bigint;
    readonly maxBytesInFlight: bigint;
    readonly maxUdpPayloadSize: bigint;
    readonly minRtt: bigint;
    readonly outboundStreamsCount: bigint;
    readonly ptoCount: bigint;
    readonly receiveRate: bigint;
    readonly rttVar: bigint;
    readonly sendRate: bigint;
    readonly smoothedRtt: bigint;
    readonly ssthresh: bigint;
    readonly uniStreamCount: bigint;
    toJSON(): { [K in Exclude<keyof SessionStats, 'toJSON'>]: number };
}

export class StreamStats {
    private constructor();
    static readonly fields: readonly string[];
    readonly bytesReceived: bigint;
    readonly bytesSent: bigint;
    readonly closingAt: bigint;
    readonly createdAt: bigint;
    readonly duration: bigint;
    readonly finalSize: bigint;
    readonly lastAcknowledgeAt: bigint;
    readonly lastReceivedAt: bigint;
    readonly maxOffset: bigint;
    readonly maxOffsetAcknowledged: bigint;
    readonly maxOffsetReceived: bigint;
    toJSON(): { [K in Exclude<keyof StreamStats, 'toJSON'>]: number };
}

// ---- TLS hooks ----

export class ClientHello {
    private constructor();
    /** The client's first protocol; `protocols` has them all. */
    readonly alpn: string;
    readonly protocols: readonly string[];
    readonly ciphers: readonly CipherInfo[];
    readonly servername: string | undefined;
    /** Resumes the handshake, optionally on other credentials. */
    readonly done: (context?: SecureOptions | SecureContext) => void;
}

export class OCSPRequest {
    private constructor();
    readonly certificate: ArrayBuffer;
    readonly issuer: ArrayBuffer | undefined;
    readonly respondWith: (response?: string | BinaryLike) => void;
}

export class OCSPResponse {
    private constructor();
    readonly response: ArrayBuffer | undefined;
}

/** Server credentials checked once, for clientHello.done(). */
export class SecureContext {
    private constructor();
}

export function createSecureContext(options: SecureOptions): SecureContext;

// ---- WebTransport (docs/api.md, WebTransport) ----

/** The draft a WebTransport session speaks: draft-ietf-webtrans-http3-02 or -16. */
export type WebTransportVersion = 'draft02' | 'draft16';

/** SessionConfigInit's `webtransport` option (server). */
export interface WebTransportServerOptions {
    /** WebTransport sessions per connection, 1-1024. Default 16. */
    maxSessions?: Integer | undefined;
    /** New sessions accepted per second from one client address, 0-1,000,000. Default 0: no limit. */
    newSessionsPerSecond?: Integer | undefined;
    /** The peer's streams of one session open at once, 0-2^20. Default 0: only the connection's limits. */
    maxStreamsPerSession?: Integer | undefined;
    /** The allowed `origin` header values (compared lowercased); absent: any origin. */
    origins?: readonly string[] | undefined;
    /** The subprotocols the server speaks, in its order of preference. */
    protocols?: readonly string[] | undefined;
    /** Serve a CONNECT that arrived in 0-RTT at once (default false: it waits for the handshake). */
    allowZeroRtt?: boolean | undefined;
}

/** sessionConfig.webtransport: the resolved `webtransport` options. */
export interface WebTransportServerConfig {
    readonly maxSessions: number;
    readonly maxStreamsPerSession: number;
    readonly newSessionsPerSecond: number;
    /** Lowercased; null: any origin. */
    readonly origins: ReadonlySet<string> | null;
    readonly protocols: readonly string[];
    readonly allowZeroRtt: boolean;
}

/** W3C WebTransportHash: a certificate's hash for serverCertificateHashes. */
export interface WebTransportHash {
    /** Only 'sha-256' is used; hashes of other algorithms are ignored, as the W3C API does. */
    algorithm: string;
    value: BinaryLike;
}

/** new WebTransport(url, options): the W3C options and Node's own (`ca`, `servername`, `origin`, `endpoint`, ...). */
export interface WebTransportOptions {
    /** Accept the server's certificate by its SHA-256 (valid at most 14 days); the chain and name are not checked. */
    serverCertificateHashes?: readonly WebTransportHash[] | undefined;
    /** Subprotocols offered (wt-available-protocols), in order. */
    protocols?: readonly string[] | undefined;
    /** 'throughput' is CUBIC, 'low-latency' BBR. */
    congestionControl?: 'default' | 'throughput' | 'low-latency' | undefined;
    /** Share a connection with other pooling WebTransports: needs `endpoint`; not with serverCertificateHashes. */
    allowPooling?: boolean | undefined;
    /** Accepted: HTTP/3 datagrams are always negotiated here. */
    requireUnreliable?: boolean | undefined;
    /** The CAs the server's certificate must chain to (as `secure.ca`). Default: the system store. */
    ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
    /** The SNI and the name the certificate must match. Default: the URL's host name. */
    servername?: string | undefined;
    /** The `origin` header a browser would send (none by default). */
    origin?: string | undefined;
    /** The Endpoint to connect from. Default: one of its own, closed when the session ends. */
    endpoint?: Endpoint | undefined;
    /** 'auto' (default): draft-16 when the server enables it, else draft-02. */
    version?: 'auto' | WebTransportVersion | undefined;
    /** A sessionTicket of an earlier WebTransport (or Session) to the same server: the CONNECT goes in 0-RTT. */
    resume?: ResumeInit | undefined;
}

/** What `closed` fulfils with (W3C WebTransportCloseInfo). */
export interface WebTransportCloseInfo {
    closeCode: number;
    reason: string;
}

/** close()'s argument. */
export interface WebTransportCloseOptions {
    /** 0 to 2^32-1. Default 0. */
    closeCode?: number | undefined;
    /** Truncated to 1024 bytes of UTF-8. Default ''. */
    reason?: string | undefined;
}

/** W3C WebTransportDatagramDuplexStream, with Node's `outgoingQueued`. */
export interface WebTransportDatagramDuplexStream {
    /** Received datagrams. */
    readonly readable: ReadableStream<Uint8Array>;
    /** Each chunk is one datagram; one too large, or that finds the queue full, is dropped (and counted). */
    readonly writable: WritableStream<BinaryLike>;
    /** The largest datagram payload that can be sent now. */
    readonly maxDatagramSize: number;
    /** How many of the session's datagrams wait in C for a packet. */
    readonly outgoingQueued: number;
    /** An integer 1-1024. Default 64. */
    incomingHighWaterMark: number;
    /** An integer 1-1024. Default 128. */
    outgoingHighWaterMark: number;
    /** Milliseconds (> 0, at most 86400000), or null (the default) for no limit. */
    incomingMaxAge: number | null;
    /** Milliseconds (> 0, at most 86400000), or null (the default) for no limit. */
    outgoingMaxAge: number | null;
}

/** W3C WebTransportDatagramStats. */
export interface WebTransportDatagramStats {
    timestamp: number;
    droppedIncoming: number;
    expiredIncoming: number;
    expiredOutgoing: number;
    lostOutgoing: number;
}

/**
 * W3C WebTransportConnectionStats, with what this build can fill: the connection's figures are null while the
 * session has no connection to read (and after it ended if never read before); the loss figures are always null.
 */
export interface WebTransportConnectionStats {
    /** performance.timeOrigin + performance.now() when read. */
    timestamp: number;
    bytesSent: number | null;
    packetsSent: number | null;
    /** Always null: ngtcp2 1.11 reports no loss totals. */
    bytesLost: null;
    /** Always null: ngtcp2 1.11 reports no loss totals. */
    packetsLost: null;
    bytesReceived: number | null;
    packetsReceived: number | null;
    /** Milliseconds. */
    smoothedRtt: number | null;
    /** Milliseconds. */
    rttVariation: number | null;
    /** Milliseconds. */
    minRtt: number | null;
    /** Bits per second; null before an RTT sample. */
    estimatedSendRate: number | null;
    /** Always null. */
    atSendCapacity: null;
    /** This session's datagram figures. */
    datagrams: WebTransportDatagramStats;
    /** Ours: datagrams queued to send. */
    datagramsSent: number;
    /** Ours: datagrams kept for the reader. */
    datagramsReceived: number;
    datagramsDroppedIncoming: number;
    datagramsDroppedOutgoing: number;
}

/** A WebTransport session in the W3C shape: the server's (from request.accept()), and the client's base class. */
export class WebTransportSession {
    protected constructor();
    /** Fulfils once the session is accepted; rejects with a WebTransportError if it never is. */
    readonly ready: Promise<void>;
    /** Fulfils with the close code and reason; rejects with a WebTransportError (source 'session') otherwise. */
    readonly closed: Promise<WebTransportCloseInfo>;
    /** Fulfils when the peer sent DRAIN_WEBTRANSPORT_SESSION. */
    readonly draining: Promise<void>;
    /** The subprotocol accepted, or undefined. */
    readonly protocol: string | undefined;
    /** The draft the session speaks; a client's is undefined until it chose (after the server's SETTINGS). */
    readonly version: WebTransportVersion | undefined;
    /** Its CONNECT went in 0-RTT and was taken so. */
    readonly earlyData: boolean;
    readonly datagrams: WebTransportDatagramDuplexStream;
    readonly incomingBidirectionalStreams: ReadableStream<WebTransportBidirectionalStream>;
    readonly incomingUnidirectionalStreams: ReadableStream<WebTransportReceiveStream>;
    /** The CONNECT request's Stream; a client's is null until its CONNECT is sent. */
    readonly connectStream: Stream | null;
    createBidirectionalStream(): Promise<WebTransportBidirectionalStream>;
    createUnidirectionalStream(): Promise<WebTransportSendStream>;
    getStats(): Promise<WebTransportConnectionStats>;
    /**
     * The TLS exporter with the label EXPORTER-WebTransport, bound to this session. `label`: 1-255 bytes (a string is
     * UTF-8); `context`: 0-255 bytes; `length`: 1-1024 (default 32).
     */
    exportKeyingMaterial(label: string | BinaryLike, context?: BinaryLike, length?: number): Promise<ArrayBuffer>;
    /** Sends CLOSE_WEBTRANSPORT_SESSION and ends the session. */
    close(closeInfo?: WebTransportCloseOptions): void;
    /** Sends DRAIN_WEBTRANSPORT_SESSION. */
    drain(): void;
}

/** What request.accept() returns: a server's session, whose version and CONNECT stream are known. */
export interface AcceptedWebTransportSession extends WebTransportSession {
    readonly version: WebTransportVersion;
    readonly connectStream: Stream;
}

/** The W3C WebTransport client: connects at once. */
export class WebTransport extends WebTransportSession {
    /** `url`: an https: URL without a fragment. */
    constructor(url: string | URL, options?: WebTransportOptions);
    /** Its connection's newest ticket (with the server's WebTransport SETTINGS): `resume` for a later WebTransport. */
    readonly sessionTicket: SessionTicket | undefined;
}

/** request.accept()'s options. */
export interface WebTransportAcceptOptions {
    /** One the client offered (default: request.protocol); sent as wt-protocol. */
    protocol?: string | undefined;
    /** More response fields. */
    headers?: OutgoingHeaders | undefined;
}

/** The extended CONNECT of a 'webtransport' event: accept() or reject() it. */
export class WebTransportRequest {
    private constructor();
    readonly path: string;
    readonly authority: string;
    /** undefined when the request had no origin header. */
    readonly origin: string | undefined;
    /** The subprotocols the client offered, in its order. */
    readonly protocols: readonly string[];
    /** The first of the server's `webtransport.protocols` the client offered. */
    readonly protocol: string | undefined;
    readonly version: WebTransportVersion;
    /** The CONNECT arrived in 0-RTT. */
    readonly early: boolean;
    /** All request fields (frozen, null-prototype). */
    readonly headers: Readonly<IncomingHeaders>;
    /** true once accept() or reject() succeeded. */
    readonly decided: boolean;
    /** Answers 200 and returns the session. */
    accept(options?: WebTransportAcceptOptions): AcceptedWebTransportSession;
    /** Answers `status` (300-599, default 404) and ends the stream. */
    reject(status?: number, headers?: OutgoingHeaders): void;
}

/** The 'webtransport' event of a Session. */
export class WebTransportEvent extends Event {
    private constructor();
    readonly request: WebTransportRequest;
}

export interface WebTransportErrorOptions {
    /** Default 'stream'. */
    source?: 'stream' | 'session' | undefined;
    /** Default null. */
    streamErrorCode?: number | null | undefined;
}

/** W3C WebTransportError. */
export class WebTransportError extends Error {
    constructor(message?: string, options?: WebTransportErrorOptions);
    readonly source: 'stream' | 'session';
    /** The peer's WebTransport code, or null. */
    readonly streamErrorCode: number | null;
}

/** 'sendsideaborted' (the peer's STOP_SENDING) or 'receivesideaborted' (its RESET_STREAM). */
export class WebTransportStreamEvent extends Event {
    private constructor();
    /** The peer's WebTransport code, or null when its HTTP/3 code is outside the WebTransport range. */
    readonly streamErrorCode: number | null;
}

export interface WebTransportSendStreamEventMap {
    sendsideaborted: WebTransportStreamEvent;
}

export interface WebTransportReceiveStreamEventMap {
    receivesideaborted: WebTransportStreamEvent;
}

export interface WebTransportBidirectionalStreamEventMap {
    sendsideaborted: WebTransportStreamEvent;
    receivesideaborted: WebTransportStreamEvent;
}

/** W3C WebTransportSendStream: a WritableStream of bytes that also fires 'sendsideaborted'. */
export class WebTransportSendStream extends WritableStream<BinaryLike> {
    private constructor();
    onsendsideaborted: ((this: WebTransportSendStream, event: WebTransportStreamEvent) => void) | null;
    addEventListener<K extends keyof WebTransportSendStreamEventMap>(
        type: K, listener: Listener<this, WebTransportSendStreamEventMap[K]> | null, options?: ListenerOptions): void;
    addEventListener(type: string, listener: Listener<this, Event> | null, options?: ListenerOptions): void;
    removeEventListener<K extends keyof WebTransportSendStreamEventMap>(
        type: K, listener: Listener<this, WebTransportSendStreamEventMap[K]> | null,
        options?: boolean | { capture?: boolean | undefined }): void;
    removeEventListener(type: string, listener: Listener<this, Event> | null,
                        options?: boolean | { capture?: boolean | undefined }): void;
    dispatchEvent(event: Event): boolean;
}

/** W3C WebTransportReceiveStream: a ReadableStream of Uint8Array that also fires 'receivesideaborted'. */
export class WebTransportReceiveStream extends ReadableStream<Uint8Array> {
    private constructor();
    onreceivesideaborted: ((this: WebTransportReceiveStream, event: WebTransportStreamEvent) => void) | null;
    addEventListener<K extends keyof WebTransportReceiveStreamEventMap>(
        type: K, listener: Listener<this, WebTransportReceiveStreamEventMap[K]> | null, options?: ListenerOptions): void;
    addEventListener(type: string, listener: Listener<this, Event> | null, options?: ListenerOptions): void;
    removeEventListener<K extends keyof WebTransportReceiveStreamEventMap>(
        type: K, listener: Listener<this, WebTransportReceiveStreamEventMap[K]> | null,
        options?: boolean | { capture?: boolean | undefined }): void;
    removeEventListener(type: string, listener: Listener<this, Event> | null,
                        options?: boolean | { capture?: boolean | undefined }): void;
    dispatchEvent(event: Event): boolean;
}

/** W3C WebTransportBidirectionalStream: `readable` and `writable`, hearing both aborts. */
export class WebTransportBidirectionalStream extends EventTarget {
    private constructor();
    readonly readable: WebTransportReceiveStream;
    readonly writable: WebTransportSendStream;
    onsendsideaborted: ((this: WebTransportBidirectionalStream, event: WebTransportStreamEvent) => void) | null;
    onreceivesideaborted: ((this: WebTransportBidirectionalStream, event: WebTransportStreamEvent) => void) | null;
    addEventListener<K extends keyof WebTransportBidirectionalStreamEventMap>(
        type: K, listener: Listener<this, WebTransportBidirectionalStreamEventMap[K]> | null,
        options?: ListenerOptions): void;
    addEventListener(type: string, listener: Listener<this, Event> | null, options?: ListenerOptions): void;
    removeEventListener<K extends keyof WebTransportBidirectionalStreamEventMap>(
        type: K, listener: Listener<this, WebTransportBidirectionalStreamEventMap[K]> | null,
        options?: boolean | { capture?: boolean | undefined }): void;
    removeEventListener(type: string, listener: Listener<this, Event> | null,
                        options?: boolean | { capture?: boolean | undefined }): void;
}

// ---- errors ----

/** Codes of the errors this package makes (see docs/api.md, Errors). */
export type QuicErrorCode =
    | 'ERR_INVALID_ARG_TYPE'
    | 'ERR_INVALID_ARG_VALUE'
    | 'ERR_OUT_OF_RANGE'
    | 'ERR_INVALID_STATE'
    | 'ERR_INVALID_THIS'
    | 'ERR_ILLEGAL_CONSTRUCTOR'
    | 'ERR_QUIC_UNSUPPORTED'
    | 'ERR_QUIC_TRANSPORT_ERROR'
    | 'ERR_QUIC_APPLICATION_ERROR'
    | 'ERR_QUIC_STATELESS_RESET'
    | 'ERR_QUIC_VERSION_NEGOTIATION'
    | 'ERR_QUIC_HANDSHAKE_TIMEOUT'
    | 'ERR_QUIC_SESSION_CLOSED'
    | 'ERR_QUIC_TLS'
    | 'ERR_QUIC_OUT_OF_MEMORY'
    | 'ERR_QUIC_LIMIT'
    | 'ERR_QUIC_INTERNAL'
    | 'ERR_QUIC_ADDON_NOT_BUILT'
    | 'ERR_QUIC_ADDON_MISMATCH'
    | 'ABORT_ERR';

/** ERR_QUIC_TRANSPORT_ERROR: the connection closed with a transport error code. */
export interface QuicTransportError extends Error {
    code: 'ERR_QUIC_TRANSPORT_ERROR';
    errorCode: bigint;
    reason: string | undefined;
    /** RFC 9000's name, e.g. 'FLOW_CONTROL_ERROR', or 'CRYPTO_ERROR' for TLS alerts. */
    errorName?: string;
    /** For CRYPTO_ERROR: the TLS alert number and name (120, 'no_application_protocol'). */
    tlsAlert?: number;
    tlsAlertName?: string;
    /** no_application_protocol: the client's list (on a server, when it saw the ClientHello). */
    offeredAlpn?: string[];
    /** no_application_protocol, server side: this server's list. */
    supportedAlpn?: readonly string[];
}

/** ERR_QUIC_APPLICATION_ERROR: an application close, or a stream reset or stopped. */
export interface QuicApplicationError extends Error {
    code: 'ERR_QUIC_APPLICATION_ERROR';
    errorCode: bigint;
    reason?: string | undefined;
    /** On HTTP/3: the code's name, e.g. 'H3_REQUEST_CANCELLED'. */
    errorName?: string;
}

/** ERR_QUIC_HANDSHAKE_TIMEOUT: `bytesReceived` 0 means nothing came back. */
export interface QuicHandshakeTimeoutError extends Error {
    code: 'ERR_QUIC_HANDSHAKE_TIMEOUT';
    timeout?: number;
    bytesReceived?: number;
}

// ---- this build ----

/** What the C core holds right now (leak tests). */
export function liveMemory(): { bytes: number; allocations: number; handles: number; sessions: number; endpoints: number };
export const versions: { readonly tls: string };

// Type definitions for quic/fetch: the undici dispatcher that sends requests
// over HTTP/3 (fetch(url, { dispatcher }), undici.request(), setGlobalDispatcher()).

/// <reference types="node" />

import type { LookupFunction } from 'node:net';
import type { Dispatcher } from 'undici';
import type { Endpoint, SessionConfigInit } from './index';

export interface Http3DispatcherOptions {
    /** The Endpoint to connect from; by default the dispatcher makes its own (0.0.0.0 or ::). */
    endpoint?: Endpoint | undefined;
    /** Client session options (secure, transportParams, ...); alpn is always 'h3', hostname comes from the URL. */
    session?: Omit<SessionConfigInit, 'alpn' | 'hostname' | 'handshakeTimeout'> & { alpn?: 'h3' | undefined } | undefined;
    /** Host name resolution, as dns.lookup. */
    lookup?: LookupFunction | undefined;
    /** Milliseconds for the QUIC handshake. Default 10000. */
    connectTimeout?: number | undefined;
    /** Milliseconds from the end of the request to the response headers. Default 300000. */
    headersTimeout?: number | undefined;
    /** Milliseconds between pieces of the response body. Default 300000. */
    bodyTimeout?: number | undefined;
    /** Milliseconds an idle session is kept. Default 4000. */
    keepAliveTimeout?: number | undefined;
}

/** An undici Dispatcher that sends requests over HTTP/3: fetch(url, { dispatcher }). */
export class Http3Dispatcher extends Dispatcher {
    constructor(options?: Http3DispatcherOptions);
    readonly closed: boolean;
    readonly destroyed: boolean;
}

// CommonJS use of the types (require through `import = require`); compiled
// with usage.mts by test/types.test.js.
import quic = require('quic');
import fetchModule = require('quic/fetch');

const endpoint = new quic.Endpoint({ address: { port: 0 } });
endpoint.onsession = ({ session }) => {
    session.onstream = ({ respondWith }) => respondWith?.({ body: 'hi' });
};
const dispatcher = new fetchModule.Http3Dispatcher({ session: { secure: { rejectUnauthorized: false } } });
const stats: bigint = endpoint.stats.bytesReceived;
void stats;

// WebTransport through require(): every class by its CommonJS name
const shared: quic.Endpoint = quic.Endpoint.from(endpoint.share());
shared.onsession = ({ session }) => {
    session.onwebtransport = ({ request }: quic.WebTransportEvent) => {
        const accepted: quic.WebTransportRequest = request;
        const wt: quic.WebTransportSession = accepted.accept();
        void wt.incomingBidirectionalStreams.getReader().read().then((r) => {
            const pair: quic.WebTransportBidirectionalStream | undefined = r.value;
            const readable: quic.WebTransportReceiveStream | undefined = pair?.readable;
            const writable: quic.WebTransportSendStream | undefined = pair?.writable;
            if (pair) pair.onsendsideaborted = (event: quic.WebTransportStreamEvent) => { void event.streamErrorCode; };
            void readable; void writable;
        });
    };
};
const wt = new quic.WebTransport('https://localhost:4433/', { version: 'draft16', protocols: ['chat'] });
void wt.ready.catch((err: unknown) => {
    if (err instanceof quic.WebTransportError) void err.source;
});
const wtStats: Promise<quic.WebTransportConnectionStats> = wt.getStats();
void wtStats;
void dispatcher.close().then(() => endpoint.close());

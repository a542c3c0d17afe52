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
void dispatcher.close().then(() => endpoint.close());

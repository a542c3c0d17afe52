// quic/fetch for ES modules: the undici dispatcher that sends over HTTP/3.
import fetchModule from './fetch.js';

export const { Http3Dispatcher } = fetchModule;
export default fetchModule;

/* Shared by the thin N-API binding files. */
#ifndef QUIC_BINDING_H
#define QUIC_BINDING_H

#include "napi_util.h"
#include "endpoint.h"
#include "options.h"

/* Indices of the endpoint options Float64Array (exported to JS). */
#define QUIC_ENDPOINT_OPTIONS(V)                                                                               \
  V(IPV6_ONLY) V(RECEIVE_BUFFER_SIZE) V(SEND_BUFFER_SIZE) V(TTL) V(DISABLE_STATELESS_RESET)                   \
  V(VALIDATE_ADDRESS) V(MAX_STATELESS_RESETS) V(RETRY_TOKEN_EXPIRATION) V(TOKEN_EXPIRATION) V(RETRY_LIMIT)      \
  V(ADDRESS_LRU_SIZE) V(MAX_CONNECTIONS_PER_HOST) V(MAX_CONNECTIONS_TOTAL) V(RX_PACKET_LOSS) V(TX_PACKET_LOSS) V(FLOWLABEL)

/* Indices of the session options Float64Array. */
#define QUIC_SESSION_OPTIONS(V)                                                                                \
  V(MAX_IDLE_TIMEOUT) V(INITIAL_MAX_DATA) V(INITIAL_MAX_STREAM_DATA_BIDI_LOCAL)                                \
  V(INITIAL_MAX_STREAM_DATA_BIDI_REMOTE) V(INITIAL_MAX_STREAM_DATA_UNI) V(INITIAL_MAX_STREAMS_BIDI)             \
  V(INITIAL_MAX_STREAMS_UNI) V(ACK_DELAY_EXPONENT) V(MAX_ACK_DELAY) V(ACTIVE_CONNECTION_ID_LIMIT)               \
  V(DISABLE_ACTIVE_MIGRATION) V(MAX_DATAGRAM_FRAME_SIZE) V(CC_ALGORITHM) V(MAX_STREAM_WINDOW) V(MAX_WINDOW)     \
  V(HANDSHAKE_TIMEOUT) V(MAX_PAYLOAD_SIZE) V(UNACKNOWLEDGED_PACKET_THRESHOLD) V(MAX_FIELD_SECTION_SIZE)            \
  V(QPACK_MAX_DTABLE_CAPACITY) V(QPACK_ENCODER_MAX_DTABLE_CAPACITY) V(QPACK_BLOCKED_STREAMS)                  \
  V(TEST_IGNORE_STREAM_CREDIT) V(WT_MAX_SESSIONS) V(WT_MAX_STREAMS)

/* The event record JavaScript receives: each quic_event (endpoint.h)
 * flattened into QUIC_EF_COUNT doubles, in this order, computed from `e`
 * (the event being flattened). deliver() in binding_endpoint.c writes them;
 * the names (constants.EVENT_FIELDS) give lib/endpoint.js its indices. The
 * 64-bit code travels as two 32-bit halves, each exact in a double. */
#define QUIC_EVENT_RECORD(V)                                                                                   \
  V(TYPE, e->type)                                                                                             \
  V(SESSION_KEY, e->session_key)                                                                               \
  V(STREAM_KEY, e->stream_key)                                                                                 \
  V(AUX, e->aux)                                                                                               \
  V(STREAM_ID, (double)e->stream_id)                                                                           \
  V(CODE_HI, (double)(e->code >> 32))                                                                          \
  V(CODE_LO, (double)(e->code & 0xffffffffu))

#define V(name, value) QUIC_EF_##name,
enum { QUIC_EVENT_RECORD(V) QUIC_EF_COUNT };
#undef V
#define V(name) QUIC_EPO_##name,
enum { QUIC_ENDPOINT_OPTIONS(V) QUIC_EPO_COUNT };
#undef V
#define V(name) QUIC_SO_##name,
enum { QUIC_SESSION_OPTIONS(V) QUIC_SO_COUNT };
#undef V

/* The JS handle of a session: an external whose data is this struct. The
 * core clears `session` when it frees the session. */
typedef struct binding_session {
  quic_session *session; /* must stay first: the core clears it through s->user */
} binding_session;

/* Per JS Endpoint. Freed when both the core wrap is gone and the external
 * holding it was finalized. */
typedef struct binding_endpoint {
  napi_env env;
  quic_wrap *wrap;          /* NULL once the core has freed it */
  napi_ref on_events;       /* strong ref to the JS callback */
  napi_async_context async; /* so AsyncLocalStorage survives our callbacks */
  /* The environment's teardown (a worker thread that exits) waits for the
   * wrap's handles to close: removed once they have. */
  napi_async_cleanup_hook_handle cleanup;
  bool finalized;
} binding_endpoint;

napi_value quic_binding_session_handle(napi_env env, quic_session *s);
quic_session *quic_binding_get_session(napi_env env, napi_value handle);
/* Reads session options and TLS options into a config (caller clears it). */
QUIC_NODISCARD bool quic_binding_session_config(napi_env env, napi_value opts, napi_value tls, bool server,
                                                quic_session_config *cfg);

/* Define the binding functions on exports; false with an exception pending. */
QUIC_NODISCARD bool quic_binding_init_endpoint(napi_env env, napi_value exports);
QUIC_NODISCARD bool quic_binding_init_session(napi_env env, napi_value exports);

#endif

/* Addon entry: registers the binding functions and the shared constants. */
#include "binding.h"
#include "mem.h"
#include "tls.h"
#include "stream.h"
#include "webtransport.h"

static napi_value live_bytes(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  NAPI_CALL(env, napi_create_object(env, &o));
  NAPI_SET(env, o, "bytes", quic_napi_number(env, (double)quic_mem_live_bytes()));
  NAPI_SET(env, o, "allocations", quic_napi_number(env, (double)quic_mem_live_allocs()));
  NAPI_SET(env, o, "handles", quic_napi_number(env, (double)quic_live_count(QUIC_LIVE_HANDLES)));
  NAPI_SET(env, o, "sessions", quic_napi_number(env, (double)quic_live_count(QUIC_LIVE_SESSIONS)));
  NAPI_SET(env, o, "endpoints", quic_napi_number(env, (double)quic_live_count(QUIC_LIVE_ENDPOINTS)));
  return o;
}

/* napiFailures() -> { count, last }: N-API calls that failed where nothing
 * could be thrown (finalizers, the deliver callback). Tests expect 0. */
static napi_value napi_failures(napi_env env, napi_callback_info info) {
  (void)info;
  const char *last = NULL;
  uint64_t n = quic_napi_failures(&last);
  napi_value o;
  NAPI_CALL(env, napi_create_object(env, &o));
  NAPI_SET(env, o, "count", quic_napi_number(env, (double)n));
  NAPI_SET(env, o, "last", last ? quic_napi_string(env, last) : quic_napi_undefined(env));
  return o;
}

static const char *const endpoint_slots[] = {QUIC_ENDPOINT_STATS(QUIC_STATS_NAME)};
static const char *const session_slots[] = {QUIC_SESSION_STATS(QUIC_STATS_NAME)};
static const char *const stream_slots[] = {QUIC_STREAM_STATS(QUIC_STATS_NAME)};
static const char *const wt_datagram_slots[] = {QUIC_WT_DATAGRAM_STATS(QUIC_STATS_NAME)};
/* JavaScript views the counter structs as arrays of uint64_t, one per name. */
_Static_assert(sizeof(quic_endpoint_counters) == QUIC_ARRAY_LEN(endpoint_slots) * sizeof(uint64_t), "endpoint stats");
_Static_assert(sizeof(quic_session_counters) == QUIC_ARRAY_LEN(session_slots) * sizeof(uint64_t), "session stats");
_Static_assert(sizeof(quic_stream_counters) == QUIC_ARRAY_LEN(stream_slots) * sizeof(uint64_t), "stream stats");
_Static_assert(sizeof(quic_wt_dgram_stats) == QUIC_ARRAY_LEN(wt_datagram_slots) * sizeof(uint64_t), "datagram stats");

#define V(name, value) #name,
static const char *const event_fields[] = {QUIC_EVENT_RECORD(V)};
#undef V
#define V(name, algo) #name,
static const char *const cc_names[] = {QUIC_CC_ALGORITHMS(V)};
#undef V

static napi_value make_consts(napi_env env) {
  napi_value obj;
  NAPI_CALL(env, napi_create_object(env, &obj));
#define V(name) NAPI_SET(env, obj, "EPO_" #name, quic_napi_number(env, QUIC_EPO_##name));
  QUIC_ENDPOINT_OPTIONS(V)
#undef V
#define V(name) NAPI_SET(env, obj, "SO_" #name, quic_napi_number(env, QUIC_SO_##name));
  QUIC_SESSION_OPTIONS(V)
#undef V
  NAPI_SET(env, obj, "EPO_COUNT", quic_napi_number(env, QUIC_EPO_COUNT));
  NAPI_SET(env, obj, "SO_COUNT", quic_napi_number(env, QUIC_SO_COUNT));
#define E(name) NAPI_SET(env, obj, #name, quic_napi_number(env, QUIC_##name));
  E(HEADERS_INFO) E(HEADERS_INITIAL) E(HEADERS_TRAILERS)
  E(CLOSE_TRANSPORT) E(CLOSE_APPLICATION) E(CLOSE_IDLE) E(CLOSE_STATELESS_RESET) E(CLOSE_VERSION_NEGOTIATION)
  E(CLOSE_HANDSHAKE_TIMEOUT) E(STREAM_UNI) E(STREAM_NEW_H3) E(STREAM_TX_HWM)
  E(STREAM_WT) E(STREAM_WT_SESSION) E(WT_REASON_MAX) E(STREAM_CLOSE_DRAINED) E(STREAM_CLOSE_HEADERS)
  E(STREAM_CLOSE_COMMITTED) E(WT_DRAFT02) E(WT_DRAFT16)
  E(WT_DGRAM_IN_HWM) E(WT_DGRAM_OUT_HWM) E(WT_DGRAM_HWM_MAX)
#undef E
  /* Event codes by name (endpoint.h QUIC_EVENTS) and the record's fields in
   * order (binding.h QUIC_EVENT_RECORD): lib/contract.js checks both. */
  napi_value events;
  NAPI_CALL(env, napi_create_object(env, &events));
#define V(name) NAPI_SET(env, events, #name, quic_napi_number(env, QUIC_E_##name));
  QUIC_EVENTS(V)
#undef V
  NAPI_CALL(env, napi_object_freeze(env, events));
  NAPI_SET(env, obj, "EVENTS", events);
  NAPI_SET(env, obj, "EVENT_FIELDS", quic_napi_string_array(env, event_fields, QUIC_ARRAY_LEN(event_fields)));
  NAPI_SET(env, obj, "EVENT_WIDTH", quic_napi_number(env, QUIC_EF_COUNT));
  /* Option values (options.h): lib/config.js validates against these. */
  NAPI_SET(env, obj, "CC_ALGORITHMS", quic_napi_string_array(env, cc_names, QUIC_ARRAY_LEN(cc_names)));
  NAPI_SET(env, obj, "MAX_ACK_DELAY_DEFAULT", quic_napi_number(env, QUIC_MAX_ACK_DELAY_DEFAULT));
  NAPI_SET(env, obj, "CC_DEFAULT", quic_napi_string(env, cc_names[QUIC_CC_DEFAULT]));
  NAPI_SET(env, obj, "PAYLOAD_MIN", quic_napi_number(env, QUIC_PAYLOAD_MIN));
  NAPI_SET(env, obj, "PAYLOAD_MAX", quic_napi_number(env, QUIC_PAYLOAD_MAX));
  NAPI_SET(env, obj, "PAYLOAD_DEFAULT", quic_napi_number(env, QUIC_PAYLOAD_DEFAULT));
  NAPI_SET(env, obj, "PAYLOAD_BY_PATH", quic_napi_number(env, QUIC_PAYLOAD_BY_PATH));
  /* Stats slot names in order (stats_layout.h): lib/stats.js takes its
   * indices from these. */
#define SLOTS(key, names) NAPI_SET(env, obj, key, quic_napi_string_array(env, names, QUIC_ARRAY_LEN(names)))
  SLOTS("STATS_ENDPOINT_SLOTS", endpoint_slots);
  SLOTS("STATS_SESSION_SLOTS", session_slots);
  SLOTS("STATS_STREAM_SLOTS", stream_slots);
  SLOTS("STATS_WT_DATAGRAM_SLOTS", wt_datagram_slots);
#undef SLOTS
  return obj;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"liveMemory", NULL, live_bytes, NULL, NULL, NULL, napi_default, NULL},
      {"napiFailures", NULL, napi_failures, NULL, NULL, NULL, napi_default, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, QUIC_ARRAY_LEN(props), props));
  NAPI_SET(env, exports, "constants", make_consts(env));
  NAPI_SET(env, exports, "gnutlsVersion", quic_napi_string(env, quic_tls_backend_version()));
  /* A module whose init returns NULL (an exception pending) fails require(). */
  if (!quic_binding_init_endpoint(env, exports) || !quic_binding_init_session(env, exports)) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

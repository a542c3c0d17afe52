/* Addon entry: registers the binding functions and the shared constants. */
#include "binding.h"
#include "mem.h"
#include "tls.h"

static napi_value live_bytes(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  NAPI_CALL(env, napi_create_object(env, &o));
  quic_napi_set(env, o, "bytes", quic_napi_number(env, (double)quic_mem_live_bytes()));
  quic_napi_set(env, o, "allocations", quic_napi_number(env, (double)quic_mem_live_allocs()));
  quic_napi_set(env, o, "handles", quic_napi_number(env, (double)quic_live_count(QUIC_LIVE_HANDLES)));
  quic_napi_set(env, o, "sessions", quic_napi_number(env, (double)quic_live_count(QUIC_LIVE_SESSIONS)));
  quic_napi_set(env, o, "endpoints", quic_napi_number(env, (double)quic_live_count(QUIC_LIVE_ENDPOINTS)));
  return o;
}

static void set_consts(napi_env env, napi_value obj) {
#define V(name) quic_napi_set(env, obj, "EPO_" #name, quic_napi_number(env, QUIC_EPO_##name));
  QUIC_ENDPOINT_OPTIONS(V)
#undef V
#define V(name) quic_napi_set(env, obj, "SO_" #name, quic_napi_number(env, QUIC_SO_##name));
  QUIC_SESSION_OPTIONS(V)
#undef V
  quic_napi_set(env, obj, "EPO_COUNT", quic_napi_number(env, QUIC_EPO_COUNT));
  quic_napi_set(env, obj, "SO_COUNT", quic_napi_number(env, QUIC_SO_COUNT));
#define E(name) quic_napi_set(env, obj, #name, quic_napi_number(env, QUIC_##name));
  E(E_SESSION_NEW) E(E_SESSION_HANDSHAKE) E(E_SESSION_CLOSE) E(E_STREAM_NEW) E(E_STREAM_OPENED)
  E(E_STREAM_DATA) E(E_STREAM_RESET) E(E_STREAM_STOP) E(E_STREAM_BLOCKED) E(E_STREAM_DRAIN) E(E_STREAM_CLOSE)
  E(E_STREAM_HEADERS) E(E_SESSION_DATAGRAM) E(HEADERS_INFO) E(HEADERS_INITIAL) E(HEADERS_TRAILERS)
  E(CLOSE_TRANSPORT) E(CLOSE_APPLICATION) E(CLOSE_IDLE) E(CLOSE_STATELESS_RESET) E(CLOSE_VERSION_NEGOTIATION)
  E(CLOSE_HANDSHAKE_TIMEOUT) E(STREAM_UNI) E(STREAM_NEW_H3) E(STREAM_TX_HWM) E(E_SESSION_CLIENT_HELLO)
  E(E_SESSION_OCSP)
#undef E
  /* Counters per stats block, so lib/stats.js can check its layout. */
  quic_napi_set(env, obj, "STATS_ENDPOINT", quic_napi_number(env, sizeof(quic_endpoint_counters) / 8));
  quic_napi_set(env, obj, "STATS_SESSION", quic_napi_number(env, sizeof(quic_session_counters) / 8));
  quic_napi_set(env, obj, "STATS_STREAM", quic_napi_number(env, sizeof(quic_stream_counters) / 8));
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value consts;
  NAPI_CALL(env, napi_create_object(env, &consts));
  set_consts(env, consts);
  quic_napi_set(env, exports, "constants", consts);
  napi_property_descriptor props[] = {
      {"liveMemory", NULL, live_bytes, NULL, NULL, NULL, napi_default, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, 1, props));
  quic_napi_set(env, exports, "gnutlsVersion", quic_napi_string(env, quic_tls_backend_version()));
  quic_binding_init_endpoint(env, exports);
  quic_binding_init_session(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

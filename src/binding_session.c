/* N-API face of sessions and their streams. Streams are addressed by
 * (session handle, stream key): no JS object per stream in C. */
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "mem.h"
#include "stats.h"
#include "stream.h"
#include "webtransport.h"

/* Largest single read handed to JS. 64 KB Buffers come from malloc's heap
 * and are reused; 1 MB ones were fresh mmap()s, zeroed page by page (three
 * times the page faults on a bulk download). */
#define MAX_READ (64u << 10)
/* A string body up to this many UTF-8 bytes is encoded on the stack. */
#define STRING_BODY_STACK 4096

static void finalize_session(napi_env env, void *data, void *hint) {
  QUIC_UNUSED(env);
  QUIC_UNUSED(hint);
  binding_session *bs = data;
  /* Detach only: the session ends on its own (close or idle timeout). */
  if (bs->session) bs->session->user = NULL;
  free(bs);
}

napi_value quic_binding_session_handle(napi_env env, quic_session *s) {
  binding_session *bs = calloc(1, sizeof(*bs));
  if (bs == NULL) {
    quic_napi_throw(env, "ERR_QUIC_OUT_OF_MEMORY", "out of memory");
    return NULL;
  }
  napi_value h;
  if (napi_create_external(env, bs, finalize_session, NULL, &h) != napi_ok) {
    free(bs);
    quic_napi_throw_status(env, "napi_create_external");
    return NULL;
  }
  bs->session = s;
  s->user = bs;
  return h;
}

quic_session *quic_binding_get_session(napi_env env, napi_value handle) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, handle, &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, handle, &p) != napi_ok || p == NULL) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "invalid session handle");
    return NULL;
  }
  quic_session *s = ((binding_session *)p)->session;
  if (s == NULL) quic_napi_throw(env, "ERR_INVALID_STATE", "Session is closed");
  return s;
}

/* An optional property: *out is NULL when it is absent, undefined or null.
 * False (an exception pending) when it cannot be read: a getter threw. */
static bool get_prop(napi_env env, napi_value obj, const char *name, napi_value *out) {
  bool has = false;
  *out = NULL;
  NAPI_CALL_BOOL(env, napi_has_named_property(env, obj, name, &has));
  if (!has) return true;
  NAPI_CALL_BOOL(env, napi_get_named_property(env, obj, name, out));
  if (quic_napi_is_nullish(env, *out)) *out = NULL;
  return !quic_napi_pending(env);
}

/* Reads an array of byte sources into blobs that borrow JS memory; valid
 * while the caller's handle scope lives (TLS copies what it keeps). */
/* An optional array property: *len is 0 when it is absent or empty. */
static bool get_array(napi_env env, napi_value obj, const char *name, napi_value *arr, uint32_t *len) {
  *len = 0;
  if (!get_prop(env, obj, name, arr)) return false;
  if (*arr == NULL) return true;
  if (napi_get_array_length(env, *arr, len) != napi_ok) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "secure.%s must be an array", name);
    return false;
  }
  return true;
}

static bool get_blobs(napi_env env, napi_value obj, const char *name, quic_blob **out, size_t *n) {
  napi_value arr;
  uint32_t len;
  *out = NULL;
  *n = 0;
  if (!get_array(env, obj, name, &arr, &len)) return false;
  if (len == 0) return true;
  quic_blob *b = quic_calloc(len, sizeof(*b));
  if (b == NULL) {
    quic_napi_throw(env, "ERR_QUIC_OUT_OF_MEMORY", "out of memory");
    return false;
  }
  for (uint32_t i = 0; i < len; i++) {
    napi_value el;
    napi_status st = napi_get_element(env, arr, i, &el);
    if (st != napi_ok) quic_napi_throw_status(env, "napi_get_element");
    if (st != napi_ok || !quic_napi_get_bytes(env, el, &b[i].data, &b[i].len)) {
      quic_free(b);
      return false;
    }
  }
  *out = b;
  *n = len;
  return true;
}

/* An array of strings or nulls (validated in JS) into owned C strings;
 * entries that are null stay NULL. */
static bool get_strings(napi_env env, napi_value obj, const char *name, char ***out, size_t *n) {
  napi_value arr;
  uint32_t len;
  *out = NULL;
  *n = 0;
  if (!get_array(env, obj, name, &arr, &len)) return false;
  if (len == 0) return true;
  char **v = quic_calloc(len, sizeof(*v));
  if (v == NULL) {
    quic_napi_throw(env, "ERR_QUIC_OUT_OF_MEMORY", "out of memory");
    return false;
  }
  /* Handed to the caller at once: it frees them on every path. */
  *out = v;
  *n = len;
  for (uint32_t i = 0; i < len; i++) {
    napi_value el;
    NAPI_CALL_BOOL(env, napi_get_element(env, arr, i, &el));
    if (!quic_napi_is_nullish(env, el) && !quic_napi_get_string(env, el, &v[i])) return false;
  }
  return true;
}

static void free_strings(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++) quic_free(v[i]);
  quic_free(v);
}

static bool get_flag(napi_env env, napi_value obj, const char *name, bool dflt, bool *out) {
  napi_value v;
  if (!get_prop(env, obj, name, &v)) return false;
  *out = dflt;
  return v == NULL || quic_napi_get_bool(env, v, out);
}

/* A preferred address { address, port } checked by lib/config.js. */
static bool get_preferred(napi_env env, napi_value obj, const char *name, int family, quic_addr *out, bool *present) {
  napi_value v, a, p;
  *present = false;
  if (!get_prop(env, obj, name, &v)) return false;
  if (v == NULL) return true;
  char *host = NULL;
  double port = 0;
  if (!get_prop(env, v, "address", &a) || a == NULL || !quic_napi_get_string(env, a, &host)) return false;
  bool ok = get_prop(env, v, "port", &p) && p != NULL && quic_napi_get_double(env, p, &port) &&
            quic_addr_parse(out, host, (uint16_t)port) == QUIC_OK && out->u.sa.sa_family == family;
  quic_free(host);
  if (!ok) quic_napi_throw(env, "ERR_INVALID_ARG_VALUE", "invalid preferred address %s", name);
  *present = ok;
  return ok;
}

/* Connection IDs, preferred addresses and qlog (issue 4): tls.paths. */
static bool get_paths(napi_env env, napi_value tls, quic_session_config *cfg) {
  napi_value paths, v;
  if (!get_prop(env, tls, "paths", &paths)) return false;
  if (paths == NULL) return true;
  const uint8_t *d;
  size_t n;
  if (!get_prop(env, paths, "dcid", &v)) return false;
  if (v && (!quic_napi_get_bytes(env, v, &d, &n) || n > sizeof(cfg->dcid))) return false;
  if (v) memcpy(cfg->dcid, d, cfg->dcidlen = n);
  if (!get_prop(env, paths, "scid", &v)) return false;
  if (v && (!quic_napi_get_bytes(env, v, &d, &n) || n > sizeof(cfg->scid))) return false;
  if (v) memcpy(cfg->scid, d, cfg->scidlen = n);
  if (!get_flag(env, paths, "ignorePreferred", false, &cfg->ignore_preferred) ||
      !get_flag(env, paths, "qlog", false, &cfg->qlog))
    return false;
  quic_addr a;
  if (!get_preferred(env, paths, "preferredIpv4", AF_INET, &a, &cfg->pa_v4)) return false;
  if (cfg->pa_v4) memcpy(&cfg->pa_ipv4, &a.u.in, sizeof(cfg->pa_ipv4));
  if (!get_preferred(env, paths, "preferredIpv6", AF_INET6, &a, &cfg->pa_v6)) return false;
  if (cfg->pa_v6) memcpy(&cfg->pa_ipv6, &a.u.in6, sizeof(cfg->pa_ipv6));
  return true;
}

/* A TLS context held by JS (tlsContext()). The holder is plain malloc: its
 * life follows GC, and the core's live-byte count must reach 0 once
 * endpoints are closed, which releases the context (tlsContextRelease). */
typedef struct tls_ctx_holder {
  quic_tls_ctx *ctx; /* one reference; NULL once released */
} tls_ctx_holder;

static void finalize_tls_ctx(napi_env env, void *data, void *hint) {
  QUIC_UNUSED(env);
  QUIC_UNUSED(hint);
  tls_ctx_holder *h = data;
  if (h->ctx) quic_tls_ctx_unref(h->ctx);
  free(h);
}

static tls_ctx_holder *tls_holder_of(napi_env env, napi_value v) {
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok ||
      p == NULL) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "invalid TLS context");
    return NULL;
  }
  return p;
}

static quic_tls_ctx *tls_ctx_of(napi_env env, napi_value v) {
  tls_ctx_holder *h = tls_holder_of(env, v);
  if (h && h->ctx == NULL) quic_napi_throw(env, "ERR_INVALID_STATE", "the TLS context was released");
  return h ? h->ctx : NULL;
}

bool quic_binding_session_config(napi_env env, napi_value opts, napi_value tls, bool server,
                                 quic_session_config *cfg) {
  quic_session_config_defaults(cfg);
  bool is;
  napi_typedarray_type t;
  size_t n;
  void *p;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, opts, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, opts, &t, &n, &p, &ab, &off) != napi_ok || t != napi_float64_array ||
      n != QUIC_SO_COUNT) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "session options must be a Float64Array of %d", QUIC_SO_COUNT);
    return false;
  }
  const double *o = p;
  cfg->max_idle_timeout_ms = (uint64_t)o[QUIC_SO_MAX_IDLE_TIMEOUT];
  cfg->initial_max_data = (uint64_t)o[QUIC_SO_INITIAL_MAX_DATA];
  cfg->initial_max_stream_data_bidi_local = (uint64_t)o[QUIC_SO_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL];
  cfg->initial_max_stream_data_bidi_remote = (uint64_t)o[QUIC_SO_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE];
  cfg->initial_max_stream_data_uni = (uint64_t)o[QUIC_SO_INITIAL_MAX_STREAM_DATA_UNI];
  cfg->initial_max_streams_bidi = (uint64_t)o[QUIC_SO_INITIAL_MAX_STREAMS_BIDI];
  cfg->initial_max_streams_uni = (uint64_t)o[QUIC_SO_INITIAL_MAX_STREAMS_UNI];
  cfg->ack_delay_exponent = (uint64_t)o[QUIC_SO_ACK_DELAY_EXPONENT];
  cfg->max_ack_delay_ms = (uint64_t)o[QUIC_SO_MAX_ACK_DELAY];
  cfg->active_connection_id_limit = (uint64_t)o[QUIC_SO_ACTIVE_CONNECTION_ID_LIMIT];
  cfg->disable_active_migration = o[QUIC_SO_DISABLE_ACTIVE_MIGRATION] != 0;
  cfg->max_datagram_frame_size = (uint64_t)o[QUIC_SO_MAX_DATAGRAM_FRAME_SIZE];
  cfg->cc_algo = quic_cc_algo(o[QUIC_SO_CC_ALGORITHM]);
  /* 0: keep our auto-tuning limits from quic_session_config_defaults. */
  if (o[QUIC_SO_MAX_STREAM_WINDOW] > 0) cfg->max_stream_window = (uint64_t)o[QUIC_SO_MAX_STREAM_WINDOW];
  if (o[QUIC_SO_MAX_WINDOW] > 0) cfg->max_window = (uint64_t)o[QUIC_SO_MAX_WINDOW];
  cfg->handshake_timeout_ms = (uint64_t)o[QUIC_SO_HANDSHAKE_TIMEOUT];
  cfg->max_payload_size = (size_t)o[QUIC_SO_MAX_PAYLOAD_SIZE];
  cfg->ack_thresh = (uint64_t)o[QUIC_SO_UNACKNOWLEDGED_PACKET_THRESHOLD];
  cfg->h3.max_field_section_size = (uint64_t)o[QUIC_SO_MAX_FIELD_SECTION_SIZE];
  cfg->h3.qpack_max_dtable_capacity = (uint64_t)o[QUIC_SO_QPACK_MAX_DTABLE_CAPACITY];
  cfg->h3.qpack_encoder_max_dtable_capacity = (uint64_t)o[QUIC_SO_QPACK_ENCODER_MAX_DTABLE_CAPACITY];
  cfg->h3.qpack_blocked_streams = (uint64_t)o[QUIC_SO_QPACK_BLOCKED_STREAMS];
  cfg->h3.wt_max_sessions = (uint32_t)o[QUIC_SO_WT_MAX_SESSIONS];
  cfg->h3.wt_max_streams = (uint32_t)o[QUIC_SO_WT_MAX_STREAMS];
  cfg->test_ignore_stream_credit = o[QUIC_SO_TEST_IGNORE_STREAM_CREDIT] != 0;
  if (!get_paths(env, tls, cfg)) {
    /* A connection ID of the wrong size is the one failure that throws nothing. */
    quic_napi_throw(env, "ERR_INVALID_ARG_VALUE", "invalid connection ID");
    return false;
  }

  quic_tls_options to;
  memset(&to, 0, sizeof(to));
  to.server = server;
  quic_blob *keys = NULL, *certs = NULL, *cas = NULL, *pfx = NULL, *crls = NULL;
  char *pass = NULL, *sni = NULL, *verify = NULL, *extra = NULL, *priority = NULL;
  char **key_pass = NULL, **pfx_pass = NULL;
  size_t nkey_pass = 0, npfx_pass = 0;
  napi_value v;
  bool ok = false;
  /* A context made once by tlsContext() for a SessionConfig: building one
   * (credentials, trust store, CA parsing) costs more than the session, and
   * with one only the names are per connection. */
  quic_tls_ctx *shared = NULL;
  if (!get_prop(env, tls, "context", &v) || (v && (shared = tls_ctx_of(env, v)) == NULL)) goto out;
  if (!get_prop(env, tls, "servername", &v) || (v && !quic_napi_get_string(env, v, &sni))) goto out;
  if (!get_prop(env, tls, "verifyName", &v) || (v && !quic_napi_get_string(env, v, &verify))) goto out;
  if (shared) {
    quic_tls_ctx_ref(shared);
    cfg->tls = shared;
    goto done;
  }
  if (!get_blobs(env, tls, "key", &keys, &to.nkeys) || !get_blobs(env, tls, "cert", &certs, &to.ncerts) ||
      !get_blobs(env, tls, "ca", &cas, &to.ncas))
    goto out;
  to.keys = keys;
  to.certs = certs;
  to.cas = cas;
  if (!get_prop(env, tls, "passphrase", &v) || (v && !quic_napi_get_string(env, v, &pass))) goto out;
  if (!get_prop(env, tls, "extraCaFile", &v) || (v && !quic_napi_get_string(env, v, &extra))) goto out;
  if (!get_prop(env, tls, "alpn", &v)) goto out;
  if (v && !quic_napi_get_bytes(env, v, &to.alpn, &to.alpnlen)) goto out;
  if (!get_flag(env, tls, "rejectUnauthorized", true, &to.reject_unauthorized) ||
      !get_flag(env, tls, "verifyHostname", true, &to.verify_hostname))
    goto out;
  to.passphrase = pass;
  to.extra_ca_file = extra;
  /* Resumption (server): JS checked ticketKeys is 48 bytes. */
  if (!get_prop(env, tls, "ticketKeys", &v) || (v && !quic_napi_get_bytes(env, v, &to.ticket_keys, &to.ticket_keys_len)))
    goto out;
  double timeout = 0;
  if (!get_prop(env, tls, "sessionTimeout", &v) || (v && !quic_napi_get_double(env, v, &timeout))) goto out;
  to.session_timeout_s = (uint32_t)timeout;
  /* TLS hooks (issue 4). */
  if (!get_blobs(env, tls, "pfx", &pfx, &to.npfx) || !get_blobs(env, tls, "crl", &crls, &to.ncrls) ||
      !get_strings(env, tls, "keyPassphrases", &key_pass, &nkey_pass) ||
      !get_strings(env, tls, "pfxPassphrases", &pfx_pass, &npfx_pass))
    goto out;
  if (!get_prop(env, tls, "priority", &v) || (v && !quic_napi_get_string(env, v, &priority))) goto out;
  if (!get_flag(env, tls, "requestCert", false, &to.request_cert) || !get_flag(env, tls, "keylog", false, &to.keylog) ||
      !get_flag(env, tls, "clientHello", false, &to.client_hello) || !get_flag(env, tls, "ocsp", false, &to.ocsp))
    goto out;
  if ((key_pass && nkey_pass != to.nkeys) || (pfx_pass && npfx_pass != to.npfx)) {
    quic_napi_throw(env, "ERR_INVALID_ARG_VALUE", "one passphrase entry per key and per pfx");
    goto out;
  }
  to.pfx = pfx;
  to.crls = crls;
  to.key_passphrases = (const char *const *)key_pass;
  to.pfx_passphrases = (const char *const *)pfx_pass;
  to.priority = priority;
  char err[256];
  if (quic_tls_ctx_new(&cfg->tls, &to, err, sizeof(err)) != QUIC_OK) {
    quic_napi_throw(env, "ERR_QUIC_TLS", "%s", err);
    goto out;
  }
done:
  cfg->sni = sni;
  cfg->verify_name = verify;
  sni = verify = NULL;
  ok = true;
out:
  quic_free(keys);
  quic_free(certs);
  quic_free(cas);
  quic_free(pass);
  quic_free(sni);
  quic_free(verify);
  quic_free(extra);
  quic_free(pfx);
  quic_free(crls);
  quic_free(priority);
  free_strings(key_pass, nkey_pass);
  free_strings(pfx_pass, npfx_pass);
  if (!ok) quic_session_config_clear(cfg);
  return ok;
}

/* A flat JS array [name, value, name, value, ...] of strings (validated in
 * JS) into header fields; strings are taken as latin1 octets. On failure
 * out is empty and an exception is pending. */
/* A header list from lib/http3.js: one latin1 string, each name and value
 * followed by a NUL ("" for none). One string rather than an array of them:
 * a response's headers cross N-API in one call instead of a dozen. lib/
 * refuses NULs inside names and values, so the split is unambiguous. */
static bool get_nvlist(napi_env env, napi_value v, quic_nvlist *out) {
  memset(out, 0, sizeof(*out));
  char stackbuf[2048];
  char *heap = NULL; /* owned here when the list outgrew stackbuf */
  char *text = stackbuf;
  size_t len = 0;
  if (napi_get_value_string_latin1(env, v, stackbuf, sizeof(stackbuf), &len) != napi_ok) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "headers must be a string of NUL-terminated names and values");
    return false;
  }
  if (len == sizeof(stackbuf) - 1) {
    /* Maybe cut short: ask for the length, then copy it whole. */
    NAPI_CALL_BOOL(env, napi_get_value_string_latin1(env, v, NULL, 0, &len));
    if (len >= sizeof(stackbuf)) {
      text = heap = quic_malloc(len + 1);
      if (heap == NULL) {
        quic_napi_throw(env, "ERR_QUIC_OUT_OF_MEMORY", "out of memory");
        return false;
      }
      if (napi_get_value_string_latin1(env, v, heap, len + 1, &len) != napi_ok) {
        quic_free(heap);
        quic_napi_throw_status(env, "napi_get_value_string_latin1");
        return false;
      }
    }
  }
  /* One allocation: the text less its NULs, plus two u32 lengths a field. */
  size_t nuls = 0;
  for (const char *q = text; (q = memchr(q, 0, (size_t)(text + len - q))) != NULL; q++) nuls++;
  int rv = quic_nvlist_reserve(out, len - nuls + 4 * nuls);
  size_t off = 0;
  while (rv == QUIC_OK && off < len) {
    const char *name = text + off;
    const char *nend = memchr(name, 0, len - off);
    const char *value = nend ? nend + 1 : NULL;
    const char *vend = value && value < text + len ? memchr(value, 0, (size_t)(text + len - value)) : NULL;
    if (vend == NULL) {
      rv = QUIC_ERR_INVALID;
      break;
    }
    rv = quic_nvlist_add(out, (const uint8_t *)name, (size_t)(nend - name), (const uint8_t *)value,
                         (size_t)(vend - value));
    off = (size_t)(vend - text) + 1;
  }
  quic_free(heap);
  if (rv != QUIC_OK) {
    quic_nvlist_clear(out);
    if (rv == QUIC_ERR_NOMEM) quic_napi_throw(env, "ERR_QUIC_OUT_OF_MEMORY", "out of memory");
    else quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "headers must be NUL-terminated names and values, in pairs");
    return false;
  }
  return true;
}

#define GET_SESSION(env, v)                                                                                    \
  quic_session *s = quic_binding_get_session(env, v);                                                          \
  if (s == NULL) return NULL

static quic_stream *get_stream(napi_env env, quic_session *s, napi_value key) {
  double k;
  if (!quic_napi_get_double(env, key, &k)) return NULL;
  quic_stream *st = quic_session_stream(s, (uint32_t)k);
  if (st == NULL) quic_napi_throw(env, "ERR_INVALID_STATE", "Stream is closed");
  return st;
}

/* sessionInfo(handle) -> details known after the handshake */
static napi_value session_info(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  napi_value o;
  char buf[256];
  NAPI_CALL(env, napi_create_object(env, &o));
  quic_tls_alpn(quic_session_tls(s), buf, sizeof(buf));
  NAPI_SET(env, o, "alpn", quic_napi_string(env, buf));
  quic_tls_servername(quic_session_tls(s), buf, sizeof(buf));
  NAPI_SET(env, o, "servername", quic_napi_string(env, buf));
  quic_tls_cipher(quic_session_tls(s), buf, sizeof(buf));
  NAPI_SET(env, o, "cipher", quic_napi_string(env, buf));
  quic_tls_version(quic_session_tls(s), buf, sizeof(buf));
  NAPI_SET(env, o, "version", quic_napi_string(env, buf));
  if (quic_session_tls(s)->validation_code) {
    NAPI_SET(env, o, "validationCode", quic_napi_string(env, quic_session_tls(s)->validation_code));
    NAPI_SET(env, o, "validationReason", quic_napi_string(env, quic_session_tls(s)->validation_reason));
  }
  /* The current path: it changes when either side migrates. */
  quic_addr cur_local, cur_remote;
  quic_session_current_path(s, &cur_local, &cur_remote);
  uint16_t port = quic_addr_format(&cur_remote, buf, sizeof(buf));
  const char *host = buf;
  /* Report IPv4-mapped peers as the IPv4 address they are. */
  if (strncmp(buf, "::ffff:", 7) == 0 && strchr(buf + 7, '.')) host = buf + 7;
  NAPI_SET(env, o, "remoteAddress", quic_napi_string(env, host));
  NAPI_SET(env, o, "remotePort", quic_napi_number(env, port));
  NAPI_SET(env, o, "remoteFamily", quic_napi_string(env, host == buf && cur_remote.u.sa.sa_family == AF_INET6 ? "ipv6" : "ipv4"));
  NAPI_SET(env, o, "closeReason", quic_napi_string(env, s->close_reason ? s->close_reason : ""));
  /* Server: the client's ALPN list, kept only when none of it was ours. */
  if (quic_session_tls(s)->offered_alpn) {
    napi_value list;
    NAPI_CALL(env, napi_create_array(env, &list));
    uint32_t n = 0;
    for (size_t i = 0; i < quic_session_tls(s)->offered_alpn_len;) {
      size_t l = quic_session_tls(s)->offered_alpn[i];
      if (l == 0 || i + 1 + l > quic_session_tls(s)->offered_alpn_len) break;
      napi_value v;
      NAPI_CALL(env, napi_create_string_latin1(env, (const char *)quic_session_tls(s)->offered_alpn + i + 1, l, &v));
      NAPI_CALL(env, napi_set_element(env, list, n++, v));
      i += 1 + l;
    }
    NAPI_SET(env, o, "offeredAlpn", list);
  }
  NAPI_SET(env, o, "goaway", quic_napi_bool(env, s->goaway_received));
  NAPI_SET(env, o, "earlyData", quic_napi_bool(env, quic_session_early_data(s)));
  const char *kname, *ktype;
  int kbits;
  if (quic_tls_ephemeral(quic_session_tls(s), &kname, &ktype, &kbits)) {
    NAPI_SET(env, o, "ephemeralName", quic_napi_string(env, kname));
    NAPI_SET(env, o, "ephemeralType", quic_napi_string(env, ktype));
    NAPI_SET(env, o, "ephemeralSize", quic_napi_number(env, kbits));
  }
  return o;
}

/* sessionCertificate(handle, peer) -> DER of ours / the peer's leaf as a
 * Buffer, or undefined. Asked for on first use, not per session (issue 5). */
static napi_value session_certificate(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 2);
  GET_SESSION(env, argv[0]);
  bool peer;
  if (!quic_napi_get_bool(env, argv[1], &peer)) return NULL;
  size_t len = 0;
  const uint8_t *der = quic_tls_certificate(quic_session_tls(s), peer, &len);
  if (der == NULL) return quic_napi_undefined(env);
  napi_value buf;
  void *p;
  NAPI_CALL(env, napi_create_buffer_copy(env, len, der, &p, &buf));
  return buf;
}

/* tlsContext(sessionOptions, tls, server) -> an external holding a TLS
 * context that connect() can reuse (tls.context). */
static napi_value tls_context(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 3);
  bool server;
  if (!quic_napi_get_bool(env, argv[2], &server)) return NULL;
  tls_ctx_holder *h = malloc(sizeof(*h));
  if (h == NULL) {
    quic_napi_throw(env, "ERR_OUT_OF_MEMORY", "out of memory");
    return NULL;
  }
  quic_session_config cfg;
  if (!quic_binding_session_config(env, argv[0], argv[1], server, &cfg)) {
    free(h);
    return NULL;
  }
  h->ctx = cfg.tls;
  quic_tls_ctx_ref(h->ctx);
  quic_session_config_clear(&cfg);
  napi_value ext;
  if (napi_create_external(env, h, finalize_tls_ctx, NULL, &ext) != napi_ok) {
    quic_tls_ctx_unref(h->ctx);
    free(h);
    quic_napi_throw_status(env, "napi_create_external");
    return NULL;
  }
  return ext;
}

/* tlsContextRelease(context): drops the reference now (sessions made from
 * it keep their own). */
static napi_value tls_context_release(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  tls_ctx_holder *h = tls_holder_of(env, argv[0]);
  if (h == NULL) return NULL;
  if (h->ctx) quic_tls_ctx_unref(h->ctx);
  h->ctx = NULL;
  return quic_napi_undefined(env);
}

/* sessionTicket(handle) -> [ticket ArrayBuffer, transport params ArrayBuffer,
 * application params ArrayBuffer (the server's WebTransport SETTINGS to
 * remember, possibly empty)] or undefined */
static napi_value session_ticket(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  const uint8_t *ticket;
  size_t ticket_len;
  uint8_t params[512];
  size_t params_len = sizeof(params);
  if (!quic_session_ticket(s, &ticket, &ticket_len, params, &params_len)) return quic_napi_undefined(env);
  napi_value arr, t, p;
  void *data;
  NAPI_CALL(env, napi_create_arraybuffer(env, ticket_len, &data, &t));
  memcpy(data, ticket, ticket_len);
  NAPI_CALL(env, napi_create_arraybuffer(env, params_len, &data, &p));
  if (params_len) memcpy(data, params, params_len);
  uint8_t app[32];
  size_t app_len = quic_wt_api_remembered(s, app, sizeof(app));
  napi_value a;
  NAPI_CALL(env, napi_create_arraybuffer(env, app_len, &data, &a));
  if (app_len) memcpy(data, app, app_len);
  NAPI_CALL(env, napi_create_array_with_length(env, 3, &arr));
  NAPI_CALL(env, napi_set_element(env, arr, 0, t));
  NAPI_CALL(env, napi_set_element(env, arr, 1, p));
  NAPI_CALL(env, napi_set_element(env, arr, 2, a));
  return arr;
}

/* sessionOpensEarly(handle) -> whether streams may be opened before the handshake (resumed sessions) */
static napi_value session_opens_early(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  return quic_napi_bool(env, quic_session_can_open_early(s));
}

/* [key, id] of a stream just opened (id -1 while it waits for one). */
static napi_value key_and_id(napi_env env, const quic_stream *st) {
  napi_value arr;
  NAPI_CALL(env, napi_create_array_with_length(env, 2, &arr));
  NAPI_CALL(env, napi_set_element(env, arr, 0, quic_napi_number(env, st->key)));
  NAPI_CALL(env, napi_set_element(env, arr, 1, quic_napi_number(env, (double)st->id)));
  return arr;
}

/* sessionOpen(handle, uni[, headers]) -> [key, id] (id -1 while queued) */
static napi_value session_open(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 3);
  GET_SESSION(env, argv[0]);
  bool uni;
  if (!quic_napi_get_bool(env, argv[1], &uni)) return NULL;
  quic_nvlist nv = {0};
  bool headers = argc > 2 && !quic_napi_is_nullish(env, argv[2]);
  if (headers && !get_nvlist(env, argv[2], &nv)) return NULL;
  quic_stream *st;
  int rv = quic_session_open_stream(s, uni, &st);
  if (rv == QUIC_OK && headers) rv = quic_stream_submit_headers(st, QUIC_HEADERS_INITIAL, &nv);
  quic_nvlist_clear(&nv);
  if (rv != QUIC_OK) {
    quic_napi_throw_core(env, rv, "open");
    return NULL;
  }
  return key_and_id(env, st);
}

/* sessionGoaway(handle) -> whether the peer sent GOAWAY (HTTP/3) */
static napi_value session_goaway(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  return quic_napi_bool(env, s->goaway_received);
}

/* sessionDatagram(handle, bytes) -> true if queued for sending */
static napi_value session_datagram(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 2);
  GET_SESSION(env, argv[0]);
  const uint8_t *data;
  size_t len;
  if (!quic_napi_get_bytes(env, argv[1], &data, &len)) return NULL;
  return quic_napi_bool(env, quic_session_datagram(s, data, len) == QUIC_OK);
}

static napi_value session_max_datagram(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  return quic_napi_number(env, (double)quic_session_max_datagram(s));
}

/* A taken datagram list as [ArrayBuffer, ...], or with `meta` [ArrayBuffer,
 * early, ...] (early: the flow label when there is one, else whether it came
 * in 0-RTT). The list is ours: every entry is freed, converted or not;
 * after a failure the rest are dropped (datagrams are unreliable anyway). */
static napi_value dgram_list(napi_env env, quic_dgram *d, bool meta) {
  napi_value out;
  napi_status st = napi_create_array(env, &out);
  uint32_t i = 0;
  while (d) {
    quic_dgram *next = d->next;
    void *p;
    napi_value ab, early;
    if (st == napi_ok && (st = napi_create_arraybuffer(env, d->len, &p, &ab)) == napi_ok) {
      if (d->len) memcpy(p, d->data, d->len);
      if ((st = napi_set_element(env, out, i++, ab)) == napi_ok && meta &&
          (st = d->flow >= 0 ? napi_create_double(env, (double)d->flow, &early)
                             : napi_get_boolean(env, d->early, &early)) == napi_ok)
        st = napi_set_element(env, out, i++, early);
    }
    quic_free(d);
    d = next;
  }
  NAPI_CALL(env, st);
  return out;
}

/* sessionDatagrams(handle) -> [ArrayBuffer, early, ArrayBuffer, early, ...].
 * (A WebTransport session's datagrams wait in its own queue: wtDatagrams.) */
static napi_value session_datagrams(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  return dgram_list(env, quic_session_take_datagrams(s), true);
}

/* ---- WebTransport (webtransport.h); key is the session's CONNECT stream ---- */

/* wtSession(handle, key, op[, code, reason]): op 0 accept (server), 1
 * register our CONNECT stream (client; code: its version, WT_DRAFT02 or
 * WT_DRAFT16), 2 close with code and reason (bytes), 3 drain. */
static napi_value wt_session(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 5);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  double op;
  if (!quic_napi_get_double(env, argv[2], &op)) return NULL;
  int rv;
  if (op == 0) {
    rv = quic_wt_api_accept(st);
  } else if (op == 1) {
    double version;
    if (!quic_napi_get_double(env, argv[3], &version)) return NULL;
    rv = quic_wt_api_connect(st, version == QUIC_WT_DRAFT16 ? QUIC_WT_DRAFT16 : QUIC_WT_DRAFT02);
  } else if (op == 2) {
    double code;
    const uint8_t *reason;
    size_t len;
    if (!quic_napi_get_double(env, argv[3], &code) || !quic_napi_get_bytes(env, argv[4], &reason, &len)) return NULL;
    if (!(code >= 0 && code <= 4294967295.0) || len > QUIC_WT_REASON_MAX) {
      quic_napi_throw(env, "ERR_OUT_OF_RANGE", "close code or reason out of range");
      return NULL;
    }
    rv = quic_wt_api_close(st, (uint32_t)code, reason, len);
  } else {
    rv = quic_wt_api_drain(st);
  }
  if (rv != QUIC_OK) {
    quic_napi_throw_core(env, rv, "webtransport");
    return NULL;
  }
  return quic_napi_undefined(env);
}

/* wtOpen(handle, key, uni) -> [key, id] */
static napi_value wt_open(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 3);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  bool uni;
  if (!quic_napi_get_bool(env, argv[2], &uni)) return NULL;
  quic_stream *ns;
  int rv = quic_wt_api_open(st, uni, &ns);
  if (rv != QUIC_OK) {
    quic_napi_throw_core(env, rv, "open");
    return NULL;
  }
  return key_and_id(env, ns);
}

/* wtDatagram(handle, key, bytes) -> true if queued (false: too large, queue
 * full, or the session is not open) */
static napi_value wt_datagram(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 3);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  const uint8_t *data;
  size_t len;
  if (!quic_napi_get_bytes(env, argv[2], &data, &len)) return NULL;
  return quic_napi_bool(env, quic_wt_api_datagram(st, data, len) == QUIC_OK);
}

/* wtPeerVersions(handle) -> the versions the peer's SETTINGS enable
 * (WT_DRAFT* bits), or before they came what a resumed client remembers */
static napi_value wt_peer_versions(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  return quic_napi_number(env, (double)quic_wt_api_peer_versions(s));
}

/* wtInfo(handle, key) -> [maxDatagramSize, reason (string or undefined),
 * early (server: the CONNECT came in 0-RTT)] */
static napi_value wt_info(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 2);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  napi_value arr, reason;
  NAPI_CALL(env, napi_create_array_with_length(env, 3, &arr));
  NAPI_CALL(env, napi_set_element(env, arr, 0, quic_napi_number(env, (double)quic_wt_api_max_datagram(st))));
  if (st->wt_reason) NAPI_CALL(env, napi_create_string_utf8(env, st->wt_reason, st->wt_reason_len, &reason));
  else reason = quic_napi_undefined(env);
  NAPI_CALL(env, napi_set_element(env, arr, 1, reason));
  NAPI_CALL(env, napi_set_element(env, arr, 2, quic_napi_bool(env, quic_wt_api_early(st))));
  return arr;
}

/* wtDatagrams(handle, key, max) -> [ArrayBuffer, ...]: up to max received
 * datagrams of the session, oldest first. */
static napi_value wt_datagrams(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 3);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  double max;
  if (!quic_napi_get_double(env, argv[2], &max)) return NULL;
  return dgram_list(env, quic_wt_api_datagrams_take(st, max >= 1 && max <= 4096 ? (size_t)max : 1), false);
}

/* wtDatagramConfig(handle, key, inHwm, outHwm, inMaxAgeMs, outMaxAgeMs):
 * the queue bounds (lib/webtransport.js validated them; 0 ms: no limit). */
static napi_value wt_datagram_config(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 6);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  double v[4];
  for (int i = 0; i < 4; i++)
    if (!quic_napi_get_double(env, argv[2 + i], &v[i])) return NULL;
  /* Ages past a day are no limit worth keeping apart from none. */
  for (int i = 2; i < 4; i++)
    if (!(v[i] >= 0) || v[i] > 86400000.0) v[i] = 0;
  int rv = QUIC_ERR_INVALID;
  if (v[0] >= 1 && v[0] <= QUIC_WT_DGRAM_HWM_MAX && v[1] >= 1 && v[1] <= QUIC_WT_DGRAM_HWM_MAX)
    rv = quic_wt_api_datagram_config(st, (uint32_t)v[0], (uint32_t)v[1], (uint64_t)(v[2] * 1e6), (uint64_t)(v[3] * 1e6));
  if (rv != QUIC_OK) {
    quic_napi_throw_core(env, rv, "wtDatagramConfig");
    return NULL;
  }
  return quic_napi_undefined(env);
}

/* wtDatagramsQueued(handle, key) -> our datagrams of the session waiting to
 * be sent */
static napi_value wt_datagrams_queued(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 2);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  return quic_napi_number(env, (double)quic_wt_api_datagrams_queued(st));
}

/* wtDatagramStats(handle, key) -> ArrayBuffer of the session's datagram
 * counts (stats_layout.h QUIC_WT_DATAGRAM_STATS), or undefined. */
static napi_value wt_datagram_stats(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 2);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  quic_wt_dgram_stats ds;
  if (!quic_wt_api_datagram_stats(st, &ds)) return quic_napi_undefined(env);
  void *p;
  napi_value ab;
  NAPI_CALL(env, napi_create_arraybuffer(env, sizeof(ds), &p, &ab));
  memcpy(p, &ds, sizeof(ds));
  return ab;
}

/* sessionUpdateKey(handle) -> true if a key update started */
static napi_value session_update_key(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  return quic_napi_bool(env, quic_session_update_key(s) == QUIC_OK);
}

static napi_value session_close(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  quic_session_close_graceful(s);
  return quic_napi_undefined(env);
}

/* sessionCancel(handle, isApplication, code, reason) */
static napi_value session_cancel(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 4);
  GET_SESSION(env, argv[0]);
  bool app;
  uint64_t code;
  char *reason = NULL;
  if (!quic_napi_get_bool(env, argv[1], &app) || !quic_napi_get_u64(env, argv[2], &code) ||
      !quic_napi_get_string(env, argv[3], &reason))
    return NULL;
  quic_session_close_now(s, app, code, reason);
  quic_free(reason);
  return quic_napi_undefined(env);
}

/* streamWrite(handle, key, bytes|null, fin[, trailers]) -> bytes not yet
 * acknowledged */
static napi_value stream_write(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 5);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  const uint8_t *data = NULL;
  size_t len = 0;
  bool fin;
  /* A string body (lib/ passes only short ones) is encoded here, straight
   * from the string: no Buffer made for it in JavaScript per response. */
  char small[STRING_BODY_STACK];
  char *text = NULL; /* owned here when the string outgrew `small` */
  napi_valuetype type;
  NAPI_CALL(env, napi_typeof(env, argv[2], &type));
  if (type == napi_string) {
    NAPI_CALL(env, napi_get_value_string_utf8(env, argv[2], NULL, 0, &len));
    char *buf = small;
    if (len + 1 > sizeof(small)) {
      buf = text = quic_malloc(len + 1);
      if (text == NULL) {
        quic_napi_throw_core(env, QUIC_ERR_NOMEM, "write");
        return NULL;
      }
    }
    if (napi_get_value_string_utf8(env, argv[2], buf, len + 1, &len) != napi_ok) {
      quic_free(text);
      quic_napi_throw_status(env, "napi_get_value_string_utf8");
      return NULL;
    }
    data = (const uint8_t *)buf;
  } else if (type != napi_undefined && type != napi_null && !quic_napi_get_bytes(env, argv[2], &data, &len)) {
    return NULL;
  }
  int rv = QUIC_OK;
  if (!quic_napi_get_bool(env, argv[3], &fin)) rv = QUIC_ERR_INVALID;
  if (rv == QUIC_OK && fin && argc > 4 && !quic_napi_is_nullish(env, argv[4])) {
    quic_nvlist nv;
    if (!get_nvlist(env, argv[4], &nv)) rv = QUIC_ERR_INVALID;
    else quic_stream_set_trailers(st, &nv);
  }
  if (rv != QUIC_OK) {
    quic_free(text); /* the exception is already pending */
    return NULL;
  }
  rv = quic_stream_write(st, data, len, fin);
  quic_free(text);
  if (rv != QUIC_OK) {
    quic_napi_throw_core(env, rv, "write");
    return NULL;
  }
  return quic_napi_number(env, (double)quic_stream_queued(st));
}

/* streamRead(handle, key) -> Buffer with data, true at the end, false when
 * nothing is buffered yet. */
static void finalize_chunk(napi_env env, void *data, void *hint) {
  QUIC_UNUSED(env);
  QUIC_UNUSED(data);
  quic_free_disowned(hint);
}

static napi_value stream_read(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 2);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  /* Nothing buffered: the end (true) after a FIN; after a reset, false:
   * the reset's own event, later in the same batch when data came with
   * it, errors the reader (a reader told "the end" here would take an
   * abort for a clean end). */
  if (st->rx_buffered == 0) return quic_napi_bool(env, (st->flags & QUIC_STREAM_RX_FIN) != 0);
  napi_value buf;
  /* A full receive chunk goes to JavaScript as it is, uncopied; the
   * collector frees it. Runtimes that refuse external memory get a copy. */
  quic_chunk *c = quic_stream_read_chunk(st);
  if (c) {
    quic_mem_disown(c);
    if (napi_create_external_buffer(env, c->len, c->data, finalize_chunk, c, &buf) == napi_ok) return buf;
    /* Refused: copy it, then free the block. */
    void *data;
    napi_status status = napi_create_buffer_copy(env, c->len, c->data, &data, &buf);
    quic_free_disowned(c);
    if (status != napi_ok) {
      quic_napi_throw_status(env, "napi_create_buffer_copy");
      return NULL;
    }
    return buf;
  }
  size_t n = (size_t)QUIC_MIN(st->rx_buffered, (uint64_t)MAX_READ);
  void *data;
  NAPI_CALL(env, napi_create_buffer(env, n, &data, &buf));
  quic_stream_read(st, data, n);
  return buf;
}

/* streamWantCommit(handle, key): raise the committed event for this stream
 * (stream.committed). */
static napi_value stream_want_commit(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 2);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  quic_stream_want_commit(st);
  return quic_napi_undefined(env);
}

/* streamAbort(handle, key, code, resetSending, stopReceiving) */
static napi_value stream_abort(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 5);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  uint64_t code;
  bool reset, stop;
  if (!quic_napi_get_u64(env, argv[2], &code) || !quic_napi_get_bool(env, argv[3], &reset) ||
      !quic_napi_get_bool(env, argv[4], &stop))
    return NULL;
  quic_stream_abort(st, code, reset, stop);
  return quic_napi_undefined(env);
}

/* streamSubmitHeaders(handle, key, kind, headers) */
static napi_value stream_submit_headers(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 4);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  double kind;
  quic_nvlist nv;
  if (!quic_napi_get_double(env, argv[2], &kind) || !get_nvlist(env, argv[3], &nv)) return NULL;
  int rv = quic_stream_submit_headers(st, (int)kind, &nv);
  quic_nvlist_clear(&nv);
  if (rv != QUIC_OK) {
    quic_napi_throw_core(env, rv, "headers");
    return NULL;
  }
  return quic_napi_undefined(env);
}

/* streamHeaders(handle, key) -> [kind, fields, kind, fields, ...] taken
 * from the received blocks, where fields is one latin1 string: each name
 * and value followed by a NUL. One string per block, not two per field: a
 * request's headers cost a couple of N-API calls instead of twenty. A NUL
 * cannot occur inside a field (nghttp3 refuses such a field as malformed,
 * RFC 9114 4.2); a field that holds one anyway is left out. */
static napi_value stream_headers(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 2);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  napi_value out;
  NAPI_CALL(env, napi_create_array(env, &out));
  uint32_t n = 0;
  quic_hblock *b;
  char small[2048];
  while ((b = quic_stream_hblock(st)) != NULL) {
    /* Each field takes its bytes less the two u32 lengths plus two NULs:
     * b->len is enough, on the stack for most blocks. */
    char *text = b->len <= sizeof(small) ? small : quic_malloc(b->len);
    if (text == NULL) {
      quic_napi_throw(env, "ERR_QUIC_INTERNAL", "out of memory for a header block");
      return NULL;
    }
    size_t len = 0;
    quic_hiter it;
    quic_hfield f;
    int rv;
    quic_hiter_init(&it, b->data, b->len, b->count);
    while ((rv = quic_hiter_next(&it, &f)) > 0) {
      if (memchr(f.name, 0, f.namelen) || memchr(f.value, 0, f.valuelen)) continue;
      memcpy(text + len, f.name, f.namelen);
      len += f.namelen;
      text[len++] = 0;
      memcpy(text + len, f.value, f.valuelen);
      len += f.valuelen;
      text[len++] = 0;
    }
    napi_value kind = NULL, fields = NULL;
    /* A failed N-API call leaves the block at the head, still the stream's. */
    bool ok = rv == 0 && (kind = quic_napi_number(env, b->kind)) != NULL &&
              napi_create_string_latin1(env, text, len, &fields) == napi_ok;
    if (text != small) quic_free(text);
    if (rv == 0 && !ok) {
      if (kind != NULL) quic_napi_throw_status(env, "napi_create_string_latin1");
      return NULL;
    }
    /* http3.c builds blocks with the encoder, so a malformed one is a bug
     * here, not the peer's doing: dropped, and reported. */
    if (rv == 0) {
      NAPI_CALL(env, napi_set_element(env, out, n++, kind));
      NAPI_CALL(env, napi_set_element(env, out, n++, fields));
    }
    quic_stream_drop_hblock(st);
    if (rv < 0) {
      quic_napi_throw(env, "ERR_QUIC_INTERNAL", "malformed header block");
      return NULL;
    }
  }
  return out;
}

/* streamRelease(handle, key[, array]): the application is done with the
 * stream; array, if given, receives its stats' last values first. */
static napi_value stream_release(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 4);
  quic_session *s = NULL;
  void *p = NULL;
  napi_valuetype t;
  NAPI_CALL(env, napi_typeof(env, argv[0], &t));
  if (t != napi_external) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "invalid session handle");
    return NULL;
  }
  NAPI_CALL(env, napi_get_value_external(env, argv[0], &p));
  /* Releasing after the session is gone is a no-op, not an error. */
  if (p) s = ((binding_session *)p)->session;
  if (s == NULL) return quic_napi_undefined(env);
  double k;
  if (!quic_napi_get_double(env, argv[1], &k)) return NULL;
  quic_stream *st = quic_session_stream(s, (uint32_t)k);
  if (st == NULL) return quic_napi_undefined(env);
  if (argc >= 3 && !quic_napi_is_nullish(env, argv[2])) {
    /* streamRelease(handle, key, array[, slot]): the stats go to the
     * array's slots from `slot` on (lib/ keeps many streams' in one array). */
    double at = 0;
    if (argc >= 4 && !quic_napi_get_double(env, argv[3], &at)) return NULL;
    if (!(at >= 0 && at <= 1e9) || at != (double)(size_t)at) {
      quic_napi_throw(env, "ERR_OUT_OF_RANGE", "invalid stats slot");
      return NULL;
    }
    uint64_t *o;
    if (!quic_napi_get_u64_window(env, argv[2], (size_t)at, sizeof(st->counters_inline) / sizeof(uint64_t), &o))
      return NULL;
    memcpy(o, st->counters, sizeof(st->counters_inline));
    /* The application let go now: that is when its copy of the stats ends
     * (the native stream may linger until ngtcp2 closes it). */
    quic_stream_counters *last = (quic_stream_counters *)o;
    if (last->destroyed_at == 0) last->destroyed_at = quic_now();
  }
  quic_stream_release(st);
  return quic_napi_undefined(env);
}

static napi_value stream_consumer(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 2);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  quic_stream_set_consumer(st);
  return quic_napi_undefined(env);
}

/* sessionStats(handle) -> ArrayBuffer over the counters the core writes in
 * place (asked once per Session; reads never come back here). */
static napi_value session_stats(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  quic_session_refresh_stats(s);
  void *d = quic_stats_share(s->counters, &s->counters_inline, sizeof(s->counters_inline));
  if (d) s->counters = d;
  return quic_napi_stats_buffer(env, d, sizeof(s->counters_inline));
}

/* streamStats(handle, key) -> ArrayBuffer over the stream's counters, asked
 * on the first read of stream.stats. streamStats(handle, key, array) copies
 * them instead: the last values of a stream whose stats were never read. */
static napi_value stream_stats(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 3);
  GET_SESSION(env, argv[0]);
  quic_stream *st = get_stream(env, s, argv[1]);
  if (st == NULL) return NULL;
  const size_t n = sizeof(st->counters_inline);
  if (argc >= 3 && !quic_napi_is_nullish(env, argv[2])) {
    uint64_t *o;
    if (!quic_napi_get_u64_array(env, argv[2], n / sizeof(uint64_t), &o)) return NULL;
    memcpy(o, st->counters, n);
    return quic_napi_undefined(env);
  }
  void *d = quic_stats_share(st->counters, &st->counters_inline, n);
  if (d) st->counters = d;
  return quic_napi_stats_buffer(env, d, n);
}

/* sessionKeylog(handle) -> the NSS key log lines collected since the last
 * call, or undefined. Called at the handshake and at close, not per packet. */
static napi_value session_keylog(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  size_t len;
  char *text = quic_tls_take_keylog(quic_session_tls(s), &len);
  if (text == NULL) return quic_napi_undefined(env);
  napi_value v;
  napi_status st = napi_create_string_latin1(env, text, len, &v);
  quic_free(text);
  NAPI_CALL(env, st);
  return v;
}

/* sessionExporterSecret(handle) -> Buffer | undefined: the TLS 1.3
 * exporter_master_secret, for keying-material exporters computed in
 * lib/webtransport.js (called per export, never per packet). */
static napi_value session_exporter_secret(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  size_t len;
  const uint8_t *secret = quic_tls_exporter_secret(quic_session_tls(s), &len);
  if (secret == NULL) return quic_napi_undefined(env);
  napi_value v;
  void *data;
  NAPI_CALL(env, napi_create_buffer_copy(env, len, secret, &data, &v));
  return v;
}

/* sessionQlog(handle) -> [text | undefined, fin, droppedBytes]: the qlog
 * records collected since the last call. Called when the application reads
 * session.qlog and at close, not per packet. */
static napi_value session_qlog(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  size_t len;
  bool fin;
  uint64_t dropped;
  char *text = quic_session_take_qlog(s, &len, &fin, &dropped);
  napi_value arr, v = quic_napi_undefined(env);
  napi_status st = text ? napi_create_string_utf8(env, text, len, &v) : napi_ok;
  quic_free(text);
  NAPI_CALL(env, st);
  NAPI_CALL(env, napi_create_array_with_length(env, 3, &arr));
  NAPI_CALL(env, napi_set_element(env, arr, 0, v));
  NAPI_CALL(env, napi_set_element(env, arr, 1, quic_napi_bool(env, fin)));
  NAPI_CALL(env, napi_set_element(env, arr, 2, quic_napi_number(env, (double)dropped)));
  return arr;
}

/* sessionClientHello(handle) -> { servername, alpn: [string], ciphers: [name] }
 * of the held ClientHello, or undefined when the session is not waiting. */
static napi_value session_client_hello(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  size_t len;
  const uint8_t *data = quic_session_hello(s, &len);
  if (data == NULL) return quic_napi_undefined(env);
  quic_tls_hello h;
  quic_tls_parse_hello(data, len, &h);
  napi_value o, alpn, ciphers;
  NAPI_CALL(env, napi_create_object(env, &o));
  NAPI_CALL(env, napi_create_array(env, &alpn));
  NAPI_CALL(env, napi_create_array(env, &ciphers));
  NAPI_SET(env, o, "servername", quic_napi_string(env, h.servername));
  uint32_t n = 0;
  for (size_t i = 0; i < h.alpnlen;) {
    size_t l = h.alpn[i];
    if (l == 0 || i + 1 + l > h.alpnlen) break;
    napi_value v;
    NAPI_CALL(env, napi_create_string_latin1(env, (const char *)h.alpn + i + 1, l, &v));
    NAPI_CALL(env, napi_set_element(env, alpn, n++, v));
    i += 1 + l;
  }
  n = 0;
  for (size_t i = 0; i < h.nsuites; i++) {
    const char *name = quic_tls_suite_name((unsigned)(h.suites[2 * i] << 8 | h.suites[2 * i + 1]));
    if (name) {
      NAPI_CALL(env, napi_set_element(env, ciphers, n++, quic_napi_string(env, name)));
    }
  }
  NAPI_SET(env, o, "alpn", alpn);
  NAPI_SET(env, o, "ciphers", ciphers);
  return o;
}

/* sessionClientHelloDone(handle[, sessionOptions, tls]) -> bool: resumes the
 * handshake, on new credentials when tls is given; false when not waiting. */
static napi_value session_client_hello_done(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 3);
  GET_SESSION(env, argv[0]);
  if (quic_session_hello(s, &(size_t){0}) == NULL) return quic_napi_bool(env, false);
  quic_session_config cfg;
  bool have = argc > 2 && !quic_napi_is_nullish(env, argv[2]);
  if (have && !quic_binding_session_config(env, argv[1], argv[2], true, &cfg)) return NULL;
  int rv = quic_session_hello_done(s, have ? cfg.tls : NULL);
  if (have) quic_session_config_clear(&cfg);
  if (rv != QUIC_OK) {
    quic_napi_throw_core(env, rv, "clientHello.done");
    return NULL;
  }
  return quic_napi_bool(env, true);
}

/* A Buffer copy of data, undefined when there is none; NULL (an exception
 * pending) on failure. */
static napi_value copy_buffer(napi_env env, const uint8_t *data, size_t len) {
  void *p;
  napi_value buf;
  if (data == NULL) return quic_napi_undefined(env);
  NAPI_CALL(env, napi_create_buffer_copy(env, len, data, &p, &buf));
  return buf;
}

/* sessionOcsp(handle) -> server: { certificate, issuer } while the handshake
 * waits for a response, else undefined; client: the stapled response
 * (Buffer) or undefined. */
static napi_value session_ocsp(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  GET_SESSION(env, argv[0]);
  size_t len = 0;
  if (!s->server) {
    const uint8_t *resp = quic_tls_ocsp_received(quic_session_tls(s), &len);
    return copy_buffer(env, resp, len);
  }
  if (!quic_session_ocsp_waiting(s)) return quic_napi_undefined(env);
  napi_value o;
  NAPI_CALL(env, napi_create_object(env, &o));
  const uint8_t *der = quic_tls_ocsp_certificate(quic_session_tls(s), false, &len);
  NAPI_SET(env, o, "certificate", copy_buffer(env, der, len));
  der = quic_tls_ocsp_certificate(quic_session_tls(s), true, &len);
  NAPI_SET(env, o, "issuer", copy_buffer(env, der, len));
  return o;
}

/* sessionOcspRespond(handle, response|undefined) -> bool (false: not waiting) */
static napi_value session_ocsp_respond(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 2);
  GET_SESSION(env, argv[0]);
  const uint8_t *data = NULL;
  size_t len = 0;
  if (argc > 1 && !quic_napi_is_nullish(env, argv[1]) && !quic_napi_get_bytes(env, argv[1], &data, &len)) return NULL;
  if (!quic_session_ocsp_waiting(s)) return quic_napi_bool(env, false);
  int rv = quic_session_ocsp_respond(s, data, len);
  if (rv != QUIC_OK) {
    quic_napi_throw_core(env, rv, "respondWith");
    return NULL;
  }
  return quic_napi_bool(env, true);
}

bool quic_binding_init_session(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sessionInfo", NULL, session_info, NULL, NULL, NULL, napi_default, NULL},
      {"sessionCertificate", NULL, session_certificate, NULL, NULL, NULL, napi_default, NULL},
      {"sessionTicket", NULL, session_ticket, NULL, NULL, NULL, napi_default, NULL},
      {"tlsContext", NULL, tls_context, NULL, NULL, NULL, napi_default, NULL},
      {"tlsContextRelease", NULL, tls_context_release, NULL, NULL, NULL, napi_default, NULL},
      {"sessionOpensEarly", NULL, session_opens_early, NULL, NULL, NULL, napi_default, NULL},
      {"sessionOpen", NULL, session_open, NULL, NULL, NULL, napi_default, NULL},
      {"sessionClose", NULL, session_close, NULL, NULL, NULL, napi_default, NULL},
      {"sessionGoaway", NULL, session_goaway, NULL, NULL, NULL, napi_default, NULL},
      {"sessionUpdateKey", NULL, session_update_key, NULL, NULL, NULL, napi_default, NULL},
      {"sessionDatagram", NULL, session_datagram, NULL, NULL, NULL, napi_default, NULL},
      {"sessionMaxDatagram", NULL, session_max_datagram, NULL, NULL, NULL, napi_default, NULL},
      {"sessionDatagrams", NULL, session_datagrams, NULL, NULL, NULL, napi_default, NULL},
      {"wtSession", NULL, wt_session, NULL, NULL, NULL, napi_default, NULL},
      {"wtOpen", NULL, wt_open, NULL, NULL, NULL, napi_default, NULL},
      {"wtDatagram", NULL, wt_datagram, NULL, NULL, NULL, napi_default, NULL},
      {"wtInfo", NULL, wt_info, NULL, NULL, NULL, napi_default, NULL},
      {"wtPeerVersions", NULL, wt_peer_versions, NULL, NULL, NULL, napi_default, NULL},
      {"wtDatagrams", NULL, wt_datagrams, NULL, NULL, NULL, napi_default, NULL},
      {"wtDatagramConfig", NULL, wt_datagram_config, NULL, NULL, NULL, napi_default, NULL},
      {"wtDatagramStats", NULL, wt_datagram_stats, NULL, NULL, NULL, napi_default, NULL},
      {"wtDatagramsQueued", NULL, wt_datagrams_queued, NULL, NULL, NULL, napi_default, NULL},
      {"sessionExporterSecret", NULL, session_exporter_secret, NULL, NULL, NULL, napi_default, NULL},
      {"sessionCancel", NULL, session_cancel, NULL, NULL, NULL, napi_default, NULL},
      {"sessionStats", NULL, session_stats, NULL, NULL, NULL, napi_default, NULL},
      {"sessionKeylog", NULL, session_keylog, NULL, NULL, NULL, napi_default, NULL},
      {"sessionQlog", NULL, session_qlog, NULL, NULL, NULL, napi_default, NULL},
      {"sessionClientHello", NULL, session_client_hello, NULL, NULL, NULL, napi_default, NULL},
      {"sessionClientHelloDone", NULL, session_client_hello_done, NULL, NULL, NULL, napi_default, NULL},
      {"sessionOcsp", NULL, session_ocsp, NULL, NULL, NULL, napi_default, NULL},
      {"sessionOcspRespond", NULL, session_ocsp_respond, NULL, NULL, NULL, napi_default, NULL},
      {"streamWrite", NULL, stream_write, NULL, NULL, NULL, napi_default, NULL},
      {"streamRead", NULL, stream_read, NULL, NULL, NULL, napi_default, NULL},
      {"streamAbort", NULL, stream_abort, NULL, NULL, NULL, napi_default, NULL},
      {"streamWantCommit", NULL, stream_want_commit, NULL, NULL, NULL, napi_default, NULL},
      {"streamRelease", NULL, stream_release, NULL, NULL, NULL, napi_default, NULL},
      {"streamSubmitHeaders", NULL, stream_submit_headers, NULL, NULL, NULL, napi_default, NULL},
      {"streamHeaders", NULL, stream_headers, NULL, NULL, NULL, napi_default, NULL},
      {"streamConsumer", NULL, stream_consumer, NULL, NULL, NULL, napi_default, NULL},
      {"streamStats", NULL, stream_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  NAPI_CALL_BOOL(env, napi_define_properties(env, exports, QUIC_ARRAY_LEN(props), props));
  return true;
}

#include "tls.h"

#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "keymap.h"
#include "mem.h"

struct quic_tls_ctx {
  int refs;
  bool server;
  bool reject_unauthorized;
  bool verify_hostname;
  gnutls_certificate_credentials_t cred; /* owned */
  gnutls_datum_t *alpn;                  /* owned array of views into alpn_buf */
  unsigned nalpn;
  uint8_t *alpn_buf;                     /* owned copy of the wire list */
  /* Resumption (server). */
  uint8_t ticket_key[64];                /* GnuTLS's ticket master key size */
  uint32_t session_timeout_s;
  gnutls_anti_replay_t anti_replay;      /* owned */
  quic_keymap replay_seen;               /* 0-RTT ClientHellos in the window; bounded */
  bool replay_init;
};

/* TLS 1.3 only; QUIC forbids the middlebox compatibility mode. */
static const char PRIORITY[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE";

static bool is_pem(const quic_blob *b) {
  static const char tag[] = "-----BEGIN";
  if (b->len < sizeof(tag) - 1) return false;
  /* PEM may be preceded by text; a short scan finds the tag. */
  size_t lim = QUIC_MIN(b->len, 4096);
  for (size_t i = 0; i + sizeof(tag) - 1 <= lim; i++)
    if (memcmp(b->data + i, tag, sizeof(tag) - 1) == 0) return true;
  return false;
}

static gnutls_datum_t datum(const quic_blob *b) {
  gnutls_datum_t d = {(unsigned char *)b->data, (unsigned)b->len};
  return d;
}

static void set_err(char *err, size_t errlen, const char *what, int rv) {
  snprintf(err, errlen, "%s: %s", what, gnutls_strerror(rv));
}

/* Maps GnuTLS verification status bits onto the codes Node's tls reports, so
 * users can match on the same strings. Chain problems win over the name. */
static const char *status_code(unsigned status, bool self_signed) {
  if (status & GNUTLS_CERT_REVOKED) return "CERT_REVOKED";
  if (status & GNUTLS_CERT_EXPIRED) return "CERT_HAS_EXPIRED";
  if (status & GNUTLS_CERT_NOT_ACTIVATED) return "CERT_NOT_YET_VALID";
  if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
    return self_signed ? "DEPTH_ZERO_SELF_SIGNED_CERT" : "UNABLE_TO_VERIFY_LEAF_SIGNATURE";
  if (status & GNUTLS_CERT_SIGNER_NOT_CA) return "INVALID_CA";
  if (status & (GNUTLS_CERT_SIGNATURE_FAILURE | GNUTLS_CERT_INSECURE_ALGORITHM)) return "CERT_SIGNATURE_FAILURE";
  if (status & GNUTLS_CERT_UNEXPECTED_OWNER) return "ERR_TLS_CERT_ALTNAME_INVALID";
  return "UNABLE_TO_VERIFY_LEAF_SIGNATURE";
}

static int verify_peer(gnutls_session_t gs) {
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(gs);
  quic_tls_session *ts = QUIC_CONTAINER(ref, quic_tls_session, conn_ref);
  quic_tls_ctx *ctx = ts->ctx;
  if (ctx->server) return 0; /* client certificates: not requested yet */

  unsigned ncerts = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(gs, &ncerts);
  if (certs == NULL || ncerts == 0) {
    ts->validation_code = "UNABLE_TO_GET_ISSUER_CERT";
    snprintf(ts->validation_reason, sizeof(ts->validation_reason), "peer sent no certificate");
    return ctx->reject_unauthorized ? -1 : 0;
  }
  unsigned status = 0;
  int rv = gnutls_certificate_verify_peers2(gs, &status);
  gnutls_x509_crt_t leaf = NULL;
  bool self_signed = false;
  if (gnutls_x509_crt_init(&leaf) == 0 && gnutls_x509_crt_import(leaf, &certs[0], GNUTLS_X509_FMT_DER) == 0) {
    self_signed = ncerts == 1 && gnutls_x509_crt_check_issuer(leaf, leaf) == 1;
  }
  if (rv < 0) {
    ts->validation_code = "UNABLE_TO_VERIFY_LEAF_SIGNATURE";
    snprintf(ts->validation_reason, sizeof(ts->validation_reason), "%s", gnutls_strerror(rv));
  } else if (status != 0) {
    ts->validation_code = status_code(status, self_signed);
    gnutls_datum_t out = {0};
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
      snprintf(ts->validation_reason, sizeof(ts->validation_reason), "%s", out.data);
      gnutls_free(out.data);
    }
  } else if (ctx->verify_hostname && ts->verify_name && leaf &&
             !gnutls_x509_crt_check_hostname2(leaf, ts->verify_name, 0)) {
    ts->validation_code = "ERR_TLS_CERT_ALTNAME_INVALID";
    snprintf(ts->validation_reason, sizeof(ts->validation_reason),
             "Hostname/IP does not match certificate's altnames: Host: %s is not in the cert's altnames",
             ts->verify_name);
  }
  if (leaf) gnutls_x509_crt_deinit(leaf);
  return (ts->validation_code && ctx->reject_unauthorized) ? -1 : 0;
}

static int load_alpn(quic_tls_ctx *ctx, const uint8_t *alpn, size_t len) {
  if (len == 0) return QUIC_OK;
  ctx->alpn_buf = quic_malloc(len);
  ctx->alpn = quic_calloc(len, sizeof(gnutls_datum_t));
  if (!ctx->alpn_buf || !ctx->alpn) return QUIC_ERR_NOMEM;
  memcpy(ctx->alpn_buf, alpn, len);
  for (size_t i = 0; i < len;) {
    size_t l = ctx->alpn_buf[i];
    if (l == 0 || i + 1 + l > len) return QUIC_ERR_INVALID;
    ctx->alpn[ctx->nalpn].data = ctx->alpn_buf + i + 1;
    ctx->alpn[ctx->nalpn].size = (unsigned)l;
    ctx->nalpn++;
    i += 1 + l;
  }
  return QUIC_OK;
}

/* ---- resumption and 0-RTT ----
 * Servers seal tickets under a 64-byte GnuTLS master key, derived from the
 * 48-byte ticketKeys Node users know (so a fleet sharing ticketKeys resumes
 * each other's clients), or random. 0-RTT is accepted only through GnuTLS's
 * anti-replay check, whose memory of recent ClientHellos is ours: a bounded
 * table. When it is full, 0-RTT is refused (the handshake still completes). */

#define REPLAY_WINDOW_MS 10000
#define REPLAY_MAX_ENTRIES 65536
#define TICKET_MAX 16384

static int replay_add(void *ptr, time_t exp_time, const gnutls_datum_t *key, const gnutls_datum_t *data) {
  QUIC_UNUSED(data);
  quic_tls_ctx *ctx = ptr;
  uint8_t digest[32];
  if (gnutls_hash_fast(GNUTLS_DIG_SHA256, key->data, key->size, digest) != 0) return GNUTLS_E_DB_ERROR;
  time_t now = time(NULL);
  quic_keymap_entry *e;
  /* Entries go in with the same window, so the oldest expire first. */
  while ((e = quic_keymap_oldest(&ctx->replay_seen)) != NULL && (time_t)e->a < now) quic_keymap_del(&ctx->replay_seen, e);
  e = quic_keymap_get(&ctx->replay_seen, digest, sizeof(digest));
  if (e) return GNUTLS_E_DB_ENTRY_EXISTS;
  if (ctx->replay_seen.count >= REPLAY_MAX_ENTRIES) return GNUTLS_E_DB_ERROR;
  e = quic_keymap_put(&ctx->replay_seen, digest, sizeof(digest), NULL);
  if (e == NULL) return GNUTLS_E_DB_ERROR;
  e->a = (uint64_t)exp_time;
  return 0;
}

static int resumption_init(quic_tls_ctx *ctx, const quic_tls_options *o, char *err, size_t errlen) {
  int rv;
  if (o->ticket_keys && o->ticket_keys_len) {
    static const char label[] = "quic ticket master key";
    rv = gnutls_hmac_fast(GNUTLS_MAC_SHA512, o->ticket_keys, o->ticket_keys_len, label, sizeof(label) - 1,
                          ctx->ticket_key);
    if (rv != 0) {
      set_err(err, errlen, "cannot derive the ticket key", rv);
      return QUIC_ERR_TLS;
    }
  } else if (quic_tls_random(ctx->ticket_key, sizeof(ctx->ticket_key)) != QUIC_OK) {
    snprintf(err, errlen, "no randomness for the ticket key");
    return QUIC_ERR_TLS;
  }
  ctx->session_timeout_s = o->session_timeout_s ? o->session_timeout_s : 300;
  if (quic_keymap_init(&ctx->replay_seen) != QUIC_OK) {
    snprintf(err, errlen, "out of memory");
    return QUIC_ERR_NOMEM;
  }
  ctx->replay_init = true;
  if ((rv = gnutls_anti_replay_init(&ctx->anti_replay)) != 0) {
    ctx->anti_replay = NULL;
    set_err(err, errlen, "cannot set up 0-RTT anti-replay", rv);
    return QUIC_ERR_TLS;
  }
  gnutls_anti_replay_set_window(ctx->anti_replay, REPLAY_WINDOW_MS);
  gnutls_anti_replay_set_add_function(ctx->anti_replay, replay_add);
  gnutls_anti_replay_set_ptr(ctx->anti_replay, ctx);
  return QUIC_OK;
}

/* Tickets handed to the application carry a small header of ours: "QTK1"
 * and the wall-clock time (ms, big endian) at which the server said the
 * ticket expires. GnuTLS 3.7 fails the whole handshake when asked for 0-RTT
 * with an expired ticket, so expired tickets are never given back to it. */
#define TICKET_HDR 12
static const uint8_t TICKET_MAGIC[4] = {'Q', 'T', 'K', '1'};

static uint64_t wall_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Client: keep the newest ticket (a server may send several). Its
 * lifetime is read from the message before GnuTLS parses it (the first
 * field of NewSessionTicket, RFC 8446 4.6.1), the session data after. */
static int ticket_hook(gnutls_session_t gs, unsigned htype, unsigned when, unsigned incoming,
                       const gnutls_datum_t *msg) {
  if (htype != GNUTLS_HANDSHAKE_NEW_SESSION_TICKET || !incoming) return 0;
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(gs);
  quic_tls_session *ts = QUIC_CONTAINER(ref, quic_tls_session, conn_ref);
  if (when == GNUTLS_HOOK_PRE) {
    ts->ticket_lifetime = 0;
    if (msg && msg->size >= 4)
      ts->ticket_lifetime = (uint32_t)msg->data[0] << 24 | (uint32_t)msg->data[1] << 16 |
                            (uint32_t)msg->data[2] << 8 | msg->data[3];
    return 0;
  }
  uint32_t lifetime = ts->ticket_lifetime;
  gnutls_datum_t d = {0};
  if (gnutls_session_get_data2(gs, &d) != 0) return 0;
  if (d.size > 0 && d.size <= TICKET_MAX - TICKET_HDR) {
    uint8_t *copy = quic_malloc(TICKET_HDR + d.size);
    if (copy) {
      uint64_t expiry = wall_ms() + (uint64_t)lifetime * 1000;
      memcpy(copy, TICKET_MAGIC, 4);
      for (int i = 0; i < 8; i++) copy[4 + i] = (uint8_t)(expiry >> (56 - 8 * i));
      memcpy(copy + TICKET_HDR, d.data, d.size);
      quic_free(ts->ticket);
      ts->ticket = copy;
      ts->ticket_len = TICKET_HDR + d.size;
    }
  }
  gnutls_free(d.data);
  return 0;
}

static int resumption_session_init(quic_tls_session *ts) {
  quic_tls_ctx *ctx = ts->ctx;
  if (!ctx->server) {
    gnutls_handshake_set_hook_function(ts->gs, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET, GNUTLS_HOOK_BOTH, ticket_hook);
    return QUIC_OK;
  }
  gnutls_datum_t key = {ctx->ticket_key, sizeof(ctx->ticket_key)};
  if (gnutls_session_ticket_enable_server(ts->gs, &key) != 0) return QUIC_ERR_TLS;
  gnutls_db_set_cache_expiration(ts->gs, (int)ctx->session_timeout_s);
  gnutls_anti_replay_enable(ts->gs, ctx->anti_replay);
  /* QUIC's own flow control bounds 0-RTT data; TLS must not add a limit. */
  if (gnutls_record_set_max_early_data_size(ts->gs, 0xffffffffu) != 0) return QUIC_ERR_TLS;
  return QUIC_OK;
}

int quic_tls_set_ticket(quic_tls_session *ts, const uint8_t *ticket, size_t len) {
  if (ts->ctx->server || len <= TICKET_HDR || len > TICKET_MAX || memcmp(ticket, TICKET_MAGIC, 4) != 0)
    return QUIC_ERR_INVALID;
  uint64_t expiry = 0;
  for (int i = 0; i < 8; i++) expiry = expiry << 8 | ticket[4 + i];
  /* A second of margin: GnuTLS measures the ticket's age its own way. */
  if (wall_ms() + 1000 >= expiry) return QUIC_ERR_STATE;
  if (gnutls_session_set_data(ts->gs, ticket + TICKET_HDR, len - TICKET_HDR) != 0) return QUIC_ERR_TLS;
  ts->resuming = true;
  return QUIC_OK;
}

const uint8_t *quic_tls_ticket(quic_tls_session *ts, size_t *len) {
  *len = ts->ticket_len;
  return ts->ticket;
}

bool quic_tls_resumed(quic_tls_session *ts) { return gnutls_session_is_resumed(ts->gs) != 0; }

bool quic_tls_early_data_accepted(quic_tls_session *ts) {
  return (gnutls_session_get_flags(ts->gs) & GNUTLS_SFLAGS_EARLY_DATA) != 0;
}

int quic_tls_ctx_new(quic_tls_ctx **out, const quic_tls_options *o, char *err, size_t errlen) {
  int rv;
  quic_tls_ctx *ctx = quic_calloc(1, sizeof(*ctx));
  if (ctx == NULL) {
    snprintf(err, errlen, "out of memory");
    return QUIC_ERR_NOMEM;
  }
  ctx->refs = 1;
  ctx->server = o->server;
  ctx->reject_unauthorized = o->reject_unauthorized;
  ctx->verify_hostname = o->verify_hostname;
  if ((rv = gnutls_certificate_allocate_credentials(&ctx->cred)) != 0) {
    set_err(err, errlen, "cannot allocate credentials", rv);
    goto fail;
  }
  if (load_alpn(ctx, o->alpn, o->alpnlen) != QUIC_OK) {
    snprintf(err, errlen, "malformed ALPN list");
    goto fail;
  }
  if (o->nkeys != o->ncerts) {
    snprintf(err, errlen, "secure.key and secure.cert must have the same number of entries");
    goto fail;
  }
  for (size_t i = 0; i < o->nkeys; i++) {
    gnutls_datum_t c = datum(&o->certs[i]), k = datum(&o->keys[i]);
    gnutls_x509_crt_fmt_t fmt = is_pem(&o->certs[i]) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER;
    gnutls_x509_crt_fmt_t kfmt = is_pem(&o->keys[i]) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER;
    if (fmt != kfmt) {
      /* Mixed formats need two calls; load the cert list and key separately. */
      snprintf(err, errlen, "secure.key[%zu] and secure.cert[%zu] must both be PEM or both DER", i, i);
      goto fail;
    }
    rv = gnutls_certificate_set_x509_key_mem2(ctx->cred, &c, &k, fmt, o->passphrase, 0);
    if (rv < 0) {
      set_err(err, errlen, "cannot load secure.key / secure.cert", rv);
      goto fail;
    }
  }
  for (size_t i = 0; i < o->ncas; i++) {
    gnutls_datum_t d = datum(&o->cas[i]);
    rv = gnutls_certificate_set_x509_trust_mem(ctx->cred, &d,
                                               is_pem(&o->cas[i]) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER);
    if (rv < 0) {
      set_err(err, errlen, "cannot load secure.ca", rv);
      goto fail;
    }
  }
  if (o->ncas == 0 && !o->server) {
    /* Like Node: the system store plus NODE_EXTRA_CA_CERTS. A missing system
     * store is not fatal; verification then fails with a clear code. */
    (void)gnutls_certificate_set_x509_system_trust(ctx->cred);
    if (o->extra_ca_file && *o->extra_ca_file)
      (void)gnutls_certificate_set_x509_trust_file(ctx->cred, o->extra_ca_file, GNUTLS_X509_FMT_PEM);
  }
  if (o->server && o->nkeys == 0) {
    snprintf(err, errlen, "a server needs secure.key and secure.cert");
    goto fail;
  }
  gnutls_certificate_set_verify_function(ctx->cred, verify_peer);
  if (o->server && resumption_init(ctx, o, err, errlen) != QUIC_OK) goto fail;
  *out = ctx;
  return QUIC_OK;

fail:
  quic_tls_ctx_unref(ctx);
  return QUIC_ERR_TLS;
}

void quic_tls_ctx_ref(quic_tls_ctx *ctx) { ctx->refs++; }

void quic_tls_ctx_unref(quic_tls_ctx *ctx) {
  if (ctx == NULL || --ctx->refs > 0) return;
  if (ctx->cred) gnutls_certificate_free_credentials(ctx->cred);
  quic_free(ctx->alpn);
  quic_free(ctx->alpn_buf);
  if (ctx->anti_replay) gnutls_anti_replay_deinit(ctx->anti_replay);
  if (ctx->replay_init) quic_keymap_free(&ctx->replay_seen);
  gnutls_memset(ctx->ticket_key, 0, sizeof(ctx->ticket_key));
  quic_free(ctx);
}

int quic_tls_session_init(quic_tls_session *ts, quic_tls_ctx *ctx, ngtcp2_crypto_get_conn get_conn,
                          void *user, const char *sni, const char *verify_name) {
  memset(ts, 0, sizeof(*ts));
  unsigned flags = (ctx->server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_END_OF_EARLY_DATA |
                   GNUTLS_ENABLE_EARLY_DATA;
  if (gnutls_init(&ts->gs, flags) != 0) return QUIC_ERR_TLS;
  ts->ctx = ctx;
  quic_tls_ctx_ref(ctx);
  ts->conn_ref.get_conn = get_conn;
  ts->conn_ref.user_data = user;
  if (gnutls_priority_set_direct(ts->gs, PRIORITY, NULL) != 0) goto fail;
  int rv = ctx->server ? ngtcp2_crypto_gnutls_configure_server_session(ts->gs)
                       : ngtcp2_crypto_gnutls_configure_client_session(ts->gs);
  if (rv != 0) goto fail;
  gnutls_session_set_ptr(ts->gs, &ts->conn_ref);
  if (gnutls_credentials_set(ts->gs, GNUTLS_CRD_CERTIFICATE, ctx->cred) != 0) goto fail;
  if (ctx->nalpn) {
    /* QUIC requires ALPN: a peer with no protocol in common is refused with
     * no_application_protocol. The server picks by its own order. */
    unsigned aflags = GNUTLS_ALPN_MANDATORY | (ctx->server ? GNUTLS_ALPN_SERVER_PRECEDENCE : 0);
    if (gnutls_alpn_set_protocols(ts->gs, ctx->alpn, ctx->nalpn, aflags) != 0) goto fail;
  }
  if (resumption_session_init(ts) != QUIC_OK) goto fail;
  if (!ctx->server) {
    if (sni && *sni && gnutls_server_name_set(ts->gs, GNUTLS_NAME_DNS, sni, strlen(sni)) != 0) goto fail;
    if (verify_name && (ts->verify_name = quic_strdup(verify_name)) == NULL) goto fail;
    if (sni && (ts->sni = quic_strdup(sni)) == NULL) goto fail;
  }
  return QUIC_OK;

fail:
  quic_tls_session_free(ts);
  return QUIC_ERR_TLS;
}

void quic_tls_session_free(quic_tls_session *ts) {
  if (ts->gs) gnutls_deinit(ts->gs);
  ts->gs = NULL;
  if (ts->ctx) quic_tls_ctx_unref(ts->ctx);
  ts->ctx = NULL;
  quic_free(ts->verify_name);
  ts->verify_name = NULL;
  quic_free(ts->sni);
  ts->sni = NULL;
  quic_free(ts->ticket);
  ts->ticket = NULL;
  ts->ticket_len = 0;
}

void *quic_tls_native_handle(quic_tls_session *ts) { return ts->gs; }

void quic_tls_alpn(quic_tls_session *ts, char *buf, size_t len) {
  gnutls_datum_t p;
  buf[0] = 0;
  if (gnutls_alpn_get_selected_protocol(ts->gs, &p) == 0)
    snprintf(buf, len, "%.*s", (int)p.size, (const char *)p.data);
}

void quic_tls_servername(quic_tls_session *ts, char *buf, size_t len) {
  buf[0] = 0;
  if (!ts->ctx->server) {
    /* A client reports the name it asked for. */
    snprintf(buf, len, "%s", ts->sni ? ts->sni : "");
    return;
  }
  size_t n = len;
  unsigned type = 0;
  if (gnutls_server_name_get(ts->gs, buf, &n, &type, 0) != 0 || type != GNUTLS_NAME_DNS) buf[0] = 0;
}

void quic_tls_cipher(quic_tls_session *ts, char *buf, size_t len) {
  /* Before a suite is negotiated GnuTLS 3.7 crashes in ciphersuite_get. */
  const char *name = gnutls_cipher_get(ts->gs) == GNUTLS_CIPHER_NULL ? NULL : gnutls_ciphersuite_get(ts->gs);
  snprintf(buf, len, "%s", name ? name : "");
}

void quic_tls_version(quic_tls_session *ts, char *buf, size_t len) {
  bool done = gnutls_cipher_get(ts->gs) != GNUTLS_CIPHER_NULL;
  snprintf(buf, len, "%s", done && gnutls_protocol_get_version(ts->gs) == GNUTLS_TLS1_3 ? "TLSv1.3" : "");
}

int quic_tls_random(void *buf, size_t n) {
  return gnutls_rnd(GNUTLS_RND_RANDOM, buf, n) == 0 ? QUIC_OK : QUIC_ERR_TLS;
}

const char *quic_tls_backend_version(void) {
  static char buf[48];
  if (!buf[0]) snprintf(buf, sizeof(buf), "GnuTLS %s", gnutls_check_version(NULL));
  return buf;
}

const uint8_t *quic_tls_certificate(quic_tls_session *ts, bool peer, size_t *len) {
  const gnutls_datum_t *d;
  unsigned n = 0;
  if (peer) {
    d = gnutls_certificate_get_peers(ts->gs, &n);
    if (d == NULL || n == 0) return NULL;
  } else {
    d = gnutls_certificate_get_ours(ts->gs);
    if (d == NULL) return NULL;
  }
  *len = d->size;
  return d->data;
}

bool quic_tls_ephemeral(quic_tls_session *ts, const char **name, const char **type, int *bits) {
  if (gnutls_cipher_get(ts->gs) == GNUTLS_CIPHER_NULL) return false;
  /* Node (OpenSSL) names; GnuTLS's own names differ. */
  switch (gnutls_group_get(ts->gs)) {
  case GNUTLS_GROUP_X25519: *name = "X25519"; *type = "ECDH"; *bits = 253; return true;
  case GNUTLS_GROUP_X448: *name = "X448"; *type = "ECDH"; *bits = 448; return true;
  case GNUTLS_GROUP_SECP256R1: *name = "prime256v1"; *type = "ECDH"; *bits = 256; return true;
  case GNUTLS_GROUP_SECP384R1: *name = "secp384r1"; *type = "ECDH"; *bits = 384; return true;
  case GNUTLS_GROUP_SECP521R1: *name = "secp521r1"; *type = "ECDH"; *bits = 521; return true;
  case GNUTLS_GROUP_FFDHE2048: *name = "ffdhe2048"; *type = "DH"; *bits = 2048; return true;
  case GNUTLS_GROUP_FFDHE3072: *name = "ffdhe3072"; *type = "DH"; *bits = 3072; return true;
  case GNUTLS_GROUP_FFDHE4096: *name = "ffdhe4096"; *type = "DH"; *bits = 4096; return true;
  default: return false;
  }
}

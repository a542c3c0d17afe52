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
  /* Peer chains this context verified: digest of chain and name -> expiry
   * (entry->a, seconds). Bounded LRU; see verify_cached. */
  quic_keymap verified;
  bool verified_init;
  /* TLS hooks (issue 4). */
  gnutls_priority_t priority;            /* owned: PRIORITY plus any ciphers/groups/sigalgs */
  bool request_cert;
  bool keylog;
  bool client_hello;
  bool ocsp;
};

/* What a released session still reports. One allocation: the strings and
 * the peer's certificate live in data[]. */
struct quic_tls_kept {
  const char *alpn, *servername, *cipher; /* into data[] */
  const char *group_name, *group_type;    /* static, or NULL */
  int group_bits;
  bool tls13, early_data;
  const uint8_t *own_cert;  /* borrowed from ctx->cred when found there, else into data[] */
  size_t own_len;
  const uint8_t *peer_cert; /* into data[]; the leaf only, as quic_tls_certificate gives */
  size_t peer_len;
  const uint8_t *ocsp;      /* into data[]; client: the stapled response */
  size_t ocsp_len;
  char data[];
};

/* TLS 1.3 only; QUIC forbids the middlebox compatibility mode. GnuTLS's
 * NORMAL order puts AES-256-GCM and P-256 first; ours leads with what
 * browsers, curl and ngtcp2 prefer: AES-128-GCM (10 AES rounds to 14 on
 * every packet and header mask, and SHA-256 in the key schedule) and X25519
 * (the cheapest key exchange here, so a client's single key share,
 * GNUTLS_KEY_SHARE_TOP, is almost always the one a server takes). */
static const char PRIORITY[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE:"
    "-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1:+GROUP-X448:"
    "+GROUP-FFDHE2048:+GROUP-FFDHE3072:+GROUP-FFDHE4096";

static bool is_pem(const quic_blob *b) {
  static const char tag[] = "-----BEGIN";
  if (b->len < sizeof(tag) - 1) return false;
  /* PEM may be preceded by text; a short scan finds the tag. */
  size_t lim = QUIC_MIN(b->len, 4096);
  for (size_t i = 0; i + sizeof(tag) - 1 <= lim; i++)
    if (memcmp(b->data + i, tag, sizeof(tag) - 1) == 0) return true;
  return false;
}

/* GnuTLS wants to be told which encoding it is given. */
static gnutls_x509_crt_fmt_t format_of(const quic_blob *b) {
  return is_pem(b) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER;
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

/* A chain that verified once for a name verifies again until its first
 * certificate expires: a client reconnecting to the same server skips the
 * chain walk and its signature checks (about a fifth of a client handshake's
 * CPU), as browsers' verifier caches do. The peer still proves it holds the
 * key (CertificateVerify, checked by GnuTLS); trust anchors and CRLs are fixed
 * per context, and entries live at most VERIFIED_TTL_S. Successes only. */
#define VERIFIED_MAX 256
#define VERIFIED_TTL_S 600

static void chain_digest(const gnutls_datum_t *certs, unsigned ncerts, const char *name, uint8_t out[32]) {
  gnutls_hash_hd_t h;
  memset(out, 0, 32);
  if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) != 0) return;
  uint8_t len[4];
  for (unsigned i = 0; i < ncerts; i++) {
    len[0] = (uint8_t)(certs[i].size >> 24), len[1] = (uint8_t)(certs[i].size >> 16);
    len[2] = (uint8_t)(certs[i].size >> 8), len[3] = (uint8_t)certs[i].size;
    gnutls_hash(h, len, sizeof(len));
    gnutls_hash(h, certs[i].data, certs[i].size);
  }
  /* The name is after the chain's lengths, so no two inputs run together. */
  gnutls_hash(h, name ? "N" : "-", 1);
  if (name) gnutls_hash(h, name, strlen(name));
  gnutls_hash_deinit(h, out);
}

static bool verified_before(quic_tls_ctx *ctx, const uint8_t digest[32]) {
  if (!ctx->verified_init) return false;
  quic_keymap_entry *e = quic_keymap_get(&ctx->verified, digest, 32);
  if (e == NULL) return false;
  if ((time_t)e->a <= time(NULL)) {
    quic_keymap_del(&ctx->verified, e);
    return false;
  }
  quic_keymap_touch(&ctx->verified, e);
  return true;
}

/* `expires`: the leaf's expiry (the caller parsed it); the rest of the chain
 * can only bring it forward. */
static void remember_verified(quic_tls_ctx *ctx, const uint8_t digest[32], time_t expires,
                              const gnutls_datum_t *rest, unsigned nrest) {
  if (expires == (time_t)-1) return;
  if (!ctx->verified_init) {
    if (quic_keymap_init(&ctx->verified) != QUIC_OK) return;
    ctx->verified_init = true;
  }
  if (expires > time(NULL) + VERIFIED_TTL_S) expires = time(NULL) + VERIFIED_TTL_S;
  for (unsigned i = 0; i < nrest; i++) {
    gnutls_x509_crt_t c;
    if (gnutls_x509_crt_init(&c) != 0) return;
    time_t t = gnutls_x509_crt_import(c, &rest[i], GNUTLS_X509_FMT_DER) == 0 ? gnutls_x509_crt_get_expiration_time(c)
                                                                              : (time_t)-1;
    gnutls_x509_crt_deinit(c);
    if (t == (time_t)-1) return;
    if (t < expires) expires = t;
  }
  if (ctx->verified.count >= VERIFIED_MAX) quic_keymap_del(&ctx->verified, quic_keymap_oldest(&ctx->verified));
  quic_keymap_entry *e = quic_keymap_put(&ctx->verified, digest, 32, NULL);
  if (e) e->a = (uint64_t)expires;
}

void quic_tls_ctx_forget_verified(quic_tls_ctx *ctx) {
  if (!ctx->verified_init) return;
  quic_keymap_free(&ctx->verified);
  ctx->verified_init = false;
}

static int verify_peer(gnutls_session_t gs) {
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(gs);
  quic_tls_session *ts = QUIC_CONTAINER(ref, quic_tls_session, conn_ref);
  quic_tls_ctx *ctx = ts->ctx;
  if (ctx->server && !ctx->request_cert) return 0;

  unsigned ncerts = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(gs, &ncerts);
  if (certs == NULL || ncerts == 0) {
    ts->validation_code = "UNABLE_TO_GET_ISSUER_CERT";
    snprintf(ts->validation_reason, sizeof(ts->validation_reason), "peer sent no certificate");
    return ctx->reject_unauthorized ? -1 : 0;
  }
  const char *name = ctx->verify_hostname ? ts->verify_name : NULL;
  uint8_t digest[32];
  chain_digest(certs, ncerts, name, digest);
  if (verified_before(ctx, digest)) return 0;
  unsigned status = 0;
  int rv = gnutls_certificate_verify_peers2(gs, &status);
  /* A stapled OCSP response is the application's to judge (session.ocsp),
   * as in Node: it does not fail the chain. */
  if ((status & GNUTLS_CERT_INVALID_OCSP_STATUS) &&
      (status & ~(unsigned)(GNUTLS_CERT_INVALID | GNUTLS_CERT_INVALID_OCSP_STATUS)) == 0)
    status = 0;
  gnutls_x509_crt_t leaf = NULL;
  bool self_signed = false, parsed = false;
  time_t leaf_expires = (time_t)-1;
  if (gnutls_x509_crt_init(&leaf) == 0 && gnutls_x509_crt_import(leaf, &certs[0], GNUTLS_X509_FMT_DER) == 0) {
    parsed = true;
    leaf_expires = gnutls_x509_crt_get_expiration_time(leaf);
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
  if (rv >= 0 && parsed && ts->validation_code == NULL) remember_verified(ctx, digest, leaf_expires, certs + 1, ncerts - 1);
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

static bool alpn_ours(const quic_tls_ctx *ctx, const uint8_t *p, size_t n) {
  for (unsigned i = 0; i < ctx->nalpn; i++)
    if (ctx->alpn[i].size == n && memcmp(ctx->alpn[i].data, p, n) == 0) return true;
  return false;
}

/* Server: before GnuTLS reads a ClientHello, keep the client's ALPN list if
 * none of it is ours; GnuTLS then refuses it (no_application_protocol) and
 * the session's error names both lists. Nothing is kept otherwise. */
static int hello_hook(gnutls_session_t gs, unsigned htype, unsigned when, unsigned incoming,
                      const gnutls_datum_t *msg) {
  if (htype != GNUTLS_HANDSHAKE_CLIENT_HELLO || when != GNUTLS_HOOK_PRE || !incoming || !msg) return 0;
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(gs);
  quic_tls_session *ts = QUIC_CONTAINER(ref, quic_tls_session, conn_ref);
  if (ts->offered_alpn || ts->ctx->nalpn == 0) return 0;
  quic_tls_hello h;
  quic_tls_parse_hello_message(msg->data, msg->size, &h);
  if (h.alpn == NULL || h.alpnlen == 0) return 0;
  for (size_t i = 0; i < h.alpnlen;) {
    size_t l = h.alpn[i];
    if (i + 1 + l > h.alpnlen) return 0;
    if (alpn_ours(ts->ctx, h.alpn + i + 1, l)) return 0;
    i += 1 + l;
  }
  if ((ts->offered_alpn = quic_malloc(h.alpnlen)) == NULL) return 0;
  memcpy(ts->offered_alpn, h.alpn, h.alpnlen);
  ts->offered_alpn_len = h.alpnlen;
  return 0;
}

static int resumption_session_init(quic_tls_session *ts) {
  quic_tls_ctx *ctx = ts->ctx;
  if (!ctx->server) {
    gnutls_handshake_set_hook_function(ts->gs, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET, GNUTLS_HOOK_BOTH, ticket_hook);
    return QUIC_OK;
  }
  gnutls_handshake_set_hook_function(ts->gs, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_PRE, hello_hook);
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

bool quic_tls_offers_only(const quic_tls_ctx *ctx, const char *proto) {
  size_t n = strlen(proto);
  return ctx->nalpn == 1 && ctx->alpn[0].size == n && memcmp(ctx->alpn[0].data, proto, n) == 0;
}

bool quic_tls_early_data_accepted(quic_tls_session *ts) {
  if (ts->kept) return ts->kept->early_data;
  return (gnutls_session_get_flags(ts->gs) & GNUTLS_SFLAGS_EARLY_DATA) != 0;
}

/* ---- TLS hooks (issue 4): pfx, CRLs, priorities, client certificates,
 * key log. ---- */

/* GnuTLS asks what to staple (TLS 1.3: in the Certificate message); the
 * answer is the session's own, given by ocspRequest.respondWith(). */
static int staple(gnutls_session_t gs, void *ptr, gnutls_datum_t *out) {
  QUIC_UNUSED(ptr);
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(gs);
  quic_tls_session *ts = QUIC_CONTAINER(ref, quic_tls_session, conn_ref);
  if (ts->ocsp_response == NULL || ts->ocsp_response_len == 0) return GNUTLS_E_NO_CERTIFICATE_STATUS;
  out->data = gnutls_malloc(ts->ocsp_response_len); /* GnuTLS frees it */
  if (out->data == NULL) return GNUTLS_E_MEMORY_ERROR;
  memcpy(out->data, ts->ocsp_response, ts->ocsp_response_len);
  out->size = (unsigned)ts->ocsp_response_len;
  return 0;
}

/* Loads the options beyond key/cert/ca into a context being built. */
static int load_hook_options(quic_tls_ctx *ctx, const quic_tls_options *o, char *err, size_t errlen) {
  int rv;
  ctx->request_cert = o->server && o->request_cert;
  ctx->keylog = o->keylog;
  ctx->client_hello = o->server && o->client_hello;
  ctx->ocsp = o->ocsp;
  if (o->server && o->ocsp) gnutls_certificate_set_ocsp_status_request_function(ctx->cred, staple, NULL);
  for (size_t i = 0; i < o->npfx; i++) {
    gnutls_datum_t d = datum(&o->pfx[i]);
    const char *pass = o->pfx_passphrases && o->pfx_passphrases[i] ? o->pfx_passphrases[i] : o->passphrase;
    rv = gnutls_certificate_set_x509_simple_pkcs12_mem(ctx->cred, &d, format_of(&o->pfx[i]), pass ? pass : "");
    if (rv < 0) {
      char what[48];
      snprintf(what, sizeof(what), "cannot load secure.pfx[%zu]", i);
      set_err(err, errlen, what, rv);
      return QUIC_ERR_TLS;
    }
  }
  for (size_t i = 0; i < o->ncrls; i++) {
    gnutls_datum_t d = datum(&o->crls[i]);
    rv = gnutls_certificate_set_x509_crl_mem(ctx->cred, &d, format_of(&o->crls[i]));
    if (rv < 0) {
      set_err(err, errlen, "cannot load secure.crl", rv);
      return QUIC_ERR_TLS;
    }
  }
  if (o->priority && *o->priority) {
    /* lib/config.js maps Node's names onto GnuTLS items; GnuTLS still
     * has the last word on whether the result is usable. */
    size_t n = sizeof(PRIORITY) + strlen(o->priority) + 1;
    char *str = quic_malloc(n);
    if (str == NULL) {
      snprintf(err, errlen, "out of memory");
      return QUIC_ERR_NOMEM;
    }
    snprintf(str, n, "%s:%s", PRIORITY, o->priority);
    const char *pos = NULL;
    rv = gnutls_priority_init(&ctx->priority, str, &pos);
    if (rv < 0) {
      snprintf(err, errlen, "invalid cipher, group or signature algorithm list near '%.40s': %s", pos ? pos : "",
               gnutls_strerror(rv));
      ctx->priority = NULL;
    }
    quic_free(str);
    if (rv < 0) return QUIC_ERR_TLS;
  } else if ((rv = gnutls_priority_init(&ctx->priority, PRIORITY, NULL)) < 0) {
    /* Parsed once per context: gnutls_priority_set_direct would parse the
     * string again, and keep a copy, for every session. */
    ctx->priority = NULL;
    set_err(err, errlen, "cannot set up the TLS priorities", rv);
    return QUIC_ERR_TLS;
  }
  return QUIC_OK;
}

/* NSS key log format: LABEL <client random, hex> <secret, hex>. */
#define KEYLOG_MAX 8192

static int keylog_line(gnutls_session_t gs, const char *label, const gnutls_datum_t *secret) {
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(gs);
  quic_tls_session *ts = QUIC_CONTAINER(ref, quic_tls_session, conn_ref);
  /* The exporter secret is kept for every session (keying-material
   * exporters); the NSS key log only when asked for. */
  if (strcmp(label, "EXPORTER_SECRET") == 0 && secret->size <= sizeof(ts->exporter)) {
    memcpy(ts->exporter, secret->data, secret->size);
    ts->exporter_len = (uint8_t)secret->size;
  }
  /* Whether to log is the listen()/connect() context's choice, as when the
   * function was installed only for it. */
  if (!(ts->first_ctx ? ts->first_ctx : ts->ctx)->keylog) return 0;
  gnutls_datum_t crandom, srandom;
  gnutls_session_get_random(gs, &crandom, &srandom);
  size_t need = strlen(label) + 1 + 2 * (size_t)crandom.size + 1 + 2 * (size_t)secret->size + 1;
  /* Bounded: a handshake logs five or six lines; beyond the cap they are
   * dropped rather than held. */
  if (ts->keylog_len + need > KEYLOG_MAX) return 0;
  if (ts->keylog == NULL && (ts->keylog = quic_malloc(KEYLOG_MAX)) == NULL) return 0;
  static const char hex[] = "0123456789abcdef";
  char *p = ts->keylog + ts->keylog_len;
  size_t l = strlen(label);
  memcpy(p, label, l);
  p += l;
  *p++ = ' ';
  for (unsigned i = 0; i < crandom.size; i++) {
    *p++ = hex[crandom.data[i] >> 4];
    *p++ = hex[crandom.data[i] & 15];
  }
  *p++ = ' ';
  for (unsigned i = 0; i < secret->size; i++) {
    *p++ = hex[secret->data[i] >> 4];
    *p++ = hex[secret->data[i] & 15];
  }
  *p++ = '\n';
  ts->keylog_len = (size_t)(p - ts->keylog);
  return 0;
}

const uint8_t *quic_tls_exporter_secret(const quic_tls_session *ts, size_t *len) {
  *len = ts->exporter_len;
  return ts->exporter_len ? ts->exporter : NULL;
}

char *quic_tls_take_keylog(quic_tls_session *ts, size_t *len) {
  char *out = ts->keylog;
  *len = ts->keylog_len;
  ts->keylog = NULL;
  ts->keylog_len = 0;
  if (*len == 0) {
    quic_free(out);
    return NULL;
  }
  return out;
}

bool quic_tls_wants_hello(quic_tls_session *ts) { return ts->ctx && ts->ctx->client_hello; }

int quic_tls_session_set_ctx(quic_tls_session *ts, quic_tls_ctx *ctx) {
  if (!ctx->server) return QUIC_ERR_INVALID;
  if (gnutls_credentials_set(ts->gs, GNUTLS_CRD_CERTIFICATE, ctx->cred) != 0) return QUIC_ERR_TLS;
  if ((ctx->priority ? gnutls_priority_set(ts->gs, ctx->priority)
                     : gnutls_priority_set_direct(ts->gs, PRIORITY, NULL)) != 0)
    return QUIC_ERR_TLS;
  if (ctx->nalpn &&
      gnutls_alpn_set_protocols(ts->gs, ctx->alpn, ctx->nalpn, GNUTLS_ALPN_MANDATORY | GNUTLS_ALPN_SERVER_PRECEDENCE) != 0)
    return QUIC_ERR_TLS;
  gnutls_certificate_server_set_request(ts->gs, !ctx->request_cert ? GNUTLS_CERT_IGNORE
                                                : ctx->reject_unauthorized ? GNUTLS_CERT_REQUIRE
                                                                           : GNUTLS_CERT_REQUEST);
  /* The key log stays as the listen() options set it. The first context
   * stays referenced too: its ticket key and anti-replay memory remain in
   * use by this session. */
  quic_tls_ctx_ref(ctx);
  if (ts->first_ctx == NULL) ts->first_ctx = ts->ctx;
  else quic_tls_ctx_unref(ts->ctx);
  ts->ctx = ctx;
  return QUIC_OK;
}

bool quic_tls_wants_ocsp(quic_tls_session *ts) { return ts->ctx && ts->ctx->server && ts->ctx->ocsp; }

const uint8_t *quic_tls_ocsp_certificate(quic_tls_session *ts, bool issuer, size_t *len) {
  gnutls_datum_t d = {0};
  if (gnutls_certificate_get_crt_raw(ts->ctx->cred, 0, issuer ? 1 : 0, &d) < 0 || d.size == 0) return NULL;
  *len = d.size;
  return d.data;
}

int quic_tls_set_ocsp_response(quic_tls_session *ts, const uint8_t *data, size_t len) {
  quic_free(ts->ocsp_response);
  ts->ocsp_response = NULL;
  ts->ocsp_response_len = 0;
  if (len == 0) return QUIC_OK;
  if ((ts->ocsp_response = quic_malloc(len)) == NULL) return QUIC_ERR_NOMEM;
  memcpy(ts->ocsp_response, data, len);
  ts->ocsp_response_len = len;
  return QUIC_OK;
}

const uint8_t *quic_tls_ocsp_received(quic_tls_session *ts, size_t *len) {
  gnutls_datum_t d = {0};
  if (ts->ctx->server) return NULL;
  if (ts->kept) {
    *len = ts->kept->ocsp_len;
    return ts->kept->ocsp_len ? ts->kept->ocsp : NULL;
  }
  /* TLS 1.3 staples per certificate; index 0 is the leaf. */
  int rv = gnutls_ocsp_status_request_get2(ts->gs, 0, &d);
  if (rv < 0 || d.size == 0) return NULL;
  *len = d.size;
  return d.data;
}

/* ---- end of TLS hooks ---- */

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
    gnutls_x509_crt_fmt_t fmt = format_of(&o->certs[i]);
    gnutls_x509_crt_fmt_t kfmt = format_of(&o->keys[i]);
    if (fmt != kfmt) {
      /* Mixed formats need two calls; load the cert list and key separately. */
      snprintf(err, errlen, "secure.key[%zu] and secure.cert[%zu] must both be PEM or both DER", i, i);
      goto fail;
    }
    const char *pass = o->key_passphrases && o->key_passphrases[i] ? o->key_passphrases[i] : o->passphrase;
    rv = gnutls_certificate_set_x509_key_mem2(ctx->cred, &c, &k, fmt, pass, 0);
    if (rv < 0) {
      set_err(err, errlen, "cannot load secure.key / secure.cert", rv);
      goto fail;
    }
  }
  for (size_t i = 0; i < o->ncas; i++) {
    gnutls_datum_t d = datum(&o->cas[i]);
    rv = gnutls_certificate_set_x509_trust_mem(ctx->cred, &d, format_of(&o->cas[i]));
    if (rv < 0) {
      set_err(err, errlen, "cannot load secure.ca", rv);
      goto fail;
    }
  }
  if (load_hook_options(ctx, o, err, errlen) != QUIC_OK) goto fail;
  if (o->ncas == 0 && !o->server) {
    /* Like Node: the system store plus NODE_EXTRA_CA_CERTS. A missing system
     * store is not fatal; verification then fails with a clear code. */
    (void)gnutls_certificate_set_x509_system_trust(ctx->cred);
    if (o->extra_ca_file && *o->extra_ca_file)
      (void)gnutls_certificate_set_x509_trust_file(ctx->cred, o->extra_ca_file, GNUTLS_X509_FMT_PEM);
  }
  if (o->server && o->nkeys == 0 && o->npfx == 0) {
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
  if (ctx->priority) gnutls_priority_deinit(ctx->priority);
  quic_free(ctx->alpn);
  quic_free(ctx->alpn_buf);
  if (ctx->anti_replay) gnutls_anti_replay_deinit(ctx->anti_replay);
  if (ctx->replay_init) quic_keymap_free(&ctx->replay_seen);
  if (ctx->verified_init) quic_keymap_free(&ctx->verified);
  gnutls_memset(ctx->ticket_key, 0, sizeof(ctx->ticket_key));
  quic_free(ctx);
}

int quic_tls_session_init(quic_tls_session *ts, quic_tls_ctx *ctx, ngtcp2_crypto_get_conn get_conn,
                          void *user, const char *sni, const char *verify_name) {
  memset(ts, 0, sizeof(*ts));
  /* A client makes one key share, not GnuTLS's default two (one is always
   * thrown away): a server without the first group costs a HelloRetryRequest. */
  unsigned flags = (ctx->server ? GNUTLS_SERVER : GNUTLS_CLIENT | GNUTLS_KEY_SHARE_TOP) | GNUTLS_NO_END_OF_EARLY_DATA |
                   GNUTLS_ENABLE_EARLY_DATA;
  if (gnutls_init(&ts->gs, flags) != 0) return QUIC_ERR_TLS;
  ts->ctx = ctx;
  quic_tls_ctx_ref(ctx);
  ts->conn_ref.get_conn = get_conn;
  ts->conn_ref.user_data = user;
  if ((ctx->priority ? gnutls_priority_set(ts->gs, ctx->priority)
                     : gnutls_priority_set_direct(ts->gs, PRIORITY, NULL)) != 0)
    goto fail;
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
  if (ctx->server && ctx->request_cert)
    gnutls_certificate_server_set_request(ts->gs, ctx->reject_unauthorized ? GNUTLS_CERT_REQUIRE : GNUTLS_CERT_REQUEST);
  gnutls_session_set_keylog_function(ts->gs, keylog_line);
  if (!ctx->server && ctx->ocsp && gnutls_ocsp_status_request_enable_client(ts->gs, NULL, 0, NULL) < 0) goto fail;
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
  quic_free(ts->kept);
  ts->kept = NULL;
  if (ts->ctx) quic_tls_ctx_unref(ts->ctx);
  ts->ctx = NULL;
  if (ts->first_ctx) quic_tls_ctx_unref(ts->first_ctx);
  ts->first_ctx = NULL;
  quic_free(ts->verify_name);
  ts->verify_name = NULL;
  quic_free(ts->sni);
  ts->sni = NULL;
  quic_free(ts->ticket);
  ts->ticket = NULL;
  ts->ticket_len = 0;
  quic_free(ts->keylog);
  ts->keylog = NULL;
  ts->keylog_len = 0;
  quic_free(ts->ocsp_response);
  ts->ocsp_response = NULL;
  ts->ocsp_response_len = 0;
  quic_free(ts->offered_alpn);
  ts->offered_alpn = NULL;
  ts->offered_alpn_len = 0;
  memset(ts->exporter, 0, sizeof(ts->exporter));
  ts->exporter_len = 0;
}

void *quic_tls_native_handle(quic_tls_session *ts) { return ts->gs; }

void quic_tls_alpn(quic_tls_session *ts, char *buf, size_t len) {
  gnutls_datum_t p;
  buf[0] = 0;
  if (ts->kept) {
    snprintf(buf, len, "%s", ts->kept->alpn);
    return;
  }
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
  if (ts->kept) {
    snprintf(buf, len, "%s", ts->kept->servername);
    return;
  }
  size_t n = len;
  unsigned type = 0;
  if (gnutls_server_name_get(ts->gs, buf, &n, &type, 0) != 0 || type != GNUTLS_NAME_DNS) buf[0] = 0;
}

void quic_tls_cipher(quic_tls_session *ts, char *buf, size_t len) {
  if (ts->kept) {
    snprintf(buf, len, "%s", ts->kept->cipher);
    return;
  }
  /* Before a suite is negotiated GnuTLS 3.7 crashes in ciphersuite_get. */
  const char *name = gnutls_cipher_get(ts->gs) == GNUTLS_CIPHER_NULL ? NULL : gnutls_ciphersuite_get(ts->gs);
  snprintf(buf, len, "%s", name ? name : "");
}

void quic_tls_version(quic_tls_session *ts, char *buf, size_t len) {
  if (ts->kept) {
    snprintf(buf, len, "%s", ts->kept->tls13 ? "TLSv1.3" : "");
    return;
  }
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
  if (ts->kept) {
    *len = peer ? ts->kept->peer_len : ts->kept->own_len;
    return peer ? ts->kept->peer_cert : ts->kept->own_cert;
  }
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
  if (ts->kept) {
    *name = ts->kept->group_name;
    *type = ts->kept->group_type;
    *bits = ts->kept->group_bits;
    return ts->kept->group_name != NULL;
  }
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

/* ---- letting GnuTLS go after the handshake (issue 5) ---- */

/* Our certificate as the credentials hold it, so a released session can
 * point at it instead of copying (the context outlives the session). */
static const uint8_t *cred_certificate(quic_tls_ctx *ctx, const uint8_t *der, size_t len) {
  gnutls_datum_t d;
  for (unsigned i = 0; i < 64 && gnutls_certificate_get_crt_raw(ctx->cred, i, 0, &d) >= 0; i++)
    if (d.size == len && memcmp(d.data, der, len) == 0) return d.data;
  return NULL;
}

/* Copies n bytes to *p and moves it past them; returns where they went. */
static char *keep(char **p, const void *src, size_t n) {
  char *at = *p;
  memcpy(at, src, n);
  *p += n;
  return at;
}

int quic_tls_session_release(quic_tls_session *ts) {
  if (ts->gs == NULL || ts->kept) return QUIC_OK;
  char alpn[256], name[256], cipher[128];
  quic_tls_alpn(ts, alpn, sizeof(alpn));
  quic_tls_servername(ts, name, sizeof(name));
  quic_tls_cipher(ts, cipher, sizeof(cipher));
  char version[16];
  quic_tls_version(ts, version, sizeof(version));
  size_t own_len = 0, peer_len = 0, ocsp_len = 0;
  const uint8_t *own = quic_tls_certificate(ts, false, &own_len);
  const uint8_t *peer = quic_tls_certificate(ts, true, &peer_len);
  const uint8_t *ocsp = quic_tls_ocsp_received(ts, &ocsp_len);
  const uint8_t *own_kept = own ? cred_certificate(ts->ctx, own, own_len) : NULL;
  if (own == NULL) own_len = 0;
  if (peer == NULL) peer_len = 0;
  if (ocsp == NULL) ocsp_len = 0;
  size_t na = strlen(alpn) + 1, nn = strlen(name) + 1, nc = strlen(cipher) + 1;
  size_t own_copy = own_kept ? 0 : own_len;
  quic_tls_kept *k = quic_malloc(sizeof(*k) + na + nn + nc + own_copy + peer_len + ocsp_len);
  if (k == NULL) return QUIC_ERR_NOMEM;
  char *p = k->data;
  k->alpn = keep(&p, alpn, na);
  k->servername = keep(&p, name, nn);
  k->cipher = keep(&p, cipher, nc);
  k->tls13 = strcmp(version, "TLSv1.3") == 0;
  k->early_data = quic_tls_early_data_accepted(ts);
  if (!quic_tls_ephemeral(ts, &k->group_name, &k->group_type, &k->group_bits)) {
    k->group_name = k->group_type = NULL;
    k->group_bits = 0;
  }
  k->own_len = own_len;
  k->own_cert = own_copy ? (const uint8_t *)keep(&p, own, own_copy) : own_kept;
  k->peer_len = peer_len;
  k->peer_cert = peer_len ? (const uint8_t *)keep(&p, peer, peer_len) : NULL;
  k->ocsp_len = ocsp_len;
  k->ocsp = ocsp_len ? (const uint8_t *)keep(&p, ocsp, ocsp_len) : NULL;
  gnutls_deinit(ts->gs);
  ts->gs = NULL;
  ts->kept = k;
  return QUIC_OK;
}

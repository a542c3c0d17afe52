/* Every GnuTLS call of the project lives in tls.c, behind these functions,
 * so another TLS backend could be added without touching the rest. */
#ifndef QUIC_TLS_H
#define QUIC_TLS_H

#include "common.h"
#include "tls_parse.h"

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>

typedef struct quic_blob {
  const uint8_t *data; /* borrowed */
  size_t len;
} quic_blob;

typedef struct quic_tls_options {
  bool server;
  const quic_blob *keys; /* keys[i] goes with certs[i]; PEM or DER */
  size_t nkeys;
  const quic_blob *certs; /* a PEM entry may hold a whole chain */
  size_t ncerts;
  const quic_blob *cas; /* trust anchors; none: the system store */
  size_t ncas;
  const char *passphrase;     /* for encrypted keys, or NULL */
  const uint8_t *alpn;        /* wire format (length-prefixed), preference order */
  size_t alpnlen;
  bool reject_unauthorized;   /* client: fail the handshake on a bad peer */
  bool verify_hostname;       /* client: check the name as well as the chain */
  const char *extra_ca_file;  /* NODE_EXTRA_CA_CERTS, added to the system store */
  /* Resumption (server): tickets sealed under ticket_keys (48 bytes, as
   * Node's tls; NULL: random per context), valid session_timeout_s. */
  const uint8_t *ticket_keys;
  size_t ticket_keys_len;
  uint32_t session_timeout_s;
  /* TLS hooks (issue 4). */
  const char *const *key_passphrases; /* nkeys entries, each NULL (use passphrase) or a string */
  const quic_blob *pfx;       /* PKCS#12 (DER or PEM) holding a key and its chain */
  size_t npfx;
  const char *const *pfx_passphrases; /* npfx entries, each NULL (use passphrase) or a string */
  const quic_blob *crls;      /* revocation lists checked with the peer's chain */
  size_t ncrls;
  const char *priority;       /* extra GnuTLS priority items (ciphers, groups, sigalgs) or NULL */
  bool request_cert;          /* server: ask the client for a certificate */
  bool keylog;                /* collect NSS key log lines */
  bool client_hello;          /* server: hold the ClientHello for the application */
  bool ocsp;                  /* server: staple what the application gives; client: ask for it */
} quic_tls_options;

/* Credentials and settings shared by every session made from one listen()
 * or connect() configuration. Reference counted. */
typedef struct quic_tls_ctx quic_tls_ctx;

/* On failure returns QUIC_ERR_TLS and writes a message into err. */
int quic_tls_ctx_new(quic_tls_ctx **out, const quic_tls_options *o, char *err, size_t errlen);
void quic_tls_ctx_ref(quic_tls_ctx *ctx);
void quic_tls_ctx_unref(quic_tls_ctx *ctx);
/* Drops the context's memory of verified peer chains (tests count bytes). */
void quic_tls_ctx_forget_verified(quic_tls_ctx *ctx);

typedef struct quic_tls_kept quic_tls_kept;

typedef struct quic_tls_session {
  gnutls_session_t gs;            /* owned */
  quic_tls_ctx *ctx;              /* reference */
  quic_tls_ctx *first_ctx;        /* reference; the listen() context after clientHello.done() switched */
  ngtcp2_crypto_conn_ref conn_ref; /* gnutls' session pointer points here */
  char *verify_name;              /* owned; client: name checked against the cert */
  char *sni;                      /* owned; client: the server name sent */
  /* Outcome of peer verification (client): a Node-style code or NULL. */
  const char *validation_code;
  char validation_reason[160];
  /* Resumption. */
  uint8_t *ticket;                /* owned; client: the newest ticket from the server */
  size_t ticket_len;
  bool resuming;                  /* client: started from a saved ticket */
  uint32_t ticket_lifetime;       /* client: of the ticket being received, seconds */
  /* TLS hooks (issue 4). */
  char *keylog;                   /* owned: NSS key log lines not yet taken */
  size_t keylog_len;
  /* TLS 1.3 exporter_master_secret (RFC 8446 7.5), kept past the release
   * for keying-material exporters (WebTransport's exportKeyingMaterial). */
  uint8_t exporter[64];
  uint8_t exporter_len;           /* 0: none (yet) */
  uint8_t *ocsp_response;         /* owned: server, the response to staple */
  size_t ocsp_response_len;
  /* Server: the client's ALPN list (wire format) when it shares no protocol
   * with ours, so the no_application_protocol error can name it. */
  uint8_t *offered_alpn;          /* owned */
  size_t offered_alpn_len;
  /* Issue 5: once quic_tls_session_release ran, gs is NULL and the getters
   * below answer from this. */
  quic_tls_kept *kept;            /* owned */
} quic_tls_session;

/* sni: server name to send (client; NULL for none). verify_name: what the
 * certificate must match (client). */
int quic_tls_session_init(quic_tls_session *ts, quic_tls_ctx *ctx, ngtcp2_crypto_get_conn get_conn,
                          void *user, const char *sni, const char *verify_name);
void quic_tls_session_free(quic_tls_session *ts);

/* After the handshake: frees GnuTLS's session (about 10 KB per connection),
 * keeping what the getters report (ALPN, names, cipher, group, the
 * certificates, 0-RTT and OCSP outcome). The session takes no more TLS
 * messages afterwards. QUIC_ERR_NOMEM leaves everything as it was. */
int quic_tls_session_release(quic_tls_session *ts);
static inline bool quic_tls_released(const quic_tls_session *ts) { return ts->kept != NULL; }

/* The value behind ngtcp2_conn_set_tls_native_handle. */
void *quic_tls_native_handle(quic_tls_session *ts);

/* After the handshake. Each writes a NUL-terminated string (empty if none). */
void quic_tls_alpn(quic_tls_session *ts, char *buf, size_t len);
void quic_tls_servername(quic_tls_session *ts, char *buf, size_t len);
void quic_tls_cipher(quic_tls_session *ts, char *buf, size_t len);
void quic_tls_version(quic_tls_session *ts, char *buf, size_t len);

/* "GnuTLS 3.7.9"-style name of the TLS library in use. */
const char *quic_tls_backend_version(void);

/* DER of our certificate / the peer's leaf certificate (borrowed from
 * GnuTLS, valid while the session lives); NULL if none. */
const uint8_t *quic_tls_certificate(quic_tls_session *ts, bool peer, size_t *len);
/* The key exchange group, as Node names it ("X25519", "prime256v1", ...),
 * its kind ("ECDH") and size in bits; false before the handshake. */
bool quic_tls_ephemeral(quic_tls_session *ts, const char **name, const char **type, int *bits);

/* ---- resumption and 0-RTT ---- */

/* Client, before the handshake starts: resume from a saved ticket. Returns
 * QUIC_OK when GnuTLS took it (0-RTT keys follow if the ticket allows). */
int quic_tls_set_ticket(quic_tls_session *ts, const uint8_t *ticket, size_t len);
/* Client: the newest ticket received (borrowed), or NULL. */
const uint8_t *quic_tls_ticket(quic_tls_session *ts, size_t *len);
/* Whether the context offers exactly one ALPN, proto. */
bool quic_tls_offers_only(const quic_tls_ctx *ctx, const char *proto);
/* After the handshake: 0-RTT data was accepted. */
bool quic_tls_early_data_accepted(quic_tls_session *ts);
/* Takes the NSS key log lines collected so far (the caller frees them with
 * quic_free); NULL if none. */
char *quic_tls_take_keylog(quic_tls_session *ts, size_t *len);
/* The TLS exporter_master_secret once the handshake derived it (NULL
 * before); its length is the cipher suite's hash length. */
const uint8_t *quic_tls_exporter_secret(const quic_tls_session *ts, size_t *len);

/* Server: whether sessions hold the ClientHello until the application
 * says done (secure.clientHello). */
bool quic_tls_wants_hello(quic_tls_session *ts);
/* Moves a session paused on its ClientHello onto other credentials, before
 * the handshake resumes. */
int quic_tls_session_set_ctx(quic_tls_session *ts, quic_tls_ctx *ctx);

/* OCSP (secure.ocsp). Server: whether it staples, the DER of its first
 * certificate and of that certificate's issuer when the chain holds it
 * (borrowed from the credentials), and the response to staple (copied).
 * Client: the stapled response received (borrowed), or NULL. */
bool quic_tls_wants_ocsp(quic_tls_session *ts);
const uint8_t *quic_tls_ocsp_certificate(quic_tls_session *ts, bool issuer, size_t *len);
int quic_tls_set_ocsp_response(quic_tls_session *ts, const uint8_t *data, size_t len);
const uint8_t *quic_tls_ocsp_received(quic_tls_session *ts, size_t *len);

/* Fills n bytes of cryptographically strong randomness. */
int quic_tls_random(void *buf, size_t n);

#endif

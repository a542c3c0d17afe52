/* CRYPTO data from the peer, on its way to GnuTLS. Three things can stand
 * in between:
 * - the ClientHello pause (secure.clientHello, secure.ocsp): a server keeps
 *   the Initial CRYPTO data to itself until the application has answered
 *   (clientHello.done(), then ocspRequest.respondWith() if the client asked
 *   for a staple), so GnuTLS picks the certificate only after the
 *   application may have changed it. What is held is bounded
 *   (QUIC_HELLO_MAX) and the handshake timeout still runs;
 * - once the handshake is over, GnuTLS's session is let go (issue 5), and
 *   later CRYPTO data is judged here: a client skips NewSessionTickets, and
 *   anything else is unexpected_message, as GnuTLS would have said;
 * - a client follows message boundaries in the server's post-handshake
 *   data from the first byte, so that it knows them after the release. */
#include <ngtcp2/ngtcp2_crypto.h>
#include <string.h>

#include "mem.h"
#include "session.h"
#include "session_internal.h"

#define ALERT_UNEXPECTED_MESSAGE 10

/* Gives the held data to GnuTLS: the handshake goes on. */
static int hello_resume(quic_session *s) {
  s->hello_state = QUIC_HELLO_DONE;
  uint8_t *buf = s->hello_buf;
  size_t len = s->hello_len;
  s->hello_buf = NULL;
  s->hello_len = 0;
  int rv = ngtcp2_crypto_recv_crypto_data_cb(s->conn, NGTCP2_ENCRYPTION_LEVEL_INITIAL, 0, buf, len, s);
  quic_free(buf);
  return rv;
}

/* The next thing the handshake waits on once the hello is complete and the
 * client hello hook (if any) is done: an OCSP response, or nothing. */
static int hello_next(quic_session *s) {
  if (quic_tls_wants_ocsp(&s->tls)) {
    quic_tls_hello h;
    quic_tls_parse_hello(s->hello_buf, s->hello_len, &h);
    if (h.status_request) {
      s->hello_state = QUIC_HELLO_OCSP;
      quic_session_notify(s, QUIC_EV_OCSP);
      return 0;
    }
  }
  return hello_resume(s);
}

static int fail_with_alert(quic_session *s, uint8_t alert) {
  ngtcp2_ccerr_set_tls_alert(&s->ccerr, alert, NULL, 0);
  s->ccerr_set = true;
  return NGTCP2_ERR_CALLBACK_FAILURE;
}

/* CRYPTO data after the TLS session was released. A server expects none: a
 * client has nothing to send after its Finished in QUIC. KeyUpdate is
 * forbidden in QUIC (RFC 9001 6). */
static int post_handshake_crypto(quic_session *s, ngtcp2_encryption_level level, const uint8_t *data,
                                 size_t len) {
  if (!s->server && level == NGTCP2_ENCRYPTION_LEVEL_1RTT && quic_tls_msg_scan_feed(&s->post_scan, data, len))
    return 0;
  return fail_with_alert(s, ALERT_UNEXPECTED_MESSAGE);
}

/* GnuTLS's session is about 10 KB a connection and idle connections need
 * none of it (issue 5). A server's handshake is over when it completes (its
 * tickets are already queued); a client waits for confirmation and the
 * server's first ticket, so resumption keeps working. Called outside any
 * GnuTLS or ngtcp2 callback. */
void quic_session_tls_maybe_release(quic_session *s) {
  if (quic_tls_released(&s->tls) || s->state != QUIC_SESSION_OPEN || !ngtcp2_conn_get_handshake_completed(s->conn))
    return;
  if (!s->server && (s->counters->handshake_confirmed_at == 0 || s->tls.ticket == NULL)) return;
  if (quic_tls_session_release(&s->tls) == QUIC_OK) ngtcp2_conn_set_tls_native_handle(s->conn, NULL);
}

int quic_session_recv_crypto(ngtcp2_conn *conn, ngtcp2_encryption_level level, uint64_t offset,
                             const uint8_t *data, size_t datalen, void *user) {
  quic_session *s = user;
  if (quic_tls_released(&s->tls)) return post_handshake_crypto(s, level, data, datalen);
  /* GnuTLS judges these; the scan only keeps track of message boundaries. */
  if (!s->server && level == NGTCP2_ENCRYPTION_LEVEL_1RTT) (void)quic_tls_msg_scan_feed(&s->post_scan, data, datalen);
  if (s->hello_state == QUIC_HELLO_OFF || s->hello_state == QUIC_HELLO_DONE)
    return ngtcp2_crypto_recv_crypto_data_cb(conn, level, offset, data, datalen, user);
  /* Nothing but Initial data can come before the server answers. */
  if (level != NGTCP2_ENCRYPTION_LEVEL_INITIAL || s->hello_len + datalen > QUIC_HELLO_MAX) {
    ngtcp2_ccerr_set_transport_error(&s->ccerr, NGTCP2_CRYPTO_BUFFER_EXCEEDED, NULL, 0);
    s->ccerr_set = true;
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  uint8_t *buf = quic_realloc(s->hello_buf, s->hello_len + datalen);
  if (buf == NULL) return NGTCP2_ERR_NOMEM;
  memcpy(buf + s->hello_len, data, datalen);
  s->hello_buf = buf;
  s->hello_len += datalen;
  if (s->hello_state != QUIC_HELLO_COLLECT) return 0;
  int rv = quic_tls_hello_complete(s->hello_buf, s->hello_len);
  if (rv < 0) return fail_with_alert(s, ALERT_UNEXPECTED_MESSAGE);
  if (rv == 0) return 0;
  if (quic_tls_wants_hello(&s->tls)) {
    s->hello_state = QUIC_HELLO_WAIT;
    quic_session_notify(s, QUIC_EV_CLIENT_HELLO);
    return 0;
  }
  return hello_next(s);
}

const uint8_t *quic_session_hello(quic_session *s, size_t *len) {
  if (s->hello_state != QUIC_HELLO_WAIT) return NULL;
  *len = s->hello_len;
  return s->hello_buf;
}

/* After the application answered: the handshake goes on, or the session
 * closes with what GnuTLS said. */
static void answered(quic_session *s, int rv) {
  if (rv != 0) quic_session_fail(s, rv);
  else quic_session_mark_dirty(s);
}

int quic_session_hello_done(quic_session *s, quic_tls_ctx *ctx) {
  if (s->hello_state != QUIC_HELLO_WAIT || s->state >= QUIC_SESSION_CLOSING) return QUIC_ERR_STATE;
  if (ctx && quic_tls_session_set_ctx(&s->tls, ctx) != QUIC_OK) return QUIC_ERR_TLS;
  answered(s, hello_next(s));
  return QUIC_OK;
}

bool quic_session_ocsp_waiting(quic_session *s) {
  return s->hello_state == QUIC_HELLO_OCSP && s->state < QUIC_SESSION_CLOSING;
}

int quic_session_ocsp_respond(quic_session *s, const uint8_t *data, size_t len) {
  if (!quic_session_ocsp_waiting(s)) return QUIC_ERR_STATE;
  int rv = quic_tls_set_ocsp_response(&s->tls, data, len);
  if (rv != QUIC_OK) return rv;
  answered(s, hello_resume(s));
  return QUIC_OK;
}

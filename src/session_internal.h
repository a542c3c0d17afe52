/* Shared inside the session module only (session.c, send.c, stream.c,
 * crypto.c, events.c, app_raw.c, http3.c): nothing outside it includes
 * this. These are the steps the ngtcp2 callbacks, the send path and the
 * applications share. */
#ifndef QUIC_SESSION_INTERNAL_H
#define QUIC_SESSION_INTERNAL_H

#include <ngtcp2/ngtcp2.h>

#include "common.h"

typedef struct quic_session quic_session;
typedef struct quic_stream quic_stream;

/* The host's clock. */
uint64_t quic_session_now(quic_session *s);
/* Asks the host for a flush (no-op once closing). */
void quic_session_mark_dirty(quic_session *s);

/* Adds session event bits and tells the host. */
void quic_session_notify(quic_session *s, uint32_t ev);
/* Handles an ngtcp2 error from a call on s->conn: closes, drains or dies
 * quietly, as the error asks. */
void quic_session_fail(quic_session *s, int liberr);
/* Sends CONNECTION_CLOSE with s->ccerr and lingers in the closing period. */
void quic_session_enter_closing(quic_session *s);
/* Releases GnuTLS's session once the handshake no longer needs it
 * (crypto.c). */
void quic_session_tls_maybe_release(quic_session *s);
/* ngtcp2's recv_crypto_data callback (crypto.c). */
int quic_session_recv_crypto(ngtcp2_conn *conn, ngtcp2_encryption_level level, uint64_t offset,
                             const uint8_t *data, size_t datalen, void *user);
/* Sets s->app to the application for its ALPN and starts it, once. */
int quic_session_start_app(quic_session *s);

/* ---- streams (stream.c) ---- */

/* A new stream object in the session's table (NULL: no memory). */
quic_stream *quic_session_stream_add(quic_session *s, int64_t id, uint32_t flags);
/* Unlinks and frees a stream (returning the peer's stream credit). */
void quic_session_stream_delete(quic_stream *st);
/* A peer's stream, created on first sight (ngtcp2 may skip the open
 * callback for streams opened implicitly by a higher id); st: ngtcp2's user
 * data for it, returned as is when set. */
quic_stream *quic_session_remote_stream(quic_session *s, int64_t id, quic_stream *st);
/* Linear, for rare events only (a stream becoming flow-control blocked). */
quic_stream *quic_session_stream_by_id(quic_session *s, int64_t id);
/* Returns flow-control credit for n bytes read (st may be NULL: the
 * connection only). */
void quic_session_give_credit(quic_session *s, quic_stream *st, uint64_t n);
/* Gives queued local streams their ids as the peer's limits allow. */
void quic_session_open_pending(quic_session *s);
/* The server refused 0-RTT: early streams open again and resend from the
 * start. */
void quic_session_resend_early_streams(quic_session *s);
/* ngtcp2's callbacks about one stream's state. */
int quic_session_cb_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id, uint64_t app_error_code,
                                 void *user, void *stream_user);
int quic_session_cb_stream_reset(ngtcp2_conn *conn, int64_t stream_id, uint64_t final_size, uint64_t app_error_code,
                                 void *user, void *stream_user);
int quic_session_cb_stream_stop_sending(ngtcp2_conn *conn, int64_t stream_id, uint64_t app_error_code, void *user,
                                        void *stream_user);
/* The peer's STOP_SENDING ended our sending side (stream.c explains how it
 * is seen); coded: code is the peer's. */
void quic_session_stream_peer_stopped(quic_stream *st, bool coded, uint64_t code);
int quic_session_cb_extend_max_stream_data(ngtcp2_conn *conn, int64_t stream_id, uint64_t max_data, void *user,
                                           void *stream_user);
/* The server took 0-RTT: requests need not keep their headers to resend. */
void quic_session_early_accepted(quic_session *s);
/* Frees every stream (the session is being freed). */
void quic_session_streams_free(quic_session *s);
/* First close of either direction (stats). */
void quic_stream_closing(quic_stream *st);
/* Body data arrived (or the end), body data was acknowledged. */
int quic_session_stream_data(quic_stream *st, const uint8_t *data, size_t len, bool fin);
void quic_session_stream_acked(quic_stream *st, uint64_t offset);
/* The drain event, once what is queued falls below half the high-water
 * mark. */
void quic_session_stream_check_drain(quic_stream *st);
/* Adds stream event bits (QUIC_SEV_*) and tells the host. */
void quic_session_stream_event(quic_stream *st, uint32_t ev);

#endif

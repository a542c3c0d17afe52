/* HTTP/3 on a session whose negotiated ALPN is h3, through nghttp3. The
 * session hands its stream traffic here instead of to raw streams; request
 * and response bodies still live in quic_stream buffers, so flow control and
 * backpressure work the same way as for raw QUIC. */
#ifndef QUIC_HTTP3_H
#define QUIC_HTTP3_H

#include <ngtcp2/ngtcp2.h>

#include "session.h"

/* Creates the nghttp3 connection and its control and QPACK streams. */
int quic_http3_init(quic_session *s);
void quic_http3_free(quic_session *s);

/* Feeds received stream data; returns 0 or NGTCP2_ERR_CALLBACK_FAILURE with
 * the session's close error set to the HTTP/3 error. */
int quic_http3_recv(quic_session *s, int64_t id, const uint8_t *data, size_t len, bool fin);
/* Next stream data to send (nghttp3_conn_writev_stream). */
ngtcp2_ssize quic_http3_writev(quic_session *s, int64_t *id, int *fin, ngtcp2_vec *vec, size_t n);
/* Outcome of writing what quic_http3_writev gave. */
int quic_http3_wrote(quic_session *s, int64_t id, size_t n);
void quic_http3_blocked(quic_session *s, int64_t id);
void quic_http3_shutdown_write(quic_session *s, int64_t id);
void quic_http3_unblock(quic_session *s, int64_t id);
int quic_http3_acked(quic_session *s, int64_t id, uint64_t n);
void quic_http3_stream_closed(quic_session *s, int64_t id, uint64_t code);
void quic_http3_shutdown_read(quic_session *s, int64_t id);

/* Sends a header block on st: QUIC_HEADERS_INITIAL (request or response,
 * starting the body), QUIC_HEADERS_INFO (a 1xx response). */
int quic_http3_submit(quic_stream *st, int kind, const quic_nvlist *nv);
/* The body has new data (or its end): wake nghttp3 up. */
void quic_http3_resume(quic_stream *st);
/* GOAWAY: a notice first, then the final one before closing. */
void quic_http3_goaway(quic_session *s, bool final);

#endif

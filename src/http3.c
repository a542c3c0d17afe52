/* HTTP/3 through nghttp3, as the session's application when the ALPN is h3.
 * Request and response bodies live in the same quic_stream buffers raw QUIC
 * uses, so flow control and backpressure work the same way; nghttp3 frames
 * them. Header blocks are collected per stream for the application. */
#include <nghttp3/nghttp3.h>
#include <string.h>

#include "mem.h"
#include "session.h"
#include "session_internal.h"
#include "stream.h"
#include "webtransport.h"

/* The application's state on a session (s->app_data). */
typedef struct h3_state {
  nghttp3_conn *conn; /* owned */
  bool wt_on;         /* WebTransport is enabled on this session */
  bool wt_turn;       /* alternates the send path between nghttp3 and WebTransport streams */
  quic_wt wt;         /* owns its tables and buffers (webtransport.h); valid when wt_on */
} h3_state;

/* Limits on what a peer's header blocks may cost us on one stream: each
 * block is bounded by our SETTINGS_MAX_FIELD_SECTION_SIZE, all of them
 * together by a few blocks' worth. */
#define MAX_HEADER_BLOCKS 16

static quic_session *sess(void *user) { return user; }
static h3_state *state(quic_session *s) { return s->app_data; }
static nghttp3_conn *h3(quic_session *s) { return s->app_data ? state(s)->conn : NULL; }
static quic_wt *wt_of(quic_session *s) { return s->app_data && state(s)->wt_on ? &state(s)->wt : NULL; }
static bool is_wt(const quic_stream *st) { return st && (st->flags & QUIC_STREAM_WT); }

static void fail_conn(quic_session *s, int liberr) {
  ngtcp2_ccerr_set_application_error(&s->ccerr, nghttp3_err_infer_quic_app_error_code(liberr), NULL, 0);
  s->ccerr_set = true;
}

/* ---- nghttp3 callbacks ---- */

static int cb_acked_stream_data(nghttp3_conn *conn, int64_t id, uint64_t datalen, void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(id);
  QUIC_UNUSED(user);
  quic_stream *st = stream_user;
  if (st) quic_session_stream_acked(st, st->tx_acked + datalen);
  return 0;
}

/* After capsules were read on a session's CONNECT stream: a malformed one
 * resets the stream (H3_MESSAGE_ERROR) and ends that session only; the
 * peer's close ends ours too. */
static void wt_capsules_done(quic_session *s, quic_wt *wt, quic_wt_session *ws, quic_stream *st, bool ok) {
  if (!ok) {
    st->flags |= QUIC_STREAM_TX_RESET;
    ngtcp2_conn_shutdown_stream(s->conn, 0, st->id, QUIC_WT_H3_MESSAGE_ERROR);
    quic_wt_session_gone(wt, st->id);
    quic_session_mark_dirty(s);
    return;
  }
  if (ws->close_received && !ws->close_sent) {
    /* The peer ended the session: its streams go, and so does our side. */
    ws->close_sent = true;
    ws->state = QUIC_WT_CLOSED;
    quic_wt_reset_streams(wt, st->id);
    if (!(st->flags & QUIC_STREAM_FIN_QUEUED)) (void)quic_stream_write(st, NULL, 0, true);
  }
}

/* The body of a WebTransport session's CONNECT stream: capsules, read here
 * and credited at once (the application never reads them). */
static int wt_body(quic_session *s, quic_stream *st, const uint8_t *data, size_t len, bool fin) {
  quic_wt *wt = wt_of(s);
  quic_wt_session *ws = wt ? quic_wt_session_get(wt, st->id) : NULL;
  quic_session_give_credit(s, st, len);
  if (ws == NULL) return 0;
  wt_capsules_done(s, wt, ws, st, quic_wt_capsules(wt, ws, st, data, len, fin));
  return 0;
}

static int cb_recv_data(nghttp3_conn *conn, int64_t id, const uint8_t *data, size_t datalen, void *user,
                        void *stream_user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(id);
  QUIC_UNUSED(user);
  quic_stream *st = stream_user;
  if (st == NULL) return 0;
  if (st->flags & QUIC_STREAM_WT_SESSION) return wt_body(sess(user), st, data, datalen, false);
  return quic_session_stream_data(st, data, datalen, false) == QUIC_OK ? 0 : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static int cb_deferred_consume(nghttp3_conn *conn, int64_t id, size_t consumed, void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(stream_user);
  quic_session *s = sess(user);
  ngtcp2_conn_extend_max_stream_offset(s->conn, id, consumed);
  ngtcp2_conn_extend_max_offset(s->conn, consumed);
  return 0;
}

static quic_stream *request_stream(quic_session *s, int64_t id, void *stream_user) {
  if (stream_user) return stream_user;
  quic_stream *st = quic_session_remote_stream(s, id, NULL);
  if (st) {
    /* Announced (with its pending NEW event) when its headers are done. */
    st->flags |= QUIC_STREAM_HIDDEN;
    quic_list_remove(&st->event_link);
    nghttp3_conn_set_stream_user_data(h3(s), id, st);
  }
  return st;
}

static int begin_block(quic_session *s, int64_t id, void *stream_user, uint8_t kind) {
  quic_stream *st = request_stream(s, id, stream_user);
  if (st == NULL) return NGHTTP3_ERR_CALLBACK_FAILURE;
  quic_nvlist_reset(&st->hb_cur);
  st->hb_cur_size = 0;
  st->hb_cur_kind = kind;
  return 0;
}

static int cb_begin_headers(nghttp3_conn *conn, int64_t id, void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  return begin_block(sess(user), id, stream_user, QUIC_HEADERS_INITIAL);
}

static int cb_begin_trailers(nghttp3_conn *conn, int64_t id, void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  return begin_block(sess(user), id, stream_user, QUIC_HEADERS_TRAILERS);
}

static int cb_recv_header(nghttp3_conn *conn, int64_t id, int32_t token, nghttp3_rcbuf *name, nghttp3_rcbuf *value,
                          uint8_t flags, void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(id);
  QUIC_UNUSED(token);
  QUIC_UNUSED(flags);
  QUIC_UNUSED(user);
  quic_stream *st = stream_user;
  if (st == NULL) return 0;
  nghttp3_vec n = nghttp3_rcbuf_get_buf(name), v = nghttp3_rcbuf_get_buf(value);
  st->hb_total += quic_hfield_size(n.len, v.len);
  /* Past the limit the block is dropped at its end and the stream reset.
   * RFC 9114 4.2.2 counts 32 bytes of overhead per field. */
  st->hb_cur_size += n.len + v.len + 32;
  if (st->hb_cur_size > st->session->h3_settings.max_field_section_size ||
      st->hb_total > 4 * st->session->h3_settings.max_field_section_size) {
    st->hb_overflow = true;
    return 0;
  }
  if (quic_nvlist_add(&st->hb_cur, n.base, n.len, v.base, v.len) != QUIC_OK) return NGHTTP3_ERR_CALLBACK_FAILURE;
  return 0;
}

/* A response block whose :status is 1xx is informational. */
static bool is_informational(const quic_nvlist *l) {
  quic_hiter it;
  quic_hfield f;
  quic_hiter_init(&it, l->data, l->len, l->count);
  while (quic_hiter_next(&it, &f) > 0)
    if (f.namelen == 7 && memcmp(f.name, ":status", 7) == 0) return f.valuelen == 3 && f.value[0] == '1';
  return false;
}

static bool field_is(const quic_hfield *f, const char *name, const char *value) {
  size_t n = strlen(name), v = strlen(value);
  return f->namelen == n && memcmp(f->name, name, n) == 0 && f->valuelen == v && memcmp(f->value, value, v) == 0;
}

/* An extended CONNECT for WebTransport (RFC 9220): its version by the
 * :protocol, `webtransport` (draft-02 3.2) or `webtransport-h3` (draft-16
 * 3.2); 0 for anything else. */
static uint8_t wt_connect_version(const quic_hblock *b) {
  quic_hiter it;
  quic_hfield f;
  bool connect = false;
  uint8_t version = 0;
  quic_hiter_init(&it, b->data, b->len, b->count);
  while (quic_hiter_next(&it, &f) > 0) {
    if (field_is(&f, ":method", "CONNECT")) connect = true;
    if (field_is(&f, ":protocol", "webtransport")) version = QUIC_WT_DRAFT02;
    if (field_is(&f, ":protocol", "webtransport-h3")) version = QUIC_WT_DRAFT16;
  }
  return connect ? version : 0;
}

static int end_block(quic_session *s, int64_t id, quic_stream *st) {
  if (st == NULL) return 0;
  if (st->hb_overflow || ++st->hb_blocks > MAX_HEADER_BLOCKS) {
    st->flags |= QUIC_STREAM_TX_RESET;
    ngtcp2_conn_shutdown_stream(s->conn, 0, id, NGHTTP3_H3_EXCESSIVE_LOAD);
    quic_nvlist_reset(&st->hb_cur);
    return 0;
  }
  uint8_t kind = st->hb_cur_kind;
  if (kind == QUIC_HEADERS_INITIAL && !s->server && is_informational(&st->hb_cur)) kind = QUIC_HEADERS_INFO;
  quic_hblock *b = quic_hblock_new(&st->hb_cur, kind);
  if (b == NULL) return NGHTTP3_ERR_CALLBACK_FAILURE;
  if (st->hb_tail) st->hb_tail->next = b;
  else st->hb_head = b;
  st->hb_tail = b;
  quic_nvlist_reset(&st->hb_cur);
  uint8_t version = kind == QUIC_HEADERS_INITIAL && s->server && wt_of(s) ? wt_connect_version(b) : 0;
  if (version == QUIC_WT_DRAFT16 && quic_wt_sessions_of(wt_of(s), QUIC_WT_DRAFT16) > 0) {
    /* draft-16 5.1: without flow control (we never enable it) a connection
     * has one session; another CONNECT is reset with H3_REQUEST_REJECTED.
     * Never announced, it goes when it closes. */
    st->flags |= QUIC_STREAM_TX_RESET;
    ngtcp2_conn_shutdown_stream(s->conn, 0, id, QUIC_WT_H3_REQUEST_REJECTED);
    quic_session_mark_dirty(s);
    return 0;
  }
  if (version) {
    /* Past maxSessions it stays an ordinary request (the application
     * answers it), and no streams or datagrams reach it. */
    if (quic_wt_session_add(wt_of(s), id, st->key, version) == QUIC_OK) {
      st->flags |= QUIC_STREAM_WT_SESSION;
      /* It came in 0-RTT: the application decides whether to wait for the
       * handshake (webtransport.allowZeroRtt). */
      quic_wt_session *ws = quic_wt_session_get(wt_of(s), id);
      ws->early = s->state == QUIC_SESSION_HANDSHAKE;
      ws->hold = true; /* its capsules wait for our 2xx */
    }
  }
  st->flags &= ~QUIC_STREAM_HIDDEN;
  quic_session_stream_event(st, QUIC_SEV_HEADERS);
  return 0;
}

static int cb_end_headers(nghttp3_conn *conn, int64_t id, int fin, void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(fin);
  return end_block(sess(user), id, stream_user);
}

static int cb_end_stream(nghttp3_conn *conn, int64_t id, void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(id);
  QUIC_UNUSED(user);
  quic_stream *st = stream_user;
  if (st && (st->flags & QUIC_STREAM_WT_SESSION)) (void)wt_body(sess(user), st, NULL, 0, true);
  if (st) quic_session_stream_data(st, NULL, 0, true);
  return 0;
}

/* nghttp3 asks us to send STOP_SENDING (to stop reading the stream); it is
 * not the peer's STOP_SENDING. */
static int cb_stop_sending(nghttp3_conn *conn, int64_t id, uint64_t code, void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(stream_user);
  ngtcp2_conn_shutdown_stream_read(sess(user)->conn, 0, id, code);
  return 0;
}

/* nghttp3 asks us to reset our sending side (its own decision, not the
 * peer's STOP_SENDING). */
static int cb_reset_stream(nghttp3_conn *conn, int64_t id, uint64_t code, void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  quic_stream *st = stream_user;
  if (st) st->flags |= QUIC_STREAM_TX_RESET | QUIC_STREAM_TX_STOPPED;
  ngtcp2_conn_shutdown_stream_write(sess(user)->conn, 0, id, code);
  return 0;
}

static int cb_shutdown(nghttp3_conn *conn, int64_t id, void *user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(id);
  sess(user)->goaway_received = true;
  return 0;
}

static int submit(quic_stream *st, int kind, const quic_nvlist *l);

/* Body data for nghttp3: views of the send buffer, kept until acknowledged. */
static nghttp3_ssize cb_read_data(nghttp3_conn *conn, int64_t id, nghttp3_vec *vec, size_t veccnt, uint32_t *pflags,
                                  void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(id);
  QUIC_UNUSED(user);
  quic_stream *st = stream_user;
  if (st == NULL) {
    *pflags |= NGHTTP3_DATA_FLAG_EOF;
    return 0;
  }
  size_t n = quic_stream_tx_vec(st, st->tx_h3_read, vec, veccnt);
  for (size_t i = 0; i < n; i++) {
    st->tx_h3_read += vec[i].len;
    st->counters->bytes_sent += vec[i].len;
  }
  if (n) quic_session_stream_check_drain(st);
  if (st->tx_h3_read == st->tx_written && (st->flags & QUIC_STREAM_FIN_QUEUED)) {
    *pflags |= NGHTTP3_DATA_FLAG_EOF;
    if (st->has_trailers) {
      *pflags |= NGHTTP3_DATA_FLAG_NO_END_STREAM;
      (void)submit(st, QUIC_HEADERS_TRAILERS, &st->tx_trailers);
      st->has_trailers = false;
    }
    st->flags |= QUIC_STREAM_FIN_SENT;
    return (nghttp3_ssize)n;
  }
  if (n == 0) return NGHTTP3_ERR_WOULDBLOCK;
  return (nghttp3_ssize)n;
}

/* ---- the application operations (app.h) ---- */

static int start(quic_session *s) {
  nghttp3_callbacks cb;
  memset(&cb, 0, sizeof(cb));
  cb.acked_stream_data = cb_acked_stream_data;
  cb.recv_data = cb_recv_data;
  cb.deferred_consume = cb_deferred_consume;
  cb.begin_headers = cb_begin_headers;
  cb.recv_header = cb_recv_header;
  cb.end_headers = cb_end_headers;
  cb.begin_trailers = cb_begin_trailers;
  cb.recv_trailer = cb_recv_header;
  cb.end_trailers = cb_end_headers;
  cb.stop_sending = cb_stop_sending;
  cb.end_stream = cb_end_stream;
  cb.reset_stream = cb_reset_stream;
  cb.shutdown = cb_shutdown;
  nghttp3_settings settings;
  nghttp3_settings_default(&settings);
  settings.max_field_section_size = s->h3_settings.max_field_section_size;
  settings.qpack_max_dtable_capacity = (size_t)s->h3_settings.qpack_max_dtable_capacity;
  settings.qpack_encoder_max_dtable_capacity = (size_t)s->h3_settings.qpack_encoder_max_dtable_capacity;
  settings.qpack_blocked_streams = (size_t)s->h3_settings.qpack_blocked_streams;
  bool wt_on = s->h3_settings.wt_max_sessions > 0;
  if (wt_on) {
    /* RFC 9220 (a client ignores it) and RFC 9297; the rest of
     * WebTransport's settings are spliced in by webtransport.c. */
    settings.enable_connect_protocol = 1;
    settings.h3_datagram = 1;
  }
  h3_state *hs = quic_calloc(1, sizeof(*hs));
  if (hs == NULL) return QUIC_ERR_NOMEM;
  nghttp3_conn *conn;
  int rv = s->server ? nghttp3_conn_server_new(&conn, &cb, &settings, quic_mem_nghttp3(), s)
                     : nghttp3_conn_client_new(&conn, &cb, &settings, quic_mem_nghttp3(), s);
  if (rv != 0) {
    quic_free(hs);
    return QUIC_ERR_NOMEM;
  }
  hs->conn = conn;
  s->app_data = hs;
  if (s->server) {
    /* Requests beyond what the client may open are refused by QUIC limits. */
    const ngtcp2_transport_params *lp = ngtcp2_conn_get_local_transport_params(s->conn);
    nghttp3_conn_set_max_client_streams_bidi(conn, lp->initial_max_streams_bidi);
  }
  int64_t ctrl, enc, dec;
  if (ngtcp2_conn_open_uni_stream(s->conn, &ctrl, NULL) != 0 || nghttp3_conn_bind_control_stream(conn, ctrl) != 0 ||
      ngtcp2_conn_open_uni_stream(s->conn, &enc, NULL) != 0 || ngtcp2_conn_open_uni_stream(s->conn, &dec, NULL) != 0 ||
      nghttp3_conn_bind_qpack_streams(conn, enc, dec) != 0 ||
      (wt_on && quic_wt_init(&hs->wt, s, s->h3_settings.wt_max_sessions, ctrl) != QUIC_OK)) {
    nghttp3_conn_del(conn);
    quic_free(hs);
    s->app_data = NULL;
    return QUIC_ERR_NOMEM;
  }
  hs->wt_on = wt_on;
  if (wt_on) hs->wt.max_streams = s->h3_settings.wt_max_streams;
  return QUIC_OK;
}

static void stop(quic_session *s) {
  h3_state *hs = s->app_data;
  if (hs == NULL) return;
  nghttp3_conn_del(hs->conn);
  if (hs->wt_on) quic_wt_free(&hs->wt);
  quic_free(hs);
  s->app_data = NULL;
}

static int stream_open(quic_session *s, int64_t id) {
  /* close() was called: new requests are refused; the peer's own
   * unidirectional streams (control, QPACK) are still taken. HTTP/3
   * creates request streams when their headers begin. */
  if (s->state >= QUIC_SESSION_GRACEFUL && ngtcp2_is_bidi_stream(id)) {
    ngtcp2_conn_shutdown_stream(s->conn, 0, id, NGHTTP3_H3_REQUEST_REJECTED);
    return 0;
  }
  /* With WebTransport on, the stream's first bytes say whose it is. */
  if (wt_of(s) && quic_wt_stream_open(wt_of(s), id) != QUIC_OK) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

static int feed_h3(quic_session *s, int64_t id, const uint8_t *data, size_t len, bool fin) {
  nghttp3_ssize n = nghttp3_conn_read_stream(h3(s), id, data, len, fin);
  if (n < 0) {
    fail_conn(s, (int)n);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  /* Framing and header bytes are consumed now; body bytes when read. */
  ngtcp2_conn_extend_max_stream_offset(s->conn, id, (uint64_t)n);
  ngtcp2_conn_extend_max_offset(s->conn, (uint64_t)n);
  return 0;
}

static int settings_error(quic_session *s) {
  ngtcp2_ccerr_set_application_error(&s->ccerr, QUIC_WT_H3_SETTINGS_ERROR, NULL, 0);
  s->ccerr_set = true;
  return NGTCP2_ERR_CALLBACK_FAILURE;
}

/* A peer stream refused before it has an object: reset and stopped with
 * `code`, and the len bytes it brought credited back. */
static int refuse_stream(quic_session *s, int64_t id, uint64_t code, size_t len) {
  ngtcp2_conn_shutdown_stream(s->conn, 0, id, code);
  quic_session_give_credit(s, NULL, len);
  quic_session_mark_dirty(s);
  return 0;
}

/* A peer stream WebTransport is still classifying. */
static int classify(quic_session *s, quic_wt *wt, int64_t id, const uint8_t *data, size_t len, bool fin) {
  size_t used = 0, plen = 0;
  uint8_t prefix[16];
  uint64_t sid = 0;
  int rv;
  switch (quic_wt_classify(wt, id, data, len, &used, prefix, &plen, &sid)) {
  case QUIC_WT_CLASS_MORE:
    if (fin) {
      /* Ended before saying what it is: nothing to show. */
      quic_wt_stream_gone(wt, id);
      quic_session_give_credit(s, NULL, plen + len);
    }
    return 0;
  case QUIC_WT_CLASS_LIMITED:
    /* Past maxStreamsPerSession: refused, and the peer may try again. */
    return refuse_stream(s, id, NGHTTP3_H3_REQUEST_REJECTED, len);
  case QUIC_WT_CLASS_ID_ERROR:
    ngtcp2_ccerr_set_application_error(&s->ccerr, QUIC_WT_H3_ID_ERROR, NULL, 0);
    s->ccerr_set = true;
    return NGTCP2_ERR_CALLBACK_FAILURE;
  case QUIC_WT_CLASS_SETTINGS_ERROR:
    return settings_error(s);
  case QUIC_WT_CLASS_REJECTED:
    return refuse_stream(s, id, QUIC_WT_BUFFERED_STREAM_REJECTED, len);
  case QUIC_WT_CLASS_H3:
    if ((rv = feed_h3(s, id, prefix, plen, fin && used == len)) != 0) return rv;
    if (used == len) return 0;
    if (!quic_wt_peer_control(wt, id, data + used, len - used)) return settings_error(s);
    return feed_h3(s, id, data + used, len - used, fin);
  default: {
    quic_stream *st = quic_session_remote_stream(s, id, NULL);
    if (st == NULL) return NGTCP2_ERR_CALLBACK_FAILURE;
    st->flags |= QUIC_STREAM_WT;
    st->wt_session = (int64_t)sid;
    /* The signal and session ID are ours to consume. */
    ngtcp2_conn_extend_max_stream_offset(s->conn, id, plen);
    ngtcp2_conn_extend_max_offset(s->conn, plen);
    return quic_session_stream_data(st, data + used, len - used, fin) == QUIC_OK ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }
  }
}

static int recv_data(quic_session *s, int64_t id, quic_stream *st, const uint8_t *data, size_t len, bool fin) {
  quic_wt *wt = wt_of(s);
  if (wt) {
    if (is_wt(st))
      return quic_session_stream_data(st, data, len, fin) == QUIC_OK ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
    if (quic_wt_classifying(wt, id)) return classify(s, wt, id, data, len, fin);
    if (!quic_wt_peer_control(wt, id, data, len)) return settings_error(s);
  }
  return feed_h3(s, id, data, len, fin);
}

static int acked(quic_session *s, int64_t id, quic_stream *st, uint64_t offset, uint64_t len) {
  quic_wt *wt = wt_of(s);
  if (is_wt(st)) return quic_app_raw.acked(s, id, st, offset, len);
  /* Our control stream's first bytes are ours, not nghttp3's. */
  if (wt && id == wt->ctrl_id) len = quic_wt_ctrl_acked(wt, len);
  if (len == 0) return 0;
  /* The stream carries frames; nghttp3 maps them to body bytes. */
  int rv = nghttp3_conn_add_ack_offset(h3(s), id, len);
  if (rv != 0) {
    fail_conn(s, rv);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static void stream_close(quic_session *s, int64_t id, quic_stream *st, uint64_t code) {
  quic_wt *wt = wt_of(s);
  if (wt) {
    if (is_wt(st) && !(st->flags & QUIC_STREAM_LOCAL)) quic_wt_peer_stream_gone(wt, st->wt_session);
    if (quic_wt_classifying(wt, id)) {
      /* Never shown to anyone: the peer may open another in its place. */
      quic_wt_stream_gone(wt, id);
      if (s->state < QUIC_SESSION_CLOSING) {
        if (ngtcp2_is_bidi_stream(id)) ngtcp2_conn_extend_max_streams_bidi(s->conn, 1);
        else ngtcp2_conn_extend_max_streams_uni(s->conn, 1);
      }
    }
    quic_wt_session_gone(wt, id);
  }
  int rv = nghttp3_conn_close_stream(h3(s), id, code);
  if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) fail_conn(s, rv);
}

static quic_stream *peer_abort(quic_session *s, int64_t id, quic_stream *st) {
  if (is_wt(st)) return st;
  if (wt_of(s) && quic_wt_classifying(wt_of(s), id)) return NULL;
  (void)nghttp3_conn_shutdown_stream_read(h3(s), id);
  return st;
}

static void read_stopped(quic_session *s, int64_t id, quic_stream *st) {
  if (is_wt(st) || (wt_of(s) && quic_wt_classifying(wt_of(s), id))) return;
  (void)nghttp3_conn_shutdown_stream_read(h3(s), id);
}

static void unblock(quic_session *s, int64_t id) { (void)nghttp3_conn_unblock_stream(h3(s), id); }

static void resume(quic_stream *st) {
  quic_session *s = st->session;
  if (is_wt(st)) {
    quic_app_raw.resume(st);
    return;
  }
  if (st->id >= 0) (void)nghttp3_conn_resume_stream(h3(s), st->id);
}

static void opened(quic_stream *st) {
  quic_session *s = st->session;
  if (is_wt(st) || st->tx_headers.count == 0) return;
  /* Our CONNECT sent again after the server refused 0-RTT: the HTTP/3 state
   * (WebTransport's with it) started over, so the session is registered
   * again, under the stream's new id (its version is kept in wt_session). */
  if ((st->flags & QUIC_STREAM_WT_SESSION) && wt_of(s) && quic_wt_session_get(wt_of(s), st->id) == NULL)
    (void)quic_wt_session_add(wt_of(s), st->id, st->key, (uint8_t)st->wt_session);
  (void)submit(st, QUIC_HEADERS_INITIAL, &st->tx_headers);
  /* A 0-RTT request keeps its headers until the server accepts 0-RTT. */
  if (s->state != QUIC_SESSION_HANDSHAKE) quic_nvlist_clear(&st->tx_headers);
}

static int next_h3(quic_session *s, quic_app_out *o);

static int next(quic_session *s, quic_app_out *o) {
  /* With no connection credit nothing goes out; asking nghttp3 would only
   * shuffle its queue. */
  if (ngtcp2_conn_get_max_data_left(s->conn) == 0) return 0;
  h3_state *hs = state(s);
  /* WebTransport streams go out as raw QUIC streams do, from the session's
   * send queue, taking turns with nghttp3's. */
  bool wt_ready = hs->wt_on && !quic_list_empty(&s->send_queue);
  if (wt_ready && (hs->wt_turn = !hs->wt_turn)) return quic_app_raw.next(s, o);
  int rv = next_h3(s, o);
  if (rv != 0) return rv;
  if (o->id < 0 && wt_ready) return quic_app_raw.next(s, o);
  if (hs->wt_on && o->id == hs->wt.ctrl_id && quic_wt_ctrl_out(&hs->wt, o) != QUIC_OK) return NGTCP2_ERR_NOMEM;
  return 0;
}

static int next_h3(quic_session *s, quic_app_out *o) {
  int fin = 0;
  nghttp3_ssize n = nghttp3_conn_writev_stream(h3(s), &o->id, &fin, (nghttp3_vec *)o->vec, QUIC_ARRAY_LEN(o->vec));
  if (n < 0) {
    fail_conn(s, (int)n);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  o->nvec = (size_t)n;
  o->fin = fin != 0;
  return 0;
}

static int wrote(quic_session *s, quic_app_out *o, size_t n) {
  if (is_wt(o->st)) return quic_app_raw.wrote(s, o, n);
  quic_wt *wt = wt_of(s);
  if (wt && o->id == wt->ctrl_id && (n = quic_wt_ctrl_wrote(wt, n)) == 0) return 0;
  int rv = nghttp3_conn_add_write_offset(h3(s), o->id, n);
  if (rv != 0) {
    fail_conn(s, rv);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static quic_stream *blocked(quic_session *s, quic_app_out *o) {
  if (is_wt(o->st)) return quic_app_raw.blocked(s, o);
  nghttp3_conn_block_stream(h3(s), o->id);
  return quic_session_stream_by_id(s, o->id);
}

static void shut(quic_session *s, quic_app_out *o) {
  if (is_wt(o->st)) quic_app_raw.shut(s, o);
  else nghttp3_conn_shutdown_stream_write(h3(s), o->id);
}

static void shutdown_write(quic_stream *st) {
  if (!is_wt(st)) nghttp3_conn_shutdown_stream_write(h3(st->session), st->id);
}

static uint64_t taken(const quic_stream *st) { return is_wt(st) ? st->tx_sent : st->tx_h3_read; }

static bool datagram(quic_session *s, const uint8_t *data, size_t len, int64_t *flow, size_t *off) {
  quic_wt *wt = wt_of(s);
  if (wt == NULL) return true; /* HTTP/3 without datagrams of its own: as raw QUIC */
  uint64_t sid;
  if (!quic_wt_datagram_in(wt, data, len, &sid, off)) return false;
  *flow = (int64_t)sid;
  return true;
}

static bool dgram_keep(quic_session *s, quic_dgram *d) {
  quic_wt *wt = wt_of(s);
  if (wt == NULL) {
    quic_free(d);
    return false;
  }
  return quic_wt_datagram_keep(wt, d, quic_session_now(s));
}

static void dgram_out_done(quic_session *s, const quic_dgram *d, int outcome) {
  quic_wt *wt = wt_of(s);
  quic_wt_session *ws = wt ? quic_wt_session_get(wt, d->flow) : NULL;
  if (ws == NULL) return;
  if (ws->out_queued) ws->out_queued--;
  if (outcome == QUIC_DGRAM_EXPIRED) ws->dstats.expired_out++;
  else if (outcome == QUIC_DGRAM_REFUSED) ws->dstats.dropped_out++;
}

static void dgram_lost(quic_session *s, uint64_t dgram_id) {
  quic_wt *wt = wt_of(s);
  quic_wt_session *ws = wt && dgram_id <= INT64_MAX ? quic_wt_session_get(wt, (int64_t)(dgram_id - 1)) : NULL;
  if (ws) ws->dstats.lost_out++;
}

static void goaway(quic_session *s, bool final) {
  if (!s->server) return;
  if (final) (void)nghttp3_conn_shutdown(h3(s));
  else (void)nghttp3_conn_submit_shutdown_notice(h3(s));
}

/* Fields a submit lays out on the stack; longer lists are allocated. */
#define NV_STACK 32

/* nghttp3's view of l, borrowing l's bytes: in `stack` (NV_STACK entries)
 * when it fits, else an array the caller frees (*out != stack). */
static int to_nv(const quic_nvlist *l, nghttp3_nv *stack, nghttp3_nv **out) {
  nghttp3_nv *nv = l->count <= NV_STACK ? stack : quic_calloc(l->count, sizeof(*nv));
  if (nv == NULL) return QUIC_ERR_NOMEM;
  quic_hiter it;
  quic_hfield f;
  int rv;
  size_t i = 0;
  quic_hiter_init(&it, l->data, l->len, l->count);
  while ((rv = quic_hiter_next(&it, &f)) > 0) {
    nv[i].name = f.name;
    nv[i].namelen = f.namelen;
    nv[i].value = f.value;
    nv[i].valuelen = f.valuelen;
    nv[i].flags = NGHTTP3_NV_FLAG_NONE;
    i++;
  }
  if (rv < 0) {
    if (nv != stack) quic_free(nv);
    return rv;
  }
  *out = nv;
  return QUIC_OK;
}

static int submit(quic_stream *st, int kind, const quic_nvlist *l) {
  quic_session *s = st->session;
  if (h3(s) == NULL || st->id < 0) return QUIC_ERR_STATE;
  nghttp3_nv stack[NV_STACK], *nv;
  int err = to_nv(l, stack, &nv);
  if (err != QUIC_OK) return err;
  nghttp3_data_reader dr = {.read_data = cb_read_data};
  int rv;
  switch (kind) {
  case QUIC_HEADERS_INFO:
    rv = nghttp3_conn_submit_info(h3(s), st->id, nv, l->count);
    break;
  case QUIC_HEADERS_TRAILERS:
    rv = nghttp3_conn_submit_trailers(h3(s), st->id, nv, l->count);
    break;
  default:
    rv = s->server ? nghttp3_conn_submit_response(h3(s), st->id, nv, l->count, &dr)
                   : nghttp3_conn_submit_request(h3(s), st->id, nv, l->count, &dr, st);
    break;
  }
  if (nv != stack) quic_free(nv);
  if (rv != 0) return QUIC_ERR_INVALID;
  quic_session_mark_dirty(s);
  return QUIC_OK;
}

const quic_app_ops quic_app_http3 = {
    .name = "h3",
    .headers = true,
    .framed = true,
    .no_error = NGHTTP3_H3_NO_ERROR,
    .start = start,
    .stop = stop,
    .stream_open = stream_open,
    .recv = recv_data,
    .acked = acked,
    .stream_close = stream_close,
    .peer_abort = peer_abort,
    .read_stopped = read_stopped,
    .unblock = unblock,
    .resume = resume,
    .opened = opened,
    .next = next,
    .wrote = wrote,
    .blocked = blocked,
    .shut = shut,
    .shutdown_write = shutdown_write,
    .taken = taken,
    .goaway = goaway,
    .submit = submit,
    .datagram = datagram,
    .dgram_keep = dgram_keep,
    .dgram_out_done = dgram_out_done,
    .dgram_lost = dgram_lost,
};

/* ---- WebTransport: the API the binding calls (webtransport.h) ---- */

static quic_wt_session *api_session(quic_stream *st, quic_wt **wt) {
  if (st == NULL || st->session->app != &quic_app_http3 || st->id < 0) return NULL;
  *wt = wt_of(st->session);
  return *wt ? quic_wt_session_get(*wt, st->id) : NULL;
}

int quic_wt_api_accept(quic_stream *st) {
  quic_wt *wt;
  quic_wt_session *ws = api_session(st, &wt);
  if (ws == NULL || ws->state != QUIC_WT_PENDING) return QUIC_ERR_STATE;
  ws->state = QUIC_WT_OPEN;
  /* Server: the capsules that came before our 2xx are read now (draft-16
   * 3.2); the session may end here (a malformed one, or the client's close). */
  if (ws->hold) {
    wt_capsules_done(st->session, wt, ws, st, quic_wt_release_held(wt, ws, st));
    quic_session_mark_dirty(st->session);
  }
  return QUIC_OK;
}

int quic_wt_api_connect(quic_stream *st, uint8_t version) {
  if (st == NULL || st->session->app != &quic_app_http3 || st->id < 0) return QUIC_ERR_STATE;
  if (version != QUIC_WT_DRAFT02 && version != QUIC_WT_DRAFT16) return QUIC_ERR_INVALID;
  quic_wt *wt = wt_of(st->session);
  if (wt == NULL) return QUIC_ERR_STATE;
  int rv = quic_wt_session_add(wt, st->id, st->key, version);
  if (rv == QUIC_OK) {
    st->flags |= QUIC_STREAM_WT_SESSION;
    st->wt_session = version; /* a CONNECT stream's: its version (opened() reads it back) */
  }
  return rv;
}

int quic_wt_api_close(quic_stream *st, uint32_t code, const uint8_t *reason, size_t len) {
  quic_wt *wt;
  quic_wt_session *ws = api_session(st, &wt);
  if (ws == NULL || len > QUIC_WT_REASON_MAX) return QUIC_ERR_STATE;
  if (ws->close_sent) return QUIC_OK;
  ws->close_sent = true;
  ws->state = QUIC_WT_CLOSED;
  quic_wt_reset_streams(wt, st->id);
  if (st->flags & QUIC_STREAM_FIN_QUEUED) return QUIC_OK;
  uint8_t buf[16 + 4 + QUIC_WT_REASON_MAX];
  uint8_t payload[4 + QUIC_WT_REASON_MAX];
  payload[0] = (uint8_t)(code >> 24);
  payload[1] = (uint8_t)(code >> 16);
  payload[2] = (uint8_t)(code >> 8);
  payload[3] = (uint8_t)code;
  if (len) memcpy(payload + 4, reason, len);
  size_t n = quic_wt_capsule(buf, QUIC_WT_CAPSULE_CLOSE, payload, 4 + len);
  return quic_stream_write(st, buf, n, true);
}

int quic_wt_api_drain(quic_stream *st) {
  quic_wt *wt;
  quic_wt_session *ws = api_session(st, &wt);
  if (ws == NULL || ws->close_sent) return QUIC_ERR_STATE;
  uint8_t buf[16];
  size_t n = quic_wt_capsule(buf, QUIC_WT_CAPSULE_DRAIN, NULL, 0);
  return quic_stream_write(st, buf, n, false);
}

int quic_wt_api_open(quic_stream *st, bool uni, quic_stream **out) {
  quic_wt *wt;
  quic_wt_session *ws = api_session(st, &wt);
  if (ws == NULL || ws->state != QUIC_WT_OPEN) return QUIC_ERR_STATE;
  quic_stream *ns;
  int rv = quic_session_open_stream(st->session, uni, &ns);
  if (rv != QUIC_OK) return rv;
  ns->flags |= QUIC_STREAM_WT;
  ns->wt_session = st->id;
  /* The stream's first bytes: its signal and the session ID. */
  uint8_t pre[16];
  size_t n = quic_varint_write(pre, uni ? QUIC_WT_STREAM_UNI : QUIC_WT_STREAM_BIDI);
  n += quic_varint_write(pre + n, (uint64_t)st->id);
  rv = quic_stream_write(ns, pre, n, false);
  if (rv != QUIC_OK) {
    quic_stream_abort(ns, QUIC_WT_SESSION_GONE, true, true);
    return rv;
  }
  *out = ns;
  return QUIC_OK;
}

int quic_wt_api_datagram(quic_stream *st, const uint8_t *data, size_t len) {
  quic_wt *wt;
  quic_wt_session *ws = api_session(st, &wt);
  if (ws == NULL || ws->state != QUIC_WT_OPEN) return QUIC_ERR_STATE;
  int rv = QUIC_ERR_LIMIT;
  /* Its own share of the connection's queue (outgoingHighWaterMark). */
  if (ws->out_queued < ws->out_hwm) {
    uint8_t pre[8];
    size_t n = quic_varint_write(pre, (uint64_t)st->id / 4);
    uint64_t expires = ws->out_max_age ? quic_session_now(st->session) + ws->out_max_age : 0;
    rv = quic_session_datagram_prefixed(st->session, pre, n, data, len, st->id, expires, QUIC_DGRAM_QUEUE_WT);
  }
  if (rv == QUIC_OK) {
    ws->out_queued++;
    ws->dstats.sent++;
  } else if (rv == QUIC_ERR_LIMIT) {
    wt->datagrams_dropped++;
    ws->dstats.dropped_out++;
  }
  return rv;
}

int quic_wt_api_datagram_config(quic_stream *st, uint32_t in_hwm, uint32_t out_hwm, uint64_t in_max_age,
                                uint64_t out_max_age) {
  quic_wt *wt;
  quic_wt_session *ws = api_session(st, &wt);
  if (ws == NULL) return QUIC_ERR_STATE;
  if (in_hwm < 1 || in_hwm > QUIC_WT_DGRAM_HWM_MAX || out_hwm < 1 || out_hwm > QUIC_WT_DGRAM_HWM_MAX)
    return QUIC_ERR_INVALID;
  ws->in_hwm = in_hwm;
  ws->out_hwm = out_hwm;
  ws->in_max_age = in_max_age;
  ws->out_max_age = out_max_age;
  /* A lower mark applies to what waits already: the newest go. */
  while (ws->dgram_in.count > ws->in_hwm) {
    quic_dgram *d = ws->dgram_in.head, *prev = NULL;
    while (d->next) {
      prev = d;
      d = d->next;
    }
    prev->next = NULL;
    ws->dgram_in.tail = prev;
    ws->dgram_in.count--;
    ws->dgram_in.bytes -= sizeof(*d) + d->len;
    wt->dgram_in_bytes -= QUIC_MIN(wt->dgram_in_bytes, sizeof(*d) + d->len);
    ws->dstats.dropped_in++;
    quic_free(d);
  }
  return QUIC_OK;
}

quic_dgram *quic_wt_api_datagrams_take(quic_stream *st, size_t max) {
  quic_wt *wt;
  quic_wt_session *ws = api_session(st, &wt);
  if (ws == NULL) return NULL;
  quic_wt_datagrams_expire(wt, ws, quic_session_now(st->session));
  quic_dgram *head = NULL, **tail = &head;
  for (size_t i = 0; i < max && ws->dgram_in.head; i++) {
    quic_dgram *d = ws->dgram_in.head;
    ws->dgram_in.head = d->next;
    if (ws->dgram_in.head == NULL) ws->dgram_in.tail = NULL;
    ws->dgram_in.count--;
    ws->dgram_in.bytes -= sizeof(*d) + d->len;
    wt->dgram_in_bytes -= QUIC_MIN(wt->dgram_in_bytes, sizeof(*d) + d->len);
    d->next = NULL;
    *tail = d;
    tail = &d->next;
  }
  return head;
}

uint32_t quic_wt_api_datagrams_queued(quic_stream *st) {
  quic_wt *wt;
  quic_wt_session *ws = api_session(st, &wt);
  return ws ? ws->out_queued : 0;
}

bool quic_wt_api_datagram_stats(quic_stream *st, quic_wt_dgram_stats *out) {
  quic_wt *wt;
  quic_wt_session *ws = api_session(st, &wt);
  if (ws == NULL) return false;
  *out = ws->dstats;
  return true;
}

size_t quic_wt_api_max_datagram(quic_stream *st) {
  quic_wt *wt;
  quic_wt_session *ws = api_session(st, &wt);
  if (ws == NULL) return 0;
  size_t max = quic_session_max_datagram(st->session);
  size_t pre = quic_varint_len((uint64_t)st->id / 4);
  return max > pre ? max - pre : 0;
}

uint32_t quic_wt_api_peer_versions(quic_session *s) {
  quic_wt *wt = s->app == &quic_app_http3 ? wt_of(s) : NULL;
  return wt ? quic_wt_peer_versions(wt) : 0;
}

size_t quic_wt_api_remembered(quic_session *s, uint8_t *buf, size_t cap) {
  quic_wt *wt = s->app == &quic_app_http3 ? wt_of(s) : NULL;
  if (wt == NULL || !wt->peer_settings_done || cap < 24) return 0;
  size_t n = 0;
  if (wt->peer_wt) {
    n += quic_varint_write(buf + n, QUIC_WT_SETTINGS_ENABLE_DRAFT02);
    n += quic_varint_write(buf + n, 1);
  }
  if (wt->peer_wt16) {
    n += quic_varint_write(buf + n, QUIC_WT_SETTINGS_WT_ENABLED);
    n += quic_varint_write(buf + n, 1);
  }
  if (wt->peer_dgram) {
    n += quic_varint_write(buf + n, QUIC_WT_SETTINGS_H3_DATAGRAM);
    n += quic_varint_write(buf + n, 1);
  }
  return n;
}

void quic_wt_api_remember(quic_session *s, const uint8_t *p, size_t len) {
  quic_wt *wt = s->app == &quic_app_http3 ? wt_of(s) : NULL;
  if (wt == NULL || s->server || wt->peer_settings_done) return;
  bool wt02 = false, wt16 = false, dgram = false;
  for (const uint8_t *q = p, *end = p + len; q < end;) {
    uint64_t id, v;
    size_t a = quic_varint_read(q, (size_t)(end - q), &id);
    size_t b = a ? quic_varint_read(q + a, (size_t)(end - q) - a, &v) : 0;
    if (b == 0) return; /* not ours: nothing remembered */
    q += a + b;
    if (id == QUIC_WT_SETTINGS_ENABLE_DRAFT02 && v == 1) wt02 = true;
    if (id == QUIC_WT_SETTINGS_WT_ENABLED && v == 1) wt16 = true;
    if (id == QUIC_WT_SETTINGS_H3_DATAGRAM && v == 1) dgram = true;
  }
  wt->remembered = (wt02 ? QUIC_WT_DRAFT02 : 0u) | (wt16 && dgram ? QUIC_WT_DRAFT16 : 0u);
}

bool quic_wt_api_early(quic_stream *st) {
  quic_wt *wt;
  quic_wt_session *ws = api_session(st, &wt);
  return ws && ws->early;
}

bool quic_wt_api_counters(quic_session *s, uint64_t *streams_rejected, uint64_t *datagrams_dropped,
                          uint64_t *capsule_errors) {
  quic_wt *wt = s->app == &quic_app_http3 ? wt_of(s) : NULL;
  if (wt == NULL) return false;
  *streams_rejected = wt->streams_rejected;
  *datagrams_dropped = wt->datagrams_dropped;
  *capsule_errors = wt->capsule_errors;
  return true;
}

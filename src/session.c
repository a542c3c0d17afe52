#include "session.h"

#include <errno.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "http3.h"
#include "mem.h"
#include "options.h"
#include "stats.h"

#define MAX_PAYLOAD QUIC_PAYLOAD_MAX
#define MIN_PAYLOAD QUIC_PAYLOAD_MIN
/* Bounds one flush so a session cannot starve the loop. */
#define MAX_WRITE_ITERATIONS 4096

void quic_session_config_defaults(quic_session_config *c) {
  memset(c, 0, sizeof(*c));
  c->max_idle_timeout_ms = 30000;
  c->initial_max_data = 1u << 20;
  c->initial_max_stream_data_bidi_local = 256u << 10;
  c->initial_max_stream_data_bidi_remote = 256u << 10;
  c->initial_max_stream_data_uni = 256u << 10;
  c->initial_max_streams_bidi = 100;
  c->initial_max_streams_uni = 100;
  c->ack_delay_exponent = 3;
  c->max_ack_delay_ms = 25;
  c->active_connection_id_limit = 2;
  c->max_stream_window = 6u << 20;
  c->max_window = 15u << 20;
  c->handshake_timeout_ms = 10000;
  c->max_payload_size = 1452;
  c->cc_algo = NGTCP2_CC_ALGO_CUBIC;
  c->h3.max_field_section_size = 64u << 10;
  c->h3.qpack_max_dtable_capacity = 4096;
  c->h3.qpack_encoder_max_dtable_capacity = 4096;
  c->h3.qpack_blocked_streams = 100;
}

void quic_session_config_clear(quic_session_config *c) {
  if (c->tls) quic_tls_ctx_unref(c->tls);
  quic_free(c->sni);
  quic_free(c->verify_name);
  memset(c, 0, sizeof(*c));
}

ngtcp2_conn *quic_session_get_conn(ngtcp2_crypto_conn_ref *ref) {
  return ((quic_session *)ref->user_data)->conn;
}

/* ---- events ---- */

static void session_event(quic_session *s, uint32_t ev) {
  s->events |= ev;
  quic_wrap_session_event(s->wrap, s);
}

void quic_session_stream_event(quic_stream *st, uint32_t ev) {
  quic_session *s = st->session;
  st->events |= ev;
  /* A request is announced once its headers are complete and valid. */
  if (st->flags & QUIC_STREAM_HIDDEN) return;
  if (!quic_link_linked(&st->event_link)) quic_list_push(&s->stream_events, &st->event_link);
  session_event(s, 0);
}

static void set_closed(quic_session *s, int kind, uint64_t code, const uint8_t *reason, size_t reasonlen) {
  if (s->close_kind != QUIC_CLOSE_NONE) return;
  s->close_kind = kind;
  s->close_code = code;
  size_t n = QUIC_MIN(reasonlen, QUIC_CLOSE_REASON_MAX - 1);
  /* No memory: the reason is lost, the close is not. */
  if (n && (s->close_reason = quic_malloc(n + 1)) != NULL) {
    for (size_t i = 0; i < n; i++) {
      /* The reason is the peer's bytes: keep it printable. */
      uint8_t c = reason[i];
      s->close_reason[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    s->close_reason[n] = 0;
  }
  s->counters->closing_at = quic_now();
  session_event(s, QUIC_EV_CLOSE);
}

static void report_ccerr(quic_session *s, const ngtcp2_ccerr *e) {
  int kind = QUIC_CLOSE_TRANSPORT;
  switch (e->type) {
  case NGTCP2_CCERR_TYPE_APPLICATION: kind = QUIC_CLOSE_APPLICATION; break;
  case NGTCP2_CCERR_TYPE_IDLE_CLOSE: kind = QUIC_CLOSE_IDLE; break;
  case NGTCP2_CCERR_TYPE_VERSION_NEGOTIATION: kind = QUIC_CLOSE_VERSION_NEGOTIATION; break;
  default: break;
  }
  set_closed(s, kind, e->error_code, e->reason, e->reasonlen);
}

/* ---- closing ---- */

static void on_timer(uv_timer_t *t);

/* Keeps the session around for the closing or draining period so stray
 * packets find it (and get the CONNECTION_CLOSE again), then frees it. */
static void linger(quic_session *s, uint64_t ns) {
  s->state = QUIC_SESSION_CLOSING;
  quic_endpoint_session_closing(s->wrap->ep, s);
  quic_list_remove(&s->dirty_link);
  quic_list_remove(&s->blocked_link);
  uv_timer_start(&s->timer, on_timer, ns / 1000000 + 1, 0);
}

static uint64_t close_period(quic_session *s) {
  return 3 * ngtcp2_conn_get_pto(s->conn);
}

static void enter_closing(quic_session *s) {
  if (s->state >= QUIC_SESSION_CLOSING) return;
  if (!ngtcp2_conn_in_closing_period(s->conn) && !ngtcp2_conn_in_draining_period(s->conn)) {
    ngtcp2_path_storage ps;
    ngtcp2_pkt_info pi;
    ngtcp2_path_storage_zero(&ps);
    uint8_t buf[MAX_PAYLOAD];
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(s->conn, &ps.path, &pi, buf, sizeof(buf), &s->ccerr,
                                                        quic_now());
    if (n > 0) {
      s->close_pkt = quic_malloc((size_t)n);
      if (s->close_pkt) {
        memcpy(s->close_pkt, buf, (size_t)n);
        s->close_pkt_len = (size_t)n;
      }
      quic_addr local, remote;
      quic_session_current_path(s, &local, &remote);
      (void)quic_endpoint_send_from(s->wrap->ep, &local, &remote, buf, (size_t)n, 0, pi.ecn);
    }
  }
  report_ccerr(s, &s->ccerr);
  linger(s, close_period(s));
}

static void enter_draining(quic_session *s) {
  if (s->state >= QUIC_SESSION_CLOSING) return;
  const ngtcp2_ccerr *e = ngtcp2_conn_get_ccerr(s->conn);
  report_ccerr(s, e);
  linger(s, close_period(s));
}

/* A silent end (idle timeout, stateless reset): nothing to send or wait for. */
static void enter_dead_quietly(quic_session *s, int kind) {
  if (s->state >= QUIC_SESSION_CLOSING) return;
  set_closed(s, kind, 0, NULL, 0);
  linger(s, 0);
}

static void handle_liberr(quic_session *s, int rv) {
  switch (rv) {
  case NGTCP2_ERR_DRAINING:
    enter_draining(s);
    return;
  case NGTCP2_ERR_DROP_CONN:
    enter_dead_quietly(s, QUIC_CLOSE_TRANSPORT);
    return;
  case NGTCP2_ERR_IDLE_CLOSE:
    enter_dead_quietly(s, QUIC_CLOSE_IDLE);
    return;
  case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
    enter_dead_quietly(s, QUIC_CLOSE_HANDSHAKE_TIMEOUT);
    return;
  case NGTCP2_ERR_RECV_VERSION_NEGOTIATION:
    enter_dead_quietly(s, QUIC_CLOSE_VERSION_NEGOTIATION);
    return;
  case NGTCP2_ERR_CRYPTO:
    ngtcp2_ccerr_set_tls_alert(&s->ccerr, ngtcp2_conn_get_tls_alert(s->conn), NULL, 0);
    break;
  case NGTCP2_ERR_CALLBACK_FAILURE:
    /* An HTTP/3 failure already chose the application error to send. */
    if (s->ccerr_set) break;
    ngtcp2_ccerr_set_liberr(&s->ccerr, rv, NULL, 0);
    break;
  default:
    ngtcp2_ccerr_set_liberr(&s->ccerr, rv, NULL, 0);
    break;
  }
  enter_closing(s);
}

/* ---- streams ---- */

/* Server: HTTP/3 starts with the first 0-RTT stream when the ALPN (already
 * chosen from the ClientHello) is h3, before the handshake completes. */
static int early_h3(quic_session *s) {
  char alpn[32];
  quic_tls_alpn(&s->tls, alpn, sizeof(alpn));
  return strcmp(alpn, "h3") == 0 ? quic_http3_init(s) : QUIC_OK;
}

static quic_stream *stream_add(quic_session *s, int64_t id, uint32_t flags) {
  quic_stream *st = quic_stream_new(s, ++s->next_stream_key, id, flags);
  if (st == NULL) return NULL;
  bool created;
  quic_keymap_entry *e = quic_keymap_put(&s->streams, &st->key, sizeof(st->key), &created);
  if (e == NULL) {
    quic_stream_del(st);
    return NULL;
  }
  e->ptr = st;
  return st;
}

static void stream_delete(quic_stream *st) {
  quic_session *s = st->session;
  /* The peer may open another stream only once we let go of this one: live
   * peer streams stay bounded by the limit we advertised. */
  if (!(st->flags & QUIC_STREAM_LOCAL) && s->conn && s->state < QUIC_SESSION_CLOSING) {
    if (st->flags & QUIC_STREAM_UNI) ngtcp2_conn_extend_max_streams_uni(s->conn, 1);
    else ngtcp2_conn_extend_max_streams_bidi(s->conn, 1);
    quic_wrap_mark_dirty(s->wrap, s);
  }
  quic_list_remove(&st->send_link);
  quic_list_remove(&st->pending_link);
  quic_list_remove(&st->event_link);
  quic_keymap_entry *e = quic_keymap_get(&s->streams, &st->key, sizeof(st->key));
  if (e) quic_keymap_del(&s->streams, e);
  if (st->id >= 0 && s->conn && !(st->flags & QUIC_STREAM_CLOSED))
    ngtcp2_conn_set_stream_user_data(s->conn, st->id, NULL);
  quic_stream_del(st);
}

/* Linear, for rare events only (a stream becoming flow-control blocked). */
static quic_stream *stream_by_id(quic_session *s, int64_t id) {
  quic_keymap_entry *e;
  QUIC_KEYMAP_EACH(&s->streams, e, tmp) {
    quic_stream *st = e->ptr;
    if (st->id == id) return st;
  }
  return NULL;
}

quic_stream *quic_session_stream(quic_session *s, uint32_t key) {
  quic_keymap_entry *e = quic_keymap_get(&s->streams, &key, sizeof(key));
  return e ? e->ptr : NULL;
}

/* Streams the peer opens, created on first sight (ngtcp2 may skip the open
 * callback for streams opened implicitly by a higher id). */
static quic_stream *remote_stream(quic_session *s, int64_t id, void *stream_user) {
  if (stream_user) return stream_user;
  uint32_t flags = 0;
  if (ngtcp2_is_bidi_stream(id) == 0) flags |= QUIC_STREAM_UNI | QUIC_STREAM_TX_DONE_ONLY;
  flags |= QUIC_STREAM_OPEN;
  quic_stream *st = stream_add(s, id, flags);
  if (st == NULL) return NULL;
  ngtcp2_conn_set_stream_user_data(s->conn, id, st);
  s->live_streams++;
  if (!(flags & QUIC_STREAM_UNI)) st->counters->max_offset = ngtcp2_conn_get_max_stream_data_left(s->conn, id);
  s->counters->inbound_streams++;
  if (flags & QUIC_STREAM_UNI) s->counters->uni_stream_count++;
  else s->counters->bidi_stream_count++;
  quic_session_stream_event(st, QUIC_SEV_NEW);
  return st;
}

quic_stream *quic_session_remote_stream(quic_session *s, int64_t id) { return remote_stream(s, id, NULL); }

static void give_credit(quic_session *s, quic_stream *st, uint64_t n) {
  if (n == 0 || s->conn == NULL || s->state >= QUIC_SESSION_CLOSING) return;
  if (st && st->id >= 0 && !(st->flags & QUIC_STREAM_CLOSED))
    ngtcp2_conn_extend_max_stream_offset(s->conn, st->id, n);
  ngtcp2_conn_extend_max_offset(s->conn, n);
  quic_wrap_mark_dirty(s->wrap, s);
}

static void queue_send(quic_session *s, quic_stream *st) {
  if (s->h3) {
    quic_http3_resume(st);
    return;
  }
  if ((st->flags & QUIC_STREAM_OPEN) && !(st->flags & QUIC_STREAM_BLOCKED) && quic_stream_has_unsent(st) &&
      !quic_link_linked(&st->send_link))
    quic_list_push(&s->send_queue, &st->send_link);
}

/* ---- datagrams ---- */

static void dgram_push(quic_dgram_queue *q, quic_dgram *d) {
  d->next = NULL;
  if (q->tail) q->tail->next = d;
  else q->head = d;
  q->tail = d;
  q->count++;
  q->bytes += sizeof(*d) + d->len;
}

static void dgram_pop_free(quic_dgram_queue *q) {
  quic_dgram *d = q->head;
  if (d == NULL) return;
  q->head = d->next;
  if (q->head == NULL) q->tail = NULL;
  q->count--;
  q->bytes -= sizeof(*d) + d->len;
  quic_free(d);
}

static void dgram_clear(quic_dgram_queue *q) {
  while (q->head) dgram_pop_free(q);
}

static quic_dgram *dgram_new(const uint8_t *data, size_t len) {
  quic_dgram *d = quic_malloc(sizeof(*d) + len);
  if (d == NULL) return NULL;
  d->next = NULL;
  d->len = len;
  d->early = false;
  d->tries = 0;
  if (len) memcpy(d->data, data, len);
  return d;
}

size_t quic_session_max_datagram(quic_session *s) {
  if (s->conn == NULL || s->state >= QUIC_SESSION_CLOSING) return 0;
  if (s->state == QUIC_SESSION_HANDSHAKE) {
    /* Not known yet: what we could send if the peer agrees. */
    return 1200 - 47;
  }
  const ngtcp2_transport_params *p = ngtcp2_conn_get_remote_transport_params(s->conn);
  if (p == NULL || p->max_datagram_frame_size <= 3) return 0;
  /* A DATAGRAM frame is its type, a length and the payload (RFC 9221); a
   * short-header packet adds up to 1 + 20 (DCID) + 4 (number) + 16 (tag). */
  size_t by_frame = (size_t)QUIC_MIN(p->max_datagram_frame_size - 3, (uint64_t)65535);
  size_t path = ngtcp2_conn_get_path_max_tx_udp_payload_size(s->conn);
  size_t by_path = path > 44 ? path - 44 : 0;
  return QUIC_MIN(by_frame, by_path);
}

int quic_session_datagram(quic_session *s, const uint8_t *data, size_t len) {
  if (s->state >= QUIC_SESSION_GRACEFUL) return QUIC_ERR_STATE;
  size_t max = quic_session_max_datagram(s);
  if (max == 0) return QUIC_ERR_STATE;
  if (len > max || s->dgram_out.count >= QUIC_DGRAM_QUEUE) return QUIC_ERR_LIMIT;
  quic_dgram *d = dgram_new(data, len);
  if (d == NULL) return QUIC_ERR_NOMEM;
  dgram_push(&s->dgram_out, d);
  quic_wrap_mark_dirty(s->wrap, s);
  return QUIC_OK;
}

quic_dgram *quic_session_take_datagrams(quic_session *s) {
  quic_dgram *d = s->dgram_in.head;
  s->dgram_in.head = s->dgram_in.tail = NULL;
  s->dgram_in.count = 0;
  s->dgram_in.bytes = 0;
  return d;
}

static int cb_recv_datagram(ngtcp2_conn *conn, uint32_t flags, const uint8_t *data, size_t datalen, void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  if (flags & NGTCP2_DATAGRAM_FLAG_0RTT) s->early_received = true;
  /* A peer faster than the application loses datagrams, not our memory. */
  if (s->dgram_in.bytes + sizeof(quic_dgram) + datalen > QUIC_DGRAM_RX_BYTES) return 0;
  quic_dgram *d = dgram_new(data, datalen);
  if (d == NULL) return 0;
  d->early = (flags & NGTCP2_DATAGRAM_FLAG_0RTT) != 0;
  dgram_push(&s->dgram_in, d);
  s->wrap->rx_datagrams = true;
  session_event(s, QUIC_EV_DATAGRAM);
  return 0;
}

/* ---- ngtcp2 callbacks: record state and mark events; never call JS ---- */

static void stream_closing(quic_stream *st) {
  if (st->counters->closing_at == 0) st->counters->closing_at = quic_now();
}

int quic_session_stream_data(quic_stream *st, const uint8_t *data, size_t datalen, bool fin) {
  quic_session *s = st->session;
  quic_stream_counters *c = st->counters;
  c->bytes_received += datalen;
  c->max_offset_received = c->bytes_received; /* ngtcp2 delivers in order */
  c->last_received_at = s->counters->last_received_at ? s->counters->last_received_at : quic_now();
  if (fin) c->final_size = c->bytes_received;
  if (st->flags & QUIC_STREAM_RELEASED) {
    /* Nobody will read it: hand the credit straight back. */
    give_credit(s, st, datalen);
  } else if (datalen) {
    if (quic_stream_append_rx(st, data, datalen) != QUIC_OK) return QUIC_ERR_NOMEM;
    if (st->flags & QUIC_STREAM_CONSUMER) give_credit(s, st, datalen);
  }
  if (fin) st->flags |= QUIC_STREAM_RX_FIN;
  if (!(st->flags & QUIC_STREAM_RELEASED)) quic_session_stream_event(st, QUIC_SEV_DATA);
  return QUIC_OK;
}

static int cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id, uint64_t offset,
                               const uint8_t *data, size_t datalen, void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(offset);
  quic_session *s = user;
  bool fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;
  if (flags & NGTCP2_STREAM_DATA_FLAG_0RTT) {
    s->early_received = true;
    /* 0-RTT requests come before the handshake completes: the ALPN is
     * already chosen, so HTTP/3 starts now. */
    if (s->server && s->h3 == NULL && early_h3(s) != QUIC_OK) return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (s->h3) return quic_http3_recv(s, stream_id, data, datalen, fin);
  quic_stream *st = remote_stream(s, stream_id, stream_user);
  if (st == NULL) return NGTCP2_ERR_CALLBACK_FAILURE;
  return quic_session_stream_data(st, data, datalen, fin) == QUIC_OK ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int cb_stream_open(ngtcp2_conn *conn, int64_t stream_id, void *user) {
  quic_session *s = user;
  if (s->server && s->h3 == NULL && s->state == QUIC_SESSION_HANDSHAKE && early_h3(s) != QUIC_OK)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  if (s->state >= QUIC_SESSION_GRACEFUL && (!s->h3 || ngtcp2_is_bidi_stream(stream_id))) {
    /* close() was called: new peer streams are refused. */
    ngtcp2_conn_shutdown_stream(conn, 0, stream_id, s->h3 ? NGHTTP3_H3_REQUEST_REJECTED : 0);
    return 0;
  }
  /* HTTP/3 creates request streams when their headers begin; its own
   * unidirectional streams never reach the application. */
  if (s->h3) return 0;
  return remote_stream(s, stream_id, NULL) ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

/* What the writer's high-water mark bounds: bytes queued that the
 * transport (ngtcp2, or nghttp3 for HTTP/3) has not taken yet. Taken bytes
 * stay buffered until acknowledged, but the congestion window and the
 * peer's flow control bound those; counting them here would cap the data in
 * flight at the mark and starve fast paths (bulk-down ran at 1.3 MB per
 * round trip). */
uint64_t quic_session_stream_queued(const quic_stream *st) {
  return st->tx_written - (st->session->h3 ? st->tx_h3_read : st->tx_sent);
}

void quic_session_stream_check_drain(quic_stream *st) {
  if ((st->flags & QUIC_STREAM_WANT_DRAIN) && quic_session_stream_queued(st) <= QUIC_STREAM_TX_HWM / 2) {
    st->flags &= ~QUIC_STREAM_WANT_DRAIN;
    quic_session_stream_event(st, QUIC_SEV_DRAIN);
  }
}

void quic_session_stream_acked(quic_stream *st, uint64_t offset) {
  quic_stream_tx_ack(st, offset);
  /* Acknowledgments arrive while a packet is read: its timestamp will do. */
  uint64_t t = st->session->counters->last_received_at;
  st->counters->last_acked_at = t ? t : quic_now();
  st->counters->max_offset_acked = st->tx_acked;
  quic_session_stream_check_drain(st);
}

static int cb_acked_stream_data_offset(ngtcp2_conn *conn, int64_t stream_id, uint64_t offset, uint64_t datalen,
                                       void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  s->counters->stream_bytes_acked += datalen;
  /* With HTTP/3 the stream carries frames; nghttp3 maps them to body bytes. */
  if (s->h3) return quic_http3_acked(s, stream_id, datalen) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  if (stream_user) quic_session_stream_acked(stream_user, offset + datalen);
  return 0;
}

static int cb_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id, uint64_t app_error_code,
                           void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  quic_stream *st = stream_user;
  if (s->h3)
    quic_http3_stream_closed(s, stream_id,
                             (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) ? app_error_code : NGHTTP3_H3_NO_ERROR);
  if (st == NULL) return 0;
  stream_closing(st);
  st->flags |= QUIC_STREAM_CLOSED;
  if (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) st->close_code = app_error_code;
  quic_list_remove(&st->send_link);
  quic_stream_tx_discard(st);
  if (s->live_streams) s->live_streams--;
  if (st->flags & QUIC_STREAM_HIDDEN) {
    /* Never announced (a malformed request): nobody will release it. */
    st->flags |= QUIC_STREAM_RELEASED;
    st->events = 0;
    quic_list_remove(&st->event_link);
    quic_list_push(&s->stream_events, &st->event_link);
    session_event(s, 0);
    return 0;
  }
  quic_session_stream_event(st, QUIC_SEV_CLOSE);
  if (s->state == QUIC_SESSION_GRACEFUL) quic_wrap_mark_dirty(s->wrap, s);
  return 0;
}

static int cb_stream_reset(ngtcp2_conn *conn, int64_t stream_id, uint64_t final_size, uint64_t app_error_code,
                           void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  if (s->h3) quic_http3_shutdown_read(s, stream_id);
  quic_stream *st = s->h3 ? stream_user : remote_stream(s, stream_id, stream_user);
  if (st == NULL) return s->h3 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  stream_closing(st);
  if (!s->h3) st->counters->final_size = final_size; /* HTTP/3: in framed bytes, not body bytes */
  st->flags |= QUIC_STREAM_RX_RESET;
  st->reset_code = app_error_code;
  /* The peer abandoned the data: unread bytes still count against the
   * connection window, so return that credit. */
  uint64_t unread = st->rx_buffered;
  quic_stream_rx_discard(st);
  give_credit(s, NULL, unread);
  quic_session_stream_event(st, QUIC_SEV_RESET);
  return 0;
}

static int cb_stream_stop_sending(ngtcp2_conn *conn, int64_t stream_id, uint64_t app_error_code, void *user,
                                  void *stream_user) {
  quic_session *s = user;
  if (s->h3) quic_http3_shutdown_read(s, stream_id);
  quic_stream *st = s->h3 ? stream_user : remote_stream(s, stream_id, stream_user);
  if (st == NULL) {
    if (s->h3) ngtcp2_conn_shutdown_stream_write(conn, 0, stream_id, app_error_code);
    return s->h3 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }
  stream_closing(st);
  st->flags |= QUIC_STREAM_TX_STOPPED;
  st->stop_code = app_error_code;
  quic_list_remove(&st->send_link);
  /* RFC 9000 3.5: answer STOP_SENDING with RESET_STREAM. */
  ngtcp2_conn_shutdown_stream_write(conn, 0, stream_id, app_error_code);
  quic_session_stream_event(st, QUIC_SEV_STOP);
  return 0;
}

static int cb_extend_max_stream_data(ngtcp2_conn *conn, int64_t stream_id, uint64_t max_data, void *user,
                                     void *stream_user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  if (s->h3) {
    quic_http3_unblock(s, stream_id);
    quic_wrap_mark_dirty(s->wrap, s);
  }
  quic_stream *st = stream_user;
  if (st == NULL) return 0;
  st->counters->max_offset = max_data;
  st->flags &= ~QUIC_STREAM_BLOCKED;
  queue_send(s, st);
  quic_wrap_mark_dirty(s->wrap, s);
  return 0;
}

static int cb_extend_max_streams(ngtcp2_conn *conn, uint64_t max_streams, void *user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(max_streams);
  quic_session *s = user;
  if (!quic_list_empty(&s->pending_open)) quic_wrap_mark_dirty(s->wrap, s);
  return 0;
}

static void resend_early_streams(quic_session *s);

static int cb_handshake_completed(ngtcp2_conn *conn, void *user) {
  quic_session *s = user;
  if (s->state == QUIC_SESSION_HANDSHAKE) s->state = QUIC_SESSION_OPEN;
  if (s->dgram_out.count && quic_session_max_datagram(s) == 0) dgram_clear(&s->dgram_out);
  char alpn[32];
  quic_tls_alpn(&s->tls, alpn, sizeof(alpn));
  if (!s->server && s->tls.resuming && !quic_tls_early_data_accepted(&s->tls)) {
    if (ngtcp2_conn_tls_early_data_rejected(conn) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
    if (s->zero_rtt) {
      s->early_rejected = true;
      /* HTTP/3's control and QPACK streams went with the 0-RTT state. */
      quic_http3_free(s);
      resend_early_streams(s);
      dgram_clear(&s->dgram_out);
    }
  }
  if (strcmp(alpn, "h3") == 0 && s->h3 == NULL && quic_http3_init(s) != QUIC_OK) return NGTCP2_ERR_CALLBACK_FAILURE;
  if (!s->server && s->zero_rtt && !s->early_rejected) {
    /* 0-RTT requests were accepted: the header copies kept in case they
     * had to be sent again are no longer needed. */
    quic_keymap_entry *e;
    QUIC_KEYMAP_EACH(&s->streams, e, tmp) {
      quic_stream *st = e->ptr;
      if (st->id >= 0) quic_nvlist_clear(&st->tx_headers);
    }
  }
  if (s->server) {
    /* A token for the client's next connection (RFC 9000 8.1.3). */
    uint8_t token[NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN];
    size_t n = quic_endpoint_make_token(s->wrap->ep, &s->remote, token, sizeof(token));
    if (n && ngtcp2_conn_submit_new_token(conn, token, n) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (!s->server) {
    /* The token for the server's first connection ID comes in its
     * transport parameters, not through dcid_status. */
    const ngtcp2_transport_params *p = ngtcp2_conn_get_remote_transport_params(conn);
    if (p && p->stateless_reset_token_present &&
        quic_endpoint_add_reset_token(s->wrap->ep, p->stateless_reset_token, s) == QUIC_OK)
      s->reset_tokens = true;
    /* Test-only switch (test/hostile.test.js): act as a peer that ignores
     * the server's per-stream credit, so the server's FLOW_CONTROL_ERROR
     * path can be tested. Streams opened from now on take these limits. */
    const char *greedy = getenv("QUIC_TEST_IGNORE_STREAM_CREDIT");
    if (p && greedy && *greedy && *greedy != '0') {
      ngtcp2_transport_params *wp = (ngtcp2_transport_params *)p;
      wp->initial_max_stream_data_bidi_remote = wp->initial_max_stream_data_uni = (uint64_t)1 << 30;
    }
  }
  s->counters->handshake_completed_at = quic_now();
  /* RFC 9001 4.1.2: a server's handshake is confirmed when it completes;
   * ngtcp2 calls handshake_confirmed on clients only. */
  if (s->server) s->counters->handshake_confirmed_at = s->counters->handshake_completed_at;
  session_event(s, QUIC_EV_HANDSHAKE);
  return 0;
}

static int cb_handshake_confirmed(ngtcp2_conn *conn, void *user) {
  QUIC_UNUSED(conn);
  quic_session_counters *c = ((quic_session *)user)->counters;
  if (c->handshake_confirmed_at == 0) c->handshake_confirmed_at = quic_now();
  return 0;
}

static void cb_rand(uint8_t *dest, size_t destlen, const ngtcp2_rand_ctx *ctx) {
  QUIC_UNUSED(ctx);
  (void)quic_tls_random(dest, destlen);
}

static int cb_get_new_connection_id(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
                                    void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  quic_endpoint_gen_cid_len(s->wrap->ep, cid, cidlen, token);
  /* A short ID a client chose may collide with another session's. */
  for (int i = 0; i < 8 && quic_keymap_get(&s->wrap->ep->cids, cid->data, cid->datalen); i++)
    quic_endpoint_gen_cid_len(s->wrap->ep, cid, cidlen, token);
  if (quic_keymap_get(&s->wrap->ep->cids, cid->data, cid->datalen)) return NGTCP2_ERR_CALLBACK_FAILURE;
  return quic_endpoint_add_cid(s->wrap->ep, cid, s) == QUIC_OK ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int cb_remove_connection_id(ngtcp2_conn *conn, const ngtcp2_cid *cid, void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  quic_endpoint_remove_cid(s->wrap->ep, cid);
  return 0;
}

static int cb_update_key(ngtcp2_conn *conn, uint8_t *rx_secret, uint8_t *tx_secret,
                         ngtcp2_crypto_aead_ctx *rx_aead_ctx, uint8_t *rx_iv, ngtcp2_crypto_aead_ctx *tx_aead_ctx,
                         uint8_t *tx_iv, const uint8_t *current_rx_secret, const uint8_t *current_tx_secret,
                         size_t secretlen, void *user) {
  /* ngtcp2 derives the next keys ahead of time: the first call after the
   * handshake is preparation, each later one follows a real key update. */
  quic_session *s = user;
  if (s->key_derivations++ > 0) s->counters->key_update_count++;
  return ngtcp2_crypto_update_key_cb(conn, rx_secret, tx_secret, rx_aead_ctx, rx_iv, tx_aead_ctx, tx_iv,
                                     current_rx_secret, current_tx_secret, secretlen, user);
}

/* Tokens the peer gave us, so a stateless reset it sends (which carries a
 * random connection ID) can still be routed here and verified by ngtcp2. */
static int cb_dcid_status(ngtcp2_conn *conn, ngtcp2_connection_id_status_type type, uint64_t seq,
                          const ngtcp2_cid *cid, const uint8_t *token, void *user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(seq);
  QUIC_UNUSED(cid);
  quic_session *s = user;
  if (token == NULL) return 0;
  if (type == NGTCP2_CONNECTION_ID_STATUS_TYPE_ACTIVATE) {
    if (quic_endpoint_add_reset_token(s->wrap->ep, token, s) != QUIC_OK) return NGTCP2_ERR_CALLBACK_FAILURE;
    s->reset_tokens = true;
  } else {
    quic_endpoint_remove_reset_token(s->wrap->ep, token, s);
  }
  return 0;
}

static int cb_recv_stateless_reset(ngtcp2_conn *conn, const ngtcp2_pkt_stateless_reset *sr, void *user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(sr);
  quic_session *s = user;
  set_closed(s, QUIC_CLOSE_STATELESS_RESET, 0, NULL, 0);
  return 0;
}

static int cb_recv_new_token(ngtcp2_conn *conn, const uint8_t *token, size_t tokenlen, void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  quic_endpoint_save_token(s->wrap->ep, &s->remote, token, tokenlen);
  return 0;
}

/* The server refused 0-RTT: ngtcp2 forgot the early streams, but their data
 * is still in our buffers (kept until acknowledged). Queue them to open again
 * in their original order and send everything from the start as 1-RTT. */
static void resend_early_streams(quic_session *s) {
  quic_link again;
  quic_list_init(&again);
  quic_keymap_entry *e;
  QUIC_KEYMAP_EACH(&s->streams, e, tmp) {
    quic_stream *st = e->ptr;
    if (!(st->flags & QUIC_STREAM_LOCAL) || !(st->flags & QUIC_STREAM_OPEN)) continue;
    st->flags &= ~(QUIC_STREAM_OPEN | QUIC_STREAM_FIN_SENT | QUIC_STREAM_BLOCKED | QUIC_STREAM_CLOSED);
    st->id = -1;
    st->tx_sent = st->tx_acked;
    st->tx_h3_read = 0;
    st->has_trailers = st->tx_trailers.count > 0;
    quic_list_remove(&st->send_link);
    quic_list_push(&again, &st->pending_link);
    s->live_streams--;
  }
  /* Ahead of streams opened later, which were queued behind these. */
  while (!quic_list_empty(&again)) {
    quic_link *l = again.prev;
    quic_list_remove(l);
    l->prev = &s->pending_open;
    l->next = s->pending_open.next;
    s->pending_open.next->prev = l;
    s->pending_open.next = l;
  }
}

/* ---- TLS hooks (issue 4): the ClientHello pause ----
 * With secure.clientHello or secure.ocsp, a server keeps the Initial CRYPTO
 * data to itself until the application has answered (clientHello.done(),
 * then ocspRequest.respondWith() if the client asked for a staple): GnuTLS
 * sees nothing until then, so it picks the certificate only after the
 * application may have changed it. What is held is bounded
 * (QUIC_HELLO_MAX) and the handshake timeout still runs. */

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
      session_event(s, QUIC_EV_OCSP);
      return 0;
    }
  }
  return hello_resume(s);
}

/* Client: follows the server's post-handshake messages (1-RTT CRYPTO data)
 * from the first byte, so that once the TLS session is released (issue 5)
 * it knows where each message starts. False at a message that is not a
 * NewSessionTicket. */
static bool post_handshake_scan(quic_session *s, const uint8_t *data, size_t len) {
  bool ok = true;
  while (len) {
    if (s->post_skip) {
      size_t n = len < s->post_skip ? len : s->post_skip;
      s->post_skip -= (uint32_t)n;
      data += n;
      len -= n;
      continue;
    }
    s->post_hdr[s->post_hdr_len++] = *data++;
    len--;
    if (s->post_hdr_len < 4) continue;
    s->post_hdr_len = 0;
    if (s->post_hdr[0] != 4 /* new_session_ticket */) ok = false;
    s->post_skip = (uint32_t)s->post_hdr[1] << 16 | (uint32_t)s->post_hdr[2] << 8 | s->post_hdr[3];
  }
  return ok;
}

/* CRYPTO data after the TLS session was released (issue 5). A server
 * expects none: a client has nothing to send after its Finished in QUIC.
 * A client skips NewSessionTicket messages (it keeps the ticket it already
 * has); any other message (KeyUpdate is forbidden by RFC 9001 6) is
 * unexpected, as GnuTLS would have said. */
static int post_handshake_crypto(quic_session *s, ngtcp2_encryption_level level, const uint8_t *data,
                                 size_t len) {
  if (!s->server && level == NGTCP2_ENCRYPTION_LEVEL_1RTT && post_handshake_scan(s, data, len)) return 0;
  ngtcp2_ccerr_set_tls_alert(&s->ccerr, 10 /* unexpected_message */, NULL, 0);
  s->ccerr_set = true;
  return NGTCP2_ERR_CALLBACK_FAILURE;
}

/* GnuTLS's session is about 10 KB a connection and idle connections need
 * none of it (issue 5): let it go once the handshake is over. A server's is
 * over when it completes (its tickets are already queued); a client waits
 * for confirmation and the server's first ticket, so resumption keeps
 * working. Called outside any GnuTLS or ngtcp2 callback. */
static void tls_maybe_release(quic_session *s) {
  if (quic_tls_released(&s->tls) || s->state != QUIC_SESSION_OPEN || !ngtcp2_conn_get_handshake_completed(s->conn))
    return;
  if (!s->server && (s->counters->handshake_confirmed_at == 0 || s->tls.ticket == NULL)) return;
  if (quic_tls_session_release(&s->tls) == QUIC_OK) ngtcp2_conn_set_tls_native_handle(s->conn, NULL);
}

static int cb_recv_crypto_data(ngtcp2_conn *conn, ngtcp2_encryption_level level, uint64_t offset,
                               const uint8_t *data, size_t datalen, void *user) {
  quic_session *s = user;
  if (quic_tls_released(&s->tls)) return post_handshake_crypto(s, level, data, datalen);
  /* GnuTLS judges these; the scan only keeps track of message boundaries. */
  if (!s->server && level == NGTCP2_ENCRYPTION_LEVEL_1RTT) (void)post_handshake_scan(s, data, datalen);
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
  if (rv < 0) {
    ngtcp2_ccerr_set_tls_alert(&s->ccerr, 10 /* unexpected_message */, NULL, 0);
    s->ccerr_set = true;
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (rv == 0) return 0;
  if (quic_tls_wants_hello(&s->tls)) {
    s->hello_state = QUIC_HELLO_WAIT;
    session_event(s, QUIC_EV_CLIENT_HELLO);
    return 0;
  }
  return hello_next(s);
}

const uint8_t *quic_session_hello(quic_session *s, size_t *len) {
  if (s->hello_state != QUIC_HELLO_WAIT) return NULL;
  *len = s->hello_len;
  return s->hello_buf;
}

int quic_session_hello_done(quic_session *s, quic_tls_ctx *ctx) {
  if (s->hello_state != QUIC_HELLO_WAIT || s->state >= QUIC_SESSION_CLOSING) return QUIC_ERR_STATE;
  if (ctx && quic_tls_session_set_ctx(&s->tls, ctx) != QUIC_OK) return QUIC_ERR_TLS;
  int rv = hello_next(s);
  if (rv != 0) handle_liberr(s, rv);
  else quic_wrap_mark_dirty(s->wrap, s);
  return QUIC_OK;
}

bool quic_session_ocsp_waiting(quic_session *s) {
  return s->hello_state == QUIC_HELLO_OCSP && s->state < QUIC_SESSION_CLOSING;
}

int quic_session_ocsp_respond(quic_session *s, const uint8_t *data, size_t len) {
  if (!quic_session_ocsp_waiting(s)) return QUIC_ERR_STATE;
  int rv = quic_tls_set_ocsp_response(&s->tls, data, len);
  if (rv != QUIC_OK) return rv;
  rv = hello_resume(s);
  if (rv != 0) handle_liberr(s, rv);
  else quic_wrap_mark_dirty(s->wrap, s);
  return QUIC_OK;
}

/* ---- end of the ClientHello pause ---- */

/* ---- paths and qlog (issue 4) ---- */

/* Client: move to the server's preferred address of our family, unless the
 * application said 'ignore'. ngtcp2 validates the new path before using it. */
static int cb_select_preferred_addr(ngtcp2_conn *conn, ngtcp2_path *dest, const ngtcp2_preferred_addr *pa,
                                    void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  if (s->ignore_preferred) return 0;
  const quic_addr *r = &s->remote;
  bool mapped = r->u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&r->u.in6.sin6_addr);
  if (r->u.sa.sa_family == AF_INET && pa->ipv4_present) {
    memcpy(dest->remote.addr, &pa->ipv4, sizeof(pa->ipv4));
    dest->remote.addrlen = sizeof(pa->ipv4);
  } else if (mapped && pa->ipv4_present) {
    struct sockaddr_in6 m;
    memset(&m, 0, sizeof(m));
    m.sin6_family = AF_INET6;
    m.sin6_port = pa->ipv4.sin_port;
    m.sin6_addr.s6_addr[10] = m.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&m.sin6_addr.s6_addr[12], &pa->ipv4.sin_addr, 4);
    memcpy(dest->remote.addr, &m, sizeof(m));
    dest->remote.addrlen = sizeof(m);
  } else if (r->u.sa.sa_family == AF_INET6 && !mapped && pa->ipv6_present) {
    memcpy(dest->remote.addr, &pa->ipv6, sizeof(pa->ipv6));
    dest->remote.addrlen = sizeof(pa->ipv6);
  }
  return 0;
}

/* Collects ngtcp2's qlog (one call per record) up to QUIC_QLOG_MAX; whole
 * records beyond that are dropped, so the JSON-SEQ stays parseable. */
static void cb_qlog(void *user, uint32_t flags, const void *data, size_t len) {
  quic_session *s = user;
  if (flags & NGTCP2_QLOG_WRITE_FLAG_FIN) s->qlog_fin = true;
  if (len == 0) return;
  if (s->qlog_len + len > QUIC_QLOG_MAX) {
    s->qlog_dropped += len;
    return;
  }
  if (s->qlog_len + len > s->qlog_cap) {
    size_t cap = QUIC_MAX(s->qlog_cap * 2, QUIC_MAX(s->qlog_len + len, 4096));
    cap = QUIC_MIN(cap, QUIC_QLOG_MAX);
    char *b = quic_realloc(s->qlog, cap);
    if (b == NULL) {
      s->qlog_dropped += len;
      return;
    }
    s->qlog = b;
    s->qlog_cap = cap;
  }
  memcpy(s->qlog + s->qlog_len, data, len);
  s->qlog_len += len;
}

char *quic_session_take_qlog(quic_session *s, size_t *len, bool *fin, uint64_t *dropped) {
  char *out = s->qlog;
  *len = s->qlog_len;
  *fin = s->qlog_fin;
  *dropped = s->qlog_dropped;
  s->qlog = NULL;
  s->qlog_len = s->qlog_cap = 0;
  return out;
}

static void addr_from(quic_addr *a, const ngtcp2_addr *na) {
  memset(a, 0, sizeof(*a));
  if (na->addrlen <= sizeof(a->u)) {
    memcpy(&a->u.sa, na->addr, na->addrlen);
    a->len = (socklen_t)na->addrlen;
  }
}

static bool addr_is(const ngtcp2_addr *na, const quic_addr *a) {
  return na->addrlen == a->len && memcmp(na->addr, &a->u.sa, a->len) == 0;
}

void quic_session_current_path(quic_session *s, quic_addr *local, quic_addr *remote) {
  if (s->conn == NULL) {
    *local = s->local;
    *remote = s->remote;
    return;
  }
  const ngtcp2_path *p = ngtcp2_conn_get_path(s->conn);
  addr_from(local, &p->local);
  addr_from(remote, &p->remote);
}

static void fill_callbacks(ngtcp2_callbacks *cb, bool server) {
  memset(cb, 0, sizeof(*cb));
  if (server) {
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb->recv_crypto_data = cb_recv_crypto_data;
  cb->encrypt = ngtcp2_crypto_encrypt_cb;
  cb->decrypt = ngtcp2_crypto_decrypt_cb;
  cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb->update_key = cb_update_key;
  cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb->rand = cb_rand;
  cb->get_new_connection_id = cb_get_new_connection_id;
  cb->remove_connection_id = cb_remove_connection_id;
  cb->handshake_completed = cb_handshake_completed;
  cb->handshake_confirmed = cb_handshake_confirmed;
  cb->recv_stream_data = cb_recv_stream_data;
  cb->stream_open = cb_stream_open;
  cb->acked_stream_data_offset = cb_acked_stream_data_offset;
  cb->stream_close = cb_stream_close;
  cb->stream_reset = cb_stream_reset;
  cb->stream_stop_sending = cb_stream_stop_sending;
  cb->extend_max_stream_data = cb_extend_max_stream_data;
  cb->extend_max_local_streams_bidi = cb_extend_max_streams;
  cb->extend_max_local_streams_uni = cb_extend_max_streams;
  cb->recv_stateless_reset = cb_recv_stateless_reset;
  cb->dcid_status = cb_dcid_status;
  cb->recv_datagram = cb_recv_datagram;
  if (!server) cb->recv_new_token = cb_recv_new_token;
  if (!server) cb->select_preferred_addr = cb_select_preferred_addr;
}

/* QUIC_DEBUG_NGTCP2=1 prints ngtcp2's own trace to stderr (diagnostics). */
static void dbg_log(void *user, const char *fmt, ...) {
  (void)user;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static void fill_settings(ngtcp2_settings *st, const quic_session_config *c) {
  ngtcp2_settings_default(st);
  if (getenv("QUIC_DEBUG_NGTCP2")) st->log_printf = dbg_log;
  st->initial_ts = quic_now();
  st->cc_algo = c->cc_algo;
  st->max_tx_udp_payload_size = QUIC_MIN(QUIC_MAX(c->max_payload_size, MIN_PAYLOAD), MAX_PAYLOAD);
  if (c->max_window) st->max_window = c->max_window;
  if (c->max_stream_window) st->max_stream_window = c->max_stream_window;
  st->handshake_timeout = c->handshake_timeout_ms ? c->handshake_timeout_ms * NGTCP2_MILLISECONDS : UINT64_MAX;
  if (c->ack_thresh) st->ack_thresh = c->ack_thresh;
}

static void fill_params(ngtcp2_transport_params *p, const quic_session_config *c) {
  ngtcp2_transport_params_default(p);
  p->initial_max_data = c->initial_max_data;
  p->initial_max_stream_data_bidi_local = c->initial_max_stream_data_bidi_local;
  p->initial_max_stream_data_bidi_remote = c->initial_max_stream_data_bidi_remote;
  p->initial_max_stream_data_uni = c->initial_max_stream_data_uni;
  p->initial_max_streams_bidi = c->initial_max_streams_bidi;
  p->initial_max_streams_uni = c->initial_max_streams_uni;
  p->max_idle_timeout = c->max_idle_timeout_ms * NGTCP2_MILLISECONDS;
  p->ack_delay_exponent = c->ack_delay_exponent;
  p->max_ack_delay = c->max_ack_delay_ms * NGTCP2_MILLISECONDS;
  p->active_connection_id_limit = QUIC_MAX(c->active_connection_id_limit, 2);
  p->max_datagram_frame_size = c->max_datagram_frame_size;
  p->disable_active_migration = c->disable_active_migration;
}

/* ---- lifecycle ---- */

static void on_timer_closed(uv_handle_t *h) {
  quic_session *s = QUIC_CONTAINER(h, quic_session, timer);
  quic_wrap *w = s->wrap;
  quic_keymap_entry *e;
  QUIC_KEYMAP_EACH(&s->streams, e, tmp) quic_stream_del(e->ptr);
  quic_keymap_free(&s->streams);
  quic_http3_free(s);
  dgram_clear(&s->dgram_out);
  dgram_clear(&s->dgram_in);
  if (s->conn) ngtcp2_conn_del(s->conn);
  quic_tls_session_free(&s->tls);
  quic_free(s->hello_buf);
  quic_free(s->qlog);
  quic_free(s->close_pkt);
  quic_free(s->tx_pending);
  quic_free(s->close_reason);
  quic_stats_release(s->counters, &s->counters_inline);
  quic_free(s);
  w->live_sessions--;
  w->handles--;
  quic_live_add(QUIC_LIVE_SESSIONS, -1);
  quic_live_add(QUIC_LIVE_HANDLES, -1);
  if (w->free_pending) quic_wrap_destroy(w);
}

void quic_session_destroy(quic_session *s) {
  if (s->state == QUIC_SESSION_DEAD) return;
  s->state = QUIC_SESSION_DEAD;
  /* The last values: a view JavaScript holds keeps them after the free. */
  quic_session_refresh_stats(s);
  s->counters->destroyed_at = quic_now();
  quic_list_remove(&s->wrap_link);
  quic_list_remove(&s->dirty_link);
  quic_list_remove(&s->event_link);
  quic_list_remove(&s->blocked_link);
  quic_endpoint_session_gone(s->wrap->ep, s);
  if (s->user) *(quic_session **)s->user = NULL;
  s->user = NULL;
  uv_timer_stop(&s->timer);
  uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}

static quic_session *session_alloc(quic_wrap *w, bool server) {
  quic_session *s = quic_calloc(1, sizeof(*s));
  if (s == NULL) return NULL;
  if (quic_keymap_init(&s->streams) != QUIC_OK) {
    quic_free(s);
    return NULL;
  }
  s->wrap = w;
  s->server = server;
  s->key = ++w->next_session_key;
  quic_list_init(&s->send_queue);
  quic_list_init(&s->pending_open);
  quic_list_init(&s->stream_events);
  s->counters = &s->counters_inline;
  s->counters->created_at = quic_now();
  uv_timer_init(w->loop, &s->timer);
  quic_list_push(&w->sessions, &s->wrap_link);
  w->live_sessions++;
  w->handles++;
  quic_live_add(QUIC_LIVE_SESSIONS, 1);
  quic_live_add(QUIC_LIVE_HANDLES, 1);
  return s;
}

static int session_finish_init(quic_session *s, const quic_session_config *cfg) {
  s->h3_settings.max_field_section_size = cfg->h3.max_field_section_size;
  s->h3_settings.qpack_max_dtable_capacity = cfg->h3.qpack_max_dtable_capacity;
  s->h3_settings.qpack_encoder_max_dtable_capacity = cfg->h3.qpack_encoder_max_dtable_capacity;
  s->h3_settings.qpack_blocked_streams = cfg->h3.qpack_blocked_streams;
  int rv = quic_tls_session_init(&s->tls, cfg->tls, quic_session_get_conn, s, cfg->sni, cfg->verify_name);
  if (rv != QUIC_OK) return rv;
  ngtcp2_conn_set_tls_native_handle(s->conn, quic_tls_native_handle(&s->tls));
  if (s->server && (quic_tls_wants_hello(&s->tls) || quic_tls_wants_ocsp(&s->tls))) s->hello_state = QUIC_HELLO_COLLECT;
  ngtcp2_cid scids[8];
  size_t n = ngtcp2_conn_get_scid(s->conn, NULL);
  if (n > QUIC_ARRAY_LEN(scids)) n = QUIC_ARRAY_LEN(scids);
  ngtcp2_conn_get_scid(s->conn, scids);
  for (size_t i = 0; i < n; i++)
    if ((rv = quic_endpoint_add_cid(s->wrap->ep, &scids[i], s)) != QUIC_OK) return rv;
  return QUIC_OK;
}

static void make_path(ngtcp2_path *p, quic_addr *local, quic_addr *remote) {
  p->local.addr = &local->u.sa;
  p->local.addrlen = local->len;
  p->remote.addr = &remote->u.sa;
  p->remote.addrlen = remote->len;
  p->user_data = NULL;
}

int quic_session_connect(quic_session **out, quic_wrap *w, const quic_addr *remote, const quic_session_config *cfg,
                         const quic_resume *resume) {
  quic_session *s = session_alloc(w, false);
  if (s == NULL) return QUIC_ERR_NOMEM;
  s->local = w->ep->udp.local;
  s->remote = *remote;
  ngtcp2_cid dcid, scid;
  dcid.datalen = 18;
  (void)quic_tls_random(dcid.data, dcid.datalen);
  if (cfg->dcidlen) ngtcp2_cid_init(&dcid, cfg->dcid, cfg->dcidlen);
  quic_endpoint_gen_cid(w->ep, &scid, NULL);
  if (cfg->scidlen) {
    ngtcp2_cid_init(&scid, cfg->scid, cfg->scidlen);
    /* Another session of this endpoint already receives on it. */
    if (quic_keymap_get(&w->ep->cids, scid.data, scid.datalen)) {
      quic_session_destroy(s);
      return QUIC_ERR_INVALID;
    }
  }
  s->ignore_preferred = cfg->ignore_preferred;
  ngtcp2_callbacks cb;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  fill_callbacks(&cb, false);
  fill_settings(&settings, cfg);
  fill_params(&params, cfg);
  if (cfg->qlog) settings.qlog_write = cb_qlog;
  /* A NEW_TOKEN token from an earlier connection skips address validation. */
  const quic_token *token = quic_endpoint_token(w->ep, remote);
  if (token) {
    settings.token = token->data;
    settings.tokenlen = token->len;
  }
  ngtcp2_path path;
  make_path(&path, &s->local, &s->remote);
  int rv = ngtcp2_conn_client_new(&s->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &settings, &params,
                                  quic_mem_ngtcp2(), s);
  if (rv != 0) {
    s->conn = NULL;
    quic_session_destroy(s);
    return QUIC_ERR_NGTCP2;
  }
  if ((rv = session_finish_init(s, cfg)) != QUIC_OK) {
    quic_session_destroy(s);
    return rv;
  }
  /* A ticket GnuTLS will not take, or parameters that do not decode, mean a
   * full handshake (the seed: unusable resume data is ignored). */
  s->resume_given = resume && resume->ticket_len;
  if (resume && resume->ticket_len && quic_tls_set_ticket(&s->tls, resume->ticket, resume->ticket_len) == QUIC_OK &&
      resume->params_len &&
      ngtcp2_conn_decode_and_set_0rtt_transport_params(s->conn, resume->params, resume->params_len) == 0)
    s->zero_rtt = true;
  /* A client that offers only h3 knows its ALPN before the handshake, so
   * its requests can go out as 0-RTT. */
  if (s->zero_rtt && quic_tls_offers_only(cfg->tls, "h3") && quic_http3_init(s) != QUIC_OK) {
    quic_session_destroy(s);
    return QUIC_ERR_NOMEM;
  }
  w->ep->counters->client_sessions++;
  s->counters->initial_rtt = settings.initial_rtt;
  quic_wrap_mark_dirty(w, s);
  *out = s;
  return QUIC_OK;
}

int quic_session_accept(quic_session **out, quic_wrap *w, const ngtcp2_pkt_hd *hd, const quic_addr *local,
                        const quic_addr *remote, const ngtcp2_cid *odcid, const quic_session_config *cfg) {
  quic_session *s = session_alloc(w, true);
  if (s == NULL) return QUIC_ERR_NOMEM;
  s->local = *local;
  s->remote = *remote;
  ngtcp2_cid scid;
  ngtcp2_callbacks cb;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  fill_callbacks(&cb, true);
  fill_settings(&settings, cfg);
  fill_params(&params, cfg);
  quic_endpoint_gen_cid(w->ep, &scid, params.stateless_reset_token);
  params.stateless_reset_token_present = !w->ep->cfg.disable_stateless_reset;
  params.original_dcid_present = 1;
  if (odcid) {
    params.original_dcid = *odcid;
    params.retry_scid = hd->dcid;
    params.retry_scid_present = 1;
  } else {
    params.original_dcid = hd->dcid;
  }
  settings.token = hd->token;
  settings.tokenlen = hd->tokenlen;
  if (cfg->qlog) settings.qlog_write = cb_qlog;
  if (cfg->pa_v4 || cfg->pa_v6) {
    /* ngtcp2 adds this CID as sequence 1; session_finish_init routes it. */
    params.preferred_addr_present = 1;
    quic_endpoint_gen_cid(w->ep, &params.preferred_addr.cid, params.preferred_addr.stateless_reset_token);
    params.preferred_addr.ipv4_present = cfg->pa_v4;
    params.preferred_addr.ipv4 = cfg->pa_ipv4;
    params.preferred_addr.ipv6_present = cfg->pa_v6;
    params.preferred_addr.ipv6 = cfg->pa_ipv6;
    /* Port 0: the port this endpoint listens on. */
    const quic_addr *own = &w->ep->udp.local;
    uint16_t port = own->u.sa.sa_family == AF_INET6 ? own->u.in6.sin6_port : own->u.in.sin_port;
    if (cfg->pa_v4 && params.preferred_addr.ipv4.sin_port == 0) params.preferred_addr.ipv4.sin_port = port;
    if (cfg->pa_v6 && params.preferred_addr.ipv6.sin6_port == 0) params.preferred_addr.ipv6.sin6_port = port;
  }
  ngtcp2_path path;
  make_path(&path, &s->local, &s->remote);
  int rv = ngtcp2_conn_server_new(&s->conn, &hd->scid, &scid, &path, hd->version, &cb, &settings, &params,
                                  quic_mem_ngtcp2(), s);
  if (rv != 0) {
    s->conn = NULL;
    quic_session_destroy(s);
    return QUIC_ERR_NGTCP2;
  }
  s->odcid = hd->dcid;
  if ((rv = quic_endpoint_add_cid(w->ep, &hd->dcid, s)) != QUIC_OK ||
      (s->odcid_routed = true, rv = session_finish_init(s, cfg)) != QUIC_OK) {
    quic_session_destroy(s);
    return rv;
  }
  w->ep->counters->server_sessions++;
  s->counters->initial_rtt = settings.initial_rtt;
  session_event(s, QUIC_EV_NEW);
  *out = s;
  return QUIC_OK;
}

/* ---- I/O ---- */

static void arm_timer(quic_session *s) {
  if (s->state >= QUIC_SESSION_CLOSING) return;
  ngtcp2_tstamp exp = ngtcp2_conn_get_expiry(s->conn);
  if (exp == UINT64_MAX) {
    uv_timer_stop(&s->timer);
    return;
  }
  uint64_t now = quic_now();
  uint64_t ms = exp <= now ? 0 : (exp - now + 999999) / 1000000;
  uv_timer_start(&s->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t) {
  quic_session *s = QUIC_CONTAINER(t, quic_session, timer);
  quic_wrap *w = s->wrap;
  quic_wrap_enter(w);
  if (s->state == QUIC_SESSION_CLOSING) {
    quic_session_destroy(s);
  } else if (s->state < QUIC_SESSION_CLOSING) {
    int rv = ngtcp2_conn_handle_expiry(s->conn, quic_now());
    if (rv != 0) handle_liberr(s, rv);
    else quic_session_flush(s);
  }
  quic_wrap_leave(w);
}

void quic_session_read(quic_session *s, const uint8_t *data, size_t len, const quic_addr *local,
                       const quic_addr *remote, uint8_t ecn) {
  if (s->state == QUIC_SESSION_CLOSING) {
    /* RFC 9000 10.2.1: answer with the CONNECTION_CLOSE again, sparingly. */
    s->close_resends++;
    /* Resend on the 1st, 2nd, 4th, 8th... packet, so a flood gets little. */
    if (s->close_pkt && (s->close_resends & (s->close_resends - 1)) == 0) {
      quic_addr l, r;
      quic_session_current_path(s, &l, &r);
      (void)quic_endpoint_send_from(s->wrap->ep, &l, &r, s->close_pkt, s->close_pkt_len, 0, 0);
    }
    return;
  }
  if (s->state == QUIC_SESSION_DEAD) return;
  quic_addr rem = *remote, loc = *local;
  ngtcp2_path path;
  /* A client's end is the one it was created with (its socket may be bound
   * to a wildcard); a server's is the address the packet was sent to, which
   * changes when a client moves to the preferred address. */
  make_path(&path, s->server ? &loc : &s->local, &rem);
  ngtcp2_pkt_info pi = {.ecn = ecn};
  s->counters->bytes_received += len;
  /* One clock read per packet: the stream callbacks this read triggers
   * take their timestamps from last_received_at. */
  uint64_t now = quic_now();
  s->counters->last_received_at = now;
  int rv = ngtcp2_conn_read_pkt(s->conn, &path, &pi, data, len, now);
  if (rv != 0) {
    handle_liberr(s, rv);
    return;
  }
  tls_maybe_release(s);
  quic_wrap_mark_dirty(s->wrap, s);
}

static void open_pending(quic_session *s) {
  while (!quic_list_empty(&s->pending_open)) {
    quic_stream *st = QUIC_CONTAINER(s->pending_open.next, quic_stream, pending_link);
    int64_t id;
    int rv = (st->flags & QUIC_STREAM_UNI) ? ngtcp2_conn_open_uni_stream(s->conn, &id, st)
                                           : ngtcp2_conn_open_bidi_stream(s->conn, &id, st);
    if (rv != 0) break; /* still blocked: wait for MAX_STREAMS */
    quic_list_remove(&st->pending_link);
    st->id = id;
    st->flags |= QUIC_STREAM_OPEN;
    st->counters->max_offset = ngtcp2_conn_get_max_stream_data_left(s->conn, id);
    s->live_streams++;
    quic_session_stream_event(st, QUIC_SEV_OPENED);
    if (s->h3 && st->tx_headers.count) {
      (void)quic_http3_submit(st, QUIC_HEADERS_INITIAL, &st->tx_headers);
      /* A 0-RTT request keeps its headers until the server accepts 0-RTT. */
      if (s->state != QUIC_SESSION_HANDSHAKE) quic_nvlist_clear(&st->tx_headers);
    }
    queue_send(s, st);
  }
}

/* Sends a train of packets; keeps a copy when the socket is full (the
 * assembly buffer is shared by every session of the wrap). */
static bool send_train(quic_session *s, const uint8_t *buf, size_t len, size_t seg, const quic_addr *local,
                       const quic_addr *remote, uint8_t ecn) {
  int rv = quic_endpoint_send_from(s->wrap->ep, local, remote, buf, len, seg, ecn);
  if (rv == -EAGAIN) {
    if (s->tx_pending == NULL || buf != s->tx_pending->data) {
      quic_tx_pending *p = quic_malloc(sizeof(*p) + len);
      /* No memory: the train is lost, and QUIC retransmits. */
      if (p == NULL) return true;
      memcpy(p->data, buf, len);
      p->len = len;
      p->seg = seg;
      p->remote = *remote;
      p->local = *local;
      p->ecn = ecn;
      quic_free(s->tx_pending);
      s->tx_pending = p;
    }
    s->tx_blocked = true;
    quic_endpoint_wait_writable(s->wrap->ep, s);
    return false;
  }
  /* Other errors (unreachable and the like) are loss to QUIC. */
  s->counters->bytes_sent += len;
  s->counters->last_sent_at = quic_now();
  return true;
}

void quic_session_flush(quic_session *s) {
  if (s->state >= QUIC_SESSION_CLOSING || s->tx_blocked) return;
  if (s->tx_pending) {
    quic_tx_pending *p = s->tx_pending;
    if (!send_train(s, p->data, p->len, p->seg, &p->local, &p->remote, p->ecn)) return;
    quic_free(s->tx_pending);
    s->tx_pending = NULL;
  }
  uint8_t *txb = s->wrap->tx_buf;
  open_pending(s);
  if (s->state == QUIC_SESSION_GRACEFUL && s->live_streams == 0 && quic_list_empty(&s->pending_open)) {
    quic_http3_goaway(s, true);
    ngtcp2_ccerr_set_application_error(&s->ccerr, s->h3 ? NGHTTP3_H3_NO_ERROR : 0, NULL, 0);
    enter_closing(s);
    return;
  }

  ngtcp2_tstamp ts = quic_now();
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  /* Each packet gets room for our largest payload, not just the path's
   * current one: a path MTU probe is larger than the path's size, and
   * ngtcp2 only sends one where it fits (ngtcp2 keeps ordinary packets to
   * the path's size itself). With the path size here, probes were never
   * sent and every connection stayed at 1200-byte packets. */
  size_t pktroom = ngtcp2_conn_get_max_tx_udp_payload_size(s->conn);
  size_t pktmax = ngtcp2_conn_get_path_max_tx_udp_payload_size(s->conn);
  size_t quantum = ngtcp2_conn_get_send_quantum(s->conn);
  size_t maxpkts = QUIC_MAX(1, QUIC_MIN(QUIC_TX_PKTS, quantum / pktmax));
  if (pktroom * maxpkts > QUIC_TX_BUF_SIZE) maxpkts = QUIC_TX_BUF_SIZE / pktroom;
  size_t off = 0, seg = 0, npkts = 0;
  uint8_t ecn = 0;
  /* The train's path: packets follow ngtcp2's choice (path validation
   * probes, a migrated peer, the server's preferred address). */
  quic_addr local, remote;
  quic_session_current_path(s, &local, &remote);

  for (int iter = 0; iter < MAX_WRITE_ITERATIONS; iter++) {
    ngtcp2_ssize nwrite;
    quic_dgram *dg = s->state >= QUIC_SESSION_OPEN || s->zero_rtt ? s->dgram_out.head : NULL;
    if (dg) {
      /* Datagrams go first and share packets with stream data (MORE). */
      int accepted = 0;
      ngtcp2_vec dv = {dg->data, dg->len};
      /* An empty datagram is no vector at all: ngtcp2 asserts on empty ones. */
      nwrite = ngtcp2_conn_writev_datagram(s->conn, &ps.path, &pi, txb + off, pktroom, &accepted,
                                           NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &dv, dg->len ? 1 : 0, ts);
      bool unusable = nwrite == NGTCP2_ERR_INVALID_ARGUMENT || nwrite == NGTCP2_ERR_INVALID_STATE;
      /* Accepted, refused for good, or left out of packets several times
       * (it does not fit this path): either way it leaves the queue. */
      if (accepted || unusable || (nwrite > 0 && ++dg->tries > 3)) dgram_pop_free(&s->dgram_out);
      if (nwrite == NGTCP2_ERR_WRITE_MORE || unusable) continue;
      if (nwrite < 0) {
        handle_liberr(s, (int)nwrite);
        return;
      }
      goto have_packet;
    }
    quic_stream *st = NULL;
    ngtcp2_vec vec[16];
    size_t nvec = 0;
    int64_t stream_id = -1;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    if (s->h3) {
      int fin = 0;
      ngtcp2_ssize n = quic_http3_writev(s, &stream_id, &fin, vec, QUIC_ARRAY_LEN(vec));
      if (n < 0) {
        handle_liberr(s, (int)n);
        return;
      }
      nvec = (size_t)n;
      if (fin) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    } else if (!quic_list_empty(&s->send_queue)) {
      st = QUIC_CONTAINER(s->send_queue.next, quic_stream, send_link);
      stream_id = st->id;
      nvec = quic_stream_tx_vec(st, st->tx_sent, vec, QUIC_ARRAY_LEN(vec));
      uint64_t total = 0;
      for (size_t i = 0; i < nvec; i++) total += vec[i].len;
      if ((st->flags & QUIC_STREAM_FIN_QUEUED) && st->tx_sent + total == st->tx_written)
        flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    }
    ngtcp2_ssize ndatalen = -1;
    nwrite = ngtcp2_conn_writev_stream(s->conn, &ps.path, &pi, txb + off, pktroom, &ndatalen,
                                                    flags, stream_id, vec, nvec, ts);
    if (s->h3 && ndatalen >= 0 && stream_id >= 0 && quic_http3_wrote(s, stream_id, (size_t)ndatalen) != 0) {
      handle_liberr(s, NGTCP2_ERR_CALLBACK_FAILURE);
      return;
    }
    if (st && ndatalen >= 0) {
      quic_stream_tx_advance(st, (size_t)ndatalen);
      if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && st->tx_sent == st->tx_written)
        st->flags |= QUIC_STREAM_FIN_SENT;
      quic_session_stream_check_drain(st);
      quic_list_remove(&st->send_link);
      queue_send(s, st); /* back of the queue: round robin */
    }
    if (nwrite < 0) {
      switch (nwrite) {
      case NGTCP2_ERR_STREAM_DATA_BLOCKED:
        if (s->h3) {
          quic_http3_blocked(s, stream_id);
          st = stream_by_id(s, stream_id);
        } else {
          quic_list_remove(&st->send_link);
        }
        if (st && !(st->flags & QUIC_STREAM_BLOCKED)) {
          st->flags |= QUIC_STREAM_BLOCKED;
          s->counters->block_count++;
          quic_session_stream_event(st, QUIC_SEV_BLOCKED);
        }
        continue;
      case NGTCP2_ERR_STREAM_SHUT_WR:
      case NGTCP2_ERR_STREAM_NOT_FOUND:
        if (s->h3) quic_http3_shutdown_write(s, stream_id);
        else quic_list_remove(&st->send_link);
        continue;
      case NGTCP2_ERR_WRITE_MORE:
        continue;
      default:
        handle_liberr(s, (int)nwrite);
        return;
      }
    }
  have_packet:
    if (nwrite == 0) break;
    s->counters->last_sent_packet_ts = ts;
    bool same_path = addr_is(&ps.path.remote, &remote) && addr_is(&ps.path.local, &local);
    if (npkts > 0 && (pi.ecn != ecn || !same_path || (size_t)nwrite > seg)) {
      /* A train shares one ECN mark, one path and one segment size (only
       * its last packet may be shorter; a probe is longer): send what
       * precedes this packet. */
      if (!send_train(s, txb, off, seg, &local, &remote, ecn)) return;
      memmove(txb, txb + off, (size_t)nwrite);
      off = npkts = 0;
    }
    if (!same_path) {
      addr_from(&local, &ps.path.local);
      addr_from(&remote, &ps.path.remote);
    }
    if (npkts == 0) {
      seg = (size_t)nwrite;
      ecn = pi.ecn;
    }
    off += (size_t)nwrite;
    npkts++;
    /* A train holds equal-sized packets; a shorter one ends it. A probe
     * (longer than the path's size) goes alone, so that if the path refuses
     * it, no ordinary packet is refused with it. */
    if ((size_t)nwrite < seg || npkts >= maxpkts || (size_t)nwrite > pktmax) {
      bool quantum_done = npkts >= maxpkts;
      if (!send_train(s, txb, off, seg, &local, &remote, ecn)) return;
      off = npkts = 0;
      /* The send quantum is spent: pacing brings us back via the timer. */
      if (quantum_done) break;
    }
  }
  if (npkts && !send_train(s, txb, off, seg, &local, &remote, ecn)) return;
  ngtcp2_conn_update_pkt_tx_time(s->conn, ts);
  arm_timer(s);
  quic_session_refresh_stats(s);
}

/* ---- application calls ---- */

int quic_session_open_stream(quic_session *s, bool uni, quic_stream **out) {
  /* Resumed sessions may open early: as 0-RTT when the ticket allows it,
   * otherwise queued until the handshake gives us stream credit. */
  if (s->state != QUIC_SESSION_OPEN && !(s->state == QUIC_SESSION_HANDSHAKE && s->resume_given))
    return QUIC_ERR_STATE;
  quic_stream *st = stream_add(s, -1, QUIC_STREAM_LOCAL | (uni ? QUIC_STREAM_UNI : 0));
  if (st == NULL) return QUIC_ERR_NOMEM;
  s->counters->outbound_streams++;
  if (uni) s->counters->uni_stream_count++;
  else s->counters->bidi_stream_count++;
  quic_list_push(&s->pending_open, &st->pending_link);
  open_pending(s);
  /* The id event for a stream opened right away is not needed. */
  if (st->flags & QUIC_STREAM_OPEN) {
    st->events &= ~QUIC_SEV_OPENED;
    if (st->events == 0) quic_list_remove(&st->event_link);
  }
  quic_wrap_mark_dirty(s->wrap, s);
  *out = st;
  return QUIC_OK;
}

int quic_stream_write(quic_stream *st, const uint8_t *data, size_t len, bool fin) {
  quic_session *s = st->session;
  if (s->state >= QUIC_SESSION_CLOSING) return QUIC_ERR_STATE;
  if ((st->flags & (QUIC_STREAM_FIN_QUEUED | QUIC_STREAM_TX_STOPPED | QUIC_STREAM_CLOSED | QUIC_STREAM_TX_DONE_ONLY)))
    return QUIC_ERR_STATE;
  if (len && quic_stream_append_tx(st, data, len) != QUIC_OK) return QUIC_ERR_NOMEM;
  if (fin) {
    st->flags |= QUIC_STREAM_FIN_QUEUED;
    stream_closing(st);
  }
  if (quic_session_stream_queued(st) > QUIC_STREAM_TX_HWM) st->flags |= QUIC_STREAM_WANT_DRAIN;
  queue_send(s, st);
  quic_wrap_mark_dirty(s->wrap, s);
  return QUIC_OK;
}

size_t quic_stream_read(quic_stream *st, uint8_t *dst, size_t max) {
  size_t n = quic_stream_rx_read(st, dst, max);
  if (!(st->flags & QUIC_STREAM_CONSUMER)) give_credit(st->session, st, n);
  return n;
}

quic_chunk *quic_stream_read_chunk(quic_stream *st) {
  quic_chunk *c = quic_stream_rx_take(st);
  if (c && !(st->flags & QUIC_STREAM_CONSUMER)) give_credit(st->session, st, c->len);
  return c;
}

void quic_stream_set_consumer(quic_stream *st) {
  st->flags |= QUIC_STREAM_CONSUMER;
}

void quic_stream_abort(quic_stream *st, uint64_t code, bool reset_tx, bool stop_rx) {
  quic_session *s = st->session;
  stream_closing(st);
  if (st->id < 0) {
    /* Never opened: just forget it. */
    quic_list_remove(&st->pending_link);
    st->flags |= QUIC_STREAM_CLOSED | QUIC_STREAM_TX_STOPPED;
    return;
  }
  if (s->state >= QUIC_SESSION_CLOSING || (st->flags & QUIC_STREAM_CLOSED)) return;
  if (reset_tx && !(st->flags & QUIC_STREAM_TX_DONE_ONLY)) {
    st->flags |= QUIC_STREAM_TX_STOPPED;
    quic_list_remove(&st->send_link);
    ngtcp2_conn_shutdown_stream_write(s->conn, 0, st->id, code);
    if (s->h3) quic_http3_shutdown_write(s, st->id);
  }
  if (stop_rx && !((st->flags & QUIC_STREAM_LOCAL) && (st->flags & QUIC_STREAM_UNI)))
    ngtcp2_conn_shutdown_stream_read(s->conn, 0, st->id, code);
  quic_wrap_mark_dirty(s->wrap, s);
}

void quic_stream_release(quic_stream *st) {
  quic_session *s = st->session;
  st->flags |= QUIC_STREAM_RELEASED;
  uint64_t unread = st->rx_buffered;
  quic_stream_rx_discard(st);
  give_credit(s, st, unread);
  if ((st->flags & QUIC_STREAM_CLOSED) || st->id < 0) stream_delete(st);
}

void quic_session_close_graceful(quic_session *s) {
  if (s->state >= QUIC_SESSION_GRACEFUL) return;
  if (s->state == QUIC_SESSION_HANDSHAKE) {
    ngtcp2_ccerr_set_application_error(&s->ccerr, 0, NULL, 0);
    enter_closing(s);
    return;
  }
  s->state = QUIC_SESSION_GRACEFUL;
  /* HTTP/3: tell the client with GOAWAY that no new requests are taken. */
  quic_http3_goaway(s, false);
  quic_wrap_mark_dirty(s->wrap, s);
}

void quic_session_close_now(quic_session *s, bool app, uint64_t code, const char *reason) {
  if (s->state >= QUIC_SESSION_CLOSING) return;
  size_t rl = reason ? strlen(reason) : 0;
  if (app) ngtcp2_ccerr_set_application_error(&s->ccerr, code, (const uint8_t *)reason, rl);
  else ngtcp2_ccerr_set_transport_error(&s->ccerr, code, (const uint8_t *)reason, rl);
  enter_closing(s);
}

void quic_session_refresh_stats(quic_session *s) {
  if (s->conn == NULL) return;
  ngtcp2_conn_info ci;
  ngtcp2_conn_get_conn_info(s->conn, &ci);
  quic_session_counters *c = s->counters;
  c->latest_rtt = ci.latest_rtt;
  c->smoothed_rtt = ci.smoothed_rtt;
  c->rtt_var = ci.rttvar;
  c->cwnd = ci.cwnd;
  c->ssthresh = ci.ssthresh;
  c->min_rtt = ci.min_rtt == UINT64_MAX ? 0 : ci.min_rtt; /* no sample yet */
  c->bytes_in_flight = ci.bytes_in_flight;
  /* Sampled after each flush, which is when bytes in flight peak. */
  if (ci.bytes_in_flight > c->max_bytes_in_flight) c->max_bytes_in_flight = ci.bytes_in_flight;
  c->max_udp_payload_size = ngtcp2_conn_get_path_max_tx_udp_payload_size(s->conn);
  /* ngtcp2 keeps its own first-sample time private; latest_rtt turns
   * nonzero with the ACK that gave it, received in this batch. */
  if (c->first_rtt_sample_ts == 0 && ci.latest_rtt != 0)
    c->first_rtt_sample_ts = c->last_received_at ? c->last_received_at : quic_now();
}

void quic_session_reap_stream(quic_stream *st) {
  if ((st->flags & QUIC_STREAM_CLOSED) && (st->flags & QUIC_STREAM_RELEASED)) stream_delete(st);
}

int quic_stream_submit_headers(quic_stream *st, int kind, quic_nvlist *nv) {
  quic_session *s = st->session;
  if (s->state >= QUIC_SESSION_CLOSING) return QUIC_ERR_STATE;
  if (st->id < 0) {
    /* Waiting for a stream id: keep the request headers until then. */
    quic_nvlist_clear(&st->tx_headers);
    st->tx_headers = *nv;
    memset(nv, 0, sizeof(*nv));
    return QUIC_OK;
  }
  int rv = quic_http3_submit(st, kind, nv);
  if (rv == QUIC_OK && kind == QUIC_HEADERS_INITIAL && s->state == QUIC_SESSION_HANDSHAKE && !s->server) {
    /* A 0-RTT request: keep its headers in case the server refuses 0-RTT. */
    quic_nvlist_clear(&st->tx_headers);
    st->tx_headers = *nv;
    memset(nv, 0, sizeof(*nv));
  }
  return rv;
}

int quic_stream_set_trailers(quic_stream *st, quic_nvlist *nv) {
  quic_nvlist_clear(&st->tx_trailers);
  st->tx_trailers = *nv;
  memset(nv, 0, sizeof(*nv));
  st->has_trailers = true;
  return QUIC_OK;
}

int quic_session_update_key(quic_session *s) {
  if (s->state != QUIC_SESSION_OPEN && s->state != QUIC_SESSION_GRACEFUL) return QUIC_ERR_STATE;
  if (ngtcp2_conn_initiate_key_update(s->conn, quic_now()) != 0) return QUIC_ERR_STATE;
  quic_wrap_mark_dirty(s->wrap, s);
  return QUIC_OK;
}

bool quic_session_ticket(quic_session *s, const uint8_t **ticket, size_t *ticket_len, uint8_t *params,
                         size_t *params_len) {
  *ticket = quic_tls_ticket(&s->tls, ticket_len);
  if (*ticket == NULL || s->conn == NULL) return false;
  ngtcp2_ssize n = ngtcp2_conn_encode_0rtt_transport_params(s->conn, params, *params_len);
  *params_len = n > 0 ? (size_t)n : 0;
  return true;
}

/* Streams: the stream object, its place in the session (created, opened,
 * deleted, given flow-control credit), what ngtcp2 and the application
 * report about its data, and the stream API the application calls (write,
 * read, abort, release, headers). Buffers are in stream_buf.c. */
#include "stream.h"

#include <ngtcp2/ngtcp2.h>
#include <string.h>

#include "mem.h"
#include "session.h"
#include "session_internal.h"
#include "stats.h"

/* ---- streams in the session ---- */

void quic_session_stream_event(quic_stream *st, uint32_t ev) {
  quic_session *s = st->session;
  st->events |= ev;
  /* A request is announced once its headers are complete and valid. */
  if (st->flags & QUIC_STREAM_HIDDEN) return;
  if (!quic_link_linked(&st->event_link)) quic_list_push(&s->stream_events, &st->event_link);
  quic_session_notify(s, 0);
}

quic_stream *quic_session_stream_add(quic_session *s, int64_t id, uint32_t flags) {
  quic_stream *st = quic_stream_new(s, ++s->next_stream_key, id, flags);
  if (st == NULL) return NULL;
  quic_keymap_entry *e = quic_keymap_put(&s->streams, &st->key, sizeof(st->key), NULL);
  if (e == NULL) {
    quic_stream_del(st);
    return NULL;
  }
  e->ptr = st;
  return st;
}

void quic_session_stream_delete(quic_stream *st) {
  quic_session *s = st->session;
  /* The peer may open another stream only once we let go of this one: live
   * peer streams stay bounded by the limit we advertised. */
  if (!(st->flags & QUIC_STREAM_LOCAL) && s->conn && s->state < QUIC_SESSION_CLOSING) {
    if (st->flags & QUIC_STREAM_UNI) ngtcp2_conn_extend_max_streams_uni(s->conn, 1);
    else ngtcp2_conn_extend_max_streams_bidi(s->conn, 1);
    quic_session_mark_dirty(s);
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

quic_stream *quic_session_stream_by_id(quic_session *s, int64_t id) {
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

quic_stream *quic_session_remote_stream(quic_session *s, int64_t id, quic_stream *known) {
  if (known) return known;
  uint32_t flags = QUIC_STREAM_OPEN;
  if (ngtcp2_is_bidi_stream(id) == 0) flags |= QUIC_STREAM_UNI | QUIC_STREAM_TX_DONE_ONLY;
  quic_stream *st = quic_session_stream_add(s, id, flags);
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

void quic_session_give_credit(quic_session *s, quic_stream *st, uint64_t n) {
  if (n == 0 || s->conn == NULL || s->state >= QUIC_SESSION_CLOSING) return;
  if (st && st->id >= 0 && !(st->flags & QUIC_STREAM_CLOSED))
    ngtcp2_conn_extend_max_stream_offset(s->conn, st->id, n);
  ngtcp2_conn_extend_max_offset(s->conn, n);
  quic_session_mark_dirty(s);
}

void quic_stream_closing(quic_stream *st) {
  if (st->counters->closing_at == 0) st->counters->closing_at = quic_session_now(st->session);
}

void quic_session_open_pending(quic_session *s) {
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
    s->app->opened(st);
    s->app->resume(st);
  }
}

void quic_session_resend_early_streams(quic_session *s) {
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

/* ---- ngtcp2's stream callbacks (fill_callbacks in session.c) ---- */

int quic_session_cb_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id, uint64_t app_error_code,
                           void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  quic_stream *st = stream_user;
  bool coded = (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) != 0;
  s->app->stream_close(s, stream_id, st, coded ? app_error_code : s->app->no_error);
  if (st == NULL) return 0;
  quic_stream_closing(st);
  /* ngtcp2 closes a stream only once our sending side is done: all of it
   * and its end acknowledged, or a RESET_STREAM acknowledged. A reset we did
   * not make answered the peer's STOP_SENDING (ngtcp2 sends it by itself),
   * and the close carries the peer's code (or its RESET_STREAM's, when that
   * came first: a peer that aborts both ways gives both the same code). */
  if (s->state < QUIC_SESSION_CLOSING && !(st->flags & QUIC_STREAM_TX_RESET) &&
      ((st->flags & QUIC_STREAM_PEER_STOP) || !quic_stream_tx_complete(st)))
    quic_session_stream_peer_stopped(st, true, coded ? app_error_code : s->app->no_error);
  if (quic_stream_tx_complete(st)) st->flags |= QUIC_STREAM_TX_ACKED_ALL;
  st->flags |= QUIC_STREAM_CLOSED;
  if (coded) st->close_code = app_error_code;
  quic_list_remove(&st->send_link);
  quic_stream_tx_discard(st);
  if (s->live_streams) s->live_streams--;
  if (st->flags & QUIC_STREAM_HIDDEN) {
    /* Never announced (a malformed request): nobody will release it, so it
     * goes with the next collection of events. */
    st->flags |= QUIC_STREAM_RELEASED;
    st->events = 0;
    quic_list_remove(&st->event_link);
    quic_list_push(&s->stream_events, &st->event_link);
    quic_session_notify(s, 0);
    return 0;
  }
  quic_session_stream_event(st, QUIC_SEV_CLOSE);
  if (s->state == QUIC_SESSION_GRACEFUL) quic_session_mark_dirty(s);
  return 0;
}

int quic_session_cb_stream_reset(ngtcp2_conn *conn, int64_t stream_id, uint64_t final_size, uint64_t app_error_code,
                           void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  quic_stream *st = s->app->peer_abort(s, stream_id, stream_user);
  /* No stream: the application's own, or (raw QUIC) no memory for one. */
  if (st == NULL) return s->app->framed ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  quic_stream_closing(st);
  /* A framed stream's final size counts frames, not body bytes. */
  if (!s->app->framed) st->counters->final_size = final_size;
  st->flags |= QUIC_STREAM_RX_RESET;
  st->reset_code = app_error_code;
  /* The peer abandoned the data: unread bytes still count against the
   * connection window, so return that credit. */
  uint64_t unread = st->rx_buffered;
  quic_stream_rx_discard(st);
  quic_session_give_credit(s, NULL, unread);
  quic_session_stream_event(st, QUIC_SEV_RESET);
  return 0;
}

/* ngtcp2 calls this when WE stop reading a stream
 * (ngtcp2_conn_shutdown_stream_read; ngtcp2.h: "a stream is no longer read
 * by a local endpoint"), never for the peer's STOP_SENDING. Our sending side
 * stays as it is; only the application hears that the stream is no longer
 * read (nghttp3 must stop decoding it). */
int quic_session_cb_stream_stop_sending(ngtcp2_conn *conn, int64_t stream_id, uint64_t app_error_code, void *user,
                                        void *stream_user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(app_error_code);
  quic_session *s = user;
  s->app->read_stopped(s, stream_id, stream_user);
  return 0;
}

/* The peer's STOP_SENDING. ngtcp2 1.11 has no callback for it: it answers
 * with RESET_STREAM itself and marks the stream shut for writing. We learn
 * of it when ngtcp2 refuses our data (NGTCP2_ERR_STREAM_SHUT_WR on a stream
 * we did not reset: coded false, the code is not known yet) and when the
 * stream closes (coded, with the code). The stop event fires at each step
 * that tells more. */
void quic_session_stream_peer_stopped(quic_stream *st, bool coded, uint64_t code) {
  if (st->flags & (QUIC_STREAM_TX_RESET | QUIC_STREAM_TX_DONE_ONLY | QUIC_STREAM_STOP_CODED)) return;
  if (!(st->flags & QUIC_STREAM_PEER_STOP)) {
    st->flags |= QUIC_STREAM_PEER_STOP | QUIC_STREAM_TX_STOPPED;
    st->flags &= ~QUIC_STREAM_WANT_DRAIN;
    quic_stream_closing(st);
    quic_list_remove(&st->send_link);
  } else if (!coded) {
    return;
  }
  if (coded) {
    st->stop_code = code;
    st->flags |= QUIC_STREAM_STOP_CODED;
  }
  quic_session_stream_event(st, QUIC_SEV_STOP);
}

int quic_session_cb_extend_max_stream_data(ngtcp2_conn *conn, int64_t stream_id, uint64_t max_data, void *user,
                                     void *stream_user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  s->app->unblock(s, stream_id);
  quic_session_mark_dirty(s);
  quic_stream *st = stream_user;
  if (st == NULL) return 0;
  st->counters->max_offset = max_data;
  st->flags &= ~QUIC_STREAM_BLOCKED;
  s->app->resume(st);
  return 0;
}

void quic_session_early_accepted(quic_session *s) {
  /* 0-RTT requests were accepted: the header copies kept in case they had
   * to be sent again are no longer needed. */
  quic_keymap_entry *e;
  QUIC_KEYMAP_EACH(&s->streams, e, tmp) {
    quic_stream *st = e->ptr;
    if (st->id >= 0) quic_nvlist_clear(&st->tx_headers);
  }
}

void quic_session_streams_free(quic_session *s) {
  quic_keymap_entry *e;
  QUIC_KEYMAP_EACH(&s->streams, e, tmp) quic_stream_del(e->ptr);
  quic_keymap_free(&s->streams);
}

/* ---- what the transport and the application report ---- */

int quic_session_stream_data(quic_stream *st, const uint8_t *data, size_t datalen, bool fin) {
  quic_session *s = st->session;
  quic_stream_counters *c = st->counters;
  c->bytes_received += datalen;
  c->max_offset_received = c->bytes_received; /* ngtcp2 delivers in order */
  c->last_received_at = s->counters->last_received_at ? s->counters->last_received_at : quic_session_now(s);
  if (fin) c->final_size = c->bytes_received;
  if (st->flags & QUIC_STREAM_RELEASED) {
    /* Nobody will read it: hand the credit straight back. */
    quic_session_give_credit(s, st, datalen);
  } else if (datalen) {
    if (quic_stream_append_rx(st, data, datalen) != QUIC_OK) return QUIC_ERR_NOMEM;
    if (st->flags & QUIC_STREAM_CONSUMER) quic_session_give_credit(s, st, datalen);
  }
  if (fin) st->flags |= QUIC_STREAM_RX_FIN;
  if (!(st->flags & QUIC_STREAM_RELEASED)) quic_session_stream_event(st, QUIC_SEV_DATA);
  return QUIC_OK;
}

/* What the writer's high-water mark bounds: bytes queued that the
 * application's transport (ngtcp2, or nghttp3 for HTTP/3) has not taken
 * yet. Taken bytes stay buffered until acknowledged, but the congestion
 * window and the peer's flow control bound those; counting them here would
 * cap the data in flight at the mark and starve fast paths (bulk-down ran at
 * 1.3 MB per round trip). */
uint64_t quic_stream_queued(const quic_stream *st) { return st->tx_written - st->session->app->taken(st); }

void quic_session_stream_check_drain(quic_stream *st) {
  if ((st->flags & QUIC_STREAM_WANT_DRAIN) && quic_stream_queued(st) <= QUIC_STREAM_TX_HWM / 2) {
    st->flags &= ~QUIC_STREAM_WANT_DRAIN;
    quic_session_stream_event(st, QUIC_SEV_DRAIN);
  }
}

/* allDataCommitted: the data and its end are the peer's now. Reported for
 * WebTransport streams (whose writer's close() waits for it) and streams
 * whose application asked (stream.committed). */
static void check_committed(quic_stream *st) {
  if ((st->flags & (QUIC_STREAM_WT | QUIC_STREAM_WANT_COMMIT)) &&
      !(st->flags & (QUIC_STREAM_COMMITTED | QUIC_STREAM_TX_STOPPED)) && quic_stream_tx_complete(st)) {
    st->flags |= QUIC_STREAM_COMMITTED;
    quic_session_stream_event(st, QUIC_SEV_COMMITTED);
  }
}

void quic_stream_want_commit(quic_stream *st) {
  st->flags |= QUIC_STREAM_WANT_COMMIT;
  check_committed(st);
}

void quic_session_stream_acked(quic_stream *st, uint64_t offset) {
  quic_stream_tx_ack(st, offset);
  /* Acknowledgments arrive while a packet is read: its timestamp will do. */
  uint64_t t = st->session->counters->last_received_at;
  st->counters->last_acked_at = t ? t : quic_session_now(st->session);
  st->counters->max_offset_acked = st->tx_acked;
  quic_session_stream_check_drain(st);
  check_committed(st);
}

/* ---- the stream API ---- */

int quic_session_open_stream(quic_session *s, bool uni, quic_stream **out) {
  /* Resumed sessions may open early: as 0-RTT when the ticket allows it,
   * otherwise queued until the handshake gives us stream credit. */
  if (s->state != QUIC_SESSION_OPEN && !quic_session_can_open_early(s)) return QUIC_ERR_STATE;
  quic_stream *st = quic_session_stream_add(s, -1, QUIC_STREAM_LOCAL | (uni ? QUIC_STREAM_UNI : 0));
  if (st == NULL) return QUIC_ERR_NOMEM;
  s->counters->outbound_streams++;
  if (uni) s->counters->uni_stream_count++;
  else s->counters->bidi_stream_count++;
  quic_list_push(&s->pending_open, &st->pending_link);
  quic_session_open_pending(s);
  /* The id event for a stream opened right away is not needed. */
  if (st->flags & QUIC_STREAM_OPEN) {
    st->events &= ~QUIC_SEV_OPENED;
    if (st->events == 0) quic_list_remove(&st->event_link);
  }
  quic_session_mark_dirty(s);
  *out = st;
  return QUIC_OK;
}

int quic_stream_write(quic_stream *st, const uint8_t *data, size_t len, bool fin) {
  quic_session *s = st->session;
  if (s->state >= QUIC_SESSION_CLOSING) return QUIC_ERR_STATE;
  if ((st->flags & (QUIC_STREAM_FIN_QUEUED | QUIC_STREAM_TX_STOPPED | QUIC_STREAM_CLOSED | QUIC_STREAM_TX_DONE_ONLY)))
    return QUIC_ERR_STATE;
  if (len && quic_stream_append_tx(st, data, len, fin) != QUIC_OK) return QUIC_ERR_NOMEM;
  if (fin) {
    st->flags |= QUIC_STREAM_FIN_QUEUED;
    quic_stream_closing(st);
  }
  if (quic_stream_queued(st) > QUIC_STREAM_TX_HWM) st->flags |= QUIC_STREAM_WANT_DRAIN;
  s->app->resume(st);
  quic_session_mark_dirty(s);
  return QUIC_OK;
}

size_t quic_stream_read(quic_stream *st, uint8_t *dst, size_t max) {
  size_t n = quic_stream_rx_read(st, dst, max);
  if (!(st->flags & QUIC_STREAM_CONSUMER)) quic_session_give_credit(st->session, st, n);
  return n;
}

quic_chunk *quic_stream_read_chunk(quic_stream *st) {
  quic_chunk *c = quic_stream_rx_take(st);
  if (c && !(st->flags & QUIC_STREAM_CONSUMER)) quic_session_give_credit(st->session, st, c->len);
  return c;
}

void quic_stream_set_consumer(quic_stream *st) { st->flags |= QUIC_STREAM_CONSUMER; }

void quic_stream_abort(quic_stream *st, uint64_t code, bool reset_tx, bool stop_rx) {
  quic_session *s = st->session;
  quic_stream_closing(st);
  if (st->id < 0) {
    /* Never opened: just forget it. */
    quic_list_remove(&st->pending_link);
    st->flags |= QUIC_STREAM_CLOSED | QUIC_STREAM_TX_STOPPED | QUIC_STREAM_TX_RESET;
    return;
  }
  if (s->state >= QUIC_SESSION_CLOSING || (st->flags & QUIC_STREAM_CLOSED)) return;
  if (reset_tx && !(st->flags & QUIC_STREAM_TX_DONE_ONLY)) {
    st->flags |= QUIC_STREAM_TX_STOPPED | QUIC_STREAM_TX_RESET;
    quic_list_remove(&st->send_link);
    ngtcp2_conn_shutdown_stream_write(s->conn, 0, st->id, code);
    s->app->shutdown_write(st);
  }
  if (stop_rx && !((st->flags & QUIC_STREAM_LOCAL) && (st->flags & QUIC_STREAM_UNI)))
    ngtcp2_conn_shutdown_stream_read(s->conn, 0, st->id, code);
  quic_session_mark_dirty(s);
}

void quic_stream_release(quic_stream *st) {
  quic_session *s = st->session;
  st->flags |= QUIC_STREAM_RELEASED;
  uint64_t unread = st->rx_buffered;
  quic_stream_rx_discard(st);
  quic_session_give_credit(s, st, unread);
  if ((st->flags & QUIC_STREAM_CLOSED) || st->id < 0) quic_session_stream_delete(st);
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
  if (s->app->submit == NULL) return QUIC_ERR_STATE;
  int rv = s->app->submit(st, kind, nv);
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

quic_hblock *quic_stream_hblock(quic_stream *st) { return st->hb_head; }

void quic_stream_drop_hblock(quic_stream *st) {
  quic_hblock *b = st->hb_head;
  if (b == NULL) return;
  st->hb_head = b->next;
  if (st->hb_head == NULL) st->hb_tail = NULL;
  quic_free(b);
}

/* Collecting what a session and its streams marked during a batch into
 * flat event records, in a fixed order: a session's opening events, then
 * its streams' events, then its close. Each bit is cleared only once its
 * record was taken, so running out of memory delays events, never loses
 * them. */
#include "session.h"
#include "session_internal.h"
#include "stream.h"
#include "webtransport.h"

/* One record, then its bit cleared; false when the sink is full. */
static bool put(quic_event_sink *sink, uint32_t *bits, uint32_t bit, uint32_t type, quic_session *s,
                quic_stream *st, uint32_t aux, uint64_t code) {
  if (!(*bits & bit)) return true;
  quic_event e = {
      .type = type,
      .session_key = s->key,
      .stream_key = st ? st->key : 0,
      .aux = aux,
      .stream_id = st ? st->id : -1,
      .code = code,
      .session = s,
  };
  if (sink->push(sink, &e) != QUIC_OK) return false;
  *bits &= ~bit;
  return true;
}

static uint32_t close_aux(quic_stream *st) {
  return (st->rx_buffered == 0 ? QUIC_STREAM_CLOSE_DRAINED : 0) |
         (quic_stream_hblock(st) != NULL ? QUIC_STREAM_CLOSE_HEADERS : 0) |
         ((st->flags & QUIC_STREAM_TX_ACKED_ALL) ? QUIC_STREAM_CLOSE_COMMITTED : 0);
}

static int collect_stream(quic_event_sink *sink, quic_session *s, quic_stream *st) {
  uint32_t *ev = &st->events;
  /* The header bit: a 0-RTT request can arrive before the handshake tells
   * the application the ALPN. */
  uint32_t new_flags = st->flags | (s->app->headers ? QUIC_STREAM_NEW_H3 : 0);
  /* A WebTransport stream's new-stream event carries its session ID. */
  uint64_t new_code = (st->flags & QUIC_STREAM_WT) ? (uint64_t)st->wt_session : 0;
  if (put(sink, ev, QUIC_SEV_NEW, QUIC_E_STREAM_NEW, s, st, new_flags, new_code) &&
      put(sink, ev, QUIC_SEV_OPENED, QUIC_E_STREAM_OPENED, s, st, 0, 0) &&
      put(sink, ev, QUIC_SEV_HEADERS, QUIC_E_STREAM_HEADERS, s, st, 0, 0) &&
      put(sink, ev, QUIC_SEV_STOP, QUIC_E_STREAM_STOP, s, st, (st->flags & QUIC_STREAM_STOP_CODED) != 0,
          st->stop_code) &&
      put(sink, ev, QUIC_SEV_BLOCKED, QUIC_E_STREAM_BLOCKED, s, st, 0, 0) &&
      put(sink, ev, QUIC_SEV_DRAIN, QUIC_E_STREAM_DRAIN, s, st, 0, 0) &&
      put(sink, ev, QUIC_SEV_COMMITTED, QUIC_E_STREAM_COMMITTED, s, st, 0, 0) &&
      put(sink, ev, QUIC_SEV_DATA, QUIC_E_STREAM_DATA, s, st, 0, 0) &&
      put(sink, ev, QUIC_SEV_RESET, QUIC_E_STREAM_RESET, s, st, 0, st->reset_code) &&
      put(sink, ev, QUIC_SEV_WT_DRAIN, QUIC_E_STREAM_WT_DRAIN, s, st, 0, 0) &&
      put(sink, ev, QUIC_SEV_WT_CLOSE, QUIC_E_STREAM_WT_CLOSE, s, st, st->wt_close_clean, st->wt_close_code) &&
      put(sink, ev, QUIC_SEV_CLOSE, QUIC_E_STREAM_CLOSE, s, st, close_aux(st), st->close_code))
    return QUIC_OK;
  return QUIC_ERR_NOMEM;
}

int quic_session_collect_events(quic_session *s, quic_event_sink *sink) {
  uint32_t *ev = &s->events;
  if (!put(sink, ev, QUIC_EV_NEW, QUIC_E_SESSION_NEW, s, NULL, 0, 0) ||
      !put(sink, ev, QUIC_EV_CLIENT_HELLO, QUIC_E_SESSION_CLIENT_HELLO, s, NULL, 0, 0) ||
      !put(sink, ev, QUIC_EV_OCSP, QUIC_E_SESSION_OCSP, s, NULL, 0, 0) ||
      !put(sink, ev, QUIC_EV_WT_SETTINGS, QUIC_E_SESSION_WT_SETTINGS, s, NULL, quic_wt_api_peer_versions(s), 0) ||
      !put(sink, ev, QUIC_EV_HANDSHAKE, QUIC_E_SESSION_HANDSHAKE, s, NULL, 0, 0) ||
      !put(sink, ev, QUIC_EV_DATAGRAM, QUIC_E_SESSION_DATAGRAM, s, NULL, 0, 0))
    return QUIC_ERR_NOMEM;
  while (!quic_list_empty(&s->stream_events)) {
    quic_stream *st = QUIC_CONTAINER(s->stream_events.next, quic_stream, event_link);
    if (collect_stream(sink, s, st) != QUIC_OK) return QUIC_ERR_NOMEM;
    quic_list_remove(&st->event_link);
    /* Both sides done and the application let go: nothing refers to it. */
    if ((st->flags & QUIC_STREAM_CLOSED) && (st->flags & QUIC_STREAM_RELEASED)) quic_session_stream_delete(st);
  }
  if (!put(sink, ev, QUIC_EV_CLOSE, QUIC_E_SESSION_CLOSE, s, NULL, (uint32_t)s->close_kind, s->close_code))
    return QUIC_ERR_NOMEM;
  return QUIC_OK;
}

bool quic_session_has_events(const quic_session *s) {
  return s->events != 0 || !quic_list_empty(&s->stream_events);
}

/* The wrap: the per-thread face of an endpoint. It decides when sessions
 * flush (once per receive batch, or from an idle handle after application
 * calls) and turns what sessions and streams marked during a batch into one
 * ordered list of events for the application. */
#include "endpoint.h"

#include "mem.h"

static void on_idle(uv_idle_t *h) {
  quic_wrap *w = QUIC_CONTAINER(h, quic_wrap, idle);
  quic_wrap_enter(w);
  quic_wrap_leave(w);
}

void quic_wrap_schedule(quic_wrap *w) {
  if (w->idle_active || w->destroyed) return;
  w->idle_active = true;
  uv_idle_start(&w->idle, on_idle);
}

void quic_wrap_mark_dirty(quic_wrap *w, quic_session *s) {
  if (s->state >= QUIC_SESSION_CLOSING) return;
  if (!quic_link_linked(&s->dirty_link)) quic_list_push(&w->dirty, &s->dirty_link);
  if (w->depth == 0) quic_wrap_schedule(w);
}

void quic_wrap_session_event(quic_wrap *w, quic_session *s) {
  if (!quic_link_linked(&s->event_link)) quic_list_push(&w->session_events, &s->event_link);
  if (w->depth == 0) quic_wrap_schedule(w);
}

void quic_wrap_flush(quic_wrap *w) {
  /* Each session touched since the last flush writes once. A flush may mark
   * others dirty (never itself), so loop on a detached list. */
  for (int round = 0; round < 4 && !quic_list_empty(&w->dirty); round++) {
    quic_link todo;
    quic_list_init(&todo);
    todo.next = w->dirty.next;
    todo.prev = w->dirty.prev;
    todo.next->prev = &todo;
    todo.prev->next = &todo;
    quic_list_init(&w->dirty);
    while (!quic_list_empty(&todo)) {
      quic_session *s = QUIC_CONTAINER(todo.next, quic_session, dirty_link);
      quic_list_remove(&s->dirty_link);
      quic_session_flush(s);
    }
  }
}

static int push_event(quic_wrap *w, uint32_t type, quic_session *s, quic_stream *st, uint32_t aux, uint64_t code) {
  if (w->nevents == w->events_cap) {
    size_t cap = w->events_cap ? w->events_cap * 2 : 64;
    quic_event *n = quic_realloc(w->events, cap * sizeof(*n));
    if (n == NULL) return QUIC_ERR_NOMEM;
    w->events = n;
    w->events_cap = cap;
  }
  quic_event *e = &w->events[w->nevents++];
  e->type = type;
  e->session_key = s->key;
  e->stream_key = st ? st->key : 0;
  e->stream_id = st ? st->id : -1;
  e->aux = aux;
  e->code = code;
  e->session = s;
  return QUIC_OK;
}

static void collect_stream_events(quic_wrap *w, quic_session *s) {
  while (!quic_list_empty(&s->stream_events)) {
    quic_stream *st = QUIC_CONTAINER(s->stream_events.next, quic_stream, event_link);
    quic_list_remove(&st->event_link);
    uint32_t ev = st->events;
    st->events = 0;
    /* The HTTP/3 bit: a 0-RTT request can arrive before the handshake
     * tells the application the ALPN. */
    if (ev & QUIC_SEV_NEW) push_event(w, QUIC_E_STREAM_NEW, s, st, st->flags | (s->h3 ? QUIC_STREAM_NEW_H3 : 0), 0);
    if (ev & QUIC_SEV_OPENED) push_event(w, QUIC_E_STREAM_OPENED, s, st, 0, 0);
    if (ev & QUIC_SEV_HEADERS) push_event(w, QUIC_E_STREAM_HEADERS, s, st, 0, 0);
    if (ev & QUIC_SEV_STOP) push_event(w, QUIC_E_STREAM_STOP, s, st, 0, st->stop_code);
    if (ev & QUIC_SEV_BLOCKED) push_event(w, QUIC_E_STREAM_BLOCKED, s, st, 0, 0);
    if (ev & QUIC_SEV_DRAIN) push_event(w, QUIC_E_STREAM_DRAIN, s, st, 0, 0);
    if (ev & QUIC_SEV_DATA) push_event(w, QUIC_E_STREAM_DATA, s, st, 0, 0);
    if (ev & QUIC_SEV_RESET) push_event(w, QUIC_E_STREAM_RESET, s, st, 0, st->reset_code);
    /* aux 1: nothing is left to read, so the application need not attach a
     * reader before the stream can be released. */
    if (ev & QUIC_SEV_CLOSE) push_event(w, QUIC_E_STREAM_CLOSE, s, st, st->rx_buffered == 0, st->close_code);
    quic_session_reap_stream(st);
  }
}

void quic_wrap_emit(quic_wrap *w) {
  if (w->depth > 0 || w->destroyed || w->deliver == NULL) return;
  w->nevents = 0;
  while (!quic_list_empty(&w->session_events)) {
    quic_session *s = QUIC_CONTAINER(w->session_events.next, quic_session, event_link);
    quic_list_remove(&s->event_link);
    uint32_t ev = s->events;
    s->events = 0;
    if (ev & QUIC_EV_NEW) push_event(w, QUIC_E_SESSION_NEW, s, NULL, 0, 0);
    if (ev & QUIC_EV_CLIENT_HELLO) push_event(w, QUIC_E_SESSION_CLIENT_HELLO, s, NULL, 0, 0);
    if (ev & QUIC_EV_OCSP) push_event(w, QUIC_E_SESSION_OCSP, s, NULL, 0, 0);
    if (ev & QUIC_EV_HANDSHAKE) push_event(w, QUIC_E_SESSION_HANDSHAKE, s, NULL, 0, 0);
    if (ev & QUIC_EV_DATAGRAM) push_event(w, QUIC_E_SESSION_DATAGRAM, s, NULL, 0, 0);
    collect_stream_events(w, s);
    if (ev & QUIC_EV_CLOSE) push_event(w, QUIC_E_SESSION_CLOSE, s, NULL, (uint32_t)s->close_kind, s->close_code);
  }
  if (w->nevents == 0) return;
  /* The application may call back in (and even destroy us) while it runs:
   * keep depth raised so such work is deferred, not nested. */
  w->depth++;
  w->deliver(w, w->user);
  w->nevents = 0;
  w->depth--;
}

void quic_wrap_enter(quic_wrap *w) { w->depth++; }

void quic_wrap_leave(quic_wrap *w) {
  if (w->depth == 1 && !w->destroyed) quic_wrap_flush(w);
  w->depth--;
  if (w->depth > 0) return;
  /* What the application does while it handles events (write, close, ...)
   * makes more work; run a few rounds of it now, then leave the rest to the
   * idle handle so one busy session cannot hold the loop. */
  for (int round = 0; round < 4 && !w->destroyed; round++) {
    if (quic_list_empty(&w->dirty) && quic_list_empty(&w->session_events)) break;
    w->depth++;
    quic_wrap_flush(w);
    w->depth--;
    quic_wrap_emit(w);
  }
  if (w->free_pending) {
    quic_wrap_destroy(w);
    return;
  }
  if (w->destroyed) return;
  if (!quic_list_empty(&w->dirty) || !quic_list_empty(&w->session_events)) {
    quic_wrap_schedule(w);
  } else if (w->idle_active) {
    w->idle_active = false;
    uv_idle_stop(&w->idle);
  }
}

void quic_wrap_close(quic_wrap *w) {
  if (w->closing || w->destroyed) return;
  w->closing = true;
  w->listening = false;
  quic_link *l = w->sessions.next;
  while (l != &w->sessions) {
    quic_session *s = QUIC_CONTAINER(l, quic_session, wrap_link);
    l = l->next;
    quic_session_close_graceful(s);
  }
}


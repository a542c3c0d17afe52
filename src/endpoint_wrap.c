/* The wrap: the face of an endpoint on its thread. It is the host of its
 * sessions (session_host.h): it gives them the socket, the routing tables,
 * a timer each and the clock; it decides when they flush (once per receive
 * batch, or from an idle handle after application calls); and it turns what
 * they marked during a batch into one ordered list of events for the
 * application. */
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "mem.h"

/* ---- host operations ---- */

static quic_wrap *wrap_of(quic_host *h) { return QUIC_CONTAINER(h, quic_wrap, host); }

static uint64_t host_now(quic_host *h) {
  QUIC_UNUSED(h);
  return quic_now();
}

static void on_session_timer(uv_timer_t *t) {
  quic_session *s = QUIC_CONTAINER(t, quic_session, slot.timer);
  quic_wrap *w = quic_wrap_of(s);
  quic_wrap_enter(w);
  quic_session_on_timer(s);
  quic_wrap_leave(w);
}

static void host_set_timer(quic_host *h, quic_session *s, uint64_t at) {
  quic_wrap *w = wrap_of(h);
  if (!s->slot.timer_init) {
    uv_timer_init(w->loop, &s->slot.timer);
    s->slot.timer_init = true;
    w->handles++;
    quic_live_add(QUIC_LIVE_HANDLES, 1);
  }
  if (at == UINT64_MAX) {
    uv_timer_stop(&s->slot.timer);
    return;
  }
  uint64_t now = quic_now();
  uint64_t ms = at <= now ? 0 : (at - now + 999999) / 1000000;
  uv_timer_start(&s->slot.timer, on_session_timer, ms, 0);
}

static int host_send(quic_host *h, quic_session *s, const quic_train *t) {
  quic_endpoint *ep = wrap_of(h)->ep;
  int rv = quic_endpoint_send(ep, t->local, t->remote, t->data, t->len, t->seg, t->ecn);
  if (rv == QUIC_ERR_AGAIN) quic_endpoint_wait_writable(ep, s);
  return rv;
}

static void host_new_cid(quic_host *h, ngtcp2_cid *cid, size_t len, uint8_t *reset_token) {
  quic_endpoint_gen_cid_len(wrap_of(h)->ep, cid, len, reset_token);
}

static int host_add_cid(quic_host *h, quic_session *s, const ngtcp2_cid *cid) {
  return quic_endpoint_add_cid(wrap_of(h)->ep, cid, s);
}

static void host_remove_cid(quic_host *h, quic_session *s, const ngtcp2_cid *cid) {
  quic_endpoint_remove_cid(wrap_of(h)->ep, cid, s);
}

static int host_add_reset_token(quic_host *h, quic_session *s, const uint8_t *token) {
  return quic_endpoint_add_reset_token(wrap_of(h)->ep, token, s);
}

static void host_remove_reset_token(quic_host *h, quic_session *s, const uint8_t *token) {
  quic_endpoint_remove_reset_token(wrap_of(h)->ep, token, s);
}

static size_t host_make_token(quic_host *h, const quic_addr *remote, uint8_t *buf, size_t len) {
  return quic_endpoint_make_token(wrap_of(h)->ep, remote, buf, len);
}

static void host_save_token(quic_host *h, const quic_addr *server, const uint8_t *token, size_t len) {
  quic_endpoint_save_token(wrap_of(h)->ep, server, token, len);
}

static void schedule(quic_wrap *w);

static void host_mark_dirty(quic_host *h, quic_session *s) {
  quic_wrap *w = wrap_of(h);
  if (!quic_link_linked(&s->slot.dirty)) quic_list_push(&w->dirty, &s->slot.dirty);
  if (w->depth == 0) schedule(w);
}

static void host_notify(quic_host *h, quic_session *s, uint32_t ev) {
  quic_wrap *w = wrap_of(h);
  /* Datagrams wait in C until the application has them: the receive loop
   * hands them over before it reads another round. */
  if (ev & QUIC_EV_DATAGRAM) w->rx_datagrams = true;
  if (!quic_link_linked(&s->slot.events)) quic_list_push(&w->session_events, &s->slot.events);
  if (w->depth == 0) schedule(w);
}

static void host_closing(quic_host *h, quic_session *s) {
  quic_wrap *w = wrap_of(h);
  quic_list_remove(&s->slot.dirty);
  quic_list_remove(&s->slot.blocked);
  if (!s->slot.counted) return;
  s->slot.counted = false;
  quic_endpoint_host_release(w->ep, &s->remote);
  w->live_server_sessions--;
}

static void on_session_timer_closed(uv_handle_t *handle) {
  quic_session *s = QUIC_CONTAINER((uv_timer_t *)handle, quic_session, slot.timer);
  quic_wrap *w = quic_wrap_of(s);
  quic_session_free(s);
  w->handles--;
  quic_live_add(QUIC_LIVE_HANDLES, -1);
  if (w->free_pending) quic_wrap_destroy(w);
}

static void host_release(quic_host *h, quic_session *s) {
  quic_wrap *w = wrap_of(h);
  host_closing(h, s);
  quic_list_remove(&s->slot.all);
  quic_list_remove(&s->slot.events);
  quic_endpoint_forget(w->ep, s);
  /* The session is freed in its timer's close callback (libuv two-phase
   * close): frames below this call may still use it. A session that never
   * set a timer gets one to close. */
  if (!s->slot.timer_init) {
    uv_timer_init(w->loop, &s->slot.timer);
    s->slot.timer_init = true;
    w->handles++;
    quic_live_add(QUIC_LIVE_HANDLES, 1);
  }
  uv_timer_stop(&s->slot.timer);
  uv_close((uv_handle_t *)&s->slot.timer, on_session_timer_closed);
}

static const quic_host_ops wrap_host_ops = {
    .now = host_now,
    .set_timer = host_set_timer,
    .send = host_send,
    .new_cid = host_new_cid,
    .add_cid = host_add_cid,
    .remove_cid = host_remove_cid,
    .add_reset_token = host_add_reset_token,
    .remove_reset_token = host_remove_reset_token,
    .make_token = host_make_token,
    .save_token = host_save_token,
    .mark_dirty = host_mark_dirty,
    .notify = host_notify,
    .closing = host_closing,
    .release = host_release,
};

/* ---- sessions ---- */

/* A session the wrap now owns (created with its key). */
static void adopt(quic_wrap *w, quic_session *s) {
  quic_list_push(&w->sessions, &s->slot.all);
}

int quic_wrap_connect(quic_wrap *w, quic_session **out, const quic_addr *remote, const quic_session_config *cfg,
                      const quic_resume *resume) {
  quic_endpoint *ep = w->ep;
  quic_resume r = {0};
  if (resume) r = *resume;
  /* A NEW_TOKEN token from an earlier connection skips address validation. */
  const quic_token *token = quic_endpoint_token(ep, remote);
  if (token) {
    r.token = token->data;
    r.token_len = token->len;
  }
  quic_session *s;
  int rv = quic_session_connect(&s, &w->host, ++w->next_session_key, &ep->udp.local, remote, cfg, &r);
  if (rv != QUIC_OK) return rv;
  adopt(w, s);
  ep->counters->client_sessions++;
  *out = s;
  return QUIC_OK;
}

int quic_wrap_accept(quic_wrap *w, quic_session **out, const ngtcp2_pkt_hd *hd, const quic_rx_pkt *p,
                     const ngtcp2_cid *odcid) {
  quic_session *s;
  int rv = quic_session_accept(&s, &w->host, ++w->next_session_key, hd, p->data, p->len, &p->local, &p->remote,
                               p->ecn, odcid, &w->server_cfg);
  if (rv != QUIC_OK) return rv;
  adopt(w, s);
  w->ep->counters->server_sessions++;
  /* A session that closed while reading its first packet never counts
   * against the connection limits. */
  if (!quic_session_closed(s)) {
    quic_endpoint_host_hold(w->ep, &p->remote);
    w->live_server_sessions++;
    s->slot.counted = true;
  }
  *out = s;
  return QUIC_OK;
}

/* ---- flushing and events ---- */

static void on_idle(uv_idle_t *h) {
  quic_wrap *w = QUIC_CONTAINER(h, quic_wrap, idle);
  quic_wrap_enter(w);
  quic_wrap_leave(w);
}

static void schedule(quic_wrap *w) {
  if (w->idle_active || w->destroyed) return;
  w->idle_active = true;
  uv_idle_start(&w->idle, on_idle);
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
      quic_session *s = QUIC_CONTAINER(todo.next, quic_session, slot.dirty);
      quic_list_remove(&s->slot.dirty);
      quic_session_flush(s);
    }
  }
}

static int sink_push(quic_event_sink *sink, const quic_event *e) {
  quic_wrap *w = QUIC_CONTAINER(sink, quic_wrap, sink);
  if (w->nevents == w->events_cap) {
    size_t cap = w->events_cap ? w->events_cap * 2 : 64;
    quic_event *n = quic_realloc(w->events, cap * sizeof(*n));
    if (n == NULL) return QUIC_ERR_NOMEM;
    w->events = n;
    w->events_cap = cap;
  }
  w->events[w->nevents++] = *e;
  return QUIC_OK;
}

void quic_wrap_emit(quic_wrap *w) {
  if (w->depth > 0 || w->destroyed || w->deliver == NULL) return;
  w->nevents = 0;
  while (!quic_list_empty(&w->session_events)) {
    quic_session *s = QUIC_CONTAINER(w->session_events.next, quic_session, slot.events);
    if (quic_session_collect_events(s, &w->sink) != QUIC_OK) {
      /* No memory for more records: deliver these; the rest stay pending
       * and the idle handle comes back for them. */
      schedule(w);
      break;
    }
    quic_list_remove(&s->slot.events);
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
    schedule(w);
  } else if (w->idle_active) {
    w->idle_active = false;
    uv_idle_stop(&w->idle);
  }
}

/* ---- lifecycle ---- */

int quic_wrap_new(quic_wrap **out, uv_loop_t *loop, const quic_endpoint_config *cfg, quic_deliver_cb deliver,
                  quic_closed_cb closed, void *user) {
  quic_wrap *w = quic_calloc(1, sizeof(*w));
  quic_endpoint *ep = quic_calloc(1, sizeof(*ep));
  uint8_t *tx = quic_malloc(QUIC_TX_BUF_SIZE);
  int rv = QUIC_ERR_NOMEM;
  if (w == NULL || ep == NULL || tx == NULL || (rv = quic_endpoint_init(ep, loop, cfg, w)) != QUIC_OK) {
    quic_free(w);
    quic_free(ep);
    quic_free(tx);
    return rv;
  }
  w->host.ops = &wrap_host_ops;
  w->host.tx_buf = tx;
  w->host.cid_len = ep->cid_len;
  w->sink.push = sink_push;
  w->ep = ep;
  w->loop = loop;
  quic_list_init(&w->sessions);
  quic_list_init(&w->dirty);
  quic_list_init(&w->session_events);
  w->deliver = deliver;
  w->closed = closed;
  w->user = user;
  uv_idle_init(loop, &w->idle);
  w->handles = 1;
  quic_live_add(QUIC_LIVE_HANDLES, 1);
  quic_live_add(QUIC_LIVE_ENDPOINTS, 1);
  *out = w;
  return QUIC_OK;
}

int quic_wrap_bind(quic_wrap *w, int *sys_errno) {
  if (w->destroyed) return QUIC_ERR_STATE;
  bool was = w->ep->bound;
  int rv = quic_endpoint_bind(w->ep, sys_errno);
  if (rv == QUIC_OK && !was) {
    int n = w->ep->inbox_init ? 2 : 1; /* the poll handle, and a port group member's inbox */
    w->handles += n;
    quic_live_add(QUIC_LIVE_HANDLES, n);
  }
  return rv;
}

int quic_wrap_listen(quic_wrap *w, quic_session_config *cfg) {
  if (w->listening || w->closing || w->destroyed) return QUIC_ERR_STATE;
  w->server_cfg = *cfg;
  memset(cfg, 0, sizeof(*cfg));
  quic_session_config *c = &w->server_cfg;
  c->disable_stateless_reset = w->ep->cfg.disable_stateless_reset;
  /* A preferred address with port 0 takes the port this endpoint listens on. */
  const quic_addr *own = &w->ep->udp.local;
  uint16_t port = own->u.sa.sa_family == AF_INET6 ? own->u.in6.sin6_port : own->u.in.sin_port;
  if (c->pa_v4 && c->pa_ipv4.sin_port == 0) c->pa_ipv4.sin_port = port;
  if (c->pa_v6 && c->pa_ipv6.sin6_port == 0) c->pa_ipv6.sin6_port = port;
  w->listening = true;
  /* New connections may now be steered here. */
  quic_endpoint_set_listening(w->ep, true);
  return QUIC_OK;
}

void quic_wrap_close(quic_wrap *w) {
  if (w->closing || w->destroyed) return;
  w->closing = true;
  w->listening = false;
  quic_endpoint_set_listening(w->ep, false);
  quic_link *l = w->sessions.next;
  while (l != &w->sessions) {
    quic_session *s = QUIC_CONTAINER(l, quic_session, slot.all);
    l = l->next;
    quic_session_close_graceful(s);
  }
}

void quic_wrap_abandon(quic_wrap *w) {
  if (w->destroyed) return;
  quic_wrap_enter(w);
  w->listening = false;
  w->closing = true;
  quic_endpoint_set_listening(w->ep, false);
  for (quic_link *l = w->sessions.next; l != &w->sessions; l = l->next)
    quic_session_close_now(QUIC_CONTAINER(l, quic_session, slot.all), false, NGTCP2_INTERNAL_ERROR,
                           "the endpoint's thread is exiting");
  quic_wrap_leave(w); /* flushes: the CONNECTION_CLOSE frames leave now */
  quic_wrap_destroy(w);
}

static void on_handle_closed(uv_handle_t *h) {
  quic_wrap *w = h->data;
  w->handles--;
  quic_live_add(QUIC_LIVE_HANDLES, -1);
  quic_wrap_destroy(w);
}

void quic_wrap_destroy(quic_wrap *w) {
  quic_endpoint *ep = w->ep;
  if (!w->destroyed) {
    w->destroyed = true;
    w->listening = false;
    w->closing = true;
    ep->counters->destroyed_at = quic_now();
    if (ep->poll_init) uv_poll_stop(&ep->poll);
    /* The other members of a port group take this one's packets from now
     * on (and answer its sessions' with stateless resets). */
    quic_endpoint_leave(ep);
    while (!quic_list_empty(&w->sessions))
      quic_session_destroy(QUIC_CONTAINER(w->sessions.next, quic_session, slot.all));
    quic_list_init(&w->dirty);
    quic_list_init(&w->session_events);
  }
  if (w->depth > 0) {
    /* Inside a callback: the frames below still use the endpoint. */
    w->free_pending = true;
    return;
  }
  if (!uv_is_closing((uv_handle_t *)&w->idle)) {
    w->idle.data = w;
    uv_close((uv_handle_t *)&w->idle, on_handle_closed);
    (void)quic_endpoint_stop(ep, on_handle_closed, w);
  }
  if (w->handles > 0) {
    w->free_pending = true;
    return;
  }
  quic_endpoint_free(ep);
  quic_session_config_clear(&w->server_cfg);
  quic_free(w->events);
  quic_free(w->host.tx_buf);
  quic_closed_cb closed = w->closed;
  void *user = w->user;
  quic_free(ep);
  quic_free(w);
  quic_live_add(QUIC_LIVE_ENDPOINTS, -1);
  if (closed) closed(NULL, user);
}

/* ---- port groups (reuseport.h) ---- */

int quic_wrap_share(quic_wrap *w, uint64_t *group_id, int *sys_errno) {
  quic_endpoint *ep = w->ep;
  if (w->destroyed || w->closing) return QUIC_ERR_STATE;
  /* Its group is the keeper's (reuseport.h): other copies name it too. */
  if (ep->cfg.rp_name_len > 0) return QUIC_ERR_STATE;
  /* A self-encoded length takes the low bits the worker index needs. */
  if (ep->cfg.lb_enabled && ep->cfg.lb.length_self_encoding) return QUIC_ERR_INVALID;
  if (ep->group == NULL) {
    if (ep->bound) return QUIC_ERR_STATE; /* its socket is not in a group */
    ep->cfg.shared = true;
    int rv = quic_wrap_bind(w, sys_errno);
    if (rv != QUIC_OK) {
      ep->cfg.shared = false;
      return rv;
    }
  }
  *group_id = quic_group_id(ep->group);
  /* Other processes may join too: best effort (threads need none of it). */
  (void)quic_group_serve(ep->group);
  return QUIC_OK;
}

_Static_assert(sizeof(quic_endpoint_config) <= sizeof(((quic_group_remote *)0)->cfg),
               "the configuration travels in one message");


/* Binds a wrap just made for a port group; on failure it goes, without
 * telling anyone (nobody has heard of it yet). */
static int bind_new(quic_wrap *w, quic_wrap **out, int *sys_errno) {
  int rv = quic_wrap_bind(w, sys_errno);
  if (rv != QUIC_OK) {
    w->deliver = NULL;
    w->closed = NULL;
    quic_wrap_destroy(w);
    return rv;
  }
  *out = w;
  return QUIC_OK;
}

int quic_wrap_join_process(quic_wrap **out, uv_loop_t *loop, uint32_t pid, uint64_t group_id,
                           quic_deliver_cb deliver, quic_closed_cb closed, void *user, int *sys_errno) {
  quic_group_remote *r = quic_malloc(sizeof(*r));
  if (r == NULL) return QUIC_ERR_NOMEM;
  quic_endpoint_config cfg;
  int rv = quic_group_connect(pid, group_id, r, sys_errno);
  if (rv == QUIC_OK && r->cfg_len != sizeof(cfg)) rv = QUIC_ERR_INVALID;
  if (rv != QUIC_OK) {
    if (r->udp_fd >= 0) close(r->udp_fd);
    if (r->ipc_fd >= 0) close(r->ipc_fd);
    quic_free(r);
    return rv;
  }
  memcpy(&cfg, r->cfg, sizeof(cfg));
  memset(r->cfg, 0, sizeof(r->cfg));
  cfg.shared = false; /* the group is the other process's */
  quic_wrap *w;
  rv = quic_wrap_new(&w, loop, &cfg, deliver, closed, user);
  memset(&cfg, 0, sizeof(cfg));
  if (rv != QUIC_OK) {
    close(r->udp_fd);
    close(r->ipc_fd);
    quic_free(r);
    return rv;
  }
  w->ep->adopt_fd = r->udp_fd;
  w->ep->ipc_fd = r->ipc_fd;
  w->ep->worker = r->worker;
  quic_free(r);
  return bind_new(w, out, sys_errno);
}

int quic_wrap_join(quic_wrap **out, uv_loop_t *loop, uint64_t group_id, quic_deliver_cb deliver,
                   quic_closed_cb closed, void *user, int *sys_errno) {
  quic_group *g = quic_group_find(group_id);
  if (g == NULL) return QUIC_ERR_NOT_FOUND;
  size_t len;
  const void *blob = quic_group_config(g, &len);
  quic_endpoint_config cfg;
  if (len != sizeof(cfg)) {
    quic_group_unref(g);
    return QUIC_ERR_INVALID;
  }
  memcpy(&cfg, blob, sizeof(cfg));
  quic_wrap *w;
  int rv = quic_wrap_new(&w, loop, &cfg, deliver, closed, user);
  memset(&cfg, 0, sizeof(cfg)); /* the secrets live on in the endpoint only */
  if (rv != QUIC_OK) {
    quic_group_unref(g);
    return rv;
  }
  w->ep->group = g; /* the reference quic_group_find took */
  return bind_new(w, out, sys_errno);
}

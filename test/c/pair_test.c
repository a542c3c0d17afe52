/* A client and a server session run in memory against a fake host: packets
 * go from one to the other through queues, timers run on a virtual clock,
 * and nothing touches a socket, libuv or a real clock. The exchanges
 * (raw QUIC: a 64 KB echo on a stream and a datagram; HTTP/3: a request
 * and its response with a body; WebTransport: a session, a 64 KB echo on
 * its stream, a datagram each way, a close with code and reason, and a
 * stream and a datagram for a session that does not exist, refused) are
 * checked byte for byte. Then the same
 * exchanges run again with the Nth allocation failing, for every N the
 * exchange makes: each must end (completed, or closed with an error) with
 * no memory left behind. Built with QUIC_MEM_FAULTS by test/c/Makefile. */
#include <ngtcp2/ngtcp2_crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/mem.h"
#include "../../src/session.h"
#include "../../src/stream.h"
#include "../../src/webtransport.h"
#include "check.h"

#define ECHO_SIZE (64 * 1024)
#define MAX_STEPS 20000
#define MAX_QUEUED 4096

/* ---- the fake host ---- */

typedef struct pkt {
  struct pkt *next;
  size_t len;
  uint8_t data[];
} pkt;

typedef struct fake_host {
  quic_host host;
  struct fake_host *peer;
  quic_session *session;     /* the one session of this side (NULL until made) */
  quic_session *released;    /* released, to be freed by the harness */
  quic_addr addr;
  pkt *inbox, *inbox_tail;   /* packets for this side, oldest first */
  size_t queued;
  uint64_t timer_at;         /* UINT64_MAX: none */
  bool dirty, notified;
  uint32_t cid_seq;
  int cids;                  /* routes held (add minus remove) */
} fake_host;

static uint64_t vclock = 1000000000ull; /* virtual nanoseconds */

static fake_host *fh(quic_host *h) { return QUIC_CONTAINER(h, fake_host, host); }

static uint64_t f_now(quic_host *h) {
  QUIC_UNUSED(h);
  return vclock;
}

static void f_set_timer(quic_host *h, quic_session *s, uint64_t at) {
  QUIC_UNUSED(s);
  fh(h)->timer_at = at;
}

static int f_send(quic_host *h, quic_session *s, const quic_train *t) {
  QUIC_UNUSED(s);
  fake_host *to = fh(h)->peer;
  size_t seg = t->seg ? t->seg : t->len;
  for (size_t off = 0; off < t->len; off += seg) {
    size_t n = QUIC_MIN(seg, t->len - off);
    if (to->queued >= MAX_QUEUED) return QUIC_OK; /* a full link drops */
    /* The harness's own memory, not the core's: plain malloc. */
    pkt *p = malloc(sizeof(*p) + n);
    if (p == NULL) return QUIC_ERR_SYS;
    p->next = NULL;
    p->len = n;
    memcpy(p->data, t->data + off, n);
    if (to->inbox_tail) to->inbox_tail->next = p;
    else to->inbox = p;
    to->inbox_tail = p;
    to->queued++;
  }
  return QUIC_OK;
}

static void f_new_cid(quic_host *h, ngtcp2_cid *cid, size_t len, uint8_t *reset_token) {
  fake_host *f = fh(h);
  cid->datalen = len;
  memset(cid->data, f->addr.u.in.sin_port & 0xff, len);
  uint32_t seq = ++f->cid_seq;
  memcpy(cid->data, &seq, QUIC_MIN(len, sizeof(seq)));
  if (reset_token) memset(reset_token, (int)seq, NGTCP2_STATELESS_RESET_TOKENLEN);
}

static int f_add_cid(quic_host *h, quic_session *s, const ngtcp2_cid *cid) {
  QUIC_UNUSED(s);
  QUIC_UNUSED(cid);
  fh(h)->cids++;
  return QUIC_OK;
}

static void f_remove_cid(quic_host *h, quic_session *s, const ngtcp2_cid *cid) {
  QUIC_UNUSED(s);
  QUIC_UNUSED(cid);
  fh(h)->cids--;
}

static int f_add_reset_token(quic_host *h, quic_session *s, const uint8_t *token) {
  QUIC_UNUSED(h);
  QUIC_UNUSED(s);
  QUIC_UNUSED(token);
  return QUIC_OK;
}

static void f_remove_reset_token(quic_host *h, quic_session *s, const uint8_t *token) {
  QUIC_UNUSED(h);
  QUIC_UNUSED(s);
  QUIC_UNUSED(token);
}

static size_t f_make_token(quic_host *h, const quic_addr *remote, uint8_t *buf, size_t len) {
  QUIC_UNUSED(h);
  QUIC_UNUSED(remote);
  QUIC_UNUSED(buf);
  QUIC_UNUSED(len);
  return 0;
}

static void f_save_token(quic_host *h, const quic_addr *server, const uint8_t *token, size_t len) {
  QUIC_UNUSED(h);
  QUIC_UNUSED(server);
  QUIC_UNUSED(token);
  QUIC_UNUSED(len);
}

static void f_mark_dirty(quic_host *h, quic_session *s) {
  QUIC_UNUSED(s);
  fh(h)->dirty = true;
}

static void f_notify(quic_host *h, quic_session *s, uint32_t ev) {
  QUIC_UNUSED(s);
  QUIC_UNUSED(ev);
  fh(h)->notified = true;
}

static void f_closing(quic_host *h, quic_session *s) {
  QUIC_UNUSED(h);
  QUIC_UNUSED(s);
}

static void f_release(quic_host *h, quic_session *s) {
  fake_host *f = fh(h);
  if (f->session == s) f->session = NULL;
  f->released = s;
  f->timer_at = UINT64_MAX;
}

static const quic_host_ops fake_ops = {
    .now = f_now,
    .set_timer = f_set_timer,
    .send = f_send,
    .new_cid = f_new_cid,
    .add_cid = f_add_cid,
    .remove_cid = f_remove_cid,
    .add_reset_token = f_add_reset_token,
    .remove_reset_token = f_remove_reset_token,
    .make_token = f_make_token,
    .save_token = f_save_token,
    .mark_dirty = f_mark_dirty,
    .notify = f_notify,
    .closing = f_closing,
    .release = f_release,
};

static uint8_t tx_bufs[2][QUIC_TX_BUF_SIZE];

static void host_init(fake_host *f, int i, uint16_t port) {
  memset(f, 0, sizeof(*f));
  f->host.ops = &fake_ops;
  f->host.tx_buf = tx_bufs[i];
  f->host.cid_len = QUIC_CID_LEN;
  quic_addr_parse(&f->addr, "127.0.0.1", port);
  f->timer_at = UINT64_MAX;
}

static void host_clear(fake_host *f) {
  if (f->session) quic_session_destroy(f->session);
  if (f->released) quic_session_free(f->released);
  f->released = NULL;
  while (f->inbox) {
    pkt *p = f->inbox;
    f->inbox = p->next;
    free(p);
  }
  f->inbox_tail = NULL;
  f->queued = 0;
}

/* ---- events ---- */

typedef struct collect {
  quic_event_sink sink;
  quic_event ev[256];
  size_t n;
} collect;

static int c_push(quic_event_sink *sink, const quic_event *e) {
  collect *c = QUIC_CONTAINER(sink, collect, sink);
  if (c->n == QUIC_ARRAY_LEN(c->ev)) return QUIC_ERR_NOMEM;
  c->ev[c->n++] = *e;
  return QUIC_OK;
}

/* ---- one exchange ---- */

typedef struct exchange {
  bool h3;
  bool wt;                   /* WebTransport inside HTTP/3 */
  bool wt16;                 /* wt: the session is draft-16's (webtransport-h3) */
  uint32_t client_versions, server_versions; /* wt: what each side read in the other's SETTINGS */
  uint32_t connect_key;      /* wt: the client's CONNECT stream */
  uint32_t server_connect_key;
  bool wt_ready;             /* wt: the client saw 200 */
  bool server_closed_7;      /* wt: the server saw our close, code 7 "bye" */
  uint64_t server_rejected, server_dropped; /* wt: the server's counters at its session's close */
  fake_host client, server;
  quic_session_config scfg, ccfg;
  uint8_t sent[ECHO_SIZE];
  uint8_t echoed[ECHO_SIZE];
  size_t echoed_len;
  uint8_t server_rx[ECHO_SIZE];
  size_t server_rx_len;
  bool datagram_back;        /* the client's datagram came back */
  bool got_status, got_body; /* HTTP/3 */
  bool client_closed_clean;
  bool done;
} exchange;

static quic_blob file_blob(const char *dir, const char *name) {
  static char bufs[4][8192];
  static int n;
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "pair_test: cannot read %s\n", path);
    exit(2);
  }
  char *b = bufs[n++ % 4];
  size_t len = fread(b, 1, sizeof(bufs[0]), f);
  fclose(f);
  return (quic_blob){(const uint8_t *)b, len};
}

static quic_blob key, cert, ca;

static int exchange_init(exchange *x, int mode) {
  bool h3 = mode != 0;
  memset(x, 0, sizeof(*x));
  x->h3 = h3;
  x->wt = mode >= 2;
  x->wt16 = mode == 3;
  for (size_t i = 0; i < ECHO_SIZE; i++) x->sent[i] = (uint8_t)(i * 2654435761u >> 24);
  host_init(&x->client, 0, 50000);
  host_init(&x->server, 1, 443);
  x->client.peer = &x->server;
  x->server.peer = &x->client;
  static const uint8_t alpn_raw[] = "\x04test", alpn_h3[] = "\x02h3";
  const uint8_t *alpn = h3 ? alpn_h3 : alpn_raw;
  size_t alpnlen = h3 ? 3 : 5;
  char msg[256];
  quic_session_config_defaults(&x->scfg);
  quic_session_config_defaults(&x->ccfg);
  x->scfg.max_datagram_frame_size = x->ccfg.max_datagram_frame_size = x->wt ? 65535 : h3 ? 0 : 1200;
  if (x->wt) x->scfg.h3.wt_max_sessions = x->ccfg.h3.wt_max_sessions = 2;
  quic_tls_options so = {.server = true, .keys = &key, .nkeys = 1, .certs = &cert, .ncerts = 1,
                         .alpn = alpn, .alpnlen = alpnlen};
  quic_tls_options co = {.server = false, .cas = &ca, .ncas = 1, .alpn = alpn, .alpnlen = alpnlen,
                         .reject_unauthorized = true, .verify_hostname = true};
  if (quic_tls_ctx_new(&x->scfg.tls, &so, msg, sizeof(msg)) != QUIC_OK) return QUIC_ERR_NOMEM;
  if (quic_tls_ctx_new(&x->ccfg.tls, &co, msg, sizeof(msg)) != QUIC_OK) return QUIC_ERR_NOMEM;
  x->ccfg.sni = quic_strdup("localhost");
  x->ccfg.verify_name = quic_strdup("localhost");
  if (x->ccfg.sni == NULL || x->ccfg.verify_name == NULL) return QUIC_ERR_NOMEM;
  return quic_session_connect(&x->client.session, &x->client.host, 1, &x->client.addr, &x->server.addr, &x->ccfg,
                              NULL);
}

static void exchange_clear(exchange *x) {
  host_clear(&x->client);
  host_clear(&x->server);
  quic_session_config_clear(&x->scfg);
  quic_session_config_clear(&x->ccfg);
}

static void drain(quic_stream *st, uint8_t *dst, size_t *len) {
  size_t n;
  while (*len < ECHO_SIZE && (n = quic_stream_read(st, dst + *len, ECHO_SIZE - *len)) > 0) *len += n;
  uint8_t scratch[256];
  while (quic_stream_read(st, scratch, sizeof(scratch)) > 0) {}
}

static bool hblock_has(const quic_hblock *b, const char *name, const char *value) {
  quic_hiter it;
  quic_hfield f;
  quic_hiter_init(&it, b->data, b->len, b->count);
  while (quic_hiter_next(&it, &f) > 0)
    if (f.namelen == strlen(name) && f.valuelen == strlen(value) && memcmp(f.name, name, f.namelen) == 0 &&
        memcmp(f.value, value, f.valuelen) == 0)
      return true;
  return false;
}

static int submit(quic_stream *st, const char *const (*h)[2], size_t n) {
  quic_nvlist nv = {0};
  int rv = QUIC_OK;
  for (size_t i = 0; i < n && rv == QUIC_OK; i++)
    rv = quic_nvlist_add(&nv, (const uint8_t *)h[i][0], strlen(h[i][0]), (const uint8_t *)h[i][1], strlen(h[i][1]));
  if (rv == QUIC_OK) rv = quic_stream_submit_headers(st, QUIC_HEADERS_INITIAL, &nv);
  quic_nvlist_clear(&nv);
  return rv;
}

/* Takes and frees the received datagrams; true if one of them was text. */
/* A WebTransport session's received datagrams: they wait in its own queue
 * (the connection's holds none of them); the list is the caller's. */
static quic_dgram *wt_datagrams(quic_session *s, quic_stream *connect) {
  quic_dgram *d = quic_session_take_datagrams(s);
  while (d) {
    quic_dgram *n = d->next;
    quic_free(d);
    d = n;
  }
  return connect ? quic_wt_api_datagrams_take(connect, 64) : NULL;
}

static bool take_datagrams(quic_session *s, const char *text) {
  bool seen = false;
  quic_dgram *d = quic_session_take_datagrams(s);
  while (d) {
    quic_dgram *n = d->next;
    if (d->len == strlen(text) && memcmp(d->data, text, d->len) == 0) seen = true;
    quic_free(d);
    d = n;
  }
  return seen;
}

static void on_client_event(exchange *x, const quic_event *e) {
  quic_session *s = e->session;
  quic_stream *st = e->stream_key ? quic_session_stream(s, e->stream_key) : NULL;
  switch (e->type) {
  case QUIC_E_SESSION_HANDSHAKE: {
    quic_stream *req;
    if (quic_session_open_stream(s, false, &req) != QUIC_OK) return;
    if (x->h3) {
      static const char *const h[][2] = {
          {":method", "POST"}, {":scheme", "https"}, {":authority", "localhost"}, {":path", "/echo"}};
      if (submit(req, h, 4) != QUIC_OK) return;
    } else {
      (void)quic_session_datagram(s, (const uint8_t *)"ping", 4);
    }
    (void)quic_stream_write(req, x->sent, ECHO_SIZE, true);
    break;
  }
  case QUIC_E_STREAM_HEADERS:
    if (st) {
      quic_hblock *b;
      while ((b = quic_stream_hblock(st)) != NULL) {
        if (hblock_has(b, ":status", "200")) x->got_status = true;
        quic_stream_drop_hblock(st);
      }
    }
    break;
  case QUIC_E_STREAM_DATA:
    if (st == NULL) break;
    drain(st, x->echoed, &x->echoed_len);
    if ((st->flags & QUIC_STREAM_RX_FIN) && st->rx_buffered == 0) {
      x->got_body = x->echoed_len == ECHO_SIZE;
      quic_session_close_graceful(s);
    }
    break;
  case QUIC_E_STREAM_CLOSE:
    if (st) quic_stream_release(st);
    break;
  case QUIC_E_SESSION_DATAGRAM:
    if (take_datagrams(s, "pong")) x->datagram_back = true;
    break;
  case QUIC_E_SESSION_CLOSE:
    x->client_closed_clean = s->close_kind == QUIC_CLOSE_APPLICATION && s->close_code == s->app->no_error;
    x->done = true;
    break;
  default:
    break;
  }
}

static void on_server_event(exchange *x, const quic_event *e) {
  quic_session *s = e->session;
  quic_stream *st = e->stream_key ? quic_session_stream(s, e->stream_key) : NULL;
  switch (e->type) {
  case QUIC_E_STREAM_HEADERS:
    if (st) {
      while (quic_stream_hblock(st)) quic_stream_drop_hblock(st);
      static const char *const h[][2] = {{":status", "200"}};
      (void)submit(st, h, 1);
    }
    break;
  case QUIC_E_STREAM_DATA:
    if (st == NULL) break;
    drain(st, x->server_rx, &x->server_rx_len);
    if ((st->flags & QUIC_STREAM_RX_FIN) && st->rx_buffered == 0 && !(st->flags & QUIC_STREAM_FIN_QUEUED))
      (void)quic_stream_write(st, x->server_rx, x->server_rx_len, true);
    break;
  case QUIC_E_STREAM_CLOSE:
    if (st) quic_stream_release(st);
    break;
  case QUIC_E_SESSION_DATAGRAM:
    if (take_datagrams(s, "ping")) (void)quic_session_datagram(s, (const uint8_t *)"pong", 4);
    break;
  default:
    break;
  }
}

/* ---- WebTransport ---- */

static void wt_client_event(exchange *x, const quic_event *e) {
  quic_session *s = e->session;
  quic_stream *st = e->stream_key ? quic_session_stream(s, e->stream_key) : NULL;
  switch (e->type) {
  case QUIC_E_SESSION_WT_SETTINGS:
    x->client_versions = e->aux;
    break;
  case QUIC_E_SESSION_HANDSHAKE: {
    quic_stream *req, *bad;
    if (quic_session_open_stream(s, false, &req) != QUIC_OK) return;
    static const char *const h[][2] = {{":method", "CONNECT"}, {":protocol", "webtransport"}, {":scheme", "https"},
                                       {":authority", "localhost"}, {":path", "/wt"}};
    static const char *const h16[][2] = {{":method", "CONNECT"}, {":protocol", "webtransport-h3"},
                                         {":scheme", "https"}, {":authority", "localhost"}, {":path", "/wt"}};
    if (submit(req, x->wt16 ? h16 : h, 5) != QUIC_OK ||
        quic_wt_api_connect(req, x->wt16 ? QUIC_WT_DRAFT16 : QUIC_WT_DRAFT02) != QUIC_OK)
      return;
    x->connect_key = req->key;
    /* Hostile: a stream and a datagram for session 400, which does not
     * exist (the stream is flagged so its bytes go out as written). */
    if (quic_session_open_stream(s, false, &bad) != QUIC_OK) return;
    bad->flags |= QUIC_STREAM_WT;
    bad->wt_session = 400;
    static const uint8_t junk[] = {0x40, 0x41, 0x41, 0x90, 'j', 'u', 'n', 'k'};
    (void)quic_stream_write(bad, junk, sizeof(junk), true);
    static const uint8_t dg[] = {0x40, 100, 'x'};
    (void)quic_session_datagram(s, dg, sizeof(dg));
    break;
  }
  case QUIC_E_STREAM_HEADERS:
    if (st) {
      quic_hblock *b;
      bool ok = false;
      while ((b = quic_stream_hblock(st)) != NULL) {
        ok = ok || hblock_has(b, ":status", "200");
        quic_stream_drop_hblock(st);
      }
      quic_stream *ws;
      if (!ok || quic_wt_api_accept(st) != QUIC_OK || quic_wt_api_open(st, false, &ws) != QUIC_OK) return;
      x->wt_ready = true;
      (void)quic_stream_write(ws, x->sent, ECHO_SIZE, true);
      (void)quic_wt_api_datagram(st, (const uint8_t *)"ping", 4);
    }
    break;
  case QUIC_E_STREAM_DATA:
    if (st == NULL || !(st->flags & QUIC_STREAM_WT)) break;
    drain(st, x->echoed, &x->echoed_len);
    if ((st->flags & QUIC_STREAM_RX_FIN) && st->rx_buffered == 0) {
      x->got_body = x->echoed_len == ECHO_SIZE;
      quic_stream *c = quic_session_stream(s, x->connect_key);
      if (c) (void)quic_wt_api_close(c, 7, (const uint8_t *)"bye", 3);
    }
    break;
  case QUIC_E_STREAM_WT_CLOSE:
    /* The server's end after our close: the session is over. */
    quic_session_close_graceful(s);
    break;
  case QUIC_E_STREAM_CLOSE:
    if (st) quic_stream_release(st);
    break;
  case QUIC_E_SESSION_DATAGRAM: {
    quic_stream *c = quic_session_stream(s, x->connect_key);
    quic_dgram *d = wt_datagrams(s, c);
    while (d) {
      quic_dgram *n = d->next;
      if (c && d->flow == c->id && d->len == 4 && memcmp(d->data, "pong", 4) == 0) x->datagram_back = true;
      quic_free(d);
      d = n;
    }
    break;
  }
  case QUIC_E_SESSION_CLOSE:
    x->client_closed_clean = s->close_kind == QUIC_CLOSE_APPLICATION && s->close_code == s->app->no_error;
    x->done = true;
    break;
  default:
    break;
  }
}

static void wt_server_event(exchange *x, const quic_event *e) {
  quic_session *s = e->session;
  quic_stream *st = e->stream_key ? quic_session_stream(s, e->stream_key) : NULL;
  uint64_t capsule_errors;
  switch (e->type) {
  case QUIC_E_SESSION_WT_SETTINGS:
    x->server_versions = e->aux;
    break;
  case QUIC_E_STREAM_HEADERS:
    if (st && (st->flags & QUIC_STREAM_WT_SESSION)) {
      while (quic_stream_hblock(st)) quic_stream_drop_hblock(st);
      static const char *const h[][2] = {{":status", "200"}, {"sec-webtransport-http3-draft", "draft02"}};
      if (quic_wt_api_accept(st) == QUIC_OK) (void)submit(st, h, x->wt16 ? 1 : 2); /* draft-16: no draft header */
      x->server_connect_key = st->key;
    }
    break;
  case QUIC_E_STREAM_DATA:
    if (st == NULL || !(st->flags & QUIC_STREAM_WT)) break;
    drain(st, x->server_rx, &x->server_rx_len);
    if ((st->flags & QUIC_STREAM_RX_FIN) && st->rx_buffered == 0 && !(st->flags & QUIC_STREAM_FIN_QUEUED))
      (void)quic_stream_write(st, x->server_rx, x->server_rx_len, true);
    break;
  case QUIC_E_STREAM_WT_CLOSE:
    if (st && e->aux == 1 && e->code == 7 && st->wt_reason && strcmp(st->wt_reason, "bye") == 0)
      x->server_closed_7 = true;
    break;
  case QUIC_E_STREAM_CLOSE:
    if (st) quic_stream_release(st);
    break;
  case QUIC_E_SESSION_DATAGRAM: {
    quic_stream *c = quic_session_stream(s, x->server_connect_key);
    quic_dgram *d = wt_datagrams(s, c);
    while (d) {
      quic_dgram *n = d->next;
      if (c && d->flow == c->id && d->len == 4 && memcmp(d->data, "ping", 4) == 0)
        (void)quic_wt_api_datagram(c, (const uint8_t *)"pong", 4);
      quic_free(d);
      d = n;
    }
    break;
  }
  case QUIC_E_SESSION_CLOSE:
    (void)quic_wt_api_counters(s, &x->server_rejected, &x->server_dropped, &capsule_errors);
    break;
  default:
    break;
  }
}

static void deliver(exchange *x, fake_host *f) {
  while (f->inbox) {
    pkt *p = f->inbox;
    f->inbox = p->next;
    if (f->inbox == NULL) f->inbox_tail = NULL;
    f->queued--;
    if (f->session) {
      quic_session_read(f->session, p->data, p->len, &f->addr, &f->peer->addr, 0);
    } else if (f == &x->server && f->released == NULL) {
      ngtcp2_pkt_hd hd;
      if (ngtcp2_accept(&hd, p->data, p->len) == 0)
        (void)quic_session_accept(&f->session, &f->host, 1, &hd, p->data, p->len, &f->addr, &f->peer->addr, 0,
                                  NULL, &x->scfg);
    }
    free(p);
  }
}

static void events(exchange *x, fake_host *f) {
  if (!f->notified) return;
  f->notified = false;
  quic_session *s = f->session ? f->session : NULL;
  if (s == NULL) return;
  collect c = {.sink = {c_push}};
  /* More than fit: the rest stay pending, and the next round takes them. */
  if (quic_session_collect_events(s, &c.sink) != QUIC_OK) f->notified = true;
  for (size_t i = 0; i < c.n; i++) {
    if (x->wt) {
      if (f == &x->client) wt_client_event(x, &c.ev[i]);
      else wt_server_event(x, &c.ev[i]);
    } else if (f == &x->client) {
      on_client_event(x, &c.ev[i]);
    } else {
      on_server_event(x, &c.ev[i]);
    }
  }
}

static void flush(fake_host *f) {
  if (!f->dirty || f->session == NULL) return;
  f->dirty = false;
  quic_session_flush(f->session);
}

/* Runs until the client's session has closed and both sides are quiet. */
static void exchange_run(exchange *x) {
  fake_host *sides[2] = {&x->client, &x->server};
  for (int step = 0; step < MAX_STEPS; step++) {
    for (int i = 0; i < 2; i++) {
      deliver(x, sides[i]);
      events(x, sides[i]);
      flush(sides[i]);
    }
    if (x->client.inbox || x->server.inbox || x->client.dirty || x->server.dirty || x->client.notified ||
        x->server.notified)
      continue;
    /* Nothing in flight: time moves to the next timer. */
    fake_host *next = x->client.timer_at <= x->server.timer_at ? &x->client : &x->server;
    if (next->timer_at == UINT64_MAX) break;
    if (next->timer_at > vclock) vclock = next->timer_at;
    next->timer_at = UINT64_MAX;
    if (next->session) quic_session_on_timer(next->session);
    if (next->released && next->session == NULL && x->client.session == NULL && x->server.session == NULL) break;
  }
}

static const char *mode_name(int mode) { return mode == 3 ? "wt16" : mode == 2 ? "wt" : mode ? "h3" : "raw"; }

static void run_clean(int mode) {
  static exchange x;
  bool h3 = mode != 0;
  CHECK_EQ(exchange_init(&x, mode), QUIC_OK);
  exchange_run(&x);
  CHECK(x.done);
  CHECK(x.client_closed_clean);
  CHECK_EQ(x.echoed_len, ECHO_SIZE);
  CHECK(memcmp(x.sent, x.echoed, ECHO_SIZE) == 0);
  if (mode >= 2) {
    /* The real SETTINGS frames, spliced and read: each side saw both
     * versions in the other's. */
    CHECK_EQ(x.client_versions, QUIC_WT_DRAFT02 | QUIC_WT_DRAFT16);
    CHECK_EQ(x.server_versions, QUIC_WT_DRAFT02 | QUIC_WT_DRAFT16);
    CHECK(x.wt_ready);
    CHECK(x.got_body);
    CHECK(x.datagram_back);
    CHECK(x.server_closed_7);
    CHECK(x.server_rejected == 1 && x.server_dropped >= 1);
  } else if (h3) {
    CHECK(x.got_status);
    CHECK(x.got_body);
  } else {
    CHECK(x.datagram_back);
  }
  exchange_clear(&x);
  CHECK_EQ(quic_mem_live_bytes(), 0);
  CHECK_EQ(quic_live_count(QUIC_LIVE_SESSIONS), 0);
}

/* Every allocation of the exchange fails in turn. */
static void run_faults(int mode, int64_t *tried, int64_t *completed) {
  static exchange x;
  quic_mem_fail_at(0);
  (void)exchange_init(&x, mode);
  exchange_run(&x);
  exchange_clear(&x);
  int64_t total = quic_mem_alloc_count();
  CHECK(total > 100);
  for (int64_t n = 1; n <= total; n++) {
    quic_mem_fail_at(n);
    if (exchange_init(&x, mode) == QUIC_OK) exchange_run(&x);
    bool ok = x.done && x.client_closed_clean && x.echoed_len == ECHO_SIZE &&
              memcmp(x.sent, x.echoed, ECHO_SIZE) == 0;
    exchange_clear(&x);
    quic_mem_fail_at(0);
    (*tried)++;
    if (ok) (*completed)++;
    int64_t live = quic_mem_live_bytes();
    if (live != 0) fprintf(stderr, "pair_test: %s, allocation %lld failed: %lld bytes left\n", mode_name(mode),
                           (long long)n, (long long)live);
    CHECK_EQ(live, 0);
    CHECK_EQ(quic_live_count(QUIC_LIVE_SESSIONS), 0);
    if (live != 0) break;
  }
}

int main(int argc, char **argv) {
  const char *fixtures = argc > 1 ? argv[1] : "test/fixtures";
  key = file_blob(fixtures, "server-key.pem");
  cert = file_blob(fixtures, "server-cert.pem");
  ca = file_blob(fixtures, "ca.pem");
  run_clean(0);
  run_clean(1);
  run_clean(2);
  run_clean(3);
  int64_t tried = 0, completed = 0;
  run_faults(0, &tried, &completed);
  run_faults(1, &tried, &completed);
  run_faults(2, &tried, &completed);
  printf("pair_test: %lld exchanges with one allocation failing, %lld completed anyway, all freed\n",
         (long long)tried, (long long)completed);
  return check_done("pair_test");
}

#include "harness.h"

#include "../src/webtransport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uv_loop_t *fuzz_loop;
static quic_tls_ctx *server_ctx[2], *client_ctx[2];
static int closed_wraps;
static uv_timer_t tick;
static int64_t baseline_bytes; /* the shared TLS contexts */

static quic_blob read_fixture(const char *dir, const char *name) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "fuzz: cannot open %s (set QUIC_FIXTURES)\n", path);
    exit(1);
  }
  static char bufs[3][16384];
  static int n;
  char *b = bufs[n++ % 3];
  size_t len = fread(b, 1, sizeof(bufs[0]), f);
  fclose(f);
  return (quic_blob){(const uint8_t *)b, len};
}

static void on_tick(uv_timer_t *t) { (void)t; }

void fuzz_init(void) {
  if (fuzz_loop) return;
  fuzz_loop = uv_default_loop();
  uv_timer_init(fuzz_loop, &tick);
  uv_unref((uv_handle_t *)&tick);
  const char *dir = getenv("QUIC_FIXTURES");
  if (dir == NULL) dir = QUIC_FIXTURES_DIR;
  quic_blob key = read_fixture(dir, "server-key.pem");
  quic_blob cert = read_fixture(dir, "server-cert.pem");
  quic_blob ca = read_fixture(dir, "ca.pem");
  static const uint8_t raw[] = "\x04" "fuzz", h3[] = "\x02" "h3";
  const uint8_t *alpn[2] = {raw, h3};
  size_t alpnlen[2] = {sizeof(raw) - 1, sizeof(h3) - 1};
  char msg[256];
  for (int i = 0; i < 2; i++) {
    quic_tls_options so = {.server = true, .keys = &key, .nkeys = 1, .certs = &cert, .ncerts = 1,
                           .alpn = alpn[i], .alpnlen = alpnlen[i]};
    quic_tls_options co = {.server = false, .cas = &ca, .ncas = 1, .alpn = alpn[i], .alpnlen = alpnlen[i],
                           .reject_unauthorized = true, .verify_hostname = true};
    if (quic_tls_ctx_new(&server_ctx[i], &so, msg, sizeof(msg)) != QUIC_OK ||
        quic_tls_ctx_new(&client_ctx[i], &co, msg, sizeof(msg)) != QUIC_OK) {
      fprintf(stderr, "fuzz: TLS setup failed: %s\n", msg);
      exit(1);
    }
  }
  baseline_bytes = quic_mem_live_bytes();
}

void fuzz_endpoint_config(quic_endpoint_config *c) {
  quic_endpoint_config_defaults(c);
  memset(c->reset_secret, 0x5a, sizeof(c->reset_secret));
  memset(c->token_secret, 0xa5, sizeof(c->token_secret));
}

void fuzz_server_config(quic_session_config *c, int alpn) {
  quic_session_config_defaults(c);
  quic_tls_ctx_ref(server_ctx[alpn]);
  c->tls = server_ctx[alpn];
}

void fuzz_client_config(quic_session_config *c, int alpn) {
  quic_session_config_defaults(c);
  quic_tls_ctx_ref(client_ctx[alpn]);
  c->tls = client_ctx[alpn];
  c->sni = quic_strdup("localhost");
  c->verify_name = quic_strdup("localhost");
}

void fuzz_on_closed(quic_wrap *w, void *user) {
  (void)w;
  (void)user;
  closed_wraps++;
}

void fuzz_run_until(bool *done, int max_iterations) {
  /* The tick keeps UV_RUN_ONCE from sleeping longer than a millisecond. */
  uv_ref((uv_handle_t *)&tick);
  uv_timer_start(&tick, on_tick, 1, 1);
  for (int i = 0; i < max_iterations && !(done && *done); i++) uv_run(fuzz_loop, UV_RUN_ONCE);
  uv_timer_stop(&tick);
  uv_unref((uv_handle_t *)&tick);
}

void fuzz_teardown(quic_wrap *a, quic_wrap *b) {
  int want = closed_wraps + (a != NULL) + (b != NULL);
  if (a) quic_wrap_destroy(a);
  if (b) quic_wrap_destroy(b);
  for (int i = 0; i < 1000 && closed_wraps < want; i++) uv_run(fuzz_loop, UV_RUN_NOWAIT);
  /* A client context remembers the server chain it verified: not a leak. */
  for (int i = 0; i < 2; i++) quic_tls_ctx_forget_verified(client_ctx[i]);
  int64_t bytes = quic_mem_live_bytes(), handles = quic_live_count(QUIC_LIVE_HANDLES),
          sessions = quic_live_count(QUIC_LIVE_SESSIONS), endpoints = quic_live_count(QUIC_LIVE_ENDPOINTS);
  /* The shared TLS contexts are the only things allowed to stay. */
  if (closed_wraps != want || handles || sessions || endpoints) {
    fprintf(stderr, "fuzz: after teardown: %d/%d wraps closed, %lld handles, %lld sessions, %lld endpoints\n",
            closed_wraps, want, (long long)handles, (long long)sessions, (long long)endpoints);
    abort();
  }
  if (bytes != baseline_bytes) {
    fprintf(stderr, "fuzz: %lld live bytes after teardown (%lld expected)\n", (long long)bytes,
            (long long)baseline_bytes);
    abort();
  }
}

/* Walks a header block with the decoder the binding uses, so a block whose
 * lengths do not add up is caught here rather than in JavaScript. */
static void check_hblock(const quic_hblock *b) {
  if (!quic_headers_valid(b->data, b->len, b->count)) abort();
}

static void respond(quic_stream *st) {
  quic_nvlist nv = {0};
  if (st->flags & QUIC_STREAM_WT_SESSION) {
    /* A WebTransport session: accepted, and its stream stays open (its
     * body carries capsules). */
    if (quic_wt_api_accept(st) == QUIC_OK &&
        quic_nvlist_add(&nv, (const uint8_t *)":status", 7, (const uint8_t *)"200", 3) == QUIC_OK)
      (void)quic_stream_submit_headers(st, QUIC_HEADERS_INITIAL, &nv);
    quic_nvlist_clear(&nv);
    return;
  }
  if (quic_nvlist_add(&nv, (const uint8_t *)":status", 7, (const uint8_t *)"200", 3) != QUIC_OK) return;
  if (quic_stream_submit_headers(st, QUIC_HEADERS_INITIAL, &nv) == QUIC_OK)
    (void)quic_stream_write(st, (const uint8_t *)"ok\n", 3, true);
  quic_nvlist_clear(&nv);
}

void fuzz_server_events(quic_wrap *w, void *user) {
  (void)user;
  fuzz_app_events(w, true);
}

void fuzz_app_events(quic_wrap *w, bool server) {
  static uint8_t sink[65536];
  for (size_t i = 0; i < w->nevents; i++) {
    quic_event *e = &w->events[i];
    quic_stream *st = e->session ? quic_session_stream(e->session, e->stream_key) : NULL;
    switch (e->type) {
    case QUIC_E_STREAM_DATA:
      if (st) while (quic_stream_read(st, sink, sizeof(sink)) > 0) {}
      break;
    case QUIC_E_STREAM_HEADERS:
      if (st == NULL) break;
      while (st->hb_head) {
        quic_hblock *b = st->hb_head;
        check_hblock(b);
        bool request = b->kind == QUIC_HEADERS_INITIAL;
        st->hb_head = b->next;
        if (st->hb_head == NULL) st->hb_tail = NULL;
        quic_free(b);
        if (server && request && !(st->flags & QUIC_STREAM_UNI)) respond(st);
      }
      break;
    case QUIC_E_STREAM_CLOSE:
      if (st) quic_stream_release(st);
      break;
    case QUIC_E_SESSION_DATAGRAM: {
      quic_dgram *d = quic_session_take_datagrams(e->session);
      while (d) {
        quic_dgram *next = d->next;
        quic_free(d);
        d = next;
      }
      break;
    }
    default:
      break;
    }
  }
}

/* One UDP port served by several threads (src/reuseport.h), no Node.js:
 * SERVERS threads each run a libuv loop with an endpoint in one port group
 * (the first made by quic_wrap_share, the others by quic_wrap_join from
 * their own thread; the last by quic_wrap_join_process, the path of a
 * member in another process, served by the group's server thread), and a
 * client thread opens CLIENTS connections to the
 * port, each echoing BYTES of its own pattern, checked byte for byte. Then:
 * the kernel took the steering program, every server thread accepted
 * sessions and their counts add up, no packet reached the wrong thread,
 * and nothing is left allocated. Then (with the program) the same with
 * independent members of a reusePort group, whose keeper process the
 * members' binds start (reuse_port_phase). With QUIC_DEBUG_NO_REUSEPORT_CBPF=1 the
 * group behaves as under a kernel that refuses the program: the kernel
 * spreads by address (one client port: one socket gets everything) and the
 * members hand each other the packets; the echoes must be as intact. test/c-core.test.js builds it with
 * -fsanitize=thread and runs it: ThreadSanitizer must report nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/endpoint.h"
#include "../../src/mem.h"
#include "../../src/stream.h"
#include "check.h"

#define SERVERS 4
#define CLIENTS 48
#define BYTES (64u * 1024)

static quic_blob key, cert, ca;
static const uint8_t alpn[] = "\x04test";
static uint64_t group_id;
static bool refused;              /* QUIC_DEBUG_NO_REUSEPORT_CBPF: the kernel "refused" the program */
static uv_barrier_t ready;        /* every server listens before the client starts */

typedef struct server {
  int index;
  uv_loop_t loop;
  uv_async_t stop;
  uv_thread_t thread;
  quic_wrap *wrap;
  int accepted;                   /* sessions this thread accepted (its own) */
  uint64_t misrouted;
  bool closed;
} server;

static server servers[SERVERS];

static void fail(const char *what) {
  fprintf(stderr, "workers_test: %s\n", what);
  exit(1);
}

static quic_blob file_blob(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) fail(path);
  char *b = malloc(8192);
  size_t len = fread(b, 1, 8192, f);
  fclose(f);
  return (quic_blob){(const uint8_t *)b, len};
}

static uint8_t pattern(uint32_t session, size_t i) { return (uint8_t)((i * 2654435761u + session * 40503u) >> 13); }

/* ---- servers: echo every stream ---- */

static void on_server_events(quic_wrap *w, void *user) {
  server *sv = user;
  uint8_t buf[16384];
  for (size_t i = 0; i < w->nevents; i++) {
    quic_event *e = &w->events[i];
    if (e->type == QUIC_E_SESSION_NEW) sv->accepted++;
    if (e->type != QUIC_E_STREAM_DATA) continue;
    quic_stream *st = quic_session_stream(e->session, e->stream_key);
    if (!st) continue;
    size_t n;
    while ((n = quic_stream_read(st, buf, sizeof(buf))) > 0)
      if (quic_stream_write(st, buf, n, false) != QUIC_OK) fail("server write");
    if ((st->flags & QUIC_STREAM_RX_FIN) && st->rx_buffered == 0 && !(st->flags & QUIC_STREAM_FIN_QUEUED))
      if (quic_stream_write(st, NULL, 0, true) != QUIC_OK) fail("server fin");
  }
}

static void on_server_closed(quic_wrap *w, void *user) {
  (void)w;
  ((server *)user)->closed = true;
}

static void on_stop(uv_async_t *a) {
  server *sv = a->data;
  sv->misrouted = sv->wrap->ep->counters->misrouted_count;
  quic_wrap_destroy(sv->wrap);
  uv_close((uv_handle_t *)a, NULL);
}

static void listen_on(server *sv) {
  char msg[256];
  quic_session_config sc;
  quic_session_config_defaults(&sc);
  quic_tls_options so = {.server = true, .keys = &key, .nkeys = 1, .certs = &cert, .ncerts = 1,
                         .alpn = alpn, .alpnlen = 5};
  if (quic_tls_ctx_new(&sc.tls, &so, msg, sizeof(msg)) != QUIC_OK) fail(msg);
  if (quic_wrap_listen(sv->wrap, &sc) != QUIC_OK) fail("listen");
}

static void server_thread(void *arg) {
  server *sv = arg;
  int err = 0;
  /* The first server made the group on the main thread; the others join
   * from their own. */
  /* With the program, the last joins as another process would (through
   * the group's server thread and a socket sent over a unix socket): the
   * cross-process path under the same sanitizers. Without it, a member in
   * "another process" cannot take hand-offs, so it stays out. */
  if (sv->index == SERVERS - 1 && !refused) {
    if (quic_wrap_join_process(&sv->wrap, &sv->loop, (uint32_t)getpid(), group_id, on_server_events,
                               on_server_closed, sv, &err) != QUIC_OK)
      fail("join from another process");
  } else if (sv->index > 0 &&
             quic_wrap_join(&sv->wrap, &sv->loop, group_id, on_server_events, on_server_closed, sv, &err) != QUIC_OK) {
    fail("join");
  }
  listen_on(sv);
  uv_barrier_wait(&ready);
  uv_run(&sv->loop, UV_RUN_DEFAULT);
}

/* ---- the client: CLIENTS connections, each a BYTES echo ---- */

typedef struct client_state {
  size_t echoed[CLIENTS + 1];     /* by session key (1..CLIENTS) */
  bool bad[CLIENTS + 1];
  int done, closed;
  quic_wrap *wrap;
} client_state;

static client_state cl;

static void on_client_events(quic_wrap *w, void *user) {
  (void)user;
  uint8_t buf[16384];
  for (size_t i = 0; i < w->nevents; i++) {
    quic_event *e = &w->events[i];
    quic_session *s = e->session;
    if (e->type == QUIC_E_SESSION_HANDSHAKE) {
      quic_stream *st;
      uint8_t *data = malloc(BYTES);
      for (size_t j = 0; j < BYTES; j++) data[j] = pattern(s->key, j);
      if (quic_session_open_stream(s, false, &st) != QUIC_OK) fail("open");
      if (quic_stream_write(st, data, BYTES, true) != QUIC_OK) fail("client write");
      free(data);
    } else if (e->type == QUIC_E_STREAM_DATA) {
      quic_stream *st = quic_session_stream(s, e->stream_key);
      if (!st || s->key > CLIENTS) continue;
      size_t n;
      while ((n = quic_stream_read(st, buf, sizeof(buf))) > 0) {
        for (size_t j = 0; j < n; j++)
          if (buf[j] != pattern(s->key, cl.echoed[s->key] + j)) cl.bad[s->key] = true;
        cl.echoed[s->key] += n;
      }
      if ((st->flags & QUIC_STREAM_RX_FIN) && st->rx_buffered == 0) {
        cl.done++;
        quic_session_close_graceful(s);
      }
    } else if (e->type == QUIC_E_SESSION_CLOSE) {
      if (++cl.closed == CLIENTS) quic_wrap_destroy(cl.wrap);
    }
  }
}

static void client_thread(void *arg) {
  const quic_addr *target = arg;
  memset(&cl, 0, sizeof(cl));
  uv_loop_t loop;
  uv_loop_init(&loop);
  quic_endpoint_config ec;
  quic_endpoint_config_defaults(&ec);
  int err = 0;
  if (quic_wrap_new(&cl.wrap, &loop, &ec, on_client_events, NULL, NULL) != QUIC_OK) fail("client wrap");
  if (quic_wrap_bind(cl.wrap, &err) != QUIC_OK) fail("client bind");
  char msg[256];
  quic_session_config cc;
  quic_session_config_defaults(&cc);
  quic_tls_options co = {.server = false, .cas = &ca, .ncas = 1, .alpn = alpn, .alpnlen = 5,
                         .reject_unauthorized = true, .verify_hostname = true};
  if (quic_tls_ctx_new(&cc.tls, &co, msg, sizeof(msg)) != QUIC_OK) fail(msg);
  cc.sni = quic_strdup("localhost");
  cc.verify_name = quic_strdup("localhost");
  for (int i = 0; i < CLIENTS; i++) {
    quic_session *s;
    if (quic_wrap_connect(cl.wrap, &s, target, &cc, NULL) != QUIC_OK) fail("connect");
  }
  quic_session_config_clear(&cc);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) fail("client loop still has handles");
}

/* ---- independent members (reusePort): a keeper process holds the group ----
 * RP threads each make their own endpoint for one address and port with a
 * group name and bind at once (racing to start the keeper: one forks it,
 * the others join), as separate processes do; the same echoes, each member
 * with its own worker index, nothing misrouted; and once every member has
 * gone the keeper goes and the port is free. */
#define RP 3
static server rp[RP];
static uv_barrier_t rp_ready;
static quic_addr rp_port;

static void rp_thread(void *arg) {
  server *sv = arg;
  quic_endpoint_config ec;
  quic_endpoint_config_defaults(&ec);
  ec.bind = rp_port;
  memcpy(ec.rp_name, "workers_test", 12);
  ec.rp_name_len = 12;
  int err = 0;
  if (quic_wrap_new(&sv->wrap, &sv->loop, &ec, on_server_events, on_server_closed, sv) != QUIC_OK) fail("rp wrap");
  if (quic_wrap_bind(sv->wrap, &err) != QUIC_OK) fail("rp bind (the keeper)");
  listen_on(sv);
  uv_barrier_wait(&rp_ready);
  uv_run(&sv->loop, UV_RUN_DEFAULT);
}

static bool port_free(const quic_addr *a) {
  quic_udp u;
  quic_udp_options o = {0};
  int err = 0;
  if (quic_udp_open(&u, a, &o, &err) != QUIC_OK) return false;
  quic_udp_close(&u);
  return true;
}

static void reuse_port_phase(void) {
  quic_udp u;
  quic_udp_options o = {0};
  quic_addr any;
  int err = 0;
  if (quic_addr_parse(&any, "127.0.0.1", 0) != QUIC_OK || quic_udp_open(&u, &any, &o, &err) != QUIC_OK)
    fail("a free port");
  rp_port = u.local;
  quic_udp_close(&u);
  uv_barrier_init(&rp_ready, RP + 1);
  for (int i = 0; i < RP; i++) {
    server *sv = &rp[i];
    sv->index = i;
    uv_loop_init(&sv->loop);
    uv_async_init(&sv->loop, &sv->stop, on_stop);
    sv->stop.data = sv;
    uv_thread_create(&sv->thread, rp_thread, sv);
  }
  uv_barrier_wait(&rp_ready);
  unsigned workers = 0;
  for (int i = 0; i < RP; i++) {
    CHECK(rp[i].wrap->ep->steered);
    CHECK(rp[i].wrap->ep->ipc_fd >= 0);
    workers |= 1u << rp[i].wrap->ep->worker;
  }
  CHECK_EQ(workers, (1u << RP) - 1); /* 0, 1, 2: one each */
  uv_thread_t ct;
  uv_thread_create(&ct, client_thread, &rp_port);
  uv_thread_join(&ct);
  for (int i = 0; i < RP; i++) uv_async_send(&rp[i].stop);
  int total = 0;
  for (int i = 0; i < RP; i++) {
    server *sv = &rp[i];
    uv_thread_join(&sv->thread);
    CHECK(sv->closed);
    CHECK_EQ(uv_loop_close(&sv->loop), 0);
    CHECK(sv->accepted > 0);
    CHECK_EQ(sv->misrouted, 0);
    total += sv->accepted;
    printf("reusePort member %d: %d sessions\n", i, sv->accepted);
  }
  CHECK_EQ(total, CLIENTS);
  CHECK_EQ(cl.done, CLIENTS);
  for (int i = 1; i <= CLIENTS; i++) {
    CHECK_EQ(cl.echoed[i], BYTES);
    CHECK(!cl.bad[i]);
  }
  /* The keeper leaves 200 ms after its last member; then no socket of the
   * group is left. */
  bool freed = false;
  for (int i = 0; i < 100 && !(freed = port_free(&rp_port)); i++) usleep(50 * 1000);
  CHECK(freed);
  uv_barrier_destroy(&rp_ready);
}

int main(int argc, char **argv) {
  const char *fixtures = argc > 1 ? argv[1] : "test/fixtures";
  char path[512];
  snprintf(path, sizeof(path), "%s/server-key.pem", fixtures);
  key = file_blob(path);
  snprintf(path, sizeof(path), "%s/server-cert.pem", fixtures);
  cert = file_blob(path);
  snprintf(path, sizeof(path), "%s/ca.pem", fixtures);
  ca = file_blob(path);

  const char *off = getenv("QUIC_DEBUG_NO_REUSEPORT_CBPF");
  refused = off && *off && *off != '0';
  uv_barrier_init(&ready, SERVERS + 1);
  quic_endpoint_config ec;
  quic_endpoint_config_defaults(&ec);
  for (int i = 0; i < SERVERS; i++) {
    server *sv = &servers[i];
    sv->index = i;
    uv_loop_init(&sv->loop);
    uv_async_init(&sv->loop, &sv->stop, on_stop);
    sv->stop.data = sv;
  }
  int err = 0;
  if (quic_wrap_new(&servers[0].wrap, &servers[0].loop, &ec, on_server_events, on_server_closed, &servers[0]) !=
      QUIC_OK)
    fail("first wrap");
  if (quic_wrap_share(servers[0].wrap, &group_id, &err) != QUIC_OK) fail("share");
  CHECK(group_id != 0);
  CHECK_EQ(servers[0].wrap->ep->worker, 0);
  for (int i = 0; i < SERVERS; i++) uv_thread_create(&servers[i].thread, server_thread, &servers[i]);
  uv_barrier_wait(&ready);
  CHECK_EQ(quic_group_steering(servers[0].wrap->ep->group), !refused);

  quic_addr port;
  quic_group_address(servers[0].wrap->ep->group, &port);
  uv_thread_t ct;
  uv_thread_create(&ct, client_thread, &port);
  uv_thread_join(&ct);

  for (int i = 0; i < SERVERS; i++) uv_async_send(&servers[i].stop);
  int total = 0;
  uint64_t handed = 0;
  for (int i = 0; i < SERVERS; i++) {
    server *sv = &servers[i];
    uv_thread_join(&sv->thread);
    CHECK(sv->closed);
    CHECK_EQ(uv_loop_close(&sv->loop), 0);
    CHECK(sv->accepted > 0);
    if (!refused) CHECK_EQ(sv->misrouted, 0);
    handed += sv->misrouted;
    total += sv->accepted;
    printf("server %d: %d sessions\n", i, sv->accepted);
  }
  CHECK_EQ(total, CLIENTS);
  if (refused) {
    CHECK(handed > 0);
    printf("without the steering program: %llu packets handed between threads\n", (unsigned long long)handed);
  }
  CHECK_EQ(cl.done, CLIENTS);
  for (int i = 1; i <= CLIENTS; i++) {
    CHECK_EQ(cl.echoed[i], BYTES);
    CHECK(!cl.bad[i]);
  }
  if (!refused) reuse_port_phase();
  free((void *)key.data);
  free((void *)cert.data);
  free((void *)ca.data);
  uv_barrier_destroy(&ready);
  CHECK_EQ(quic_mem_live_bytes(), 0);
  CHECK_EQ(quic_live_count(QUIC_LIVE_HANDLES), 0);
  return check_done("workers_test");
}

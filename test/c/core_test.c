/* Drives a client and a server with the C core and libuv alone, no Node.js:
 * handshake, a 1 MB echo on one stream, close, and zero live bytes after.
 * Built and run by test/c-core.test.js (and usable under sanitizers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/endpoint.h"
#include "../../src/mem.h"
#include "../../src/stats.h"
#include "../../src/stream.h"

#define SIZE (1u << 20)

static uint8_t *sent, *echoed, *server_rx;
static size_t echoed_len, server_rx_len;
static int closed_wraps;
static bool server_released, client_released, late_ticket_sent, refused_late_message;

/* A well-formed NewSessionTicket (RFC 8446 4.6.1) the server sends once the
 * client has let its TLS session go: the client must skip it and go on. It
 * is sent twice, so the second starts mid-stream of the first's bytes. */
static const uint8_t late_ticket[] = {
    4, 0, 0, 22,                /* new_session_ticket, 22 bytes */
    0, 0, 0x0e, 0x10,           /* lifetime */
    1, 2, 3, 4,                 /* age_add */
    1, 0,                       /* nonce */
    0, 8, 1, 2, 3, 4, 5, 6, 7, 8, /* ticket */
    0, 0,                       /* extensions */
    4, 0, 0, 22, 0, 0, 0x0e, 0x10, 1, 2, 3, 4, 1, 1, 0, 8, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0};
/* A KeyUpdate (forbidden in QUIC, RFC 9001 6) the client sends once the
 * echo is back: the released server must close with unexpected_message. */
static const uint8_t key_update[] = {24, 0, 0, 1, 0};
static quic_wrap *server, *client;
static quic_session *csession; /* the client's, while the transfer runs */

static void fail(const char *what) {
  fprintf(stderr, "core_test: %s\n", what);
  exit(1);
}

static quic_blob file_blob(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) fail(path);
  static char bufs[4][8192];
  static int n;
  char *b = bufs[n++ % 4];
  size_t len = fread(b, 1, sizeof(bufs[0]), f);
  fclose(f);
  return (quic_blob){(const uint8_t *)b, len};
}

static void drain(quic_stream *st, uint8_t *dst, size_t *len) {
  size_t n;
  while ((n = quic_stream_read(st, dst + *len, SIZE - *len)) > 0) *len += n;
}

/* Issue 5: GnuTLS's session is gone once the handshake is over (a client's
 * once the server's ticket is in), and what it reported is still there. */
static bool released_with_info(quic_session *s) {
  char buf[64];
  size_t len = 0;
  if (!quic_tls_released(&s->tls)) return false;
  quic_tls_alpn(&s->tls, buf, sizeof(buf));
  if (strcmp(buf, "test") != 0) fail("alpn after release");
  quic_tls_cipher(&s->tls, buf, sizeof(buf));
  if (buf[0] == 0) fail("cipher after release");
  if (quic_tls_certificate(&s->tls, !s->server, &len) == NULL || len == 0) fail("certificate after release");
  return true;
}

static void on_server_events(quic_wrap *w, void *user) {
  (void)user;
  for (size_t i = 0; i < w->nevents; i++) {
    quic_event *e = &w->events[i];
    if (e->type != QUIC_E_STREAM_DATA) continue;
    quic_stream *st = quic_session_stream(e->session, e->stream_key);
    if (!st) continue;
    if (released_with_info(e->session)) server_released = true;
    if (!late_ticket_sent && server_released && quic_tls_released(&csession->tls)) {
      late_ticket_sent = true;
      if (ngtcp2_conn_submit_crypto_data(e->session->conn, NGTCP2_ENCRYPTION_LEVEL_1RTT, late_ticket,
                                         sizeof(late_ticket)) != 0)
        fail("late ticket");
      w->host.ops->mark_dirty(&w->host, e->session);
    }
    drain(st, server_rx, &server_rx_len);
    if ((st->flags & QUIC_STREAM_RX_FIN) && st->rx_buffered == 0 && !(st->flags & QUIC_STREAM_FIN_QUEUED)) {
      if (quic_stream_write(st, server_rx, server_rx_len, true) != QUIC_OK) fail("server write");
    }
  }
}

static void on_client_events(quic_wrap *w, void *user) {
  (void)user;
  for (size_t i = 0; i < w->nevents; i++) {
    quic_event *e = &w->events[i];
    if (e->type == QUIC_E_SESSION_HANDSHAKE) {
      quic_stream *st;
      if (quic_session_open_stream(e->session, false, &st) != QUIC_OK) fail("open");
      if (quic_stream_write(st, sent, SIZE, true) != QUIC_OK) fail("client write");
    } else if (e->type == QUIC_E_STREAM_DATA) {
      quic_stream *st = quic_session_stream(e->session, e->stream_key);
      if (!st) continue;
      drain(st, echoed, &echoed_len);
      if (released_with_info(e->session)) client_released = true;
      if ((st->flags & QUIC_STREAM_RX_FIN) && st->rx_buffered == 0) {
        if (ngtcp2_conn_submit_crypto_data(e->session->conn, NGTCP2_ENCRYPTION_LEVEL_1RTT, key_update,
                                           sizeof(key_update)) != 0)
          fail("key update message");
        w->host.ops->mark_dirty(&w->host, e->session);
      }
    } else if (e->type == QUIC_E_SESSION_CLOSE) {
      /* 0x100 + unexpected_message (10): CRYPTO_ERROR from the server. */
      if (e->session->close_kind == QUIC_CLOSE_TRANSPORT && e->session->close_code == 0x10a)
        refused_late_message = true;
      quic_wrap_destroy(client);
      quic_wrap_destroy(server);
    }
  }
}

static void on_closed(quic_wrap *w, void *user) {
  (void)w;
  (void)user;
  closed_wraps++;
}

int main(int argc, char **argv) {
  const char *fixtures = argc > 1 ? argv[1] : "test/fixtures";
  char path[512];
  uv_loop_t *loop = uv_default_loop();
  sent = malloc(SIZE);
  echoed = malloc(SIZE);
  server_rx = malloc(SIZE);
  for (size_t i = 0; i < SIZE; i++) sent[i] = (uint8_t)(i * 2654435761u >> 24);

  quic_endpoint_config ec;
  quic_endpoint_config_defaults(&ec);
  int err = 0;
  if (quic_wrap_new(&server, loop, &ec, on_server_events, on_closed, NULL) != QUIC_OK) fail("server wrap");
  if (quic_wrap_new(&client, loop, &ec, on_client_events, on_closed, NULL) != QUIC_OK) fail("client wrap");
  if (quic_wrap_bind(server, &err) != QUIC_OK || quic_wrap_bind(client, &err) != QUIC_OK) fail("bind");

  static const uint8_t alpn[] = "\x04test";
  char msg[256];
  snprintf(path, sizeof(path), "%s/server-key.pem", fixtures);
  quic_blob key = file_blob(path);
  snprintf(path, sizeof(path), "%s/server-cert.pem", fixtures);
  quic_blob cert = file_blob(path);
  snprintf(path, sizeof(path), "%s/ca.pem", fixtures);
  quic_blob ca = file_blob(path);

  quic_session_config sc;
  quic_session_config_defaults(&sc);
  quic_tls_options so = {.server = true, .keys = &key, .nkeys = 1, .certs = &cert, .ncerts = 1,
                         .alpn = alpn, .alpnlen = 5};
  if (quic_tls_ctx_new(&sc.tls, &so, msg, sizeof(msg)) != QUIC_OK) fail(msg);
  if (quic_wrap_listen(server, &sc) != QUIC_OK) fail("listen");

  quic_session_config cc;
  quic_session_config_defaults(&cc);
  quic_tls_options co = {.server = false, .cas = &ca, .ncas = 1, .alpn = alpn, .alpnlen = 5,
                         .reject_unauthorized = true, .verify_hostname = true};
  if (quic_tls_ctx_new(&cc.tls, &co, msg, sizeof(msg)) != QUIC_OK) fail(msg);
  cc.sni = quic_strdup("localhost");
  cc.verify_name = quic_strdup("localhost");
  /* Paths (issue 4) under the sanitizers: qlog buffers that nobody takes
   * (freed with their sessions) and a 5-byte client SCID routed by length. */
  sc.qlog = cc.qlog = true;
  memcpy(cc.scid, "core!", cc.scidlen = 5);
  quic_session *s;
  if (quic_wrap_connect(client, &s, &server->ep->udp.local, &cc, NULL) != QUIC_OK) fail("connect");
  csession = s;
  quic_session_config_clear(&cc);
  /* Take the stats views the binding would: they outlive the objects. */
  quic_session_counters *sview = quic_stats_share(s->counters, &s->counters_inline, sizeof(s->counters_inline));
  quic_endpoint *cep = client->ep;
  quic_endpoint_counters *eview = quic_stats_share(cep->counters, &cep->counters_inline, sizeof(cep->counters_inline));
  if (sview == NULL || eview == NULL) fail("stats share");
  s->counters = sview;
  cep->counters = eview;

  uv_run(loop, UV_RUN_DEFAULT);

  /* Written in place until the end, then left to the view's owner. */
  if (sview->bytes_sent < SIZE || sview->bytes_received < SIZE || eview->bytes_sent < sview->bytes_sent)
    fail("stats byte counts");
  if (sview->destroyed_at == 0 || sview->handshake_completed_at < sview->created_at || sview->smoothed_rtt == 0)
    fail("stats session values");
  if (eview->destroyed_at == 0 || eview->client_sessions != 1) fail("stats endpoint values");
  quic_stats_release(sview, NULL);
  quic_stats_release(eview, NULL);

  if (closed_wraps != 2) fail("wraps not closed");
  if (!server_released || !client_released) fail("the TLS sessions were not released after the handshake");
  if (!late_ticket_sent) fail("no ticket was sent after the client's release");
  if (!refused_late_message) fail("the released server did not refuse a post-handshake KeyUpdate");
  if (server_rx_len != SIZE || memcmp(server_rx, sent, SIZE) != 0) fail("server received wrong data");
  if (echoed_len != SIZE || memcmp(echoed, sent, SIZE) != 0) fail("echo differs");
  if (quic_mem_live_bytes() != 0) {
    fprintf(stderr, "core_test: %lld live bytes after close\n", (long long)quic_mem_live_bytes());
    return 1;
  }
  uv_loop_close(loop);
  free(sent);
  free(echoed);
  free(server_rx);
  printf("core_test: 1 MB echoed through the C core without Node.js, TLS state released after the handshake; 0 live bytes\n");
  return 0;
}

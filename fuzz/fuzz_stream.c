/* libFuzzer target: arbitrary bytes on QUIC streams into a server session,
 * through the real path (a C client in the same process, a real handshake,
 * packets over loopback): stream classification (bidirectional or
 * unidirectional, peer-opened, limits) and, with the h3 ALPN, the HTTP/3
 * layer (nghttp3 framing and QPACK, our header block collection, request
 * announcement, responses). The client's own HTTP/3 state is dropped after
 * the handshake so it writes the input verbatim; its control and QPACK
 * streams (SETTINGS) have already gone out by then.
 *
 * Input: one flags byte (bit 0: h3), then records [ctl][len:2 big endian]
 * [bytes]: ctl bit 0 unidirectional, bit 1 FIN, bits 2-3 one of four streams
 * of that kind (opened on first use), bit 4 reset the stream afterwards. */
#include <string.h>

#include "../src/http3.h"
#include "harness.h"

static const uint8_t *input;
static size_t input_size;
static bool handshaken, closed, wrote;
static quic_session *client_session;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  return 0;
}

static void write_input(quic_session *s) {
  quic_stream *slots[2][4] = {{NULL}};
  size_t off = 1;
  while (off + 3 <= input_size) {
    uint8_t ctl = input[off];
    size_t len = ((size_t)input[off + 1] << 8) | input[off + 2];
    off += 3;
    if (len > input_size - off) len = input_size - off;
    bool uni = ctl & 1, fin = (ctl & 2) != 0;
    quic_stream **slot = &slots[uni][(ctl >> 2) & 3];
    if (*slot == NULL && quic_session_open_stream(s, uni, slot) != QUIC_OK) return;
    quic_stream *st = *slot;
    if (!(st->flags & QUIC_STREAM_FIN_QUEUED)) (void)quic_stream_write(st, input + off, len, fin);
    if (ctl & 16) quic_stream_abort(st, 0x10c, true, !uni);
    off += len;
  }
}

static void on_client_events(quic_wrap *w, void *user) {
  (void)user;
  static uint8_t sink[65536];
  for (size_t i = 0; i < w->nevents; i++) {
    quic_event *e = &w->events[i];
    quic_stream *st = quic_session_stream(e->session, e->stream_key);
    switch (e->type) {
    case QUIC_E_SESSION_HANDSHAKE:
      handshaken = true;
      client_session = e->session;
      quic_http3_free(e->session);
      write_input(e->session);
      wrote = true;
      break;
    case QUIC_E_STREAM_DATA:
      if (st) while (quic_stream_read(st, sink, sizeof(sink)) > 0) {}
      break;
    case QUIC_E_STREAM_CLOSE:
      if (st) quic_stream_release(st);
      break;
    case QUIC_E_SESSION_CLOSE:
      closed = true;
      client_session = NULL;
      break;
    default:
      break;
    }
  }
}

/* Everything the client wrote has been acknowledged (so the server has
 * processed it), or the connection is gone. */
static bool settled(void) {
  if (closed) return true;
  if (!wrote || client_session == NULL) return false;
  quic_session *s = client_session;
  ngtcp2_conn_info info;
  quic_session_conn_info(s, &info);
  return quic_list_empty(&s->send_queue) && quic_list_empty(&s->pending_open) && info.bytes_in_flight == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int alpn = (data[0] & 1) ? FUZZ_ALPN_H3 : FUZZ_ALPN_RAW;
  input = data;
  input_size = size;
  handshaken = closed = wrote = false;
  client_session = NULL;

  quic_endpoint_config ec;
  fuzz_endpoint_config(&ec);
  quic_wrap *server, *client;
  int err;
  if (quic_wrap_new(&server, fuzz_loop, &ec, fuzz_server_events, fuzz_on_closed, NULL) != QUIC_OK ||
      quic_wrap_new(&client, fuzz_loop, &ec, on_client_events, fuzz_on_closed, NULL) != QUIC_OK ||
      quic_wrap_bind(server, &err) != QUIC_OK || quic_wrap_bind(client, &err) != QUIC_OK)
    abort();
  quic_session_config sc, cc;
  fuzz_server_config(&sc, alpn);
  if (quic_wrap_listen(server, &sc) != QUIC_OK) abort();
  fuzz_client_config(&cc, alpn);
  quic_session *s;
  if (quic_session_connect(&s, client, &server->ep->udp.local, &cc) != QUIC_OK) abort();
  quic_session_config_clear(&cc);

  bool done = false;
  for (int i = 0; i < 400 && !done; i++) {
    fuzz_run_until(NULL, 1);
    done = settled();
  }
  client_session = NULL;
  fuzz_teardown(client, server);
  return 0;
}

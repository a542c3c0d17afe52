/* libFuzzer target: arbitrary bytes on QUIC streams into a session, through
 * the real path (a C client and server in the same process, a real
 * handshake, packets over loopback): stream classification (bidirectional
 * or unidirectional, peer-opened, limits) and, with the h3 ALPN, the HTTP/3
 * layer (nghttp3 framing and QPACK, our header block collection, request
 * announcement, responses). The writing side's own HTTP/3 state is set aside
 * after the handshake so it sends the input verbatim; its control and QPACK
 * streams (SETTINGS) have already gone out by then.
 *
 * Input: one flags byte (bit 0: h3; bit 1: reverse, the server writes the
 * input towards the client; bit 2: WebTransport on both sides, with h3),
 * then records [ctl][len:2 big endian][bytes]: ctl bit 0 unidirectional,
 * bit 1 FIN, bits 2-3 one of four streams of that kind, bit 4 reset the
 * stream afterwards, bit 5 the bytes are a datagram instead (WebTransport:
 * an HTTP/3 datagram with its quarter-stream-ID prefix, as written). With
 * WebTransport the reading side classifies streams by their first varint
 * (0x54 / 0x41 and a session ID), accepts extended CONNECTs as sessions
 * and reads capsules on them. Forward, the first bidirectional slot's
 * records go first (the CONNECT), and the rest once the server has
 * answered on that stream (so streams and datagrams can find the session
 * open, as they would from a real client). Forward, the client opens the
 * streams. Reverse, the client sends four GET requests (with h3) or four
 * bidirectional streams, and the server's bidirectional records are its
 * answers on them; unidirectional records go on streams the server opens. */
#include <string.h>

#include "harness.h"

static const uint8_t *input;
static size_t input_size;
static bool reverse, h3, wt, closed;
static int pending_slots;     /* bidi slots whose records still wait for a stream */
static quic_session *writer;  /* the session writing the input, once handshaken */

/* The writer's HTTP/3 state is set aside when it starts writing raw bytes,
 * and freed with the session: ngtcp2 keeps pointers into the stream data it
 * was given (the control stream's SETTINGS) until they are acknowledged, and
 * sends it again from there after a probe timeout. Freeing it at the swap
 * was a use after free in this harness, not in the library. */
static const quic_app_ops *set_aside_app;
static void *set_aside_data;
static quic_app_ops writer_app;

static void writer_stop(quic_session *s) {
  quic_app_raw.stop(s);
  if (set_aside_app == NULL) return;
  s->app_data = set_aside_data;
  set_aside_app->stop(s);
  set_aside_app = NULL;
  set_aside_data = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  return 0;
}

/* Writes the records for streams matching (uni, slot); slot -1: all. The
 * stream for a record is opened on first use unless one is given. */
static void write_records(quic_session *s, bool want_uni, int want_slot, quic_stream *given) {
  quic_stream *opened[2][4] = {{NULL}};
  size_t off = 1;
  while (off + 3 <= input_size) {
    uint8_t ctl = input[off];
    size_t len = ((size_t)input[off + 1] << 8) | input[off + 2];
    off += 3;
    if (len > input_size - off) len = input_size - off;
    const uint8_t *bytes = input + off;
    off += len;
    bool uni = ctl & 1, fin = (ctl & 2) != 0;
    int slot = (ctl >> 2) & 3;
    if (ctl & 32) {
      /* A datagram, sent once, with the unidirectional records. */
      if (want_uni && want_slot < 0) (void)quic_session_datagram(s, bytes, len);
      continue;
    }
    if (uni != want_uni || (want_slot >= 0 && slot != want_slot)) continue;
    quic_stream **st = given ? &given : &opened[uni][slot];
    if (*st == NULL && quic_session_open_stream(s, uni, st) != QUIC_OK) return;
    (void)quic_stream_write(*st, bytes, len, fin);
    if (ctl & 16) quic_stream_abort(*st, 0x10c, true, !uni);
  }
}

static bool has_records(bool want_uni, int want_slot) {
  for (size_t off = 1; off + 3 <= input_size;) {
    uint8_t ctl = input[off];
    size_t len = ((size_t)input[off + 1] << 8) | input[off + 2];
    off += 3 + (len < input_size - off - 3 ? len : input_size - off - 3);
    if (!(ctl & 32) && (bool)(ctl & 1) == want_uni && (want_slot < 0 || ((ctl >> 2) & 3) == want_slot)) return true;
  }
  return false;
}

/* Reverse: the client's requests the server answers with the input. */
static void send_requests(quic_session *s) {
  for (int i = 0; i < 4; i++) {
    quic_stream *st;
    if (quic_session_open_stream(s, false, &st) != QUIC_OK) return;
    if (h3) {
      quic_nvlist nv = {0};
      const char *h[][2] = {{":method", "GET"}, {":scheme", "https"}, {":authority", "localhost"}, {":path", "/"}};
      for (size_t k = 0; k < 4; k++)
        (void)quic_nvlist_add(&nv, (const uint8_t *)h[k][0], strlen(h[k][0]), (const uint8_t *)h[k][1],
                              strlen(h[k][1]));
      (void)quic_stream_submit_headers(st, QUIC_HEADERS_INITIAL, &nv);
      quic_nvlist_clear(&nv);
    }
    (void)quic_stream_write(st, (const uint8_t *)"?", h3 ? 0 : 1, true);
  }
}

static void on_events(quic_wrap *w, bool server) {
  for (size_t i = 0; i < w->nevents; i++) {
    quic_event *e = &w->events[i];
    bool writes = server == reverse;
    if (e->type == QUIC_E_SESSION_HANDSHAKE) {
      if (writes) {
        writer = e->session;
        /* The writer plays a peer that writes raw bytes: no HTTP/3 of its own. */
        set_aside_app = e->session->app;
        set_aside_data = e->session->app_data;
        writer_app = quic_app_raw;
        writer_app.stop = writer_stop;
        e->session->app_data = NULL;
        e->session->app = &writer_app;
        if (reverse) {
          write_records(e->session, true, -1, NULL);
        } else if (wt) {
          write_records(e->session, false, 0, NULL);
        } else {
          write_records(e->session, false, -1, NULL);
          write_records(e->session, true, -1, NULL);
        }
      } else if (reverse) {
        send_requests(e->session);
      }
    } else if (e->type == QUIC_E_STREAM_NEW && writes && reverse && e->stream_id >= 0 &&
               (e->stream_id & 3) == 0 && e->stream_id < 16) {
      /* A client request: answer with the records of its slot. */
      int slot = (int)(e->stream_id >> 2);
      quic_stream *st = quic_session_stream(e->session, e->stream_key);
      if (st && has_records(false, slot)) {
        write_records(e->session, false, slot, st);
        pending_slots--;
      }
    } else if (wt && !reverse && writes && e->stream_id == 0 && pending_slots > 0 &&
               (e->type == QUIC_E_STREAM_DATA || e->type == QUIC_E_STREAM_RESET || e->type == QUIC_E_STREAM_CLOSE)) {
      /* The server answered the CONNECT: the session's streams and datagrams. */
      pending_slots = 0;
      for (int slot = 1; slot < 4; slot++) write_records(e->session, false, slot, NULL);
      write_records(e->session, true, -1, NULL);
    } else if (e->type == QUIC_E_SESSION_CLOSE) {
      closed = true;
      if (e->session == writer) writer = NULL;
    }
  }
  fuzz_app_events(w, server);
}

static void on_server(quic_wrap *w, void *user) {
  (void)user;
  on_events(w, true);
}

static void on_client(quic_wrap *w, void *user) {
  (void)user;
  on_events(w, false);
}

/* Everything the writer wrote has been acknowledged (so the peer has
 * processed it), or the connection is gone. */
static bool settled(void) {
  if (closed) return true;
  if (writer == NULL || pending_slots > 0) return false;
  ngtcp2_conn_info info;
  ngtcp2_conn_get_conn_info(writer->conn, &info);
  return quic_list_empty(&writer->send_queue) && quic_list_empty(&writer->pending_open) && info.bytes_in_flight == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  h3 = data[0] & 1;
  reverse = (data[0] & 2) != 0;
  wt = h3 && (data[0] & 4) != 0;
  input = data;
  input_size = size;
  closed = false;
  writer = NULL;
  pending_slots = 0;
  if (reverse)
    for (int slot = 0; slot < 4; slot++) pending_slots += has_records(false, slot);
  else if (wt)
    pending_slots = 1; /* the second half waits for the server's answer */

  quic_endpoint_config ec;
  fuzz_endpoint_config(&ec);
  quic_wrap *server, *client;
  int err;
  if (quic_wrap_new(&server, fuzz_loop, &ec, on_server, fuzz_on_closed, NULL) != QUIC_OK ||
      quic_wrap_new(&client, fuzz_loop, &ec, on_client, fuzz_on_closed, NULL) != QUIC_OK ||
      quic_wrap_bind(server, &err) != QUIC_OK || quic_wrap_bind(client, &err) != QUIC_OK)
    abort();
  quic_session_config sc, cc;
  int alpn = h3 ? FUZZ_ALPN_H3 : FUZZ_ALPN_RAW;
  fuzz_server_config(&sc, alpn);
  if (wt) {
    sc.h3.wt_max_sessions = 4;
    sc.max_datagram_frame_size = 65535;
  }
  if (quic_wrap_listen(server, &sc) != QUIC_OK) abort();
  fuzz_client_config(&cc, alpn);
  if (wt) {
    cc.h3.wt_max_sessions = 4;
    cc.max_datagram_frame_size = 65535;
  }
  quic_session *s;
  if (quic_wrap_connect(client, &s, &server->ep->udp.local, &cc, NULL) != QUIC_OK) abort();
  quic_session_config_clear(&cc);

  bool done = false;
  for (int i = 0; i < 400 && !done; i++) {
    fuzz_run_until(NULL, 1);
    done = settled();
  }
  writer = NULL;
  fuzz_teardown(client, server);
  return 0;
}

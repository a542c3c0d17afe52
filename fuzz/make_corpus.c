/* Writes the seed corpora under fuzz/corpus/ from real exchanges:
 *  packet/: the datagrams a C client sent to a C server during a real
 *           handshake and one request, recorded by a UDP relay between
 *           them, in fuzz_packet's input format (raw ALPN and h3, with and
 *           without address validation);
 *  stream/: HTTP/3 request streams as nghttp3's client encodes them, and
 *           raw stream data, in fuzz_stream's input format.
 * Usage: make_corpus <corpus dir>. Run by `node scripts/fuzz.js --seed`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#include "../src/webtransport.h"

typedef struct buf {
  uint8_t data[65536];
  size_t len;
} buf;

static void put(buf *b, const void *p, size_t n) {
  if (b->len + n > sizeof(b->data)) abort();
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void put_record(buf *b, uint8_t ctl, const uint8_t *p, size_t n) {
  uint8_t hdr[3] = {ctl, (uint8_t)(n >> 8), (uint8_t)n};
  put(b, hdr, 3);
  put(b, p, n);
}

static void save(const char *dir, const char *name, const buf *b) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
    fprintf(stderr, "make_corpus: cannot write %s\n", path);
    exit(1);
  }
}

/* ---- a relay that records what the client sends ---- */

static uv_udp_t front, back;  /* client <-> front ... back <-> server */
static struct sockaddr_storage client_addr, server_addr;
static buf captured;
static size_t ndatagrams;
static bool done;
static int alpn_kind;

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)h;
  (void)hint;
  static char space[65536];
  *b = uv_buf_init(space, sizeof(space));
}

static void forward(uv_udp_t *via, const struct sockaddr *to, const uv_buf_t *b, ssize_t n) {
  uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
  (void)uv_udp_try_send(via, &out, 1, to);
}

static void on_front(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *from, unsigned flags) {
  (void)h;
  (void)flags;
  if (n <= 0 || from == NULL) return;
  memcpy(&client_addr, from, sizeof(struct sockaddr_in));
  if (ndatagrams < 12) {
    put_record(&captured, 0, (const uint8_t *)b->base, (size_t)n);
    ndatagrams++;
  }
  forward(&back, (const struct sockaddr *)&server_addr, b, n);
}

static void on_back(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *from, unsigned flags) {
  (void)h;
  (void)from;
  (void)flags;
  if (n <= 0) return;
  forward(&front, (const struct sockaddr *)&client_addr, b, n);
}

static void on_client_events(quic_wrap *w, void *user) {
  (void)user;
  static uint8_t sink[4096];
  for (size_t i = 0; i < w->nevents; i++) {
    quic_event *e = &w->events[i];
    quic_stream *st = quic_session_stream(e->session, e->stream_key);
    if (e->type == QUIC_E_SESSION_HANDSHAKE) {
      quic_stream *req;
      if (quic_session_open_stream(e->session, false, &req) != QUIC_OK) abort();
      if (alpn_kind == FUZZ_ALPN_H3) {
        quic_nvlist nv = {0};
        const char *h[][2] = {{":method", "POST"}, {":scheme", "https"}, {":authority", "localhost"},
                              {":path", "/upload"}, {"content-type", "text/plain"}};
        for (size_t k = 0; k < 5; k++)
          quic_nvlist_add(&nv, (const uint8_t *)h[k][0], strlen(h[k][0]), (const uint8_t *)h[k][1], strlen(h[k][1]));
        if (quic_stream_submit_headers(req, QUIC_HEADERS_INITIAL, &nv) != QUIC_OK) abort();
        quic_nvlist_clear(&nv);
      }
      (void)quic_stream_write(req, (const uint8_t *)"hello over quic\n", 16, true);
    } else if (e->type == QUIC_E_STREAM_HEADERS && st) {
      quic_stream_hblocks_free(st);
    } else if (e->type == QUIC_E_STREAM_DATA && st) {
      while (quic_stream_read(st, sink, sizeof(sink)) > 0) {}
      if ((st->flags & QUIC_STREAM_RX_FIN) && !(st->flags & QUIC_STREAM_UNI)) done = true;
    } else if (e->type == QUIC_E_STREAM_CLOSE && st) {
      quic_stream_release(st);
    } else if (e->type == QUIC_E_SESSION_CLOSE) {
      done = true;
    }
  }
}

/* The raw server echoes what it got; the h3 one answers (harness.c). */
static void on_server_events(quic_wrap *w, void *user) {
  static uint8_t got[4096];
  for (size_t i = 0; i < w->nevents; i++) {
    quic_event *e = &w->events[i];
    quic_stream *st = quic_session_stream(e->session, e->stream_key);
    if (alpn_kind == FUZZ_ALPN_RAW && e->type == QUIC_E_STREAM_DATA && st) {
      size_t n = quic_stream_read(st, got, sizeof(got));
      if (n) (void)quic_stream_write(st, got, n, (st->flags & QUIC_STREAM_RX_FIN) != 0);
    }
  }
  fuzz_server_events(w, user);
}

static void capture_handshake(const char *dir, int alpn, const char *name) {
  alpn_kind = alpn;
  captured.len = 0;
  ndatagrams = 0;
  done = false;
  quic_endpoint_config ec;
  fuzz_endpoint_config(&ec);
  quic_wrap *server, *client;
  int err;
  if (quic_wrap_new(&server, fuzz_loop, &ec, on_server_events, fuzz_on_closed, NULL) != QUIC_OK ||
      quic_wrap_new(&client, fuzz_loop, &ec, on_client_events, fuzz_on_closed, NULL) != QUIC_OK ||
      quic_wrap_bind(server, &err) != QUIC_OK || quic_wrap_bind(client, &err) != QUIC_OK)
    abort();
  quic_session_config sc, cc;
  fuzz_server_config(&sc, alpn);
  if (quic_wrap_listen(server, &sc) != QUIC_OK) abort();
  memcpy(&server_addr, &server->ep->udp.local.u.ss, sizeof(struct sockaddr_in));

  struct sockaddr_in any;
  uv_ip4_addr("127.0.0.1", 0, &any);
  uv_udp_init(fuzz_loop, &front);
  uv_udp_init(fuzz_loop, &back);
  uv_udp_bind(&front, (const struct sockaddr *)&any, 0);
  uv_udp_bind(&back, (const struct sockaddr *)&any, 0);
  uv_udp_recv_start(&front, on_alloc, on_front);
  uv_udp_recv_start(&back, on_alloc, on_back);
  quic_addr relay;
  relay.len = sizeof(relay.u.ss);
  uv_udp_getsockname(&front, &relay.u.sa, (int *)&relay.len);
  relay.len = sizeof(struct sockaddr_in);

  fuzz_client_config(&cc, alpn);
  quic_session *s;
  if (quic_wrap_connect(client, &s, &relay, &cc, NULL) != QUIC_OK) abort();
  quic_session_config_clear(&cc);
  fuzz_run_until(&done, 3000);
  if (!done) {
    fprintf(stderr, "make_corpus: the %s exchange did not finish\n", name);
    exit(1);
  }
  /* A few more turns so the client's last acknowledgements are recorded. */
  fuzz_run_until(NULL, 20);
  uv_close((uv_handle_t *)&front, NULL);
  uv_close((uv_handle_t *)&back, NULL);
  fuzz_teardown(client, server);

  char file[64];
  buf out;
  uint8_t flags = alpn == FUZZ_ALPN_H3 ? 2 : 0;
  out.len = 0;
  put(&out, &flags, 1);
  put(&out, captured.data, captured.len);
  snprintf(file, sizeof(file), "%s-exchange", name);
  save(dir, file, &out);
  /* The same with address validation on: the server answers with Retry. */
  out.data[0] |= 1;
  snprintf(file, sizeof(file), "%s-exchange-validate", name);
  save(dir, file, &out);
  /* The first flight alone. */
  size_t first = 3 + (((size_t)captured.data[1] << 8) | captured.data[2]);
  out.len = 1;
  out.data[0] = flags;
  put(&out, captured.data, first);
  snprintf(file, sizeof(file), "%s-initial", name);
  save(dir, file, &out);
  printf("make_corpus: %s: %zu client datagrams recorded\n", name, ndatagrams);
}

/* ---- HTTP/3 request streams as nghttp3's client writes them ---- */

static const char *body;
static bool want_trailers;

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP3_NV_FLAG_NONE}

static nghttp3_ssize read_body(nghttp3_conn *conn, int64_t id, nghttp3_vec *vec, size_t veccnt, uint32_t *flags,
                               void *user, void *stream_user) {
  (void)veccnt;
  (void)user;
  (void)stream_user;
  *flags |= NGHTTP3_DATA_FLAG_EOF;
  if (want_trailers) {
    /* The body ends with a trailer block instead of the stream's FIN. */
    static nghttp3_nv trl[] = {NV("x-checksum", "abc123")};
    *flags |= NGHTTP3_DATA_FLAG_NO_END_STREAM;
    if (nghttp3_conn_submit_trailers(conn, id, trl, 1) != 0) abort();
    want_trailers = false;
  }
  if (body == NULL) return 0;
  vec[0].base = (uint8_t *)body;
  vec[0].len = strlen(body);
  body = NULL;
  return 1;
}

/* Takes what nghttp3 wants to write, per stream (ids modulo 16). */
static void collect(nghttp3_conn *c, buf *streams, bool *fins) {
  for (;;) {
    int64_t id;
    int fin;
    nghttp3_vec v[16];
    nghttp3_ssize n = nghttp3_conn_writev_stream(c, &id, &fin, v, 16);
    if (n < 0) abort();
    if (id < 0) break;
    size_t total = 0;
    for (nghttp3_ssize k = 0; k < n; k++) {
      put(&streams[id % 16], v[k].base, v[k].len);
      total += v[k].len;
    }
    if (fin) fins[id % 16] = true;
    if (nghttp3_conn_add_write_offset(c, id, total) != 0) abort();
    if (total == 0 && !fin) break;
  }
}

/* Encodes requests; streams 0, 4 (bidi) and the client's control stream go
 * into records: bidi slot = id / 4, uni slot 0 = control (optional). */
static void h3_seed(const char *dir, const char *name, int nreq, const char *req_body, bool with_control,
                    bool trailers) {
  nghttp3_conn *c;
  nghttp3_callbacks cb;
  memset(&cb, 0, sizeof(cb));
  nghttp3_settings set;
  nghttp3_settings_default(&set);
  if (nghttp3_conn_client_new(&c, &cb, &set, quic_mem_nghttp3(), NULL) != 0) abort();
  nghttp3_conn_bind_control_stream(c, 2);
  nghttp3_conn_bind_qpack_streams(c, 6, 10);
  nghttp3_nv get[] = {NV(":method", "GET"), NV(":scheme", "https"), NV(":authority", "localhost"),
                      NV(":path", "/index.html"), NV("user-agent", "make_corpus"), NV("accept", "*/*")};
  nghttp3_nv post[] = {NV(":method", "POST"), NV(":scheme", "https"), NV(":authority", "localhost"),
                       NV(":path", "/form"), NV("content-type", "application/x-www-form-urlencoded")};
  nghttp3_data_reader dr = {read_body};
  for (int i = 0; i < nreq; i++) {
    body = req_body;
    want_trailers = trailers;
    int rv = req_body ? nghttp3_conn_submit_request(c, 4 * i, post, 5, &dr, NULL)
                      : nghttp3_conn_submit_request(c, 4 * i, get, 6, NULL, NULL);
    if (rv != 0) abort();
  }
  static buf streams[16];
  static bool fins[16];
  memset(fins, 0, sizeof(fins));
  for (int i = 0; i < 16; i++) streams[i].len = 0;
  collect(c, streams, fins);
  nghttp3_conn_del(c);
  buf out;
  out.len = 0;
  uint8_t flags = 1;
  put(&out, &flags, 1);
  if (with_control) put_record(&out, 1, streams[2].data, streams[2].len);
  for (int i = 0; i < nreq; i++) {
    const buf *b = &streams[(4 * i) % 16];
    put_record(&out, (uint8_t)((i & 3) << 2 | (fins[(4 * i) % 16] ? 2 : 0)), b->data, b->len);
  }
  save(dir, name, &out);
}

/* WebTransport (fuzz_stream flags 0x05): nghttp3's client encodes an
 * extended CONNECT whose body is capsules (an unknown one, a DRAIN, a
 * CLOSE), and the session's streams and datagrams follow as WebTransport
 * writes them. draft16: the CONNECT is draft-16's (`webtransport-h3`) and
 * the body also has draft-16's flow-control capsules (which are ignored)
 * and a close reason in UTF-8 beyond ASCII; bad_id: a stream names session
 * 2, which no client-initiated bidirectional stream has (H3_ID_ERROR). */
static const uint8_t *wt_body;
static size_t wt_body_len;

static nghttp3_ssize read_capsules(nghttp3_conn *conn, int64_t id, nghttp3_vec *vec, size_t veccnt, uint32_t *flags,
                                   void *user, void *stream_user) {
  (void)conn;
  (void)id;
  (void)veccnt;
  (void)user;
  (void)stream_user;
  *flags |= NGHTTP3_DATA_FLAG_EOF;
  vec[0].base = (uint8_t *)wt_body;
  vec[0].len = wt_body_len;
  return 1;
}

static void wt_seed(const char *dir, const char *name, bool close_session, bool draft16, bool bad_id) {
  nghttp3_conn *c;
  nghttp3_callbacks cb;
  memset(&cb, 0, sizeof(cb));
  nghttp3_settings set;
  nghttp3_settings_default(&set);
  set.h3_datagram = 1;
  if (nghttp3_conn_client_new(&c, &cb, &set, quic_mem_nghttp3(), NULL) != 0) abort();
  nghttp3_conn_bind_control_stream(c, 2);
  nghttp3_conn_bind_qpack_streams(c, 6, 10);
  nghttp3_nv connect[] = {NV(":method", "CONNECT"), NV(":protocol", "webtransport"), NV(":scheme", "https"),
                          NV(":authority", "localhost"), NV(":path", "/wt"), NV("origin", "https://localhost"),
                          NV("sec-webtransport-http3-draft02", "1")};
  nghttp3_nv h3proto[] = {NV(":protocol", "webtransport-h3")};
  if (draft16) connect[1] = h3proto[0]; /* and no draft-02 header (the last field) */
  uint8_t capsules[192];
  size_t n = 0;
  uint8_t junk[5] = {1, 2, 3, 4, 5};
  n += quic_wt_capsule(capsules + n, 0x17, junk, sizeof(junk));
  n += quic_wt_capsule(capsules + n, QUIC_WT_CAPSULE_DRAIN, NULL, 0);
  if (draft16) {
    static const uint32_t fc[] = {QUIC_WT_CAPSULE_MAX_DATA, QUIC_WT_CAPSULE_MAX_STREAMS_BIDI,
                                  QUIC_WT_CAPSULE_MAX_STREAMS_UNI, QUIC_WT_CAPSULE_DATA_BLOCKED,
                                  QUIC_WT_CAPSULE_STREAMS_BLOCKED_BIDI, QUIC_WT_CAPSULE_STREAMS_BLOCKED_UNI};
    for (size_t i = 0; i < sizeof(fc) / sizeof(fc[0]); i++) {
      uint8_t v[8];
      size_t vl = quic_varint_write(v, 1000 + i);
      n += quic_wt_capsule(capsules + n, fc[i], v, vl);
    }
  }
  uint8_t close[4 + 5] = {0, 0, 0, 42, 'b', 'y', 'e', '!', '!'};
  if (draft16) close[7] = 0xc3, close[8] = 0xa9; /* "bye" and U+00E9 */
  if (close_session) n += quic_wt_capsule(capsules + n, QUIC_WT_CAPSULE_CLOSE, close, sizeof(close));
  wt_body = capsules;
  wt_body_len = n;
  nghttp3_data_reader dr = {read_capsules};
  if (nghttp3_conn_submit_request(c, 0, connect, draft16 ? 6 : 7, &dr, NULL) != 0) abort();
  static buf streams[16];
  static bool fins[16];
  memset(fins, 0, sizeof(fins));
  for (int i = 0; i < 16; i++) streams[i].len = 0;
  collect(c, streams, fins);
  nghttp3_conn_del(c);
  buf out;
  out.len = 0;
  uint8_t flags = 0x05;
  put(&out, &flags, 1);
  /* (The writer's own control stream, with its SETTINGS, went out before
   * the input: a second one would be a connection error.) */
  put_record(&out, 0, streams[0].data, streams[0].len); /* slot 0: the CONNECT (session 0) */
  /* 0x41 and 0x54 are two-byte varints (0x40 0x41, 0x40 0x54). */
  static const uint8_t bidi[] = {0x40, 0x41, 0x00, 'b', 'i', 'd', 'i'};
  static const uint8_t uni[] = {0x40, 0x54, 0x00, 'u', 'n', 'i'};
  static const uint8_t other[] = {0x40, 0x41, 0x10, 'n', 'o', ' ', 's', 'e', 's', 's', 'i', 'o', 'n'};
  static const uint8_t dgram[] = {0x00, 'd', 'g', 'r', 'a', 'm'};
  static const uint8_t dgram_other[] = {0x05, 'l', 'o', 's', 't'};
  put_record(&out, 1 << 2 | 2, bidi, sizeof(bidi));        /* slot 1: the session's bidi stream */
  put_record(&out, 2 << 2 | 2, other, sizeof(other));      /* slot 2: for session 16, unknown */
  put_record(&out, 1 << 2 | 1 | 2, uni, sizeof(uni));      /* a uni stream of the session */
  static const uint8_t uni_bad_id[] = {0x40, 0x54, 0x02, 'x'};
  if (bad_id) put_record(&out, 2 << 2 | 1 | 2, uni_bad_id, sizeof(uni_bad_id));
  put_record(&out, 32, dgram, sizeof(dgram));
  put_record(&out, 32, dgram_other, sizeof(dgram_other));
  save(dir, name, &out);
}

/* Responses as nghttp3's server writes them, to the request nghttp3's
 * client wrote: for fuzz_stream's reverse mode (the client parses them). */
static int64_t server_stream_of_request = -1;

static int on_begin_headers(nghttp3_conn *conn, int64_t id, void *user, void *stream_user) {
  (void)conn;
  (void)user;
  (void)stream_user;
  server_stream_of_request = id;
  return 0;
}


static void h3_response_seed(const char *dir, const char *name, bool informational, const char *resp_body,
                             bool trailers) {
  nghttp3_conn *cl, *sv;
  nghttp3_callbacks ccb, scb;
  memset(&ccb, 0, sizeof(ccb));
  memset(&scb, 0, sizeof(scb));
  scb.begin_headers = on_begin_headers;
  nghttp3_settings set;
  nghttp3_settings_default(&set);
  if (nghttp3_conn_client_new(&cl, &ccb, &set, quic_mem_nghttp3(), NULL) != 0 ||
      nghttp3_conn_server_new(&sv, &scb, &set, quic_mem_nghttp3(), NULL) != 0)
    abort();
  nghttp3_conn_bind_control_stream(cl, 2);
  nghttp3_conn_bind_qpack_streams(cl, 6, 10);
  nghttp3_conn_bind_control_stream(sv, 3);
  nghttp3_conn_bind_qpack_streams(sv, 7, 11);
  nghttp3_nv get[] = {NV(":method", "GET"), NV(":scheme", "https"), NV(":authority", "localhost"), NV(":path", "/")};
  if (nghttp3_conn_submit_request(cl, 0, get, 4, NULL, NULL) != 0) abort();
  static buf cs[16], ss[16];
  static bool cf[16], sf[16];
  for (int i = 0; i < 16; i++) cs[i].len = ss[i].len = 0, cf[i] = sf[i] = false;
  collect(cl, cs, cf);
  server_stream_of_request = -1;
  if (nghttp3_conn_read_stream(sv, 0, cs[0].data, cs[0].len, cf[0]) < 0 || server_stream_of_request != 0) abort();
  nghttp3_nv info[] = {NV(":status", "103"), NV("link", "</style.css>; rel=preload")};
  nghttp3_nv ok[] = {NV(":status", "200"), NV("content-type", "text/plain"), NV("server", "make_corpus")};
  if (informational && nghttp3_conn_submit_info(sv, 0, info, 2) != 0) abort();
  nghttp3_data_reader dr = {read_body};
  body = resp_body;
  want_trailers = trailers;
  if (nghttp3_conn_submit_response(sv, 0, ok, 3, resp_body ? &dr : NULL) != 0) abort();
  collect(sv, ss, sf);
  nghttp3_conn_del(cl);
  nghttp3_conn_del(sv);
  buf out;
  out.len = 0;
  uint8_t flags = 1 | 2;
  put(&out, &flags, 1);
  put_record(&out, sf[0] ? 2 : 0, ss[0].data, ss[0].len);
  save(dir, name, &out);
}

static void raw_seeds(const char *dir) {
  buf out;
  out.len = 0;
  uint8_t flags = 0;
  put(&out, &flags, 1);
  put_record(&out, 2, (const uint8_t *)"ping\n", 5);               /* bidi 0, FIN */
  put_record(&out, 1 | 2, (const uint8_t *)"one way", 7);           /* uni 0, FIN */
  put_record(&out, 4, (const uint8_t *)"partial", 7);               /* bidi 1 */
  put_record(&out, 4 | 16, (const uint8_t *)"then reset", 10);      /* bidi 1, reset */
  save(dir, "raw-streams", &out);
  /* A raw-ALPN stream carrying HTTP/3 bytes is just data. */
  out.len = 0;
  flags = 1;
  put(&out, &flags, 1);
  put_record(&out, 1 | 2, (const uint8_t *)"\x21\x00", 2);          /* h3: reserved stream type */
  put_record(&out, 1 | 4, (const uint8_t *)"\x02", 1);              /* h3: a second QPACK encoder stream */
  put_record(&out, 16, (const uint8_t *)"\x01\x00", 2);             /* empty HEADERS, then reset */
  save(dir, "h3-odd-streams", &out);
  /* Reverse: the server answers the client's streams and opens its own. */
  out.len = 0;
  flags = 2;
  put(&out, &flags, 1);
  put_record(&out, 2, (const uint8_t *)"pong\n", 5);               /* answer on client stream 0, FIN */
  put_record(&out, 4 | 16, (const uint8_t *)"half", 4);             /* answer on stream 4, then reset */
  put_record(&out, 1 | 2, (const uint8_t *)"from the server", 15);  /* server uni stream, FIN */
  save(dir, "raw-reverse", &out);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: make_corpus <corpus dir>\n");
    return 2;
  }
  char packet[900], stream[900];
  snprintf(packet, sizeof(packet), "%s/packet", argv[1]);
  snprintf(stream, sizeof(stream), "%s/stream", argv[1]);
  fuzz_init();
  capture_handshake(packet, FUZZ_ALPN_RAW, "raw");
  capture_handshake(packet, FUZZ_ALPN_H3, "h3");
  h3_seed(stream, "h3-get", 1, NULL, false, false);
  h3_seed(stream, "h3-two-posts", 2, "a=1&b=2", false, false);
  h3_seed(stream, "h3-post-trailers", 1, "x", false, true);
  h3_seed(stream, "h3-second-control-stream", 1, NULL, true, false);
  h3_response_seed(stream, "h3-response", false, "hello\n", false);
  h3_response_seed(stream, "h3-response-103-trailers", true, "body", true);
  h3_response_seed(stream, "h3-response-no-body", false, NULL, false);
  wt_seed(stream, "wt-session", false, false, false);
  wt_seed(stream, "wt-session-close", true, false, false);
  wt_seed(stream, "wt16-session-close", true, true, false);
  wt_seed(stream, "wt16-bad-session-id", false, true, true);
  raw_seeds(stream);
  printf("make_corpus: seeds written under %s\n", argv[1]);
  return 0;
}

/* Unit test of WebTransport's wire layer (src/webtransport.c) without a
 * connection: varints, the error-code mapping, classifying peer streams by
 * their first bytes (fed one byte at a time as well as whole), reading the
 * peer's SETTINGS, splicing our settings into nghttp3's SETTINGS frame with
 * the offsets mapped both ways, capsules (split anywhere, malformed,
 * unknown ones skipped), datagram prefixes, and the session limit. Built
 * with the whole core and run by test/c-units.test.js, also under ASan. */
#include <stdlib.h>
#include <string.h>

#include "../../src/mem.h"
#include "../../src/stream.h"
#include "../../src/webtransport.h"
#include "check.h"

static void test_varints(void) {
  static const uint64_t values[] = {0, 1, 63, 64, 16383, 16384, 1073741823, 1073741824, ((uint64_t)1 << 62) - 1};
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    uint8_t buf[8];
    size_t n = quic_varint_write(buf, values[i]);
    CHECK_EQ(n, quic_varint_len(values[i]));
    uint64_t v = 0;
    CHECK_EQ(quic_varint_read(buf, n, &v), n);
    CHECK(v == values[i]);
    /* One byte short: more is needed, nothing is read. */
    CHECK_EQ(quic_varint_read(buf, n - 1, &v), 0);
  }
  /* RFC 9000 A.1's examples. */
  const uint8_t ex[] = {0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c};
  uint64_t v;
  CHECK_EQ(quic_varint_read(ex, sizeof(ex), &v), 8);
  CHECK(v == 151288809941952652ull);
  const uint8_t ex2[] = {0x7b, 0xbd};
  CHECK_EQ(quic_varint_read(ex2, 2, &v), 2);
  CHECK(v == 15293);
}

static void test_codes(void) {
  /* The draft's first code and the reserved codepoints it skips. */
  CHECK(quic_wt_code_to_h3(0) == 0x52e4a40fa8dbull);
  CHECK(quic_wt_code_to_h3(0xffffffffu) == 0x52e5ac983162ull);
  uint32_t c = 99;
  for (uint64_t x = 0; x < 1000000; x += 7) {
    uint32_t code = (uint32_t)(x * 4099);
    uint64_t h3 = quic_wt_code_to_h3(code);
    CHECK((h3 - 0x21) % 0x1f != 0); /* never a reserved codepoint */
    CHECK(quic_wt_code_from_h3(h3, &c) && c == code);
  }
  for (uint32_t code = 0; code < 200; code++) {
    CHECK(quic_wt_code_from_h3(quic_wt_code_to_h3(code), &c) && c == code);
    /* Consecutive codes are consecutive HTTP/3 codes except across a reserved one. */
    uint64_t a = quic_wt_code_to_h3(code), b = quic_wt_code_to_h3(code + 1);
    CHECK(b == a + 1 || (b == a + 2 && (a + 1 - 0x21) % 0x1f == 0));
  }
  CHECK(!quic_wt_code_from_h3(0x100, &c));
  CHECK(!quic_wt_code_from_h3(0x52e4a40fa8dbull - 1, &c));
  CHECK(!quic_wt_code_from_h3(0x52e5ac983162ull + 1, &c));
  /* A reserved codepoint inside the range is no WebTransport code. */
  uint64_t first = 0x52e4a40fa8dbull;
  uint64_t reserved = first + (0x1f - (first - 0x21) % 0x1f) % 0x1f;
  CHECK((reserved - 0x21) % 0x1f == 0);
  CHECK(!quic_wt_code_from_h3(reserved, &c));
}

/* Feeds stream id's bytes one at a time, then the rest whole. */
static int classify_bytes(quic_wt *wt, int64_t id, const uint8_t *p, size_t len, size_t *rest_off, uint8_t *prefix,
                          size_t *plen, uint64_t *sid) {
  for (size_t i = 0; i < len; i++) {
    size_t used = 0;
    int r = quic_wt_classify(wt, id, p + i, 1, &used, prefix, plen, sid);
    if (r != QUIC_WT_CLASS_MORE) {
      *rest_off = i + used;
      return r;
    }
    CHECK_EQ(used, 1);
  }
  return QUIC_WT_CLASS_MORE;
}

static void test_classify(void) {
  quic_wt wt;
  CHECK_EQ(quic_wt_init(&wt, NULL, 2, 2), QUIC_OK);
  uint8_t prefix[16];
  size_t plen = 0, off = 0, used = 0;
  uint64_t sid = 0;

  /* A uni stream for a session not open yet: refused, every byte dropped. */
  const uint8_t uni[] = {0x40, 0x54, 0x00, 'h', 'i'};
  CHECK_EQ(quic_wt_stream_open(&wt, 3), QUIC_OK);
  CHECK_EQ(classify_bytes(&wt, 3, uni, sizeof(uni), &off, prefix, &plen, &sid), QUIC_WT_CLASS_REJECTED);
  CHECK_EQ(wt.streams_rejected, 1);
  CHECK(quic_wt_classifying(&wt, 3));
  CHECK_EQ(quic_wt_classify(&wt, 3, uni, sizeof(uni), &used, prefix, &plen, &sid), QUIC_WT_CLASS_REJECTED);
  CHECK_EQ(used, sizeof(uni));
  quic_wt_stream_gone(&wt, 3);
  CHECK(!quic_wt_classifying(&wt, 3));

  /* Session 0 registered and open: the same stream is its, byte by byte
   * (0x54 written in two bytes: any varint length is allowed) ... */
  CHECK_EQ(quic_wt_session_add(&wt, 0, 1, QUIC_WT_DRAFT02), QUIC_OK);
  quic_wt_session_get(&wt, 0)->state = QUIC_WT_OPEN;
  CHECK_EQ(quic_wt_stream_open(&wt, 7), QUIC_OK);
  CHECK_EQ(classify_bytes(&wt, 7, uni, sizeof(uni), &off, prefix, &plen, &sid), QUIC_WT_CLASS_WT);
  CHECK_EQ(sid, 0);
  CHECK_EQ(plen, 3);
  CHECK_EQ(off, 3); /* the data starts at 'h' */
  CHECK(!quic_wt_classifying(&wt, 7));
  /* ... and whole, with its data in the same call. */
  CHECK_EQ(quic_wt_stream_open(&wt, 11), QUIC_OK);
  CHECK_EQ(quic_wt_classify(&wt, 11, uni, sizeof(uni), &used, prefix, &plen, &sid), QUIC_WT_CLASS_WT);
  CHECK_EQ(used, 3);
  CHECK_EQ(plen, 3);

  /* A bidi stream: 0x41 then the session ID. */
  const uint8_t bidi[] = {0x40, 0x41, 0x00, 'x'};
  CHECK_EQ(quic_wt_stream_open(&wt, 4), QUIC_OK);
  CHECK_EQ(quic_wt_classify(&wt, 4, bidi, sizeof(bidi), &used, prefix, &plen, &sid), QUIC_WT_CLASS_WT);
  CHECK_EQ(used, 3);
  /* 0x54 on a bidi stream is not WebTransport's: HTTP/3 gets every byte. */
  CHECK_EQ(quic_wt_stream_open(&wt, 8), QUIC_OK);
  CHECK_EQ(quic_wt_classify(&wt, 8, uni, sizeof(uni), &used, prefix, &plen, &sid), QUIC_WT_CLASS_H3);
  CHECK_EQ(plen, sizeof(uni));
  CHECK(memcmp(prefix, uni, plen) == 0);
  CHECK_EQ(used, sizeof(uni));

  /* A request (HEADERS frame, type 1) goes to HTTP/3 with its first byte. */
  const uint8_t req[] = {0x01, 0x05, 1, 2, 3, 4, 5};
  CHECK_EQ(quic_wt_stream_open(&wt, 12), QUIC_OK);
  CHECK_EQ(classify_bytes(&wt, 12, req, sizeof(req), &off, prefix, &plen, &sid), QUIC_WT_CLASS_H3);
  CHECK_EQ(plen, 1);
  CHECK_EQ(prefix[0], 0x01);
  CHECK_EQ(off, 1);

  /* The peer's control stream: its SETTINGS are read on the way to
   * nghttp3, split anywhere. ENABLE_WEBTRANSPORT=1 and H3_DATAGRAM=1. */
  uint8_t ctrl[64];
  size_t n = 0;
  ctrl[n++] = 0x00; /* control stream */
  ctrl[n++] = 0x04; /* SETTINGS */
  uint8_t payload[32];
  size_t pl = 0;
  pl += quic_varint_write(payload + pl, 0x06);
  pl += quic_varint_write(payload + pl, 16384);
  pl += quic_varint_write(payload + pl, QUIC_WT_SETTINGS_ENABLE_DRAFT02);
  pl += quic_varint_write(payload + pl, 1);
  pl += quic_varint_write(payload + pl, QUIC_WT_SETTINGS_H3_DATAGRAM);
  pl += quic_varint_write(payload + pl, 1);
  ctrl[n++] = (uint8_t)pl;
  memcpy(ctrl + n, payload, pl);
  n += pl;
  CHECK_EQ(quic_wt_stream_open(&wt, 15), QUIC_OK);
  CHECK_EQ(quic_wt_classify(&wt, 15, ctrl, 2, &used, prefix, &plen, &sid), QUIC_WT_CLASS_H3);
  CHECK_EQ(wt.peer_ctrl, 15);
  CHECK(!wt.peer_settings_done);
  for (size_t i = used; i < n; i++) quic_wt_peer_control(&wt, 15, ctrl + i, 1);
  CHECK(wt.peer_settings_done);
  CHECK(wt.peer_wt);
  CHECK(wt.peer_dgram);
  CHECK(wt.peer_settings == NULL);
  CHECK_EQ(quic_wt_peer_versions(&wt), QUIC_WT_DRAFT02);

  /* A session ID that no client-initiated bidirectional stream has (2):
   * H3_ID_ERROR for the connection (draft-16 4). */
  const uint8_t bad_id[] = {0x40, 0x54, 0x02, 'x'};
  CHECK_EQ(quic_wt_stream_open(&wt, 23), QUIC_OK);
  CHECK_EQ(quic_wt_classify(&wt, 23, bad_id, sizeof(bad_id), &used, prefix, &plen, &sid), QUIC_WT_CLASS_ID_ERROR);
  quic_wt_stream_gone(&wt, 23);

  /* maxStreamsPerSession: session 0 has 3 of the peer's streams open
   * (7, 11, 4); with a limit of 3 the next is refused until one closes. */
  wt.max_streams = 3;
  CHECK_EQ(quic_wt_session_get(&wt, 0)->peer_streams, 3);
  CHECK_EQ(quic_wt_stream_open(&wt, 16), QUIC_OK);
  CHECK_EQ(quic_wt_classify(&wt, 16, bidi, sizeof(bidi), &used, prefix, &plen, &sid), QUIC_WT_CLASS_LIMITED);
  CHECK_EQ(quic_wt_classify(&wt, 16, bidi, 1, &used, prefix, &plen, &sid), QUIC_WT_CLASS_REJECTED);
  quic_wt_stream_gone(&wt, 16);
  quic_wt_peer_stream_gone(&wt, 0);
  CHECK_EQ(quic_wt_stream_open(&wt, 20), QUIC_OK);
  CHECK_EQ(quic_wt_classify(&wt, 20, bidi, sizeof(bidi), &used, prefix, &plen, &sid), QUIC_WT_CLASS_WT);
  wt.max_streams = 0;

  /* A session registered twice; the session limit (2). */
  CHECK_EQ(quic_wt_session_add(&wt, 0, 1, QUIC_WT_DRAFT02), QUIC_ERR_STATE);
  CHECK_EQ(quic_wt_session_add(&wt, 4, 2, QUIC_WT_DRAFT02), QUIC_OK);
  CHECK_EQ(quic_wt_session_add(&wt, 8, 3, QUIC_WT_DRAFT02), QUIC_ERR_LIMIT);

  /* Datagrams: quarter stream ID 1 is session 4 (pending: dropped); 0 is
   * session 0 (open). */
  const uint8_t d0[] = {0x00, 'p', 'i', 'n', 'g'}, d1[] = {0x01, 'x'}, bad[] = {0x40};
  size_t doff = 0;
  CHECK(quic_wt_datagram_in(&wt, d0, sizeof(d0), &sid, &doff));
  CHECK_EQ(sid, 0);
  CHECK_EQ(doff, 1);
  CHECK(!quic_wt_datagram_in(&wt, d1, sizeof(d1), &sid, &doff));
  CHECK(!quic_wt_datagram_in(&wt, bad, sizeof(bad), &sid, &doff));
  CHECK_EQ(wt.datagrams_dropped, 2);

  /* Streams still being classified are freed with the rest. */
  CHECK_EQ(quic_wt_stream_open(&wt, 19), QUIC_OK);
  CHECK_EQ(quic_wt_classify(&wt, 19, uni, 1, &used, prefix, &plen, &sid), QUIC_WT_CLASS_MORE);
  quic_wt_free(&wt);
}

/* The peer's SETTINGS for draft-16: SETTINGS_WT_ENABLED needs HTTP/3
 * datagrams to count (draft-16 3.1); a value above 1 is no version. */
static void test_settings16(void) {
  static const struct {
    uint64_t wt16, dgram;
    uint32_t versions;
  } cases[] = {{1, 1, QUIC_WT_DRAFT16}, {1, 0, 0}, {2, 1, 0}, {0, 1, 0}};
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    quic_wt wt;
    CHECK_EQ(quic_wt_init(&wt, NULL, 2, 2), QUIC_OK);
    uint8_t payload[32], ctrl[48];
    size_t pl = 0, n = 0;
    pl += quic_varint_write(payload + pl, QUIC_WT_SETTINGS_WT_ENABLED);
    pl += quic_varint_write(payload + pl, cases[k].wt16);
    pl += quic_varint_write(payload + pl, QUIC_WT_SETTINGS_H3_DATAGRAM);
    pl += quic_varint_write(payload + pl, cases[k].dgram);
    pl += quic_varint_write(payload + pl, QUIC_WT_SETTINGS_WT_MAX_SESSIONS);
    pl += quic_varint_write(payload + pl, 16);
    ctrl[n++] = 0x00;
    ctrl[n++] = 0x04;
    ctrl[n++] = (uint8_t)pl;
    memcpy(ctrl + n, payload, pl);
    n += pl;
    uint8_t prefix[16];
    size_t used = 0, plen = 0;
    uint64_t sid = 0;
    CHECK_EQ(quic_wt_stream_open(&wt, 3), QUIC_OK);
    CHECK_EQ(quic_wt_classify(&wt, 3, ctrl, n, &used, prefix, &plen, &sid), QUIC_WT_CLASS_H3);
    if (used < n) CHECK(quic_wt_peer_control(&wt, 3, ctrl + used, n - used));
    CHECK(wt.peer_settings_done);
    CHECK_EQ(quic_wt_peer_versions(&wt), cases[k].versions);
    quic_wt_free(&wt);
  }
}

/* nghttp3's control stream output: stream type, SETTINGS, then a GOAWAY. */
static void test_splice(void) {
  quic_wt wt;
  CHECK_EQ(quic_wt_init(&wt, NULL, 1, 2), QUIC_OK);
  /* SETTINGS of 5 bytes (id 1 = 100, id 7 = 0), then GOAWAY 0. */
  uint8_t out[32];
  size_t n = 0;
  out[n++] = 0x00;
  out[n++] = 0x04;
  out[n++] = 5;
  out[n++] = 0x01;
  out[n++] = 0x40;
  out[n++] = 0x64;
  out[n++] = 0x07;
  out[n++] = 0x00;
  size_t settings_end = n;
  out[n++] = 0x07; /* GOAWAY */
  out[n++] = 0x01;
  out[n++] = 0x00;

  quic_app_out o = {.id = 2, .nvec = 2};
  o.vec[0].base = out;
  o.vec[0].len = 3;
  o.vec[1].base = out + 3;
  o.vec[1].len = n - 3;
  CHECK_EQ(quic_wt_ctrl_out(&wt, &o), QUIC_OK);
  CHECK_EQ(o.nvec, 1);
  CHECK(!o.fin);
  /* Ours: the same frame with our settings added and its length fixed. */
  const uint8_t *p = o.vec[0].base;
  size_t len = o.vec[0].len;
  uint64_t t, ft, fl;
  size_t a = quic_varint_read(p, len, &t), b = quic_varint_read(p + a, len - a, &ft);
  size_t c = quic_varint_read(p + a + b, len - a - b, &fl);
  CHECK(t == 0 && ft == 4);
  CHECK_EQ(a + b + c + fl, len);
  CHECK(memcmp(p + a + b + c, out + 3, 5) == 0);
  /* Both versions' settings: draft-02's enable, draft-16's
   * SETTINGS_WT_ENABLED, and SETTINGS_WT_MAX_SESSIONS (our limit, 1 here);
   * no SETTINGS_WT_INITIAL_MAX_* (flow control stays off). */
  bool enable = false, dgram04 = false, wt16 = false, maxs = false, fc = false;
  for (const uint8_t *q = p + a + b + c + 5, *end = p + len; q < end;) {
    uint64_t id, v;
    size_t x = quic_varint_read(q, (size_t)(end - q), &id);
    size_t y = quic_varint_read(q + x, (size_t)(end - q) - x, &v);
    CHECK(x && y);
    if (!x || !y) break;
    if (id == QUIC_WT_SETTINGS_ENABLE_DRAFT02 && v == 1) enable = true;
    if (id == QUIC_WT_SETTINGS_H3_DATAGRAM_DRAFT04 && v == 1) dgram04 = true;
    if (id == 0x2c7cf000u && v == 1) wt16 = true;
    if (id == 0x14e9cd29u && v == 1) maxs = true;
    if (id == 0x2b61u || id == 0x2b64u || id == 0x2b65u) fc = true;
    q += x + y;
  }
  CHECK(enable && dgram04 && wt16 && maxs && !fc);

  /* ngtcp2 takes it in two packets: nghttp3 hears of its own bytes (the
   * stream type and SETTINGS, not the GOAWAY) only once all of ours went. */
  CHECK_EQ(quic_wt_ctrl_wrote(&wt, 4), 0);
  o.id = 2;
  o.nvec = 1;
  o.vec[0].base = out;
  o.vec[0].len = n;
  CHECK_EQ(quic_wt_ctrl_out(&wt, &o), QUIC_OK);
  CHECK(o.vec[0].base == p + 4 && o.vec[0].len == len - 4);
  CHECK_EQ(quic_wt_ctrl_wrote(&wt, len - 4), settings_end);
  /* Afterwards nghttp3's bytes pass untouched, and count as they are. */
  o.vec[0].base = out + settings_end;
  o.vec[0].len = n - settings_end;
  CHECK_EQ(quic_wt_ctrl_out(&wt, &o), QUIC_OK);
  CHECK(o.vec[0].base == out + settings_end);
  CHECK_EQ(quic_wt_ctrl_wrote(&wt, 3), 3);
  /* Acknowledgments: none of nghttp3's until all of ours is, then its
   * share; the buffer goes once acknowledged. */
  CHECK(quic_wt_ctrl_acked(&wt, len - 1) == 0);
  CHECK(wt.ctrl_buf != NULL);
  CHECK(quic_wt_ctrl_acked(&wt, 1) == settings_end);
  CHECK(wt.ctrl_buf == NULL);
  CHECK(quic_wt_ctrl_acked(&wt, 3) == 3);
  /* Another stream is never touched. */
  quic_app_out other = {.id = 6, .nvec = 1};
  other.vec[0].base = out;
  other.vec[0].len = n;
  CHECK_EQ(quic_wt_ctrl_out(&wt, &other), QUIC_OK);
  CHECK(other.vec[0].base == out && other.vec[0].len == n);
  quic_wt_free(&wt);

  /* Something that is not a SETTINGS frame is left alone. */
  CHECK_EQ(quic_wt_init(&wt, NULL, 1, 2), QUIC_OK);
  uint8_t odd[] = {0x00, 0x07, 0x01, 0x00};
  quic_app_out w = {.id = 2, .nvec = 1};
  w.vec[0].base = odd;
  w.vec[0].len = sizeof(odd);
  CHECK_EQ(quic_wt_ctrl_out(&wt, &w), QUIC_OK);
  CHECK(w.vec[0].base == odd);
  CHECK_EQ(quic_wt_ctrl_wrote(&wt, 4), 4);
  CHECK(quic_wt_ctrl_acked(&wt, 4) == 4);
  quic_wt_free(&wt);
}

static quic_stream *hidden_stream(void) {
  /* Hidden: events are recorded on it and go no further (no session). */
  quic_stream *st = calloc(1, sizeof(*st));
  if (st == NULL) abort();
  st->flags = QUIC_STREAM_HIDDEN;
  return st;
}

static void test_capsules(void) {
  quic_wt wt;
  CHECK_EQ(quic_wt_init(&wt, NULL, 4, 2), QUIC_OK);
  CHECK_EQ(quic_wt_session_add(&wt, 0, 1, QUIC_WT_DRAFT02), QUIC_OK);
  quic_wt_session *ws = quic_wt_session_get(&wt, 0);
  quic_stream *st = hidden_stream();
  uint8_t buf[2048];
  size_t n = 0;
  /* An unknown capsule (skipped), a DRAIN, a CLOSE with code and reason. */
  uint8_t junk[300];
  memset(junk, 0xab, sizeof(junk));
  n += quic_wt_capsule(buf + n, 0x1234567, junk, sizeof(junk));
  n += quic_wt_capsule(buf + n, QUIC_WT_CAPSULE_DRAIN, NULL, 0);
  uint8_t close[4 + 9] = {0, 0, 0x01, 0x02, 'g', 'o', 'o', 'd', ' ', 'b', 'y', 'e', '!'};
  n += quic_wt_capsule(buf + n, QUIC_WT_CAPSULE_CLOSE, close, sizeof(close));
  /* Byte by byte. */
  for (size_t i = 0; i < n; i++) CHECK(quic_wt_capsules(&wt, ws, st, buf + i, 1, false));
  CHECK(ws->drain_received);
  CHECK(ws->close_received);
  CHECK_EQ(ws->close_code, 0x0102);
  CHECK(st->wt_reason && st->wt_reason_len == 9 && memcmp(st->wt_reason, "good bye!", 9) == 0);
  CHECK(st->events & QUIC_SEV_WT_DRAIN);
  CHECK(st->events & QUIC_SEV_WT_CLOSE);
  CHECK(st->wt_close_clean && st->wt_close_code == 0x0102);
  CHECK(quic_wt_capsules(&wt, ws, st, NULL, 0, true));
  quic_free(st->wt_reason);
  free(st);

  /* Whole, in one call, on another session; then the end without CLOSE. */
  CHECK_EQ(quic_wt_session_add(&wt, 4, 2, QUIC_WT_DRAFT02), QUIC_OK);
  ws = quic_wt_session_get(&wt, 4);
  st = hidden_stream();
  size_t m = quic_wt_capsule(buf, QUIC_WT_CAPSULE_DRAIN, NULL, 0);
  CHECK(quic_wt_capsules(&wt, ws, st, buf, m, true));
  CHECK(ws->drain_received && ws->close_received);
  CHECK(st->wt_close_clean && st->wt_close_code == 0 && st->wt_reason == NULL);
  free(st);

  /* Malformed: a CLOSE shorter than its code, one longer than 4 + 1024
   * bytes, a DRAIN with a payload, a capsule cut short by the end. */
  static const uint8_t short_close[] = {0x80, 0x00, 0x28, 0x43, 0x02, 0x00, 0x00};
  uint8_t long_close[8];
  size_t lc = quic_varint_write(long_close, QUIC_WT_CAPSULE_CLOSE);
  lc += quic_varint_write(long_close + lc, 4 + QUIC_WT_REASON_MAX + 1);
  static const uint8_t drain_payload[] = {0x80, 0x00, 0x78, 0xae, 0x01, 0x00};
  static const uint8_t cut[] = {0x21, 0x05, 'a', 'b'};
  const struct {
    const uint8_t *p;
    size_t n;
    bool fin;
  } bad[] = {{short_close, sizeof(short_close), false},
             {long_close, lc, false},
             {drain_payload, sizeof(drain_payload), false},
             {cut, sizeof(cut), true}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    CHECK_EQ(quic_wt_session_add(&wt, 8 + 4 * (int64_t)i, 3, QUIC_WT_DRAFT02), i < 2 ? QUIC_OK : QUIC_ERR_LIMIT);
    quic_wt_session tmp;
    memset(&tmp, 0, sizeof(tmp));
    st = hidden_stream();
    CHECK(!quic_wt_capsules(&wt, &tmp, st, bad[i].p, bad[i].n, bad[i].fin));
    CHECK(!(st->events & QUIC_SEV_WT_CLOSE));
    free(st);
  }
  CHECK_EQ(wt.capsule_errors, 4);
  quic_wt_free(&wt);

  /* draft-16: the flow-control capsules (5.6) are skipped (flow control is
   * off, 5.1); a close reason that is not UTF-8, or bytes after a close,
   * are malformed (6). */
  CHECK_EQ(quic_wt_init(&wt, NULL, 4, 2), QUIC_OK);
  CHECK_EQ(quic_wt_session_add(&wt, 0, 1, QUIC_WT_DRAFT16), QUIC_OK);
  CHECK_EQ(quic_wt_sessions_of(&wt, QUIC_WT_DRAFT16), 1);
  CHECK_EQ(quic_wt_sessions_of(&wt, QUIC_WT_DRAFT02), 0);
  ws = quic_wt_session_get(&wt, 0);
  st = hidden_stream();
  uint8_t v8[8];
  size_t vl = quic_varint_write(v8, 1000);
  n = 0;
  n += quic_wt_capsule(buf + n, QUIC_WT_CAPSULE_MAX_DATA, v8, vl);
  n += quic_wt_capsule(buf + n, QUIC_WT_CAPSULE_MAX_STREAMS_BIDI, v8, vl);
  n += quic_wt_capsule(buf + n, QUIC_WT_CAPSULE_STREAMS_BLOCKED_UNI, v8, vl);
  static const uint8_t utf8_close[] = {0, 0, 0, 7, 0xc3, 0xa9, 't', 0xc3, 0xa9};
  n += quic_wt_capsule(buf + n, QUIC_WT_CAPSULE_CLOSE, utf8_close, sizeof(utf8_close));
  CHECK(quic_wt_capsules(&wt, ws, st, buf, n, false));
  CHECK(ws->close_received && ws->close_code == 7 && st->wt_reason_len == 5);
  /* Then one more byte: H3_MESSAGE_ERROR. */
  CHECK(!quic_wt_capsules(&wt, ws, st, buf, 1, false));
  quic_free(st->wt_reason);
  free(st);
  CHECK_EQ(quic_wt_session_add(&wt, 4, 2, QUIC_WT_DRAFT16), QUIC_OK);
  ws = quic_wt_session_get(&wt, 4);
  st = hidden_stream();
  static const uint8_t bad_utf8[][6] = {{0, 0, 0, 1, 0xc3, 0x28}, {0, 0, 0, 1, 0xed, 0xa0}, {0, 0, 0, 1, 0xc0, 0xaf}};
  for (size_t i = 0; i < 3; i++) {
    quic_wt_session tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.version = QUIC_WT_DRAFT16;
    n = quic_wt_capsule(buf, QUIC_WT_CAPSULE_CLOSE, bad_utf8[i], 6);
    CHECK(!quic_wt_capsules(&wt, &tmp, st, buf, n, false));
    /* draft-02 takes the same bytes. */
    memset(&tmp, 0, sizeof(tmp));
    tmp.version = QUIC_WT_DRAFT02;
    CHECK(quic_wt_capsules(&wt, &tmp, st, buf, n, false));
    quic_free(st->wt_reason);
    st->wt_reason = NULL;
  }
  free(st);
  quic_wt_free(&wt);

  /* A server's session not yet accepted: capsules are held, not read
   * (draft-16 3.2), until quic_wt_release_held; too many are refused;
   * held bytes of a session never accepted go with it. */
  CHECK_EQ(quic_wt_init(&wt, NULL, 4, 2), QUIC_OK);
  CHECK_EQ(quic_wt_session_add(&wt, 0, 1, QUIC_WT_DRAFT16), QUIC_OK);
  ws = quic_wt_session_get(&wt, 0);
  ws->hold = true;
  st = hidden_stream();
  n = quic_wt_capsule(buf, QUIC_WT_CAPSULE_DRAIN, NULL, 0);
  static const uint8_t early_close[] = {0, 0, 0, 9, 'e', 'a', 'r', 'l', 'y'};
  n += quic_wt_capsule(buf + n, QUIC_WT_CAPSULE_CLOSE, early_close, sizeof(early_close));
  for (size_t i = 0; i < n; i++) CHECK(quic_wt_capsules(&wt, ws, st, buf + i, 1, false));
  CHECK(quic_wt_capsules(&wt, ws, st, NULL, 0, true));
  CHECK(!ws->drain_received && !ws->close_received && st->events == 0);
  CHECK(quic_wt_release_held(&wt, ws, st));
  CHECK(!ws->hold && ws->held == NULL);
  CHECK(ws->drain_received && ws->close_received && ws->close_code == 9);
  CHECK((st->events & QUIC_SEV_WT_DRAIN) && (st->events & QUIC_SEV_WT_CLOSE));
  CHECK(quic_wt_release_held(&wt, ws, st)); /* once only */
  quic_free(st->wt_reason);
  free(st);
  CHECK_EQ(quic_wt_session_add(&wt, 4, 2, QUIC_WT_DRAFT16), QUIC_OK);
  ws = quic_wt_session_get(&wt, 4);
  ws->hold = true;
  st = hidden_stream();
  uint8_t big[QUIC_WT_HELD_MAX];
  memset(big, 0, sizeof(big));
  CHECK(quic_wt_capsules(&wt, ws, st, big, sizeof(big) - 1, false));
  CHECK(!quic_wt_capsules(&wt, ws, st, big, 2, false));
  free(st);
  quic_wt_free(&wt); /* the held bytes go with it */
}

int main(void) {
  test_varints();
  test_codes();
  test_classify();
  test_settings16();
  test_splice();
  test_capsules();
  /* Everything went back (mem.c counts it). */
  CHECK_EQ(quic_mem_live_bytes(), 0);
  CHECK_EQ(quic_mem_live_allocs(), 0);
  return check_done("unit_webtransport");
}

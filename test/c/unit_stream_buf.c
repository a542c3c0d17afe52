/* Unit tests of a stream's buffers (src/stream.h): the send buffer (append,
 * vectors from an offset, advance, acknowledgements releasing chunks,
 * discard, has_unsent) and the receive buffer (append, reads across chunks,
 * taking a whole chunk, discard), and every allocation failing in turn.
 * Built with mem.c and stats.c only; no session (quic_stream_new only
 * stores the session pointer). See test/c/Makefile. */
#include <ngtcp2/ngtcp2.h>
#include <string.h>

#include "../../src/mem.h"
#include "../../src/stream.h"
#include "check.h"

/* The byte at stream offset i of every test payload. */
static uint8_t byte_at(uint64_t i) { return (uint8_t)((i * 2654435761u) >> 13); }

static void fill(uint8_t *buf, uint64_t from, size_t len) {
  for (size_t i = 0; i < len; i++) buf[i] = byte_at(from + i);
}

static bool matches(const uint8_t *buf, uint64_t from, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (buf[i] != byte_at(from + i)) return false;
  return true;
}

/* Appends `len` payload bytes at the stream's current written offset. */
static int append_tx(quic_stream *st, size_t len) {
  static uint8_t buf[1 << 18];
  if (len > sizeof(buf)) return QUIC_ERR_INVALID;
  fill(buf, st->tx_written, len);
  return quic_stream_append_tx(st, buf, len, false);
}

static int append_rx(quic_stream *st, size_t len) {
  static uint8_t buf[1 << 18];
  if (len > sizeof(buf)) return QUIC_ERR_INVALID;
  fill(buf, st->rx_received, len);
  return quic_stream_append_rx(st, buf, len);
}

/* What tx_vec offers from `from`: the byte count, and whether every byte is
 * the payload's byte at that offset. */
static size_t vec_bytes(quic_stream *st, uint64_t from, size_t max, size_t *nvec, bool *ok) {
  ngtcp2_vec v[64];
  size_t n = quic_stream_tx_vec(st, from, v, max < 64 ? max : 64);
  size_t total = 0;
  *ok = true;
  for (size_t i = 0; i < n; i++) {
    if (v[i].len == 0 || !matches(v[i].base, from + total, v[i].len)) *ok = false;
    total += v[i].len;
  }
  if (nvec) *nvec = n;
  return total;
}

static size_t tx_chunks(const quic_stream *st) {
  size_t n = 0;
  for (quic_chunk *c = st->tx_head; c && n < 100000; c = c->next) n++;
  return n;
}

static size_t rx_chunks(const quic_stream *st) {
  size_t n = 0;
  for (quic_chunk *c = st->rx_head; c && n < 100000; c = c->next) n++;
  return n;
}

static void test_new_del(void) {
  quic_stream *st = quic_stream_new(NULL, 7, -1, QUIC_STREAM_LOCAL | QUIC_STREAM_UNI);
  CHECK(st != NULL);
  if (!st) return;
  CHECK(st->session == NULL);
  CHECK_EQ(st->key, 7);
  CHECK_EQ(st->id, -1);
  CHECK_EQ(st->flags, QUIC_STREAM_LOCAL | QUIC_STREAM_UNI);
  CHECK(st->counters == &st->counters_inline);
  CHECK(st->counters->created_at > 0);
  CHECK(st->tx_head == NULL && st->rx_head == NULL);
  CHECK_EQ(st->tx_written + st->tx_sent + st->tx_acked + st->rx_buffered + st->rx_received + st->rx_read, 0);
  CHECK(!quic_stream_has_unsent(st));
  /* Nothing to send, nothing to read. */
  ngtcp2_vec v[4];
  CHECK_EQ(quic_stream_tx_vec(st, 0, v, 4), 0);
  uint8_t b[16];
  CHECK_EQ(quic_stream_rx_read(st, b, sizeof(b)), 0);
  CHECK(quic_stream_rx_take(st) == NULL);
  /* Empty appends allocate nothing. */
  int64_t live = quic_mem_live_bytes();
  CHECK_EQ(quic_stream_append_tx(st, b, 0, false), QUIC_OK);
  CHECK_EQ(quic_stream_append_rx(st, b, 0), QUIC_OK);
  CHECK_EQ(quic_mem_live_bytes(), live);
  CHECK(st->tx_head == NULL && st->rx_head == NULL);
  quic_stream_del(st);
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

static void test_tx(void) {
  quic_stream *st = quic_stream_new(NULL, 1, 0, QUIC_STREAM_LOCAL);
  if (st == NULL) {
    CHECK(st != NULL);
    return;
  }
  int64_t base_live = quic_mem_live_bytes();
  bool ok;
  size_t nvec;

  /* A small write: one chunk, with room left in it. */
  CHECK_EQ(append_tx(st, 10), QUIC_OK);
  CHECK_EQ(st->tx_written, 10);
  CHECK_EQ(tx_chunks(st), 1);
  CHECK(st->tx_head == st->tx_tail);
  size_t cap = st->tx_head->cap;
  CHECK(cap > 10);
  CHECK_EQ(st->tx_head->len, 10);
  CHECK(quic_stream_has_unsent(st));
  CHECK_EQ(vec_bytes(st, 0, 8, &nvec, &ok), 10);
  CHECK_EQ(nvec, 1);
  CHECK(ok);

  /* Filling the chunk to its end exactly keeps one chunk; one byte more
   * starts a second, and the bytes run on across the boundary. */
  CHECK_EQ(append_tx(st, cap - 10), QUIC_OK);
  CHECK_EQ(tx_chunks(st), 1);
  CHECK_EQ(st->tx_head->len, cap);
  CHECK_EQ(append_tx(st, 1), QUIC_OK);
  CHECK_EQ(tx_chunks(st), 2);
  CHECK_EQ(st->tx_written, cap + 1);
  CHECK_EQ(vec_bytes(st, 0, 8, &nvec, &ok), cap + 1);
  CHECK_EQ(nvec, 2);
  CHECK(ok);
  /* max bounds the vectors. */
  CHECK_EQ(vec_bytes(st, 0, 1, &nvec, &ok), cap);
  CHECK_EQ(nvec, 1);
  CHECK(ok);
  CHECK_EQ(quic_stream_tx_vec(st, 0, NULL, 0), 0);

  /* A write larger than a chunk: the tail fills, the rest goes to one new
   * chunk of its own size. */
  size_t big = 3 * cap + 123;
  size_t room = st->tx_tail->cap - st->tx_tail->len;
  CHECK_EQ(append_tx(st, big), QUIC_OK);
  uint64_t written = cap + 1 + big;
  CHECK_EQ(st->tx_written, written);
  CHECK_EQ(tx_chunks(st), 3);
  CHECK_EQ(st->tx_tail->len, big - room);
  CHECK_EQ(vec_bytes(st, 0, 64, &nvec, &ok), written);
  CHECK_EQ(nvec, 3);
  CHECK(ok);

  /* From an offset inside a chunk, at a boundary, and at the end. */
  CHECK_EQ(vec_bytes(st, 5, 64, &nvec, &ok), written - 5);
  CHECK(ok && nvec == 3);
  CHECK_EQ(vec_bytes(st, cap, 64, &nvec, &ok), written - cap);
  CHECK(ok && nvec == 2);
  CHECK_EQ(vec_bytes(st, cap + 7, 64, &nvec, &ok), written - cap - 7);
  CHECK(ok && nvec == 2);
  CHECK_EQ(vec_bytes(st, written - 1, 64, &nvec, &ok), 1);
  CHECK(ok && nvec == 1);
  CHECK_EQ(vec_bytes(st, written, 64, &nvec, &ok), 0);
  CHECK_EQ(nvec, 0);
  /* Back to an earlier offset (a retransmission) after a later lookup. */
  CHECK_EQ(vec_bytes(st, 3, 64, &nvec, &ok), written - 3);
  CHECK(ok && nvec == 3);

  /* The transport takes bytes: has_unsent until it has taken them all. */
  quic_stream_tx_advance(st, (size_t)written - 1);
  CHECK_EQ(st->tx_sent, written - 1);
  CHECK_EQ(st->counters->bytes_sent, written - 1);
  CHECK(quic_stream_has_unsent(st));
  quic_stream_tx_advance(st, 1);
  CHECK(!quic_stream_has_unsent(st));

  /* Acks release whole chunks only: up to inside the first keeps it. */
  int64_t live = quic_mem_live_bytes();
  quic_stream_tx_ack(st, cap - 1);
  CHECK_EQ(st->tx_acked, cap - 1);
  CHECK_EQ(tx_chunks(st), 3);
  CHECK_EQ(quic_mem_live_bytes(), live);
  /* Its end releases it; what is left starts at its end. */
  quic_stream_tx_ack(st, cap);
  CHECK_EQ(tx_chunks(st), 2);
  CHECK_EQ(st->tx_head_base, cap);
  CHECK_EQ(quic_mem_live_bytes(), live - (int64_t)(sizeof(quic_chunk) + cap));
  CHECK_EQ(vec_bytes(st, cap, 64, &nvec, &ok), written - cap);
  CHECK(ok && nvec == 2);
  /* An older ack changes nothing. */
  quic_stream_tx_ack(st, 5);
  CHECK_EQ(st->tx_acked, cap);
  CHECK_EQ(tx_chunks(st), 2);
  /* Every chunk is full: acking everything releases them all. */
  CHECK(st->tx_tail->len == st->tx_tail->cap);
  quic_stream_tx_ack(st, written);
  CHECK_EQ(st->tx_acked, written);
  CHECK_EQ(tx_chunks(st), 0);
  CHECK(st->tx_head == NULL && st->tx_tail == NULL && st->tx_cur == NULL);
  CHECK_EQ(quic_mem_live_bytes(), base_live);

  /* A new write starts a chunk at the written offset. */
  CHECK_EQ(append_tx(st, 100), QUIC_OK);
  CHECK_EQ(st->tx_head_base, written);
  CHECK_EQ(vec_bytes(st, written, 64, &nvec, &ok), 100);
  CHECK(ok && nvec == 1);
  written += 100;
  quic_stream_tx_advance(st, 100);
  /* Acked whole, a tail with room for more stays (the writer fills it)... */
  CHECK(st->tx_tail->len < st->tx_tail->cap);
  quic_stream_tx_ack(st, written);
  CHECK_EQ(tx_chunks(st), 1);
  CHECK(!quic_stream_has_unsent(st));
  /* ...and the next write goes into it, after the acked bytes. */
  live = quic_mem_live_bytes();
  CHECK_EQ(append_tx(st, 100), QUIC_OK);
  CHECK_EQ(quic_mem_live_bytes(), live);
  CHECK_EQ(tx_chunks(st), 1);
  CHECK(quic_stream_has_unsent(st));
  CHECK_EQ(vec_bytes(st, written, 64, &nvec, &ok), 100);
  CHECK(ok && nvec == 1);
  written += 100;
  quic_stream_tx_advance(st, 100);

  /* Filled to its end and acked, it goes, and the buffer is empty. */
  size_t rest = st->tx_tail->cap - st->tx_tail->len;
  CHECK_EQ(append_tx(st, rest), QUIC_OK);
  CHECK_EQ(tx_chunks(st), 1);
  written += rest;
  quic_stream_tx_advance(st, rest);
  quic_stream_tx_ack(st, written);
  CHECK_EQ(tx_chunks(st), 0);
  CHECK_EQ(quic_mem_live_bytes(), base_live);

  /* Discard drops everything unsent and unacknowledged. */
  CHECK_EQ(append_tx(st, 2 * cap), QUIC_OK);
  written += 2 * cap;
  quic_stream_tx_advance(st, 10);
  CHECK(quic_stream_has_unsent(st));
  quic_stream_tx_discard(st);
  CHECK_EQ(tx_chunks(st), 0);
  CHECK_EQ(st->tx_written, written);
  CHECK_EQ(st->tx_sent, written);
  CHECK_EQ(st->tx_acked, written);
  CHECK(!quic_stream_has_unsent(st));
  CHECK_EQ(quic_stream_tx_vec(st, written, NULL, 0), 0);
  CHECK_EQ(quic_mem_live_bytes(), base_live);
  /* Writes after a discard start from the written offset. */
  CHECK_EQ(append_tx(st, 20), QUIC_OK);
  CHECK_EQ(st->tx_head_base, written);
  CHECK_EQ(vec_bytes(st, written, 64, &nvec, &ok), 20);
  CHECK(ok);

  quic_stream_del(st);
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

/* Acks of a chunk the last lookup ended in: the next lookup must not use
 * the freed chunk (ASan would see it). */
static void test_tx_last_write(void) {
  /* A write with nothing after it (the FIN's) gets a chunk of its size;
   * others keep room for more. */
  quic_stream *st = quic_stream_new(NULL, 6, 0, 0);
  if (st == NULL) {
    CHECK(st != NULL);
    return;
  }
  static const uint8_t b[100] = {1};
  CHECK_EQ(quic_stream_append_tx(st, b, sizeof(b), true), QUIC_OK);
  CHECK_EQ(st->tx_head->cap, sizeof(b));
  CHECK_EQ(st->tx_head->len, sizeof(b));
  quic_stream_del(st);
  st = quic_stream_new(NULL, 7, 0, 0);
  if (st == NULL) {
    CHECK(st != NULL);
    return;
  }
  CHECK_EQ(quic_stream_append_tx(st, b, sizeof(b), false), QUIC_OK);
  CHECK(st->tx_head->cap > sizeof(b));
  /* The last write fills the room left before it takes more. */
  CHECK_EQ(quic_stream_append_tx(st, b, sizeof(b), true), QUIC_OK);
  CHECK(st->tx_head == st->tx_tail);
  CHECK_EQ(st->tx_written, 2 * sizeof(b));
  quic_stream_del(st);
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

static void test_tx_cur_released(void) {
  quic_stream *st = quic_stream_new(NULL, 2, 0, QUIC_STREAM_LOCAL);
  if (st == NULL) {
    CHECK(st != NULL);
    return;
  }
  CHECK_EQ(append_tx(st, 1), QUIC_OK);
  size_t cap = st->tx_head->cap;
  /* Three full chunks, one write each. */
  CHECK_EQ(append_tx(st, cap - 1), QUIC_OK);
  CHECK_EQ(append_tx(st, cap), QUIC_OK);
  CHECK_EQ(append_tx(st, cap), QUIC_OK);
  CHECK_EQ(tx_chunks(st), 3);
  bool ok;
  size_t nvec;
  CHECK_EQ(vec_bytes(st, cap + 5, 64, &nvec, &ok), 2 * cap - 5);
  CHECK(ok);
  quic_stream_tx_advance(st, 3 * cap);
  quic_stream_tx_ack(st, 2 * cap);
  CHECK_EQ(tx_chunks(st), 1);
  CHECK_EQ(vec_bytes(st, 2 * cap, 64, &nvec, &ok), cap);
  CHECK(ok && nvec == 1);
  quic_stream_tx_ack(st, 3 * cap);
  CHECK_EQ(tx_chunks(st), 0);
  CHECK_EQ(vec_bytes(st, 3 * cap, 64, &nvec, &ok), 0);
  quic_stream_del(st);
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

static void test_has_unsent_flags(void) {
  quic_stream *st = quic_stream_new(NULL, 3, 0, QUIC_STREAM_LOCAL);
  if (st == NULL) {
    CHECK(st != NULL);
    return;
  }
  CHECK(!quic_stream_has_unsent(st));
  /* A FIN still to send counts, with no data. */
  st->flags |= QUIC_STREAM_FIN_QUEUED;
  CHECK(quic_stream_has_unsent(st));
  st->flags |= QUIC_STREAM_FIN_SENT;
  CHECK(!quic_stream_has_unsent(st));
  st->flags &= ~(uint32_t)(QUIC_STREAM_FIN_QUEUED | QUIC_STREAM_FIN_SENT);
  CHECK_EQ(append_tx(st, 5), QUIC_OK);
  CHECK(quic_stream_has_unsent(st));
  /* A stopped stream sends nothing more. */
  st->flags |= QUIC_STREAM_TX_STOPPED;
  CHECK(!quic_stream_has_unsent(st));
  st->flags |= QUIC_STREAM_FIN_QUEUED;
  CHECK(!quic_stream_has_unsent(st));
  quic_stream_del(st);
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

static void test_rx(void) {
  quic_stream *st = quic_stream_new(NULL, 4, 1, 0);
  if (st == NULL) {
    CHECK(st != NULL);
    return;
  }
  int64_t base_live = quic_mem_live_bytes();
  uint8_t out[1 << 17];

  /* A partly read chunk. */
  CHECK_EQ(append_rx(st, 100), QUIC_OK);
  CHECK_EQ(st->rx_received, 100);
  CHECK_EQ(st->rx_buffered, 100);
  CHECK_EQ(rx_chunks(st), 1);
  size_t cap = st->rx_head->cap;
  CHECK(cap > 100);
  CHECK_EQ(quic_stream_rx_read(st, out, 40), 40);
  CHECK(matches(out, 0, 40));
  CHECK_EQ(st->rx_read, 40);
  CHECK_EQ(st->rx_buffered, 60);
  /* Partly read: not taken whole. */
  CHECK(quic_stream_rx_take(st) == NULL);
  CHECK_EQ(quic_stream_rx_read(st, out, sizeof(out)), 60);
  CHECK(matches(out, 40, 60));
  CHECK_EQ(quic_stream_rx_read(st, out, sizeof(out)), 0);
  CHECK_EQ(st->rx_buffered, 0);
  CHECK_EQ(st->rx_read, 100);
  /* The emptied tail is kept for the next packet: no new allocation. */
  CHECK_EQ(rx_chunks(st), 1);
  int64_t live = quic_mem_live_bytes();
  CHECK_EQ(append_rx(st, 1200), QUIC_OK);
  CHECK_EQ(quic_mem_live_bytes(), live);
  CHECK_EQ(quic_stream_rx_read(st, out, sizeof(out)), 1200);
  CHECK(matches(out, 100, 1200));
  /* That first chunk is a small one (most bodies are small); the next are
   * full size. Fill it, start the next, read both. */
  CHECK_EQ(append_rx(st, cap), QUIC_OK);
  CHECK_EQ(rx_chunks(st), 1);
  CHECK_EQ(append_rx(st, 1), QUIC_OK);
  CHECK_EQ(rx_chunks(st), 2);
  size_t first = cap;
  cap = st->rx_tail->cap;
  CHECK(cap > first);
  CHECK_EQ(quic_stream_rx_read(st, out, sizeof(out)), first + 1);
  CHECK(matches(out, 1300, first + 1));
  CHECK_EQ(rx_chunks(st), 1);

  /* Packet-sized appends across chunk boundaries, read back in odd sizes. */
  uint64_t from = st->rx_received;
  size_t total = 2 * cap + cap / 2 + 5;
  for (size_t done = 0; done < total;) {
    size_t n = total - done < 1200 ? total - done : 1200;
    if (append_rx(st, n) != QUIC_OK) break;
    done += n;
  }
  CHECK_EQ(st->rx_received, from + total);
  CHECK_EQ(st->rx_buffered, total);
  CHECK_EQ(rx_chunks(st), 3);
  size_t got = 0;
  bool same = true;
  int reads = 0;
  while (got < total && reads < 10000) {
    size_t n = quic_stream_rx_read(st, out, 777);
    if (n == 0) break;
    if (!matches(out, from + got, n)) same = false;
    got += n;
    reads++;
    if (st->rx_buffered != total - got) same = false;
  }
  CHECK_EQ(got, total);
  CHECK(same);
  CHECK_EQ(st->rx_read, from + total);
  /* Read chunks were freed: only the partly filled tail is left. */
  CHECK_EQ(rx_chunks(st), 1);
  CHECK_EQ(quic_mem_live_bytes(), base_live + (int64_t)(sizeof(quic_chunk) + cap));

  /* A single read spanning chunks. */
  from = st->rx_received;
  CHECK_EQ(append_rx(st, cap + 10), QUIC_OK);
  CHECK_EQ(quic_stream_rx_read(st, out, cap + 10), cap + 10);
  CHECK(matches(out, from, cap + 10));
  CHECK_EQ(st->rx_buffered, 0);

  quic_stream_del(st);
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

static void test_rx_take(void) {
  quic_stream *st = quic_stream_new(NULL, 5, 1, 0);
  if (st == NULL) {
    CHECK(st != NULL);
    return;
  }
  uint8_t out[64];
  /* Empty: nothing to take. */
  CHECK(quic_stream_rx_take(st) == NULL);
  /* A stream's first chunk is a small one (most bodies are small), taken
   * whole once full; every later chunk is the full size. */
  CHECK_EQ(append_rx(st, 1), QUIC_OK);
  size_t base = st->rx_head->cap;
  CHECK(quic_stream_rx_take(st) == NULL);
  CHECK_EQ(append_rx(st, base - 1), QUIC_OK);
  quic_chunk *first = quic_stream_rx_take(st);
  CHECK(first != NULL);
  if (first) {
    CHECK_EQ(first->len, base);
    CHECK(matches(first->data, 0, base));
    quic_free(first);
  }
  CHECK_EQ(append_rx(st, 1), QUIC_OK);
  size_t cap = st->rx_head->cap;
  CHECK(cap > base);
  /* A chunk not yet full is not taken. */
  CHECK(quic_stream_rx_take(st) == NULL);
  CHECK_EQ(append_rx(st, cap - 1 + cap / 2), QUIC_OK);
  CHECK_EQ(st->rx_buffered, cap + cap / 2);
  /* The full, unread head is taken whole, uncopied: the caller owns it. */
  quic_chunk *c = quic_stream_rx_take(st);
  CHECK(c != NULL);
  if (c) {
    CHECK_EQ(c->len, cap);
    CHECK_EQ(c->off, 0);
    CHECK(c->next == NULL);
    CHECK(matches(c->data, base, cap));
    quic_free(c);
  }
  CHECK_EQ(st->rx_buffered, cap / 2);
  CHECK_EQ(st->rx_read, base + cap);
  CHECK_EQ(rx_chunks(st), 1);
  /* The half-full tail that is left is not. */
  CHECK(quic_stream_rx_take(st) == NULL);
  CHECK_EQ(quic_stream_rx_read(st, out, 10), 10);
  CHECK(matches(out, base + cap, 10));
  /* Fill it; read from it first, and it is no longer taken whole. */
  CHECK_EQ(append_rx(st, cap - cap / 2), QUIC_OK);
  CHECK_EQ(st->rx_head->len, cap);
  CHECK(quic_stream_rx_take(st) == NULL);
  CHECK_EQ(quic_stream_rx_read(st, out, sizeof(out)), sizeof(out));
  CHECK(matches(out, base + cap + 10, sizeof(out)));
  /* The next full chunk behind the read one can be taken once it is head. */
  CHECK_EQ(append_rx(st, cap), QUIC_OK);
  CHECK(quic_stream_rx_take(st) == NULL);
  size_t drain = cap - 10 - sizeof(out);
  uint8_t *big = quic_malloc(drain);
  if (big) {
    CHECK_EQ(quic_stream_rx_read(st, big, drain), drain);
    CHECK(matches(big, base + cap + 10 + sizeof(out), drain));
    quic_free(big);
  }
  c = quic_stream_rx_take(st);
  CHECK(c != NULL);
  if (c) {
    CHECK_EQ(c->len, cap);
    CHECK(matches(c->data, base + 2 * cap, cap));
    quic_free(c);
  }
  CHECK_EQ(st->rx_buffered, 0);
  CHECK_EQ(st->rx_read, base + 3 * cap);
  CHECK(st->rx_head == NULL && st->rx_tail == NULL);
  /* Appending after the last chunk was taken starts a new one. */
  CHECK_EQ(append_rx(st, 5), QUIC_OK);
  CHECK_EQ(quic_stream_rx_read(st, out, sizeof(out)), 5);
  CHECK(matches(out, base + 3 * cap, 5));
  quic_stream_del(st);
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

static void test_rx_discard(void) {
  quic_stream *st = quic_stream_new(NULL, 6, 1, 0);
  if (st == NULL) {
    CHECK(st != NULL);
    return;
  }
  int64_t base_live = quic_mem_live_bytes();
  CHECK_EQ(append_rx(st, 200000), QUIC_OK);
  uint8_t out[100];
  CHECK_EQ(quic_stream_rx_read(st, out, sizeof(out)), sizeof(out));
  quic_stream_rx_discard(st);
  CHECK_EQ(st->rx_buffered, 0);
  CHECK(st->rx_head == NULL && st->rx_tail == NULL);
  CHECK_EQ(st->rx_received, 200000);
  CHECK_EQ(quic_stream_rx_read(st, out, sizeof(out)), 0);
  CHECK(quic_stream_rx_take(st) == NULL);
  CHECK_EQ(quic_mem_live_bytes(), base_live);
  /* Discarding an empty buffer, twice, is harmless. */
  quic_stream_rx_discard(st);
  quic_stream_rx_discard(st);
  quic_stream_del(st);
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

/* A stream deleted with data in both directions frees it all. */
static void test_del_with_data(void) {
  quic_stream *st = quic_stream_new(NULL, 8, 0, QUIC_STREAM_LOCAL);
  if (st == NULL) {
    CHECK(st != NULL);
    return;
  }
  CHECK_EQ(append_tx(st, 100000), QUIC_OK);
  quic_stream_tx_advance(st, 5000);
  quic_stream_tx_ack(st, 1000);
  CHECK_EQ(append_rx(st, 150000), QUIC_OK);
  CHECK(quic_mem_live_bytes() > 250000);
  quic_stream_del(st);
  CHECK_EQ(quic_mem_live_bytes(), 0);
  CHECK_EQ(quic_mem_live_allocs(), 0);
}

/* Every allocation, in turn, fails. Each operation either succeeds whole
 * or returns QUIC_ERR_NOMEM having changed nothing: the buffers hold
 * exactly the bytes of the calls that succeeded, in order, and deleting
 * the stream leaves nothing behind. */
typedef struct {
  bool created;
  uint32_t nomem;  /* calls that returned QUIC_ERR_NOMEM */
  uint32_t broken; /* inconsistencies seen */
} fault_run;

static fault_run stream_scenario(void) {
  fault_run r = {false, 0, 0};
  quic_stream *st = quic_stream_new(NULL, 9, 0, QUIC_STREAM_LOCAL);
  if (st == NULL) return r;
  r.created = true;
  static const size_t sizes[] = {10, 20000, 100, 70000, 1, 150000, 16384, 5};
  uint64_t tx_expect = 0, rx_expect = 0;
  for (size_t i = 0; i < QUIC_ARRAY_LEN(sizes); i++) {
    uint64_t written = st->tx_written;
    int rv = append_tx(st, sizes[i]);
    if (rv == QUIC_OK) {
      tx_expect += sizes[i];
    } else {
      r.nomem++;
      if (rv != QUIC_ERR_NOMEM || st->tx_written != written) r.broken++;
    }
    if (st->tx_written != tx_expect) r.broken++;
    uint64_t received = st->rx_received, buffered = st->rx_buffered;
    rv = append_rx(st, sizes[i]);
    if (rv == QUIC_OK) {
      rx_expect += sizes[i];
    } else {
      r.nomem++;
      if (rv != QUIC_ERR_NOMEM || st->rx_received != received || st->rx_buffered != buffered) r.broken++;
    }
    if (st->rx_buffered != rx_expect || st->rx_received != rx_expect) r.broken++;
    /* Take some of it: sends and acks free, never allocate. */
    if (i == 3) {
      quic_stream_tx_advance(st, (size_t)(st->tx_written / 2));
      quic_stream_tx_ack(st, st->tx_written / 2);
    }
  }
  /* The send buffer holds the payload from the acked offset on. */
  bool ok;
  uint64_t from = st->tx_acked;
  size_t vec_total = 0;
  for (int guard = 0; from + vec_total < st->tx_written && guard < 100; guard++) {
    size_t n = vec_bytes(st, from + vec_total, 64, NULL, &ok);
    if (n == 0 || !ok) {
      r.broken++;
      break;
    }
    vec_total += n;
  }
  if (from + vec_total != tx_expect) r.broken++;
  /* The receive buffer reads back as the payload. */
  uint8_t out[4096];
  uint64_t got = 0;
  for (size_t n; (n = quic_stream_rx_read(st, out, sizeof(out))) > 0 && got <= rx_expect;) {
    if (!matches(out, got, n)) r.broken++;
    got += n;
  }
  if (got != rx_expect) r.broken++;
  quic_stream_del(st);
  return r;
}

static void test_faults(void) {
  quic_mem_fail_at(0);
  fault_run clean = stream_scenario();
  int64_t allocs = quic_mem_alloc_count();
  CHECK(clean.created);
  CHECK_EQ(clean.nomem, 0);
  CHECK_EQ(clean.broken, 0);
  CHECK(allocs > 5);
  CHECK_EQ(quic_mem_live_bytes(), 0);

  uint32_t not_created = 0, failed_calls = 0, broken = 0, leaked = 0, unreached = 0, silent = 0;
  for (int64_t n = 1; n <= allocs + 1; n++) {
    quic_mem_fail_at(n);
    fault_run r = stream_scenario();
    bool reached = quic_mem_alloc_count() >= n;
    if (!reached) {
      unreached++;
      if (!r.created || r.nomem) broken++;
    } else if (!r.created) {
      not_created++;
    } else if (r.nomem == 1) {
      failed_calls++;
    } else {
      silent++; /* the failure went unreported */
    }
    broken += r.broken;
    if (quic_mem_live_bytes() != 0) leaked++;
  }
  quic_mem_fail_at(0);
  CHECK_EQ(broken, 0);
  CHECK_EQ(leaked, 0);
  CHECK_EQ(silent, 0);
  /* Each allocation of the clean run failed once: the stream itself, then
   * each chunk (reported by the append that needed it). */
  CHECK_EQ(not_created, 1);
  CHECK_EQ(failed_calls, allocs - 1);
  CHECK_EQ(unreached, 1);
}

int main(void) {
  test_new_del();
  test_tx();
  test_tx_last_write();
  test_tx_cur_released();
  test_has_unsent_flags();
  test_rx();
  test_rx_take();
  test_rx_discard();
  test_del_with_data();
  test_faults();
  CHECK_EQ(quic_mem_live_bytes(), 0);
  CHECK_EQ(quic_mem_live_allocs(), 0);
  return check_done("unit_stream_buf");
}

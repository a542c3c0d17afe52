/* Unit test of the header-block codec (src/headers.c): what the encoder
 * writes the decoder reads back, and the decoder refuses every buffer whose
 * counts or lengths do not add up without reading past it. Buffers under
 * test are exact-size heap copies, so under ASan (make SAN=1) an overread
 * is a crash. Built and run by test/c-units.test.js. */
#include <stdlib.h>
#include <string.h>

#include "../../src/headers.h"
#include "../../src/mem.h"
#include "../../src/stream.h"
#include "check.h"

/* An exact-size copy, so one byte too far is outside the allocation. */
static uint8_t *dup_exact(const uint8_t *p, size_t n) {
  uint8_t *d = malloc(n ? n : 1);
  if (d == NULL) abort();
  if (n) memcpy(d, p, n);
  return d;
}

/* Decodes data (an exact copy of len bytes) and returns what the iterator
 * ended with: 0 (clean end), QUIC_ERR_INVALID, and the fields read. */
static int decode(const uint8_t *src, size_t len, uint32_t count, uint32_t *fields) {
  uint8_t *data = dup_exact(src, len);
  quic_hiter it;
  quic_hfield f;
  int rv;
  *fields = 0;
  quic_hiter_init(&it, data, len, count);
  while ((rv = quic_hiter_next(&it, &f)) > 0) {
    /* Every field handed out lies inside the buffer. */
    CHECK(f.name >= data && f.name + f.namelen <= data + len);
    CHECK(f.value >= data && f.value + f.valuelen <= data + len);
    (*fields)++;
  }
  free(data);
  return rv;
}

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

typedef struct {
  const char *name, *value;
  size_t namelen, valuelen;
} field;

static void test_round_trip(void) {
  /* Empty names and values, bytes that are not text, a NUL inside. */
  static const field in[] = {
      {":status", "200", 7, 3},
      {"", "empty name", 0, 10},
      {"empty-value", "", 11, 0},
      {"", "", 0, 0},
      {"bin\0ary", "\xff\x00\x01", 7, 3},
      {"x-long", NULL, 6, 0},
  };
  size_t n = QUIC_ARRAY_LEN(in);
  char *long_value = malloc(70000);
  if (long_value == NULL) abort();
  memset(long_value, 'v', 70000);
  quic_nvlist l = {0};
  size_t expect_len = 0;
  for (size_t i = 0; i < n; i++) {
    const char *value = in[i].value ? in[i].value : long_value;
    size_t valuelen = in[i].value ? in[i].valuelen : 70000;
    CHECK_EQ(quic_nvlist_add(&l, (const uint8_t *)in[i].name, in[i].namelen, (const uint8_t *)value, valuelen), QUIC_OK);
    expect_len += quic_hfield_size(in[i].namelen, valuelen);
  }
  CHECK_EQ(l.count, n);
  CHECK_EQ(l.len, expect_len);
  CHECK(l.cap >= l.len);

  quic_hiter it;
  quic_hfield f;
  quic_hiter_init(&it, l.data, l.len, l.count);
  for (size_t i = 0; i < n; i++) {
    const char *value = in[i].value ? in[i].value : long_value;
    size_t valuelen = in[i].value ? in[i].valuelen : 70000;
    CHECK_EQ(quic_hiter_next(&it, &f), 1);
    CHECK_EQ(f.namelen, in[i].namelen);
    CHECK_EQ(f.valuelen, valuelen);
    CHECK(memcmp(f.name, in[i].name, in[i].namelen) == 0);
    CHECK(memcmp(f.value, value, valuelen) == 0);
  }
  CHECK_EQ(quic_hiter_next(&it, &f), 0);
  CHECK_EQ(quic_hiter_next(&it, &f), 0); /* the end stays the end */
  CHECK(quic_headers_valid(l.data, l.len, l.count));

  /* A block is a copy: same bytes, count and kind. */
  quic_hblock *b = quic_hblock_new(&l, QUIC_HEADERS_TRAILERS);
  CHECK(b != NULL);
  if (b) {
    CHECK_EQ(b->kind, QUIC_HEADERS_TRAILERS);
    CHECK_EQ(b->count, l.count);
    CHECK_EQ(b->len, l.len);
    CHECK(memcmp(b->data, l.data, l.len) == 0);
    CHECK(b->next == NULL);
    CHECK(quic_headers_valid(b->data, b->len, b->count));
    quic_free(b);
  }

  /* Reset empties and keeps the storage; clear frees it. */
  uint8_t *storage = l.data;
  size_t cap = l.cap;
  quic_nvlist_reset(&l);
  CHECK_EQ(l.len, 0);
  CHECK_EQ(l.count, 0);
  CHECK(l.data == storage && l.cap == cap);
  CHECK_EQ(quic_nvlist_add(&l, (const uint8_t *)"a", 1, (const uint8_t *)"b", 1), QUIC_OK);
  CHECK(l.data == storage);
  CHECK_EQ(l.len, quic_hfield_size(1, 1));
  quic_nvlist_clear(&l);
  CHECK(l.data == NULL && l.len == 0 && l.cap == 0 && l.count == 0);
  free(long_value);
}

static void test_empty(void) {
  quic_nvlist l = {0};
  uint32_t fields;
  quic_hiter it;
  quic_hfield f;
  /* No data at all: zero fields is a clean end, one field is not. */
  quic_hiter_init(&it, NULL, 0, 0);
  CHECK_EQ(quic_hiter_next(&it, &f), 0);
  quic_hiter_init(&it, NULL, 0, 1);
  CHECK_EQ(quic_hiter_next(&it, &f), QUIC_ERR_INVALID);
  /* NULL data with a length claims bytes that are not there. */
  quic_hiter_init(&it, NULL, 16, 1);
  CHECK_EQ(quic_hiter_next(&it, &f), QUIC_ERR_INVALID);
  CHECK(quic_headers_valid(l.data, l.len, l.count));
  quic_hblock *b = quic_hblock_new(&l, QUIC_HEADERS_INITIAL);
  CHECK(b != NULL);
  if (b) {
    CHECK_EQ(b->len, 0);
    CHECK_EQ(b->count, 0);
    CHECK(quic_headers_valid(b->data, b->len, b->count));
    quic_free(b);
  }
  /* The smallest field: both lengths 0. */
  CHECK_EQ(quic_nvlist_add(&l, NULL, 0, NULL, 0), QUIC_OK);
  CHECK_EQ(l.len, 8);
  CHECK_EQ(decode(l.data, l.len, 1, &fields), 0);
  CHECK_EQ(fields, 1);
  quic_nvlist_clear(&l);
}

static void test_counts_disagree(void) {
  quic_nvlist l = {0};
  uint32_t fields;
  for (int i = 0; i < 3; i++) CHECK_EQ(quic_nvlist_add(&l, (const uint8_t *)"name", 4, (const uint8_t *)"value", 5), QUIC_OK);
  CHECK_EQ(decode(l.data, l.len, 3, &fields), 0);
  CHECK_EQ(fields, 3);
  /* More fields claimed than there are bytes for. */
  CHECK_EQ(decode(l.data, l.len, 4, &fields), QUIC_ERR_INVALID);
  CHECK_EQ(fields, 3);
  CHECK_EQ(decode(l.data, l.len, UINT32_MAX, &fields), QUIC_ERR_INVALID);
  /* Fewer: bytes are left over. */
  CHECK_EQ(decode(l.data, l.len, 2, &fields), QUIC_ERR_INVALID);
  CHECK_EQ(decode(l.data, l.len, 0, &fields), QUIC_ERR_INVALID);
  CHECK(!quic_headers_valid(l.data, l.len, 2));
  CHECK(!quic_headers_valid(l.data, l.len, 4));
  quic_nvlist_clear(&l);
}

static void test_truncated(void) {
  quic_nvlist l = {0};
  uint32_t fields;
  CHECK_EQ(quic_nvlist_add(&l, (const uint8_t *)":path", 5, (const uint8_t *)"/index.html", 11), QUIC_OK);
  CHECK_EQ(quic_nvlist_add(&l, (const uint8_t *)"", 0, (const uint8_t *)"", 0), QUIC_OK);
  CHECK_EQ(quic_nvlist_add(&l, (const uint8_t *)"accept", 6, (const uint8_t *)"*/*", 3), QUIC_OK);
  /* Every proper prefix is refused (with the full count), whatever field
   * or length it cuts through. */
  int refused = 0;
  for (size_t cut = 0; cut < l.len; cut++)
    if (decode(l.data, cut, l.count, &fields) == QUIC_ERR_INVALID) refused++;
  CHECK_EQ(refused, l.len);
  quic_nvlist_clear(&l);
}

static void test_lying_lengths(void) {
  uint8_t buf[32];
  uint32_t fields;
  quic_hiter it;
  quic_hfield f;
  /* A name length far past the end. */
  memset(buf, 0, sizeof(buf));
  put_u32(buf, UINT32_MAX);
  CHECK_EQ(decode(buf, sizeof(buf), 1, &fields), QUIC_ERR_INVALID);
  put_u32(buf, (uint32_t)sizeof(buf));
  CHECK_EQ(decode(buf, sizeof(buf), 1, &fields), QUIC_ERR_INVALID);
  /* A name that fits but leaves no room for the value length. */
  put_u32(buf, (uint32_t)sizeof(buf) - 4 - 3);
  CHECK_EQ(decode(buf, sizeof(buf), 1, &fields), QUIC_ERR_INVALID);
  /* Exactly room for the value length, which says 0: a field. */
  put_u32(buf, (uint32_t)sizeof(buf) - 8);
  put_u32(buf + sizeof(buf) - 4, 0);
  CHECK_EQ(decode(buf, sizeof(buf), 1, &fields), 0);
  CHECK_EQ(fields, 1);
  /* The same with a value length of 1, or of UINT32_MAX (no wrap). */
  put_u32(buf + sizeof(buf) - 4, 1);
  CHECK_EQ(decode(buf, sizeof(buf), 1, &fields), QUIC_ERR_INVALID);
  put_u32(buf + sizeof(buf) - 4, UINT32_MAX);
  CHECK_EQ(decode(buf, sizeof(buf), 1, &fields), QUIC_ERR_INVALID);
  /* A second field whose value runs one byte past the end. */
  memset(buf, 0, sizeof(buf));
  put_u32(buf, 0);
  put_u32(buf + 4, 0);
  put_u32(buf + 8, 2);
  memcpy(buf + 12, "ab", 2);
  put_u32(buf + 14, (uint32_t)sizeof(buf) - 18 + 1);
  CHECK_EQ(decode(buf, sizeof(buf), 2, &fields), QUIC_ERR_INVALID);
  CHECK_EQ(fields, 1);
  put_u32(buf + 14, (uint32_t)sizeof(buf) - 18);
  CHECK_EQ(decode(buf, sizeof(buf), 2, &fields), 0);
  CHECK_EQ(fields, 2);
  /* A failure is sticky: the iterator does not resume past it. */
  put_u32(buf, UINT32_MAX);
  quic_hiter_init(&it, buf, sizeof(buf), 2);
  CHECK_EQ(quic_hiter_next(&it, &f), QUIC_ERR_INVALID);
  put_u32(buf, 0); /* even if the bytes were to change under it */
  CHECK_EQ(quic_hiter_next(&it, &f), QUIC_ERR_INVALID);
}

static void test_large(void) {
  /* Many fields: counts and offsets stay exact, growth is amortised. */
  const uint32_t n = 200000;
  quic_nvlist l = {0};
  unsigned reallocs = 0;
  uint8_t *last = NULL;
  char name[16];
  for (uint32_t i = 0; i < n; i++) {
    int len = snprintf(name, sizeof(name), "h%u", (unsigned)i);
    if (quic_nvlist_add(&l, (const uint8_t *)name, (size_t)len, (const uint8_t *)&i, sizeof(i)) != QUIC_OK) break;
    if (l.data != last) {
      reallocs++;
      last = l.data;
    }
  }
  CHECK_EQ(l.count, n);
  CHECK(reallocs < 64);
  quic_hiter it;
  quic_hfield f;
  uint32_t i = 0;
  bool same = true;
  quic_hiter_init(&it, l.data, l.len, l.count);
  while (quic_hiter_next(&it, &f) > 0) {
    uint32_t v;
    int len = snprintf(name, sizeof(name), "h%u", (unsigned)i);
    memcpy(&v, f.value, sizeof(v));
    same = same && f.namelen == (size_t)len && memcmp(f.name, name, f.namelen) == 0 && f.valuelen == 4 && v == i;
    i++;
  }
  CHECK(same);
  CHECK_EQ(i, n);
  CHECK(quic_headers_valid(l.data, l.len, n));
  CHECK(!quic_headers_valid(l.data, l.len, n + 1));
  CHECK(!quic_headers_valid(l.data, l.len - 1, n));
  quic_nvlist_clear(&l);
}

static void test_encoder_limits(void) {
  quic_nvlist l = {0};
  CHECK_EQ(quic_nvlist_add(&l, (const uint8_t *)"a", 1, (const uint8_t *)"b", 1), QUIC_OK);
  size_t len = l.len;
  /* Lengths a u32 cannot hold are refused before anything is read or
   * allocated, and leave the list as it was. */
  if (SIZE_MAX > UINT32_MAX) {
    CHECK_EQ(quic_nvlist_add(&l, (const uint8_t *)"a", (size_t)UINT32_MAX + 1, NULL, 0), QUIC_ERR_INVALID);
    CHECK_EQ(quic_nvlist_add(&l, NULL, 0, (const uint8_t *)"a", (size_t)UINT32_MAX + 1), QUIC_ERR_INVALID);
  }
  CHECK_EQ(quic_nvlist_add(&l, (const uint8_t *)"a", SIZE_MAX, (const uint8_t *)"b", SIZE_MAX), QUIC_ERR_INVALID);
  /* A count that would wrap. */
  uint32_t count = l.count;
  l.count = UINT32_MAX;
  CHECK_EQ(quic_nvlist_add(&l, (const uint8_t *)"a", 1, (const uint8_t *)"b", 1), QUIC_ERR_LIMIT);
  l.count = count;
  CHECK_EQ(l.len, len);
  CHECK_EQ(l.count, 1);
  CHECK(quic_headers_valid(l.data, l.len, l.count));
  quic_nvlist_clear(&l);
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t next_random(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (uint32_t)(rng >> 32);
}

/* Valid blocks of random fields, then one lie each: a byte changed, the
 * end cut off, or the count moved. Unchanged blocks read back whole; the
 * others end or are refused, and never read outside the buffer (ASan
 * would say so). Deterministic. */
static void test_random(void) {
  int whole = 0, ends = 0, refusals = 0, rounds = 20000;
  for (int round = 0; round < rounds; round++) {
    quic_nvlist l = {0};
    uint8_t bytes[40];
    uint32_t k = next_random() % 5;
    for (uint32_t i = 0; i < k; i++) {
      size_t nl = next_random() % 8, vl = next_random() % 32;
      for (size_t b = 0; b < sizeof(bytes); b++) bytes[b] = (uint8_t)next_random();
      if (quic_nvlist_add(&l, bytes, nl, bytes + 8, vl) != QUIC_OK) abort();
    }
    size_t len = l.len;
    uint32_t count = l.count, fields;
    int lie = (int)(next_random() % 4);
    if (lie == 1 && len > 0) l.data[next_random() % len] = (uint8_t)next_random();
    if (lie == 2 && len > 0) len = next_random() % len;
    if (lie == 3) count = next_random() % 2 ? count + 1 : count - (count > 0);
    int rv = decode(l.data, len, count, &fields);
    if (lie == 0) {
      whole += rv == 0 && fields == k;
    } else if (rv == 0) {
      ends++;
    } else if (rv == QUIC_ERR_INVALID) {
      refusals++;
    }
    quic_nvlist_clear(&l);
  }
  CHECK(whole > rounds / 8);
  CHECK(ends > 0 && refusals > rounds / 4);
  CHECK_EQ(whole + ends + refusals, rounds);
}

static void test_stream_blocks_free(void) {
  /* What a stream holds: two received blocks and one being collected. */
  quic_stream *st = calloc(1, sizeof(*st));
  if (st == NULL) abort();
  quic_nvlist l = {0};
  CHECK_EQ(quic_nvlist_add(&l, (const uint8_t *)":status", 7, (const uint8_t *)"103", 3), QUIC_OK);
  st->hb_head = quic_hblock_new(&l, QUIC_HEADERS_INFO);
  CHECK(st->hb_head != NULL);
  if (st->hb_head) st->hb_head->next = st->hb_tail = quic_hblock_new(&l, QUIC_HEADERS_INITIAL);
  CHECK_EQ(quic_nvlist_add(&st->hb_cur, (const uint8_t *)"x", 1, (const uint8_t *)"y", 1), QUIC_OK);
  quic_nvlist_clear(&l);
  quic_stream_hblocks_free(st);
  CHECK(st->hb_head == NULL && st->hb_tail == NULL);
  CHECK(st->hb_cur.data == NULL && st->hb_cur.count == 0);
  free(st);
}

int main(void) {
  test_round_trip();
  test_empty();
  test_counts_disagree();
  test_truncated();
  test_lying_lengths();
  test_large();
  test_encoder_limits();
  test_random();
  test_stream_blocks_free();
  /* Everything the codec allocated went back (mem.c counts it). */
  CHECK_EQ(quic_mem_live_bytes(), 0);
  CHECK_EQ(quic_mem_live_allocs(), 0);
  return check_done("unit_headers");
}

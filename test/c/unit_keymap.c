/* Unit tests of src/keymap.c: put/get/del, keys of every allowed length,
 * LRU order (touch, oldest), iteration that deletes, growth to many
 * entries, and every allocation failing in turn. Built with mem.c only;
 * see test/c/Makefile. */
#include <string.h>

#include "../../src/keymap.h"
#include "../../src/mem.h"
#include "check.h"

/* Deterministic keys for entry i: 4 to 32 bytes (the length varies with i),
 * the first four the index itself, so no two indices share a key. */
static size_t key_of(uint32_t i, uint8_t *k) {
  size_t len = 4 + i % (QUIC_KEYMAP_MAX_KEY - 3);
  uint32_t x = i * 2654435761u + 1;
  for (size_t j = 4; j < len; j++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    k[j] = (uint8_t)x;
  }
  memcpy(k, &i, 4);
  return len;
}

/* Entries in LRU order; returns how many (bounded by max + 1). */
static size_t lru_walk(quic_keymap *m, quic_keymap_entry **out, size_t max) {
  size_t n = 0;
  quic_keymap_entry *e;
  QUIC_KEYMAP_EACH(m, e, tmp) {
    if (n < max) out[n] = e;
    if (++n > max) break;
  }
  return n;
}

static void test_empty(void) {
  quic_keymap m;
  CHECK_EQ(quic_keymap_init(&m), QUIC_OK);
  CHECK_EQ(m.count, 0);
  CHECK(quic_keymap_oldest(&m) == NULL);
  CHECK(quic_keymap_get(&m, "a", 1) == NULL);
  CHECK(quic_keymap_get(&m, "", 0) == NULL);
  quic_keymap_entry *e;
  int visited = 0;
  QUIC_KEYMAP_EACH(&m, e, tmp) {
    (void)e;
    visited++;
  }
  CHECK_EQ(visited, 0);
  quic_keymap_free(&m);
  CHECK(m.buckets == NULL);
  /* A second free (error paths do it) is harmless. */
  quic_keymap_free(&m);
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

static void test_put_get_del(void) {
  quic_keymap m;
  CHECK_EQ(quic_keymap_init(&m), QUIC_OK);
  bool created = false;
  quic_keymap_entry *a = quic_keymap_put(&m, "alpha", 5, &created);
  CHECK(a != NULL);
  CHECK(created);
  CHECK_EQ(a->keylen, 5);
  CHECK(memcmp(a->key, "alpha", 5) == 0);
  CHECK(a->ptr == NULL && a->a == 0 && a->b == 0);
  a->ptr = &m;
  a->a = 11;
  a->b = 22;
  CHECK_EQ(m.count, 1);

  /* The same key again: the same entry, values kept, not created. */
  created = true;
  CHECK(quic_keymap_put(&m, "alpha", 5, &created) == a);
  CHECK(!created);
  CHECK_EQ(m.count, 1);
  CHECK(a->ptr == &m && a->a == 11 && a->b == 22);
  CHECK(quic_keymap_put(&m, "alpha", 5, NULL) == a); /* created may be NULL */

  CHECK(quic_keymap_get(&m, "alpha", 5) == a);
  CHECK(quic_keymap_get(&m, "alph", 4) == NULL);
  CHECK(quic_keymap_get(&m, "alphaa", 6) == NULL);
  CHECK(quic_keymap_get(&m, "alphb", 5) == NULL);

  /* Keys that are prefixes of one another, and the empty key, are distinct. */
  static const uint8_t zeros[QUIC_KEYMAP_MAX_KEY] = {0};
  quic_keymap_entry *z[QUIC_KEYMAP_MAX_KEY + 1];
  for (size_t len = 0; len <= QUIC_KEYMAP_MAX_KEY; len++) {
    z[len] = quic_keymap_put(&m, zeros, len, &created);
    CHECK(z[len] != NULL && created);
    if (z[len]) z[len]->a = len;
  }
  CHECK_EQ(m.count, 1 + QUIC_KEYMAP_MAX_KEY + 1);
  for (size_t len = 0; len <= QUIC_KEYMAP_MAX_KEY; len++) {
    quic_keymap_entry *e = quic_keymap_get(&m, zeros, len);
    CHECK(e == z[len]);
    CHECK(e && e->a == len && e->keylen == len);
  }

  /* Too long: refused by put, never found by get. */
  uint8_t big[QUIC_KEYMAP_MAX_KEY + 1] = {0};
  created = true;
  CHECK(quic_keymap_put(&m, big, sizeof(big), &created) == NULL);
  CHECK(!created);
  CHECK(quic_keymap_get(&m, big, sizeof(big)) == NULL);
  CHECK_EQ(m.count, 1 + QUIC_KEYMAP_MAX_KEY + 1);

  /* Delete: gone from lookups and the count, the others stay. */
  quic_keymap_del(&m, a);
  CHECK(quic_keymap_get(&m, "alpha", 5) == NULL);
  CHECK_EQ(m.count, QUIC_KEYMAP_MAX_KEY + 1);
  quic_keymap_del(&m, z[0]);
  quic_keymap_del(&m, z[QUIC_KEYMAP_MAX_KEY]);
  CHECK(quic_keymap_get(&m, zeros, 0) == NULL);
  CHECK(quic_keymap_get(&m, zeros, QUIC_KEYMAP_MAX_KEY) == NULL);
  for (size_t len = 1; len < QUIC_KEYMAP_MAX_KEY; len++) CHECK(quic_keymap_get(&m, zeros, len) == z[len]);
  CHECK_EQ(m.count, QUIC_KEYMAP_MAX_KEY - 1);

  /* A deleted key can come back, as a new zeroed entry. */
  a = quic_keymap_put(&m, "alpha", 5, &created);
  CHECK(a != NULL && created && a->ptr == NULL && a->a == 0 && a->b == 0);
  CHECK_EQ(m.count, QUIC_KEYMAP_MAX_KEY);

  quic_keymap_free(&m);
  CHECK_EQ(m.count, 0);
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

static void test_lru(void) {
  quic_keymap m;
  CHECK_EQ(quic_keymap_init(&m), QUIC_OK);
  quic_keymap_entry *a = quic_keymap_put(&m, "a", 1, NULL);
  quic_keymap_entry *b = quic_keymap_put(&m, "b", 1, NULL);
  quic_keymap_entry *c = quic_keymap_put(&m, "c", 1, NULL);
  CHECK(a && b && c);
  quic_keymap_entry *order[4];
  /* Insertion order, oldest first. */
  CHECK(quic_keymap_oldest(&m) == a);
  CHECK_EQ(lru_walk(&m, order, 4), 3);
  CHECK(order[0] == a && order[1] == b && order[2] == c);

  /* get does not reorder. */
  CHECK(quic_keymap_get(&m, "a", 1) == a);
  CHECK(quic_keymap_oldest(&m) == a);

  /* touch moves to the newest end. */
  quic_keymap_touch(&m, a);
  CHECK(quic_keymap_oldest(&m) == b);
  CHECK_EQ(lru_walk(&m, order, 4), 3);
  CHECK(order[0] == b && order[1] == c && order[2] == a);
  /* Touching the newest changes nothing. */
  quic_keymap_touch(&m, a);
  CHECK_EQ(lru_walk(&m, order, 4), 3);
  CHECK(order[0] == b && order[1] == c && order[2] == a);

  /* Evicting oldest-first, as the bounded tables do. */
  quic_keymap_del(&m, quic_keymap_oldest(&m));
  CHECK(quic_keymap_get(&m, "b", 1) == NULL);
  CHECK(quic_keymap_oldest(&m) == c);
  quic_keymap_entry *d = quic_keymap_put(&m, "d", 1, NULL);
  CHECK_EQ(lru_walk(&m, order, 4), 3);
  CHECK(order[0] == c && order[1] == a && order[2] == d);
  quic_keymap_del(&m, quic_keymap_oldest(&m));
  quic_keymap_del(&m, quic_keymap_oldest(&m));
  quic_keymap_del(&m, quic_keymap_oldest(&m));
  CHECK(quic_keymap_oldest(&m) == NULL);
  CHECK_EQ(m.count, 0);
  quic_keymap_free(&m);
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

#define MANY 20000

static void test_iterate_delete(void) {
  quic_keymap m;
  CHECK_EQ(quic_keymap_init(&m), QUIC_OK);
  uint8_t k[QUIC_KEYMAP_MAX_KEY];
  uint32_t failed = 0;
  for (uint32_t i = 0; i < 1000; i++) {
    quic_keymap_entry *e = quic_keymap_put(&m, k, key_of(i, k), NULL);
    if (e) e->a = i;
    else failed++;
  }
  CHECK_EQ(failed, 0);
  CHECK_EQ(m.count, 1000);

  /* Delete every odd entry while walking: each entry is visited once, in
   * insertion order. */
  quic_keymap_entry *e;
  uint32_t visited = 0, bad_order = 0;
  QUIC_KEYMAP_EACH(&m, e, tmp) {
    if (e->a != visited) bad_order++;
    visited++;
    if (e->a % 2) quic_keymap_del(&m, e);
    if (visited > 1000) break;
  }
  CHECK_EQ(visited, 1000);
  CHECK_EQ(bad_order, 0);
  CHECK_EQ(m.count, 500);
  uint32_t wrong = 0;
  for (uint32_t i = 0; i < 1000; i++) {
    quic_keymap_entry *f = quic_keymap_get(&m, k, key_of(i, k));
    if (i % 2 ? f != NULL : (f == NULL || f->a != i)) wrong++;
  }
  CHECK_EQ(wrong, 0);
  /* The survivors, still in order. */
  visited = 0;
  bad_order = 0;
  QUIC_KEYMAP_EACH(&m, e, tmp2) {
    if (e->a != visited * 2) bad_order++;
    if (++visited > 500) break;
  }
  CHECK_EQ(visited, 500);
  CHECK_EQ(bad_order, 0);

  /* Delete everything from inside the walk. */
  visited = 0;
  QUIC_KEYMAP_EACH(&m, e, tmp3) {
    quic_keymap_del(&m, e);
    if (++visited > 500) break;
  }
  CHECK_EQ(visited, 500);
  CHECK_EQ(m.count, 0);
  CHECK(quic_keymap_oldest(&m) == NULL);
  quic_keymap_free(&m);
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

static void test_growth(void) {
  quic_keymap m;
  CHECK_EQ(quic_keymap_init(&m), QUIC_OK);
  size_t initial = m.nbuckets;
  uint8_t k[QUIC_KEYMAP_MAX_KEY];
  uint32_t missing = 0, wrong = 0;
  for (uint32_t i = 0; i < MANY; i++) {
    bool created = false;
    quic_keymap_entry *e = quic_keymap_put(&m, k, key_of(i, k), &created);
    if (e == NULL || !created) {
      missing++;
      continue;
    }
    e->a = i;
    e->b = ~(uint64_t)i;
  }
  CHECK_EQ(missing, 0);
  CHECK_EQ(m.count, MANY);
  /* The table grew with its entries (a power of two, at least one bucket
   * per entry) instead of chaining 20000 entries through 16 buckets. */
  CHECK(m.nbuckets > initial);
  CHECK(m.nbuckets >= MANY);
  CHECK((m.nbuckets & (m.nbuckets - 1)) == 0);
  for (uint32_t i = 0; i < MANY; i++) {
    size_t len = key_of(i, k);
    quic_keymap_entry *e = quic_keymap_get(&m, k, len);
    if (e == NULL) missing++;
    else if (e->a != i || e->b != ~(uint64_t)i || e->keylen != len || memcmp(e->key, k, len) != 0) wrong++;
  }
  CHECK_EQ(missing, 0);
  CHECK_EQ(wrong, 0);
  /* Bucket chains hold every entry exactly once. */
  size_t chained = 0;
  for (size_t b = 0; b < m.nbuckets; b++)
    for (quic_keymap_entry *e = m.buckets[b]; e && chained <= MANY; e = e->chain) chained++;
  CHECK_EQ(chained, MANY);
  /* LRU order survived the rehashes. */
  quic_keymap_entry *e;
  uint32_t n = 0, bad_order = 0;
  QUIC_KEYMAP_EACH(&m, e, tmp) {
    if (e->a != n) bad_order++;
    if (++n > MANY) break;
  }
  CHECK_EQ(n, MANY);
  CHECK_EQ(bad_order, 0);
  /* Delete a third; the rest stay reachable. */
  for (uint32_t i = 0; i < MANY; i += 3) {
    quic_keymap_entry *d = quic_keymap_get(&m, k, key_of(i, k));
    if (d) quic_keymap_del(&m, d);
  }
  uint32_t kept = 0, stale = 0;
  for (uint32_t i = 0; i < MANY; i++) {
    quic_keymap_entry *f = quic_keymap_get(&m, k, key_of(i, k));
    if (i % 3 == 0) stale += f != NULL;
    else if (f && f->a == i) kept++;
  }
  CHECK_EQ(stale, 0);
  CHECK_EQ(kept, MANY - (MANY + 2) / 3);
  CHECK_EQ(m.count, kept);
  quic_keymap_free(&m);
  CHECK_EQ(quic_mem_live_bytes(), 0);
  CHECK_EQ(quic_mem_live_allocs(), 0);
}

/* Two maps get different seeds, so bucket placement is not predictable
 * from the keys alone. */
static void test_seed(void) {
  quic_keymap a, b;
  CHECK_EQ(quic_keymap_init(&a), QUIC_OK);
  CHECK_EQ(quic_keymap_init(&b), QUIC_OK);
  CHECK(a.seed != b.seed);
  quic_keymap_free(&a);
  quic_keymap_free(&b);
}

/* Every allocation, in turn, fails: init reports QUIC_ERR_NOMEM, put
 * returns NULL (a failed growth is absorbed: that put still succeeds), and
 * the map stays whole: every key put before is found, the count and the
 * LRU agree, and freeing it leaves nothing behind. */
#define FAULT_KEYS 200

typedef struct {
  int init_rv;
  uint32_t nulls;      /* puts that returned NULL */
  uint32_t broken;     /* inconsistencies seen */
} fault_run;

static fault_run keymap_scenario(void) {
  fault_run r = {0, 0, 0};
  quic_keymap m;
  r.init_rv = quic_keymap_init(&m);
  if (r.init_rv != QUIC_OK) {
    if (m.buckets != NULL) r.broken++;
    quic_keymap_free(&m);
    return r;
  }
  uint8_t k[QUIC_KEYMAP_MAX_KEY];
  bool present[FAULT_KEYS] = {false};
  size_t expect = 0;
  for (uint32_t i = 0; i < FAULT_KEYS; i++) {
    bool created = true;
    quic_keymap_entry *e = quic_keymap_put(&m, k, key_of(i, k), &created);
    if (e == NULL) {
      if (created) r.broken++;
      r.nulls++;
      continue;
    }
    if (!created) r.broken++;
    e->a = i;
    present[i] = true;
    expect++;
    /* Delete every fifth right away: deletion never allocates. */
    if (i % 5 == 4) {
      quic_keymap_del(&m, e);
      present[i] = false;
      expect--;
    }
  }
  for (uint32_t i = 0; i < FAULT_KEYS; i++) {
    quic_keymap_entry *e = quic_keymap_get(&m, k, key_of(i, k));
    if (present[i] != (e != NULL) || (e && e->a != i)) r.broken++;
  }
  quic_keymap_entry *walk[FAULT_KEYS + 1];
  if (m.count != expect || lru_walk(&m, walk, FAULT_KEYS) != expect) r.broken++;
  quic_keymap_free(&m);
  return r;
}

static void test_faults(void) {
  /* The allocations a clean run makes: init, one per new entry, and the
   * growths. */
  quic_mem_fail_at(0);
  fault_run clean = keymap_scenario();
  int64_t allocs = quic_mem_alloc_count();
  CHECK_EQ(clean.init_rv, QUIC_OK);
  CHECK_EQ(clean.nulls, 0);
  CHECK_EQ(clean.broken, 0);
  CHECK(allocs > 1 + FAULT_KEYS); /* growths too */
  CHECK_EQ(quic_mem_live_bytes(), 0);

  int64_t n;
  uint32_t init_failed = 0, nulls = 0, absorbed = 0, broken = 0, leaked = 0, unreached = 0;
  for (n = 1; n <= allocs + 1; n++) {
    quic_mem_fail_at(n);
    fault_run r = keymap_scenario();
    bool reached = quic_mem_alloc_count() >= n;
    if (!reached) {
      unreached++;
      if (r.init_rv != QUIC_OK || r.nulls != 0) broken++;
    } else if (r.init_rv != QUIC_OK) {
      if (r.init_rv != QUIC_ERR_NOMEM) broken++;
      init_failed++;
    } else if (r.nulls == 1) {
      nulls++;
    } else if (r.nulls == 0) {
      absorbed++; /* a growth failed; the map kept its buckets */
    } else {
      broken++;
    }
    broken += r.broken;
    if (quic_mem_live_bytes() != 0) leaked++;
  }
  quic_mem_fail_at(0);
  CHECK_EQ(broken, 0);
  CHECK_EQ(leaked, 0);
  /* Each allocation of the clean run failed once: the bucket array of
   * init, each entry's allocation (its put returned NULL), each growth
   * (absorbed); the run numbered allocs + 1 reached no failure. */
  CHECK_EQ(init_failed, 1);
  CHECK_EQ(nulls, FAULT_KEYS);
  CHECK_EQ(absorbed, allocs - 1 - FAULT_KEYS);
  CHECK_EQ(unreached, 1);
}

int main(void) {
  test_empty();
  test_put_get_del();
  test_lru();
  test_iterate_delete();
  test_growth();
  test_seed();
  test_faults();
  CHECK_EQ(quic_mem_live_bytes(), 0);
  CHECK_EQ(quic_mem_live_allocs(), 0);
  return check_done("unit_keymap");
}

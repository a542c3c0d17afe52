#include "keymap.h"

#include <string.h>
#include <sys/random.h>

#include "mem.h"

static uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

static uint64_t hash_key(uint64_t seed, const uint8_t *k, size_t n) {
  uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, k, 8);
    h = mix(h ^ w);
    k += 8;
    n -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, k, n);
  return mix(h ^ w ^ ((uint64_t)n << 56));
}

int quic_keymap_init(quic_keymap *m) {
  memset(m, 0, sizeof(*m));
  quic_list_init(&m->lru);
  m->nbuckets = 16;
  m->buckets = quic_calloc(m->nbuckets, sizeof(*m->buckets));
  if (m->buckets == NULL) return QUIC_ERR_NOMEM;
  /* The kernel's generator, not the TLS library's: a map is a plain data
   * structure and should not depend on TLS. */
  if (getrandom(&m->seed, sizeof(m->seed), GRND_NONBLOCK) != (ssize_t)sizeof(m->seed)) m->seed = (uint64_t)quic_now();
  return QUIC_OK;
}

void quic_keymap_free(quic_keymap *m) {
  if (m->buckets == NULL) return;
  for (size_t i = 0; i < m->nbuckets; i++) {
    quic_keymap_entry *e = m->buckets[i];
    while (e) {
      quic_keymap_entry *n = e->chain;
      quic_free(e);
      e = n;
    }
  }
  quic_free(m->buckets);
  m->buckets = NULL;
  m->count = 0;
  /* An empty map again: iterating it after the free finds nothing. */
  quic_list_init(&m->lru);
}

quic_keymap_entry *quic_keymap_get(const quic_keymap *m, const void *key, size_t keylen) {
  if (keylen > QUIC_KEYMAP_MAX_KEY || m->buckets == NULL) return NULL; /* too long, or a freed map */
  size_t b = hash_key(m->seed, key, keylen) & (m->nbuckets - 1);
  for (quic_keymap_entry *e = m->buckets[b]; e; e = e->chain)
    if (e->keylen == keylen && memcmp(e->key, key, keylen) == 0) return e;
  return NULL;
}

void quic_keymap_touch(quic_keymap *m, quic_keymap_entry *e) {
  quic_list_remove(&e->lru);
  quic_list_push(&m->lru, &e->lru);
}

static void grow(quic_keymap *m) {
  size_t n = m->nbuckets * 2;
  quic_keymap_entry **nb = quic_calloc(n, sizeof(*nb));
  if (nb == NULL) return; /* keep working with longer chains */
  for (size_t i = 0; i < m->nbuckets; i++) {
    quic_keymap_entry *e = m->buckets[i];
    while (e) {
      quic_keymap_entry *next = e->chain;
      size_t b = hash_key(m->seed, e->key, e->keylen) & (n - 1);
      e->chain = nb[b];
      nb[b] = e;
      e = next;
    }
  }
  quic_free(m->buckets);
  m->buckets = nb;
  m->nbuckets = n;
}

quic_keymap_entry *quic_keymap_put(quic_keymap *m, const void *key, size_t keylen, bool *created) {
  if (created) *created = false;
  if (keylen > QUIC_KEYMAP_MAX_KEY) return NULL;
  quic_keymap_entry *e = quic_keymap_get(m, key, keylen);
  if (e) return e;
  if (m->count + 1 > m->nbuckets) grow(m);
  e = quic_calloc(1, sizeof(*e));
  if (e == NULL) return NULL;
  e->keylen = (uint8_t)keylen;
  memcpy(e->key, key, keylen);
  size_t b = hash_key(m->seed, key, keylen) & (m->nbuckets - 1);
  e->chain = m->buckets[b];
  m->buckets[b] = e;
  quic_list_push(&m->lru, &e->lru);
  m->count++;
  if (created) *created = true;
  return e;
}

void quic_keymap_del(quic_keymap *m, quic_keymap_entry *e) {
  size_t b = hash_key(m->seed, e->key, e->keylen) & (m->nbuckets - 1);
  for (quic_keymap_entry **pp = &m->buckets[b]; *pp; pp = &(*pp)->chain) {
    if (*pp == e) {
      *pp = e->chain;
      break;
    }
  }
  quic_list_remove(&e->lru);
  m->count--;
  quic_free(e);
}

quic_keymap_entry *quic_keymap_oldest(const quic_keymap *m) {
  if (quic_list_empty(&m->lru)) return NULL;
  return QUIC_CONTAINER(m->lru.next, quic_keymap_entry, lru);
}

/* A small hash map keyed by short byte strings (connection IDs, socket
 * addresses, stream IDs), with an LRU order so bounded tables can evict.
 * The hash is seeded per map at random: keys like client-chosen connection
 * IDs are attacker controlled, so bucket placement must not be predictable. */
#ifndef QUIC_KEYMAP_H
#define QUIC_KEYMAP_H

#include "common.h"

#define QUIC_KEYMAP_MAX_KEY 32

typedef struct quic_keymap_entry {
  struct quic_keymap_entry *chain; /* next entry in the same bucket */
  quic_link lru;                   /* position in the map's LRU; newest last */
  uint8_t keylen;
  uint8_t key[QUIC_KEYMAP_MAX_KEY];
  /* Value slots; the map never interprets them. */
  void *ptr;
  uint64_t a, b;
} quic_keymap_entry;

typedef struct quic_keymap {
  quic_keymap_entry **buckets; /* owned */
  size_t nbuckets;             /* power of two */
  size_t count;
  quic_link lru;
  uint64_t seed;
} quic_keymap;

int quic_keymap_init(quic_keymap *m);
/* Frees every entry (values are not touched) and the bucket array. */
void quic_keymap_free(quic_keymap *m);
/* Returns the entry or NULL. Does not change the LRU order. */
quic_keymap_entry *quic_keymap_get(const quic_keymap *m, const void *key, size_t keylen);
/* Moves the entry to the newest end of the LRU. */
void quic_keymap_touch(quic_keymap *m, quic_keymap_entry *e);
/* Finds or inserts; a new entry has zeroed values and *created set.
 * Returns NULL when out of memory or keylen is too large. */
quic_keymap_entry *quic_keymap_put(quic_keymap *m, const void *key, size_t keylen, bool *created);
void quic_keymap_del(quic_keymap *m, quic_keymap_entry *e);
/* Oldest entry by LRU order, or NULL when empty. */
quic_keymap_entry *quic_keymap_oldest(const quic_keymap *m);

/* Iteration in LRU order that tolerates deleting the current entry. */
#define QUIC_KEYMAP_EACH(m, e, tmp)                                              \
  for (quic_link *tmp##_l = (m)->lru.next, *tmp = tmp##_l->next;                 \
       tmp##_l != &(m)->lru &&                                                   \
       ((e) = QUIC_CONTAINER(tmp##_l, quic_keymap_entry, lru), 1);               \
       tmp##_l = tmp, tmp = tmp##_l->next)

#endif

#include "stats.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The header sits in front of the counters; 16 bytes keep them aligned. */
typedef struct stats_hdr {
  _Atomic uint32_t refs;
  _Atomic bool exposed; /* a view was handed out: at most one per block */
  uint8_t pad[16 - sizeof(uint32_t) - sizeof(bool)];
} stats_hdr;

_Static_assert(sizeof(stats_hdr) == 16, "stats header keeps 16-byte alignment");

static stats_hdr *hdr_of(void *data) { return (stats_hdr *)((char *)data - sizeof(stats_hdr)); }

void *quic_stats_share(void *counters, const void *inline_counters, size_t size) {
  stats_hdr *h;
  if (counters == inline_counters) {
    h = calloc(1, sizeof(*h) + size);
    if (h == NULL) return NULL;
    atomic_init(&h->refs, 2); /* the object's and the caller's */
    atomic_init(&h->exposed, true);
    memcpy(h + 1, inline_counters, size);
    return h + 1;
  }
  h = hdr_of(counters);
  if (atomic_exchange(&h->exposed, true)) return NULL;
  atomic_fetch_add(&h->refs, 1);
  return counters;
}

void quic_stats_release(void *counters, const void *inline_counters) {
  if (counters == NULL || counters == inline_counters) return;
  stats_hdr *h = hdr_of(counters);
  if (atomic_fetch_sub(&h->refs, 1) == 1) free(h);
}

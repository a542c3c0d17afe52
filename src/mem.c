#include "mem.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Each block carries its size in a 16-byte header (keeps max_align_t
 * alignment) so free can subtract it without asking the library. */
#define HDR 16

static _Atomic int64_t live_bytes;
static _Atomic int64_t live_allocs;

#ifdef QUIC_MEM_FAULTS
/* Allocation-failure injection for the plain-C tests (mem.h). Every
 * allocation attempt is numbered from 1 after quic_mem_fail_at(); the one
 * numbered fail_at returns NULL, the others go through. */
static _Atomic int64_t alloc_count;
static _Atomic int64_t fail_at;

void quic_mem_fail_at(int64_t n) {
  atomic_store(&fail_at, 0);
  atomic_store(&alloc_count, 0);
  atomic_store(&fail_at, n > 0 ? n : 0);
}

int64_t quic_mem_alloc_count(void) { return atomic_load(&alloc_count); }

static bool fault(void) {
  int64_t k = atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) + 1;
  int64_t at = atomic_load_explicit(&fail_at, memory_order_relaxed);
  return at > 0 && k == at;
}
#define FAULT() fault()
#else
/* Production builds: no counter, no branch. */
#define FAULT() false
#endif

static void *hdr_to_user(void *h, size_t n) {
  *(size_t *)h = n;
  atomic_fetch_add_explicit(&live_bytes, (int64_t)n, memory_order_relaxed);
  atomic_fetch_add_explicit(&live_allocs, 1, memory_order_relaxed);
  return (char *)h + HDR;
}

void *quic_malloc(size_t n) {
  if (FAULT()) return NULL;
  if (n > SIZE_MAX - HDR) return NULL;
  void *h = malloc(n + HDR);
  return h ? hdr_to_user(h, n) : NULL;
}

void *quic_calloc(size_t n, size_t size) {
  if (FAULT()) return NULL;
  if (size != 0 && n > (SIZE_MAX - HDR) / size) return NULL;
  void *h = calloc(1, n * size + HDR);
  return h ? hdr_to_user(h, n * size) : NULL;
}

void quic_free(void *p) {
  if (p == NULL) return;
  void *h = (char *)p - HDR;
  size_t n = *(size_t *)h;
  atomic_fetch_sub_explicit(&live_bytes, (int64_t)n, memory_order_relaxed);
  atomic_fetch_sub_explicit(&live_allocs, 1, memory_order_relaxed);
  free(h);
}

void quic_mem_disown(void *p) {
  size_t n = *(size_t *)((char *)p - HDR);
  atomic_fetch_sub_explicit(&live_bytes, (int64_t)n, memory_order_relaxed);
  atomic_fetch_sub_explicit(&live_allocs, 1, memory_order_relaxed);
}

void quic_free_disowned(void *p) {
  if (p) free((char *)p - HDR);
}

void *quic_realloc(void *p, size_t n) {
  if (p == NULL) return quic_malloc(n);
  if (n == 0) {
    quic_free(p);
    return NULL;
  }
  /* A failed reallocation leaves p allocated and unchanged (C's realloc
   * contract), injected failures included. */
  if (FAULT()) return NULL;
  if (n > SIZE_MAX - HDR) return NULL;
  void *h = (char *)p - HDR;
  size_t old = *(size_t *)h;
  void *nh = realloc(h, n + HDR);
  if (nh == NULL) return NULL;
  *(size_t *)nh = n;
  atomic_fetch_add_explicit(&live_bytes, (int64_t)n - (int64_t)old, memory_order_relaxed);
  return (char *)nh + HDR;
}

char *quic_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = quic_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

int64_t quic_mem_live_bytes(void) { return atomic_load(&live_bytes); }
int64_t quic_mem_live_allocs(void) { return atomic_load(&live_allocs); }

static _Atomic int64_t live_objects[QUIC_LIVE_KINDS];

void quic_live_add(quic_live_kind k, int delta) {
  atomic_fetch_add_explicit(&live_objects[k], delta, memory_order_relaxed);
}
int64_t quic_live_count(quic_live_kind k) { return atomic_load(&live_objects[k]); }

static void *m_malloc(size_t n, void *u) { (void)u; return quic_malloc(n); }
static void m_free(void *p, void *u) { (void)u; quic_free(p); }
static void *m_calloc(size_t n, size_t s, void *u) { (void)u; return quic_calloc(n, s); }
static void *m_realloc(void *p, size_t n, void *u) { (void)u; return quic_realloc(p, n); }

static const ngtcp2_mem ngtcp2_allocator = {NULL, m_malloc, m_free, m_calloc, m_realloc};
static const nghttp3_mem nghttp3_allocator = {NULL, m_malloc, m_free, m_calloc, m_realloc};

const ngtcp2_mem *quic_mem_ngtcp2(void) { return &ngtcp2_allocator; }
const nghttp3_mem *quic_mem_nghttp3(void) { return &nghttp3_allocator; }

/* Counting allocator for ngtcp2 and nghttp3 (and our own core objects), so a
 * test can assert that nothing is left alive after everything is closed. */
#ifndef QUIC_MEM_H
#define QUIC_MEM_H

#include <ngtcp2/ngtcp2.h>
#include <nghttp3/nghttp3.h>
#include <stddef.h>
#include <stdint.h>

void *quic_malloc(size_t n);
void *quic_calloc(size_t n, size_t size);
void *quic_realloc(void *p, size_t n);
void quic_free(void *p);
char *quic_strdup(const char *s);
/* A block handed to JavaScript (an external Buffer) leaves the count when it
 * is handed over: the garbage collector decides when it goes, and frees it
 * with quic_free_disowned. */
void quic_mem_disown(void *p);
void quic_free_disowned(void *p);

/* Allocators handed to the libraries; process-wide, thread-safe. */
const ngtcp2_mem *quic_mem_ngtcp2(void);
const nghttp3_mem *quic_mem_nghttp3(void);

/* Live bytes and live allocations currently owned through the functions
 * above (ours plus both libraries). */
int64_t quic_mem_live_bytes(void);
int64_t quic_mem_live_allocs(void);

#ifdef QUIC_MEM_FAULTS
/* Allocation-failure injection, compiled in only for the plain-C tests
 * (test/c/Makefile builds them with -DQUIC_MEM_FAULTS; the addon has none).
 * quic_mem_fail_at(n) restarts the numbering of allocation attempts through
 * the functions above (quic_malloc, quic_calloc, quic_realloc to a nonzero
 * size, quic_strdup, and so both libraries' allocators) and makes attempt n
 * return NULL; every other attempt goes through. 0 turns injection off.
 * A failed quic_realloc leaves its block allocated and unchanged.
 * quic_mem_alloc_count() is the number of attempts since the last
 * quic_mem_fail_at(): below n, the failure was never reached. */
void quic_mem_fail_at(int64_t n);
int64_t quic_mem_alloc_count(void);
#endif

/* Live core objects, for the same leak checks: libuv handles the core has
 * initialised and not yet seen closed, sessions not yet freed, endpoints
 * not yet freed. */
typedef enum { QUIC_LIVE_HANDLES, QUIC_LIVE_SESSIONS, QUIC_LIVE_ENDPOINTS, QUIC_LIVE_KINDS } quic_live_kind;
void quic_live_add(quic_live_kind k, int delta);
int64_t quic_live_count(quic_live_kind k);

#endif

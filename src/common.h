/* Shared definitions of the C core: error codes, time, small list helpers.
 * Nothing here includes node_api.h: the core is drivable from plain C. */
#ifndef QUIC_COMMON_H
#define QUIC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <uv.h>

/* Every core function that can fail returns 0 or one of these: one error
 * space for the whole core. Library codes (ngtcp2, nghttp3, GnuTLS, errno)
 * stay inside the file that called the library, which translates them; the
 * binding layer is the one place that turns these into JavaScript errors. */
enum {
  QUIC_OK = 0,
  QUIC_ERR_NOMEM = -1,
  QUIC_ERR_INVALID = -2,   /* bad argument that JS validation should have caught */
  QUIC_ERR_STATE = -3,     /* wrong state: closed, closing, not yet handshaken */
  QUIC_ERR_SYS = -4,       /* system call failed; errno-style code alongside */
  QUIC_ERR_TLS = -5,       /* GnuTLS refused the credentials or options */
  QUIC_ERR_NGTCP2 = -6,    /* ngtcp2 refused (see the detail code) */
  QUIC_ERR_LIMIT = -7,     /* a configured limit was reached */
  QUIC_ERR_NOT_FOUND = -8,
  QUIC_ERR_BLOCKED = -9,   /* stream id limit: caller queues and retries */
  QUIC_ERR_AGAIN = -10,    /* the socket is full: try again once it drains */
  QUIC_ERR_DROPPED = -11,  /* a packet was dropped and nothing came of it */
};

#define QUIC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define QUIC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define QUIC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define QUIC_UNUSED(x) ((void)(x))

/* Timestamps are nanoseconds on libuv's monotonic clock, which is the clock
 * process.hrtime.bigint() reads, so stats and JS agree. */
static inline uint64_t quic_now(void) { return uv_hrtime(); }

/* Intrusive doubly linked list (libuv's QUEUE idea, typed). */
typedef struct quic_link {
  struct quic_link *prev, *next;
} quic_link;

static inline void quic_list_init(quic_link *h) { h->prev = h->next = h; }
static inline bool quic_list_empty(const quic_link *h) { return h->next == h; }
static inline bool quic_link_linked(const quic_link *l) { return l->next != NULL && l->next != l; }
static inline void quic_list_push(quic_link *h, quic_link *l) {
  l->prev = h->prev;
  l->next = h;
  h->prev->next = l;
  h->prev = l;
}
static inline void quic_list_remove(quic_link *l) {
  if (l->next == NULL) return;
  l->prev->next = l->next;
  l->next->prev = l->prev;
  l->prev = l->next = NULL;
}
#define QUIC_CONTAINER(ptr, type, field) ((type *)((char *)(ptr) - offsetof(type, field)))

#endif

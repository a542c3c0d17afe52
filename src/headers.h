/* Header blocks: HTTP/3 header fields in one flat buffer, the one layout
 * every writer and reader of fields in the core shares (fields from
 * JavaScript, fields handed to nghttp3, received blocks handed back to
 * JavaScript). Per field, in order: a u32 name length, the name, a u32
 * value length, the value. Lengths are in host byte order: the buffer never
 * leaves the process. quic_nvlist_add is the encoder, quic_hiter the
 * decoder; the decoder trusts nothing, so a count or a length that does not
 * add up is an error, never a read out of bounds. Plain C. */
#ifndef QUIC_HEADERS_H
#define QUIC_HEADERS_H

#include "common.h"


enum {
  QUIC_HEADERS_INFO = 1,     /* 1xx response */
  QUIC_HEADERS_INITIAL = 2,  /* request or final response */
  QUIC_HEADERS_TRAILERS = 3,
};

/* Fields being built: fields to send, kept until the stream can take them,
 * or a received block being collected. Zeroed is empty. */
typedef struct quic_nvlist {
  uint8_t *data;  /* owned (quic_malloc); NULL until the first field */
  size_t len;     /* bytes in use */
  size_t cap;     /* bytes allocated */
  uint32_t count; /* fields */
} quic_nvlist;

/* A received HTTP/3 header block: count fields in the layout above. */
typedef struct quic_hblock {
  struct quic_hblock *next; /* owned by the list holding it */
  uint8_t kind;             /* QUIC_HEADERS_* */
  uint32_t count;
  size_t len;
  uint8_t data[];
} quic_hblock;

/* One field, borrowing the buffer it was read from. */
typedef struct quic_hfield {
  const uint8_t *name, *value;
  size_t namelen, valuelen;
} quic_hfield;

/* Walks the fields of a buffer; see quic_hiter_next. */
typedef struct quic_hiter {
  const uint8_t *data; /* borrowed */
  size_t len, off;
  uint32_t left;       /* fields still to read */
  bool failed;         /* sticky: every later call fails too */
} quic_hiter;

/* Bytes one field takes in a buffer. */
static inline size_t quic_hfield_size(size_t namelen, size_t valuelen) { return 8 + namelen + valuelen; }

/* Appends one field. QUIC_ERR_INVALID if a length does not fit in a u32,
 * QUIC_ERR_LIMIT at UINT32_MAX fields, QUIC_ERR_NOMEM; l is unchanged then. */
int quic_nvlist_add(quic_nvlist *l, const uint8_t *name, size_t namelen, const uint8_t *value, size_t valuelen);
/* Makes room for cap bytes of fields in all (one allocation where the size
 * is known ahead). QUIC_ERR_NOMEM leaves l as it was. */
int quic_nvlist_reserve(quic_nvlist *l, size_t cap);
/* Empties l and keeps its storage (a block collector between blocks). */
void quic_nvlist_reset(quic_nvlist *l);
/* Frees l's storage; l is empty after. */
void quic_nvlist_clear(quic_nvlist *l);

/* A copy of l's fields as a block of this kind; the caller owns it (freed
 * with quic_free). NULL: out of memory. */
quic_hblock *quic_hblock_new(const quic_nvlist *l, uint8_t kind);

/* Reads count fields from data[0..len). */
void quic_hiter_init(quic_hiter *it, const uint8_t *data, size_t len, uint32_t count);
/* 1: *f holds the next field. 0: the end, with exactly count fields in
 * exactly len bytes. QUIC_ERR_INVALID: a length runs past the buffer, or
 * the count and the bytes disagree (and for every call after). */
int quic_hiter_next(quic_hiter *it, quic_hfield *f);
/* Whether data[0..len) holds exactly count well-formed fields. */
bool quic_headers_valid(const uint8_t *data, size_t len, uint32_t count);


#endif

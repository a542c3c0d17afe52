/* Datagram queues (RFC 9221): what the application sends waits here until a
 * packet has room for it, and what arrives waits until the application takes
 * it. Both are bounded; past the bound a datagram is refused (outbound: the
 * caller sees false) or dropped (inbound): datagrams are unreliable by
 * design, so dropping is the backpressure. */
#ifndef QUIC_DATAGRAM_H
#define QUIC_DATAGRAM_H

#include "common.h"

typedef struct quic_dgram {
  struct quic_dgram *next; /* owned by the queue holding it */
  size_t len;
  bool early;              /* received in 0-RTT */
  int64_t flow;            /* HTTP/3 datagram: its WebTransport session ID; -1 otherwise */
  uint64_t at;             /* when it was queued (quic_now nanoseconds) */
  uint64_t expires;        /* outbound: dropped unsent after this time (0: never) */
  uint8_t data[];
} quic_dgram;

typedef struct quic_dgram_queue {
  quic_dgram *head, *tail; /* owned */
  size_t count;
  size_t bytes; /* payloads plus entry headers */
} quic_dgram_queue;

/* Datagrams the application sends wait at most this many; past it,
 * datagram() refuses them (the caller sees false and can wait). */
#define QUIC_DGRAM_QUEUE 128
/* ... WebTransport's, whose sessions bound their own share
 * (outgoingHighWaterMark), all of them together at most this many. */
#define QUIC_DGRAM_QUEUE_WT 4096
/* Received datagrams wait for the application only until the end of the
 * receive round that brought them (the endpoint reads no further round
 * before delivering them), but one round can hold a couple of thousand: 32
 * GRO messages of up to 64 KB. So they are bounded by bytes, with room for
 * a whole round; past it, the excess is dropped. */
#define QUIC_DGRAM_RX_BYTES (4 * 1024 * 1024)

/* A copy of data in a new entry (NULL: no memory). */
quic_dgram *quic_dgram_new(const uint8_t *data, size_t len);
void quic_dgram_push(quic_dgram_queue *q, quic_dgram *d);
/* Frees the oldest entry. */
void quic_dgram_pop(quic_dgram_queue *q);
void quic_dgram_clear(quic_dgram_queue *q);
/* Takes the whole list (the caller frees each entry with quic_free). */
quic_dgram *quic_dgram_take(quic_dgram_queue *q);

#endif

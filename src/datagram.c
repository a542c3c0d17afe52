#include "datagram.h"

#include <string.h>

#include "mem.h"

quic_dgram *quic_dgram_new(const uint8_t *data, size_t len) {
  quic_dgram *d = quic_malloc(sizeof(*d) + len);
  if (d == NULL) return NULL;
  d->next = NULL;
  d->len = len;
  d->early = false;
  d->flow = -1;
  d->at = 0;
  d->expires = 0;
  if (len && data) memcpy(d->data, data, len);
  return d;
}

void quic_dgram_push(quic_dgram_queue *q, quic_dgram *d) {
  d->next = NULL;
  if (q->tail) q->tail->next = d;
  else q->head = d;
  q->tail = d;
  q->count++;
  q->bytes += sizeof(*d) + d->len;
}

void quic_dgram_pop(quic_dgram_queue *q) {
  quic_dgram *d = q->head;
  if (d == NULL) return;
  q->head = d->next;
  if (q->head == NULL) q->tail = NULL;
  q->count--;
  q->bytes -= sizeof(*d) + d->len;
  quic_free(d);
}

void quic_dgram_clear(quic_dgram_queue *q) {
  while (q->head) quic_dgram_pop(q);
}

quic_dgram *quic_dgram_take(quic_dgram_queue *q) {
  quic_dgram *d = q->head;
  q->head = q->tail = NULL;
  q->count = 0;
  q->bytes = 0;
  return d;
}

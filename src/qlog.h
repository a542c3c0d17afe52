/* qlog: ngtcp2's JSON-SEQ records for one session, kept until JavaScript
 * takes them. Bounded: past QUIC_QLOG_MAX bytes not yet taken, whole records
 * are dropped and counted, so what is kept stays parseable. */
#ifndef QUIC_QLOG_H
#define QUIC_QLOG_H

#include "common.h"

#define QUIC_QLOG_MAX (1u << 20)

typedef struct quic_qlog {
  char *buf;         /* owned; cap bytes, NULL until the first record */
  size_t len, cap;
  uint64_t dropped;  /* bytes dropped because nobody read */
  bool fin;          /* ngtcp2 wrote its last record */
} quic_qlog;

/* Takes one record from ngtcp2 (its qlog_write callback passes it on). */
void quic_qlog_append(quic_qlog *q, uint32_t flags, const void *data, size_t len);
/* The text collected since the last call (the caller frees it), or NULL. */
char *quic_qlog_take(quic_qlog *q, size_t *len, bool *fin, uint64_t *dropped);
void quic_qlog_free(quic_qlog *q);

#endif

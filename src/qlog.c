#include "qlog.h"

#include <ngtcp2/ngtcp2.h>
#include <string.h>

#include "mem.h"

void quic_qlog_append(quic_qlog *q, uint32_t flags, const void *data, size_t len) {
  if (flags & NGTCP2_QLOG_WRITE_FLAG_FIN) q->fin = true;
  if (len == 0) return;
  if (q->len + len > QUIC_QLOG_MAX) {
    q->dropped += len;
    return;
  }
  if (q->len + len > q->cap) {
    size_t cap = QUIC_MAX(q->cap * 2, QUIC_MAX(q->len + len, 4096));
    cap = QUIC_MIN(cap, QUIC_QLOG_MAX);
    char *b = quic_realloc(q->buf, cap);
    if (b == NULL) {
      q->dropped += len;
      return;
    }
    q->buf = b;
    q->cap = cap;
  }
  memcpy(q->buf + q->len, data, len);
  q->len += len;
}

char *quic_qlog_take(quic_qlog *q, size_t *len, bool *fin, uint64_t *dropped) {
  char *out = q->buf;
  *len = q->len;
  *fin = q->fin;
  *dropped = q->dropped;
  q->buf = NULL;
  q->len = q->cap = 0;
  return out;
}

void quic_qlog_free(quic_qlog *q) {
  quic_free(q->buf);
  q->buf = NULL;
  q->len = q->cap = 0;
}

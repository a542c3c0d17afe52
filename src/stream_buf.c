/* The stream object and its buffers: outbound chunks kept until
 * acknowledged (ngtcp2 may need any unacknowledged byte again), inbound data
 * held until the application reads it. Plain data structures: nothing here
 * knows the session (header lists are in headers.c). */
#include <ngtcp2/ngtcp2.h>
#include <string.h>

#include "mem.h"
#include "stats.h"
#include "stream.h"

/* Received packets carry about 1.2 KB of stream data each; appending them to
 * one larger chunk keeps allocations per byte low. */
#define RX_CHUNK 65536
/* A stream's first received chunk: most requests' bodies are small, and a
 * whole RX_CHUNK for each one cost the allocator more than the copy. */
#define RX_CHUNK_FIRST 4096
#define TX_CHUNK_MIN 16384

static void free_chunks(quic_chunk *c) {
  while (c) {
    quic_chunk *n = c->next;
    quic_free(c);
    c = n;
  }
}

void quic_stream_bufs_free(quic_stream *st) {
  free_chunks(st->tx_head);
  free_chunks(st->rx_head);
  st->tx_head = st->tx_tail = st->tx_cur = NULL;
  st->rx_head = st->rx_tail = NULL;
}

quic_stream *quic_stream_new(quic_session *s, uint32_t key, int64_t id, uint32_t flags) {
  quic_stream *st = quic_calloc(1, sizeof(*st));
  if (st == NULL) return NULL;
  st->session = s;
  st->key = key;
  st->id = id;
  st->flags = flags;
  st->counters = &st->counters_inline;
  st->counters->created_at = quic_now();
  return st;
}


void quic_stream_del(quic_stream *st) {
  quic_stream_bufs_free(st);
  quic_nvlist_clear(&st->tx_headers);
  quic_nvlist_clear(&st->tx_trailers);
  quic_stream_hblocks_free(st);
  quic_free(st->wt_reason);
  st->counters->destroyed_at = quic_now();
  quic_stats_release(st->counters, &st->counters_inline);
  quic_free(st);
}

void quic_stream_hblocks_free(quic_stream *st) {
  quic_hblock *b = st->hb_head;
  while (b) {
    quic_hblock *n = b->next;
    quic_free(b);
    b = n;
  }
  st->hb_head = st->hb_tail = NULL;
  quic_nvlist_clear(&st->hb_cur);
}

static quic_chunk *chunk_new(size_t cap) {
  quic_chunk *c = quic_malloc(sizeof(*c) + cap);
  if (c == NULL) return NULL;
  c->next = NULL;
  c->cap = cap;
  c->len = 0;
  c->off = 0;
  return c;
}

/* Appends len bytes to a chunk list, all or nothing: the chunks needed past
 * the tail's free room (`cap` bytes each; 0: one chunk of at least `min`
 * for all of it) are allocated before anything is copied, so
 * running out of memory leaves the list, and the stream's offsets, as they
 * were. Filling the tail is safe even when some of it was handed to ngtcp2:
 * bytes already sent stay where they are, new ones go after them. */
static int chunks_append(quic_chunk **head, quic_chunk **tail, const uint8_t *data, size_t len, size_t cap,
                         size_t min) {
  quic_chunk *t = *tail;
  size_t room = t ? t->cap - t->len : 0;
  quic_chunk *more = NULL, *last = NULL;
  for (size_t need = len > room ? len - room : 0; need > 0;) {
    quic_chunk *c = chunk_new(cap ? cap : QUIC_MAX(need, min));
    if (c == NULL) {
      free_chunks(more);
      return QUIC_ERR_NOMEM;
    }
    if (last) last->next = c;
    else more = c;
    last = c;
    need -= QUIC_MIN(need, c->cap);
  }
  quic_chunk *c = room ? t : more;
  if (more) {
    if (t) t->next = more;
    else *head = more;
    *tail = last;
  }
  for (; len > 0; c = c->next) {
    size_t n = QUIC_MIN(len, c->cap - c->len);
    memcpy(c->data + c->len, data, n);
    c->len += n;
    data += n;
    len -= n;
  }
  return QUIC_OK;
}

int quic_stream_append_tx(quic_stream *st, const uint8_t *data, size_t len, bool last) {
  bool empty = st->tx_head == NULL;
  /* Room for later writes, unless this is the last: a whole small response
   * gets a chunk of its own size. */
  int rv = chunks_append(&st->tx_head, &st->tx_tail, data, len, 0, last ? 0 : TX_CHUNK_MIN);
  if (rv != QUIC_OK) return rv;
  if (empty) st->tx_head_base = st->tx_written;
  st->tx_written += len;
  return QUIC_OK;
}

size_t quic_stream_tx_vec(quic_stream *st, uint64_t from, void *vecp, size_t max) {
  ngtcp2_vec *vec = vecp;
  size_t n = 0;
  /* Lookups move forward as data is sent: start where the last one ended
   * rather than walk every unacknowledged chunk for each packet. */
  quic_chunk *c = st->tx_head;
  uint64_t base = st->tx_head_base;
  if (st->tx_cur && from >= st->tx_cur_base) {
    c = st->tx_cur;
    base = st->tx_cur_base;
  }
  for (; c && n < max; c = c->next) {
    uint64_t end = base + c->len;
    if (end > from) {
      if (n == 0) {
        st->tx_cur = c;
        st->tx_cur_base = base;
      }
      size_t skip = from > base ? (size_t)(from - base) : 0;
      vec[n].base = c->data + skip;
      vec[n].len = c->len - skip;
      n++;
    }
    base = end;
  }
  return n;
}

void quic_stream_tx_advance(quic_stream *st, size_t n) {
  st->tx_sent += n;
  st->counters->bytes_sent += n;
}

void quic_stream_tx_ack(quic_stream *st, uint64_t offset) {
  if (offset > st->tx_acked) st->tx_acked = offset;
  while (st->tx_head) {
    quic_chunk *c = st->tx_head;
    uint64_t end = st->tx_head_base + c->len;
    /* A chunk that is still being filled (the tail) stays. */
    if (end > st->tx_acked || (c == st->tx_tail && c->len < c->cap)) break;
    st->tx_head = c->next;
    st->tx_head_base = end;
    if (st->tx_head == NULL) st->tx_tail = NULL;
    if (st->tx_cur == c) st->tx_cur = NULL;
    quic_free(c);
  }
}

void quic_stream_tx_discard(quic_stream *st) {
  free_chunks(st->tx_head);
  st->tx_head = st->tx_tail = st->tx_cur = NULL;
  st->tx_head_base = st->tx_written;
  st->tx_sent = st->tx_acked = st->tx_written;
}

bool quic_stream_has_unsent(const quic_stream *st) {
  if (st->flags & QUIC_STREAM_TX_STOPPED) return false;
  if (st->tx_sent < st->tx_written) return true;
  return (st->flags & QUIC_STREAM_FIN_QUEUED) && !(st->flags & QUIC_STREAM_FIN_SENT);
}

bool quic_stream_tx_complete(const quic_stream *st) {
  return (st->flags & QUIC_STREAM_FIN_SENT) && st->tx_acked >= st->tx_written;
}

int quic_stream_append_rx(quic_stream *st, const uint8_t *data, size_t len) {
  int rv = chunks_append(&st->rx_head, &st->rx_tail, data, len, st->rx_received == 0 ? RX_CHUNK_FIRST : RX_CHUNK, 0);
  if (rv != QUIC_OK) return rv;
  st->rx_received += len;
  st->rx_buffered += len;
  return QUIC_OK;
}

size_t quic_stream_rx_read(quic_stream *st, uint8_t *dst, size_t max) {
  size_t done = 0;
  while (st->rx_head && done < max) {
    quic_chunk *c = st->rx_head;
    size_t n = QUIC_MIN(max - done, c->len - c->off);
    memcpy(dst + done, c->data + c->off, n);
    c->off += n;
    done += n;
    if (c->off == c->len) {
      if (c == st->rx_tail && c->len < c->cap) {
        /* Keep the partly filled tail for the next packet, emptied. */
        c->off = c->len = 0;
        break;
      }
      st->rx_head = c->next;
      if (st->rx_head == NULL) st->rx_tail = NULL;
      quic_free(c);
    }
  }
  st->rx_buffered -= done;
  st->rx_read += done;
  return done;
}

quic_chunk *quic_stream_rx_take(quic_stream *st) {
  quic_chunk *c = st->rx_head;
  if (c == NULL || c->off != 0 || c->len != c->cap) return NULL;
  st->rx_head = c->next;
  if (st->rx_head == NULL) st->rx_tail = NULL;
  c->next = NULL;
  st->rx_buffered -= c->len;
  st->rx_read += c->len;
  return c;
}

void quic_stream_rx_discard(quic_stream *st) {
  free_chunks(st->rx_head);
  st->rx_head = st->rx_tail = NULL;
  st->rx_buffered = 0;
}

/* A stream: its state, its buffers (stream_buf.c: outbound chunks kept until
 * acknowledged, inbound data held until the application reads it) and the
 * stream API (stream.c). Flow control credit is returned to the peer only as
 * data is read, so a reader that stops stops the peer. */
#ifndef QUIC_STREAM_H
#define QUIC_STREAM_H

#include "common.h"
#include "headers.h"
#include "stats_layout.h"

typedef struct quic_session quic_session;

typedef struct quic_chunk {
  struct quic_chunk *next; /* owned by the list holding it */
  size_t cap;
  size_t len; /* bytes stored */
  size_t off; /* rx: bytes already read */
  uint8_t data[];
} quic_chunk;

enum {
  QUIC_STREAM_LOCAL = 1u << 0,       /* opened by us */
  QUIC_STREAM_UNI = 1u << 1,
  QUIC_STREAM_OPEN = 1u << 2,        /* has an id in ngtcp2 */
  QUIC_STREAM_FIN_QUEUED = 1u << 3,  /* the writer ended */
  QUIC_STREAM_FIN_SENT = 1u << 4,
  QUIC_STREAM_RX_FIN = 1u << 5,      /* peer finished sending */
  QUIC_STREAM_RX_RESET = 1u << 6,    /* peer reset its side */
  QUIC_STREAM_TX_STOPPED = 1u << 7,  /* our sending side was aborted: we reset it, or the peer stopped it */
  QUIC_STREAM_CLOSED = 1u << 8,      /* ngtcp2 closed it */
  QUIC_STREAM_RELEASED = 1u << 9,    /* the application let go of it */
  QUIC_STREAM_BLOCKED = 1u << 10,    /* flow control blocked; reported */
  QUIC_STREAM_TX_DONE_ONLY = 1u << 11, /* uni stream from peer: nothing to send */
  QUIC_STREAM_WANT_DRAIN = 1u << 12, /* writer waits for room */
  QUIC_STREAM_CONSUMER = 1u << 13,   /* credit returned on arrival */
  QUIC_STREAM_HIDDEN = 1u << 14,     /* HTTP/3 request not yet announced (headers incomplete) */
  QUIC_STREAM_NEW_H3 = 1u << 15,     /* only in the new-stream event: the session speaks HTTP/3 */
  QUIC_STREAM_WT = 1u << 16,         /* a WebTransport stream of session wt_session (webtransport.c) */
  QUIC_STREAM_WT_SESSION = 1u << 17, /* an extended CONNECT stream registered as a WebTransport session */
  QUIC_STREAM_TX_RESET = 1u << 18,   /* we reset our sending side (quic_stream_abort) */
  QUIC_STREAM_PEER_STOP = 1u << 19,  /* the peer's STOP_SENDING ended our sending side */
  QUIC_STREAM_STOP_CODED = 1u << 20, /* ... and its code (stop_code) is known */
  QUIC_STREAM_COMMITTED = 1u << 21,  /* the committed event was raised */
  QUIC_STREAM_WANT_COMMIT = 1u << 22, /* the application waits for the committed event (stream.committed) */
  QUIC_STREAM_TX_ACKED_ALL = 1u << 23, /* at close: everything we wrote, and the end, was acknowledged */
};

/* Per-stream event bits, collected during a batch and emitted once. */
enum {
  QUIC_SEV_DATA = 1u << 0,
  QUIC_SEV_RESET = 1u << 1,
  QUIC_SEV_STOP = 1u << 2,
  QUIC_SEV_DRAIN = 1u << 3,
  QUIC_SEV_BLOCKED = 1u << 4,
  QUIC_SEV_CLOSE = 1u << 5,
  QUIC_SEV_OPENED = 1u << 6, /* a queued local stream got its id */
  QUIC_SEV_NEW = 1u << 7,    /* a peer-initiated stream appeared */
  QUIC_SEV_HEADERS = 1u << 8, /* HTTP/3: a header block is ready */
  QUIC_SEV_WT_CLOSE = 1u << 9, /* WebTransport: the session on this CONNECT stream ended */
  QUIC_SEV_WT_DRAIN = 1u << 10, /* WebTransport: the peer asked to drain the session */
  QUIC_SEV_COMMITTED = 1u << 11, /* every byte we wrote and the end were acknowledged */
};

/* StreamStats (a stats block, see stats.h), laid out by QUIC_STREAM_STATS
 * in stats_layout.h. */
typedef struct quic_stream_counters {
  QUIC_STREAM_STATS(QUIC_STATS_FIELD)
} quic_stream_counters;

typedef struct quic_stream {
  quic_session *session; /* borrowed: the session owns its streams */
  uint32_t key;          /* handle the application uses; unique per session */
  int64_t id;            /* -1 while queued for a stream id */
  uint32_t flags;
  uint32_t events;       /* QUIC_SEV_* pending for the next emit */
  quic_link send_link;   /* session->send_queue while it has unsent data */
  quic_link pending_link; /* session->pending_open while waiting for an id */
  quic_link event_link;  /* session->stream_events while events are pending */

  quic_chunk *tx_head, *tx_tail; /* owned; unacknowledged data, oldest first */
  uint64_t tx_head_base;  /* stream offset of tx_head->data[0] */
  quic_chunk *tx_cur;     /* borrowed: a chunk in the list where the last lookup ended, or NULL */
  uint64_t tx_cur_base;   /* stream offset of tx_cur->data[0] */
  uint64_t tx_written;    /* stream offset the writer has reached */
  uint64_t tx_sent;       /* stream offset handed to ngtcp2 */
  uint64_t tx_acked;      /* contiguous acknowledged offset */

  quic_chunk *rx_head, *rx_tail; /* owned; received, unread */
  uint64_t rx_buffered;
  uint64_t rx_received;   /* total bytes received */
  uint64_t rx_read;       /* total bytes read by the application */

  /* HTTP/3 */
  uint64_t tx_h3_read;    /* body offset handed to nghttp3 */
  quic_nvlist tx_headers; /* owned; request headers waiting for a stream id */
  quic_nvlist tx_trailers;/* owned; sent after the body */
  bool has_trailers;
  quic_hblock *hb_head, *hb_tail; /* owned; received blocks not yet taken */
  quic_nvlist hb_cur;     /* owned; the block being received */
  uint64_t hb_cur_size;   /* the block's size as RFC 9114 4.2.2 counts it */
  bool hb_overflow;       /* a block went past the limit: reset the stream */
  uint8_t hb_cur_kind;
  size_t hb_total;        /* bytes of header blocks received (bounded) */
  unsigned hb_blocks;     /* blocks received (bounded) */

  /* WebTransport */
  int64_t wt_session;     /* QUIC_STREAM_WT: the session ID (its CONNECT stream's id); a client's
                             QUIC_STREAM_WT_SESSION: its QUIC_WT_DRAFT* version (http3.c) */
  uint32_t wt_close_code; /* QUIC_SEV_WT_CLOSE: the peer's code */
  bool wt_close_clean;    /* ... and whether it closed (capsule or FIN) rather than vanished */
  char *wt_reason;        /* owned; the peer's close reason (NUL-terminated), or NULL */
  size_t wt_reason_len;

  uint64_t reset_code;    /* peer's RESET_STREAM code */
  uint64_t stop_code;     /* peer's STOP_SENDING code (QUIC_STREAM_STOP_CODED) */
  uint64_t close_code;    /* code given when ngtcp2 closed the stream */
  quic_stream_counters *counters; /* &counters_inline, or a shared stats block (stats.h) */
  quic_stream_counters counters_inline;
} quic_stream;

/* Outbound data the writer may queue beyond what the transport has taken
 * before it is asked to wait (the writable side's high-water mark; see
 * quic_stream_queued). */
#define QUIC_STREAM_TX_HWM (1u << 20)

quic_stream *quic_stream_new(quic_session *s, uint32_t key, int64_t id, uint32_t flags);
/* Frees the buffers and the stream; the caller has unlinked it. */
void quic_stream_del(quic_stream *st);

/* ---- the stream API (stream.c) ---- */

/* Queues data (and the end, with fin). QUIC_ERR_STATE once the writing side
 * is done or the session closing; QUIC_ERR_NOMEM. */
int quic_stream_write(quic_stream *st, const uint8_t *data, size_t len, bool fin);
/* Reads into dst and returns flow-control credit. */
size_t quic_stream_read(quic_stream *st, uint8_t *dst, size_t max);
/* quic_stream_rx_take, with the flow-control credit a read gives. */
quic_chunk *quic_stream_read_chunk(quic_stream *st);
/* Aborts: reset the sending side and/or stop the receiving side. */
void quic_stream_abort(quic_stream *st, uint64_t code, bool reset_tx, bool stop_rx);
/* The application no longer needs the stream: freed once ngtcp2 closes it. */
void quic_stream_release(quic_stream *st);
/* The application waits for the committed event (raised for WebTransport
 * streams anyway): raised now if the stream is already there. */
void quic_stream_want_commit(quic_stream *st);
/* Gives credit for data as it arrives (setStreamConsumer). */
void quic_stream_set_consumer(quic_stream *st);
/* Bytes written that the transport has not taken yet (what the writer's
 * high-water mark bounds). */
uint64_t quic_stream_queued(const quic_stream *st);
/* Sends a header block now, or keeps request headers until the stream has
 * an id. Takes nv's contents. QUIC_ERR_STATE when the application has no
 * header blocks (raw QUIC). */
int quic_stream_submit_headers(quic_stream *st, int kind, quic_nvlist *nv);
/* Trailers to send after the body; takes nv's contents. */
int quic_stream_set_trailers(quic_stream *st, quic_nvlist *nv);
/* The oldest received header block not yet taken (NULL: none), and
 * dropping it once read. */
quic_hblock *quic_stream_hblock(quic_stream *st);
void quic_stream_drop_hblock(quic_stream *st);

/* ---- the object and its buffers (stream_buf.c) ---- */

/* Frees both directions' chunks. */
void quic_stream_bufs_free(quic_stream *st);
/* Frees the received header blocks and the one being collected. */
void quic_stream_hblocks_free(quic_stream *st);

/* Copies data into the send buffer, all or nothing: QUIC_ERR_NOMEM leaves
 * the buffer and tx_written as they were. `last`: nothing will follow (the
 * FIN comes with it), so no room is kept for more. */
int quic_stream_append_tx(quic_stream *st, const uint8_t *data, size_t len, bool last);
/* Fills up to max vectors with buffered data from stream offset `from`
 * on. Returns the count. */
size_t quic_stream_tx_vec(quic_stream *st, uint64_t from, void *vec /* ngtcp2_vec */, size_t max);
/* Records that ngtcp2 took n more bytes. */
void quic_stream_tx_advance(quic_stream *st, size_t n);
/* Releases acknowledged chunks up to offset. */
void quic_stream_tx_ack(quic_stream *st, uint64_t offset);
/* Drops everything queued for sending (reset or stop-sending). */
void quic_stream_tx_discard(quic_stream *st);
bool quic_stream_has_unsent(const quic_stream *st);
/* Everything written, and the end, went out and every byte was
 * acknowledged. */
bool quic_stream_tx_complete(const quic_stream *st);

/* Copies received data into the receive buffer, all or nothing (as
 * quic_stream_append_tx; rx_received counts only what was stored). */
int quic_stream_append_rx(quic_stream *st, const uint8_t *data, size_t len);
/* Copies up to max bytes into dst, frees what was read. Returns bytes read. */
size_t quic_stream_rx_read(quic_stream *st, uint8_t *dst, size_t max);
/* The head chunk, unlinked, when it is full and nothing of it was read:
 * what a reader would copy out of it whole (the caller owns it). NULL
 * otherwise. */
quic_chunk *quic_stream_rx_take(quic_stream *st);
void quic_stream_rx_discard(quic_stream *st);

#endif

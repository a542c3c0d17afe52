/* The application a session runs over its streams, chosen by ALPN: raw QUIC
 * (app_raw.c: the application's streams are QUIC streams) or HTTP/3
 * (http3.c, through nghttp3: request streams carry frames, and the control
 * and QPACK streams never reach the application). WebTransport runs inside
 * HTTP/3. The session drives its application only through this table: it
 * hands it what ngtcp2 reports about streams and asks it what to write. */
#ifndef QUIC_APP_H
#define QUIC_APP_H

#include <ngtcp2/ngtcp2.h>

#include "common.h"

typedef struct quic_session quic_session;
typedef struct quic_stream quic_stream;
typedef struct quic_nvlist quic_nvlist;
typedef struct quic_dgram quic_dgram;

/* dgram_out_done outcomes. */
enum { QUIC_DGRAM_SENT = 0, QUIC_DGRAM_EXPIRED, QUIC_DGRAM_REFUSED };

/* Stream data the application wants written next. */
typedef struct quic_app_out {
  int64_t id;          /* -1: nothing to write */
  quic_stream *st;     /* the stream, or NULL for the application's own (HTTP/3 control) */
  ngtcp2_vec vec[16];  /* views of data kept until acknowledged */
  size_t nvec;
  bool fin;
} quic_app_out;

typedef struct quic_app_ops {
  const char *name;
  bool headers;      /* streams carry header blocks (the new-stream event says so) */
  bool framed;       /* streams carry the application's frames: their QUIC
                      * offsets are not body bytes, and some streams are the
                      * application's own, never shown (HTTP/3 control) */
  uint64_t no_error; /* the code of a clean close */

  /* Starts on a session whose ALPN chose it; QUIC_OK or QUIC_ERR_NOMEM. */
  int (*start)(quic_session *s);
  /* Frees what start made; the session may start it again (0-RTT refused). */
  void (*stop)(quic_session *s);

  /* ngtcp2 callbacks, passed on. st is the stream's user data (may be NULL).
   * Each returns 0 or an ngtcp2 error for the callback to return. */
  int (*stream_open)(quic_session *s, int64_t id);
  int (*recv)(quic_session *s, int64_t id, quic_stream *st, const uint8_t *data, size_t len, bool fin);
  int (*acked)(quic_session *s, int64_t id, quic_stream *st, uint64_t offset, uint64_t len);
  void (*stream_close)(quic_session *s, int64_t id, quic_stream *st, uint64_t code);
  /* The peer reset or stopped stream id: the stream the application shows
   * for it (created if raw QUIC had not seen it), or NULL. */
  quic_stream *(*peer_abort)(quic_session *s, int64_t id, quic_stream *st);
  /* We stopped reading stream id (STOP_SENDING goes out); st may be NULL. */
  void (*read_stopped)(quic_session *s, int64_t id, quic_stream *st);
  /* The peer raised the stream's flow-control limit. */
  void (*unblock)(quic_session *s, int64_t id);

  /* Sending. resume: st has new data or its end queued. opened: a local
   * stream got its id. next: what to write (out->id -1: nothing). wrote: the
   * packet took n bytes of it. blocked: ngtcp2 refused it for flow control
   * (returns the application's stream to report, or NULL). shut: the stream
   * is closed for writing. shutdown_write: we reset st. */
  void (*resume)(quic_stream *st);
  void (*opened)(quic_stream *st);
  int (*next)(quic_session *s, quic_app_out *out);
  int (*wrote)(quic_session *s, quic_app_out *out, size_t n);
  quic_stream *(*blocked)(quic_session *s, quic_app_out *out);
  void (*shut)(quic_session *s, quic_app_out *out);
  void (*shutdown_write)(quic_stream *st);
  /* Bytes of st the application handed to the transport (the writer's
   * high-water mark counts what is beyond this). */
  uint64_t (*taken)(const quic_stream *st);

  /* close() was called (final: the last streams are done). */
  void (*goaway)(quic_session *s, bool final);
  /* Sends a header block (kind: QUIC_HEADERS_*, stream.h); NULL: the
   * application has none, and submitting is QUIC_ERR_STATE. */
  int (*submit)(quic_stream *st, int kind, const quic_nvlist *nv);
  /* A received QUIC datagram: false drops it; otherwise *off bytes of
   * prefix are skipped and *flow is its HTTP/3 flow (-1: none). NULL: every
   * datagram is the application's as it is. */
  bool (*datagram)(quic_session *s, const uint8_t *data, size_t len, int64_t *flow, size_t *off);
  /* A received datagram of flow d->flow >= 0: the application takes it
   * (and frees it when it drops it); true when it was kept. NULL: it waits
   * in the session's queue with the rest. */
  bool (*dgram_keep)(quic_session *s, quic_dgram *d);
  /* One of our datagrams of a flow left the send queue: sent (written into
   * a packet), expired (its expiry passed unsent) or refused by ngtcp2. */
  void (*dgram_out_done)(quic_session *s, const quic_dgram *d, int outcome);
  /* ngtcp2 declared lost a datagram we sent with this dgram_id (not 0). */
  void (*dgram_lost)(quic_session *s, uint64_t dgram_id);
} quic_app_ops;

extern const quic_app_ops quic_app_raw;
extern const quic_app_ops quic_app_http3;

#endif

/* Events for the application. During a receive batch, sessions and streams
 * only set bits (QUIC_EV_* on a session, QUIC_SEV_* on a stream, stream.h);
 * once the batch is done the host collects them as flat records, in a fixed
 * order per session, and hands the whole list to JavaScript in one call. */
#ifndef QUIC_EVENT_H
#define QUIC_EVENT_H

#include "common.h"

typedef struct quic_session quic_session;

/* What the application is told, flattened (binding.h QUIC_EVENT_RECORD).
 * The list makes the QUIC_E_* codes (from 1) and is exported to JavaScript
 * by name (constants.EVENTS), which lib/contract.js checks at load. */
#define QUIC_EVENTS(V)                                                                                         \
  V(SESSION_NEW)                                                                                               \
  V(SESSION_HANDSHAKE)                                                                                         \
  V(SESSION_CLOSE)        /* aux = QUIC_CLOSE_* kind, code = error code */                                     \
  V(STREAM_NEW)           /* peer-initiated stream; aux = flags */                                             \
  V(STREAM_OPENED)        /* a queued local stream got its id */                                              \
  V(STREAM_DATA)          /* data or FIN can be read */                                                        \
  V(STREAM_RESET)         /* peer reset its sending side; code */                                              \
  V(STREAM_STOP)          /* peer's STOP_SENDING ended our sending side; aux 1: code is its code (known) */   \
  V(STREAM_BLOCKED)       /* flow control stopped our writes */                                                \
  V(STREAM_DRAIN)         /* the send buffer has room again */                                                 \
  V(STREAM_CLOSE)         /* both directions done; code if aborted; aux QUIC_STREAM_CLOSE_* bits */           \
  V(STREAM_HEADERS)       /* HTTP/3: header blocks can be taken */                                             \
  V(SESSION_DATAGRAM)     /* datagrams can be taken */                                                         \
  V(SESSION_CLIENT_HELLO) /* secure.clientHello: the handshake waits */                                        \
  V(SESSION_OCSP)         /* secure.ocsp (server): the handshake waits for a response */                       \
  V(STREAM_WT_CLOSE)      /* WebTransport session ended; code = its code, aux 1 if closed (not vanished) */    \
  V(STREAM_WT_DRAIN)      /* WebTransport: the peer asked to drain the session */                              \
  V(SESSION_WT_SETTINGS)  /* WebTransport: the peer's SETTINGS were read; aux its versions (WT_DRAFT* bits) */ \
  V(STREAM_COMMITTED)     /* every byte we wrote and the end were acknowledged (allDataCommitted) */
#define QUIC_EVENT_ENUM(name) QUIC_E_##name,
enum { QUIC_E_NONE = 0, QUIC_EVENTS(QUIC_EVENT_ENUM) };

/* STREAM_CLOSE's aux bits: nothing is left to read (the application need not
 * attach a reader before letting the stream go); header blocks wait to be
 * taken (HTTP/3: otherwise lib/ need not ask for them at the end); all we
 * sent, and the end, was acknowledged. */
enum { QUIC_STREAM_CLOSE_DRAINED = 1u, QUIC_STREAM_CLOSE_HEADERS = 2u, QUIC_STREAM_CLOSE_COMMITTED = 4u };

typedef struct quic_event {
  uint32_t type;
  uint32_t session_key;
  uint32_t stream_key;
  uint32_t aux;
  int64_t stream_id;
  uint64_t code;
  quic_session *session;    /* valid only until the records are delivered */
} quic_event;

/* Session event bits, set during a batch and collected once. */
enum {
  QUIC_EV_HANDSHAKE = 1u << 0,
  QUIC_EV_CLOSE = 1u << 1,
  QUIC_EV_NEW = 1u << 2,
  QUIC_EV_DATAGRAM = 1u << 3,
  QUIC_EV_CLIENT_HELLO = 1u << 4, /* a held ClientHello waits for the application */
  QUIC_EV_OCSP = 1u << 5,         /* server: the handshake waits for an OCSP response */
  QUIC_EV_WT_SETTINGS = 1u << 6,  /* WebTransport: the peer's SETTINGS were read */
};

/* Where collected records go: push returns QUIC_OK or QUIC_ERR_NOMEM. */
typedef struct quic_event_sink {
  int (*push)(struct quic_event_sink *sink, const quic_event *e);
} quic_event_sink;

/* Moves the pending events of s and its streams into the sink, in order, and
 * deletes streams both sides are done with once their last event is out.
 * An event is cleared only once the sink took it: on QUIC_ERR_NOMEM the rest
 * stay pending (nothing is dropped) and the caller tries again later. */
int quic_session_collect_events(quic_session *s, quic_event_sink *sink);
/* True while s has events not yet collected. */
bool quic_session_has_events(const quic_session *s);

#endif

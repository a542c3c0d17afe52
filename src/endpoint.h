/* The endpoint: one UDP socket and what is shared by every session on it
 * (connection-ID routing, address validation, limits, secrets); and the wrap:
 * the per-thread face of an endpoint that owns sessions and queues the
 * events the application will see. Today an endpoint has exactly one wrap;
 * cloning an Endpoint into a worker adds wraps on other threads. */
#ifndef QUIC_ENDPOINT_H
#define QUIC_ENDPOINT_H

#include "common.h"
#include "keymap.h"
#include "session.h"
#include "udp.h"

typedef struct quic_endpoint quic_endpoint;

typedef struct quic_endpoint_config {
  quic_addr bind;
  quic_udp_options udp;
  uint8_t reset_secret[16];
  uint8_t token_secret[32];
  bool disable_stateless_reset;
  bool validate_address;
  uint64_t max_stateless_resets;      /* per remote host */
  uint64_t retry_token_expiration_s;
  uint64_t token_expiration_s;
  uint64_t retry_limit;               /* Retries per address before we give up on it */
  uint64_t address_lru_size;
  uint64_t max_connections_per_host;
  uint64_t max_connections_total;
  double rx_loss, tx_loss;            /* simulated loss, testing only */
} quic_endpoint_config;

void quic_endpoint_config_defaults(quic_endpoint_config *c);

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
  V(STREAM_STOP)          /* peer asked us to stop sending; code */                                            \
  V(STREAM_BLOCKED)       /* flow control stopped our writes */                                                \
  V(STREAM_DRAIN)         /* the send buffer has room again */                                                 \
  V(STREAM_CLOSE)         /* both directions done; code if aborted; aux 1 if nothing unread */                 \
  V(STREAM_HEADERS)       /* HTTP/3: header blocks can be taken */                                             \
  V(SESSION_DATAGRAM)     /* datagrams can be taken */                                                         \
  V(SESSION_CLIENT_HELLO) /* secure.clientHello: the handshake waits */                                        \
  V(SESSION_OCSP)         /* secure.ocsp (server): the handshake waits for a response */
#define QUIC_EVENT_ENUM(name) QUIC_E_##name,
enum { QUIC_E_NONE = 0, QUIC_EVENTS(QUIC_EVENT_ENUM) };

typedef struct quic_event {
  uint32_t type;
  uint32_t session_key;
  uint32_t stream_key;
  uint32_t aux;
  int64_t stream_id;
  uint64_t code;
  quic_session *session;    /* valid only until the deliver hook returns */
} quic_event;

/* EndpointStats (a stats block, see stats.h), laid out by
 * QUIC_ENDPOINT_STATS in stats_layout.h. */
typedef struct quic_endpoint_counters {
  QUIC_ENDPOINT_STATS(QUIC_STATS_FIELD)
} quic_endpoint_counters;

typedef void (*quic_deliver_cb)(quic_wrap *w, void *user);
typedef void (*quic_closed_cb)(quic_wrap *w, void *user);

struct quic_wrap {
  quic_endpoint *ep;        /* reference; released when the wrap is freed */
  uv_loop_t *loop;          /* borrowed */
  quic_link sessions;       /* owned sessions */
  quic_link dirty;          /* sessions to flush at the end of this turn */
  quic_link session_events; /* sessions with events to emit */
  bool listening;
  bool closing;             /* endpoint.close(): no new sessions */
  bool destroyed;
  quic_session_config server_cfg; /* owned while listening */
  uint32_t next_session_key;
  uint32_t live_sessions;   /* sessions not yet freed */
  uint32_t live_server_sessions; /* accepted ones, for maxConnectionsTotal */
  quic_event *events;       /* owned; filled by emit, read by deliver */
  size_t nevents, events_cap;
  quic_deliver_cb deliver;
  quic_closed_cb closed;
  void *user;               /* the binding's handle */
  uv_idle_t idle;           /* runs deferred flushes before the loop sleeps */
  bool idle_active;
  int depth;                /* >0 while inside a callback that will emit */
  int handles;              /* libuv handles still to close before freeing */
  bool free_pending;
  bool rx_datagrams;        /* a datagram arrived in this receive round */
  uint8_t *tx_buf;          /* owned: packet assembly space its sessions share (one thread) */
};

/* Packets a session assembles per flush before handing them to the socket. */
#define QUIC_TX_PKTS 64
#define QUIC_TX_BUF_SIZE (QUIC_TX_PKTS * 1500)

struct quic_endpoint {
  uv_loop_t *loop;          /* borrowed */
  int refs;
  quic_endpoint_config cfg;
  quic_udp udp;             /* socket; fd -1 until bound */
  bool bound;
  uv_poll_t poll;
  bool poll_init;
  int poll_events;
  quic_keymap cids;         /* connection ID -> quic_session* (borrowed) */
  uint32_t cid_lens;        /* bit n: a client chose an n-byte SCID (issue 4); short headers are tried at these lengths too */
  quic_keymap hosts;        /* remote IP -> a: live sessions, b: resets sent */
  quic_keymap validated;    /* remote IP+port -> a: retries sent; LRU bounded */
  quic_keymap reset_tokens; /* peer's stateless reset token -> quic_session* (borrowed) */
  quic_keymap tokens;       /* client: server IP+port -> NEW_TOKEN token (ptr owned, quic_token) */
  quic_wrap *wrap;          /* the one wrap (borrowed; it holds a reference) */
  quic_link send_blocked;   /* sessions waiting for the socket to drain */
  quic_rx_batch *rx;        /* owned receive buffers */
  quic_endpoint_counters *counters; /* &counters_inline, or a shared stats block (stats.h) */
  quic_endpoint_counters counters_inline;
  uint64_t rng;             /* xorshift state for simulated loss */
};

/* Creates an endpoint with one wrap on this loop. Not bound yet. */
int quic_wrap_new(quic_wrap **out, uv_loop_t *loop, const quic_endpoint_config *cfg,
                  quic_deliver_cb deliver, quic_closed_cb closed, void *user);
/* Binds the socket if not yet bound. QUIC_ERR_SYS with *sys_errno on failure. */
int quic_wrap_bind(quic_wrap *w, int *sys_errno);
/* Starts accepting sessions; takes ownership of cfg's contents. */
int quic_wrap_listen(quic_wrap *w, quic_session_config *cfg);
/* Stops accepting new sessions and closes existing ones gracefully. */
void quic_wrap_close(quic_wrap *w);
/* Tears everything down now; the closed hook runs once handles are closed. */
void quic_wrap_destroy(quic_wrap *w);

/* Called by sessions. */
void quic_wrap_mark_dirty(quic_wrap *w, quic_session *s);
void quic_wrap_session_event(quic_wrap *w, quic_session *s);
void quic_wrap_schedule(quic_wrap *w);  /* flush dirty sessions soon */
/* Flushes every session marked dirty since the last flush, once each. */
void quic_wrap_flush(quic_wrap *w);
/* Emits pending events through the deliver hook (no-op inside a callback). */
void quic_wrap_emit(quic_wrap *w);
/* Entering/leaving a libuv callback: emits on the way out. */
void quic_wrap_enter(quic_wrap *w);
void quic_wrap_leave(quic_wrap *w);

/* Session bookkeeping in the endpoint tables. */
int quic_endpoint_add_cid(quic_endpoint *ep, const ngtcp2_cid *cid, quic_session *s);
void quic_endpoint_remove_cid(quic_endpoint *ep, const ngtcp2_cid *cid);
int quic_endpoint_add_reset_token(quic_endpoint *ep, const uint8_t *token, quic_session *s);
void quic_endpoint_remove_reset_token(quic_endpoint *ep, const uint8_t *token, quic_session *s);
/* A closing session no longer counts against the connection limits. */
void quic_endpoint_session_closing(quic_endpoint *ep, quic_session *s);
void quic_endpoint_session_gone(quic_endpoint *ep, quic_session *s);
/* Sends a packet (or train); returns 0, -EAGAIN or another -errno. Applies
 * simulated tx loss and counts stats. */
/* As quic_endpoint_send, from a given local address (NULL: the kernel's
 * choice); used when the socket is bound to a wildcard address. */
int quic_endpoint_send_from(quic_endpoint *ep, const quic_addr *local, const quic_addr *remote, const uint8_t *data,
                            size_t len, size_t segsize, uint8_t ecn);
int quic_endpoint_send(quic_endpoint *ep, const quic_addr *remote, const uint8_t *data, size_t len,
                       size_t segsize, uint8_t ecn);
/* One received datagram through the whole receive path (routing, accept,
 * resets), as on_poll does for each datagram of a batch; the caller flushes
 * afterwards. fuzz/ calls it with arbitrary bytes. */
void quic_endpoint_receive(quic_endpoint *ep, quic_rx_pkt *p);
void quic_endpoint_wait_writable(quic_endpoint *ep, quic_session *s);
void quic_endpoint_gen_cid(quic_endpoint *ep, ngtcp2_cid *cid, uint8_t *reset_token);
/* As quic_endpoint_gen_cid with a given length: a client that chose its SCID
 * must issue more IDs of that length (issue 4). */
void quic_endpoint_gen_cid_len(quic_endpoint *ep, ngtcp2_cid *cid, size_t len, uint8_t *reset_token);

/* NEW_TOKEN (RFC 9000 8.1.3). Server: seals a token for a client address
 * (returns its length, 0 on failure). Client: remembers the newest token of
 * each server (a bounded LRU) and hands it out for the next connection. */
typedef struct quic_token {
  size_t len;
  uint8_t data[];
} quic_token;
#define QUIC_TOKEN_CACHE 256
#define QUIC_TOKEN_MAX 256
size_t quic_endpoint_make_token(quic_endpoint *ep, const quic_addr *remote, uint8_t *buf, size_t buflen);
void quic_endpoint_save_token(quic_endpoint *ep, const quic_addr *server, const uint8_t *token, size_t len);
const quic_token *quic_endpoint_token(quic_endpoint *ep, const quic_addr *server);

#endif

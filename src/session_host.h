/* The session host: what a session needs from whoever drives it, and
 * nothing more. In the addon the host is an endpoint wrap (one UDP socket on
 * one thread, see endpoint_wrap.c); in the C tests it is a fake that carries
 * packets between two sessions in memory on a virtual clock. A session calls
 * only these operations: it never sees a socket, a libuv handle, a routing
 * table or an event queue.
 *
 * Threading: a host and its sessions live on one thread. Nothing here is
 * shared between threads (a wrap in a port group shares only what
 * reuseport.h says, never through this interface). */
#ifndef QUIC_SESSION_HOST_H
#define QUIC_SESSION_HOST_H

#include <ngtcp2/ngtcp2.h>

#include "common.h"
#include "udp.h"

typedef struct quic_session quic_session;
typedef struct quic_host quic_host;

/* A train of packets of seg bytes each (the last may be shorter; seg 0: one
 * datagram), all for one path and with one ECN mark. Borrowed for the call. */
typedef struct quic_train {
  const quic_addr *local; /* NULL: the socket's own choice */
  const quic_addr *remote;
  const uint8_t *data;
  size_t len, seg;
  uint8_t ecn;
} quic_train;

typedef struct quic_host_ops {
  /* The host's clock, nanoseconds; every timestamp a session gives ngtcp2
   * comes from here (the fake host's clock is virtual). */
  uint64_t (*now)(quic_host *h);
  /* Calls quic_session_on_timer(s) at `at` (host clock); UINT64_MAX: never.
   * A later call replaces an earlier one. */
  void (*set_timer)(quic_host *h, quic_session *s, uint64_t at);
  /* Sends a train. QUIC_OK; QUIC_ERR_AGAIN when the socket is full, after
   * which the host calls quic_session_writable(s) once it drains; any other
   * error is loss, which QUIC repairs. */
  int (*send)(quic_host *h, quic_session *s, const quic_train *t);
  /* A fresh connection ID of len bytes that routes to nobody yet, and its
   * stateless reset token (when reset_token is not NULL). */
  void (*new_cid)(quic_host *h, ngtcp2_cid *cid, size_t len, uint8_t *reset_token);
  /* Routes packets for cid to s. QUIC_ERR_LIMIT when it already routes to
   * another session; QUIC_ERR_NOMEM. */
  int (*add_cid)(quic_host *h, quic_session *s, const ngtcp2_cid *cid);
  void (*remove_cid)(quic_host *h, quic_session *s, const ngtcp2_cid *cid);
  /* A peer's stateless reset token: a reset carrying it reaches s. */
  int (*add_reset_token)(quic_host *h, quic_session *s, const uint8_t *token);
  void (*remove_reset_token)(quic_host *h, quic_session *s, const uint8_t *token);
  /* Server: seals a NEW_TOKEN token for remote into buf; its length, 0 if
   * none. Client: keeps the newest token a server gave, for next time. */
  size_t (*make_token)(quic_host *h, const quic_addr *remote, uint8_t *buf, size_t len);
  void (*save_token)(quic_host *h, const quic_addr *server, const uint8_t *token, size_t len);
  /* s has packets to write: quic_session_flush(s) soon, once per batch. */
  void (*mark_dirty)(quic_host *h, quic_session *s);
  /* s has events for the application (ev: the QUIC_EV_* bits just added,
   * event.h); the host collects them with quic_session_collect_events. */
  void (*notify)(quic_host *h, quic_session *s, uint32_t ev);
  /* s entered its closing or draining period: it no longer counts against
   * connection limits. */
  void (*closing)(quic_host *h, quic_session *s);
  /* s is destroyed: the host forgets every route, timer and list entry of
   * it, and calls quic_session_free(s) once nothing of its own refers to it
   * (the wrap: after its timer handle has closed). */
  void (*release)(quic_host *h, quic_session *s);
} quic_host_ops;

/* Packets a session assembles per flush before handing them to the host. */
#define QUIC_TX_PKTS 64
#define QUIC_TX_BUF_SIZE (QUIC_TX_PKTS * 1500)
/* The most one GSO send carries: a UDP payload over IPv4 (65535 - 20 - 8). */
#define QUIC_GSO_MAX 65507

struct quic_host {
  const quic_host_ops *ops;
  uint8_t *tx_buf; /* owned by the host: QUIC_TX_BUF_SIZE bytes of packet
                    * assembly space its sessions share (one thread) */
  size_t cid_len;  /* the length of every connection ID the host issues
                    * (new_cid is asked for this length): 16, or the
                    * QUIC-LB layout's (quic_lb.h) */
};

/* Storage the host keeps inside each session, so that tracking a session
 * costs no allocation of its own. The host alone reads and writes it; the
 * session only zeroes it at creation. */
typedef struct quic_host_slot {
  quic_link all;      /* the host's sessions */
  quic_link dirty;    /* sessions to flush */
  quic_link events;   /* sessions with events to collect */
  quic_link blocked;  /* sessions waiting for the socket to drain */
  uv_timer_t timer;   /* the wrap's timer for this session */
  bool timer_init;
  bool counted;       /* server: counted against the connection limits */
} quic_host_slot;

#endif

/* The endpoint (endpoint.c): one UDP socket and what is shared by every
 * session on it (connection-ID routing, address validation, limits,
 * secrets, tokens). The wrap (endpoint_wrap.c): the face of an endpoint on
 * its thread, which owns the sessions, is their host (session_host.h), and
 * queues the events the application will see. */
#ifndef QUIC_ENDPOINT_H
#define QUIC_ENDPOINT_H

#include "common.h"
#include "keymap.h"
#include "quic_lb.h"
#include "reuseport.h"
#include "event.h"
#include "session.h"
#include "stats_layout.h"
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
  /* One port, many threads (reuseport.h): at bind the endpoint creates a
   * port group and joins it; copies on other threads join the same group
   * (quic_wrap_join) and so get this whole configuration. */
  bool shared;
  /* Independent processes (or threads) on one port (option reusePort):
   * at bind the endpoint joins the group of this address and port, of this
   * name, through its keeper process (quic_group_rendezvous); rp_name_len
   * 0: not such an endpoint. */
  uint8_t rp_name[QUIC_GROUP_NAME_MAX];
  size_t rp_name_len;
  /* Connection IDs in the QUIC-LB layout (quic_lb.h); otherwise 16 random
   * octets (the worker index in the first octet's low 5 bits when shared). */
  bool lb_enabled;
  quic_lb_config lb;
} quic_endpoint_config;

void quic_endpoint_config_defaults(quic_endpoint_config *c);

/* EndpointStats (a stats block, see stats.h), laid out by
 * QUIC_ENDPOINT_STATS in stats_layout.h. */
typedef struct quic_endpoint_counters {
  QUIC_ENDPOINT_STATS(QUIC_STATS_FIELD)
} quic_endpoint_counters;

typedef struct quic_wrap quic_wrap;
typedef void (*quic_deliver_cb)(quic_wrap *w, void *user);
typedef void (*quic_closed_cb)(quic_wrap *w, void *user);

struct quic_wrap {
  quic_host host;           /* what its sessions call (ops in endpoint_wrap.c); tx_buf owned */
  quic_endpoint *ep;        /* reference; released when the wrap is freed */
  uv_loop_t *loop;          /* borrowed */
  quic_link sessions;       /* owned sessions, by their slot.all */
  quic_link dirty;          /* sessions to flush at the end of this turn (slot.dirty) */
  quic_link session_events; /* sessions with events to collect (slot.events) */
  bool listening;
  bool closing;             /* endpoint.close(): no new sessions */
  bool destroyed;
  quic_session_config server_cfg; /* owned while listening */
  uint32_t next_session_key;
  uint32_t live_server_sessions; /* accepted ones, for maxConnectionsTotal */
  quic_event_sink sink;     /* collects into events */
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
};

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
  size_t cid_len;           /* of the IDs it issues: QUIC_CID_LEN, or the QUIC-LB layout's */
  quic_lb lb;               /* owned (quic_lb_free) when cfg.lb_enabled */
  quic_group *group;        /* a reference while the endpoint belongs to a port group, else NULL */
  int group_slot;           /* its member slot once joined (-1 before); the socket is the group's */
  uint8_t worker;           /* its worker index in the group (0 when not shared) */
  uv_async_t inbox;         /* a group member: woken when another member hands it packets */
  bool inbox_init;
  /* A member of a port group served by another process (quic_group_connect):
   * the connection to it (owned; closed when the endpoint leaves), and the
   * socket it sent, which bind adopts (owned until then). */
  int ipc_fd;
  int adopt_fd;
  bool steered;             /* such a member: the kernel took the group's steering program */
  quic_link send_blocked;   /* sessions waiting for the socket to drain (slot.blocked) */
  quic_rx_batch *rx;        /* owned receive buffers */
  quic_endpoint_counters *counters; /* &counters_inline, or a shared stats block (stats.h) */
  quic_endpoint_counters counters_inline;
  uint64_t rng;             /* xorshift state for simulated loss */
};

/* ---- the wrap (endpoint_wrap.c) ---- */

/* Creates an endpoint with one wrap on this loop. Not bound yet. */
int quic_wrap_new(quic_wrap **out, uv_loop_t *loop, const quic_endpoint_config *cfg,
                  quic_deliver_cb deliver, quic_closed_cb closed, void *user);
/* Binds the socket if not yet bound. QUIC_ERR_SYS with *sys_errno on failure. */
int quic_wrap_bind(quic_wrap *w, int *sys_errno);
/* Starts accepting sessions; takes ownership of cfg's contents. */
int quic_wrap_listen(quic_wrap *w, quic_session_config *cfg);
/* A client session to remote (the socket must be bound); a NEW_TOKEN token
 * kept from an earlier connection to that server is used. */
int quic_wrap_connect(quic_wrap *w, quic_session **out, const quic_addr *remote, const quic_session_config *cfg,
                      const quic_resume *resume);
/* A server session for an Initial the endpoint accepted (endpoint.c). */
int quic_wrap_accept(quic_wrap *w, quic_session **out, const ngtcp2_pkt_hd *hd, const quic_rx_pkt *p,
                     const ngtcp2_cid *odcid);
/* Stops accepting new sessions and closes existing ones gracefully. */
void quic_wrap_close(quic_wrap *w);
/* Tears everything down now; the closed hook runs once handles are closed. */
void quic_wrap_destroy(quic_wrap *w);
/* The thread is going away: every session closes at once (its peer gets a
 * CONNECTION_CLOSE, INTERNAL_ERROR), then quic_wrap_destroy. */
void quic_wrap_abandon(quic_wrap *w);
/* A port group for this endpoint, created (and its socket bound into it) if
 * there is none yet: its id goes to other threads, which call
 * quic_wrap_join. QUIC_ERR_STATE when the socket is already bound outside a
 * group; QUIC_ERR_INVALID with a QUIC-LB layout that self-encodes the
 * length (no room for the worker index); QUIC_ERR_SYS with *sys_errno. */
int quic_wrap_share(quic_wrap *w, uint64_t *group_id, int *sys_errno);
/* A wrap on this loop that joins port group id with the group's
 * configuration, bound at once. QUIC_ERR_NOT_FOUND when the group is gone;
 * QUIC_ERR_LIMIT when it has 32 members. */
int quic_wrap_join(quic_wrap **out, uv_loop_t *loop, uint64_t group_id, quic_deliver_cb deliver,
                   quic_closed_cb closed, void *user, int *sys_errno);
/* The same for a group shared by process pid: its socket comes from there. */
int quic_wrap_join_process(quic_wrap **out, uv_loop_t *loop, uint32_t pid, uint64_t group_id,
                           quic_deliver_cb deliver, quic_closed_cb closed, void *user, int *sys_errno);

/* Flushes every session marked dirty since the last flush, once each. */
void quic_wrap_flush(quic_wrap *w);
/* Emits pending events through the deliver hook (no-op inside a callback). */
void quic_wrap_emit(quic_wrap *w);
/* Entering/leaving a libuv callback: flushes and emits on the way out. */
void quic_wrap_enter(quic_wrap *w);
void quic_wrap_leave(quic_wrap *w);
/* The wrap's handle a session goes back to (its host is the wrap). */
static inline quic_wrap *quic_wrap_of(quic_session *s) { return QUIC_CONTAINER(s->host, quic_wrap, host); }

/* ---- the endpoint (endpoint.c) ---- */

/* Routing tables, used by the wrap's host operations. */
int quic_endpoint_add_cid(quic_endpoint *ep, const ngtcp2_cid *cid, quic_session *s);
void quic_endpoint_remove_cid(quic_endpoint *ep, const ngtcp2_cid *cid, quic_session *s);
int quic_endpoint_add_reset_token(quic_endpoint *ep, const uint8_t *token, quic_session *s);
void quic_endpoint_remove_reset_token(quic_endpoint *ep, const uint8_t *token, quic_session *s);
/* Drops every route to s (it is gone). */
void quic_endpoint_forget(quic_endpoint *ep, quic_session *s);
/* A server session from remote starts or stops counting against the
 * per-host limit. */
void quic_endpoint_host_hold(quic_endpoint *ep, const quic_addr *remote);
void quic_endpoint_host_release(quic_endpoint *ep, const quic_addr *remote);
/* Sends a packet (or train) from a given local address (NULL: the kernel's
 * choice; used when the socket is bound to a wildcard address). QUIC_OK,
 * QUIC_ERR_AGAIN when the socket is full, QUIC_ERR_SYS otherwise. Applies
 * simulated tx loss and counts stats. */
int quic_endpoint_send(quic_endpoint *ep, const quic_addr *local, const quic_addr *remote, const uint8_t *data,
                       size_t len, size_t segsize, uint8_t ecn);
/* One received datagram through the whole receive path (routing, accept,
 * resets), as on_poll does for each datagram of a batch; the caller flushes
 * afterwards. fuzz/ calls it with arbitrary bytes. */
void quic_endpoint_receive(quic_endpoint *ep, quic_rx_pkt *p);
/* Waits for the socket to become writable, then tells s. */
void quic_endpoint_wait_writable(quic_endpoint *ep, quic_session *s);
/* A random connection ID of len bytes and, when reset_token is not NULL,
 * its stateless reset token (an HMAC under the endpoint's secret). */
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
/* The endpoint's lifecycle, driven by its wrap. */
int quic_endpoint_init(quic_endpoint *ep, uv_loop_t *loop, const quic_endpoint_config *cfg, quic_wrap *w);
int quic_endpoint_bind(quic_endpoint *ep, int *sys_errno);
/* Stops reading; closes the poll handle and a group member's inbox handle
 * (close_cb once for each, with data; false when there is none to close). */
bool quic_endpoint_stop(quic_endpoint *ep, uv_close_cb close_cb, void *data);
void quic_endpoint_free(quic_endpoint *ep);
/* In a port group: no more packets are steered here (the socket stays
 * open, and in the group, until the endpoint is freed). */
void quic_endpoint_leave(quic_endpoint *ep);
/* A member of a port group, in this process or through another's (its
 * worker index is in every connection ID it issues). */
static inline bool quic_endpoint_in_group(const quic_endpoint *ep) { return ep->group || ep->ipc_fd >= 0; }
/* In a port group: whether new connections may be steered here. */
void quic_endpoint_set_listening(quic_endpoint *ep, bool listening);

#endif

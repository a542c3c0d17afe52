/* One QUIC connection: an ngtcp2_conn, its TLS session and its streams,
 * between two small interfaces: below, the host that drives it
 * (session_host.h: packets, timers, routes, events); above, the application
 * its ALPN chose (app.h: raw QUIC or HTTP/3). Packets come in through
 * quic_session_read and go out in quic_session_flush (send.c); events are
 * collected by the host (event.h). The session never calls JavaScript.
 *
 * The session module: session.c (lifecycle, ngtcp2 callbacks, closing),
 * send.c (packets and trains), stream.c (the stream API), crypto.c (CRYPTO
 * data: the ClientHello pause, after the TLS session is released), events.c
 * (collecting events), app_raw.c and http3.c (the applications). */
#ifndef QUIC_SESSION_H
#define QUIC_SESSION_H

#include <ngtcp2/ngtcp2.h>

#include "app.h"
#include "common.h"
#include "datagram.h"
#include "event.h"
#include "keymap.h"
#include "qlog.h"
#include "session_host.h"
#include "stats_layout.h"
#include "tls.h"
#include "tls_parse.h"
#include "udp.h"

typedef struct quic_stream quic_stream;

/* Everything a session needs from listen() or connect() options. */
typedef struct quic_session_config {
  quic_tls_ctx *tls;            /* reference held by the config */
  uint64_t max_idle_timeout_ms;
  uint64_t initial_max_data;
  uint64_t initial_max_stream_data_bidi_local;
  uint64_t initial_max_stream_data_bidi_remote;
  uint64_t initial_max_stream_data_uni;
  uint64_t initial_max_streams_bidi;
  uint64_t initial_max_streams_uni;
  uint64_t ack_delay_exponent;
  uint64_t max_ack_delay_ms;
  uint64_t active_connection_id_limit;
  uint64_t max_datagram_frame_size;
  uint64_t max_stream_window;   /* 0: ngtcp2's automatic tuning limit */
  uint64_t max_window;
  uint64_t handshake_timeout_ms;
  uint64_t ack_thresh;
  size_t max_payload_size;
  ngtcp2_cc_algo cc_algo;
  bool disable_active_migration;
  struct {
    uint64_t max_field_section_size;
    uint64_t qpack_max_dtable_capacity;
    uint64_t qpack_encoder_max_dtable_capacity;
    uint64_t qpack_blocked_streams;
    uint32_t wt_max_sessions;   /* WebTransport sessions per connection; 0: WebTransport off */
    uint32_t wt_max_streams;    /* the peer's open streams per WebTransport session; 0: no limit of its own */
  } h3;                         /* HTTP/3 settings, used when ALPN is h3 */
  char *sni;                    /* owned; client */
  char *verify_name;            /* owned; client */
  /* Paths (issue 4). */
  uint8_t dcid[20], scid[20];   /* client: chosen initial connection IDs */
  size_t dcidlen, scidlen;      /* 0: random */
  bool ignore_preferred;        /* client: preferredAddressStrategy 'ignore' */
  bool qlog;                    /* collect ngtcp2's qlog (bounded, see QUIC_QLOG_MAX) */
  /* Test only (docs/api.md, `testing`): act as a client that ignores the
   * server's per-stream flow-control credit, so a test can reach the
   * server's FLOW_CONTROL_ERROR path. Never set by ordinary options. */
  bool test_ignore_stream_credit;
  bool disable_stateless_reset; /* server: send no reset token (the host sets it from its own config) */
  bool pa_v4, pa_v6;            /* server: preferred addresses to advertise */
  ngtcp2_sockaddr_in pa_ipv4;
  ngtcp2_sockaddr_in6 pa_ipv6;
} quic_session_config;

void quic_session_config_defaults(quic_session_config *c);
void quic_session_config_clear(quic_session_config *c);

enum {
  QUIC_SESSION_HANDSHAKE = 0,
  QUIC_SESSION_OPEN,
  QUIC_SESSION_GRACEFUL,  /* close() called: streams finish, no new ones */
  QUIC_SESSION_CLOSING,   /* CONNECTION_CLOSE sent or received; lingering */
  QUIC_SESSION_DEAD,      /* released to the host, which frees it */
};

/* How a session ended, as reported to the application. */
enum {
  QUIC_CLOSE_NONE = 0,
  QUIC_CLOSE_TRANSPORT = 1,   /* transport error code */
  QUIC_CLOSE_APPLICATION = 2, /* application error code */
  QUIC_CLOSE_IDLE = 3,        /* idle timeout: a clean end */
  QUIC_CLOSE_STATELESS_RESET = 4,
  QUIC_CLOSE_VERSION_NEGOTIATION = 5,
  QUIC_CLOSE_HANDSHAKE_TIMEOUT = 6,
};

/* Server: where a session stands with secure.clientHello (crypto.c). */
enum { QUIC_HELLO_OFF = 0, QUIC_HELLO_COLLECT, QUIC_HELLO_WAIT, QUIC_HELLO_DONE, QUIC_HELLO_OCSP };
/* The most Initial CRYPTO data a session holds for the application. */
#define QUIC_HELLO_MAX (64 * 1024)

/* SessionStats (a stats block, see stats.h), laid out by
 * QUIC_SESSION_STATS in stats_layout.h. */
typedef struct quic_session_counters {
  QUIC_SESSION_STATS(QUIC_STATS_FIELD)
} quic_session_counters;

/* A train that could not be sent because the socket was full; allocated
 * only then, with where it goes (issue 5: idle sessions carry none of it). */
typedef struct quic_tx_pending {
  size_t len, seg;
  quic_addr remote, local;
  uint8_t ecn;
  uint8_t data[];
} quic_tx_pending;

typedef struct quic_session {
  quic_host *host;        /* borrowed: the host drives its sessions and outlives them */
  quic_host_slot slot;    /* the host's own storage (session_host.h); never touched here */
  uint32_t key;           /* the host's handle for it, unique per host */
  bool server;
  bool reset_tokens;      /* has told the host of peer reset tokens */
  int state;
  uint32_t events;        /* QUIC_EV_* pending */
  int close_kind;         /* QUIC_CLOSE_* once closed */
  uint64_t close_code;
  char *close_reason;     /* owned: the peer's reason (printable, < 128 bytes), NULL if none */
  uint64_t key_derivations; /* update_key callbacks seen */

  ngtcp2_conn *conn;      /* owned */
  quic_tls_session tls;   /* owned */
  quic_addr local, remote;
  ngtcp2_cid odcid;       /* server: the client's first DCID (routing key) */
  bool odcid_routed;
  ngtcp2_ccerr ccerr;     /* the error to send when closing */
  bool ccerr_set;         /* ccerr holds an application (HTTP/3) error already */
  const quic_app_ops *app; /* raw QUIC until the ALPN chooses another */
  void *app_data;         /* owned by the application (HTTP/3: its nghttp3_conn) */
  struct {
    uint64_t max_field_section_size, qpack_max_dtable_capacity, qpack_encoder_max_dtable_capacity,
        qpack_blocked_streams;
    uint32_t wt_max_sessions; /* 0: WebTransport off */
    uint32_t wt_max_streams;  /* 0: none beyond QUIC's */
  } h3_settings;
  bool goaway_received;
  uint8_t *close_pkt;     /* owned: CONNECTION_CLOSE kept for retransmission */
  size_t close_pkt_len;
  unsigned close_resends;

  quic_keymap streams;    /* key -> quic_stream* (owned) */
  quic_link send_queue;   /* raw QUIC: streams with unsent data, round robin */
  quic_link pending_open; /* local streams waiting for the peer's limit */
  quic_link stream_events;/* streams with events pending */
  uint32_t next_stream_key;
  size_t live_streams;    /* streams ngtcp2 has not closed yet */
  bool tx_blocked;        /* the host said the socket is full */
  bool filled_packet;     /* has sent a packet filled to the path's size: path MTU probes may go (send.c) */
  struct quic_tx_pending *tx_pending; /* owned; only while the socket is full */

  quic_dgram_queue dgram_out;   /* to send, oldest first */
  quic_dgram_queue dgram_in;    /* received, for the application */

  quic_session_counters *counters; /* &counters_inline, or a shared stats block (stats.h) */
  quic_session_counters counters_inline;
  bool resume_given;      /* client: connect() had resume data; streams may open early */
  bool zero_rtt;          /* client: resumed with 0-RTT parameters (streams go out as 0-RTT) */
  bool early_rejected;    /* client: the server refused 0-RTT; early streams were resent */
  bool early_received;    /* server: data arrived in 0-RTT packets */
  bool ignore_preferred;  /* client: preferredAddressStrategy 'ignore' */
  bool test_ignore_stream_credit; /* see quic_session_config */
  void *user;             /* the binding's handle; cleared when destroyed */
  /* TLS hooks (issue 4): the ClientHello held while the application decides. */
  int hello_state;        /* QUIC_HELLO_* */
  uint8_t *hello_buf;     /* owned: Initial CRYPTO data not yet given to GnuTLS */
  size_t hello_len;
  quic_qlog qlog;         /* owned: qlog text not yet taken (issue 4) */
  /* Client: where it stands in the server's post-handshake messages, which
   * it skips once the TLS session was released (issue 5). */
  quic_tls_msg_scan post_scan;
} quic_session;

/* The longest peer close reason kept, with its NUL. */
#define QUIC_CLOSE_REASON_MAX 128

#define QUIC_CID_LEN 16

/* What a client starts from (all optional; borrowed for the call). */
typedef struct quic_resume {
  const uint8_t *ticket;
  size_t ticket_len;
  const uint8_t *params;  /* the server's 0-RTT transport parameters */
  size_t params_len;
  const uint8_t *token;   /* a NEW_TOKEN token from an earlier connection */
  size_t token_len;
} quic_resume;

/* ---- for the host ---- */

/* Creates a client session on host, with the host's key for it, and queues
 * its first flight (the host is asked to flush it). */
int quic_session_connect(quic_session **out, quic_host *host, uint32_t key, const quic_addr *local,
                         const quic_addr *remote, const quic_session_config *cfg, const quic_resume *resume);
/* Creates a server session for an accepted Initial (hd, from ngtcp2_accept)
 * and reads that packet. odcid comes from a validated Retry token (NULL
 * otherwise). QUIC_ERR_DROPPED, with nothing created, when ngtcp2 drops the
 * packet (it did not decrypt: junk or a forgery). */
int quic_session_accept(quic_session **out, quic_host *host, uint32_t key, const ngtcp2_pkt_hd *hd,
                        const uint8_t *pkt, size_t pktlen, const quic_addr *local, const quic_addr *remote,
                        uint8_t ecn, const ngtcp2_cid *odcid, const quic_session_config *cfg);

/* Feeds one received packet. Marks the session dirty; never calls JS. */
void quic_session_read(quic_session *s, const uint8_t *data, size_t len, const quic_addr *local,
                       const quic_addr *remote, uint8_t ecn);
/* Writes packets until congestion, pacing or lack of data stops it, and
 * re-arms the timer (send.c). */
void quic_session_flush(quic_session *s);
/* The timer the session set through the host has fired. */
void quic_session_on_timer(quic_session *s);
/* The socket that was full has room again. */
void quic_session_writable(quic_session *s);
/* Ends the session without sending anything (the host is going away), and
 * releases it to the host. */
void quic_session_destroy(quic_session *s);
/* Frees a released session's memory (the host calls it, see release). */
void quic_session_free(quic_session *s);
/* The connection IDs the session is reachable by (up to max; the count). */
size_t quic_session_cids(quic_session *s, ngtcp2_cid *out, size_t max);
/* True when the session has entered its closing or draining period. */
static inline bool quic_session_closed(const quic_session *s) { return s->state >= QUIC_SESSION_CLOSING; }

/* ---- for the application ---- */

/* qlog text collected since the last call (caller frees), or NULL. *fin is
 * true once ngtcp2 wrote its last record. */
char *quic_session_take_qlog(quic_session *s, size_t *len, bool *fin, uint64_t *dropped);
/* The path packets currently go out on (follows migration). */
void quic_session_current_path(quic_session *s, quic_addr *local, quic_addr *remote);
/* Client: the newest ticket and the server's 0-RTT transport parameters,
 * encoded into buf (ticket first). False when no ticket has arrived. */
bool quic_session_ticket(quic_session *s, const uint8_t **ticket, size_t *ticket_len, uint8_t *params,
                         size_t *params_len);
/* The TLS state, for the getters in tls.h (alpn, cipher, certificates...). */
static inline quic_tls_session *quic_session_tls(quic_session *s) { return &s->tls; }
/* True while a resumed client may open streams before the handshake. */
bool quic_session_can_open_early(const quic_session *s);
/* Server: data arrived in 0-RTT; client: its 0-RTT data was accepted. */
bool quic_session_early_data(quic_session *s);

/* Opens a local stream (queued if the peer's limit is reached). */
int quic_session_open_stream(quic_session *s, bool uni, quic_stream **out);
quic_stream *quic_session_stream(quic_session *s, uint32_t key);

/* Queues a datagram. QUIC_ERR_LIMIT when the queue is full or it is larger
 * than quic_session_max_datagram, QUIC_ERR_STATE when the peer takes none
 * or the session is closing. */
int quic_session_datagram(quic_session *s, const uint8_t *data, size_t len);
/* The same, with plen bytes of pre ahead of data in one datagram (an HTTP/3
 * datagram's quarter stream ID); flow: its WebTransport session (-1: none,
 * see app.h dgram_out_done); expires: dropped unsent after this quic_now
 * time (0: never); max_queue: the queue's bound for this kind. */
int quic_session_datagram_prefixed(quic_session *s, const uint8_t *pre, size_t plen, const uint8_t *data,
                                   size_t len, int64_t flow, uint64_t expires, size_t max_queue);
/* The largest datagram payload that can be sent now (0: none accepted). */
size_t quic_session_max_datagram(quic_session *s);
/* Takes the received datagrams (the caller frees each with quic_free). */
quic_dgram *quic_session_take_datagrams(quic_session *s);

/* Starts a key update (the handshake must be confirmed). */
int quic_session_update_key(quic_session *s);

/* close(): finish existing streams, refuse new ones, then close cleanly. */
void quic_session_close_graceful(quic_session *s);
/* cancel(): close now with the given error (application code space). */
void quic_session_close_now(quic_session *s, bool app, uint64_t code, const char *reason);

/* Copies ngtcp2's connection info into the counters (once per flush). */
void quic_session_refresh_stats(quic_session *s);
/* secure.clientHello: the held ClientHello (NULL unless waiting), and
 * resuming the handshake, optionally on other credentials (ctx may be NULL).
 * QUIC_ERR_STATE unless the session is waiting (crypto.c). */
const uint8_t *quic_session_hello(quic_session *s, size_t *len);
int quic_session_hello_done(quic_session *s, quic_tls_ctx *ctx);
/* secure.ocsp (server): true while the handshake waits for the response;
 * responding (len 0: staple nothing) resumes it. */
bool quic_session_ocsp_waiting(quic_session *s);
int quic_session_ocsp_respond(quic_session *s, const uint8_t *data, size_t len);

/* ngtcp2 hands us the conn through this (ngtcp2_crypto_conn_ref). */
ngtcp2_conn *quic_session_get_conn(ngtcp2_crypto_conn_ref *ref);

#endif

/* One QUIC connection: an ngtcp2_conn, its TLS session, its timer and its
 * streams. Sessions belong to an endpoint wrap and are driven by it: packets
 * come in through quic_session_read, packets go out in quic_session_flush. */
#ifndef QUIC_SESSION_H
#define QUIC_SESSION_H

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>

#include "common.h"
#include "keymap.h"
#include "stream.h"
#include "tls.h"
#include "udp.h"

typedef struct quic_wrap quic_wrap;

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
  } h3;                         /* HTTP/3 settings, used when ALPN is h3 */
  char *sni;                    /* owned; client */
  char *verify_name;            /* owned; client */
  /* Paths (issue 4). */
  uint8_t dcid[20], scid[20];   /* client: chosen initial connection IDs */
  size_t dcidlen, scidlen;      /* 0: random */
  bool ignore_preferred;        /* client: preferredAddressStrategy 'ignore' */
  bool qlog;                    /* collect ngtcp2's qlog (bounded, see QUIC_QLOG_MAX) */
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
  QUIC_SESSION_DEAD,      /* timer closing; memory freed in its callback */
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

/* Session event bits, emitted once per batch. */
enum {
  QUIC_EV_HANDSHAKE = 1u << 0,
  QUIC_EV_CLOSE = 1u << 1,
  QUIC_EV_NEW = 1u << 2,
  QUIC_EV_DATAGRAM = 1u << 3,
  QUIC_EV_CLIENT_HELLO = 1u << 4, /* a held ClientHello waits for the application */
  QUIC_EV_OCSP = 1u << 5,         /* server: the handshake waits for an OCSP response */
};

/* Server: where a session stands with secure.clientHello. */
enum { QUIC_HELLO_OFF = 0, QUIC_HELLO_COLLECT, QUIC_HELLO_WAIT, QUIC_HELLO_DONE, QUIC_HELLO_OCSP };
/* The most Initial CRYPTO data a session holds for the application. */
#define QUIC_HELLO_MAX (64 * 1024)

/* A datagram queued to send or received and not yet taken. */
typedef struct quic_dgram {
  struct quic_dgram *next; /* owned by the queue holding it */
  size_t len;
  bool early;              /* received in 0-RTT */
  uint8_t tries;           /* sends that could not place it in a packet */
  uint8_t data[];
} quic_dgram;

typedef struct quic_dgram_queue {
  quic_dgram *head, *tail; /* owned */
  size_t count;
  size_t bytes; /* payloads plus entry headers */
} quic_dgram_queue;

/* Datagrams the application sends wait at most this many; past it,
 * datagram() refuses them (the caller sees false and can wait). */
#define QUIC_DGRAM_QUEUE 128
/* Received datagrams wait for the application only until the end of the
 * receive round that brought them (the endpoint reads no further round
 * before delivering them), but one round can hold a couple of thousand: 32
 * GRO messages of up to 64 KB. So they are bounded by bytes, with room for
 * a whole round; past it, the excess is dropped (unreliable by design, so
 * dropping is the backpressure). */
#define QUIC_DGRAM_RX_BYTES (4 * 1024 * 1024)

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
  quic_wrap *wrap;        /* borrowed: the wrap owns its sessions */
  quic_link wrap_link;    /* wrap->sessions */
  quic_link dirty_link;   /* wrap->dirty while a flush is due */
  quic_link event_link;   /* wrap->session_events while events are pending */
  quic_link blocked_link; /* endpoint->send_blocked while the socket is full */
  uint32_t key;           /* handle the application uses; unique per wrap */
  bool server;
  bool counted;           /* server: counted in the per-host and total limits */
  bool reset_tokens;      /* has entries in endpoint->reset_tokens */
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
  nghttp3_conn *h3;       /* owned; HTTP/3 when the ALPN is h3 */
  struct {
    uint64_t max_field_section_size, qpack_max_dtable_capacity, qpack_encoder_max_dtable_capacity,
        qpack_blocked_streams;
  } h3_settings;
  bool goaway_received;
  uint8_t *close_pkt;     /* owned: CONNECTION_CLOSE kept for retransmission */
  size_t close_pkt_len;
  unsigned close_resends;

  uv_timer_t timer;       /* expiry timer; the session is freed in its close callback */
  uv_timer_t *timer_ref;  /* &timer while it is initialised */

  quic_keymap streams;    /* key -> quic_stream* (owned) */
  quic_link send_queue;   /* streams with unsent data, round robin */
  quic_link pending_open; /* local streams waiting for the peer's limit */
  quic_link stream_events;/* streams with events pending */
  uint32_t next_stream_key;
  size_t live_streams;    /* streams ngtcp2 has not closed yet */
  bool tx_blocked;        /* the socket returned EAGAIN */

  struct quic_tx_pending *tx_pending; /* owned; only while the socket is full */

  quic_dgram_queue dgram_out;   /* to send, oldest first */
  quic_dgram_queue dgram_in;    /* received, for the application */

  quic_session_counters *counters; /* &counters_inline, or a shared stats block (stats.h) */
  quic_session_counters counters_inline;
  bool resume_given;      /* client: connect() had resume data; streams may open early */
  bool zero_rtt;          /* client: resumed with 0-RTT parameters (streams go out as 0-RTT) */
  bool early_rejected;    /* client: the server refused 0-RTT; early streams were resent */
  bool early_received;    /* server: data arrived in 0-RTT packets */
  void *user;             /* the binding's handle; cleared when freed */
  /* TLS hooks (issue 4): the ClientHello held while the application decides. */
  int hello_state;        /* QUIC_HELLO_* */
  uint8_t *hello_buf;     /* owned: Initial CRYPTO data not yet given to GnuTLS */
  size_t hello_len;
  /* qlog (issue 4): JSON-SEQ text not yet taken by JavaScript, at most
   * QUIC_QLOG_MAX bytes; records beyond that are dropped and counted. */
  char *qlog;             /* owned; qlog_cap bytes */
  size_t qlog_len, qlog_cap;
  uint64_t qlog_dropped;  /* bytes dropped because nobody read */
  bool qlog_fin;
  bool ignore_preferred;  /* client: preferredAddressStrategy 'ignore' */
  /* Client, after the TLS session was released (issue 5): where it stands
   * in the server's post-handshake messages, which it skips. */
  uint8_t post_hdr[4];    /* the message header being read */
  uint8_t post_hdr_len;
  uint32_t post_skip;     /* body bytes of the current message still to skip */
} quic_session;

#define QUIC_QLOG_MAX (1u << 20)
/* The longest peer close reason kept, with its NUL. */
#define QUIC_CLOSE_REASON_MAX 128

#define QUIC_CID_LEN 16

/* qlog text collected since the last call (caller frees), or NULL. *fin is
 * true once ngtcp2 wrote its last record. */
char *quic_session_take_qlog(quic_session *s, size_t *len, bool *fin, uint64_t *dropped);
/* The path packets currently go out on (follows migration). */
void quic_session_current_path(quic_session *s, quic_addr *local, quic_addr *remote);

/* What a client resumes from (both optional; borrowed for the call). */
typedef struct quic_resume {
  const uint8_t *ticket;
  size_t ticket_len;
  const uint8_t *params;  /* the server's 0-RTT transport parameters */
  size_t params_len;
} quic_resume;

/* Creates a client session and queues its first flight. */
int quic_session_connect(quic_session **out, quic_wrap *w, const quic_addr *remote,
                         const quic_session_config *cfg, const quic_resume *resume);
/* Client: the newest ticket and the server's 0-RTT transport parameters,
 * encoded into buf (ticket first). False when no ticket has arrived. */
bool quic_session_ticket(quic_session *s, const uint8_t **ticket, size_t *ticket_len, uint8_t *params,
                         size_t *params_len);
/* Creates a server session for an accepted Initial packet. odcid/retry_scid
 * come from a validated Retry token (NULL otherwise). */
int quic_session_accept(quic_session **out, quic_wrap *w, const ngtcp2_pkt_hd *hd,
                        const quic_addr *local, const quic_addr *remote,
                        const ngtcp2_cid *odcid, const quic_session_config *cfg);

/* Feeds one received packet. Marks the session dirty; never calls JS. */
void quic_session_read(quic_session *s, const uint8_t *data, size_t len, const quic_addr *local,
                       const quic_addr *remote, uint8_t ecn);
/* Writes packets until congestion, pacing or lack of data stops it, and
 * re-arms the timer. */
void quic_session_flush(quic_session *s);

/* Opens a local stream (queued if the peer's limit is reached). */
int quic_session_open_stream(quic_session *s, bool uni, quic_stream **out);
quic_stream *quic_session_stream(quic_session *s, uint32_t key);

int quic_stream_write(quic_stream *st, const uint8_t *data, size_t len, bool fin);
/* Reads into dst and returns flow-control credit. */
size_t quic_stream_read(quic_stream *st, uint8_t *dst, size_t max);
/* quic_stream_rx_take, with the flow-control credit a read gives. */
quic_chunk *quic_stream_read_chunk(quic_stream *st);
/* Aborts: reset the sending side and/or stop the receiving side. */
void quic_stream_abort(quic_stream *st, uint64_t code, bool reset_tx, bool stop_rx);
/* The application no longer needs the stream: freed once ngtcp2 closes it. */
void quic_stream_release(quic_stream *st);
/* Gives credit for data as it arrives (setStreamConsumer). */
void quic_stream_set_consumer(quic_stream *st);

/* Shared with http3.c: body data arrived (or the end), body data was
 * acknowledged, a peer stream appeared, an event for the application. */
int quic_session_stream_data(quic_stream *st, const uint8_t *data, size_t len, bool fin);
void quic_session_stream_acked(quic_stream *st, uint64_t offset);
/* Bytes written that the transport has not taken yet (the writer's
 * high-water mark applies to these), and the drain event when they fall. */
uint64_t quic_session_stream_queued(const quic_stream *st);
void quic_session_stream_check_drain(quic_stream *st);
quic_stream *quic_session_remote_stream(quic_session *s, int64_t id);
void quic_session_stream_event(quic_stream *st, uint32_t ev);
/* Queues header fields for a request not yet given a stream id, or sends
 * a header block now. */
int quic_stream_submit_headers(quic_stream *st, int kind, quic_nvlist *nv);
/* Trailers to send after the body. */
int quic_stream_set_trailers(quic_stream *st, quic_nvlist *nv);

/* After its events are emitted: deletes a stream both sides are done with. */
void quic_session_reap_stream(quic_stream *st);

/* Queues a datagram. QUIC_ERR_LIMIT when the queue is full or it is larger
 * than quic_session_max_datagram, QUIC_ERR_STATE when the peer takes none
 * or the session is closing. */
int quic_session_datagram(quic_session *s, const uint8_t *data, size_t len);
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
/* Frees without sending anything (endpoint destroyed). */
void quic_session_destroy(quic_session *s);

/* Copies ngtcp2's connection info into the counters (once per flush). */
void quic_session_refresh_stats(quic_session *s);
/* secure.clientHello: the held ClientHello (NULL unless waiting), and
 * resuming the handshake, optionally on other credentials (ctx may be NULL).
 * QUIC_ERR_STATE unless the session is waiting. */
const uint8_t *quic_session_hello(quic_session *s, size_t *len);
int quic_session_hello_done(quic_session *s, quic_tls_ctx *ctx);
/* secure.ocsp (server): true while the handshake waits for the response;
 * responding (len 0: staple nothing) resumes it. */
bool quic_session_ocsp_waiting(quic_session *s);
int quic_session_ocsp_respond(quic_session *s, const uint8_t *data, size_t len);


/* ngtcp2 hands us the conn through this (ngtcp2_crypto_conn_ref). */
ngtcp2_conn *quic_session_get_conn(ngtcp2_crypto_conn_ref *ref);

#endif

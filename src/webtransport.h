/* WebTransport over HTTP/3, inside the HTTP/3 application (http3.c), which
 * calls these functions; nothing else does. Two versions, side by side:
 * draft-ietf-webtrans-http3-02 (what Chromium speaks by default) and
 * draft-ietf-webtrans-http3-16. Their streams, capsules, datagrams and
 * error codes are the same on the wire; they differ in the SETTINGS that
 * enable them, the CONNECT's :protocol, and (draft-16) the rule that
 * without flow control a connection carries one session (draft-16 5.1).
 * Each session has the version its CONNECT used. It owns:
 *
 * - our WebTransport SETTINGS, spliced into the SETTINGS frame nghttp3
 *   writes on our control stream (nghttp3 1.8 can send no other ids), with
 *   the frame length fixed up and the stream offsets mapped both ways;
 * - the peer's SETTINGS, read from its control stream as it passes to
 *   nghttp3;
 * - peer streams classified by their first varint before nghttp3 sees them:
 *   0x54 (unidirectional) and 0x41 (bidirectional), each with a session ID,
 *   are WebTransport streams; anything else is HTTP/3's;
 * - WebTransport sessions: each is an extended CONNECT stream, with the
 *   capsules (CLOSE_WEBTRANSPORT_SESSION, DRAIN_WEBTRANSPORT_SESSION) on it;
 * - datagrams with the quarter-stream-ID prefix (RFC 9297).
 *
 * Everything a peer sends is bounded: streams being classified by the
 * peer's stream limits (16 bytes each), capsules by the size of a close
 * (reason up to 1024 bytes; others are skipped, not stored), the peer's
 * SETTINGS frame by QUIC_WT_SETTINGS_MAX, sessions by maxSessions. */
#ifndef QUIC_WEBTRANSPORT_H
#define QUIC_WEBTRANSPORT_H

#include <ngtcp2/ngtcp2.h>

#include "app.h"
#include "common.h"
#include "datagram.h"
#include "keymap.h"
#include "stats_layout.h"

typedef struct quic_session quic_session;
typedef struct quic_stream quic_stream;

/* Wire constants (draft-ietf-webtrans-http3-02 and -16, RFC 9297, RFC 9220). */
#define QUIC_WT_SETTINGS_ENABLE_DRAFT02 0x2b603742u
/* draft-16 9.2: SETTINGS_WT_ENABLED (1: supported; a client treats > 1 as
 * H3_SETTINGS_ERROR, 3.1); draft versions send it from both sides (7.1). */
#define QUIC_WT_SETTINGS_WT_ENABLED 0x2c7cf000u
/* SETTINGS_WT_MAX_SESSIONS of drafts 13 and 14 (not in draft-16), which
 * Safari looks for: sent, never read. */
#define QUIC_WT_SETTINGS_WT_MAX_SESSIONS 0x14e9cd29u
/* draft-16 9.2: the initial flow-control limits. Not sent (0), so flow
 * control is never enabled (5.1) and the flow-control capsules are ignored. */
#define QUIC_WT_SETTINGS_INITIAL_MAX_DATA 0x2b61u
#define QUIC_WT_SETTINGS_INITIAL_MAX_STREAMS_UNI 0x2b64u
#define QUIC_WT_SETTINGS_INITIAL_MAX_STREAMS_BIDI 0x2b65u
#define QUIC_WT_SETTINGS_H3_DATAGRAM 0x33u
#define QUIC_WT_SETTINGS_H3_DATAGRAM_DRAFT04 0xffd277u
#define QUIC_WT_SETTINGS_ENABLE_CONNECT 0x08u
#define QUIC_WT_STREAM_UNI 0x54u
#define QUIC_WT_STREAM_BIDI 0x41u
#define QUIC_WT_CAPSULE_CLOSE 0x2843u
#define QUIC_WT_CAPSULE_DRAIN 0x78aeu
/* draft-16 5.6 (ignored: flow control is not enabled, 5.1). */
#define QUIC_WT_CAPSULE_MAX_DATA 0x190b4d3du
#define QUIC_WT_CAPSULE_MAX_STREAMS_BIDI 0x190b4d3fu
#define QUIC_WT_CAPSULE_MAX_STREAMS_UNI 0x190b4d40u
#define QUIC_WT_CAPSULE_DATA_BLOCKED 0x190b4d41u
#define QUIC_WT_CAPSULE_STREAMS_BLOCKED_BIDI 0x190b4d43u
#define QUIC_WT_CAPSULE_STREAMS_BLOCKED_UNI 0x190b4d44u
#define QUIC_WT_REASON_MAX 1024
/* The most capsule bytes held for a session not yet accepted: a CLOSE with
 * the longest reason and a few small capsules; more is refused. */
#define QUIC_WT_HELD_MAX 2048
/* Error codes (draft-02 section 4.3, 9.5; draft-16 9.5 keeps these two and
 * adds the others). */
#define QUIC_WT_BUFFERED_STREAM_REJECTED 0x3994bd84ull
#define QUIC_WT_SESSION_GONE 0x170d7b68ull
#define QUIC_WT_FLOW_CONTROL_ERROR 0x045d4487ull
#define QUIC_WT_ALPN_ERROR 0x0817b3ddull
#define QUIC_WT_REQUIREMENTS_NOT_MET 0x212c0d48ull
#define QUIC_WT_H3_ID_ERROR 0x108ull
#define QUIC_WT_H3_SETTINGS_ERROR 0x109ull
#define QUIC_WT_H3_REQUEST_REJECTED 0x10bull
#define QUIC_WT_H3_MESSAGE_ERROR 0x10eull

/* Versions: a session's (its CONNECT's), and as bits the ones the peer's
 * SETTINGS enable (exported to lib/ as WT_DRAFT02, WT_DRAFT16). */
#define QUIC_WT_DRAFT02 1u
#define QUIC_WT_DRAFT16 2u
/* The largest peer SETTINGS frame payload read for WebTransport settings;
 * past it they are not looked for (nghttp3 still reads the frame). */
#define QUIC_WT_SETTINGS_MAX 4096

/* The WebTransport application error-code mapping onto HTTP/3 codes
 * (draft-02 section 4.3): 32-bit codes spread over a range that skips the
 * reserved (greased) codepoints 0x1f * N + 0x21. from_h3 returns false for
 * a code outside the range or on a reserved codepoint. */
uint64_t quic_wt_code_to_h3(uint32_t code);
bool quic_wt_code_from_h3(uint64_t h3, uint32_t *code);

/* QUIC variable-length integers (RFC 9000 16). read: the bytes used, 0 when
 * more input is needed. write: bytes written (buf has room for 8). */
size_t quic_varint_read(const uint8_t *p, size_t len, uint64_t *v);
size_t quic_varint_write(uint8_t *buf, uint64_t v);
size_t quic_varint_len(uint64_t v);

/* Session states. */
enum { QUIC_WT_PENDING = 0, QUIC_WT_OPEN, QUIC_WT_CLOSED };

/* Datagram queue bounds (W3C incomingHighWaterMark / outgoingHighWaterMark):
 * defaults and the most either may be set to. */
#define QUIC_WT_DGRAM_IN_HWM 64
#define QUIC_WT_DGRAM_OUT_HWM 128
#define QUIC_WT_DGRAM_HWM_MAX 1024
/* Received datagrams all sessions of a connection hold, in bytes. */
#define QUIC_WT_DGRAM_IN_BYTES (4 * 1024 * 1024)

/* A session's datagram counts (stats_layout.h QUIC_WT_DATAGRAM_STATS). */
typedef struct quic_wt_dgram_stats {
  QUIC_WT_DATAGRAM_STATS(QUIC_STATS_FIELD)
} quic_wt_dgram_stats;

/* One WebTransport session: an extended CONNECT stream. */
typedef struct quic_wt_session {
  int64_t id;             /* the CONNECT stream's id: the session ID */
  uint32_t stream_key;    /* the CONNECT stream's key (looked up, never held as a pointer) */
  int state;              /* QUIC_WT_* */
  uint8_t version;        /* QUIC_WT_DRAFT02 or QUIC_WT_DRAFT16 */
  bool early;             /* server: its CONNECT arrived in 0-RTT, before the handshake completed */
  /* Server: capsules the client sent before our 2xx are not read as
   * capsules until we send it (draft-16 3.2): held here (at most
   * QUIC_WT_HELD_MAX bytes), read at accept, dropped with the session. */
  bool hold;              /* set for a server's pending session; cleared at accept */
  bool held_fin;          /* the CONNECT stream's body ended while held */
  uint8_t *held;          /* owned (quic_malloc), or NULL */
  size_t held_len;
  bool close_received;    /* the peer sent CLOSE_WEBTRANSPORT_SESSION (or FIN) */
  bool close_sent;
  bool drain_received;
  uint32_t close_code;    /* the peer's (its reason is kept on the stream) */
  uint32_t peer_streams;  /* the peer's streams of this session not yet closed */
  /* Datagrams. */
  quic_dgram_queue dgram_in; /* owned: received, waiting for the application, oldest first */
  uint32_t in_hwm, out_hwm;  /* at most this many wait (in dgram_in; ours in the connection's queue) */
  uint64_t in_max_age, out_max_age; /* nanoseconds a datagram may wait (0: no limit) */
  uint32_t out_queued;       /* ours in the connection's send queue */
  quic_wt_dgram_stats dstats;
  /* Capsule parser on the CONNECT stream's body. */
  uint8_t hdr[16];        /* type and length being read */
  size_t hdr_len;
  uint64_t cap_type, cap_len, cap_have;
  bool in_capsule;
  uint8_t cap_buf[4 + QUIC_WT_REASON_MAX]; /* a CLOSE capsule's payload */
} quic_wt_session;

/* Per connection; owned by the HTTP/3 application state (http3.c). */
typedef struct quic_wt {
  quic_session *s;        /* borrowed: the session owns the application that owns this */
  uint32_t max_sessions;
  uint32_t live_sessions;
  uint32_t max_streams;   /* the peer's open streams per session; 0: only QUIC's limits */
  quic_keymap classify;   /* peer stream id -> entry a,b: bytes seen (packed), ptr: NULL; removed once classified */
  quic_keymap sessions;   /* session id -> quic_wt_session* (owned) */
  /* Our control stream: the SETTINGS frame rewritten with ours added. */
  int64_t ctrl_id;
  int splice;             /* 0: not yet, 1: our frame is going out, 2: done */
  uint8_t *ctrl_buf;      /* owned while splice == 1: stream type + SETTINGS frame, ours */
  size_t ctrl_len, ctrl_sent;
  size_t ctrl_orig;       /* the bytes of nghttp3's stream that ctrl_buf replaces */
  uint64_t ctrl_acked;    /* QUIC bytes of the control stream acknowledged */
  uint64_t ctrl_acked_h3; /* what nghttp3 was told of them */
  /* The peer's control stream and its SETTINGS frame. */
  int64_t peer_ctrl;
  uint8_t *peer_settings; /* owned while being read: the frame so far */
  size_t peer_settings_len;
  bool peer_settings_done;
  bool peer_wt;           /* the peer enabled WebTransport (draft-02) */
  bool peer_wt16;         /* the peer sent SETTINGS_WT_ENABLED = 1 (draft-16) */
  bool peer_dgram;        /* the peer enabled HTTP/3 datagrams (either codepoint) */
  /* Client, resumed: the server's WebTransport settings remembered from the
   * connection that issued the ticket (QUIC_WT_DRAFT* bits), what 0-RTT
   * goes by until its SETTINGS arrive (RFC 9114 7.2.4.2); 0: none. */
  uint32_t remembered;
  /* Counters (bad input and drops). */
  uint64_t streams_rejected, datagrams_dropped, capsule_errors;
  size_t dgram_in_bytes;  /* bytes in every session's dgram_in (at most QUIC_WT_DGRAM_IN_BYTES) */
} quic_wt;

/* What classifying a peer stream's first bytes found. */
enum {
  QUIC_WT_CLASS_MORE = 0, /* all bytes taken, more needed */
  QUIC_WT_CLASS_H3,       /* HTTP/3's: feed *prefix (then the rest) to nghttp3 */
  QUIC_WT_CLASS_WT,       /* a WebTransport stream of session *session_id; the rest is its data */
  QUIC_WT_CLASS_REJECTED, /* was refused: drop its bytes */
  QUIC_WT_CLASS_LIMITED,  /* its session has maxStreamsPerSession of the peer's open: refused */
  QUIC_WT_CLASS_ID_ERROR, /* a session ID no client-initiated bidirectional stream can have:
                             the connection is closed with H3_ID_ERROR (draft-16 4) */
  QUIC_WT_CLASS_SETTINGS_ERROR, /* HTTP/3's control stream, whose SETTINGS break a rule
                                   (quic_wt_peer_control): H3_SETTINGS_ERROR */
};

int quic_wt_init(quic_wt *wt, quic_session *s, uint32_t max_sessions, int64_t ctrl_id);
void quic_wt_free(quic_wt *wt);

/* ---- our SETTINGS (http3.c's next/wrote/acked for the control stream) ---- */
/* o is nghttp3's output; when it is the control stream's first SETTINGS,
 * replaces its vectors with ours. QUIC_ERR_NOMEM. */
int quic_wt_ctrl_out(quic_wt *wt, quic_app_out *o);
/* ngtcp2 took n bytes of o: how many of nghttp3's bytes that is. */
size_t quic_wt_ctrl_wrote(quic_wt *wt, size_t n);
/* len more bytes of the control stream were acknowledged: nghttp3's share. */
uint64_t quic_wt_ctrl_acked(quic_wt *wt, uint64_t len);

/* ---- peer streams ---- */
/* A peer stream opened (ngtcp2's stream_open): classify its first bytes. */
int quic_wt_stream_open(quic_wt *wt, int64_t id);
bool quic_wt_classifying(quic_wt *wt, int64_t id);
/* Feeds bytes of a stream being classified. *used: bytes of data taken
 * into the classification. On H3, *prefix (of *prefix_len bytes) is the buffered
 * bytes (possibly including part of data) nghttp3 must see first, and
 * data + *used is the rest. On WT, *prefix_len is the signal and session
 * ID bytes and data + *used is the stream data. */
int quic_wt_classify(quic_wt *wt, int64_t id, const uint8_t *data, size_t len, size_t *used, uint8_t *prefix,
                     size_t *prefix_len, uint64_t *session_id);
/* The stream closed or was reset: forget its classification. */
void quic_wt_stream_gone(quic_wt *wt, int64_t id);
/* A peer stream of session id closed (its count goes down). */
void quic_wt_peer_stream_gone(quic_wt *wt, int64_t session_id);
/* Watches the peer's control stream (bytes after the stream type). False:
 * the SETTINGS break a rule (a server's SETTINGS_WT_ENABLED above 1; a
 * resumed client's that take back a remembered WebTransport setting):
 * the caller closes the connection with H3_SETTINGS_ERROR. */
bool quic_wt_peer_control(quic_wt *wt, int64_t id, const uint8_t *data, size_t len);
/* The versions the peer's SETTINGS enable (QUIC_WT_DRAFT* bits; draft-16
 * only with HTTP/3 datagrams, 3.1); before they arrive, what a resumed
 * client remembers (0 otherwise). */
uint32_t quic_wt_peer_versions(const quic_wt *wt);

/* ---- sessions ---- */
/* Registers a CONNECT stream as a session (pending) of version
 * QUIC_WT_DRAFT02 or QUIC_WT_DRAFT16. QUIC_ERR_LIMIT past maxSessions,
 * QUIC_ERR_NOMEM. */
int quic_wt_session_add(quic_wt *wt, int64_t id, uint32_t stream_key, uint8_t version);
/* Sessions of version v not yet gone. */
uint32_t quic_wt_sessions_of(quic_wt *wt, uint8_t v);
quic_wt_session *quic_wt_session_get(quic_wt *wt, int64_t id);
/* Capsule bytes of the CONNECT stream's body; fin: the body ended. Sets
 * stream events on st (close, drain). While ws->hold, the bytes are only
 * kept (QUIC_WT_HELD_MAX; more is refused). False: malformed or too much
 * held (the caller resets the stream with H3_MESSAGE_ERROR). */
bool quic_wt_capsules(quic_wt *wt, quic_wt_session *ws, quic_stream *st, const uint8_t *data, size_t len, bool fin);
/* Server, at accept: reads the capsules held while the session was pending
 * (as quic_wt_capsules, with the body's end if it came). False:
 * malformed. */
bool quic_wt_release_held(quic_wt *wt, quic_wt_session *ws, quic_stream *st);
/* The CONNECT stream closed: the session is gone; its streams are reset. */
void quic_wt_session_gone(quic_wt *wt, int64_t id);
/* Resets (both ways, WT_SESSION_GONE) every stream of session id. */
void quic_wt_reset_streams(quic_wt *wt, int64_t id);
/* Writes a capsule (type, payload) into buf (room for 16 + len); its size. */
size_t quic_wt_capsule(uint8_t *buf, uint64_t type, const uint8_t *payload, size_t len);

/* ---- the API the binding calls (http3.c; st is the CONNECT stream) ---- */
/* Server: the application accepted the session (streams and datagrams flow). */
int quic_wt_api_accept(quic_stream *st);
/* Client: registers our CONNECT stream as a session of version
 * QUIC_WT_DRAFT02 or QUIC_WT_DRAFT16 (open once the response is 2xx:
 * quic_wt_api_accept). */
int quic_wt_api_connect(quic_stream *st, uint8_t version);
/* Sends CLOSE_WEBTRANSPORT_SESSION (code, reason up to 1024 bytes) and the
 * stream's end; resets the session's streams. */
int quic_wt_api_close(quic_stream *st, uint32_t code, const uint8_t *reason, size_t len);
/* Sends DRAIN_WEBTRANSPORT_SESSION. */
int quic_wt_api_drain(quic_stream *st);
/* Opens a stream of the session (its signal and session ID written first). */
int quic_wt_api_open(quic_stream *st, bool uni, quic_stream **out);
/* Queues a datagram of the session; as quic_session_datagram. */
int quic_wt_api_datagram(quic_stream *st, const uint8_t *data, size_t len);
size_t quic_wt_api_max_datagram(quic_stream *st);
/* The versions the peer's SETTINGS enable (QUIC_WT_DRAFT* bits; draft-16
 * only with HTTP/3 datagrams, 3.1); 0 until its SETTINGS arrived. */
uint32_t quic_wt_api_peer_versions(quic_session *s);
/* Client: the server's WebTransport SETTINGS to remember with a ticket
 * (RFC 9114 7.2.4.2), as id/value varint pairs like a SETTINGS payload,
 * into buf (cap at least 24); 0 when not known (yet). */
size_t quic_wt_api_remembered(quic_session *s, uint8_t *buf, size_t cap);
/* Client, resumed from a ticket: the pairs remembered with it, which
 * 0-RTT goes by until the server's SETTINGS arrive (quic_wt.remembered).
 * Ignored once they did, on a server, or when they do not decode. */
void quic_wt_api_remember(quic_session *s, const uint8_t *p, size_t len);
/* Server: the session's CONNECT came in 0-RTT. */
bool quic_wt_api_early(quic_stream *st);
/* Datagram queue bounds: in/out high-water marks (1..QUIC_WT_DGRAM_HWM_MAX)
 * and maximum ages in nanoseconds (0: none). QUIC_ERR_STATE: no session. */
int quic_wt_api_datagram_config(quic_stream *st, uint32_t in_hwm, uint32_t out_hwm, uint64_t in_max_age,
                                uint64_t out_max_age);
/* Takes up to max received datagrams (oldest first; those past
 * incomingMaxAge are dropped and counted) as a list the caller frees with
 * quic_free. NULL: none. */
quic_dgram *quic_wt_api_datagrams_take(quic_stream *st, size_t max);
/* The session's datagrams waiting to be sent (0: no session). */
uint32_t quic_wt_api_datagrams_queued(quic_stream *st);
/* The session's datagram counts; false: no session. */
bool quic_wt_api_datagram_stats(quic_stream *st, quic_wt_dgram_stats *out);
/* What was refused or dropped of the peer's input (false: WebTransport is
 * not on): streams for no open session, datagrams for none (or ours that
 * found the queue full), malformed capsules. */
bool quic_wt_api_counters(quic_session *s, uint64_t *streams_rejected, uint64_t *datagrams_dropped,
                          uint64_t *capsule_errors);

/* ---- datagrams ---- */
/* A received HTTP/3 datagram: *session_id and the payload after the
 * prefix; false: dropped (malformed, or for no open session). */
bool quic_wt_datagram_in(quic_wt *wt, const uint8_t *data, size_t len, uint64_t *session_id, size_t *off);
/* Keeps a received datagram (its flow is the session ID) in its session's
 * queue, or frees it (queue full: counted; no open session). now: for
 * incomingMaxAge. True: kept. */
bool quic_wt_datagram_keep(quic_wt *wt, quic_dgram *d, uint64_t now);
/* Drops the datagrams at the head of ws's queue older than its
 * incomingMaxAge (counted). */
void quic_wt_datagrams_expire(quic_wt *wt, quic_wt_session *ws, uint64_t now);

#endif

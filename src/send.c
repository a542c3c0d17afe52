/* The send path, in two steps as curl's vquic does: write_packet() writes
 * one packet (datagrams first, then the application's stream data, then
 * whatever frames ngtcp2 has), and quic_session_flush() gathers packets
 * into trains of equal size and hands each train to the host (one sendmsg
 * with GSO), until the send quantum, congestion or pacing stops it. */
#include <string.h>

#include "options.h"
#include "mem.h"
#include "session.h"
#include "session_internal.h"
#include "stream.h"

/* Bounds one flush (packets, and attempts per packet) so a session cannot
 * starve the loop. */
#define MAX_WRITE_ITERATIONS 4096

/* What write_packet made. */
enum { PKT_NONE = 0, PKT_WRITTEN, PKT_FAILED };

/* The next datagram goes out, shares a packet with stream data, or leaves
 * the queue for good. Returns ngtcp2's result for the packet. */
static ngtcp2_ssize write_datagram(quic_session *s, ngtcp2_path *path, ngtcp2_pkt_info *pi, uint8_t *buf,
                                   size_t room, ngtcp2_tstamp ts) {
  quic_dgram *dg = s->dgram_out.head;
  if (dg->expires && ts > dg->expires) {
    /* Waited past its maximum age (outgoingMaxAge): dropped unsent. */
    if (dg->flow >= 0 && s->app->dgram_out_done) s->app->dgram_out_done(s, dg, QUIC_DGRAM_EXPIRED);
    quic_dgram_pop(&s->dgram_out);
    return NGTCP2_ERR_WRITE_MORE;
  }
  int accepted = 0;
  ngtcp2_vec dv = {dg->data, dg->len};
  /* A flow's datagrams carry its ID + 1, so a loss can be counted for it. */
  uint64_t dgram_id = dg->flow >= 0 ? (uint64_t)dg->flow + 1 : 0;
  /* An empty datagram is no vector at all: ngtcp2 asserts on empty ones. */
  ngtcp2_ssize n = ngtcp2_conn_writev_datagram(s->conn, path, pi, buf, room, &accepted,
                                               NGTCP2_WRITE_DATAGRAM_FLAG_MORE, dgram_id, &dv, dg->len ? 1 : 0, ts);
  /* ngtcp2 refuses for good a datagram larger than any packet on this path
   * (INVALID_ARGUMENT) or one the peer takes none of (INVALID_STATE). A
   * packet written without it (an ACK while pacing holds data back, say) is
   * no refusal: it waits for the next packet. */
  bool unusable = n == NGTCP2_ERR_INVALID_ARGUMENT || n == NGTCP2_ERR_INVALID_STATE;
  if (accepted || unusable) {
    if (dg->flow >= 0 && s->app->dgram_out_done)
      s->app->dgram_out_done(s, dg, accepted ? QUIC_DGRAM_SENT : QUIC_DGRAM_REFUSED);
    quic_dgram_pop(&s->dgram_out);
  }
  return unusable ? NGTCP2_ERR_WRITE_MORE : n;
}

/* ngtcp2 refused the stream the application offered for flow control: the
 * stream waits for MAX_STREAM_DATA, reported once. */
static void stream_blocked(quic_session *s, quic_app_out *o) {
  quic_stream *st = s->app->blocked(s, o);
  if (st && !(st->flags & QUIC_STREAM_BLOCKED)) {
    st->flags |= QUIC_STREAM_BLOCKED;
    s->counters->block_count++;
    quic_session_stream_event(st, QUIC_SEV_BLOCKED);
  }
}

/* Writes one packet into buf (room bytes). *len is its length (0: nothing
 * more to send now). PKT_FAILED: the session is closing and the caller
 * stops. */
static int write_packet(quic_session *s, ngtcp2_path *path, ngtcp2_pkt_info *pi, uint8_t *buf, size_t room,
                        ngtcp2_tstamp ts, size_t *len) {
  for (int iter = 0; iter < MAX_WRITE_ITERATIONS; iter++) {
    ngtcp2_ssize n;
    if (s->dgram_out.head && (s->state >= QUIC_SESSION_OPEN || s->zero_rtt)) {
      n = write_datagram(s, path, pi, buf, room, ts);
    } else {
      quic_app_out o = {.id = -1};
      int rv = s->app->next(s, &o);
      if (rv != 0) {
        quic_session_fail(s, rv);
        return PKT_FAILED;
      }
      uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (o.fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
      ngtcp2_ssize taken = -1;
      n = ngtcp2_conn_writev_stream(s->conn, path, pi, buf, room, &taken, flags, o.id, o.vec, o.nvec, ts);
      if (taken >= 0 && o.id >= 0 && (rv = s->app->wrote(s, &o, (size_t)taken)) != 0) {
        quic_session_fail(s, rv);
        return PKT_FAILED;
      }
      switch (n) {
      case NGTCP2_ERR_STREAM_DATA_BLOCKED:
        stream_blocked(s, &o);
        continue;
      case NGTCP2_ERR_STREAM_SHUT_WR: {
        /* On a stream we did not reset: the peer's STOP_SENDING (ngtcp2
         * has no callback for it; stream.c). */
        s->app->shut(s, &o);
        quic_stream *st = o.st ? o.st : quic_session_stream_by_id(s, o.id);
        if (st) quic_session_stream_peer_stopped(st, false, 0);
        continue;
      }
      case NGTCP2_ERR_STREAM_NOT_FOUND:
        s->app->shut(s, &o);
        continue;
      default:
        break;
      }
    }
    if (n == NGTCP2_ERR_WRITE_MORE) continue;
    if (n < 0) {
      quic_session_fail(s, (int)n);
      return PKT_FAILED;
    }
    *len = (size_t)n;
    return n ? PKT_WRITTEN : PKT_NONE;
  }
  *len = 0;
  return PKT_NONE;
}

/* Hands a train to the host; keeps a copy when the socket is full (the
 * assembly buffer is shared by every session of the host). False: blocked,
 * stop writing. */
static bool send_train(quic_session *s, const uint8_t *buf, size_t len, size_t seg, const quic_addr *local,
                       const quic_addr *remote, uint8_t ecn) {
  quic_train t = {local, remote, buf, len, seg, ecn};
  int rv = s->host->ops->send(s->host, s, &t);
  if (rv == QUIC_ERR_AGAIN) {
    if (s->tx_pending == NULL || buf != s->tx_pending->data) {
      quic_tx_pending *p = quic_malloc(sizeof(*p) + len);
      /* No memory: the train is lost, and QUIC retransmits. */
      if (p == NULL) return true;
      memcpy(p->data, buf, len);
      p->len = len;
      p->seg = seg;
      p->remote = *remote;
      p->local = *local;
      p->ecn = ecn;
      quic_free(s->tx_pending);
      s->tx_pending = p;
    }
    s->tx_blocked = true;
    return false;
  }
  /* Other errors (unreachable and the like) are loss to QUIC. */
  s->counters->bytes_sent += len;
  s->counters->last_sent_at = quic_session_now(s);
  return true;
}

static void addr_from(quic_addr *a, const ngtcp2_addr *na) {
  memset(a, 0, sizeof(*a));
  if (na->addrlen <= sizeof(a->u)) {
    memcpy(&a->u.sa, na->addr, na->addrlen);
    a->len = (socklen_t)na->addrlen;
  }
}

static bool addr_is(const ngtcp2_addr *na, const quic_addr *a) {
  return na->addrlen == a->len && memcmp(na->addr, &a->u.sa, a->len) == 0;
}

/* When an acknowledgment of the last packet received is surely written:
 * ngtcp2 delays one by the smaller of our max_ack_delay and an eighth of the
 * smoothed RTT (at least 1 µs), counted from the first packet it owes one
 * for, and says nothing of whether it owes one; so this is the latest it
 * could be due. A flush at or after it writes it. */
static uint64_t last_ack_due(quic_session *s) {
  ngtcp2_conn_info ci;
  ngtcp2_conn_get_conn_info(s->conn, &ci);
  uint64_t delay = QUIC_MIN(ngtcp2_conn_get_local_transport_params(s->conn)->max_ack_delay,
                            QUIC_MAX(ci.smoothed_rtt / 8, NGTCP2_MICROSECONDS));
  return s->counters->last_received_at + delay;
}

/* close() was called and the last stream is done. */
static bool graceful_ready(quic_session *s) {
  return s->state == QUIC_SESSION_GRACEFUL && !s->live_streams && quic_list_empty(&s->pending_open);
}

static void arm_timer(quic_session *s) {
  if (s->state >= QUIC_SESSION_CLOSING) return;
  uint64_t at = ngtcp2_conn_get_expiry(s->conn);
  if (graceful_ready(s)) at = QUIC_MIN(at, last_ack_due(s));
  s->host->ops->set_timer(s->host, s, at);
}

/* Then close cleanly, once what we received is acknowledged: a
 * CONNECTION_CLOSE carries no ACK frame, so an acknowledgment still delayed
 * would never go, and the peer would not learn that its last data arrived
 * (its stream would end unacknowledged). The wait is at most the ack delay;
 * the timer brings the flush back. */
static bool graceful_done(quic_session *s, ngtcp2_tstamp ts) {
  if (!graceful_ready(s) || ts < last_ack_due(s)) return false;
  s->app->goaway(s, true);
  ngtcp2_ccerr_set_application_error(&s->ccerr, s->app->no_error, NULL, 0);
  quic_session_enter_closing(s);
  return true;
}

void quic_session_flush(quic_session *s) {
  if (s->state >= QUIC_SESSION_CLOSING || s->tx_blocked) return;
  if (s->tx_pending) {
    quic_tx_pending *p = s->tx_pending;
    if (!send_train(s, p->data, p->len, p->seg, &p->local, &p->remote, p->ecn)) return;
    quic_free(s->tx_pending);
    s->tx_pending = NULL;
  }
  quic_session_open_pending(s);

  uint8_t *txb = s->host->tx_buf;
  ngtcp2_tstamp ts = quic_session_now(s);
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  /* A path MTU probe is larger than the path's size, and ngtcp2 sends one
   * only where it fits (it keeps ordinary packets to the path's size
   * itself). So a packet gets room for our largest payload only once the
   * session has filled one to the path's size once the handshake is
   * confirmed (its flights, padded, fill theirs), which it does when it
   * has more to send than a packet carries. A session that never does
   * (requests, acknowledgments, an idle connection) never probes: its
   * peer's ngtcp2 keeps a decrypt buffer as large as the largest packet it
   * received, for the connection's life, and a loopback probe would make
   * that 64 KB on both sides of every idle connection. */
  size_t pktmax = ngtcp2_conn_get_path_max_tx_udp_payload_size(s->conn);
  size_t pktroom = s->filled_packet ? ngtcp2_conn_get_max_tx_udp_payload_size(s->conn) : pktmax;
  size_t quantum = ngtcp2_conn_get_send_quantum(s->conn);
  /* A train fits the buffer and one UDP send (a GSO train is one datagram
   * to the kernel until it is cut up: at most 65507 bytes over IPv4). */
  size_t maxpkts = QUIC_MIN(QUIC_MIN(QUIC_TX_PKTS, quantum / pktmax), QUIC_MIN(QUIC_TX_BUF_SIZE, QUIC_GSO_MAX) / pktmax);
  maxpkts = QUIC_MAX(1, maxpkts);
  size_t off = 0, seg = 0, npkts = 0;
  uint8_t ecn = 0;
  /* The train's path: packets follow ngtcp2's choice (path validation
   * probes, a migrated peer, the server's preferred address). */
  quic_addr local, remote;
  quic_session_current_path(s, &local, &remote);

  for (int pkts = 0; pkts < MAX_WRITE_ITERATIONS; pkts++) {
    size_t n;
    /* Room for a probe where the buffer has it (a probe can be as large as
     * QUIC_PAYLOAD_MAX, the buffer holds one at its start). */
    int rv = write_packet(s, &ps.path, &pi, txb + off, QUIC_MIN(pktroom, QUIC_TX_BUF_SIZE - off), ts, &n);
    if (rv == PKT_FAILED) return;
    if (rv == PKT_NONE) break;
    s->counters->last_sent_packet_ts = ts;
    s->counters->packets_sent++;
    if (n >= pktmax && !s->filled_packet && s->counters->handshake_confirmed_at) {
      s->filled_packet = true;
      pktroom = ngtcp2_conn_get_max_tx_udp_payload_size(s->conn);
    }
    bool same_path = addr_is(&ps.path.remote, &remote) && addr_is(&ps.path.local, &local);
    if (npkts > 0 && (pi.ecn != ecn || !same_path || n > seg)) {
      /* A train shares one ECN mark, one path and one segment size (only
       * its last packet may be shorter; a probe is longer): send what
       * precedes this packet. */
      if (!send_train(s, txb, off, seg, &local, &remote, ecn)) return;
      memmove(txb, txb + off, n);
      off = npkts = 0;
    }
    if (!same_path) {
      addr_from(&local, &ps.path.local);
      addr_from(&remote, &ps.path.remote);
    }
    if (npkts == 0) {
      seg = n;
      ecn = pi.ecn;
    }
    off += n;
    npkts++;
    /* A train holds equal-sized packets; a shorter one ends it. A probe
     * (longer than the path's size) goes alone, so that if the path refuses
     * it, no ordinary packet is refused with it. */
    if (n < seg || npkts >= maxpkts || n > pktmax) {
      bool quantum_done = npkts >= maxpkts;
      if (!send_train(s, txb, off, seg, &local, &remote, ecn)) return;
      off = npkts = 0;
      /* The send quantum is spent: pacing brings us back via the timer. */
      if (quantum_done) break;
    }
  }
  if (npkts && !send_train(s, txb, off, seg, &local, &remote, ecn)) return;
  ngtcp2_conn_update_pkt_tx_time(s->conn, ts);
  /* After the packets, so that an acknowledgment due now goes before it. */
  if (graceful_done(s, ts)) return;
  arm_timer(s);
  quic_session_refresh_stats(s);
}

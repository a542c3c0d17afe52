/* A session's life: creation (client and server), the ngtcp2 callbacks
 * that are about the connection rather than its streams' data, the closing
 * and draining periods, reading packets, the timer, and freeing. */
#include "session.h"

#include <ngtcp2/ngtcp2_crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "route.h"
#include "mem.h"
#include "session_internal.h"
#include "stats.h"

void quic_session_config_defaults(quic_session_config *c) {
  memset(c, 0, sizeof(*c));
  c->max_idle_timeout_ms = 30000;
  c->initial_max_data = 1u << 20;
  c->initial_max_stream_data_bidi_local = 256u << 10;
  c->initial_max_stream_data_bidi_remote = 256u << 10;
  c->initial_max_stream_data_uni = 256u << 10;
  c->initial_max_streams_bidi = 100;
  c->initial_max_streams_uni = 100;
  c->ack_delay_exponent = 3;
  c->max_ack_delay_ms = QUIC_MAX_ACK_DELAY_DEFAULT;
  c->active_connection_id_limit = 2;
  c->max_stream_window = 6u << 20;
  c->max_window = 15u << 20;
  c->handshake_timeout_ms = 10000;
  c->max_payload_size = QUIC_PAYLOAD_DEFAULT;
  c->cc_algo = quic_cc_algo(QUIC_CC_DEFAULT);
  c->h3.max_field_section_size = 64u << 10;
  c->h3.qpack_max_dtable_capacity = 4096;
  c->h3.qpack_encoder_max_dtable_capacity = 4096;
  c->h3.qpack_blocked_streams = 100;
}

void quic_session_config_clear(quic_session_config *c) {
  if (c->tls) quic_tls_ctx_unref(c->tls);
  quic_free(c->sni);
  quic_free(c->verify_name);
  memset(c, 0, sizeof(*c));
}

ngtcp2_conn *quic_session_get_conn(ngtcp2_crypto_conn_ref *ref) {
  return ((quic_session *)ref->user_data)->conn;
}

uint64_t quic_session_now(quic_session *s) { return s->host->ops->now(s->host); }

void quic_session_mark_dirty(quic_session *s) {
  if (s->state < QUIC_SESSION_CLOSING) s->host->ops->mark_dirty(s->host, s);
}

void quic_session_notify(quic_session *s, uint32_t ev) {
  s->events |= ev;
  s->host->ops->notify(s->host, s, ev);
}

/* ---- closing ---- */

static void set_closed(quic_session *s, int kind, uint64_t code, const uint8_t *reason, size_t reasonlen) {
  if (s->close_kind != QUIC_CLOSE_NONE) return;
  s->close_kind = kind;
  s->close_code = code;
  size_t n = QUIC_MIN(reasonlen, QUIC_CLOSE_REASON_MAX - 1);
  /* No memory: the reason is lost, the close is not. */
  if (n && (s->close_reason = quic_malloc(n + 1)) != NULL) {
    for (size_t i = 0; i < n; i++) {
      /* The reason is the peer's bytes: keep it printable. */
      uint8_t c = reason[i];
      s->close_reason[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    s->close_reason[n] = 0;
  }
  s->counters->closing_at = quic_session_now(s);
  quic_session_notify(s, QUIC_EV_CLOSE);
}

static void report_ccerr(quic_session *s, const ngtcp2_ccerr *e) {
  int kind = QUIC_CLOSE_TRANSPORT;
  switch (e->type) {
  case NGTCP2_CCERR_TYPE_APPLICATION: kind = QUIC_CLOSE_APPLICATION; break;
  case NGTCP2_CCERR_TYPE_IDLE_CLOSE: kind = QUIC_CLOSE_IDLE; break;
  case NGTCP2_CCERR_TYPE_VERSION_NEGOTIATION: kind = QUIC_CLOSE_VERSION_NEGOTIATION; break;
  default: break;
  }
  set_closed(s, kind, e->error_code, e->reason, e->reasonlen);
}

/* Keeps the session around for the closing or draining period so stray
 * packets find it (and get the CONNECTION_CLOSE again), then frees it. */
static void linger(quic_session *s, uint64_t ns) {
  s->state = QUIC_SESSION_CLOSING;
  s->host->ops->closing(s->host, s);
  s->host->ops->set_timer(s->host, s, quic_session_now(s) + ns);
}

static uint64_t close_period(quic_session *s) { return 3 * ngtcp2_conn_get_pto(s->conn); }

static void send_close_pkt(quic_session *s, const uint8_t *pkt, size_t len, uint8_t ecn) {
  quic_addr local, remote;
  quic_session_current_path(s, &local, &remote);
  quic_train t = {&local, &remote, pkt, len, 0, ecn};
  (void)s->host->ops->send(s->host, s, &t);
}

void quic_session_enter_closing(quic_session *s) {
  if (s->state >= QUIC_SESSION_CLOSING) return;
  if (!ngtcp2_conn_in_closing_period(s->conn) && !ngtcp2_conn_in_draining_period(s->conn)) {
    ngtcp2_path_storage ps;
    ngtcp2_pkt_info pi;
    ngtcp2_path_storage_zero(&ps);
    /* A closing packet is small: a CONNECTION_CLOSE and its reason. */
    uint8_t buf[1500];
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(s->conn, &ps.path, &pi, buf, sizeof(buf), &s->ccerr,
                                                        quic_session_now(s));
    if (n > 0) {
      s->close_pkt = quic_malloc((size_t)n);
      if (s->close_pkt) {
        memcpy(s->close_pkt, buf, (size_t)n);
        s->close_pkt_len = (size_t)n;
      }
      send_close_pkt(s, buf, (size_t)n, pi.ecn);
    }
  }
  report_ccerr(s, &s->ccerr);
  linger(s, close_period(s));
}

static void enter_draining(quic_session *s) {
  if (s->state >= QUIC_SESSION_CLOSING) return;
  report_ccerr(s, ngtcp2_conn_get_ccerr(s->conn));
  linger(s, close_period(s));
}

/* A silent end (idle timeout, stateless reset): nothing to send or wait for. */
static void enter_dead_quietly(quic_session *s, int kind) {
  if (s->state >= QUIC_SESSION_CLOSING) return;
  set_closed(s, kind, 0, NULL, 0);
  linger(s, 0);
}

void quic_session_fail(quic_session *s, int rv) {
  switch (rv) {
  case NGTCP2_ERR_DRAINING:
    enter_draining(s);
    return;
  case NGTCP2_ERR_DROP_CONN:
    enter_dead_quietly(s, QUIC_CLOSE_TRANSPORT);
    return;
  case NGTCP2_ERR_IDLE_CLOSE:
    enter_dead_quietly(s, QUIC_CLOSE_IDLE);
    return;
  case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
    enter_dead_quietly(s, QUIC_CLOSE_HANDSHAKE_TIMEOUT);
    return;
  case NGTCP2_ERR_RECV_VERSION_NEGOTIATION:
    enter_dead_quietly(s, QUIC_CLOSE_VERSION_NEGOTIATION);
    return;
  case NGTCP2_ERR_CRYPTO:
    ngtcp2_ccerr_set_tls_alert(&s->ccerr, ngtcp2_conn_get_tls_alert(s->conn), NULL, 0);
    break;
  case NGTCP2_ERR_CALLBACK_FAILURE:
    /* The application (HTTP/3) may have chosen the error to send already. */
    if (s->ccerr_set) break;
    ngtcp2_ccerr_set_liberr(&s->ccerr, rv, NULL, 0);
    break;
  default:
    ngtcp2_ccerr_set_liberr(&s->ccerr, rv, NULL, 0);
    break;
  }
  quic_session_enter_closing(s);
}

void quic_session_close_graceful(quic_session *s) {
  if (s->state >= QUIC_SESSION_GRACEFUL) return;
  if (s->state == QUIC_SESSION_HANDSHAKE) {
    ngtcp2_ccerr_set_application_error(&s->ccerr, 0, NULL, 0);
    quic_session_enter_closing(s);
    return;
  }
  s->state = QUIC_SESSION_GRACEFUL;
  /* HTTP/3: tell the client with GOAWAY that no new requests are taken. */
  s->app->goaway(s, false);
  quic_session_mark_dirty(s);
}

void quic_session_close_now(quic_session *s, bool app, uint64_t code, const char *reason) {
  if (s->state >= QUIC_SESSION_CLOSING) return;
  size_t rl = reason ? strlen(reason) : 0;
  if (app) ngtcp2_ccerr_set_application_error(&s->ccerr, code, (const uint8_t *)reason, rl);
  else ngtcp2_ccerr_set_transport_error(&s->ccerr, code, (const uint8_t *)reason, rl);
  quic_session_enter_closing(s);
}

/* ---- the application ---- */

/* The application for an ALPN: raw QUIC unless one is registered here. */
static const quic_app_ops *app_for_alpn(const char *alpn) {
  return strcmp(alpn, "h3") == 0 ? &quic_app_http3 : &quic_app_raw;
}

static int use_app(quic_session *s, const quic_app_ops *app) {
  if (app->start(s) != QUIC_OK) return QUIC_ERR_NOMEM;
  s->app = app;
  return QUIC_OK;
}

int quic_session_start_app(quic_session *s) {
  if (s->app != &quic_app_raw) return QUIC_OK; /* chosen already */
  char alpn[32];
  quic_tls_alpn(&s->tls, alpn, sizeof(alpn));
  const quic_app_ops *app = app_for_alpn(alpn);
  return app == &quic_app_raw ? QUIC_OK : use_app(s, app);
}

/* Server: the application starts with the first 0-RTT stream when the ALPN
 * (already chosen from the ClientHello) asks for one, before the handshake
 * completes. */
static int start_app_early(quic_session *s) {
  if (!s->server || s->state != QUIC_SESSION_HANDSHAKE) return QUIC_OK;
  return quic_session_start_app(s);
}

/* ---- ngtcp2 callbacks: record state and mark events; never call JS ---- */

static int cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id, uint64_t offset,
                               const uint8_t *data, size_t datalen, void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(offset);
  quic_session *s = user;
  if (flags & NGTCP2_STREAM_DATA_FLAG_0RTT) {
    s->early_received = true;
    if (start_app_early(s) != QUIC_OK) return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return s->app->recv(s, stream_id, stream_user, data, datalen, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
}

static int cb_stream_open(ngtcp2_conn *conn, int64_t stream_id, void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  if (start_app_early(s) != QUIC_OK) return NGTCP2_ERR_CALLBACK_FAILURE;
  return s->app->stream_open(s, stream_id);
}

static int cb_acked_stream_data_offset(ngtcp2_conn *conn, int64_t stream_id, uint64_t offset, uint64_t datalen,
                                       void *user, void *stream_user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  s->counters->stream_bytes_acked += datalen;
  return s->app->acked(s, stream_id, stream_user, offset, datalen);
}

static int cb_extend_max_streams(ngtcp2_conn *conn, uint64_t max_streams, void *user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(max_streams);
  quic_session *s = user;
  if (!quic_list_empty(&s->pending_open)) quic_session_mark_dirty(s);
  return 0;
}

static int cb_lost_datagram(ngtcp2_conn *conn, uint64_t dgram_id, void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  if (dgram_id && s->app->dgram_lost) s->app->dgram_lost(s, dgram_id);
  return 0;
}

static int cb_recv_datagram(ngtcp2_conn *conn, uint32_t flags, const uint8_t *data, size_t datalen, void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  if (flags & NGTCP2_DATAGRAM_FLAG_0RTT) s->early_received = true;
  /* A peer faster than the application loses datagrams, not our memory. */
  if (s->dgram_in.bytes + sizeof(quic_dgram) + datalen > QUIC_DGRAM_RX_BYTES) return 0;
  int64_t flow = -1;
  size_t off = 0;
  if (s->app->datagram && !s->app->datagram(s, data, datalen, &flow, &off)) return 0;
  quic_dgram *d = quic_dgram_new(data + off, datalen - off);
  if (d == NULL) return 0;
  d->flow = flow;
  d->at = quic_session_now(s);
  d->early = (flags & NGTCP2_DATAGRAM_FLAG_0RTT) != 0;
  /* An HTTP/3 datagram waits in its WebTransport session's own queue. */
  if (flow >= 0 && s->app->dgram_keep) {
    if (s->app->dgram_keep(s, d)) quic_session_notify(s, QUIC_EV_DATAGRAM);
    return 0;
  }
  quic_dgram_push(&s->dgram_in, d);
  quic_session_notify(s, QUIC_EV_DATAGRAM);
  return 0;
}

/* Test only (quic_session_config.test_ignore_stream_credit): act as a peer
 * that ignores the server's per-stream credit, so the server's
 * FLOW_CONTROL_ERROR path can be reached. ngtcp2 has no setter for the
 * peer's parameters, so this writes into the copy it keeps; streams opened
 * from now on take these limits. */
static void ignore_stream_credit(quic_session *s) {
  ngtcp2_transport_params *p = (ngtcp2_transport_params *)ngtcp2_conn_get_remote_transport_params(s->conn);
  if (p) p->initial_max_stream_data_bidi_remote = p->initial_max_stream_data_uni = (uint64_t)1 << 30;
}

static int cb_handshake_completed(ngtcp2_conn *conn, void *user) {
  quic_session *s = user;
  if (s->state == QUIC_SESSION_HANDSHAKE) s->state = QUIC_SESSION_OPEN;
  if (s->dgram_out.count && quic_session_max_datagram(s) == 0) quic_dgram_clear(&s->dgram_out);
  if (!s->server && s->tls.resuming && !quic_tls_early_data_accepted(&s->tls)) {
    if (ngtcp2_conn_tls_early_data_rejected(conn) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
    if (s->zero_rtt) {
      s->early_rejected = true;
      /* The application's own streams (HTTP/3 control and QPACK) went with
       * the 0-RTT state: it starts again below. */
      s->app->stop(s);
      s->app = &quic_app_raw;
      quic_session_resend_early_streams(s);
      quic_dgram_clear(&s->dgram_out);
    }
  }
  if (quic_session_start_app(s) != QUIC_OK) return NGTCP2_ERR_CALLBACK_FAILURE;
  if (!s->server && s->zero_rtt && !s->early_rejected) {
    quic_session_early_accepted(s);
  }
  if (s->server) {
    /* A token for the client's next connection (RFC 9000 8.1.3). */
    uint8_t token[NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN];
    size_t n = s->host->ops->make_token(s->host, &s->remote, token, sizeof(token));
    if (n && ngtcp2_conn_submit_new_token(conn, token, n) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  } else {
    /* The token for the server's first connection ID comes in its
     * transport parameters, not through dcid_status. */
    const ngtcp2_transport_params *p = ngtcp2_conn_get_remote_transport_params(conn);
    if (p && p->stateless_reset_token_present &&
        s->host->ops->add_reset_token(s->host, s, p->stateless_reset_token) == QUIC_OK)
      s->reset_tokens = true;
    if (s->test_ignore_stream_credit) ignore_stream_credit(s);
  }
  s->counters->handshake_completed_at = quic_session_now(s);
  /* RFC 9001 4.1.2: a server's handshake is confirmed when it completes;
   * ngtcp2 calls handshake_confirmed on clients only. */
  if (s->server) s->counters->handshake_confirmed_at = s->counters->handshake_completed_at;
  quic_session_notify(s, QUIC_EV_HANDSHAKE);
  return 0;
}

static int cb_handshake_confirmed(ngtcp2_conn *conn, void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  if (s->counters->handshake_confirmed_at == 0) s->counters->handshake_confirmed_at = quic_session_now(s);
  return 0;
}

static void cb_rand(uint8_t *dest, size_t destlen, const ngtcp2_rand_ctx *ctx) {
  QUIC_UNUSED(ctx);
  (void)quic_tls_random(dest, destlen);
}

static int cb_get_new_connection_id(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
                                    void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  /* A short ID a client chose may collide with another session's. */
  for (int i = 0; i < 8; i++) {
    s->host->ops->new_cid(s->host, cid, cidlen, token);
    int rv = s->host->ops->add_cid(s->host, s, cid);
    if (rv == QUIC_OK) return 0;
    if (rv != QUIC_ERR_LIMIT) break;
  }
  return NGTCP2_ERR_CALLBACK_FAILURE;
}

static int cb_remove_connection_id(ngtcp2_conn *conn, const ngtcp2_cid *cid, void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  s->host->ops->remove_cid(s->host, s, cid);
  return 0;
}

static int cb_update_key(ngtcp2_conn *conn, uint8_t *rx_secret, uint8_t *tx_secret,
                         ngtcp2_crypto_aead_ctx *rx_aead_ctx, uint8_t *rx_iv, ngtcp2_crypto_aead_ctx *tx_aead_ctx,
                         uint8_t *tx_iv, const uint8_t *current_rx_secret, const uint8_t *current_tx_secret,
                         size_t secretlen, void *user) {
  /* ngtcp2 derives the next keys ahead of time: the first call after the
   * handshake is preparation, each later one follows a real key update. */
  quic_session *s = user;
  if (s->key_derivations++ > 0) s->counters->key_update_count++;
  return ngtcp2_crypto_update_key_cb(conn, rx_secret, tx_secret, rx_aead_ctx, rx_iv, tx_aead_ctx, tx_iv,
                                     current_rx_secret, current_tx_secret, secretlen, user);
}

/* Tokens the peer gave us, so a stateless reset it sends (which carries a
 * random connection ID) can still be routed here and verified by ngtcp2. */
static int cb_dcid_status(ngtcp2_conn *conn, ngtcp2_connection_id_status_type type, uint64_t seq,
                          const ngtcp2_cid *cid, const uint8_t *token, void *user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(seq);
  QUIC_UNUSED(cid);
  quic_session *s = user;
  if (token == NULL) return 0;
  if (type == NGTCP2_CONNECTION_ID_STATUS_TYPE_ACTIVATE) {
    if (s->host->ops->add_reset_token(s->host, s, token) != QUIC_OK) return NGTCP2_ERR_CALLBACK_FAILURE;
    s->reset_tokens = true;
  } else {
    s->host->ops->remove_reset_token(s->host, s, token);
  }
  return 0;
}

static int cb_recv_stateless_reset(ngtcp2_conn *conn, const ngtcp2_pkt_stateless_reset *sr, void *user) {
  QUIC_UNUSED(conn);
  QUIC_UNUSED(sr);
  set_closed(user, QUIC_CLOSE_STATELESS_RESET, 0, NULL, 0);
  return 0;
}

static int cb_recv_new_token(ngtcp2_conn *conn, const uint8_t *token, size_t tokenlen, void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  s->host->ops->save_token(s->host, &s->remote, token, tokenlen);
  return 0;
}

/* Client: move to the server's preferred address of our family, unless the
 * application said 'ignore'. ngtcp2 validates the new path before using it. */
static int cb_select_preferred_addr(ngtcp2_conn *conn, ngtcp2_path *dest, const ngtcp2_preferred_addr *pa,
                                    void *user) {
  QUIC_UNUSED(conn);
  quic_session *s = user;
  if (s->ignore_preferred) return 0;
  const quic_addr *r = &s->remote;
  bool mapped = r->u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&r->u.in6.sin6_addr);
  if (r->u.sa.sa_family == AF_INET && pa->ipv4_present) {
    memcpy(dest->remote.addr, &pa->ipv4, sizeof(pa->ipv4));
    dest->remote.addrlen = sizeof(pa->ipv4);
  } else if (mapped && pa->ipv4_present) {
    struct sockaddr_in6 m;
    memset(&m, 0, sizeof(m));
    m.sin6_family = AF_INET6;
    m.sin6_port = pa->ipv4.sin_port;
    m.sin6_addr.s6_addr[10] = m.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&m.sin6_addr.s6_addr[12], &pa->ipv4.sin_addr, 4);
    memcpy(dest->remote.addr, &m, sizeof(m));
    dest->remote.addrlen = sizeof(m);
  } else if (r->u.sa.sa_family == AF_INET6 && !mapped && pa->ipv6_present) {
    memcpy(dest->remote.addr, &pa->ipv6, sizeof(pa->ipv6));
    dest->remote.addrlen = sizeof(pa->ipv6);
  }
  return 0;
}

static void cb_qlog(void *user, uint32_t flags, const void *data, size_t len) {
  quic_qlog_append(&((quic_session *)user)->qlog, flags, data, len);
}

char *quic_session_take_qlog(quic_session *s, size_t *len, bool *fin, uint64_t *dropped) {
  return quic_qlog_take(&s->qlog, len, fin, dropped);
}

static void addr_from(quic_addr *a, const ngtcp2_addr *na) {
  memset(a, 0, sizeof(*a));
  if (na->addrlen <= sizeof(a->u)) {
    memcpy(&a->u.sa, na->addr, na->addrlen);
    a->len = (socklen_t)na->addrlen;
  }
}

void quic_session_current_path(quic_session *s, quic_addr *local, quic_addr *remote) {
  if (s->conn == NULL) {
    *local = s->local;
    *remote = s->remote;
    return;
  }
  const ngtcp2_path *p = ngtcp2_conn_get_path(s->conn);
  addr_from(local, &p->local);
  addr_from(remote, &p->remote);
}

static void fill_callbacks(ngtcp2_callbacks *cb, bool server) {
  memset(cb, 0, sizeof(*cb));
  if (server) {
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
    cb->recv_new_token = cb_recv_new_token;
    cb->select_preferred_addr = cb_select_preferred_addr;
  }
  cb->recv_crypto_data = quic_session_recv_crypto;
  cb->encrypt = ngtcp2_crypto_encrypt_cb;
  cb->decrypt = ngtcp2_crypto_decrypt_cb;
  cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb->update_key = cb_update_key;
  cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb->rand = cb_rand;
  cb->get_new_connection_id = cb_get_new_connection_id;
  cb->remove_connection_id = cb_remove_connection_id;
  cb->handshake_completed = cb_handshake_completed;
  cb->handshake_confirmed = cb_handshake_confirmed;
  cb->recv_stream_data = cb_recv_stream_data;
  cb->stream_open = cb_stream_open;
  cb->acked_stream_data_offset = cb_acked_stream_data_offset;
  cb->stream_close = quic_session_cb_stream_close;
  cb->stream_reset = quic_session_cb_stream_reset;
  cb->stream_stop_sending = quic_session_cb_stream_stop_sending;
  cb->extend_max_stream_data = quic_session_cb_extend_max_stream_data;
  cb->extend_max_local_streams_bidi = cb_extend_max_streams;
  cb->extend_max_local_streams_uni = cb_extend_max_streams;
  cb->recv_stateless_reset = cb_recv_stateless_reset;
  cb->dcid_status = cb_dcid_status;
  cb->recv_datagram = cb_recv_datagram;
  cb->lost_datagram = cb_lost_datagram;
}

/* QUIC_DEBUG_NGTCP2=1 prints ngtcp2's own trace to stderr (diagnostics). */
static void dbg_log(void *user, const char *fmt, ...) {
  (void)user;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* The sizes path MTU discovery tries, in order, above the 1200 bytes every
 * path carries; ngtcp2 tries those not above the ceiling, and stops going up
 * at the first that fails. The first four are ngtcp2's own (fibre in Japan,
 * tunnels, IPv6's minimum MTU, PPPoE), then Ethernet over IPv4, a 9000-byte
 * jumbo frame, and the loopback device's 65536 (each less 48 bytes of
 * IPv6 and UDP headers); a ceiling between them is tried as well. */
#define QUIC_PROBE_ETHERNET 1472 /* 1500 - 20 - 8: ngtcp2's own list serves ceilings up to this */
#define QUIC_PROBE_SIZE_MAX 65488
static const uint16_t probe_sizes[] = {1406, 1342, 1232, 1444, QUIC_PROBE_ETHERNET, 8952, QUIC_PROBE_SIZE_MAX};
#define QUIC_PROBE_LIST_LEN (sizeof(probe_sizes) / sizeof(probe_sizes[0]) + 1) /* the sizes and a ceiling */

/* Only for a ceiling above 1472, so every size up to 1472 is in, and the
 * rest of the list is ascending: the sizes up to the ceiling, then the
 * ceiling itself unless it is one of them. Nothing above 65488 is probed:
 * no interface MTU above loopback's 65536 is in use, so such a probe only
 * fails, and a failing probe is costly: ngtcp2 counts it in flight until it
 * is declared lost, three times over, and a session that mostly receives
 * (its window a few packets) sends no flow-control credit meanwhile. */
static size_t fill_probes(uint16_t *out, size_t ceiling) {
  size_t n = 0;
  if (ceiling > QUIC_PROBE_SIZE_MAX) ceiling = QUIC_PROBE_SIZE_MAX;
  for (size_t i = 0; i < sizeof(probe_sizes) / sizeof(probe_sizes[0]) && probe_sizes[i] <= ceiling; i++) {
    out[n++] = probe_sizes[i];
  }
  if (out[n - 1] != ceiling) out[n++] = (uint16_t)ceiling;
  return n;
}

/* The ceiling path MTU discovery climbs to: the application's, or without
 * one 1452 (the Internet's paths rarely carry more), or for a peer on this
 * host what its route carries, up to the 65488 fill_probes allows: such a
 * path never leaves the host, and TCP's segments there are as large. */
static size_t payload_ceiling(const quic_session_config *c, const quic_addr *local_addr, const quic_addr *remote) {
  if (c->max_payload_size != QUIC_PAYLOAD_BY_PATH) return c->max_payload_size;
  size_t local = quic_route_local_payload(remote, local_addr);
  return local ? QUIC_MIN(local, QUIC_PROBE_SIZE_MAX) : QUIC_PAYLOAD_DEFAULT;
}

static void fill_settings(ngtcp2_settings *st, const quic_session_config *c, const quic_addr *local,
                          const quic_addr *remote, uint64_t now, uint16_t *probes) {
  ngtcp2_settings_default(st);
  if (getenv("QUIC_DEBUG_NGTCP2")) st->log_printf = dbg_log;
  st->initial_ts = now;
  st->cc_algo = c->cc_algo;
  st->max_tx_udp_payload_size = QUIC_MIN(QUIC_MAX(payload_ceiling(c, local, remote), QUIC_PAYLOAD_MIN), QUIC_PAYLOAD_MAX);
  /* ngtcp2 copies the list; by default (a ceiling up to 1472) its own is used. */
  if (st->max_tx_udp_payload_size > QUIC_PROBE_ETHERNET) {
    st->pmtud_probes = probes;
    st->pmtud_probeslen = fill_probes(probes, st->max_tx_udp_payload_size);
  }
  if (c->max_window) st->max_window = c->max_window;
  if (c->max_stream_window) st->max_stream_window = c->max_stream_window;
  st->handshake_timeout = c->handshake_timeout_ms ? c->handshake_timeout_ms * NGTCP2_MILLISECONDS : UINT64_MAX;
  if (c->ack_thresh) st->ack_thresh = c->ack_thresh;
  if (c->qlog) st->qlog_write = cb_qlog;
}

static void fill_params(ngtcp2_transport_params *p, const quic_session_config *c) {
  ngtcp2_transport_params_default(p);
  p->initial_max_data = c->initial_max_data;
  p->initial_max_stream_data_bidi_local = c->initial_max_stream_data_bidi_local;
  p->initial_max_stream_data_bidi_remote = c->initial_max_stream_data_bidi_remote;
  p->initial_max_stream_data_uni = c->initial_max_stream_data_uni;
  p->initial_max_streams_bidi = c->initial_max_streams_bidi;
  p->initial_max_streams_uni = c->initial_max_streams_uni;
  p->max_idle_timeout = c->max_idle_timeout_ms * NGTCP2_MILLISECONDS;
  p->ack_delay_exponent = c->ack_delay_exponent;
  p->max_ack_delay = c->max_ack_delay_ms * NGTCP2_MILLISECONDS;
  p->active_connection_id_limit = QUIC_MAX(c->active_connection_id_limit, 2);
  p->max_datagram_frame_size = c->max_datagram_frame_size;
  p->disable_active_migration = c->disable_active_migration;
}

/* ---- lifecycle ---- */

void quic_session_free(quic_session *s) {
  quic_session_streams_free(s);
  s->app->stop(s);
  quic_dgram_clear(&s->dgram_out);
  quic_dgram_clear(&s->dgram_in);
  if (s->conn) ngtcp2_conn_del(s->conn);
  quic_tls_session_free(&s->tls);
  quic_free(s->hello_buf);
  quic_qlog_free(&s->qlog);
  quic_free(s->close_pkt);
  quic_free(s->tx_pending);
  quic_free(s->close_reason);
  quic_stats_release(s->counters, &s->counters_inline);
  quic_free(s);
  quic_live_add(QUIC_LIVE_SESSIONS, -1);
}

size_t quic_session_cids(quic_session *s, ngtcp2_cid *out, size_t max) {
  size_t n = 0;
  if (s->odcid_routed && n < max) out[n++] = s->odcid;
  if (s->conn == NULL) return n;
  size_t total = ngtcp2_conn_get_scid(s->conn, NULL);
  if (total == 0) return n;
  if (total <= max - n) return n + ngtcp2_conn_get_scid(s->conn, out + n);
  return n + total; /* more than fit: the caller asks again with room */
}

void quic_session_destroy(quic_session *s) {
  if (s->state == QUIC_SESSION_DEAD) return;
  s->state = QUIC_SESSION_DEAD;
  /* The last values: a view JavaScript holds keeps them after the free. */
  quic_session_refresh_stats(s);
  s->counters->destroyed_at = quic_session_now(s);
  if (s->user) *(quic_session **)s->user = NULL;
  s->user = NULL;
  s->host->ops->release(s->host, s);
}

static quic_session *session_alloc(quic_host *host, uint32_t key, bool server) {
  quic_session *s = quic_calloc(1, sizeof(*s));
  if (s == NULL) return NULL;
  if (quic_keymap_init(&s->streams) != QUIC_OK) {
    quic_free(s);
    return NULL;
  }
  s->host = host;
  s->key = key;
  s->server = server;
  s->app = &quic_app_raw;
  quic_list_init(&s->send_queue);
  quic_list_init(&s->pending_open);
  quic_list_init(&s->stream_events);
  s->counters = &s->counters_inline;
  s->counters->created_at = quic_session_now(s);
  quic_live_add(QUIC_LIVE_SESSIONS, 1);
  return s;
}

/* A session that failed before anyone heard of it: released unannounced. */
static int abandon(quic_session *s, int rv) {
  s->events = 0;
  quic_session_destroy(s);
  return rv;
}

static int session_finish_init(quic_session *s, const quic_session_config *cfg) {
  s->h3_settings.max_field_section_size = cfg->h3.max_field_section_size;
  s->h3_settings.qpack_max_dtable_capacity = cfg->h3.qpack_max_dtable_capacity;
  s->h3_settings.qpack_encoder_max_dtable_capacity = cfg->h3.qpack_encoder_max_dtable_capacity;
  s->h3_settings.qpack_blocked_streams = cfg->h3.qpack_blocked_streams;
  s->h3_settings.wt_max_sessions = cfg->h3.wt_max_sessions;
  s->h3_settings.wt_max_streams = cfg->h3.wt_max_streams;
  s->ignore_preferred = cfg->ignore_preferred;
  s->test_ignore_stream_credit = cfg->test_ignore_stream_credit;
  int rv = quic_tls_session_init(&s->tls, cfg->tls, quic_session_get_conn, s, cfg->sni, cfg->verify_name);
  if (rv != QUIC_OK) return rv;
  ngtcp2_conn_set_tls_native_handle(s->conn, quic_tls_native_handle(&s->tls));
  if (s->server && (quic_tls_wants_hello(&s->tls) || quic_tls_wants_ocsp(&s->tls))) s->hello_state = QUIC_HELLO_COLLECT;
  ngtcp2_cid scids[8];
  size_t n = ngtcp2_conn_get_scid(s->conn, NULL);
  if (n > QUIC_ARRAY_LEN(scids)) n = QUIC_ARRAY_LEN(scids);
  ngtcp2_conn_get_scid(s->conn, scids);
  for (size_t i = 0; i < n; i++)
    if ((rv = s->host->ops->add_cid(s->host, s, &scids[i])) != QUIC_OK) return rv;
  return QUIC_OK;
}

static void make_path(ngtcp2_path *p, const quic_addr *local, const quic_addr *remote) {
  p->local.addr = (ngtcp2_sockaddr *)&local->u.sa;
  p->local.addrlen = local->len;
  p->remote.addr = (ngtcp2_sockaddr *)&remote->u.sa;
  p->remote.addrlen = remote->len;
  p->user_data = NULL;
}

int quic_session_connect(quic_session **out, quic_host *host, uint32_t key, const quic_addr *local,
                         const quic_addr *remote, const quic_session_config *cfg, const quic_resume *resume) {
  quic_session *s = session_alloc(host, key, false);
  if (s == NULL) return QUIC_ERR_NOMEM;
  s->local = *local;
  s->remote = *remote;
  ngtcp2_cid dcid, scid;
  dcid.datalen = 18;
  (void)quic_tls_random(dcid.data, dcid.datalen);
  if (cfg->dcidlen) ngtcp2_cid_init(&dcid, cfg->dcid, cfg->dcidlen);
  if (cfg->scidlen) ngtcp2_cid_init(&scid, cfg->scid, cfg->scidlen);
  else host->ops->new_cid(host, &scid, host->cid_len, NULL);
  ngtcp2_callbacks cb;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  uint16_t probes[QUIC_PROBE_LIST_LEN];
  fill_callbacks(&cb, false);
  fill_settings(&settings, cfg, &s->local, &s->remote, quic_session_now(s), probes);
  fill_params(&params, cfg);
  /* A NEW_TOKEN token from an earlier connection skips address validation. */
  if (resume && resume->token_len) {
    settings.token = resume->token;
    settings.tokenlen = resume->token_len;
  }
  ngtcp2_path path;
  make_path(&path, &s->local, &s->remote);
  if (ngtcp2_conn_client_new(&s->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &settings, &params,
                             quic_mem_ngtcp2(), s) != 0) {
    s->conn = NULL;
    return abandon(s, QUIC_ERR_NOMEM);
  }
  int rv = session_finish_init(s, cfg);
  /* A chosen SCID another session of this host already receives on. */
  if (rv == QUIC_ERR_LIMIT) rv = QUIC_ERR_INVALID;
  if (rv != QUIC_OK) return abandon(s, rv);
  /* A ticket GnuTLS will not take, or parameters that do not decode, mean a
   * full handshake (the seed: unusable resume data is ignored). */
  s->resume_given = resume && resume->ticket_len;
  if (s->resume_given && quic_tls_set_ticket(&s->tls, resume->ticket, resume->ticket_len) == QUIC_OK &&
      resume->params_len &&
      ngtcp2_conn_decode_and_set_0rtt_transport_params(s->conn, resume->params, resume->params_len) == 0)
    s->zero_rtt = true;
  /* A client that offers only h3 knows its ALPN before the handshake, so
   * its requests can go out as 0-RTT. */
  if (s->zero_rtt && quic_tls_offers_only(cfg->tls, "h3") && use_app(s, app_for_alpn("h3")) != QUIC_OK)
    return abandon(s, QUIC_ERR_NOMEM);
  s->counters->initial_rtt = settings.initial_rtt;
  quic_session_mark_dirty(s);
  *out = s;
  return QUIC_OK;
}

int quic_session_accept(quic_session **out, quic_host *host, uint32_t key, const ngtcp2_pkt_hd *hd,
                        const uint8_t *pkt, size_t pktlen, const quic_addr *local, const quic_addr *remote,
                        uint8_t ecn, const ngtcp2_cid *odcid, const quic_session_config *cfg) {
  quic_session *s = session_alloc(host, key, true);
  if (s == NULL) return QUIC_ERR_NOMEM;
  s->local = *local;
  s->remote = *remote;
  ngtcp2_cid scid;
  ngtcp2_callbacks cb;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  uint16_t probes[QUIC_PROBE_LIST_LEN];
  fill_callbacks(&cb, true);
  fill_settings(&settings, cfg, &s->local, &s->remote, quic_session_now(s), probes);
  fill_params(&params, cfg);
  host->ops->new_cid(host, &scid, host->cid_len, params.stateless_reset_token);
  /* The host's secret makes the token; a host without resets sends none. */
  params.stateless_reset_token_present = !cfg->disable_stateless_reset;
  params.original_dcid_present = 1;
  if (odcid) {
    params.original_dcid = *odcid;
    params.retry_scid = hd->dcid;
    params.retry_scid_present = 1;
  } else {
    params.original_dcid = hd->dcid;
  }
  settings.token = hd->token;
  settings.tokenlen = hd->tokenlen;
  if (cfg->pa_v4 || cfg->pa_v6) {
    /* ngtcp2 adds this CID as sequence 1; session_finish_init routes it.
     * The host filled in its own port where the application gave 0. */
    params.preferred_addr_present = 1;
    host->ops->new_cid(host, &params.preferred_addr.cid, host->cid_len, params.preferred_addr.stateless_reset_token);
    params.preferred_addr.ipv4_present = cfg->pa_v4;
    params.preferred_addr.ipv4 = cfg->pa_ipv4;
    params.preferred_addr.ipv6_present = cfg->pa_v6;
    params.preferred_addr.ipv6 = cfg->pa_ipv6;
  }
  ngtcp2_path path;
  make_path(&path, &s->local, &s->remote);
  if (ngtcp2_conn_server_new(&s->conn, &hd->scid, &scid, &path, hd->version, &cb, &settings, &params,
                             quic_mem_ngtcp2(), s) != 0) {
    s->conn = NULL;
    return abandon(s, QUIC_ERR_NOMEM);
  }
  s->odcid = hd->dcid;
  int rv = host->ops->add_cid(host, s, &hd->dcid);
  if (rv == QUIC_OK) {
    s->odcid_routed = true;
    rv = session_finish_init(s, cfg);
  }
  if (rv != QUIC_OK) return abandon(s, rv);
  s->counters->initial_rtt = settings.initial_rtt;
  quic_session_read(s, pkt, pktlen, local, remote, ecn);
  if (s->state >= QUIC_SESSION_CLOSING && s->close_kind == QUIC_CLOSE_TRANSPORT && s->close_code == 0 &&
      s->close_pkt == NULL) {
    /* ngtcp2 dropped the first packet (it did not decrypt: junk or a
     * forgery). Nobody hears of this session; it goes now. */
    return abandon(s, QUIC_ERR_DROPPED);
  }
  quic_session_notify(s, QUIC_EV_NEW);
  *out = s;
  return QUIC_OK;
}

/* ---- I/O ---- */

void quic_session_on_timer(quic_session *s) {
  if (s->state == QUIC_SESSION_CLOSING) {
    quic_session_destroy(s);
  } else if (s->state < QUIC_SESSION_CLOSING) {
    int rv = ngtcp2_conn_handle_expiry(s->conn, quic_session_now(s));
    if (rv != 0) quic_session_fail(s, rv);
    else quic_session_flush(s);
  }
}

void quic_session_read(quic_session *s, const uint8_t *data, size_t len, const quic_addr *local,
                       const quic_addr *remote, uint8_t ecn) {
  if (s->state == QUIC_SESSION_CLOSING) {
    /* RFC 9000 10.2.1: answer with the CONNECTION_CLOSE again, sparingly:
     * on the 1st, 2nd, 4th, 8th... packet, so a flood gets little. */
    s->close_resends++;
    if (s->close_pkt && (s->close_resends & (s->close_resends - 1)) == 0)
      send_close_pkt(s, s->close_pkt, s->close_pkt_len, 0);
    return;
  }
  if (s->state == QUIC_SESSION_DEAD) return;
  ngtcp2_path path;
  /* A client's end is the one it was created with (its socket may be bound
   * to a wildcard); a server's is the address the packet was sent to, which
   * changes when a client moves to the preferred address. */
  make_path(&path, s->server ? local : &s->local, remote);
  ngtcp2_pkt_info pi = {.ecn = ecn};
  s->counters->bytes_received += len;
  s->counters->packets_received++;
  /* One clock read per packet: the stream callbacks this read triggers
   * take their timestamps from last_received_at. */
  uint64_t now = quic_session_now(s);
  s->counters->last_received_at = now;
  int rv = ngtcp2_conn_read_pkt(s->conn, &path, &pi, data, len, now);
  if (rv != 0) {
    quic_session_fail(s, rv);
    return;
  }
  quic_session_tls_maybe_release(s);
  quic_session_mark_dirty(s);
}

void quic_session_writable(quic_session *s) {
  s->tx_blocked = false;
  quic_session_mark_dirty(s);
}

/* ---- datagrams ---- */

size_t quic_session_max_datagram(quic_session *s) {
  if (s->conn == NULL || s->state >= QUIC_SESSION_CLOSING) return 0;
  if (s->state == QUIC_SESSION_HANDSHAKE) {
    /* Not known yet: what we could send if the peer agrees. */
    return QUIC_PAYLOAD_MIN - 47;
  }
  const ngtcp2_transport_params *p = ngtcp2_conn_get_remote_transport_params(s->conn);
  if (p == NULL || p->max_datagram_frame_size <= 3) return 0;
  /* A DATAGRAM frame is its type, a length and the payload (RFC 9221); a
   * short-header packet adds up to 1 + 20 (DCID) + 4 (number) + 16 (tag). */
  size_t by_frame = (size_t)QUIC_MIN(p->max_datagram_frame_size - 3, (uint64_t)65535);
  size_t path = ngtcp2_conn_get_path_max_tx_udp_payload_size(s->conn);
  size_t by_path = path > 44 ? path - 44 : 0;
  return QUIC_MIN(by_frame, by_path);
}

int quic_session_datagram(quic_session *s, const uint8_t *data, size_t len) {
  return quic_session_datagram_prefixed(s, NULL, 0, data, len, -1, 0, QUIC_DGRAM_QUEUE);
}

int quic_session_datagram_prefixed(quic_session *s, const uint8_t *pre, size_t plen, const uint8_t *data,
                                   size_t len, int64_t flow, uint64_t expires, size_t max_queue) {
  if (s->state >= QUIC_SESSION_GRACEFUL) return QUIC_ERR_STATE;
  size_t max = quic_session_max_datagram(s);
  if (max == 0) return QUIC_ERR_STATE;
  if (plen + len > max || s->dgram_out.count >= max_queue) return QUIC_ERR_LIMIT;
  quic_dgram *d = quic_dgram_new(NULL, plen + len);
  if (d == NULL) return QUIC_ERR_NOMEM;
  d->flow = flow;
  d->at = quic_session_now(s);
  d->expires = expires;
  if (plen) memcpy(d->data, pre, plen);
  if (len) memcpy(d->data + plen, data, len);
  quic_dgram_push(&s->dgram_out, d);
  quic_session_mark_dirty(s);
  return QUIC_OK;
}

quic_dgram *quic_session_take_datagrams(quic_session *s) { return quic_dgram_take(&s->dgram_in); }

/* ---- other application calls ---- */

int quic_session_update_key(quic_session *s) {
  if (s->state != QUIC_SESSION_OPEN && s->state != QUIC_SESSION_GRACEFUL) return QUIC_ERR_STATE;
  if (ngtcp2_conn_initiate_key_update(s->conn, quic_session_now(s)) != 0) return QUIC_ERR_STATE;
  quic_session_mark_dirty(s);
  return QUIC_OK;
}

bool quic_session_ticket(quic_session *s, const uint8_t **ticket, size_t *ticket_len, uint8_t *params,
                         size_t *params_len) {
  *ticket = quic_tls_ticket(&s->tls, ticket_len);
  if (*ticket == NULL || s->conn == NULL) return false;
  ngtcp2_ssize n = ngtcp2_conn_encode_0rtt_transport_params(s->conn, params, *params_len);
  *params_len = n > 0 ? (size_t)n : 0;
  return true;
}

bool quic_session_can_open_early(const quic_session *s) {
  return s->resume_given && s->state == QUIC_SESSION_HANDSHAKE;
}

bool quic_session_early_data(quic_session *s) {
  return s->early_received || (s->state != QUIC_SESSION_HANDSHAKE && quic_tls_early_data_accepted(&s->tls));
}

void quic_session_refresh_stats(quic_session *s) {
  if (s->conn == NULL) return;
  ngtcp2_conn_info ci;
  ngtcp2_conn_get_conn_info(s->conn, &ci);
  quic_session_counters *c = s->counters;
  c->latest_rtt = ci.latest_rtt;
  c->smoothed_rtt = ci.smoothed_rtt;
  c->rtt_var = ci.rttvar;
  c->cwnd = ci.cwnd;
  c->ssthresh = ci.ssthresh;
  c->min_rtt = ci.min_rtt == UINT64_MAX ? 0 : ci.min_rtt; /* no sample yet */
  c->bytes_in_flight = ci.bytes_in_flight;
  /* Sampled after each flush, which is when bytes in flight peak. */
  if (ci.bytes_in_flight > c->max_bytes_in_flight) c->max_bytes_in_flight = ci.bytes_in_flight;
  c->max_udp_payload_size = ngtcp2_conn_get_path_max_tx_udp_payload_size(s->conn);
  /* ngtcp2 keeps its own first-sample time private; latest_rtt turns
   * nonzero with the ACK that gave it, received in this batch. */
  if (c->first_rtt_sample_ts == 0 && ci.latest_rtt != 0)
    c->first_rtt_sample_ts = c->last_received_at ? c->last_received_at : quic_session_now(s);
}

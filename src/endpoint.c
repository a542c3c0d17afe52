#include "endpoint.h"

#include <errno.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "stats.h"

/* Bounds the per-host table that stateless-reset accounting may grow. */
#define MAX_HOSTS 65536
/* Receive batches handled per poll callback before giving the loop back. */
#define MAX_RX_ROUNDS 8

void quic_endpoint_config_defaults(quic_endpoint_config *c) {
  memset(c, 0, sizeof(*c));
  quic_addr_parse(&c->bind, "127.0.0.1", 0);
  (void)quic_tls_random(c->reset_secret, sizeof(c->reset_secret));
  (void)quic_tls_random(c->token_secret, sizeof(c->token_secret));
  c->max_stateless_resets = 10;
  c->retry_token_expiration_s = 600;
  c->token_expiration_s = 600;
  c->retry_limit = 10;
  c->address_lru_size = 1000;
  c->max_connections_per_host = 100;
  c->max_connections_total = 1000;
}

/* ---- endpoint tables ---- */

int quic_endpoint_add_cid(quic_endpoint *ep, const ngtcp2_cid *cid, quic_session *s) {
  bool created;
  quic_keymap_entry *e = quic_keymap_put(&ep->cids, cid->data, cid->datalen, &created);
  if (e == NULL) return QUIC_ERR_NOMEM;
  /* Never take another session's packets (a client may choose any ID). */
  if (!created && e->ptr != s) return QUIC_ERR_LIMIT;
  e->ptr = s;
  if (!s->server && cid->datalen != ep->cid_len) ep->cid_lens |= 1u << cid->datalen;
  return QUIC_OK;
}

void quic_endpoint_remove_cid(quic_endpoint *ep, const ngtcp2_cid *cid, quic_session *s) {
  quic_keymap_entry *e = quic_keymap_get(&ep->cids, cid->data, cid->datalen);
  if (e && e->ptr == s) quic_keymap_del(&ep->cids, e);
}

int quic_endpoint_add_reset_token(quic_endpoint *ep, const uint8_t *token, quic_session *s) {
  quic_keymap_entry *e = quic_keymap_put(&ep->reset_tokens, token, NGTCP2_STATELESS_RESET_TOKENLEN, NULL);
  if (e == NULL) return QUIC_ERR_NOMEM;
  e->ptr = s;
  return QUIC_OK;
}

void quic_endpoint_remove_reset_token(quic_endpoint *ep, const uint8_t *token, quic_session *s) {
  quic_keymap_entry *e = quic_keymap_get(&ep->reset_tokens, token, NGTCP2_STATELESS_RESET_TOKENLEN);
  if (e && e->ptr == s) quic_keymap_del(&ep->reset_tokens, e);
}

void quic_endpoint_forget(quic_endpoint *ep, quic_session *s) {
  ngtcp2_cid ids[16];
  size_t n = quic_session_cids(s, ids, QUIC_ARRAY_LEN(ids));
  quic_keymap_entry *e;
  if (n <= QUIC_ARRAY_LEN(ids)) {
    for (size_t i = 0; i < n; i++) quic_endpoint_remove_cid(ep, &ids[i], s);
  } else {
    /* More IDs than the list holds (rare): find them by their session. */
    QUIC_KEYMAP_EACH(&ep->cids, e, tmp) if (e->ptr == s) quic_keymap_del(&ep->cids, e);
  }
  if (s->reset_tokens) {
    QUIC_KEYMAP_EACH(&ep->reset_tokens, e, tmp2) if (e->ptr == s) quic_keymap_del(&ep->reset_tokens, e);
  }
}

static quic_keymap_entry *host_entry(quic_endpoint *ep, const quic_addr *a, bool create) {
  uint8_t key[19];
  size_t n = quic_addr_key(a, false, key);
  if (!create) return quic_keymap_get(&ep->hosts, key, n);
  if (ep->hosts.count >= MAX_HOSTS) {
    quic_keymap_entry *old = quic_keymap_oldest(&ep->hosts);
    /* Only forget hosts with no live session; their counts would be wrong. */
    if (old && old->a == 0) quic_keymap_del(&ep->hosts, old);
    else if (quic_keymap_get(&ep->hosts, key, n) == NULL) return NULL;
  }
  quic_keymap_entry *e = quic_keymap_put(&ep->hosts, key, n, NULL);
  if (e) quic_keymap_touch(&ep->hosts, e);
  return e;
}

void quic_endpoint_host_hold(quic_endpoint *ep, const quic_addr *remote) {
  quic_keymap_entry *h = host_entry(ep, remote, true);
  if (h) h->a++;
}

void quic_endpoint_host_release(quic_endpoint *ep, const quic_addr *remote) {
  quic_keymap_entry *h = host_entry(ep, remote, false);
  if (h && h->a > 0) h->a--;
}

void quic_endpoint_gen_cid_len(quic_endpoint *ep, ngtcp2_cid *cid, size_t len, uint8_t *reset_token) {
  cid->datalen = len;
  (void)quic_tls_random(cid->data, cid->datalen);
  /* The first octet's low 5 bits: the worker index in a port group (the
   * kernel's steering program reads it), else random. */
  bool member = quic_endpoint_in_group(ep);
  uint8_t low5 = member ? ep->worker : (cid->data[0] & 0x1f);
  uint8_t nonce[QUIC_LB_MAX_PLAIN];
  if (ep->cfg.lb_enabled && len == ep->cid_len) {
    (void)quic_tls_random(nonce, ep->lb.cfg.nonce_len);
    /* Only a broken cipher fails: the random ID (with the worker bits)
     * still routes here, if not through a QUIC-LB load balancer. */
    if (quic_lb_encode(&ep->lb, low5, nonce, cid->data) != QUIC_OK) cid->data[0] = (cid->data[0] & 0xe0) | low5;
  } else if (member && len > 0) {
    cid->data[0] = (cid->data[0] & 0xe0) | low5;
  }
  if (reset_token)
    ngtcp2_crypto_generate_stateless_reset_token(reset_token, ep->cfg.reset_secret, sizeof(ep->cfg.reset_secret), cid);
}

/* ---- sending ---- */

static double rand01(quic_endpoint *ep) {
  /* xorshift64*: simulated loss only needs to be cheap and uncorrelated. */
  uint64_t x = ep->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  ep->rng = x;
  return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / (double)(1ULL << 53);
}

int quic_endpoint_send(quic_endpoint *ep, const quic_addr *local, const quic_addr *remote, const uint8_t *data,
                       size_t len, size_t segsize, uint8_t ecn) {
  if (ep->udp.fd < 0) return QUIC_ERR_SYS;
  size_t npkts = segsize && segsize < len ? (len + segsize - 1) / segsize : 1;
  if (ep->cfg.tx_loss > 0) {
    /* Decide packet by packet; each run of survivors still goes out as one
     * train, so that the simulated loss costs what loss costs and not a
     * system call per packet as well. quic_udp_send sends a run of one
     * packet (or a lone unsegmented datagram) as a single datagram. */
    size_t seg = npkts > 1 ? segsize : len;
    size_t run = 0; /* where the current run of survivors starts */
    for (size_t off = 0; off < len; off += seg) {
      size_t l = QUIC_MIN(seg, len - off);
      ep->counters->packets_sent++;
      ep->counters->bytes_sent += l;
      if (rand01(ep) >= ep->cfg.tx_loss) continue;
      if (off > run) (void)quic_udp_send(&ep->udp, local, remote, data + run, off - run, segsize, ecn);
      run = off + l;
    }
    if (len > run) (void)quic_udp_send(&ep->udp, local, remote, data + run, len - run, segsize, ecn);
    return 0;
  }
  /* quic_udp_send speaks errno; the core speaks QUIC_ERR_*. */
  int rv = quic_udp_send(&ep->udp, local, remote, data, len, segsize, ecn);
  if (rv == -EAGAIN) return QUIC_ERR_AGAIN;
  if (rv != 0) return QUIC_ERR_SYS;
  ep->counters->packets_sent += npkts;
  ep->counters->bytes_sent += len;
  return QUIC_OK;
}

static void on_poll(uv_poll_t *h, int status, int events);

static void update_poll(quic_endpoint *ep) {
  if (!ep->poll_init) return;
  int want = UV_READABLE | (quic_list_empty(&ep->send_blocked) ? 0 : UV_WRITABLE);
  if (want != ep->poll_events) {
    ep->poll_events = want;
    uv_poll_start(&ep->poll, want, on_poll);
  }
}

void quic_endpoint_wait_writable(quic_endpoint *ep, quic_session *s) {
  if (!quic_link_linked(&s->slot.blocked)) quic_list_push(&ep->send_blocked, &s->slot.blocked);
  update_poll(ep);
}

/* ---- receiving ---- */

static void send_version_negotiation(quic_endpoint *ep, const quic_rx_pkt *p, const ngtcp2_version_cid *vc) {
  /* Only for packets big enough to be an Initial: no amplification. */
  if (p->len < 1200) return;
  uint8_t buf[256];
  uint32_t sv[2];
  uint8_t r;
  (void)quic_tls_random(&r, 1);
  sv[0] = NGTCP2_PROTO_VER_V1;
  sv[1] = 0x1a2a3a4au; /* a reserved version, to exercise the peer's parser */
  ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(buf, sizeof(buf), r, vc->scid, vc->scidlen, vc->dcid,
                                                        vc->dcidlen, sv, 2);
  if (n > 0) (void)quic_endpoint_send(ep, NULL, &p->remote, buf, (size_t)n, 0, 0);
}

static void send_stateless_reset(quic_endpoint *ep, const quic_rx_pkt *p, const ngtcp2_version_cid *vc) {
  if (ep->cfg.disable_stateless_reset || vc->dcidlen != ep->cid_len) return;
  /* A reset must be shorter than what triggered it (no loops between two
   * endpoints) and long enough to look like a short-header packet. */
  if (p->len <= 1 + NGTCP2_STATELESS_RESET_TOKENLEN + NGTCP2_MIN_STATELESS_RESET_RANDLEN + 21) return;
  quic_keymap_entry *h = host_entry(ep, &p->remote, true);
  if (h == NULL || h->b >= ep->cfg.max_stateless_resets) return;
  h->b++;
  ngtcp2_cid cid;
  ngtcp2_cid_init(&cid, vc->dcid, vc->dcidlen);
  uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
  if (ngtcp2_crypto_generate_stateless_reset_token(token, ep->cfg.reset_secret, sizeof(ep->cfg.reset_secret), &cid) != 0)
    return;
  size_t total = QUIC_MIN(p->len - 1, 64);
  uint8_t rnd[64], buf[64];
  size_t randlen = total - 1 - NGTCP2_STATELESS_RESET_TOKENLEN;
  (void)quic_tls_random(rnd, randlen);
  ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(buf, sizeof(buf), token, rnd, randlen);
  if (n > 0 && quic_endpoint_send(ep, NULL, &p->remote, buf, (size_t)n, 0, 0) == QUIC_OK) ep->counters->stateless_reset_count++;
}

static void send_close(quic_endpoint *ep, const quic_rx_pkt *p, const ngtcp2_pkt_hd *hd, uint64_t code) {
  uint8_t buf[1280];
  ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(buf, sizeof(buf), hd->version, &hd->scid, &hd->dcid, code,
                                                        NULL, 0);
  if (n > 0) (void)quic_endpoint_send(ep, NULL, &p->remote, buf, (size_t)n, 0, 0);
}

static void send_retry(quic_endpoint *ep, const quic_rx_pkt *p, const ngtcp2_pkt_hd *hd) {
  uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN2];
  ngtcp2_cid scid;
  quic_endpoint_gen_cid_len(ep, &scid, ep->cid_len, NULL);
  ngtcp2_ssize tl = ngtcp2_crypto_generate_retry_token2(token, ep->cfg.token_secret, sizeof(ep->cfg.token_secret),
                                                        hd->version, &p->remote.u.sa, p->remote.len, &scid, &hd->dcid,
                                                        quic_now());
  if (tl < 0) return;
  uint8_t buf[1280];
  ngtcp2_ssize n = ngtcp2_crypto_write_retry(buf, sizeof(buf), hd->version, &hd->scid, &scid, &hd->dcid, token,
                                             (size_t)tl);
  if (n > 0) (void)quic_endpoint_send(ep, NULL, &p->remote, buf, (size_t)n, 0, 0);
}

/* Remembers an address that proved it can receive our packets. */
static quic_keymap_entry *lru_entry(quic_endpoint *ep, const quic_addr *a, bool create) {
  uint8_t key[19];
  size_t n = quic_addr_key(a, true, key);
  quic_keymap_entry *e = quic_keymap_get(&ep->validated, key, n);
  if (e || !create || ep->cfg.address_lru_size == 0) return e;
  while (ep->validated.count >= ep->cfg.address_lru_size) quic_keymap_del(&ep->validated, quic_keymap_oldest(&ep->validated));
  return quic_keymap_put(&ep->validated, key, n, NULL);
}

static void accept_initial(quic_endpoint *ep, quic_rx_pkt *p) {
  quic_wrap *w = ep->wrap;
  if (!w->listening || w->closing || w->destroyed) return;
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, p->data, p->len) != 0) return;

  quic_keymap_entry *host = host_entry(ep, &p->remote, true);
  if (w->live_server_sessions >= ep->cfg.max_connections_total || host == NULL || host->a >= ep->cfg.max_connections_per_host) {
    ep->counters->server_busy_count++;
    send_close(ep, p, &hd, NGTCP2_CONNECTION_REFUSED);
    return;
  }

  ngtcp2_cid odcid;
  const ngtcp2_cid *podcid = NULL;
  bool validated = false;
  uint64_t now = quic_now();
  if (hd.type == NGTCP2_PKT_INITIAL && hd.tokenlen > 0) {
    switch (hd.token[0]) {
    case NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY2:
      if (ngtcp2_crypto_verify_retry_token2(&odcid, hd.token, hd.tokenlen, ep->cfg.token_secret,
                                            sizeof(ep->cfg.token_secret), hd.version, &p->remote.u.sa, p->remote.len,
                                            &hd.dcid, ep->cfg.retry_token_expiration_s * NGTCP2_SECONDS, now) != 0) {
        /* RFC 9000 8.1.3: a bad Retry token ends the attempt. */
        send_close(ep, p, &hd, NGTCP2_INVALID_TOKEN);
        return;
      }
      podcid = &odcid;
      validated = true;
      break;
    case NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR:
      if (ngtcp2_crypto_verify_regular_token(hd.token, hd.tokenlen, ep->cfg.token_secret, sizeof(ep->cfg.token_secret),
                                             &p->remote.u.sa, p->remote.len,
                                             ep->cfg.token_expiration_s * NGTCP2_SECONDS, now) == 0) {
        validated = true;
      } else {
        hd.token = NULL; /* an expired or foreign token is ignored */
        hd.tokenlen = 0;
      }
      break;
    default:
      hd.token = NULL;
      hd.tokenlen = 0;
      break;
    }
  }
  if (ep->cfg.validate_address) {
    quic_keymap_entry *e = lru_entry(ep, &p->remote, true);
    if (validated) {
      if (e) e->b = 1;
    } else if (e && e->b) {
      validated = true;
      quic_keymap_touch(&ep->validated, e);
    } else {
      if (e && e->a >= ep->cfg.retry_limit) return;
      if (e) e->a++;
      send_retry(ep, p, &hd);
      return;
    }
  }

  quic_session *s;
  (void)quic_wrap_accept(w, &s, &hd, p, podcid);
}

/* handed: the packet came from another member of the port group, which
 * routed it here; it is not handed on again. */
static void handle_packet(quic_endpoint *ep, quic_rx_pkt *p, bool handed) {
  ep->counters->packets_received++;
  ep->counters->bytes_received += p->len;
  if (ep->cfg.rx_loss > 0 && rand01(ep) < ep->cfg.rx_loss) return;
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, p->data, p->len, ep->cid_len);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    if (ep->wrap->listening) send_version_negotiation(ep, p, &vc);
    return;
  }
  if (rv != 0) return;
  quic_keymap_entry *e = quic_keymap_get(&ep->cids, vc.dcid, vc.dcidlen);
  /* A short header does not say how long its DCID is: try the lengths
   * clients of this endpoint chose (rare; a bitmask test otherwise). */
  for (size_t n = 1; e == NULL && ep->cid_lens && !(p->data[0] & 0x80) && n <= NGTCP2_MAX_CIDLEN; n++)
    if ((ep->cid_lens & (1u << n)) && p->len > n) e = quic_keymap_get(&ep->cids, p->data + 1, n);
  if (e) {
    quic_session_read(e->ptr, p->data, p->len, &p->local, &p->remote, p->ecn);
    return;
  }
  /* Unknown connection ID in a short header: maybe a peer's stateless
   * reset, recognised by the token in its last 16 bytes (a reset's ID is
   * random, so in a port group it reaches this member only by chance: a
   * reset for another member's client session is missed, and that session
   * ends by its idle timeout instead). */
  if (!(p->data[0] & 0x80) && p->len >= 1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN) {
    quic_keymap_entry *t = quic_keymap_get(&ep->reset_tokens, p->data + p->len - NGTCP2_STATELESS_RESET_TOKENLEN,
                                           NGTCP2_STATELESS_RESET_TOKENLEN);
    if (t) {
      quic_session_read(t->ptr, p->data, p->len, &p->local, &p->remote, p->ecn);
      return;
    }
  }
  /* In a port group, an ID this member does not know may be another's: the
   * group's rules (the kernel program's, reuseport.h) say whose. Initial
   * and 0-RTT packets follow the new-connection rule, the rest the rule by
   * worker index. Another member's packets go to its inbox, never answered
   * here (its session is alive); the ones the rules give to this member
   * (its own IDs, a departed member's, a new connection) go on below. */
  if (ep->group && ep->group_slot >= 0 && !handed && vc.dcidlen > 0) {
    bool new_conn = (p->data[0] & 0x80) && (p->data[0] & 0x30) <= 0x10;
    quic_handoff_result r =
        quic_group_hand_off(ep->group, ep->group_slot, new_conn ? QUIC_ROUTE_NEW : QUIC_ROUTE_ALL, vc.dcid[0] & 0x1f,
                            p->data, p->len, &p->remote, &p->local, p->ecn);
    if (r != QUIC_HANDOFF_MINE) {
      ep->counters->misrouted_count++;
      return;
    }
  }
  /* A member in another process cannot hand packets over: another
   * member's (by worker index; not a new connection) is dropped, and never
   * answered with a reset, which would kill that member's session. */
  if (ep->ipc_fd >= 0 && vc.dcidlen > 0 && (vc.dcid[0] & 0x1f) != ep->worker &&
      !((p->data[0] & 0x80) && (p->data[0] & 0x30) <= 0x10)) {
    ep->counters->misrouted_count++;
    return;
  }
  if (!(p->data[0] & 0x80)) {
    /* Not a reset of ours either: we may send one. */
    send_stateless_reset(ep, p, &vc);
    return;
  }
  accept_initial(ep, p);
}

void quic_endpoint_receive(quic_endpoint *ep, quic_rx_pkt *p) { handle_packet(ep, p, false); }

/* Packets other members of the port group handed to this one. */
static void on_inbox(uv_async_t *a) {
  quic_endpoint *ep = QUIC_CONTAINER(a, quic_endpoint, inbox);
  quic_wrap *w = ep->wrap;
  if (ep->group == NULL || w->destroyed) return;
  quic_handoff *list = quic_group_take(ep->group, ep->group_slot);
  quic_wrap_enter(w);
  while (list) {
    quic_handoff *h = list;
    list = h->next;
    if (!w->destroyed) {
      quic_rx_pkt p = {.data = h->data, .len = h->len, .segsize = h->len, .remote = h->remote, .local = h->local,
                       .ecn = h->ecn};
      handle_packet(ep, &p, true);
    }
    quic_free(h);
  }
  quic_wrap_leave(w);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  quic_endpoint *ep = QUIC_CONTAINER(h, quic_endpoint, poll);
  quic_wrap *w = ep->wrap;
  if (status < 0) return;
  quic_wrap_enter(w);
  if (events & UV_WRITABLE) {
    while (!quic_list_empty(&ep->send_blocked)) {
      quic_session *s = QUIC_CONTAINER(ep->send_blocked.next, quic_session, slot.blocked);
      quic_list_remove(&s->slot.blocked);
      quic_session_writable(s);
    }
    update_poll(ep);
  }
  if (events & UV_READABLE) {
    w->rx_datagrams = false;
    for (int round = 0; round < MAX_RX_ROUNDS && !w->destroyed; round++) {
      int n = quic_udp_recv_batch(&ep->udp, ep->rx);
      if (n <= 0) break;
      for (int i = 0; i < n && !w->destroyed; i++) {
        /* A GRO message holds several datagrams: each is a packet of its own. */
        quic_rx_pkt *p = &ep->rx->pkts[i];
        uint8_t *base = p->data;
        size_t total = p->len, seg = p->segsize ? p->segsize : total;
        for (size_t off = 0; off < total && !w->destroyed; off += seg) {
          p->data = base + off;
          p->len = QUIC_MIN(seg, total - off);
          handle_packet(ep, p, false);
        }
        /* A train is one flight of one peer: acknowledge it before reading
         * the next. With one acknowledgment per batch (up to 32 trains) a
         * sender that lost a packet learned it a whole batch late: at 1%
         * loss, 40-45 MB/s against 60-80 MB/s with this. (Single datagrams
         * still wait for the batch: flushing after each cost the HTTP/3 and
         * streams cases more than it gave.) */
        if (total > seg && !w->destroyed) quic_wrap_flush(w);
      }
      /* Acknowledge and answer once per batch, not once per packet. */
      quic_wrap_flush(w);
      /* Datagrams wait in C until the application has them: hand them over
       * before reading more (the socket stays readable, so the loop comes
       * straight back), or a fast peer's next rounds would overflow them. */
      if (n < ep->rx->slots || w->rx_datagrams) break;
    }
  }
  quic_wrap_leave(w);
}

/* ---- NEW_TOKEN ---- */

size_t quic_endpoint_make_token(quic_endpoint *ep, const quic_addr *remote, uint8_t *buf, size_t buflen) {
  if (buflen < NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN) return 0;
  ngtcp2_ssize n = ngtcp2_crypto_generate_regular_token(buf, ep->cfg.token_secret, sizeof(ep->cfg.token_secret),
                                                        &remote->u.sa, remote->len, quic_now());
  return n > 0 ? (size_t)n : 0;
}

void quic_endpoint_save_token(quic_endpoint *ep, const quic_addr *server, const uint8_t *token, size_t len) {
  if (len == 0 || len > QUIC_TOKEN_MAX) return;
  uint8_t key[19];
  size_t n = quic_addr_key(server, true, key);
  quic_token *t = quic_malloc(sizeof(*t) + len);
  if (t == NULL) return;
  t->len = len;
  memcpy(t->data, token, len);
  quic_keymap_entry *e = quic_keymap_get(&ep->tokens, key, n);
  if (e == NULL) {
    while (ep->tokens.count >= QUIC_TOKEN_CACHE) {
      quic_keymap_entry *old = quic_keymap_oldest(&ep->tokens);
      quic_free(old->ptr);
      quic_keymap_del(&ep->tokens, old);
    }
    e = quic_keymap_put(&ep->tokens, key, n, NULL);
    if (e == NULL) {
      quic_free(t);
      return;
    }
  } else {
    quic_keymap_touch(&ep->tokens, e);
  }
  quic_free(e->ptr);
  e->ptr = t;
}

const quic_token *quic_endpoint_token(quic_endpoint *ep, const quic_addr *server) {
  uint8_t key[19];
  size_t n = quic_addr_key(server, true, key);
  quic_keymap_entry *e = quic_keymap_get(&ep->tokens, key, n);
  return e ? e->ptr : NULL;
}

static void tokens_free(quic_endpoint *ep) {
  if (ep->tokens.buckets == NULL) return; /* never made */
  quic_keymap_entry *e;
  QUIC_KEYMAP_EACH(&ep->tokens, e, tmp) quic_free(e->ptr);
  quic_keymap_free(&ep->tokens);
}

/* ---- lifecycle ---- */

int quic_endpoint_init(quic_endpoint *ep, uv_loop_t *loop, const quic_endpoint_config *cfg, quic_wrap *w) {
  ep->udp.fd = -1;
  ep->counters = &ep->counters_inline;
  ep->rx = quic_calloc(1, sizeof(*ep->rx));
  if (ep->rx == NULL || quic_keymap_init(&ep->cids) || quic_keymap_init(&ep->hosts) ||
      quic_keymap_init(&ep->validated) || quic_keymap_init(&ep->reset_tokens) || quic_keymap_init(&ep->tokens)) {
    quic_endpoint_free(ep);
    return QUIC_ERR_NOMEM;
  }
  ep->loop = loop;
  ep->refs = 1;
  ep->cfg = *cfg;
  ep->group_slot = -1;
  ep->ipc_fd = -1;
  ep->adopt_fd = -1;
  ep->cid_len = QUIC_CID_LEN;
  if (cfg->lb_enabled) {
    int rv = quic_lb_init(&ep->lb, &cfg->lb);
    if (rv != QUIC_OK) {
      ep->cfg.lb_enabled = false;
      quic_endpoint_free(ep);
      return rv;
    }
    ep->cid_len = quic_lb_cid_len(&ep->lb);
  }
  quic_list_init(&ep->send_blocked);
  ep->counters->created_at = quic_now();
  (void)quic_tls_random(&ep->rng, sizeof(ep->rng));
  ep->rng |= 1;
  ep->wrap = w;
  return QUIC_OK;
}

/* The socket goes: closed, or given back to its port group, which closes it
 * when that renumbers no other member's socket. */
static void close_socket(quic_endpoint *ep) {
  if (ep->group && ep->group_slot >= 0) {
    quic_group_release(ep->group, ep->group_slot);
    ep->group_slot = -1;
  }
  quic_udp_close(&ep->udp);
  ep->udp.fd = -1;
}

void quic_endpoint_leave(quic_endpoint *ep) {
  if (ep->group && ep->group_slot >= 0) quic_group_leave(ep->group, ep->group_slot);
  if (ep->ipc_fd >= 0) close(ep->ipc_fd); /* the serving process sees the member go */
  ep->ipc_fd = -1;
}

void quic_endpoint_set_listening(quic_endpoint *ep, bool listening) {
  if (ep->group && ep->group_slot >= 0) quic_group_set_listening(ep->group, ep->group_slot, listening);
  if (ep->ipc_fd >= 0) (void)!send(ep->ipc_fd, listening ? "L" : "l", 1, MSG_NOSIGNAL);
}

int quic_endpoint_bind(quic_endpoint *ep, int *sys_errno) {
  if (ep->bound) return QUIC_OK;
  int rv;
  if (ep->adopt_fd < 0 && ep->cfg.rp_name_len > 0) {
    /* One port, independent processes: the group's keeper binds the socket.
     * (A connection left from a bind that failed after it goes first.) */
    if (ep->ipc_fd >= 0) close(ep->ipc_fd);
    ep->ipc_fd = -1;
    quic_group_remote *r = quic_malloc(sizeof(*r));
    if (r == NULL) return QUIC_ERR_NOMEM;
    rv = quic_group_rendezvous(&ep->cfg.bind, ep->cfg.rp_name, ep->cfg.rp_name_len, &ep->cfg.udp, r, sys_errno);
    if (rv == QUIC_OK) {
      ep->adopt_fd = r->udp_fd;
      ep->ipc_fd = r->ipc_fd;
      ep->worker = r->worker;
      ep->steered = r->steering;
    }
    quic_free(r);
    if (rv != QUIC_OK) return rv;
  }
  if (ep->adopt_fd >= 0) {
    rv = quic_udp_adopt(&ep->udp, ep->adopt_fd, ep->cfg.udp.flowlabel, sys_errno);
    if (rv == QUIC_OK) ep->adopt_fd = -1;
  } else if (ep->cfg.shared) {
    /* The first copy makes the group with its configuration; the others
     * (quic_wrap_join) come with a reference to it already. */
    if (ep->group == NULL &&
        (rv = quic_group_new(&ep->group, &ep->cfg.bind, &ep->cfg.udp, &ep->cfg, sizeof(ep->cfg))) != QUIC_OK)
      return rv;
    rv = quic_group_join(ep->group, &ep->udp, &ep->worker, &ep->group_slot, sys_errno);
  } else {
    rv = quic_udp_open(&ep->udp, &ep->cfg.bind, &ep->cfg.udp, sys_errno);
  }
  if (rv != QUIC_OK) return rv;
  if (quic_rx_batch_init(ep->rx, &ep->udp) != QUIC_OK) {
    close_socket(ep);
    return QUIC_ERR_NOMEM;
  }
  if ((rv = uv_poll_init(ep->loop, &ep->poll, ep->udp.fd)) != 0) {
    *sys_errno = -rv;
    close_socket(ep);
    return QUIC_ERR_SYS;
  }
  ep->poll_init = true;
  ep->poll_events = 0;
  if (ep->group) {
    uv_async_init(ep->loop, &ep->inbox, on_inbox);
    ep->inbox_init = true;
    quic_group_set_inbox(ep->group, ep->group_slot, &ep->inbox);
  }
  update_poll(ep);
  ep->bound = true;
  return QUIC_OK;
}

bool quic_endpoint_stop(quic_endpoint *ep, uv_close_cb close_cb, void *data) {
  if (!ep->poll_init) return false;
  if (ep->inbox_init && !uv_is_closing((uv_handle_t *)&ep->inbox)) {
    /* No member hands packets here any more, then the handle goes. */
    quic_group_set_inbox(ep->group, ep->group_slot, NULL);
    ep->inbox.data = data;
    uv_close((uv_handle_t *)&ep->inbox, close_cb);
  }
  if (uv_is_closing((uv_handle_t *)&ep->poll)) return false;
  uv_poll_stop(&ep->poll);
  ep->poll.data = data;
  uv_close((uv_handle_t *)&ep->poll, close_cb);
  return true;
}

void quic_endpoint_free(quic_endpoint *ep) {
  close_socket(ep);
  quic_endpoint_leave(ep);
  if (ep->adopt_fd >= 0) close(ep->adopt_fd);
  ep->adopt_fd = -1;
  if (ep->group) quic_group_unref(ep->group);
  ep->group = NULL;
  if (ep->cfg.lb_enabled) quic_lb_free(&ep->lb);
  quic_keymap_free(&ep->cids);
  quic_keymap_free(&ep->hosts);
  quic_keymap_free(&ep->validated);
  quic_keymap_free(&ep->reset_tokens);
  tokens_free(ep);
  if (ep->rx) quic_rx_batch_free(ep->rx);
  quic_free(ep->rx);
  ep->rx = NULL;
  quic_stats_release(ep->counters, &ep->counters_inline);
}

/* Unit tests of an endpoint's connection IDs and tokens (src/endpoint.h):
 * quic_endpoint_gen_cid_len (the length asked for; the stateless reset
 * token is the HMAC of the CID under the endpoint's reset secret), NEW_TOKEN
 * tokens a server seals for a client address (quic_endpoint_make_token) and
 * the client's cache of them (quic_endpoint_save_token, quic_endpoint_token:
 * the newest per server, an LRU bounded at QUIC_TOKEN_CACHE, oversize
 * refused), with allocations failing in turn. No socket, no session: an
 * endpoint made on a libuv loop and destroyed. See test/c/Makefile. */
#include <ngtcp2/ngtcp2_crypto.h>
#include <stdio.h>
#include <string.h>

#include "../../src/endpoint.h"
#include "../../src/mem.h"
#include "check.h"

/* ---- the one place this test makes and tears down an endpoint ---- */

static uv_loop_t loop;
static int closed_wraps;

static void on_deliver(quic_wrap *w, void *user) {
  (void)w;
  (void)user;
}

static void on_closed(quic_wrap *w, void *user) {
  (void)w;
  (void)user;
  closed_wraps++;
}

/* An endpoint with the given secrets (NULL: random ones), or NULL when out
 * of memory (*rv says why). */
static quic_endpoint *endpoint_new(const uint8_t *reset_secret, const uint8_t *token_secret, int *rv) {
  quic_endpoint_config cfg;
  quic_endpoint_config_defaults(&cfg);
  if (reset_secret) memcpy(cfg.reset_secret, reset_secret, sizeof(cfg.reset_secret));
  if (token_secret) memcpy(cfg.token_secret, token_secret, sizeof(cfg.token_secret));
  quic_wrap *w = NULL;
  *rv = quic_wrap_new(&w, &loop, &cfg, on_deliver, on_closed, NULL);
  return *rv == QUIC_OK ? w->ep : NULL;
}

/* Destroys it and runs the loop until its handles are closed and it is
 * freed: true when the closed hook ran. */
static bool endpoint_del(quic_endpoint *ep) {
  int before = closed_wraps;
  quic_wrap_destroy(ep->wrap);
  uv_run(&loop, UV_RUN_DEFAULT);
  return closed_wraps == before + 1;
}

/* ---- helpers ---- */

static quic_addr addr(const char *host, uint16_t port) {
  quic_addr a;
  if (quic_addr_parse(&a, host, port) != QUIC_OK) {
    fprintf(stderr, "unit_tokens: bad address %s\n", host);
    exit(1);
  }
  return a;
}

/* The n-th server: 10.x.y.z:443, distinct for each n. */
static quic_addr server_n(uint32_t n) {
  char host[32];
  snprintf(host, sizeof(host), "10.%u.%u.%u", (n >> 16) & 255, (n >> 8) & 255, n & 255);
  return addr(host, 443);
}

/* A token whose bytes say which server and which version it is. */
static size_t token_for(uint32_t n, uint8_t version, uint8_t *buf, size_t len) {
  for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(n * 31 + version * 7 + i);
  return len;
}

static bool has_token(quic_endpoint *ep, const quic_addr *server, const uint8_t *data, size_t len) {
  const quic_token *t = quic_endpoint_token(ep, server);
  return t != NULL && t->len == len && memcmp(t->data, data, len) == 0;
}

/* 32 bytes each (the array has room for the literal's NUL). */
static const uint8_t secret_a[33] = "0123456789abcdef0123456789abcdef";
static const uint8_t secret_b[33] = "fedcba9876543210fedcba9876543210";

/* ---- tests ---- */

static void test_cids(void) {
  int rv;
  quic_endpoint *a = endpoint_new(secret_a, NULL, &rv);
  quic_endpoint *b = endpoint_new(secret_a, NULL, &rv); /* the same reset secret */
  quic_endpoint *c = endpoint_new(secret_b, NULL, &rv);
  CHECK(a && b && c);
  if (!a || !b || !c) exit(1);
  static const size_t lens[] = {1, 4, 5, 8, 16, NGTCP2_MAX_CIDLEN};
  for (size_t i = 0; i < QUIC_ARRAY_LEN(lens); i++) {
    ngtcp2_cid cid, cid2;
    uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN], again[NGTCP2_STATELESS_RESET_TOKENLEN];
    uint8_t other[NGTCP2_STATELESS_RESET_TOKENLEN], token2[NGTCP2_STATELESS_RESET_TOKENLEN];
    memset(token, 0, sizeof(token));
    quic_endpoint_gen_cid_len(a, &cid, lens[i], token);
    CHECK_EQ(cid.datalen, lens[i]);
    /* The token is the HMAC of this CID under the endpoint's secret: an
     * endpoint restarted with the same secret (b) derives the same one. */
    CHECK_EQ(ngtcp2_crypto_generate_stateless_reset_token(again, b->cfg.reset_secret, sizeof(b->cfg.reset_secret), &cid), 0);
    CHECK(memcmp(token, again, sizeof(token)) == 0);
    /* Under another secret (c), another token. */
    CHECK_EQ(ngtcp2_crypto_generate_stateless_reset_token(other, c->cfg.reset_secret, sizeof(c->cfg.reset_secret), &cid), 0);
    CHECK(memcmp(token, other, sizeof(token)) != 0);
    /* Each call draws a new random CID, with its own token. */
    quic_endpoint_gen_cid_len(a, &cid2, lens[i], token2);
    CHECK_EQ(cid2.datalen, lens[i]);
    if (lens[i] >= 4) {
      CHECK(memcmp(cid.data, cid2.data, lens[i]) != 0);
      CHECK(memcmp(token, token2, sizeof(token)) != 0);
    }
    /* No token asked for: only the CID. */
    quic_endpoint_gen_cid_len(a, &cid2, lens[i], NULL);
    CHECK_EQ(cid2.datalen, lens[i]);
  }
  /* The length sessions use by default. */
  ngtcp2_cid cid;
  uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN], again[NGTCP2_STATELESS_RESET_TOKENLEN];
  quic_endpoint_gen_cid_len(a, &cid, QUIC_CID_LEN, token);
  CHECK_EQ(cid.datalen, QUIC_CID_LEN);
  CHECK_EQ(ngtcp2_crypto_generate_stateless_reset_token(again, secret_a, 16, &cid), 0);
  CHECK(memcmp(token, again, sizeof(token)) == 0);
  CHECK(endpoint_del(a));
  CHECK(endpoint_del(b));
  CHECK(endpoint_del(c));
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

static void test_make_token(void) {
  int rv;
  quic_endpoint *ep = endpoint_new(NULL, secret_a, &rv);
  quic_endpoint *other = endpoint_new(NULL, secret_b, &rv);
  CHECK(ep && other);
  if (!ep || !other) exit(1);
  quic_addr client = addr("192.0.2.7", 50000);
  uint8_t token[NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN + 8];
  /* A buffer too small for any token: refused. */
  CHECK_EQ(quic_endpoint_make_token(ep, &client, token, NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN - 1), 0);
  size_t n = quic_endpoint_make_token(ep, &client, token, sizeof(token));
  CHECK(n > 0 && n <= NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN);
  CHECK(n <= QUIC_TOKEN_MAX); /* the client can cache it */
  uint64_t now = quic_now(), timeout = 600 * NGTCP2_SECONDS;
  /* Sealed under the token secret for this client's address. */
  CHECK_EQ(ngtcp2_crypto_verify_regular_token(token, n, secret_a, 32, &client.u.sa, client.len, timeout, now), 0);
  quic_addr elsewhere = addr("192.0.2.8", 50000);
  CHECK(ngtcp2_crypto_verify_regular_token(token, n, secret_a, 32, &elsewhere.u.sa, elsewhere.len, timeout, now) != 0);
  CHECK(ngtcp2_crypto_verify_regular_token(token, n, secret_b, 32, &client.u.sa, client.len, timeout, now) != 0);
  /* Not forever. */
  CHECK(ngtcp2_crypto_verify_regular_token(token, n, secret_a, 32, &client.u.sa, client.len, timeout,
                                           now + 2 * timeout) != 0);
  /* Another endpoint's token does not pass under this secret; each token
   * is fresh (two for the same client differ). */
  uint8_t token2[sizeof(token)];
  size_t n2 = quic_endpoint_make_token(other, &client, token2, sizeof(token2));
  CHECK(n2 > 0);
  CHECK(ngtcp2_crypto_verify_regular_token(token2, n2, secret_a, 32, &client.u.sa, client.len, timeout, now) != 0);
  n2 = quic_endpoint_make_token(ep, &client, token2, sizeof(token2));
  CHECK(n2 == n && memcmp(token, token2, n) != 0);
  /* IPv6 clients too. */
  quic_addr client6 = addr("2001:db8::7", 443);
  n = quic_endpoint_make_token(ep, &client6, token, sizeof(token));
  CHECK(n > 0);
  CHECK_EQ(ngtcp2_crypto_verify_regular_token(token, n, secret_a, 32, &client6.u.sa, client6.len, timeout, now), 0);
  CHECK(endpoint_del(ep));
  CHECK(endpoint_del(other));
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

static void test_token_cache(void) {
  int rv;
  quic_endpoint *ep = endpoint_new(NULL, NULL, &rv);
  CHECK(ep != NULL);
  if (!ep) exit(1);
  uint8_t t1[64], t2[100], big[QUIC_TOKEN_MAX + 1];
  quic_addr s = addr("203.0.113.1", 443);
  CHECK(quic_endpoint_token(ep, &s) == NULL);

  /* Saved, handed back; the newest per server wins. */
  quic_endpoint_save_token(ep, &s, t1, token_for(1, 1, t1, sizeof(t1)));
  CHECK(has_token(ep, &s, t1, sizeof(t1)));
  quic_endpoint_save_token(ep, &s, t2, token_for(1, 2, t2, sizeof(t2)));
  CHECK(has_token(ep, &s, t2, sizeof(t2)));
  CHECK_EQ(ep->tokens.count, 1);

  /* A server is its address and port. */
  quic_addr s_port = addr("203.0.113.1", 8443);
  CHECK(quic_endpoint_token(ep, &s_port) == NULL);
  quic_endpoint_save_token(ep, &s_port, t1, sizeof(t1));
  CHECK(has_token(ep, &s_port, t1, sizeof(t1)));
  CHECK(has_token(ep, &s, t2, sizeof(t2)));
  quic_addr s6 = addr("2001:db8::1", 443);
  CHECK(quic_endpoint_token(ep, &s6) == NULL);
  quic_endpoint_save_token(ep, &s6, t2, sizeof(t2));
  CHECK(has_token(ep, &s6, t2, sizeof(t2)));
  CHECK_EQ(ep->tokens.count, 3);

  /* Empty and oversize tokens are refused; the one held stays. */
  int64_t live = quic_mem_live_bytes();
  quic_endpoint_save_token(ep, &s, big, 0);
  quic_endpoint_save_token(ep, &s, big, token_for(1, 3, big, sizeof(big)));
  CHECK(has_token(ep, &s, t2, sizeof(t2)));
  quic_addr fresh = addr("203.0.113.99", 443);
  quic_endpoint_save_token(ep, &fresh, big, sizeof(big));
  CHECK(quic_endpoint_token(ep, &fresh) == NULL);
  CHECK_EQ(ep->tokens.count, 3);
  CHECK_EQ(quic_mem_live_bytes(), live);
  /* The largest allowed is kept whole. */
  quic_endpoint_save_token(ep, &s, big, QUIC_TOKEN_MAX);
  CHECK(has_token(ep, &s, big, QUIC_TOKEN_MAX));
  /* Replacing a token frees the old one. */
  quic_endpoint_save_token(ep, &s, t1, sizeof(t1));
  CHECK_EQ(quic_mem_live_bytes(), live - (int64_t)sizeof(t2) + (int64_t)sizeof(t1));
  CHECK(endpoint_del(ep));
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

static void test_token_lru(void) {
  int rv;
  quic_endpoint *ep = endpoint_new(NULL, NULL, &rv);
  CHECK(ep != NULL);
  if (!ep) exit(1);
  uint8_t t[40];
  enum { EXTRA = 10 };
  /* More servers than the cache holds: the oldest go. */
  for (uint32_t i = 0; i < QUIC_TOKEN_CACHE + EXTRA; i++) {
    quic_addr s = server_n(i);
    quic_endpoint_save_token(ep, &s, t, token_for(i, 1, t, sizeof(t)));
  }
  CHECK_EQ(ep->tokens.count, QUIC_TOKEN_CACHE);
  uint32_t kept = 0, evicted = 0, wrong = 0;
  for (uint32_t i = 0; i < QUIC_TOKEN_CACHE + EXTRA; i++) {
    quic_addr s = server_n(i);
    token_for(i, 1, t, sizeof(t));
    const quic_token *got = quic_endpoint_token(ep, &s);
    if (i < EXTRA) evicted += got == NULL;
    else if (has_token(ep, &s, t, sizeof(t))) kept++;
    else wrong++;
  }
  CHECK_EQ(evicted, EXTRA);
  CHECK_EQ(kept, QUIC_TOKEN_CACHE);
  CHECK_EQ(wrong, 0);

  /* A new token for the oldest server makes it the newest: the next
   * server in line is evicted instead. */
  quic_addr oldest = server_n(EXTRA), next = server_n(EXTRA + 1);
  quic_endpoint_save_token(ep, &oldest, t, token_for(EXTRA, 2, t, sizeof(t)));
  quic_addr newcomer = server_n(100000);
  quic_endpoint_save_token(ep, &newcomer, t, token_for(100000, 1, t, sizeof(t)));
  CHECK_EQ(ep->tokens.count, QUIC_TOKEN_CACHE);
  token_for(EXTRA, 2, t, sizeof(t));
  CHECK(has_token(ep, &oldest, t, sizeof(t)));
  CHECK(quic_endpoint_token(ep, &next) == NULL);
  token_for(100000, 1, t, sizeof(t));
  CHECK(has_token(ep, &newcomer, t, sizeof(t)));
  /* Every token is freed with the endpoint. */
  CHECK(quic_mem_live_bytes() >= (int64_t)(QUIC_TOKEN_CACHE * sizeof(t)));
  CHECK(endpoint_del(ep));
  CHECK_EQ(quic_mem_live_bytes(), 0);
}

/* Allocations failing in turn: making an endpoint reports QUIC_ERR_NOMEM
 * and leaves nothing; saving a token either stores it or leaves the cache
 * as it was (an older token for that server stays), never a broken entry;
 * and the endpoint frees whatever it holds. */
static void test_faults(void) {
  /* The allocations making an endpoint takes. */
  int rv;
  quic_mem_fail_at(0);
  quic_endpoint *clean = endpoint_new(NULL, NULL, &rv);
  int64_t allocs = quic_mem_alloc_count();
  CHECK(clean != NULL);
  if (clean) CHECK(endpoint_del(clean));
  CHECK(allocs >= 8); /* endpoint, wrap, buffers, five tables */
  uint32_t nomem = 0, made = 0, broken = 0, leaked = 0;
  int64_t n;
  for (n = 1; n <= allocs + 1; n++) {
    quic_mem_fail_at(n);
    quic_endpoint *ep = endpoint_new(NULL, NULL, &rv);
    bool reached = quic_mem_alloc_count() >= n;
    quic_mem_fail_at(0);
    if (ep == NULL) {
      if (rv != QUIC_ERR_NOMEM || !reached) broken++;
      nomem++;
    } else {
      made++;
      if (reached || !endpoint_del(ep)) broken++;
    }
    if (quic_mem_live_bytes() != 0 || quic_live_count(QUIC_LIVE_ENDPOINTS) != 0 ||
        quic_live_count(QUIC_LIVE_HANDLES) != 0)
      leaked++;
  }
  CHECK_EQ(broken, 0);
  CHECK_EQ(leaked, 0);
  CHECK_EQ(nomem, allocs); /* each allocation failed once, reported */
  CHECK_EQ(made, 1);       /* only the run that reached no failure */

  uint8_t t_old[30], t_new[50];
  uint32_t stored = 0, kept_old = 0, unreached = 0;
  broken = leaked = 0;
  for (n = 1; n < 1000; n++) {
    quic_endpoint *ep = endpoint_new(NULL, NULL, &rv);
    if (ep == NULL) {
      broken++;
      break;
    }
    /* A full cache whose newest token is server 0's (so a new server
     * evicts server 1, not it). */
    for (uint32_t i = 1; i <= QUIC_TOKEN_CACHE; i++) {
      uint32_t k = i % QUIC_TOKEN_CACHE;
      quic_addr s = server_n(k);
      quic_endpoint_save_token(ep, &s, t_old, token_for(k, 1, t_old, sizeof(t_old)));
    }
    quic_addr s0 = server_n(0), s_new = server_n(5000);
    quic_mem_fail_at(n);
    /* A newer token for server 0, then a token for a new server. */
    quic_endpoint_save_token(ep, &s0, t_new, token_for(0, 2, t_new, sizeof(t_new)));
    quic_endpoint_save_token(ep, &s_new, t_new, token_for(5000, 1, t_new, sizeof(t_new)));
    bool reached = quic_mem_alloc_count() >= n;
    quic_mem_fail_at(0);
    token_for(0, 2, t_new, sizeof(t_new));
    token_for(0, 1, t_old, sizeof(t_old));
    if (has_token(ep, &s0, t_new, sizeof(t_new))) stored++;
    else if (has_token(ep, &s0, t_old, sizeof(t_old))) kept_old++;
    else broken++;
    token_for(5000, 1, t_new, sizeof(t_new));
    const quic_token *t = quic_endpoint_token(ep, &s_new);
    if (t != NULL && !has_token(ep, &s_new, t_new, sizeof(t_new))) broken++;
    if (t == NULL && !reached) broken++;
    if (ep->tokens.count > QUIC_TOKEN_CACHE) broken++;
    /* No entry without a token. */
    quic_keymap_entry *e;
    QUIC_KEYMAP_EACH(&ep->tokens, e, tmp) if (e->ptr == NULL) broken++;
    if (!endpoint_del(ep)) broken++;
    if (quic_mem_live_bytes() != 0) leaked++;
    if (!reached) {
      unreached++;
      break;
    }
  }
  CHECK_EQ(broken, 0);
  CHECK_EQ(leaked, 0);
  CHECK_EQ(unreached, 1);
  /* The first failure is the newer token's copy: server 0 kept its old
   * one; every later failure is the new server's, after server 0 got its
   * newer token. */
  CHECK_EQ(kept_old, 1);
  CHECK(stored >= 2);
  CHECK_EQ(stored + kept_old, n);
}

int main(void) {
  if (uv_loop_init(&loop) != 0) return 1;
  test_cids();
  test_make_token();
  test_token_cache();
  test_token_lru();
  test_faults();
  CHECK_EQ(uv_loop_close(&loop), 0);
  CHECK_EQ(quic_mem_live_bytes(), 0);
  CHECK_EQ(quic_mem_live_allocs(), 0);
  CHECK_EQ(quic_live_count(QUIC_LIVE_ENDPOINTS), 0);
  CHECK_EQ(quic_live_count(QUIC_LIVE_HANDLES), 0);
  return check_done("unit_tokens");
}

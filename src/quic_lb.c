/* QUIC-LB connection IDs (see quic_lb.h for the layout). The AES-128-ECB
 * the draft asks for is one block of AES-128-CBC with a zero IV, reset
 * before every block: GnuTLS offers no ECB mode. */
#include "quic_lb.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

static const uint8_t zero_iv[16];

static int aes_block(quic_lb *lb, const uint8_t in[16], uint8_t out[16], bool decrypt) {
  gnutls_cipher_hd_t hd = lb->aes;
  gnutls_cipher_set_iv(hd, (void *)zero_iv, sizeof(zero_iv));
  int rv = decrypt ? gnutls_cipher_decrypt2(hd, in, 16, out, 16) : gnutls_cipher_encrypt2(hd, in, 16, out, 16);
  return rv == 0 ? QUIC_OK : QUIC_ERR_TLS;
}

int quic_lb_init(quic_lb *lb, const quic_lb_config *cfg) {
  memset(lb, 0, sizeof(*lb));
  if (cfg->config_rotation >= QUIC_LB_NO_CONFIG || cfg->sid_len < 1 || cfg->sid_len > QUIC_LB_MAX_SID ||
      cfg->nonce_len < QUIC_LB_MIN_NONCE || cfg->sid_len + cfg->nonce_len > QUIC_LB_MAX_PLAIN)
    return QUIC_ERR_INVALID;
  lb->cfg = *cfg;
  if (!cfg->has_key) return QUIC_OK;
  gnutls_datum_t key = {(unsigned char *)lb->cfg.key, sizeof(lb->cfg.key)};
  gnutls_datum_t iv = {(unsigned char *)zero_iv, sizeof(zero_iv)};
  gnutls_cipher_hd_t hd;
  if (gnutls_cipher_init(&hd, GNUTLS_CIPHER_AES_128_CBC, &key, &iv) != 0) return QUIC_ERR_TLS;
  lb->aes = hd;
  return QUIC_OK;
}

void quic_lb_free(quic_lb *lb) {
  if (lb->aes) gnutls_cipher_deinit((gnutls_cipher_hd_t)lb->aes);
  lb->aes = NULL;
  /* The key does not outlive its use. */
  gnutls_memset(lb->cfg.key, 0, sizeof(lb->cfg.key));
}

/* ---- the four-pass Feistel network ----
 * The plaintext (server ID || nonce, len octets) splits into two halves of
 * half = ceil(len / 2) octets. With an odd length the middle octet is
 * shared: the left half keeps its high nibble, the right half its low one;
 * the other nibble of each is kept zero throughout. */

typedef struct feistel {
  size_t len, half;
  bool odd;
} feistel;

static void clear_left(const feistel *f, uint8_t *left) {
  if (f->odd) left[f->half - 1] &= 0xf0;
}

static void clear_right(const feistel *f, uint8_t *right) {
  if (f->odd) right[0] &= 0x0f;
}

/* other ^= truncate(AES(expand(len, pass, from)), half) */
static int round_fn(quic_lb *lb, const feistel *f, uint8_t pass, const uint8_t *from, uint8_t *other) {
  uint8_t in[16] = {0}, out[16];
  memcpy(in, from, f->half);
  in[14] = (uint8_t)f->len;
  in[15] = pass;
  int rv = aes_block(lb, in, out, false);
  for (size_t i = 0; i < f->half; i++) other[i] ^= out[i];
  return rv;
}

static void split(const feistel *f, const uint8_t *in, uint8_t *left, uint8_t *right) {
  memcpy(left, in, f->half);
  memcpy(right, in + f->len / 2, f->half);
  clear_left(f, left);
  clear_right(f, right);
}

static void join(const feistel *f, const uint8_t *left, const uint8_t *right, uint8_t *out) {
  memcpy(out, left, f->half);
  if (f->odd) {
    out[f->half - 1] |= right[0];
    memcpy(out + f->half, right + 1, f->half - 1);
  } else {
    memcpy(out + f->half, right, f->half);
  }
}

static int feistel_encrypt(quic_lb *lb, const uint8_t *plain, size_t len, uint8_t *out) {
  feistel f = {len, (len + 1) / 2, (len & 1) != 0};
  uint8_t l[10], r[10];
  int rv = QUIC_OK;
  split(&f, plain, l, r);
  rv |= round_fn(lb, &f, 1, l, r);
  clear_right(&f, r);
  rv |= round_fn(lb, &f, 2, r, l);
  clear_left(&f, l);
  rv |= round_fn(lb, &f, 3, l, r);
  clear_right(&f, r);
  rv |= round_fn(lb, &f, 4, r, l);
  clear_left(&f, l);
  join(&f, l, r, out);
  return rv ? QUIC_ERR_TLS : QUIC_OK;
}

static int feistel_decrypt(quic_lb *lb, const uint8_t *cipher, size_t len, uint8_t *out) {
  feistel f = {len, (len + 1) / 2, (len & 1) != 0};
  uint8_t l[10], r[10];
  int rv = QUIC_OK;
  split(&f, cipher, l, r);
  rv |= round_fn(lb, &f, 4, r, l);
  clear_left(&f, l);
  rv |= round_fn(lb, &f, 3, l, r);
  clear_right(&f, r);
  rv |= round_fn(lb, &f, 2, r, l);
  clear_left(&f, l);
  rv |= round_fn(lb, &f, 1, l, r);
  clear_right(&f, r);
  join(&f, l, r, out);
  return rv ? QUIC_ERR_TLS : QUIC_OK;
}

/* ---- encode and decode ---- */

int quic_lb_encode(quic_lb *lb, uint8_t low5, const uint8_t *nonce, uint8_t *cid) {
  const quic_lb_config *c = &lb->cfg;
  size_t plen = (size_t)c->sid_len + c->nonce_len;
  uint8_t plain[QUIC_LB_MAX_PLAIN];
  memcpy(plain, c->server_id, c->sid_len);
  memcpy(plain + c->sid_len, nonce, c->nonce_len);
  cid[0] = (uint8_t)(c->config_rotation << 5) | (c->length_self_encoding ? (uint8_t)plen : (low5 & 0x1f));
  if (!c->has_key) {
    memcpy(cid + 1, plain, plen);
    return QUIC_OK;
  }
  if (plen == 16) return aes_block(lb, plain, cid + 1, false);
  return feistel_encrypt(lb, plain, plen, cid + 1);
}

int quic_lb_decode(quic_lb *lb, const uint8_t *cid, size_t len, uint8_t *sid, uint8_t *nonce) {
  const quic_lb_config *c = &lb->cfg;
  size_t plen = (size_t)c->sid_len + c->nonce_len;
  if (len < 1 + plen || (cid[0] >> 5) != c->config_rotation) return QUIC_ERR_INVALID;
  uint8_t plain[QUIC_LB_MAX_PLAIN];
  int rv = QUIC_OK;
  if (!c->has_key) memcpy(plain, cid + 1, plen);
  else if (plen == 16) rv = aes_block(lb, cid + 1, plain, true);
  else rv = feistel_decrypt(lb, cid + 1, plen, plain);
  if (rv != QUIC_OK) return rv;
  memcpy(sid, plain, c->sid_len);
  if (nonce) memcpy(nonce, plain + c->sid_len, c->nonce_len);
  return QUIC_OK;
}

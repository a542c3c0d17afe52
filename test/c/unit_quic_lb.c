/* Unit tests of src/quic_lb.c: the test vectors of
 * draft-ietf-quic-load-balancers (appendix "Load Balancer Test Vectors",
 * and the worked "Encryption Example" of the four-pass algorithm),
 * reproduced byte for byte, then decoding them back, a round trip of every
 * allowed length with and without a key, the worker bits of the first
 * octet, and the configurations the draft forbids. */
#include <string.h>

#include "../../src/quic_lb.h"
#include "check.h"

static size_t unhex(const char *s, uint8_t *out) {
  size_t n = 0;
  for (; s[0] && s[1]; s += 2) {
    unsigned v;
    if (sscanf(s, "%2x", &v) != 1) break;
    out[n++] = (uint8_t)v;
  }
  return n;
}

typedef struct vector {
  unsigned cr;
  const char *sid, *nonce, *key, *cid;
} vector;

/* Every vector of the draft is generated with length self-encoding on. */
static void check_vector(const vector *v) {
  uint8_t sid[16], nonce[20], key[16], want[21], got[21], dsid[16], dnonce[20];
  quic_lb_config c;
  memset(&c, 0, sizeof(c));
  c.config_rotation = (uint8_t)v->cr;
  c.length_self_encoding = true;
  c.sid_len = (uint8_t)unhex(v->sid, sid);
  c.nonce_len = (uint8_t)unhex(v->nonce, nonce);
  memcpy(c.server_id, sid, c.sid_len);
  if (v->key) {
    c.has_key = true;
    CHECK_EQ(unhex(v->key, key), 16);
    memcpy(c.key, key, 16);
  }
  size_t wlen = unhex(v->cid, want);
  quic_lb lb;
  CHECK_EQ(quic_lb_init(&lb, &c), QUIC_OK);
  CHECK_EQ(quic_lb_cid_len(&lb), wlen);
  memset(got, 0xee, sizeof(got));
  CHECK_EQ(quic_lb_encode(&lb, 0x1f, nonce, got), QUIC_OK);
  bool same = memcmp(got, want, wlen) == 0;
  CHECK(same);
  if (!same) {
    fprintf(stderr, "  cid %s: got ", v->cid);
    for (size_t i = 0; i < wlen; i++) fprintf(stderr, "%02x", got[i]);
    fprintf(stderr, "\n");
  }
  CHECK_EQ(got[wlen], 0xee); /* nothing written past the ID */
  /* The load balancer's side: the server ID and nonce come back. */
  CHECK_EQ(quic_lb_decode(&lb, want, wlen, dsid, dnonce), QUIC_OK);
  CHECK(memcmp(dsid, sid, c.sid_len) == 0);
  CHECK(memcmp(dnonce, nonce, c.nonce_len) == 0);
  quic_lb_free(&lb);
}

static void test_draft_vectors(void) {
  static const vector vectors[] = {
      /* Unencrypted CIDs. */
      {0, "c4605e", "4504cc4f", NULL, "07c4605e4504cc4f"},
      /* The draft prints this one as nonce 3487d970b, cid
       * 20a350d28b4203487d970b: the nonce lost its leading zero and the
       * first octet (cr 1, length 10: 0x2a) is split around it. These are
       * the same eleven octets, read consistently. */
      {1, "350d28b420", "03487d970b", NULL, "2a350d28b42003487d970b"},
      /* Encrypted CIDs: one key for all; the 16-octet single-pass case and
       * a server ID longer than the nonce (a fourth decryption pass). The
       * last line's cr column says 3, but its first octet (0x12) and the
       * draft's previous revision say 0. */
      {0, "ed793a", "ee080dbf", "8f95f09245765f80256934e50c66207f", "0720b1d07b359d3c"},
      {1, "ed793a51d49b8f5fab65", "ee080dbf48", "8f95f09245765f80256934e50c66207f",
       "2fcc381bc74cb4fbad2823a3d1f8fed2"},
      {2, "ed793a51d49b8f5f", "ee080dbf48c0d1e5", "8f95f09245765f80256934e50c66207f",
       "504dd2d05a7b0de9b2b9907afb5ecf8cc3"},
      {0, "ed793a51d49b8f5fab", "ee080dbf48c0d1e55d", "8f95f09245765f80256934e50c66207f",
       "125779c9cc86beb3a3a4a3ca96fce4bfe0cdbc"},
      /* The worked "Encryption Example" (odd length: the middle octet is
       * split between the halves). */
      {0, "31441a", "9c69c275", "fdf726a9893ec05c0632d3956680baf0", "0767947d29be054a"},
  };
  for (size_t i = 0; i < QUIC_ARRAY_LEN(vectors); i++) check_vector(&vectors[i]);
}

/* Every legal (sid_len, nonce_len), keyed and not: decode(encode(x)) == x,
 * the first octet carries the worker bits (or the length), and a keyed ID
 * does not show its server ID. */
static void test_round_trip(void) {
  uint8_t key[16];
  for (int i = 0; i < 16; i++) key[i] = (uint8_t)(i * 37 + 1);
  int hidden = 0, keyed = 0;
  for (int keyed_run = 0; keyed_run < 2; keyed_run++) {
    for (uint8_t sl = 1; sl <= QUIC_LB_MAX_SID; sl++) {
      for (uint8_t nl = QUIC_LB_MIN_NONCE; sl + nl <= QUIC_LB_MAX_PLAIN; nl++) {
        quic_lb_config c;
        memset(&c, 0, sizeof(c));
        c.config_rotation = (uint8_t)((sl + nl) % 7);
        c.sid_len = sl;
        c.nonce_len = nl;
        for (int i = 0; i < sl; i++) c.server_id[i] = (uint8_t)(0xa0 + i);
        c.has_key = keyed_run == 1;
        memcpy(c.key, key, 16);
        quic_lb lb;
        CHECK_EQ(quic_lb_init(&lb, &c), QUIC_OK);
        uint8_t nonce[20], cid[21], sid[16], back[20];
        for (int i = 0; i < nl; i++) nonce[i] = (uint8_t)(i * 11 + sl);
        uint8_t worker = (uint8_t)((sl * 3 + nl) & 0x1f);
        CHECK_EQ(quic_lb_encode(&lb, worker, nonce, cid), QUIC_OK);
        CHECK_EQ(cid[0], (c.config_rotation << 5) | worker);
        CHECK_EQ(quic_lb_decode(&lb, cid, quic_lb_cid_len(&lb), sid, back), QUIC_OK);
        CHECK(memcmp(sid, c.server_id, sl) == 0);
        CHECK(memcmp(back, nonce, nl) == 0);
        if (c.has_key) {
          keyed++;
          if (memcmp(cid + 1, c.server_id, sl) != 0) hidden++;
        } else {
          CHECK(memcmp(cid + 1, c.server_id, sl) == 0);
        }
        /* Too short, or another codepoint: not ours to decode. */
        CHECK_EQ(quic_lb_decode(&lb, cid, quic_lb_cid_len(&lb) - 1, sid, back), QUIC_ERR_INVALID);
        cid[0] ^= 0x20;
        CHECK_EQ(quic_lb_decode(&lb, cid, quic_lb_cid_len(&lb), sid, back), QUIC_ERR_INVALID);
        quic_lb_free(&lb);
      }
    }
  }
  CHECK(keyed > 100);
  CHECK_EQ(hidden, keyed);
}

static void test_bad_configs(void) {
  quic_lb lb;
  quic_lb_config c;
  memset(&c, 0, sizeof(c));
  c.sid_len = 0;
  c.nonce_len = 8;
  CHECK_EQ(quic_lb_init(&lb, &c), QUIC_ERR_INVALID); /* no server ID */
  c.sid_len = 16;
  CHECK_EQ(quic_lb_init(&lb, &c), QUIC_ERR_INVALID); /* longer than 15 */
  c.sid_len = 2;
  c.nonce_len = 3;
  CHECK_EQ(quic_lb_init(&lb, &c), QUIC_ERR_INVALID); /* nonce under 4 */
  c.sid_len = 10;
  c.nonce_len = 10;
  CHECK_EQ(quic_lb_init(&lb, &c), QUIC_ERR_INVALID); /* ID over 20 octets */
  c.sid_len = 2;
  c.nonce_len = 8;
  c.config_rotation = QUIC_LB_NO_CONFIG;
  CHECK_EQ(quic_lb_init(&lb, &c), QUIC_ERR_INVALID); /* 0b111 is "no config" */
  c.config_rotation = 6;
  CHECK_EQ(quic_lb_init(&lb, &c), QUIC_OK);
  quic_lb_free(&lb);
}

int main(void) {
  test_draft_vectors();
  test_round_trip();
  test_bad_configs();
  return check_done("unit_quic_lb");
}

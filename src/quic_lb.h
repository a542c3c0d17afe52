/* Connection IDs in the QUIC-LB layout (draft-ietf-quic-load-balancers,
 * "QUIC-LB: Generating Routable QUIC Connection IDs"), so that a load
 * balancer that knows the configuration routes each packet to its server by
 * the connection ID alone, and so that the threads and processes sharing one
 * UDP port find their worker index in it.
 *
 *   QUIC-LB Connection ID {
 *     First Octet (8) {
 *       Config Rotation (3),        0..6; 7 ("0b111") means "no configuration"
 *       Length or Worker/Random (5) with length self-encoding: the length of
 *                                   what follows; else our worker index when
 *                                   the port is shared (see endpoint.h), else
 *                                   random
 *     },
 *     Server ID (8..120),           1..15 octets
 *     Nonce (32..),                 4..18 octets; server ID + nonce <= 19
 *   }
 *
 * With a key the server ID and nonce are encrypted together with AES-128:
 * one AES-ECB block when they add up to 16 octets, otherwise the draft's
 * four-pass Feistel network (which handles odd lengths by splitting the
 * middle octet). Without a key they are in the clear. The first octet is
 * never encrypted, which is what lets a classic BPF program in the kernel
 * read the worker index (udp.c) without any key.
 *
 * Threading: a quic_lb is written once by quic_lb_init and then only read,
 * except for its AES handle, which each use modifies: a quic_lb belongs to
 * one endpoint on one thread. Every copy of an Endpoint (one per thread or
 * process) builds its own from the same configuration. */
#ifndef QUIC_LB_H
#define QUIC_LB_H

#include "common.h"

#define QUIC_LB_MAX_SID 15
#define QUIC_LB_MIN_NONCE 4
#define QUIC_LB_MAX_PLAIN 19  /* server ID + nonce */
#define QUIC_LB_NO_CONFIG 7   /* config rotation codepoint: 4-tuple routing */

typedef struct quic_lb_config {
  uint8_t config_rotation;      /* 0..6 */
  bool length_self_encoding;    /* the first octet's low 5 bits give the length */
  uint8_t sid_len;              /* 1..QUIC_LB_MAX_SID */
  uint8_t nonce_len;            /* QUIC_LB_MIN_NONCE..; sid_len + nonce_len <= QUIC_LB_MAX_PLAIN */
  uint8_t server_id[QUIC_LB_MAX_SID];
  bool has_key;
  uint8_t key[16];
} quic_lb_config;

typedef struct quic_lb {
  quic_lb_config cfg;
  void *aes;                    /* owned: GnuTLS AES-128 handle when cfg.has_key (quic_lb_free) */
} quic_lb;

/* QUIC_OK, or QUIC_ERR_INVALID when the lengths or the codepoint are out of
 * the draft's bounds, QUIC_ERR_TLS when the cipher cannot be set up. */
int quic_lb_init(quic_lb *lb, const quic_lb_config *cfg);
void quic_lb_free(quic_lb *lb);

/* The connection ID length the configuration gives: 1 + sid_len + nonce_len. */
static inline size_t quic_lb_cid_len(const quic_lb *lb) { return 1u + lb->cfg.sid_len + lb->cfg.nonce_len; }

/* Writes a connection ID of quic_lb_cid_len(lb) octets into cid: the first
 * octet from the configuration (low5 goes into its low 5 bits unless the
 * length is self-encoded), the server ID and the nonce (nonce_len octets),
 * encrypted when there is a key. */
int quic_lb_encode(quic_lb *lb, uint8_t low5, const uint8_t *nonce, uint8_t *cid);

/* What a load balancer does: recovers the server ID (sid_len octets) and
 * the nonce (nonce_len octets; may be NULL) from a connection ID. Returns
 * QUIC_ERR_INVALID when the ID is too short or carries another config
 * rotation codepoint. */
int quic_lb_decode(quic_lb *lb, const uint8_t *cid, size_t len, uint8_t *sid, uint8_t *nonce);

#endif

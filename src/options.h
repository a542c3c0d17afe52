/* Values of options that lib/config.js validates and the core applies,
 * defined once here and exported to JavaScript by addon.c (constants.CC_*,
 * constants.PAYLOAD_*); lib/config.js checks them at load and validates
 * against them. Plain C: no node_api.h. */
#ifndef QUIC_OPTIONS_H
#define QUIC_OPTIONS_H

#include <ngtcp2/ngtcp2.h>
#include <stddef.h>

/* ccAlgorithm: each name with ngtcp2's algorithm. JavaScript passes the
 * position of the name in this list (QUIC_SO_CC_ALGORITHM). */
#define QUIC_CC_ALGORITHMS(V)                                                                                  \
  V(reno, NGTCP2_CC_ALGO_RENO)                                                                                 \
  V(cubic, NGTCP2_CC_ALGO_CUBIC)                                                                               \
  V(bbr, NGTCP2_CC_ALGO_BBR)

#define QUIC_CC_INDEX(name, algo) QUIC_CC_##name,
enum { QUIC_CC_ALGORITHMS(QUIC_CC_INDEX) QUIC_CC_COUNT };
#undef QUIC_CC_INDEX
/* When the option is not given. */
#define QUIC_CC_DEFAULT QUIC_CC_cubic

/* The algorithm at position i of the list; the default for anything else
 * (the value comes from JavaScript as a double: no cast before the check). */
static inline ngtcp2_cc_algo quic_cc_algo(double i) {
#define QUIC_CC_ALGO(name, algo) algo,
  static const ngtcp2_cc_algo algos[] = {QUIC_CC_ALGORITHMS(QUIC_CC_ALGO)};
#undef QUIC_CC_ALGO
  return i >= 0 && i < QUIC_CC_COUNT ? algos[(size_t)i] : algos[QUIC_CC_DEFAULT];
}

/* max_ack_delay (RFC 9000 18.2) when the option is not given, in ms. Peers
 * add it to every probe timeout (RFC 9002 6.2.1), and ngtcp2 never delays an
 * acknowledgment by more than an eighth of the smoothed RTT anyway: so the
 * 25 ms that most stacks advertise mostly makes a peer wait for a lost tail
 * 25 ms longer than it needs to. 2 ms is the smallest that our
 * millisecond timers keep (docs/performance.md, max_ack_delay). */
#define QUIC_MAX_ACK_DELAY_DEFAULT 2

/* maxPayloadSize, the largest UDP payload path MTU discovery probes up to:
 * at least QUIC's minimum datagram size (RFC 9000 14), at most the largest
 * max_udp_payload_size a peer may allow (RFC 9000 18.2), for paths with a
 * larger MTU than Ethernet's (jumbo frames, loopback); by default a 1500-byte
 * Ethernet frame over IPv6 (1500 - 40 - 8), which fits IPv4 too. */
#define QUIC_PAYLOAD_MIN 1200
#define QUIC_PAYLOAD_MAX 65527
#define QUIC_PAYLOAD_DEFAULT 1452
/* maxPayloadSize not given: QUIC_PAYLOAD_DEFAULT, except for a peer on this
 * host, where it is what the route carries (route.c). */
#define QUIC_PAYLOAD_BY_PATH 0

#endif

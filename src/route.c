/* A peer on this host, and its path's MTU, as the kernel's route lookup
 * tells them. TCP takes its segment size from the same route, which is why
 * it moves 64 KB segments over loopback; a QUIC stack that never asks stays
 * at Ethernet-sized packets there and pays per packet for it. */
#include "route.h"

#include <netinet/ip.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static bool is_loopback(const quic_addr *a) {
  if (a->u.sa.sa_family == AF_INET) return (ntohl(a->u.in.sin_addr.s_addr) >> 24) == 127;
  return IN6_IS_ADDR_LOOPBACK(&a->u.in6.sin6_addr);
}

static bool is_wildcard(const quic_addr *a) {
  if (a->u.sa.sa_family == AF_INET) return a->u.in.sin_addr.s_addr == htonl(INADDR_ANY);
  return IN6_IS_ADDR_UNSPECIFIED(&a->u.in6.sin6_addr);
}

/* The same address, port aside. */
static bool same_host(const quic_addr *a, const quic_addr *b) {
  if (a->u.sa.sa_family != b->u.sa.sa_family) return false;
  if (a->u.sa.sa_family == AF_INET) return a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
  return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, sizeof(struct in6_addr)) == 0;
}

/* An IPv4 address on a dual-stack socket travels as IPv4. false: no
 * address family we route. */
static bool normalize(quic_addr *out, const quic_addr *in) {
  *out = *in;
  int family = in->u.sa.sa_family;
  if (family != AF_INET && family != AF_INET6) return false;
  if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in->u.in6.sin6_addr)) {
    memset(out, 0, sizeof *out);
    out->u.in.sin_family = AF_INET;
    out->u.in.sin_port = in->u.in6.sin6_port;
    memcpy(&out->u.in.sin_addr, &in->u.in6.sin6_addr.s6_addr[12], 4);
    out->len = sizeof out->u.in;
  }
  return true;
}

/* The kernel's route to peer: *local is set when it stays on this host,
 * and the payload its MTU carries is returned (0: no route, or it did not
 * say). connect() on a UDP socket only looks the route up; getsockname()
 * then shows the source address it chose, which for a destination on this
 * host is that address itself. */
static size_t lookup(const quic_addr *peer, bool *local) {
  int family = peer->u.sa.sa_family;
  quic_addr dst = *peer;
  /* connect() wants a port; nothing is sent to it. */
  in_port_t *port = family == AF_INET ? &dst.u.in.sin_port : &dst.u.in6.sin6_port;
  if (*port == 0) *port = htons(9);
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  size_t payload = 0;
  quic_addr source;
  source.len = sizeof source.u;
  int mtu = 0;
  socklen_t mtulen = sizeof mtu;
  if (connect(fd, &dst.u.sa, family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) == 0 &&
      getsockname(fd, &source.u.sa, &source.len) == 0 &&
      getsockopt(fd, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, family == AF_INET ? IP_MTU : IPV6_MTU, &mtu,
                 &mtulen) == 0) {
    size_t headers = family == AF_INET ? 20 + 8 : 40 + 8;
    if (mtu > 0 && (size_t)mtu > headers) payload = (size_t)mtu - headers;
    *local = is_loopback(peer) || same_host(&source, peer);
  }
  close(fd);
  return payload;
}

/* The loopback route's payload per family, looked up once per process (a
 * server accepts without a system call); threads racing to fill it store
 * the same value. */
static _Atomic size_t loopback_payload[2];

static size_t loopback(int family) {
  _Atomic size_t *slot = &loopback_payload[family == AF_INET6];
  size_t v = atomic_load_explicit(slot, memory_order_relaxed);
  if (v == 0) {
    quic_addr lo;
    memset(&lo, 0, sizeof lo);
    if (family == AF_INET) {
      lo.u.in.sin_family = AF_INET;
      lo.u.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      lo.len = sizeof lo.u.in;
    } else {
      lo.u.in6.sin6_family = AF_INET6;
      lo.u.in6.sin6_addr = in6addr_loopback;
      lo.len = sizeof lo.u.in6;
    }
    bool local = false;
    v = lookup(&lo, &local);
    if (v == 0) return 0; /* asked again next time */
    atomic_store_explicit(slot, v, memory_order_relaxed);
  }
  return v;
}

size_t quic_route_local_payload(const quic_addr *remote, const quic_addr *local) {
  quic_addr peer, self;
  if (!normalize(&peer, remote)) return 0;
  int family = peer.u.sa.sa_family;
  if (is_loopback(&peer)) return loopback(family);
  /* Our end a definite address: the peer is on this host if it sends from
   * that very address (the kernel's choice of source for a destination on
   * this host), without asking. A peer at another of this host's addresses
   * then gets the default, which is only slower. */
  if (local && normalize(&self, local) && !is_wildcard(&self)) return same_host(&peer, &self) ? loopback(family) : 0;
  bool on_host = false;
  size_t payload = lookup(&peer, &on_host);
  return on_host ? payload : 0;
}

/* A peer on this host, and its path's MTU, as the kernel's route lookup
 * tells them. TCP takes its segment size from the same route, which is why
 * it moves 64 KB segments over loopback; a QUIC stack that never asks stays
 * at Ethernet-sized packets there and pays per packet for it. */
#include "route.h"

#include <netinet/ip.h>
#include <string.h>
#include <unistd.h>

static bool is_loopback(const quic_addr *a) {
  if (a->u.sa.sa_family == AF_INET) return (ntohl(a->u.in.sin_addr.s_addr) >> 24) == 127;
  return IN6_IS_ADDR_LOOPBACK(&a->u.in6.sin6_addr);
}

/* The same address, port aside. */
static bool same_host(const quic_addr *a, const quic_addr *b) {
  if (a->u.sa.sa_family != b->u.sa.sa_family) return false;
  if (a->u.sa.sa_family == AF_INET) return a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
  return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, sizeof(struct in6_addr)) == 0;
}

size_t quic_route_local_payload(const quic_addr *remote) {
  quic_addr peer = *remote;
  int family = peer.u.sa.sa_family;
  if (family != AF_INET && family != AF_INET6) return 0;
  /* An IPv4 peer on a dual-stack socket travels as IPv4. */
  if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&peer.u.in6.sin6_addr)) {
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_port = remote->u.in6.sin6_port;
    memcpy(&in.sin_addr, &remote->u.in6.sin6_addr.s6_addr[12], 4);
    memset(&peer, 0, sizeof peer);
    peer.u.in = in;
    peer.len = sizeof in;
    family = AF_INET;
  }
  if (peer.u.in.sin_port == 0) peer.u.in.sin_port = htons(9); /* connect() wants a port; none is sent to */
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  size_t payload = 0;
  quic_addr source;
  source.len = sizeof source.u;
  int mtu = 0;
  socklen_t mtulen = sizeof mtu;
  /* connect() on a UDP socket only looks the route up; getsockname() then
   * shows the source address the kernel chose, which for a destination on
   * this host is that address itself. */
  if (connect(fd, &peer.u.sa, family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) == 0 &&
      getsockname(fd, &source.u.sa, &source.len) == 0 && (is_loopback(&peer) || same_host(&source, &peer)) &&
      getsockopt(fd, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, family == AF_INET ? IP_MTU : IPV6_MTU, &mtu,
                 &mtulen) == 0) {
    size_t headers = family == AF_INET ? 20 + 8 : 40 + 8;
    if (mtu > 0 && (size_t)mtu > headers) payload = (size_t)mtu - headers;
  }
  close(fd);
  return payload;
}

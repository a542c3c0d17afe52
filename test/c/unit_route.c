/* src/route.c: which peers the kernel routes through this host, and the
 * payload their route carries. No packet is sent: connect() on a UDP socket
 * only looks the route up. The expected sizes come from the loopback
 * device's MTU as /sys reports it (for IPv4 at most 65535, the largest
 * packet its length field counts), less IPv4's 28 or IPv6's 48 header
 * bytes. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

#include "../../src/route.h"
#include "check.h"

/* An address of either family, by whether it is written with colons. */
static quic_addr addr(const char *ip, unsigned port) {
  quic_addr a;
  memset(&a, 0, sizeof a);
  bool six = strchr(ip, ':') != NULL;
  a.u.sa.sa_family = six ? AF_INET6 : AF_INET;
  if (six) {
    a.u.in6.sin6_port = htons((unsigned short)port);
    inet_pton(AF_INET6, ip, &a.u.in6.sin6_addr);
    a.len = sizeof a.u.in6;
  } else {
    a.u.in.sin_port = htons((unsigned short)port);
    inet_pton(AF_INET, ip, &a.u.in.sin_addr);
    a.len = sizeof a.u.in;
  }
  return a;
}

static long lo_mtu(void) {
  FILE *f = fopen("/sys/class/net/lo/mtu", "r");
  long mtu = 0;
  if (f) {
    if (fscanf(f, "%ld", &mtu) != 1) mtu = 0;
    fclose(f);
  }
  return mtu;
}

int main(void) {
  long mtu = lo_mtu();
  CHECK(mtu > 1500);
  long mtu4 = mtu > 65535 ? 65535 : mtu;
  quic_addr a;

  /* Loopback, any address of 127/8, any port (0 too), and IPv4 written as
   * IPv6 on a dual-stack socket. */
  a = addr("127.0.0.1", 4433);
  CHECK_EQ(quic_route_local_payload(&a, NULL), mtu4 - 28);
  a = addr("127.0.0.2", 0);
  CHECK_EQ(quic_route_local_payload(&a, NULL), mtu4 - 28);
  a = addr("::ffff:127.0.0.1", 4433);
  CHECK_EQ(quic_route_local_payload(&a, NULL), mtu4 - 28);
  a = addr("::1", 4433);
  CHECK_EQ(quic_route_local_payload(&a, NULL), mtu - 48);

  /* Off this host: a documentation address (RFC 5737, 3849), whether the
   * machine has a route there or not; and no address at all. */
  a = addr("203.0.113.7", 443);
  CHECK_EQ(quic_route_local_payload(&a, NULL), 0);
  a = addr("2001:db8::7", 443);
  CHECK_EQ(quic_route_local_payload(&a, NULL), 0);
  memset(&a, 0, sizeof a);
  CHECK_EQ(quic_route_local_payload(&a, NULL), 0);

  /* This host's own addresses on its other interfaces are routed through
   * loopback as well (link-local ones need a scope, so they are left out). */
  struct ifaddrs *list = NULL;
  int own = 0;
  if (getifaddrs(&list) == 0) {
    for (struct ifaddrs *i = list; i; i = i->ifa_next) {
      if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP)) continue;
      if (i->ifa_addr->sa_family == AF_INET) {
        memset(&a, 0, sizeof a);
        memcpy(&a.u.in, i->ifa_addr, sizeof a.u.in);
        a.len = sizeof a.u.in;
        CHECK_EQ(quic_route_local_payload(&a, NULL), mtu4 - 28);
        own++;
      } else if (i->ifa_addr->sa_family == AF_INET6 &&
                 !IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr)) {
        memset(&a, 0, sizeof a);
        memcpy(&a.u.in6, i->ifa_addr, sizeof a.u.in6);
        a.len = sizeof a.u.in6;
        CHECK_EQ(quic_route_local_payload(&a, NULL), mtu - 48);
        own++;
      }
    }
    freeifaddrs(list);
  }
  printf("unit_route: %d of this host's non-loopback addresses checked\n", own);

  /* With our end of the path given. A definite address: the peer is on
   * this host when it is that address (a server's accept path, answered
   * without a system call), else not. A wildcard: the kernel is asked. */
  quic_addr self = addr("198.51.100.9", 4433), wild4 = addr("0.0.0.0", 4433), wild6 = addr("::", 4433);
  a = addr("198.51.100.9", 50000);
  CHECK_EQ(quic_route_local_payload(&a, &self), mtu4 - 28);
  a = addr("::ffff:198.51.100.9", 50000);
  CHECK_EQ(quic_route_local_payload(&a, &self), mtu4 - 28);
  a = addr("198.51.100.10", 50000);
  CHECK_EQ(quic_route_local_payload(&a, &self), 0);
  a = addr("127.0.0.1", 50000);
  CHECK_EQ(quic_route_local_payload(&a, &self), mtu4 - 28);
  CHECK_EQ(quic_route_local_payload(&a, &wild4), mtu4 - 28);
  CHECK_EQ(quic_route_local_payload(&a, &wild6), mtu4 - 28);
  a = addr("203.0.113.7", 443);
  CHECK_EQ(quic_route_local_payload(&a, &wild4), 0);
  a = addr("::1", 50000);
  CHECK_EQ(quic_route_local_payload(&a, &wild6), mtu - 48);
  quic_addr self6 = addr("2001:db8::9", 4433);
  a = addr("2001:db8::9", 50000);
  CHECK_EQ(quic_route_local_payload(&a, &self6), mtu - 48);
  return check_done("unit_route");
}

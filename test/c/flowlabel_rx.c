/* Test helper: prints the IPv6 flow label of each datagram that reaches
 * [::1]:port. Linux hands it over as IPV6_FLOWINFO ancillary data once the
 * socket option of that name is on, so no packet capture (root) is needed.
 * Prints "port N", then "label 0x..." per datagram; exits after `count`
 * datagrams or 5 s without one. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef IPV6_FLOWINFO
#define IPV6_FLOWINFO 11
#endif

int main(int argc, char **argv) {
  int count = argc > 1 ? atoi(argv[1]) : 3;
  int fd = socket(AF_INET6, SOCK_DGRAM, 0), one = 1;
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof(a));
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0 ||
      setsockopt(fd, IPPROTO_IPV6, IPV6_FLOWINFO, &one, sizeof(one)) != 0) {
    perror("socket");
    return 1;
  }
  printf("port %u\n", ntohs(a.sin6_port));
  fflush(stdout);
  for (int got = 0; got < count;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    uint8_t buf[2048];
    uint8_t ctl[256];
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof(ctl);
    if (recvmsg(fd, &mh, 0) < 0) break;
    uint32_t info = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_FLOWINFO) memcpy(&info, CMSG_DATA(c), sizeof(info));
    printf("label 0x%05x\n", ntohl(info) & 0xfffff);
    fflush(stdout);
    got++;
  }
  return 0;
}

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg, sendmmsg, in6_pktinfo */
#endif
#include "udp.h"

#include "mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
/* From linux/in6.h (glibc's netinet/in.h lacks it). */
#ifndef IPV6_FLOWINFO_SEND
#define IPV6_FLOWINFO_SEND 33
#endif

/* Socket buffers when the application names none. The receive buffer is
 * the bottleneck queue when a peer outruns the application: a datagram
 * flood in slow start overshoots a 4 MiB buffer (the kernel doubles it to 8)
 * and loses a few percent here, none at 6 MiB or more. 7 MiB is quic-go's
 * choice for the same reason. */
#define DEFAULT_RCVBUF (7u << 20)
#define DEFAULT_SNDBUF (4u << 20)

/* The kernel clamps SO_RCVBUF/SO_SNDBUF to rmem_max/wmem_max (212992 bytes
 * on a stock Debian kernel); a process with CAP_NET_ADMIN may go past it with
 * the FORCE variants, so those are tried first. */
static void set_bufsize(int fd, int opt, int force_opt, uint32_t want) {
  int v = (int)want;
  if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) != 0) (void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

/* GSO and GRO: asked of the kernel (turn_on_gro: set UDP_GRO; else read
 * whether the socket, made by another process, has it). */
static void detect_offloads(quic_udp *u, int fd, bool turn_on_gro) {
  int one = 1, seg = 0;
  socklen_t seglen = sizeof(seg);
  u->gso = getsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &seg, &seglen) == 0;
  /* Test switch: force the plain sendmmsg path a kernel without GSO takes. */
  const char *nogso = getenv("QUIC_DEBUG_DISABLE_GSO");
  if (nogso && *nogso && *nogso != '0') u->gso = false;
  /* GRO: a peer's GSO train (or packets the kernel coalesced) arrives as
   * one message: one wakeup, one copy and one set of control data for
   * dozens of packets. Test switch as for GSO. */
  const char *nogro = getenv("QUIC_DEBUG_DISABLE_GRO");
  if (nogro && *nogro && *nogro != '0') {
    u->gro = false;
    if (!turn_on_gro) {
      int zero = 0;
      (void)setsockopt(fd, IPPROTO_UDP, UDP_GRO, &zero, sizeof(zero));
    }
  } else if (turn_on_gro) {
    u->gro = setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
  } else {
    int v = 0;
    socklen_t vl = sizeof(v);
    u->gro = getsockopt(fd, IPPROTO_UDP, UDP_GRO, &v, &vl) == 0 && v != 0;
  }
}

int quic_udp_adopt(quic_udp *u, int fd, uint32_t flowlabel, int *sys_errno) {
  u->fd = -1;
  u->borrowed = false;
  u->local.len = sizeof(u->local.u.ss);
  if (getsockname(fd, &u->local.u.sa, &u->local.len) != 0) {
    *sys_errno = errno;
    return QUIC_ERR_SYS;
  }
  u->family = u->local.u.sa.sa_family;
  u->flowlabel = u->family == AF_INET6 ? flowlabel : 0;
  detect_offloads(u, fd, false);
  u->fd = fd;
  return QUIC_OK;
}

int quic_udp_open(quic_udp *u, const quic_addr *bind_addr, const quic_udp_options *o, int *sys_errno) {
  int one = 1;
  u->fd = -1;
  u->borrowed = false;
  u->flowlabel = 0;
  u->family = bind_addr->u.sa.sa_family;
  int fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) goto fail;
  if (u->family == AF_INET6) {
    int v6only = o->ipv6_only ? 1 : 0;
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one));
    if (o->ttl > 0) (void)setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &o->ttl, sizeof(o->ttl));
    /* The label travels in each destination's sin6_flowinfo (see dest()). */
    if (o->flowlabel && setsockopt(fd, IPPROTO_IPV6, IPV6_FLOWINFO_SEND, &one, sizeof(one)) != 0) goto fail;
    u->flowlabel = o->flowlabel;
  }
  /* Dual-stack sockets receive IPv4 too, so ask for v4 ancillary data as well. */
  (void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
  (void)setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
  if (u->family == AF_INET && o->ttl > 0) (void)setsockopt(fd, IPPROTO_IP, IP_TTL, &o->ttl, sizeof(o->ttl));
  /* QUIC does its own path MTU discovery; never let the kernel fragment. */
  int pmtu = IP_PMTUDISC_PROBE;
  (void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
  if (u->family == AF_INET6) (void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof(pmtu));
  set_bufsize(fd, SO_RCVBUF, SO_RCVBUFFORCE, o->receive_buffer_size ? o->receive_buffer_size : DEFAULT_RCVBUF);
  set_bufsize(fd, SO_SNDBUF, SO_SNDBUFFORCE, o->send_buffer_size ? o->send_buffer_size : DEFAULT_SNDBUF);
  if (o->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) goto fail;

  if (bind(fd, &bind_addr->u.sa, bind_addr->len) != 0) goto fail;
  u->local.len = sizeof(u->local.u.ss);
  if (getsockname(fd, &u->local.u.sa, &u->local.len) != 0) goto fail;

  detect_offloads(u, fd, true);
  u->fd = fd;
  return QUIC_OK;

fail:
  *sys_errno = errno;
  if (fd >= 0) close(fd);
  return QUIC_ERR_SYS;
}

void quic_udp_close(quic_udp *u) {
  if (u->fd >= 0 && !u->borrowed) close(u->fd);
  u->fd = -1;
}

static void read_cmsgs(struct msghdr *mh, quic_rx_pkt *p, uint16_t local_port) {
  p->ecn = 0;
  memset(&p->local, 0, sizeof(p->local));
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
      int seg = 0;
      if (c->cmsg_len >= CMSG_LEN(sizeof(int))) memcpy(&seg, CMSG_DATA(c), sizeof(seg));
      if (seg > 0 && (size_t)seg < p->len) p->segsize = (size_t)seg;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      p->local.u.in.sin_family = AF_INET;
      p->local.u.in.sin_addr = pi.ipi_addr;
      p->local.u.in.sin_port = local_port;
      p->local.len = sizeof(struct sockaddr_in);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      p->local.u.in6.sin6_family = AF_INET6;
      p->local.u.in6.sin6_addr = pi.ipi6_addr;
      p->local.u.in6.sin6_port = local_port;
      /* A link-local source needs its interface when we answer from it. */
      if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr)) p->local.u.in6.sin6_scope_id = (uint32_t)pi.ipi6_ifindex;
      p->local.len = sizeof(struct sockaddr_in6);
    } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) ||
               (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)) {
      if (c->cmsg_len >= CMSG_LEN(sizeof(int)) && c->cmsg_level == IPPROTO_IPV6) {
        int v;
        memcpy(&v, CMSG_DATA(c), sizeof(v));
        p->ecn = (uint8_t)(v & 0x3);
      } else {
        p->ecn = (uint8_t)(*(uint8_t *)CMSG_DATA(c) & 0x3);
      }
    }
  }
}

int quic_rx_batch_init(quic_rx_batch *b, const quic_udp *u) {
  quic_rx_batch_free(b);
  /* Every slot takes the largest datagram we allow a peer to send (the
   * max_udp_payload_size we advertise, 65527), or a GRO train of 64 KB. */
  b->slot_size = QUIC_UDP_SLOT;
  b->slots = u->gro ? QUIC_UDP_GRO_SLOTS : QUIC_UDP_BATCH;
  size_t size = b->slot_size * (size_t)b->slots;
  /* Straight from the kernel: untouched pages cost nothing, and malloc
   * would keep them (its mmap threshold rises after the first free) or,
   * under ASan, poison all of it for every endpoint. */
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return QUIC_ERR_NOMEM;
  b->buf = m;
  return QUIC_OK;
}

void quic_rx_batch_free(quic_rx_batch *b) {
  if (b->buf) munmap(b->buf, b->slot_size * (size_t)b->slots);
  b->buf = NULL;
  b->slots = 0;
}

int quic_udp_recv_batch(quic_udp *u, quic_rx_batch *b) {
  struct mmsghdr msgs[QUIC_UDP_BATCH];
  struct iovec iov[QUIC_UDP_BATCH];
  /* A dual-stack socket may get both families' PKTINFO and TOS/TCLASS for
   * one datagram: room for all four, or the local address is cut off; and
   * the GRO segment size. */
  uint8_t ctl[QUIC_UDP_BATCH][CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo)) +
                              3 * CMSG_SPACE(sizeof(int))];
  int slots = QUIC_MIN(b->slots, QUIC_UDP_BATCH);
  memset(msgs, 0, sizeof(msgs[0]) * (size_t)slots);
  for (int i = 0; i < slots; i++) {
    iov[i].iov_base = b->buf + (size_t)i * b->slot_size;
    iov[i].iov_len = b->slot_size;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &b->pkts[i].remote.u.ss;
    msgs[i].msg_hdr.msg_namelen = sizeof(b->pkts[i].remote.u.ss);
    msgs[i].msg_hdr.msg_control = ctl[i];
    msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
  }
  int n;
  do {
    n = recvmmsg(u->fd, msgs, (unsigned)slots, 0, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
  uint16_t port = u->family == AF_INET6 ? u->local.u.in6.sin6_port : u->local.u.in.sin_port;
  int out = 0;
  for (int i = 0; i < n; i++) {
    /* A truncated datagram cannot be a valid QUIC packet we accept. */
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
    quic_rx_pkt *p = &b->pkts[out];
    if (out != i) memcpy(&p->remote, &b->pkts[i].remote, sizeof(p->remote));
    p->remote.len = msgs[i].msg_hdr.msg_namelen;
    p->data = iov[i].iov_base;
    p->len = msgs[i].msg_len;
    p->segsize = p->len;
    read_cmsgs(&msgs[i].msg_hdr, p, port);
    if (msgs[i].msg_hdr.msg_flags & MSG_CTRUNC) p->local.len = 0;
    if (p->local.len == 0) p->local = u->local;
    out++;
  }
  return out;
}

/* The destination as given to the kernel: with a flow label, a copy that
 * carries it (IPv4 and v4-mapped destinations have none). */
static const struct sockaddr *dest(const quic_udp *u, const quic_addr *remote, struct sockaddr_in6 *tmp) {
  if (u->flowlabel == 0 || remote->u.sa.sa_family != AF_INET6 || IN6_IS_ADDR_V4MAPPED(&remote->u.in6.sin6_addr))
    return &remote->u.sa;
  *tmp = remote->u.in6;
  tmp->sin6_flowinfo = htonl(u->flowlabel);
  return (const struct sockaddr *)tmp;
}

/* Room for GSO, ECN and a source address. */
#define CTL_SPACE (CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)))

/* A socket bound to a wildcard address answers from the address the peer
 * used (a server's preferred address): only then is PKTINFO given. */
static bool wants_source(const quic_udp *u, const quic_addr *local) {
  if (local == NULL) return false;
  bool wildcard = u->family == AF_INET ? u->local.u.in.sin_addr.s_addr == htonl(INADDR_ANY)
                                       : IN6_IS_ADDR_UNSPECIFIED(&u->local.u.in6.sin6_addr);
  if (!wildcard) return false;
  /* A dual-stack socket answers IPv4 peers with IP_PKTINFO too. */
  if (local->u.sa.sa_family == AF_INET) return local->u.in.sin_addr.s_addr != htonl(INADDR_ANY);
  return local->u.sa.sa_family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&local->u.in6.sin6_addr);
}

/* Builds the control data: GSO segment size, the ECN codepoint and the
 * source address. */
static size_t build_cmsgs(quic_udp *u, const quic_addr *local, const quic_addr *remote, uint8_t *ctl, size_t ctllen,
                          size_t segsize, bool gso, uint8_t ecn) {
  struct msghdr mh;
  memset(&mh, 0, sizeof(mh));
  memset(ctl, 0, ctllen);
  mh.msg_control = ctl;
  mh.msg_controllen = ctllen;
  size_t used = 0;
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  if (gso) {
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t s = (uint16_t)segsize;
    memcpy(CMSG_DATA(c), &s, sizeof(s));
    used += CMSG_SPACE(sizeof(uint16_t));
    c = (struct cmsghdr *)(ctl + used);
  }
  if (ecn) {
    int tos = ecn;
    bool v6 = u->family == AF_INET6 && remote->u.sa.sa_family == AF_INET6 &&
              !IN6_IS_ADDR_V4MAPPED(&remote->u.in6.sin6_addr);
    c->cmsg_level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
    c->cmsg_type = v6 ? IPV6_TCLASS : IP_TOS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &tos, sizeof(tos));
    used += CMSG_SPACE(sizeof(int));
    c = (struct cmsghdr *)(ctl + used);
  }
  if (wants_source(u, local)) {
    if (local->u.sa.sa_family == AF_INET) {
      struct in_pktinfo pi;
      memset(&pi, 0, sizeof(pi));
      pi.ipi_spec_dst = local->u.in.sin_addr;
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(pi));
      memcpy(CMSG_DATA(c), &pi, sizeof(pi));
      used += CMSG_SPACE(sizeof(pi));
    } else {
      struct in6_pktinfo pi;
      memset(&pi, 0, sizeof(pi));
      pi.ipi6_addr = local->u.in6.sin6_addr;
      pi.ipi6_ifindex = local->u.in6.sin6_scope_id;
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(pi));
      memcpy(CMSG_DATA(c), &pi, sizeof(pi));
      used += CMSG_SPACE(sizeof(pi));
    }
  }
  return used;
}

static int send_one(quic_udp *u, const quic_addr *local, const quic_addr *remote, const uint8_t *data, size_t len,
                    size_t segsize, bool gso, uint8_t ecn) {
  uint8_t ctl[CTL_SPACE];
  struct iovec iov = {(void *)data, len};
  struct msghdr mh;
  memset(&mh, 0, sizeof(mh));
  struct sockaddr_in6 tmp;
  mh.msg_name = (void *)dest(u, remote, &tmp);
  mh.msg_namelen = remote->len;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  size_t cl = build_cmsgs(u, local, remote, ctl, sizeof(ctl), segsize, gso, ecn);
  mh.msg_control = cl ? ctl : NULL;
  mh.msg_controllen = cl;
  ssize_t n;
  do {
    n = sendmsg(u->fd, &mh, 0);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : 0;
}

int quic_udp_send(quic_udp *u, const quic_addr *local, const quic_addr *remote, const uint8_t *data,
                  size_t len, size_t segsize, uint8_t ecn) {
  if (segsize == 0 || segsize >= len) return send_one(u, local, remote, data, len, 0, false, ecn);
  if (u->gso) {
    int rv = send_one(u, local, remote, data, len, segsize, true, ecn);
    /* EIO means the device cannot segment (no checksum offload): fall back
     * for good, as curl and quiche do. */
    if (rv != -EIO) return rv;
    u->gso = false;
  }
  struct mmsghdr msgs[QUIC_UDP_BATCH];
  struct iovec iov[QUIC_UDP_BATCH];
  uint8_t ctl[QUIC_UDP_BATCH][CTL_SPACE];
  struct sockaddr_in6 tmp;
  size_t off = 0;
  bool sent_any = false;
  while (off < len) {
    unsigned n = 0;
    memset(msgs, 0, sizeof(msgs));
    for (; n < QUIC_UDP_BATCH && off < len; n++) {
      size_t l = QUIC_MIN(segsize, len - off);
      iov[n].iov_base = (void *)(data + off);
      iov[n].iov_len = l;
      msgs[n].msg_hdr.msg_name = (void *)dest(u, remote, &tmp);
      msgs[n].msg_hdr.msg_namelen = remote->len;
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      size_t cl = build_cmsgs(u, local, remote, ctl[n], sizeof(ctl[n]), 0, false, ecn);
      msgs[n].msg_hdr.msg_control = cl ? ctl[n] : NULL;
      msgs[n].msg_hdr.msg_controllen = cl;
      off += l;
    }
    unsigned done = 0;
    while (done < n) {
      int r = sendmmsg(u->fd, msgs + done, n - done, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        /* Part of a train already left: the rest counts as lost, and QUIC
         * loss recovery resends what mattered. */
        if (errno == EAGAIN && (done > 0 || sent_any)) return 0;
        return -errno;
      }
      done += (unsigned)r;
      sent_any = true;
    }
  }
  return 0;
}

int quic_addr_parse(quic_addr *addr, const char *host, uint16_t port) {
  memset(addr, 0, sizeof(*addr));
  if (inet_pton(AF_INET, host, &addr->u.in.sin_addr) == 1) {
    addr->u.in.sin_family = AF_INET;
    addr->u.in.sin_port = htons(port);
    addr->len = sizeof(struct sockaddr_in);
    return QUIC_OK;
  }
  if (inet_pton(AF_INET6, host, &addr->u.in6.sin6_addr) == 1) {
    addr->u.in6.sin6_family = AF_INET6;
    addr->u.in6.sin6_port = htons(port);
    addr->len = sizeof(struct sockaddr_in6);
    return QUIC_OK;
  }
  return QUIC_ERR_INVALID;
}

uint16_t quic_addr_format(const quic_addr *addr, char *buf, size_t buflen) {
  if (addr->u.sa.sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &addr->u.in6.sin6_addr, buf, (socklen_t)buflen);
    return ntohs(addr->u.in6.sin6_port);
  }
  inet_ntop(AF_INET, &addr->u.in.sin_addr, buf, (socklen_t)buflen);
  return ntohs(addr->u.in.sin_port);
}

size_t quic_addr_key(const quic_addr *addr, bool with_port, uint8_t out[19]) {
  size_t n = 1;
  out[0] = (uint8_t)addr->u.sa.sa_family;
  if (addr->u.sa.sa_family == AF_INET6) {
    memcpy(out + 1, &addr->u.in6.sin6_addr, 16);
    n += 16;
    if (with_port) memcpy(out + n, &addr->u.in6.sin6_port, 2), n += 2;
  } else {
    memcpy(out + 1, &addr->u.in.sin_addr, 4);
    n += 4;
    if (with_port) memcpy(out + n, &addr->u.in.sin_port, 2), n += 2;
  }
  return n;
}

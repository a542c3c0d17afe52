/* The UDP socket of an endpoint: bind, batched receive (recvmmsg), and send
 * with UDP GSO where the kernel has it. Plain C; no libuv handles here. */
#ifndef QUIC_UDP_H
#define QUIC_UDP_H

#include "common.h"

#include <netinet/in.h>
#include <sys/socket.h>

typedef struct quic_addr {
  union {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    struct sockaddr_storage ss;
  } u;
  socklen_t len;
} quic_addr;

typedef struct quic_udp_options {
  bool ipv6_only;
  uint32_t receive_buffer_size; /* 0: our default */
  uint32_t send_buffer_size;    /* 0: our default */
  int ttl;                      /* 0: system default */
  uint32_t flowlabel;           /* IPv6 flow label on sent packets (0: none) */
  bool reuse_port;              /* SO_REUSEPORT: join the port's group (reuseport.c) */
} quic_udp_options;

typedef struct quic_udp {
  int fd;                 /* owned unless borrowed; -1 when closed */
  bool borrowed;          /* fd belongs to a port group (reuseport.c), which closes it */
  int family;             /* AF_INET or AF_INET6 */
  uint32_t flowlabel;     /* IPv6 flow label set on each IPv6 destination (IPV6_FLOWINFO_SEND) */
  bool gso;               /* UDP_SEGMENT usable; cleared on the first EIO */
  bool gro;               /* UDP_GRO on: received trains arrive whole */
  quic_addr local;        /* the bound address, as getsockname tells it */
} quic_udp;

/* Receive buffers: slots of 64 KB, each one datagram of up to the 65527
 * bytes our max_udp_payload_size allows a peer (jumbo and loopback paths
 * reach it) or, with GRO, a train of same-sized datagrams from one peer as
 * one message of up to 64 KB. QUIC_UDP_BATCH slots without GRO (4 MB of
 * address space), QUIC_UDP_GRO_SLOTS with it (2 MB); pages become
 * resident only as datagrams arrive. */
#define QUIC_UDP_BATCH 64
#define QUIC_UDP_SLOT 65536
#define QUIC_UDP_GRO_SLOTS 32

typedef struct quic_rx_pkt {
  uint8_t *data; /* points into the batch's buffer */
  size_t len;
  size_t segsize; /* GRO: the size of each datagram in data (the last may be shorter); else len */
  quic_addr remote;
  quic_addr local;
  uint8_t ecn;
} quic_rx_pkt;

typedef struct quic_rx_batch {
  uint8_t *buf;     /* owned: slots * slot_size bytes, mmap'd at bind, munmap'd by quic_rx_batch_free */
  size_t slot_size; /* QUIC_UDP_SLOT */
  int slots;
  quic_rx_pkt pkts[QUIC_UDP_BATCH];
} quic_rx_batch;

/* Sizes and allocates the buffer for the socket (GRO or not). */
int quic_rx_batch_init(quic_rx_batch *b, const quic_udp *u);
void quic_rx_batch_free(quic_rx_batch *b);

/* Opens and binds a non-blocking socket. On failure returns QUIC_ERR_SYS with
 * *sys_errno set (EADDRINUSE, EACCES, ...). */
int quic_udp_open(quic_udp *u, const quic_addr *bind_addr, const quic_udp_options *o, int *sys_errno);
void quic_udp_close(quic_udp *u);
/* Takes over a bound socket another process opened (quic_udp_open's
 * options are set on the socket already); u owns fd afterwards. */
int quic_udp_adopt(quic_udp *u, int fd, uint32_t flowlabel, int *sys_errno);

/* Reads up to b->slots messages (datagrams, or GRO trains). Returns how many (0 when the socket
 * would block) or -errno. */
int quic_udp_recv_batch(quic_udp *u, quic_rx_batch *b);

/* Sends len bytes to remote, from local when the socket is bound to a
 * wildcard address (NULL: the kernel chooses). With segsize < len the buffer is a GSO train of
 * segsize-byte packets (the last may be shorter); without GSO support the
 * train is sent as separate datagrams. Returns 0, -EAGAIN when the socket is
 * full (nothing of the train was sent), or another -errno. */
int quic_udp_send(quic_udp *u, const quic_addr *local, const quic_addr *remote, const uint8_t *data,
                  size_t len, size_t segsize, uint8_t ecn);

/* Parses "127.0.0.1" / "::1" and a port into addr. */
int quic_addr_parse(quic_addr *addr, const char *host, uint16_t port);
/* Formats the host part into buf (INET6_ADDRSTRLEN) and returns the port. */
uint16_t quic_addr_format(const quic_addr *addr, char *buf, size_t buflen);
/* Key bytes for tables: family + address (+ port when with_port). */
size_t quic_addr_key(const quic_addr *addr, bool with_port, uint8_t out[19]);

#endif

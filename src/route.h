/* What the kernel's routing table says of a peer's address: whether the
 * path stays on this host, and how large a UDP payload that path carries. */
#ifndef QUIC_ROUTE_H
#define QUIC_ROUTE_H

#include "udp.h"

/* For a peer on this host (a loopback address, or one of this host's own
 * addresses: the kernel routes both through the loopback device), the
 * largest UDP payload one IP packet carries on that route: its MTU less the
 * IP and UDP headers. 0 for any other peer, or when the kernel does not
 * say. `local` (may be NULL) is our end of the path: when it is a definite
 * address the answer needs no system call (a server's accept path); when
 * it is a wildcard, a socket's connect() asks the kernel (no packet is
 * sent). The loopback route's MTU is asked once per process. */
size_t quic_route_local_payload(const quic_addr *remote, const quic_addr *local);

#endif

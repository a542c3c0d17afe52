/* One UDP port served by several endpoints, one per thread: a process-wide
 * registry of port groups. Each member has its own socket bound to the same
 * address with SO_REUSEPORT (the kernel's reuseport group) and a worker
 * index of 5 bits that it writes into the low bits of the first octet of
 * every connection ID it issues (quic_lb.h). A classic BPF program attached
 * to the group (SO_ATTACH_REUSEPORT_CBPF, no privilege needed) reads that
 * octet (offset 1 of a short header, 6 of a long one, relative to the UDP
 * payload) and returns the member's socket index, so that every packet of a
 * connection reaches the thread that owns it, and no packet crosses threads.
 *
 * The kernel numbers a group's sockets in the order they were bound, and
 * when one is closed the last takes its place. The registry therefore owns
 * every member's socket (the member's endpoint borrows the descriptor), binds
 * them under its lock so it knows the order, and when a member leaves keeps
 * its socket open as a placeholder that the program never selects; a
 * placeholder is closed only when it is the last socket of the group (which
 * renumbers nobody) and its endpoint has let go of the descriptor. The
 * program is rebuilt and attached again on every change.
 *
 * Routing, for a worker index w read from the destination ID:
 *   Initial and 0-RTT (long header types 0 and 1: the client's own ID until
 *   the server answers): the member with index w if it listens, else the
 *   listening member number w % (listening members): new connections go to
 *   listening copies only, spread evenly, and a retransmitted Initial goes
 *   where the first went.
 *   Every other packet: the member with index w if it is in the group, else
 *   as above (a departed worker's connections reach one that can answer with
 *   a stateless reset).
 *
 * When the kernel refuses the program (an old kernel, a seccomp filter;
 * QUIC_DEBUG_NO_REUSEPORT_CBPF=1 pretends it did, for tests) the kernel
 * spreads datagrams by a hash of the 4-tuple, and the members apply the
 * same routing in user space: a packet whose connection ID the receiving
 * member does not know and that the rules above give to another member is
 * copied into that member's inbox and its thread is woken (uv_async); the
 * group says so (quic_group_steering) and the endpoints count these packets
 * (misrouted_count). With the program in place this only happens while the
 * group changes. An inbox holds at most QUIC_GROUP_INBOX_BYTES; beyond that
 * packets are dropped (QUIC's loss recovery resends).
 *
 * Threading: a group is shared by the threads of its members. Everything in
 * it is guarded by its mutex, which is taken on join, listen, close, leave
 * and release, and per packet only for a connection ID the receiving
 * member does not know (a new connection, or a hand-off). The registry's
 * list of groups is guarded by one process-wide mutex; a group is found by
 * its id only under that lock, and lives while it has a reference (each
 * member holds one until it is freed). */
#ifndef QUIC_REUSEPORT_H
#define QUIC_REUSEPORT_H

#include "common.h"
#include "udp.h"

#define QUIC_GROUP_MAX_WORKERS 32
#define QUIC_GROUP_INBOX_BYTES (1u << 20)
#define QUIC_GROUP_NAME_MAX 64

/* A datagram handed to another member (copied; owned by the inbox, then by
 * whoever took it, who frees it with quic_free). */
typedef struct quic_handoff {
  struct quic_handoff *next;
  quic_addr remote, local;
  uint8_t ecn;
  size_t len;
  uint8_t data[];
} quic_handoff;

/* Where the rules send a packet with worker bits w: the new-connection
 * table (Initial, 0-RTT) or the one for every other packet. */
typedef enum { QUIC_ROUTE_NEW, QUIC_ROUTE_ALL } quic_route_kind;
typedef enum { QUIC_HANDOFF_MINE, QUIC_HANDOFF_SENT, QUIC_HANDOFF_DROPPED } quic_handoff_result;

typedef struct quic_group quic_group;

/* Creates a group for an address and socket options (port 0: the first
 * member's bind chooses it) and the configuration blob every member copies
 * (the endpoint's, opaque here; copied, zeroed when the group goes). Holds
 * one reference. */
int quic_group_new(quic_group **out, const quic_addr *bind, const quic_udp_options *udp, const void *cfg,
                   size_t cfg_len);
/* A reference by id (a share handle crossing to another thread); NULL when
 * no such group is alive. */
quic_group *quic_group_find(uint64_t id);
void quic_group_ref(quic_group *g);
void quic_group_unref(quic_group *g);
uint64_t quic_group_id(const quic_group *g);
/* The configuration blob given at creation (read-only, for members). */
const void *quic_group_config(const quic_group *g, size_t *len);

/* Opens and binds a member's socket (SO_REUSEPORT) into u (which borrows
 * the descriptor), picks the lowest free worker index, and attaches the new
 * program. *slot names the member in the calls below; the member must call
 * quic_group_leave and then quic_group_release. QUIC_ERR_LIMIT with 32
 * members; QUIC_ERR_SYS with *sys_errno. */
int quic_group_join(quic_group *g, quic_udp *u, uint8_t *worker, int *slot, int *sys_errno);
/* Whether the member takes new connections. */
void quic_group_set_listening(quic_group *g, int slot, bool listening);
/* The member leaves: no packet is steered to it any more. Its socket stays
 * open until quic_group_release (the endpoint's poll handle may still
 * watch the descriptor). */
void quic_group_leave(quic_group *g, int slot);
/* The member no longer uses its descriptor: the registry may close it. */
void quic_group_release(quic_group *g, int slot);

/* The member's inbox: async is signalled (uv_async_send) when a packet is
 * handed to it; NULL takes the inbox away (and frees what it held). */
void quic_group_set_inbox(quic_group *g, int slot, uv_async_t *async);
/* Routes a packet the member `slot` received but does not know by the
 * group's rules: MINE when they give it to that member, SENT when it was
 * copied into another member's inbox, DROPPED when that inbox is full or
 * the rules name no member with an inbox. */
quic_handoff_result quic_group_hand_off(quic_group *g, int slot, quic_route_kind kind, uint8_t w,
                                        const uint8_t *data, size_t len, const quic_addr *remote,
                                        const quic_addr *local, uint8_t ecn);
/* Takes everything in the member's inbox (a list, oldest first). */
quic_handoff *quic_group_take(quic_group *g, int slot);

/* Serves the group to other processes of the same user (see reuseport.c):
 * a thread and an abstract unix socket named after this process and the
 * group's id, until the group goes. Call under no lock, once or more. */
int quic_group_serve(quic_group *g);

/* A member in another process: its socket (owned by the caller), the
 * connection to the serving process (owned; closing it leaves the group;
 * 'L'/'l' tell it whether the member listens), its worker index and the
 * group's configuration. QUIC_ERR_NOT_FOUND when no such group is served. */
typedef struct quic_group_remote {
  int udp_fd, ipc_fd;
  uint8_t worker;
  bool steering;      /* the kernel took the group's steering program */
  size_t cfg_len;
  uint8_t cfg[2048];
} quic_group_remote;
int quic_group_connect(uint32_t pid, uint64_t id, quic_group_remote *out, int *sys_errno);

/* Independent processes on one port (Endpoint option reusePort): a member
 * of the group of the bound address and port (and the user), named `name`
 * (1..QUIC_GROUP_NAME_MAX bytes; a port serves one group: another name is
 * refused with EADDRINUSE), kept by a keeper process (reuseport.c) that this call starts when there
 * is none yet. The keeper binds every member's socket (with the member's
 * socket options, udp) in the kernel's order, chooses its worker index,
 * attaches the steering program on every change and keeps a departed
 * member's socket as a placeholder, so that a member that exits (or is
 * killed) renumbers no other; it exits once its last member has gone.
 * Fills out as quic_group_connect does (no configuration: each process has
 * its own). QUIC_ERR_LIMIT with 32 members; QUIC_ERR_SYS with *sys_errno
 * (the keeper's bind error, e.g. EADDRINUSE when a socket outside the group
 * holds the port). Blocks for at most about 2 s while another process
 * starts or ends a keeper. */
int quic_group_rendezvous(const quic_addr *bind_addr, const uint8_t *name, size_t name_len,
                          const quic_udp_options *udp, quic_group_remote *out, int *sys_errno);

/* True when the kernel took the steering program. */
bool quic_group_steering(quic_group *g);
/* The bound address (the port the first member got). */
void quic_group_address(quic_group *g, quic_addr *out);

#endif

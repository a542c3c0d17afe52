/* Port groups: see reuseport.h for the routing and the rules. */
#include "reuseport.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <pthread.h>
#include <string.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

typedef enum { MEMBER_ACTIVE, MEMBER_LEFT, MEMBER_RELEASED } member_state;

typedef struct member {
  int fd;            /* owned by the group; the member's endpoint borrows it until quic_group_release */
  uint8_t worker;    /* the worker index while MEMBER_ACTIVE */
  member_state state;
  bool listening;
  uv_async_t *inbox_async; /* borrowed from the member's endpoint; NULL: no inbox */
  quic_handoff *inbox, *inbox_tail; /* owned packets handed to this member */
  size_t inbox_bytes;
} member;

struct quic_group {
  /* Guarded by the registry lock: */
  quic_link link;     /* in the registry's list */
  int refs;
  uint64_t id;
  /* Guarded by mu: */
  pthread_mutex_t mu;
  quic_addr bind;     /* the port is the first member's once it bound */
  quic_udp_options udp;
  void *cfg;          /* owned copy of the members' configuration; zeroed before it is freed */
  size_t cfg_len;
  member members[2 * QUIC_GROUP_MAX_WORKERS]; /* in the kernel's socket order (active ones and placeholders) */
  int nmembers;
  bool steering;      /* the last attach succeeded */
  int route[2][QUIC_GROUP_MAX_WORKERS]; /* the program's tables as member slots, by quic_route_kind */
  bool attached_once;
  unsigned live;      /* bit w: worker index w is an active member */
  /* Other processes (quic_group_serve): set once by the serving thread's
   * starter, read by the group's last unref. */
  pthread_t server;
  bool serving;
  int listen_fd;      /* owned: the abstract unix socket other processes connect to */
  int stop_pipe[2];   /* owned: a byte in [1] stops the server thread */
  /* A keeper's group: its name, from the first member that joined. */
  uint8_t name[QUIC_GROUP_NAME_MAX];
  size_t name_len;
};

static void inbox_clear(member *m);

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static quic_link registry = {&registry, &registry};
static uint64_t next_id = 1; /* guarded by registry_mu */

int quic_group_new(quic_group **out, const quic_addr *bind, const quic_udp_options *udp, const void *cfg,
                   size_t cfg_len) {
  quic_group *g = quic_calloc(1, sizeof(*g));
  void *c = quic_malloc(cfg_len ? cfg_len : 1);
  if (g == NULL || c == NULL || pthread_mutex_init(&g->mu, NULL) != 0) {
    quic_free(g);
    quic_free(c);
    return QUIC_ERR_NOMEM;
  }
  memcpy(c, cfg, cfg_len);
  g->cfg = c;
  g->cfg_len = cfg_len;
  g->bind = *bind;
  g->udp = *udp;
  g->refs = 1;
  pthread_mutex_lock(&registry_mu);
  g->id = next_id++;
  quic_list_push(&registry, &g->link);
  pthread_mutex_unlock(&registry_mu);
  *out = g;
  return QUIC_OK;
}

quic_group *quic_group_find(uint64_t id) {
  quic_group *found = NULL;
  pthread_mutex_lock(&registry_mu);
  for (quic_link *l = registry.next; l != &registry; l = l->next) {
    quic_group *g = QUIC_CONTAINER(l, quic_group, link);
    if (g->id == id) {
      g->refs++;
      found = g;
      break;
    }
  }
  pthread_mutex_unlock(&registry_mu);
  return found;
}

void quic_group_ref(quic_group *g) {
  pthread_mutex_lock(&registry_mu);
  g->refs++;
  pthread_mutex_unlock(&registry_mu);
}

void quic_group_unref(quic_group *g) {
  pthread_mutex_lock(&registry_mu);
  bool last = --g->refs == 0;
  if (last) quic_list_remove(&g->link);
  pthread_mutex_unlock(&registry_mu);
  if (!last) return;
  if (g->serving) {
    /* The server thread touches the group under its mutex only; it is
     * told to stop and joined before anything goes. */
    (void)!write(g->stop_pipe[1], "x", 1);
    pthread_join(g->server, NULL);
    close(g->listen_fd);
    close(g->stop_pipe[0]);
    close(g->stop_pipe[1]);
  }
  /* Nobody else can reach it now. Members that never released (a thread
   * whose loop stopped) still had a reference, so every socket here is
   * ours to close. */
  for (int i = 0; i < g->nmembers; i++) {
    if (g->members[i].fd >= 0) close(g->members[i].fd);
    inbox_clear(&g->members[i]);
  }
  memset(g->cfg, 0, g->cfg_len);
  quic_free(g->cfg);
  pthread_mutex_destroy(&g->mu);
  quic_free(g);
}

uint64_t quic_group_id(const quic_group *g) { return g->id; }

const void *quic_group_config(const quic_group *g, size_t *len) {
  *len = g->cfg_len;
  return g->cfg;
}

/* ---- the steering program ---- */

#define INSN(c, t, f, kk) ((struct sock_filter){(uint16_t)(c), (uint8_t)(t), (uint8_t)(f), (uint32_t)(kk)})

/* Socket index for worker bits v when no active member has index v (or,
 * for new connections, none that listens): spread over the listening
 * members, or over the active ones when none listens. */
static uint32_t fallback(const int *listening, int nl, const int *active, int na, unsigned v) {
  if (nl > 0) return (uint32_t)listening[v % (unsigned)nl];
  if (na > 0) return (uint32_t)active[v % (unsigned)na];
  return 0;
}

/* Builds the program (see reuseport.h) and the same routing as member
 * slots (route, for the hand-off); returns the program's length. */
static size_t build_program(const quic_group *g, struct sock_filter *p, int route[2][QUIC_GROUP_MAX_WORKERS]) {
  int by_worker[QUIC_GROUP_MAX_WORKERS];
  bool listens[QUIC_GROUP_MAX_WORKERS];
  int listening[QUIC_GROUP_MAX_WORKERS], active[QUIC_GROUP_MAX_WORKERS];
  int nl = 0, na = 0;
  for (int w = 0; w < QUIC_GROUP_MAX_WORKERS; w++) by_worker[w] = -1, listens[w] = false;
  for (int i = 0; i < g->nmembers; i++) {
    const member *m = &g->members[i];
    if (m->state != MEMBER_ACTIVE) continue;
    by_worker[m->worker] = i;
    listens[m->worker] = m->listening;
    active[na++] = i;
    if (m->listening) listening[nl++] = i;
  }
  size_t n = 0;
  /* Offsets are from the start of the UDP payload. */
  p[n++] = INSN(BPF_LD | BPF_B | BPF_ABS, 0, 0, 0);       /* 0: A = first octet */
  p[n++] = INSN(BPF_JMP | BPF_JSET | BPF_K, 0, 7, 0x80);  /* 1: long header? 2 : 9 */
  p[n++] = INSN(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0x30);   /* 2: the long packet type */
  p[n++] = INSN(BPF_JMP | BPF_JGT | BPF_K, 3, 0, 0x10);   /* 3: Handshake or Retry? 7 : 4 */
  p[n++] = INSN(BPF_LD | BPF_B | BPF_ABS, 0, 0, 6);       /* 4: Initial, 0-RTT: the DCID's first octet */
  p[n++] = INSN(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0x1f);   /* 5 */
  p[n++] = INSN(BPF_JMP | BPF_JA, 0, 0, 0);               /* 6: to the new-connection table (patched) */
  p[n++] = INSN(BPF_LD | BPF_B | BPF_ABS, 0, 0, 6);       /* 7: other long header */
  p[n++] = INSN(BPF_JMP | BPF_JA, 0, 0, 1);               /* 8: to 10 */
  p[n++] = INSN(BPF_LD | BPF_B | BPF_ABS, 0, 0, 1);       /* 9: short header: the DCID's first octet */
  p[n++] = INSN(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0x1f);   /* 10 */
  /* Every packet of a known connection: the member with that index. */
  for (unsigned v = 0; v < QUIC_GROUP_MAX_WORKERS; v++) {
    uint32_t idx = by_worker[v] >= 0 ? (uint32_t)by_worker[v] : fallback(listening, nl, active, na, v);
    route[QUIC_ROUTE_ALL][v] = (int)idx;
    p[n++] = INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, v);
    p[n++] = INSN(BPF_RET | BPF_K, 0, 0, idx);
  }
  p[n++] = INSN(BPF_RET | BPF_K, 0, 0, 0);
  /* New connections: listening members only. */
  p[6].k = (uint32_t)(n - 7);
  for (unsigned v = 0; v < QUIC_GROUP_MAX_WORKERS; v++) {
    uint32_t idx = by_worker[v] >= 0 && listens[v] ? (uint32_t)by_worker[v] : fallback(listening, nl, active, na, v);
    route[QUIC_ROUTE_NEW][v] = (int)idx;
    p[n++] = INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, v);
    p[n++] = INSN(BPF_RET | BPF_K, 0, 0, idx);
  }
  p[n++] = INSN(BPF_RET | BPF_K, 0, 0, 0);
  /* With no active member the tables name slot 0, which may be a
   * placeholder: user space checks the state before handing off. */
  return n;
}

/* Attaches the current program through any open socket of the group (the
 * program belongs to the group, not to the socket). Called with mu held. */
static void attach(quic_group *g) {
  int fd = -1;
  for (int i = 0; i < g->nmembers && fd < 0; i++) fd = g->members[i].fd;
  if (fd < 0) {
    for (int v = 0; v < QUIC_GROUP_MAX_WORKERS; v++) g->route[0][v] = g->route[1][v] = -1;
    return;
  }
  struct sock_filter prog[16 + 4 * QUIC_GROUP_MAX_WORKERS];
  struct sock_fprog fp = {(unsigned short)build_program(g, prog, g->route), prog};
  /* Once refused, stay without: a group is steered or it is not (the
   * routing tables above still serve the hand-off). */
  if (g->attached_once && !g->steering) return;
  /* Test switch: behave as a kernel that refuses the program. */
  const char *off = getenv("QUIC_DEBUG_NO_REUSEPORT_CBPF");
  bool refuse = off && *off && *off != '0';
  g->steering = !refuse && setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fp, sizeof(fp)) == 0;
  g->attached_once = true;
}

static void update_live(quic_group *g) {
  unsigned live = 0;
  for (int i = 0; i < g->nmembers; i++)
    if (g->members[i].state == MEMBER_ACTIVE) live |= 1u << g->members[i].worker;
  g->live = live;
}

/* Members are only appended and only the released ones at the end are
 * removed, so a member's slot stays its own until it releases it. */
static member *slot_member(quic_group *g, int slot, member_state state) {
  if (slot < 0 || slot >= g->nmembers || g->members[slot].state != state) return NULL;
  return &g->members[slot];
}

/* Closes placeholders at the end of the kernel's order: removing the last
 * socket renumbers nobody. */
static void trim(quic_group *g) {
  while (g->nmembers > 0 && g->members[g->nmembers - 1].state == MEMBER_RELEASED) {
    member *m = &g->members[--g->nmembers];
    if (m->fd >= 0) close(m->fd);
    m->fd = -1;
  }
}

/* o: the member's own socket options (a process that joined by name), or
 * NULL for the group's. */
static int join_with(quic_group *g, quic_udp *u, const quic_udp_options *opts, uint8_t *worker, int *slot,
                     int *sys_errno) {
  pthread_mutex_lock(&g->mu);
  unsigned live = g->live;
  int rv = QUIC_ERR_LIMIT;
  if (live == UINT32_MAX || g->nmembers == (int)QUIC_ARRAY_LEN(g->members)) goto out;
  uint8_t w = 0;
  while (live & (1u << w)) w++;
  quic_udp_options o = opts ? *opts : g->udp;
  o.reuse_port = true;
  rv = quic_udp_open(u, &g->bind, &o, sys_errno);
  if (rv != QUIC_OK) goto out;
  u->borrowed = true;
  /* The first member chose the port; the others bind the same. */
  if (u->local.u.sa.sa_family == AF_INET6) g->bind.u.in6.sin6_port = u->local.u.in6.sin6_port;
  else g->bind.u.in.sin_port = u->local.u.in.sin_port;
  member *m = &g->members[g->nmembers++];
  m->fd = u->fd;
  m->worker = w;
  m->state = MEMBER_ACTIVE;
  m->listening = false;
  m->inbox = m->inbox_tail = NULL;
  m->inbox_bytes = 0;
  m->inbox_async = NULL;
  update_live(g);
  attach(g);
  *worker = w;
  *slot = g->nmembers - 1;
out:
  pthread_mutex_unlock(&g->mu);
  return rv;
}

int quic_group_join(quic_group *g, quic_udp *u, uint8_t *worker, int *slot, int *sys_errno) {
  return join_with(g, u, NULL, worker, slot, sys_errno);
}

void quic_group_set_listening(quic_group *g, int slot, bool listening) {
  pthread_mutex_lock(&g->mu);
  member *m = slot_member(g, slot, MEMBER_ACTIVE);
  if (m && m->listening != listening) {
    m->listening = listening;
    attach(g);
  }
  pthread_mutex_unlock(&g->mu);
}

static void inbox_clear(member *m) {
  while (m->inbox) {
    quic_handoff *h = m->inbox;
    m->inbox = h->next;
    quic_free(h);
  }
  m->inbox_tail = NULL;
  m->inbox_bytes = 0;
  m->inbox_async = NULL;
}

void quic_group_set_inbox(quic_group *g, int slot, uv_async_t *async) {
  pthread_mutex_lock(&g->mu);
  if (slot >= 0 && slot < g->nmembers) {
    member *m = &g->members[slot];
    if (async == NULL) inbox_clear(m);
    m->inbox_async = async;
  }
  pthread_mutex_unlock(&g->mu);
}

quic_handoff_result quic_group_hand_off(quic_group *g, int slot, quic_route_kind kind, uint8_t w,
                                        const uint8_t *data, size_t len, const quic_addr *remote,
                                        const quic_addr *local, uint8_t ecn) {
  quic_handoff_result r = QUIC_HANDOFF_DROPPED;
  pthread_mutex_lock(&g->mu);
  int to = g->route[kind][w & 0x1f];
  if (to == slot) {
    r = QUIC_HANDOFF_MINE;
  } else if (to >= 0 && to < g->nmembers) {
    member *m = &g->members[to];
    /* A member in another process has no inbox: a new connection meant
     * for it is taken here if this member listens. */
    if (m->state == MEMBER_ACTIVE && m->inbox_async == NULL && kind == QUIC_ROUTE_NEW && slot >= 0 &&
        slot < g->nmembers && g->members[slot].listening)
      r = QUIC_HANDOFF_MINE;
    else if (m->state == MEMBER_ACTIVE && m->inbox_async && m->inbox_bytes + len <= QUIC_GROUP_INBOX_BYTES) {
      quic_handoff *h = quic_malloc(sizeof(*h) + len);
      if (h) {
        h->next = NULL;
        h->remote = *remote;
        h->local = *local;
        h->ecn = ecn;
        h->len = len;
        memcpy(h->data, data, len);
        if (m->inbox_tail) m->inbox_tail->next = h;
        else m->inbox = h;
        m->inbox_tail = h;
        m->inbox_bytes += len;
        uv_async_send(m->inbox_async);
        r = QUIC_HANDOFF_SENT;
      }
    }
  }
  pthread_mutex_unlock(&g->mu);
  return r;
}

quic_handoff *quic_group_take(quic_group *g, int slot) {
  quic_handoff *list = NULL;
  pthread_mutex_lock(&g->mu);
  if (slot >= 0 && slot < g->nmembers) {
    member *m = &g->members[slot];
    list = m->inbox;
    m->inbox = m->inbox_tail = NULL;
    m->inbox_bytes = 0;
  }
  pthread_mutex_unlock(&g->mu);
  return list;
}

void quic_group_leave(quic_group *g, int slot) {
  pthread_mutex_lock(&g->mu);
  member *m = slot_member(g, slot, MEMBER_ACTIVE);
  if (m) {
    m->state = MEMBER_LEFT;
    m->listening = false;
    inbox_clear(m);
    update_live(g);
    attach(g);
  }
  pthread_mutex_unlock(&g->mu);
}

void quic_group_release(quic_group *g, int slot) {
  pthread_mutex_lock(&g->mu);
  member *m = slot_member(g, slot, MEMBER_LEFT);
  if (m == NULL && (m = slot_member(g, slot, MEMBER_ACTIVE)) != NULL) {
    m->state = MEMBER_LEFT; /* released without leaving first */
    update_live(g);
    attach(g);
  }
  if (m) {
    m->state = MEMBER_RELEASED;
    inbox_clear(m);
    trim(g);
  }
  pthread_mutex_unlock(&g->mu);
}

bool quic_group_steering(quic_group *g) {
  pthread_mutex_lock(&g->mu);
  bool s = g->steering;
  pthread_mutex_unlock(&g->mu);
  return s;
}


void quic_group_address(quic_group *g, quic_addr *out) {
  pthread_mutex_lock(&g->mu);
  *out = g->bind;
  pthread_mutex_unlock(&g->mu);
}

/* ---- other processes ----
 * A group is served to other processes on an abstract unix socket,
 * reachable only by processes of the same user (SO_PEERCRED):
 *  - by the process that shared it (quic_group_serve, a thread of its own):
 *    "\0quic-<pid>-<group id>", for Endpoint.from() of a share() value;
 *  - by a keeper process (quic_group_rendezvous), for endpoints of
 *    independent processes that name the same address, port and group:
 *    "\0quic-rp1-<uid>-<hash of the address and port>".
 * A member in another process sends 'J' (a keeper's members send their
 * socket options after it); the server binds a socket into the group for
 * it (so the group, on the serving side, owns it and knows its place in the
 * kernel's order) and sends back a copy of the descriptor (SCM_RIGHTS), the
 * worker index, whether the kernel took the steering program, and the
 * configuration (the sharing process's; a keeper has none). 'L' / 'l': the
 * member listens / stops. The connection closing (the member's endpoint
 * closed, or its process died): the member leaves, and its socket stays as
 * a placeholder as in-process members' do, so no other member's socket is
 * renumbered. Across processes there is no hand-off: a member drops a
 * packet that is not its own and never answers it with a reset. */

typedef struct remote_reply {
  int32_t rv, sys_errno;
  uint32_t worker, cfg_len, steering;
} remote_reply;

#define MAX_REMOTE 64
/* A keeper with no member left waits this long for a late one, then goes;
 * one that never had a member (its starter died first) waits longer. */
#define KEEPER_GRACE_MS 200
#define KEEPER_FIRST_MS 10000

static void addr_name(struct sockaddr_un *a, socklen_t *len, uint32_t pid, uint64_t id) {
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "quic-%u-%llu", pid, (unsigned long long)id);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len) {
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

/* The keeper's name: the user, and a hash of the bound address and port
 * (one kernel group per address and port, so one keeper; the version in the
 * prefix keeps builds with another wire format apart). */
static void rp_name(struct sockaddr_un *a, socklen_t *len, const quic_addr *bind) {
  uint64_t h = 0xcbf29ce484222325ULL;
  uint16_t fam = bind->u.sa.sa_family;
  h = fnv1a(h, &fam, sizeof(fam));
  if (fam == AF_INET6) {
    h = fnv1a(h, &bind->u.in6.sin6_addr, sizeof(bind->u.in6.sin6_addr));
    h = fnv1a(h, &bind->u.in6.sin6_port, sizeof(bind->u.in6.sin6_port));
  } else {
    h = fnv1a(h, &bind->u.in.sin_addr, sizeof(bind->u.in.sin_addr));
    h = fnv1a(h, &bind->u.in.sin_port, sizeof(bind->u.in.sin_port));
  }
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "quic-rp1-%u-%016llx", (unsigned)geteuid(),
                   (unsigned long long)h);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static void serve_join(quic_group *g, int cfd, int *slot, const quic_udp_options *opts) {
  remote_reply r = {0, 0, 0, 0, 0};
  quic_udp u;
  uint8_t w = 0;
  int err = 0;
  r.rv = *slot >= 0 ? QUIC_ERR_STATE : join_with(g, &u, opts, &w, slot, &err);
  r.sys_errno = err;
  r.worker = w;
  r.cfg_len = (uint32_t)g->cfg_len;
  r.steering = quic_group_steering(g);
  struct iovec iov[2] = {{&r, sizeof(r)}, {g->cfg, g->cfg_len}};
  union {
    struct cmsghdr h;
    uint8_t buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct msghdr mh;
  memset(&mh, 0, sizeof(mh));
  memset(&ctl, 0, sizeof(ctl));
  mh.msg_iov = iov;
  mh.msg_iovlen = r.rv == QUIC_OK && g->cfg_len > 0 ? 2 : 1;
  if (r.rv == QUIC_OK) {
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &u.fd, sizeof(int));
  }
  (void)sendmsg(cfd, &mh, MSG_NOSIGNAL);
}

static void refuse_join(int cfd, int rv, int sys_errno) {
  remote_reply r = {rv, sys_errno, 0, 0, 0};
  (void)send(cfd, &r, sizeof(r), MSG_NOSIGNAL);
}

static int start_serving(quic_group *g);

/* The serving loop, on the sharing process's thread or in a keeper (which
 * has no stop pipe, and ends once its last member has gone). */
static void serve_loop(quic_group *g, bool keeper) {
  int conn[MAX_REMOTE], slot[MAX_REMOTE], n = 0;
  bool had_member = false;
  for (;;) {
    struct pollfd p[2 + MAX_REMOTE];
    p[0] = (struct pollfd){g->stop_pipe[0], POLLIN, 0}; /* -1 in a keeper: poll skips it */
    p[1] = (struct pollfd){g->listen_fd, POLLIN, 0};
    for (int i = 0; i < n; i++) p[2 + i] = (struct pollfd){conn[i], POLLIN, 0};
    int timeout = keeper && n == 0 ? (had_member ? KEEPER_GRACE_MS : KEEPER_FIRST_MS) : -1;
    int ready = poll(p, (nfds_t)(2 + n), timeout);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (ready == 0) break; /* a keeper nobody needs */
    if (p[0].revents) break;
    /* Only the connections this poll watched have revents (a new one is
     * read on the next round). */
    int polled = n;
    if (p[1].revents & POLLIN) {
      int c = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      struct ucred cred;
      socklen_t cl = sizeof(cred);
      if (c >= 0 && (n == MAX_REMOTE || getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 ||
                     cred.uid != geteuid())) {
        close(c);
      } else if (c >= 0) {
        conn[n] = c;
        slot[n++] = -1;
        had_member = true;
      }
    }
    for (int i = 2 + polled - 1; i >= 2; i--) {
      int k = i - 2;
      if (!p[i].revents) continue;
      uint8_t msg[1 + sizeof(quic_udp_options) + QUIC_GROUP_NAME_MAX];
      ssize_t got = (p[i].revents & POLLIN) ? recv(conn[k], msg, sizeof(msg), 0) : 0;
      const size_t head = 1 + sizeof(quic_udp_options);
      if (got >= 1 && msg[0] == 'J' && keeper) {
        /* 'J', the member's socket options and the group's name: a port
         * serves one group, named by its first member. */
        quic_udp_options o;
        size_t nl = (size_t)got > head ? (size_t)got - head : 0;
        if ((size_t)got > head && g->name_len == 0) {
          memcpy(g->name, msg + head, nl);
          g->name_len = nl;
        }
        if ((size_t)got <= head || nl != g->name_len || memcmp(g->name, msg + head, nl) != 0) {
          refuse_join(conn[k], QUIC_ERR_SYS, EADDRINUSE);
        } else {
          memcpy(&o, msg + 1, sizeof(o));
          serve_join(g, conn[k], &slot[k], &o);
        }
      } else if (got >= 1 && msg[0] == 'J') {
        serve_join(g, conn[k], &slot[k], NULL);
      } else if (got == 1 && (msg[0] == 'L' || msg[0] == 'l')) {
        if (slot[k] >= 0) quic_group_set_listening(g, slot[k], msg[0] == 'L');
      } else if (got < 0 && errno == EINTR) {
        continue;
      } else {
        /* Closed (or nonsense): the member is gone. */
        if (slot[k] >= 0) quic_group_release(g, slot[k]);
        close(conn[k]);
        conn[k] = conn[n - 1];
        slot[k] = slot[n - 1];
        n--;
      }
    }
  }
  for (int i = 0; i < n; i++) {
    if (slot[i] >= 0) quic_group_release(g, slot[i]);
    close(conn[i]);
  }
}

static void *serve(void *arg) {
  serve_loop(arg, false);
  return NULL;
}

int quic_group_serve(quic_group *g) {
  pthread_mutex_lock(&g->mu);
  int rv = g->serving ? QUIC_OK : start_serving(g);
  pthread_mutex_unlock(&g->mu);
  return rv;
}

/* With mu held (the server thread takes mu only once it runs). */
static int start_serving(quic_group *g) {
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return QUIC_ERR_SYS;
  struct sockaddr_un a;
  socklen_t len;
  addr_name(&a, &len, (uint32_t)getpid(), g->id);
  if (bind(fd, (struct sockaddr *)&a, len) != 0 || listen(fd, 16) != 0 || pipe2(g->stop_pipe, O_CLOEXEC) != 0) {
    close(fd);
    return QUIC_ERR_SYS;
  }
  g->listen_fd = fd;
  if (pthread_create(&g->server, NULL, serve, g) != 0) {
    close(fd);
    close(g->stop_pipe[0]);
    close(g->stop_pipe[1]);
    return QUIC_ERR_SYS;
  }
  g->serving = true;
  return QUIC_OK;
}

/* Asks the server at a for a socket of its group. QUIC_ERR_NOT_FOUND when
 * nobody serves there (or the keeper is going away: try again). */
static int join_at(const struct sockaddr_un *a, socklen_t len, const quic_udp_options *opts, const uint8_t *name,
                   size_t name_len, quic_group_remote *out, int *sys_errno) {
  memset(out, 0, sizeof(*out));
  out->udp_fd = out->ipc_fd = -1;
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) goto sys;
  struct timeval tv = {5, 0};
  (void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(s, (const struct sockaddr *)a, len) != 0) {
    int e = errno;
    close(s);
    *sys_errno = e;
    return e == ECONNREFUSED || e == ENOENT ? QUIC_ERR_NOT_FOUND : QUIC_ERR_SYS;
  }
  uint8_t req[1 + sizeof(quic_udp_options) + QUIC_GROUP_NAME_MAX] = {'J'};
  size_t req_len = 1;
  if (opts) {
    memcpy(req + 1, opts, sizeof(*opts));
    memcpy(req + 1 + sizeof(*opts), name, name_len);
    req_len = 1 + sizeof(*opts) + name_len;
  }
  if (send(s, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len) {
    if (errno == EPIPE || errno == ECONNRESET) goto gone;
    goto sys_close;
  }
  remote_reply r;
  struct iovec iov[2] = {{&r, sizeof(r)}, {out->cfg, sizeof(out->cfg)}};
  union {
    struct cmsghdr h;
    uint8_t buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct msghdr mh;
  memset(&mh, 0, sizeof(mh));
  mh.msg_iov = iov;
  mh.msg_iovlen = 2;
  mh.msg_control = ctl.buf;
  mh.msg_controllen = sizeof(ctl.buf);
  ssize_t got = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
  if (got == 0 || (got < 0 && errno == ECONNRESET)) goto gone; /* a keeper that was ending */
  if (got < (ssize_t)sizeof(r)) goto sys_close;
  int fd = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
      memcpy(&fd, CMSG_DATA(c), sizeof(int));
  if (r.rv != QUIC_OK || fd < 0 || r.cfg_len > sizeof(out->cfg) || (size_t)got != sizeof(r) + r.cfg_len ||
      r.worker >= QUIC_GROUP_MAX_WORKERS) {
    if (fd >= 0) close(fd);
    close(s);
    *sys_errno = r.sys_errno;
    return r.rv != QUIC_OK ? r.rv : QUIC_ERR_INVALID;
  }
  out->udp_fd = fd;
  out->ipc_fd = s;
  out->worker = (uint8_t)r.worker;
  out->steering = r.steering != 0;
  out->cfg_len = r.cfg_len;
  return QUIC_OK;
gone:
  close(s);
  return QUIC_ERR_NOT_FOUND;
sys_close:
  *sys_errno = errno ? errno : EPROTO;
  close(s);
  return QUIC_ERR_SYS;
sys:
  *sys_errno = errno;
  return QUIC_ERR_SYS;
}

int quic_group_connect(uint32_t pid, uint64_t id, quic_group_remote *out, int *sys_errno) {
  struct sockaddr_un a;
  socklen_t len;
  addr_name(&a, &len, pid, id);
  return join_at(&a, len, NULL, NULL, 0, out, sys_errno);
}

/* ---- the keeper ----
 * A process of its own (forked twice from the first member, so that no
 * Node.js process is its parent and it outlives whichever member exits)
 * that holds the group: every member's socket, in the kernel's order, and
 * the steering program. It is the only one that binds or closes the
 * group's sockets, so the kernel never renumbers a socket behind its back:
 * a member that exits, cleanly or killed, only closes its copy of its
 * socket and its connection here; its socket stays a placeholder until it
 * is last. It runs single-threaded after the fork and touches nothing of
 * the forking process but its own new group (not the registry, whose lock
 * another thread may have held at the fork), and ends when its last member
 * has gone. */
static void close_fds_but(int keep) {
  if (keep > 3 && close_range(3, (unsigned)keep - 1, 0) != 0)
    for (int fd = 3; fd < keep; fd++) close(fd);
  if (close_range((unsigned)keep + 1, ~0U, 0) != 0) {
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = keep + 1; fd < (max > 0 && max < 65536 ? max : 65536); fd++) close((int)fd);
  }
}

static _Noreturn void keeper_main(int lfd, const quic_addr *bind_addr, const quic_udp_options *udp) {
  (void)setsid();
  (void)prctl(PR_SET_NAME, "quic-keeper", 0, 0, 0); /* what ps and top show */
  sigset_t none;
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
  /* Node.js's handlers would run here otherwise (on descriptors closed
   * below). */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
  /* Nothing of the Node.js process stays open here (its pipes would keep
   * a parent waiting for their end). */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    for (int fd = 0; fd < 3; fd++)
      if (fd != lfd) (void)dup2(devnull, fd);
    if (devnull > 2 && devnull != lfd) close(devnull);
  }
  close_fds_but(lfd);
  quic_group *g = quic_calloc(1, sizeof(*g));
  if (g == NULL || pthread_mutex_init(&g->mu, NULL) != 0) _exit(1);
  g->bind = *bind_addr;
  g->udp = *udp;
  g->refs = 1;
  g->listen_fd = lfd;
  g->stop_pipe[0] = g->stop_pipe[1] = -1;
  serve_loop(g, true);
  _exit(0); /* the kernel closes every socket */
}

/* QUIC_ERR_AGAIN: another process holds the name (it is starting a keeper,
 * or its keeper is ending). */
static int start_keeper(const struct sockaddr_un *a, socklen_t len, const quic_addr *bind_addr,
                        const quic_udp_options *udp, int *sys_errno) {
  int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (lfd < 0) goto sys;
  if (bind(lfd, (const struct sockaddr *)a, len) != 0) {
    int e = errno;
    close(lfd);
    if (e == EADDRINUSE) return QUIC_ERR_AGAIN;
    errno = e;
    goto sys;
  }
  if (listen(lfd, MAX_REMOTE) != 0) {
    int e = errno;
    close(lfd);
    errno = e;
    goto sys;
  }
  pid_t pid = fork();
  if (pid == 0) {
    pid_t keeper = fork();
    if (keeper == 0) keeper_main(lfd, bind_addr, udp);
    _exit(keeper < 0 ? 1 : 0);
  }
  int e = errno;
  close(lfd); /* the keeper has its copy */
  if (pid < 0) {
    errno = e;
    goto sys;
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    errno = EAGAIN; /* the second fork failed */
    goto sys;
  }
  return QUIC_OK;
sys:
  *sys_errno = errno;
  return QUIC_ERR_SYS;
}

int quic_group_rendezvous(const quic_addr *bind_addr, const uint8_t *name, size_t name_len,
                          const quic_udp_options *udp, quic_group_remote *out, int *sys_errno) {
  struct sockaddr_un a;
  socklen_t len;
  if (name_len == 0 || name_len > QUIC_GROUP_NAME_MAX) return QUIC_ERR_INVALID;
  rp_name(&a, &len, bind_addr);
  quic_udp_options o = *udp;
  o.reuse_port = true;
  /* Someone else may be starting a keeper or ending one: a few tries, 5 ms
   * apart (2 s at most). */
  for (int attempt = 0; attempt < 400; attempt++) {
    int rv = join_at(&a, len, &o, name, name_len, out, sys_errno);
    if (rv != QUIC_ERR_NOT_FOUND) return rv;
    rv = start_keeper(&a, len, bind_addr, &o, sys_errno);
    if (rv == QUIC_OK) continue;
    if (rv != QUIC_ERR_AGAIN) return rv;
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  *sys_errno = ETIMEDOUT;
  return QUIC_ERR_SYS;
}

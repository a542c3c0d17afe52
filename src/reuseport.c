/* Port groups: see reuseport.h for the routing and the rules. */
#include "reuseport.h"

#include <errno.h>
#include <linux/filter.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
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
  /* Test switch: behave as a kernel that refuses the program. */
  const char *off = getenv("QUIC_DEBUG_NO_REUSEPORT_CBPF");
  bool refuse = off && *off && *off != '0';
  bool ok = !refuse && setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fp, sizeof(fp)) == 0;
  /* Once refused, stay without: a group is steered or it is not. */
  g->steering = ok && (!g->attached_once || g->steering);
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

int quic_group_join(quic_group *g, quic_udp *u, uint8_t *worker, int *slot, int *sys_errno) {
  pthread_mutex_lock(&g->mu);
  unsigned live = g->live;
  int rv = QUIC_ERR_LIMIT;
  if (live == UINT32_MAX || g->nmembers == (int)QUIC_ARRAY_LEN(g->members)) goto out;
  uint8_t w = 0;
  while (live & (1u << w)) w++;
  quic_udp_options o = g->udp;
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
    if (m->state == MEMBER_ACTIVE && m->inbox_async && m->inbox_bytes + len <= QUIC_GROUP_INBOX_BYTES) {
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

/*
 * relay: a UDP relay for loopback benchmarks that drops, duplicates,
 * reorders and corrupts datagrams, each decided per datagram from a seeded
 * pseudo-random stream, so two implementations run through it with the same
 * seed meet the same fates datagram by datagram.
 *
 *   relay --listen 127.0.0.1:0 --server 127.0.0.1:4433 [--seed N]
 *         [--drop P] [--dup P] [--reorder P] [--corrupt P]
 *         [--c2s-drop P] ... [--s2c-corrupt P]
 *         [--reorder-k K] [--reorder-ms MS]
 *         [--idle-ms MS] [--max-ms MS] [--stop-on-eof] [--no-gso]
 *
 * Clients send to the listen address; each client address gets its own
 * socket towards the server (so the server sees one peer per client). "c2s"
 * is client to server, "s2c" server to client. --drop and the like set both
 * directions; --c2s-X and --s2c-X set one.
 *
 * Per datagram, in this order, with four draws from the direction's own
 * stream whatever the outcome (so datagram n always gets the same draws):
 *   drop      with probability drop: forgotten;
 *   corrupt   with probability corrupt: one byte at a random offset XORed
 *             with a random non-zero value;
 *   duplicate with probability dup: sent twice, back to back;
 *   reorder   with probability reorder: held back until the next K
 *             datagrams of the same direction have been sent ahead of it, or
 *             until MS milliseconds have passed, whichever comes first.
 *
 * Trains: the relay reads with UDP_GRO, so a sender's GSO train arrives as
 * one buffer, and it is split into its datagrams before their fates are
 * drawn; what goes out leaves with UDP_SEGMENT, each run of equal-sized
 * datagrams (the last may be shorter) to one destination as one train, as
 * a sender's stack would pass them on. --no-gso reads and sends datagram
 * by datagram. Either way the fates are the same, per datagram.
 *
 * It prints "LISTEN <port>" once bound, and on exit one line
 * "RELAY {json}" with what it did per direction. It stops after --idle-ms
 * without a datagram (default 30000), after --max-ms in all (default
 * 600000), on SIGTERM or SIGINT, when its parent dies, and with
 * --stop-on-eof when its standard input reaches end of file.
 *
 * Only loopback addresses (127.0.0.0/8, ::1) are accepted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum {
  BATCH = 64,            /* reads per recvmmsg (a datagram, or a GRO train, each) */
  SLOT = 65536,          /* bytes per receive slot: any UDP datagram fits */
  MAX_CLIENTS = 64,      /* distinct client addresses */
  HOLD_MAX = 1024,       /* datagrams held back at once, per direction */
  OUT_MAX = BATCH * 2 + HOLD_MAX + 16,
  SOCK_BUF = 8 << 20,    /* asked for; the kernel may cap it */
  GSO_SEGS = 64,         /* datagrams per train sent */
  GSO_BYTES = 65000,     /* bytes per train sent (a UDP payload's limit is 65507) */
};

enum { C2S = 0, S2C = 1 };
static const char *const DIR_NAME[2] = {"c2s", "s2c"};

struct probs {
  double drop, dup, reorder, corrupt;
};

struct stats {
  uint64_t in, out, bytes_in, bytes_out;
  uint64_t dropped, duplicated, reordered, corrupted;
  uint64_t hold_full;    /* chosen for reordering while the hold queue was full: sent in order */
  uint64_t send_errors;  /* datagrams the kernel refused to send */
  uint64_t unsent;       /* copies still held back when the relay stopped */
  uint64_t kernel_drops; /* dropped by the kernel before the relay read them (SO_RXQ_OVFL) */
  uint64_t trains_in;    /* reads that carried more than one datagram (GRO) */
  uint64_t trains_out;   /* sends that carried more than one datagram (GSO) */
};

struct held {
  unsigned char *data;
  size_t len;
  int copies;
  int client;
  uint64_t release_after; /* sent count of the direction at which it goes */
  int64_t deadline_ns;
};

struct direction {
  struct probs p;
  uint64_t rng;
  uint64_t sent; /* datagrams (not copies) sent in order so far */
  struct held hold[HOLD_MAX];
  size_t head, count;
  struct stats st;
};

struct client {
  struct sockaddr_storage addr;
  socklen_t addrlen;
  int fd; /* connected to the server */
  uint32_t ovfl;
};

struct out {
  int fd;
  const struct sockaddr_storage *to; /* NULL on a connected socket */
  socklen_t tolen;
  const unsigned char *data;
  size_t len;
  unsigned char *owned; /* freed after the send */
  int dir;
};

static struct direction dirs[2];
static struct client clients[MAX_CLIENTS];
static int nclients;
static uint64_t refused;
static int listen_fd = -1;
static uint32_t listen_ovfl;
static struct sockaddr_storage server_addr;
static socklen_t server_len;
static unsigned reorder_k = 3;
static int64_t reorder_ns = 1000000;
static struct out outq[OUT_MAX];
static size_t nout;
static unsigned char slots[BATCH][SLOT];
static volatile sig_atomic_t signalled;
static bool use_gso = true;

/* splitmix64: small, fast, and good enough to decide fates. */
static uint64_t next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double unit(uint64_t x) { return (double)(x >> 11) * 0x1.0p-53; }

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "relay: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void usage(const char *msg) {
  fprintf(stderr,
          "relay: %s\n"
          "usage: relay --listen ADDR:PORT --server ADDR:PORT [--seed N]\n"
          "             [--drop P] [--dup P] [--reorder P] [--corrupt P]\n"
          "             [--c2s-drop P] [--s2c-drop P] (and -dup, -reorder, -corrupt)\n"
          "             [--reorder-k K] [--reorder-ms MS] [--idle-ms MS] [--max-ms MS] [--stop-on-eof]\n"
          "             [--no-gso]\n"
          "ADDR is a loopback address: 127.x.y.z or [::1]\n",
          msg);
  exit(2);
}

/* "127.0.0.1:4433" or "[::1]:4433"; loopback only. */
static void parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len) {
  char host[64];
  const char *colon;
  memset(ss, 0, sizeof(*ss));
  if (s[0] == '[') {
    const char *end = strchr(s, ']');
    if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host)) usage("bad address");
    memcpy(host, s + 1, (size_t)(end - s - 1));
    host[end - s - 1] = '\0';
    colon = end + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host)) usage("bad address");
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
  }
  char *endp;
  errno = 0;
  unsigned long port = strtoul(colon + 1, &endp, 10);
  if (errno || *endp || port > 65535) usage("bad port");
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127) usage("not a loopback address");
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof(*a4);
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr)) usage("not a loopback address");
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof(*a6);
  } else {
    usage("bad address");
  }
}

static double parse_prob(const char *s) {
  char *end;
  errno = 0;
  double p = strtod(s, &end);
  if (errno || *end || !(p >= 0.0 && p <= 1.0)) usage("a probability must be in [0, 1]");
  return p;
}

static uint64_t parse_u64(const char *s) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end || s[0] == '-') usage("bad number");
  return (uint64_t)v;
}

static int open_socket(int family) {
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int size = SOCK_BUF;
  /* SO_*BUFFORCE passes rmem_max/wmem_max when privileged; otherwise capped. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
  if (use_gso && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) != 0) use_gso = false;
  /* A send never waits long: a stuck peer costs a counted error, not a hang. */
  struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return false;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
  return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/* The client for a source address, made on first sight; -1 past MAX_CLIENTS. */
static int client_for(const struct sockaddr_storage *from, socklen_t fromlen) {
  for (int i = 0; i < nclients; i++)
    if (same_addr(&clients[i].addr, from)) return i;
  if (nclients == MAX_CLIENTS) return -1;
  struct client *c = &clients[nclients];
  c->fd = open_socket(server_addr.ss_family);
  if (connect(c->fd, (const struct sockaddr *)&server_addr, server_len) != 0) die("connect");
  memcpy(&c->addr, from, fromlen);
  c->addrlen = fromlen;
  c->ovfl = 0;
  return nclients++;
}

/* Sends one datagram alone: the fallback when a train is refused. */
static void send_one(const struct out *o) {
  for (int tries = 0; tries < 3; tries++) {
    ssize_t r = sendto(o->fd, o->data, o->len, 0, (const struct sockaddr *)o->to, o->to ? o->tolen : 0);
    if (r >= 0) {
      dirs[o->dir].st.out++;
      dirs[o->dir].st.bytes_out += o->len;
      return;
    }
    if (errno != EINTR) break;
  }
  dirs[o->dir].st.send_errors++;
}

static void flush_out(void) {
  static struct mmsghdr mm[OUT_MAX];
  static struct iovec iov[OUT_MAX];
  static _Alignas(struct cmsghdr) char ctrl[OUT_MAX][CMSG_SPACE(sizeof(uint16_t))];
  static size_t first[OUT_MAX], count[OUT_MAX];
  size_t i = 0;
  while (i < nout) {
    /* One sendmmsg per run of datagrams to the same socket and address. */
    size_t j = i;
    while (j < nout && outq[j].fd == outq[i].fd && outq[j].to == outq[i].to) j++;
    /* Each message a train: datagrams of one size, the last maybe shorter. */
    size_t nmsg = 0;
    for (size_t k = i; k < j;) {
      size_t seg = outq[k].len, m = 1, total = seg;
      if (use_gso && seg > 0) {
        while (k + m < j && m < GSO_SEGS && outq[k + m].len <= seg && outq[k + m].len > 0 &&
               total + outq[k + m].len <= GSO_BYTES) {
          total += outq[k + m].len;
          m++;
          if (outq[k + m - 1].len < seg) break;
        }
      }
      for (size_t x = 0; x < m; x++) {
        iov[k + x].iov_base = (void *)outq[k + x].data;
        iov[k + x].iov_len = outq[k + x].len;
      }
      struct msghdr *h = &mm[nmsg].msg_hdr;
      memset(&mm[nmsg], 0, sizeof(mm[nmsg]));
      h->msg_iov = &iov[k];
      h->msg_iovlen = m;
      h->msg_name = (void *)outq[k].to;
      h->msg_namelen = outq[k].to ? outq[k].tolen : 0;
      if (m > 1) {
        h->msg_control = ctrl[nmsg];
        h->msg_controllen = sizeof(ctrl[nmsg]);
        struct cmsghdr *c = CMSG_FIRSTHDR(h);
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t size = (uint16_t)seg;
        memcpy(CMSG_DATA(c), &size, sizeof(size));
      }
      first[nmsg] = k;
      count[nmsg] = m;
      nmsg++;
      k += m;
    }
    size_t done = 0;
    /* At most nmsg rounds: each sends at least one message or settles one. */
    while (done < nmsg) {
      int r = sendmmsg(outq[i].fd, mm + done, (unsigned)(nmsg - done), 0);
      if (r > 0) {
        for (size_t x = done; x < done + (size_t)r; x++) {
          for (size_t k = first[x]; k < first[x] + count[x]; k++) {
            dirs[outq[k].dir].st.out++;
            dirs[outq[k].dir].st.bytes_out += outq[k].len;
          }
          if (count[x] > 1) dirs[outq[first[x]].dir].st.trains_out++;
        }
        done += (size_t)r;
      } else if (r < 0 && errno == EINTR) {
        continue;
      } else {
        /* The first one was refused (a peer gone, a timeout, or no GSO
           here): its datagrams go one by one, each counted. */
        if (count[done] > 1 && (errno == EIO || errno == EINVAL)) use_gso = false;
        for (size_t k = first[done]; k < first[done] + count[done]; k++) send_one(&outq[k]);
        done++;
      }
    }
    i = j;
  }
  for (size_t k = 0; k < nout; k++) free(outq[k].owned);
  nout = 0;
}

static void emit(int dir, int client, const unsigned char *data, size_t len, unsigned char *owned, int copies) {
  if (nout + 2 > OUT_MAX) flush_out();
  for (int c = 0; c < copies; c++) {
    struct out *o = &outq[nout++];
    if (dir == C2S) {
      o->fd = clients[client].fd;
      o->to = NULL;
      o->tolen = 0;
    } else {
      o->fd = listen_fd;
      o->to = &clients[client].addr;
      o->tolen = clients[client].addrlen;
    }
    o->data = data;
    o->len = len;
    o->owned = c == copies - 1 ? owned : NULL; /* freed once, after the last copy */
    o->dir = dir;
  }
}

/* Sends held datagrams whose turn has come (k datagrams passed, or time). */
static void release_held(int dir, int64_t now) {
  struct direction *d = &dirs[dir];
  while (d->count > 0) {
    struct held *h = &d->hold[d->head];
    if (h->release_after > d->sent && h->deadline_ns > now) break;
    emit(dir, h->client, h->data, h->len, h->data, h->copies);
    d->head = (d->head + 1) % HOLD_MAX;
    d->count--;
  }
}

static void relay_one(int dir, int client, unsigned char *buf, size_t len, int64_t now) {
  struct direction *d = &dirs[dir];
  struct stats *st = &d->st;
  st->in++;
  st->bytes_in += len;
  uint64_t r_drop = next_u64(&d->rng), r_corrupt = next_u64(&d->rng);
  uint64_t r_dup = next_u64(&d->rng), r_reorder = next_u64(&d->rng);
  if (unit(r_drop) < d->p.drop) {
    st->dropped++;
    return;
  }
  if (unit(r_corrupt) < d->p.corrupt && len > 0) {
    /* Offset from the low 32 bits, value (1..255) from the high ones. */
    size_t at = (size_t)((r_corrupt & 0xffffffffu) % len);
    buf[at] ^= (unsigned char)(1 + (r_corrupt >> 32) % 255);
    st->corrupted++;
  }
  int copies = 1;
  if (unit(r_dup) < d->p.dup) {
    copies = 2;
    st->duplicated++;
  }
  if (unit(r_reorder) < d->p.reorder) {
    if (d->count < HOLD_MAX) {
      unsigned char *copy = malloc(len ? len : 1);
      if (!copy) die("malloc");
      memcpy(copy, buf, len);
      struct held *h = &d->hold[(d->head + d->count) % HOLD_MAX];
      *h = (struct held){.data = copy, .len = len, .copies = copies, .client = client,
                         .release_after = d->sent + reorder_k, .deadline_ns = now + reorder_ns};
      d->count++;
      st->reordered++;
      return;
    }
    st->hold_full++;
  }
  emit(dir, client, buf, len, NULL, copies);
  d->sent++;
  release_held(dir, now);
}

/* From a read's control data: the kernel's count of datagrams dropped on
   this socket's full queue, and the size of each datagram in a GRO train
   (0: one datagram). */
static size_t read_cmsgs(struct msghdr *h, uint32_t *last) {
  size_t seg = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
      uint32_t v;
      memcpy(&v, CMSG_DATA(c), sizeof(v));
      if (v > *last) *last = v;
    } else if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof(v));
      if (v > 0) seg = (size_t)v;
    }
  }
  return seg;
}

/* One recvmmsg on fd; returns how many reads it brought (0: nothing). */
static int pump(int fd, int dir, int client) {
  struct mmsghdr mm[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_storage from[BATCH];
  /* CMSG_SPACE rounds to the header's alignment, so each row stays aligned. */
  _Alignas(struct cmsghdr) char ctrl[BATCH][CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int))];
  memset(mm, 0, sizeof(mm));
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = slots[i];
    iov[i].iov_len = SLOT;
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
    mm[i].msg_hdr.msg_name = &from[i];
    mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
    mm[i].msg_hdr.msg_control = ctrl[i];
    mm[i].msg_hdr.msg_controllen = sizeof(ctrl[i]);
  }
  int n = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL);
  if (n <= 0) return 0; /* EAGAIN, or ECONNREFUSED from a server that went away */
  int64_t now = now_ns();
  for (int i = 0; i < n; i++) {
    int c = client;
    size_t seg;
    if (dir == C2S) {
      seg = read_cmsgs(&mm[i].msg_hdr, &listen_ovfl);
      c = client_for(&from[i], mm[i].msg_hdr.msg_namelen);
      if (c < 0) {
        refused++;
        continue;
      }
    } else {
      seg = read_cmsgs(&mm[i].msg_hdr, &clients[client].ovfl);
    }
    /* A GRO train: datagrams of seg bytes, the last maybe shorter. */
    size_t len = mm[i].msg_len;
    if (seg == 0 || seg >= len) seg = len;
    else dirs[dir].st.trains_in++;
    for (size_t off = 0; off < len || off == 0; off += seg) {
      relay_one(dir, c, slots[i] + off, len - off < seg ? len - off : seg, now);
      if (seg == 0) break; /* an empty datagram */
    }
  }
  flush_out(); /* the slots are reused by the next recvmmsg */
  return n;
}

static void on_signal(int sig) { signalled = sig; }

static void print_stats(const struct stats *s, const char *name, bool last) {
  printf("\"%s\":{\"in\":%" PRIu64 ",\"out\":%" PRIu64 ",\"bytesIn\":%" PRIu64 ",\"bytesOut\":%" PRIu64
         ",\"dropped\":%" PRIu64 ",\"duplicated\":%" PRIu64 ",\"reordered\":%" PRIu64 ",\"corrupted\":%" PRIu64
         ",\"holdFull\":%" PRIu64 ",\"sendErrors\":%" PRIu64 ",\"unsent\":%" PRIu64 ",\"kernelDrops\":%" PRIu64
         ",\"trainsIn\":%" PRIu64 ",\"trainsOut\":%" PRIu64 "}%s",
         name, s->in, s->out, s->bytes_in, s->bytes_out, s->dropped, s->duplicated, s->reordered, s->corrupted,
         s->hold_full, s->send_errors, s->unsent, s->kernel_drops, s->trains_in, s->trains_out, last ? "" : ",");
}

int main(int argc, char **argv) {
  const char *listen_arg = NULL, *server_arg = NULL;
  uint64_t seed = 1;
  int64_t idle_ms = 30000, max_ms = 600000;
  bool stop_on_eof = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--stop-on-eof") == 0) {
      stop_on_eof = true;
      continue;
    }
    if (strcmp(a, "--no-gso") == 0) {
      use_gso = false;
      continue;
    }
    if (i + 1 >= argc) usage("an option needs a value");
    const char *v = argv[++i];
    if (strcmp(a, "--listen") == 0) listen_arg = v;
    else if (strcmp(a, "--server") == 0) server_arg = v;
    else if (strcmp(a, "--seed") == 0) seed = parse_u64(v);
    else if (strcmp(a, "--reorder-k") == 0) reorder_k = (unsigned)parse_u64(v);
    else if (strcmp(a, "--reorder-ms") == 0) reorder_ns = (int64_t)parse_u64(v) * 1000000;
    else if (strcmp(a, "--idle-ms") == 0) idle_ms = (int64_t)parse_u64(v);
    else if (strcmp(a, "--max-ms") == 0) max_ms = (int64_t)parse_u64(v);
    else {
      /* --drop, --c2s-drop, --s2c-drop and the same for dup, reorder, corrupt. */
      const char *name = a + 2;
      int from = C2S, to = S2C;
      if (strncmp(a, "--c2s-", 6) == 0) name = a + 6, to = C2S;
      else if (strncmp(a, "--s2c-", 6) == 0) name = a + 6, from = S2C;
      else if (strncmp(a, "--", 2) != 0) usage("unknown argument");
      if (strcmp(name, "drop") != 0 && strcmp(name, "dup") != 0 && strcmp(name, "reorder") != 0 &&
          strcmp(name, "corrupt") != 0)
        usage("unknown option");
      double p = parse_prob(v);
      for (int d = from; d <= to; d++) {
        if (strcmp(name, "drop") == 0) dirs[d].p.drop = p;
        else if (strcmp(name, "dup") == 0) dirs[d].p.dup = p;
        else if (strcmp(name, "reorder") == 0) dirs[d].p.reorder = p;
        else dirs[d].p.corrupt = p;
      }
    }
  }
  if (!listen_arg || !server_arg) usage("--listen and --server are required");
  if (idle_ms <= 0 || max_ms <= 0 || max_ms > 24LL * 3600 * 1000) usage("bad --idle-ms or --max-ms");
  if (reorder_k > 1000000) usage("--reorder-k too large");

  /* One stream per direction, both derived from the seed. */
  uint64_t s = seed;
  dirs[C2S].rng = next_u64(&s);
  dirs[S2C].rng = next_u64(&s);

  struct sockaddr_storage listen_addr;
  socklen_t listen_len;
  parse_addr(listen_arg, &listen_addr, &listen_len);
  parse_addr(server_arg, &server_addr, &server_len);

  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  if (getppid() != parent) return 2; /* the parent died before PDEATHSIG was set */

  listen_fd = open_socket(listen_addr.ss_family);
  if (bind(listen_fd, (const struct sockaddr *)&listen_addr, listen_len) != 0) die("bind");
  struct sockaddr_storage bound;
  socklen_t blen = sizeof(bound);
  if (getsockname(listen_fd, (struct sockaddr *)&bound, &blen) != 0) die("getsockname");
  unsigned port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                    : ((struct sockaddr_in6 *)&bound)->sin6_port);
  printf("LISTEN %u\n", port);
  fflush(stdout);

  const int64_t start = now_ns();
  const int64_t end = start + max_ms * 1000000;
  int64_t last_rx = start;
  const char *reason = "max-time";
  for (;;) {
    int64_t now = now_ns();
    if (signalled) {
      reason = "signal";
      break;
    }
    if (now >= end) break;
    if (now - last_rx >= idle_ms * 1000000) {
      reason = "idle";
      break;
    }
    release_held(C2S, now);
    release_held(S2C, now);
    flush_out();

    struct pollfd pfd[2 + MAX_CLIENTS];
    int n = 0;
    pfd[n++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
    pfd[n++] = (struct pollfd){.fd = stop_on_eof ? STDIN_FILENO : -1, .events = POLLIN};
    for (int i = 0; i < nclients; i++) pfd[n++] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
    int64_t wake = end < last_rx + idle_ms * 1000000 ? end : last_rx + idle_ms * 1000000;
    for (int d = 0; d < 2; d++)
      if (dirs[d].count && dirs[d].hold[dirs[d].head].deadline_ns < wake) wake = dirs[d].hold[dirs[d].head].deadline_ns;
    int64_t wait_ns = wake - now;
    int timeout = wait_ns <= 0 ? 0 : (int)((wait_ns + 999999) / 1000000);
    int r = poll(pfd, (nfds_t)n, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (r == 0) continue;
    if (pfd[1].revents) {
      char b[256];
      ssize_t got = read(STDIN_FILENO, b, sizeof(b));
      if (got <= 0) {
        reason = "eof";
        break;
      }
    }
    int moved = 0;
    if (pfd[0].revents) moved += pump(listen_fd, C2S, -1);
    /* clients[] may have grown in pump(); only the polled ones are looked at. */
    for (int i = 2; i < n; i++)
      if (pfd[i].revents) moved += pump(pfd[i].fd, S2C, i - 2);
    if (moved) last_rx = now_ns();
  }

  /* What is still held back is not sent: the peers are done. */
  for (int d = 0; d < 2; d++) {
    struct direction *dd = &dirs[d];
    for (; dd->count; dd->count--, dd->head = (dd->head + 1) % HOLD_MAX) {
      dd->st.unsent += (uint64_t)dd->hold[dd->head].copies;
      free(dd->hold[dd->head].data);
    }
  }
  dirs[C2S].st.kernel_drops = listen_ovfl;
  for (int i = 0; i < nclients; i++) dirs[S2C].st.kernel_drops += clients[i].ovfl;

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
  double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  printf("RELAY {\"reason\":\"%s\",\"seed\":%" PRIu64 ",\"seconds\":%.3f,\"cpuSeconds\":%.3f,\"cpuUser\":%.3f,"
         "\"cpuSystem\":%.3f,\"clients\":%d,\"refused\":%" PRIu64 ",",
         signalled ? "signal" : reason, seed, (double)(now_ns() - start) / 1e9, user + sys, user, sys, nclients, refused);
  for (int d = 0; d < 2; d++) print_stats(&dirs[d].st, DIR_NAME[d], d == 1);
  printf("}\n");
  fflush(stdout);
  for (int i = 0; i < nclients; i++) close(clients[i].fd);
  close(listen_fd);
  return 0;
}

/* libFuzzer target: arbitrary datagrams into a listening server endpoint's
 * receive path (routing by connection ID, Initial acceptance and its
 * limits, Retry and token checks, version negotiation, stateless resets,
 * then ngtcp2_conn_read_pkt for whatever reaches a session).
 *
 * Input: one flags byte (bit 0 validateAddress, bit 1 HTTP/3 ALPN, bit 2
 * no stateless resets), then records of [ctl][len:2 big endian][bytes]:
 * ctl bits 0-1 pick one of four remote hosts, bit 2 lets timers run after
 * the datagram, bits 4-5 are its ECN bits. A fresh endpoint per input; all
 * state must be gone after it is destroyed (harness.c checks). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static int sink_fd = -1;
static quic_addr remotes[4];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  /* Replies to the first remote land here (and are thrown away); the
   * others go to loopback addresses nothing listens on. */
  sink_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  quic_addr a;
  quic_addr_parse(&a, "127.0.0.1", 0);
  if (sink_fd < 0 || bind(sink_fd, &a.u.sa, a.len) != 0) abort();
  a.len = sizeof(a.u.ss);
  getsockname(sink_fd, &a.u.sa, &a.len);
  uint16_t port = ntohs(a.u.in.sin_port);
  const char *hosts[4] = {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"};
  for (int i = 0; i < 4; i++) quic_addr_parse(&remotes[i], hosts[i], port);
  return 0;
}

static void drain_sink(void) {
  static uint8_t buf[2048];
  while (recv(sink_fd, buf, sizeof(buf), 0) > 0) {}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t flags = data[0];
  quic_endpoint_config ec;
  fuzz_endpoint_config(&ec);
  ec.validate_address = flags & 1;
  ec.disable_stateless_reset = (flags & 4) != 0;
  quic_wrap *w;
  if (quic_wrap_new(&w, fuzz_loop, &ec, fuzz_server_events, fuzz_on_closed, NULL) != QUIC_OK) abort();
  int err;
  if (quic_wrap_bind(w, &err) != QUIC_OK) abort();
  quic_session_config sc;
  fuzz_server_config(&sc, (flags & 2) ? FUZZ_ALPN_H3 : FUZZ_ALPN_RAW);
  if (quic_wrap_listen(w, &sc) != QUIC_OK) abort();

  static uint8_t buf[QUIC_UDP_SLOT];
  size_t off = 1;
  while (off + 3 <= size && !w->destroyed) {
    uint8_t ctl = data[off];
    size_t len = ((size_t)data[off + 1] << 8) | data[off + 2];
    off += 3;
    if (len > size - off) len = size - off;
    /* The socket drops what does not fit the receive buffer. */
    size_t n = len < sizeof(buf) ? len : sizeof(buf);
    memcpy(buf, data + off, n);
    off += len;
    if (n == 0) continue;
    quic_rx_pkt p = {.data = buf, .len = n, .remote = remotes[ctl & 3], .local = w->ep->udp.local,
                     .ecn = (uint8_t)((ctl >> 4) & 3)};
    quic_wrap_enter(w);
    quic_endpoint_receive(w->ep, &p);
    quic_wrap_flush(w);
    quic_wrap_leave(w);
    if (ctl & 4) uv_run(fuzz_loop, UV_RUN_NOWAIT);
  }
  drain_sink();
  fuzz_teardown(w, NULL);
  return 0;
}

/* Shared by the fuzz targets and the corpus maker: one loop, TLS contexts
 * made once per process from test/fixtures, wraps torn down after every
 * input with a check that the core holds nothing afterwards. */
#ifndef QUIC_FUZZ_HARNESS_H
#define QUIC_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../src/endpoint.h"
#include "../src/mem.h"
#include "../src/stream.h"

/* ALPN choice for the contexts below. */
enum { FUZZ_ALPN_RAW = 0, FUZZ_ALPN_H3 = 1 };

extern uv_loop_t *fuzz_loop;

/* Loads certificates once (from $QUIC_FIXTURES or test/fixtures next to the
 * binary's source tree). Exits on failure: nothing can be fuzzed without. */
void fuzz_init(void);
/* A listen config for the given ALPN (a new reference to a shared context). */
void fuzz_server_config(quic_session_config *c, int alpn);
void fuzz_client_config(quic_session_config *c, int alpn);
/* Endpoint config with fixed secrets, so runs are reproducible. */
void fuzz_endpoint_config(quic_endpoint_config *c);

/* Destroys the wraps (NULLs skipped), runs the loop until they are closed
 * and aborts if any memory, handle, session or endpoint is left: a leak
 * found by the fuzzer is a crash like any other. */
void fuzz_teardown(quic_wrap *a, quic_wrap *b);
/* The closed hook to give quic_wrap_new so fuzz_teardown can count. */
void fuzz_on_closed(quic_wrap *w, void *user);

/* Runs the loop until *done or the bound (iterations of UV_RUN_ONCE with a
 * 1 ms tick) is spent. */
void fuzz_run_until(bool *done, int max_iterations);

/* A plain application: reads all stream data, takes header blocks (and,
 * as a server, answers HTTP/3 requests), releases closed streams, takes
 * datagrams. fuzz_server_events is it as a wrap's deliver hook. */
void fuzz_app_events(quic_wrap *w, bool server);
void fuzz_server_events(quic_wrap *w, void *user);

#endif

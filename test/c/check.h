/* A tiny assertion kit for the plain-C tests in test/c/: each program runs
 * its checks, prints one line per failure and a closing line
 * "<name>: N passed, N failed", and exits non-zero if any failed. */
#ifndef QUIC_TEST_CHECK_H
#define QUIC_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                                            \
  do {                                                                                                         \
    if (cond) {                                                                                                \
      check_passed++;                                                                                          \
    } else {                                                                                                   \
      check_failed++;                                                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                 \
    }                                                                                                          \
  } while (0)

#define CHECK_EQ(a, b)                                                                                         \
  do {                                                                                                         \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                            \
    if (check_a_ == check_b_) {                                                                                \
      check_passed++;                                                                                          \
    } else {                                                                                                   \
      check_failed++;                                                                                          \
      fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a, #b, check_a_,  \
              check_b_);                                                                                       \
    }                                                                                                          \
  } while (0)

/* Ends main(): the closing line the test runner reads, and the exit code. */
static inline int check_done(const char *name) {
  printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
  return check_failed ? 1 : 0;
}

#endif

/* Strict N-API helpers: every napi_status is checked, and failures become
 * JavaScript exceptions with a Node-style `code`, never an abort. */
#ifndef QUIC_NAPI_UTIL_H
#define QUIC_NAPI_UTIL_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A result the caller must look at: the compiler warns when it does not. */
#if defined(__GNUC__)
#define QUIC_NODISCARD __attribute__((warn_unused_result))
#else
#define QUIC_NODISCARD
#endif

/* Every napi_* call goes through one of these (or compares its status
 * itself); none is left unchecked.
 * NAPI_CALL: throws (if nothing is pending yet) and returns NULL from the
 * caller, for functions that return a napi_value.
 * NAPI_CALL_BOOL: the same for helpers that return false on failure.
 * NAPI_RECORD: for code that must not throw (finalizers, libuv callbacks,
 * teardown): records the failure (quic_napi_failures) and evaluates to
 * false, so the caller can give up on what depended on it. */
#define NAPI_CALL(env, call)                                                                                   \
  do {                                                                                                         \
    if ((call) != napi_ok) {                                                                                   \
      quic_napi_throw_status(env, #call);                                                                      \
      return NULL;                                                                                             \
    }                                                                                                          \
  } while (0)

#define NAPI_CALL_BOOL(env, call)                                                                              \
  do {                                                                                                         \
    if ((call) != napi_ok) {                                                                                   \
      quic_napi_throw_status(env, #call);                                                                      \
      return false;                                                                                            \
    }                                                                                                          \
  } while (0)

#define NAPI_RECORD(call) quic_napi_record((call), #call)

/* Sets obj[name] = v or returns NULL from the caller (exception pending). */
#define NAPI_SET(env, obj, name, v)                                                                            \
  do {                                                                                                         \
    if (!quic_napi_set(env, obj, name, v)) return NULL;                                                        \
  } while (0)

#define NAPI_ARGS(env, info, n)                                                                                \
  size_t argc = (n);                                                                                           \
  napi_value argv[(n) > 0 ? (n) : 1];                                                                          \
  napi_value self;                                                                                             \
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));                                       \
  (void)self

/* Records a failed status where nothing can be thrown; true if st is
 * napi_ok. Process-wide count and the last call that failed, for tests
 * (binding.napiFailures()) and post-mortems. */
bool quic_napi_record(napi_status st, const char *what);
uint64_t quic_napi_failures(const char **last);
/* Whether an exception is pending (true, to be safe, if that cannot be told). */
bool quic_napi_pending(napi_env env);
void quic_napi_throw_status(napi_env env, const char *what);
/* Throws an Error (or TypeError/RangeError by code) with .code set. */
void quic_napi_throw(napi_env env, const char *code, const char *fmt, ...);
/* Throws a system error: .code = errno name, .errno, .syscall. */
void quic_napi_throw_sys(napi_env env, int err, const char *syscall);
/* Maps a core QUIC_ERR_* to a thrown error. */
void quic_napi_throw_core(napi_env env, int rv, const char *what);

/* Value helpers; each returns false (with an exception pending) on failure. */
QUIC_NODISCARD bool quic_napi_get_double(napi_env env, napi_value v, double *out);
QUIC_NODISCARD bool quic_napi_get_bool(napi_env env, napi_value v, bool *out);
QUIC_NODISCARD bool quic_napi_get_u64(napi_env env, napi_value v, uint64_t *out); /* number or bigint */
/* Copies a string into a new quic_malloc'd buffer (NULL for undefined/null). */
QUIC_NODISCARD bool quic_napi_get_string(napi_env env, napi_value v, char **out);
/* A view of a Buffer/TypedArray/DataView/ArrayBuffer's bytes. */
QUIC_NODISCARD bool quic_napi_get_bytes(napi_env env, napi_value v, const uint8_t **data, size_t *len);
/* undefined or null. If the type cannot be read, throws and says false, so
 * the caller's next read of v fails and returns. */
bool quic_napi_is_nullish(napi_env env, napi_value v);
/* The storage of a BigUint64Array of at least min elements (stats). */
QUIC_NODISCARD bool quic_napi_get_u64_array(napi_env env, napi_value v, size_t min, uint64_t **out);
/* The same, for `count` slots starting at slot `offset` of a larger array. */
QUIC_NODISCARD bool quic_napi_get_u64_window(napi_env env, napi_value v, size_t offset, size_t count, uint64_t **out);

/* An external ArrayBuffer over a shared stats block (stats.h) that holds
 * one reference, dropped by its finalizer. NULL data (the block could not
 * be shared) throws. */
napi_value quic_napi_stats_buffer(napi_env env, void *data, size_t size);

/* Value makers: NULL with an exception pending on failure, so a binding
 * function can return what they give. */
napi_value quic_napi_undefined(napi_env env);
napi_value quic_napi_bool(napi_env env, bool b);
napi_value quic_napi_number(napi_env env, double d);
napi_value quic_napi_bigint(napi_env env, uint64_t v);
napi_value quic_napi_string(napi_env env, const char *s);
/* A frozen array of n strings (the names of a C list, for lib/). */
napi_value quic_napi_string_array(napi_env env, const char *const *names, size_t n);
/* obj[name] = v. False with an exception pending if v is NULL (its maker
 * failed) or the set fails. */
QUIC_NODISCARD bool quic_napi_set(napi_env env, napi_value obj, const char *name, napi_value v);

#endif

#include "napi_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "common.h"
#include "mem.h"
#include "stats.h"

/* Failures nothing could be thrown for. Atomic: finalizers of endpoints
 * shared with workers may run on other threads. */
static _Atomic uint64_t failures;
static const char *_Atomic last_failure;

bool quic_napi_record(napi_status st, const char *what) {
  if (st == napi_ok) return true;
  atomic_fetch_add(&failures, 1);
  atomic_store(&last_failure, what);
  return false;
}

uint64_t quic_napi_failures(const char **last) {
  if (last) *last = atomic_load(&last_failure);
  return atomic_load(&failures);
}

bool quic_napi_pending(napi_env env) {
  bool p = false;
  if (!NAPI_RECORD(napi_is_exception_pending(env, &p))) return true;
  return p;
}

void quic_napi_throw(napi_env env, const char *code, const char *fmt, ...) {
  if (quic_napi_pending(env)) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  napi_status st;
  if (strcmp(code, "ERR_INVALID_ARG_TYPE") == 0) st = napi_throw_type_error(env, code, msg);
  else if (strcmp(code, "ERR_OUT_OF_RANGE") == 0) st = napi_throw_range_error(env, code, msg);
  else st = napi_throw_error(env, code, msg);
  /* Nothing left to report it through. */
  (void)quic_napi_record(st, "napi_throw_error");
}

void quic_napi_throw_status(napi_env env, const char *what) {
  /* The error info describes the last call made, so it is read before
   * anything else (asking whether an exception is pending is a call). */
  const napi_extended_error_info *info = NULL;
  const char *why = "unknown N-API error";
  if (napi_get_last_error_info(env, &info) == napi_ok && info && info->error_message) why = info->error_message;
  quic_napi_throw(env, "ERR_QUIC_INTERNAL", "%s failed: %s", what, why);
}

void quic_napi_throw_sys(napi_env env, int err, const char *syscall) {
  if (quic_napi_pending(env)) return;
  const char *name = uv_err_name(-err);
  char msg[256];
  snprintf(msg, sizeof(msg), "%s %s", syscall, name);
  napi_value m, e, c;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &c) != napi_ok ||
      napi_create_error(env, c, m, &e) != napi_ok || !quic_napi_set(env, e, "errno", quic_napi_number(env, -err)) ||
      !quic_napi_set(env, e, "syscall", quic_napi_string(env, syscall))) {
    quic_napi_throw_status(env, syscall);
    return;
  }
  if (napi_throw(env, e) != napi_ok) quic_napi_throw_status(env, "napi_throw");
}

void quic_napi_throw_core(napi_env env, int rv, const char *what) {
  switch (rv) {
  case QUIC_ERR_NOMEM: quic_napi_throw(env, "ERR_QUIC_OUT_OF_MEMORY", "%s: out of memory", what); break;
  case QUIC_ERR_STATE: quic_napi_throw(env, "ERR_INVALID_STATE", "%s: invalid state", what); break;
  case QUIC_ERR_INVALID: quic_napi_throw(env, "ERR_INVALID_ARG_VALUE", "%s: invalid argument", what); break;
  case QUIC_ERR_LIMIT: quic_napi_throw(env, "ERR_QUIC_LIMIT", "%s: limit reached", what); break;
  default: quic_napi_throw(env, "ERR_QUIC_INTERNAL", "%s failed (%d)", what, rv); break;
  }
}

bool quic_napi_is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) {
    quic_napi_throw_status(env, "napi_typeof");
    return false;
  }
  return t == napi_undefined || t == napi_null;
}

bool quic_napi_get_double(napi_env env, napi_value v, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "expected a number");
    return false;
  }
  return true;
}

bool quic_napi_get_bool(napi_env env, napi_value v, bool *out) {
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "expected a boolean");
    return false;
  }
  return true;
}

bool quic_napi_get_u64(napi_env env, napi_value v, uint64_t *out) {
  napi_valuetype t;
  NAPI_CALL_BOOL(env, napi_typeof(env, v, &t));
  if (t == napi_bigint) {
    bool lossless;
    if (napi_get_value_bigint_uint64(env, v, out, &lossless) != napi_ok || !lossless) {
      quic_napi_throw(env, "ERR_OUT_OF_RANGE", "value does not fit in 64 bits");
      return false;
    }
    return true;
  }
  double d;
  if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > 9007199254740991.0) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "expected a non-negative integer or bigint");
    return false;
  }
  *out = (uint64_t)d;
  return true;
}

bool quic_napi_get_string(napi_env env, napi_value v, char **out) {
  *out = NULL;
  if (quic_napi_is_nullish(env, v)) return true;
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "expected a string");
    return false;
  }
  char *s = quic_malloc(len + 1);
  if (s == NULL) {
    quic_napi_throw(env, "ERR_QUIC_OUT_OF_MEMORY", "out of memory");
    return false;
  }
  if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
    quic_free(s);
    quic_napi_throw_status(env, "napi_get_value_string_utf8");
    return false;
  }
  *out = s;
  return true;
}

bool quic_napi_get_bytes(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  bool is = false;
  void *p = NULL;
  napi_value ab;
  size_t off;
  /* Each question is asked only if the one before said no. */
  NAPI_CALL_BOOL(env, napi_is_buffer(env, v, &is));
  if (is) {
    NAPI_CALL_BOOL(env, napi_get_buffer_info(env, v, &p, len));
    goto done;
  }
  NAPI_CALL_BOOL(env, napi_is_typedarray(env, v, &is));
  if (is) {
    napi_typedarray_type t;
    size_t n;
    NAPI_CALL_BOOL(env, napi_get_typedarray_info(env, v, &t, &n, &p, &ab, &off));
    size_t el = 1;
    switch (t) {
    case napi_int16_array: case napi_uint16_array: el = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: el = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: el = 8; break;
    default: break;
    }
    *len = n * el;
    goto done;
  }
  NAPI_CALL_BOOL(env, napi_is_dataview(env, v, &is));
  if (is) {
    NAPI_CALL_BOOL(env, napi_get_dataview_info(env, v, len, &p, &ab, &off));
    goto done;
  }
  NAPI_CALL_BOOL(env, napi_is_arraybuffer(env, v, &is));
  if (is) {
    NAPI_CALL_BOOL(env, napi_get_arraybuffer_info(env, v, &p, len));
    goto done;
  }
  quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "expected a Buffer, TypedArray, DataView or ArrayBuffer");
  return false;
done:
  /* A detached buffer reports no data; treat it as empty. */
  *data = p ? p : (const uint8_t *)"";
  if (p == NULL) *len = 0;
  return true;
}

napi_value quic_napi_undefined(napi_env env) {
  napi_value v;
  NAPI_CALL(env, napi_get_undefined(env, &v));
  return v;
}

napi_value quic_napi_bool(napi_env env, bool b) {
  napi_value v;
  NAPI_CALL(env, napi_get_boolean(env, b, &v));
  return v;
}

napi_value quic_napi_number(napi_env env, double d) {
  napi_value v;
  NAPI_CALL(env, napi_create_double(env, d, &v));
  return v;
}

napi_value quic_napi_bigint(napi_env env, uint64_t x) {
  napi_value v;
  NAPI_CALL(env, napi_create_bigint_uint64(env, x, &v));
  return v;
}

napi_value quic_napi_string(napi_env env, const char *s) {
  napi_value v;
  NAPI_CALL(env, napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &v));
  return v;
}

napi_value quic_napi_string_array(napi_env env, const char *const *names, size_t n) {
  napi_value arr, s;
  NAPI_CALL(env, napi_create_array_with_length(env, n, &arr));
  for (size_t i = 0; i < n; i++) {
    if ((s = quic_napi_string(env, names[i])) == NULL) return NULL;
    NAPI_CALL(env, napi_set_element(env, arr, (uint32_t)i, s));
  }
  NAPI_CALL(env, napi_object_freeze(env, arr));
  return arr;
}

bool quic_napi_set(napi_env env, napi_value obj, const char *name, napi_value v) {
  if (v == NULL) {
    /* Its maker threw already; this only covers a caller that did not. */
    quic_napi_throw(env, "ERR_QUIC_INTERNAL", "no value for %s", name);
    return false;
  }
  NAPI_CALL_BOOL(env, napi_set_named_property(env, obj, name, v));
  return true;
}

static void finalize_stats(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  quic_stats_release(data, NULL);
}

napi_value quic_napi_stats_buffer(napi_env env, void *data, size_t size) {
  napi_value ab;
  if (data == NULL) {
    quic_napi_throw(env, "ERR_QUIC_OUT_OF_MEMORY", "stats could not be shared");
    return NULL;
  }
  if (napi_create_external_arraybuffer(env, data, size, finalize_stats, NULL, &ab) != napi_ok) {
    quic_stats_release(data, NULL);
    quic_napi_throw_status(env, "napi_create_external_arraybuffer");
    return NULL;
  }
  return ab;
}

bool quic_napi_get_u64_window(napi_env env, napi_value v, size_t offset, size_t count, uint64_t **out) {
  napi_typedarray_type t = napi_int8_array;
  size_t n = 0;
  void *p = NULL;
  napi_value ab;
  size_t off;
  bool is = false;
  NAPI_CALL_BOOL(env, napi_is_typedarray(env, v, &is));
  if (is) NAPI_CALL_BOOL(env, napi_get_typedarray_info(env, v, &t, &n, &p, &ab, &off));
  if (!is || t != napi_biguint64_array || n < count || offset > n - count) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "expected a BigUint64Array with %zu slots at %zu", count, offset);
    return false;
  }
  *out = (uint64_t *)p + offset;
  return true;
}

bool quic_napi_get_u64_array(napi_env env, napi_value v, size_t min, uint64_t **out) {
  return quic_napi_get_u64_window(env, v, 0, min, out);
}

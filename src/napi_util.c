#include "napi_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "common.h"
#include "mem.h"
#include "stats.h"

static bool pending(napi_env env) {
  bool p = false;
  napi_is_exception_pending(env, &p);
  return p;
}

void quic_napi_throw(napi_env env, const char *code, const char *fmt, ...) {
  if (pending(env)) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (strcmp(code, "ERR_INVALID_ARG_TYPE") == 0) napi_throw_type_error(env, code, msg);
  else if (strcmp(code, "ERR_OUT_OF_RANGE") == 0) napi_throw_range_error(env, code, msg);
  else napi_throw_error(env, code, msg);
}

void quic_napi_throw_status(napi_env env, const char *what) {
  if (pending(env)) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  quic_napi_throw(env, "ERR_QUIC_INTERNAL", "%s failed: %s", what,
                  info && info->error_message ? info->error_message : "unknown N-API error");
}

void quic_napi_throw_sys(napi_env env, int err, const char *syscall) {
  if (pending(env)) return;
  const char *name = uv_err_name(-err);
  char msg[256];
  snprintf(msg, sizeof(msg), "%s %s", syscall, name);
  napi_value m, e, c;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &c) != napi_ok ||
      napi_create_error(env, c, m, &e) != napi_ok)
    return;
  quic_napi_set(env, e, "errno", quic_napi_number(env, -err));
  quic_napi_set(env, e, "syscall", quic_napi_string(env, syscall));
  napi_throw(env, e);
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
  if (napi_typeof(env, v, &t) != napi_ok) return true;
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
  if (napi_typeof(env, v, &t) != napi_ok) return false;
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
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  *out = s;
  return true;
}

bool quic_napi_get_bytes(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  bool is;
  void *p = NULL;
  if (napi_is_buffer(env, v, &is) == napi_ok && is) {
    if (napi_get_buffer_info(env, v, &p, len) != napi_ok) goto bad;
  } else if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type t;
    size_t n;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(env, v, &t, &n, &p, &ab, &off) != napi_ok) goto bad;
    size_t el = 1;
    switch (t) {
    case napi_int16_array: case napi_uint16_array: el = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: el = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: el = 8; break;
    default: break;
    }
    *len = n * el;
  } else if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_value ab;
    size_t off;
    if (napi_get_dataview_info(env, v, len, &p, &ab, &off) != napi_ok) goto bad;
  } else if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    if (napi_get_arraybuffer_info(env, v, &p, len) != napi_ok) goto bad;
  } else {
    goto bad;
  }
  /* A detached buffer reports no data; treat it as empty. */
  *data = p ? p : (const uint8_t *)"";
  if (p == NULL) *len = 0;
  return true;
bad:
  quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "expected a Buffer, TypedArray, DataView or ArrayBuffer");
  return false;
}

napi_value quic_napi_undefined(napi_env env) {
  napi_value v = NULL;
  napi_get_undefined(env, &v);
  return v;
}

napi_value quic_napi_bool(napi_env env, bool b) {
  napi_value v = NULL;
  napi_get_boolean(env, b, &v);
  return v;
}

napi_value quic_napi_number(napi_env env, double d) {
  napi_value v = NULL;
  napi_create_double(env, d, &v);
  return v;
}

napi_value quic_napi_bigint(napi_env env, uint64_t x) {
  napi_value v = NULL;
  napi_create_bigint_uint64(env, x, &v);
  return v;
}

napi_value quic_napi_string(napi_env env, const char *s) {
  napi_value v = NULL;
  napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &v);
  return v;
}

bool quic_napi_set(napi_env env, napi_value obj, const char *name, napi_value v) {
  return v != NULL && napi_set_named_property(env, obj, name, v) == napi_ok;
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

bool quic_napi_get_u64_array(napi_env env, napi_value v, size_t min, uint64_t **out) {
  napi_typedarray_type t;
  size_t n;
  void *p;
  napi_value ab;
  size_t off;
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &t, &n, &p, &ab, &off) != napi_ok || t != napi_biguint64_array || n < min) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "expected a BigUint64Array of at least %zu", min);
    return false;
  }
  *out = p;
  return true;
}

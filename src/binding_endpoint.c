/* N-API face of quic_wrap: create, bind, listen, connect, close, destroy, and
 * the one path by which events reach JavaScript. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "mem.h"
#include "stats.h"
#include "webtransport.h"

static void maybe_free(binding_endpoint *be) {
  if (be->wrap == NULL && be->finalized) free(be);
}

/* Runs in finalizers and close callbacks: nothing can be thrown there, so
 * a failure is recorded (and the reference given up on either way). */
static void release_js(binding_endpoint *be) {
  if (be->on_events) {
    (void)NAPI_RECORD(napi_delete_reference(be->env, be->on_events));
    be->on_events = NULL;
  }
  if (be->async) {
    (void)NAPI_RECORD(napi_async_destroy(be->env, be->async));
    be->async = NULL;
  }
}

static void drop_cleanup(binding_endpoint *be) {
  if (be->cleanup) (void)NAPI_RECORD(napi_remove_async_cleanup_hook(be->cleanup));
  be->cleanup = NULL;
}

static void on_wrap_closed(quic_wrap *w, void *user) {
  QUIC_UNUSED(w);
  binding_endpoint *be = user;
  be->wrap = NULL;
  release_js(be);
  drop_cleanup(be);
  maybe_free(be);
}

/* The thread's environment is going (a worker that returns, crashes or
 * calls process.exit(), or the process exiting): each session is closed at
 * once with a CONNECTION_CLOSE its peer sees, the socket leaves its port
 * group, and teardown waits until the handles have closed (on_wrap_closed). */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  QUIC_UNUSED(handle);
  binding_endpoint *be = arg;
  if (be->wrap == NULL) {
    drop_cleanup(be);
    return;
  }
  be->wrap->deliver = NULL; /* JavaScript is gone */
  quic_wrap_abandon(be->wrap);
}

static void finalize_endpoint(napi_env env, void *data, void *hint) {
  QUIC_UNUSED(env);
  QUIC_UNUSED(hint);
  binding_endpoint *be = data;
  be->finalized = true;
  /* Let go of JS now: the wrap's handles may finish closing after the
   * environment is torn down (at exit), when N-API calls are no longer valid. */
  release_js(be);
  /* A JS Endpoint that is collected while open has no owner left. */
  if (be->wrap) quic_wrap_destroy(be->wrap);
  maybe_free(be);
}

static binding_endpoint *get_be(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok ||
      p == NULL) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "invalid endpoint handle");
    return NULL;
  }
  binding_endpoint *be = p;
  if (be->wrap == NULL) {
    quic_napi_throw(env, "ERR_INVALID_STATE", "Endpoint is destroyed");
    return NULL;
  }
  return be;
}

/* deliver has no JavaScript caller to throw to, and a failure there loses
 * the batch's events: it is recorded and raised as an uncaught exception,
 * the way an exception thrown by the callback itself is. */
static void raise_pending(napi_env env) {
  napi_value err;
  napi_valuetype t = napi_undefined;
  /* undefined: nothing was pending after all (throwing failed too). */
  if (NAPI_RECORD(napi_get_and_clear_last_exception(env, &err)) && NAPI_RECORD(napi_typeof(env, err, &t)) &&
      t != napi_undefined)
    (void)NAPI_RECORD(napi_fatal_exception(env, err));
}

static void raise_uncaught(napi_env env, const char *what) {
  quic_napi_throw_status(env, what); /* keeps the exception the failed call left, if any */
  raise_pending(env);
}

#define DELIVER_CALL(call)                                                                                     \
  do {                                                                                                         \
    if (!NAPI_RECORD(call)) {                                                                                  \
      raise_uncaught(env, #call);                                                                              \
      goto out;                                                                                                \
    }                                                                                                          \
  } while (0)

/* False once the environment can no longer run JavaScript: a worker thread
 * in process.exit() still finishes the libuv callback it is in, and every
 * N-API call that may run JavaScript then fails with napi_pending_exception
 * though nothing is pending. Nobody is left to tell: not a failure. */
static bool can_run_js(napi_env env) {
  napi_value undef, b;
  return napi_get_undefined(env, &undef) == napi_ok && napi_coerce_to_bool(env, undef, &b) == napi_ok;
}

/* Runs in a libuv callback with no JS on the stack: one call per batch. */
static void deliver(quic_wrap *w, void *user) {
  binding_endpoint *be = user;
  napi_env env = be->env;
  if (be->on_events == NULL || !can_run_js(env)) return;
  napi_handle_scope scope;
  if (!NAPI_RECORD(napi_open_handle_scope(env, &scope))) return; /* no scope: nothing may be created */
  size_t n = w->nevents;
  napi_value ab, arr, sessions, cb, recv, argv[2];
  double *d = NULL;
  DELIVER_CALL(napi_create_arraybuffer(env, n * QUIC_EF_COUNT * sizeof(double), (void **)&d, &ab));
  DELIVER_CALL(napi_create_typedarray(env, napi_float64_array, n * QUIC_EF_COUNT, ab, 0, &arr));
  DELIVER_CALL(napi_create_array(env, &sessions));
  uint32_t nsess = 0;
  for (size_t i = 0; i < n; i++) {
    const quic_event *e = &w->events[i];
    double *f = d + i * QUIC_EF_COUNT;
#define V(name, value) f[QUIC_EF_##name] = (value);
    QUIC_EVENT_RECORD(V)
#undef V
    if (e->type == QUIC_E_SESSION_NEW) {
      napi_value h = quic_binding_session_handle(env, e->session);
      if (h == NULL) {
        (void)quic_napi_record(napi_generic_failure, "quic_binding_session_handle");
        raise_uncaught(env, "quic_binding_session_handle");
        goto out;
      }
      DELIVER_CALL(napi_set_element(env, sessions, nsess++, h));
    }
  }
  argv[0] = arr;
  argv[1] = sessions;
  DELIVER_CALL(napi_get_reference_value(env, be->on_events, &cb));
  DELIVER_CALL(napi_get_global(env, &recv));
  napi_value result;
  napi_status st = napi_make_callback(env, be->async, recv, cb, 2, argv, &result);
  if (st != napi_ok) {
    /* The callback threw (not an N-API failure): hand its exception on as
     * uncaught. A failure with nothing pending is one. */
    if (!quic_napi_pending(env)) {
      (void)quic_napi_record(st, "napi_make_callback");
      quic_napi_throw(env, "ERR_QUIC_INTERNAL", "napi_make_callback failed (status %d)", (int)st);
    }
    raise_pending(env);
  }
out:
  (void)NAPI_RECORD(napi_close_handle_scope(env, scope));
}

static bool read_f64_array(napi_env env, napi_value v, size_t want, double **out) {
  bool is;
  napi_typedarray_type t;
  size_t n;
  void *p;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &t, &n, &p, &ab, &off) != napi_ok || t != napi_float64_array || n != want) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "options must be a Float64Array of %zu values", want);
    return false;
  }
  *out = p;
  return true;
}

static bool copy_secret(napi_env env, napi_value v, uint8_t *dst, size_t len, const char *name) {
  if (quic_napi_is_nullish(env, v)) return true;
  const uint8_t *p;
  size_t n;
  if (!quic_napi_get_bytes(env, v, &p, &n)) return false;
  if (n != len) {
    quic_napi_throw(env, "ERR_INVALID_ARG_VALUE", "%s must be exactly %zu bytes", name, len);
    return false;
  }
  memcpy(dst, p, len);
  return true;
}

/* The binding's side of a wrap: the JS callback and async context; NULL
 * with an exception pending. */
static binding_endpoint *be_new(napi_env env, napi_value on_events) {
  napi_valuetype t;
  if (napi_typeof(env, on_events, &t) != napi_ok || t != napi_function) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "onEvents must be a function");
    return NULL;
  }
  binding_endpoint *be = calloc(1, sizeof(*be));
  if (be == NULL) {
    quic_napi_throw(env, "ERR_QUIC_OUT_OF_MEMORY", "out of memory");
    return NULL;
  }
  be->env = env;
  napi_value name;
  if (napi_create_reference(env, on_events, 1, &be->on_events) != napi_ok ||
      napi_create_string_utf8(env, "QUIC_ENDPOINT", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &be->async) != napi_ok) {
    quic_napi_throw_status(env, "endpoint setup"); /* first: it reads the failed call's error */
    release_js(be);
    free(be);
    return NULL;
  }
  return be;
}

/* The JS handle of a new wrap; on failure the wrap is destroyed. */
static napi_value be_handle(napi_env env, binding_endpoint *be) {
  napi_value handle;
  if (napi_add_async_cleanup_hook(env, on_env_cleanup, be, &be->cleanup) != napi_ok ||
      napi_create_external(env, be, finalize_endpoint, NULL, &handle) != napi_ok) {
    be->finalized = true;
    quic_wrap_destroy(be->wrap);
    quic_napi_throw_status(env, "napi_create_external");
    return NULL;
  }
  return handle;
}

/* The QUIC-LB layout (quic_lb.h) from { serverId, nonceLength, key,
 * configRotation, lengthSelfEncoding }, validated by lib/config.js. */
static bool read_lb(napi_env env, napi_value v, quic_endpoint_config *cfg) {
  if (quic_napi_is_nullish(env, v)) return true;
  napi_value sid, nonce, key, cr, self;
  const uint8_t *p;
  size_t n;
  double d;
  bool b;
  NAPI_CALL_BOOL(env, napi_get_named_property(env, v, "serverId", &sid));
  NAPI_CALL_BOOL(env, napi_get_named_property(env, v, "nonceLength", &nonce));
  NAPI_CALL_BOOL(env, napi_get_named_property(env, v, "key", &key));
  NAPI_CALL_BOOL(env, napi_get_named_property(env, v, "configRotation", &cr));
  NAPI_CALL_BOOL(env, napi_get_named_property(env, v, "lengthSelfEncoding", &self));
  quic_lb_config *c = &cfg->lb;
  if (!quic_napi_get_bytes(env, sid, &p, &n)) return false;
  if (n < 1 || n > QUIC_LB_MAX_SID) goto bad;
  c->sid_len = (uint8_t)n;
  memcpy(c->server_id, p, n);
  if (!quic_napi_get_double(env, nonce, &d)) return false;
  if (d < QUIC_LB_MIN_NONCE || d + n > QUIC_LB_MAX_PLAIN) goto bad;
  c->nonce_len = (uint8_t)d;
  if (!quic_napi_get_double(env, cr, &d)) return false;
  if (d < 0 || d >= QUIC_LB_NO_CONFIG) goto bad;
  c->config_rotation = (uint8_t)d;
  if (!quic_napi_get_bool(env, self, &b)) return false;
  c->length_self_encoding = b;
  if (!quic_napi_is_nullish(env, key)) {
    if (!quic_napi_get_bytes(env, key, &p, &n)) return false;
    if (n != sizeof(c->key)) goto bad;
    memcpy(c->key, p, n);
    c->has_key = true;
  }
  cfg->lb_enabled = true;
  return true;
bad:
  quic_napi_throw(env, "ERR_INVALID_ARG_VALUE", "loadBalancer is out of the QUIC-LB draft's bounds");
  return false;
}

/* endpointCreate(options, host, port, resetSecret, tokenSecret, onEvents, loadBalancer, reusePortGroup) */
static napi_value endpoint_create(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 8);
  double *o;
  if (!read_f64_array(env, argv[0], QUIC_EPO_COUNT, &o)) return NULL;
  quic_endpoint_config cfg;
  quic_endpoint_config_defaults(&cfg);
  char *host = NULL;
  double port;
  if (!quic_napi_get_string(env, argv[1], &host) || !quic_napi_get_double(env, argv[2], &port)) return NULL;
  int rv = quic_addr_parse(&cfg.bind, host ? host : "127.0.0.1", (uint16_t)port);
  quic_free(host);
  if (rv != QUIC_OK) {
    quic_napi_throw(env, "ERR_INVALID_ARG_VALUE", "address.address must be an IPv4 or IPv6 address");
    return NULL;
  }
  if (!copy_secret(env, argv[3], cfg.reset_secret, sizeof(cfg.reset_secret), "resetTokenSecret") ||
      !copy_secret(env, argv[4], cfg.token_secret, sizeof(cfg.token_secret), "tokenSecret"))
    return NULL;
  cfg.udp.ipv6_only = o[QUIC_EPO_IPV6_ONLY] != 0;
  cfg.udp.receive_buffer_size = (uint32_t)o[QUIC_EPO_RECEIVE_BUFFER_SIZE];
  cfg.udp.send_buffer_size = (uint32_t)o[QUIC_EPO_SEND_BUFFER_SIZE];
  cfg.udp.ttl = (int)o[QUIC_EPO_TTL];
  cfg.udp.flowlabel = (uint32_t)o[QUIC_EPO_FLOWLABEL] & 0xfffff;
  cfg.disable_stateless_reset = o[QUIC_EPO_DISABLE_STATELESS_RESET] != 0;
  cfg.validate_address = o[QUIC_EPO_VALIDATE_ADDRESS] != 0;
  cfg.max_stateless_resets = (uint64_t)o[QUIC_EPO_MAX_STATELESS_RESETS];
  cfg.retry_token_expiration_s = (uint64_t)o[QUIC_EPO_RETRY_TOKEN_EXPIRATION];
  cfg.token_expiration_s = (uint64_t)o[QUIC_EPO_TOKEN_EXPIRATION];
  cfg.retry_limit = (uint64_t)o[QUIC_EPO_RETRY_LIMIT];
  cfg.address_lru_size = (uint64_t)o[QUIC_EPO_ADDRESS_LRU_SIZE];
  cfg.max_connections_per_host = (uint64_t)o[QUIC_EPO_MAX_CONNECTIONS_PER_HOST];
  cfg.max_connections_total = (uint64_t)o[QUIC_EPO_MAX_CONNECTIONS_TOTAL];
  cfg.rx_loss = o[QUIC_EPO_RX_PACKET_LOSS];
  cfg.tx_loss = o[QUIC_EPO_TX_PACKET_LOSS];
  if (argc > 6 && !read_lb(env, argv[6], &cfg)) return NULL;
  if (argc > 7 && !quic_napi_is_nullish(env, argv[7])) {
    /* The group's name (lib/config.js checked it: 1-64 bytes). */
    char *name = NULL;
    if (!quic_napi_get_string(env, argv[7], &name)) return NULL;
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > sizeof(cfg.rp_name) || port == 0) {
      quic_free(name);
      quic_napi_throw(env, "ERR_INVALID_ARG_VALUE", "reusePort needs a group name of 1-%zu bytes and a port",
                      sizeof(cfg.rp_name));
      return NULL;
    }
    memcpy(cfg.rp_name, name, n);
    cfg.rp_name_len = n;
    quic_free(name);
  }

  uv_loop_t *loop;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  binding_endpoint *be = be_new(env, argv[5]);
  if (be == NULL) return NULL;
  if ((rv = quic_wrap_new(&be->wrap, loop, &cfg, deliver, on_wrap_closed, be)) != QUIC_OK) {
    release_js(be);
    free(be);
    quic_napi_throw_core(env, rv, "Endpoint");
    return NULL;
  }
  return be_handle(env, be);
}

/* endpointShare(handle) -> the port group's id (a number), binding the
 * socket into a new group if the endpoint has none yet. */
static napi_value endpoint_share(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  binding_endpoint *be = get_be(env, argv[0]);
  if (be == NULL) return NULL;
  uint64_t id = 0;
  int err = 0;
  int rv = quic_wrap_share(be->wrap, &id, &err);
  if (rv == QUIC_ERR_STATE) {
    quic_napi_throw(env, "ERR_INVALID_STATE",
                    "share(): the endpoint's socket is already bound outside a port group (call share() before "
                    "listen() or connect())");
    return NULL;
  }
  if (rv == QUIC_ERR_SYS) {
    quic_napi_throw_sys(env, err, "bind");
    return NULL;
  }
  if (rv == QUIC_ERR_INVALID) {
    quic_napi_throw(env, "ERR_QUIC_UNSUPPORTED",
                    "share() with loadBalancer.lengthSelfEncoding is not supported: the worker index takes the "
                    "first octet's low bits");
    return NULL;
  }
  if (rv != QUIC_OK) {
    quic_napi_throw_core(env, rv, "share");
    return NULL;
  }
  return quic_napi_number(env, (double)id);
}

/* endpointJoin(groupId, onEvents[, pid]) -> handle of a new endpoint in
 * that port group, on this thread, with the group's configuration, already
 * bound; with pid, a group another process shares. */
static napi_value endpoint_join(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 3);
  double id, pid = 0;
  if (!quic_napi_get_double(env, argv[0], &id)) return NULL;
  if (argc > 2 && !quic_napi_is_nullish(env, argv[2]) && !quic_napi_get_double(env, argv[2], &pid)) return NULL;
  uv_loop_t *loop;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  binding_endpoint *be = be_new(env, argv[1]);
  if (be == NULL) return NULL;
  int err = 0;
  int rv = pid > 0 ? quic_wrap_join_process(&be->wrap, loop, (uint32_t)pid, (uint64_t)id, deliver, on_wrap_closed,
                                            be, &err)
                   : quic_wrap_join(&be->wrap, loop, (uint64_t)id, deliver, on_wrap_closed, be, &err);
  if (rv != QUIC_OK) {
    be->wrap = NULL;
    release_js(be);
    free(be);
    if (rv == QUIC_ERR_NOT_FOUND)
      quic_napi_throw(env, "ERR_INVALID_STATE",
                      "Endpoint.from(): every copy of the shared endpoint has closed (or its process is gone)");
    else if (rv == QUIC_ERR_LIMIT)
      quic_napi_throw(env, "ERR_QUIC_LIMIT", "Endpoint.from(): a port is shared by at most %d endpoints",
                      QUIC_GROUP_MAX_WORKERS);
    else if (rv == QUIC_ERR_SYS)
      quic_napi_throw_sys(env, err, "bind");
    else
      quic_napi_throw_core(env, rv, "Endpoint.from");
    return NULL;
  }
  return be_handle(env, be);
}

static napi_value address_object(napi_env env, const quic_addr *a) {
  char host[64];
  uint16_t port = quic_addr_format(a, host, sizeof(host));
  napi_value o;
  NAPI_CALL(env, napi_create_object(env, &o));
  NAPI_SET(env, o, "address", quic_napi_string(env, host));
  NAPI_SET(env, o, "port", quic_napi_number(env, port));
  NAPI_SET(env, o, "family", quic_napi_string(env, a->u.sa.sa_family == AF_INET6 ? "ipv6" : "ipv4"));
  return o;
}

/* endpointBind(handle) -> { address, port, family } */
static napi_value endpoint_bind(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  binding_endpoint *be = get_be(env, argv[0]);
  if (be == NULL) return NULL;
  int err = 0;
  int rv = quic_wrap_bind(be->wrap, &err);
  if (rv == QUIC_ERR_SYS) {
    quic_napi_throw_sys(env, err, "bind");
    return NULL;
  }
  if (rv == QUIC_ERR_LIMIT) {
    quic_napi_throw(env, "ERR_QUIC_LIMIT", "reusePort: a port is shared by at most %d endpoints",
                    QUIC_GROUP_MAX_WORKERS);
    return NULL;
  }
  if (rv != QUIC_OK) {
    quic_napi_throw_core(env, rv, "bind");
    return NULL;
  }
  quic_endpoint *ep = be->wrap->ep;
  napi_value o = address_object(env, &ep->udp.local);
  if (o != NULL && ep->cfg.rp_name_len > 0) {
    /* A reusePort member: its worker index, and whether the kernel steers. */
    NAPI_SET(env, o, "worker", quic_napi_number(env, ep->worker));
    napi_value b;
    NAPI_CALL(env, napi_get_boolean(env, ep->steered, &b));
    NAPI_SET(env, o, "steered", b);
  }
  return o;
}

/* endpointListen(handle, sessionOptions, tls) */
static napi_value endpoint_listen(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 3);
  binding_endpoint *be = get_be(env, argv[0]);
  if (be == NULL) return NULL;
  quic_session_config cfg;
  if (!quic_binding_session_config(env, argv[1], argv[2], true, &cfg)) return NULL;
  int rv = quic_wrap_listen(be->wrap, &cfg);
  quic_session_config_clear(&cfg);
  if (rv != QUIC_OK) {
    quic_napi_throw_core(env, rv, "listen");
    return NULL;
  }
  return quic_napi_undefined(env);
}

/* endpointConnect(handle, host, port, sessionOptions, tls[, ticket, params, appParams]) -> [session handle, key]
 * appParams: the server's WebTransport SETTINGS remembered with the ticket. */
static napi_value endpoint_connect(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 8);
  binding_endpoint *be = get_be(env, argv[0]);
  if (be == NULL) return NULL;
  if (be->wrap->closing) {
    quic_napi_throw(env, "ERR_INVALID_STATE", "Endpoint is closing");
    return NULL;
  }
  char *host = NULL;
  double port;
  if (!quic_napi_get_string(env, argv[1], &host) || !quic_napi_get_double(env, argv[2], &port)) return NULL;
  quic_addr remote;
  int rv = quic_addr_parse(&remote, host ? host : "", (uint16_t)port);
  quic_free(host);
  if (rv != QUIC_OK) {
    quic_napi_throw(env, "ERR_INVALID_ARG_VALUE", "address must be an IPv4 or IPv6 address");
    return NULL;
  }
  quic_endpoint *ep = be->wrap->ep;
  if (ep->udp.local.u.sa.sa_family == AF_INET && remote.u.sa.sa_family == AF_INET6) {
    quic_napi_throw(env, "ERR_INVALID_ARG_VALUE", "cannot reach an IPv6 address from an IPv4 endpoint");
    return NULL;
  }
  if (ep->udp.local.u.sa.sa_family == AF_INET6 && remote.u.sa.sa_family == AF_INET) {
    /* Dual-stack socket: speak IPv4 through a mapped address. */
    struct sockaddr_in in = remote.u.in;
    memset(&remote, 0, sizeof(remote));
    remote.u.in6.sin6_family = AF_INET6;
    remote.u.in6.sin6_port = in.sin_port;
    remote.u.in6.sin6_addr.s6_addr[10] = 0xff;
    remote.u.in6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&remote.u.in6.sin6_addr.s6_addr[12], &in.sin_addr, 4);
    remote.len = sizeof(struct sockaddr_in6);
  }
  quic_session_config cfg;
  if (!quic_binding_session_config(env, argv[3], argv[4], false, &cfg)) return NULL;
  if (quic_endpoint_in_group(ep) && cfg.scidlen > 0) {
    /* The server's packets to a chosen ID would be steered by its first
     * octet to whichever copy that names. */
    quic_session_config_clear(&cfg);
    quic_napi_throw(env, "ERR_QUIC_UNSUPPORTED",
                    "options.scid on a shared Endpoint is not supported: the worker index must be in every ID it "
                    "receives on");
    return NULL;
  }
  quic_resume resume = {0};
  const uint8_t *app = NULL;
  size_t app_len = 0;
  if ((argc > 5 && !quic_napi_is_nullish(env, argv[5]) &&
       !quic_napi_get_bytes(env, argv[5], &resume.ticket, &resume.ticket_len)) ||
      (argc > 6 && !quic_napi_is_nullish(env, argv[6]) &&
       !quic_napi_get_bytes(env, argv[6], &resume.params, &resume.params_len)) ||
      (argc > 7 && !quic_napi_is_nullish(env, argv[7]) && !quic_napi_get_bytes(env, argv[7], &app, &app_len))) {
    quic_session_config_clear(&cfg);
    return NULL;
  }
  quic_session *s = NULL;
  rv = quic_wrap_connect(be->wrap, &s, &remote, &cfg, &resume);
  bool chosen_scid = cfg.scidlen > 0;
  quic_session_config_clear(&cfg);
  if (rv == QUIC_ERR_INVALID && chosen_scid) {
    quic_napi_throw(env, "ERR_INVALID_ARG_VALUE", "connect: options.scid is in use by another session of this endpoint");
    return NULL;
  }
  if (rv != QUIC_OK) {
    quic_napi_throw_core(env, rv, "connect");
    return NULL;
  }
  /* A resumed HTTP/3 client goes by the remembered SETTINGS in 0-RTT. */
  if (app_len) quic_wt_api_remember(s, app, app_len);
  napi_value h = quic_binding_session_handle(env, s);
  if (h == NULL) {
    quic_session_destroy(s);
    return NULL;
  }
  napi_value arr;
  NAPI_CALL(env, napi_create_array_with_length(env, 2, &arr));
  NAPI_CALL(env, napi_set_element(env, arr, 0, h));
  NAPI_CALL(env, napi_set_element(env, arr, 1, quic_napi_number(env, s->key)));
  return arr;
}

static napi_value endpoint_close(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  binding_endpoint *be = get_be(env, argv[0]);
  if (be == NULL) return NULL;
  quic_wrap_close(be->wrap);
  return quic_napi_undefined(env);
}

static napi_value endpoint_destroy(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || p == NULL) {
    quic_napi_throw(env, "ERR_INVALID_ARG_TYPE", "invalid endpoint handle");
    return NULL;
  }
  binding_endpoint *be = p;
  if (be->wrap) {
    /* No more events: JS has settled everything itself. */
    be->wrap->deliver = NULL;
    quic_wrap_destroy(be->wrap);
  }
  return quic_napi_undefined(env);
}

/* endpointStats(handle) -> ArrayBuffer over the counters the core writes
 * in place (asked once per Endpoint; reads never come back here). */
static napi_value endpoint_stats(napi_env env, napi_callback_info info) {
  NAPI_ARGS(env, info, 1);
  binding_endpoint *be = get_be(env, argv[0]);
  if (be == NULL) return NULL;
  quic_endpoint *ep = be->wrap->ep;
  void *d = quic_stats_share(ep->counters, &ep->counters_inline, sizeof(ep->counters_inline));
  if (d) ep->counters = d;
  return quic_napi_stats_buffer(env, d, sizeof(ep->counters_inline));
}

bool quic_binding_init_endpoint(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"endpointCreate", NULL, endpoint_create, NULL, NULL, NULL, napi_default, NULL},
      {"endpointBind", NULL, endpoint_bind, NULL, NULL, NULL, napi_default, NULL},
      {"endpointShare", NULL, endpoint_share, NULL, NULL, NULL, napi_default, NULL},
      {"endpointJoin", NULL, endpoint_join, NULL, NULL, NULL, napi_default, NULL},
      {"endpointListen", NULL, endpoint_listen, NULL, NULL, NULL, napi_default, NULL},
      {"endpointConnect", NULL, endpoint_connect, NULL, NULL, NULL, napi_default, NULL},
      {"endpointClose", NULL, endpoint_close, NULL, NULL, NULL, napi_default, NULL},
      {"endpointDestroy", NULL, endpoint_destroy, NULL, NULL, NULL, napi_default, NULL},
      {"endpointStats", NULL, endpoint_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  NAPI_CALL_BOOL(env, napi_define_properties(env, exports, QUIC_ARRAY_LEN(props), props));
  return true;
}

/* WebTransport over HTTP/3: the wire layer http3.c calls (webtransport.h). */
#include "webtransport.h"

#include <string.h>

#include "mem.h"
#include "session.h"
#include "session_internal.h"
#include "stream.h"

/* ---- varints and codes ---- */

size_t quic_varint_len(uint64_t v) { return v < 64 ? 1 : v < 16384 ? 2 : v < 1073741824 ? 4 : 8; }

size_t quic_varint_read(const uint8_t *p, size_t len, uint64_t *v) {
  if (len == 0) return 0;
  size_t n = (size_t)1 << (p[0] >> 6);
  if (len < n) return 0;
  uint64_t x = p[0] & 0x3f;
  for (size_t i = 1; i < n; i++) x = (x << 8) | p[i];
  *v = x;
  return n;
}

size_t quic_varint_write(uint8_t *buf, uint64_t v) {
  size_t n = quic_varint_len(v);
  static const uint8_t prefix[] = {0, 0x40, 0, 0x80, 0, 0, 0, 0xc0};
  for (size_t i = 0; i < n; i++) buf[n - 1 - i] = (uint8_t)(v >> (8 * i));
  buf[0] |= prefix[n - 1];
  return n;
}

#define WT_CODE_FIRST 0x52e4a40fa8dbull
#define WT_CODE_LAST 0x52e5ac983162ull

uint64_t quic_wt_code_to_h3(uint32_t code) { return WT_CODE_FIRST + code + code / 0x1e; }

bool quic_wt_code_from_h3(uint64_t h3, uint32_t *code) {
  if (h3 < WT_CODE_FIRST || h3 > WT_CODE_LAST) return false;
  if ((h3 - 0x21) % 0x1f == 0) return false; /* a reserved (greased) codepoint */
  uint64_t shifted = h3 - WT_CODE_FIRST;
  *code = (uint32_t)(shifted - shifted / 0x1f);
  return true;
}

/* ---- lifetime ---- */

/* A peer stream being classified: its first bytes. */
typedef struct wt_cls {
  uint8_t buf[16];
  uint8_t len;
  bool rejected; /* refused (unknown session): its bytes are dropped until it closes */
} wt_cls;

int quic_wt_init(quic_wt *wt, quic_session *s, uint32_t max_sessions, int64_t ctrl_id) {
  memset(wt, 0, sizeof(*wt));
  wt->s = s;
  wt->max_sessions = max_sessions;
  wt->ctrl_id = ctrl_id;
  wt->peer_ctrl = -1;
  if (quic_keymap_init(&wt->classify) != QUIC_OK) return QUIC_ERR_NOMEM;
  if (quic_keymap_init(&wt->sessions) != QUIC_OK) {
    quic_keymap_free(&wt->classify);
    return QUIC_ERR_NOMEM;
  }
  return QUIC_OK;
}

/* Frees a session and the datagrams waiting in it. */
static void session_free(quic_wt *wt, quic_wt_session *ws) {
  wt->dgram_in_bytes -= QUIC_MIN(wt->dgram_in_bytes, ws->dgram_in.bytes);
  quic_dgram_clear(&ws->dgram_in);
  quic_free(ws->held);
  quic_free(ws);
}

void quic_wt_free(quic_wt *wt) {
  quic_keymap_entry *e;
  QUIC_KEYMAP_EACH(&wt->classify, e, t1) quic_free(e->ptr);
  QUIC_KEYMAP_EACH(&wt->sessions, e, t2) session_free(wt, e->ptr);
  quic_keymap_free(&wt->classify);
  quic_keymap_free(&wt->sessions);
  quic_free(wt->ctrl_buf);
  quic_free(wt->peer_settings);
  wt->ctrl_buf = NULL;
  wt->peer_settings = NULL;
}

/* ---- our SETTINGS ---- */

/* The settings we add to nghttp3's (which already has ENABLE_CONNECT_PROTOCOL
 * on a server and H3_DATAGRAM 0x33), from both sides: draft-02's enable and
 * the draft-04 datagram codepoint older peers look for; draft-16's
 * SETTINGS_WT_ENABLED (a client sends it too, draft-16 7.1); and the
 * SETTINGS_WT_MAX_SESSIONS of drafts 13 and 14, which Safari requires,
 * with our session limit. No SETTINGS_WT_INITIAL_MAX_*: flow control stays
 * off (draft-16 5.1), so a draft-16 connection carries one session. */
static size_t our_settings(const quic_wt *wt, uint8_t *buf) {
  size_t n = 0;
  n += quic_varint_write(buf + n, QUIC_WT_SETTINGS_ENABLE_DRAFT02);
  n += quic_varint_write(buf + n, 1);
  n += quic_varint_write(buf + n, QUIC_WT_SETTINGS_H3_DATAGRAM_DRAFT04);
  n += quic_varint_write(buf + n, 1);
  n += quic_varint_write(buf + n, QUIC_WT_SETTINGS_WT_ENABLED);
  n += quic_varint_write(buf + n, 1);
  n += quic_varint_write(buf + n, QUIC_WT_SETTINGS_WT_MAX_SESSIONS);
  n += quic_varint_write(buf + n, wt->max_sessions);
  return n;
}

int quic_wt_ctrl_out(quic_wt *wt, quic_app_out *o) {
  if (o->id != wt->ctrl_id || wt->splice == 2 || o->nvec == 0) return QUIC_OK;
  if (wt->splice == 0) {
    /* nghttp3's first write on the control stream: the stream type and
     * its SETTINGS frame (RFC 9114 6.2.1: the frame comes first). */
    uint8_t flat[512];
    size_t flen = 0;
    for (size_t i = 0; i < o->nvec && flen < sizeof(flat); i++) {
      size_t k = QUIC_MIN(o->vec[i].len, sizeof(flat) - flen);
      memcpy(flat + flen, o->vec[i].base, k);
      flen += k;
    }
    uint64_t type, ftype, flen_payload;
    size_t n0 = quic_varint_read(flat, flen, &type);
    size_t n1 = n0 ? quic_varint_read(flat + n0, flen - n0, &ftype) : 0;
    size_t n2 = n1 ? quic_varint_read(flat + n0 + n1, flen - n0 - n1, &flen_payload) : 0;
    size_t head = n0 + n1 + n2;
    if (!n2 || type != 0 || ftype != 4 || flen_payload > flen - head) {
      wt->splice = 2; /* not what nghttp3 writes: leave its bytes alone */
      return QUIC_OK;
    }
    uint8_t extra[48];
    size_t elen = our_settings(wt, extra);
    uint64_t newlen = flen_payload + elen;
    size_t total = n0 + n1 + quic_varint_len(newlen) + (size_t)newlen;
    uint8_t *b = quic_malloc(total);
    if (b == NULL) return QUIC_ERR_NOMEM;
    size_t k = 0;
    memcpy(b, flat, n0 + n1);
    k = n0 + n1;
    k += quic_varint_write(b + k, newlen);
    memcpy(b + k, flat + head, (size_t)flen_payload);
    k += (size_t)flen_payload;
    memcpy(b + k, extra, elen);
    k += elen;
    wt->ctrl_buf = b;
    wt->ctrl_len = k;
    wt->ctrl_orig = head + (size_t)flen_payload;
    wt->ctrl_sent = 0;
    wt->splice = 1;
  }
  /* Ours goes out alone; nghttp3 is told of its bytes once ours are all taken. */
  o->vec[0].base = wt->ctrl_buf + wt->ctrl_sent;
  o->vec[0].len = wt->ctrl_len - wt->ctrl_sent;
  o->nvec = 1;
  o->fin = false;
  return QUIC_OK;
}

size_t quic_wt_ctrl_wrote(quic_wt *wt, size_t n) {
  if (wt->splice != 1) return n;
  wt->ctrl_sent += n;
  if (wt->ctrl_sent < wt->ctrl_len) return 0;
  wt->splice = 2;
  return wt->ctrl_orig;
}

uint64_t quic_wt_ctrl_acked(quic_wt *wt, uint64_t len) {
  wt->ctrl_acked += len;
  uint64_t target = wt->ctrl_acked < wt->ctrl_len ? 0 : wt->ctrl_acked - wt->ctrl_len + wt->ctrl_orig;
  if (target < wt->ctrl_acked_h3) target = wt->ctrl_acked_h3;
  uint64_t delta = target - wt->ctrl_acked_h3;
  wt->ctrl_acked_h3 = target;
  /* ngtcp2 may resend from our buffer until it is acknowledged. */
  if (wt->ctrl_buf && wt->splice == 2 && wt->ctrl_acked >= wt->ctrl_len) {
    quic_free(wt->ctrl_buf);
    wt->ctrl_buf = NULL;
  }
  return delta;
}

/* ---- peer streams ---- */

int quic_wt_stream_open(quic_wt *wt, int64_t id) {
  bool created;
  quic_keymap_entry *e = quic_keymap_put(&wt->classify, &id, sizeof(id), &created);
  if (e == NULL) return QUIC_ERR_NOMEM;
  if (!created) return QUIC_OK;
  e->ptr = quic_calloc(1, sizeof(wt_cls));
  if (e->ptr == NULL) {
    quic_keymap_del(&wt->classify, e);
    return QUIC_ERR_NOMEM;
  }
  return QUIC_OK;
}

bool quic_wt_classifying(quic_wt *wt, int64_t id) { return quic_keymap_get(&wt->classify, &id, sizeof(id)) != NULL; }

void quic_wt_stream_gone(quic_wt *wt, int64_t id) {
  quic_keymap_entry *e = quic_keymap_get(&wt->classify, &id, sizeof(id));
  if (e == NULL) return;
  quic_free(e->ptr);
  quic_keymap_del(&wt->classify, e);
}

int quic_wt_classify(quic_wt *wt, int64_t id, const uint8_t *data, size_t len, size_t *used, uint8_t *prefix,
                     size_t *prefix_len, uint64_t *session_id) {
  quic_keymap_entry *e = quic_keymap_get(&wt->classify, &id, sizeof(id));
  wt_cls *c = e->ptr;
  if (c->rejected) {
    *used = len;
    return QUIC_WT_CLASS_REJECTED;
  }
  size_t take = QUIC_MIN(len, sizeof(c->buf) - c->len);
  /* A FIN with no data comes as (NULL, 0): nothing to copy. */
  if (take) memcpy(c->buf + c->len, data, take);
  c->len = (uint8_t)(c->len + take);
  *used = take;
  uint64_t type;
  size_t n1 = quic_varint_read(c->buf, c->len, &type);
  if (n1 == 0) return QUIC_WT_CLASS_MORE;
  bool uni = !ngtcp2_is_bidi_stream(id);
  if (type != (uni ? QUIC_WT_STREAM_UNI : QUIC_WT_STREAM_BIDI)) {
    memcpy(prefix, c->buf, c->len);
    *prefix_len = c->len;
    bool ok = true;
    if (uni && type == 0x00 && wt->peer_ctrl < 0) {
      wt->peer_ctrl = id;
      ok = quic_wt_peer_control(wt, id, c->buf + n1, c->len - n1);
    }
    quic_wt_stream_gone(wt, id);
    return ok ? QUIC_WT_CLASS_H3 : QUIC_WT_CLASS_SETTINGS_ERROR;
  }
  uint64_t sid;
  size_t n2 = quic_varint_read(c->buf + n1, c->len - n1, &sid);
  if (n2 == 0) return QUIC_WT_CLASS_MORE;
  /* Bytes buffered past the prefix came from this call's data. */
  *used = take - (c->len - (n1 + n2));
  *session_id = sid;
  /* A session ID is a client-initiated bidirectional stream's (draft-16 4:
   * anything else closes the connection with H3_ID_ERROR). */
  if ((sid & 3) != 0) {
    c->rejected = true;
    *used = len;
    return QUIC_WT_CLASS_ID_ERROR;
  }
  quic_wt_session *ws = quic_wt_session_get(wt, (int64_t)sid);
  if (ws == NULL || ws->state != QUIC_WT_OPEN) {
    /* For no session we have open (draft-02 4.5: we buffer none). */
    c->rejected = true;
    wt->streams_rejected++;
    *used = len;
    return QUIC_WT_CLASS_REJECTED;
  }
  if (wt->max_streams && ws->peer_streams >= wt->max_streams) {
    c->rejected = true;
    wt->streams_rejected++;
    *used = len;
    return QUIC_WT_CLASS_LIMITED;
  }
  ws->peer_streams++;
  *prefix_len = n1 + n2;
  quic_wt_stream_gone(wt, id);
  return QUIC_WT_CLASS_WT;
}

void quic_wt_peer_stream_gone(quic_wt *wt, int64_t session_id) {
  quic_wt_session *ws = quic_wt_session_get(wt, session_id);
  if (ws && ws->peer_streams) ws->peer_streams--;
}

bool quic_wt_peer_control(quic_wt *wt, int64_t id, const uint8_t *data, size_t len) {
  if (id != wt->peer_ctrl || wt->peer_settings_done || len == 0) return true;
  size_t cap = 16 + QUIC_WT_SETTINGS_MAX;
  if (wt->peer_settings == NULL && (wt->peer_settings = quic_malloc(cap)) == NULL) {
    wt->peer_settings_done = true;
    return true;
  }
  size_t take = QUIC_MIN(len, cap - wt->peer_settings_len);
  memcpy(wt->peer_settings + wt->peer_settings_len, data, take);
  wt->peer_settings_len += take;
  const uint8_t *p = wt->peer_settings;
  size_t n = wt->peer_settings_len;
  uint64_t ftype, flen;
  size_t n1 = quic_varint_read(p, n, &ftype);
  size_t n2 = n1 ? quic_varint_read(p + n1, n - n1, &flen) : 0;
  if (n2 == 0) return true; /* more */
  bool done = ftype != 4 || flen > QUIC_WT_SETTINGS_MAX;
  if (!done && n - n1 - n2 < flen) return true; /* more */
  bool bad = false;
  if (!done) {
    const uint8_t *q = p + n1 + n2, *end = q + flen;
    while (q < end) {
      uint64_t sid, val;
      size_t a = quic_varint_read(q, (size_t)(end - q), &sid);
      size_t b = a ? quic_varint_read(q + a, (size_t)(end - q) - a, &val) : 0;
      if (b == 0) break; /* malformed: nghttp3 closes the connection */
      q += a + b;
      if (sid == QUIC_WT_SETTINGS_ENABLE_DRAFT02 && val == 1) wt->peer_wt = true;
      if (sid == QUIC_WT_SETTINGS_WT_ENABLED) {
        /* draft-16 3.1: 1 is this version; a client treats more as
         * H3_SETTINGS_ERROR (a server just does not see it enabled). */
        if (val == 1) wt->peer_wt16 = true;
        else if (val > 1 && wt->s && !wt->s->server) bad = true;
      }
      if ((sid == QUIC_WT_SETTINGS_H3_DATAGRAM || sid == QUIC_WT_SETTINGS_H3_DATAGRAM_DRAFT04) && val == 1)
        wt->peer_dgram = true;
    }
  }
  wt->peer_settings_done = true;
  quic_free(wt->peer_settings);
  wt->peer_settings = NULL;
  /* RFC 9114 7.2.4.2: a server that accepted our 0-RTT must not take back
   * what we sent it by (draft-16 3.2 says the same of WebTransport's). */
  uint32_t now = quic_wt_peer_versions(wt);
  if (wt->remembered && wt->s && !wt->s->server && quic_session_early_data(wt->s) &&
      (wt->remembered & now) != wt->remembered)
    bad = true;
  /* A client waits for them before its CONNECT (RFC 9220 3). */
  if (wt->s) quic_session_notify(wt->s, QUIC_EV_WT_SETTINGS);
  return !bad;
}

uint32_t quic_wt_peer_versions(const quic_wt *wt) {
  if (!wt->peer_settings_done) return wt->remembered;
  return (wt->peer_wt ? QUIC_WT_DRAFT02 : 0u) | (wt->peer_wt16 && wt->peer_dgram ? QUIC_WT_DRAFT16 : 0u);
}

/* ---- sessions ---- */

int quic_wt_session_add(quic_wt *wt, int64_t id, uint32_t stream_key, uint8_t version) {
  if (wt->live_sessions >= wt->max_sessions) return QUIC_ERR_LIMIT;
  bool created;
  quic_keymap_entry *e = quic_keymap_put(&wt->sessions, &id, sizeof(id), &created);
  if (e == NULL) return QUIC_ERR_NOMEM;
  if (!created) return QUIC_ERR_STATE;
  quic_wt_session *ws = quic_calloc(1, sizeof(*ws));
  if (ws == NULL) {
    quic_keymap_del(&wt->sessions, e);
    return QUIC_ERR_NOMEM;
  }
  ws->id = id;
  ws->stream_key = stream_key;
  ws->version = version;
  ws->in_hwm = QUIC_WT_DGRAM_IN_HWM;
  ws->out_hwm = QUIC_WT_DGRAM_OUT_HWM;
  e->ptr = ws;
  wt->live_sessions++;
  return QUIC_OK;
}

uint32_t quic_wt_sessions_of(quic_wt *wt, uint8_t v) {
  uint32_t n = 0;
  quic_keymap_entry *e;
  QUIC_KEYMAP_EACH(&wt->sessions, e, tmp) {
    const quic_wt_session *ws = e->ptr;
    if (ws->version == v) n++;
  }
  return n;
}

quic_wt_session *quic_wt_session_get(quic_wt *wt, int64_t id) {
  quic_keymap_entry *e = quic_keymap_get(&wt->sessions, &id, sizeof(id));
  return e ? e->ptr : NULL;
}

void quic_wt_reset_streams(quic_wt *wt, int64_t id) {
  quic_session *s = wt->s;
  quic_keymap_entry *e;
  QUIC_KEYMAP_EACH(&s->streams, e, tmp) {
    quic_stream *st = e->ptr;
    if (!(st->flags & QUIC_STREAM_WT) || st->wt_session != id || st->id < 0 || (st->flags & QUIC_STREAM_CLOSED))
      continue;
    quic_stream_abort(st, QUIC_WT_SESSION_GONE, true, true);
  }
}

void quic_wt_session_gone(quic_wt *wt, int64_t id) {
  quic_keymap_entry *e = quic_keymap_get(&wt->sessions, &id, sizeof(id));
  if (e == NULL) return;
  quic_wt_session *ws = e->ptr;
  quic_stream *st = quic_session_stream(wt->s, ws->stream_key);
  if (st && !ws->close_received) {
    /* Gone without a close: the application hears it as an abrupt end. */
    st->wt_close_code = 0;
    st->wt_close_clean = false;
    quic_session_stream_event(st, QUIC_SEV_WT_CLOSE);
  }
  if (wt->s->state < QUIC_SESSION_CLOSING) quic_wt_reset_streams(wt, id);
  session_free(wt, ws);
  quic_keymap_del(&wt->sessions, e);
  wt->live_sessions--;
}

size_t quic_wt_capsule(uint8_t *buf, uint64_t type, const uint8_t *payload, size_t len) {
  size_t n = quic_varint_write(buf, type);
  n += quic_varint_write(buf + n, len);
  if (len) memcpy(buf + n, payload, len);
  return n + len;
}

/* RFC 3629: well-formed UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF). */
static bool utf8_valid(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    size_t k;
    uint32_t min, v;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      k = 1, min = 0x80, v = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      k = 2, min = 0x800, v = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      k = 3, min = 0x10000, v = c & 0x07;
    } else {
      return false;
    }
    if (n - i <= k) return false;
    for (size_t j = 1; j <= k; j++) {
      if ((p[i + j] & 0xc0) != 0x80) return false;
      v = v << 6 | (p[i + j] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return false;
    i += k + 1;
  }
  return true;
}

/* A whole capsule was read. False: malformed (draft-16 6: a close reason
 * that is not UTF-8). */
static bool capsule_done(quic_wt_session *ws, quic_stream *st) {
  ws->in_capsule = false;
  if (ws->cap_type == QUIC_WT_CAPSULE_CLOSE) {
    const uint8_t *p = ws->cap_buf;
    size_t rlen = (size_t)ws->cap_len - 4;
    if (ws->version == QUIC_WT_DRAFT16 && !utf8_valid(p + 4, rlen)) return false;
    ws->close_code = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (!ws->close_received) {
      ws->close_received = true;
      st->wt_close_code = ws->close_code;
      st->wt_close_clean = true;
      /* Kept on the stream: the session's record may go before the
       * application reads it. No memory: the close arrives without it. */
      quic_free(st->wt_reason);
      st->wt_reason = quic_malloc(rlen + 1);
      if (st->wt_reason) {
        memcpy(st->wt_reason, p + 4, rlen);
        st->wt_reason[rlen] = 0;
        st->wt_reason_len = rlen;
      }
      quic_session_stream_event(st, QUIC_SEV_WT_CLOSE);
    }
  } else if (ws->cap_type == QUIC_WT_CAPSULE_DRAIN && !ws->drain_received) {
    ws->drain_received = true;
    quic_session_stream_event(st, QUIC_SEV_WT_DRAIN);
  }
  /* Anything else, the flow-control capsules of draft-16 5.6 included, is
   * skipped: flow control is not enabled here, and then they are ignored
   * (draft-16 5.1). */
  return true;
}

bool quic_wt_capsules(quic_wt *wt, quic_wt_session *ws, quic_stream *st, const uint8_t *data, size_t len,
                      bool fin) {
  if (ws->hold) {
    /* Before our 2xx: kept, not read (draft-16 3.2). */
    if (len > QUIC_WT_HELD_MAX - ws->held_len) {
      wt->capsule_errors++;
      return false;
    }
    if (len) {
      if (ws->held == NULL && (ws->held = quic_malloc(QUIC_WT_HELD_MAX)) == NULL) {
        wt->capsule_errors++;
        return false;
      }
      memcpy(ws->held + ws->held_len, data, len);
      ws->held_len += len;
    }
    ws->held_fin = ws->held_fin || fin;
    return true;
  }
  size_t i = 0;
  for (;;) {
    if (!ws->in_capsule) {
      if (i >= len) break;
      /* Nothing may follow a close (draft-16 6: H3_MESSAGE_ERROR). */
      if (ws->close_received) {
        wt->capsule_errors++;
        return false;
      }
      ws->hdr[ws->hdr_len++] = data[i++];
      uint64_t t, l;
      size_t n1 = quic_varint_read(ws->hdr, ws->hdr_len, &t);
      size_t n2 = n1 ? quic_varint_read(ws->hdr + n1, ws->hdr_len - n1, &l) : 0;
      if (n2 == 0) continue;
      ws->hdr_len = 0;
      ws->cap_type = t;
      ws->cap_len = l;
      ws->cap_have = 0;
      ws->in_capsule = true;
      if ((t == QUIC_WT_CAPSULE_CLOSE && (l < 4 || l > 4 + QUIC_WT_REASON_MAX)) ||
          (t == QUIC_WT_CAPSULE_DRAIN && l != 0)) {
        wt->capsule_errors++;
        return false;
      }
    }
    size_t take = (size_t)QUIC_MIN((uint64_t)(len - i), ws->cap_len - ws->cap_have);
    if (ws->cap_type == QUIC_WT_CAPSULE_CLOSE) memcpy(ws->cap_buf + ws->cap_have, data + i, take);
    ws->cap_have += take;
    i += take;
    if (ws->cap_have < ws->cap_len) break; /* the rest of this capsule comes later */
    if (!capsule_done(ws, st)) {
      wt->capsule_errors++;
      return false;
    }
  }
  if (fin) {
    if (ws->in_capsule || ws->hdr_len) {
      wt->capsule_errors++;
      return false; /* a capsule cut short */
    }
    if (!ws->close_received) {
      /* A clean end without CLOSE_WEBTRANSPORT_SESSION: code 0, no reason. */
      ws->close_received = true;
      st->wt_close_code = 0;
      st->wt_close_clean = true;
      quic_session_stream_event(st, QUIC_SEV_WT_CLOSE);
    }
  }
  return true;
}

bool quic_wt_release_held(quic_wt *wt, quic_wt_session *ws, quic_stream *st) {
  if (!ws->hold) return true;
  ws->hold = false;
  uint8_t *held = ws->held;
  ws->held = NULL;
  bool ok = held == NULL && !ws->held_fin ? true : quic_wt_capsules(wt, ws, st, held, ws->held_len, ws->held_fin);
  quic_free(held);
  ws->held_len = 0;
  return ok;
}

/* ---- datagrams ---- */

bool quic_wt_datagram_in(quic_wt *wt, const uint8_t *data, size_t len, uint64_t *session_id, size_t *off) {
  uint64_t q;
  size_t n = quic_varint_read(data, len, &q);
  quic_wt_session *ws = n && q < ((uint64_t)1 << 60) ? quic_wt_session_get(wt, (int64_t)(q * 4)) : NULL;
  if (ws == NULL || ws->state != QUIC_WT_OPEN) {
    wt->datagrams_dropped++;
    return false;
  }
  *session_id = q * 4;
  *off = n;
  return true;
}

void quic_wt_datagrams_expire(quic_wt *wt, quic_wt_session *ws, uint64_t now) {
  if (ws->in_max_age == 0) return;
  while (ws->dgram_in.head && now - ws->dgram_in.head->at > ws->in_max_age) {
    wt->dgram_in_bytes -= QUIC_MIN(wt->dgram_in_bytes, sizeof(quic_dgram) + ws->dgram_in.head->len);
    quic_dgram_pop(&ws->dgram_in);
    ws->dstats.expired_in++;
  }
}

bool quic_wt_datagram_keep(quic_wt *wt, quic_dgram *d, uint64_t now) {
  quic_wt_session *ws = quic_wt_session_get(wt, d->flow);
  if (ws == NULL || ws->state != QUIC_WT_OPEN) {
    wt->datagrams_dropped++;
    quic_free(d);
    return false;
  }
  quic_wt_datagrams_expire(wt, ws, now);
  size_t size = sizeof(*d) + d->len;
  /* A full queue drops what arrives (the seed's size-bound queue): the
   * datagrams already waiting are not displaced. */
  if (ws->dgram_in.count >= ws->in_hwm || wt->dgram_in_bytes + size > QUIC_WT_DGRAM_IN_BYTES) {
    ws->dstats.dropped_in++;
    quic_free(d);
    return false;
  }
  quic_dgram_push(&ws->dgram_in, d);
  wt->dgram_in_bytes += size;
  ws->dstats.received++;
  return true;
}

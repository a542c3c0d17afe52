/* TLS handshake messages read as bytes, without GnuTLS: what the ClientHello
 * pause shows the application, and message boundaries after GnuTLS's
 * session is gone. GnuTLS still judges every message it is given. */
#include "tls_parse.h"

#include <string.h>

static uint32_t get_be(const uint8_t *p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

int quic_tls_hello_complete(const uint8_t *data, size_t len) {
  if (len >= 1 && data[0] != 1) return -1; /* handshake type client_hello */
  if (len < 4) return 0;
  return len >= 4 + (size_t)get_be(data + 1, 3) ? 1 : 0;
}

/* A bounds-checked reader over the message. */
typedef struct {
  const uint8_t *p;
  size_t left;
  bool bad;
} reader;

static const uint8_t *take(reader *r, size_t n) {
  if (r->bad || n > r->left) {
    r->bad = true;
    return NULL;
  }
  const uint8_t *p = r->p;
  r->p += n;
  r->left -= n;
  return p;
}

static size_t take_len(reader *r, size_t n) {
  const uint8_t *p = take(r, n);
  return p ? get_be(p, n) : 0;
}

static void parse_hello_body(reader r, quic_tls_hello *out);

void quic_tls_parse_hello(const uint8_t *data, size_t len, quic_tls_hello *out) {
  reader r = {data, len, false};
  take(&r, 4);                          /* type, length */
  parse_hello_body(r, out);
}

void quic_tls_parse_hello_message(const uint8_t *data, size_t len, quic_tls_hello *out) {
  parse_hello_body((reader){data, len, false}, out);
}

static void parse_hello_body(reader r, quic_tls_hello *out) {
  memset(out, 0, sizeof(*out));
  take(&r, 2 + 32);                     /* legacy_version, random */
  take(&r, take_len(&r, 1));            /* legacy_session_id */
  size_t slen = take_len(&r, 2);
  const uint8_t *suites = take(&r, slen);
  if (suites && slen % 2 == 0) {
    out->suites = suites;
    out->nsuites = slen / 2;
  }
  take(&r, take_len(&r, 1));            /* legacy_compression_methods */
  size_t elen = take_len(&r, 2);
  const uint8_t *ext = take(&r, elen);
  if (ext == NULL) return;
  reader e = {ext, elen, false};
  while (e.left && !e.bad) {
    unsigned type = (unsigned)take_len(&e, 2);
    size_t n = take_len(&e, 2);
    const uint8_t *body = take(&e, n);
    if (body == NULL) break;
    reader b = {body, n, false};
    if (type == 0) { /* server_name: the first host_name entry */
      take_len(&b, 2);
      while (b.left && !b.bad) {
        unsigned kind = (unsigned)take_len(&b, 1);
        size_t nl = take_len(&b, 2);
        const uint8_t *name = take(&b, nl);
        if (name && kind == 0 && nl < sizeof(out->servername) && !memchr(name, 0, nl)) {
          memcpy(out->servername, name, nl);
          out->servername[nl] = 0;
          break;
        }
      }
    } else if (type == 5) { /* status_request */
      out->status_request = true;
    } else if (type == 16) { /* application_layer_protocol_negotiation */
      size_t al = take_len(&b, 2);
      const uint8_t *list = take(&b, al);
      if (list) {
        out->alpn = list;
        out->alpnlen = al;
      }
    }
  }
}

const char *quic_tls_suite_name(unsigned code) {
  switch (code) {
  case 0x1301: return "TLS_AES_128_GCM_SHA256";
  case 0x1302: return "TLS_AES_256_GCM_SHA384";
  case 0x1303: return "TLS_CHACHA20_POLY1305_SHA256";
  case 0x1304: return "TLS_AES_128_CCM_SHA256";
  case 0x1305: return "TLS_AES_128_CCM_8_SHA256";
  default: return NULL;
  }
}

bool quic_tls_msg_scan_feed(quic_tls_msg_scan *m, const uint8_t *data, size_t len) {
  bool ok = true;
  while (len) {
    if (m->skip) {
      size_t n = len < m->skip ? len : m->skip;
      m->skip -= (uint32_t)n;
      data += n;
      len -= n;
      continue;
    }
    m->hdr[m->hdr_len++] = *data++;
    len--;
    if (m->hdr_len < 4) continue;
    m->hdr_len = 0;
    if (m->hdr[0] != 4 /* new_session_ticket */) ok = false;
    m->skip = get_be(m->hdr + 1, 3);
  }
  return ok;
}

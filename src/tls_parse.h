/* Parsers of TLS 1.3 handshake messages (plain bytes, no GnuTLS). */
#ifndef QUIC_TLS_PARSE_H
#define QUIC_TLS_PARSE_H

#include "common.h"

/* 1 when data (the start of the Initial CRYPTO stream) holds a whole
 * ClientHello, 0 when more is needed, -1 when it is no ClientHello. */
int quic_tls_hello_complete(const uint8_t *data, size_t len);

/* What the application sees of a held ClientHello; pointers borrow data. */
typedef struct quic_tls_hello {
  char servername[256];       /* SNI host name, or empty */
  const uint8_t *alpn;        /* the client's ALPN list, wire format */
  size_t alpnlen;
  const uint8_t *suites;      /* cipher suite code points, 2 bytes each */
  size_t nsuites;
  bool status_request;        /* the client asked for OCSP stapling */
} quic_tls_hello;
/* Parses a complete ClientHello; fields it cannot read stay empty (GnuTLS
 * judges the message when the handshake resumes). */
void quic_tls_parse_hello(const uint8_t *data, size_t len, quic_tls_hello *out);
/* The same for a ClientHello without its 4-byte handshake header, as
 * GnuTLS's handshake hooks see it. */
void quic_tls_parse_hello_message(const uint8_t *data, size_t len, quic_tls_hello *out);
/* The IANA name of a TLS 1.3 suite code point, or NULL. */
const char *quic_tls_suite_name(unsigned code);

/* Follows the boundaries of handshake messages in a CRYPTO stream from its
 * first byte. */
typedef struct quic_tls_msg_scan {
  uint8_t hdr[4];   /* the message header being read */
  uint8_t hdr_len;
  uint32_t skip;    /* body bytes of the current message still to skip */
} quic_tls_msg_scan;
/* Feeds the next bytes; false if a message among them is not a
 * NewSessionTicket (the only one a server sends after the handshake that a
 * released client may skip). */
bool quic_tls_msg_scan_feed(quic_tls_msg_scan *m, const uint8_t *data, size_t len);

#endif

'use strict';
// Names for the numbers on the wire, so errors can say what happened:
// QUIC transport error codes (RFC 9000 20.1, RFC 9368), TLS alerts (RFC 8446
// 6, RFC 7301, RFC 8446 4.4.2.4), HTTP/3 and QPACK error codes (RFC 9114 8.1,
// RFC 9204 6). A transport error 0x100 + n is the TLS alert n (RFC 9001 4.8).

const TRANSPORT = new Map([
  [0x0, 'NO_ERROR'],
  [0x1, 'INTERNAL_ERROR'],
  [0x2, 'CONNECTION_REFUSED'],
  [0x3, 'FLOW_CONTROL_ERROR'],
  [0x4, 'STREAM_LIMIT_ERROR'],
  [0x5, 'STREAM_STATE_ERROR'],
  [0x6, 'FINAL_SIZE_ERROR'],
  [0x7, 'FRAME_ENCODING_ERROR'],
  [0x8, 'TRANSPORT_PARAMETER_ERROR'],
  [0x9, 'CONNECTION_ID_LIMIT_ERROR'],
  [0xa, 'PROTOCOL_VIOLATION'],
  [0xb, 'INVALID_TOKEN'],
  [0xc, 'APPLICATION_ERROR'],
  [0xd, 'CRYPTO_BUFFER_EXCEEDED'],
  [0xe, 'KEY_UPDATE_ERROR'],
  [0xf, 'AEAD_LIMIT_REACHED'],
  [0x10, 'NO_VIABLE_PATH'],
  [0x11, 'VERSION_NEGOTIATION_ERROR'],
]);

const TLS_ALERTS = new Map([
  [0, 'close_notify'],
  [10, 'unexpected_message'],
  [20, 'bad_record_mac'],
  [22, 'record_overflow'],
  [40, 'handshake_failure'],
  [42, 'bad_certificate'],
  [43, 'unsupported_certificate'],
  [44, 'certificate_revoked'],
  [45, 'certificate_expired'],
  [46, 'certificate_unknown'],
  [47, 'illegal_parameter'],
  [48, 'unknown_ca'],
  [49, 'access_denied'],
  [50, 'decode_error'],
  [51, 'decrypt_error'],
  [70, 'protocol_version'],
  [71, 'insufficient_security'],
  [80, 'internal_error'],
  [86, 'inappropriate_fallback'],
  [90, 'user_canceled'],
  [109, 'missing_extension'],
  [110, 'unsupported_extension'],
  [112, 'unrecognized_name'],
  [113, 'bad_certificate_status_response'],
  [115, 'unknown_psk_identity'],
  [116, 'certificate_required'],
  [120, 'no_application_protocol'],
]);

// What an alert usually means in a QUIC handshake, for the error message
// (certificate alerts are explained by the session, which knows who refused).
const TLS_ALERT_HINTS = new Map([
  [40, 'no cipher suite, group or signature algorithm in common'],
  [70, 'the peer does not speak TLS 1.3'],
  [109, 'a required TLS extension is missing'],
  [112, 'the server does not know the SNI host name it was sent'],
  [116, 'the server requires a client certificate (secure.key and secure.cert)'],
  [120, 'no ALPN protocol in common'],
]);

const HTTP3 = new Map([
  [0x100, 'H3_NO_ERROR'],
  [0x101, 'H3_GENERAL_PROTOCOL_ERROR'],
  [0x102, 'H3_INTERNAL_ERROR'],
  [0x103, 'H3_STREAM_CREATION_ERROR'],
  [0x104, 'H3_CLOSED_CRITICAL_STREAM'],
  [0x105, 'H3_FRAME_UNEXPECTED'],
  [0x106, 'H3_FRAME_ERROR'],
  [0x107, 'H3_EXCESSIVE_LOAD'],
  [0x108, 'H3_ID_ERROR'],
  [0x109, 'H3_SETTINGS_ERROR'],
  [0x10a, 'H3_MISSING_SETTINGS'],
  [0x10b, 'H3_REQUEST_REJECTED'],
  [0x10c, 'H3_REQUEST_CANCELLED'],
  [0x10d, 'H3_REQUEST_INCOMPLETE'],
  [0x10e, 'H3_MESSAGE_ERROR'],
  [0x10f, 'H3_CONNECT_ERROR'],
  [0x110, 'H3_VERSION_FALLBACK'],
  [0x200, 'QPACK_DECOMPRESSION_FAILED'],
  [0x201, 'QPACK_ENCODER_STREAM_ERROR'],
  [0x202, 'QPACK_DECODER_STREAM_ERROR'],
]);

function small(code) {
  return typeof code === 'bigint' && code <= 0xffffn ? Number(code) : -1;
}

// { errorName, tlsAlert, tlsAlertName } for a transport error code.
function transportName(code) {
  const n = small(code);
  if (n >= 0x100 && n <= 0x1ff) {
    const alert = n - 0x100;
    return { errorName: 'CRYPTO_ERROR', tlsAlert: alert, tlsAlertName: TLS_ALERTS.get(alert) ?? `alert ${alert}` };
  }
  return { errorName: TRANSPORT.get(n) };
}

function http3Name(code) {
  return HTTP3.get(small(code));
}

function alertHint(alert) {
  return TLS_ALERT_HINTS.get(alert);
}

module.exports = { transportName, http3Name, alertHint, TLS_ALERTS, TRANSPORT, HTTP3 };

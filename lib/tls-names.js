'use strict';
// The names Node users give for TLS 1.3 cipher suites, key exchange groups
// and signature algorithms, mapped onto GnuTLS priority items. An unknown
// name is an error here, before anything reaches GnuTLS.
const { codes } = require('./errors');

// IANA TLS 1.3 suites QUIC can use (RFC 9001 5.3: not CCM_8).
const CIPHERS = {
  TLS_AES_128_GCM_SHA256: 'AES-128-GCM',
  TLS_AES_256_GCM_SHA384: 'AES-256-GCM',
  TLS_CHACHA20_POLY1305_SHA256: 'CHACHA20-POLY1305',
  TLS_AES_128_CCM_SHA256: 'AES-128-CCM',
};

// OpenSSL's names and the RFC 8446 / NIST aliases Node accepts.
const GROUPS = {
  X25519: 'X25519',
  X448: 'X448',
  'P-256': 'SECP256R1', prime256v1: 'SECP256R1', secp256r1: 'SECP256R1',
  'P-384': 'SECP384R1', secp384r1: 'SECP384R1',
  'P-521': 'SECP521R1', secp521r1: 'SECP521R1',
  ffdhe2048: 'FFDHE2048', ffdhe3072: 'FFDHE3072', ffdhe4096: 'FFDHE4096', ffdhe6144: 'FFDHE6144',
  ffdhe8192: 'FFDHE8192',
};

// RFC 8446 SignatureScheme names, plus OpenSSL's "ECDSA+SHA256" forms.
const SIGALGS = {
  ecdsa_secp256r1_sha256: 'ECDSA-SECP256R1-SHA256',
  ecdsa_secp384r1_sha384: 'ECDSA-SECP384R1-SHA384',
  ecdsa_secp521r1_sha512: 'ECDSA-SECP521R1-SHA512',
  'ECDSA+SHA256': 'ECDSA-SECP256R1-SHA256',
  'ECDSA+SHA384': 'ECDSA-SECP384R1-SHA384',
  'ECDSA+SHA512': 'ECDSA-SECP521R1-SHA512',
  rsa_pss_rsae_sha256: 'RSA-PSS-RSAE-SHA256',
  rsa_pss_rsae_sha384: 'RSA-PSS-RSAE-SHA384',
  rsa_pss_rsae_sha512: 'RSA-PSS-RSAE-SHA512',
  'RSA-PSS+SHA256': 'RSA-PSS-RSAE-SHA256',
  'RSA-PSS+SHA384': 'RSA-PSS-RSAE-SHA384',
  'RSA-PSS+SHA512': 'RSA-PSS-RSAE-SHA512',
  rsa_pss_pss_sha256: 'RSA-PSS-SHA256',
  rsa_pss_pss_sha384: 'RSA-PSS-SHA384',
  rsa_pss_pss_sha512: 'RSA-PSS-SHA512',
  rsa_pkcs1_sha256: 'RSA-SHA256',
  rsa_pkcs1_sha384: 'RSA-SHA384',
  rsa_pkcs1_sha512: 'RSA-SHA512',
  'RSA+SHA256': 'RSA-SHA256',
  'RSA+SHA384': 'RSA-SHA384',
  'RSA+SHA512': 'RSA-SHA512',
  ed25519: 'EDDSA-ED25519',
  ed448: 'EDDSA-ED448',
};

// "a:b:c" (Node's separator; commas and spaces are accepted too) into a
// list of GnuTLS items, each prefixed.
function mapList(value, name, table, kind, prefix) {
  if (typeof value !== 'string') throw codes.ERR_INVALID_ARG_TYPE(name, 'of type string', value);
  const items = value.split(/[:,\s]+/).filter(Boolean);
  if (items.length === 0) throw codes.ERR_INVALID_ARG_VALUE(name, value, `must name at least one ${kind}`);
  const out = [];
  for (const item of items) {
    const mapped = Object.hasOwn(table, item) ? table[item] : undefined;
    if (mapped === undefined) {
      throw codes.ERR_INVALID_ARG_VALUE(name, value,
        `names an unknown or unsupported ${kind} '${item}' (known: ${Object.keys(table).join(', ')})`);
    }
    if (!out.includes(mapped)) out.push(mapped);
  }
  return out.map((m) => `+${prefix}${m}`);
}

// secure.{ciphers, ecdhCurve, sigalgs} into the priority items appended to
// the TLS 1.3 base string in src/tls.c; undefined when none is given.
function priorityFor(secure, name) {
  const parts = [];
  if (secure.ciphers !== undefined) {
    parts.push('-CIPHER-ALL', ...mapList(secure.ciphers, `${name}.ciphers`, CIPHERS, 'TLS 1.3 cipher suite', ''));
  }
  if (secure.ecdhCurve !== undefined && secure.ecdhCurve !== 'auto') {
    parts.push('-GROUP-ALL', ...mapList(secure.ecdhCurve, `${name}.ecdhCurve`, GROUPS, 'group', 'GROUP-'));
  }
  if (secure.sigalgs !== undefined) {
    parts.push('-SIGN-ALL', ...mapList(secure.sigalgs, `${name}.sigalgs`, SIGALGS, 'signature algorithm', 'SIGN-'));
  }
  return parts.length ? parts.join(':') : undefined;
}

module.exports = { priorityFor, CIPHERS, GROUPS, SIGALGS };

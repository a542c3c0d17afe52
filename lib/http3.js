'use strict';
// HTTP/3 header fields: validation and defaults on the way out, null-
// prototype objects on the way in. Names are lowercased (HTTP/3 forbids
// uppercase), connection-specific fields are refused (RFC 9114 4.2).
const { validateNotRevoked } = require('./validate');
const { codes } = require('./errors');

const C = require('./binding').constants;

const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path', ':protocol']);
const RESPONSE_PSEUDO = new Set([':status']);
const NO_PSEUDO = new Set();
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

const H3_NO_ERROR = 0x100n;
const H3_REQUEST_CANCELLED = 0x10cn;

function isPromise(v) {
  return v != null && typeof v.then === 'function';
}

// Validates a header object and appends its regular fields to `out` as
// flat name, value pairs; returns its pseudo-header fields the same way (null
// when it has none, as responses and trailers mostly do). `kind` is
// 'request', 'response', 'informational' or 'trailers'. One pass and no
// arrays beyond the output: a response is built per request, and the
// intermediate arrays were most of what it allocated.
function collectFields(headers, kind, name, out) {
  if (headers === undefined || headers === null) return null;
  validateNotRevoked(headers, name);
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    throw codes.ERR_INVALID_ARG_TYPE(name, 'an object', headers);
  }
  let pseudo = null;
  const allowed = kind === 'request' ? REQUEST_PSEUDO : kind === 'trailers' ? NO_PSEUDO : RESPONSE_PSEUDO;
  for (const key of Object.keys(headers)) {
    const field = key.toLowerCase();
    const raw = headers[key];
    if (raw === undefined) continue;
    const many = Array.isArray(raw);
    const isPseudo = field.charCodeAt(0) === 58; // ':'
    if (isPseudo) {
      if (!allowed.has(field)) throw codes.ERR_INVALID_ARG_VALUE(`${name}['${key}']`, raw, `is not a valid ${kind} pseudo-header`);
      if (many && raw.length !== 1) throw codes.ERR_INVALID_ARG_VALUE(`${name}['${key}']`, raw, 'must have a single value');
    } else {
      if (!TOKEN.test(field)) throw codes.ERR_INVALID_ARG_VALUE(`${name}['${key}']`, key, 'is not a valid header name');
      if (CONNECTION_SPECIFIC.has(field)) {
        throw codes.ERR_INVALID_ARG_VALUE(`${name}['${key}']`, raw, 'is connection-specific and not allowed in HTTP/3');
      }
      if (field === 'te' && String(many ? raw[0] : raw).toLowerCase() !== 'trailers') {
        throw codes.ERR_INVALID_ARG_VALUE(`${name}['te']`, raw, "may only be 'trailers'");
      }
    }
    const dest = isPseudo ? (pseudo ??= []) : out;
    if (!many) {
      dest.push(field, fieldValue(raw, name, key));
    } else {
      for (const v of raw) dest.push(field, fieldValue(v, name, key));
    }
  }
  return pseudo;
}

function fieldValue(v, name, key) {
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint') {
    throw codes.ERR_INVALID_ARG_TYPE(`${name}['${key}']`, 'a string or number', v);
  }
  const value = typeof v === 'string' ? v : String(v);
  if (BAD_VALUE.test(value)) throw codes.ERR_INVALID_ARG_VALUE(`${name}['${key}']`, value, 'must not contain NUL, CR or LF');
  return value;
}

// The first value of a pseudo-header in a flat list (a repeat, say ':Path'
// beside ':path', is ignored).
function get(pseudo, key) {
  if (pseudo === null) return undefined;
  for (let i = 0; i < pseudo.length; i += 2) if (pseudo[i] === key) return pseudo[i + 1];
  return undefined;
}

// Request defaults: GET https://<authority>/ (DECISIONS: HTTP/3). Each
// builder returns the list in the binding's form (toWire).
function requestFields(headers, authority) {
  const regular = [];
  const pseudo = collectFields(headers, 'request', 'options.headers', regular);
  const method = get(pseudo, ':method') ?? 'GET';
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) {
    throw codes.ERR_INVALID_ARG_VALUE("options.headers[':method']", method, 'is not a valid method');
  }
  const out = [':method', method];
  const protocol = get(pseudo, ':protocol');
  let scheme = get(pseudo, ':scheme');
  let path = get(pseudo, ':path');
  const auth = get(pseudo, ':authority') ?? authority;
  // Plain CONNECT has no :scheme or :path of its own.
  if (method !== 'CONNECT' || protocol !== undefined) {
    scheme ??= 'https';
    path ??= '/';
  }
  if (scheme !== undefined) out.push(':scheme', scheme);
  if (auth !== undefined) out.push(':authority', auth);
  if (path !== undefined) out.push(':path', path);
  if (protocol !== undefined) out.push(':protocol', protocol);
  for (let i = 0; i < regular.length; i++) out.push(regular[i]);
  return toWire(out);
}

// Response and informational blocks: ':status' first, then the fields.
function statusFields(headers, kind, name, dflt) {
  const out = [':status', ''];
  const pseudo = collectFields(headers, 'response', name, out);
  const status = get(pseudo, ':status') ?? dflt;
  const n = Number(status);
  const informational = kind === 'informational';
  // 101 (Switching Protocols) does not exist in HTTP/3 (RFC 9114 4.5).
  if (!Number.isInteger(n) || (informational ? n < 100 || n > 199 || n === 101 : n < 200 || n > 599)) {
    throw codes.ERR_OUT_OF_RANGE(`${name}[':status']`,
                                 informational ? '>= 100 && <= 199, not 101' : '>= 200 && <= 599', String(status));
  }
  out[1] = String(n);
  return toWire(out);
}

const responseFields = (headers) => statusFields(headers, 'final', 'options.headers', 200);
const hintFields = (headers) => statusFields(headers, 'informational', 'options.hints', 103);

function trailerFields(headers) {
  const out = [];
  collectFields(headers, 'trailers', 'options.trailers', out);
  return toWire(out);
}

// The form the binding takes a header list in (src/binding_session.c,
// get_nvlist): one string, each name and value followed by a NUL. Fields
// were checked to hold no NUL.
function toWire(list) {
  return list.length === 0 ? '' : `${list.join('\0')}\0`;
}

// Received fields (each name and value followed by a NUL, as the binding
// hands them over) -> null-prototype object. :status is a number; repeated
// fields become arrays (set-cookie) or are joined: cookie with '; ' (RFC
// 9114 4.2.1), others with ', '.
// Received names as property keys already interned: a fresh string used as
// a key is looked up in V8's string table on every request, a cached one is
// not. Only the first KEY_CACHE_MAX names seen, of at most KEY_NAME_MAX
// characters, are kept (a peer sending random names fills the cache once,
// 16 KB at most, and is then served uncached).
const KEY_CACHE_MAX = 256;
const KEY_NAME_MAX = 64;
const keyCache = new Map();
function fieldKey(name) {
  let key = keyCache.get(name);
  if (key === undefined) {
    key = name;
    if (keyCache.size < KEY_CACHE_MAX && name.length <= KEY_NAME_MAX) {
      key = Object.keys({ [name]: 0 })[0]; // the interned copy
      keyCache.set(key, key);
    }
  }
  return key;
}

function toObject(text) {
  const out = Object.create(null);
  // Scanned in place rather than split: no array of every piece per block.
  for (let i = 0; i < text.length;) {
    const a = text.indexOf('\0', i);
    const b = a < 0 ? -1 : text.indexOf('\0', a + 1);
    if (b < 0) break;
    const name = fieldKey(text.slice(i, a));
    const value = name === ':status' ? Number(text.slice(a + 1, b)) : text.slice(a + 1, b);
    i = b + 1;
    if (!(name in out)) out[name] = value;
    else if (name === 'set-cookie') out[name] = [].concat(out[name], value);
    else out[name] = `${out[name]}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

module.exports = {
  requestFields, responseFields, hintFields, trailerFields, toWire, toObject, isPromise,
  H3_NO_ERROR, H3_REQUEST_CANCELLED, KIND: { INFO: C.HEADERS_INFO, INITIAL: C.HEADERS_INITIAL, TRAILERS: C.HEADERS_TRAILERS },
};

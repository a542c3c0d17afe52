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
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

const H3_NO_ERROR = 0x100n;
const H3_REQUEST_CANCELLED = 0x10cn;

function isPromise(v) {
  return v != null && typeof v.then === 'function';
}

// Object -> flat [name, value, ...] with pseudo-headers first. `kind` is
// 'request', 'response', 'informational' or 'trailers'.
function toFields(headers, kind, name) {
  if (headers === undefined || headers === null) headers = {};
  validateNotRevoked(headers, name);
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    throw codes.ERR_INVALID_ARG_TYPE(name, 'an object', headers);
  }
  const pseudo = [];
  const regular = [];
  const allowed = kind === 'request' ? REQUEST_PSEUDO : kind === 'trailers' ? new Set() : RESPONSE_PSEUDO;
  for (const key of Object.keys(headers)) {
    const field = key.toLowerCase();
    const raw = headers[key];
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    if (field.startsWith(':')) {
      if (!allowed.has(field)) throw codes.ERR_INVALID_ARG_VALUE(`${name}['${key}']`, raw, `is not a valid ${kind} pseudo-header`);
      if (values.length !== 1) throw codes.ERR_INVALID_ARG_VALUE(`${name}['${key}']`, raw, 'must have a single value');
    } else {
      if (!TOKEN.test(field)) throw codes.ERR_INVALID_ARG_VALUE(`${name}['${key}']`, key, 'is not a valid header name');
      if (CONNECTION_SPECIFIC.has(field)) {
        throw codes.ERR_INVALID_ARG_VALUE(`${name}['${key}']`, raw, 'is connection-specific and not allowed in HTTP/3');
      }
      if (field === 'te' && String(values[0]).toLowerCase() !== 'trailers') {
        throw codes.ERR_INVALID_ARG_VALUE(`${name}['te']`, raw, "may only be 'trailers'");
      }
    }
    for (const v of values) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint') {
        throw codes.ERR_INVALID_ARG_TYPE(`${name}['${key}']`, 'a string or number', v);
      }
      const value = String(v);
      if (BAD_VALUE.test(value)) throw codes.ERR_INVALID_ARG_VALUE(`${name}['${key}']`, value, 'must not contain NUL, CR or LF');
      (field.startsWith(':') ? pseudo : regular).push(field, value);
    }
  }
  return { pseudo, regular };
}

function get(fields, key) {
  const i = fields.pseudo.indexOf(key);
  return i >= 0 ? fields.pseudo[i + 1] : undefined;
}

function set(fields, key, value) {
  const i = fields.pseudo.indexOf(key);
  if (i >= 0) fields.pseudo[i + 1] = value;
  else fields.pseudo.push(key, value);
}

// Request defaults: GET https://<authority>/ (DECISIONS: HTTP/3).
function requestFields(headers, authority) {
  const f = toFields(headers, 'request', 'options.headers');
  const method = get(f, ':method') ?? 'GET';
  set(f, ':method', method);
  if (method === 'CONNECT' && get(f, ':protocol') === undefined) {
    if (get(f, ':authority') === undefined) set(f, ':authority', authority);
    // Plain CONNECT has no :scheme or :path.
  } else {
    if (get(f, ':scheme') === undefined) set(f, ':scheme', 'https');
    if (get(f, ':authority') === undefined) set(f, ':authority', authority);
    if (get(f, ':path') === undefined) set(f, ':path', '/');
  }
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) {
    throw codes.ERR_INVALID_ARG_VALUE("options.headers[':method']", method, 'is not a valid method');
  }
  return order(f, [':method', ':scheme', ':authority', ':path', ':protocol']);
}

function order(f, keys) {
  const out = [];
  for (const k of keys) {
    const v = get(f, k);
    if (v !== undefined) out.push(k, v);
  }
  return out.concat(f.regular);
}

function statusFields(headers, kind, name, dflt) {
  const f = toFields(headers, 'response', name);
  let status = get(f, ':status') ?? String(dflt);
  const n = Number(status);
  const informational = kind === 'informational';
  // 101 (Switching Protocols) does not exist in HTTP/3 (RFC 9114 4.5).
  if (!Number.isInteger(n) || (informational ? n < 100 || n > 199 || n === 101 : n < 200 || n > 599)) {
    throw codes.ERR_OUT_OF_RANGE(`${name}[':status']`,
                                 informational ? '>= 100 && <= 199, not 101' : '>= 200 && <= 599', status);
  }
  status = String(n);
  set(f, ':status', status);
  return order(f, [':status']);
}

const responseFields = (headers) => statusFields(headers, 'final', 'options.headers', 200);
const hintFields = (headers) => statusFields(headers, 'informational', 'options.hints', 103);

function trailerFields(headers) {
  const f = toFields(headers, 'trailers', 'options.trailers');
  return f.regular;
}

// Received fields (each name and value followed by a NUL, as the binding
// hands them over) -> null-prototype object. :status is a number; repeated
// fields become arrays (set-cookie) or are joined: cookie with '; ' (RFC
// 9114 4.2.1), others with ', '.
function toObject(text) {
  const out = Object.create(null);
  const flat = text.split('\0');
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i];
    const value = name === ':status' ? Number(flat[i + 1]) : flat[i + 1];
    if (!(name in out)) out[name] = value;
    else if (name === 'set-cookie') out[name] = [].concat(out[name], value);
    else out[name] = `${out[name]}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

module.exports = {
  requestFields, responseFields, hintFields, trailerFields, toObject, isPromise,
  H3_NO_ERROR, H3_REQUEST_CANCELLED, KIND: { INFO: C.HEADERS_INFO, INITIAL: C.HEADERS_INITIAL, TRAILERS: C.HEADERS_TRAILERS },
};

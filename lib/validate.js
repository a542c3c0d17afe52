'use strict';
// Argument validators in the manner of Node's internal/validators.
const { codes } = require('./errors');
const { isArrayBufferView, isAnyArrayBuffer, isProxy } = require('node:util/types');

// A revoked Proxy throws on every use; it is refused up front, by type.
function isRevoked(value) {
  if (!isProxy(value)) return false;
  try {
    Reflect.getPrototypeOf(value);
    return false;
  } catch {
    return true;
  }
}

function validateNotRevoked(value, name) {
  if (isRevoked(value)) throw codes.ERR_INVALID_ARG_TYPE(name, 'a usable value, not a revoked Proxy', value);
}

// Array.isArray throws on a revoked proxy: that is no object we can read.
function isArraySafe(value) {
  try { return Array.isArray(value); } catch { return true; }
}

function validateObject(value, name, { nullable = false } = {}) {
  if ((value === null && !nullable) || typeof value !== 'object' || isArraySafe(value)) {
    if (value === null && nullable) return;
    throw codes.ERR_INVALID_ARG_TYPE(name, 'of type object', value);
  }
}

function validateString(value, name) {
  if (typeof value !== 'string') throw codes.ERR_INVALID_ARG_TYPE(name, 'of type string', value);
}

function validateBoolean(value, name) {
  if (typeof value !== 'boolean') throw codes.ERR_INVALID_ARG_TYPE(name, 'of type boolean', value);
}

function validateFunction(value, name) {
  if (typeof value !== 'function') throw codes.ERR_INVALID_ARG_TYPE(name, 'of type function', value);
}

// Integers arrive as number or bigint; returns a Number (all our limits fit).
function validateInteger(value, name, min = 0, max = Number.MAX_SAFE_INTEGER) {
  if (typeof value === 'bigint') {
    if (value < BigInt(min) || value > BigInt(max)) throw codes.ERR_OUT_OF_RANGE(name, `>= ${min} && <= ${max}`, value);
    return Number(value);
  }
  if (typeof value !== 'number') throw codes.ERR_INVALID_ARG_TYPE(name, 'of type number or bigint', value);
  if (!Number.isInteger(value)) throw codes.ERR_OUT_OF_RANGE(name, 'an integer', value);
  if (value < min || value > max) throw codes.ERR_OUT_OF_RANGE(name, `>= ${min} && <= ${max}`, value);
  return value;
}

function validateProbability(value, name) {
  if (typeof value !== 'number') throw codes.ERR_INVALID_ARG_TYPE(name, 'of type number', value);
  if (!(value >= 0 && value <= 1)) throw codes.ERR_OUT_OF_RANGE(name, '>= 0.0 && <= 1.0', value);
  return value;
}

function isBytes(value) {
  return isArrayBufferView(value) || isAnyArrayBuffer(value);
}

// string | ArrayBuffer | TypedArray | DataView | Buffer -> Buffer (a copy for
// strings; a view otherwise).
function toBuffer(value, name, encoding = 'utf8') {
  if (typeof value === 'string') return Buffer.from(value, encoding);
  if (isArrayBufferView(value) || isAnyArrayBuffer(value)) {
    try {
      if (isAnyArrayBuffer(value)) return Buffer.from(value);
      return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    } catch {
      throw codes.ERR_INVALID_ARG_VALUE(name, value, 'is a detached ArrayBuffer or a view on one');
    }
  }
  throw codes.ERR_INVALID_ARG_TYPE(name, 'a string, ArrayBuffer, TypedArray, DataView or Buffer', value);
}

module.exports = {
  validateNotRevoked, validateObject, validateString, validateBoolean, validateFunction, validateInteger,
  validateProbability, isBytes, toBuffer,
};

'use strict';
// Argument validators in the manner of Node's internal/validators.
const { codes } = require('./errors');
const { isArrayBufferView, isAnyArrayBuffer } = require('node:util/types');

function validateObject(value, name, { nullable = false } = {}) {
  if ((value === null && !nullable) || typeof value !== 'object' || Array.isArray(value)) {
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
  if (Buffer.isBuffer(value)) return value;
  if (isArrayBufferView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (isAnyArrayBuffer(value)) return Buffer.from(value);
  throw codes.ERR_INVALID_ARG_TYPE(name, 'a string, ArrayBuffer, TypedArray, DataView or Buffer', value);
}

module.exports = {
  validateObject, validateString, validateBoolean, validateFunction, validateInteger,
  validateProbability, isBytes, toBuffer,
};

'use strict';
// Shared by the benchmarks: command-line options and medians.
const path = require('node:path');

const args = process.argv.slice(2);

// `--name value` as a number, or the default.
function opt(name, dflt) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The test helpers (certificates, ready-made endpoints) serve the benches too.
const testCommon = path.join(__dirname, '..', 'test', 'common');

module.exports = { args, opt, median, testCommon };

'use strict';
// Runs every test/*.test.js with node:test, one file at a time (the machine
// has two cores and the transfer tests want both), each test bounded.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

// `--stress` runs test/stress/ instead (npm run test:stress): the full-size
// loss, corruption and flood runs, each allowed far longer.
const stress = process.argv.includes('--stress');
const dir = path.join(__dirname, '..', 'test', ...(stress ? ['stress'] : []));
const only = process.argv.slice(2).filter((a) => a !== '--stress');
const files = fs.readdirSync(dir)
  .filter((f) => f.endsWith('.test.js') || f.endsWith('.test.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()
  .map((f) => path.join(dir, f));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// Every file must end with no native memory, handles or sessions left.
const leakCheck = path.join(__dirname, '..', 'test', 'common', 'leak-check.js');
const r = spawnSync(process.execPath,
  ['--require', leakCheck, '--test', '--test-concurrency=1', `--test-timeout=${stress ? 1200000 : 180000}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' });
process.exit(r.status ?? 1);

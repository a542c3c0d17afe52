'use strict';
// Bulk throughput only (the bulk-up and bulk-down cases of run.js):
//   node bench/bulk.js [--peers this,gtls] [--runs 3] [--set mb=50] [--quick]
require('node:child_process').execFileSync(process.execPath, [
  require('node:path').join(__dirname, 'run.js'), '--cases', 'bulk-up,bulk-down', ...process.argv.slice(2),
], { stdio: 'inherit' });

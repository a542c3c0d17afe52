'use strict';
// HTTP/3 requests only (the h3-requests-c50 and h3-requests-10conn cases of run.js):
//   node bench/h3-requests.js [--peers this,node-http2] [--runs 3] [--set requests=5000] [--quick]
require('node:child_process').execFileSync(process.execPath, [
  require('node:path').join(__dirname, 'run.js'), '--cases', 'h3-requests-c50,h3-requests-10conn', ...process.argv.slice(2),
], { stdio: 'inherit' });

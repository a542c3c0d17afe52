'use strict';
// Preloaded into every test file by scripts/test.js (--require). When the
// file's event loop has nothing left to do, the native core must hold no
// memory (the counting allocator behind ngtcp2, nghttp3 and the core), no
// libuv handles, no sessions and no endpoints, and no N-API call may have
// failed where nothing could be thrown (binding.napiFailures(): finalizers,
// event delivery); otherwise the file fails.
const bindingPath = require.resolve('../../lib/binding.js');
let checked = false;

// The counts are the process's: only the main thread can tell (a worker
// thread's copy of this file sees the other threads' live state).
process.on('beforeExit', () => {
  if (checked || !require('node:worker_threads').isMainThread) return;
  const mod = require.cache[bindingPath];
  if (!mod || !mod.loaded) return; // this process never loaded the addon
  checked = true;
  const live = mod.exports.liveMemory();
  const left = ['bytes', 'allocations', 'handles', 'sessions', 'endpoints'].filter((k) => live[k] !== 0);
  if (left.length > 0) {
    process.stderr.write(`leak check: ${process.argv[1]} ended with native state alive: ` +
                         `${JSON.stringify(live)}\n`);
    process.exitCode = 1;
  }
  const failed = mod.exports.napiFailures();
  if (failed.count !== 0) {
    process.stderr.write(`leak check: ${process.argv[1]}: ${failed.count} N-API call(s) failed unreported, ` +
                         `the last ${failed.last}\n`);
    process.exitCode = 1;
  }
});

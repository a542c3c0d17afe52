'use strict';
// `npm run test:asan`: builds the AddressSanitizer + UBSan variant of the
// addon (build-asan/quic.node) and runs the whole suite, or the files named
// on the command line, against it. Node.js is not instrumented, so the ASan
// runtime is preloaded into every Node.js process of the run; peer programs
// the tests start (gtls peers, Chromium, the C compiler) get an environment
// without it (test/common peerEnv()). Leak detection is off for Node.js
// itself (V8 keeps memory to exit by design); our own leaks are caught by the
// counting allocator (test/common/leak-check.js) and by the C core test,
// which runs with LeakSanitizer on.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const b = spawnSync(process.execPath, [path.join(__dirname, 'build-asan.js')], { stdio: 'inherit' });
if (b.status !== 0) process.exit(b.status ?? 1);

const cc = process.env.CC || 'gcc';
const runtime = spawnSync(cc, ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
if (!path.isAbsolute(runtime)) {
  console.error(`test-asan: ${cc} does not know where libasan.so is`);
  process.exit(1);
}

const env = {
  ...process.env,
  QUIC_ADDON_PATH: path.join(root, 'build-asan', 'quic.node'),
  LD_PRELOAD: runtime,
  QUIC_ASAN: '1',
  // halt_on_error: the first report fails the process (and so the test file).
  ASAN_OPTIONS: 'detect_leaks=0:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
};
const r = spawnSync(process.execPath, [path.join(__dirname, 'test.js'), ...process.argv.slice(2)],
  { stdio: 'inherit', env });
process.exit(r.status ?? 1);

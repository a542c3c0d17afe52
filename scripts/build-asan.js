'use strict';
// Builds a second variant of the addon with AddressSanitizer and UBSan into
// build-asan/quic.node (the normal build in build/ is left alone). The same
// sources as binding.gyp, compiled with gcc; Node.js itself is not
// instrumented, so the runtime must be preloaded (scripts/test-asan.js).
const { spawnSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const out = path.join(root, 'build-asan');
const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8'));
const sources = gyp.targets[0].sources;

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

function nodeInclude() {
  const candidates = [process.env.QUIC_NODEDIR, path.join(path.dirname(process.execPath), '..'), '/usr']
    .filter(Boolean).map((d) => path.join(d, 'include', 'node'));
  return candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
}

const cc = process.env.CC || 'gcc';
const pkgs = ['libngtcp2_crypto_gnutls', 'libngtcp2', 'libnghttp3', 'gnutls'];
const include = nodeInclude();
if (!include) {
  console.error('build-asan: Node.js headers not found (run scripts/setup-system.sh)');
  process.exit(1);
}
const sanitize = ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer'];
const cflags = ['-std=c11', '-Wall', '-Wextra', '-Werror', '-O1', '-g', '-fPIC', '-fvisibility=hidden', '-D_GNU_SOURCE',
  '-DNODE_GYP_MODULE_NAME=quic', '-DBUILDING_NODE_EXTENSION', `-I${include}`, ...sanitize,
  ...sh('pkg-config', ['--cflags', ...pkgs]).split(/\s+/).filter(Boolean)];
const libs = sh('pkg-config', ['--libs', ...pkgs]).split(/\s+/).filter(Boolean);

fs.mkdirSync(out, { recursive: true });

// Two compilers at a time: the machine is shared.
async function compileAll() {
  const queue = sources.map((s) => ({ src: path.join(root, s), obj: path.join(out, path.basename(s, '.c') + '.o') }));
  const objs = queue.map((q) => q.obj);
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const { src, obj } = job;
      if (fs.existsSync(obj) && fs.statSync(obj).mtimeMs > newestInput(src)) continue;
      await new Promise((resolve, reject) => {
        const p = spawn(cc, [...cflags, '-c', src, '-o', obj], { stdio: 'inherit' });
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cc} failed on ${src}`))));
      });
    }
  };
  await Promise.all([worker(), worker()]);
  return objs;
}

// A source is stale when it or any header in src/ changed after its object.
let headersTime = 0;
for (const f of fs.readdirSync(path.join(root, 'src'))) {
  if (f.endsWith('.h')) headersTime = Math.max(headersTime, fs.statSync(path.join(root, 'src', f)).mtimeMs);
}
const newestInput = (src) => Math.max(headersTime, fs.statSync(src).mtimeMs, fs.statSync(__filename).mtimeMs);

compileAll().then((objs) => {
  const lib = path.join(out, 'quic.node');
  const r = spawnSync(cc, ['-shared', ...sanitize, '-o', lib, ...objs, ...libs], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  console.log(`build-asan: ${path.relative(root, lib)}`);
}, (err) => {
  console.error(`build-asan: ${err.message}`);
  process.exit(1);
});

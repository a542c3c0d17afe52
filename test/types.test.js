'use strict';
// The TypeScript declarations (index.d.ts, fetch.d.ts, shipped through
// package.json "types" and "exports"): a file that uses every class compiles
// with `tsc --noEmit --strict` (with lib.dom and without it, as in a
// Node-only project), and a file of deliberate misuse fails on exactly the
// lines marked `// error`.
const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { peerEnv } = require('./common');

const dir = path.join(__dirname, 'types');
const root = path.join(__dirname, '..');
const base = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
              '--types', 'node', '--pretty', 'false'];

function tsc(args) {
  // typescript's "exports" hide bin/tsc from require.resolve: find the package.
  let bin;
  try {
    bin = path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  } catch {
    assert.fail('typescript is not installed: run npm install (it is a devDependency)');
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...base, ...args], { cwd: root, env: peerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

test('the declarations type-check every class in use, under --strict, with and without lib.dom; misuse fails where marked', async () => {
  const usage = ['types/usage.mts', 'types/usage.cts'].map((f) => path.join('test', f));
  const misuse = path.join('test', 'types', 'misuse.mts');
  // Three compilers at once: each takes a couple of seconds, mostly reading @types/node.
  const [withDom, nodeOnly, wrong] = await Promise.all([
    tsc(usage),
    tsc(['--lib', 'es2022', ...usage]),
    tsc([misuse]),
  ]);
  assert.strictEqual(withDom.code, 0, `usage with lib.dom:\n${withDom.out}`);
  assert.strictEqual(nodeOnly.code, 0, `usage without lib.dom:\n${nodeOnly.out}`);

  assert.notStrictEqual(wrong.code, 0, 'the misuse file must not compile');
  const marked = fs.readFileSync(path.join(root, misuse), 'utf8').split('\n')
    .map((line, i) => (/\/\/ error$/.test(line) ? i + 1 : 0)).filter(Boolean);
  const reported = [...new Set([...wrong.out.matchAll(/misuse\.mts\((\d+),\d+\): error TS\d+/g)].map((m) => Number(m[1])))]
    .sort((a, b) => a - b);
  assert.ok(marked.length >= 20, 'the misuse file covers the API');
  assert.deepStrictEqual(reported, marked, `errors on exactly the marked lines:\n${wrong.out}`);
  assert.doesNotMatch(wrong.out, /index\.d\.ts|fetch\.d\.ts/, 'no error inside the declarations themselves');
});

test('package.json ships the declarations for both entry points', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  assert.strictEqual(pkg.types, 'index.d.ts');
  assert.strictEqual(pkg.exports['.'].types, './index.d.ts');
  assert.strictEqual(pkg.exports['./fetch'].types, './fetch.d.ts');
  assert.strictEqual(Object.keys(pkg.exports['.'])[0], 'types', '"types" comes first, as TypeScript requires');
  for (const f of ['index.d.ts', 'fetch.d.ts']) {
    assert.ok(pkg.files.includes(f), `${f} is in "files"`);
    assert.ok(fs.existsSync(path.join(root, f)));
  }
  assert.ok(pkg.devDependencies.typescript && pkg.devDependencies['@types/node']);
  assert.ok(pkg.dependencies.undici);
});

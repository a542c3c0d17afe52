'use strict';
// Builds the addon with node-gyp against the headers of the running Node.js
// (never downloaded). node-gyp comes with npm; a local devDependency wins.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

function findNodeGyp() {
  const candidates = [];
  try { candidates.push(require.resolve('node-gyp/bin/node-gyp.js')); } catch {}
  const npmDir = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  candidates.push(path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push('/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  candidates.push('/usr/share/nodejs/node-gyp/bin/node-gyp.js');
  return candidates.find((p) => fs.existsSync(p));
}

// --nodedir: a prefix whose include/node has node_api.h for this Node.js.
function findNodeDir() {
  const fromExec = path.join(path.dirname(process.execPath), '..');
  for (const dir of [process.env.QUIC_NODEDIR, fromExec, '/usr'].filter(Boolean)) {
    if (fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return path.resolve(dir);
  }
  return null;
}

const gyp = findNodeGyp();
const nodedir = findNodeDir();
if (!gyp || !nodedir) {
  console.error(`quic: cannot build: node-gyp ${gyp ? 'found' : 'missing'}, ` +
                `Node.js headers ${nodedir ? 'found' : 'missing'} (run scripts/setup-system.sh)`);
  process.exit(1);
}
const args = [gyp, 'rebuild', `--nodedir=${nodedir}`];
if (process.env.QUIC_DEBUG) args.push('--debug');
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: path.join(__dirname, '..') });
process.exit(r.status ?? 1);

'use strict';
// The loss relay (bench/relay.c) from JavaScript: built on first use with the
// system's C compiler into bench/results/tmp (ignored by git), started
// between a client and a server on loopback, stopped for its counts.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const SOURCE = path.join(__dirname, 'relay.c');
const BINARY = path.join(__dirname, 'results', 'tmp', 'relay');
const CFLAGS = ['-std=c11', '-O2', '-Wall', '-Wextra'];

// Compiles relay.c unless the binary is newer. `extra` adds flags (the test
// adds -Werror); `out` builds somewhere else. Returns the binary's path.
function build({ extra = [], out = BINARY, cc = process.env.CC || 'cc' } = {}) {
  if (out === BINARY && extra.length === 0 && fs.existsSync(out) &&
      fs.statSync(out).mtimeMs >= fs.statSync(SOURCE).mtimeMs) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  // Built under a name of its own, then renamed: two benches at once never run half a file.
  const tmp = `${out}.${process.pid}`;
  try {
    execFileSync(cc, [...CFLAGS, ...extra, '-o', tmp, SOURCE], { stdio: ['ignore', 'inherit', 'inherit'] });
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return out;
}

const PROBS = ['drop', 'dup', 'reorder', 'corrupt'];

// Starts a relay towards `server` ({ address, port }, loopback). Options:
// seed, c2s and s2c ({ drop, dup, reorder, corrupt } probabilities, or one
// `both`), reorderK, reorderMs, idleMs, maxMs, gso (false: datagram by
// datagram, no GRO/GSO trains). Resolves once it listens, with
// { port, pid, stop() }: stop() ends it and resolves with its counts.
async function start(server, options = {}) {
  const bin = build();
  const host = server.address.includes(':') ? `[${server.address}]` : server.address;
  const listen = server.address.includes(':') ? '[::1]:0' : '127.0.0.1:0';
  const args = ['--listen', listen, '--server', `${host}:${server.port}`, '--stop-on-eof',
    '--seed', String(options.seed ?? 1)];
  for (const [dir, probs] of [['', options.both], ['c2s-', options.c2s], ['s2c-', options.s2c]]) {
    for (const k of PROBS) if (probs && probs[k] !== undefined) args.push(`--${dir}${k}`, String(probs[k]));
  }
  if (options.reorderK !== undefined) args.push('--reorder-k', String(options.reorderK));
  if (options.reorderMs !== undefined) args.push('--reorder-ms', String(options.reorderMs));
  args.push('--idle-ms', String(options.idleMs ?? 30000), '--max-ms', String(options.maxMs ?? 600000));
  if (options.gso === false) args.push('--no-gso');

  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  child.stdin.on('error', () => {}); // it may already be gone
  const exited = new Promise((resolve) => child.once('close', (code, sig) => {
    process.removeListener('exit', killOnExit);
    resolve({ code, sig });
  }));
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('relay did not start within 10 s')), 10e3);
    const check = () => {
      const m = /^LISTEN (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(t);
        child.stdout.off('data', check);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', check);
    exited.then(({ code }) => {
      clearTimeout(t);
      reject(new Error(`relay exited (${code}) before listening: ${err.trim()}`));
    });
  });
  // Its counts, once it has exited (on its own, or asked to).
  const counts = async () => {
    const r = await exited;
    const m = /^RELAY (\{.*\})$/m.exec(out);
    if (!m) throw new Error(`relay printed no counts (exit ${r.code}${r.sig ? `, ${r.sig}` : ''}): ${err.trim()}`);
    return JSON.parse(m[1]);
  };
  return {
    port,
    pid: child.pid,
    // Resolves with its counts when it stops by itself (idle, time limit).
    wait: counts,
    // Closing its standard input asks it to stop and print its counts.
    async stop() {
      child.stdin.end();
      let t;
      const late = new Promise((resolve) => { t = setTimeout(resolve, 5000, 'late'); });
      const r = await Promise.race([exited, late]);
      clearTimeout(t);
      if (r === 'late') {
        child.kill('SIGKILL');
        await exited;
        throw new Error('relay did not stop within 5 s of end of input');
      }
      return counts();
    },
    kill() {
      child.kill('SIGKILL');
      return exited;
    },
  };
}

// The loss the relay really applied, both directions together: dropped by
// choice plus dropped by the kernel on the relay's own full queues.
function lossRatio(counts) {
  let lost = 0;
  let seen = 0;
  for (const d of [counts.c2s, counts.s2c]) {
    lost += d.dropped + d.kernelDrops + d.sendErrors;
    seen += d.in + d.kernelDrops;
  }
  return seen ? lost / seen : 0;
}

// The relay's options for a relay-* case's parameters (probabilities in
// both directions, the seed, and K for reordering when the case sets it).
function optionsFor(params) {
  const both = {};
  for (const k of PROBS) if (params[k] !== undefined) both[k] = params[k];
  return { seed: params.seed ?? 1, both, reorderK: params.reorderK, reorderMs: params.reorderMs, idleMs: 30000, maxMs: 590e3 };
}

// What a relay-* result keeps beside its MB/s: the loss it really applied,
// what else it did (both directions summed), and the relay's own CPU time
// over the transfer's (well under 1: it was not the bottleneck).
function extraFor(counts, seconds, mb, bytes) {
  const sum = (k) => counts.c2s[k] + counts.s2c[k];
  return {
    lossRatio: lossRatio(counts),
    seconds,
    mb,
    bytes,
    datagrams: sum('in'),
    dropped: sum('dropped'),
    duplicated: sum('duplicated'),
    reordered: sum('reordered'),
    corrupted: sum('corrupted'),
    kernelDrops: sum('kernelDrops'),
    relayCpuShare: counts.cpuSeconds / seconds,
  };
}

module.exports = { build, start, lossRatio, optionsFor, extraFor, BINARY, SOURCE, CFLAGS };

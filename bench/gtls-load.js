'use strict';
// The server-alone cases (h3-server-*): the load comes from ngtcp2's own C
// client, gtlsclient (Debian ngtcp2-client), several processes at once, so
// the same client drives each server and the difference lies in the server.
// Each client process asks for its share of the requests with its own URIs
// (`/small?<client>-<n>`; a server ignores the query), and saves each
// response to a file of its own (--download), so every single request is
// checked afterwards: answered, and with exactly the 100-byte body.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { cpuSampleOfPid, cpuDelta, now, spawnGroup } = require('./common');

const BODY = Buffer.from('x'.repeat(100));
const CLIENT_LIMIT_MS = 300e3; // one client process, at most

function unavailable() {
  for (const prog of ['gtlsclient', '/usr/bin/time']) {
    try {
      execFileSync('sh', ['-c', `command -v ${prog}`], { stdio: 'ignore' });
    } catch {
      return `${prog} is not installed (gtlsclient: Debian ngtcp2-client, time: Debian time; scripts/setup-system.sh)`;
    }
  }
  return null;
}

// Downloads go to memory (/dev/shm) where there is one, so the clients' file
// writes cost as little as possible.
function downloadRoot() {
  for (const base of ['/dev/shm', path.join(__dirname, 'results', 'tmp')]) {
    try {
      fs.mkdirSync(base, { recursive: true });
      return fs.mkdtempSync(path.join(base, 'quic-bench-load-'));
    } catch {
      // the next one
    }
  }
  throw new Error('no directory for the downloads');
}

// One gtlsclient under time(1): its exit code, CPU seconds and error output.
function runClient(args, children) {
  return new Promise((resolve) => {
    const child = spawnGroup('/usr/bin/time', ['-f', 'BENCH-CPU %U %S', 'gtlsclient', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(child);
    const limit = setTimeout(child.killGroup, CLIENT_LIMIT_MS);
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code, sig) => {
      clearTimeout(limit);
      children.delete(child);
      const m = /BENCH-CPU ([\d.]+) ([\d.]+)/.exec(err);
      resolve({ code, sig, cpu: m ? Number(m[1]) + Number(m[2]) : 0, err: err.replace(/BENCH-CPU.*\n?/, '').trim() });
    });
  });
}

// `requests` GETs over `clients` gtlsclient processes (one connection each)
// against the server on 127.0.0.1:`port` whose process is `pid`; the server
// sets how many are in flight per connection (`inflight`, its stream limit).
// Returns requests/s, and the server's CPU seconds per 1,000 requests (its
// whole process, all threads, from /proc: the same reading for every server).
// `pids` (instead of pid): a server of several processes, whose CPU adds up.
async function load({ port, pid, pids = [pid], requests, clients }) {
  const per = Math.ceil(requests / clients);
  const total = per * clients;
  const root = downloadRoot();
  const children = new Set();
  // The clients (each killed with its group if this process exits first).
  const killAll = () => { for (const c of children) c.killGroup(); };
  const removeRoot = () => fs.rmSync(root, { recursive: true, force: true });
  process.once('exit', removeRoot);
  try {
    const argv = [];
    for (let c = 0; c < clients; c++) {
      const dir = path.join(root, String(c));
      fs.mkdirSync(dir);
      const uris = Array.from({ length: per }, (_, i) => `https://localhost:${port}/small?${c}-${i}`);
      if (uris.reduce((n, u) => n + u.length + 1, 0) > 1.5e6) {
        throw new Error(`${per} URIs per client is too long a command line: use more clients`);
      }
      argv.push(['-q', '--exit-on-all-streams-close', `--download=${dir}`, '-n', String(per), '127.0.0.1', String(port), ...uris]);
    }
    const c0 = pids.map(cpuSampleOfPid);
    const t0 = now();
    const runs = await Promise.all(argv.map((a) => runClient(a, children)));
    const secs = now() - t0;
    const serverCpu = pids.reduce((a, p, i) => a + cpuDelta(c0[i], cpuSampleOfPid(p)), 0);

    const failed = runs.find((r) => r.code !== 0);
    let answered = 0;
    let firstBad = null;
    for (let c = 0; c < clients; c++) {
      for (let i = 0; i < per; i++) {
        const file = path.join(root, String(c), `small?${c}-${i}`);
        let body = null;
        try {
          body = fs.readFileSync(file);
        } catch {
          // never opened: the request was not even made
        }
        if (body && body.equals(BODY)) answered++;
        else if (!firstBad) firstBad = `${path.basename(file)}: ${body ? `${body.length} bytes` : 'missing'}`;
      }
    }
    if (answered !== total || failed) {
      throw new Error(`${total - answered} of ${total} requests were not answered with the 100-byte body` +
        `${firstBad ? ` (first: ${firstBad})` : ''}${failed ? `; a gtlsclient exited ${failed.code ?? failed.sig}: ${failed.err.slice(-200)}` : ''}`);
    }
    return {
      value: total / secs,
      extra: {
        serverCpuPer1k: serverCpu / (total / 1000),
        clientCpuPer1k: runs.reduce((a, r) => a + r.cpu, 0) / (total / 1000),
        seconds: secs,
        requests: total,
      },
    };
  } finally {
    killAll();
    removeRoot();
    process.removeListener('exit', removeRoot);
  }
}

module.exports = { unavailable, load };

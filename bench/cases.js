'use strict';
// The benchmark cases: name, unit, direction, and their sizes for a full run
// and for --quick (which only validates the harness).
// `secondary`: figures kept in `extra` and printed under the case's row
// (`noRatio`: printed for each implementation, with no ratio).
// `comparable: false`: the implementations did not meet the same conditions,
// so the table shows no ratio ("n/c").
const CPU = { key: 'cpuSecondsPerGB', unit: 'CPU s/GB', higherIsBetter: false };
const LATENCY = [
  { key: 'p50ms', unit: 'p50 ms', higherIsBetter: false },
  { key: 'p99ms', unit: 'p99 ms', higherIsBetter: false },
];

const SERVER_CPU = { key: 'serverCpuPer1k', unit: 'server CPU s/1k', higherIsBetter: false };
const SHARED = (unit) => [
  { key: 'rate1', unit: `${unit} with 1`, higherIsBetter: true, noRatio: true },
  { key: 'ratio', unit: 'ratio 2/1', higherIsBetter: true, noRatio: true },
  { key: 'serverCpuPer1k1', unit: 'server CPU s/1k, 1', higherIsBetter: false, noRatio: true },
  { key: 'serverCpuPer1k', unit: 'server CPU s/1k, 2', higherIsBetter: false, noRatio: true },
  { key: 'cpuRatio', unit: 'CPU per req 2/1', higherIsBetter: false, noRatio: true },
];
const REAL_LOSS = { key: 'lossRatio', unit: 'real loss', higherIsBetter: false, noRatio: true };

const CASES = [
  // One stream each way with packets as large as the path carries, as TCP's
  // segments are: this project finds loopback's 65488 by default (the route
  // to a peer on this host, src/route.c); gtls has no such lookup and is
  // told the size (--max-udp-payload-size).
  { name: 'bulk-up', unit: 'MB/s', higherIsBetter: true, full: { mb: 200, path: 'loopback' }, quick: { mb: 8, path: 'loopback' }, secondary: [CPU] },
  { name: 'bulk-down', unit: 'MB/s', higherIsBetter: true, full: { mb: 200, path: 'loopback' }, quick: { mb: 8, path: 'loopback' }, secondary: [CPU] },
  // The same with the QUIC implementations held to Internet-sized packets
  // (maxPayloadSize 1452; gtls's own default): the cost per packet.
  { name: 'bulk-up-1452', unit: 'MB/s', higherIsBetter: true, full: { mb: 200, payload: 1452 }, quick: { mb: 8, payload: 1452 }, secondary: [CPU] },
  { name: 'bulk-down-1452', unit: 'MB/s', higherIsBetter: true, full: { mb: 200, payload: 1452 }, quick: { mb: 8, payload: 1452 }, secondary: [CPU] },
  { name: 'handshakes', unit: 'handshakes/s', higherIsBetter: true, full: { count: 500 }, quick: { count: 20 } },
  { name: 'handshakes-resumed', unit: 'handshakes/s', higherIsBetter: true, full: { count: 500 }, quick: { count: 20 } },
  { name: 'h3-requests-c50', unit: 'req/s', higherIsBetter: true, full: { requests: 20000, conns: 1, inflight: 50 }, quick: { requests: 500, conns: 1, inflight: 50 }, secondary: LATENCY },
  { name: 'h3-requests-10conn', unit: 'req/s', higherIsBetter: true, full: { requests: 20000, conns: 10, inflight: 10 }, quick: { requests: 500, conns: 10, inflight: 10 }, secondary: LATENCY },
  { name: 'streams', unit: 'streams/s', higherIsBetter: true, full: { streams: 10000, inflight: 100 }, quick: { streams: 300, inflight: 100 } },
  { name: 'datagrams', unit: 'datagrams/s', higherIsBetter: true, full: { count: 100000, size: 1000 }, quick: { count: 2000, size: 1000 },
    secondary: [{ key: 'lossRatio', unit: 'loss ratio', higherIsBetter: false }] },
  // WebTransport (this package's client and server) beside raw QUIC's datagrams and bulk-up.
  { name: 'wt-datagrams', unit: 'datagrams/s', higherIsBetter: true, full: { count: 100000, size: 1000 }, quick: { count: 2000, size: 1000 },
    secondary: [{ key: 'lossRatio', unit: 'loss ratio', higherIsBetter: false }] },
  { name: 'wt-stream', unit: 'MB/s', higherIsBetter: true, full: { mb: 200 }, quick: { mb: 8 }, secondary: [CPU] },
  { name: 'mem-idle-conn', unit: 'KB/conn', higherIsBetter: false, full: { conns: 1000 }, quick: { conns: 50 },
    secondary: [{ key: 'serverKB', unit: 'server KB/conn', higherIsBetter: false }] },
  { name: 'mem-stalled-reader', unit: 'MB', higherIsBetter: false, full: { mb: 200, seconds: 5 }, quick: { mb: 20, seconds: 1 } },
  // Each implementation's own loss knob: not the same loss (docs/performance.md), so no ratio; relay-loss-* compare.
  // Loss is per datagram, so every loss case holds the QUIC stacks to Internet-sized packets.
  { name: 'bulk-loss-1', unit: 'MB/s', higherIsBetter: true, comparable: false, full: { mb: 200, payload: 1452, loss: 0.01 }, quick: { mb: 4, payload: 1452, loss: 0.01 } },
  { name: 'bulk-loss-5', unit: 'MB/s', higherIsBetter: true, comparable: false, full: { mb: 200, payload: 1452, loss: 0.05 }, quick: { mb: 4, payload: 1452, loss: 0.05 } },
  // The server alone: gtlsclient processes (one connection each) load the server; its CPU per 1,000 requests.
  { name: 'h3-server-4x50', unit: 'req/s', higherIsBetter: true, full: { requests: 20000, clients: 4, inflight: 50 },
    quick: { requests: 1000, clients: 4, inflight: 50 }, secondary: [SERVER_CPU] },
  { name: 'h3-server-10x10', unit: 'req/s', higherIsBetter: true, full: { requests: 20000, clients: 10, inflight: 10 },
    quick: { requests: 1000, clients: 10, inflight: 10 }, secondary: [SERVER_CPU] },
  // bulk-down through bench/relay.c, the same seeded fates for every implementation (run r uses seed + r).
  { name: 'relay-clean', unit: 'MB/s', higherIsBetter: true, full: { mb: 200, payload: 1452, seed: 1, drop: 0 }, quick: { mb: 8, payload: 1452, seed: 1, drop: 0 },
    secondary: [REAL_LOSS] },
  { name: 'relay-loss-1', unit: 'MB/s', higherIsBetter: true, full: { mb: 200, payload: 1452, seed: 1, drop: 0.01 }, quick: { mb: 4, payload: 1452, seed: 1, drop: 0.01 },
    secondary: [REAL_LOSS] },
  { name: 'relay-loss-5', unit: 'MB/s', higherIsBetter: true, full: { mb: 50, payload: 1452, seed: 1, drop: 0.05 }, quick: { mb: 2, payload: 1452, seed: 1, drop: 0.05 },
    secondary: [REAL_LOSS] },
  { name: 'relay-mix', unit: 'MB/s', higherIsBetter: true,
    full: { mb: 20, payload: 1452, seed: 1, drop: 0.10, dup: 0.02, reorder: 0.05, corrupt: 0.01 },
    quick: { mb: 1, payload: 1452, seed: 1, drop: 0.10, dup: 0.02, reorder: 0.05, corrupt: 0.01 }, secondary: [REAL_LOSS] },
  // One port served by 1, then 2, worker threads (share()/Endpoint.from()) or processes (reusePort), in
  // the same run; the load from other processes (gtlsclient; for handshakes, node clients of this package).
  // The figure: the rate with 2; under it the rate with 1, the ratio 2/1, and the server's CPU per 1,000
  // with 1 and 2 and its ratio (the cost of sharing the port per request).
  { name: 'shared-h3-threads', unit: 'req/s', higherIsBetter: true, full: { requests: 20000, clients: 4, inflight: 10 },
    quick: { requests: 400, clients: 2, inflight: 10 }, secondary: SHARED('req/s') },
  { name: 'shared-h3-procs', unit: 'req/s', higherIsBetter: true, full: { requests: 20000, clients: 4, inflight: 10 },
    quick: { requests: 400, clients: 2, inflight: 10 }, secondary: SHARED('req/s') },
  { name: 'shared-hs-threads', unit: 'handshakes/s', higherIsBetter: true, full: { count: 2000, clients: 4, concurrency: 8 },
    quick: { count: 40, clients: 2, concurrency: 4 }, secondary: SHARED('handshakes/s') },
  { name: 'shared-hs-procs', unit: 'handshakes/s', higherIsBetter: true, full: { count: 2000, clients: 4, concurrency: 8 },
    quick: { count: 40, clients: 2, concurrency: 4 }, secondary: SHARED('handshakes/s') },
];

module.exports = { CASES };

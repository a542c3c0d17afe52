'use strict';
// Full-size runs of issue 6 part 3 (npm run test:stress): 50 MB each way
// through 5% and 20% simulated loss in both directions (rxPacketLoss and
// txPacketLoss on both endpoints), and through a relay that corrupts 5% of
// the datagrams. Each checks both SHA-256 hashes and a clean close.
const test = require('node:test');
const { within } = require('../common');
const { twoWayServer, twoWayTransfer, corruptingRelay } = require('../common/hostile');

const MB = 1024 * 1024;
const SIZE = 50 * MB;

// `loss` is per direction: rxPacketLoss and txPacketLoss are both set on
// both endpoints to 1 - sqrt(1 - loss), so each packet meets the loss twice
// (the sender's tx, the receiver's rx) and the total is `loss`.
// Cubic (the default) reads random loss as congestion: at 20% it stays at
// its 2-packet minimum window and 2 MB each way take about 13 s (50 MB would
// take about 10 minutes), so the 20% run uses BBR (50 MB in seconds).
// The idle timeout is the default 30 s, not the 5 s of the small runs: at
// 20% loss each way ngtcp2 sees persistent congestion once or twice per
// 20 MB, and then starts its RTT estimate over from the initial 333 ms
// (ngtcp2 does so on persistent congestion, RFC 9002 7.6), so the next probes go out 1 s, 3 s and 7 s later. If the
// packets in flight and two probes are all lost, which happens, a 5 s idle
// timeout rightly ends the connection (RFC 9000 10.1).
const session = { handshakeTimeout: 60000, transportParams: { maxIdleTimeout: 30000 } };
for (const [loss, cc] of [[0.05, 'cubic'], [0.05, 'bbr'], [0.2, 'bbr']]) {
  test(`${SIZE / MB} MB each way through ${loss * 100}% loss each way (${cc}): intact, clean close`, async (t) => {
    const knob = 1 - Math.sqrt(1 - loss);
    const endpoint = { rxPacketLoss: knob, txPacketLoss: knob, ccAlgorithm: cc };
    const server = twoWayServer(SIZE, { endpoint, session });
    try {
      await twoWayTransfer(t, { size: SIZE, server, clientEndpoint: endpoint, session, timeout: 900000 });
    } finally {
      await within(server.close(), 30000, 'server close');
    }
  });
}

test(`${SIZE / MB} MB each way with 5% of datagrams corrupted in flight: intact, clean close`, async (t) => {
  const server = twoWayServer(SIZE);
  const relay = await corruptingRelay(server.address.port, 0.05, 11);
  try {
    await twoWayTransfer(t, { size: SIZE, port: relay.port, timeout: 900000 });
    t.diagnostic(`corrupted ${relay.corrupted.corrupted} of ${relay.counts.up.packets + relay.counts.down.packets} datagrams`);
  } finally {
    await within(server.close(), 30000, 'server close');
    await relay.close();
  }
});

'use strict';
// Full-size run of issue 6 part 4's flood (npm run test:stress): garbage at
// full speed for 10 s while real clients keep handshaking and echoing.
const test = require('node:test');
const { garbageFlood } = require('../common/hostile');

test('garbage at full speed for 10 s: real clients still handshake and echo; memory bounded', async (t) => {
  await garbageFlood(t, 10000);
});

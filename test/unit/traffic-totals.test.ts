import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficTotals } from '../../src/metrics/traffic-totals';
import type { FlowDelta } from '../../src/collector/types';

function flow(over: Partial<FlowDelta>): FlowDelta {
  return {
    tgid: 1, comm: 'app', cgroupId: 1n, family: 'ipv4', transport: 'tcp',
    localAddress: '127.0.0.1', localPort: 1000, remoteAddress: '127.0.0.1', remotePort: 80,
    txBytes: 0, rxBytes: 0, txMessages: 0, rxMessages: 0, srttMicros: 0, ...over,
  };
}

test('flows of one process fold into one series per transport, direction and family', () => {
  const totals = new TrafficTotals();
  totals.add([flow({ localPort: 1, txBytes: 10, rxBytes: 5 }), flow({ localPort: 2, txBytes: 7 })]);
  totals.add([flow({ localPort: 1, txBytes: 1 }), flow({ transport: 'udp', family: 'ipv6', rxBytes: 3 })]);
  const byKey = new Map([...totals.entries()].map((s) => [Object.values(s.attributes).join('/'), s.bytes]));
  assert.deepEqual(Object.fromEntries(byKey), {
    'tcp/transmit/ipv4/app': 18,
    'tcp/receive/ipv4/app': 5,
    'udp/receive/ipv6/app': 3,
  });
});

test('a direction with no bytes creates no series', () => {
  const totals = new TrafficTotals();
  totals.add([flow({ txBytes: 0, rxBytes: 0 })]);
  assert.equal(totals.size, 0);
});

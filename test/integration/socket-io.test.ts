/**
 * The real BPF programs count exactly the bytes a process moved through its sockets:
 * TCP and UDP, IPv4 and IPv6, on loopback, compared with what the process itself counted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfCollector } from '../../src/collector/bpf-collector';
import type { FlowDelta, IpFamily, Transport } from '../../src/collector/types';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';

describe('socket I/O probes', bpfTestOptions(), () => {
  let collector: BpfCollector;
  /** Everything drained so far: other tests' flows stay out by process name. */
  const seen: FlowDelta[] = [];

  before(() => {
    requireBpf();
    collector = BpfCollector.start({ mode: 'auto', ringBufferSize: 16 << 20, drainIntervalMillis: 20, maxFlows: 65536 });
  });
  after(() => collector?.close());

  const totalsFor = (comm: string, transport: Transport, family: IpFamily) => {
    seen.push(...collector.drain());
    const mine = seen.filter((f) => f.comm === comm && f.transport === transport && f.family === family);
    return {
      tx: mine.reduce((n, f) => n + f.txBytes, 0),
      rx: mine.reduce((n, f) => n + f.rxBytes, 0),
      flows: mine,
    };
  };

  test('the attach plan chose the tracepoints on this kernel and attached every required hook', () => {
    assert.deepEqual(collector.plan.missingRequired(), []);
    for (const hook of collector.plan.hooks) assert.ok(hook.chosen, `${hook.hook} has no implementation`);
  });

  for (const transport of ['tcp', 'udp'] as const) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      test(`${transport}/${family}: exported bytes equal the bytes the process moved`, async () => {
        const name = uniqueProcessName(`ss${transport}${family === 'ipv4' ? '4' : '6'}`);
        const result = await runTraffic({ name, transport, family, messageSize: 1000 + 37, messages: 300 });
        const expected = result[transport][family];
        assert.ok(expected.tx > 0 && expected.rx > 0, 'the child moved traffic');
        const got = totalsFor(name, transport, family);
        assert.deepEqual({ tx: got.tx, rx: got.rx }, expected);
        for (const f of got.flows) {
          assert.equal(f.tgid, result.pid);
          assert.match(f.localAddress, family === 'ipv4' ? /^127\.0\.0\.1$/ : /^::1$/);
        }
        // No bytes of this process were reported under another family or transport.
        for (const other of seen.filter((f) => f.comm === name)) {
          assert.equal(other.transport, transport);
          assert.equal(other.family, family);
        }
      });
    }
  }

  test('no event was lost', () => {
    assert.equal(collector.stats().eventsLost, 0);
    assert.ok(collector.stats().eventsReceived > 0);
  });
});

/**
 * The real BPF programs count exactly the bytes a process moved through its sockets:
 * TCP and UDP, IPv4 and IPv6, on loopback, compared with what the process itself
 * counted. The suite runs once per probe family that attaches on this kernel, so the
 * kernel matrix exercises fentry, kprobe and tracepoint implementations alike.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planAttach, type ProbeMode } from '../../src/collector/attach-plan';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { HOOKS } from '../../src/collector/hooks';
import { loadNativeAddon } from '../../src/collector/native-addon';
import type { FlowDelta } from '../../src/collector/types';
import { bpfTestOptions, bpfUnavailableReason, requireBpf } from '../helpers/bpf-gate';
import { assertModeAttaches, attachPlanOf, probeModeOptions } from '../helpers/probe-modes';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';

const MODES: ProbeMode[] = ['auto', 'fentry', 'kprobe', 'tracepoint'];

function exportedBytes(flows: readonly FlowDelta[]): { tx: number; rx: number } {
  return { tx: flows.reduce((n, f) => n + f.txBytes, 0), rx: flows.reduce((n, f) => n + f.rxBytes, 0) };
}

/** Which socket I/O implementations a mode gets here, e.g. "kprobe/kprobe", for the suite's title. */
function socketImplementation(mode: ProbeMode): string | undefined {
  if (bpfUnavailableReason()) return undefined;
  const plan = attachPlanOf(mode);
  const send = plan.hooks.find((h) => h.hook === 'socket_send')!;
  const recv = plan.hooks.find((h) => h.hook === 'socket_recv')!;
  return send.chosen && recv.chosen ? `${send.chosen}/${recv.chosen}` : undefined;
}

describe('attach plan', bpfTestOptions(), () => {
  test('every required hook has a working implementation in auto mode', () => {
    requireBpf();
    const plan = planAttach(loadNativeAddon(), HOOKS, { mode: 'auto' });
    assert.deepEqual(plan.missingRequired().map((h) => h.hook), []);
  });

  test('every kprobe variant passes the verifier (it may only fail to attach)', () => {
    requireBpf();
    const plan = planAttach(loadNativeAddon(), HOOKS, { mode: 'kprobe' });
    for (const hook of plan.hooks) {
      for (const f of hook.failures.filter((x) => x.implementation === 'kprobe')) {
        assert.equal(f.stage, 'attach', `${hook.hook}: kprobe failed at load: ${f.reason}`);
      }
    }
  });
});

for (const mode of MODES) {
  const implementation = socketImplementation(mode);

  describe(`socket I/O probes, probes.mode=${mode} (${implementation ?? 'unavailable'})`, probeModeOptions(mode, 'socket_send'), () => {
    // CI=true: the mode must attach what test/kernel-matrix/expected-plan.ts says, or every test here fails.
    before(() => assertModeAttaches(mode, ['socket_send', 'socket_recv']));

    for (const transport of ['tcp', 'udp'] as const) {
      for (const family of ['ipv4', 'ipv6'] as const) {
        test(`${transport}/${family}: exported bytes equal the bytes the process moved`, async () => {
          requireBpf();
          const collector = BpfCollector.start({ mode, ringBufferSize: 16 << 20, drainIntervalMillis: 20, maxFlows: 65536 });
          try {
            const name = uniqueProcessName(`ss${transport}${family === 'ipv4' ? '4' : '6'}`);
            const result = await runTraffic({ name, transport, family, messageSize: 1000 + 37, messages: 300 });
            const expected = result[transport][family];
            assert.ok(expected.tx > 0 && expected.rx > 0, 'the child moved traffic');
            const mine: FlowDelta[] = (await collector.drain()).filter((f) => f.comm === name);
            assert.deepEqual(exportedBytes(mine), expected);
            for (const f of mine) {
              assert.equal(f.tgid, result.pid);
              assert.equal(f.transport, transport);
              assert.equal(f.family, family);
              assert.match(f.localAddress, family === 'ipv4' ? /^127\.0\.0\.1$/ : /^::1$/);
              // TCP flows carry the smoothed RTT for the RTT histogram; UDP has none.
              if (transport === 'tcp') assert.ok(f.srttMicros > 0, 'TCP flow has an srtt');
              else assert.equal(f.srttMicros, 0);
            }
            assert.equal(collector.stats().eventsLost, 0);
          } finally {
            collector.close();
          }
        });
      }
    }

    test('calls the socket I/O map cannot take go on the ring buffer: bytes still exact', async () => {
      requireBpf();
      // One entry per map: of the child's two TCP sockets (and every other socket on the
      // host), all but one per interval spill, as when the kernel's allocator runs dry.
      // No cache, so that the tracepoints' calls meet the map too.
      const collector = BpfCollector.start({
        mode, ringBufferSize: 16 << 20, drainIntervalMillis: 20, maxFlows: 65536, ioMapEntries: 1, ioCacheSlots: 0,
      });
      try {
        const name = uniqueProcessName('ssspill');
        const result = await runTraffic({ name, transport: 'tcp', family: 'ipv4', messageSize: 1000 + 37, messages: 300 });
        const mine: FlowDelta[] = (await collector.drain()).filter((f) => f.comm === name);
        assert.deepEqual(exportedBytes(mine), result.tcp.ipv4);
        for (const f of mine) assert.ok(f.srttMicros > 0, 'a spilled TCP call carries the RTT too');
        const stats = collector.stats();
        assert.ok(stats.ioCallsSpilled > 0, 'calls went on the ring buffer');
        assert.equal(stats.eventsLost, 0);
      } finally {
        collector.close();
      }
    });

    // The socket I/O cache sits in front of the maps on the tracepoints only; fentry and
    // kprobe have none, so these cases are not declared there (a skip would read as a mode
    // that failed to attach).
    const cached = /tracepoint|tp_btf/.test(implementation ?? '');
    const evictionCases = !cached ? [] : [
      { what: 'a socket that finds its cache slot taken moves the holder into the map: bytes exact', ioMapEntries: undefined },
      { what: 'an evicted cache slot the map cannot take goes on the ring buffer: bytes exact', ioMapEntries: 1 },
    ];
    for (const c of evictionCases) {
      test(c.what, async () => {
        requireBpf();
        // One slot per CPU: the child's client and server sockets (and every other busy
        // socket on the host) keep taking it from each other.
        const collector = BpfCollector.start({
          mode, ringBufferSize: 16 << 20, drainIntervalMillis: 20, maxFlows: 65536, ioMapEntries: c.ioMapEntries, ioCacheSlots: 1,
        });
        try {
          const name = uniqueProcessName('ssevict');
          const result = await runTraffic({ name, transport: 'tcp', family: 'ipv6', messageSize: 1000 + 37, messages: 300 });
          const mine: FlowDelta[] = (await collector.drain()).filter((f) => f.comm === name);
          assert.deepEqual(exportedBytes(mine), result.tcp.ipv6);
          for (const f of mine) {
            assert.equal(f.tgid, result.pid);
            assert.match(f.localAddress, /^::1$/);
            assert.ok(f.srttMicros > 0, 'an evicted TCP slot carries the RTT');
          }
          const stats = collector.stats();
          assert.ok(stats.ioCacheEvictions > 0, 'slots were evicted');
          if (c.ioMapEntries === 1) assert.ok(stats.ioCallsSpilled > 0, 'evicted sums went on the ring buffer');
          assert.equal(stats.eventsLost, 0);
        } finally {
          collector.close();
        }
      });
    }
  });
}

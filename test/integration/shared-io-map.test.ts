/**
 * The kernel's socket I/O map is one hash shared by all CPUs (ebpf/io.bpf.c): one
 * UDP socket written by a thread pinned to each CPU at once, while the test swaps
 * the maps as fast as it can, so that at every swap the threads race to insert the
 * socket's entry anew and then add to the same counters. Bytes stay exact (atomic
 * adds; the insert that loses adds to the winner's entry) and every flow key is one
 * thread's, never a mix of two (test/fixtures/shared-socket-cpus.py names its
 * threads with different lengths). Runs once per probe family that attaches here;
 * the tracepoints run without their per-CPU cache, so their calls meet the map too.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ProbeMode } from '../../src/collector/attach-plan';
import { BpfCollector } from '../../src/collector/bpf-collector';
import type { FlowDelta } from '../../src/collector/types';
import { requireBpf } from '../helpers/bpf-gate';
import { assertModeAttaches, probeModeOptions } from '../helpers/probe-modes';
import { uniqueProcessName } from '../helpers/traffic';

const FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'shared-socket-cpus.py');
const MODES: ProbeMode[] = ['auto', 'fentry', 'kprobe', 'tracepoint'];
const MESSAGES_PER_THREAD = 50_000;

interface Ready {
  pid: number;
  senderPort: number;
  receiverPort: number;
}

interface Result {
  threads: Record<string, number>;
  received: number;
  cpus: number[];
}

const sum = (flows: readonly FlowDelta[], field: 'txBytes' | 'rxBytes') => flows.reduce((n, f) => n + f[field], 0);

for (const mode of MODES) {
  describe(`shared socket I/O map, probes.mode=${mode}`, probeModeOptions(mode, 'socket_send'), () => {
    test('one socket written from every CPU at once while the maps swap: bytes exact, flow keys intact', async (t) => {
      requireBpf();
      assertModeAttaches(mode, ['socket_send', 'socket_recv']);
      assert.ok(os.availableParallelism() >= 2, 'two CPUs are needed for two threads to meet one entry at once');
      const collector = BpfCollector.start({ mode, ringBufferSize: 16 << 20, drainIntervalMillis: 20, maxFlows: 65536, ioCacheSlots: 0 });
      const name = uniqueProcessName('ssshared');
      const child = spawn('python3', [FIXTURE, name, String(MESSAGES_PER_THREAD)], { stdio: ['pipe', 'pipe', 'inherit'] });
      try {
        const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
        const ready = JSON.parse((await lines.next()).value as string) as Ready;
        let exited = false;
        const exit = once(child, 'exit').then(() => (exited = true));
        child.stdin!.end('go\n');
        const flows: FlowDelta[] = [];
        let swaps = 0;
        // Each drain swaps the maps: the socket's next call inserts its entry again.
        while (!exited) {
          flows.push(...collector.drain().filter((f) => f.tgid === ready.pid));
          swaps++;
          await nextTurn();
        }
        await exit;
        const result = JSON.parse((await lines.next()).value as string) as Result;
        flows.push(...collector.drain().filter((f) => f.tgid === ready.pid));

        const sent = Object.values(result.threads).reduce((n, b) => n + b, 0);
        const senderFlows = flows.filter((f) => f.localPort === ready.senderPort);
        const receiverFlows = flows.filter((f) => f.localPort === ready.receiverPort);
        t.diagnostic(`${result.cpus.length} sender threads on CPUs ${result.cpus.join(',')}; ${swaps} swaps; ` +
          `${senderFlows.length} sender flows; sent ${sent}, received ${result.received}`);
        assert.equal(sent, result.cpus.length * MESSAGES_PER_THREAD * 100, 'every thread sent every datagram');
        assert.equal(sum(senderFlows, 'txBytes'), sent, 'exported sent bytes equal what the threads sent');
        assert.equal(sum(receiverFlows, 'rxBytes'), result.received, 'exported received bytes equal what was received');
        const threadNames = new Set([...Object.keys(result.threads), 'rx']);
        for (const f of flows) {
          assert.equal(f.comm, name);
          assert.ok(threadNames.has(f.threadName), `thread name ${JSON.stringify(f.threadName)} is one thread's, not a mix`);
          assert.equal(f.transport, 'udp');
          assert.equal(f.localAddress, '127.0.0.1');
          if (f.localPort === ready.senderPort) {
            assert.equal(f.remoteAddress, '127.0.0.1');
            assert.equal(f.remotePort, ready.receiverPort);
          } else {
            assert.equal(f.localPort, ready.receiverPort, 'only the two sockets moved bytes');
          }
        }
        assert.equal(collector.stats().eventsLost, 0);
      } finally {
        child.kill();
        collector.close();
      }
    });
  });
}

/**
 * sockscope_ebpf_program_run_seconds_total / _runs_total: absent while kernel.bpf_stats_enabled
 * is 0, and, once it is 1, advancing by at least the calls a process made. (At least: the
 * programs see every process on the machine.) The test switches the sysctl itself, as
 * `npm run bench -- --phases programs` does, and restores it; sockscope never does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { BPF_STATS_SYSCTL } from '../../src/collector/bpf-stats-sysctl';
import type { ProgramRuns } from '../../src/collector/types';
import { ATTR_HOOK, ATTR_IMPLEMENTATION, ATTR_PROGRAM, PROGRAM_RUN_TIME, PROGRAM_RUNS } from '../../src/metrics/definitions';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { testProducer } from '../helpers/producer';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';

const sendRuns = (runs: readonly ProgramRuns[]) => runs.filter((r) => r.hook === 'socket_send').reduce((n, r) => n + r.runCount, 0);

test('program run metrics follow kernel.bpf_stats_enabled and count every call', bpfTestOptions(), async () => {
  requireBpf();
  const previous = readFileSync(BPF_STATS_SYSCTL, 'utf8').trim();
  const collector = BpfCollector.start({ mode: 'auto', ringBufferSize: 1 << 22, drainIntervalMillis: 20, maxFlows: 65536 });
  try {
    const producer = testProducer(collector);
    const names = async () => new Set((await producer.collect()).resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)));

    writeFileSync(BPF_STATS_SYSCTL, '0');
    assert.equal(collector.stats().programRuns, undefined);
    const off = await names();
    assert.ok(!off.has(PROGRAM_RUN_TIME.name) && !off.has(PROGRAM_RUNS.name), 'not exported while the kernel does not count');

    writeFileSync(BPF_STATS_SYSCTL, '1');
    const before = collector.stats().programRuns!;
    const result = await runTraffic({ name: uniqueProcessName('ssruns'), transport: 'udp', family: 'ipv4', messageSize: 100, messages: 400 });
    const afterRuns = collector.stats().programRuns!;
    assert.ok(result.datagrams!.tx > 0);
    // Each send call runs the socket_send program(s) once (a kprobe pair: twice).
    assert.ok(sendRuns(afterRuns) - sendRuns(before) >= result.datagrams!.tx, `${sendRuns(afterRuns) - sendRuns(before)} runs for ${result.datagrams!.tx} sends`);
    const send = afterRuns.find((r) => r.hook === 'socket_send')!;
    assert.ok(send.runTimeNs > before.find((r) => r.program === send.program)!.runTimeNs, 'run time advanced');

    const metrics: MetricData[] = (await producer.collect()).resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const runs = metrics.find((m) => m.descriptor.name === PROGRAM_RUNS.name);
    const seconds = metrics.find((m) => m.descriptor.name === PROGRAM_RUN_TIME.name);
    assert.ok(runs && seconds, 'exported while the kernel counts');
    // One series per attached program, labelled with the hook and implementation the plan chose.
    const planned = collector.plan.hooks.flatMap((h) => h.programs.map((p) => `${h.hook}/${h.chosen}/${p}`)).sort();
    for (const family of [runs, seconds]) {
      assert.deepEqual(family.dataPoints.map((p) => `${String(p.attributes[ATTR_HOOK])}/${String(p.attributes[ATTR_IMPLEMENTATION])}/${String(p.attributes[ATTR_PROGRAM])}`).sort(), planned);
    }
    const exported = runs.dataPoints.find((p) => p.attributes[ATTR_PROGRAM] === send.program)!;
    assert.ok((exported.value as number) >= send.runCount);
  } finally {
    writeFileSync(BPF_STATS_SYSCTL, previous);
    collector.close();
  }
});

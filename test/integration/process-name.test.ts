/**
 * The process name is the process's, not the thread's: a Python process whose main
 * thread is named NAME does TCP and UDP I/O, connect(), listen() and retransmits from
 * threads named otherwise (test/fixtures/threaded-process.py). Every flow, every
 * connection event owner and every exported series carries NAME; `thread.name` appears
 * only when selected, and then carries the thread that did it, with exact bytes. Runs
 * once per probe family that attaches here.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readlinkSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import type { ProbeMode } from '../../src/collector/attach-plan';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { EnrichedConnections } from '../../src/collector/enriched-connections';
import type { CollectorStats, ConnectionEvent, FlowDelta } from '../../src/collector/types';
import { METRICS, ATTR_EXECUTABLE, ATTR_PID, ATTR_THREAD, ATTR_DIRECTION } from '../../src/metrics/definitions';
import { SockscopeProducer } from '../../src/metrics/sockscope-producer';
import { assertModeAttaches, probeModeOptions } from '../helpers/probe-modes';
import { RandomDrop, waitForQuiescence } from '../helpers/retransmit';
import { uniqueProcessName } from '../helpers/traffic';

const FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'threaded-process.py');
const MODES: ProbeMode[] = ['auto', 'fentry', 'kprobe', 'tracepoint'];
const WORKERS = 4;
const TCP_BYTES = 1 << 20;
const UDP_MESSAGES = 50;

/** Why this mode's socket I/O cannot attach here, or false. */

interface Run {
  pid: number;
  tcpPort: number;
  threads: Record<string, { tx: number; rx: number }>;
  flows: FlowDelta[];
  events: ConnectionEvent[];
  stats: CollectorStats;
}

/** The fixture under a collector: its I/O, with a tenth of the packets to its TCP port dropped. */
async function runThreadedProcess(mode: ProbeMode, name: string): Promise<Run> {
  const collector = BpfCollector.start({ mode, ringBufferSize: 1 << 22, drainIntervalMillis: 20, maxFlows: 65536 });
  let drop: RandomDrop | undefined;
  const child = spawn('python3', [FIXTURE, name, String(WORKERS), String(TCP_BYTES), String(UDP_MESSAGES)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const ready = JSON.parse((await lines.next()).value as string) as { pid: number; tcpPort: number };
    drop = new RandomDrop(ready.tcpPort);
    child.stdin!.end('go\n');
    const { threads } = JSON.parse((await lines.next()).value as string) as Pick<Run, 'threads'>;
    await once(child, 'exit');
    drop.remove();
    drop = undefined;
    await waitForQuiescence(ready.tcpPort);
    const flows = (await collector.drain());
    const events = (await collector.drainConnectionEvents());
    return { ...ready, threads, flows, events, stats: collector.stats() };
  } finally {
    child.kill();
    drop?.remove();
    collector.close();
  }
}

/** Metrics whose series can carry the process name. */
const PROCESS_METRICS = METRICS.filter((m) => m.attributes.some((a) => a.name === ATTR_EXECUTABLE));

/** Every exported data point of the run, through a producer with `attributes` selected. */
async function exported(run: Run, attributes: Record<string, string[]>): Promise<MetricData[]> {
  // The same drained data for each producer (the enricher reads the events, never changes them).
  const events = [...run.events];
  let flows = run.flows;
  const collector = {
    drainInto: async (visit: (f: FlowDelta) => void) => [flows, (flows = [])][0]!.forEach(visit),
    drainConnectionEvents: async () => events.splice(0),
    stats: () => run.stats,
  };
  const producer = new SockscopeProducer(
    collector,
    new EnrichedConnections(collector),
    {
      buildInfo: { version: 'test', nodeVersion: process.versions.node },
      plan: { hooks: [] } as never,
      limits: { maxSeries: 100_000, ttlMs: 3_600_000 },
      attributes,
    },
  );
  const { resourceMetrics } = await producer.collect();
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
}

const pointsOf = (metrics: MetricData[], pid: number) =>
  metrics.flatMap((m) => m.dataPoints.map((p) => ({ metric: m.descriptor.name, attributes: p.attributes, value: p.value })))
    .filter((p) => p.attributes[ATTR_PID] === pid);

const ownNetns = () => Number(/net:\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/net'))![1]);

for (const mode of MODES) {
  describe(`process name of a threaded process, probes.mode=${mode}`, probeModeOptions(mode, 'socket_send'), () => {
    test('flows, connection owners and every exported series carry the process name; thread.name only when selected', async (t) => {
      assertModeAttaches(mode, ['socket_send', 'socket_recv', 'tcp_state', 'tcp_retransmit']);
      const name = uniqueProcessName('ssmain');
      const run = await runThreadedProcess(mode, name);
      // Threads that moved bytes, and the one that called listen() (owner of accepted connections).
      const threadNames = [...Object.keys(run.threads), 'lsn-thr'];
      t.diagnostic(`threads ${JSON.stringify(run.threads)}`);

      // The collector's own records.
      assert.equal(run.stats.malformedRecords, 0, 'every ring record was understood');
      assert.equal(run.stats.flowMapErrors, 0, 'every socket I/O map swap and read worked');
      const flows = run.flows.filter((f) => f.tgid === run.pid);
      assert.ok(flows.length > 0, 'the process has flows');
      for (const f of flows) {
        assert.equal(f.comm, name, `flow ${f.localPort}->${f.remotePort} of thread ${f.threadName}`);
        assert.ok(threadNames.includes(f.threadName), `thread name ${f.threadName} is one of the process's`);
        assert.equal(f.netns, ownNetns());
      }
      for (const [thread, moved] of Object.entries(run.threads)) {
        const own = flows.filter((f) => f.threadName === thread);
        assert.equal(own.reduce((n, f) => n + f.txBytes, 0), moved.tx, `${thread} sent`);
        assert.equal(own.reduce((n, f) => n + f.rxBytes, 0), moved.rx, `${thread} received`);
      }
      const events = run.events.filter((e) => e.owner?.tgid === run.pid);
      assert.ok(events.some((e) => e.kind === 'retransmit'), 'retransmits were attributed to the process');
      assert.ok(events.some((e) => e.direction === 'active') && events.some((e) => e.direction === 'passive'));
      for (const e of events) {
        assert.equal(e.owner!.comm, name, `${e.kind} ${e.oldState}->${e.newState} owned by thread ${e.owner!.threadName}`);
        // connect() from the tcp-w threads; the listener and its accepted connections belong to the thread that called listen().
        assert.match(e.owner!.threadName!, e.direction === 'active' ? /^tcp-w\d$/ : /^lsn-thr$/);
        assert.equal(e.netns, ownNetns());
      }
      const ourPort = (e: ConnectionEvent) => e.localPort === run.tcpPort || e.remotePort === run.tcpPort;
      assert.deepEqual(run.events.filter((e) => ourPort(e) && e.newState !== 'LISTEN' && e.oldState !== 'LISTEN' && !e.owner), [],
        'every connection event of the process has its owner');

      // Exported, thread.name selected (and process.pid to find the process's series).
      const selected = Object.fromEntries(PROCESS_METRICS.map((m) => [
        m.name,
        [ATTR_EXECUTABLE, ATTR_PID, ATTR_THREAD, ...(m.attributes.some((a) => a.name === ATTR_DIRECTION) ? [ATTR_DIRECTION] : [])],
      ]));
      const withThreads = pointsOf(await exported(run, selected), run.pid);
      for (const p of withThreads) {
        assert.equal(p.attributes[ATTR_EXECUTABLE], name, `${p.metric} ${JSON.stringify(p.attributes)}`);
        assert.ok(threadNames.includes(p.attributes[ATTR_THREAD] as string), `${p.metric} ${JSON.stringify(p.attributes)}`);
      }
      const seen = new Set(withThreads.map((p) => p.metric));
      for (const metric of ['sockscope.network.io', 'sockscope.network.messages', 'sockscope.tcp.connections.opened',
        'sockscope.tcp.connections.closed', 'sockscope.tcp.retransmits', 'sockscope.tcp.rtt',
        'sockscope.tcp.connect.duration', 'sockscope.tcp.connection.duration']) {
        assert.ok(seen.has(metric), `${metric} has series of the process`);
      }
      for (const [thread, moved] of Object.entries(run.threads)) {
        const bytes = (direction: string) => withThreads
          .filter((p) => p.metric === 'sockscope.network.io' && p.attributes[ATTR_THREAD] === thread && p.attributes[ATTR_DIRECTION] === direction)
          .reduce((n, p) => n + (p.value as number), 0);
        assert.equal(bytes('transmit'), moved.tx, `${thread} exported transmit bytes`);
        assert.equal(bytes('receive'), moved.rx, `${thread} exported receive bytes`);
      }

      // Exported with the default attributes (plus process.pid): no thread.name anywhere.
      const defaults = Object.fromEntries(PROCESS_METRICS.map((m) => [
        m.name, [...m.attributes.filter((a) => a.default).map((a) => a.name), ATTR_PID],
      ]));
      const all = await exported(run, defaults);
      const withoutThreads = pointsOf(all, run.pid);
      assert.ok(withoutThreads.length > 0);
      for (const p of withoutThreads) assert.equal(p.attributes[ATTR_EXECUTABLE], name, `${p.metric} ${JSON.stringify(p.attributes)}`);
      const leaked = all.flatMap((m) => m.dataPoints.filter((p) => ATTR_THREAD in p.attributes).map(() => m.descriptor.name));
      assert.deepEqual(leaked, [], 'thread.name is opt-in');
      const total = (direction: string) => withoutThreads
        .filter((p) => p.metric === 'sockscope.network.io' && p.attributes[ATTR_DIRECTION] === direction)
        .reduce((n, p) => n + (p.value as number), 0);
      const moved = Object.values(run.threads);
      assert.equal(total('transmit'), moved.reduce((n, m) => n + m.tx, 0));
      assert.equal(total('receive'), moved.reduce((n, m) => n + m.rx, 0));
    });
  });
}

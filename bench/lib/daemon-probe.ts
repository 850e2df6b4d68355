/**
 * Preloaded into the daemon by `bench/profile.ts` (`node -r dist/bench/lib/daemon-probe.js`):
 *  - every 500 ms, process.memoryUsage() as a JSON line to $SSBENCH_MEMORY_FILE;
 *  - on SIGUSR2, starts the V8 CPU profiler; the profile goes to $SSBENCH_CPU_PROFILE
 *    when the process exits;
 *  - on SIGWINCH, writes a heap snapshot to $SSBENCH_HEAP_SNAPSHOT;
 *  - with $SSBENCH_EVENT_LOOP_FILE, samples the event loop's delay
 *    (perf_hooks.monitorEventLoopDelay) and, on each SIGUSR2, appends the window since
 *    the previous one as a JSON line and starts the next (bench/lib/event-loop.ts).
 * Profiling starts on a signal, not with `--cpu-prof`, because the profiler's SIGPROF
 * ticks interrupt the BPF verifier during start-up (the load fails with EAGAIN).
 * Observes only; its timer is unref'd.
 */
import { appendFileSync, closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const memoryFile = process.env.SSBENCH_MEMORY_FILE;
const profileFile = process.env.SSBENCH_CPU_PROFILE;
const snapshotFile = process.env.SSBENCH_HEAP_SNAPSHOT;
const eventLoopFile = process.env.SSBENCH_EVENT_LOOP_FILE;

if (memoryFile) {
  const write = (): void => {
    try {
      appendFileSync(memoryFile, JSON.stringify({ t: Date.now(), ...process.memoryUsage() }) + '\n');
    } catch {
      /* the bench may have removed the file */
    }
  };
  setInterval(write, 500).unref();
  process.on('exit', write);
}

if (profileFile) {
  const session = new Session();
  session.connect();
  let profiling = false;
  process.on('SIGUSR2', () => {
    if (profiling) return;
    profiling = true;
    session.post('Profiler.enable', () => session.post('Profiler.start'));
  });
  process.on('exit', () => {
    if (!profiling) return;
    // Same-thread inspector sessions answer synchronously, so this works in 'exit'.
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(profileFile, JSON.stringify(result.profile));
    });
  });
}

if (snapshotFile) {
  const session = new Session();
  session.connect();
  process.on('SIGWINCH', () => {
    const fd = openSync(snapshotFile, 'w');
    const onChunk = (m: { params: { chunk: string } }): void => {
      writeSync(fd, m.params.chunk);
    };
    session.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
    session.post('HeapProfiler.takeHeapSnapshot', undefined, () => {
      session.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
      closeSync(fd);
      appendFileSync(snapshotFile + '.done', 'done\n');
    });
  });
}

if (eventLoopFile) {
  // 1 ms resolution: a stall shorter than that is no concern for a 5 ms target.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
  process.on('SIGUSR2', () => {
    appendFileSync(
      eventLoopFile,
      JSON.stringify({
        t: Date.now(),
        samples: delay.count,
        p50Ms: ms(delay.percentile(50)),
        p99Ms: ms(delay.percentile(99)),
        maxMs: ms(delay.max),
      }) + '\n',
    );
    delay.reset();
  });
}

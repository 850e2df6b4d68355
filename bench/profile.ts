/**
 * Profiles the daemon under one of the bench's loads, for the misses in
 * docs/performance.md: a V8 CPU profile from just after start-up to exit, and
 * process.memoryUsage() samples (bench/lib/daemon-probe.ts).
 *
 *   node dist/bench/profile.js scrape [SERIES=10000] [SCRAPES=30]
 *   node dist/bench/profile.js flows [CONNECTIONS=5000] [SECONDS=20]
 *   node dist/bench/profile.js idle [SECONDS=5]
 *
 * SSBENCH_NODE_ARGS adds node flags to the daemon (e.g. "--max-semi-space-size=2"),
 * SSBENCH_DAEMON_ARGS sockscope flags (e.g. "--ebpf.ringBufferSize 1MiB").
 *
 * Writes the profile under dist/bench/profiles/ and prints its summary.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { runChild, useReaper } from './lib/children';
import { SockscopeDaemon } from './lib/daemon';
import { buildNative, REPO_ROOT } from './lib/native-build';
import { memoryKiB } from './lib/proc-stats';
import { summarise } from './tools/cpuprofile-top';
import { summariseHeap } from './tools/heapsnapshot-top';

const OUT = path.join(REPO_ROOT, 'dist', 'bench', 'profiles');

function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => resolve(n));
      })
      .on('error', reject);
  });
}

async function snapshot(daemon: SockscopeDaemon, file: string): Promise<void> {
  daemon.signal('SIGWINCH');
  for (let i = 0; i < 600 && !existsSync(`${file}.done`); i++) await new Promise((r) => setTimeout(r, 100));
  const { rows, totalBytes } = summariseHeap(JSON.parse(readFileSync(file, 'utf8')), 20);
  process.stdout.write(`heap snapshot: ${(totalBytes / 1048576).toFixed(1)} MiB live\n`);
  for (const r of rows) process.stdout.write(`  ${(r.selfBytes / 1048576).toFixed(2).padStart(8)} MiB  ${String(r.count).padStart(8)}  ${r.name}\n`);
}

const words = (text: string | undefined): string[] => (text ?? '').split(/\s+/).filter(Boolean);

async function main(): Promise<void> {
  const [what = 'scrape', a, b] = process.argv.slice(2);
  const tools = await buildNative();
  useReaper(tools.reaper);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const memoryFile = path.join(OUT, 'memory.jsonl');
  const profileFile = path.join(OUT, `${what}.cpuprofile`);
  const snapshotFile = path.join(OUT, `${what}.heapsnapshot`);
  const daemon = await SockscopeDaemon.start({
    nodeArgs: [...words(process.env.SSBENCH_NODE_ARGS), '-r', path.join(__dirname, 'lib', 'daemon-probe.js')],
    args: [...(what === 'scrape' ? ['--metrics.maxSeries', '100000'] : []), ...words(process.env.SSBENCH_DAEMON_ARGS)],
    env: { SSBENCH_MEMORY_FILE: memoryFile, SSBENCH_CPU_PROFILE: profileFile, SSBENCH_HEAP_SNAPSHOT: snapshotFile },
  });
  daemon.signal('SIGUSR2');
  try {
    if (what === 'scrape') {
      const series = Number(a ?? 10_000);
      await runChild(tools.loadgen, ['series', String(Math.ceil(series / 4)), '1']);
      await new Promise((r) => setTimeout(r, 1500));
      for (let i = 0; i < Number(b ?? 30); i++) await get(daemon.port);
    } else if (what === 'flows') {
      // Snapshot the heap while the flows are still active, 5 s before the end.
      const seconds = Number(b ?? 20);
      const load = runChild(tools.loadgen, ['flows', a ?? '5000', String(seconds)]);
      await new Promise((r) => setTimeout(r, Math.max(1, seconds - 5) * 1000 + 3000));
      await snapshot(daemon, snapshotFile);
      await load;
      await get(daemon.port);
    } else {
      await new Promise((r) => setTimeout(r, Number(a ?? 5) * 1000));
    }
    process.stdout.write(`daemon memory (KiB): ${JSON.stringify(memoryKiB(daemon.pid))}\n`);
  } finally {
    await daemon.stop();
  }
  const lines = readFileSync(memoryFile, 'utf8').trim().split('\n');
  const peak = lines.map((l) => JSON.parse(l) as Record<string, number>).reduce((p, m) => (m.rss! > p.rss! ? m : p));
  const mb = (v: number | undefined) => `${Math.round((v ?? 0) / 1048576)} MiB`;
  process.stdout.write(
    `process.memoryUsage() at peak rss: rss ${mb(peak.rss)}, heapTotal ${mb(peak.heapTotal)}, heapUsed ${mb(peak.heapUsed)}, ` +
      `external ${mb(peak.external)}, arrayBuffers ${mb(peak.arrayBuffers)}\n\n`,
  );
  if (!existsSync(profileFile)) throw new Error('no CPU profile written (did the daemon exit cleanly?)');
  const s = summarise(JSON.parse(readFileSync(profileFile, 'utf8')), 30);
  process.stdout.write(`profile ${path.relative(REPO_ROOT, profileFile)}: ${s.totalMs} ms sampled\n\nby package:\n`);
  for (const p of s.byPackage) process.stdout.write(`  ${String(p.percent).padStart(5)}%  ${String(p.ms).padStart(8)} ms  ${p.name}\n`);
  process.stdout.write('\nby function (self time):\n');
  for (const f of s.byFunction) process.stdout.write(`  ${String(f.percent).padStart(5)}%  ${String(f.ms).padStart(8)} ms  ${f.name}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`profile: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

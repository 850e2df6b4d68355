/**
 * Markdown tables from a results object: printed at the end of `npm run bench`, and
 * what docs/performance.md shows. `node dist/bench/report.js bench/results/<date>.json`
 * re-renders a saved run.
 */
import { readFileSync } from 'node:fs';
import type { BenchResults } from './run';
import type { OverheadResult } from './phases/overhead';
import type { LegacyRenderSplit } from './phases/scrape';
import type { ScrapeMicroResult } from './tools/scrape-micro';
import { round } from './lib/stats';
import { renderGuestTables } from './guest/report';

const mib = (kib: number | undefined): string => (kib === undefined || Number.isNaN(kib) ? '—' : `${round(kib / 1024)}`);
const ns = (v: number): string => `${round(v, 0)}`;
const x = (v: number): string => `${round(v, 2)}×`;

function overheadTables(title: string, o: OverheadResult): string {
  const out: string[] = [];
  out.push(`### ${title}`, '');
  out.push(
    `${o.rounds} rounds; per block ${o.iterations.tcp} TCP and ${o.iterations.udp} UDP iterations (2 events each). ` +
      `Untraced baseline: TCP ${ns(o.baselineNsPerEvent.tcp)} ns, UDP ${ns(o.baselineNsPerEvent.udp)} ns of CPU per event.`,
    '',
  );
  out.push('| tracer | TCP ns/event added (median; min…max) | UDP ns/event added (median; min…max) | tracer user-space CPU ns/event | counts match |');
  out.push('| --- | --- | --- | --- | --- |');
  for (const t of o.tracers) {
    out.push(
      `| ${t.tracer} | ${ns(t.medianOverheadNs.tcp)} (${ns(t.minOverheadNs.tcp)}…${ns(t.maxOverheadNs.tcp)}) | ` +
        `${ns(t.medianOverheadNs.udp)} (${ns(t.minOverheadNs.udp)}…${ns(t.maxOverheadNs.udp)}) | ` +
        `${t.medianTracerCpuNsPerEvent === undefined ? '—' : ns(t.medianTracerCpuNsPerEvent)} | ${t.allCountsMatch ? 'yes' : 'NO'} |`,
    );
  }
  out.push('', '| same-run ratio of added cost | TCP | UDP | TCP, median of per-round ratios | UDP, median of per-round ratios |', '| --- | --- | --- | --- | --- |');
  for (const r of o.ratios) {
    out.push(
      `| ${r.numerator} ÷ ${r.denominator} | ${x(r.ofMedians.tcp)} | ${x(r.ofMedians.udp)} | ${x(r.medianOfRounds.tcp)} | ${x(r.medianOfRounds.udp)} |`,
    );
  }
  out.push('');
  return out.join('\n');
}

export function renderReport(r: BenchResults): string {
  const out: string[] = [];
  const e = r.environment;
  out.push(`## Run of ${e.date.slice(0, 16).replace('T', ' ')} UTC`, '');
  out.push(
    `Kernel ${e.kernel}, ${e.cpus} × ${e.cpuModel}, Node ${e.node}, ${e.bpftrace}; load average ${e.loadAtStart.join(' / ')} at start, ` +
      `${e.loadAtEnd.join(' / ')} at end; ${r.durationSeconds} s; commit ${e.gitCommit.slice(0, 12)}${e.gitDirty ? ' (with uncommitted changes)' : ''}.`,
    '',
  );
  if (r.overhead) out.push(overheadTables('Traced-path overhead per event', r.overhead));
  if (r.programs) {
    const rounds = r.programs.rounds ?? 1;
    out.push(`### BPF program run time per invocation (kernel.bpf_stats_enabled; median of ${rounds} rounds)`, '');
    out.push('| tracer | ns per run (all socket-I/O programs) | per round | per program |', '| --- | --- | --- | --- |');
    for (const t of r.programs.tracers) {
      const parts = Object.entries(t.programs).map(([name, p]) => `${name.replace(/#\d+$/, '')} ${p.nsPerRun}`);
      out.push(`| ${t.tracer} | ${t.nsPerRun} | ${(t.perRound ?? []).join(', ')} | ${parts.join(', ')} |`);
    }
    if (r.programs.ratios?.length) {
      out.push('', '| same-round ratio of run time | median of per-round ratios | per round |', '| --- | --- | --- |');
      for (const q of r.programs.ratios) {
        out.push(`| ${q.numerator} / ${q.denominator} | ${q.medianOfRounds} | ${q.perRound.join(', ')} |`);
      }
    }
    out.push('');
  }
  if (r.maxRate) {
    out.push('### Highest event rate (UDP 64-byte send + recv, daemon defaults)', '');
    out.push(
      '| senders | events/s observed | events/s untraced | lost (ring, missed, map, unaccounted) | daemon CPU ms per 1M events | % of a core per 100k events/s | peak RSS MiB | ring resident MiB |',
    );
    out.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const m of r.maxRate.runs) {
      out.push(
        `| ${m.senders} | ${m.observedEventsPerSecond} | ${m.untracedEventsPerSecond} | ` +
          `${m.lost.ringFull}, ${m.lost.missed}, ${m.lost.mapFull}, ${m.lost.unaccounted} | ${m.daemonCpuMsPerMillionEvents} | ` +
          `${m.daemonCorePercentPer100kEventsPerSecond} | ${mib(m.daemonMemoryKiB?.peak)} | ${mib(m.ringBufferResidentKiB)} |`,
      );
    }
    if (r.maxRate.prototypes?.length) {
      out.push('', 'Prototype loaders under the same load (host-wide counts, so counted ≥ generated):', '');
      out.push('| loader | senders | events/s generated | events counted | events generated | lost | loader CPU ms per 1M events |');
      out.push('| --- | --- | --- | --- | --- | --- | --- |');
      for (const p of r.maxRate.prototypes) {
        out.push(`| ${p.tracer} | ${p.senders} | ${p.generatedEventsPerSecond} | ${p.countedEvents} | ${p.generatedEvents} | ${p.lost} | ${p.loaderCpuMsPerMillionEvents} |`);
      }
    }
    out.push('');
  }
  if (r.flows) {
    const first = r.flows[0]!;
    out.push(`### Memory with ${first.flows} active flows`, '');
    out.push(
      `${first.connections} loopback TCP connections (${first.flows} flows), 64 bytes each way per connection per second ` +
        `(${first.eventsPerSecond} events/s) for ${first.seconds} s.`,
      '',
    );
    out.push(
      '| configuration | idle RSS MiB | peak RSS MiB (VmHWM) | end RSS: anon / file MiB | ring buffer resident MiB | daemon CPU s | connections opened exported | samples on /metrics | lost | event-loop delay p50 / p99 / max ms |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const f of r.flows) {
      const d = f.eventLoopDelay;
      out.push(
        `| ${f.configuration} | ${mib(f.idleMemoryKiB?.rss)} | ${mib(f.memoryKiB?.peak)} | ${mib(f.memoryKiB?.anon)} / ${mib(f.memoryKiB?.file)} | ` +
          `${mib(f.ringBufferResidentKiB)} | ${f.daemonCpuSeconds} | ${f.connectionsOpenedExported} | ${f.seriesExported} | ${f.lost} | ` +
          `${d ? `${d.p50Ms} / ${d.p99Ms} / ${d.maxMs}` : '—'} |`,
      );
    }
    if (r.nodeFloor) {
      out.push(
        '',
        `For scale: an empty \`node\` process has ${mib(r.nodeFloor.emptyKiB)} MiB RSS; with sockscope's runtime dependencies ` +
          `loaded (OpenTelemetry SDK and exporters, convict, pino), ${mib(r.nodeFloor.withDependenciesKiB)} MiB.`,
      );
    }
    out.push('');
  }
  if (r.collectorDown) {
    const c = r.collectorDown;
    out.push(`### OTLP collector down for ${c.outageSeconds / 60} minutes (push every ${c.intervalMs} ms, steady traffic)`, '');
    out.push('| RSS MiB before → end (max) | growth | series before → end | lines logged in the outage | failed pushes counted | pushes resumed after | totals after |');
    out.push('| --- | --- | --- | --- | --- | --- | --- |');
    const failed = Object.entries(c.exportsByErrorType).filter(([type]) => type !== '').map(([type, n]) => `${n} ${type}`).join(', ');
    out.push(
      `| ${mib(c.rssAtOutageStartKiB)} → ${mib(c.rssAtOutageEndKiB)} (${mib(c.rssMaxDuringOutageKiB)}) | ${c.rssGrowthPercent} % | ` +
        `${c.seriesAtOutageStart ?? '—'} → ${c.seriesAtOutageEnd ?? '—'} | ` +
        `${c.outageLogLineCount} | ${failed} | ${c.recoverySeconds} s | ${c.exact ? 'exact' : `off: sent ${JSON.stringify(c.sent)}, received ${JSON.stringify(c.received)}`} |`,
      '',
    );
  }
  if (r.soak) {
    const k = r.soak;
    out.push(
      `### Soak: ${k.minutes} minutes, ${k.senders} flood senders (${k.floodEventsPerSecond} events/s) and socket churn, a scrape every second`,
      '',
      '| minute | RSS MiB | series | hash map entries | map memory KiB | scrape p50 / max ms | load (1 min) |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const m of k.timeline) {
      const entries = Object.entries(m.mapEntries).map(([name, n]) => `${name} ${n}`).join(', ');
      out.push(`| ${m.minute} | ${mib(m.rssKiB)} | ${m.series} | ${entries} | ${round(m.mapMemoryBytes / 1024)} | ${m.scrapeMsP50} / ${m.scrapeMsMax} | ${m.loadAverage1m} |`);
    }
    out.push(
      '',
      `RSS ${mib(k.rssStartKiB)} → ${mib(k.rssEndKiB)} MiB (median of the first and last 30 s), growth ${k.rssGrowthPercent} %, peak ${mib(k.rssPeakKiB)} MiB; ` +
        `series ${k.seriesStart} → ${k.seriesEnd} (most ${k.seriesMax}); ${k.scrapes} scrapes, p50 ${k.scrapeMsP50} ms, p99 ${k.scrapeMsP99} ms, ` +
        `${k.scrapeFailures.length} failed; losses ${JSON.stringify(k.losses)}; flood bytes ${k.flood.exact ? 'exact' : `off: ${JSON.stringify(k.flood)}`}.`,
      '',
    );
  }
  if (r.scrape) {
    out.push(`### /metrics cost by active series (metrics.maxSeries=${r.scrape.maxSeriesSetting})`, '');
    out.push('| generated series | samples in body | body KiB | p50 ms | p99 ms | max ms | scrapes | daemon CPU ms per scrape |');
    out.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const l of r.scrape.levels) {
      out.push(
        `| ${l.generatedSeriesExported} | ${l.sampleLines} | ${round(l.bodyBytes / 1024)} | ${l.p50Ms} | ${l.p99Ms} | ${l.maxMs} | ${l.scrapes} | ${l.daemonCpuMsPerScrape} |`,
      );
    }
    const renders = r.scrape.levels.filter((l) => l.render !== undefined);
    if (renders.some((l) => l.render && !('renderMs' in l.render))) {
      // Runs saved before the production serializer, when the split compared prototypes.
      out.push('', 'One render split in-process (bench/tools/scrape-micro.ts; median ms; output compared byte for byte):', '');
      out.push('| series | naming view (current) | serializer (OTel) | view + serializer (current) | prototypes: view + caching serializer | identical output |');
      out.push('| --- | --- | --- | --- | --- | --- |');
      for (const l of renders) {
        const m = l.render as LegacyRenderSplit;
        out.push(
          `| ${l.targetSeries} | ${m.viewMs} | ${m.serializeMs} | ${round(m.viewMs + m.serializeMs, 1)} | ${m.fastViewAndCachedSerializeMs} | ${m.identicalOutput ? 'yes' : 'NO'} |`,
        );
      }
    } else if (renders.length > 0) {
      out.push('', 'One render split in-process (bench/tools/scrape-micro.ts; median ms; "first" = fresh caches, as right after the series appear):', '');
      out.push('| series | view | view, first | text | text, first | OTel serializer on the same view | view + text | same bytes as OTel |');
      out.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
      for (const l of renders) {
        const m = l.render as ScrapeMicroResult;
        out.push(
          `| ${l.targetSeries} | ${m.viewMs} | ${m.firstViewMs} | ${m.serializeMs} | ${m.firstSerializeMs} | ${m.otelSerializeMs} | ${m.renderMs} | ${m.identicalOutput ? 'yes' : 'NO'} |`,
        );
      }
    }
    out.push('');
  }
  if (r.view) {
    out.push(`### What the view costs /metrics (bench/phases/view.ts; ${r.view.seconds} s spells)`, '');
    out.push('| view | series | daemon CPU, % of a CPU (same spell) | /metrics p50 ms | p99 ms | scrapes | snapshot p50 ms (polls) |');
    out.push('| --- | --- | --- | --- | --- | --- | --- |');
    for (const l of r.view.levels) {
      out.push(`| ${l.mode} | ${l.targetSeries} | ${l.cpuPercent ?? l.idleCpuPercent} | ${l.p50Ms} | ${l.p99Ms} | ${l.scrapes} | ${l.polls ? `${l.pollP50Ms} (${l.polls})` : '-'} |`);
    }
    out.push('', `One view sample build in-process: ${r.view.micro.map((m) => `${m.buildMs} ms at ${m.series} series`).join(', ')}.`, '');
  }
  if (r.healthz) {
    const h = r.healthz;
    out.push(`### Event loop under load (${h.generatedSeriesExported} generated series, ${h.senders} max-rate UDP senders)`, '');
    out.push('/healthz every 10 ms over its own connection; event-loop delay from perf_hooks.monitorEventLoopDelay in the daemon.', '');
    out.push('| window | events/s | /healthz p50 / p99 / max ms (requests) | /metrics p50 / p99 / max ms (scrapes) | event-loop delay p50 / p99 / max ms |');
    out.push('| --- | --- | --- | --- | --- |');
    for (const w of h.windows) {
      const m = w.metrics;
      out.push(
        `| ${w.name} | ${w.eventsPerSecond} | ${w.healthz.p50Ms} / ${w.healthz.p99Ms} / ${w.healthz.maxMs} (${w.healthz.requests}) | ` +
          `${m ? `${m.p50Ms} / ${m.p99Ms} / ${m.maxMs} (${m.requests})` : '—'} | ` +
          `${w.eventLoopDelay.p50Ms} / ${w.eventLoopDelay.p99Ms} / ${w.eventLoopDelay.maxMs} |`,
      );
    }
    out.push('');
  }
  if (r.drainBlocking) {
    const d = r.drainBlocking;
    const ms = (q: { p50: number; p99: number; max: number }) => `${q.p50} / ${q.p99} / ${q.max}`;
    out.push(`### One collector drain with ${d.flowsPerDrain} flows per drain (bench/tools/drain-blocking.ts; p50 / p99 / max ms over ${d.drains})`, '');
    out.push('| JS thread inside drain() | drain() to decoded records | event-loop delay meanwhile |', '| --- | --- | --- |');
    out.push(`| ${ms(d.syncCallMs)} | ${ms(d.wholeDrainMs)} | ${ms(d.eventLoopDelayMs)} |`, '');
  }
  if (r.connections) {
    const c = r.connections;
    out.push(`### ${c.total} concurrent TCP connections (defaults; opened and closed ${c.ratePerSecond || 'as fast as they go'} a second)`, '');
    out.push('| active gauge held (client / server) | after close | daemon RSS before / held / peak MiB | /metrics p50 / p99 / max ms | body KiB | losses |');
    out.push('| --- | --- | --- | --- | --- | --- |');
    out.push(
      `| ${c.held.client} / ${c.held.server} | ${c.closed.client} / ${c.closed.server} | ${c.rssMiB.before} / ${c.rssMiB.held} / ${c.rssMiB.peak} | ` +
        `${c.scrape.p50Ms} / ${c.scrape.p99Ms} / ${c.scrape.maxMs} | ${round(c.scrape.bodyBytes / 1024)} | ${JSON.stringify(c.losses)} |`,
      '',
    );
  }
  if (r.guests) out.push(...renderGuestTables(r.guests));
  return out.join('\n') + '\n';
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/bench/report.js bench/results/<date>.json\n');
    process.exit(2);
  }
  process.stdout.write(renderReport(JSON.parse(readFileSync(file, 'utf8')) as BenchResults));
}

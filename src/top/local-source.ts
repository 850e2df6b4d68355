/**
 * `sockscope top` without --from: probes attached in this process, read through the same
 * producer and view as a daemon's /metrics and /api/v1/snapshot.
 */
import { readBuildInfo } from '../build-info';
import type { Config } from '../config/schema';
import type { Logger } from '../log';
import { capabilitiesInMask, readThreadCapabilities } from '../privileges';
import { createProducer, enrichConnections, startCollector } from '../startup';
import type { SnapshotQuery, ViewSnapshot } from '../view/snapshot';
import { ViewModel } from '../view/view-model';
import { SourceError, type SnapshotSource } from './source';

/** As the daemon ingests: the history's step. */
const SAMPLE_INTERVAL_MS = 1000;

export class LocalSource implements SnapshotSource {
  readonly description = 'probes in this process';
  private readonly timer: NodeJS.Timeout;
  private sampling: Promise<void> = Promise.resolve();

  private constructor(
    private readonly view: ViewModel,
    private readonly detach: () => void,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.sample(), SAMPLE_INTERVAL_MS);
  }

  /** Attaches the probes; fails with one line when this process may not load BPF programs. */
  static async start(config: Config, log: Logger): Promise<LocalSource> {
    const missing = missingCapabilities();
    if (missing !== undefined) {
      throw new SourceError(
        `attaching probes needs root or ${missing}; run as root, or read a running daemon with --from http://host:9464`,
      );
    }
    const { collector, bootstrap } = startCollector(config, log);
    try {
      const producer = createProducer(config, collector, enrichConnections(config, collector, bootstrap));
      const view = new ViewModel({
        collect: () => producer.collect(),
        plan: collector.plan,
        version: readBuildInfo().version,
        intervalSeconds: SAMPLE_INTERVAL_MS / 1000,
      });
      await view.sample();
      return new LocalSource(view, () => collector.close(), log);
    } catch (err) {
      collector.close();
      throw err;
    }
  }

  async snapshot(query: SnapshotQuery): Promise<ViewSnapshot> {
    return this.view.snapshot(query);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.sampling;
    this.detach();
  }

  private sample(): Promise<void> {
    this.sampling = this.view.sample().catch((err: unknown) => this.log.error({ err }, 'sampling the view failed'));
    return this.sampling;
  }
}

/**
 * What the kernel would refuse: loading BPF programs needs CAP_BPF and CAP_PERFMON, or
 * CAP_SYS_ADMIN (README, Privileges). Undefined when this process holds them.
 */
function missingCapabilities(): string | undefined {
  const effective = new Set(capabilitiesInMask(readThreadCapabilities('self')[0]?.effective ?? 0n));
  if (effective.has('CAP_SYS_ADMIN')) return undefined;
  const missing = (['CAP_BPF', 'CAP_PERFMON'] as const).filter((c) => !effective.has(c));
  return missing.length === 0 ? undefined : `the capabilities ${missing.join(' and ')} (this process lacks them)`;
}

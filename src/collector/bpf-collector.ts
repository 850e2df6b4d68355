/** The kernel-facing collector: plans, loads and attaches the probes, then drains flow deltas and connection events. */
import { DEFAULT_IO_CACHE_SLOTS } from '../config/defaults';
import { bpfStatsEnabled } from './bpf-stats-sysctl';
import { hashMapsNeedPreallocation } from './kernel-release';
import { planAttach, type AttachPlan, type PlanOptions } from './attach-plan';
import { decodeConnEvents } from './conn-event-decoder';
import { decodeFlowRecords, forEachFlowRecord } from './flow-decoder';
import { HOOKS } from './hooks';
import { loadNativeAddon, type NativeAddon, type NativeBpfSession, type NativeStats } from './native-addon';
import type { CollectorStats, ConnectionEvent, FlowDelta, FlowSource, ProgramRuns, RawConnectionEventSource } from './types';

export interface BpfCollectorOptions extends PlanOptions {
  /** Only these hooks (HookSpec.hook), for commands that need no more; default: all. */
  hooks?: readonly string[];
  ringBufferSize: number;
  drainIntervalMillis: number;
  /** Flows the native table holds between two drains. */
  maxFlows: number;
  /** Entries of each kernel socket I/O map, if not maxFlows (tests: a tiny map sends calls to the ring). */
  ioMapEntries?: number;
  /** Slots per CPU of the tracepoint probes' socket I/O cache (0: none); default DEFAULT_IO_CACHE_SLOTS. */
  ioCacheSlots?: number;
  /** Connection events the addon holds between two drains. */
  maxConnEvents?: number;
  /** Kernel map sizes: socket owners and listener owners. */
  maxSockets?: number;
  maxListeners?: number;
}

function hasSocketIo(plan: AttachPlan): boolean {
  return plan.hooks.some((h) => (h.hook === 'socket_send' || h.hook === 'socket_recv') && h.chosen !== undefined);
}

function socketIoOnTracepoints(plan: AttachPlan): boolean {
  return plan.hooks.some(
    (h) => (h.hook === 'socket_send' || h.hook === 'socket_recv') && (h.chosen === 'tp_btf' || h.chosen === 'tracepoint'),
  );
}

export class AttachError extends Error {
  constructor(readonly plan: AttachPlan) {
    super(
      'no working implementation for required hook(s): ' +
        plan
          .missingRequired()
          .map((h) => `${h.hook} (${h.failures.map((f) => `${f.implementation}: ${f.reason}`).join('; ') || 'no candidate'})`)
          .join(', '),
    );
  }
}

export class BpfCollector implements FlowSource, RawConnectionEventSource {
  /** Set once closed: counters must not go back to zero for a last collection. */
  private finalStats: CollectorStats | undefined;

  private constructor(
    private readonly addon: NativeAddon,
    private readonly session: NativeBpfSession,
    readonly plan: AttachPlan,
  ) {}

  /** Plans, loads, attaches and starts draining; throws AttachError when a required hook cannot work. */
  static start(options: BpfCollectorOptions): BpfCollector {
    const addon = loadNativeAddon();
    const wanted = options.hooks;
    const plan = planAttach(addon, wanted ? HOOKS.filter((h) => wanted.includes(h.hook)) : HOOKS, options);
    if (plan.missingRequired().length > 0) throw new AttachError(plan);
    const session = new addon.BpfSession({
      ringBufferSize: options.ringBufferSize,
      // Wake the drain thread early once a quarter of the ring is used.
      wakeupDataSize: Math.floor(options.ringBufferSize / 4),
      maxFlows: options.maxFlows,
      ioMapEntries: options.ioMapEntries,
      // Only the tracepoint programs use the cache: with fexit or kprobes it would be memory for nothing.
      ioCacheSlots: socketIoOnTracepoints(plan) ? (options.ioCacheSlots ?? DEFAULT_IO_CACHE_SLOTS) : 0,
      preallocateMaps: hashMapsNeedPreallocation(),
      // `sockscope events` loads no socket I/O program: its maps would be created and swapped for nothing.
      socketIo: hasSocketIo(plan),
      maxConnEvents: options.maxConnEvents,
      maxSockets: options.maxSockets,
      maxListeners: options.maxListeners,
    });
    try {
      const chosen = new Set(plan.programs());
      for (const p of session.programs()) session.setAutoload(p.name, chosen.has(p.name));
      session.load();
      for (const p of chosen) session.attach(p);
      session.startDrain(options.drainIntervalMillis);
    } catch (err) {
      session.close();
      throw err;
    }
    return new BpfCollector(addon, session, plan);
  }

  async drainInto(visit: (flow: FlowDelta) => void): Promise<void> {
    if (this.finalStats) return;
    await this.session.drain();
    forEachFlowRecord(this.takeRecords(), this.addon.recordLayout, visit);
  }

  /** drainInto() as an array, for tests and tools. */
  async drain(): Promise<FlowDelta[]> {
    if (this.finalStats) return [];
    await this.session.drain();
    return decodeFlowRecords(this.takeRecords(), this.addon.recordLayout);
  }

  /** The addon's records as a Buffer view, decoded at once: the next take overwrites them. */
  private takeRecords(): Buffer {
    const records = this.session.takeRecords();
    return Buffer.from(records.buffer, records.byteOffset, records.byteLength);
  }

  async drainConnectionEvents(): Promise<ConnectionEvent[]> {
    if (this.finalStats) return [];
    await this.session.drainEvents();
    return decodeConnEvents(this.session.takeEvents(), this.addon.connEventLayout);
  }

  /** Tests: holds requested drains in the addon's drain thread (true) or lets them run (false). */
  holdDrains(hold: boolean): void {
    this.session.holdDrains(hold);
  }

  stats(): CollectorStats {
    if (this.finalStats) return this.finalStats;
    const s = this.session.stats();
    return {
      eventsLost: s.eventsLost,
      eventsReceived: s.eventsReceived,
      drainWakeups: s.drainWakeups,
      ioCallsSpilled: s.ioCallsSpilled,
      ioCacheEvictions: s.ioCacheEvictions,
      flowMapErrors: s.flowMapErrors,
      malformedRecords: s.malformedRecords,
      mapFull: {
        sockets: s.socketsMapFull,
        listeners: s.listenersMapFull,
        flow_table: s.flowTableDropped,
        connection_events: s.connEventsDropped,
      },
      missedByHook: Object.fromEntries(
        this.plan.hooks.map((h) => [h.hook, h.programs.reduce((n, p) => n + (s.recursionMisses[p] ?? 0), 0)]),
      ),
      mapMemoryBytes: s.mapMemoryBytes,
      programRuns: bpfStatsEnabled() ? this.programRuns(s) : undefined,
    };
  }

  /** Each attached program under the hook and implementation the plan chose it for. */
  private programRuns(s: NativeStats): ProgramRuns[] {
    return this.plan.hooks.flatMap((h) =>
      h.chosen === undefined
        ? []
        : h.programs.map((program) => ({
            hook: h.hook,
            implementation: h.chosen!,
            program,
            runTimeNs: s.programRunTimeNs[program] ?? 0,
            runCount: s.programRunCount[program] ?? 0,
          })),
    );
  }

  /** Detaches every program and frees the maps. */
  close(): void {
    if (this.finalStats) return;
    this.finalStats = this.stats();
    this.session.close();
  }
}

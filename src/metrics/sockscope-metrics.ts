/** Registers sockscope's instruments on an OTel Meter and feeds them from the collector. */
import type { Meter } from '@opentelemetry/api';
import type { AttachPlan } from '../collector/attach-plan';
import type { ProcSocket } from '../collector/proc-sockets';
import type { ConnectionEvent, ConnectionEventSource, FlowSource, SocketOwner } from '../collector/types';
import { ConnectionTracker } from './connection-tracker';
import * as defs from './definitions';
import { histogram, observable } from './instruments';
import { TrafficTotals } from './traffic-totals';

export interface BuildInfo {
  version: string;
  nodeVersion: string;
}

export interface SockscopeMetricsOptions {
  buildInfo: BuildInfo;
  plan: AttachPlan;
  /** TCP sockets that existed at start, from /proc. */
  bootstrap?: ReadonlyArray<ProcSocket & { owner?: SocketOwner }>;
  /** Receives every connection event after the metrics took it in (e.g. the JSONL stream). */
  onConnectionEvents?: (events: readonly ConnectionEvent[]) => void;
}

export class SockscopeMetrics {
  private readonly traffic = new TrafficTotals();
  private readonly connections: ConnectionTracker;
  private readonly rtt;

  constructor(
    meter: Meter,
    private readonly source: FlowSource & ConnectionEventSource,
    private readonly options: SockscopeMetricsOptions,
  ) {
    this.rtt = histogram(meter, defs.RTT);
    const connectDuration = histogram(meter, defs.CONNECT_DURATION);
    const connectionDuration = histogram(meter, defs.CONNECTION_DURATION);
    this.connections = new ConnectionTracker({
      connectSeconds: (s, a) => connectDuration.record(s, a),
      lifetimeSeconds: (s, a) => connectionDuration.record(s, a),
    });
    if (options.bootstrap) this.connections.bootstrap(options.bootstrap);

    const networkIo = observable(meter, defs.NETWORK_IO);
    const opened = observable(meter, defs.CONNECTIONS_OPENED);
    const closed = observable(meter, defs.CONNECTIONS_CLOSED);
    const failed = observable(meter, defs.CONNECTIONS_FAILED);
    const active = observable(meter, defs.CONNECTIONS_ACTIVE);
    const transitions = observable(meter, defs.STATE_TRANSITIONS);
    const retransmits = observable(meter, defs.RETRANSMITS);
    const eventsLost = observable(meter, defs.EVENTS_LOST);
    const eventsMissed = observable(meter, defs.EVENTS_MISSED);
    const mapFull = observable(meter, defs.MAP_FULL);
    const attached = observable(meter, defs.PROGRAM_ATTACHED);
    const build = observable(meter, defs.BUILD_INFO);
    const buildAttributes = { version: options.buildInfo.version, 'nodejs.version': options.buildInfo.nodeVersion };
    const series = [
      [opened, this.connections.opened],
      [closed, this.connections.closed],
      [failed, this.connections.failed],
      [active, this.connections.active],
      [transitions, this.connections.transitions],
      [retransmits, this.connections.retransmits],
    ] as const;

    // One callback for all instruments: a collection drains the kernel once, so
    // every exported series is as fresh as the collection itself.
    meter.addBatchObservableCallback(
      (result) => {
        this.ingest();
        for (const s of this.traffic.entries()) result.observe(networkIo, s.bytes, s.attributes);
        for (const [instrument, values] of series) {
          for (const s of values.entries()) result.observe(instrument, s.value, s.attributes);
        }
        const stats = this.source.stats();
        result.observe(eventsLost, stats.eventsLost);
        for (const [hook, missed] of Object.entries(stats.missedByHook)) result.observe(eventsMissed, missed, { [defs.ATTR_HOOK]: hook });
        for (const [map, count] of Object.entries(stats.mapFull)) result.observe(mapFull, count, { [defs.ATTR_MAP]: map });
        for (const hook of options.plan.hooks) {
          result.observe(attached, hook.chosen ? 1 : 0, {
            [defs.ATTR_HOOK]: hook.hook,
            [defs.ATTR_IMPLEMENTATION]: hook.chosen ?? 'none',
          });
        }
        result.observe(build, 1, buildAttributes);
      },
      [networkIo, ...series.map(([i]) => i), eventsLost, eventsMissed, mapFull, attached, build],
    );
  }

  /** Folds everything the collector has gathered into the running totals. */
  ingest(): void {
    const flows = this.source.drain();
    if (flows.length > 0) {
      this.traffic.add(flows);
      for (const f of flows) {
        if (f.srttMicros > 0) {
          this.rtt.record(f.srttMicros / 1e6, { [defs.ATTR_EXECUTABLE]: f.comm, [defs.ATTR_NETWORK_TYPE]: f.family });
        }
      }
    }
    const events = this.source.drainConnectionEvents();
    if (events.length > 0) {
      this.connections.apply(events);
      this.options.onConnectionEvents?.(events);
    }
  }
}

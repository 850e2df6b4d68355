/** Registers sockscope's instruments on an OTel Meter and feeds them from a FlowSource. */
import type { Meter } from '@opentelemetry/api';
import type { FlowSource } from '../collector/types';
import { BUILD_INFO, EVENTS_LOST, NETWORK_IO } from './definitions';
import { TrafficTotals } from './traffic-totals';

export interface BuildInfo {
  version: string;
  nodeVersion: string;
}

export class SockscopeMetrics {
  private readonly traffic = new TrafficTotals();

  constructor(
    meter: Meter,
    private readonly source: FlowSource,
    buildInfo: BuildInfo,
  ) {
    const networkIo = meter.createObservableCounter(NETWORK_IO.name, {
      unit: NETWORK_IO.unit,
      description: NETWORK_IO.description,
    });
    const eventsLost = meter.createObservableCounter(EVENTS_LOST.name, {
      unit: EVENTS_LOST.unit,
      description: EVENTS_LOST.description,
    });
    const build = meter.createObservableGauge(BUILD_INFO.name, {
      unit: BUILD_INFO.unit,
      description: BUILD_INFO.description,
    });
    const buildAttributes = { version: buildInfo.version, 'nodejs.version': buildInfo.nodeVersion };

    // One callback for all instruments: a collection drains the kernel once, so
    // every exported series is as fresh as the collection itself.
    meter.addBatchObservableCallback(
      (result) => {
        this.ingest();
        for (const s of this.traffic.entries()) result.observe(networkIo, s.bytes, s.attributes);
        result.observe(eventsLost, this.source.stats().eventsLost);
        result.observe(build, 1, buildAttributes);
      },
      [networkIo, eventsLost, build],
    );
  }

  /** Folds everything the source has aggregated into the running totals. */
  ingest(): void {
    const flows = this.source.drain();
    if (flows.length > 0) this.traffic.add(flows);
  }
}

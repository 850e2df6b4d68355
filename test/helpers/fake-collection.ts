/** Hand-built collections in the shape SockscopeProducer.collect() returns them, for tests of the view. */
import type { Attributes } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type CollectionResult, type MetricData } from '@opentelemetry/sdk-metrics';
import { emptyResource } from '@opentelemetry/resources';
import * as defs from '../../src/metrics/definitions';

export const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const time: [number, number] = [0, 0];

/** Each map holds the series of one metric: attributes -> cumulative value. */
export class FakeCollection {
  io = new Map<Attributes, number>();
  active = new Map<Attributes, number>();
  opened = new Map<Attributes, number>();
  failed = new Map<Attributes, number>();
  retransmits = new Map<Attributes, number>();
  rtt = new Map<Attributes, number[]>();
  losses: Array<[defs.MetricDefinition, number, Attributes?]> = [];

  result(): CollectionResult {
    const sum = (def: defs.MetricDefinition, values: Map<Attributes, number>): MetricData => ({
      descriptor: { name: def.name, description: '', unit: def.unit, valueType: 1 },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: [...values].map(([attributes, value]) => ({ attributes, value, startTime: time, endTime: time })),
    });
    const rtt: MetricData = {
      descriptor: { name: defs.RTT.name, description: '', unit: 's', valueType: 1 },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [...this.rtt].map(([attributes, counts]) => ({
        attributes,
        startTime: time,
        endTime: time,
        value: { buckets: { boundaries: defs.RTT_BUCKETS, counts: [...counts] }, sum: 0, count: counts.reduce((a, b) => a + b, 0) },
      })),
    };
    const losses = this.losses.map(([def, value, attributes]) => sum(def, new Map([[attributes ?? {}, value]])));
    const metrics = [
      sum(defs.NETWORK_IO, this.io),
      sum(defs.CONNECTIONS_ACTIVE, this.active),
      sum(defs.CONNECTIONS_OPENED, this.opened),
      sum(defs.CONNECTIONS_FAILED, this.failed),
      sum(defs.RETRANSMITS, this.retransmits),
      rtt,
      ...losses,
    ];
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: 'sockscope' }, metrics }] }, errors: [] };
  }
}

export const io = (exe: string, direction: 'transmit' | 'receive', extra: Attributes = {}): Attributes => ({
  [defs.ATTR_EXECUTABLE]: exe,
  [defs.ATTR_DIRECTION]: direction,
  [defs.ATTR_TRANSPORT]: 'tcp',
  ...extra,
});

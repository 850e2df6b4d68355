/** Creates the OTel instruments from their definitions, so names, units and buckets live in one table. */
import type { Histogram, Meter, ObservableCounter, ObservableGauge, ObservableUpDownCounter } from '@opentelemetry/api';
import type { MetricDefinition } from './definitions';

export type ObservableInstrument = ObservableCounter | ObservableUpDownCounter | ObservableGauge;

export function observable(meter: Meter, def: MetricDefinition): ObservableInstrument {
  const options = { unit: def.unit, description: def.description };
  switch (def.kind) {
    case 'counter':
      return meter.createObservableCounter(def.name, options);
    case 'updowncounter':
      return meter.createObservableUpDownCounter(def.name, options);
    case 'gauge':
      return meter.createObservableGauge(def.name, options);
    case 'histogram':
      throw new Error(`${def.name} is a histogram: use histogram()`);
  }
}

export function histogram(meter: Meter, def: MetricDefinition): Histogram {
  if (def.kind !== 'histogram') throw new Error(`${def.name} is not a histogram`);
  return meter.createHistogram(def.name, {
    unit: def.unit,
    description: def.description,
    advice: def.buckets ? { explicitBucketBoundaries: def.buckets } : undefined,
  });
}

/**
 * Prototype of a cheaper src/export/prometheus-names.ts toPrometheusView(), for the
 * /metrics latency miss (docs/performance.md). Same output, byte for byte (checked by
 * bench/tools/scrape-micro.ts), less work per data point:
 *
 *  1. label names are computed once per attribute key (memoized), not with two regex
 *     replaces per key per point per scrape;
 *  2. the rename plan (names, collisions) is computed once per attribute key list;
 *  3. the duplicate-series check (JSON.stringify of sorted entries per point) runs only
 *     where duplicates can exist: a family fed by more than one metric, or keys that
 *     collided when renamed. A single MetricProducer metric's points are already
 *     unique by attributes (its SeriesStore is keyed by them);
 *  4. no object spread of the point's attributes when there are no scope labels, and
 *     the renamed label object is remembered per source attributes object (a WeakMap),
 *     so a series keeps one label object across scrapes; prometheus-text.ts caches the
 *     label text on it.
 */
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import type { DataPoint, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  pointKindOf,
  prometheusLabelName,
  prometheusMetricName,
  prometheusTypeOf,
  toPrometheusLabels,
  type PrometheusType,
  type PrometheusView,
  type PrometheusViewOptions,
} from '../../src/export/prometheus-names';

const labelNames = new Map<string, string>();

function labelName(key: string): string {
  let name = labelNames.get(key);
  if (name === undefined) {
    name = prometheusLabelName(key);
    labelNames.set(key, name);
  }
  return name;
}

interface RenamePlan {
  keys: string[];
  names: string[];
  /** No key renamed to '' and no two keys to the same name: a plain rename is exact. */
  simple: boolean;
}

const plans = new Map<string, RenamePlan>();

function planFor(keys: string[]): RenamePlan {
  const shape = keys.join('\u0000');
  let plan = plans.get(shape);
  if (plan === undefined) {
    const names = keys.map(labelName);
    plan = { keys, names, simple: !names.includes('') && new Set(names).size === names.length };
    plans.set(shape, plan);
  }
  return plan;
}

interface Relabeled {
  labels: Attributes;
  exact: boolean;
}

/** Renamed labels, and whether the rename was exact (no merged or dropped keys). */
function relabel(attributes: Attributes): Relabeled {
  const plan = planFor(Object.keys(attributes));
  if (!plan.simple) return { labels: toPrometheusLabels(attributes), exact: false };
  const labels: Attributes = {};
  for (let i = 0; i < plan.keys.length; i++) labels[plan.names[i]!] = attributes[plan.keys[i]!];
  return { labels, exact: true };
}

// Attributes objects are never mutated once a series holds them, so the rename of one is final.
const stableLabels = new WeakMap<Attributes, Relabeled>();

function relabelStable(attributes: Attributes): Relabeled {
  let r = stableLabels.get(attributes);
  if (r === undefined) {
    r = relabel(attributes);
    stableLabels.set(attributes, r);
  }
  return r;
}

function seriesKey(attributes: Attributes): string {
  return JSON.stringify(Object.keys(attributes).sort().map((key) => [key, attributes[key]]));
}

const VIEW_SCOPE = { name: 'sockscope.export.prometheus' } as const;

function unexposableReason(metric: MetricData, family: string): string | undefined {
  const name = metric.descriptor.name;
  if (family === '') return `metric "${name}" has no valid Prometheus name`;
  if (metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
    return `metric "${name}" is an exponential histogram, which the text format cannot carry`;
  }
  if (metric.dataPointType !== DataPointType.GAUGE && metric.aggregationTemporality !== AggregationTemporality.CUMULATIVE) {
    return `metric "${name}" has delta temporality; Prometheus needs cumulative`;
  }
  return undefined;
}

interface Source {
  metric: MetricData;
  extraLabels: Attributes | undefined;
}

interface Family {
  type: PrometheusType;
  first: MetricData;
  sources: Source[];
}

export function toPrometheusViewFast(input: ResourceMetrics, options: PrometheusViewOptions = {}): PrometheusView {
  const warnings: string[] = [];
  const families = new Map<string, Family>();
  // Pass 1: which metrics feed which family (so we know where duplicates are possible).
  for (const scopeMetrics of input.scopeMetrics) {
    const scope = scopeMetrics.scope;
    const extraLabels = options.withoutScopeLabels
      ? undefined
      : scope.version
        ? { otel_scope_name: scope.name, otel_scope_version: scope.version }
        : { otel_scope_name: scope.name };
    for (const metric of scopeMetrics.metrics) {
      const kind = pointKindOf(metric);
      const name = prometheusMetricName(metric.descriptor.name, metric.descriptor.unit, kind);
      const reason = unexposableReason(metric, name);
      if (reason !== undefined) {
        warnings.push(`${reason}; dropped`);
        continue;
      }
      const type = prometheusTypeOf(kind);
      const family = families.get(name);
      if (family === undefined) {
        families.set(name, { type, first: metric, sources: [{ metric, extraLabels }] });
      } else if (family.type !== type) {
        warnings.push(`metric "${metric.descriptor.name}" maps to "${name}" as a ${type}, which is already a ${family.type}; dropped`);
      } else {
        family.sources.push({ metric, extraLabels });
      }
    }
  }
  // Pass 2: relabel; check for duplicates only where they can occur.
  const metrics: MetricData[] = [];
  for (const [name, family] of families) {
    const points: DataPoint<unknown>[] = [];
    const merged = family.sources.length > 1;
    const seen = new Set<string>();
    for (const { metric, extraLabels } of family.sources) {
      let duplicates = 0;
      for (const point of metric.dataPoints as DataPoint<unknown>[]) {
        const { labels, exact } = extraLabels ? relabel({ ...point.attributes, ...extraLabels }) : relabelStable(point.attributes);
        if (merged || !exact) {
          const key = seriesKey(labels);
          if (seen.has(key)) {
            duplicates += 1;
            continue;
          }
          seen.add(key);
        }
        points.push({ ...point, attributes: labels });
      }
      if (duplicates > 0) {
        warnings.push(`metric "${metric.descriptor.name}" repeats ${duplicates} series of "${name}"; dropped the repeats`);
      }
    }
    const descriptor = { ...family.first.descriptor, name, unit: '' };
    metrics.push({ ...family.first, descriptor, dataPoints: points } as MetricData);
  }
  return {
    resourceMetrics: {
      resource: resourceFromAttributes(toPrometheusLabels(input.resource.attributes)),
      scopeMetrics: metrics.length > 0 ? [{ scope: VIEW_SCOPE, metrics }] : [],
    },
    warnings,
  };
}

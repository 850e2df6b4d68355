/**
 * A Prometheus-ready copy of an SDK collection, built on every scrape: families named by
 * the rules in prometheus-names.ts, labels renamed, scope labels baked in, families of
 * the same name merged and repeated series dropped, so that the text serializer only
 * has to write.
 *
 * A scrape sees the same series as the one before, so the builder remembers what does not
 * change between scrapes: the label name of each attribute key, the rename plan of each
 * key list, and the renamed labels of each series. Series keep their attributes object
 * from collection to collection (the SDK's storage and sockscope's SeriesStore both do)
 * and never modify it, so the renamed labels are remembered per attributes object in a
 * WeakMap: a series that expires takes its entry with it, and a series that gets a new
 * attributes object gets new labels. The same labels object on every scrape is what lets
 * PrometheusTextSerializer cache the label text of a series.
 */
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import type { DataPoint, MetricData, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import {
  pointKindOf,
  prometheusLabelName,
  prometheusMetricName,
  prometheusTypeOf,
  toPrometheusLabels,
  type PrometheusType,
} from './prometheus-names';
import { seriesKey } from '../metrics/series-store';

export interface PrometheusViewOptions {
  /** Omit the `otel_scope_name` / `otel_scope_version` labels (the spec makes them on by default). */
  withoutScopeLabels?: boolean;
}

export interface PrometheusView {
  /** One scope, one metric per Prometheus family; for a serializer with scope info off. */
  resourceMetrics: ResourceMetrics;
  /** What had to be dropped to keep the exposition valid, one sentence each. */
  warnings: string[];
}

/** Entries per memo; a producer with unbounded attribute keys must not grow one forever. */
const MEMO_LIMIT = 10_000;

interface RenamePlan {
  keys: string[];
  names: string[];
  /** Every key gets its own non-empty label name: renaming is all there is to do. */
  simple: boolean;
}

interface Relabeled {
  /** The scope labels merged in, by identity; undefined when none. */
  scope: Attributes | undefined;
  labels: Attributes;
  plan: RenamePlan;
  /** A one-to-one rename of attributes plus scope labels: nothing merged, dropped or overridden. */
  exact: boolean;
}

interface Family {
  type: PrometheusType;
  first: MetricData;
  metrics: number;
  points: DataPoint<unknown>[];
  /** The attribute key behind each label name so far: two keys sharing a name can make two series one. */
  labelSources: Map<string, string>;
  plans: Set<RenamePlan>;
  /** Keys of the series so far, kept only once the family can hold a repeat. */
  seriesKeys: Set<string> | undefined;
}

const VIEW_SCOPE = { name: 'sockscope.export.prometheus' } as const;

/** Why a metric cannot be exposed as-is; undefined when it can. */
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

function memoized<V>(memo: Map<string, V>, key: string, make: () => V): V {
  let value = memo.get(key);
  if (value === undefined) {
    if (memo.size >= MEMO_LIMIT) memo.clear();
    value = make();
    memo.set(key, value);
  }
  return value;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Starts checking a family for repeated series, from the points it already has. */
function checkRepeats(family: Family): Set<string> {
  family.seriesKeys ??= new Set(family.points.map((point) => seriesKey(point.attributes)));
  return family.seriesKeys;
}

/**
 * Whether a family fed by one metric still cannot hold two equal series after adding a
 * point relabeled as `r`. A metric's points have distinct attribute sets (the OTel data
 * model; SDK storage and SeriesStore are keyed by them), and an exact rename that never
 * maps two keys to one name keeps them distinct.
 */
function staysDistinct(family: Family, r: Relabeled): boolean {
  if (!r.exact) return false;
  if (family.plans.has(r.plan)) return true;
  family.plans.add(r.plan);
  for (let i = 0; i < r.plan.keys.length; i++) {
    const key = r.plan.keys[i]!;
    const name = r.plan.names[i]!;
    const source = family.labelSources.get(name);
    if (source === undefined) family.labelSources.set(name, key);
    else if (source !== key) return false;
  }
  return true;
}

export class PrometheusViewBuilder {
  private readonly labelNames = new Map<string, string>();
  private readonly plans = new Map<string, RenamePlan>();
  private readonly scopeLabels = new Map<string, Attributes>();
  private readonly relabeled = new WeakMap<Attributes, Relabeled>();
  private lastPlan: RenamePlan | undefined;

  constructor(private readonly options: PrometheusViewOptions = {}) {}

  /**
   * Descriptors carry the full family name (with unit and `_total`, so a serializer's own
   * `_total` rule is a no-op) and no unit (no `# UNIT` line, which text format 0.0.4 does
   * not define); labels are valid and scope labels are baked in; families with the same
   * name are merged across scopes so no HELP/TYPE line repeats. The SDK's objects are not
   * modified.
   */
  build(input: ResourceMetrics): PrometheusView {
    const warnings: string[] = [];
    const families = new Map<string, Family>();
    for (const scopeMetrics of input.scopeMetrics) {
      const scope = this.options.withoutScopeLabels ? undefined : this.scopeLabelsOf(scopeMetrics.scope);
      for (const metric of scopeMetrics.metrics) {
        const kind = pointKindOf(metric);
        const name = prometheusMetricName(metric.descriptor.name, metric.descriptor.unit, kind);
        const reason = unexposableReason(metric, name);
        if (reason !== undefined) {
          warnings.push(`${reason}; dropped`);
          continue;
        }
        const type = prometheusTypeOf(kind);
        let family = families.get(name);
        if (family === undefined) {
          family = { type, first: metric, metrics: 0, points: [], labelSources: new Map(), plans: new Set(), seriesKeys: undefined };
          families.set(name, family);
        } else if (family.type !== type) {
          warnings.push(
            `metric "${metric.descriptor.name}" maps to "${name}" as a ${type}, which is already a ${family.type}; dropped`,
          );
          continue;
        }
        // A second metric in a family can repeat the first one's series.
        if (++family.metrics > 1) checkRepeats(family);
        const duplicates = this.addPoints(family, metric.dataPoints as DataPoint<unknown>[], scope);
        if (duplicates > 0) {
          warnings.push(`metric "${metric.descriptor.name}" repeats ${duplicates} series of "${name}"; dropped the repeats`);
        }
      }
    }
    const metrics: MetricData[] = [];
    for (const [name, family] of families) {
      const descriptor = { ...family.first.descriptor, name, unit: '' };
      // The family keeps the first metric's shape; merged metrics share its Prometheus type.
      metrics.push({ ...family.first, descriptor, dataPoints: family.points } as MetricData);
    }
    return {
      resourceMetrics: {
        resource: resourceFromAttributes(toPrometheusLabels(input.resource.attributes)),
        scopeMetrics: metrics.length > 0 ? [{ scope: VIEW_SCOPE, metrics }] : [],
      },
      warnings,
    };
  }

  /** Adds a metric's points to its family; returns how many repeated a series and were dropped. */
  private addPoints(family: Family, points: DataPoint<unknown>[], scope: Attributes | undefined): number {
    let duplicates = 0;
    for (const point of points) {
      const r = this.relabel(point.attributes, scope);
      const keys = family.seriesKeys ?? (staysDistinct(family, r) ? undefined : checkRepeats(family));
      if (keys !== undefined) {
        const key = seriesKey(r.labels);
        if (keys.has(key)) {
          duplicates += 1;
          continue;
        }
        keys.add(key);
      }
      family.points.push({ ...point, attributes: r.labels });
    }
    return duplicates;
  }

  private relabel(attributes: Attributes, scope: Attributes | undefined): Relabeled {
    const cached = this.relabeled.get(attributes);
    if (cached !== undefined && cached.scope === scope) return cached;
    const source = scope === undefined ? attributes : { ...attributes, ...scope };
    const plan = this.planOf(Object.keys(source));
    // An attribute named like a scope label is overridden by it: two series can become one.
    const overrides = scope !== undefined && plan.keys.length < Object.keys(attributes).length + Object.keys(scope).length;
    let labels: Attributes;
    if (plan.simple) {
      labels = {};
      for (let i = 0; i < plan.keys.length; i++) labels[plan.names[i]!] = source[plan.keys[i]!];
    } else {
      labels = toPrometheusLabels(source);
    }
    const r: Relabeled = { scope, labels, plan, exact: plan.simple && !overrides };
    this.relabeled.set(attributes, r);
    return r;
  }

  private planOf(keys: string[]): RenamePlan {
    // Points of one metric mostly share their keys: compare with the last plan before hashing.
    const last = this.lastPlan;
    if (last !== undefined && sameKeys(last.keys, keys)) return last;
    // JSON, not a join: [] and [''] (or ['a\u0000b'] and ['a', 'b']) are different key lists.
    this.lastPlan = memoized(this.plans, JSON.stringify(keys), () => {
      const names = keys.map((key) => memoized(this.labelNames, key, () => prometheusLabelName(key)));
      return { keys, names, simple: !names.includes('') && new Set(names).size === names.length };
    });
    return this.lastPlan;
  }

  /** One object per scope, so a series' cached labels stay valid from scrape to scrape. */
  private scopeLabelsOf(scope: ScopeMetrics['scope']): Attributes {
    const version = scope.version || undefined;
    return memoized(this.scopeLabels, JSON.stringify([scope.name, version]), () =>
      version ? { otel_scope_name: scope.name, otel_scope_version: version } : { otel_scope_name: scope.name },
    );
  }
}

/**
 * Which attributes each metric exports. Every metric lists its candidate attributes
 * in definitions.ts, default or opt-in; configuration may replace a metric's set
 * with any subset of its candidates (`metrics.attributes`).
 */
import type { Attributes } from '@opentelemetry/api';
import type { MetricDefinition } from './definitions';

export type AttributeSelection = Readonly<Record<string, readonly string[]>>;

export class AttributePolicy {
  private readonly selected = new Map<string, readonly string[]>();

  constructor(metrics: readonly MetricDefinition[], overrides: AttributeSelection = {}) {
    for (const m of metrics) {
      this.selected.set(m.name, overrides[m.name] ?? m.attributes.filter((a) => a.default).map((a) => a.name));
    }
  }

  /** Problems with an override, one line each: unknown metrics or attributes. */
  static validate(metrics: readonly MetricDefinition[], overrides: AttributeSelection): string[] {
    const problems: string[] = [];
    const byName = new Map(metrics.map((m) => [m.name, m]));
    for (const [metric, names] of Object.entries(overrides)) {
      const def = byName.get(metric);
      if (!def) {
        problems.push(`unknown metric ${JSON.stringify(metric)} (metrics: ${[...byName.keys()].join(', ')})`);
        continue;
      }
      const allowed = new Set(def.attributes.map((a) => a.name));
      for (const n of names) {
        if (!allowed.has(n)) problems.push(`${metric} has no attribute ${JSON.stringify(n)} (it has: ${[...allowed].join(', ')})`);
      }
    }
    return problems;
  }

  /** The exported attributes of `metric`, in its definition's order, from all candidates known for a data point. */
  select(metric: string, candidates: Attributes): Attributes {
    const names = this.selected.get(metric);
    if (!names) throw new Error(`no attribute policy for ${metric}`);
    const out: Attributes = {};
    for (const n of names) {
      const v = candidates[n];
      if (v !== undefined && v !== '') out[n] = v;
    }
    return out;
  }

  exported(metric: string): readonly string[] {
    return this.selected.get(metric) ?? [];
  }
}

/**
 * Which attributes each metric exports. Every metric lists its candidate attributes
 * in definitions.ts, default or opt-in; configuration may replace a metric's set
 * with any subset of its candidates (`metrics.attributes`).
 */
import type { Attributes } from '@opentelemetry/api';
import type { MetricDefinition } from './definitions';
import type { SeriesEntry, SeriesStore } from './series-store';

export type AttributeSelection = Readonly<Record<string, readonly string[]>>;

export class AttributePolicy {
  private readonly selected = new Map<string, readonly string[]>();
  /** The same names sorted, as seriesKey orders them. */
  private readonly sortedSelected = new Map<string, readonly string[]>();
  /** Scratch for keyOf, reused: keys are built synchronously, one at a time. */
  private readonly keyParts: Array<string | number | boolean> = [];

  /** clusterNetworks: metrics.clusterNetworks is set, which makes the peer address and port defaults where marked. */
  constructor(metrics: readonly MetricDefinition[], overrides: AttributeSelection = {}, clusterNetworks = false) {
    for (const m of metrics) {
      const names =
        overrides[m.name] ?? m.attributes.filter((a) => a.default || (clusterNetworks && a.clusterDefault)).map((a) => a.name);
      this.selected.set(m.name, names);
      this.sortedSelected.set(m.name, [...names].sort());
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

  /**
   * seriesKey(select(metric, candidates)) without building the selected attributes: the
   * hot path looks a series up by this key and builds attributes only for a new one.
   */
  keyOf(metric: string, candidates: Attributes): string {
    const names = this.sortedSelected.get(metric);
    if (!names) throw new Error(`no attribute policy for ${metric}`);
    // One join builds one flat string; `+=` would allocate a piece per part (~3 KB per flow
    // per interval), which is what made young collections promote the flows being decoded.
    const parts = this.keyParts;
    parts.length = 0;
    for (const n of names) {
      const v = candidates[n];
      if (v !== undefined && v !== '') parts.push(n, '\u0000', v as string | number | boolean, '\u0001');
    }
    return parts.join('');
  }

  /** The series of a data point in `store`, found by key: its attributes are built only when it is new. */
  entryIn<V>(store: SeriesStore<V>, metric: string, candidates: Attributes): SeriesEntry<V> {
    const key = this.keyOf(metric, candidates);
    return store.touch(key) ?? store.upsertEntry(this.select(metric, candidates), key);
  }

  exported(metric: string): readonly string[] {
    return this.selected.get(metric) ?? [];
  }
}

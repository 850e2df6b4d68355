/** The metric contract in docs/metrics.md, read back: Prometheus names, types and labels. */
import { readFileSync } from 'node:fs';
import { repoPath } from './paths';

export interface DocumentedMetric {
  prometheusName: string;
  type: string;
  /** Prometheus label names of its attributes (`network.io.direction` -> `network_io_direction`). */
  labels: string[];
}

export function documentedMetrics(file = repoPath('docs', 'metrics.md')): Map<string, DocumentedMetric> {
  const metrics = new Map<string, DocumentedMetric>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    // | `otel.name` | `prom_name` | type | `unit` | `attr`, `attr` |
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`(sockscope_[a-z0-9_]+)`$/.exec(cells[2] ?? '')?.[1];
    if (!name) continue;
    const labels = [...(cells[5] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\./g, '_'));
    metrics.set(name, { prometheusName: name, type: cells[3] ?? '', labels });
  }
  return metrics;
}

/** Labels a query may use besides the metric's attributes: Prometheus target labels and `le`. */
export const TARGET_LABELS = new Set(['instance', 'job', 'node', 'pod', 'namespace', 'le']);

/** The metric a series name belongs to: histogram series end in _bucket, _sum or _count. */
export function metricOfSeries(series: string, metrics: Map<string, DocumentedMetric>): DocumentedMetric | undefined {
  if (metrics.has(series)) return metrics.get(series);
  const base = series.replace(/_(bucket|sum|count)$/, '');
  const metric = metrics.get(base);
  return metric?.type === 'histogram' ? metric : undefined;
}

export interface QueryProblem {
  query: string;
  problem: string;
}

/**
 * Checks one PromQL expression against the contract: every sockscope_* series exists, and
 * every label in a `by (...)` clause or a `{label=...}` matcher is an attribute of the
 * metrics in the expression or a target label.
 */
export function checkQuery(query: string, metrics: Map<string, DocumentedMetric>): QueryProblem[] {
  const problems: QueryProblem[] = [];
  // Label names also start with sockscope_ (sockscope_ebpf_hook): look for metrics outside
  // `by (...)` clauses and `{...}` matchers only.
  const outsideLabels = query.replace(/\b(?:by|without)\s*\([^)]*\)/g, ' ').replace(/\{[^}]*\}/g, ' ');
  const used = [...outsideLabels.matchAll(/\b(sockscope_[a-z0-9_]+)/g)].map((m) => m[1]!);
  if (used.length === 0) problems.push({ query, problem: 'queries no sockscope metric' });
  const allowed = new Set(TARGET_LABELS);
  for (const series of used) {
    const metric = metricOfSeries(series, metrics);
    if (!metric) problems.push({ query, problem: `${series} is not in docs/metrics.md` });
    for (const label of metric?.labels ?? []) allowed.add(label);
  }
  const labels = [
    ...[...query.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',')),
    ...[...query.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!)),
  ]
    .map((l) => l.trim())
    .filter(Boolean);
  for (const label of labels) {
    if (!allowed.has(label)) problems.push({ query, problem: `label ${label} is not an attribute of ${used.join(', ')}` });
  }
  return problems;
}

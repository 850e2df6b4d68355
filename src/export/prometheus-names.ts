/**
 * OpenTelemetry -> Prometheus naming, per the OTel "Prometheus and OpenMetrics
 * Compatibility" spec (OTLP Metric points to Prometheus). The installed
 * exporter-prometheus only sanitizes names and appends `_total`; the unit
 * suffix and label-name collisions are named here, and prometheus-view.ts
 * applies these rules to a whole collection.
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import type { InstrumentKind } from '../metrics/definitions';

/** The OTel point kinds that decide the suffixes of a Prometheus name. */
export type OtelPointKind =
  | 'monotonic_sum'
  | 'non_monotonic_sum'
  | 'gauge'
  | 'histogram'
  | 'exponential_histogram';

export type PrometheusType = 'counter' | 'gauge' | 'histogram' | 'untyped';

// UCUM unit -> Prometheus word, as in the collector's prometheus translator
// (the spec's reference implementation of "abbreviations to full words").
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes', // sic: the collector's spelling, so names match what it produces
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};

// The denominator of "foo/bar" reads in the singular: bytes_per_second.
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/** Splits on everything Prometheus does not allow, which also collapses and trims `_`. */
function nameTokens(text: string): string[] {
  return text.split(/[^a-zA-Z0-9]+/).filter((token) => token !== '');
}

function endsWithTokens(tokens: readonly string[], suffix: readonly string[]): boolean {
  if (suffix.length > tokens.length) return false;
  const offset = tokens.length - suffix.length;
  return suffix.every((token, i) => tokens[offset + i] === token);
}

function unitWords(unit: string, words: Readonly<Record<string, string>>): string {
  return Object.hasOwn(words, unit) ? (words[unit] as string) : nameTokens(unit).join('_');
}

/**
 * The Prometheus unit word(s) for an OTel (UCUM) unit, '' when the name gets no unit suffix.
 * `{annotations}` are dropped (a count of things is unitless in Prometheus); `1` is `ratio`
 * for gauges only (the collector's rule: unit-1 counters are usually counts, not ratios).
 */
export function prometheusUnit(unit: string, kind: OtelPointKind): string {
  const stripped = unit.replace(/\{[^}]*\}/g, '').trim();
  if (stripped === '1') return kind === 'gauge' ? 'ratio' : '';
  const slash = stripped.indexOf('/');
  const main = slash < 0 ? stripped : stripped.slice(0, slash).trim();
  const per = slash < 0 ? '' : stripped.slice(slash + 1).trim();
  const parts: string[] = [];
  if (main !== '' && main !== '1') parts.push(unitWords(main, UNIT_WORDS));
  if (per !== '') {
    const perWord = unitWords(per, PER_UNIT_WORDS);
    if (perWord !== '') parts.push(`per_${perWord}`);
  }
  return parts.filter((part) => part !== '').join('_');
}

/**
 * The Prometheus metric family name for an OTel metric, e.g.
 * (`sockscope.network.io`, `By`, monotonic_sum) -> `sockscope_network_io_bytes_total`.
 * Returns '' when nothing of the name survives sanitization.
 */
export function prometheusMetricName(name: string, unit: string, kind: OtelPointKind): string {
  const tokens = nameTokens(name);
  if (tokens.length === 0) return '';
  const isCounter = kind === 'monotonic_sum';
  // `_total` goes after the unit, so a counter already named `..._total` is re-suffixed.
  if (isCounter && tokens[tokens.length - 1] === 'total') tokens.pop();
  const unitTokens = nameTokens(prometheusUnit(unit, kind));
  if (unitTokens.length > 0 && !endsWithTokens(tokens, unitTokens)) tokens.push(...unitTokens);
  if (isCounter) tokens.push('total');
  const joined = tokens.join('_');
  return /^[0-9]/.test(joined) ? `_${joined}` : joined;
}


const POINT_KIND_OF_INSTRUMENT: Readonly<Record<InstrumentKind, OtelPointKind>> = {
  counter: 'monotonic_sum',
  updowncounter: 'non_monotonic_sum',
  gauge: 'gauge',
  histogram: 'histogram',
};

/** prometheusMetricName for an instrument (sync or observable) of the given kind. */
export function prometheusName(name: string, unit: string, instrument: InstrumentKind): string {
  return prometheusMetricName(name, unit, POINT_KIND_OF_INSTRUMENT[instrument]);
}

/**
 * A Prometheus label name for an OTel attribute key: invalid characters become `_`,
 * runs of `_` collapse to one, a leading digit gets a `key_` prefix. '' if nothing is left.
 */
export function prometheusLabelName(key: string): string {
  const name = key.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_{2,}/g, '_');
  return /^[0-9]/.test(name) ? `key_${name}` : name;
}

export function pointKindOf(metric: MetricData): OtelPointKind {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'monotonic_sum' : 'non_monotonic_sum';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return 'exponential_histogram';
  }
}

export function prometheusTypeOf(kind: OtelPointKind): PrometheusType {
  switch (kind) {
    case 'monotonic_sum':
      return 'counter';
    case 'non_monotonic_sum':
    case 'gauge':
      return 'gauge';
    case 'histogram':
      return 'histogram';
    case 'exponential_histogram':
      return 'untyped';
  }
}

function attributeText(value: AttributeValue | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Renames attribute keys to label names. Keys that collide after renaming are merged
 * into one label whose values are joined with `;` in the original keys' order, as the
 * spec requires: duplicate label names make the whole scrape unparseable.
 */
export function toPrometheusLabels(attributes: Attributes): Attributes {
  const byLabel = new Map<string, string[]>();
  for (const key of Object.keys(attributes)) {
    const label = prometheusLabelName(key);
    if (label === '') continue;
    const keys = byLabel.get(label);
    if (keys) keys.push(key);
    else byLabel.set(label, [key]);
  }
  const labels: Attributes = {};
  for (const [label, keys] of byLabel) {
    labels[label] =
      keys.length === 1
        ? attributes[keys[0] as string]
        : [...keys].sort().map((key) => attributeText(attributes[key])).join(';');
  }
  return labels;
}

/**
 * Prometheus text format 0.0.4 for a collection PrometheusViewBuilder made
 * Prometheus-ready. It writes the bytes @opentelemetry/exporter-prometheus's
 * PrometheusSerializer writes when configured without prefix, timestamps, resource
 * constant labels or scope info (test/unit/prometheus-text.test.ts compares the two), but
 * renders the label text of a series once and reuses it while the series lives: the
 * view hands out the same labels object for a series on every scrape, so a WeakMap keyed
 * by that object is a per-series cache that empties itself when the series expires.
 * The OTel serializer runs two regex replaces per label name and three per value, per
 * series, per scrape.
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { pointKindOf, prometheusTypeOf } from './prometheus-names';

export interface PrometheusTextOptions {
  /** Leave out `target_info` (the spec wants none for an empty resource). */
  withoutTargetInfo?: boolean;
}

const NEEDS_STRING_ESCAPE = /[\\\n]/;
const NEEDS_VALUE_ESCAPE = /[\\\n"]/;
const INVALID_NAME_CHARACTERS = /[^a-z0-9_]/gi;
const UNDERSCORE_RUNS = /_{2,}/g;

/** HELP text, and metric names before sanitizing (as the OTel serializer does). */
function escapeString(text: string): string {
  return NEEDS_STRING_ESCAPE.test(text) ? text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : text;
}

/** Non-string values are written as JSON, undefined as ''. */
function escapeLabelValue(value: AttributeValue | undefined = ''): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return NEEDS_VALUE_ESCAPE.test(text) ? text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : text;
}

function sanitizeName(name: string): string {
  return name.replace(INVALID_NAME_CHARACTERS, '_').replace(UNDERSCORE_RUNS, '_');
}

function valueText(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return `${value}`;
}

/** The family name, or '' when nothing valid is left of it. */
function familyName(metric: MetricData): string {
  let name = sanitizeName(escapeString(metric.descriptor.name));
  if (name === '' || name === '_') return '';
  if (name[0]! >= '0' && name[0]! <= '9') name = `_${name}`;
  if (metric.dataPointType === DataPointType.SUM && metric.isMonotonic && !name.endsWith('_total')) name += '_total';
  return name;
}

function sample(name: string, labels: string, value: number): string {
  return labels === '' ? `${name} ${valueText(value)}\n` : `${name}{${labels}} ${valueText(value)}\n`;
}

function histogramSamples(name: string, labels: string, histogram: Histogram): string {
  let text = '';
  if (histogram.count != null) text += sample(`${name}_count`, labels, histogram.count);
  if (histogram.sum != null) text += sample(`${name}_sum`, labels, histogram.sum);
  const bucket = labels === '' ? `${name}_bucket{le="` : `${name}_bucket{${labels},le="`;
  const { boundaries, counts } = histogram.buckets;
  let cumulative = 0;
  let infiniteBoundary = false;
  for (let i = 0; i < counts.length; i++) {
    cumulative += counts[i]!;
    const bound = boundaries[i];
    // Boundaries may or may not end in Infinity; either way there is one +Inf bucket.
    if (bound === undefined && infiniteBoundary) break;
    if (bound === Infinity) infiniteBoundary = true;
    const le = bound === undefined || bound === Infinity ? '+Inf' : escapeLabelValue(String(bound));
    text += `${bucket}${le}"} ${valueText(cumulative)}\n`;
  }
  return text;
}

/** Entries in the label-name memo; a producer with unbounded attribute keys must not grow it forever. */
const LABEL_NAME_MEMO_LIMIT = 10_000;

export class PrometheusTextSerializer {
  private readonly labelTexts = new WeakMap<Attributes, string>();
  private readonly labelNames = new Map<string, string>();

  serialize(resourceMetrics: ResourceMetrics, options: PrometheusTextOptions = {}): string {
    let body = '';
    for (const scopeMetrics of resourceMetrics.scopeMetrics) {
      for (const metric of scopeMetrics.metrics) body += this.family(metric);
    }
    if (body === '') body = '# no registered metrics';
    if (options.withoutTargetInfo) return body;
    const target = sample('target_info', this.labelText(resourceMetrics.resource.attributes), 1);
    return `# HELP target_info Target metadata\n# TYPE target_info gauge\n${target}${body}`;
  }

  /** One family's HELP, TYPE and samples, ending in a newline; '' when it has no valid name. */
  private family(metric: MetricData): string {
    const name = familyName(metric);
    if (name === '') return '';
    const { description, unit } = metric.descriptor;
    let text = `# HELP ${name} ${escapeString(description || 'description missing')}\n`;
    if (unit) text += `# UNIT ${name} ${escapeString(unit)}\n`;
    text += `# TYPE ${name} ${prometheusTypeOf(pointKindOf(metric))}\n`;
    switch (metric.dataPointType) {
      case DataPointType.SUM:
      case DataPointType.GAUGE:
        for (const point of metric.dataPoints as DataPoint<number>[]) {
          text += sample(name, this.labelText(point.attributes), point.value);
        }
        break;
      case DataPointType.HISTOGRAM:
        for (const point of metric.dataPoints as DataPoint<Histogram>[]) {
          text += histogramSamples(name, this.labelText(point.attributes), point.value);
        }
        break;
      default:
      // Exponential histograms have no text form; the view drops them before they get here.
    }
    return text;
  }

  /** `a="x",b="y"`, rendered once per labels object (labels objects are never modified). */
  private labelText(attributes: Attributes): string {
    let text = this.labelTexts.get(attributes);
    if (text === undefined) {
      const labels: string[] = [];
      for (const [key, value] of Object.entries(attributes)) labels.push(`${this.labelName(key)}="${escapeLabelValue(value)}"`);
      // join() makes one flat string; `+=` would keep a tree of pieces per series, twice the
      // memory, walked again by every scrape's encoding.
      text = labels.join(',');
      this.labelTexts.set(attributes, text);
    }
    return text;
  }

  /** Every series repeats the same few keys: sanitize each once. */
  private labelName(key: string): string {
    let name = this.labelNames.get(key);
    if (name === undefined) {
      if (this.labelNames.size >= LABEL_NAME_MEMO_LIMIT) this.labelNames.clear();
      name = sanitizeName(key);
      this.labelNames.set(key, name);
    }
    return name;
  }
}

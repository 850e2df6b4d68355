/**
 * Prototype of a text serializer for /metrics that writes the same bytes as
 * @opentelemetry/exporter-prometheus's PrometheusSerializer (as MetricsServer configures
 * it: no timestamps, no scope labels, no resource constant labels) but renders each
 * series' label text once and reuses it while the series lives.
 *
 * Why it can: sockscope's producer hands out the same `attributes` object for a series
 * on every collection (SeriesEntry.attributes), and the prototype view
 * (prometheus-view.ts, `stableLabels`) maps it to the same label object every time, so a
 * WeakMap from label object to text is a per-series cache that frees itself when the
 * series expires. The OTel serializer instead runs two regex replaces per label name
 * and three per value, per point, per scrape.
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { DataPointType, type DataPoint, type Histogram, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

function escapeString(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeAttributeValue(v: AttributeValue | undefined = ''): string {
  return escapeString(typeof v === 'string' ? v : JSON.stringify(v)).replace(/"/g, '\\"');
}

function sanitize(name: string): string {
  return name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
}

function valueString(value: number): string {
  return value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : `${value}`;
}

function typeOf(metric: MetricData): string {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'gauge';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      return 'untyped';
  }
}

export class CachingPrometheusSerializer {
  private readonly labelTexts = new WeakMap<Attributes, string>();

  /** `a="x",b="y"` for a label object, computed once per object. */
  private labels(attributes: Attributes): string {
    let text = this.labelTexts.get(attributes);
    if (text === undefined) {
      text = Object.entries(attributes)
        .map(([k, v]) => `${sanitize(k)}="${escapeAttributeValue(v)}"`)
        .join(',');
      this.labelTexts.set(attributes, text);
    }
    return text;
  }

  private line(name: string, labels: string, value: number): string {
    return labels === '' ? `${name} ${valueString(value)}\n` : `${name}{${labels}} ${valueString(value)}\n`;
  }

  private metric(metric: MetricData): string {
    let name = sanitize(escapeString(metric.descriptor.name));
    if (name === '' || name === '_') return '';
    if (name[0]! >= '0' && name[0]! <= '9') name = `_${name}`;
    if (!name.endsWith('_total') && metric.dataPointType === DataPointType.SUM && metric.isMonotonic) name += '_total';
    const help = `# HELP ${name} ${escapeString(metric.descriptor.description || 'description missing')}`;
    const unit = metric.descriptor.unit ? `\n# UNIT ${name} ${escapeString(metric.descriptor.unit)}` : '';
    let results = '';
    if (metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE) {
      for (const p of metric.dataPoints as DataPoint<number>[]) results += this.line(name, this.labels(p.attributes), p.value);
    } else if (metric.dataPointType === DataPointType.HISTOGRAM) {
      for (const p of metric.dataPoints as DataPoint<Histogram>[]) {
        const labels = this.labels(p.attributes);
        const h = p.value;
        results += this.line(`${name}_count`, labels, h.count);
        if (h.sum != null) results += this.line(`${name}_sum`, labels, h.sum);
        const sep = labels === '' ? '' : ',';
        let cumulative = 0;
        let infinite = false;
        for (let i = 0; i < h.buckets.counts.length; i++) {
          cumulative += h.buckets.counts[i]!;
          const bound = h.buckets.boundaries[i];
          if (bound === undefined && infinite) break;
          if (bound === Infinity) infinite = true;
          const le = bound === undefined || bound === Infinity ? '+Inf' : String(bound);
          results += `${name}_bucket{${labels}${sep}le="${le}"} ${valueString(cumulative)}\n`;
        }
      }
    }
    return `${help}${unit}\n# TYPE ${name} ${typeOf(metric)}\n${results}`.trim();
  }

  serialize(resourceMetrics: ResourceMetrics, withoutTargetInfo = false): string {
    let body = '';
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        const text = this.metric(metric);
        if (text) body += text + '\n';
      }
    }
    if (body === '') body = '# no registered metrics';
    if (withoutTargetInfo) return body;
    const target = this.line('target_info', this.labels(resourceMetrics.resource.attributes), 1).trim();
    return `# HELP target_info Target metadata\n# TYPE target_info gauge\n${target}\n${body}`;
  }
}

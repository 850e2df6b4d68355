/** Renders docs/metrics.md from the metric definitions, so the document cannot drift from the code. */
import type { MetricDefinition } from './definitions';

const HEADER = `# Metrics

This file is generated from \`src/metrics/definitions.ts\` by \`npm run docs\`;
\`test/unit/metrics-doc.test.ts\` fails when the two disagree.

Names are OpenTelemetry instrument names with UCUM units. The Prometheus names follow the
OpenTelemetry → Prometheus compatibility rules: \`.\` becomes \`_\`, the unit is added as a
suffix (\`By\` → \`_bytes\`; annotations such as \`{event}\` add none), and counters end in \`_total\`.
Attribute names become labels the same way (\`process.executable.name\` →
\`process_executable_name\`). The resource appears in Prometheus as \`target_info\`.
`;

export function renderMetricsDoc(metrics: readonly MetricDefinition[]): string {
  const out = [HEADER];
  out.push('| OpenTelemetry name | Prometheus name | type | unit | attributes |');
  out.push('| --- | --- | --- | --- | --- |');
  for (const m of metrics) {
    const attrs = m.attributes.map((a) => `\`${a.name}\``).join(', ') || '—';
    out.push(`| \`${m.name}\` | \`${m.prometheusName}\` | ${m.kind} | ${m.unit ? `\`${m.unit}\`` : '—'} | ${attrs} |`);
  }
  for (const m of metrics) {
    out.push('', `## \`${m.prometheusName}\``, '', m.description, '');
    out.push(`OpenTelemetry: \`${m.name}\`, ${m.kind}${m.unit ? `, unit \`${m.unit}\`` : ''}.`);
    if (m.attributes.length > 0) {
      out.push('', '| attribute | meaning |', '| --- | --- |');
      for (const a of m.attributes) out.push(`| \`${a.name}\` | ${a.description} |`);
    }
  }
  return out.join('\n') + '\n';
}

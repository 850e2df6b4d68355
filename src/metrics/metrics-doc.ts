/** Renders docs/metrics.md from the metric definitions, so the document cannot drift from the code. */
import type { AttributeDefinition, MetricDefinition } from './definitions';

const HEADER = `# Metrics

This file is generated from \`src/metrics/definitions.ts\` by \`npm run docs\`;
\`test/unit/metrics-doc.test.ts\` fails when the two disagree.

Names are OpenTelemetry instrument names with UCUM units. The Prometheus names follow the
OpenTelemetry → Prometheus compatibility rules: \`.\` becomes \`_\`, the unit is added as a
suffix (\`By\` → \`_bytes\`; annotations such as \`{event}\` add none), and counters end in \`_total\`.
Attribute names become labels the same way (\`process.executable.name\` →
\`process_executable_name\`). The resource appears in Prometheus as \`target_info\`.

**Cardinality.** Default attributes are low-cardinality: process name, transport, family, direction,
the listening port (\`server.port\`, never an ephemeral port), a peer group from configured CIDRs, and
the workload (namespace, pod, container, systemd unit). *Opt-in* attributes (\`process.pid\`, the
peer and local address and port, \`container.id\`, \`k8s.pod.uid\`) are exported only where
\`metrics.attributes\` lists them for a metric, e.g.
\`--metrics.attributes '[{"metric":"sockscope.network.io","attributes":["process.executable.name","process.pid"]}]'\`.
Each metric keeps at most \`metrics.maxSeries\` series. Past that, new attribute sets fold into one
series labelled \`otel_metric_overflow="true"\`, and every fold is counted in
\`sockscope_metrics_series_overflow_total\`. A series not updated for \`metrics.ttl\` (default 5
minutes) is no longer exported, so exited processes and deleted pods leave on their own. An active
connection count stays while it is above zero.

**Peers in cluster networks.** With \`metrics.clusterNetworks\` set (the pod and service CIDRs),
\`network.peer.address\` becomes a default attribute of the bytes, messages, connection, retransmit and
RTT metrics, for peers inside those networks only, and \`network.peer.port\` too where the peer is the
server side. Peers outside keep only \`sockscope.peer.group\`. Prometheus names the addresses by joining
with kube-state-metrics (\`deploy/prometheus/service-map-rules.yml\`, README "Service map").
Next to the peer address, \`sockscope.peer.backend.address\` is the address the connection really
reaches, from conntrack in the namespace where the NAT happened (\`metrics.conntrackNetns\`): the
backend pod behind a Service's DNAT, the peer itself without one, empty when the lookup failed
(counted in \`sockscope_conntrack_lookups_total\`).
`;

export function renderMetricsDoc(metrics: readonly MetricDefinition[]): string {
  const out = [HEADER];
  out.push('| OpenTelemetry name | Prometheus name | type | unit | default attributes |');
  out.push('| --- | --- | --- | --- | --- |');
  for (const m of metrics) {
    const attrs = m.attributes.filter((a) => a.default).map((a) => `\`${a.name}\``).join(', ') || '—';
    out.push(`| \`${m.name}\` | \`${m.prometheusName}\` | ${m.kind === 'updowncounter' ? 'gauge (up-down)' : m.kind} | ${m.unit ? `\`${m.unit}\`` : '—'} | ${attrs} |`);
  }
  for (const m of metrics) {
    out.push('', `## \`${m.prometheusName}\``, '', m.description, '');
    out.push(`OpenTelemetry: \`${m.name}\`, ${m.kind}${m.unit ? `, unit \`${m.unit}\`` : ''}.`);
    if (m.buckets) out.push('', `Bucket upper bounds (s): ${m.buckets.join(', ')}.`);
    if (m.attributes.length > 0) {
      out.push('', '| attribute | exported | meaning |', '| --- | --- | --- |');
      for (const a of m.attributes) out.push(`| \`${a.name}\` | ${exportedWhen(a)} | ${a.description} |`);
    }
  }
  return out.join('\n') + '\n';
}

function exportedWhen(a: AttributeDefinition): string {
  if (a.default) return 'default';
  return a.clusterDefault ? 'default with `metrics.clusterNetworks`, else opt-in' : 'opt-in';
}

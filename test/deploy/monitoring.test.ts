/**
 * deploy/prometheus, deploy/grafana, deploy/otel-collector: the configurations load, and
 * every metric and label they query is in docs/metrics.md.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { checkQuery, documentedMetrics } from './helpers/metrics-doc';
import { repoPath } from './helpers/paths';
import { requireTools, runOk, toolTestOptions } from './helpers/tools';

const metrics = documentedMetrics();

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}

const dashboard = JSON.parse(readFileSync(repoPath('deploy', 'grafana', 'sockscope.json'), 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query?: unknown; definition?: string }> };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const allQueries = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
/** The service map panels read the series recorded by deploy/prometheus/service-map-rules.yml. */
const RECORDED = /\bworkload:sockscope_[a-z0-9_]+:[a-z0-9_]+/g;
const serviceMapQueries = allQueries.filter((q) => q.includes('workload:sockscope_'));
const queries = allQueries.filter((q) => !serviceMapQueries.includes(q));

/** The panels the issue asks for, by the metric each must query. */
const REQUIRED_PANELS: Array<[string, string]> = [
  ['top talkers by process', 'sum by (process_executable_name) (rate(sockscope_network_io_bytes_total'],
  ['top talkers by pod', 'sum by (k8s_namespace_name, k8s_pod_name) (rate(sockscope_network_io_bytes_total'],
  ['retransmit rate', 'sockscope_tcp_retransmits_total'],
  ['RTT heatmap', 'sockscope_tcp_rtt_seconds_bucket'],
  ['connection failures', 'sockscope_tcp_connections_failed_total'],
  ['self-health: lost events', 'sockscope_ebpf_events_lost_total'],
  ['self-health: attached probes', 'sockscope_ebpf_program_attached'],
  ['self-health: build info', 'sockscope_build_info'],
];

describe('Grafana dashboard', () => {
  test('docs/metrics.md is readable as a contract (the check below can fail)', () => {
    assert.ok(metrics.has('sockscope_network_io_bytes_total'));
    assert.deepEqual(checkQuery('rate(sockscope_no_such_metric_total[5m])', metrics).map((p) => p.problem), [
      'sockscope_no_such_metric_total is not in docs/metrics.md',
    ]);
    assert.deepEqual(checkQuery('sum by (no_such_label) (rate(sockscope_network_io_bytes_total[5m]))', metrics).map((p) => p.problem), [
      'label no_such_label is not an attribute of sockscope_network_io_bytes_total',
    ]);
  });

  test('every query uses only metrics and labels documented in docs/metrics.md', () => {
    assert.ok(queries.length >= 10);
    const variableQueries = dashboard.templating.list.flatMap((v) => (v.definition ? [v.definition] : []));
    assert.deepEqual([...queries, ...variableQueries].flatMap((q) => checkQuery(q, metrics)), []);
  });

  test('has the panels the issue asks for', () => {
    for (const [what, series] of REQUIRED_PANELS) {
      assert.ok(queries.some((q) => q.includes(series)), `a panel for ${what} (${series})`);
    }
    const heatmap = panels.find((p) => p.type === 'heatmap');
    assert.match(heatmap?.targets?.[0]?.expr ?? '', /sockscope_tcp_rtt_seconds_bucket/);
  });

  test('the service map section reads only series the service map rules record, by labels they have', () => {
    const rules = parse(readFileSync(repoPath('deploy', 'prometheus', 'service-map-rules.yml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ record: string; expr: string }> }>;
    };
    const recorded = new Map(rules.groups.flatMap((g) => g.rules).map((r) => [r.record, r.expr]));
    assert.ok(serviceMapQueries.length >= 5, 'a workload table and a node graph');
    assert.ok(panels.some((p) => p.type === 'nodeGraph'), 'a node graph');
    for (const q of serviceMapQueries) {
      for (const [series] of q.matchAll(RECORDED)) {
        const expr = recorded.get(series);
        assert.ok(expr, `${series} (in ${q}) is recorded by service-map-rules.yml`);
        // Grouping labels of the panel must be ones the rule keeps.
        const kept = /^sum by \(([^)]*)\)/.exec(expr.trim())?.[1]?.split(',').map((l) => l.trim()) ?? [];
        for (const m of q.matchAll(/\bby \(([^)]*)\)/g)) {
          for (const label of m[1]!.split(',').map((l) => l.trim())) {
            assert.ok(kept.includes(label) || ['id', 'source', 'target'].includes(label), `${label} in ${q} is a label of ${series}`);
          }
        }
      }
    }
  });

  test('panel ids are unique and every panel has a data source variable', () => {
    const ids = dashboard.panels.map((p) => (p as Panel & { id: number }).id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource'));
  });
});

describe('Prometheus configuration', toolTestOptions(['promtool']), () => {
  let dir: string;
  before(() => {
    requireTools(['promtool']);
  });

  test('promtool check config accepts prometheus.yml (with its rules file)', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sockscope-promtool-'));
    try {
      cpSync(repoPath('deploy', 'prometheus'), dir, { recursive: true });
      // Debian's promtool has no Kubernetes discovery: for this check only, that block is
      // swapped for file_sd. The relabelling and everything else is checked as written.
      const config = parse(readFileSync(path.join(dir, 'prometheus.yml'), 'utf8')) as {
        scrape_configs: Array<Record<string, unknown>>;
      };
      const kubernetesJob = config.scrape_configs.find((j) => j.kubernetes_sd_configs);
      assert.deepEqual(kubernetesJob?.kubernetes_sd_configs, [{ role: 'pod', namespaces: { names: ['sockscope'] } }]);
      delete kubernetesJob!.kubernetes_sd_configs;
      kubernetesJob!.file_sd_configs = [{ files: ['targets/*.json'] }];
      writeFileSync(path.join(dir, 'prometheus.yml'), JSON.stringify(config));
      const result = await runOk('promtool', ['check', 'config', 'prometheus.yml'], { cwd: dir });
      assert.match(result.stdout, /SUCCESS: prometheus.yml is valid/);
      assert.match(result.stdout, /SUCCESS: 3 rules found/);
      assert.match(result.stdout, /service-map-rules\.yml\n\s+SUCCESS: 23 rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the alert rules query only documented metrics and labels', () => {
    const rules = parse(readFileSync(repoPath('deploy', 'prometheus', 'sockscope-rules.yml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ expr: string }> }>;
    };
    const exprs = rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
    assert.deepEqual(exprs.flatMap((q) => checkQuery(q, metrics)), []);
  });
});

describe('service map recording rules', toolTestOptions(['promtool']), () => {
  test('promtool test rules: Services, direct pods, hostNetwork nodes, dual-stack, host processes', async () => {
    requireTools(['promtool']);
    const result = await runOk('promtool', ['test', 'rules', repoPath('test', 'deploy', 'promtool', 'service-map.test.yml')]);
    assert.match(result.stdout, /SUCCESS/);
  });

  test('the sockscope series they read are documented, with the labels they use', () => {
    const rules = parse(readFileSync(repoPath('deploy', 'prometheus', 'service-map-rules.yml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ record: string; expr: string }> }>;
    };
    // The peer: rules are the ones that read sockscope's own series; the rest join their results.
    const raw = rules.groups.flatMap((g) => g.rules).filter((r) => r.record.startsWith('peer:'));
    assert.ok(raw.length >= 6, 'one per service-map metric');
    // The peer address and port are default attributes of these metrics once metrics.clusterNetworks is set.
    const withPeers = new Map([...metrics].map(([name, m]) => [name, { ...m, labels: [...m.labels, ...clusterPeerLabels(name)] }]));
    assert.deepEqual(raw.flatMap((r) => checkQuery(r.expr, withPeers)), []);
  });
});

/** The attributes docs/metrics.md marks "default with `metrics.clusterNetworks`" in a metric's section, as labels. */
function clusterPeerLabels(prometheusName: string): string[] {
  const doc = readFileSync(repoPath('docs', 'metrics.md'), 'utf8');
  const section = doc.split('\n## ').find((s) => s.startsWith(`\`${prometheusName}\``)) ?? '';
  return [...section.matchAll(/^\| `([^`]+)` \| default with `metrics\.clusterNetworks`/gm)].map((m) => m[1]!.replace(/\./g, '_'));
}

describe('OpenTelemetry Collector configuration', () => {
  test('every pipeline component is defined, and OTLP/gRPC listens on 4317 as the DaemonSet expects', () => {
    const config = parse(readFileSync(repoPath('deploy', 'otel-collector', 'config.yaml'), 'utf8')) as {
      receivers: Record<string, { protocols?: { grpc?: { endpoint: string } } }>;
      processors: Record<string, unknown>;
      exporters: Record<string, unknown>;
      service: { pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> };
    };
    const metricsPipeline = config.service.pipelines.metrics!;
    for (const r of metricsPipeline.receivers) assert.ok(r in config.receivers, `receiver ${r}`);
    for (const p of metricsPipeline.processors) assert.ok(p in config.processors, `processor ${p}`);
    for (const e of metricsPipeline.exporters) assert.ok(e in config.exporters, `exporter ${e}`);
    assert.equal(metricsPipeline.processors[0], 'memory_limiter', 'memory_limiter goes first');
    assert.equal(config.receivers.otlp?.protocols?.grpc?.endpoint, '0.0.0.0:4317');
  });
});

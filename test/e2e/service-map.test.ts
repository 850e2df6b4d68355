/**
 * The service map with a real Prometheus: `sockscope run` with metrics.clusterNetworks watches
 * a client pod call a Service ClusterIP that the node DNATs (nft) to two backend pods, and the
 * client call one backend directly over IPv6. The pods are namespaces whose processes sit in
 * kubelet-style cgroups; a static kube-state-metrics exposition describes them as pods of the
 * Deployments frontend and cart behind the Service cart. Prometheus scrapes both and runs the
 * shipped deploy/prometheus/service-map-rules.yml: the workload -> workload series carry the
 * exact byte totals, and the dashboard's service map queries return them (the retransmit one
 * only evaluates: nothing here retransmits). The same attributes arrive over OTLP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bpfTestOptions, inCi, requireBpf } from '../helpers/bpf-gate';
import {
  BACKEND_PORT, CLUSTER_IP, CLUSTER_NETWORKS, SERVICE_PORT, createClusterTopology, type ClusterTopology,
} from '../helpers/cluster-topology';
import { DaemonProcess } from '../helpers/daemon';
import { FakePods, type FakePod } from '../helpers/fake-pods';
import { NamedProcess } from '../helpers/named-process';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { PrometheusServer, prometheusInstalled } from '../helpers/prometheus-server';
import { uniqueProcessName } from '../helpers/traffic';

const REPO = path.join(__dirname, '..', '..', '..');
const skip = bpfTestOptions().skip || (!prometheusInstalled() && !inCi() ? 'Debian package prometheus is not installed' : false);

const CONNECTIONS = 4;
const BYTES = 20_011;
const DIRECT_BYTES = 7_003;

/** kube-state-metrics series for the namespaces: frontend and cart Deployments, Service cart. */
function kubeStateMetrics(topo: ClusterTopology, pods: { frontend: FakePod; cart: [FakePod, FakePod] }): string {
  const lines: string[] = [];
  const pod = (p: FakePod, ipv4: string, ipv6: string, replicaset: string) => {
    const id = `namespace="${p.namespace}",pod="${p.name}",uid="${p.uid}"`;
    lines.push(
      `kube_pod_info{${id},pod_ip="${ipv4}",host_ip="10.0.0.1",node="node-1",host_network="false",created_by_kind="ReplicaSet",created_by_name="${replicaset}"} 1`,
      `kube_pod_ips{${id},ip="${ipv4}",ip_family="4"} 1`,
      `kube_pod_ips{${id},ip="${ipv6}",ip_family="6"} 1`,
      `kube_pod_owner{${id},owner_kind="ReplicaSet",owner_name="${replicaset}",owner_is_controller="true"} 1`,
    );
  };
  pod(pods.frontend, topo.client.ipv4, topo.client.ipv6, 'frontend-6d8f7c9b5');
  pods.cart.forEach((p, i) => pod(p, topo.backends[i]!.ipv4, topo.backends[i]!.ipv6, 'cart-5c6d7e8f9'));
  lines.push(
    'kube_replicaset_owner{namespace="shop",replicaset="frontend-6d8f7c9b5",owner_kind="Deployment",owner_name="frontend",owner_is_controller="true"} 1',
    'kube_replicaset_owner{namespace="shop",replicaset="cart-5c6d7e8f9",owner_kind="Deployment",owner_name="cart",owner_is_controller="true"} 1',
    `kube_service_info{namespace="shop",service="cart",uid="s1",cluster_ip="${CLUSTER_IP.ipv4}"} 1`,
    ...topo.backends.map((b) => `kube_endpoint_address{namespace="shop",endpoint="cart",ip="${b.ipv4}",ready="true"} 1`),
  );
  return ['# TYPE kube_pod_info gauge', ...lines, ''].join('\n');
}

describe('service map through a real Prometheus', { skip }, () => {
  let topo: ClusterTopology;
  let pods: FakePods;
  let daemon: DaemonProcess;
  let ksm: Server;
  let prometheus: PrometheusServer;
  let receiver: OtlpReceiver;
  const children: NamedProcess[] = [];

  before(async () => {
    requireBpf();
    topo = createClusterTopology(randomBytes(3).toString('hex'));
    pods = new FakePods();
    receiver = await OtlpReceiver.start();
    daemon = await DaemonProcess.start(
      [
        '--prometheus.host', '127.0.0.1', '--prometheus.port', '0', '--log.level', 'info',
        '--otlp.endpoint', receiver.endpoint, '--otlp.interval', '500ms',
        '--metrics.clusterNetworks', JSON.stringify(CLUSTER_NETWORKS),
        // The DNAT happens in the node namespace, not the daemon's.
        '--metrics.conntrackNetns', `/run/netns/${topo.node}`,
        '--attribution.podLogRoot', pods.podLogRoot,
      ],
      'serving Prometheus metrics on /metrics',
    );
  });

  after(async () => {
    for (const c of children) c.kill();
    await prometheus?.stop();
    await daemon?.stop();
    await receiver?.stop();
    ksm?.close();
    await pods?.destroy();
    topo?.destroy();
  });

  test('workload -> workload bytes with the Service, exact, and the dashboard queries answer', async () => {
    const frontend = pods.add('shop', 'frontend-6d8f7c9b5-x7k2p');
    const cart: [FakePod, FakePod] = [pods.add('shop', 'cart-5c6d7e8f9-a1b2c'), pods.add('shop', 'cart-5c6d7e8f9-d3e4f')];
    const exposition = kubeStateMetrics(topo, { frontend, cart });
    ksm = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition));
    await new Promise<void>((r) => ksm.listen(0, '127.0.0.1', r));
    const daemonPort = (await daemon.waitForLog((l) => l.msg === 'serving Prometheus metrics on /metrics', 1000)).port as number;
    prometheus = await PrometheusServer.start({
      targets: [`127.0.0.1:${daemonPort}`],
      scrapeIntervalSeconds: 1,
      ruleFiles: [path.join(REPO, 'deploy', 'prometheus', 'service-map-rules.yml')],
      extraJobs: {
        'kube-state-metrics': { honor_labels: true, static_configs: [{ targets: [`127.0.0.1:${(ksm.address() as AddressInfo).port}`] }] },
      },
    });

    const servers = topo.backends.map((b, i) =>
      NamedProcess.start({ name: uniqueProcessName('cart'), mode: 'serve', host: '::', port: BACKEND_PORT, echo: true }, { netns: b.netns, cgroup: cart[i]!.cgroup }),
    );
    children.push(...servers);
    for (const s of servers) await s.reply();
    const viaService = NamedProcess.start(
      { name: uniqueProcessName('frontend'), mode: 'hold', host: CLUSTER_IP.ipv4, port: SERVICE_PORT, count: CONNECTIONS, bytes: BYTES },
      { netns: topo.client.netns, cgroup: frontend.cgroup },
    );
    const direct = NamedProcess.start(
      { name: uniqueProcessName('frontend'), mode: 'hold', host: topo.backends[1].ipv6, port: BACKEND_PORT, count: 1, bytes: DIRECT_BYTES },
      { netns: topo.client.netns, cgroup: frontend.cgroup },
    );
    // Two refused connects to a cart pod's closed port: a failure edge.
    const refused = NamedProcess.start(
      { name: uniqueProcessName('frontend'), mode: 'connect', host: topo.backends[0].ipv4, port: BACKEND_PORT, count: 0, failPort: 9999, failCount: 2 },
      { netns: topo.client.netns, cgroup: frontend.cgroup },
    );
    children.push(viaService, direct, refused);
    assert.deepEqual(await refused.reply(), { ok: 0, refused: 2 });
    assert.equal((await viaService.reply<{ echoed: number }>()).echoed, CONNECTIONS * BYTES);
    assert.equal((await direct.reply<{ echoed: number }>()).echoed, DIRECT_BYTES);
    for (const c of [viaService, direct]) c.send('close');
    for (const c of [viaService, direct]) await c.reply();

    const edge = 'src_namespace="shop",src_workload="frontend",src_workload_kind="Deployment",dst_namespace="shop",dst_workload="cart",dst_workload_kind="Deployment"';
    for (const direction of ['transmit', 'receive']) {
      const throughService = `workload:sockscope_network_io_bytes_total:sum{${edge},dst_service="cart",network_io_direction="${direction}"}`;
      const found = await prometheus.waitForQuery(throughService, (r) => r.length === 1 && r[0]!.value === CONNECTIONS * BYTES, 60_000);
      assert.equal(found[0]!.value, CONNECTIONS * BYTES);
      const directly = `workload:sockscope_network_io_bytes_total:sum{${edge},dst_service="",network_io_direction="${direction}"}`;
      const v6 = await prometheus.waitForQuery(directly, (r) => r.length === 1 && r[0]!.value === DIRECT_BYTES, 60_000);
      assert.equal(v6[0]!.value, DIRECT_BYTES);
    }
    // The raw series name the backend each connection reached (half each, round-robin), and the
    // direct IPv6 call, with no DNAT, the peer itself.
    for (const b of topo.backends) {
      const viaBackend = `sum(sockscope_network_io_bytes_total{k8s_pod_name="${frontend.name}",network_peer_address="${CLUSTER_IP.ipv4}",sockscope_peer_backend_address="${b.ipv4}",network_io_direction="transmit"})`;
      const half = (CONNECTIONS / 2) * BYTES;
      assert.equal((await prometheus.waitForQuery(viaBackend, (r) => r.length === 1 && r[0]!.value === half, 60_000))[0]!.value, half);
    }
    const toItself = `sum(sockscope_network_io_bytes_total{k8s_pod_name="${frontend.name}",network_peer_address="${topo.backends[1].ipv6}",sockscope_peer_backend_address="${topo.backends[1].ipv6}",network_io_direction="transmit"})`;
    assert.equal((await prometheus.waitForQuery(toItself, (r) => r.length === 1 && r[0]!.value === DIRECT_BYTES, 60_000))[0]!.value, DIRECT_BYTES);
    // The shipped rules name the backend's workload on the Service edge.
    const byBackend = `workload:sockscope_network_io_bytes_total:sum_by_backend{src_namespace="shop",src_workload="frontend",dst_service="cart",backend_namespace="shop",backend_workload="cart",backend_workload_kind="Deployment",network_io_direction="transmit"}`;
    assert.equal((await prometheus.waitForQuery(byBackend, (r) => r.length === 1 && r[0]!.value === CONNECTIONS * BYTES, 60_000))[0]!.value, CONNECTIONS * BYTES);
    const dnats = await prometheus.waitForQuery('sockscope_conntrack_lookups_total{sockscope_conntrack_outcome="backend"}', (r) => r.length === 1 && r[0]!.value >= CONNECTIONS, 60_000);
    assert.ok(dnats[0]!.value >= CONNECTIONS, 'one DNAT lookup per connection through the Service at least');

    // The connection edge exists. (Its rate may read 0: the counter's series was born at its
    // final value, all connections opened before the first scrape that had it.)
    const opened = `workload:sockscope_tcp_connections_opened:rate5m{${edge},dst_service="cart"}`;
    assert.equal((await prometheus.waitForQuery(opened, (r) => r.length === 1, 60_000)).length, 1);

    // OTLP carries the same attributes: the ClusterIP and service port, exact bytes per direction.
    for (const direction of ['transmit', 'receive']) {
      const match = {
        'k8s.pod.name': frontend.name, 'network.peer.address': CLUSTER_IP.ipv4, 'network.peer.port': SERVICE_PORT, 'network.io.direction': direction,
      };
      const latestTotal = () => {
        const points = receiver.dataPoints('sockscope.network.io', match);
        const last = Math.max(...points.map((p) => p.requestIndex));
        return points.filter((p) => p.requestIndex === last).reduce((n, p) => n + p.value, 0);
      };
      await receiver.waitFor(() => latestTotal() === CONNECTIONS * BYTES, 30_000);
    }

    // Every query of the dashboard's service map section answers with data from these series.
    const queries = serviceMapQueries();
    assert.ok(queries.length >= 2, 'the dashboard has a service map section');
    for (const q of queries) {
      // Nothing here retransmits: that query must only evaluate.
      if (q.includes('retransmits')) {
        await prometheus.query(q);
        continue;
      }
      const samples = await prometheus.waitForQuery(q, (r) => r.length > 0, 60_000);
      assert.ok(samples.some((s) => Object.values(s.metric).some((v) => v.includes('frontend'))), `${q}: ${JSON.stringify(samples)}`);
    }
    for (const s of servers) await s.exit();
  });
});

/** The PromQL of the Service map row, with the dashboard's variables set to match everything. */
function serviceMapQueries(): string[] {
  interface Panel { title: string; type: string; targets?: Array<{ expr: string }>; panels?: Panel[] }
  const dashboard = JSON.parse(readFileSync(path.join(REPO, 'deploy', 'grafana', 'sockscope.json'), 'utf8')) as { panels: Panel[] };
  const all = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return all
    .flatMap((p) => p.targets ?? [])
    .map((t) => t.expr)
    .filter((e) => e.includes('workload:sockscope_'))
    .map((e) => e.replace(/\$__rate_interval/g, '5m').replace(/\$\{?[a-z_]+\}?/g, '.*'));
}

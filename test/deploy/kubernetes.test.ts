/**
 * deploy/kubernetes/: every object validates against the Kubernetes schemas (unknown
 * fields included), and the DaemonSet has the least-privilege shape the README promises.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { readWebConfig } from '../../src/export/web-config';
import { TestCa } from '../helpers/test-ca';
import {
  readManifestDirectory,
  readYamlDocuments,
  validateKubernetesObject,
  type KubernetesObject,
} from './helpers/manifests';
import { repoPath } from './helpers/paths';
import { DOCUMENTED_CAPABILITIES, daemonSetPod, findObject, type Container, type PodSpec } from './helpers/kubernetes-shapes';

const common = readManifestDirectory(repoPath('deploy', 'kubernetes', 'common'));
const prometheus = readManifestDirectory(repoPath('deploy', 'kubernetes', 'prometheus'));
const otlp = readManifestDirectory(repoPath('deploy', 'kubernetes', 'otlp'));
const operator = readManifestDirectory(repoPath('deploy', 'kubernetes', 'prometheus-operator'));
const prometheusTls = readManifestDirectory(repoPath('deploy', 'kubernetes', 'prometheus-tls'));
const otlpTls = readManifestDirectory(repoPath('deploy', 'kubernetes', 'otlp-tls'));
const collector = readYamlDocuments(repoPath('deploy', 'otel-collector', 'collector.yaml'));


describe('Kubernetes manifests', () => {
  test('every object validates against the Kubernetes schemas, unknown fields included', async () => {
    const all = [...common, ...prometheus, ...otlp, ...operator, ...prometheusTls, ...otlpTls, ...collector];
    assert.ok(all.length >= 9, `expected the whole set, found ${all.length} objects`);
    const problems = (await Promise.all(all.map(validateKubernetesObject))).flat();
    assert.deepEqual(problems, []);
  });

  test('the validation catches a misspelt field and a wrongly typed one (it can fail)', async () => {
    const ds = structuredClone(findObject(prometheus, 'DaemonSet', 'sockscope'));
    const spec = (ds.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    spec.hostPid = true;
    spec.hostNetwork = 'no';
    const problems = await validateKubernetesObject(ds);
    assert.ok(problems.some((p) => p.includes('/hostPid is not a known field')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('/hostNetwork fails type {"type":"boolean"}')), problems.join('\n'));
  });

  for (const [mode, objects] of [['prometheus', prometheus], ['otlp', otlp]] as const) {
    describe(`${mode} DaemonSet`, () => {
      const pod: PodSpec = daemonSetPod(findObject(objects, 'DaemonSet', 'sockscope'));
      const container = pod.containers.find((c) => c.name === 'sockscope') as Container;

      test('host PID namespace, no host network, every node, no API token', () => {
        assert.equal(pod.hostPID, true);
        assert.equal(pod.hostNetwork, undefined);
        assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
        assert.equal(pod.automountServiceAccountToken, false);
        assert.equal(pod.serviceAccountName, 'sockscope');
      });

      test('not privileged: drop ALL, add only the documented capabilities, read-only root', () => {
        const sc = container.securityContext!;
        assert.equal(sc.privileged, false);
        assert.equal(sc.allowPrivilegeEscalation, false);
        assert.equal(sc.readOnlyRootFilesystem, true);
        assert.deepEqual(sc.capabilities, { drop: ['ALL'], add: DOCUMENTED_CAPABILITIES });
        assert.deepEqual(sc.seccompProfile, { type: 'Localhost', localhostProfile: 'sockscope/sockscope.json' });
      });

      test('host paths are mounted read-only, except the seccomp directory of the init container', () => {
        const hostPaths = new Map(
          pod.volumes.filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path] as const),
        );
        assert.deepEqual([...hostPaths.values()].sort(), [
          '/sys/fs/cgroup',
          '/sys/kernel/btf',
          '/var/lib/kubelet/seccomp/sockscope',
          '/var/log/containers',
          '/var/log/pods',
        ]);
        for (const mount of container.volumeMounts) {
          if (hostPaths.has(mount.name)) assert.equal(mount.readOnly, true, `${mount.name} is mounted read-only`);
          assert.equal(mount.mountPath, hostPaths.get(mount.name) ?? mount.mountPath, 'host paths keep their path');
        }
        const init = pod.initContainers!.find((c) => c.name === 'install-seccomp-profile')!;
        assert.deepEqual(init.securityContext!.capabilities, { drop: ['ALL'] });
        assert.deepEqual(init.command, ['cp', '/profile/sockscope.json', '/host-seccomp/sockscope.json']);
        assert.deepEqual(
          init.volumeMounts.map((m) => [m.name, m.mountPath]),
          [['seccomp-profile', '/profile'], ['host-seccomp', '/host-seccomp']],
        );
      });

      test('liveness on /healthz, readiness on /readyz, on the metrics port; resources set', () => {
        assert.equal(container.livenessProbe!.httpGet!.path, '/healthz');
        assert.equal(container.readinessProbe!.httpGet!.path, '/readyz');
        assert.equal(container.livenessProbe!.httpGet!.port, 'metrics');
        assert.deepEqual(container.ports, [{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
        assert.ok(container.resources?.requests?.cpu && container.resources.requests.memory);
        assert.ok(container.resources?.limits?.memory);
        const env = Object.fromEntries(container.env!.map((e) => [e.name, e.value]));
        assert.equal(env.SOCKSCOPE_PROMETHEUS_PORT, '9464');
      });
    });
  }

  test('Prometheus mode: scrape annotations, headless Service on the metrics port', () => {
    const ds = findObject(prometheus, 'DaemonSet', 'sockscope');
    const annotations = (ds.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata
      .annotations;
    assert.deepEqual(annotations, { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464', 'prometheus.io/path': '/metrics' });
    const service = findObject(prometheus, 'Service', 'sockscope') as KubernetesObject & {
      spec: { clusterIP: string; ports: Array<{ port: number; targetPort: string }>; selector: Record<string, string> };
    };
    assert.equal(service.spec.clusterIP, 'None');
    assert.deepEqual(service.spec.ports.map((p) => [p.port, p.targetPort]), [[9464, 'metrics']]);
    const monitor = findObject(operator, 'ServiceMonitor', 'sockscope') as KubernetesObject & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> };
    };
    assert.deepEqual(monitor.spec.selector.matchLabels, service.spec.selector);
    assert.deepEqual(monitor.spec.endpoints.map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
  });

  test('OTLP mode: the Prometheus DaemonSet plus the collector endpoint, without scrape annotations', () => {
    const promDs = structuredClone(findObject(prometheus, 'DaemonSet', 'sockscope')) as KubernetesObject;
    const otlpDs = structuredClone(findObject(otlp, 'DaemonSet', 'sockscope')) as KubernetesObject;
    const otlpContainer = daemonSetPod(otlpDs).containers[0]!;
    const endpoint = otlpContainer.env!.find((e) => e.name === 'SOCKSCOPE_OTLP_ENDPOINT')?.value;
    assert.match(endpoint ?? '', /^http:\/\/otel-collector\.observability\.svc\.cluster\.local:4317$/);
    // Remove the expected differences: what is left must be identical.
    otlpContainer.env = otlpContainer.env!.filter((e) => !e.name.startsWith('SOCKSCOPE_OTLP_'));
    delete (promDs.spec as { template: { metadata: { annotations?: unknown } } }).template.metadata.annotations;
    assert.deepEqual(otlpDs, promDs);
  });

  test('the ConfigMap carries deploy/seccomp/sockscope.json byte for byte', () => {
    const configMap = findObject(common, 'ConfigMap', 'sockscope-seccomp') as KubernetesObject & { data: Record<string, string> };
    assert.equal(configMap.data['sockscope.json'], readFileSync(repoPath('deploy', 'seccomp', 'sockscope.json'), 'utf8'));
  });

  test('the namespace exists first and everything else lives in it', () => {
    assert.equal(common[0]?.kind, 'Namespace', 'namespace.yaml sorts first in common/');
    for (const o of [...common.slice(1), ...prometheus, ...otlp, ...operator, ...prometheusTls, ...otlpTls]) {
      assert.equal(o.metadata.namespace, 'sockscope', `${o.kind} ${o.metadata.name}`);
    }
  });

  test('TLS variant: the Prometheus DaemonSet plus the web config, the certificate Secret, HTTPS probes and annotation', () => {
    const plain = structuredClone(findObject(prometheus, 'DaemonSet', 'sockscope'));
    const tls = structuredClone(findObject(prometheusTls, 'DaemonSet', 'sockscope'));
    const pod = daemonSetPod(tls);
    const container = pod.containers[0]!;
    const env = Object.fromEntries(container.env!.map((e) => [e.name, e.value]));
    assert.equal(env.SOCKSCOPE_PROMETHEUS_WEBCONFIGFILE, '/etc/sockscope/web-config/web-config.yml');
    assert.equal(env.SOCKSCOPE_PROMETHEUS_PROBESWITHOUTAUTH, 'true');
    assert.equal(container.livenessProbe!.httpGet!.scheme, 'HTTPS');
    assert.equal(container.readinessProbe!.httpGet!.scheme, 'HTTPS');
    const secrets = pod.volumes.filter((v) => (v as { secret?: unknown }).secret !== undefined) as Array<{ name: string; secret: { secretName: string; defaultMode: number } }>;
    assert.deepEqual(secrets.map((v) => [v.name, v.secret.secretName, v.secret.defaultMode]), [
      ['web-config', 'sockscope-web-config', 0o400],
      ['tls', 'sockscope-tls', 0o400],
    ]);
    for (const name of ['web-config', 'tls']) assert.equal(container.volumeMounts.find((m) => m.name === name)?.readOnly, true, name);
    // Remove the expected differences: what is left must be identical.
    const tlsPod = daemonSetPod(tls);
    const tlsContainer = tlsPod.containers[0]!;
    tlsContainer.env = tlsContainer.env!.filter((e) => !['SOCKSCOPE_PROMETHEUS_WEBCONFIGFILE', 'SOCKSCOPE_PROMETHEUS_PROBESWITHOUTAUTH'].includes(e.name));
    delete tlsContainer.livenessProbe!.httpGet!.scheme;
    delete tlsContainer.readinessProbe!.httpGet!.scheme;
    tlsContainer.volumeMounts = tlsContainer.volumeMounts.filter((m) => !['web-config', 'tls'].includes(m.name));
    tlsPod.volumes = tlsPod.volumes.filter((v) => !['web-config', 'tls'].includes(v.name));
    const annotations = (tls.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;
    assert.equal(annotations['prometheus.io/scheme'], 'https');
    delete annotations['prometheus.io/scheme'];
    assert.deepEqual(tls, plain);
  });

  test('OTLP TLS variant: the OTLP DaemonSet plus https, gzip, and the four files of Secret sockscope-otlp, read-only 0400', () => {
    const plain = structuredClone(findObject(otlp, 'DaemonSet', 'sockscope'));
    const tls = structuredClone(findObject(otlpTls, 'DaemonSet', 'sockscope'));
    const pod = daemonSetPod(tls);
    const container = pod.containers[0]!;
    const env = Object.fromEntries(container.env!.map((e) => [e.name, e.value]));
    assert.match(env.SOCKSCOPE_OTLP_ENDPOINT ?? '', /^https:\/\//);
    assert.equal(env.SOCKSCOPE_OTLP_COMPRESSION, 'gzip');
    const files = { SOCKSCOPE_OTLP_HEADERSFILE: 'headers', SOCKSCOPE_OTLP_CAFILE: 'ca.crt', SOCKSCOPE_OTLP_CERTFILE: 'tls.crt', SOCKSCOPE_OTLP_KEYFILE: 'tls.key' };
    for (const [name, file] of Object.entries(files)) assert.equal(env[name], `/etc/sockscope/otlp/${file}`, name);
    const volume = pod.volumes.find((v) => v.name === 'otlp-secret') as unknown as { secret: { secretName: string; defaultMode: number; items: Array<{ key: string; path: string }> } };
    assert.deepEqual([volume.secret.secretName, volume.secret.defaultMode], ['sockscope-otlp', 0o400]);
    assert.deepEqual(volume.secret.items.map((i) => i.path).sort(), Object.values(files).sort());
    assert.deepEqual(container.volumeMounts.find((m) => m.name === 'otlp-secret'), { name: 'otlp-secret', mountPath: '/etc/sockscope/otlp', readOnly: true });
    // Remove the expected differences: what is left must be identical.
    const tlsPod = daemonSetPod(tls);
    const tlsContainer = tlsPod.containers[0]!;
    const plainContainer = daemonSetPod(plain).containers[0]!;
    for (const c of [tlsContainer, plainContainer]) c.env = c.env!.filter((e) => !e.name.startsWith('SOCKSCOPE_OTLP_'));
    tlsContainer.volumeMounts = tlsContainer.volumeMounts.filter((m) => m.name !== 'otlp-secret');
    tlsPod.volumes = tlsPod.volumes.filter((v) => v.name !== 'otlp-secret');
    assert.deepEqual(tls, plain);
  });

  test('the web config Secret holds a web config sockscope reads, with a bcrypt hash of "change-me"', () => {
    const secret = findObject(prometheusTls, 'Secret', 'sockscope-web-config') as KubernetesObject & { stringData: Record<string, string> };
    const dir = mkdtempSync(path.join(tmpdir(), 'sockscope-k8s-webcfg-'));
    try {
      const served = new TestCa(dir, 'ca').issue('server', ['DNS:sockscope']);
      // The mounted paths, pointed at a real pair here.
      const text = secret.stringData['web-config.yml']!
        .replace('/etc/sockscope/tls/tls.crt', served.cert)
        .replace('/etc/sockscope/tls/tls.key', served.key);
      writeFileSync(path.join(dir, 'web-config.yml'), text);
      const config = readWebConfig(path.join(dir, 'web-config.yml'));
      assert.ok(config.tls);
      assert.ok(bcrypt.compareSync('change-me', config.users.get('prometheus')!));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

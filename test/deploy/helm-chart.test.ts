/**
 * helm/sockscope, without Helm (it cannot be installed here): the chart is rendered by a
 * renderer for the Go-template subset it uses, and its output with default values must
 * equal deploy/kubernetes/, validate against the Kubernetes schemas, and use every value.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load';
import { parseOtlpHeaders } from '../../src/config/otlp-headers';
import { readWebConfig } from '../../src/export/web-config';
import { TestCa } from '../helpers/test-ca';
import { CHART_DIR, chartValues, leafPaths, renderChart, valuePathsUsedByTemplates, withoutHelmLabels } from './helpers/helm';
import { readManifestDirectory, validateKubernetesObject, type KubernetesObject } from './helpers/manifests';
import { daemonSetPod, findObject } from './helpers/kubernetes-shapes';
import { repoPath } from './helpers/paths';

const manifests = (dir: string) => readManifestDirectory(repoPath('deploy', 'kubernetes', dir));
const byKindAndName = (objects: KubernetesObject[]) =>
  [...objects].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
const withoutNamespace = (objects: KubernetesObject[]) => objects.filter((o) => o.kind !== 'Namespace');

describe('Helm chart', () => {
  test('default values render exactly deploy/kubernetes/common + prometheus (Namespace aside)', () => {
    const expected = byKindAndName([...withoutNamespace(manifests('common')), ...manifests('prometheus')]);
    assert.deepEqual(byKindAndName(withoutHelmLabels(renderChart())), expected);
  });

  test('mode otlp renders exactly deploy/kubernetes/common + otlp', () => {
    const expected = byKindAndName([...withoutNamespace(manifests('common')), ...manifests('otlp')]);
    assert.deepEqual(byKindAndName(withoutHelmLabels(renderChart({ mode: 'otlp' }))), expected);
  });

  test('serviceMonitor.enabled adds exactly deploy/kubernetes/prometheus-operator/servicemonitor.yaml', () => {
    const rendered = renderChart({ serviceMonitor: { enabled: true } }).filter((o) => o.kind === 'ServiceMonitor');
    assert.deepEqual(withoutHelmLabels(rendered), manifests('prometheus-operator'));
  });

  test('webConfig with a TLS Secret renders exactly deploy/kubernetes/common + prometheus/service.yaml + prometheus-tls', () => {
    const tlsManifests = manifests('prometheus-tls');
    const secret = tlsManifests.find((o) => o.kind === 'Secret') as KubernetesObject & { stringData: Record<string, string> };
    const hash = /prometheus: (\S+)/.exec(secret.stringData['web-config.yml']!)![1]!;
    const values = { webConfig: { enabled: true, tlsSecretName: 'sockscope-tls', basicAuthUsers: { prometheus: hash } } };
    const service = manifests('prometheus').filter((o) => o.kind === 'Service');
    const expected = byKindAndName([...withoutNamespace(manifests('common')), ...service, ...tlsManifests]);
    assert.deepEqual(byKindAndName(withoutHelmLabels(renderChart(values))), expected);
  });

  test('mode otlp with an existing Secret renders exactly deploy/kubernetes/common + otlp-tls', () => {
    const values = {
      mode: 'otlp',
      otlp: {
        endpoint: 'https://otel-collector.observability.svc.cluster.local:4317',
        compression: 'gzip',
        secret: { existingName: 'sockscope-otlp', keys: { headers: 'headers', caCert: 'ca.crt', clientCert: 'tls.crt', clientKey: 'tls.key' } },
      },
    };
    const expected = byKindAndName([...withoutNamespace(manifests('common')), ...manifests('otlp-tls')]);
    assert.deepEqual(byKindAndName(withoutHelmLabels(renderChart(values))), expected);
  });

  test('otlp.secret from values: a Secret of what is given, mounted read-only 0400, and the settings sockscope loads from it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sockscope-helm-otlp-'));
    try {
      const ca = new TestCa(dir, 'ca');
      const client = ca.issue('client', ['DNS:sockscope'], 'clientAuth');
      const secret = { headers: 'authorization=Bearer%20s3cret\nx-tenant=a', caCert: readFileSync(ca.cert, 'utf8'), clientCert: readFileSync(client.cert, 'utf8'), clientKey: readFileSync(client.key, 'utf8') };
      const rendered = renderChart({ mode: 'otlp', otlp: { endpoint: 'https://collector.example:4317', secret } });
      const made = findObject(rendered, 'Secret', 'sockscope-otlp') as KubernetesObject & { stringData: Record<string, string> };
      const pod = daemonSetPod(findObject(rendered, 'DaemonSet', 'sockscope'));
      const container = pod.containers[0]!;
      const volume = pod.volumes.find((v) => v.name === 'otlp-secret') as unknown as { secret: { secretName: string; defaultMode: number; items: Array<{ key: string; path: string }> } };
      assert.equal(volume.secret.secretName, 'sockscope-otlp');
      assert.equal(volume.secret.defaultMode, 0o400);
      assert.deepEqual(container.volumeMounts.find((m) => m.name === 'otlp-secret'), { name: 'otlp-secret', mountPath: '/etc/sockscope/otlp', readOnly: true });
      // The kubelet's view: each item of the Secret as a file under the mount.
      const mount = path.join(dir, 'otlp');
      mkdirSync(mount);
      for (const item of volume.secret.items) writeFileSync(path.join(mount, item.path), made.stringData[item.key]!);
      const env = Object.fromEntries(container.env!.map((e) => [e.name, (e.value ?? '').replace('/etc/sockscope/otlp', mount)]));
      const config = loadConfig({ argv: [], env });
      assert.deepEqual([config.otlp.headersFile, config.otlp.caFile, config.otlp.certFile, config.otlp.keyFile], ['headers', 'ca.crt', 'tls.crt', 'tls.key'].map((f) => path.join(mount, f)));
      assert.deepEqual(parseOtlpHeaders(readFileSync(config.otlp.headersFile, 'utf8')), [['authorization', 'Bearer s3cret'], ['x-tenant', 'a']]);
      assert.equal(readFileSync(config.otlp.keyFile, 'utf8'), secret.clientKey);

      const headersOnly = daemonSetPod(findObject(renderChart({ mode: 'otlp', otlp: { secret: { headers: 'a=b' } } }), 'DaemonSet', 'sockscope'));
      assert.deepEqual(headersOnly.containers[0]!.env!.filter((e) => /FILE$/.test(e.name)).map((e) => e.name), ['SOCKSCOPE_OTLP_HEADERSFILE']);
      const prometheusMode = renderChart({ otlp: { secret } });
      assert.equal(prometheusMode.some((o) => o.kind === 'Secret'), false, 'mode prometheus pushes nothing: no OTLP Secret');
      assert.equal(daemonSetPod(findObject(prometheusMode, 'DaemonSet', 'sockscope')).volumes.some((v) => v.name === 'otlp-secret'), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('webConfig.rateLimit becomes the web config rate_limit sockscope reads', () => {
    const rendered = renderChart({ webConfig: { enabled: true, rateLimit: { interval: '100ms', burst: 20 } } });
    const secret = findObject(rendered, 'Secret', 'sockscope-web-config') as KubernetesObject & { stringData: Record<string, string> };
    const dir = mkdtempSync(path.join(tmpdir(), 'sockscope-helm-rate-'));
    try {
      writeFileSync(path.join(dir, 'web-config.yml'), secret.stringData['web-config.yml']!);
      assert.deepEqual(readWebConfig(path.join(dir, 'web-config.yml')).rateLimit, { intervalMs: 100, burst: 20 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('webConfig: the ServiceMonitor scrapes over https with the given TLS and basic-auth settings', () => {
    const tlsConfig = { ca: { secret: { name: 'sockscope-tls', key: 'ca.crt' } }, serverName: 'sockscope' };
    const basicAuth = { username: { name: 'scrape-auth', key: 'user' }, password: { name: 'scrape-auth', key: 'password' } };
    const rendered = renderChart({
      webConfig: { enabled: true, tlsSecretName: 'sockscope-tls' },
      serviceMonitor: { enabled: true, tlsConfig, basicAuth },
    });
    const monitor = findObject(rendered, 'ServiceMonitor', 'sockscope') as KubernetesObject & { spec: { endpoints: Array<Record<string, unknown>> } };
    assert.equal(monitor.spec.endpoints[0]!.scheme, 'https');
    assert.deepEqual(monitor.spec.endpoints[0]!.tlsConfig, tlsConfig);
    assert.deepEqual(monitor.spec.endpoints[0]!.basicAuth, basicAuth);
    const withoutTls = renderChart({ webConfig: { enabled: true, basicAuthUsers: { a: '$2y$10$x' } } });
    const pod = daemonSetPod(findObject(withoutTls, 'DaemonSet', 'sockscope'));
    assert.equal(pod.containers[0]!.livenessProbe!.httpGet!.scheme, undefined, 'no TLS Secret: plain HTTP probes');
    assert.equal(pod.volumes.some((v) => v.name === 'tls'), false);
    const secret = findObject(withoutTls, 'Secret', 'sockscope-web-config') as KubernetesObject & { stringData: Record<string, string> };
    assert.deepEqual(parse(secret.stringData['web-config.yml']!), { basic_auth_users: { a: '$2y$10$x' } });
  });

  test('Helm labels are added to every object', () => {
    for (const o of renderChart()) {
      assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', `${o.kind}`);
      assert.equal(o.metadata.labels?.['helm.sh/chart'], 'sockscope-0.1.0', `${o.kind}`);
    }
  });

  const variants: Array<[string, Record<string, unknown>]> = [
    ['defaults', {}],
    ['otlp', { mode: 'otlp', otlp: { endpoint: 'http://collector.monitoring:4317' } }],
    ['service monitor', { serviceMonitor: { enabled: true, interval: '15s' } }],
    ['privileged fallback', { securityContext: { privileged: true } }],
    [
      'web config with everything',
      {
        serviceMonitor: { enabled: true, tlsConfig: { insecureSkipVerify: true }, basicAuth: { username: { name: 's', key: 'u' }, password: { name: 's', key: 'p' } } },
        webConfig: {
          enabled: true,
          tlsSecretName: 'sockscope-tls',
          tlsServerConfig: { min_version: 'TLS13', client_auth_type: 'RequireAndVerifyClientCert', client_ca_file: '/etc/sockscope/tls/ca.crt' },
          httpServerConfig: { headers: { 'X-Content-Type-Options': 'nosniff' } },
          basicAuthUsers: { prometheus: '$2y$10$x' },
          probesWithoutAuth: false,
        },
      },
    ],
    ['otlp with secrets from values', { mode: 'otlp', otlp: { endpoint: 'https://collector.example:4317', compression: 'gzip', secret: { headers: 'a=b', caCert: '-----BEGIN CERTIFICATE-----' } } }],
    ['old kernel', { securityContext: { extraCapabilities: ['SYS_RESOURCE', 'SYS_ADMIN'] } }],
    [
      'everything set',
      {
        image: { repository: 'registry.example/sockscope', tag: '' },
        extraArgs: ['--ebpf.ringBufferSize', '32MiB'],
        extraEnv: [{ name: 'SOCKSCOPE_PROBES_MODE', value: 'kprobe' }],
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }],
        kubeletRootDir: '/var/lib/k0s/kubelet',
      },
    ],
    ['another release name', {}],
  ];
  for (const [name, values] of variants) {
    test(`renders valid Kubernetes objects: ${name}`, async () => {
      const release = name === 'another release name' ? { name: 'edge', namespace: 'monitoring' } : undefined;
      const objects = renderChart(values, release);
      assert.ok(objects.some((o) => o.kind === 'DaemonSet'));
      const problems = (await Promise.all(objects.map(validateKubernetesObject))).flat();
      assert.deepEqual(problems, []);
    });
  }

  test('the switches do what values.yaml says', () => {
    const privileged = renderChart({ securityContext: { privileged: true } });
    const privilegedPod = daemonSetPod(findObject(privileged, 'DaemonSet', 'sockscope'));
    assert.equal(privilegedPod.containers[0]!.securityContext!.privileged, true);
    assert.equal(privilegedPod.initContainers, undefined);
    assert.equal(privileged.find((o) => o.kind === 'ConfigMap'), undefined);

    const old = daemonSetPod(findObject(renderChart({ securityContext: { extraCapabilities: ['SYS_ADMIN'] } }), 'DaemonSet', 'sockscope'));
    assert.deepEqual(old.containers[0]!.securityContext!.capabilities!.add, ['BPF', 'PERFMON', 'SYS_PTRACE', 'DAC_READ_SEARCH', 'SYS_ADMIN']);
    assert.equal(old.containers[0]!.securityContext!.allowPrivilegeEscalation, true, 'Kubernetes requires it with SYS_ADMIN');

    const custom = daemonSetPod(
      findObject(renderChart({ extraArgs: ['--log.level', 'debug'], image: { tag: '' } }, { name: 'edge', namespace: 'ops' }), 'DaemonSet', 'edge-sockscope'),
    );
    assert.deepEqual(custom.containers[0]!.args, ['run', '--log.level', 'debug']);
    assert.equal(custom.containers[0]!.image, 'sockscope:0.1.0', 'an empty tag falls back to appVersion');
    assert.equal(custom.containers[0]!.securityContext!.seccompProfile!.localhostProfile, 'edge-sockscope/sockscope.json');
    assert.equal(custom.volumes.find((v) => v.name === 'host-seccomp')!.hostPath!.path, '/var/lib/kubelet/seccomp/edge-sockscope');
  });

  test('clusterNetworks reaches the daemon as the JSON list metrics.clusterNetworks reads', () => {
    const nets = ['10.244.0.0/16', '10.96.0.0/12', 'fd00:10:244::/56'];
    const pod = daemonSetPod(findObject(renderChart({ clusterNetworks: nets }), 'DaemonSet', 'sockscope'));
    const env = pod.containers[0]!.env!.find((e) => e.name === 'SOCKSCOPE_METRICS_CLUSTERNETWORKS');
    assert.deepEqual(JSON.parse(env!.value!), nets);
  });

  test('every value in values.yaml is used by a template, and every value a template uses exists', () => {
    const used = valuePathsUsedByTemplates();
    const leaves = leafPaths(chartValues());
    const unused = leaves.filter((leaf) => ![...used].some((u) => leaf === u || leaf.startsWith(`${u}.`)));
    assert.deepEqual(unused, []);
    const known = new Set(leaves.flatMap((leaf) => leaf.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))));
    assert.deepEqual([...used].filter((u) => !known.has(u)), []);
  });

  test('values.yaml satisfies values.schema.json, and the schema rejects wrong values', () => {
    const schema = JSON.parse(readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as object;
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    assert.equal(validate(chartValues()), true, JSON.stringify(validate.errors));
    const wrong: Array<Record<string, unknown>> = [
      { mode: 'push' },
      { securityContext: { capabilities: ['CAP_BPF'] } },
      { port: 80 },
      { imageTag: '1.0' },
      { webConfig: { basicAuthUsers: { prometheus: 'plain-text-password' } } },
      { webConfig: { tlsServerConfig: { cert_file: '/elsewhere.crt' } } },
      { clusterNetworks: '10.244.0.0/16' },
      { clusterNetworks: ['10.244.0.0'] },
      { otlp: { endpoint: 'http://x:4317', compression: 'zstd' } },
      { otlp: { endpoint: 'http://x:4317', secret: { clientKey: 'not a PEM key' } } },
      { webConfig: { rateLimit: { interval: '1s', burst: 0 } } },
    ];
    for (const override of wrong) {
      const values = { ...chartValues(), ...override, securityContext: { ...(chartValues().securityContext as object), ...(override.securityContext as object) } };
      assert.equal(validate(values), false, `accepted ${JSON.stringify(override)}`);
    }
  });

  test('the chart ships deploy/seccomp/sockscope.json unchanged', () => {
    assert.equal(
      readFileSync(path.join(CHART_DIR, 'files', 'seccomp-profile.json'), 'utf8'),
      readFileSync(repoPath('deploy', 'seccomp', 'sockscope.json'), 'utf8'),
    );
  });

  test('Chart.yaml: apiVersion v2, appVersion = package.json version', () => {
    const chart = parse(readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as Record<string, string>;
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.appVersion, pkg.version);
    assert.equal((chartValues().image as { tag: string }).tag, pkg.version);
  });
});

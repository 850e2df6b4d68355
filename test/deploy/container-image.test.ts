/**
 * The Dockerfile, built unmodified with podman (offline: the bases are made locally by
 * base-images.sh), and the image run with exactly the DaemonSet's security settings, read
 * from deploy/kubernetes/prometheus/daemonset.yaml: its capabilities, its seccomp profile
 * (installed by its init container's command), read-only root, host PIDs, its own network
 * namespace, its host mounts. Traffic made on the host must show up in its /metrics.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { runTraffic, uniqueProcessName } from '../helpers/traffic';
import { capabilitiesInMask, readKernelFacts, readThreadCapabilities, runtimeCapabilities } from '../../src/privileges';
import { NODE_ENVIRONMENT, NODE_FLAGS } from '../../src/runtime-settings';
import { parseExposition, sumOf } from './helpers/exposition';
import { daemonSetPod, findObject, type Container, type PodSpec } from './helpers/kubernetes-shapes';
import { readManifestDirectory, type KubernetesObject } from './helpers/manifests';
import { DEPLOY_TEST_SOURCE, REPO_ROOT, repoPath } from './helpers/paths';
import { requireTools, run, runOk, toolTestOptions } from './helpers/tools';

const TOOLS = ['podman', 'buildah', 'runc', 'debootstrap'];
const IMAGE = 'localhost/sockscope:deploy-test';

const pod: PodSpec = daemonSetPod(findObject(readManifestDirectory(repoPath('deploy', 'kubernetes', 'prometheus')), 'DaemonSet', 'sockscope'));
const main = pod.containers.find((c) => c.name === 'sockscope') as Container;
const init = pod.initContainers!.find((c) => c.name === 'install-seccomp-profile') as Container;
const configMap = findObject(readManifestDirectory(repoPath('deploy', 'kubernetes', 'common')), 'ConfigMap', 'sockscope-seccomp') as KubernetesObject & {
  data: Record<string, string>;
};

describe('container image', { ...bpfTestOptions(), ...toolTestOptions(TOOLS) }, () => {
  let state: string;
  let work: string;
  const podman = (args: string[], timeoutMs = 120_000) =>
    run(path.join(DEPLOY_TEST_SOURCE, 'podman.sh'), [state, ...args], { timeoutMs });
  const podmanOk = async (args: string[], timeoutMs = 120_000) => {
    const result = await podman(args, timeoutMs);
    if (result.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${result.code}: ${result.stderr.slice(-3000)}`);
    return result;
  };

  /** podman flags for a container spec: the Kubernetes fields the DaemonSet sets, one by one. */
  function securityFlags(container: Container, seccompFile: string | undefined): string[] {
    const sc = container.securityContext!;
    const flags = ['--cap-drop', (sc.capabilities?.drop ?? []).join(',')];
    if (sc.capabilities?.add?.length) flags.push('--cap-add', sc.capabilities.add.join(','));
    if (sc.readOnlyRootFilesystem) flags.push('--read-only');
    if (sc.allowPrivilegeEscalation === false) flags.push('--security-opt', 'no-new-privileges');
    assert.notEqual(sc.privileged, true);
    if (sc.runAsUser !== undefined) flags.push('--user', `${sc.runAsUser}:${sc.runAsUser}`);
    if (seccompFile) flags.push('--security-opt', `seccomp=${seccompFile}`);
    return flags;
  }

  /** -v flags for the container's mounts: host paths as in the pod, missing ones as empty stand-ins. */
  function mountFlags(container: Container, substitutes: Record<string, string>): string[] {
    return container.volumeMounts.flatMap((mount) => {
      const volume = pod.volumes.find((v) => v.name === mount.name)!;
      let source = substitutes[mount.name] ?? volume.hostPath?.path;
      assert.ok(source, `a source for volume ${mount.name}`);
      if (!existsSync(source)) {
        source = path.join(work, 'host', mount.name); // e.g. /var/log/pods on a machine without a kubelet
        mkdirSync(source, { recursive: true });
      }
      return ['-v', `${source}:${mount.mountPath}${mount.readOnly ? ':ro' : ''}`];
    });
  }

  before(async () => {
    requireTools(TOOLS);
    requireBpf();
    state = mkdtempSync(path.join(os.tmpdir(), 'sockscope-podman-'));
    work = mkdtempSync(path.join(os.tmpdir(), 'sockscope-podman-work-'));
    const base = await runOk('bash', [path.join(DEPLOY_TEST_SOURCE, 'base-images.sh'), state], { timeoutMs: 600_000 });
    const nodeImage = base.stdout.trim().split('\n').at(-1)!;
    // The project's Dockerfile, unmodified; network for apt and npm inside the build only.
    await podmanOk(
      ['build', '--pull=never', '--network', 'host', '--format', 'docker', '--build-arg', `NODE_IMAGE=${nodeImage}`, '-t', IMAGE, REPO_ROOT],
      900_000,
    );
  });

  after(async () => {
    if (state) {
      await podman(['rm', '--all', '--force', '--time', '0']);
      await podman(['system', 'reset', '--force'], 300_000);
      rmSync(state, { recursive: true, force: true });
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('image metadata: OCI labels, uid 0, the CLI as entrypoint, a health check, port 9464', async () => {
    const [config] = JSON.parse((await podmanOk(['image', 'inspect', IMAGE])).stdout) as Array<{
      Config: { Labels: Record<string, string>; User: string; Entrypoint: string[]; Cmd: string[]; Env: string[]; ExposedPorts: object };
      Healthcheck?: { Test: string[] };
    }>;
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string; license: string };
    assert.equal(config!.Config.Labels['org.opencontainers.image.title'], 'sockscope');
    assert.equal(config!.Config.Labels['org.opencontainers.image.version'], pkg.version);
    assert.equal(config!.Config.Labels['org.opencontainers.image.licenses'], pkg.license);
    assert.equal(config!.Config.User, '0:0');
    assert.deepEqual(config!.Config.Entrypoint, ['node', ...NODE_FLAGS, '/opt/sockscope/dist/src/cli.js']);
    for (const [name, value] of Object.entries(NODE_ENVIRONMENT)) assert.ok(config!.Config.Env.includes(`${name}=${value}`), name);
    assert.deepEqual(config!.Config.Cmd, ['run']);
    assert.match(config!.Healthcheck?.Test.join(' ') ?? '', /\/healthz/);
    assert.ok('9464/tcp' in config!.Config.ExposedPorts);
  });

  test('the image holds the daemon only: no sources, tests or dev dependencies; nothing writable but by root', async () => {
    const script = [
      'test -f /opt/sockscope/dist/src/cli.js',
      'test -f /opt/sockscope/addon/build/Release/sockscope.node',
      'test ! -e /opt/sockscope/src && test ! -e /opt/sockscope/test && test ! -e /opt/sockscope/deploy',
      'test ! -e /opt/sockscope/node_modules/typescript',
      'test -z "$(find /opt/sockscope -perm /022 -not -type l | head -1)"',
      'test -z "$(find /opt/sockscope -not -user 0 | head -1)"',
      'ldd /opt/sockscope/addon/build/Release/sockscope.node | grep -q libbpf.so.1',
      'node /opt/sockscope/dist/src/cli.js --version',
    ].join(' && ');
    const result = await podmanOk(['run', '--rm', '--network', 'none', '--entrypoint', 'sh', IMAGE, '-c', script]);
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
    assert.equal(result.stdout.trim(), pkg.version);
  });

  test('with the DaemonSet settings: probes attach, host traffic is counted, capabilities are dropped', async () => {
    // The init container, as the DaemonSet runs it: ConfigMap in, host seccomp directory out.
    const profileDir = path.join(work, 'configmap');
    const hostSeccomp = path.join(work, 'kubelet-seccomp');
    mkdirSync(profileDir, { recursive: true });
    mkdirSync(hostSeccomp, { recursive: true });
    writeFileSync(path.join(profileDir, 'sockscope.json'), configMap.data['sockscope.json']!);
    await podmanOk([
      'run', '--rm', '--network', 'none', ...securityFlags(init, undefined),
      ...mountFlags(init, { 'seccomp-profile': profileDir, 'host-seccomp': hostSeccomp }),
      '--entrypoint', init.command![0]!, IMAGE, ...init.command!.slice(1),
    ]);
    const installed = path.join(hostSeccomp, path.basename(main.securityContext!.seccompProfile!.localhostProfile!));
    assert.equal(readFileSync(installed, 'utf8'), configMap.data['sockscope.json']);

    const env = (main.env ?? []).flatMap((e) => ['--env', `${e.name}=${e.value}`]);
    await podmanOk([
      'run', '--detach', '--name', 'sockscope', '--network', 'none', ...(pod.hostPID ? ['--pid', 'host'] : []),
      ...securityFlags(main, installed), ...mountFlags(main, {}), ...env, IMAGE, ...(main.args ?? []),
    ]);
    const logs = async () => (await podman(['logs', 'sockscope'])).stdout;
    const waitForLog = async (message: string) => {
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
        const line = (await logs()).split('\n').find((l) => l.includes(`"msg":"${message}"`));
        if (line) return JSON.parse(line) as Record<string, unknown>;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`no "${message}" in the container log:\n${(await logs()).slice(-4000)}\n${(await podman(['logs', 'sockscope'])).stderr.slice(-2000)}`);
    };
    const serving = await waitForLog('serving Prometheus metrics on /metrics');
    const port = serving.port as number;
    assert.equal(String(port), main.env!.find((e) => e.name === 'SOCKSCOPE_PROMETHEUS_PORT')!.value);

    // What the kubelet's probes and Prometheus would get, from inside the pod's network namespace.
    const fetchInside = async (urlPath: string) => {
      const script = `fetch("http://127.0.0.1:${port}${urlPath}").then(async (r) => { process.stdout.write(r.status + "\\n" + await r.text()); })`;
      const result = await podmanOk(['exec', 'sockscope', 'node', '-e', script]);
      const nl = result.stdout.indexOf('\n');
      return { status: Number(result.stdout.slice(0, nl)), body: result.stdout.slice(nl + 1) };
    };
    assert.equal((await fetchInside('/healthz')).status, 200);
    assert.equal((await fetchInside('/readyz')).status, 200);
    // The live view is in the image, its chart library bundled: no CDN on an air-gapped node.
    const livePage = await fetchInside('/ui/');
    assert.equal(livePage.status, 200);
    assert.match(livePage.body, /sockscope live view/);
    assert.equal((await fetchInside('/ui/vendor/uPlot.iife.min.js')).status, 200);
    assert.equal((await podman(['healthcheck', 'run', 'sockscope'])).code, 0, 'the image HEALTHCHECK passes');

    const dropped = await waitForLog('capabilities dropped');
    const expectedKept = runtimeCapabilities(readKernelFacts());
    assert.deepEqual(dropped.kept, expectedKept);
    const hostPid = Number((await podmanOk(['inspect', '--format', '{{.State.Pid}}', 'sockscope'])).stdout.trim());
    for (const t of readThreadCapabilities(hostPid)) {
      if ((dropped.unreachableThreads as number[]).includes(t.tid)) continue;
      assert.deepEqual(capabilitiesInMask(t.effective | t.permitted), expectedKept, `thread ${t.tid}`);
    }

    const name = uniqueProcessName('sspodman');
    const traffic = await runTraffic({ name, transport: 'tcp', family: 'ipv4', messageSize: 4096, messages: 16 });
    const want = { tx: traffic.tcp.ipv4.tx, rx: traffic.tcp.ipv4.rx };
    let got = { tx: 0, rx: 0 };
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      const samples = parseExposition((await fetchInside('/metrics')).body);
      const labels = { process_executable_name: name, network_transport: 'tcp', network_type: 'ipv4' };
      got = {
        tx: sumOf(samples, 'sockscope_network_io_bytes_total', { ...labels, network_io_direction: 'transmit' }),
        rx: sumOf(samples, 'sockscope_network_io_bytes_total', { ...labels, network_io_direction: 'receive' }),
      };
      if (got.tx === want.tx && got.rx === want.rx) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual(got, want);

    await podmanOk(['stop', '--time', '20', 'sockscope']);
    const exitCode = (await podmanOk(['inspect', '--format', '{{.State.ExitCode}}', 'sockscope'])).stdout.trim();
    assert.equal(exitCode, '0', await logs());
    assert.match(await logs(), /"msg":"probes detached"/);
    await podmanOk(['rm', 'sockscope']);
  });

  test('sockscope selftest passes in the image when run privileged, as `kubectl debug node --profile=sysadmin` runs it', async () => {
    const result = await podman(['run', '--rm', '--privileged', '--network', 'none', IMAGE, 'selftest'], 300_000);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /^\d+ passed, 0 failed, 0 not run$/m);
  });

  test('sockscope selftest with only the DaemonSet settings (what kubectl exec gets): exit 1, one line naming what is missing', async () => {
    const installed = path.join(work, 'selftest-seccomp.json');
    writeFileSync(installed, configMap.data['sockscope.json']!);
    const result = await podman([
      'run', '--rm', '--network', 'none', ...(pod.hostPID ? ['--pid', 'host'] : []),
      ...securityFlags(main, installed), ...mountFlags(main, {}), IMAGE, 'selftest',
    ]);
    assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
    // (podman's own lines, about healthchecks without systemd, start with time=.)
    const ours = result.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('time='));
    assert.equal(ours.length, 1, result.stderr);
    assert.match(ours[0]!, /^sockscope selftest: cannot create its private network namespace \(it needs CAP_SYS_ADMIN, CAP_NET_ADMIN, unshare and ip\): .*Operation not permitted$/);
  });

  test("with the runtime's default seccomp profile instead, bpf() is refused: the custom profile is needed", async () => {
    const result = await podman([
      'run', '--rm', '--network', 'none', ...(pod.hostPID ? ['--pid', 'host'] : []),
      ...securityFlags(main, undefined), ...mountFlags(main, {}), IMAGE, ...(main.args ?? []),
    ]);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /loading BPF programs failed: Operation not permitted/);
  });
});

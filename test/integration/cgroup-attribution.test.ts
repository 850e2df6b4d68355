/*
 * CgroupResolver end to end.
 *
 * 1. On a directory tree shaped like a cgroup hierarchy (any user): caching, the
 *    rate limit on walks, vanished ids, the pid shortcut, pod names arriving late.
 * 2. On real cgroups (root, cgroup v2, BPF): a traffic child is moved into cgroups
 *    named the way containerd, CRI-O, Docker and systemd name them; the cgroup id
 *    the BPF collector reports for its traffic is the directory's inode, and the
 *    resolver turns that id into the expected attributes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Attributes } from '@opentelemetry/api';
import { localCgroup2Mount } from '../../src/attribution/cgroup-mount';
import { CgroupResolver, type CgroupResolverOptions } from '../../src/attribution/cgroup-resolver';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { SockscopeProducer } from '../../src/metrics/sockscope-producer';
import type { FlowDelta } from '../../src/collector/types';
import { bpfTestOptions, inCi, requireBpf } from '../helpers/bpf-gate';
import { uniqueProcessName, type TrafficRequest, type TrafficSummary } from '../helpers/traffic';
import { NO_CONNECTIONS } from '../helpers/collector-stats';
import { removeCgroup } from '../helpers/fake-pods';

const hex64 = (): string => randomBytes(32).toString('hex');
const inode = (dir: string): bigint => statSync(dir, { bigint: true }).ino;

/** A temp root with kubelet-style /var/log/pods and /var/log/containers inside. */
class KubeletLogs {
  readonly pods: string;
  readonly containers: string;

  constructor(readonly root: string) {
    this.pods = join(root, 'pods');
    this.containers = join(root, 'containers');
    mkdirSync(this.pods, { recursive: true });
    mkdirSync(this.containers, { recursive: true });
  }

  /** /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log for each container. */
  addPod(namespace: string, name: string, uid: string, containers: string[]): void {
    for (const container of containers) {
      const dir = join(this.pods, `${namespace}_${name}_${uid}`, container);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, '0.log'), '');
    }
  }

  /** The kubelet's /var/log/containers link; the target is the host path, as on a node. */
  addLink(namespace: string, name: string, uid: string, container: string, containerId: string): void {
    symlinkSync(
      `/var/log/pods/${namespace}_${name}_${uid}/${container}/0.log`,
      join(this.containers, `${name}_${namespace}_${container}-${containerId}.log`),
    );
  }
}

describe('CgroupResolver on a cgroup-shaped directory tree', () => {
  let tmp: string;
  let root: string;
  let logs: KubeletLogs;
  let clock = 0;
  const now = (): number => clock;
  const resolver = (extra: Partial<CgroupResolverOptions> = {}): CgroupResolver =>
    new CgroupResolver({
      cgroupRoot: root,
      podLogRoot: logs.pods,
      containerLogRoot: logs.containers,
      rescanIntervalMs: 1000,
      now,
      ...extra,
    });
  const cgroup = (path: string): bigint => {
    mkdirSync(join(root, path), { recursive: true });
    return inode(join(root, path));
  };

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'sockscope-attr-'));
    root = join(tmp, 'cgroup');
    mkdirSync(root);
    logs = new KubeletLogs(join(tmp, 'log'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('pods get namespace, pod and container names; links tell containers apart, sandboxes get none', () => {
    const uid = randomUUID();
    const slice = `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice`;
    const [app, sidecar, sandbox] = [hex64(), hex64(), hex64()];
    logs.addPod('shop', 'cart-1', uid, ['app', 'sidecar']);
    logs.addLink('shop', 'cart-1', uid, 'app', app);
    logs.addLink('shop', 'cart-1', uid, 'sidecar', sidecar);
    const [appId, sidecarId, sandboxId] = [app, sidecar, sandbox].map((c) => cgroup(`${slice}/cri-containerd-${c}.scope`));
    const r = resolver();
    const pod = { 'k8s.pod.uid': uid, 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'cart-1' };
    const containerd = (id: string) => ({ 'container.id': id, 'container.runtime.name': 'containerd' });
    assert.deepEqual(r.resolve(appId as bigint), { ...containerd(app), ...pod, 'k8s.container.name': 'app' });
    assert.deepEqual(r.resolve(sidecarId as bigint), { ...containerd(sidecar), ...pod, 'k8s.container.name': 'sidecar' });
    assert.deepEqual(r.resolve(sandboxId as bigint), { ...containerd(sandbox), ...pod });
    assert.equal(r.stats().scans, 1, 'one walk indexed all three');
  });

  test('without links, a pod with one container directory names its container; with two it cannot', () => {
    const [one, two] = [randomUUID(), randomUUID()];
    const [a, b] = [hex64(), hex64()];
    logs.addPod('web', 'solo', one, ['nginx']);
    logs.addPod('web', 'duo', two, ['nginx', 'exporter']);
    const soloId = cgroup(`kubepods/besteffort/pod${one}/crio-${a}`);
    const duoId = cgroup(`kubepods/besteffort/pod${two}/crio-${b}`);
    const r = resolver({ containerLogRoot: null });
    assert.equal(r.resolve(soloId)['k8s.container.name'], 'nginx');
    const duo = r.resolve(duoId);
    assert.equal(duo['k8s.pod.name'], 'duo');
    assert.equal(duo['k8s.container.name'], undefined);
  });

  test('host services, and the same frozen object on every hit', () => {
    const r = resolver();
    const id = cgroup('system.slice/nginx.service');
    const first = r.resolve(id);
    assert.deepEqual(first, { 'systemd.unit.name': 'nginx.service' });
    assert.equal(r.resolve(id), first);
    assert.ok(Object.isFrozen(first));
    assert.deepEqual(r.resolve(cgroup('user.slice/user-1000.slice/session-2.scope')), {});
    assert.deepEqual(r.resolve(inode(root)), {}, 'the root cgroup');
  });

  test('a new cgroup waits for the rate limit, then one walk finds it', () => {
    const r = resolver();
    r.resolve(cgroup('system.slice/first.service'));
    const walks = r.stats().scans;
    const late = cgroup('system.slice/late.service');
    assert.equal(r.tryResolve(late), undefined, 'not found yet, and not known to be gone');
    assert.deepEqual(r.resolve(late), {});
    assert.equal(r.stats().scans, walks, 'no walk inside the interval');
    assert.equal(r.stats().scansRateLimited, 2);
    clock += 1000;
    assert.deepEqual(r.resolve(late), { 'systemd.unit.name': 'late.service' });
    assert.equal(r.stats().scans, walks + 1);
  });

  test('a storm of unknown ids costs one walk per interval, then they are known to be gone', () => {
    const r = resolver();
    const unknown = Array.from({ length: 500 }, (_, i) => 0x7fff_0000_0000n + BigInt(i));
    for (const id of unknown) assert.deepEqual(r.resolve(id), {});
    assert.equal(r.stats().scans, 1);
    clock += 1000;
    for (const id of unknown) assert.equal(r.tryResolve(id), r.resolve(id)); // settled: {} from now on
    assert.equal(r.stats().scans, 2);
    assert.equal(r.stats().vanished, 500);
    clock += 5000;
    for (const id of unknown) assert.deepEqual(r.tryResolve(id), {});
    assert.equal(r.stats().scans, 2, 'gone ids never ask for another walk');
  });

  test('a cgroup removed before its first lookup resolves to {} without throwing', () => {
    const dir = join(root, 'system.slice', 'short-lived.service');
    const id = cgroup('system.slice/short-lived.service');
    rmdirSync(dir);
    const r = resolver();
    assert.deepEqual(r.tryResolve(id), {});
    assert.equal(r.stats().vanished, 1);
  });

  test('an unreadable cgroup root proves nothing gone', () => {
    const r = resolver({ cgroupRoot: join(tmp, 'not-mounted') });
    assert.equal(r.tryResolve(12345n), undefined);
    clock += 1000;
    assert.equal(r.tryResolve(12345n), undefined);
    assert.deepEqual(r.stats(), { ...r.stats(), scans: 2, vanished: 0, lastScanComplete: false });
  });

  test('a live process names its cgroup through /proc/<pid>/cgroup, without a walk', () => {
    const proc = join(tmp, 'proc');
    const id = cgroup('system.slice/api.service');
    mkdirSync(join(proc, '4242'), { recursive: true });
    writeFileSync(join(proc, '4242', 'cgroup'), '1:name=systemd:/system.slice/api.service\n0::/system.slice/api.service\n');
    mkdirSync(join(proc, '4343'), { recursive: true });
    writeFileSync(join(proc, '4343', 'cgroup'), '0::/system.slice/other.service\n'); // not the cgroup with that id
    const r = resolver({ procRoot: proc });
    assert.deepEqual(r.resolve(id, 4242), { 'systemd.unit.name': 'api.service' });
    assert.deepEqual(r.stats(), { ...r.stats(), scans: 0, foundByPid: 1 });
    const other = cgroup('system.slice/third.service');
    assert.deepEqual(r.resolve(other, 4343), { 'systemd.unit.name': 'third.service' }, 'a wrong pid falls back to a walk');
    assert.deepEqual(r.stats(), { ...r.stats(), scans: 1, foundByPid: 1 });
  });

  test('pod names that appear after the cgroup are picked up on a later lookup', () => {
    const uid = randomUUID();
    const cid = hex64();
    const id = cgroup(`kubepods.slice/kubepods-pod${uid.replace(/-/g, '_')}.slice/crio-${cid}.scope`);
    const r = resolver();
    const container = { 'container.id': cid, 'container.runtime.name': 'cri-o', 'k8s.pod.uid': uid };
    assert.deepEqual(r.resolve(id), container);
    logs.addPod('batch', 'job-x', uid, ['worker']);
    assert.deepEqual(r.resolve(id), container, 'the pod directories are not reread inside the interval');
    clock += 1000;
    const names = { 'k8s.namespace.name': 'batch', 'k8s.pod.name': 'job-x', 'k8s.container.name': 'worker' };
    assert.deepEqual(r.resolve(id), { ...container, ...names });
  });

  test('caches stay within maxEntries and count evictions', () => {
    const proc = join(tmp, 'proc-bounded');
    const r = resolver({ maxEntries: 4, procRoot: proc });
    const ids: bigint[] = [];
    for (let i = 0; i < 10; i++) {
      const path = `/system.slice/bounded-${i}.service`;
      ids.push(cgroup(path));
      mkdirSync(join(proc, String(1000 + i)), { recursive: true });
      writeFileSync(join(proc, String(1000 + i), 'cgroup'), `0::${path}\n`);
      assert.deepEqual(r.resolve(ids[i] as bigint, 1000 + i), { 'systemd.unit.name': `bounded-${i}.service` });
    }
    const stats = r.stats();
    assert.equal(stats.cached, 4);
    assert.equal(stats.indexed, 4);
    assert.equal(stats.evictions, 12, 'six from the attribute cache, six from the index');
    assert.deepEqual(r.resolve(ids[9] as bigint), { 'systemd.unit.name': 'bounded-9.service' }, 'the newest stays');
  });
});

// ---------------------------------------------------------------------------

const cgroup2 = localCgroup2Mount();

function realCgroupOptions(): { skip: string | false } {
  const bpf = bpfTestOptions();
  if (bpf.skip !== false) return bpf;
  return { skip: cgroup2 === undefined && !inCi() ? 'no cgroup2 mount in /proc/self/mountinfo' : false };
}

/** The traffic child, spawned paused: it starts its traffic on go(). */
class HeldChild {
  readonly process: ChildProcessWithoutNullStreams;
  private stdout = '';
  private stderr = '';
  private readonly exited: Promise<number | null>;

  constructor(readonly request: TrafficRequest) {
    const script = join(__dirname, '..', 'fixtures', 'held-traffic-child.js');
    this.process = spawn(process.execPath, [script, JSON.stringify(request)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stdout.setEncoding('utf8').on('data', (c: string) => (this.stdout += c));
    this.process.stderr.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
    this.exited = once(this.process, 'exit').then(([code]) => code as number | null);
  }

  get pid(): number {
    return this.process.pid as number;
  }

  async go(): Promise<TrafficSummary> {
    this.process.stdin.end('go\n');
    const code = await this.exited;
    if (code !== 0) throw new Error(`traffic child exited with ${code}: ${this.stderr}`);
    return JSON.parse(this.stdout.trim().split('\n').at(-1) ?? '') as TrafficSummary;
  }

  async kill(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
    await this.exited;
  }
}

describe('attribution of real traffic in real cgroups', realCgroupOptions(), () => {
  let collector: BpfCollector;
  let base: string;
  let tmp: string;
  let logs: KubeletLogs;
  const created: string[] = [];
  const children: HeldChild[] = [];
  const seen: FlowDelta[] = [];

  before(() => {
    requireBpf();
    if (cgroup2 === undefined) throw new Error('no cgroup2 mount in /proc/self/mountinfo (CI=true: a failure, not a skip)');
    tmp = mkdtempSync(join(tmpdir(), 'sockscope-attr-'));
    logs = new KubeletLogs(tmp);
    base = join(cgroup2, `sockscope-test-${randomBytes(4).toString('hex')}`);
    mkdirSync(base);
    created.push(base);
    collector = BpfCollector.start({ mode: 'auto', ringBufferSize: 16 << 20, drainIntervalMillis: 20, maxFlows: 65536 });
  });

  after(async () => {
    collector?.close();
    await Promise.all(children.map((c) => c.kill()));
    // Leaf first; a just-reaped child can keep its cgroup busy for a moment.
    for (const dir of created.sort((a, b) => b.length - a.length)) await removeCgroup(dir);
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  /** mkdir -p under the test's own cgroup, remembering every level for cleanup. */
  function makeCgroup(path: string): string {
    let dir = base;
    for (const part of path.split('/')) {
      dir = join(dir, part);
      if (created.includes(dir)) continue;
      mkdirSync(dir);
      created.push(dir);
    }
    return dir;
  }

  function spawnIn(dir: string, transport: 'tcp' | 'udp'): HeldChild {
    const child = new HeldChild({ name: uniqueProcessName('sscg'), transport, family: 'ipv4', messageSize: 1200, messages: 40 });
    children.push(child);
    writeFileSync(join(dir, 'cgroup.procs'), `${child.pid}\n`);
    const v2 = /^0::(.*)$/m.exec(readFileSync(`/proc/${child.pid}/cgroup`, 'utf8'))?.[1];
    assert.equal(v2, dir.slice((cgroup2 as string).length), 'the child is in the cgroup before it sends anything');
    return child;
  }

  /** Runs the child's traffic and returns its flows, once all its bytes have been drained. */
  async function trafficOf(child: HeldChild): Promise<FlowDelta[]> {
    const summary = await child.go();
    const moved = summary[child.request.transport].ipv4;
    const mine = (): FlowDelta[] => seen.filter((f) => f.comm === child.request.name);
    for (let i = 0; i < 250; i++) {
      seen.push(...(await collector.drain()));
      const tx = mine().reduce((n, f) => n + f.txBytes, 0);
      const rx = mine().reduce((n, f) => n + f.rxBytes, 0);
      if (tx === moved.tx && rx === moved.rx) return mine();
      await sleep(20);
    }
    assert.fail(`the collector never reported the ${moved.tx}/${moved.rx} bytes the child moved`);
  }

  async function assertAttributed(path: string, transport: 'tcp' | 'udp', expected: Attributes): Promise<void> {
    const dir = makeCgroup(path);
    const id = inode(dir);
    const flows = await trafficOf(spawnIn(dir, transport));
    assert.ok(flows.length > 0);
    for (const f of flows) assert.equal(f.cgroupId, id, 'the BPF cgroup id is the cgroup directory inode');
    // A fresh resolver with the real defaults: finds the cgroup2 mount itself, walks on the first miss.
    const resolver = new CgroupResolver({ podLogRoot: logs.pods, containerLogRoot: logs.containers });
    assert.equal(resolver.stats().cgroupRoot, cgroup2);
    assert.deepEqual(resolver.resolve(id), expected);
    assert.deepEqual(resolver.resolve(flows[0]?.cgroupId as bigint), expected);
    await assertExported(flows, resolver, expected);
  }

  /** The same flows, through the real producer: the exported byte series carry the attributes. */
  async function assertExported(flows: FlowDelta[], resolver: CgroupResolver, expected: Attributes): Promise<void> {
    let pending = flows;
    const source = {
      drainInto: async (visit: (f: FlowDelta) => void) => [pending, (pending = [])][0]!.forEach((f) => visit(f)),
      stats: () => collector.stats(),
    };
    const everyWorkloadAttribute = ['container.id', 'container.runtime.name', 'k8s.pod.uid', 'k8s.pod.name', 'k8s.namespace.name', 'k8s.container.name', 'systemd.unit.name'];
    const producer = new SockscopeProducer(source, NO_CONNECTIONS, {
      buildInfo: { version: 'test', nodeVersion: process.versions.node },
      plan: collector.plan,
      limits: { maxSeries: 1000, ttlMs: 60_000 },
      workload: resolver,
      attributes: { 'sockscope.network.io': ['process.executable.name', 'network.io.direction', ...everyWorkloadAttribute] },
    });
    const { resourceMetrics } = await producer.collect();
    const io = resourceMetrics.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === 'sockscope.network.io')!;
    const points = (io.dataPoints as Array<{ attributes: Attributes; value: number }>).filter(
      (p) => p.attributes['process.executable.name'] === flows[0]!.comm,
    );
    assert.ok(points.length > 0, 'the child has exported byte series');
    for (const p of points) {
      const workload = Object.fromEntries(Object.entries(p.attributes).filter(([k]) => everyWorkloadAttribute.includes(k)));
      assert.deepEqual(workload, expected, 'exported attributes');
    }
    const bytes = flows.reduce((n, f) => n + f.txBytes + f.rxBytes, 0);
    assert.equal(points.reduce((n, p) => n + p.value, 0), bytes);
  }

  test('containerd (systemd driver): container, pod and the only container of the pod', async () => {
    const uid = randomUUID();
    const cid = hex64();
    logs.addPod('shop', 'cart-7d9f', uid, ['app']);
    await assertAttributed(
      `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${cid}.scope`,
      'tcp',
      {
        'container.id': cid,
        'container.runtime.name': 'containerd',
        'k8s.pod.uid': uid,
        'k8s.namespace.name': 'shop',
        'k8s.pod.name': 'cart-7d9f',
        'k8s.container.name': 'app',
      },
    );
  });

  test('CRI-O with crun sub-cgroup: the container named by its /var/log/containers link', async () => {
    const uid = randomUUID();
    const [ledger, proxy] = [hex64(), hex64()];
    logs.addPod('payments', 'ledger-0', uid, ['ledger', 'istio-proxy']);
    logs.addLink('payments', 'ledger-0', uid, 'ledger', ledger);
    logs.addLink('payments', 'ledger-0', uid, 'istio-proxy', proxy);
    await assertAttributed(
      `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice/crio-${ledger}.scope/container`,
      'udp',
      {
        'container.id': ledger,
        'container.runtime.name': 'cri-o',
        'k8s.pod.uid': uid,
        'k8s.namespace.name': 'payments',
        'k8s.pod.name': 'ledger-0',
        'k8s.container.name': 'ledger',
      },
    );
  });

  test('Docker (systemd driver)', async () => {
    const cid = hex64();
    const expected = { 'container.id': cid, 'container.runtime.name': 'docker' };
    await assertAttributed(`system.slice/docker-${cid}.scope`, 'tcp', expected);
  });

  test('a systemd service on bare metal', async () => {
    await assertAttributed('system.slice/sockscope-web.service', 'tcp', { 'systemd.unit.name': 'sockscope-web.service' });
  });

  test('a running process names its new cgroup without a walk', async () => {
    const cid = hex64();
    const dir = makeCgroup(`system.slice/docker-${cid}.scope`);
    const child = spawnIn(dir, 'tcp');
    const resolver = new CgroupResolver({ podLogRoot: logs.pods, containerLogRoot: logs.containers });
    assert.deepEqual(resolver.resolve(inode(dir), child.pid), { 'container.id': cid, 'container.runtime.name': 'docker' });
    assert.equal(resolver.stats().scans, 0);
    assert.equal(resolver.stats().foundByPid, 1);
    await child.kill();
  });
});

/*
 * Attribution by cgroup path, as pure parsing: real-world-shaped cgroup v2 paths
 * of every runtime and cgroup driver, the kubelet's log directory names, mountinfo.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attributes } from '@opentelemetry/api';
import { findCgroup2Mount } from '../../src/attribution/cgroup-mount';
import { cgroupAttributes, parseCgroupPath, type ParseOptions } from '../../src/attribution/container-id';
import { LruMap } from '../../src/attribution/lru-map';
import { parseContainerLogLink, parsePodLogDirName } from '../../src/attribution/pod-directory';

const H1 = 'a3bf90e006b2d2a1c4e5f60718293a4b5c6d7e8f9012345678901234567890ab';
const H2 = '5f0c8e1d2b3a49687766554433221100ffeeddccbbaa99887766554433221100';
const UID = '7c1b6f0e-3a5d-4c2b-9f8e-1a2b3c4d5e6f';
const UID_ = UID.replace(/-/g, '_');
const STATIC_UID = '33d556edd3ae8ef21980288cef77ae8b';

const pod = (qos: 'burstable' | 'besteffort', uid = UID_): string =>
  `/kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${uid}.slice`;

interface Case {
  what: string;
  path: string;
  options?: ParseOptions;
  expected: Attributes;
}

const CASES: Case[] = [
  // containerd
  {
    what: 'containerd, systemd driver, burstable pod',
    path: `${pod('burstable')}/cri-containerd-${H1}.scope`,
    expected: { 'container.id': H1, 'container.runtime.name': 'containerd', 'k8s.pod.uid': UID },
  },
  {
    what: 'containerd, systemd driver, guaranteed pod (no QoS slice)',
    path: `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${H1}.scope`,
    expected: { 'container.id': H1, 'container.runtime.name': 'containerd', 'k8s.pod.uid': UID },
  },
  {
    what: 'containerd, cgroupfs driver: a bare id does not say which runtime',
    path: `/kubepods/besteffort/pod${UID}/${H1}`,
    expected: { 'container.id': H1, 'k8s.pod.uid': UID },
  },
  {
    what: 'containerd, cgroupfs driver, the node says its runtime',
    path: `/kubepods/besteffort/pod${UID}/${H1}`,
    options: { bareIdRuntime: 'containerd' },
    expected: { 'container.id': H1, 'container.runtime.name': 'containerd', 'k8s.pod.uid': UID },
  },
  {
    what: 'containerd, cgroupfs driver, guaranteed pod',
    path: `/kubepods/pod${UID}/${H1}`,
    options: { bareIdRuntime: 'containerd' },
    expected: { 'container.id': H1, 'container.runtime.name': 'containerd', 'k8s.pod.uid': UID },
  },
  {
    what: 'containerd, static pod (32-hex UID from the manifest hash)',
    path: `${pod('burstable', STATIC_UID)}/cri-containerd-${H1}.scope`,
    expected: { 'container.id': H1, 'container.runtime.name': 'containerd', 'k8s.pod.uid': STATIC_UID },
  },
  {
    what: 'kind: a pod inside a node that is itself a Docker container',
    path:
      `/system.slice/docker-${H2}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/` +
      `kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${H1}.scope`,
    expected: { 'container.id': H1, 'container.runtime.name': 'containerd', 'k8s.pod.uid': UID },
  },
  {
    what: 'nerdctl (containerd) outside Kubernetes',
    path: `/system.slice/nerdctl-${H1}.scope`,
    expected: { 'container.id': H1, 'container.runtime.name': 'containerd' },
  },
  // CRI-O
  {
    what: 'CRI-O, systemd driver',
    path: `${pod('besteffort')}/crio-${H1}.scope`,
    expected: { 'container.id': H1, 'container.runtime.name': 'cri-o', 'k8s.pod.uid': UID },
  },
  {
    what: 'CRI-O with crun on cgroup v2: the `container` sub-cgroup belongs to the container',
    path: `${pod('besteffort')}/crio-${H1}.scope/container`,
    expected: { 'container.id': H1, 'container.runtime.name': 'cri-o', 'k8s.pod.uid': UID },
  },
  {
    what: 'CRI-O conmon is in the pod but is not the container',
    path: `${pod('besteffort')}/crio-conmon-${H1}.scope`,
    expected: { 'k8s.pod.uid': UID },
  },
  {
    what: 'CRI-O, cgroupfs driver',
    path: `/kubepods/burstable/pod${UID}/crio-${H1}`,
    expected: { 'container.id': H1, 'container.runtime.name': 'cri-o', 'k8s.pod.uid': UID },
  },
  // Docker
  {
    what: 'Docker, systemd driver',
    path: `/system.slice/docker-${H1}.scope`,
    expected: { 'container.id': H1, 'container.runtime.name': 'docker' },
  },
  {
    what: 'Docker, cgroupfs driver',
    path: `/docker/${H1}`,
    expected: { 'container.id': H1, 'container.runtime.name': 'docker' },
  },
  {
    what: 'Docker in Docker: the inner container',
    path: `/docker/${H2}/docker/${H1}`,
    expected: { 'container.id': H1, 'container.runtime.name': 'docker' },
  },
  {
    what: 'Docker under Kubernetes (cri-dockerd), systemd driver',
    path: `${pod('burstable')}/docker-${H1}.scope`,
    expected: { 'container.id': H1, 'container.runtime.name': 'docker', 'k8s.pod.uid': UID },
  },
  {
    what: 'Docker, custom --cgroup-parent: an id without a runtime',
    path: `/ci-jobs/${H1}`,
    expected: { 'container.id': H1 },
  },
  // Podman
  {
    what: 'Podman rootful, systemd driver',
    path: `/machine.slice/libpod-${H1}.scope`,
    expected: { 'container.id': H1, 'container.runtime.name': 'podman' },
  },
  {
    what: 'Podman with crun `container` sub-cgroup',
    path: `/machine.slice/libpod-${H1}.scope/container`,
    expected: { 'container.id': H1, 'container.runtime.name': 'podman' },
  },
  {
    what: 'Podman rootless, under the user manager',
    path: `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${H1}.scope/container`,
    expected: { 'container.id': H1, 'container.runtime.name': 'podman' },
  },
  {
    what: 'Podman pod: the container, not the pod slice',
    path: `/machine.slice/machine-libpod_pod_${H2}.slice/libpod-${H1}.scope`,
    expected: { 'container.id': H1, 'container.runtime.name': 'podman' },
  },
  {
    what: 'Podman, cgroupfs driver',
    path: `/libpod_parent/libpod-${H1}`,
    expected: { 'container.id': H1, 'container.runtime.name': 'podman' },
  },
  { what: 'Podman conmon is not the container', path: `/machine.slice/libpod-conmon-${H1}.scope`, expected: {} },
  {
    what: 'systemd inside a Podman container: still the container',
    path: `/machine.slice/libpod-${H1}.scope/system.slice/nginx.service`,
    expected: { 'container.id': H1, 'container.runtime.name': 'podman' },
  },
  // Kubernetes cgroups that are not a container
  { what: 'a process directly in a pod cgroup', path: pod('burstable'), expected: { 'k8s.pod.uid': UID } },
  { what: 'a QoS slice', path: '/kubepods.slice/kubepods-burstable.slice', expected: {} },
  { what: 'pod<uuid> outside kubepods is not a pod', path: `/batch/pod${UID}/worker`, expected: {} },
  // systemd services, sessions, host
  { what: 'a system service', path: '/system.slice/nginx.service', expected: { 'systemd.unit.name': 'nginx.service' } },
  {
    what: 'a templated service in a sub-slice',
    path: '/system.slice/system-getty.slice/getty@tty1.service',
    expected: { 'systemd.unit.name': 'getty@tty1.service' },
  },
  {
    what: 'a sub-cgroup a service made in its delegated subtree',
    path: '/system.slice/containerd.service/payload',
    expected: { 'systemd.unit.name': 'containerd.service' },
  },
  { what: 'a login session', path: '/user.slice/user-1000.slice/session-3.scope', expected: {} },
  {
    what: 'a user service',
    path: '/user.slice/user-1000.slice/user@1000.service/app.slice/pipewire.service',
    expected: {},
  },
  { what: 'the root cgroup', path: '/', expected: {} },
  { what: 'PID 1', path: '/init.scope', expected: {} },
  { what: 'a transient scope', path: '/system.slice/run-r3f2.scope', expected: {} },
  { what: 'a 63-hex name is not a container id', path: `/system.slice/docker-${H1.slice(1)}.scope`, expected: {} },
  { what: 'upper-case hex is not a container id', path: `/docker/${H1.toUpperCase()}`, expected: {} },
];

describe('cgroup path → attributes', () => {
  for (const c of CASES) {
    test(c.what, () => {
      assert.deepEqual(cgroupAttributes(parseCgroupPath(c.path, c.options)), c.expected);
    });
  }

  test('pod metadata adds namespace, pod name and container name', () => {
    const identity = parseCgroupPath(`${pod('burstable')}/cri-containerd-${H1}.scope`);
    assert.deepEqual(cgroupAttributes(identity, { namespace: 'shop', name: 'cart-7d9f', containerName: 'app' }), {
      'container.id': H1,
      'container.runtime.name': 'containerd',
      'k8s.pod.uid': UID,
      'k8s.namespace.name': 'shop',
      'k8s.pod.name': 'cart-7d9f',
      'k8s.container.name': 'app',
    });
  });

  test('a pod-level cgroup gets no container name even when the pod has one', () => {
    const identity = parseCgroupPath(pod('burstable'));
    assert.deepEqual(cgroupAttributes(identity, { namespace: 'shop', name: 'cart-7d9f', containerName: 'app' }), {
      'k8s.pod.uid': UID,
      'k8s.namespace.name': 'shop',
      'k8s.pod.name': 'cart-7d9f',
    });
  });
});

describe('kubelet log directory names', () => {
  test('pod log directory: <namespace>_<pod>_<uid>', () => {
    assert.deepEqual(parsePodLogDirName(`kube-system_coredns-5d78c9869d-x2x7q_${UID}`), {
      namespace: 'kube-system',
      name: 'coredns-5d78c9869d-x2x7q',
      uid: UID,
    });
    assert.equal(parsePodLogDirName(UID), undefined, 'pre-1.14 layout has no names');
    assert.equal(parsePodLogDirName('a_b_c_d'), undefined);
    assert.equal(parsePodLogDirName('ns__uid'), undefined);
  });

  const target = (container: string) => `/var/log/pods/kube-system_coredns-5d78c9869d-x2x7q_${UID}/${container}/0.log`;

  test('container log link: <pod>_<namespace>_<container>-<id>.log → pod UID, container name, id', () => {
    assert.deepEqual(parseContainerLogLink(`coredns-5d78c9869d-x2x7q_kube-system_coredns-${H1}.log`, target('coredns')), {
      podUid: UID,
      containerName: 'coredns',
      containerIdPrefix: H1,
    });
  });

  test('a container name with dashes', () => {
    const name = `coredns-5d78c9869d-x2x7q_kube-system_config-reloader-${H1}.log`;
    const link = parseContainerLogLink(name, target('config-reloader'));
    assert.equal(link?.containerName, 'config-reloader');
    assert.equal(link?.containerIdPrefix, H1);
  });

  test('a link name the kubelet cut at 255 bytes keeps a prefix of the id', () => {
    const podName = 'p'.repeat(200);
    const full = `${podName}_default_app-${H1}`;
    const linkName = `${full.slice(0, 255 - '.log'.length)}.log`; // the kubelet's logSymlink()
    const link = parseContainerLogLink(linkName, `/var/log/pods/default_${podName}_${UID}/app/0.log`);
    assert.ok(link !== undefined);
    assert.ok(H1.startsWith(link.containerIdPrefix));
    assert.ok(link.containerIdPrefix.length < 64);
  });

  test('a link cut before the id, or one not pointing into a pod log dir, tells nothing', () => {
    const podName = 'p'.repeat(248);
    const linkName = `${`${podName}_default_app-${H1}`.slice(0, 251)}.log`;
    assert.equal(parseContainerLogLink(linkName, `/var/log/pods/default_${podName}_${UID}/app/0.log`), undefined);
    assert.equal(parseContainerLogLink(`x_y_app-${H1}.log`, '/somewhere/else.log'), undefined);
    assert.equal(parseContainerLogLink(`coredns-5d78c9869d-x2x7q_kube-system_other-${H1}.log`, target('coredns')), undefined);
  });
});

describe('cgroup2 mount from mountinfo', () => {
  test('hybrid host: the unified hierarchy', () => {
    const mountInfo = [
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
      '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n');
    assert.equal(findCgroup2Mount(mountInfo), '/sys/fs/cgroup/unified');
  });

  test('pure v2 with optional fields, and an escaped mount point', () => {
    const mountInfo = [
      '24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
      '35 24 0:30 / /host/sys/fs/my\\040cgroup rw,nosuid,nodev,noexec,relatime shared:9 master:2 - cgroup2 cgroup2 rw,nsdelegate',
    ].join('\n');
    assert.equal(findCgroup2Mount(mountInfo), '/host/sys/fs/my cgroup');
  });

  test('no cgroup2 at all', () => {
    assert.equal(findCgroup2Mount('32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n'), undefined);
  });
});

describe('LruMap', () => {
  test('evicts the least recently used entry and counts it', () => {
    const lru = new LruMap<bigint, string>(2);
    lru.set(1n, 'a');
    lru.set(2n, 'b');
    assert.equal(lru.get(1n), 'a'); // 2 is now the oldest
    lru.set(3n, 'c');
    assert.equal(lru.peek(2n), undefined);
    assert.equal(lru.peek(1n), 'a');
    assert.equal(lru.peek(3n), 'c');
    assert.equal(lru.evictions, 1);
    assert.equal(lru.size, 2);
  });
});

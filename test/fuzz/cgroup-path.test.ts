/**
 * Names sockscope reads but does not choose: cgroup paths (container runtimes and the kubelet
 * make them), /proc/<pid>/cgroup and mountinfo, and the kubelet's pod log directory and link names. Each
 * runtime's layout, generated, parses to the container id, runtime and pod it encodes; any
 * other path never throws and never yields an id or pod uid of the wrong form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fc from 'fast-check';
import { parseMountInfo } from '../../src/attribution/cgroup-mount';
import { cgroupPathInProcFile } from '../../src/attribution/cgroup-resolver';
import { parseCgroupPath, type CgroupIdentity, type ContainerRuntime } from '../../src/attribution/container-id';
import { parseContainerLogLink, parsePodLogDirName } from '../../src/attribution/pod-directory';
import { corpusLines, fuzzParameters } from './fuzz-run';

const RUNTIMES: readonly ContainerRuntime[] = ['containerd', 'cri-o', 'docker', 'podman'];
const POD_UID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;

function assertSane(identity: CgroupIdentity, input: string): void {
  if (identity.container !== undefined) {
    assert.match(identity.container.id, /^[0-9a-f]{64}$/, input);
    if (identity.container.runtime !== undefined) assert.ok(RUNTIMES.includes(identity.container.runtime), input);
  }
  if (identity.podUid !== undefined) assert.match(identity.podUid, POD_UID, input);
  if (identity.systemdUnit !== undefined) {
    assert.match(identity.systemdUnit, /^[^/]+\.service$/, input);
    assert.equal(identity.container, undefined, input);
  }
}

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const podUid = fc.oneof(fc.uuid().map((u) => u.toLowerCase()), hex(32));
const qos = fc.constantFrom(undefined, 'burstable', 'besteffort');
/** Levels a runtime or the container itself may add below the container's cgroup. */
const below = fc.constantFrom([], ['container'], ['init.scope'], ['system.slice', 'nginx.service']);

interface Layout {
  path: string;
  bareIdRuntime?: ContainerRuntime;
  expected: CgroupIdentity;
}

const kubeletSystemd = fc.record({ uid: podUid, qos, id: hex(64), crio: fc.boolean(), root: fc.constantFrom('', 'kubelet-'), below })
  .map(({ uid, qos, id, crio, root, below }): Layout => {
    const slices = [`${root}kubepods.slice`];
    if (qos !== undefined) slices.push(`${root}kubepods-${qos}.slice`);
    slices.push(`${root}kubepods${qos === undefined ? '' : `-${qos}`}-pod${uid.replace(/-/g, '_')}.slice`);
    const scope = crio ? `crio-${id}.scope` : `cri-containerd-${id}.scope`;
    const outer = root === '' ? [] : ['kubelet.slice'];
    return {
      path: '/' + [...outer, ...slices, scope, ...below].join('/'),
      expected: { container: { id, runtime: crio ? 'cri-o' : 'containerd' }, podUid: uid },
    };
  });

const kubeletCgroupfs = fc.record({ uid: podUid, qos, id: hex(64), crio: fc.boolean(), bare: fc.constantFrom<ContainerRuntime | undefined>(undefined, 'containerd', 'docker'), below })
  .map(({ uid, qos, id, crio, bare, below }): Layout => {
    const dirs = ['kubepods', ...(qos === undefined ? [] : [qos]), `pod${uid}`, crio ? `crio-${id}` : id, ...below];
    const runtime = crio ? 'cri-o' : bare;
    return {
      path: '/' + dirs.join('/'),
      bareIdRuntime: bare,
      expected: { container: runtime === undefined ? { id } : { id, runtime }, podUid: uid },
    };
  });

const standalone = fc.record({ id: hex(64), form: fc.integer({ min: 0, max: 5 }), below })
  .map(({ id, form, below }): Layout => {
    const forms: Array<[string[], ContainerRuntime]> = [
      [['system.slice', `docker-${id}.scope`], 'docker'],
      [['docker', id], 'docker'],
      [['machine.slice', `libpod-${id}.scope`], 'podman'],
      [['user.slice', 'user-1000.slice', 'user@1000.service', 'user.slice', `libpod-${id}.scope`], 'podman'],
      [['libpod_parent', `libpod-${id}`], 'podman'],
      [['system.slice', `nerdctl-${id}.scope`], 'containerd'],
    ];
    const [dirs, runtime] = forms[form]!;
    return { path: '/' + [...dirs, ...below].join('/'), expected: { container: { id, runtime } } };
  });

const service = fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9@_.-]{0,30}$/), slices: fc.array(fc.constantFrom('system.slice', 'system-getty.slice', 'app.slice'), { maxLength: 2 }) })
  .map(({ name, slices }): Layout => ({
    path: '/' + [...slices, `${name}.service`].join('/'),
    expected: { systemdUnit: `${name}.service` },
  }));

test('the corpus: real and near-miss cgroup paths of docker, containerd, CRI-O and podman parse to sane identities', () => {
  for (const { where, line } of corpusLines('cgroup-path')) {
    for (const bareIdRuntime of [undefined, 'containerd'] as const) assertSane(parseCgroupPath(line, { bareIdRuntime }), where);
    assert.equal(cgroupPathInProcFile(`0::${line}\n`) === undefined, line.split('/').includes('..'), where);
  }
});

test('every runtime layout parses to the container id, runtime and pod uid it encodes', (t) => {
  fc.assert(
    fc.property(fc.oneof(kubeletSystemd, kubeletCgroupfs, standalone, service), (layout) => {
      assert.deepEqual(parseCgroupPath(layout.path, { bareIdRuntime: layout.bareIdRuntime }), layout.expected, layout.path);
    }),
    fuzzParameters(t, 400),
  );
});

/** Segments that look like the real thing, mixed with near misses and arbitrary text. */
const segment = fc.oneof(
  fc.constantFrom('kubepods', 'kubepods.slice', 'docker', 'system.slice', 'user.slice', '..', '.', '', 'container', 'x.service'),
  hex(64),
  hex(64).map((id) => `docker-${id}.scope`),
  hex(63).map((id) => `crio-${id}`),
  podUid.map((uid) => `pod${uid}`),
  podUid.map((uid) => `kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice`),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

test('any path never throws and never yields an id or uid of the wrong form', (t) => {
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 12 }), fc.constantFrom<ContainerRuntime | undefined>(undefined, 'docker'), (parts, bareIdRuntime) => {
      const input = '/' + parts.join('/');
      assertSane(parseCgroupPath(input, { bareIdRuntime }), input);
    }),
    fuzzParameters(t, 500),
  );
});

test('/proc/<pid>/cgroup: the v2 path is taken only if it stays below the cgroup2 mount', (t) => {
  const line = fc.oneof(
    fc.array(segment, { maxLength: 8 }).map((parts) => `0::/${parts.join('/')}`),
    fc.constantFrom('1:name=systemd:/', '4:memory:/process_api/1', '0::', '0::/..', '0::/../../x', '0::/a/../../..'),
    fc.string({ maxLength: 60 }),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 6 }), (lines) => {
      const found = cgroupPathInProcFile(lines.join('\n'));
      if (found === undefined) return;
      assert.ok(lines.join('\n').split('\n').includes(`0::${found}`), found);
      const root = '/sys/fs/cgroup';
      const joined = path.join(root, found);
      assert.ok(joined === root || joined.startsWith(`${root}/`), `${found} leaves the mount: ${joined}`);
    }),
    fuzzParameters(t, 400),
  );
});

const dnsLabel = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
const dnsName = fc.array(dnsLabel, { minLength: 1, maxLength: 3 }).map((labels) => labels.join('.'));

test('the corpus: kubelet pod log directory and link names never throw', () => {
  for (const { where, line } of corpusLines('pod-log-name')) {
    const [name, target] = line.split('\t') as [string, string | undefined];
    const pod = parsePodLogDirName(name);
    if (pod !== undefined) for (const part of [pod.namespace, pod.name, pod.uid]) assert.ok(part !== '' && !part.includes('_'), where);
    if (target !== undefined) {
      const link = parseContainerLogLink(name, target);
      if (link !== undefined) assert.match(link.containerIdPrefix, /^[0-9a-f]{6,64}$/, where);
    }
  }
});

test('pod log directories and container log links the kubelet writes read back to their names', (t) => {
  fc.assert(
    fc.property(dnsLabel, dnsName, podUid, dnsLabel, fc.integer({ min: 6, max: 64 }), hex(64), fc.nat(99), (namespace, name, uid, container, idLength, id, restart) => {
      const dir = `${namespace}_${name}_${uid}`;
      assert.deepEqual(parsePodLogDirName(dir), { uid, namespace, name });
      const prefix = id.slice(0, idLength);
      const link = parseContainerLogLink(`${name}_${namespace}_${container}-${prefix}.log`, `/var/log/pods/${dir}/${container}/${restart}.log`);
      assert.deepEqual(link, { podUid: uid, containerName: container, containerIdPrefix: prefix });
    }),
    fuzzParameters(t, 400),
  );
});

test('any directory or link name never throws, and what it gives has no empty or "_" parts', (t) => {
  const text = fc.oneof(fc.string({ maxLength: 120 }), fc.array(fc.oneof(dnsName, podUid, hex(64), fc.constantFrom('_', '-', '/', '.log', '..')), { maxLength: 10 }).map((p) => p.join('')));
  fc.assert(
    fc.property(text, text, (name, target) => {
      const pod = parsePodLogDirName(name);
      if (pod !== undefined) for (const part of [pod.namespace, pod.name, pod.uid]) assert.ok(part !== '' && !part.includes('_'));
      const link = parseContainerLogLink(name, target);
      if (link !== undefined) assert.match(link.containerIdPrefix, /^[0-9a-f]{6,64}$/);
    }),
    fuzzParameters(t, 400),
  );
});

/** The kernel's mountinfo escaping (show_path): space, tab, newline and backslash as \ooo. */
const escapeMountPath = (p: string) => p.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);

test('mountinfo lines the kernel writes read back to root, mount point and type, escapes undone', (t) => {
  const mountPath = fc.array(fc.string({ unit: fc.constantFrom(...'ab/ \t\n\\.-_é'), minLength: 1, maxLength: 12 }), { maxLength: 4 }).map((parts) => `/${parts.join('/')}`);
  const mount = fc.record({
    root: mountPath,
    mountPoint: mountPath,
    optional: fc.array(fc.constantFrom('shared:1', 'master:7', 'propagate_from:2', 'unbindable'), { maxLength: 3 }),
    fsType: fc.constantFrom('cgroup2', 'cgroup', 'ext4', 'fuse.sshfs', 'tmpfs'),
  });
  fc.assert(
    fc.property(fc.array(mount, { maxLength: 6 }), fc.array(fc.string({ maxLength: 80 }), { maxLength: 3 }), (mounts, noise) => {
      const lines = mounts.map((m, i) =>
        [String(20 + i), '1', '0:26', escapeMountPath(m.root), escapeMountPath(m.mountPoint), 'rw,nosuid', ...m.optional, '-', m.fsType, 'none', 'rw'].join(' '));
      const parsed = parseMountInfo(lines.join('\n'));
      assert.deepEqual(parsed, mounts.map((m) => ({ root: m.root, mountPoint: m.mountPoint, fsType: m.fsType })));
      // Lines that are not the kernel's: never a throw.
      parseMountInfo([...lines, ...noise].join('\n'));
    }),
    fuzzParameters(t, 300),
  );
});

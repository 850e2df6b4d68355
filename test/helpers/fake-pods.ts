/**
 * Pods as the kubelet leaves them on a node, for sockscope's cgroup attribution: a cgroup
 * named the way containerd (systemd driver) names a container's, and the pod's log directory
 * /var/log/pods/<namespace>_<pod>_<uid>/<container>/. Processes started in the cgroup are
 * attributed to that namespace and pod (src/attribution/cgroup-resolver.ts).
 */
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { localCgroup2Mount } from '../../src/attribution/cgroup-mount';

export interface FakePod {
  namespace: string;
  name: string;
  uid: string;
  /** The container's cgroup directory: pass it to NamedProcess.start({ cgroup }). */
  cgroup: string;
}

export class FakePods {
  /** Pass as attribution.podLogRoot. */
  readonly podLogRoot: string;
  private readonly logRoot: string;
  private readonly base: string;
  private readonly created: string[] = [];

  constructor() {
    const cgroup2 = localCgroup2Mount();
    if (cgroup2 === undefined) throw new Error('no cgroup2 mount in /proc/self/mountinfo');
    this.logRoot = mkdtempSync(join(tmpdir(), 'sockscope-pods-'));
    this.podLogRoot = join(this.logRoot, 'pods');
    this.base = join(cgroup2, `sockscope-pods-${randomBytes(4).toString('hex')}`);
    this.mkdir(this.base);
  }

  add(namespace: string, name: string, container = 'app'): FakePod {
    const uid = randomUUID();
    const logDir = join(this.podLogRoot, `${namespace}_${name}_${uid}`, container);
    mkdirSync(logDir, { recursive: true });
    writeFileSync(join(logDir, '0.log'), '');
    let dir = this.base;
    for (const part of [
      'kubepods.slice',
      'kubepods-besteffort.slice',
      `kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice`,
      `cri-containerd-${randomBytes(32).toString('hex')}.scope`,
    ]) {
      dir = join(dir, part);
      this.mkdir(dir);
    }
    return { namespace, name, uid, cgroup: dir };
  }

  /** Removes the cgroups (leaf first, once their processes are gone) and the log directories. */
  async destroy(): Promise<void> {
    for (const dir of [...this.created].sort((a, b) => b.length - a.length)) await removeCgroup(dir);
    rmSync(this.logRoot, { recursive: true, force: true });
  }

  private mkdir(dir: string): void {
    try {
      mkdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return;
    }
    this.created.push(dir);
  }
}

/** rmdir of a cgroup, retried while a just-reaped process keeps it busy. */
export async function removeCgroup(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // A just-reaped process can keep its cgroup busy for a moment.
      if (code !== 'EBUSY' || attempt >= 100) throw error;
      await sleep(20);
    }
  }
}

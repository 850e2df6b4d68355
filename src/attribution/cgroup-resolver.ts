/**
 * cgroup id (bpf_get_current_cgroup_id()) → attribution attributes: container,
 * Kubernetes pod, or systemd service. Called once per flow per drain, so a hit is
 * a Map lookup returning a shared object; the file system is read once per cgroup.
 *
 * On a miss, the process's /proc/<pid>/cgroup names its cgroup directly; the id is
 * confirmed by the directory's inode (the pid may have exited or be another
 * process by now). Failing that, the cgroup2 tree is walked again, at most once per
 * rescanIntervalMs, so a storm of unknown ids costs at most one walk per interval.
 * Cgroup ids are never reused: an id that a walk started after its first lookup
 * did not find is gone for good (the cgroup was removed before we saw it), and is
 * cached as unattributable instead of asking for more walks.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Attributes } from '@opentelemetry/api';
import { localCgroup2Mount } from './cgroup-mount';
import { scanCgroupTree } from './cgroup-tree';
import { cgroupAttributes, parseCgroupPath, type CgroupIdentity, type ContainerRuntime } from './container-id';
import { LruMap } from './lru-map';
import { PodDirectory, type PodDirectoryStats } from './pod-directory';

export interface CgroupResolverOptions {
  /** cgroup2 mount to walk; default: the first cgroup2 mount in /proc/self/mountinfo. */
  cgroupRoot?: string;
  /** The kubelet's pod log root; default `/var/log/pods`. */
  podLogRoot?: string;
  /** The kubelet's container log links; default `/var/log/containers`; null: do not use. */
  containerLogRoot?: string | null;
  /** Minimum time between two walks of the cgroup tree (and two reads of the pod directories); default 1000. */
  rescanIntervalMs?: number;
  /** Bound on each cache (resolved ids, indexed cgroups, pods); default 16384. */
  maxEntries?: number;
  /** procfs of the pid namespace the pids passed to resolve() live in; default `/proc`. */
  procRoot?: string;
  /** See ParseOptions.bareIdRuntime; default: not reported. */
  bareIdRuntime?: ContainerRuntime;
  /** Monotonic clock in milliseconds; default performance.now. */
  now?: () => number;
}

export interface CgroupResolverStats {
  /** The walked cgroup2 root; null when none was found (everything resolves to {}). */
  cgroupRoot: string | null;
  lookups: number;
  /** Lookups answered from the cache. */
  hits: number;
  /** Lookups answered with {} (or undefined from tryResolve) because the id was not found (yet). */
  unresolved: number;
  /** Misses resolved from the process's /proc/<pid>/cgroup, without a walk. */
  foundByPid: number;
  /** Ids found to be gone (removed before their first lookup); cached as {}. */
  vanished: number;
  /** Walks of the cgroup tree. */
  scans: number;
  /** Misses that wanted a walk but were inside the rate limit. */
  scansRateLimited: number;
  /** Directories that vanished or were unreadable during walks (normal: cgroups come and go). */
  scanSkippedDirectories: number;
  /**
   * The last walk saw the whole tree. False when it stopped at maxEntries cgroups or
   * the root could not be read; ids are then never concluded to be gone.
   */
  lastScanComplete: boolean;
  /** Cgroups in the id → path index. */
  indexed: number;
  /** Resolved ids in the attribute cache. */
  cached: number;
  /** Entries dropped from the attribute cache and the index to stay within maxEntries. */
  evictions: number;
  podDirectory: PodDirectoryStats;
}

const EMPTY: Attributes = Object.freeze({});
/** Re-reads of the pod directories for a pod cgroup whose names are still missing. */
const POD_METADATA_ATTEMPTS = 3;

interface Entry {
  identity: CgroupIdentity;
  /** Frozen: handed to every caller. */
  attributes: Attributes;
  /** Further attempts at the missing pod metadata; 0 when complete or given up. */
  attemptsLeft: number;
  retryAt: number;
}

export class CgroupResolver {
  private readonly root: string | undefined;
  private readonly procRoot: string;
  private readonly rescanIntervalMs: number;
  private readonly now: () => number;
  private readonly bareIdRuntime: ContainerRuntime | undefined;
  private readonly maxEntries: number;
  private readonly cache: LruMap<bigint, Entry>;
  /** Every cgroup seen by a walk, oldest-seen-alive first. */
  private readonly index: LruMap<bigint, string>;
  /** Ids looked up but not found → how many walks had started at their first lookup. */
  private readonly missing: LruMap<bigint, number>;
  private readonly pods: PodDirectory;
  private lastScanAt: number | undefined;
  private readonly counters = {
    lookups: 0,
    hits: 0,
    unresolved: 0,
    foundByPid: 0,
    vanished: 0,
    scans: 0,
    scansRateLimited: 0,
    scanSkippedDirectories: 0,
    lastScanComplete: true,
  };

  constructor(options: CgroupResolverOptions = {}) {
    this.root = options.cgroupRoot ?? localCgroup2Mount();
    this.procRoot = options.procRoot ?? '/proc';
    this.rescanIntervalMs = options.rescanIntervalMs ?? 1000;
    this.now = options.now ?? (() => performance.now());
    this.bareIdRuntime = options.bareIdRuntime;
    this.maxEntries = options.maxEntries ?? 16384;
    this.cache = new LruMap(this.maxEntries);
    this.index = new LruMap(this.maxEntries);
    this.missing = new LruMap(this.maxEntries);
    const containerLogRoot = options.containerLogRoot === undefined ? '/var/log/containers' : options.containerLogRoot;
    this.pods = new PodDirectory({
      podLogRoot: options.podLogRoot ?? '/var/log/pods',
      ...(containerLogRoot === null ? {} : { containerLogRoot }),
      refreshIntervalMs: this.rescanIntervalMs,
      maxEntries: this.maxEntries,
      now: this.now,
    });
  }

  /**
   * The attributes of the cgroup with this id; {} for host cgroups, user sessions,
   * and ids not (yet) found. The returned object is frozen and shared: do not modify.
   *
   * @param pid a process (tgid) seen in that cgroup, to find a new cgroup without a walk
   */
  resolve(cgroupId: bigint, pid?: number): Attributes {
    return this.tryResolve(cgroupId, pid) ?? EMPTY;
  }

  /**
   * Like resolve(), but undefined while the id is neither found nor known to be gone,
   * for a caller that would rather hold a flow back one drain than count it as {}.
   * A later call settles it: the next walk (within rescanIntervalMs) finds it or
   * proves it gone.
   */
  tryResolve(cgroupId: bigint, pid?: number): Attributes | undefined {
    this.counters.lookups++;
    const cached = this.cache.get(cgroupId);
    if (cached !== undefined) {
      this.counters.hits++;
      if (cached.attemptsLeft > 0 && this.now() >= cached.retryAt) return this.complete(cgroupId, cached);
      return cached.attributes;
    }
    if (this.root === undefined) {
      this.counters.unresolved++;
      return EMPTY;
    }
    const path = this.index.peek(cgroupId) ?? this.findByPid(cgroupId, pid) ?? this.findAfterMiss(cgroupId);
    if (path === undefined) {
      this.counters.unresolved++;
      return this.cache.peek(cgroupId)?.attributes; // set when the id was just found to be gone
    }
    this.missing.delete(cgroupId);
    return this.admit(cgroupId, parseCgroupPath(path, { bareIdRuntime: this.bareIdRuntime }));
  }

  stats(): CgroupResolverStats {
    return {
      cgroupRoot: this.root ?? null,
      ...this.counters,
      indexed: this.index.size,
      cached: this.cache.size,
      evictions: this.cache.evictions + this.index.evictions,
      podDirectory: this.pods.stats(),
    };
  }

  /** The cgroup the process is in now, if that is the one with this id. */
  private findByPid(cgroupId: bigint, pid: number | undefined): string | undefined {
    if (pid === undefined || !(pid > 0)) return undefined;
    let text: string;
    try {
      text = readFileSync(`${this.procRoot}/${pid}/cgroup`, 'utf8');
    } catch {
      return undefined; // exited
    }
    const path = cgroupPathInProcFile(text);
    if (path === undefined) return undefined;
    let id: bigint | undefined;
    try {
      id = statSync(join(this.root as string, path), { bigint: true, throwIfNoEntry: false })?.ino;
    } catch {
      return undefined;
    }
    if (id !== cgroupId) return undefined; // moved since, or another process by now
    this.counters.foundByPid++;
    this.index.set(cgroupId, path);
    return path;
  }

  private findAfterMiss(cgroupId: bigint): string | undefined {
    const scansAtFirstLookup = this.missing.peek(cgroupId);
    if (scansAtFirstLookup === undefined) {
      this.missing.set(cgroupId, this.counters.scans);
    } else if (this.counters.scans > scansAtFirstLookup && this.counters.lastScanComplete) {
      return this.vanished(cgroupId);
    }
    const now = this.now();
    if (this.lastScanAt !== undefined && now - this.lastScanAt < this.rescanIntervalMs) {
      this.counters.scansRateLimited++;
      return undefined;
    }
    this.lastScanAt = now;
    this.scan();
    const path = this.index.peek(cgroupId);
    if (path === undefined && this.counters.lastScanComplete) return this.vanished(cgroupId);
    return path;
  }

  private scan(): void {
    const scan = scanCgroupTree(this.root as string, this.maxEntries);
    this.counters.scans++;
    this.counters.scanSkippedDirectories += scan.skipped;
    this.counters.lastScanComplete = !scan.truncated && !scan.rootMissing;
    // Re-set every live cgroup so that removed ones are the first to be evicted.
    for (const [id, path] of scan.paths) this.index.set(id, path);
  }

  private vanished(cgroupId: bigint): undefined {
    this.missing.delete(cgroupId);
    this.counters.vanished++;
    this.cache.set(cgroupId, { identity: {}, attributes: EMPTY, attemptsLeft: 0, retryAt: 0 });
    return undefined;
  }

  private admit(cgroupId: bigint, identity: CgroupIdentity): Attributes {
    const entry: Entry = { identity, attributes: EMPTY, attemptsLeft: POD_METADATA_ATTEMPTS + 1, retryAt: 0 };
    return this.complete(cgroupId, entry);
  }

  /** (Re)computes an entry's attributes, asking the pod directory when it is a pod's cgroup. */
  private complete(cgroupId: bigint, entry: Entry): Attributes {
    const { identity } = entry;
    let attributes: Attributes;
    if (identity.podUid === undefined) {
      attributes = cgroupAttributes(identity);
      entry.attemptsLeft = 0;
    } else {
      const pod = this.pods.lookup(identity.podUid, identity.container?.id);
      attributes = cgroupAttributes(identity, pod);
      const complete = pod !== undefined && (identity.container === undefined || pod.containerName !== undefined);
      entry.attemptsLeft = complete ? 0 : entry.attemptsLeft - 1;
      entry.retryAt = this.now() + this.rescanIntervalMs;
    }
    entry.attributes = Object.keys(attributes).length === 0 ? EMPTY : Object.freeze(attributes);
    this.cache.set(cgroupId, entry);
    return entry.attributes;
  }
}

/**
 * The cgroup v2 path in a /proc/<pid>/cgroup text ("0::/system.slice/x.service"), if it is
 * one below the mount we walk: not outside our cgroup namespace (`/..` first), and with no
 * `..` anywhere, which join() would resolve to a directory outside the mount.
 */
export function cgroupPathInProcFile(text: string): string | undefined {
  const path = /^0::(\/.*)$/m.exec(text)?.[1];
  if (path === undefined || path.split('/').includes('..')) return undefined;
  return path;
}

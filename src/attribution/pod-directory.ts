/**
 * Pod names without the API server, from the directories the kubelet keeps on
 * every node:
 *
 *   /var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log
 *       Namespace and pod names are DNS names, the UID a UUID (or a 32-hex hash for
 *       static pods): none contains `_`, so the directory name splits exactly.
 *       A pod's container directories (init and ephemeral containers too) are named
 *       after the containers; the container id is not in this tree.
 *   /var/log/containers/<pod>_<namespace>_<container>-<container id>.log
 *       A symlink per container instance, made by the kubelet for every runtime,
 *       pointing into /var/log/pods. This is what ties a container id to its name.
 *       Names over 255 bytes are cut by the kubelet, so the id can be a prefix.
 *
 * Only names are read (readdir, readlink), never file contents.
 */
import { readdirSync, readlinkSync, type Dirent } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { PodMetadata } from './container-id';

export interface PodLogDir {
  uid: string;
  namespace: string;
  name: string;
}

export interface ContainerLogLink {
  podUid: string;
  containerName: string;
  /** The container id, or its first characters when the kubelet cut the link name. */
  containerIdPrefix: string;
}

/** `<namespace>_<pod>_<uid>` → its parts; the pre-1.14 `<uid>`-only layout has no names. */
export function parsePodLogDirName(name: string): PodLogDir | undefined {
  const parts = name.split('_');
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) return undefined;
  const [namespace, podName, uid] = parts as [string, string, string];
  return { uid, namespace, name: podName };
}

/**
 * Reads one /var/log/containers entry from its name and its link target (not
 * followed: it is a host path, and may not exist where sockscope runs).
 */
export function parseContainerLogLink(linkName: string, target: string): ContainerLogLink | undefined {
  // target: .../<namespace>_<pod>_<uid>/<container>/<restart>.log
  const containerDir = dirname(target);
  const pod = parsePodLogDirName(basename(dirname(containerDir)));
  const containerName = basename(containerDir);
  if (pod === undefined || !linkName.endsWith('.log')) return undefined;
  const prefix = `${pod.name}_${pod.namespace}_${containerName}-`;
  const id = linkName.slice(0, -'.log'.length);
  if (!id.startsWith(prefix)) return undefined;
  const containerIdPrefix = id.slice(prefix.length);
  // The kubelet itself refuses ids shorter than 6 characters from these names.
  if (!/^[0-9a-f]{6,64}$/.test(containerIdPrefix)) return undefined;
  return { podUid: pod.uid, containerName, containerIdPrefix };
}

export interface PodDirectoryOptions {
  /** The kubelet's pod log root (`/var/log/pods` on the host). */
  podLogRoot: string;
  /** The kubelet's container log link directory (`/var/log/containers`); undefined: not used. */
  containerLogRoot?: string;
  /** At most one re-read of both directories per this many milliseconds. */
  refreshIntervalMs: number;
  /** Bound on pods and links kept from one read. */
  maxEntries: number;
  now: () => number;
}

export interface PodDirectoryStats {
  refreshes: number;
  pods: number;
  links: number;
  /** Entries left out of the last read because of maxEntries. */
  truncated: number;
}

interface PodEntry extends PodLogDir {
  /** Container directory names, read on first need after each refresh. */
  containerDirs?: string[];
}

export class PodDirectory {
  private pods = new Map<string, PodEntry>();
  private links = new Map<string, ContainerLogLink[]>();
  private linkCount = 0;
  private lastRefreshAt: number | undefined;
  private readonly counters = { refreshes: 0, truncated: 0 };

  constructor(private readonly options: PodDirectoryOptions) {}

  /**
   * Namespace and name of a pod, and the container's name when it can be told:
   * from its /var/log/containers link, or, when the pod has no links at all, from
   * the pod's only container directory. Rereads the directories (rate-limited)
   * when something is missing, since the kubelet writes them as pods start.
   */
  lookup(podUid: string, containerId?: string): PodMetadata | undefined {
    let pod = this.pods.get(podUid);
    if (pod === undefined || (containerId !== undefined && this.containerName(pod, containerId) === undefined)) {
      if (this.refresh()) pod = this.pods.get(podUid);
    }
    if (pod === undefined) return undefined;
    const containerName = containerId === undefined ? undefined : this.containerName(pod, containerId);
    return containerName === undefined
      ? { namespace: pod.namespace, name: pod.name }
      : { namespace: pod.namespace, name: pod.name, containerName };
  }

  stats(): PodDirectoryStats {
    return { ...this.counters, pods: this.pods.size, links: this.linkCount };
  }

  private containerName(pod: PodEntry, containerId: string): string | undefined {
    const links = this.links.get(pod.uid);
    if (links !== undefined) {
      return links.find((l) => containerId.startsWith(l.containerIdPrefix))?.containerName;
    }
    // No link names this pod (links not mounted, or not made yet). With a single
    // container directory there is only one name the container can have.
    pod.containerDirs ??= subdirectories(join(this.options.podLogRoot, `${pod.namespace}_${pod.name}_${pod.uid}`));
    return pod.containerDirs.length === 1 ? pod.containerDirs[0] : undefined;
  }

  /** Rereads both directories unless that was done less than refreshIntervalMs ago. */
  private refresh(): boolean {
    const now = this.options.now();
    if (this.lastRefreshAt !== undefined && now - this.lastRefreshAt < this.options.refreshIntervalMs) return false;
    this.lastRefreshAt = now;
    this.counters.refreshes++;
    const { maxEntries } = this.options;

    const pods = new Map<string, PodEntry>();
    for (const name of subdirectories(this.options.podLogRoot)) {
      const pod = parsePodLogDirName(name);
      if (pod === undefined) continue;
      if (pods.size >= maxEntries) {
        this.counters.truncated++;
        continue;
      }
      pods.set(pod.uid, pod);
    }

    const links = new Map<string, ContainerLogLink[]>();
    let linkCount = 0;
    const linkRoot = this.options.containerLogRoot;
    for (const name of linkRoot === undefined ? [] : entryNames(linkRoot)) {
      const link = readLink(join(linkRoot as string, name));
      const parsed = link === undefined ? undefined : parseContainerLogLink(name, link);
      if (parsed === undefined) continue;
      if (linkCount >= maxEntries) {
        this.counters.truncated++;
        continue;
      }
      const forPod = links.get(parsed.podUid);
      if (forPod === undefined) links.set(parsed.podUid, [parsed]);
      else forPod.push(parsed);
      linkCount++;
    }
    this.pods = pods;
    this.links = links;
    this.linkCount = linkCount;
    return true;
  }
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return []; // not mounted (bare metal), or removed while we read
  }
}

function subdirectories(dir: string): string[] {
  return entries(dir)
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
}

function entryNames(dir: string): string[] {
  return entries(dir)
    .filter((e) => e.isSymbolicLink())
    .map((e) => e.name);
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

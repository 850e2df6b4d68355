/**
 * What a cgroup v2 path says about the processes in it: which container (and
 * runtime), which Kubernetes pod, or which systemd service. Pure string parsing.
 *
 * Container runtimes name their cgroups after the container id:
 *
 *   systemd driver                            cgroupfs driver
 *   cri-containerd-<64hex>.scope  containerd  /kubepods/<qos>/pod<uid>/<64hex>
 *   crio-<64hex>.scope            CRI-O       /kubepods/<qos>/pod<uid>/crio-<64hex>
 *   docker-<64hex>.scope          Docker      /docker/<64hex>
 *   libpod-<64hex>.scope          Podman      /libpod_parent/libpod-<64hex>
 *
 * `crio-conmon-*` and `libpod-conmon-*` hold the runtime's monitor, not the
 * container. Below a container's cgroup there may be more levels (crun's
 * `container` sub-cgroup, systemd running inside the container); they belong to it.
 */
import type { Attributes } from '@opentelemetry/api';
import {
  ATTR_CONTAINER_ID,
  ATTR_CONTAINER_RUNTIME_NAME,
  ATTR_K8S_CONTAINER_NAME,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_POD_UID,
  ATTR_SYSTEMD_UNIT_NAME,
} from './attribute-names';

export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker' | 'podman';

export interface ContainerRef {
  /** Full 64-hex container id. */
  id: string;
  /** Absent when the path does not say (a bare id under a kubelet pod cgroup, or a custom parent). */
  runtime?: ContainerRuntime;
}

export interface CgroupIdentity {
  container?: ContainerRef;
  /** Kubelet pod UID in its API form (dashes), when the cgroup is inside a kubelet pod cgroup. */
  podUid?: string;
  /** The systemd service (`nginx.service`) of a host process outside any container and user session. */
  systemdUnit?: string;
}

export interface ParseOptions {
  /**
   * Runtime to report for a bare `<64hex>` cgroup directly in a kubelet pod cgroup
   * (cgroupfs driver). containerd and cri-dockerd both name it that way, so the
   * path alone cannot tell; the node's operator can.
   */
  bareIdRuntime?: ContainerRuntime;
}

/** Pod metadata the kubelet's log directories reveal (see pod-directory.ts). */
export interface PodMetadata {
  namespace: string;
  name: string;
  /** The container's name in the pod spec, when it could be told. */
  containerName?: string;
}

const NAMED_CONTAINER: ReadonlyArray<{ pattern: RegExp; runtime: ContainerRuntime }> = [
  { pattern: /^cri-containerd-([0-9a-f]{64})\.scope$/, runtime: 'containerd' },
  // nerdctl is a containerd client; its containers are containerd's.
  { pattern: /^nerdctl-([0-9a-f]{64})\.scope$/, runtime: 'containerd' },
  { pattern: /^crio-([0-9a-f]{64})(?:\.scope)?$/, runtime: 'cri-o' },
  { pattern: /^docker-([0-9a-f]{64})\.scope$/, runtime: 'docker' },
  { pattern: /^libpod-([0-9a-f]{64})(?:\.scope)?$/, runtime: 'podman' },
];
const BARE_ID = /^[0-9a-f]{64}$/;

// Systemd driver: `kubepods[-<qos>]-pod<uid, - escaped as _>.slice`, with an optional
// prefix from the kubelet's --cgroup-root (kind: `kubelet-kubepods-...`).
const SYSTEMD_POD = /^(?:[a-z0-9_.]+-)?kubepods(?:-[a-z]+)?-pod([0-9a-f_]+)\.slice$/;
// Cgroupfs driver: `pod<uid>` somewhere below a `kubepods` cgroup.
const CGROUPFS_POD = /^pod([0-9a-f-]+)$/;
// API pods have UUIDs; static pods have the 32-hex hash of their manifest.
const POD_UID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;

/** Parses a cgroup path relative to the cgroup2 mount, e.g. `/system.slice/nginx.service`. */
export function parseCgroupPath(path: string, options: ParseOptions = {}): CgroupIdentity {
  const parts = path.split('/').filter((p) => p.length > 0);
  let container: ContainerRef | undefined;
  // Innermost first: in nested set-ups (kind nodes, docker-in-docker) the innermost
  // container is the one whose processes are in this cgroup.
  for (let i = parts.length - 1; i >= 0; i--) {
    const podUid = podUidAt(parts, i);
    if (podUid !== undefined) return container ? { container, podUid } : { podUid };
    const found = containerAt(parts, i, options);
    if (found === undefined) continue;
    if (container !== undefined) break; // an outer container: not this pod's, and not ours
    container = found;
  }
  if (container !== undefined) return { container };
  const systemdUnit = systemdServiceOf(parts);
  return systemdUnit === undefined ? {} : { systemdUnit };
}

/** The attribute set for a parsed cgroup; pod metadata is added when known. */
export function cgroupAttributes(identity: CgroupIdentity, pod?: PodMetadata): Attributes {
  const attributes: Attributes = {};
  if (identity.container !== undefined) {
    attributes[ATTR_CONTAINER_ID] = identity.container.id;
    if (identity.container.runtime !== undefined) attributes[ATTR_CONTAINER_RUNTIME_NAME] = identity.container.runtime;
  }
  if (identity.podUid !== undefined) {
    attributes[ATTR_K8S_POD_UID] = identity.podUid;
    if (pod !== undefined) {
      attributes[ATTR_K8S_NAMESPACE_NAME] = pod.namespace;
      attributes[ATTR_K8S_POD_NAME] = pod.name;
      if (pod.containerName !== undefined && identity.container !== undefined) {
        attributes[ATTR_K8S_CONTAINER_NAME] = pod.containerName;
      }
    }
  }
  if (identity.systemdUnit !== undefined) attributes[ATTR_SYSTEMD_UNIT_NAME] = identity.systemdUnit;
  return attributes;
}

function containerAt(parts: readonly string[], i: number, options: ParseOptions): ContainerRef | undefined {
  const part = parts[i] as string;
  for (const { pattern, runtime } of NAMED_CONTAINER) {
    const match = pattern.exec(part);
    if (match !== null) return { id: match[1] as string, runtime };
  }
  if (!BARE_ID.test(part)) return undefined;
  if (i > 0 && parts[i - 1] === 'docker') return { id: part, runtime: 'docker' };
  if (i > 0 && podUidAt(parts, i - 1) !== undefined && options.bareIdRuntime !== undefined) {
    return { id: part, runtime: options.bareIdRuntime };
  }
  return { id: part };
}

function podUidAt(parts: readonly string[], i: number): string | undefined {
  const part = parts[i] as string;
  let uid: string | undefined;
  const systemd = SYSTEMD_POD.exec(part);
  if (systemd !== null) {
    uid = (systemd[1] as string).replace(/_/g, '-');
  } else {
    const cgroupfs = CGROUPFS_POD.exec(part);
    if (cgroupfs !== null && parts.slice(0, i).includes('kubepods')) uid = cgroupfs[1];
  }
  return uid !== undefined && POD_UID.test(uid) ? uid : undefined;
}

/** The innermost `.service` unit, unless the cgroup is in a user's session or user manager. */
function systemdServiceOf(parts: readonly string[]): string | undefined {
  if (parts.includes('user.slice')) return undefined;
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i] as string;
    if (part.length > '.service'.length && part.endsWith('.service')) return part;
  }
  return undefined;
}

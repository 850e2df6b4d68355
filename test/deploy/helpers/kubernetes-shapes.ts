/** The parts of Kubernetes objects the deploy tests look into, typed loosely. */
import type { KubernetesObject } from './manifests';

/**
 * The capabilities the DaemonSet adds (after dropping ALL), the systemd unit grants and the
 * README documents, in this order. The tests hold all three to it.
 */
export const DOCUMENTED_CAPABILITIES = ['BPF', 'PERFMON', 'SYS_PTRACE', 'DAC_READ_SEARCH'] as const;

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  ports?: Array<{ name: string; containerPort: number; protocol: string }>;
  livenessProbe?: { httpGet?: { path: string; port: string | number; scheme?: string } };
  readinessProbe?: { httpGet?: { path: string; port: string | number; scheme?: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsUser?: number;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string; localhostProfile?: string };
  };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}

export interface PodSpec {
  hostPID?: boolean;
  hostNetwork?: boolean;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  tolerations?: unknown[];
  initContainers?: Container[];
  containers: Container[];
  volumes: Array<{ name: string; hostPath?: { path: string; type?: string }; configMap?: { name: string } }>;
}

export function findObject(objects: readonly KubernetesObject[], kind: string, name: string): KubernetesObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

export function daemonSetPod(daemonSet: KubernetesObject): PodSpec {
  return (daemonSet.spec as { template: { spec: PodSpec } }).template.spec;
}

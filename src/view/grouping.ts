/**
 * Which row of a grouping a series belongs to, from its attributes. A series that
 * carries none of the grouping's attributes (the overflow series, host processes in
 * the pod view) goes to one "unattributed" row with id "", so rows always add up to
 * the totals.
 */
import type { Attributes } from '@opentelemetry/api';
import type { GroupBy } from './snapshot';

export interface RowIdentity {
  id: string;
  label: string;
  attributes: Record<string, string | number>;
}

const PID = 'process.pid';
const EXECUTABLE = 'process.executable.name';
const CONTAINER_ID = 'container.id';
const RUNTIME = 'container.runtime.name';
const NAMESPACE = 'k8s.namespace.name';
const POD = 'k8s.pod.name';
const POD_UID = 'k8s.pod.uid';
const CONTAINER_NAME = 'k8s.container.name';
const UNIT = 'systemd.unit.name';

const UNATTRIBUTED: Record<GroupBy, RowIdentity> = {
  process: { id: '', label: '(unknown process)', attributes: {} },
  container: { id: '', label: '(no container)', attributes: {} },
  pod: { id: '', label: '(no pod)', attributes: {} },
  unit: { id: '', label: '(no unit)', attributes: {} },
};

/** The attributes among `names` that the series has, as strings and numbers. */
function pick(attributes: Attributes, names: readonly string[]): Record<string, string | number> {
  const picked: Record<string, string | number> = {};
  for (const name of names) {
    const value = attributes[name];
    if (typeof value === 'string' || typeof value === 'number') picked[name] = value;
  }
  return picked;
}

function text(attributes: Attributes, name: string): string | undefined {
  const value = attributes[name];
  return value === undefined || value === null ? undefined : String(value);
}

export function rowIdentity(groupBy: GroupBy, attributes: Attributes): RowIdentity {
  switch (groupBy) {
    case 'process':
      return processRow(attributes);
    case 'container':
      return containerRow(attributes);
    case 'pod':
      return podRow(attributes);
    case 'unit':
      return unitRow(attributes);
  }
}

// process.pid is opt-in: without it, a process row is every process of that name.
function processRow(attributes: Attributes): RowIdentity {
  const pid = text(attributes, PID);
  const name = text(attributes, EXECUTABLE);
  if (pid !== undefined) return { id: pid, label: name ? `${name} (${pid})` : `(${pid})`, attributes: pick(attributes, [PID, EXECUTABLE]) };
  if (name !== undefined) return { id: name, label: name, attributes: pick(attributes, [EXECUTABLE]) };
  return UNATTRIBUTED.process;
}

// container.id is opt-in: without it, Kubernetes containers are told apart by
// namespace/pod/container, and other containers only by their runtime.
function containerRow(attributes: Attributes): RowIdentity {
  const names = [CONTAINER_ID, CONTAINER_NAME, POD, NAMESPACE, RUNTIME];
  const id = text(attributes, CONTAINER_ID);
  const containerName = text(attributes, CONTAINER_NAME);
  const namespace = text(attributes, NAMESPACE);
  const pod = text(attributes, POD);
  if (id !== undefined) return { id, label: containerName ?? id.slice(0, 12), attributes: pick(attributes, names) };
  if (containerName !== undefined) {
    const path = `${namespace ?? ''}/${pod ?? ''}/${containerName}`;
    return { id: path, label: path, attributes: pick(attributes, names) };
  }
  const runtime = text(attributes, RUNTIME);
  if (runtime !== undefined) return { id: `runtime:${runtime}`, label: `(${runtime} containers)`, attributes: pick(attributes, [RUNTIME]) };
  return UNATTRIBUTED.container;
}

function podRow(attributes: Attributes): RowIdentity {
  const pod = text(attributes, POD);
  if (pod === undefined) return UNATTRIBUTED.pod;
  const id = `${text(attributes, NAMESPACE) ?? ''}/${pod}`;
  return { id, label: id, attributes: pick(attributes, [NAMESPACE, POD, POD_UID]) };
}

function unitRow(attributes: Attributes): RowIdentity {
  const unit = text(attributes, UNIT);
  if (unit === undefined) return UNATTRIBUTED.unit;
  return { id: unit, label: unit, attributes: pick(attributes, [UNIT]) };
}

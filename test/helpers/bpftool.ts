/** Which BPF programs a process holds, and which are still loaded on the machine. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * IDs of the BPF objects of one kind a process holds fds of, from /proc/<pid>/fdinfo
 * (bpftool's own pid listing needs a BPF iterator that not every kernel allows).
 */
function idsOwnedBy(pid: number, kind: 'prog' | 'map'): number[] {
  const targets = kind === 'prog' ? ['anon_inode:bpf-prog', 'anon_inode:bpf_link'] : ['anon_inode:bpf-map'];
  const field = new RegExp(`^${kind}_id:\\s*(\\d+)$`, 'm');
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (!targets.includes(target)) continue;
    const m = field.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    if (m) ids.add(Number(m[1]));
  }
  return [...ids];
}

/** IDs of the BPF programs a process holds through program or link fds. */
export function programIdsOwnedBy(pid: number): number[] {
  return idsOwnedBy(pid, 'prog');
}

/** Of these program IDs, the ones still loaded. */
export function stillLoaded(ids: readonly number[]): number[] {
  const loaded = new Set(
    (JSON.parse(execFileSync('bpftool', ['--json', 'prog', 'list'], { encoding: 'utf8' })) as Array<{ id: number }>).map(
      (p) => p.id,
    ),
  );
  return ids.filter((id) => loaded.has(id));
}

/**
 * Waits until none of these programs is loaded. The kernel frees a program after its
 * last fd closes through deferred work (RCU, a workqueue), so it can outlive its
 * process by a moment. Returns the IDs still loaded when the wait ends.
 */
export async function waitUntilUnloaded(ids: readonly number[], timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = stillLoaded(ids);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = stillLoaded(ids);
  }
  return left;
}

/**
 * Names (the kernel's, at most 15 characters) of the BPF maps a process holds fds of or its programs
 * use, from `bpftool map list`: filtered by owner because other sockscope processes may run at once.
 */
export function mapNamesHeldBy(pid: number): string[] {
  const ids = new Set(mapIdsHeldBy(pid));
  return listed('map').filter((m) => ids.has(m.id) && m.name).map((m) => m.name!);
}

/** IDs of the BPF maps a process holds fds of or its programs use. */
export function mapIdsHeldBy(pid: number): number[] {
  const ids = new Set(idsOwnedBy(pid, 'map'));
  for (const prog of programIdsOwnedBy(pid)) {
    const info = JSON.parse(execFileSync('bpftool', ['--json', 'prog', 'show', 'id', String(prog)], { encoding: 'utf8' })) as {
      map_ids?: number[];
    };
    for (const id of info.map_ids ?? []) ids.add(id);
  }
  return [...ids];
}

/** `bpftool <kind> list`: what the kernel has loaded now. */
function listed(kind: 'prog' | 'map' | 'link'): Array<{ id: number; name?: string; prog_id?: number }> {
  return JSON.parse(execFileSync('bpftool', ['--json', kind, 'list'], { encoding: 'utf8' })) as Array<{ id: number; name?: string; prog_id?: number }>;
}

/** What a process has in the kernel: its programs, their maps and the links attaching them. */
export interface BpfObjects {
  progs: number[];
  maps: number[];
  links: number[];
}

export function bpfObjectsHeldBy(pid: number): BpfObjects {
  const progs = programIdsOwnedBy(pid);
  const links = listed('link').filter((l) => l.prog_id !== undefined && progs.includes(l.prog_id)).map((l) => l.id);
  return { progs, maps: mapIdsHeldBy(pid), links };
}

/** Of these objects, the ones the kernel still has (bpftool prog/map/link list). */
export function bpfObjectsLeft(objects: BpfObjects): BpfObjects {
  const left = (kind: 'prog' | 'map' | 'link', ids: number[]): number[] => {
    const loaded = new Set(listed(kind).map((o) => o.id));
    return ids.filter((id) => loaded.has(id));
  };
  return { progs: left('prog', objects.progs), maps: left('map', objects.maps), links: left('link', objects.links) };
}

/** Waits (the kernel frees objects through deferred work) until none is left, or the timeout; returns what is left. */
export async function waitUntilFreed(objects: BpfObjects, timeoutMs = 10_000): Promise<BpfObjects> {
  const deadline = Date.now() + timeoutMs;
  let left = bpfObjectsLeft(objects);
  const count = (o: BpfObjects): number => o.progs.length + o.maps.length + o.links.length;
  while (count(left) > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = bpfObjectsLeft(objects);
  }
  return left;
}

/** IDs of the BPF maps named `name` that a process holds fds of (fdinfo, then bpftool for the name). */
export function mapIdsOwnedBy(pid: number, name: string): number[] {
  return idsOwnedBy(pid, 'map').filter((id) => {
    const info = JSON.parse(execFileSync('bpftool', ['--json', 'map', 'show', 'id', String(id)], { encoding: 'utf8' })) as { name?: string };
    return info.name === name;
  });
}

/** The entries of a map, as bpftool formats them from the map's BTF. */
export function dumpMap<K, V>(id: number): Array<{ key: K; value: V }> {
  const rows = JSON.parse(execFileSync('bpftool', ['--json', 'map', 'dump', 'id', String(id)], { encoding: 'utf8' })) as Array<{
    formatted?: { key: K; value: V };
  }>;
  return rows.map((r) => {
    if (!r.formatted) throw new Error(`map ${id} has no BTF: bpftool cannot format its entries`);
    return r.formatted;
  });
}

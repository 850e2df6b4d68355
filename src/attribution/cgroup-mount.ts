/**
 * Where the cgroup2 (unified) hierarchy is mounted: /sys/fs/cgroup on pure v2
 * hosts, /sys/fs/cgroup/unified on hybrid ones. bpf_get_current_cgroup_id()
 * always reports a cgroup of this hierarchy, whatever v1 hierarchies exist.
 */
import { readFileSync } from 'node:fs';

export interface MountEntry {
  /** The path of the mounted filesystem's root inside its filesystem (field 4). */
  root: string;
  mountPoint: string;
  fsType: string;
}

/** Parses /proc/<pid>/mountinfo (proc(5)); malformed lines are skipped. */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    // Optional fields (shared:N, master:N) end at a lone "-"; the fs type follows it.
    const separator = fields.indexOf('-', 6);
    const root = fields[3];
    const mountPoint = fields[4];
    const fsType = fields[separator + 1];
    if (separator < 0 || root === undefined || mountPoint === undefined || fsType === undefined) continue;
    entries.push({ root: unescapeOctal(root), mountPoint: unescapeOctal(mountPoint), fsType });
  }
  return entries;
}

/** The first cgroup2 mount point in a mountinfo text, or undefined when there is none. */
export function findCgroup2Mount(mountInfo: string): string | undefined {
  return parseMountInfo(mountInfo).find((m) => m.fsType === 'cgroup2')?.mountPoint;
}

/** The cgroup2 mount point of this process's mount namespace, or undefined. */
export function localCgroup2Mount(mountInfoPath = '/proc/self/mountinfo'): string | undefined {
  try {
    return findCgroup2Mount(readFileSync(mountInfoPath, 'utf8'));
  } catch {
    return undefined;
  }
}

// The kernel escapes space, tab, newline and backslash in paths as \ooo.
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * One walk of the cgroup2 tree: cgroup id → path. On cgroup v2 (64-bit kernels) a
 * cgroup's id, as bpf_get_current_cgroup_id() reports it, is the inode number of
 * its directory, and ids are never reused, so the index can be kept across walks.
 *
 * Cgroups come and go while we walk; a directory that vanished between readdir
 * and stat is skipped and counted, never thrown.
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';

export interface CgroupScan {
  /** Cgroup id → path relative to the walked root (`/` for the root itself), in walk order. */
  paths: Map<bigint, string>;
  /** Directories that vanished or could not be read during the walk. */
  skipped: number;
  /** The walk stopped at `limit` directories. */
  truncated: boolean;
  /** The root itself could not be read: the walk saw nothing. */
  rootMissing: boolean;
}

export function scanCgroupTree(root: string, limit: number): CgroupScan {
  const scan: CgroupScan = { paths: new Map(), skipped: 0, truncated: false, rootMissing: false };
  const rootId = inodeOf(root);
  if (rootId === undefined) {
    scan.rootMissing = true;
    return scan;
  }
  scan.paths.set(rootId, '/');
  const pending: string[] = ['/'];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    const entries = subdirectories(join(root, dir));
    if (entries === undefined) {
      scan.skipped++;
      continue;
    }
    for (const name of entries) {
      if (scan.paths.size >= limit) {
        scan.truncated = true;
        return scan;
      }
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      const id = inodeOf(join(root, path));
      if (id === undefined) {
        scan.skipped++;
        continue;
      }
      scan.paths.set(id, path);
      pending.push(path);
    }
  }
  return scan;
}

function subdirectories(dir: string): string[] | undefined {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined; // ENOENT: removed since we saw it; anything else: not ours to fix
  }
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

function inodeOf(dir: string): bigint | undefined {
  try {
    return statSync(dir, { bigint: true, throwIfNoEntry: false })?.ino;
  } catch {
    return undefined;
  }
}
